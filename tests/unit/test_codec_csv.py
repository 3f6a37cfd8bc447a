"""CSV codec on the 保険料決定通知書 print layout: round trips, streams, errors, characters."""

from __future__ import annotations

import datetime as dt
import io
import tracemalloc
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mappings import (
    CharPolicy,
    EncodingError,
    ParsedRecord,
    RecordError,
    RenderError,
    SubstitutionTable,
    csv_codec,
    layouts,
)

SJIS = layouts.get("vendor", "hokenryo-kettei")
UTF8 = layouts.get("vendor", "hokenryo-kettei-utf8")


def _jis_x0208() -> list[str]:
    """JIS X 0208 from the ISO-2022-JP codec (independent of the code under test), minus the six
    characters that codec and cp932 map to different code points (〜 vs ～ …)."""
    chars = []
    for row in range(0x21, 0x7F):
        for cell in range(0x21, 0x7F):
            try:
                c = (b"\x1b$B" + bytes([row, cell]) + b"\x1b(B").decode("iso2022_jp")
            except UnicodeDecodeError:
                continue
            if len(c) == 1 and c.encode("cp932", "replace").decode("cp932") == c:
                chars.append(c)
    return chars


JIS = _jis_x0208()
KANA = [chr(c) for c in range(ord("ァ"), ord("ヶ") + 1)] + ["ー", "・", "\u3000"]
ASCII = [chr(c) for c in range(0x20, 0x7F)]  # includes , and "


def record(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "notice_no": "2400000001", "nendo": 2024, "atena_no": "000000000012345",
        "hihokensha_no": "0000012345",
        "postal_code": "1540001", "address": "東京都世田谷区池尻１－１－１", "name_kanji": "山田　太郎",
        "name_kana": "ヤマダ　タロウ", "dankai": 5, "nengaku": 72000, "choshu_kubun": "2",
        "ki01": 7200, "ki02": 7200, "issue_date": dt.date(2024, 7, 10)}
    base.update(over)
    return base


def full(rec: dict[str, Any]) -> dict[str, Any]:
    """The values parse gives back: every optional field present, None when absent."""
    return {f.name: rec.get(f.name) for f in SJIS.fields}


def render(layout: Any, recs: list[dict[str, Any]], chars: CharPolicy | None = None) -> bytes:
    return b"".join(csv_codec.render(layout, recs, chars=chars))


def parse(layout: Any, data: bytes | Iterator[bytes], file: str = "t.csv") -> list[Any]:
    return list(csv_codec.parse(layout, io.BytesIO(data) if isinstance(data, bytes) else data, file=file))


# --- golden line, by hand ------------------------------------------------------------------------

def test_golden_line_built_by_hand() -> None:
    expected = ("2400000001,2024,000000000012345,0000012345,1540001,東京都世田谷区池尻１－１－１,山田　太郎,"
                "ヤマダ　タロウ,05,72000,2,7200,7200,,,,,,,,,20240710\r\n").encode("cp932")
    assert render(SJIS, [record()]) == expected
    [got] = parse(SJIS, expected)
    assert isinstance(got, ParsedRecord) and got.values == full(record())


def test_values_with_commas_and_quotes_are_quoted_and_come_back() -> None:
    rec = record(address='東京都世田谷区,"池尻"')
    line = render(SJIS, [rec]).decode("cp932")
    assert ',"東京都世田谷区,""池尻""",' in line
    [got] = parse(SJIS, line.encode("cp932"))
    assert isinstance(got, ParsedRecord) and got["address"] == '東京都世田谷区,"池尻"'


# --- round trips (hypothesis) --------------------------------------------------------------------

