"""Fuzz targets: one per parser / layout family, each a function of the raw bytes of one file.

The contract checked (issue 4): on any bytes a parser yields only its record types (ParsedRecord
or RecordError; claims() also Claim) and raises nothing. A target's input is always bytes and the
layout is always the right one, so a parser's own caller-error exception (KokuhoFrameError, the
codecs' "layout has no CSV framing" ValueError) is a finding here too: raising it on bytes would
mean a bug was wrapped as a caller error (kokuho_frame.parse turns any TypeError into one).

Every input is parsed from three source shapes — bytes, a binary file, and an iterable of odd-sized
pieces — and for the line/block parsers the three results must be equal: a record must not depend
on where the transport happened to cut the stream.

Two targets are of another kind: ``Agreement``, the fast judgement of 給付実績 files against the
full one, which it must never contradict by vouching for a file the full one refuses; and
``ColumnsAgreement``, 年金特徴 files parsed by columns against record by record.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cache, partial
from pathlib import Path
from typing import Protocol

from adapters.kokuho import kyufu_check, kyufu_quick
from mappings import csv_codec, fixed_codec, kokuho_frame, kokuho_kyufu, kokuho_xml, nenkin_frame, xml_codec
from mappings.layout import Layout
from mappings.records import FieldProblem, ParsedRecord, RecordError
from mappings.registry import LayoutRegistry, layouts
from mappings.streams import Source

FUZZ_LAYOUTS = LayoutRegistry(Path(__file__).resolve().parent / "layouts")
FILE = "fuzz.dat"
PIECES = (1, 7, 509)  # odd sizes: pieces cut CRLF pairs, double-byte characters and tags


class BadOutcome(AssertionError):
    """A parser broke the contract without raising: a wrong item type, or shape-dependent output."""


def pieces(data: bytes) -> Iterator[bytes]:
    yield b""  # an empty piece first: sources may hand those out
    pos = i = 0
    while pos < len(data):
        size = PIECES[i % len(PIECES)]
        yield data[pos:pos + size]
        pos, i = pos + size, i + 1


SHAPES: tuple[tuple[str, Callable[[bytes], Source]], ...] = (
    ("bytes", lambda d: d), ("file", io.BytesIO), ("pieces", pieces))

Parse = Callable[[Source], Iterable[object]]


def _checked(items: Iterable[object], allowed: tuple[type, ...]) -> list[object]:
    out = []
    for item in items:
        if not isinstance(item, allowed):
            raise BadOutcome(f"yielded a {type(item).__name__}, allowed: {', '.join(t.__name__ for t in allowed)}")
        if isinstance(item, RecordError):
            if not item.problems or not all(isinstance(p, FieldProblem) for p in item.problems):
                raise BadOutcome(f"RecordError without FieldProblems: {item.problems!r}")
        if isinstance(item, kokuho_kyufu.Claim):
            if not all(isinstance(r, ParsedRecord) for r in item.records):
                raise BadOutcome("a Claim holding something other than ParsedRecords")
        str(item), repr(item)  # reports and logs format every item: that must not raise either
        out.append(item)
    return out


def run_shapes(data: bytes, parse: Parse, allowed: tuple[type, ...], *, compare: bool) -> int:
    """Parse `data` from every source shape; the number of items (from the bytes shape)."""
    results = {name: _checked(parse(make(data)), allowed) for name, make in SHAPES}
    if compare:
        first = results["bytes"]
        for name, got in results.items():
            if got != first:
                diff = next((i for i, (a, b) in enumerate(zip(first, got, strict=False)) if a != b),
                            min(len(first), len(got)))
                raise BadOutcome(f"source shape {name!r} gives a different result than bytes "
                                 f"(first difference at item {diff}, {len(got)} vs {len(first)} items)")
    return len(results["bytes"])


RECORDS = (ParsedRecord, RecordError)


@dataclass(frozen=True)
class Target:
    name: str
    doc: str
    layouts: Callable[[], tuple[Layout, ...]]
    parse_one: Callable[[Layout | None, Source], Iterable[object]]
    allowed: tuple[type, ...] = RECORDS
    compare: bool = True

    def __call__(self, data: bytes) -> int:
        """Check one input; raise whatever the parser raised, or BadOutcome. Items seen."""
        total = 0
        for layout in self.layouts() or (None,):
            total += run_shapes(data, partial(self.parse_one, layout), self.allowed, compare=self.compare)
        return total


def _shipped(pred: Callable[[Layout], bool]) -> tuple[Layout, ...]:
    found = (layouts.get(p, n, v) for p, n, v in layouts.available())
    return tuple(lay for lay in found if pred(lay))


def _fuzz_only(pred: Callable[[Layout], bool]) -> tuple[Layout, ...]:
    found = (FUZZ_LAYOUTS.get(p, n, v) for p, n, v in FUZZ_LAYOUTS.available())
    return tuple(lay for lay in found if pred(lay))


@cache
def csv_vendor_layouts() -> tuple[Layout, ...]:
    return _shipped(lambda lay: lay.csv is not None and lay.partner != "kokuho")


@cache
def csv_kokuho_layouts() -> tuple[Layout, ...]:
    return _shipped(lambda lay: lay.csv is not None and lay.partner == "kokuho")


@cache
def csv_options_layouts() -> tuple[Layout, ...]:
    return _fuzz_only(lambda lay: lay.csv is not None)


@cache
def fixed_layouts() -> tuple[Layout, ...]:
    return _shipped(lambda lay: lay.fixed is not None) + _fuzz_only(lambda lay: lay.fixed is not None)


@cache
def xml_layouts() -> tuple[Layout, ...]:
    return _shipped(lambda lay: lay.xml is not None) + _fuzz_only(lambda lay: lay.xml is not None)


def _none() -> tuple[Layout, ...]:
    return ()


def _frame(_: Layout | None, src: Source) -> Iterable[object]:
    return kokuho_frame.parse(src, file=FILE)


@cache
def nenkin_layouts() -> tuple[Layout, ...]:
    return (layouts.get("nenkin", "tokucho"), layouts.get("nenkin", "tokucho-cp932"))


def _nenkin(lay: Layout | None, src: Source) -> Iterable[object]:
    return nenkin_frame.parse(src, file=FILE, layout=lay)


def _kokuho_xml(_: Layout | None, src: Source) -> Iterable[object]:
    return kokuho_xml.parse(src, file=FILE)


def _kyufu(_: Layout | None, src: Source) -> Iterable[object]:
    return kokuho_kyufu.claims(kokuho_frame.parse(src, file=FILE), file=FILE)


def _csv(lay: Layout | None, src: Source) -> Iterable[object]:
    assert lay is not None
    return csv_codec.parse(lay, src, file=FILE)


def _fixed(lay: Layout | None, src: Source) -> Iterable[object]:
    assert lay is not None
    return fixed_codec.parse(lay, src, file=FILE)


def _xml(lay: Layout | None, src: Source) -> Iterable[object]:
    assert lay is not None
    return xml_codec.parse(lay, src, file=FILE)


class FuzzTarget(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def doc(self) -> str: ...

    def __call__(self, data: bytes) -> int: ...


class _Insured:
    """Every 被保険者番号 but those ending in 9: the rule that needs the store is fuzzed too."""

    def __contains__(self, value: object) -> bool:
        return isinstance(value, str) and not value.endswith("9")


WARD = "131128"  # the 保険者番号 of the seeds (tests/fuzz/seeds.py)


@dataclass(frozen=True)
class Agreement:
    """kyufu_quick.judge against the full judgement, kyufu_check.check, on the same bytes. The
    fast one may be unsure of anything (None), but a Verdict from it must be the full one, which
    must have found no problem — from every source shape alike."""

    name: str
    doc: str

    def __call__(self, data: bytes) -> int:
        insured = _Insured()
        quick = [kyufu_quick.judge(make(data), FILE, WARD, insured) for _, make in SHAPES]
        if any(q != quick[0] for q in quick):
            raise BadOutcome("the fast judgement depends on the source shape")
        full = kyufu_check.check(data, FILE, WARD, insured)
        if quick[0] is not None and quick[0] != full:
            raise BadOutcome(f"the fast judgement vouched for a file the full one judged otherwise: "
                             f"{full.errors} problem(s) {[p['rule'] for p in full.problems[:5]]}, "
                             f"{full.records} records / {quick[0].records}, {full.groups} groups / {quick[0].groups}")
        return full.records


@dataclass(frozen=True)
class ColumnsAgreement:
    """nenkin_frame.parse reading runs of data records by their columns (mappings/fixed_columns)
    against the same parse reading every record on its own (by_columns=False), in both forms: the
    items must be equal — values, errors, record numbers — from every source shape."""

    name: str
    doc: str

    def __call__(self, data: bytes) -> int:
        total = 0
        for layout in nenkin_layouts():
            reference = _checked(nenkin_frame.parse(data, file=FILE, layout=layout, by_columns=False), RECORDS)
            for shape, make in SHAPES:
                got = _checked(nenkin_frame.parse(make(data), file=FILE, layout=layout), RECORDS)
                if got != reference:
                    diff = next((i for i, (a, b) in enumerate(zip(reference, got, strict=False)) if a != b),
                                min(len(reference), len(got)))
                    raise BadOutcome(f"{layout.name}, source shape {shape!r}: the column path differs from the "
                                     f"record path at item {diff} ({len(got)} vs {len(reference)} items)")
            total += len(reference)
        return total


_ALL: tuple[FuzzTarget, ...] = (
    Target("kokuho_frame", "kokuho_frame.parse: the 国保連 CSV frame, every exchange in the index", _none, _frame),
    Target("kokuho_kyufu", "kokuho_kyufu.claims(kokuho_frame.parse(...)): 給付実績 claims", _none, _kyufu,
           allowed=(kokuho_kyufu.Claim, ParsedRecord, RecordError)),
    Target("csv_vendor", "csv_codec.parse with every shipped non-国保連 CSV layout", csv_vendor_layouts, _csv),
    Target("csv_kokuho", "csv_codec.parse with every shipped 国保連 layout, without the frame",
           csv_kokuho_layouts, _csv),
    Target("csv_options", "csv_codec.parse with the fuzz layouts: header, BOM, quoting all/none, LF, ';', kinds",
           csv_options_layouts, _csv),
    Target("fixed", "fixed_codec.parse with every fixed-length layout (shipped + fuzz)", fixed_layouts, _fixed),
    # XML: libxml2 may report a syntax error at another point when fed in pieces, so only the
    # item types are checked per shape, not equality across shapes.
    Target("xml", "xml_codec.parse with every XML layout (shipped + fuzz)", xml_layouts, _xml, compare=False),
    Target("kokuho_xml", "kokuho_xml.parse: the 国保連 frame in XML, checked against the shipped XSD", _none,
           _kokuho_xml, compare=False),
    Target("nenkin_frame", "nenkin_frame.parse: the 年金特徴 file frame, ISO-2022-JP and cp932 forms",
           nenkin_layouts, _nenkin),
    Agreement("kyufu_quick", "kyufu_quick.judge: never vouches for a 給付実績 file kyufu_check would not pass"),
    ColumnsAgreement("nenkin_columns", "nenkin_frame.parse by columns: the same items as record by record"),
)
TARGETS: dict[str, FuzzTarget] = {t.name: t for t in _ALL}
