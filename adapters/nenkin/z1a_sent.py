"""What the Z1A files held, recorded from their stored payloads (as z12_sent.py does for the Z12).

A Z1A batch key is ``nenkin.z1a/<義務者コード><媒体通番>/<YYYYMM>/<通知内容コード>`` (``#n`` for an
edition): the first segment names the delivered file (flows.toml ``Z1A{period}.DTA``, e.g.
Z1A00103.DTA — the vendor's ``Z1A000xx`` form [CODE]), and 媒体通番 counts the 義務者's Z1A files of
the 年度, so no two files of a 年度 share a name. A file holds one 通知内容コード: the frame has one
header per block and one block per 市町村 (mappings/nenkin_frame.py), so a 追加依頼 (31) and a
資格喪失等 (41) of the same 義務者 and month are two files.

``record_sent`` reads back every Z1A transfer not recorded yet (no 依頼 or notice names it) and
not held, and:
- 31 特別徴収追加依頼 / 61 仮徴収額変更: marks the 依頼 of its pensions ``sent`` with the transfer —
  the 依頼 of that 通知内容コード and the file's 義務者 still pending (or sent by an older file)
  whose 期 is collected after the run's month;
- 41 資格喪失等: keeps each record as a notice (tokucho_tsuchi, for its 42 answer) and marks
  ``stopped`` (with the transfer) the 依頼 of its pensions whose 期 is collected (天引日, the 15th
  of the collection month) after the record's 各種年月日 (the 喪失日), as a Z14 停止 stops "this
  and the later 期" — those still pending, sent or accepted; a deducted or refused 依頼 is what
  happened and stays;
- 81 住所地特例: keeps each record as a notice (for its 82 answer); it changes no 依頼.
A held file marks nothing (its 依頼 stay as they were, for an edition). Recording again changes
nothing. ``told`` says which 41/81 the 年度's files carried, from the notices kept.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CursorResult, or_, select, tuple_, update
from sqlalchemy.orm import Session, sessionmaker

from adapters.nenkin.judge import nendo_of
from adapters.readback import read_back
from mappings import nenkin_frame
from mappings.records import ParsedRecord
from queues.outbound import HELD
from queues.payloads import PayloadStore
from store.inserts import insert_new
from store.models import Atena, TokuchoIrai, TokuchoTaisho, Transfer
from store.models.tokucho import IRAI_ACCEPTED, IRAI_PENDING, IRAI_SENT, IRAI_STOPPED, MATCHED, TokuchoTsuchi

FLOW = "nenkin.z1a"
TSUIKA = "31"  # 特別徴収追加依頼通知
SOSHITSU = "41"  # 資格喪失等の通知
KARI = "61"  # 仮徴収額変更通知
JUTOKU = "81"  # 住所地特例該当者通知
ASKING = (TSUIKA, KARI)  # notices carrying 依頼 (tokucho_irai rows of that 通知内容コード)
TELLING = (SOSHITSU, JUTOKU)  # notices asking no amount (tokucho_tsuchi rows)
COLLECTED = {1: 4, 2: 6, 3: 8, 4: 10, 5: 12, 6: 2}  # 期 → the month it is deducted in (DOMAIN.md [DOC])
ACTIVE = (IRAI_PENDING, IRAI_SENT, IRAI_ACCEPTED)  # a 依頼 a 喪失 still stops
CHUNK = 400
BATCH = re.compile(rf"{re.escape(FLOW)}/(\d{{3}})(\d{{2}})/(\d{{6}})/(\d{{2}})(?:#(\d+))?")
Pension = tuple[str, str]  # (基礎年金番号, 年金コード)


@dataclass(frozen=True)
class BatchKey:
    gimusha_code: str
    seq: int  # 媒体通番: the 義務者's Z1A files of the 年度, 1, 2, …
    month: str  # YYYYMM of the run
    naiyo: str  # 通知内容コード of every record
    edition: int

    @classmethod
    def parse(cls, batch: str | None) -> BatchKey:
        m = BATCH.fullmatch(batch or "")
        if m is None:
            raise ValueError(f"flow {FLOW}: batch key {batch!r} is not <義務者><媒体通番>/<YYYYMM>/<通知内容コード>")
        return cls(m[1], int(m[2]), m[3], m[4], int(m[5] or 1))

    def text(self) -> str:
        return (f"{FLOW}/{self.gimusha_code}{self.seq:02d}/{self.month}/{self.naiyo}"
                + (f"#{self.edition}" if self.edition > 1 else ""))

    @property
    def nendo(self) -> int:
        return nendo_of(dt.date(int(self.month[:4]), int(self.month[4:]), 1))

    @property
    def month_end(self) -> dt.date:
        y, m = int(self.month[:4]), int(self.month[4:])
        return dt.date(y + m // 12, m % 12 + 1, 1) - dt.timedelta(days=1)


def tenbiki_day(nendo: int, ki: int) -> dt.date:
    """The day 期 ``ki`` of ``nendo`` is deducted: the 15th of its month (Z14 天引日 [INF])."""
    month = COLLECTED[ki]
    return dt.date(nendo + 1 if month < 4 else nendo, month, 15)


def ki_after(nendo: int, day: dt.date) -> list[tuple[int, int]]:
    """(年度, 期) of ``nendo`` and the next 年度 deducted after ``day``."""
    return [(n, ki) for n in (nendo, nendo + 1) for ki in COLLECTED if tenbiki_day(n, ki) > day]


def parse_sent(payloads: PayloadStore, transfer: Transfer) -> tuple[ParsedRecord | None, list[ParsedRecord]]:
    """The header and data records of a stored Z1A, its frame checked (no header: every record
    was withheld, the file held)."""
    kept = list(read_back(payloads, transfer, nenkin_frame.parse))
    headers = [p for p in kept if p.kind == "header"]
    if len(headers) > 1:
        raise ValueError(f"transfer {transfer.id}: a Z1A has one block, this one has {len(headers)}")
    return (headers[0] if headers else None), [p for p in kept if p.kind == "data"]


def delivered(session: Session) -> list[tuple[Transfer, BatchKey]]:
    """The Z1A transfers not held, oldest first, with their batch keys."""
    rows = session.scalars(select(Transfer).where(Transfer.flow == FLOW, Transfer.direction == "out",
                                                  Transfer.state != HELD)
                           .order_by(Transfer.created_at, Transfer.id))
    return [(t, BatchKey.parse(t.batch)) for t in rows]


Told = tuple[str, str, str, dt.date | None]  # (基礎年金番号, 年金コード, 各種区分, 各種年月日)


def told(session: Session, naiyo: str, nendo: int, month: str) -> tuple[set[Told], set[Told]]:
    """What the 年度's 41 or 81 files not held carried: all of it, and that of ``month``'s files."""
    every: set[Told] = set()
    this_month: set[Told] = set()
    for kiso, code, kubun, day, batch in session.execute(
            select(TokuchoTsuchi.kiso_nenkin_no, TokuchoTsuchi.nenkin_code, TokuchoTsuchi.kakushu_kubun,
                   TokuchoTsuchi.kakushu_date, Transfer.batch)
            .join(Transfer, Transfer.id == TokuchoTsuchi.transfer_id)
            .where(TokuchoTsuchi.tsuchi_naiyo_code == naiyo, TokuchoTsuchi.nendo == nendo,
                   Transfer.state != HELD)):
        every.add((kiso, code, kubun, day))
        if BatchKey.parse(batch).month == month:
            this_month.add((kiso, code, kubun, day))
    return every, this_month


def notified(session: Session, nendo: int, month: str) -> tuple[set[Pension], set[Pension]]:
    """Pensions a 41 of the 年度 not held carried: all of them, and those of ``month``'s files."""
    every, this_month = told(session, SOSHITSU, nendo, month)
    return {(t[0], t[1]) for t in every}, {(t[0], t[1]) for t in this_month}


