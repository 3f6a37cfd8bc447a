"""The 年金保険者's answers to a Z1A, in a Z14 (mappings/codes/nenkin.toml ``files``): 32
追加依頼処理結果, 42 資格喪失等処理結果, 62 仮徴収額変更処理結果, 82 住所地特例該当者処理結果 — one
record per Z1A record, echoing its pension, 各種区分 and 各種年月日 [INF: the simulator's shape].

As the Z13 answers the Z12: 処理結果 "00" accepts, anything else refuses [INF: the table is not
public]. What each answers, found in the store, never guessed:
- 32 / 62: the 依頼 its 31 / 61 sent for the pension (tokucho_irai rows of that 通知内容コード, sent,
  of the 年度 of the answer, the one before or the one after) — ``sent`` ones become ``accepted`` or
  ``rejected``: a refused 31 leaves the person to 普通徴収, a refused 61 leaves the 仮徴収 at the
  amount it had (lists.py ``refused`` says what follows);
- 42 / 82: the latest notice its 41 / 81 kept for the pension (and, for an 82, the 各種区分; the one
  of the echoed 各種年月日 first) — ``sent`` becomes ``accepted`` or ``rejected``. A refused 41 stops
  nothing more or less: the 依頼 it stopped stay stopped, and the refusal is listed.
One tokucho_kekka row per 依頼 answered (its 年度 and 期), or per notice (the first 期 deducted after
its 各種年月日), with the 各種区分 in the key, so a file applied twice changes nothing. An answer
that matches nothing sent is one row pointing at nothing (the first 期 deducted after the answer's
作成年月日), counted ``unanswered`` and listed.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from adapters.nenkin.judge import nendo_of
from adapters.nenkin.z1a_sent import JUTOKU, ki_after
from store.inserts import insert_new
from store.models import TokuchoIrai, TokuchoKekka
from store.models.tokucho import (
    IRAI_ACCEPTED,
    IRAI_PENDING,
    IRAI_REJECTED,
    IRAI_SENT,
    TSUCHI_ACCEPTED,
    TSUCHI_REJECTED,
    TSUCHI_SENT,
    TokuchoTsuchi,
)

ANSWERED = {"32": "31", "42": "41", "62": "61", "82": "81"}  # answer's 通知内容コード → the Z1A's
ACCEPTED = "00"  # 処理結果 受付 [INF]
ASKED = ("32", "62")  # answers to 依頼 (tokucho_irai); the others answer notices (tokucho_tsuchi)


def first_ki(day: dt.date) -> tuple[int, int]:
    """(年度, 期) of the first deduction after ``day``."""
    return ki_after(nendo_of(day), day)[0]


class Answers:
    """The Z1A answers of one file: rows and status changes gathered, written by ``finish``."""

    def __init__(self, session: Session, transfer_id: str) -> None:
        self.session, self.transfer_id = session, transfer_id
        self.kekka: list[dict[str, Any]] = []
        self.irai: dict[str, set[int]] = {IRAI_ACCEPTED: set(), IRAI_REJECTED: set()}
        self.tsuchi: dict[str, set[int]] = {TSUCHI_ACCEPTED: set(), TSUCHI_REJECTED: set()}

    def add(self, v: dict[str, Any], counts: Counter[str]) -> None:
        naiyo, made = v["tsuchi_naiyo_code"], v["sakusei_ymd"]
        pension = (v["kiso_nenkin_no"], v["nenkin_code"])
        accepted = v["shori_kekka"] == ACCEPTED
        counts[f"{naiyo} {'accepted' if accepted else 'refused'}"] += 1
        base = {"kiso_nenkin_no": pension[0], "nenkin_code": pension[1], "file_kind": "Z14",
                "tsuchi_naiyo_code": naiyo, "shori_kekka": v["shori_kekka"], "tenbiki_amount": None,
                "teishi_jiyu": None, "teishi_date": v["kakushu_ymd"], "kakushu_kubun": v["kakushu_kubun"],
                "transfer_id": self.transfer_id, "irai_id": None, "tsuchi_id": None}
        if naiyo in ASKED:
            n = nendo_of(made)
            rows = self.session.execute(
                select(TokuchoIrai.id, TokuchoIrai.nendo, TokuchoIrai.ki, TokuchoIrai.status)
                .where(TokuchoIrai.tsuchi_naiyo_code == ANSWERED[naiyo], TokuchoIrai.nendo.in_((n - 1, n, n + 1)),
                       TokuchoIrai.kiso_nenkin_no == pension[0], TokuchoIrai.nenkin_code == pension[1],
                       TokuchoIrai.status != IRAI_PENDING, TokuchoIrai.transfer_id.is_not(None))
                .order_by(TokuchoIrai.nendo, TokuchoIrai.ki)).all()
            for id_, nendo, ki, status in rows:
                self.kekka.append({**base, "nendo": nendo, "ki": ki, "irai_id": id_})
                if status == IRAI_SENT:
                    self.irai[IRAI_ACCEPTED if accepted else IRAI_REJECTED].add(id_)
            if rows:
                return
        else:
            tsuchi = self._notice(naiyo, pension, v["kakushu_kubun"], v["kakushu_ymd"])
            if tsuchi is not None:
                id_, day, status = tsuchi
                n, ki = first_ki(day or made)
                self.kekka.append({**base, "nendo": n, "ki": ki, "tsuchi_id": id_})
                if status == TSUCHI_SENT:
                    self.tsuchi[TSUCHI_ACCEPTED if accepted else TSUCHI_REJECTED].add(id_)
                return
        counts["unanswered"] += 1
        n, ki = first_ki(made)
        self.kekka.append({**base, "nendo": n, "ki": ki})

    def _notice(self, naiyo: str, pension: tuple[str, str], kubun: str,
                day: dt.date | None) -> tuple[int, dt.date | None, str] | None:
        query = (select(TokuchoTsuchi.id, TokuchoTsuchi.kakushu_date, TokuchoTsuchi.status)
                 .where(TokuchoTsuchi.tsuchi_naiyo_code == ANSWERED[naiyo],
                        TokuchoTsuchi.kiso_nenkin_no == pension[0], TokuchoTsuchi.nenkin_code == pension[1]))
        if ANSWERED[naiyo] == JUTOKU:  # an 81's 該当 and 解除 are two notices
            query = query.where(TokuchoTsuchi.kakushu_kubun == kubun)
        found = [(id_, told, status) for id_, told, status in
                 self.session.execute(query.order_by(TokuchoTsuchi.id.desc()))]
        same_day = [r for r in found if r[1] == day]
        return (same_day or found)[0] if found else None

    def finish(self) -> None:
        if self.kekka:
            self.session.execute(insert_new(self.session, TokuchoKekka), self.kekka)
            self.kekka = []
        now = dt.datetime.now(dt.UTC)
        for state, ids in self.irai.items():
            if ids:
                self.session.execute(update(TokuchoIrai).where(TokuchoIrai.id.in_(sorted(ids)),
                                                               TokuchoIrai.status == IRAI_SENT)
                                     .values(status=state, updated_at=now))
        for state, ids in self.tsuchi.items():
            if ids:
                self.session.execute(update(TokuchoTsuchi).where(TokuchoTsuchi.id.in_(sorted(ids)),
                                                                 TokuchoTsuchi.status == TSUCHI_SENT)
                                     .values(status=state, updated_at=now))
