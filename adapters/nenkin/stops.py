"""Who stopped being collected from a pension within a 年度, and why: the rule the July Z12
(irai.py) and the operator's ``nenkin list stopped`` (lists.py) both follow.

The rule [INF, confidence: medium]: once the 年金保険者 reports that deduction stopped for a
person within a 年度, special collection is not resumed within that 年度 — the rest of the
year's 保険料 is collected by 普通徴収, and the person is left out of every later 本徴収 依頼
of the 年度 (the July Z12 among them). Nothing within the 年度 brings them back into the Z12:
its 対象者 are the yearly Z11's (捕捉月 04, the pensions of 4月1日), which a stop reported
after 4月1日 is newer than; special collection resumes through the next 年度's Z11.
Source: /work/shared/DOMAIN.md §年金特徴 (特別徴収) files, bullet "A stop within the 年度"
([INF: general practice of 特別徴収, not a spec we hold]); the 各種区分 of the Z14 天引結果 (22-01
失権, 22-02 差止, 22-03 支払年金額不足, 22-05 他制度による中止: mappings/codes/nenkin.toml) and the
資格喪失等の通知 with its 特徴停止日 (LAYOUTS-EVIDENCE.md §4, 各種区分 and 金額 table [CODE]).
No passage we hold names a notice that restores special collection within the 年度 (DOMAIN.md
says "unless a new 対象者 notice brings them back" without naming one): the 経由機関's
specification should confirm this.

A stop is, for a pension of the 年度:
- a Z14 天引結果 (22) whose 各種区分 is not a 正常 one (00, 10: kekka_load.DEDUCTED) — 仮徴収
  (期1–3, no 依頼 to point at: the 仮徴収 continues last year's) or 本徴収 alike
  (``teishi_jiyu`` of tokucho_kekka);
- a Z14 42 with 処理結果 00: the 年金保険者 took our Z1A 資格喪失等の通知 (41) and stops deducting.
The person is found from the pension, never guessed: the 依頼 or the 41 notice that named it, the
Z11 対象者 of the 年度 (or the one before, whose 仮徴収 this continues) matched to a 宛名, or the
宛名 holding that pension.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from mappings.converters import code_tables
from store.models import Atena, TokuchoIrai, TokuchoKekka, TokuchoTaisho
from store.models.tokucho import MATCHED, TokuchoTsuchi

Pension = tuple[str, str]  # (基礎年金番号, 年金コード)
TENBIKI = "22"  # Z14 特別徴収結果通知 (天引結果)
SOSHITSU_ANSWER = "42"  # Z14 資格喪失等処理結果 (answers our Z1A 41)
ACCEPTED = "00"  # 処理結果 受付 [INF]
CHUNK = 500  # pensions per IN (…) list


@dataclass(frozen=True)
class Stop:
    """The first stop of a pension in a 年度: the 期 it stopped at, why, the day the file gives."""

    pension: Pension
    ki: int
    reason: str
    day: dt.date | None
    atena_no: str | None = None  # known from the notice itself (a 42 answers a 41 kept with its 宛名)
    tenbiki: bool = True  # a 天引結果 stop (22); False: a 42 taking our 資格喪失等の通知


def pension_stops(session: Session, nendo: int) -> dict[Pension, Stop]:
    """The 年度's stops by pension, the earliest 期 of each."""
    meanings = code_tables()["nenkin_kakushu_kubun"]
    out: dict[Pension, Stop] = {}
    rows = session.execute(
        select(TokuchoKekka.kiso_nenkin_no, TokuchoKekka.nenkin_code, TokuchoKekka.ki, TokuchoKekka.tsuchi_naiyo_code,
               TokuchoKekka.teishi_jiyu, TokuchoKekka.teishi_date, TokuchoTsuchi.atena_no, TokuchoTsuchi.kakushu_date)
        .outerjoin(TokuchoTsuchi, TokuchoTsuchi.id == TokuchoKekka.tsuchi_id)
        .where(TokuchoKekka.nendo == nendo)
        .where(((TokuchoKekka.tsuchi_naiyo_code == TENBIKI) & TokuchoKekka.teishi_jiyu.is_not(None))
               | ((TokuchoKekka.tsuchi_naiyo_code == SOSHITSU_ANSWER) & (TokuchoKekka.shori_kekka == ACCEPTED)))
        .order_by(TokuchoKekka.ki, TokuchoKekka.id))
    for kiso, code, ki, naiyo, jiyu, day, atena, told in rows:
        if (kiso, code) in out:
            continue  # the earliest 期 came first
        if naiyo == TENBIKI:
            reason = f"Z14 天引結果 {ki}期: {jiyu} {meanings.get(f'22-{jiyu}', '?')}"
        else:
            reason, day = "Z14 42: 資格喪失等の通知 (Z1A 41) taken, deduction stopped", told or day
        out[(kiso, code)] = Stop((kiso, code), ki, reason, day, atena, naiyo == TENBIKI)
    return out


def person_stops(session: Session, nendo: int) -> dict[str, Stop]:
    """The 年度's stops by 宛名番号 (the earliest of a person's pensions)."""
    by_pension = pension_stops(session, nendo)
    owners = _owners(session, nendo, by_pension)
    out: dict[str, Stop] = {}
    for pension, stop in sorted(by_pension.items(), key=lambda kv: kv[1].ki):
        for atena in sorted(({stop.atena_no} if stop.atena_no else set()) | owners.get(pension, set())):
            out.setdefault(atena, stop)
    return out


def _owners(session: Session, nendo: int, pensions: Iterable[Pension]) -> dict[Pension, set[str]]:
    """宛名番号 holding each pension: its 依頼 of the 年度, its matched Z11 対象者 of the 年度 or
    the one before, the 宛名's own pension record. A pension held by several is each of theirs."""
    wanted = set(pensions)
    kisos = sorted({kiso for kiso, _code in wanted})
    out: dict[Pension, set[str]] = {}
    for i in range(0, len(kisos), CHUNK):
        chunk = kisos[i:i + CHUNK]
        queries = (
            select(TokuchoIrai.kiso_nenkin_no, TokuchoIrai.nenkin_code, TokuchoIrai.atena_no)
            .where(TokuchoIrai.nendo == nendo, TokuchoIrai.kiso_nenkin_no.in_(chunk)),
            select(TokuchoTaisho.kiso_nenkin_no, TokuchoTaisho.nenkin_code, TokuchoTaisho.atena_no)
            .where(TokuchoTaisho.nendo.in_((nendo - 1, nendo)), TokuchoTaisho.match_state == MATCHED,
                   TokuchoTaisho.kiso_nenkin_no.in_(chunk)),
            select(Atena.kiso_nenkin_no, Atena.nenkin_code, Atena.atena_no).where(Atena.kiso_nenkin_no.in_(chunk)),
        )
        for query in queries:
            for kiso, code, atena in session.execute(query):
                if atena is not None and (kiso, code) in wanted:
                    out.setdefault((kiso, code), set()).add(atena)
    return out
