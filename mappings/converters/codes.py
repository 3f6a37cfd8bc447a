"""Fields whose value is fixed or drawn from a list: `code`, `constant`, `filler`.

Named code tables live in mappings/codes/*.toml, one TOML table per code table:
`[seibetsu]  label = "性別コード"  source = "…"  values = { "1" = "男", "2" = "女" }`.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any, ClassVar

from mappings.charsets import forbidden_char
from mappings.converters.base import (
    SLOW,
    Converter,
    FieldContext,
    Param,
    Quick,
    QuickColumn,
    QuickParse,
    expect,
    register,
)
from mappings.converters.text import byte_len
from mappings.errors import ConversionError, ParamError

CODES_DIR = Path(__file__).resolve().parent.parent / "codes"


@cache
def _tables(directory: Path) -> dict[str, dict[str, Any]]:
    """Every code table of ``directory`` as written: name → its TOML table (values, source, …)."""
    tables: dict[str, dict[str, Any]] = {}
    for path in sorted(directory.glob("*.toml")):
        with path.open("rb") as fh:
            data = tomllib.load(fh)
        for name, table in data.items():
            values = table.get("values") if isinstance(table, dict) else None
            if not isinstance(values, dict) or not all(isinstance(v, str) for v in values.values()):
                raise ValueError(f"{path}: code table {name!r} needs values = {{code = meaning, …}}")
            if name in tables:
                raise ValueError(f"{path}: code table {name!r} is defined twice")
            tables[name] = table
    return tables


@cache
def code_tables(directory: Path = CODES_DIR) -> dict[str, dict[str, str]]:
    """All named code tables: name → {code: meaning}. A name defined twice is an error."""
    return {name: dict(table["values"]) for name, table in _tables(directory).items()}


def table_entry(name: str, key: str, directory: Path = CODES_DIR) -> Any:
    """Another entry of a code table than its values (e.g. nenkin_tsuchi_naiyo's ``files``: the
    file kind each code comes in); KeyError naming the table when it has none."""
    table = _tables(directory)[name]
    if key not in table:
        raise KeyError(f"code table {name!r} has no {key!r}")
    return table[key]


def _encodable(value: str, encoding: str, param: str) -> None:
    try:
        value.encode(encoding)
    except UnicodeEncodeError:
        raise ParamError(param, f"{value!r} cannot be encoded in {encoding}") from None


@register
class Code(Converter):
    """A code from a table given inline (`codes = {"1" = "特別徴収"}`) or by name (`table = "…"`)."""

    name = "code"
    PARAMS: ClassVar[Mapping[str, Param]] = {"codes": Param(dict, None), "table": Param(str, None)}

    def __init__(self, params: Mapping[str, Any], ctx: FieldContext) -> None:
        super().__init__(params, ctx)
        inline, named = self.params["codes"], self.params["table"]
        if (inline is None) == (named is None):
            raise ParamError("codes", "give exactly one of codes (inline) or table (by name)")
        if named is not None:
            tables = code_tables()
            if named not in tables:
                raise ParamError("table", f"no code table {named!r} in {CODES_DIR}")
            inline = tables[named]
        if not inline:
            raise ParamError("codes", "the code table is empty")
        self.table_name = named or "inline"
        self.codes: dict[str, str] = {str(k): str(v) for k, v in inline.items()}
        for code in self.codes:
            _encodable(code, ctx.encoding, "codes")
            if ctx.span_width is not None and byte_len(code, ctx.encoding) != ctx.span_width:
                raise ParamError("codes", f"code {code!r} does not fill the {ctx.span_width}-byte span")

    def to_text(self, value: Any) -> str:
        expect(value, str, "str code")
        return str(value)

    def check(self, text: str) -> None:
        if text not in self.codes:
            allowed = ", ".join(sorted(self.codes))
            raise ConversionError("code_table", f"not in code table {self.table_name} ({allowed})")

    def exact_width(self) -> int | None:
        return self.ctx.span_width

    def text_pattern(self) -> str | None:
        # The codes that need no quoting in a file (any other is judged on the full path).
        plain = sorted((c for c in self.codes if _plain(c)), key=lambda c: (-len(c), c))
        return "(?:" + "|".join(map(re.escape, plain)) + ")" if plain else None

    def quick_parse(self) -> QuickParse:
        codes = self.codes
        return lambda t: t if t in codes else SLOW

    def quick(self) -> Quick | None:
        # A str that is one of the codes; only ASCII codes, which need no charset look.
        codes = frozenset(c for c in self.codes if c and c.isascii())
        return lambda v: v if type(v) is str and v in codes else None

    def quick_column(self, gaps: bool) -> QuickColumn | None:
        if gaps:
            return None
        codes = frozenset(c for c in self.codes if c and c.isascii())
        only_str = frozenset((str,))
        return lambda values: values if only_str.issuperset(map(type, values)) and codes.issuperset(values) else None

    def meaning(self, code: str) -> str:
        return self.codes[code]


@register
class Constant(Converter):
    """A fixed value (record type, identifier of the exchange …); on parse it must be equal."""

    name = "constant"
    always = True
    PARAMS: ClassVar[Mapping[str, Param]] = {"value": Param(str)}

    def __init__(self, params: Mapping[str, Any], ctx: FieldContext) -> None:
        super().__init__(params, ctx)
        self.value: str = self.params["value"]
        _encodable(self.value, ctx.encoding, "value")
        if ctx.span_width is not None and byte_len(self.value, ctx.encoding) != ctx.span_width:
            raise ParamError("value", f"{self.value!r} does not fill the {ctx.span_width}-byte span")

    def to_text(self, value: Any) -> str:
        if value is not None and value != self.value:
            raise ConversionError("constant", f"must be {self.value!r}")
        return self.value

    def check(self, text: str) -> None:
        if text != self.value:
            raise ConversionError("constant", f"must be {self.value!r}")

    def quick(self) -> Quick | None:
        return _fixed_text(self.value)

    def text_pattern(self) -> str | None:
        return re.escape(self.value) if _plain(self.value) else None

    def quick_parse(self) -> QuickParse:
        value = self.value
        return lambda t: t if t == value else SLOW


@register
class Filler(Converter):
    """Reserved space (予備, ブランク): `width` spaces or zeros; on parse it must be exactly that."""

    name = "filler"
    always = True
    PARAMS: ClassVar[Mapping[str, Param]] = {
        "width": Param(int, None), "fill": Param(str, "space", ("space", "zero"))}

    def __init__(self, params: Mapping[str, Any], ctx: FieldContext) -> None:
        super().__init__(params, ctx)
        width = self.width_param()
        self.width = 0 if width is None else width
        self.text = (" " if self.params["fill"] == "space" else "0") * self.width

    def to_text(self, value: Any) -> str:
        if value is not None and value != self.text:
            raise ConversionError("filler", "a filler field takes no value")
        return self.text

    def check(self, text: str) -> None:
        if text != self.text:
            fill = self.params["fill"]
            raise ConversionError("filler", f"expected {self.width} {fill} character(s)")

    def from_text(self, text: str) -> Any:
        return None

    def exact_width(self) -> int | None:
        return self.width

    def quick(self) -> Quick | None:
        return _fixed_text(self.text)

    def text_pattern(self) -> str | None:
        return re.escape(self.text)

    def quick_parse(self) -> QuickParse:
        text = self.text
        return lambda t: None if t == text else SLOW


def _plain(text: str) -> bool:
    """A non-empty text without control characters or the CSV delimiter and quote."""
    return bool(text) and forbidden_char(text) is None and "," not in text and '"' not in text


def _fixed_text(text: str) -> Quick | None:
    """Quick path of a field that always renders ``text`` (no value, "" or ``text`` itself)."""
    if not text.isascii():
        return None
    return lambda v: text if v is None or (type(v) is str and (v == "" or v == text)) else None
