"""住所地特例該当者通知 (81) of a month's Z1A, from the 住所地特例 periods of the store
(jushochi_tokurei).

A 住所地特例 person lives in a 施設 in another 市町村 and stays insured here; the 年金保険者 sends
its 対象者 to the 市町村 of the address, so the ward tells it which of its 特別徴収 persons are
ours: 各種区分 01 該当 when a period begins, 02 該当解除 when it ends (mappings/codes/nenkin.toml
81-01/81-02), 金額 all 0 [CODE: the vendor's InsJushochiTokureiTsuikaTempProcess], 各種年月日 =
the 適用年月日 / 解除年月日 [INF: the vendor's value is not known].

Who: a person still insured whose period began or ended within the run's 年度 by the end of the
run's month [INF: as the 41 tells losses of the 年度; older periods are taken as known], and who
is a 特別徴収 person — a 依頼 of the 年度 or the next that is not stopped or refused, else a
matched yearly 対象者 of the 年度 with a 特別徴収 賦課 (仮徴収 goes on without a 依頼) — one record
per pension. Each event is told once: not when a 41/81 file of the 年度 not held already carried
it (z1a_sent.told), except to an edition of the same month. A period that ended before its 該当
was told is not told at all (nothing to undo) [INF]; an end of a period begun before the 年度 is.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from adapters.nenkin.z1a_sent import ACTIVE, Pension, Told
from adapters.nenkin.z1a_who import lost, yearly_pensions
from store.models import TokuchoIrai
from store.models.tokucho import IRAI_DEDUCTED, JushochiTokurei

GAITO, KAIJO = "01", "02"  # 各種区分 of an 81: 住所地特例該当 / 該当解除
CHUNK = 400


@dataclass(frozen=True)
class Jutoku:
    """One 81 record."""

    atena_no: str
    gimusha_code: str
    pension: Pension
    day: dt.date  # 適用年月日 / 解除年月日
    kakushu_kubun: str


def in_force(day: dt.date) -> tuple[ColumnElement[bool], ...]:
    """The 住所地特例 periods in force on ``day`` (begun, not yet ended)."""
    return (JushochiTokurei.tekiyo_date <= day,
            or_(JushochiTokurei.kaijo_date.is_(None), JushochiTokurei.kaijo_date > day))


def active(session: Session, atena_nos: Iterable[str], day: dt.date) -> set[str]:
    """Those of ``atena_nos`` who are 住所地特例 on ``day``."""
    keys = sorted(set(atena_nos))
    out: set[str] = set()
    for i in range(0, len(keys), CHUNK):
        out.update(session.scalars(select(JushochiTokurei.atena_no).where(
            JushochiTokurei.atena_no.in_(keys[i:i + CHUNK]), *in_force(day))))
    return out


def tokucho_pensions(session: Session, nendo: int, atena_nos: list[str]) -> dict[str, set[tuple[str, str, str]]]:
    """宛名番号 → (義務者, 基礎年金番号, 年金コード) of each 特別徴収 person among them (see the doc)."""
    by_irai: dict[str, set[tuple[str, str, str]]] = defaultdict(set)
    by_taisho: dict[str, set[tuple[str, str, str]]] = defaultdict(set)
    tokucho: set[str] = set()
    for i in range(0, len(atena_nos), CHUNK):
        chunk = atena_nos[i:i + CHUNK]
        for atena, gimusha, kiso, code in session.execute(
                select(TokuchoIrai.atena_no, TokuchoIrai.gimusha_code, TokuchoIrai.kiso_nenkin_no,
                       TokuchoIrai.nenkin_code)
                .where(TokuchoIrai.atena_no.in_(chunk), TokuchoIrai.nendo.in_((nendo, nendo + 1)),
                       TokuchoIrai.status.in_((*ACTIVE, IRAI_DEDUCTED)))):
            by_irai[atena].add((gimusha, kiso, code))
        yearly_pensions(session, nendo, chunk, by_taisho, tokucho)
    out = dict(by_irai)
    for atena, pensions in by_taisho.items():
        if atena not in out and atena in tokucho:
            out[atena] = pensions
    return out


def jutoku(session: Session, nendo: int, month_end: dt.date, told: set[Told], resend: set[Told]) -> list[Jutoku]:
    """The 81 records of a month's run (see the module's doc), by 義務者 and 基礎年金番号."""
    start = dt.date(nendo, 4, 1)
    gone = lost(session, month_end)
    events: list[tuple[str, str, dt.date, dt.date]] = []  # (宛名番号, 各種区分, day, 適用年月日)
    for atena, tekiyo, kaijo in session.execute(
            select(JushochiTokurei.atena_no, JushochiTokurei.tekiyo_date, JushochiTokurei.kaijo_date)
            .where(or_(JushochiTokurei.tekiyo_date.between(start, month_end),
                       JushochiTokurei.kaijo_date.between(start, month_end)))):
        if atena in gone:
            continue  # the 資格喪失等 (41) tells it
        if start <= tekiyo <= month_end:
            events.append((atena, GAITO, tekiyo, tekiyo))
        if kaijo is not None and start <= kaijo <= month_end:
            events.append((atena, KAIJO, kaijo, tekiyo))
    ended = {(a, t) for a, kubun, _d, t in events if kubun == KAIJO}
    pensions = tokucho_pensions(session, nendo, sorted({e[0] for e in events}))
    out: list[Jutoku] = []
    for atena, kubun, day, tekiyo in events:
        for gimusha, kiso, code in sorted(pensions.get(atena, ())):
            key = (kiso, code, kubun, day)
            gaito_told = (kiso, code, GAITO, tekiyo) in told
            if key in resend:
                pass
            elif key in told:
                continue
            elif kubun == GAITO and (atena, tekiyo) in ended:
                continue  # over before the 年金保険者 heard of it
            elif kubun == KAIJO and tekiyo >= start and not gaito_told:
                continue  # its 該当 was never told (see the line above)
            out.append(Jutoku(atena, gimusha, (kiso, code), day, kubun))
    return sorted(out, key=lambda x: (x.gimusha_code, x.pension, x.day, x.kakushu_kubun))
