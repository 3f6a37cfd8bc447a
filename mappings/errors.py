"""Exceptions raised by layouts, converters and codecs.

Messages name the file, record, field and rule broken. They never carry the value of a field that
the layout flags `sensitive`; callers pass the value through `charsets.mask` before it gets here.
"""

from __future__ import annotations


class LayoutError(ValueError):
    """A layout file is not valid. Every problem found is listed, so one pass fixes them all."""

    def __init__(self, path: str, problems: list[str]) -> None:
        self.path = path
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"layout {path} is not valid:\n{lines}")


class ParamError(ValueError):
    """A converter was given a parameter it does not know, or a bad value for one."""

    def __init__(self, param: str, rule: str) -> None:
        self.param = param
        self.rule = rule
        super().__init__(f"param {param!r}: {rule}")


class ConversionError(ValueError):
    """A value breaks a converter's rule. `detail` describes the rule, never the whole value."""

    def __init__(self, rule: str, detail: str) -> None:
        self.rule = rule
        self.detail = detail
        super().__init__(f"{rule}: {detail}")


class RenderError(ValueError):
    """A record handed to a codec cannot be rendered; rendering stops (outbound data is ours)."""

    def __init__(self, layout: str, record_index: int, record_key: str, field: str | None,
                 rule: str, detail: str) -> None:
        self.layout = layout
        self.record_index = record_index
        self.record_key = record_key
        self.field = field
        self.rule = rule
        self.detail = detail
        where = f"field {field}: " if field else ""
        super().__init__(f"{layout}: record {record_index} ({record_key}): {where}{rule}: {detail}")


class EncodingError(RenderError):
    """A character the target encoding/charset cannot carry and no substitution covers."""