def _unrecorded(session: Session) -> list[tuple[Transfer, BatchKey]]:
    named = set(session.scalars(select(TokuchoIrai.transfer_id).where(TokuchoIrai.transfer_id.is_not(None))
                                .distinct()))
    named |= set(session.scalars(select(TokuchoTsuchi.transfer_id).distinct()))
    return [(t, k) for t, k in delivered(session) if t.id not in named]


def record_sent(sessions: sessionmaker[Session], payloads: PayloadStore) -> dict[str, int]:
    """Record every Z1A not recorded yet; the 依頼 rows marked sent and stopped, the notices kept."""
    marked = {IRAI_SENT: 0, IRAI_STOPPED: 0, "notices": 0}
    with sessions() as s:
        todo = _unrecorded(s)
    for transfer, key in todo:
        header, rows = parse_sent(payloads, transfer)
        if header is None or header["tsuchi_naiyo_code"] != key.naiyo or header["gimusha_code"] != key.gimusha_code:
            raise ValueError(f"transfer {transfer.id}: its header is not the file its batch key names")
        with sessions.begin() as s:
            if key.naiyo in ASKING:
                marked[IRAI_SENT] += _mark_sent(s, transfer, key, [(r["kiso_nenkin_no"], r["nenkin_code"])
                                                                     for r in rows])
                continue
            if key.naiyo in TELLING:
                marked["notices"] += _keep_notices(s, transfer, key, rows)
            if key.naiyo == SOSHITSU:
                by_day: dict[dt.date, list[Pension]] = defaultdict(list)
                for r in rows:
                    by_day[r["kakushu_ymd"]].append((r["kiso_nenkin_no"], r["nenkin_code"]))
                marked[IRAI_STOPPED] += sum(_mark_stopped(s, transfer, key, day, pensions)
                                            for day, pensions in by_day.items())
    return marked


