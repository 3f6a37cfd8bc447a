"""年金特徴 data records read by columns (mappings/fixed_columns, jis_raw.decode_fields) against the
full path record by record: never a value the full path would not give, never a record it refuses.

Exhaustive one-byte edits of every field of hand-written records (nenkin_golden), every JIS X
0208 code in a kanji field, Hypothesis files and mutations, and whole files both ways."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.nenkin_parse import z11_records
from mappings import fixed_codec, fixed_columns, jis_raw, layouts, nenkin_frame, nenkin_render
from mappings.layout import Layout
from mappings.records import ParsedRecord, RecordError
from tests.fuzz.seeds import nenkin_runs
from tests.fuzz.targets import TARGETS
from tests.unit import nenkin_golden as g
from tests.unit.test_nenkin_frame import CORPUS

JIS_FORM, CP932_FORM = nenkin_frame.default_layout(), layouts.get("nenkin", "tokucho-cp932")
FORMS = {"iso2022jp": JIS_FORM, "cp932": CP932_FORM}
SHARED = {"shichoson_code": b"13112", "gimusha_code": b"001", "tsuchi_naiyo_code": b"01", "seido_code": b"0"}
GL = range(0x21, 0x7F)


def base(jis: bool) -> list[bytes]:
    """Two hand-written data records of one block (山田 and 佐藤)."""
    return [g.data(*p, jis=jis) for p in g.PEOPLE[:2]]


def columns(layout: Layout, recs: list[bytes]) -> list[dict[str, Any]] | None:
    """The column path's values of the records, checking the sums it gives of the 金額 with them."""
    kind = layout.kind("data")
    got = fixed_columns.run_plan(layout, kind).narrowed(SHARED).values(b"".join(recs), nenkin_frame.AMOUNTS)
    if got is None:
        return None
    values, sums = got
    assert sums == [sum(v[name] for v in values) for name in nenkin_frame.AMOUNTS]
    return values


def full(layout: Layout, rec: bytes) -> ParsedRecord | RecordError:
    return fixed_codec.plan(layout, layout.kind("data")).parse(rec, file="f", record_no=1, offset=0)


def agree(layout: Layout, recs: list[bytes]) -> bool:
    """The column path's values are the full path's (which must accept every record), or it is
    unsure; whether it took the run."""
    got = columns(layout, recs)
    if got is None:
        return False
    reference = [full(layout, rec) for rec in recs]
    assert all(isinstance(r, ParsedRecord) for r in reference), [r for r in reference if isinstance(r, RecordError)]
    assert got == [r.values for r in reference]  # type: ignore[union-attr]
    assert [list(v) for v in got] == [list(r.values) for r in reference]  # type: ignore[union-attr]  # key order
    return True


def edit(rec: bytes, pos: int, byte: int) -> bytes:
    return rec[:pos] + bytes((byte,)) + rec[pos + 1:]


def positions(offset: int, width: int) -> list[int]:
    return sorted({offset, offset + 1, offset + width // 2, offset + width - 2, offset + width - 1} & set(
        range(offset, offset + width)))


@pytest.mark.parametrize("form", sorted(FORMS))
def test_the_hand_written_run_is_taken_with_the_full_paths_values(form: str) -> None:
    assert agree(FORMS[form], base(form == "iso2022jp"))
    assert agree(FORMS[form], base(form == "iso2022jp")[:1] * 3)  # every column the same: converted once


FIELDS = [(form, f.name) for form, layout in sorted(FORMS.items()) for f in layout.kind("data").fields]


@pytest.mark.parametrize(("form", "name"), FIELDS, ids=[f"{a}-{b}" for a, b in FIELDS])
def test_every_byte_at_the_edges_of_a_field_in_one_record_or_all(form: str, name: str) -> None:
    """Each of 256 bytes at the first, second, middle and last two bytes of the field, in the
    second record (its column differs) and in both (the same in every record)."""
    layout = FORMS[form]
    recs = base(form == "iso2022jp")
    span = layout.kind("data").by_name[name].span
    assert span is not None
    taken = 0
    for pos in positions(span.offset, span.width):
        for byte in range(256):
            second = edit(recs[1], pos, byte)
            taken += agree(layout, [recs[0], second])
            taken += agree(layout, [edit(recs[0], pos, byte), second])
    assert taken > 0  # the unedited byte at least (each position's own value) is taken


