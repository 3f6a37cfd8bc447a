"""A regular expression per CSV record kind: a line it matches is certainly a valid record.

    lines = LinePatterns(layout, narrow={"H1": {"seiri_no": Narrowing.chars("[0-9A-Za-z]", 1, 10)}},
                         capture={"H1": ("record_no", "hihokensha_no")})
    lines.match(line) -> ("H1", ("12", "0000000001")) | None

Judging a file of a million records field by field in Python is slow; one match of a line against
a pattern made of its fields' ``Converter.text_pattern`` fragments is one call in C. The pattern
accepts a subset of what the full path (csv_codec.parse_text) accepts — never more — so a match
means "valid"; anything else (a quoted value, a leap day, a kind or a character the fragments
leave out, a real error) gets None and is left to the full path, which says what is wrong. A
caller's own rules narrow a field further (``Narrowing``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cache, cached_property
from operator import methodcaller

from mappings.errors import ConversionError
from mappings.layout import Field, Layout, RecordKind


@dataclass(frozen=True)
class Narrowing:
    """A caller's rules on one field: it must be there (``required``), its whole text must match
    each of ``patterns``, and be one of ``texts`` when given. Made by the constructors below,
    whose patterns never match a ',' (the lookahead that applies one stops at the field's end)."""

    patterns: tuple[str, ...] = ()
    required: bool = False
    texts: frozenset[str] | None = None

    @classmethod
    def chars(cls, char_class: str, low: int, high: int) -> Narrowing:
        """``low``..``high`` characters of ``char_class`` (a bracketed class without ',');
        required when ``low`` > 0."""
        if not (char_class.startswith("[") and char_class.endswith("]")) or "," in char_class \
                or char_class.startswith("[^"):
            raise ValueError(f"not a plain character class without ',': {char_class!r}")
        return cls((f"{char_class}{{{low},{high}}}",), required=low > 0)

    @classmethod
    def longest(cls, high: int) -> Narrowing:
        """At most ``high`` characters."""
        return cls((f"[^,]{{0,{high}}}",))

    @classmethod
    def one_of(cls, texts: Iterable[str], *, required: bool = True) -> Narrowing:
        """One of ``texts``; each is tried on the field's converter when the pattern is made, and
        one it refuses (or holding a ',' or '"') is left out: the full path judges it."""
        return cls(required=required, texts=frozenset(texts))

    @classmethod
    def present(cls) -> Narrowing:
        return cls(required=True)

    def __and__(self, other: Narrowing) -> Narrowing:
        texts = self.texts if other.texts is None else other.texts if self.texts is None else self.texts & other.texts
        return Narrowing(self.patterns + other.patterns, self.required or other.required, texts)


class LinePatterns:
    """The certainly valid lines of a layout's kinds (those a pattern can judge): one regex per
    kind, its ``capture`` fields as named groups. ``match`` gives the kind's name and the texts
    of those fields, or None. A layout whose CSV form is not plain (delimiter ',', minimal
    quoting, no field always quoted) has no patterns: every line gets None.

    Each pattern comes in two forms: ``regexes``, for any text, and ``ascii``, for ASCII text
    only — the same pattern with every character class cut to its ASCII characters, so it
    matches exactly the ASCII lines the other matches, with the same groups. A text field's
    class holds the thousands of characters of its charset, and compiling them takes most of a
    second (re parses patterns in Python); the ASCII form compiles in a few milliseconds, and
    ``regexes`` only compiles on first use — most files are ASCII throughout. ``for_text``
    gives the form for a text."""

    def __init__(self, layout: Layout, *, narrow: Mapping[str, Mapping[str, Narrowing]] | None = None,
                 capture: Mapping[str, Iterable[str]] | None = None, kinds: Iterable[str] | None = None) -> None:
        narrow, capture = narrow or {}, capture or {}
        self.layout = layout
        self._sources: dict[str, str] = {}
        self.groups: dict[str, tuple[str, ...]] = {}
        for kind in [layout.kind(k) for k in kinds] if kinds is not None else layout.kinds:
            names = tuple(capture.get(kind.name, ()))
            source = _line(layout, kind, narrow.get(kind.name, {}), names)
            if source is not None:
                self._sources[kind.name] = source
                self.groups[kind.name] = names
        self.ascii = {name: re.compile(ascii_only(source)) for name, source in self._sources.items()}
        self.getters = {name: _getter(self.ascii[name], names) for name, names in self.groups.items()}
        # One regex per kind, not one alternation of them: re's branches cost more than the
        # split that picks the kind.
        self._columns = layout.dispatch_columns
        self._upto = self._columns[-1] + 1 if self._columns else 0

    @cached_property
    def regexes(self) -> dict[str, re.Pattern[str]]:
        return {name: re.compile(source) for name, source in self._sources.items()}

    def for_text(self, text: str) -> dict[str, re.Pattern[str]]:
        """The patterns to match lines of ``text`` with: ``ascii`` when it is all ASCII (a flag
        CPython keeps: no scan), else ``regexes``."""
        return self.ascii if text.isascii() else self.regexes

    def kind_of(self, line: str) -> str | None:
        """The kind the full path would read the line as (csv_codec's choice: the layout's
        distinguishing constants, else the first kind whose constants the line has), if it has
        a pattern. Quotes are not removed: no pattern takes a quoted line anyway."""
        layout = self.layout
        found: RecordKind | None
        if len(layout.kinds) == 1:
            found = layout.kinds[0]
        elif self._upto:
            cols = line.split(",", self._upto)
            found = layout.dispatch.get(tuple(cols[i] for i in self._columns)) if len(cols) >= self._upto else None
        else:
            cols = line.split(",")
            found = next((k for k in layout.kinds if all(
                f.column is not None and f.column.index < len(cols)
                and cols[f.column.index] == getattr(f.converter, "value", None) for f in k.discriminators)), None)
        return found.name if found is not None and found.name in self.groups else None

    def match(self, line: str) -> tuple[str, tuple[str, ...]] | None:
        kind = self.kind_of(line)
        if kind is None:
            return None
        m = self.for_text(line)[kind].fullmatch(line)
        if m is None:
            return None
        return kind, self.values(m, kind)

    def values(self, m: re.Match[str], kind: str) -> tuple[str, ...]:
        """The texts of the kind's ``capture`` fields in a match, in the order they were named
        (``getters[kind](m)``: one call in C, for loops over many lines)."""
        return self.getters[kind](m)


def _getter(regex: re.Pattern[str], names: tuple[str, ...]) -> Callable[[re.Match[str]], tuple[str, ...]]:
    """A C callable giving a match's texts of ``names``, in that order: ``groups()`` when they are
    the pattern's only groups, in its order (no name looked up), else ``group(*names)``."""
    if regex.groups == len(names) and [regex.groupindex[n] for n in names] == list(range(1, len(names) + 1)):
        return methodcaller("groups")
    if len(names) == 1:
        return lambda m: (m.group(names[0]),)
    return methodcaller("group", *names)


def _line(layout: Layout, kind: RecordKind, narrow: Mapping[str, Narrowing],
          capture: tuple[str, ...]) -> str | None:
    parts = _columns(layout, kind, narrow)
    if parts is None:
        return None
    unknown = set(capture) - {name for name, _ in parts}
    if unknown:
        raise ValueError(f"{layout.id} {kind.name} has no field(s) {', '.join(sorted(unknown))}")
    return ",".join(f"(?P<{name}>{p})" if name in capture else p for name, p in parts)


def _columns(layout: Layout, kind: RecordKind, narrow: Mapping[str, Narrowing]) -> list[tuple[str, str]] | None:
    """(field name, pattern) per column, or None when the kind has a field no pattern can judge."""
    fmt = layout.csv
    if fmt is None or fmt.delimiter != "," or fmt.quoting not in ("minimal", "none"):
        return None
    unknown = set(narrow) - {f.name for f in kind.fields}
    if unknown:
        raise ValueError(f"{layout.id} {kind.name} has no field(s) {', '.join(sorted(unknown))}")
    ordered = sorted(kind.fields, key=_column)
    if [_column(f) for f in ordered] != list(range(len(ordered))):
        return None  # a column without a field: the full path reports it
    parts = []
    for f in ordered:
        part = _field(f, narrow.get(f.name, Narrowing()))
        if part is None:
            return None
        parts.append((f.name, part))
    return parts


def _column(f: Field) -> int:
    return f.column.index if f.column is not None else -1


def _field(f: Field, rule: Narrowing) -> str | None:
    conv = f.converter
    if f.quoted:
        return None
    required = f.required or rule.required
    if rule.texts is not None:
        return _one_of(f, rule, required)
    text = conv.text_pattern()
    if text is None:
        return None
    if conv.always:  # its one text (a constant, a filler), maybe empty
        return None if rule.patterns else text
    # Every pattern must match the whole value: lookaheads up to the next ',' (or the line's end).
    # No fragment matches a ',', so giving back part of a field never helps the match: the groups
    # are possessive (no backtracking state kept), which is most of the speed.
    checks = "".join(f"(?=(?:{p})(?![^,]))" for p in rule.patterns)
    repeat = _REPEAT.fullmatch(text)
    if repeat is not None:  # one class repeated: a single possessive repeat, the cheapest form
        cls, low, high = repeat.groups()
        if low is None:  # "+"
            low, most = "1", ""
        else:  # "{n}", "{a,b}", "{a,}"
            most = low if high is None else high[1:]
        if required:
            return f"{checks}{cls}{{{low},{most}}}+"
        if not checks and low == "1":
            return f"{cls}{{0,{most}}}+"
    if required:
        return f"(?>{checks}(?:{text}))"
    return f"(?:{checks}(?:{text}))?+"


def _one_of(f: Field, rule: Narrowing, required: bool) -> str:
    """The texts of ``rule`` the field itself accepts (tried now, on its converter), as literals."""
    assert rule.texts is not None
    kept = []
    for t in rule.texts:
        if not t or "," in t or '"' in t or not all(re.fullmatch(p, t) for p in rule.patterns):
            continue
        try:
            f.parse(t)
        except ConversionError:
            continue
        kept.append(t)
    kept.sort(key=lambda t: (-len(t), t))
    alternatives = "(?:" + "|".join(map(re.escape, kept)) + ")" if kept else "(?!)"
    return alternatives if required or f.converter.always else f"{alternatives}?+"


# One character class repeated (at least once): the common fragment of numbers, digits and text.
_REPEAT = re.compile(r"(\[(?:[^\]\\]|\\.)+\])(?:\{([1-9][0-9]*)(,[0-9]*)?\}|\+)")


def ascii_only(source: str) -> str:
    """``source`` with every character class (``[...]``, ``[^...]``) replaced by the class of its
    ASCII characters: on ASCII text the two patterns match alike, groups and all (what a class
    matches is all that changes, and only outside ASCII). Escapes outside classes are kept."""
    return _TOKEN.sub(lambda m: _ascii_class(m[0]) if m[0][0] == "[" else m[0], source)


# An escape, a character class (a ']' right after '[' or '[^' is a member) or a run of other text.
_TOKEN = re.compile(r"\\.|\[\^?\]?(?:[^\]\\]|\\.)*\]|[^\\[]+", re.DOTALL)


@cache
def _ascii_class(char_class: str) -> str:
    """The ASCII characters ``char_class`` matches, as a class (one matching no ASCII when none)."""
    matcher = re.compile(char_class)
    kept = [c for c in range(128) if matcher.fullmatch(chr(c))]
    if not kept:
        return "[^\\x00-\\x7f]"
    runs: list[list[int]] = []
    for c in kept:
        if runs and runs[-1][1] == c - 1:
            runs[-1][1] = c
        else:
            runs.append([c, c])
    return "[" + "".join(f"\\x{lo:02x}" + (f"-\\x{hi:02x}" if hi > lo else "") for lo, hi in runs) + "]"
