"""Fixed-length framing: records ⇄ byte-exact spans, with or without a record separator.

Widths are bytes in the layout's encoding. A text field shorter than its span is padded on the
right with ASCII spaces; every other converter must fill its span exactly (numbers zero-filled),
except that an empty optional value is all spaces. On parse each span is decoded on its own, so a
double-byte character cut by a span boundary is reported against the field it falls in.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from mappings.charpolicy import CharPolicy
from mappings.charsets import mask
from mappings.errors import RenderError
from mappings.layout import Field, FixedFormat, Layout, RecordKind
from mappings.records import FieldProblem, ParsedRecord, RecordError, RecordRenderer, parse_texts
from mappings.streams import Source, blocks


def _fmt(layout: Layout) -> FixedFormat:
    if layout.fixed is None:
        raise ValueError(f"layout {layout.id} has no fixed-length framing")
    return layout.fixed


def _byte_order(kind: RecordKind) -> list[int]:
    starts = [f.span.start if f.span else 0 for f in kind.fields]
    return sorted(range(len(kind.fields)), key=starts.__getitem__)


def render(layout: Layout, records: Iterable[Mapping[str, Any]], *, chars: CharPolicy | None = None,
           batch: int = 1000) -> Iterator[bytes]:
    """Encoded records, a chunk per `batch` records. Records are numbered from 1 in errors/reports."""
    sep = _fmt(layout).record_separator.encode("ascii")
    enc = layout.encoding
    renderer = RecordRenderer(layout, chars)
    orders = {k.name: _byte_order(k) for k in layout.kinds}
    out: list[bytes] = []
    for index, record in enumerate(records, start=1):
        got = renderer.texts(index, record)
        if got is None:
            continue
        kind, texts = got
        parts = []
        for i in orders[kind.name]:
            f, text = kind.fields[i], texts[i]
            raw = text.encode(enc)
            width = f.span.width if f.span else 0
            if len(raw) != width:
                if len(raw) < width and (f.converter.pads or text == ""):
                    raw += b" " * (width - len(raw))
                else:
                    raise RenderError(layout.id, index, renderer.key(record), f.name, "width",
                                      f"{len(raw)} bytes for a {width}-byte span")
            parts.append(raw)
        out.append(b"".join(parts) + sep)
        if len(out) >= batch:
            yield b"".join(out)
            out.clear()
    if out:
        yield b"".join(out)


def _choose_kind(layout: Layout, rec: bytes) -> RecordKind | None:
    if len(layout.kinds) == 1:
        return layout.kinds[0]
    for kind in layout.kinds:
        if all(f.span is not None and rec[f.span.offset:f.span.end] == _constant(f, layout.encoding)
               for f in kind.discriminators):
            return kind
    return None


def _unpad(f: Field, text: str) -> str:
    conv = f.converter
    if conv.always:
        return text
    if conv.pads:
        return text.rstrip(" ")
    return "" if text.strip(" ") == "" else text


def parse(layout: Layout, source: Source, *, file: str = "<stream>") -> Iterator[ParsedRecord | RecordError]:
    """Every record of the stream, good or bad, in order; a truncated tail is the last error."""
    sep = _fmt(layout).record_separator.encode("ascii")
    length = layout.kinds[0].length or 0
    size = length + len(sep)
    enc = layout.encoding
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
        texts: list[str | None] = []
        for f in kind.fields:
            assert f.span is not None
            raw = rec[f.span.offset:f.span.end]
            try:
                texts.append(_unpad(f, raw.decode(enc)))
            except UnicodeDecodeError:
                problems.append(FieldProblem(f.name, "encoding", f"bytes not valid {enc}",
                                             mask(raw.hex()) if f.sensitive else raw.hex(" ")))
                texts.append(None)
        yield parse_texts(kind, texts, file=file, record_no=record_no, offset=offset, problems=problems)


def _constant(f: Field, encoding: str) -> bytes:
    value: str = getattr(f.converter, "value", "")
    return value.encode(encoding)
