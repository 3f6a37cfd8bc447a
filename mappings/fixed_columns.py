"""Runs of fixed-length records of one kind judged and converted column by column, in C.

    plan = run_plan(layout, kind).narrowed({"seido_code": b"0"})
    plan.values(blob) -> [values of record 1, values of record 2, ...] | None

Parsing a file of 300,000 年金特徴 records record by record and field by field in Python takes
about 28 µs a record. Here ``struct`` cuts every field of every record of a run in one call, and
each field's column is judged and converted whole: digits by one ``bytes.translate`` of the
column, texts by one decode of all of them, codes and dates by a cache of the full path's own
answers; a column the same in every record is converted once. It accepts a subset of what the full
path (fixed_codec: each span decoded on its own, unpadded, ``Field.parse``) accepts and gives the
same values: any doubt about any field of any record gives None, and the caller parses the run's
records one by one on the full path, which names the problems. Tests hold it to that
(tests/unit/test_nenkin_columns.py, the ``nenkin_columns`` fuzz target).
"""

from __future__ import annotations

import codecs
import dataclasses
import re
import struct
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from itertools import repeat
from operator import setitem
from typing import Any

from mappings import jis_raw
from mappings.charsets import FORBIDDEN
from mappings.converters.numbers import MAX_DIGITS, Amount, Number
from mappings.converters.text import Digits, Text
from mappings.errors import ConversionError
from mappings.fixed_codec import per_kind, plan
from mappings.fixed_slots import Slot
from mappings.layout import Field, Layout, RecordKind
from mappings.records import ParsedRecord

Column = Sequence[bytes]
Convert = Callable[[Column], list[Any]]  # a column's values; _Doubt for anything the full path may refuse
ANSWERS = 1 << 16  # texts a field's cache of full-path answers holds before it starts again
CACHED_WIDTH = 8  # fields this narrow (codes, dates, short numbers) repeat: their answers are cached
NARROWINGS = 64  # narrowed plans a plan keeps (a 年金特徴 file has one per 市町村 block)
_DIGITS = b"0123456789"
_MULTI_BYTE = ("cp932", "shift_jis")  # encodings whose multi-byte codes never hold 0x0A or 0x20


class _Doubt(Exception):
    """Some record of the run may not be valid: the full path decides."""


def _answer(field: Field, slot: Slot, raw: bytes) -> Any:
    """The full path for one span: decoded on its own, unpadded, parsed by its field."""
    try:
        return field.parse(slot.unpad(raw.decode(slot.encoding)))
    except (UnicodeDecodeError, ConversionError):
        raise _Doubt from None


class _Answers(dict[bytes, Any]):
    """The full path's answer for each span seen (bounded: cleared when full)."""

    def __init__(self, field: Field, slot: Slot) -> None:
        super().__init__()
        self.field, self.slot = field, slot

    def __missing__(self, raw: bytes) -> Any:
        value = _answer(self.field, self.slot, raw)
        if len(self) >= ANSWERS:
            self.clear()
        self[raw] = value
        return value

    def convert(self, col: Column) -> list[Any]:
        return list(map(self.__getitem__, col))


