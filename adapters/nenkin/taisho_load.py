"""Z11 特別徴収対象者 into the store: each pension matched to 宛名 (adapters/nenkin/match.py) and
kept in tokucho_taisho with its match state; a file received again changes nothing (one row per
年度, 基礎年金番号, 年金コード and 捕捉月). Records are matched and kept a chunk at a time, the 宛名
read per chunk (StoreMatcher): memory follows the chunk, not the ward's population."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Collection, Iterable, Iterator
from itertools import islice
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.orm import Session

from adapters.core.inserts import insert_new
from adapters.core.models import Atena, Shikaku, TokuchoTaisho
from adapters.judgement import Verdict
from adapters.nenkin.judge import YEARLY, NenkinContext, nendo_of, records
from adapters.nenkin.match import Atena as Candidate
from adapters.nenkin.match import Match, Person, match_chunk
from mappings.streams import Source

T = TypeVar("T")

CHUNK = 2000  # Z11 records matched and inserted together
IN_LIST = 500  # parameters of one IN (…) list: well inside SQLite's and PostgreSQL's limits


class StoreMatcher:
    """Matching against the store's 宛名 (match.match_chunk), reading only the 宛名 a chunk can
    match — by the 0010 indexes on 基礎年金番号 and (生年月日, 性別) — and their 第1号 資格."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def _read(self, where: ColumnElement[bool]) -> list[Candidate]:
        # The 第1号 資格 joined, not asked apart or by EXISTS: 3.1 s against 3.4 s (two queries)
        # and 3.8 s (EXISTS) for 300,000 on SQLite, and half the IN lists to expand.
        current_1go = and_(Shikaku.atena_no == Atena.atena_no, Shikaku.hihokensha_kubun == "1",
                           Shikaku.soshitsu_date.is_(None))
        rows = self.session.execute(select(Atena.atena_no, Atena.kiso_nenkin_no, Atena.birth_date, Atena.sex,
                                           Atena.name_kana, Shikaku.id).outerjoin(Shikaku, current_1go).where(where))
        # by 宛名番号: one 宛名 however many current 第1号 資格 rows join it (all or none are NULL)
        return list({a: Candidate(a, kiso, birth, sex, kana, shikaku is not None)
                     for a, kiso, birth, sex, kana, shikaku in rows}.values())

    def with_kiso(self, kiso_nos: Collection[str]) -> list[Candidate]:
        ordered = sorted(kiso_nos)
        return [a for i in range(0, len(ordered), IN_LIST)
                for a in self._read(Atena.kiso_nenkin_no.in_(ordered[i:i + IN_LIST]))]

    def born(self, births: Collection[tuple[dt.date, str]]) -> list[Candidate]:
        by_sex: dict[str, list[dt.date]] = {}
        for day, sex in sorted(births):
            by_sex.setdefault(sex, []).append(day)
        return [a for sex, days in by_sex.items() for i in range(0, len(days), IN_LIST)
                for a in self._read(and_(Atena.sex == sex, Atena.birth_date.in_(days[i:i + IN_LIST])))]

    def match(self, person: Person) -> Match:
        return match_chunk([person], self)[0]

    def match_all(self, persons: Iterable[Person], size: int = CHUNK) -> Iterator[Match]:
        """Each person's match, in order, ``size`` persons read and matched together."""
        for chunk in _chunks(persons, size):
            yield from match_chunk(chunk, self)


def atena_index(session: Session) -> StoreMatcher:
    """The matcher adapters/nenkin/lists.py asks (``.match`` per person; ``.match_all`` reads less)."""
    return StoreMatcher(session)


def _chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk


def hosoku_month(code: str, made: dt.date) -> str:
    """捕捉月: 04 for the yearly list; a 追加候補者's is the even month at or before the file's."""
    if code == YEARLY:
        return "04"
    return f"{made.month - (made.month % 2):02d}" if made.month != 1 else "12"


def apply_taisho(session: Session, transfer_id: str, source: Source, file: str, ctx: NenkinContext,
                 second: Verdict) -> Counter[str]:
    """Match and keep every 対象者 of the file; the count per match state, and "recorded": the
    rows this file added (a row already there keeps the transfer it first came in)."""
    matcher = StoreMatcher(session)
    insert = insert_new(session, TokuchoTaisho)
    states: Counter[str] = Counter()
    for chunk in _chunks(records(source, file, ctx, second), CHUNK):
        persons = [Person(r.values["kiso_nenkin_no"], r.values["birth_ymd"], r.values["seibetsu"],
                          r.values["kana_shimei"]) for r in chunk]
        rows: list[dict[str, Any]] = []
        for rec, found in zip(chunk, match_chunk(persons, matcher), strict=True):
            v = rec.values
            made: dt.date = v["sakusei_ymd"]
            states[found.state] += 1
            rows.append({"nendo": nendo_of(made), "hosoku_month": hosoku_month(v["tsuchi_naiyo_code"], made),
                         "tsuchi_naiyo_code": v["tsuchi_naiyo_code"], "gimusha_code": v["gimusha_code"],
                         "kiso_nenkin_no": v["kiso_nenkin_no"], "nenkin_code": v["nenkin_code"],
                         "birth_date": v["birth_ymd"], "sex": v["seibetsu"], "name_kana": v["kana_shimei"],
                         "kingaku1": v["kingaku1"], "kingaku2": v["kingaku2"], "kingaku3": v["kingaku3"],
                         "atena_no": found.atena_no, "match_state": found.state, "transfer_id": transfer_id})
        session.execute(insert, rows)
    states["recorded"] = int(session.scalar(select(func.count()).select_from(TokuchoTaisho)
                                            .where(TokuchoTaisho.transfer_id == transfer_id)) or 0)
    return states
