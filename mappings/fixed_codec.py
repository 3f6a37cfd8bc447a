"""Fixed-length framing: records ⇄ byte-exact spans, with or without a record separator.

Widths are bytes in the field's encoding: the layout's, or a field's own (`encoding` on a field,
e.g. `jis_x0208_raw` for the bare JIS X 0208 codes of a 年金特徴 kanji field). A text field
shorter than its span is padded on the right with its encoding's space (ASCII, or the full-width
space where the encoding has no ASCII); every other converter must fill its span exactly (numbers
zero-filled), except that an empty optional value is all padding. On parse each span is decoded on
its own, so a double-byte character cut by a span boundary is reported against the field it falls
in. A character the field's encoding cannot carry goes to the CharPolicy (substituted by its
table and reported, or the record held), as a character outside a charset does.

`FixedRenderer` (one record at a time) and `parse_record` serve file frames built over this
codec (mappings/nenkin_frame.py); `render` and `parse` handle a plain stream of records.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from functools import partial
from operator import itemgetter, methodcaller
from typing import Any, TypeVar

from mappings import jis_raw  # noqa: F401  (registers the jis_x0208_raw codec fields may name)
from mappings.charpolicy import CharPolicy, Substitution
from mappings.charsets import mask
from mappings.errors import RenderError
from mappings.fixed_fast import FastRender
from mappings.fixed_slots import Slot, slots_of
from mappings.layout import KIND_KEY, Field, FixedFormat, Layout, RecordKind
from mappings.records import FieldProblem, ParsedRecord, RecordError, RecordRenderer, parse_texts
from mappings.streams import Source, blocks


def _fmt(layout: Layout) -> FixedFormat:
    if layout.fixed is None:
        raise ValueError(f"layout {layout.id} has no fixed-length framing")
    return layout.fixed


class _Plan:
    """A record kind's slots in field order and in byte order, and its spans as one C getter."""

    def __init__(self, layout: Layout, kind: RecordKind) -> None:
        self.kind = kind
        self.slots = slots_of(layout, kind)
        self.byte_order = tuple(sorted(range(len(self.slots)), key=lambda i: self.slots[i].start))
        spans = [slice(s.start, s.start + s.width) for s in self.slots]
        self.cut: Callable[[bytes], Sequence[bytes]] = (
            itemgetter(*spans) if len(spans) > 1 else lambda rec: (rec[spans[0]],))
        self.cut_text: Callable[[str], Sequence[str]] = (
            itemgetter(*spans) if len(spans) > 1 else lambda text: (text[spans[0]],))
        # A Shift_JIS record without lead bytes is one character per byte: decoded whole (one C
        # call) and cut as text, less the fields of another encoding, which are decoded apart.
        self.whole = layout.encoding if layout.encoding in _ONE_PER_BYTE_WITHOUT_LEADS else None
        self.own = tuple(i for i, s in enumerate(self.slots) if s.encoding != layout.encoding)
        self.unpads = tuple((i, s.unpad) for i, s in enumerate(self.slots) if not s.field.converter.always)
        self.fast = FastRender.make(layout.encoding, self.slots, self.byte_order)

    def parse(self, rec: bytes, *, file: str, record_no: int, offset: int,
              problems: Sequence[FieldProblem] = ()) -> ParsedRecord | RecordError:
        """`parse_record` with this plan (a frame keeps the plan of each kind it reads)."""
        if self.whole is not None and len(rec.translate(None, _SJIS_LEADS)) == len(rec):
            fast = self._whole(rec)
            if fast is not None:
                return parse_texts(self.kind, fast, file=file, record_no=record_no, offset=offset, problems=problems)
        found = list(problems)
        texts: list[str | None] = []
        for slot, raw in zip(self.slots, self.cut(rec), strict=True):
            try:
                texts.append(slot.unpad(raw.decode(slot.encoding)))
            except UnicodeDecodeError:
                f = slot.field
                found.append(FieldProblem(f.name, "encoding", f"bytes not valid {slot.encoding}",
                                          mask(raw.hex()) if f.sensitive else raw.hex(" ")))
                texts.append(None)
        return parse_texts(self.kind, texts, file=file, record_no=record_no, offset=offset, problems=found)


    def _whole(self, rec: bytes) -> list[str] | None:
        """The field texts of a record without Shift_JIS lead bytes, or None (a field of its own
        encoding does not decode: the per-field path reports it)."""
        try:
            texts = list(self.cut_text(rec.decode(self.whole)))  # type: ignore[arg-type]  # whole is set
            for i in self.own:
                slot = self.slots[i]
                texts[i] = rec[slot.start:slot.start + slot.width].decode(slot.encoding)
        except UnicodeDecodeError:
            return None
        for i, unpad in self.unpads:
            texts[i] = unpad(texts[i])
        return texts


