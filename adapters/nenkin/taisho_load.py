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

from sqlalchemy import ColumnElement, Executable, Table, and_, bindparam, func, select
from sqlalchemy.orm import Session

from adapters.judgement import Verdict
from adapters.nenkin.judge import YEARLY, NenkinContext, nendo_of, records
from adapters.nenkin.match import Atena as Candidate
from adapters.nenkin.match import Match, Person, match_chunk
from mappings.streams import Source
from store.inserts import insert_rows
from store.models import Atena, Shikaku, TokuchoTaisho, utcnow

T = TypeVar("T")

CHUNK = 2000  # Z11 records matched and inserted together
IN_LIST = 500  # parameters of one IN (…) list: well inside SQLite's and PostgreSQL's limits


def _candidates(where: ColumnElement[bool]) -> Executable:
    """The 宛名 ``where`` says, with their current 第1号 資格 if any."""
    # The 第1号 資格 joined, not asked apart or by EXISTS: 3.1 s against 3.4 s (two queries)
    # and 3.8 s (EXISTS) for 300,000 on SQLite, and half the IN lists to expand.
    current_1go = and_(Shikaku.atena_no == Atena.atena_no, Shikaku.hihokensha_kubun == "1",
                       Shikaku.soshitsu_date.is_(None))
    return (select(Atena.atena_no, Atena.kiso_nenkin_no, Atena.birth_date, Atena.sex, Atena.name_kana, Shikaku.id)
            .outerjoin(Shikaku, current_1go).where(where))


class StoreMatcher:
    """Matching against the store's 宛名 (match.match_chunk), reading only the 宛名 a chunk can
    match — by the 0010 indexes on 基礎年金番号 and (生年月日, 性別) — and their 第1号 資格."""

    def __init__(self, session: Session) -> None:
        self.session = session

    # Built once, the lists bound at each execution (expanding): a list written into each
    # statement cost a coercion per value and a compilation per chunk.
    _by_kiso = _candidates(Atena.kiso_nenkin_no.in_(bindparam("kiso", expanding=True)))
    _by_birth = _candidates(and_(Atena.sex == bindparam("sex"),
                                 Atena.birth_date.in_(bindparam("days", expanding=True))))

    def _read(self, query: Executable, params: dict[str, Any]) -> list[Candidate]:
        rows = self.session.connection().execute(query, params)
        # by 宛名番号: one 宛名 however many current 第1号 資格 rows join it (all or none are NULL)
        return list({a: Candidate(a, kiso, birth, sex, kana, shikaku is not None)
                     for a, kiso, birth, sex, kana, shikaku in rows}.values())

    def with_kiso(self, kiso_nos: Collection[str]) -> list[Candidate]:
        ordered = sorted(kiso_nos)
        return [a for i in range(0, len(ordered), IN_LIST)
                for a in self._read(self._by_kiso, {"kiso": ordered[i:i + IN_LIST]})]

    def born(self, births: Collection[tuple[dt.date, str]]) -> list[Candidate]:
        by_sex: dict[str, list[dt.date]] = {}
        for day, sex in sorted(births):
            by_sex.setdefault(sex, []).append(day)
        return [a for sex, days in by_sex.items() for i in range(0, len(days), IN_LIST)
                for a in self._read(self._by_birth, {"sex": sex, "days": days[i:i + IN_LIST]})]

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


# What a kept 対象者 row says, in the order apply_taisho hands them to the store.
_KEPT = ("nendo", "hosoku_month", "tsuchi_naiyo_code", "gimusha_code", "kiso_nenkin_no", "nenkin_code", "birth_date",
         "sex", "name_kana", "kingaku1", "kingaku2", "kingaku3", "atena_no", "match_state")


def apply_taisho(session: Session, transfer_id: str, source: Source, file: str, ctx: NenkinContext,
                 second: Verdict) -> Counter[str]:
    """Match and keep every 対象者 of the file; the count per match state, and "recorded": the
    rows this file added (a row already there keeps the transfer it first came in)."""
    matcher = StoreMatcher(session)
    table = TokuchoTaisho.__table__
    assert isinstance(table, Table)
    states: Counter[str] = Counter()
    received = utcnow()
    for chunk in _chunks(records(source, file, ctx, second), CHUNK):
        values = [r.values for r in chunk]
        persons = [Person(v["kiso_nenkin_no"], v["birth_ymd"], v["seibetsu"], v["kana_shimei"]) for v in values]
        rows: list[tuple[Any, ...]] = []
        for v, found in zip(values, match_chunk(persons, matcher), strict=True):
            made: dt.date = v["sakusei_ymd"]
            states[found.state] += 1
            rows.append((nendo_of(made), hosoku_month(v["tsuchi_naiyo_code"], made), v["tsuchi_naiyo_code"],
                         v["gimusha_code"], v["kiso_nenkin_no"], v["nenkin_code"], v["birth_ymd"], v["seibetsu"],
                         v["kana_shimei"], v["kingaku1"], v["kingaku2"], v["kingaku3"], found.atena_no, found.state))
        insert_rows(session.connection(), table, _KEPT, rows, keep_existing=True,
                    same={"transfer_id": transfer_id, "received_at": received})
    states["recorded"] = int(session.scalar(select(func.count()).select_from(TokuchoTaisho)
                                            .where(TokuchoTaisho.transfer_id == transfer_id)) or 0)
    return states
