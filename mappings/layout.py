"""The layout model: one `Field` type, record kinds, and the layout that frames them.

A field is located by a fixed byte range (`span`), a CSV column, an XPath relative to its
record element, or an item number (`item`: the 項目番号 of a 中間サーバー data set, whose items travel
as numbered values, mappings/standard_layout.py). A field may carry more than one locator, so the
same field definitions can frame a CSV file and its XML twin; the layout says which framings it
supports.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from mappings.converters import Converter
from mappings.converters.base import Quick, QuickColumn, each
from mappings.errors import ConversionError
from mappings.quickparse import QuickPlan


@dataclass(frozen=True)
class ByteRange:
    """Bytes `start`..`start + width - 1`, 1-based as partner specs number them."""

    start: int
    width: int

    @property
    def offset(self) -> int:
        return self.start - 1

    @property
    def end(self) -> int:
        """The last byte, 1-based, inclusive."""
        return self.start + self.width - 1


@dataclass(frozen=True)
class Column:
    index: int  # 0-based


@dataclass(frozen=True)
class XPath:
    path: str  # relative to the record element: "name", "a/b", "@attr", "a/@attr"


@dataclass(frozen=True)
class ItemNo:
    no: str  # 項目番号 within a data set, 1-4 digits as the 中間サーバー XSD has it


Locator = ByteRange | Column | XPath | ItemNo


@dataclass(frozen=True, eq=False)
class Field:
    name: str
    label: str
    converter: Converter
    required: bool = True
    sensitive: bool = False
    quoted: bool = False  # CSV: always enclose in quotes, whatever the layout's quoting rule
    span: ByteRange | None = None
    column: Column | None = None
    xpath: XPath | None = None
    item: ItemNo | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    encoding: str | None = None  # fixed-length only: this field's own codec (None: the layout's)

    @property
    def locator(self) -> Locator:
        loc = self.span or self.column or self.xpath or self.item
        assert loc is not None, f"field {self.name} has no locator"
        return loc

    def to_text(self, value: Any) -> str:
        """Format `value`; empty handling and converter type rules, no charset/byte rules yet."""
        conv = self.converter
        if value is None or (isinstance(value, str) and value == ""):
            if conv.always:
                return conv.to_text(None)
            if self.required:
                raise ConversionError("required", "no value for a required field")
            return ""
        return conv.to_text(value)

    def check(self, text: str) -> None:
        if text == "" and not self.converter.always:
            if self.required:
                raise ConversionError("required", "empty value in a required field")
            return
        self.converter.check(text)

    def render(self, value: Any) -> str:
        text = self.to_text(value)
        self.check(text)
        return text

    @cached_property
    def quick(self) -> Quick:
        """The render fast path (``Converter.quick``) with this field's rule for an absent value:
        the text ``render`` would give, or None for the full path (``to_text``, charset, ``check``)."""
        conv = self.converter.quick()
        if conv is None:
            return _full_path
        if self.converter.always or self.required:
            return conv  # None → None: the full path gives the constant or the "required" error
        return lambda v: "" if v is None else conv(v)

    @cached_property
    def quick_column(self) -> QuickColumn:
        """``quick`` over this field's values in a block of records: every text, or None when
        any value needs the full path (``Converter.quick_column``; else ``quick`` value by value)."""
        column = self.converter.quick_column(gaps=not (self.converter.always or self.required))
        if column is not None:
            return column
        return functools.partial(each, self.quick)

    def parse(self, text: str) -> Any:
        if text == "" and not self.converter.always:
            if self.required:
                raise ConversionError("required", "empty value in a required field")
            return None
        return self.converter.parse(text)


def _full_path(_value: Any) -> str | None:
    return None


@dataclass(frozen=True, eq=False)
class RecordKind:
    """One kind of record in a file (a notice; or control / data / end)."""

    name: str
    fields: tuple[Field, ...]
    length: int | None = None  # fixed-length: record bytes, without separator
    element: str | None = None  # XML: the record element's name

    @cached_property
    def by_name(self) -> dict[str, Field]:
        return {f.name: f for f in self.fields}

    @cached_property
    def discriminators(self) -> tuple[Field, ...]:
        """Constant fields: they tell this kind from the others when a file mixes kinds."""
        return tuple(f for f in self.fields if f.converter.name == "constant")

    @cached_property
    def sensitive_names(self) -> frozenset[str]:
        return frozenset(f.name for f in self.fields if f.sensitive)

    @cached_property
    def quick(self) -> QuickPlan:
        return QuickPlan(self)

    @cached_property
    def value_fields(self) -> tuple[Field, ...]:
        """Fields a parsed record carries a value for (fillers carry none)."""
        return tuple(f for f in self.fields if f.converter.name != "filler")


@dataclass(frozen=True)
class CsvFormat:
    delimiter: str = ","
    quotechar: str = '"'
    quoting: str = "minimal"  # minimal | all | none
    line_terminator: str = "\r\n"
    header: bool = False  # a first line of field labels
    bom: bool = False


@dataclass(frozen=True)
class ReturnsColumns:
    """A print layout's columns that name a notice when the vendor reports it returned (返戻)."""

    notice_no: int
    atena_no: int