def owners(session: Session, pensions: list[Pension]) -> dict[Pension, str]:
    """宛名番号 of each pension: its latest 依頼, else its matched 対象者, else the 宛名 holding it."""
    out: dict[Pension, str] = {}
    for model in (TokuchoIrai, TokuchoTaisho, Atena):
        found: dict[Pension, str] = {}
        for i in range(0, len(pensions), CHUNK):
            query = (select(model.kiso_nenkin_no, model.nenkin_code, model.atena_no)
                     .where(tuple_(model.kiso_nenkin_no, model.nenkin_code).in_(pensions[i:i + CHUNK])))
            if model is TokuchoTaisho:
                query = query.where(TokuchoTaisho.match_state == MATCHED)
            # Ordered, so the latest 依頼 (the highest id) is the one kept.
            for kiso, code, atena in session.execute(query.order_by(TokuchoIrai.id if model is TokuchoIrai
                                                                    else model.atena_no)):
                if atena is not None and kiso is not None and code is not None:
                    found[(kiso, code)] = atena
        for pension, atena in found.items():
            out.setdefault(pension, atena)
    return out


def _keep_notices(session: Session, transfer: Transfer, key: BatchKey, rows: list[ParsedRecord]) -> int:
    who = owners(session, [(r["kiso_nenkin_no"], r["nenkin_code"]) for r in rows])
    values = [{"nendo": key.nendo, "tsuchi_naiyo_code": key.naiyo, "gimusha_code": key.gimusha_code,
               "kiso_nenkin_no": r["kiso_nenkin_no"], "nenkin_code": r["nenkin_code"],
               "atena_no": who.get((r["kiso_nenkin_no"], r["nenkin_code"])), "kakushu_kubun": r["kakushu_kubun"],
               "kakushu_date": r["kakushu_ymd"], "transfer_id": transfer.id} for r in rows]
    if values:
        session.execute(insert_new(session, TokuchoTsuchi), values)
    return len(values)


def _update(session: Session, where: list[Any], pensions: list[Pension], values: dict[str, Any]) -> int:
    count = 0
    for i in range(0, len(pensions), CHUNK):
        result = cast(CursorResult[Any], session.execute(
            update(TokuchoIrai).where(*where, tuple_(TokuchoIrai.kiso_nenkin_no, TokuchoIrai.nenkin_code)
                                      .in_(pensions[i:i + CHUNK]))
            .values(**values, updated_at=dt.datetime.now(dt.UTC)).execution_options(synchronize_session=False)))
        count += result.rowcount
    return count


def _mark_sent(session: Session, transfer: Transfer, key: BatchKey, pensions: list[Pension]) -> int:
    ahead = ki_after(key.nendo, key.month_end)
    older = select(Transfer.id).where(Transfer.flow == FLOW, Transfer.created_at < transfer.created_at)
    where = [TokuchoIrai.tsuchi_naiyo_code == key.naiyo, TokuchoIrai.gimusha_code == key.gimusha_code,
             tuple_(TokuchoIrai.nendo, TokuchoIrai.ki).in_(ahead),
             TokuchoIrai.status.in_((IRAI_PENDING, IRAI_SENT)),
             or_(TokuchoIrai.transfer_id.is_(None), TokuchoIrai.transfer_id.in_(older))]
    return _update(session, where, pensions, {"status": IRAI_SENT, "transfer_id": transfer.id})


def _mark_stopped(session: Session, transfer: Transfer, key: BatchKey, day: dt.date | None,
                  pensions: list[Pension]) -> int:
    if day is None:
        raise ValueError(f"transfer {transfer.id}: a 資格喪失等 record without its 各種年月日 (喪失日)")
    where = [TokuchoIrai.gimusha_code == key.gimusha_code, TokuchoIrai.status.in_(ACTIVE),
             tuple_(TokuchoIrai.nendo, TokuchoIrai.ki).in_(ki_after(key.nendo, day))]
    return _update(session, where, pensions, {"status": IRAI_STOPPED, "transfer_id": transfer.id})
