"""The converter contract and the registry that layout files name converters through.

A converter turns one value into the text of one field and back, and holds that field's strict
rule. It is built once per field from the layout's params; adding a converter is adding a
subclass decorated with `@register`, with its params declared in `PARAMS`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from mappings.charsets import allowed_chars, refused_pattern
from mappings.errors import ConversionError, ParamError

_NO_DEFAULT: Any = object()
Quick = Callable[[Any], str | None]
# ``quick`` over one field's values in a block of records: every text, or None (see quick_column)
QuickColumn = Callable[[Sequence[Any]], Sequence[str] | None]
QuickParse = Callable[[str], Any]  # a non-empty text → its value, or SLOW; errors may raise
SLOW: Any = object()  # a quick parse's "not sure": the record takes the full path


def each(quick: Quick, values: Sequence[Any]) -> list[str] | None:
    """A column by ``quick`` value by value: every text, or None if any value declines."""
    texts = list(map(quick, values))
    return None if None in texts else texts  # type: ignore[return-value]  # no None left


@dataclass(frozen=True)
class Param:
    kind: type | tuple[type, ...]
    default: Any = _NO_DEFAULT
    choices: tuple[Any, ...] = ()
    doc: str = ""

    @property
    def required(self) -> bool:
        return self.default is _NO_DEFAULT


@dataclass(frozen=True)
class FieldContext:
    """What a converter may need to know about where its field lives."""

    encoding: str
    span_width: int | None = None  # byte width of a fixed-length span; None for CSV/XML


class Converter:
    name: ClassVar[str]
    PARAMS: ClassVar[Mapping[str, Param]] = {}
    pads: ClassVar[bool] = False  # fixed-length: may be shorter than its span (right-padded)
    always: ClassVar[bool] = False  # rendered even when the record gives no value
    charset: str = "any"

    def __init__(self, params: Mapping[str, Any], ctx: FieldContext) -> None:
        self.ctx = ctx
        self.params = self.validate_params(params)
        self.allowed: Callable[[str], bool] = allowed_chars(ctx.encoding, "any")
        self.refused: re.Pattern[str] | None = refused_pattern(ctx.encoding, "any")

    @classmethod
    def validate_params(cls, given: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key in given:
            if key not in cls.PARAMS:
                known = ", ".join(sorted(cls.PARAMS)) or "none"
                raise ParamError(key, f"unknown for converter {cls.name!r} (known: {known})")
        for key, spec in cls.PARAMS.items():
            if key not in given:
                if spec.required:
                    raise ParamError(key, f"required by converter {cls.name!r}")
                out[key] = spec.default
                continue
            value = given[key]
            if isinstance(value, bool) and spec.kind is not bool:
                raise ParamError(key, f"must be {_kind_name(spec.kind)}, not a boolean")
            if not isinstance(value, spec.kind):
                raise ParamError(key, f"must be {_kind_name(spec.kind)}, not {type(value).__name__}")
            if spec.choices and value not in spec.choices:
                raise ParamError(key, f"must be one of {', '.join(map(repr, spec.choices))}")
            out[key] = value
        return out

    def width_param(self, key: str = "width") -> int | None:
        """`width` given in params, or the fixed span's width; they must agree when both are set."""
        given: int | None = self.params.get(key)
        span = self.ctx.span_width
        if given is not None and given < 0:
            raise ParamError(key, "must not be negative")
        if given is not None and span is not None and given != span:
            raise ParamError(key, f"{given} disagrees with the field's byte width {span}")
        return given if given is not None else span

    # --- the contract -------------------------------------------------------------------------
    def to_text(self, value: Any) -> str:
        """Format a (non-empty) value; type and range rules, not charset/byte rules."""
        raise NotImplementedError

    def check(self, text: str) -> None:
        """The strict rule for the field's text, applied after rendering and before parsing."""

    def from_text(self, text: str) -> Any:
        return text

    def render(self, value: Any) -> str:
        text = self.to_text(value)
        self.check(text)
        return text

    def quick(self) -> Quick | None:
        """The render fast path, or None when there is none.

        A quick function takes a value (never None: `Field.quick` handles absence) and returns
        the field's final text when the value is of the common, certainly valid kind — the text
        ``to_text`` + ``check`` would give, which needs no character substitution — and None for
        anything else, which then takes the full path with its errors. Print runs render
        hundreds of thousands of records; the rules stay in ``to_text`` and ``check``.
        """
        return None

    def quick_column(self, gaps: bool) -> QuickColumn | None:
        """The render fast path over a column: one field's values in a block of records, at once.

        It gives the text ``quick`` gives each value — with ``gaps`` (an optional field) None
        gives "" — or None as soon as one value would take the full path; the block is then
        rendered record by record. Whole-column passes in C (the set of types, the least and
        greatest value, ``map`` of a C function) stand in for ``quick``'s per-value Python
        steps; a check that cannot be made that way declines the column to ``each``. None here:
        no column form, and the field maps ``quick`` over the values (``each``).
        """
        return None

    def parse(self, text: str) -> Any:
        self.check(text)
        return self.from_text(text)

    def quick_parse(self) -> QuickParse:
        """The parse fast path: what ``parse`` gives for the common, certainly valid text, or SLOW
        (or a ConversionError) for anything else, so the record is parsed again on the full path
        and its problems reported there. Files of a million records are parsed; the rules stay in
        ``check`` and ``from_text``. By default the full ``parse`` itself."""
        return self.parse

    def identity_quick_parse(self) -> QuickParse:
        """For converters whose value is their text: the render fast path (``quick``) accepts
        exactly the texts ``check`` passes, so a text it gives back is the value."""
        quick = self.quick()
        if quick is None:
            return self.parse
        return lambda t: t if quick(t) == t else SLOW

    def text_pattern(self) -> str | None:
        """The judgement fast path: a regular expression (source) whose every full match is a text
        ``parse`` accepts — a subset, never more — or None when there is none. Whole files are
        judged against patterns made of these (mappings/linepattern.py) in C; a line they do not
        match is judged on the full path, which names its problem. Optional fields handle the
        empty text themselves; an ``always`` converter's pattern is its one text, maybe empty."""
        return None

    def exact_width(self) -> int | None:
        """Bytes this converter always renders to, when fixed (checked against fixed spans)."""
        return None

    def scope(self) -> str:
        return f"{self.ctx.encoding}, charset {self.charset}"


def _kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(k.__name__ for k in kinds)


CONVERTERS: dict[str, type[Converter]] = {}


def register(cls: type[Converter]) -> type[Converter]:
    if cls.name in CONVERTERS:
        raise ValueError(f"converter {cls.name!r} registered twice")
    CONVERTERS[cls.name] = cls
    return cls


def expect(value: Any, kind: type | tuple[type, ...], what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, kind):
        raise ConversionError("type", f"{what} expected, got {type(value).__name__}")