@dataclass(frozen=True)
class FixedFormat:
    record_separator: str = ""  # "" (one stream of records), "\r\n" or "\n"


@dataclass(frozen=True)
class XmlFormat:
    root: str
    namespace: str | None = None


KIND_KEY = "_kind"  # in a record mapping handed to render: which record kind it is


@dataclass(frozen=True, eq=False)
class Layout:
    partner: str
    name: str
    version: str
    source: str
    encoding: str
    kinds: tuple[RecordKind, ...]
    key: tuple[str, ...] = ()
    label: str = ""
    csv: CsvFormat | None = None
    fixed: FixedFormat | None = None
    xml: XmlFormat | None = None
    path: Path | None = None
    returns: ReturnsColumns | None = None  # print layouts: the [returns] table

    @property
    def id(self) -> str:
        return f"{self.partner}/{self.name}-v{self.version}"

    @property
    def formats(self) -> tuple[str, ...]:
        return tuple(n for n, f in (("csv", self.csv), ("fixed", self.fixed), ("xml", self.xml)) if f)

    @cached_property
    def kinds_by_name(self) -> dict[str, RecordKind]:
        return {k.name: k for k in self.kinds}

    @cached_property
    def dispatch_columns(self) -> tuple[int, ...]:
        """CSV columns whose constants tell the kinds apart, when every kind has one in each
        (then a dict finds the kind of a line; otherwise each kind is tried in turn)."""
        columns = [frozenset(f.column.index for f in k.discriminators if f.column is not None) for k in self.kinds]
        return tuple(sorted(columns[0])) if columns and len(set(columns)) == 1 else ()

    @cached_property
    def dispatch(self) -> dict[tuple[str, ...], RecordKind]:
        out: dict[tuple[str, ...], RecordKind] = {}
        for k in self.kinds:
            by_column = {f.column.index: getattr(f.converter, "value", None) for f in k.discriminators
                         if f.column is not None}
            out.setdefault(tuple(str(by_column[i]) for i in self.dispatch_columns), k)
        return out

    def dispatch_key(self, cols: Sequence[str]) -> tuple[str, ...] | None:
        columns = self.dispatch_columns
        if not columns or len(cols) <= columns[-1]:
            return None
        return tuple(cols[i] for i in columns)

    def kind(self, name: str | None = None) -> RecordKind:
        if name is None:
            if len(self.kinds) != 1:
                raise ValueError(f"{self.id} has {len(self.kinds)} record kinds; name one")
            return self.kinds[0]
        try:
            return self.kinds_by_name[name]
        except KeyError:
            known = ", ".join(self.kinds_by_name)
            raise ValueError(f"{self.id} has no record kind {name!r} (kinds: {known})") from None

    @property
    def fields(self) -> tuple[Field, ...]:
        """The fields of a single-kind layout."""
        return self.kind().fields
