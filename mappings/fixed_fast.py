"""The fast path of fixed-length rendering: a run of records' bytes in a few C calls a field.

`FixedRenderer` (mappings/fixed_codec.py) renders a record field by field: each value through its
field's quick path (``Field.quick``, else the full path with its charset rules and CharPolicy), each
text encoded in the field's encoding, measured against its span and padded. 年金特徴 files and print
runs render hundreds of thousands of records, nearly all of the plain kind: for those this does the
same work down a run of records, a field at a time, and vouches for the result; a record it cannot
vouch for is None, and the field-by-field path renders, substitutes, withholds or refuses it exactly
as it always has (in record order: the fast path has no side effects).

Per record kind, built once: the fields that always render the same text (constants, fillers:
``Converter.always``) are baked into a ``%``-template of the record as their bytes, so a record that
does not name them skips them; the others are conversions (``%-Ns`` for N bytes of a field that does
not pad). Per run: each field's values go through its quick path (the texts ``RecordRenderer.texts``
gives; None marks the record), once for a column of one object; a text field is padded with spaces
to its bytes (counted text by text when a character takes two); a field of a foreign encoding
(``jis_x0208_raw`` kanji) is padded with its own padding character, encoded and spliced in as the
ASCII its bytes are (JIS X 0208 codes are 0x21-0x7E); the filled templates are encoded at once.

Every field then gives at least its bytes, so a run of exactly its records' bytes has every field
exactly its bytes, each character of a ``%-Ns`` field one byte (none takes less): the per-field
bytes. Besides, no foreign text ends in its full-width padding (refused as trailing_space field by
field), and a field that does not pad is empty or its width, which its converter's check guarantees
where ``exact_width`` is the span (any other is measured).
"""

from __future__ import annotations

import codecs
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import accumulate, repeat
from operator import methodcaller, mul
from typing import Any

from mappings.fixed_slots import Slot
from mappings.layout import KIND_KEY

# Stateless codecs that write ASCII as itself and no character in less than a byte; and the bytes
# of every character, the padding too, of the foreign encodings a field may name.
_ONE_BYTE = frozenset({"cp932", "shift_jis", "utf-8", "ascii", "euc_jp"})
_UNITS = {"jis_x0208_raw": 2}

Quick = Callable[[Any], str | None]
_NONE: Mapping[str, Any] = {}
_DICT_GET: Callable[[Any, str], Any] = dict.get  # a column of dicts' values: cheaper than methodcaller


@dataclass(frozen=True)
class _Field:
    """A field rendered per record, with what its checks need."""

    name: str
    quick: Quick
    get: Callable[[Mapping[str, Any]], Any]
    width: int  # characters (of `unit` bytes in a foreign encoding)
    measured: bool  # does not pad, and its converter does not promise its width: lengths checked
    encoding: str | None  # foreign: its encoding, else None
    unit: int
    pad: str
    pad_ascii: str  # foreign: the one ASCII byte its padding repeats
    text: bool  # a padded field of the layout's encoding: padded before the template, to its bytes


class FastRender:
    """One record kind's fast path (see the module's docstring)."""

    def __init__(self, encoding: str, fields: Sequence[_Field], template: str, size: int) -> None:
        self.encoding = encoding
        self.fields = tuple(fields)  # rendered per record, in byte order
        self.accepts = frozenset(f.name for f in fields) | {KIND_KEY}  # naming a baked field: full path
        self.template = template
        self.size = size  # bytes

    @classmethod
    def make(cls, encoding: str, slots: Sequence[Slot], byte_order: Sequence[int]) -> FastRender | None:
        """The kind's fast path, or None when its encodings or fields do not allow one."""
        if _codec(encoding) not in _ONE_BYTE:
            return None
        fields: list[_Field] = []
        parts: list[str] = []
        for i in byte_order:
            s = slots[i]
            own = s.encoding == encoding
            unit = 1 if own else _UNITS.get(_codec(s.encoding) or "")
            if unit is None or len(s.pad_bytes) != unit or s.width <= 0 or s.width % unit or (own and s.pad != " "):
                return None
            if not own and (not s.pad_bytes.isascii() or s.pad_bytes != s.pad_bytes[:1] * unit):
                return None  # a padding of other bytes than one ASCII byte repeated: not foreseen
            baked = _baked(s, encoding) if s.field.converter.always else None
            if baked is not None:
                parts.append(baked.replace("%", "%%"))
                continue
            conv = s.field.converter
            fields.append(_Field(s.field.name, s.field.quick, methodcaller("get", s.field.name), s.width // unit,
                                 not conv.pads and conv.exact_width() != s.width, None if own else s.encoding,
                                 unit, s.pad, s.pad_bytes[:1].decode("ascii"), own and conv.pads))
            parts.append(f"%-{s.width}s" if own and not conv.pads else "%s")
        return cls(encoding, fields, "".join(parts), sum(s.width for s in slots))

    def render(self, records: Sequence[Mapping[str, Any]], sep: str = "",
               same: Mapping[str, Any] = _NONE) -> bytes | list[bytes | None]:
        """The bytes of all the records (each taking ``same`` over its own values), each followed by
        ``sep``, when the fast path vouches for every one; else each one's bytes (with ``sep``) or
        None where the field-by-field path must render it. Field by field down the records: a quick
        path called for a column of values costs less than a record's quick paths one by one."""
        lines = self._lines(records, same)
        size = self.size + len(sep)  # every field gives at least its bytes: a line of `size` is exact
        if None not in lines:
            whole = _encode(sep.join(lines) + sep, len(lines) * size, self.encoding)  # type: ignore[arg-type]
            if whole is not None:
                return whole
        return [None if line is None else _encode(line + sep, size, self.encoding) for line in lines]

    def _lines(self, records: Sequence[Mapping[str, Any]], same: Mapping[str, Any]) -> list[str | None]:
        """Each record's text in the layout's encoding (not yet encoded: that is checked after), or
        None for one that is not of the plain kind as far as the texts tell."""
        n = len(records)
        bad: set[int] = set() if self.accepts.issuperset(same) else set(range(n))
        known = list(map(self.accepts.issuperset, records))
        if False in known:
            bad.update(i for i, ok in enumerate(known) if not ok)
        plain_dicts = set(map(type, records)) == {dict}
        columns = []
        for f in self.fields:
            if f.name in same:
                values = [same[f.name]] * n
            else:
                values = list(map(_DICT_GET, records, repeat(f.name)) if plain_dicts else map(f.get, records))
            if n and values.count(values[0]) == n and len(set(map(id, values))) == 1:
                got = [f.quick(values[0])] * n  # one object down the run (a code, a date, None): once
            else:
                got = list(map(f.quick, values))
            if not all(got) and None in got:  # (all: a truth test a text, cheaper than == None)
                bad.update(i for i, t in enumerate(got) if t is None)
                got = ["" if t is None else t for t in got]
            texts: list[str] = got  # type: ignore[assignment]  # no None: replaced just above
            if f.measured:  # a field that does not pad: empty or its width
                bad.update(i for i, t in enumerate(texts) if len(t) % f.width)
            if f.text:
                texts = _padded(f, texts, bad, self.encoding)
            columns.append(texts if f.encoding is None else _foreign(f, texts, bad))
        rows = zip(*columns, strict=True) if columns else repeat((), len(records))
        lines: list[str | None] = list(map(self.template.__mod__, rows))
        for i in bad:
            lines[i] = None
        return lines