def jis_text(max_bytes: int) -> st.SearchStrategy[str]:
    return st.text(st.sampled_from(JIS + ASCII), min_size=1, max_size=max_bytes // 2)


amounts = st.integers(0, 10**9)
records = st.fixed_dictionaries({
    "notice_no": st.from_regex(r"[0-9]{10}", fullmatch=True),
    "nendo": st.integers(2000, 2099),
    "atena_no": st.from_regex(r"[0-9]{15}", fullmatch=True),
    "hihokensha_no": st.from_regex(r"[0-9]{10}", fullmatch=True),
    "postal_code": st.from_regex(r"[0-9]{7}", fullmatch=True),
    "address": jis_text(160),
    "name_kanji": jis_text(60),
    "name_kana": st.text(st.sampled_from(KANA), min_size=1, max_size=50),
    "dankai": st.integers(1, 99),
    "nengaku": amounts,
    "choshu_kubun": st.sampled_from(["1", "2"]),
    **{f"ki{k:02d}": st.none() | amounts for k in range(1, 11)},
    "issue_date": st.dates(dt.date(1900, 1, 1), dt.date(2199, 12, 31)),
})


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(records, min_size=1, max_size=5))
def test_round_trip_cp932(recs: list[dict[str, Any]]) -> None:
    data = render(SJIS, recs)
    assert data.count(b"\r\n") == len(recs)
    got = parse(SJIS, data)
    assert [g.values for g in got if isinstance(g, ParsedRecord)] == [full(r) for r in recs]
    assert [g.record_no for g in got] == list(range(1, len(recs) + 1))


@settings(max_examples=50, deadline=None)
@given(st.lists(records, min_size=1, max_size=3), st.sampled_from(["𠮷野", "髙橋", "﨑", "〜", "é"]))
def test_round_trip_utf8_carries_any_character(recs: list[dict[str, Any]], extra: str) -> None:
    recs = [{**r, "name_kanji": extra + r["name_kanji"][:20]} for r in recs]
    got = parse(UTF8, render(UTF8, recs))
    assert [g.values for g in got if isinstance(g, ParsedRecord)] == [full(r) for r in recs]


# --- a long stream with planted bad records ------------------------------------------------------

def hand_line(n: int) -> str:
    return (f"{2400000000 + n},2024,{n:015d},{n:010d},1540001,東京都世田谷区池尻{n}番,試験　太郎{n % 7},"
            f"シケン　タロウ,{n % 13 + 1:02d},{n * 10},{n % 2 + 1},{n},,,,,,,,,,20240710\r\n")


PLANTED = {
    1: ("issue_date", "date", "20240710", "20230230"),
    10_000: ("nengaku", "digits", ",100000,", ",1OOOOO,"),
    20_000: ("choshu_kubun", "code_table", ",200000,1,", ",200000,3,"),
}


def planted_stream(total: int, chunk: int = 8191) -> Iterator[bytes]:
    """The file as odd-sized chunks (cutting through lines and double-byte characters)."""
    buf = bytearray()
    for n in range(1, total + 1):
        line = hand_line(n)
        if n in PLANTED:
            _, _, old, new = PLANTED[n]
            assert old in line
            line = line.replace(old, new, 1)
        buf += line.encode("cp932")
        while len(buf) >= chunk:
            yield bytes(buf[:chunk])
            del buf[:chunk]
    yield bytes(buf)


def test_twenty_thousand_records_three_planted_errors() -> None:
    good = errors = 0
    found = []
    for item in csv_codec.parse(SJIS, planted_stream(20_000), file="kettei.csv"):
        if isinstance(item, RecordError):
            errors += 1
            found.append((item.record_no, item.line, item.fields, item.rules, item.file))
        else:
            good += 1
            assert item.record_no not in PLANTED
    assert good == 19_997 and errors == 3
    assert found == [(n, n, (PLANTED[n][0],), (PLANTED[n][1],), "kettei.csv") for n in sorted(PLANTED)]