def _digits(slot: Slot, required: bool, to_value: Callable[[bytes], Any]) -> Convert:
    """ASCII digits filling the span (or, if optional, all padding: None)."""
    blank = slot.pad_bytes * (slot.width // len(slot.pad_bytes))

    def convert(col: Column) -> list[Any]:
        blanks = col.count(blank)
        if blanks and required:
            raise _Doubt
        filled = [raw for raw in col if raw != blank] if blanks else col
        if b"".join(filled).translate(None, _DIGITS):
            raise _Doubt
        if blanks:
            return [None if raw == blank else to_value(raw) for raw in col]
        return list(map(to_value, col))

    return convert


def _one_byte_text(field: Field, slot: Slot) -> Convert | None:
    """A text field whose every allowed character is one byte (ASCII, half-width kana): the
    column's bytes checked against those bytes, decoded in one call (a byte → character table:
    charmap, cheaper than a multi-byte codec)."""
    conv = field.converter
    allowed = bytearray()
    table = ["\ufffe"] * 256  # undefined: charmap refuses it
    for b in range(256):
        try:
            char = bytes((b,)).decode(slot.encoding)
        except UnicodeDecodeError:
            continue
        if len(char) == 1 and FORBIDDEN.match(char) is None and conv.allowed(char):
            allowed.append(b)
            table[b] = char
    if slot.pad_bytes != b" " or any(b in allowed for b in b"\t\n\x0b\x0c\r"):
        return None
    table[0x0A] = "\n"  # the separator below
    chars, blank, required, decoding = bytes(allowed), slot.pad_bytes * slot.width, field.required, "".join(table)

    def convert(col: Column) -> list[Any]:
        if b"".join(col).translate(None, chars) or (required and blank in col):
            raise _Doubt
        # Only 0x20 of the whitespace bytes is allowed: rstrip() without arguments, its fast form
        texts = codecs.charmap_decode(b"\n".join(map(bytes.rstrip, col)), "strict", decoding)[0].split("\n")
        return texts if required else list(map({"": None}.get, texts, texts))

    return convert


def _multi_byte_text(field: Field, slot: Slot) -> Convert | None:
    """A text field of double-byte characters (its own encoding, or Shift_JIS kanji): all the
    column decoded in one call less the padding, then the converter's character rules on it all."""
    conv = field.converter
    refused, pad, encoding, width, required = conv.refused, slot.pad, slot.encoding, slot.width, field.required
    if refused is None or refused.search(pad) or FORBIDDEN.match(pad):
        return None
    if encoding == jis_raw.NAME:
        def texts_of(col: Column) -> list[str] | None:
            return jis_raw.decode_fields(col, width)
        produced: frozenset[str] | None = jis_raw.repertoire()
    elif encoding in _MULTI_BYTE and slot.pad_bytes == b" ":
        def texts_of(col: Column) -> list[str] | None:
            # 0x20 and 0x0A are never the second byte of a code: the padding is cut before
            # decoding, and a code cut by the span's end fails on the separator after it.
            try:
                texts = b"\n".join(map(bytes.rstrip, col, repeat(b" "))).decode(encoding).split("\n")
            except UnicodeDecodeError:
                return None
            return texts if len(texts) == len(col) else None
        produced = None
    else:
        return None
    # The character rules, unless every character the decoding can give passes them.
    if produced is not None and not any(map(refused.match, produced)) and not any(map(FORBIDDEN.match, produced)):
        check = None
    else:
        forbidden = FORBIDDEN if any(refused.match(c) is None for c in _forbidden_chars()) else None
        spaced = pad != " "  # " " in a field padded otherwise: the full path's trailing-space rule decides

        def check(joined: str) -> bool:
            return bool(refused.search(joined) or (forbidden and forbidden.search(joined))
                        or (spaced and " " in joined))

    def convert(col: Column) -> list[Any]:
        texts = texts_of(col)
        if texts is None or len(texts) != len(col) or (check is not None and check("".join(texts))):
            raise _Doubt
        if required:
            if "" in texts:
                raise _Doubt
            return texts
        return list(map({"": None}.get, texts, texts))

    return convert


@cache
def _forbidden_chars() -> tuple[str, ...]:
    return tuple(FORBIDDEN.findall("".join(map(chr, range(0x10000)))))  # all in the BMP; one C scan


def _convert(field: Field, slot: Slot) -> Convert:
    conv = field.converter
    width = slot.width
    if width > CACHED_WIDTH and field.encoding is None:  # the layout's encoding: ASCII-compatible
        if isinstance(conv, Digits) and type(conv) is Digits and (
                conv.width == width or (conv.width is None and conv.min_width <= width <= (conv.max_width or width))):
            return _digits(slot, field.required, bytes.decode)
        if isinstance(conv, Number) and type(conv) in (Number, Amount) and conv.width == width <= MAX_DIGITS:
            return _digits(slot, field.required, int)
    if type(conv) is Text and not conv.fullwidth_only and conv.pattern is None:
        one = _one_byte_text(field, slot) if conv.charset in ("ascii", "halfwidth_kana") else None
        many = one or _multi_byte_text(field, slot)
        if many is not None:
            return many
    return _Answers(field, slot).convert


@dataclass(frozen=True)
class _Column:
    width: int
    name: str | None  # the value's key; None for fillers and literals
    convert: Convert | None  # None: a literal, the bytes ``expected`` in every record
    expected: bytes = b""


class RunPlan:
    """A record kind's columns: ``values`` of a run of its records, or None."""

    def __init__(self, layout: Layout, kind: RecordKind, fixed: Mapping[str, bytes] | None = None,
                 converts: Mapping[str, Convert] | None = None) -> None:
        fixed = dict(fixed or {})
        self.converts: dict[str, Convert] = dict(converts or {})  # per field, made once per kind
        self.kind = kind
        self.length = kind.length or 0
        slots = plan(layout, kind).slots
        template: dict[str, Any] = {}
        columns: list[_Column] = []
        self.possible = True  # False when a fixed span is one the full path refuses
        for slot in slots:
            f = slot.field
            name = None if f.converter.name == "filler" else f.name
            if name is not None:
                template[name] = None
            literal = fixed.pop(f.name, None)
            if literal is None and f.converter.always:
                literal = f.converter.render(None).encode(slot.encoding)
            if literal is not None:
                value = None
                try:
                    if len(literal) != slot.width:
                        raise _Doubt
                    value = _answer(f, slot, literal)
                except _Doubt:
                    self.possible = False
                if name is not None:
                    template[name] = value
                last = columns[-1] if columns else None
                if last is not None and last.convert is None:  # neighbouring literals: one span
                    columns[-1] = _Column(last.width + slot.width, None, None, last.expected + literal)
                else:
                    columns.append(_Column(slot.width, None, None, literal))
                continue
            convert = self.converts.get(f.name)
            if convert is None:
                convert = self.converts[f.name] = _convert(f, slot)
            columns.append(_Column(slot.width, name, convert))
        if fixed:
            raise ValueError(f"{layout.id} {kind.name} has no field(s) {', '.join(sorted(fixed))}")
        self.template = template
        # struct cuts the other columns (a literal's bytes are skipped: no object made for them)
        # and one regular expression checks every literal of every record in one C call.
        self.columns = tuple(c for c in columns if c.convert is not None)
        self.cut = struct.Struct("".join(f"{c.width}{'s' if c.convert else 'x'}" for c in columns))
        self.literals = re.compile(b"(?s:" + _literal_pattern(columns) + b")*+")
        if self.cut.size != self.length:
            raise ValueError(f"{layout.id} {kind.name}: fields cover {self.cut.size} of {self.length} bytes")
        self._layout = layout
        self._narrowed: dict[tuple[tuple[str, bytes], ...], RunPlan] = {}

    def narrowed(self, fixed: Mapping[str, bytes]) -> RunPlan:
        """The plan with these fields bound to these bytes (a caller's rule: the header's values)."""
        key = tuple(sorted(fixed.items()))
        found = self._narrowed.get(key)
        if found is None:
            if len(self._narrowed) >= NARROWINGS:
                self._narrowed.clear()
            found = self._narrowed[key] = RunPlan(self._layout, self.kind, fixed, self.converts)
        return found

    def values(self, blob: bytes, totals: Sequence[str] = ()) -> tuple[list[dict[str, Any]], list[int]] | None:
        """The values of each record of ``blob`` (whole records of this kind, back to back) as
        the full path gives them, with the sums of the ``totals`` fields (numbers), or None when
        any of them may not be valid."""
        count = len(blob) // self.length if self.length else 0
        if not self.possible or not count or len(blob) != count * self.length:
            return None
        template = self.template.copy()
        varying: list[tuple[str, list[Any]]] = []
        sums: dict[str, int] = {}  # of ``totals`` fields (a literal one is in the template)
        try:
            if self.literals.fullmatch(blob) is None:
                return None
            for column, values in zip(self.columns, zip(*self.cut.iter_unpack(blob), strict=True), strict=True):
                assert column.convert is not None
                first = values[0]
                if first == values[-1] and values.count(first) == count:  # the same in every record: converted once
                    value = column.convert((first,))[0]
                    if column.name is not None:
                        template[column.name] = value
                        if column.name in totals:
                            sums[column.name] = value * count
                    continue
                converted = column.convert(values)
                if len(converted) != count:
                    raise _Doubt
                if column.name is not None:
                    varying.append((column.name, converted))
                    if column.name in totals:
                        sums[column.name] = sum(converted)
        except _Doubt:
            return None
        records = list(map(dict.copy, repeat(template, count)))
        for name, converted in varying:  # record[name] = value for each, in C (half the time of a loop)
            deque(map(setitem, records, repeat(name, count), converted), maxlen=0)
        return records, [sums[name] if name in sums else template[name] * count for name in totals]


def _literal_pattern(columns: Sequence[_Column]) -> bytes:
    """One record: its literal bytes, any byte elsewhere (skips merged, runs of a byte repeated:
    fewer steps for re)."""
    parts: list[bytes] = []
    skip = 0
    for c in columns:
        if c.convert is not None:
            skip += c.width
            continue
        if skip:
            parts.append(b".{%d}" % skip)
            skip = 0
        parts.extend(re.escape(run.group()) if len(run.group()) < 4 else re.escape(run.group()[:1]) + b"{%d}" % len(
            run.group()) for run in re.finditer(rb"(?s)(.)\1*", c.expected))
    if skip:
        parts.append(b".{%d}" % skip)
    return b"".join(parts)


# ParsedRecord is a frozen dataclass: its __init__ sets each field with object.__setattr__, in
# Python, which costs more than a record's values here. ``parsed`` makes the same calls through map,
# in C, while the class is what that relies on (checked here and by the tests); else it calls it.
_FIELDS = ("record_no", "kind", "values", "sensitive")
_PLAIN = (tuple(f.name for f in dataclasses.fields(ParsedRecord)) == _FIELDS and "__slots__" not in vars(ParsedRecord)
          and not hasattr(ParsedRecord, "__post_init__"))


def parsed(first: int, kind: str, values: Sequence[dict[str, Any]], sensitive: frozenset[str]) -> list[ParsedRecord]:
    """ParsedRecords numbered from ``first``, as ``ParsedRecord(no, kind, values, sensitive)`` makes them."""
    numbers = range(first, first + len(values))
    if not _PLAIN:
        return list(map(ParsedRecord, numbers, repeat(kind), values, repeat(sensitive)))
    records = list(map(object.__new__, repeat(ParsedRecord, len(values))))
    columns: tuple[Iterable[Any], ...] = (numbers, repeat(kind), values, repeat(sensitive))
    for name, column in zip(_FIELDS, columns, strict=True):
        deque(map(object.__setattr__, records, repeat(name), column), maxlen=0)
    return records


_PLANS: dict[tuple[int, str], RunPlan] = {}


def run_plan(layout: Layout, kind: RecordKind) -> RunPlan:
    return per_kind(_PLANS, layout, kind, RunPlan)

