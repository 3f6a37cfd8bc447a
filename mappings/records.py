"""Record-level work shared by every codec: values → field texts, field texts → values.

Codecs only frame (split lines, cut byte spans, walk elements); the rules live here and in the
converters, so CSV, fixed-length and XML report the same problems the same way.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mappings.charpolicy import CharPolicy, Substitution
from mappings.charsets import disallowed, mask
from mappings.errors import ConversionError, RenderError
from mappings.layout import KIND_KEY, Field, Layout, RecordKind


@dataclass(frozen=True)
class FieldProblem:
    field: str | None  # None: the record as a whole (column count, length, terminator, kind)
    rule: str
    detail: str
    raw: str | None = None  # the raw text, masked if the field is sensitive

    def __str__(self) -> str:
        where = f"field {self.field}: " if self.field else ""
        raw = f" (raw {self.raw!r})" if self.raw is not None else ""
        return f"{where}{self.rule}: {self.detail}{raw}"


@dataclass(frozen=True)
class RecordError:
    """One rejected record. Parsing goes on after it; the caller decides about the file."""

    file: str
    record_no: int  # 1-based, counting data records (a CSV header line is not a record)
    problems: tuple[FieldProblem, ...]
    line: int | None = None  # CSV: physical line, 1-based
    offset: int | None = None  # fixed-length: byte offset of the record
    kind: str | None = None

    @property
    def fields(self) -> tuple[str | None, ...]:
        return tuple(p.field for p in self.problems)

    @property
    def rules(self) -> tuple[str, ...]:
        return tuple(p.rule for p in self.problems)

    def __str__(self) -> str:
        at = f" line {self.line}" if self.line is not None else ""
        at += f" offset {self.offset}" if self.offset is not None else ""
        return f"{self.file}: record {self.record_no}{at}: " + "; ".join(map(str, self.problems))


@dataclass(frozen=True, eq=True)
class ParsedRecord:
    record_no: int
    kind: str
    values: dict[str, Any]
    sensitive: frozenset[str] = field(default=frozenset(), compare=False)

    def __getitem__(self, name: str) -> Any:
        return self.values[name]

    def __repr__(self) -> str:  # records end up in logs and tracebacks: mask what the layout flags
        shown = {k: (mask(str(v)) if k in self.sensitive and v is not None else v)
                 for k, v in self.values.items()}
        return f"ParsedRecord(record_no={self.record_no}, kind={self.kind!r}, values={shown!r})"


def _shown(f: Field, value: Any) -> str:
    if f.sensitive:
        return mask(None if value is None else str(value))
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


class RecordRenderer:
    """Turns record mappings into field texts for one layout and one render run."""

    def __init__(self, layout: Layout, chars: CharPolicy | None) -> None:
        self.layout = layout
        self.chars = chars if chars is not None else CharPolicy()
        self.names = {k.name: frozenset(f.name for f in k.fields) | {KIND_KEY} for k in layout.kinds}
        self.plans = {k.name: tuple((f, f.name, f.quick) for f in k.fields) for k in layout.kinds}
        self.masked_keys = {f.name for k in layout.kinds for f in k.fields if f.sensitive and f.name in layout.key}
        # The column fast path (``columns``): a layout of one kind, records without KIND_KEY.
        if len(layout.kinds) == 1:
            fields = layout.kinds[0].fields
            self._block: tuple[int, Callable[[Mapping[str, Any]], Any], tuple[Field, ...]] | None = (
                len(fields), _values_getter(tuple(f.name for f in fields)), fields)
        else:
            self._block = None

    def kind_of(self, index: int, record: Mapping[str, Any]) -> RecordKind:
        name = record.get(KIND_KEY)
        if name is None and len(self.layout.kinds) == 1:
            return self.layout.kinds[0]
        try:
            return self.layout.kind(name)
        except ValueError as exc:
            raise RenderError(self.layout.id, index, self.key(record), None, "kind", str(exc)) from None

    def key(self, record: Mapping[str, Any]) -> str:
        """The record's key fields for reports, sensitive ones masked."""
        parts = []
        for name in self.layout.key:
            if name in record:
                value = record[name]
                parts.append(f"{name}={mask(str(value)) if name in self.masked_keys else value}")
        return ", ".join(parts) or "no key"

    def columns(self, records: Sequence[Mapping[str, Any]]) -> tuple[list[Sequence[str | None]], set[int]] | None:
        """The field texts of a block of records, column by column in field order, as ``texts``
        gives them where every value of a record takes its field's fast path, and the positions
        of the records where one does not (a character to substitute, a value to check on the
        full path): the caller renders those with ``texts``, which says what is wrong. Each
        column is judged whole (``Field.quick_column``); only one it declines is looked at value
        by value. None: the block as a whole needs ``texts`` (a layout of several kinds, not
        plain dicts, an absent or unknown field)."""
        if self._block is None:
            return None
        count, values_of, fields = self._block
        # Plain dicts (no __missing__ behind the look-ups below), every field there (else
        # KeyError: ``texts`` takes an absent one as None) and nothing else (a KIND_KEY, an
        # unknown field): as many keys as fields.
        if not _DICT.issuperset(map(type, records)) or set(map(len, records)) != {count}:
            return None
        try:
            rows = list(map(values_of, records))
        except KeyError:
            return None
        out: list[Sequence[str | None]] = []
        slow: set[int] = set()
        for f, values in zip(fields, zip(*rows, strict=True), strict=True):
            texts: Sequence[str | None] | None = f.quick_column(values)
            if texts is None:
                texts = list(map(f.quick, values))
                slow.update(i for i, text in enumerate(texts) if text is None)
            out.append(texts)
        return out, slow

    def texts(self, index: int, record: Mapping[str, Any]) -> tuple[RecordKind, list[str]] | None:
        """The field texts in field order, or None if the record is withheld by the CharPolicy."""
        kind = self.kind_of(index, record)
        names = self.names[kind.name]
        if not names.issuperset(record.keys()):
            extra = record.keys() - names
            raise RenderError(self.layout.id, index, self.key(record), None, "unknown_field",
                              f"no field(s) {', '.join(sorted(map(str, extra)))} in record {kind.name}")
        texts: list[str] = []
        pending: list[Substitution] = []
        withheld = False
        for f, name, quick in self.plans[kind.name]:
            value = record.get(name)
            text = quick(value)
            if text is not None:  # the common case, already checked (Field.quick)
                texts.append(text)
                continue
            try:
                text = f.to_text(value)
                if not text.isascii():
                    bad = disallowed(text, f.converter.allowed, f.converter.refused)
                    if bad:
                        resolved = self.chars.resolve(
                            text, bad, f.converter.allowed, scope=f.converter.scope(),
                            layout=self.layout.id, record_index=index, record_key=self.key(record),
                            field=f.name, pending=pending)
                        if resolved is None:
                            withheld = True
                            continue
                        text = resolved
                f.check(text)
            except ConversionError as exc:
                raise RenderError(self.layout.id, index, self.key(record), f.name, exc.rule,
                                  f"{exc.detail} (value {_shown(f, value)})") from None
            texts.append(text)
        if withheld:
            self.chars.withheld.append(index)
            return None
        self.chars.substitutions.extend(pending)
        return kind, texts


