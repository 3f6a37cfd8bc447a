"""Partner wire formats as data: layouts (TOML), shared value converters, streaming codecs.

    from mappings import layouts, csv_codec
    layout = layouts.get("vendor", "hokenryo-kettei")          # latest version
    chars = CharPolicy(SubstitutionTable.named("jis_substitutions"), on_unmapped="withhold")
    for chunk in csv_codec.render(layout, records, chars=chars): ...
    for item in csv_codec.parse(layout, stream, file="notice.csv"): ParsedRecord | RecordError

`render`/`parse` below pick the codec from the layout's framing. A bottom layer beside store: it
imports no other project package (README "Layout").
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from mappings import csv_codec, fixed_codec, xml_codec
from mappings.charpolicy import CharPolicy, EncodingIssue, Substitution, SubstitutionTable
from mappings.converters import CONVERTERS, Converter, YearMonth, register
from mappings.errors import ConversionError, EncodingError, LayoutError, RenderError
from mappings.layout import KIND_KEY, ByteRange, Column, Field, Layout, RecordKind, XPath
from mappings.loader import load_layout
from mappings.records import FieldProblem, ParsedRecord, RecordError
from mappings.registry import LayoutRegistry, layouts
from mappings.streams import Source

__all__ = [
    "CONVERTERS", "KIND_KEY", "ByteRange", "CharPolicy", "Column", "ConversionError", "Converter",
    "EncodingError", "EncodingIssue", "Field", "FieldProblem", "Layout", "LayoutError", "LayoutRegistry",
    "ParsedRecord", "RecordError", "RecordKind", "RenderError", "Substitution", "SubstitutionTable",
    "XPath", "YearMonth", "csv_codec", "fixed_codec", "layouts", "load_layout", "parse", "register", "render",
    "xml_codec",
]


def _codec(layout: Layout, form: str | None) -> Any:
    form = form or layout.formats[0]
    if form not in layout.formats:
        raise ValueError(f"layout {layout.id} has no {form} framing (it has: {', '.join(layout.formats)})")
    return {"csv": csv_codec, "fixed": fixed_codec, "xml": xml_codec}[form]


def render(layout: Layout, records: Iterable[Mapping[str, Any]], *, chars: CharPolicy | None = None,
           form: str | None = None) -> Iterator[bytes]:
    """Render with the layout's (first) framing, or `form` = "csv" | "fixed" | "xml"."""
    result: Iterator[bytes] = _codec(layout, form).render(layout, records, chars=chars)
    return result


def parse(layout: Layout, source: Source, *, file: str = "<stream>",
          form: str | None = None) -> Iterator[ParsedRecord | RecordError]:
    result: Iterator[ParsedRecord | RecordError] = _codec(layout, form).parse(layout, source, file=file)
    return result
