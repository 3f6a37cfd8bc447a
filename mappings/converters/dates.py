"""Dates in the western calendar: YYYYMMDD (`datetime.date`) or YYYYMM (`YearMonth`)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, NamedTuple

from mappings.converters.base import Converter, FieldContext, Param, Quick, QuickColumn, QuickParse, expect, register
from mappings.errors import ConversionError

_FORMATS = {"YYYYMMDD": re.compile("[0-9]{8}"), "YYYYMM": re.compile("[0-9]{6}")}


class YearMonth(NamedTuple):
    year: int
    month: int

    def __str__(self) -> str:
        return f"{self.year:04d}{self.month:02d}"


@register
class Date(Converter):
    """`format = "YYYYMMDD"` (default; value `datetime.date`, must be a real day) or `"YYYYMM"`
    (value `YearMonth`; a `date` is accepted on render and written as its month).
    """

    name = "date"
    PARAMS: ClassVar[Mapping[str, Param]] = {"format": Param(str, "YYYYMMDD", tuple(_FORMATS))}

    def __init__(self, params: Mapping[str, Any], ctx: FieldContext) -> None:
        super().__init__(params, ctx)
        self.format: str = self.params["format"]
        self.regex = _FORMATS[self.format]

    def to_text(self, value: Any) -> str:
        if isinstance(value, dt.datetime):
            raise ConversionError("type", "datetime given where a date is expected (time would be dropped)")
        if self.format == "YYYYMM":
            if isinstance(value, YearMonth):
                if not (1 <= value.year <= 9999 and 1 <= value.month <= 12):
                    raise ConversionError("date", "year-month out of range")
                return str(value)
            expect(value, dt.date, "YearMonth or date")
            return f"{value.year:04d}{value.month:02d}"
        expect(value, dt.date, "date")
        return f"{value.year:04d}{value.month:02d}{value.day:02d}"

    def check(self, text: str) -> None:
        if not self.regex.fullmatch(text):
            raise ConversionError("date", f"not {self.format} (ASCII digits)")
        self.from_text(text)

    def from_text(self, text: str) -> dt.date | YearMonth:
        year, month = int(text[:4]), int(text[4:6])
        try:
            if self.format == "YYYYMM":
                dt.date(year, month, 1)
                return YearMonth(year, month)
            return dt.date(year, month, int(text[6:8]))
        except ValueError:
            what = "month" if self.format == "YYYYMM" else "day"
            raise ConversionError("date", f"no such {what}") from None

    def text_pattern(self) -> str | None:
        # Years 1000-9999, real months; in YYYYMMDD every day but 29 February, which the full
        # path judges (it needs the leap-year rule).
        year = "[1-9][0-9]{3}"
        if self.format == "YYYYMM":
            return year + "(?:0[1-9]|1[0-2])"
        return year + ("(?:(?:0[13578]|1[02])(?:0[1-9]|[12][0-9]|3[01])"
                       "|(?:0[469]|11)(?:0[1-9]|[12][0-9]|30)|02(?:0[1-9]|1[0-9]|2[0-8]))")

    def exact_width(self) -> int | None:
        return len(self.format)

    def quick_parse(self) -> QuickParse:
        # A file repeats the same few months and days (サービス提供年月, 審査年月) on every
        # record: the last text's value is kept, as one tuple (threads may share the converter).
        full = self.parse
        last: tuple[str, Any] = ("", None)

        def parse(t: str) -> Any:
            nonlocal last
            seen = last
            if t == seen[0]:
                return seen[1]
            value = full(t)
            last = (t, value)
            return value

        return parse

    def _spec(self) -> str:
        return "{0.year:04d}{0.month:02d}" + ("" if self.format == "YYYYMM" else "{0.day:02d}")

    def quick(self) -> Quick | None:
        # A plain date (not a datetime, not a YearMonth): every one is a real day of years 1-9999.
        # A print run puts one issue date on every record, so the last date's text is kept (as
        # one tuple: renders in other threads may share this converter).
        spec = self._spec()
        last: tuple[dt.date | None, str] = (None, "")

        def quick(v: Any) -> str | None:
            nonlocal last
            if type(v) is not dt.date:
                return None
            seen = last
            if seen[0] == v:
                return seen[1]
            text = spec.format(v)
            last = (v, text)
            return text

        return quick

    def quick_column(self, gaps: bool) -> QuickColumn | None:
        # Each distinct date formatted once (a print run has one issue date).
        if gaps:
            return None
        spec, only_date = self._spec(), frozenset((dt.date,))

        def column(values: Sequence[Any]) -> list[str] | None:
            if not only_date.issuperset(map(type, values)):
                return None
            texts = {v: spec.format(v) for v in set(values)}
            return list(map(texts.__getitem__, values))

        return column