_DICT = frozenset((dict,))


def _values_getter(names: tuple[str, ...]) -> Callable[[Mapping[str, Any]], tuple[Any, ...]]:
    """A record's values of ``names``, as a tuple (itemgetter of one name gives the bare value)."""
    if len(names) == 1:
        get_one = operator.itemgetter(names[0])
        return lambda record: (get_one(record),)
    return operator.itemgetter(*names)


def parse_texts(kind: RecordKind, texts: Sequence[str | None], *, file: str, record_no: int,
                line: int | None = None, offset: int | None = None,
                problems: Sequence[FieldProblem] = ()) -> ParsedRecord | RecordError:
    """Field texts (in field order) → a ParsedRecord, or a RecordError listing every problem.

    `problems` already found by the codec come first; a text of None is a field the codec has
    already reported (undecodable bytes) and is skipped.
    """
    if not problems and None not in texts:
        quick = kind.quick(texts)  # type: ignore[arg-type]  # no None: checked just above
        if quick is not None:
            return ParsedRecord(record_no, kind.name, quick, kind.sensitive_names)
    return full_parse_texts(kind, texts, file=file, record_no=record_no, line=line, offset=offset,
                            problems=problems)


def full_parse_texts(kind: RecordKind, texts: Sequence[str | None], *, file: str, record_no: int,
                     line: int | None = None, offset: int | None = None,
                     problems: Sequence[FieldProblem] = ()) -> ParsedRecord | RecordError:
    """``parse_texts`` without the fast path: every field through its converter's ``parse``."""
    values: dict[str, Any] = {}
    found = list(problems)
    for f, text in zip(kind.fields, texts, strict=True):
        if text is None:
            continue
        try:
            value = f.parse(text)
        except ConversionError as exc:
            found.append(FieldProblem(f.name, exc.rule, exc.detail, mask(text) if f.sensitive else text))
            continue
        if f.converter.name != "filler":
            values[f.name] = value
    if found:
        return RecordError(file, record_no, tuple(found), line=line, offset=offset, kind=kind.name)
    return ParsedRecord(record_no, kind.name, values, kind.sensitive_names)

