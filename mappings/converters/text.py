"""Text fields: free text with byte and charset limits, and identifiers made of digits."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from mappings.charsets import (
    CHARSETS,
    FORBIDDEN,
    allowed_chars,
    describe,
    disallowed,
    forbidden_char,
    plain_class,
    refused_pattern,
)
from mappings.converters.base import (
    Converter,
    FieldContext,
    Param,
    Quick,
    QuickColumn,
    QuickParse,
    each,
    expect,
    register,
)
from mappings.errors import ConversionError, ParamError

_STR = frozenset((str,))
_SEPARATORS = (",", "\u3000", "ー")  # for Text.quick_column: one that its checks do not match
_HALFWIDTH = re.compile("[ -~]")  # ASCII printable: what fullwidth_only refuses
# Most bytes one character takes, for encodings where that is known: a text of n characters is
# then at most n × this many bytes, and a text well under max_bytes need not be encoded to count.
_MAX_CHAR_BYTES = {"cp932": 2, "shift_jis": 2, "utf-8": 4, "jis_x0208_raw": 2}


def byte_len(text: str, encoding: str) -> int:
    return len(text) if text.isascii() else len(text.encode(encoding))


@register
class Text(Converter):
    """Text up to `max_bytes` bytes in the layout's encoding, from `charset`.

    `fullwidth_only` refuses ASCII (half-width) characters; `pattern` is a regular expression the
    whole text must match. In a fixed-length field the max defaults to the span and trailing
    spaces are refused, because there they are padding and would not survive a round trip.
    """

    name = "text"
    pads = True
    PARAMS: ClassVar[Mapping[str, Param]] = {
        "max_bytes": Param(int, None),
        "charset": Param(str, "any", CHARSETS),
        "fullwidth_only": Param(bool, False),
        "pattern": Param(str, None),
    }

    def __init__(self, params: Mapping[str, Any], ctx: FieldContext) -> None:
        super().__init__(params, ctx)
        self.charset = self.params["charset"]
        self.allowed = allowed_chars(ctx.encoding, self.charset)
        self.refused = refused_pattern(ctx.encoding, self.charset)
        self.max_bytes = self.width_param("max_bytes")
        if self.max_bytes is not None and self.max_bytes < 1:
            raise ParamError("max_bytes", "must be at least 1")
        self.fullwidth_only: bool = self.params["fullwidth_only"]
        pattern = self.params["pattern"]
        try:
            self.pattern = re.compile(pattern) if pattern is not None else None
        except re.error as exc:
            raise ParamError("pattern", f"not a regular expression: {exc}") from None
        self.fixed = ctx.span_width is not None
        self._char_bytes = _MAX_CHAR_BYTES.get(ctx.encoding, 1 << 30)  # unknown: always count

    def to_text(self, value: Any) -> str:
        expect(value, str, "str")
        return str(value)

    def quick(self) -> Quick | None:
        # A str the field takes as it is: the checks of ``check``, without what cannot fail; a
        # character that needs substituting (or any doubt) takes the full path.
        refused, fullwidth, max_bytes, pattern = self.refused, self.fullwidth_only, self.max_bytes, self.pattern
        fixed, char_bytes, encoding = self.fixed, self._char_bytes, self.ctx.encoding
        forbidden, halfwidth = FORBIDDEN.search, _HALFWIDTH.search

        def quick(v: Any) -> str | None:
            if type(v) is not str or not v:
                return None
            if v.isascii():
                size = len(v)
            elif refused is None or refused.search(v) is not None:
                return None
            else:
                size = len(v) * char_bytes  # at most
            if forbidden(v) is not None or (fullwidth and halfwidth(v) is not None):
                return None
            if max_bytes is not None and size > max_bytes and byte_len(v, encoding) > max_bytes:
                return None
            if (fixed and v[-1] == " ") or (pattern is not None and pattern.fullmatch(v) is None):
                return None
            return v

        return quick

    def quick_column(self, gaps: bool) -> QuickColumn | None:
        # quick's tests as passes over the column in C. The refused characters are looked for in
        # ASCII values too, where quick does not look: a printable ASCII character is never
        # refused, and a control character is FORBIDDEN anyway. Only when the longest value
        # might be over max_bytes does the column go value by value (quick counts the bytes).
        if gaps or self.fixed:
            return None
        quick = self.quick()
        assert quick is not None
        refused, fullwidth, max_bytes, pattern = self.refused, self.fullwidth_only, self.max_bytes, self.pattern
        char_bytes = self._char_bytes
        # The refused, forbidden and half-width patterns are each one character class: searched
        # once in the values joined by a character none of them matches, they find what a search
        # in each value would.
        classes = [p.search for p in (refused, FORBIDDEN, _HALFWIDTH if fullwidth else None) if p is not None]
        sep = next((c for c in _SEPARATORS if not any(search(c) for search in classes)), None)

        def column(values: Sequence[Any]) -> Sequence[str] | None:
            if not _STR.issuperset(map(type, values)) or "" in values:
                return None
            if refused is None and not all(map(str.isascii, values)):
                return None
            if sep is not None:
                joined = sep.join(values)
                if any(search(joined) for search in classes):
                    return None
            elif any(any(map(search, values)) for search in classes):
                return None
            if pattern is not None and not all(map(pattern.fullmatch, values)):
                return None
            if max_bytes is not None and values and max(map(len, values)) * char_bytes > max_bytes:
                return each(quick, values)
            return values

        return column

    def quick_parse(self) -> QuickParse:
        return self.identity_quick_parse()

    def text_pattern(self) -> str | None:
        # The charset's characters that need no quoting; n characters of at most
        # _MAX_CHAR_BYTES bytes each fit max_bytes, and n ASCII characters are n bytes.
        if self.fullwidth_only or self.pattern is not None or self.fixed:
            return None
        chars, most = plain_class(self.ctx.encoding, self.charset), self.max_bytes
        if most is None:
            return f"{chars}+"
        mixed = most // self._char_bytes
        ascii_only = f"{_PLAIN_ASCII}{{1,{most}}}"
        return f"(?:{ascii_only}|{chars}{{1,{mixed}}})" if mixed else ascii_only

    def check(self, text: str) -> None:
        bad = forbidden_char(text)
        if bad is not None:
            raise ConversionError("control_char", f"{describe(bad)} is not allowed in text")
        outside = disallowed(text, self.allowed, self.refused)
        if outside:
            chars = ", ".join(describe(c) for c in outside)
            raise ConversionError("charset", f"{chars} outside {self.scope()}")
        if self.fullwidth_only and _HALFWIDTH.search(text):
            raise ConversionError("fullwidth", "half-width (ASCII) characters in a full-width-only field")
        if self.max_bytes is not None and len(text) * self._char_bytes > self.max_bytes:
            size = byte_len(text, self.ctx.encoding)
            if size > self.max_bytes:
                raise ConversionError("max_bytes",
                                      f"{size} bytes in {self.ctx.encoding}, max {self.max_bytes}")
        if self.fixed and text.endswith(" "):
            raise ConversionError("trailing_space", "trailing spaces are padding in a fixed-length field")
        if self.pattern is not None and not self.pattern.fullmatch(text):
            raise ConversionError("pattern", f"does not match {self.pattern.pattern!r}")


_PLAIN_ASCII = '[ !#-+\\--~]'  # printable ASCII but the CSV quote (") and delimiter (,)


_DIGITS = re.compile("[0-9]*")


@register
class Digits(Converter):
    """An identifier of ASCII digits kept as a string (leading zeros matter): 被保険者番号 …

    `width` fixes the length exactly; otherwise `min_width`/`max_width` bound it.
    """

    name = "digits"
    PARAMS: ClassVar[Mapping[str, Param]] = {
        "width": Param(int, None), "min_width": Param(int, 1), "max_width": Param(int, None)}

    def __init__(self, params: Mapping[str, Any], ctx: FieldContext) -> None:
        super().__init__(params, ctx)
        self.width = self.width_param()
        self.min_width: int = self.params["min_width"]
        self.max_width: int | None = self.params["max_width"]
        if self.width is not None and (params.get("min_width") is not None or self.max_width is not None):
            raise ParamError("width", "give either width or min_width/max_width")

    def to_text(self, value: Any) -> str:
        expect(value, str, "str of digits")
        return str(value)

    def check(self, text: str) -> None:
        if not _DIGITS.fullmatch(text):
            raise ConversionError("digits", "non-digit characters (only ASCII 0-9)")
        n = len(text)
        if self.width is not None and n != self.width:
            raise ConversionError("width", f"{n} digits, expected exactly {self.width}")
        if n < self.min_width or (self.max_width is not None and n > self.max_width):
            raise ConversionError("width", f"{n} digits, expected {self.min_width}..{self.max_width or ''}")

    def exact_width(self) -> int | None:
        return self.width

    def quick_parse(self) -> QuickParse:
        return self.identity_quick_parse()

    def text_pattern(self) -> str | None:
        if self.width is not None:
            return f"[0-9]{{{self.width}}}" if self.width else None
        high = "" if self.max_width is None else self.max_width
        return f"[0-9]{{{max(1, self.min_width)},{high}}}"

    def quick(self) -> Quick | None:
        # A str of ASCII digits whose length the field takes.
        width, low, high = self.width, self.min_width, self.max_width

        def quick(v: Any) -> str | None:
            if type(v) is str and v.isdigit() and v.isascii():
                n = len(v)
                if (width is None or n == width) and n >= low and (high is None or n <= high):
                    return v
            return None

        return quick

    def quick_column(self, gaps: bool) -> QuickColumn | None:
        # The values joined are ASCII digits only if each is (an empty one adds nothing: the
        # least length catches it); then their lengths, from the set of lengths.
        if gaps:
            return None
        width, low, high = self.width, max(1, self.min_width), self.max_width

        def column(values: Sequence[Any]) -> Sequence[str] | None:
            if not _STR.issuperset(map(type, values)):
                return None
            joined = "".join(values)
            if not (joined.isdigit() and joined.isascii()):
                return None
            lengths = set(map(len, values))
            shortest, longest = min(lengths), max(lengths)
            if (width is not None and not shortest == longest == width) or shortest < low \
                    or (high is not None and longest > high):
                return None
            return values

        return column