_ONE_PER_BYTE_WITHOUT_LEADS = ("cp932", "shift_jis")
_SJIS_LEADS = bytes((*range(0x81, 0xA0), *range(0xE0, 0xFD)))
_PLANS: dict[tuple[int, str], _Plan] = {}
_KIND = methodcaller("get", KIND_KEY)
P = TypeVar("P")


def per_kind(cache: dict[tuple[int, str], P], layout: Layout, kind: RecordKind,
             make: Callable[[Layout, RecordKind], P]) -> P:
    """What ``make`` builds for a record kind, once (the cache checks the kind is the same object:
    an id may be reused after a layout is dropped)."""
    key = (id(kind), layout.id)
    found = cache.get(key)
    if found is None or getattr(found, "kind", None) is not kind:
        found = cache[key] = make(layout, kind)
    return found


def plan(layout: Layout, kind: RecordKind) -> _Plan:
    return per_kind(_PLANS, layout, kind, _Plan)


# --- render -------------------------------------------------------------------------------------

class FixedRenderer:
    """Renders records to their bytes (with the separator): one at a time (``record``: None when
    the CharPolicy withholds it), field by field, or a run of them (``run``); RenderError on bad
    data. Records are numbered by the caller.

    In a run, records of the plain kind are rendered by their kind's FastRender
    (mappings/fixed_fast.py), the others field by field, which reports, withholds and raises;
    ``fast=False`` renders every record field by field: the reference the fast path is held to
    (tests/unit/test_fixed_render_fast.py)."""

    def __init__(self, layout: Layout, chars: CharPolicy | None = None, *, fast: bool = True) -> None:
        self.layout = layout
        self.sep_text = _fmt(layout).record_separator
        self.sep = self.sep_text.encode("ascii")
        self.texts = RecordRenderer(layout, chars)
        self.chars = self.texts.chars
        self.plans = {k.name: plan(layout, k) for k in layout.kinds}
        # by the records' KIND_KEY as RecordRenderer.kind_of finds the kind (None: the only kind)
        self.fast: dict[str | None, FastRender] = {}
        for k in layout.kinds if fast else ():
            found = self.plans[k.name].fast
            if found is not None:
                self.fast[k.name] = found
                if len(layout.kinds) == 1:
                    self.fast[None] = found

    def record(self, index: int, record: Mapping[str, Any]) -> bytes | None:
        return self._per_slot(index, record)  # one record: field by field costs less than a run

    def run(self, first: int, records: Sequence[Mapping[str, Any]],
            same: Mapping[str, Any] | None = None) -> tuple[bytes, Sequence[Mapping[str, Any]]]:
        """The bytes of the records (numbered from ``first``) one after the other, and the records
        not withheld: what ``record`` one by one would give, reports and errors alike. ``same``:
        values every record takes over its own (``{**record, **same}``; a frame's shared fields)."""
        same = same or {}
        got: bytes | list[bytes | None] = [None] * len(records)
        try:  # any doubt, even a record that is not a mapping, leaves it to the full path below
            kinds = [same[KIND_KEY]] * len(records) if KIND_KEY in same else list(map(_KIND, records))
            name = kinds[0] if kinds else None
            fast = self.fast.get(name) if name is None or type(name) is str else None
            if fast is not None and kinds.count(name) == len(kinds):
                got = fast.render(records, self.sep_text, same)
        except Exception:  # noqa: S110  (the full path raises what is wrong, in order)
            pass
        if isinstance(got, bytes):
            return got, records
        parts: list[bytes] = []
        kept: list[Mapping[str, Any]] = []
        for i, (raw, record) in enumerate(zip(got, records, strict=True)):
            if raw is None:
                raw = self._per_slot(first + i, {**record, **same} if same else record)
                if raw is None:
                    continue
            parts.append(raw)
            kept.append(record)
        return b"".join(parts), kept

    def _per_slot(self, index: int, record: Mapping[str, Any]) -> bytes | None:
        got = self.texts.texts(index, record)
        if got is None:
            return None
        kind, texts = got
        plan = self.plans[kind.name]
        slots = plan.slots
        parts: list[bytes] = []
        pending: list[Substitution] = []
        for i in plan.byte_order:
            raw = self._bytes(index, record, slots[i], texts[i], pending)
            if raw is None:
                self.chars.withheld.append(index)
                return None
            parts.append(raw)
        self.chars.substitutions.extend(pending)
        return b"".join(parts) + self.sep

    def _bytes(self, index: int, record: Mapping[str, Any], slot: Slot, text: str,
               pending: list[Substitution]) -> bytes | None:
        f, width = slot.field, slot.width
        try:
            raw = text.encode(slot.encoding)
        except UnicodeEncodeError:
            resolved = self._unencodable(index, record, slot, text, pending)
            if resolved is None:
                return None
            text, raw = resolved, resolved.encode(slot.encoding)
        if len(raw) == width:
            return raw
        if len(raw) < width and (f.converter.pads or text == ""):
            if slot.pad != " " and text.endswith(slot.pad):
                raise RenderError(self.layout.id, index, self.texts.key(record), f.name, "trailing_space",
                                  "trailing full-width spaces are padding in this field")
            fill, rest = divmod(width - len(raw), len(slot.pad_bytes))
            if not rest:
                return raw + slot.pad_bytes * fill
        raise RenderError(self.layout.id, index, self.texts.key(record), f.name, "width",
                          f"{len(raw)} bytes for a {width}-byte span")

    def _unencodable(self, index: int, record: Mapping[str, Any], slot: Slot, text: str,
                     pending: list[Substitution]) -> str | None:
        """Characters the field's own encoding cannot carry (a charset of the layout's encoding
        let them through): substituted by the CharPolicy's table, or the record held."""
        conv, enc = slot.field.converter, slot.encoding

        def allowed(c: str) -> bool:
            try:
                c.encode(enc)
            except UnicodeEncodeError:
                return False
            return conv.allowed(c)

        bad = list(dict.fromkeys(c for c in text if not allowed(c)))
        return self.chars.resolve(text, bad, allowed, scope=f"{enc}, charset {conv.charset}",
                                  layout=self.layout.id, record_index=index,
                                  record_key=self.texts.key(record), field=slot.field.name, pending=pending)


