"""Line patterns accept only lines the full CSV path parses, as the same kind with the same texts:
every shipped CSV layout, every column edited to edge values, and random texts per converter."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mappings import csv_codec
from mappings.layout import Layout, RecordKind
from mappings.linepattern import LinePatterns, Narrowing, ascii_only
from mappings.records import ParsedRecord
from mappings.registry import layouts
from tests.fuzz.seeds import sample_record

PLAIN = [lay for lay in (layouts.get(*key) for key in layouts.available())
         if lay.csv is not None and lay.csv.delimiter == "," and lay.csv.quoting in ("minimal", "none")]
KINDS = [(lay, kind) for lay in PLAIN for kind in lay.kinds]
EDGES = ("", "0", "1", "-1", "-", "01", "9" * 18, "9" * 19, "2026", "202604", "202613", "000000", "20260401",
         "20240229", "20230229", "20260431", "00000101", "1", "2", "99", "A", "a1", "ｱ", "ア", "亜", "①", "\u3000",
         " ", "x ", " x", '"', '""', '"x"', "x,y", "\x00", "\x1f", "\x7f", "\x80", "\ufeff", "\u2028", "A" * 300,
         "ア" * 200, "131128", "0000000101", "H1", "D1", "1116", "2")


def _line(layout: Layout, kind: RecordKind) -> str:
    record = sample_record(layout, kind, full=True)
    return b"".join(csv_codec.render(layout, [record])).decode(layout.encoding).removesuffix("\r\n")


def _judge(patterns: LinePatterns, layout: Layout, kind: RecordKind, line: str) -> None:
    if line.isascii() and kind.name in patterns.groups:  # the ASCII form (match uses it) takes what the full one takes
        full, fast = patterns.regexes[kind.name].fullmatch(line), patterns.ascii[kind.name].fullmatch(line)
        assert (full is None) == (fast is None), f"{layout.id} {kind.name}: the forms differ on {line!r}"
        assert full is None or fast is None or full.groupdict() == fast.groupdict()
    got = patterns.match(line)
    if got is None:
        return
    parsed = csv_codec.parse_text(layout, line, False, [], file="t", record_no=1, line_no=1)
    assert isinstance(parsed, ParsedRecord), f"{layout.id} {kind.name}: pattern took {line!r}: {parsed}"
    assert got[0] == parsed.kind == kind.name


@pytest.mark.parametrize(("layout", "kind"), KINDS, ids=[f"{lay.id}-{k.name}" for lay, k in KINDS])
def test_every_column_edited_to_each_edge_value(layout: Layout, kind: RecordKind) -> None:
    names = tuple(f.name for f in kind.fields)
    patterns = LinePatterns(layout, kinds=[kind.name], capture={kind.name: names})
    line = _line(layout, kind)
    cols = line.split(",")
    taken = patterns.match(line)
    if taken is not None:  # the captured texts are the columns themselves
        assert list(taken[1]) == cols
    for i in range(len(cols)):
        for value in EDGES:
            _judge(patterns, layout, kind, ",".join([*cols[:i], value, *cols[i + 1:]]))


def test_the_patterns_take_ordinary_lines() -> None:
    """Not a vacuous subset: the sample line of every 給付実績 kind is taken (kinds with a field
    no fragment can judge — full-width only, its own pattern, always quoted — are not)."""
    for name in ("kyufu-jisseki", "kyufu-koshin-kekka"):
        layout = layouts.get("kokuho", name, "1")
        patterns = LinePatterns(layout)
        for kind in layout.kinds:
            if kind.name in patterns.regexes:
                assert patterns.match(_line(layout, kind)) == (kind.name, ()), f"{layout.id} {kind.name}"
    assert set(LinePatterns(layouts.get("kokuho", "kyufu-jisseki", "1")).regexes) == {
        "H1", "D1", "D5", "D6", "D7", "D8", "T1"}


FIELDS = [f for _, k in KINDS for f in k.fields if f.converter.text_pattern() is not None]


@settings(max_examples=400, deadline=None)
@given(which=st.integers(0, len(FIELDS) - 1), text=st.text(
    st.sampled_from("0123456789-Aa ｱア亜①,\"\u3000\x00\x7f\ufeff") | st.characters(), max_size=24))
def test_a_text_a_fragment_matches_is_a_text_the_field_parses(which: int, text: str) -> None:
    f = FIELDS[which]
    fragment = f.converter.text_pattern()
    assert fragment is not None
    if re.fullmatch(fragment, text) is not None:
        assert "," not in text and '"' not in text, f"{f.name}: a fragment took a CSV delimiter or quote"
        f.converter.parse(text)  # raises ConversionError if the fragment took too much


def test_narrowings_refuse_patterns_that_could_cross_a_field() -> None:
    with pytest.raises(ValueError):
        Narrowing.chars("[0-9,]", 1, 2)
    with pytest.raises(ValueError):
        Narrowing.chars("[^a]", 1, 2)
    with pytest.raises(ValueError):
        Narrowing.chars("0-9", 1, 2)


def test_one_of_keeps_only_the_texts_the_field_accepts() -> None:
    layout = layouts.get("kokuho", "kyufu-jisseki", "1")
    patterns = LinePatterns(layout, kinds=["H1"], narrow={"H1": {
        "sho_hokensha_no": Narrowing.one_of(["131128", "12345", "x,1"])}})
    line = _line(layout, layout.kind("H1"))
    cols = line.split(",")
    for value, taken in (("131128", True), ("12345", False), ("x,1", False)):
        edited = ",".join([*cols[:6], value, *cols[7:]])
        assert (patterns.match(edited) is not None) is taken, value


TRICKY = [r"[0-9]{2}", r"[^,]{0,3}+", r"(?P<a>[ぁ-ん!x]+)", r"[]a]", r"[^]a]b", r"\[x\][a\]]", r"[ぁ-ん]?z",
          r"(?:[\x00-\x1f]|[^\x20-\x7e])+", r"[\\-]+", r"(?=(?:[A-Z]{2})(?![^,]))[ -~]{1,}+", "[\u3000 ]a"]


@settings(max_examples=300, deadline=None)
@given(which=st.integers(0, len(TRICKY) - 1), text=st.text(st.characters(max_codepoint=127), max_size=6))
def test_the_ascii_form_of_a_pattern_matches_ascii_text_alike(which: int, text: str) -> None:
    source = TRICKY[which]
    full, fast = re.fullmatch(source, text), re.fullmatch(ascii_only(source), text)
    assert (full is None) == (fast is None), (source, ascii_only(source), text)
    assert full is None or fast is None or full.groups() == fast.groups()


def test_the_ascii_form_cuts_classes_only() -> None:
    assert ascii_only(r"(?P<n>[0-9]{1,3}+),\[[ア-ン]\]") == r"(?P<n>[\x30-\x39]{1,3}+),\[[^\x00-\x7f]\]"
    assert ascii_only(r"[^,]") == r"[\x00-\x2b\x2d-\x7f]"
