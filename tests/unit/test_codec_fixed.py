"""Fixed-length codec: byte-exact records, golden bytes written by hand, widths in bytes."""

from __future__ import annotations

import datetime as dt
import io
import tempfile
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mappings import (
    KIND_KEY,
    CharPolicy,
    Layout,
    ParsedRecord,
    RecordError,
    RenderError,
    fixed_codec,
    load_layout,
)

PERSON = """
partner = "test"
name = "person"
version = "1"
source = "unit test, shaped like a 特徴 data record"
encoding = "{encoding}"
[fixed]
record_separator = "none"
[[records]]
kind = "data"
length = 45
fields = [
  {{ name = "kubun", label = "レコード区分", start = 1, width = 1, converter = "constant", value = "2" }},
  {{ name = "city", label = "市町村コード", start = 2, width = 5, converter = "digits" }},
  {{name="kana", label="カナ氏名", start=7, width=10, converter="text", charset="halfwidth_kana"}},
  {{name="kanji", label="漢字", start=17, width=12, converter="text", charset="{charset}", sensitive=true}},
  {{ name = "birth", label = "生年月日", start = 29, width = 8, converter = "date" }},
  {{ name = "amount", label = "金額", start = 37, width = 6, converter = "amount" }},
  {{ name = "note", label = "備考", start = 43, width = 2, converter = "text", required = false }},
  {{ name = "yobi", label = "予備", start = 45, width = 1, converter = "filler" }},
]
"""

FILE = """
partner = "test"
name = "framed"
version = "1"
source = "unit test: header / data / trailer"
encoding = "cp932"
[fixed]
record_separator = "CRLF"
[[records]]
kind = "header"
length = 20
fields = [
  { name = "kubun", label = "区分", start = 1, width = 1, converter = "constant", value = "1" },
  { name = "city", label = "市町村コード", start = 2, width = 5, converter = "digits" },
  { name = "created", label = "作成年月日", start = 7, width = 8, converter = "date" },
  { name = "yobi", label = "予備", start = 15, width = 6, converter = "filler" },
]
[[records]]
kind = "data"
length = 20
fields = [
  { name = "kubun", label = "区分", start = 1, width = 1, converter = "constant", value = "2" },
  { name = "seq", label = "連番", start = 2, width = 6, converter = "number" },
  { name = "amount", label = "金額", start = 8, width = 8, converter = "amount" },
  { name = "yobi", label = "予備", start = 16, width = 5, converter = "filler", fill = "zero" },
]
[[records]]
kind = "trailer"
length = 20
fields = [
  { name = "kubun", label = "区分", start = 1, width = 1, converter = "constant", value = "3" },
  { name = "count", label = "件数", start = 2, width = 9, converter = "number" },
  { name = "yobi", label = "予備", start = 11, width = 10, converter = "filler" },
]
"""


def load(text: str, name: str) -> Layout:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{name}-v1.toml"
        path.write_text(text, encoding="utf-8")
        return load_layout(path)


SJIS = load(PERSON.format(encoding="cp932", charset="jis_x0208"), "person")
UTF8 = load(PERSON.format(encoding="utf-8", charset="any"), "person")
FRAMED_LAYOUT = load(FILE, "framed")


def person(**over: Any) -> dict[str, Any]:
    rec = {"city": "13112", "kana": "ﾀｶﾊｼ ﾀﾛｳ", "kanji": "山田太郎", "birth": dt.date(1950, 4, 1),
           "amount": 3000}
    rec.update(over)
    return rec


def render(layout: Layout, recs: list[dict[str, Any]], chars: CharPolicy | None = None) -> bytes:
    return b"".join(fixed_codec.render(layout, recs, chars=chars))


def parse(layout: Layout, data: bytes) -> list[Any]:
    return list(fixed_codec.parse(layout, io.BytesIO(data), file="t.dta"))


