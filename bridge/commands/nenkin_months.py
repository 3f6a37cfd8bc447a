"""Which month of the 年金特徴 calendar a transfer is for: what the file holds says it, not the day
the store made or received it.

A file made or received late, or all at once (a ward catching up, the demo running a year in one
sitting), is still the file of its month: the calendar must show that month done, not overdue,
and must not count the file for the month it happened to arrive in. By what it holds:
- Z11: the 年度 of its yearly 対象者 (捕捉月 04, tokucho_taisho) → the month the calendar expects
  the yearly Z11 in;
- Z12: the 年度 of its batch key (``nenkin.z12/<義務者>/<年度>``) → the month of the Z12;
- Z13: the 年度 of its results (tokucho_kekka) → the month of the Z13;
- Z14 of 天引結果 (22): the 期 it reports → the month after that 期's collection;
- Z1A: the month of its batch key (``…/<YYYYMM>/…``, the month it was run for).
Anything else — a Z14 of answers to a Z1A, a file not applied yet (nothing it holds is known), a
kind the calendar expects in more than one month — goes by the month it was made or received,
in Japan time, as before.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from datetime import timedelta, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from adapters.nenkin import z1a_sent, z12
from settings.nenkin import NenkinCalendar
from store.models import TokuchoKekka, TokuchoTaisho, Transfer

JST = timezone(timedelta(hours=9))
YEARLY = "04"  # 捕捉月 of the yearly 対象者
TENBIKI = "22"  # 通知内容コード 天引結果
CHUNK = 500  # transfer ids per IN (…) list
Month = tuple[int, int]  # (year, month)

_Z12_BATCH = re.compile(rf"{re.escape(z12.FLOW)}/\d{{3}}/(\d{{4}})(?:#\d+)?")


def made_month(t: Transfer) -> Month:
    local = t.created_at.astimezone(JST)
    return local.year, local.month


def months_for(session: Session, cal: NenkinCalendar, transfers: Iterable[Transfer]) -> dict[str, Month]:
    """Transfer id → the calendar month it is for (see the module's docstring)."""
    kind_of = {f.flow: kind for kind, f in cal.files.items()}
    rows = list(transfers)
    out = {t.id: made_month(t) for t in rows}
    by_kind: dict[str, list[Transfer]] = {}
    for t in rows:
        by_kind.setdefault(kind_of.get(t.flow, ""), []).append(t)
    for t in by_kind.get("Z12", []):
        m = _Z12_BATCH.fullmatch(t.batch or "")
        month = _only_month(cal, "Z12", int(m[1])) if m else None
        out[t.id] = month or out[t.id]
    for t in by_kind.get("Z1A", []):
        try:
            ym = z1a_sent.BatchKey.parse(t.batch).month
        except ValueError:
            continue
        out[t.id] = (int(ym[:4]), int(ym[4:]))
    for tid, nendo in _content(session, [t.id for t in by_kind.get("Z11", [])],
                               select(TokuchoTaisho.transfer_id, TokuchoTaisho.nendo)
                               .where(TokuchoTaisho.hosoku_month == YEARLY).distinct(), TokuchoTaisho.transfer_id):
        out[tid] = _only_month(cal, "Z11", nendo) or out[tid]
    for tid, nendo in _content(session, [t.id for t in by_kind.get("Z13", [])],
                               select(TokuchoKekka.transfer_id, TokuchoKekka.nendo)
                               .where(TokuchoKekka.file_kind == "Z13").distinct(), TokuchoKekka.transfer_id):
        out[tid] = _only_month(cal, "Z13", nendo) or out[tid]
    for tid, nendo, ki in _content(session, [t.id for t in by_kind.get("Z14", [])],
                                   select(TokuchoKekka.transfer_id, TokuchoKekka.nendo, TokuchoKekka.ki)
                                   .where(TokuchoKekka.tsuchi_naiyo_code == TENBIKI).distinct(),
                                   TokuchoKekka.transfer_id):
        out[tid] = _after_collection(cal, nendo, ki) or out[tid]
    return out


def _content(session: Session, ids: list[str], query: Any, column: Any) -> list[Any]:
    """The rows of ``query`` for the transfers ``ids`` (``column``: its transfer id)."""
    found: list[Any] = []
    for i in range(0, len(ids), CHUNK):
        found += session.execute(query.where(column.in_(ids[i:i + CHUNK]))).all()
    return found


def _only_month(cal: NenkinCalendar, kind: str, nendo: int) -> Month | None:
    """The month of 年度 ``nendo`` the calendar expects ``kind`` in, when it is one month only."""
    months = [m for m in cal.months if any(e.file == kind for e in m.expect)]
    return (months[0].year(nendo), months[0].month) if len(months) == 1 else None


def _after_collection(cal: NenkinCalendar, nendo: int, ki: int) -> Month | None:
    """The month after the one that collects 期 ``ki`` of 年度 ``nendo``: when its 天引結果 come."""
    for m, following in itertools.pairwise(cal.months):
        if m.ki == ki:
            return following.year(nendo), following.month
    return None