@pytest.mark.parametrize("form", sorted(FORMS))
def test_the_column_path_takes_the_common_valid_edits(form: str) -> None:
    layout, recs = FORMS[form], base(form == "iso2022jp")
    kind = layout.kind("data")
    for name, new in (("kiso_nenkin_no", b"9999999999"), ("kingaku1", b"00000000001"), ("birth_ymd", b"19391231"),
                      ("kana_shimei", b"\xb1".ljust(25)), ("kakushu_ymd", b"20260315"), ("yubin_no", b" " * 7)):
        span = kind.by_name[name].span
        assert span is not None
        second = recs[1][:span.offset] + new + recs[1][span.end:]
        assert agree(layout, [recs[0], second]), name


def test_every_jis_code_first_and_last_in_a_kanji_field() -> None:
    recs = base(True)
    span = JIS_FORM.kind("data").by_name["kanji_shimei"].span
    assert span is not None
    pad = b"\x21\x21" * (span.width // 2)
    taken = 0
    for j1 in GL:
        for j2 in GL:
            code = bytes((j1, j2))
            for field in (code + pad[2:], pad[2:] + code, code * (span.width // 2)):
                second = recs[1][:span.offset] + field + recs[1][span.end:]
                taken += agree(JIS_FORM, [recs[0], second])
    assert taken > 3 * 6800  # JIS X 0208 holds 6,879 characters


def test_cp932_double_bytes_in_a_kanji_field_and_cut_at_its_end() -> None:
    recs = base(False)
    span = CP932_FORM.kind("data").by_name["kanji_jusho"].span
    assert span is not None
    trails = (0x00, 0x0A, 0x20, 0x21, 0x3F, 0x40, 0x7E, 0x7F, 0x80, 0x9E, 0x9F, 0xA0, 0xA1, 0xDF, 0xE0, 0xFC, 0xFD,
              0xFF)
    taken = 0
    for lead in range(256):
        for trail in trails:
            pair = bytes((lead, trail))
            for field in (pair + b" " * (span.width - 2), b" " * (span.width - 2) + pair,
                          b"\x93\x8c" + b" " * (span.width - 3) + pair[:1]):
                second = recs[1][:span.offset] + field + recs[1][span.end:]
                taken += agree(CP932_FORM, [recs[0], second])
    assert taken > 100


def test_decode_fields_is_decode_of_each_field_less_its_padding() -> None:
    singles = [bytes((j1, j2)) for j1 in GL for j2 in GL]

    def reference(raw: bytes) -> str | None:
        try:
            return raw.decode(jis_raw.NAME).rstrip(jis_raw.PAD)
        except UnicodeDecodeError:
            return None

    for code in singles:
        field = code + b"\x21\x21" * 3
        expected = reference(field)
        assert jis_raw.decode_fields([field], 8) == (None if expected is None else [expected]), code
    valid = [c + b"\x21\x21" + c for c in singles if reference(c) is not None]
    assert jis_raw.decode_fields(valid, 6) == [reference(v) for v in valid]
    assert jis_raw.decode_fields([b"\x21\x21" * 2, b"\x30\x21\x21\x21"], 4) == ["", "亜"]
    assert jis_raw.decode_fields([b"\x30\x21\x0e\x21"], 4) is None  # the separator's byte inside a field
    assert jis_raw.decode_fields([b"\x30\x21\x21"], 3) is None  # odd: a code cut
    # bytes outside 0x21-0x7E wherever they sit: a surrogate unit, in the padding, before it
    for bad in (b"\xd8\x21\x21\x21", b"\x30\x21\x21\xa1", b"\x21\x21\x21\x0e", b"\x0e\x21\x21\x21",
                b"\x20\x20\x21\x21"):
        assert jis_raw.decode_fields([b"\x30\x21\x21\x21", bad], 4) is None, bad


def test_parsed_makes_what_the_class_makes() -> None:
    values: list[dict[str, Any]] = [{"a": 1}, {"b": None}]
    made = fixed_columns.parsed(7, "data", values, frozenset({"a"}))
    assert fixed_columns._PLAIN
    assert made == [ParsedRecord(7, "data", values[0], frozenset({"a"})), ParsedRecord(8, "data", values[1])]
    assert [repr(r) for r in made] == [repr(ParsedRecord(7 + i, "data", v, frozenset({"a"})))
                                       for i, v in enumerate(values)]
    assert made[0].sensitive == frozenset({"a"})


def both_ways(data: bytes, layout: Layout) -> list[ParsedRecord | RecordError]:
    reference = list(nenkin_frame.parse(data, file="Z11", layout=layout, by_columns=False))
    for source in (data, io.BytesIO(data), [data[i:i + 997] for i in range(0, len(data), 997)]):
        assert list(nenkin_frame.parse(source, file="Z11", layout=layout)) == reference
    return reference


def test_a_z11_of_a_synthetic_population_both_ways() -> None:
    recs = list(z11_records(1_500))
    control = {"shichoson_code": "13112", "baitai_tsuban": 1, "sakusei_ymd": g.CONTROL["sakusei_ymd"],
               "gimusha_code": "001", "tsuchi_naiyo_code": "00", "baitai_code": "6"}
    for layout in FORMS.values():
        data = b"".join(nenkin_render.render(control, recs, layout=layout))
        items = both_ways(data, layout)
        assert all(isinstance(i, ParsedRecord) for i in items) and len(items) == 2 + 1 + 1_500 + 1


def test_one_bad_record_in_a_run_leaves_the_run_to_the_full_path() -> None:
    data = nenkin_runs()["runs-tokucho"]
    bad = data[:96 + 3 * 500 + 40] + b"X" + data[96 + 3 * 500 + 41:]  # 生年月日 of the 3rd data record
    items = both_ways(bad, JIS_FORM)
    # the block's sums are then unknown: the trailer is not checked against them
    assert [(e.record_no, e.fields, e.rules) for e in items if isinstance(e, RecordError)] == [
        (6, ("birth_ymd",), ("date",))]


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_the_malformed_corpus_both_ways(name: str) -> None:
    for layout in FORMS.values():
        both_ways(CORPUS[name][0], layout)


def test_the_fuzz_target_on_its_seeds() -> None:
    target = TARGETS["nenkin_columns"]
    for name, data in nenkin_runs().items():
        assert target(data) > 0, name


KANA = st.text(st.sampled_from("ｱｲｳｴｵｶﾞﾊﾟﾝｰ ﾞﾟ"), min_size=1, max_size=25).map(str.strip).filter(bool)
KANJI = st.text(st.sampled_from("山田太郎佐藤花子東京都世田谷区一丁目〇１２～－￠亜　"), max_size=25).map(
    lambda s: s.rstrip("\u3000"))
RECORD = st.fixed_dictionaries({
    "kiso_nenkin_no": st.from_regex(r"[0-9]{10}", fullmatch=True),
    "kingaku1": st.integers(0, 10**9), "kingaku2": st.integers(0, 99_999), "kingaku3": st.just(0),
    "kana_shimei": KANA, "kanji_shimei": KANJI, "kanji_jusho": KANJI, "kana_jusho": KANA | st.just(""),
    "birth_ymd": st.dates(min_value=dt.date(1000, 1, 1)), "seibetsu": st.sampled_from("12"),
    "yubin_no": st.from_regex(r"[0-9]{7}", fullmatch=True),
})


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(RECORD, min_size=1, max_size=12), st.sampled_from(sorted(FORMS)),
       st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=3))
def test_hypothesis_files_and_mutations_agree(recs: list[dict[str, Any]], form: str,
                                              edits: list[tuple[int, int]]) -> None:
    template = g.records()[0]
    records = [{**template, **r} for r in recs]
    data = b"".join(nenkin_render.render(g.CONTROL, records, layout=FORMS[form]))
    assert all(isinstance(i, ParsedRecord) for i in both_ways(data, FORMS[form]))
    for pos, byte in edits:
        data = edit(data, 96 + pos % (len(data) - 96), byte)
    both_ways(data, FORMS[form])
