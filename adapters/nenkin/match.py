"""Matching a person of a Z11 特別徴収対象者 record to the ward's 宛名, or saying why not.

The pension insurer knows a person by 基礎年金番号 + 年金コード; the ward's 宛名 keeps the
基礎年金番号 it was told. A Z11 person is matched when exactly one 宛名 has the same 基礎年金番号,
生年月日 and 性別; when several do, カナ氏名 breaks the tie (compared after NFKC — the file's
half-width kana and the store's full-width are the same name — without spaces). Anything else is
never guessed: no 宛名 with the 基礎年金番号 (unmatched; 宛名 with the same 生年月日, 性別 and カナ氏名
are offered to the operator as suggestions, not applied), one with other 生年月日 / 性別
(unmatched), several that カナ氏名 does not tell apart (ambiguous), or a 宛名 who is not a 第1号
被保険者 (unmatched: 特別徴収 is for them only).

A file is matched a chunk of persons at a time (``match_chunk``): the 宛名 with the chunk's
基礎年金番号, and for the persons whose number no 宛名 holds those born the same day with the same
性別, are all the rules can look at; memory follows the chunk, never the ward's population.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Collection, Iterable, Sequence
from functools import cached_property
from typing import NamedTuple, Protocol

from store.models.tokucho import AMBIGUOUS, MATCHED, UNMATCHED


# Tuples with names (immutable, and made ~3× faster than a frozen dataclass: a file makes one
# Person, one Atena and one Match per record).
class Person(NamedTuple):
    """What a Z11 record says of the person (or what a 宛名 holds)."""

    kiso_nenkin_no: str
    birth: dt.date
    sex: str
    kana: str


class Atena(NamedTuple):
    atena_no: str
    kiso_nenkin_no: str | None
    birth: dt.date
    sex: str
    kana: str
    dai1go: bool  # a current 第1号被保険者


class Match(NamedTuple):
    state: str  # MATCHED, UNMATCHED or AMBIGUOUS
    atena_no: str | None = None
    reason: str = ""
    suggestions: tuple[str, ...] = ()  # 宛名番号 an operator may look at


def kana_key(kana: str) -> str:
    """A カナ氏名 as compared: NFKC (half-width → full-width, ｶﾞ → ガ), no spaces of either width."""
    return "".join(unicodedata.normalize("NFKC", kana).split())


class AtenaIndex:
    """宛名 by 基礎年金番号 and by (生年月日, 性別, カナ): the one place of the rules. Built from
    every 宛名, or per chunk from the ones ``match_chunk`` reads (enough for that chunk's persons)."""

    def __init__(self, rows: Iterable[Atena]) -> None:
        self.rows = list(rows)
        self.by_kiso: dict[str, list[Atena]] = {}
        for a in self.rows:
            if a.kiso_nenkin_no:
                self.by_kiso.setdefault(a.kiso_nenkin_no, []).append(a)

    @cached_property
    def by_person(self) -> dict[tuple[dt.date, str, str], list[str]]:
        """Made when a person's number is in no 宛名 (few are, in most files): the カナ keys cost."""
        by_person: dict[tuple[dt.date, str, str], list[str]] = {}
        for a in self.rows:
            by_person.setdefault((a.birth, a.sex, kana_key(a.kana)), []).append(a.atena_no)
        return by_person

    def match(self, p: Person) -> Match:
        same_no = self.by_kiso.get(p.kiso_nenkin_no, [])
        if not same_no:
            suggestions = tuple(sorted(self.by_person.get((p.birth, p.sex, kana_key(p.kana)), [])))
            return Match(UNMATCHED, reason="基礎年金番号 is in no 宛名", suggestions=suggestions)
        same = [a for a in same_no if a.birth == p.birth and a.sex == p.sex]
        if not same:
            return Match(UNMATCHED, reason="the 宛名 with this 基礎年金番号 has another 生年月日 or 性別",
                         suggestions=_numbers(same_no))
        if len(same) > 1:
            key = kana_key(p.kana)
            same = [a for a in same if kana_key(a.kana) == key]
            if len(same) != 1:
                return Match(AMBIGUOUS, reason=f"{len(same_no)} 宛名 share the 基礎年金番号, 生年月日 and 性別"
                             + ("; カナ氏名 does not tell them apart" if same else "; none has this カナ氏名"),
                             suggestions=_numbers(same_no))
        found = same[0]
        if not found.dai1go:
            return Match(UNMATCHED, reason="the 宛名 is not a 第1号被保険者", suggestions=(found.atena_no,))
        return Match(MATCHED, found.atena_no)


class Candidates(Protocol):
    """Where a chunk's 宛名 come from (the store: adapters/nenkin/taisho_load.StoreMatcher)."""

    def with_kiso(self, kiso_nos: Collection[str]) -> Iterable[Atena]:
        """Every 宛名 holding one of these 基礎年金番号."""
        ...

    def born(self, births: Collection[tuple[dt.date, str]]) -> Iterable[Atena]:
        """Every 宛名 of one of these (生年月日, 性別)."""
        ...


def match_chunk(persons: Sequence[Person], candidates: Candidates) -> list[Match]:
    """Each person's match, as an index of every 宛名 would give it, from only the 宛名 that can
    bear on this chunk: those with its 基礎年金番号, and (for the suggestions of a person whose
    number no 宛名 holds) those of the same 生年月日 and 性別."""
    found = {a.atena_no: a for a in candidates.with_kiso({p.kiso_nenkin_no for p in persons if p.kiso_nenkin_no})}
    held = {a.kiso_nenkin_no for a in found.values()}
    births = {(p.birth, p.sex) for p in persons if p.kiso_nenkin_no not in held}
    if births:  # a 宛名 read both ways is one 宛名 (a dict by 宛名番号): suggestions never repeat
        found.update((a.atena_no, a) for a in candidates.born(births))
    index = AtenaIndex(found.values())
    return [index.match(p) for p in persons]


def _numbers(rows: Sequence[Atena]) -> tuple[str, ...]:
    return tuple(sorted(a.atena_no for a in rows))
