"""A fixed-length record kind's fields with what the byte work needs (offset, width, encoding,
padding), computed once per layout: shared by the codec (fixed_codec.py), its render fast path
(fixed_fast.py) and its column parser (fixed_columns.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from mappings.layout import Field, Layout, RecordKind
from mappings.loader import field_pad


@dataclass(frozen=True)
class Slot:
    """One field of a kind with what the byte work needs, computed once per layout."""

    field: Field
    start: int  # 0-based offset
    width: int
    encoding: str
    pad: str  # the padding character: " " or the full-width space
    pad_bytes: bytes
    unpad: Callable[[str], str]


def _unpadder(f: Field, pad: str) -> Callable[[str], str]:
    conv = f.converter
    if conv.always:
        return lambda text: text
    if conv.pads:
        return lambda text: text.rstrip(pad)
    return lambda text: "" if text.strip(pad) == "" else text


def slots_of(layout: Layout, kind: RecordKind) -> tuple[Slot, ...]:
    out = []
    for f in kind.fields:
        assert f.span is not None
        enc = f.encoding or layout.encoding
        pad = field_pad(enc)
        out.append(Slot(f, f.span.offset, f.span.width, enc, pad, pad.encode(enc), _unpadder(f, pad)))
    return tuple(out)
