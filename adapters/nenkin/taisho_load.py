"""Z11 特別徴収対象者 into the store: each pension matched to 宛名 (adapters/nenkin/match.py) and
kept in tokucho_taisho with its match state; a file received again changes nothing (one row per
年度, 基礎年金番号, 年金コード and 捕捉月)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from adapters.core.inserts import insert_new
from adapters.core.models import Atena, Shikaku, TokuchoTaisho
from adapters.judgement import Verdict
from adapters.nenkin.judge import YEARLY, NenkinContext, nendo_of, records
from adapters.nenkin.match import Atena as Candidate
from adapters.nenkin.match import AtenaIndex, Person
from mappings.streams import Source

BATCH = 5000


def atena_index(session: Session) -> AtenaIndex:
    """The ward's 宛名 as matching sees them: read once per file, columns only."""
    dai1go = set(session.scalars(select(Shikaku.atena_no).where(Shikaku.hihokensha_kubun == "1",
                                                                 Shikaku.soshitsu_date.is_(None))))
    rows = session.execute(select(Atena.atena_no, Atena.kiso_nenkin_no, Atena.birth_date, Atena.sex,
                                  Atena.name_kana))
    return AtenaIndex(Candidate(a, kiso, birth, sex, kana, a in dai1go) for a, kiso, birth, sex, kana in rows)


def hosoku_month(code: str, made: dt.date) -> str:
    """捕捉月: 04 for the yearly list; a 追加候補者's is the even month at or before the file's."""
    if code == YEARLY:
        return "04"
    return f"{made.month - (made.month % 2):02d}" if made.month != 1 else "12"


def apply_taisho(session: Session, transfer_id: str, source: Source, file: str, ctx: NenkinContext,
                 second: Verdict) -> Counter[str]:
    """Match and keep every 対象者 of the file; the count per match state, and "recorded": the
    rows this file added (a row already there keeps the transfer it first came in)."""
    index = atena_index(session)
    insert = insert_new(session, TokuchoTaisho)
    states: Counter[str] = Counter()
    rows: list[dict[str, Any]] = []
    for rec in records(source, file, ctx, second):
        v = rec.values
        made: dt.date = v["sakusei_ymd"]
        found = index.match(Person(v["kiso_nenkin_no"], v["birth_ymd"], v["seibetsu"], v["kana_shimei"]))
        states[found.state] += 1
        rows.append({"nendo": nendo_of(made), "hosoku_month": hosoku_month(v["tsuchi_naiyo_code"], made),
                     "tsuchi_naiyo_code": v["tsuchi_naiyo_code"], "gimusha_code": v["gimusha_code"],
                     "kiso_nenkin_no": v["kiso_nenkin_no"], "nenkin_code": v["nenkin_code"],
                     "birth_date": v["birth_ymd"], "sex": v["seibetsu"], "name_kana": v["kana_shimei"],
                     "kingaku1": v["kingaku1"], "kingaku2": v["kingaku2"], "kingaku3": v["kingaku3"],
                     "atena_no": found.atena_no, "match_state": found.state, "transfer_id": transfer_id})
        if len(rows) >= BATCH:
            session.execute(insert, rows)
            rows = []
    if rows:
        session.execute(insert, rows)
    states["recorded"] = int(session.scalar(select(func.count()).select_from(TokuchoTaisho)
                                            .where(TokuchoTaisho.transfer_id == transfer_id)) or 0)
    return states
