"""What happens to characters a partner's encoding or a field's charset cannot carry.

Nothing is replaced silently. A `CharPolicy` is made for one render (one transfer): it applies a
substitution table given as data, records every substitution it made and every character it could
not map, and either raises at the first unmapped character (`on_unmapped="raise"`) or withholds the
record and goes on (`"withhold"`), so the caller sees the whole list and can hold the transfer.
"""

from __future__ import annotations

import tomllib
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from mappings.charsets import codepoint, describe
from mappings.errors import EncodingError

CHARSETS_DIR = Path(__file__).parent / "charsets"


@dataclass(frozen=True)
class SubstitutionTable:
    """char → replacement, loaded from TOML (`[substitutions]` table, `source` text)."""

    entries: Mapping[str, str]
    source: str = ""

    @classmethod
    def load(cls, path: str | Path) -> SubstitutionTable:
        path = Path(path)
        with path.open("rb") as fh:
            data = tomllib.load(fh)
        problems = []
        raw = data.get("substitutions")
        if not isinstance(raw, dict):
            raise ValueError(f"{path}: missing [substitutions] table")
        for key, value in raw.items():
            if len(key) != 1:
                problems.append(f"key {key!r}: must be exactly one code point")
            if not isinstance(value, str):
                problems.append(f"key {key!r}: replacement must be a string")
            elif key in value:
                problems.append(f"key {key!r}: replacement contains the character itself")
        if problems:
            raise ValueError(f"{path}: " + "; ".join(problems))
        return cls(entries=dict(raw), source=str(data.get("source", "")))

    @classmethod
    def named(cls, name: str) -> SubstitutionTable:
        """A table shipped in mappings/charsets/, e.g. `named("jis_substitutions")`."""
        return cls.load(CHARSETS_DIR / f"{name}.toml")


@dataclass(frozen=True)
class Substitution:
    record_index: int
    record_key: str
    field: str
    char: str
    replacement: str

    @property
    def codepoint(self) -> str:
        return codepoint(self.char)


@dataclass(frozen=True)
class EncodingIssue:
    record_index: int
    record_key: str
    field: str
    char: str
    codepoint: str
    reason: str

    def __str__(self) -> str:
        return (f"record {self.record_index} ({self.record_key}) field {self.field}: "
                f"{describe(self.char)}: {self.reason}")


@dataclass
class CharPolicy:
    """Substitutions to apply and the report of what was applied, for one render."""

    table: Mapping[str, str] | SubstitutionTable = field(default_factory=dict)
    on_unmapped: Literal["raise", "withhold"] = "raise"
    substitutions: list[Substitution] = field(default_factory=list)
    issues: list[EncodingIssue] = field(default_factory=list)
    withheld: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        if isinstance(self.table, SubstitutionTable):
            self.table = self.table.entries
        if self.on_unmapped not in ("raise", "withhold"):
            raise ValueError(f"on_unmapped must be 'raise' or 'withhold', not {self.on_unmapped!r}")

    @property
    def ok(self) -> bool:
        """True when no character was left unmapped (substitutions alone keep it ok)."""
        return not self.issues

    def summary(self) -> dict[str, dict[str, int]]:
        """Counts per character: {"substituted": {"髙→高": 3}, "unmapped": {"𠮷 U+20BB7": 1}}."""
        subs = Counter(f"{s.char}→{s.replacement}" for s in self.substitutions)
        unmapped = Counter(f"{i.char} {i.codepoint}" for i in self.issues)
        return {"substituted": dict(subs), "unmapped": dict(unmapped)}

    def resolve(self, text: str, bad: list[str], allowed: Callable[[str], bool], *, scope: str, layout: str,
                record_index: int, record_key: str, field: str,
                pending: list[Substitution]) -> str | None:
        """`text` with `bad` characters substituted, or None when one of them has no mapping.

        Substitutions go to `pending` (committed by the caller once the whole record is good);
        unmapped characters go straight to `issues` (or raise).
        """
        table = self.table
        assert isinstance(table, Mapping)
        unmapped = False
        for char in bad:
            replacement = table.get(char)
            if replacement is not None and all(allowed(c) for c in replacement):
                text = text.replace(char, replacement)
                pending.append(Substitution(record_index, record_key, field, char, replacement))
                continue
            reason = (f"outside {scope}, no substitution" if replacement is None
                      else f"outside {scope}, and its substitution {replacement!r} is too")
            issue = EncodingIssue(record_index, record_key, field, char, codepoint(char), reason)
            if self.on_unmapped == "raise":
                raise EncodingError(layout, record_index, record_key, field, "unencodable", str(issue))
            self.issues.append(issue)
            unmapped = True
        return None if unmapped else text