# Golden bytes, by hand: ﾀ=C0 ｶ=B6 ﾊ=CA ｼ=BC ﾛ=DB ｳ=B3 (JIS X 0201); 山=8E52 田=9363 太=91BE 郎=9859.
GOLDEN_SJIS = (b"2" + b"13112" + b"\xc0\xb6\xca\xbc \xc0\xdb\xb3" + b"  "
               + b"\x8e\x52\x93\x63\x91\xbe\x98\x59" + b"    " + b"19500401" + b"003000" + b"  " + b" ")
# UTF-8: half-width kana take 3 bytes each, kanji 3 bytes: 山田太郎 fills the 12-byte span exactly.
GOLDEN_UTF8 = (b"2" + b"13112" + b"\xef\xbe\x80\xef\xbd\xb6\xef\xbe\x8a " + b"\xe5\xb1\xb1\xe7\x94\xb0"
               + b"\xe5\xa4\xaa\xe9\x83\x8e" + b"19500401" + b"003000" + b"  " + b" ")


def test_golden_bytes_cp932() -> None:
    assert len(GOLDEN_SJIS) == 45
    assert render(SJIS, [person()]) == GOLDEN_SJIS
    [got] = parse(SJIS, GOLDEN_SJIS)
    assert isinstance(got, ParsedRecord)
    assert got.values == {**person(), "kubun": "2", "note": None}


def test_golden_bytes_utf8_widths_are_bytes_not_characters() -> None:
    assert len(GOLDEN_UTF8) == 45
    assert render(UTF8, [person(kana="ﾀｶﾊ")]) == GOLDEN_UTF8
    [got] = parse(UTF8, GOLDEN_UTF8)
    assert isinstance(got, ParsedRecord) and got["kanji"] == "山田太郎" and got["kana"] == "ﾀｶﾊ"


def test_too_many_bytes_for_the_span() -> None:
    render(SJIS, [person(kanji="山田太郎花子")])  # 12 bytes in cp932: fits exactly
    with pytest.raises(RenderError) as exc:
        render(UTF8, [person(kana="ﾀｶﾊ", kanji="山田太郎花")])  # 15 bytes in UTF-8
    assert (exc.value.field, exc.value.rule) == ("kanji", "max_bytes")
    assert "山田" not in str(exc.value)  # sensitive value masked


def test_zero_filled_amount_too_wide() -> None:
    with pytest.raises(RenderError) as exc:
        render(SJIS, [person(amount=1_000_000)])
    assert (exc.value.field, exc.value.rule) == ("amount", "width")


@settings(max_examples=100, deadline=None)
@given(st.lists(st.fixed_dictionaries({
    "city": st.from_regex(r"[0-9]{5}", fullmatch=True),
    "kana": st.text(st.sampled_from([chr(c) for c in range(0xFF66, 0xFFA0)] + ["A", "1"]), min_size=1,
                    max_size=10),
    "kanji": st.text(st.sampled_from("山田太郎花子高橋渡辺斎藤齋藤一二三　"), min_size=1, max_size=6)
             .filter(lambda s: not s.endswith(" ")),
    "birth": st.dates(dt.date(1900, 1, 1), dt.date(2100, 12, 31)),
    "amount": st.integers(0, 999_999),
    "note": st.none() | st.sampled_from(["A", "ZZ", "ｱ"]),
}), min_size=1, max_size=5))
def test_round_trip_full_width_names_at_byte_width(recs: list[dict[str, Any]]) -> None:
    data = render(SJIS, recs)
    assert len(data) == 45 * len(recs)
    got = parse(SJIS, data)
    assert [g.values for g in got] == [{**r, "kubun": "2"} for r in recs]


# --- parse errors --------------------------------------------------------------------------------

def test_double_byte_char_cut_by_a_span_boundary() -> None:
    # 11 bytes of name then the lead byte of 郎 (98) in byte 28; its trail byte (59) lands in birth.
    bad = GOLDEN_SJIS[:16] + b"\x8e\x52\x93\x63\x91\xbe\x98\x59   \x98" + b"\x59" + GOLDEN_SJIS[29:]
    assert len(bad) == 45
    [err] = parse(SJIS, bad)
    assert isinstance(err, RecordError)
    assert err.fields == ("kanji", "birth") and err.rules[0] == "encoding"
    assert err.problems[0].raw is not None and err.problems[0].raw.startswith("<masked")