def _padded(f: _Field, texts: list[str], bad: set[int], encoding: str) -> list[str]:
    """A text field's texts padded with spaces to its bytes (one a character when all of them are,
    else counted text by text: a double-byte character takes two), marking those too long."""
    joined = "".join(texts)
    if len(joined.encode(encoding, "replace")) == len(joined):  # no character over a byte
        return list(map(str.ljust, texts, repeat(f.width)))  # one too long makes its line too long
    out = []
    for i, text in enumerate(texts):
        try:
            fill = f.width - len(text.encode(encoding))
        except UnicodeEncodeError:
            fill = -1
        if fill < 0:
            bad.add(i)
        out.append(text + " " * fill)
    return out


def _foreign(f: _Field, texts: list[str], bad: set[int]) -> list[str]:
    """The ASCII of the bytes of a foreign field's texts, padded, marking those that do not fit.
    Every character takes `unit` bytes: the texts are encoded together as they are and cut where
    each ends (less to encode than padded texts)."""
    if f.pad != " ":  # the field-by-field path refuses a text ending in its full-width padding
        bad.update(i for i, t in enumerate(texts) if t.endswith(f.pad))
    joined = "".join(texts)
    whole = _encode(joined, len(joined) * f.unit, f.encoding)  # type: ignore[arg-type]
    if whole is not None and whole.isascii() and max(map(len, texts), default=0) <= f.width:
        ascii_, ends = whole.decode("ascii"), list(accumulate(map(mul, map(len, texts), repeat(f.unit))))
        cut = map(ascii_.__getitem__, map(slice, [0, *ends[:-1]], ends))
        return list(map(str.ljust, cut, repeat(f.width * f.unit), repeat(f.pad_ascii)))
    out = []
    for i, text in enumerate(texts):  # one of them does not: each on its own
        raw = _encode(text.ljust(f.width, f.pad), f.width * f.unit, f.encoding)  # type: ignore[arg-type]
        if raw is None or not raw.isascii() or len(text) > f.width:
            bad.add(i)
            raw = b" " * (f.width * f.unit)
        out.append(raw.decode("ascii"))
    return out


def _encode(text: str, size: int, encoding: str) -> bytes | None:
    """``text`` encoded when that takes ``size`` bytes, else None."""
    try:
        raw = text.encode(encoding)
    except UnicodeEncodeError:
        return None
    return raw if len(raw) == size else None


def _codec(encoding: str) -> str | None:
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        return None


def _baked(s: Slot, encoding: str) -> str | None:
    """The template text of a field that renders one text whatever the record (its quick path's
    text for no value, padded as the field-by-field path pads it), or None when there is none."""
    text = s.field.quick(None)
    if text is None:
        return None
    try:
        raw = text.encode(s.encoding)
    except UnicodeEncodeError:
        return None
    if len(raw) < s.width and (s.field.converter.pads or text == "") and not (s.pad != " " and text.endswith(s.pad)):
        fill, rest = divmod(s.width - len(raw), len(s.pad_bytes))
        raw += b"" if rest else s.pad_bytes * fill
    if len(raw) != s.width or not raw.isascii() or raw.decode("ascii").encode(encoding) != raw:
        return None
    return raw.decode("ascii")