def test_parse_memory_stays_flat() -> None:
    tracemalloc.start()
    try:
        n = sum(1 for _ in csv_codec.parse(SJIS, planted_stream(30_000), file="big.csv"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert n == 30_000
    assert peak < 2_000_000, peak  # the file itself is ~4 MB


def test_render_memory_stays_flat() -> None:
    recs = (record(notice_no=f"{2400000000 + n}") for n in range(30_000))
    tracemalloc.start()
    try:
        size = sum(len(chunk) for chunk in csv_codec.render(SJIS, recs))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert size > 3_000_000
    assert peak < 2_000_000, peak


# --- errors on parse -----------------------------------------------------------------------------

def test_sensitive_raw_value_is_masked_in_errors() -> None:
    line = hand_line(5).replace(",0000000005,", ",00000X0005,").encode("cp932")
    [err] = parse(SJIS, line)
    assert isinstance(err, RecordError) and err.fields == ("hihokensha_no",)
    assert err.problems[0].raw == "<masked 10 chars>"
    assert "00000X0005" not in str(err) and "hihokensha_no" in str(err)


def test_non_sensitive_raw_value_is_shown() -> None:
    [err] = parse(SJIS, hand_line(5).replace(",50,", ",5x,").encode("cp932"))
    assert isinstance(err, RecordError) and err.problems[0].raw == "5x"


def test_undecodable_bytes_are_blamed_on_their_field() -> None:
    data = hand_line(3).encode("cp932").replace("池尻".encode("cp932"), b"\x81\x20\xff")
    [err] = parse(SJIS, data)
    assert isinstance(err, RecordError)
    assert err.fields == ("address",) and err.rules == ("encoding",)
    assert err.problems[0].raw is not None and err.problems[0].raw.startswith("<masked")


def test_line_terminators_and_column_count() -> None:
    data = (hand_line(1).replace("\r\n", "\n") + hand_line(2).replace(",20240710", "") + hand_line(3)
            + hand_line(4).rstrip("\r\n")).encode("cp932")
    got = parse(SJIS, data)
    assert [type(g).__name__ for g in got] == ["RecordError", "RecordError", "ParsedRecord", "RecordError"]
    assert isinstance(got[0], RecordError) and got[0].rules == ("line_terminator",)
    assert isinstance(got[1], RecordError) and got[1].rules == ("column_count",)
    assert isinstance(got[3], RecordError) and got[3].rules == ("line_terminator",)
    assert "no line terminator" in str(got[3])


def test_several_bad_fields_in_one_record_are_all_listed() -> None:
    line = hand_line(8).replace(",20240710", ",20240732").replace(",1540001,", ",154-001,")
    [err] = parse(SJIS, line.encode("cp932"))
    assert isinstance(err, RecordError) and set(err.fields) == {"postal_code", "issue_date"}


def test_unclosed_quote_costs_one_record_only() -> None:
    data = (hand_line(1).replace(",東京都", ',"東京都') + hand_line(2)).encode("cp932")
    got = parse(SJIS, data)
    assert isinstance(got[0], RecordError) and got[0].rules == ("csv_syntax",)
    assert got[0].fields == ("address",) and "unclosed quote" in str(got[0])
    assert isinstance(got[1], ParsedRecord) and got[1].record_no == 2


@pytest.mark.parametrize(("old", "new", "what"), [
    ("池尻", '池"尻', "quote inside an unquoted field"),
    (",東京都世田谷区池尻1番,", ',"東京都世田谷区"池尻1番,', "text after a closing quote"),
])
def test_stray_quotes_are_syntax_errors(old: str, new: str, what: str) -> None:
    [err] = parse(SJIS, hand_line(1).replace(old, new).encode("cp932"))
    assert isinstance(err, RecordError) and err.fields == ("address",) and what in str(err)


def test_text_stream_is_refused() -> None:
    with pytest.raises(TypeError, match="binary stream"):
        list(csv_codec.parse(SJIS, io.StringIO(hand_line(1))))  # type: ignore[arg-type]


# --- characters on render ------------------------------------------------------------------------

def test_unencodable_chars_raise_by_default_naming_field_and_codepoint() -> None:
    with pytest.raises(EncodingError) as exc:
        render(SJIS, [record(name_kanji="𠮷田　花子")])
    assert exc.value.field == "name_kanji" and "U+20BB7" in str(exc.value)
    assert "2400000001" in str(exc.value)  # the record key


def test_unencodable_chars_are_reported_and_record_withheld() -> None:
    policy = CharPolicy(on_unmapped="withhold")
    data = render(SJIS, [record(notice_no="2400000001", name_kanji="𠮷田　花子"),
                         record(notice_no="2400000002"),
                         record(notice_no="2400000003", name_kanji="髙橋　一郎", address="世田谷区〜")],
                  policy)
    assert not policy.ok
    assert [(i.record_index, i.field, i.char, i.codepoint) for i in policy.issues] == [
        (1, "name_kanji", "𠮷", "U+20BB7"), (3, "address", "〜", "U+301C"), (3, "name_kanji", "髙", "U+9AD9")]
    assert all(i.record_key.startswith("notice_no=240000000") for i in policy.issues)
    assert policy.withheld == [1, 3]
    assert data.count(b"\r\n") == 1 and b"2400000002" in data


def test_substitution_table_applies_and_reports_every_substitution() -> None:
    policy = CharPolicy(SubstitutionTable.named("jis_substitutions"), on_unmapped="withhold")
    data = render(SJIS, [record(notice_no="2400000001", name_kanji="𠮷田　髙子"),
                         record(notice_no="2400000002", name_kanji="\ufa11山　髙")], policy)
    assert policy.ok and policy.withheld == []
    assert [(s.record_index, s.record_key, s.field, s.char, s.replacement) for s in policy.substitutions] == [
        (1, "notice_no=2400000001", "name_kanji", "𠮷", "吉"),
        (1, "notice_no=2400000001", "name_kanji", "髙", "高"),
        (2, "notice_no=2400000002", "name_kanji", "\ufa11", "崎"),
        (2, "notice_no=2400000002", "name_kanji", "髙", "高")]
    assert policy.summary()["substituted"] == {"𠮷→吉": 1, "髙→高": 2, "\ufa11→崎": 1}
    # 吉 = 0x8B67, 田 = 0x9363, 高 = 0x8D82 in Shift_JIS
    assert b",\x8b\x67\x93\x63\x81\x40\x8d\x82\x8e\x71," in data


def test_unmapped_char_beside_a_substituted_one_withholds_and_reports_no_substitution() -> None:
    policy = CharPolicy({"髙": "高"}, on_unmapped="withhold")
    assert render(SJIS, [record(name_kanji="髙𪚲")], policy) == b""
    assert [i.char for i in policy.issues] == ["𪚲"] and policy.substitutions == []


def test_utf8_layout_has_no_issues_for_the_same_names() -> None:
    policy = CharPolicy(on_unmapped="withhold")
    data = render(UTF8, [record(name_kanji="𠮷田　髙子")], policy)
    assert policy.ok and policy.substitutions == []
    assert ",𠮷田　髙子,".encode() in data


# --- render errors -------------------------------------------------------------------------------

def test_missing_required_value_names_field_and_masks_sensitive_value() -> None:
    with pytest.raises(RenderError) as exc:
        render(SJIS, [record(), record(notice_no="2400000002", hihokensha_no="12345")])
    err = exc.value
    assert (err.record_index, err.field, err.rule) == (2, "hihokensha_no", "width")
    assert "12345" not in str(err).replace("2400000002", "")


def test_unknown_record_key_is_refused() -> None:
    with pytest.raises(RenderError) as exc:
        render(SJIS, [record(nengku=1)])
    assert exc.value.rule == "unknown_field" and "nengku" in str(exc.value)


def test_required_field_absent() -> None:
    rec = record()
    del rec["nengaku"]
    with pytest.raises(RenderError) as exc:
        render(SJIS, [rec])
    assert (exc.value.field, exc.value.rule) == ("nengaku", "required")
