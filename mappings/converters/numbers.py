"""Numeric fields: zero-filled counts and codes-as-numbers (`number`) and yen amounts (`amount`)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any, ClassVar

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
from mappings.errors import ConversionError, ParamError

_UNSIGNED = re.compile("[0-9]+")
_SIGNED = re.compile("-?[0-9]+")
# No partner field holds more (an int64 holds 18 digits); int() itself refuses past 4,300.
MAX_DIGITS = 18


@register
class Number(Converter):
    """A non-negative int (or signed with `signed = true`) as ASCII digits.

    With `width` (always set in fixed-length fields) the text is zero-filled to exactly `width`
    characters, a sign counting as one; without it the digits are written plainly.
    """

    name = "number"
    PARAMS: ClassVar[Mapping[str, Param]] = {"width": Param(int, None), "signed": Param(bool, False)}
    accepts: tuple[type, ...] = (int,)

    def __init__(self, params: Mapping[str, Any], ctx: FieldContext) -> None:
        super().__init__(params, ctx)
        self.width = self.width_param()
        if self.width == 0:
            raise ParamError("width", "must be at least 1")
        self.signed: bool = self.params["signed"]
        self.regex = _SIGNED if self.signed else _UNSIGNED

    def integer(self, value: Any) -> int:
        expect(value, self.accepts, " or ".join(t.__name__ for t in self.accepts))
        return int(value)

    def to_text(self, value: Any) -> str:
        n = self.integer(value)
        if n < 0 and not self.signed:
            raise ConversionError("sign", "negative value in an unsigned field")
        if self.width is None:
            return str(n)
        text = f"{n:0{self.width}d}"
        if len(text) > self.width:
            raise ConversionError("width", f"{len(text)} characters, field holds {self.width}")
        return text

    def check(self, text: str) -> None:
        if not self.regex.fullmatch(text):
            raise ConversionError("digits", "non-digit characters (only ASCII 0-9"
                                  + (", leading '-')" if self.signed else ")"))
        if self.width is not None and len(text) != self.width:
            raise ConversionError("width", f"{len(text)} characters, expected exactly {self.width}")
        if len(text.lstrip("-")) > MAX_DIGITS:
            raise ConversionError("width", f"{len(text)} characters; numbers have at most {MAX_DIGITS} digits")

    def from_text(self, text: str) -> int:
        return int(text)

    def quick(self) -> Quick | None:
        # A plain non-negative int (not bool, not Decimal) that fits: the digits, zero-filled.
        width = self.width
        if width is None:
            return lambda v: str(v) if type(v) is int and v >= 0 else None
        spec, limit = f"0{width}d", 10**width
        return lambda v: format(v, spec) if type(v) is int and 0 <= v < limit else None

    def quick_column(self, gaps: bool) -> QuickColumn | None:
        # quick's test on every value at once: only plain ints (and None, with gaps), the least
        # ≥ 0 and the greatest < 10**width, over the non-zero ones (0 always passes; filter(None)
        # drops it with the Nones). repr of an int is its str, and "%0Nd" is format(v, "0Nd"),
        # each about twice as fast mapped as str and format.
        types = frozenset((int, type(None)) if gaps else (int,))
        limit = None if self.width is None else 10**self.width
        text: Callable[[int], str] = repr if self.width is None else f"%0{self.width}d".__mod__

        def column(values: Sequence[Any]) -> list[str] | None:
            if not types.issuperset(map(type, values)):
                return None
            nonzero = list(filter(None, values))
            if nonzero and (min(nonzero) < 0 or (limit is not None and max(nonzero) >= limit)):
                return None
            if gaps:
                return [text(v) if v is not None else "" for v in values]
            return list(map(text, values))

        return column

    def quick_parse(self) -> QuickParse:
        # ASCII digits (str.isdigit alone takes other scripts' digits) of an allowed length;
        # a sign, zero-fill of a signed field or anything else takes the full path.
        width = self.width

        def parse(t: str) -> Any:
            n = len(t)
            if t.isdigit() and t.isascii() and n <= MAX_DIGITS and (width is None or n == width):
                return int(t)
            return SLOW

        return parse

    def text_pattern(self) -> str | None:
        # [0-9], not \d: \d takes every script's digits. A zero-filled signed field's negative
        # form (the sign counts in the width) is left to the full path.
        width = self.width
        if width is not None:
            return f"[0-9]{{{width}}}" if width <= MAX_DIGITS else None
        return f"-?[0-9]{{1,{MAX_DIGITS}}}" if self.signed else f"[0-9]{{1,{MAX_DIGITS}}}"

    def exact_width(self) -> int | None:
        return self.width


@register
class Amount(Number):
    """Yen as a whole number: int, or a Decimal with no fraction (a fraction is refused)."""

    name = "amount"
    accepts = (int, Decimal)

    def integer(self, value: Any) -> int:
        expect(value, self.accepts, "int or Decimal")
        if isinstance(value, Decimal):
            if not value.is_finite() or value != value.to_integral_value():
                raise ConversionError("whole_yen", "amount has a fraction of a yen")
        return int(value)