def test_bad_records_are_reported_and_parsing_goes_on() -> None:
    data = (GOLDEN_SJIS + GOLDEN_SJIS.replace(b"19500401", b"19500231") + GOLDEN_SJIS.replace(b"2", b"9", 1)
            + GOLDEN_SJIS[:-1] + b"x" + GOLDEN_SJIS + GOLDEN_SJIS[:30])
    got = parse(SJIS, data)
    assert [type(g).__name__ for g in got] == ["ParsedRecord", "RecordError", "RecordError", "RecordError",
                                              "ParsedRecord", "RecordError"]
    assert [(g.record_no, g.fields, g.rules, g.offset) for g in got if isinstance(g, RecordError)] == [
        (2, ("birth",), ("date",), 45), (3, ("kubun",), ("constant",), 90), (4, ("yobi",), ("filler",), 135),
        (6, (None,), ("length",), 225)]


def test_all_space_optional_field_is_none_and_required_is_an_error() -> None:
    [err] = parse(SJIS, GOLDEN_SJIS[:36] + b"      " + GOLDEN_SJIS[42:])
    assert isinstance(err, RecordError) and (err.fields, err.rules) == (("amount",), ("required",))


# --- several record kinds, with a separator ------------------------------------------------------

FRAMED = (b"1" + b"13112" + b"20240710" + b"      " + b"\r\n"
          + b"2" + b"000001" + b"00003000" + b"00000" + b"\r\n"
          + b"2" + b"000002" + b"00012345" + b"00000" + b"\r\n"
          + b"3" + b"000000002" + b"          " + b"\r\n")


def test_kinds_render_and_parse_byte_exact() -> None:
    recs: list[dict[str, Any]] = [
        {KIND_KEY: "header", "city": "13112", "created": dt.date(2024, 7, 10)},
        {KIND_KEY: "data", "seq": 1, "amount": 3000},
        {KIND_KEY: "data", "seq": 2, "amount": 12345},
        {KIND_KEY: "trailer", "count": 2},
    ]
    assert render(FRAMED_LAYOUT, recs) == FRAMED
    got = parse(FRAMED_LAYOUT, FRAMED)
    assert [(g.kind, g.record_no) for g in got] == [("header", 1), ("data", 2), ("data", 3), ("trailer", 4)]
    assert got[2].values == {"kubun": "2", "seq": 2, "amount": 12345}


def test_unknown_kind_and_missing_separator() -> None:
    data = FRAMED.replace(b"\r\n2000002", b"\r\n7000002").replace(b"      \r\n", b"      \n ", 1)
    got = parse(FRAMED_LAYOUT, data)
    assert isinstance(got[0], RecordError) and got[0].rules == ("record_separator",)
    assert isinstance(got[2], RecordError) and got[2].rules == ("record_kind",)
    assert isinstance(got[3], ParsedRecord) and got[3].kind == "trailer"


def test_render_needs_a_kind_for_multi_kind_layouts() -> None:
    with pytest.raises(RenderError) as exc:
        render(FRAMED_LAYOUT, [{"seq": 1, "amount": 1}])
    assert exc.value.rule == "kind"


def test_stream_memory_stays_flat() -> None:
    def source():  # 40,000 records in odd-sized chunks, never the whole file in memory
        for n in range(40_000):
            yield GOLDEN_SJIS[:1] + f"{n % 100000:05d}".encode() + GOLDEN_SJIS[6:]

    tracemalloc.start()
    try:
        count = sum(1 for item in fixed_codec.parse(SJIS, source()) if isinstance(item, ParsedRecord))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 40_000
    assert peak < 1_000_000, peak  # the stream is 1.8 MB
