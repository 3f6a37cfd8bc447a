"""What the Z1A files held, recorded from their stored payloads (as z12_sent.py does for the Z12).

A Z1A batch key is ``nenkin.z1a/<義務者コード><媒体通番>/<YYYYMM>/<通知内容コード>`` (``#n`` for an
edition): the first segment names the delivered file (flows.toml ``Z1A{period}.DTA``, e.g.
Z1A00103.DTA — the vendor's ``Z1A000xx`` form [CODE]), and 媒体通番 counts the 義務者's Z1A files of
the 年度, so no two files of a 年度 share a name. A file holds one 通知内容コード: the frame has one
header per block and one block per 市町村 (mappings/nenkin_frame.py), so a 追加依頼 (31) and a
資格喪失等 (41) of the same 義務者 and month are two files.

``record_sent`` reads back every Z1A transfer not held and:
- 31 特別徴収追加依頼: marks the 依頼 of its pensions ``sent`` with the transfer — the 31-依頼 of the
  file's 義務者 still pending (or sent by an older file) whose 期 is collected after the run's month;
- 41 資格喪失等: marks ``stopped`` (with the transfer) the 依頼 of its pensions whose 期 is collected
  (天引日, the 15th of the collection month) after the record's 各種年月日 (the 喪失日), as a Z14
  停止 stops "this and the later 期" — those still pending, sent or accepted; a deducted or
  refused 依頼 is what happened and stays.
A held file marks nothing (its 依頼 stay as they were, for an edition). Recording again changes
nothing; a 41 file that named no 依頼 (a person with none yet) is read again at each run, cheaply.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CursorResult, or_, select, tuple_, update
from sqlalchemy.orm import Session, sessionmaker

from adapters.core.models import TokuchoIrai, Transfer
from adapters.core.models.tokucho import IRAI_ACCEPTED, IRAI_PENDING, IRAI_SENT, IRAI_STOPPED
from adapters.nenkin.judge import nendo_of
from mappings import nenkin_frame
from mappings.records import ParsedRecord
from queues.outbound import HELD
from queues.payloads import PayloadStore

FLOW = "nenkin.z1a"
TSUIKA = "31"  # 特別徴収追加依頼通知
SOSHITSU = "41"  # 資格喪失等の通知
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
    parsed = list(nenkin_frame.parse(payloads.read(transfer.payload_ref, transfer.id, transfer.flow),
                                     file=f"transfer {transfer.id}"))
    bad = [p for p in parsed if not isinstance(p, ParsedRecord)]
    if bad:
        raise ValueError(f"transfer {transfer.id}: the stored Z1A does not parse back "
                         f"({len(bad)} problem(s), first: {bad[0]})")
    kept = [p for p in parsed if isinstance(p, ParsedRecord)]
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


def notified(sessions: sessionmaker[Session], payloads: PayloadStore, nendo: int,
             month: str) -> tuple[set[Pension], set[Pension]]:
    """Pensions a 41 of the 年度 not held carried: all of them, and those of ``month``'s files."""
    with sessions() as s:
        files = [(t, k) for t, k in delivered(s) if k.naiyo == SOSHITSU and k.nendo == nendo]
    every: set[Pension] = set()
    this_month: set[Pension] = set()
    for transfer, key in files:
        _header, rows = parse_sent(payloads, transfer)
        got = {(r["kiso_nenkin_no"], r["nenkin_code"]) for r in rows}
        every |= got
        if key.month == month:
            this_month |= got
    return every, this_month


def _unrecorded(session: Session) -> list[tuple[Transfer, BatchKey]]:
    named = set(session.scalars(select(TokuchoIrai.transfer_id).where(TokuchoIrai.transfer_id.is_not(None))
                                .distinct()))
    return [(t, k) for t, k in delivered(session) if t.id not in named]


def record_sent(sessions: sessionmaker[Session], payloads: PayloadStore) -> dict[str, int]:
    """Record every Z1A not recorded yet; the 依頼 rows marked sent and stopped."""
    marked = {IRAI_SENT: 0, IRAI_STOPPED: 0}
    with sessions() as s:
        todo = _unrecorded(s)
    for transfer, key in todo:
        header, rows = parse_sent(payloads, transfer)
        if header is None or header["tsuchi_naiyo_code"] != key.naiyo or header["gimusha_code"] != key.gimusha_code:
            raise ValueError(f"transfer {transfer.id}: its header is not the file its batch key names")
        with sessions.begin() as s:
            if key.naiyo == TSUIKA:
                marked[IRAI_SENT] += _mark_sent(s, transfer, key, [(r["kiso_nenkin_no"], r["nenkin_code"])
                                                                     for r in rows])
            elif key.naiyo == SOSHITSU:
                by_day: dict[dt.date, list[Pension]] = defaultdict(list)
                for r in rows:
                    by_day[r["kakushu_ymd"]].append((r["kiso_nenkin_no"], r["nenkin_code"]))
                marked[IRAI_STOPPED] += sum(_mark_stopped(s, transfer, key, day, pensions)
                                            for day, pensions in by_day.items())
    return marked


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
    where = [TokuchoIrai.tsuchi_naiyo_code == TSUIKA, TokuchoIrai.gimusha_code == key.gimusha_code,
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