def render(layout: Layout, records: Iterable[Mapping[str, Any]], *, chars: CharPolicy | None = None,
           batch: int = 1000) -> Iterator[bytes]:
    """Encoded records, a chunk per `batch` records. Records are numbered from 1 in errors/reports.
    They are read up to the chunk's end and rendered together (FixedRenderer.run)."""
    renderer = FixedRenderer(layout, chars)
    source = map(_own, records)
    out: list[bytes] = []
    index, kept, done = 1, 0, False
    while not done:
        piece, done = _read(source, max(1, batch - kept), partial(renderer.run, index))
        raw, rendered = renderer.run(index, piece)
        index += len(piece)
        out.append(raw)
        kept += len(rendered)
        if kept and kept >= batch:
            yield b"".join(out)
            out.clear()
            kept = 0
    if kept:
        yield b"".join(out)


def _own(record: Mapping[str, Any]) -> Mapping[str, Any]:
    """A record as read, for rendering later (a source may hand out one dict changed each time)."""
    return record.copy() if type(record) is dict else record


def _read(source: Iterator[P], n: int, fault: Callable[[list[P]], object]) -> tuple[list[P], bool]:
    """Up to ``n`` items of ``source`` and whether it is done; when it fails, ``fault`` has the
    items read before (rendered first, as one by one, their errors first)."""
    got: list[P] = []
    try:
        for item in source:
            got.append(item)
            if len(got) == n:
                return got, False
    except Exception:
        fault(got)
        raise
    return got, True


# --- parse --------------------------------------------------------------------------------------

def _choose_kind(layout: Layout, rec: bytes) -> RecordKind | None:
    if len(layout.kinds) == 1:
        return layout.kinds[0]
    for kind in layout.kinds:
        if all(f.span is not None and rec[f.span.offset:f.span.end] == _constant(f, layout.encoding)
               for f in kind.discriminators):
            return kind
    return None


def parse_record(layout: Layout, kind: RecordKind, rec: bytes, *, file: str, record_no: int, offset: int,
                 problems: Sequence[FieldProblem] = ()) -> ParsedRecord | RecordError:
    """One record's bytes (exactly the kind's length, no separator) through its fields; the
    frame's own `problems` come first in a RecordError."""
    return plan(layout, kind).parse(rec, file=file, record_no=record_no, offset=offset, problems=problems)


def parse(layout: Layout, source: Source, *, file: str = "<stream>") -> Iterator[ParsedRecord | RecordError]:
    """Every record of the stream, good or bad, in order; a truncated tail is the last error."""
    sep = _fmt(layout).record_separator.encode("ascii")
    length = layout.kinds[0].length or 0
    size = length + len(sep)
    for record_no, block in enumerate(blocks(source, size), start=1):
        offset = (record_no - 1) * size
        if len(block) < size:
            problem = FieldProblem(None, "length", f"truncated record: {len(block)} bytes, expected {size}")
            yield RecordError(file, record_no, (problem,), offset=offset)
            return
        problems: list[FieldProblem] = []
        if sep and not block.endswith(sep):
            problems.append(FieldProblem(None, "record_separator", f"record does not end with {sep!r}"))
        rec = block[:length]
        kind = _choose_kind(layout, rec)
        if kind is None:
            problems.append(FieldProblem(None, "record_kind", "no record kind's constant fields match"))
            yield RecordError(file, record_no, tuple(problems), offset=offset)
            continue
        yield parse_record(layout, kind, rec, file=file, record_no=record_no, offset=offset, problems=problems)


def _constant(f: Field, encoding: str) -> bytes:
    value: str = getattr(f.converter, "value", "")
    return value.encode(f.encoding or encoding)
