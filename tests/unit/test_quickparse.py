"""The parse fast path gives exactly what the full path gives, or steps aside: for every record
kind of every shipped layout, on texts made to be mostly valid (the common case it takes) and
on texts made to be wrong in the ways the converters refuse."""

from __future__ import annotations

from typing import Any

from hypothesis import event, given, settings
from hypothesis import strategies as st

from mappings.converters import Code, Constant
from mappings.layout import Field, RecordKind
from mappings.records import ParsedRecord, full_parse_texts, parse_texts
from mappings.registry import layouts

KINDS: list[RecordKind] = [k for p, n, v in layouts.available() for k in layouts.get(p, n, v).kinds]
ODD = st.sampled_from(["-1", "０１", "1_0", " 1", "1 ", "１", "x", "\t", "9" * 19, "202613", "20260230", "ｱ",
                       "𠮷", "\x00", '"', "1" * 40])


def plausible(f: Field) -> st.SearchStrategy[str]:
    c = f.converter
    empty = [] if f.required else [""]
    if isinstance(c, Constant):
        return st.just(c.value)
    if isinstance(c, Code):
        return st.sampled_from([*c.codes, *empty])
    if c.name == "filler":
        return st.just(getattr(c, "text", ""))
    if c.name in ("number", "digits", "amount"):
        exact = getattr(c, "width", None)
        size = st.just(exact) if exact else st.integers(getattr(c, "min_width", 1), getattr(c, "max_width", None) or 12)
        digits = size.flatmap(lambda n: st.text("0123456789", min_size=n, max_size=n))
        return st.one_of(*map(st.just, empty), digits)
    if c.name == "date":
        return st.sampled_from(["202610", "202402"] if getattr(c, "format", "") == "YYYYMM"
                               else ["20261001", "20240229"])
    return st.sampled_from([*empty, "ABC", "12", "アイウ", "ｱｲｳ", "ｱｲｳ ｴ", "漢字"])


@st.composite
def records(draw: Any) -> tuple[RecordKind, list[str]]:
    kind = draw(st.sampled_from(KINDS))
    # Half the records are plausible throughout (the fast path's case), the others carry an odd
    # text here and there (where it must step aside or agree).
    odd = draw(st.sampled_from([0, 0, 1, 3, 10]))
    texts = [draw(ODD) if odd and draw(st.integers(1, 100)) <= odd else draw(plausible(f)) for f in kind.fields]
    return kind, texts


@settings(max_examples=1500, deadline=None)
@given(records())
def test_the_fast_path_agrees_with_the_full_path(record: tuple[RecordKind, list[str]]) -> None:
    kind, texts = record
    quick = kind.quick(texts)
    full = full_parse_texts(kind, texts, file="f", record_no=1)
    if quick is not None:
        assert isinstance(full, ParsedRecord), full
        assert quick == full.values
        event("fast path taken")
    assert parse_texts(kind, texts, file="f", record_no=1) == full


def test_the_fast_path_takes_the_common_case() -> None:
    """Not a speed assert: that the fast path is used at all for a plain valid record."""
    kind = layouts.get("kokuho", "kyufu-jisseki", "1").kind("D1")
    texts = [""] * len(kind.fields)
    values = {"record_type": "2", "record_no": "3", "exchange_id": "1116", "record_code": "D1",
              "sho_hokensha_no": "131128", "hihokensha_no": "0000000101", "service_ym": "202610",
              "service_shurui": "15", "tanisu": "655", "ato_tanisu": "655"}
    for i, f in enumerate(kind.fields):
        texts[i] = values.get(f.name, "")
    got = kind.quick(texts)
    assert got is not None and got["tanisu"] == 655 and got["hihokensha_no"] == "0000000101"
    assert got["service_ym"] == (2026, 10) and got["kohi1_nissu"] is None
