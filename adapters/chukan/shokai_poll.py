"""情報照会 after submission: poll the status, fetch the result, keep it encrypted, apply it once.

A result is written to the payload store (AES-256-GCM, bound to the query's transfer id = its
idempotency key, flow FLOW) before the row says ``completed``; it is never a column, never a
message header, never in custody (no hash either: a few amounts hash to something guessable).
Applying it to ``shotoku`` moves the row ``completed`` → ``applied`` by a conditional update, in
the transaction that writes the income: a result fetched twice (a duplicate answer, a poll
interrupted after the fetch) is applied once.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session, sessionmaker

from adapters.chukan import kiroku
from adapters.chukan.client import ChukanClient
from adapters.chukan.errors import ChukanFault, ChukanUnavailable
from adapters.chukan.messages import QueryResult
from adapters.chukan.shokai import fail
from adapters.chukan.shokai_result import ResultError, income_of, pack, unpack
from adapters.core.models import Shokai, Shotoku
from adapters.core.models.chukan import QUERY
from adapters.core.models.shokai import APPLIED, COMPLETED, KIND_INCOME, SUBMITTED
from bridge.config.chukan import ChukanConfig
from queues import handover_log
from queues.custody import CustodyEvent
from queues.payloads import PayloadStore

FLOW = "chukan.shokai"  # the payload store's flow for query results (part of the AEAD binding)


@dataclass(frozen=True, slots=True)
class Polled:
    waiting: tuple[int, ...]  # Accepted / InProgress
    applied: tuple[int, ...]
    kept: tuple[int, ...]  # result stored, not applied (no reader for its TM, or it did not fit)
    failed: tuple[int, ...]
    unreachable: tuple[int, ...]  # not asked: the service could not be reached


def _key() -> str:
    # Status and result calls are reads: a fresh key each, a resend inside the client keeps it.
    return str(uuid.uuid4())


def poll(sessions: sessionmaker[Session], client: ChukanClient, chukan: ChukanConfig, payloads: PayloadStore, *,
         by: str, now: datetime | None = None) -> Polled:
    """Every ``submitted`` query: its status; a Completed one's result fetched, kept and applied.
    Then every ``completed`` one not yet applied is tried again from its stored copy."""
    waiting: list[int] = []
    applied: list[int] = []
    kept: list[int] = []
    failed: list[int] = []
    with sessions() as s:
        todo = [(r.id, str(r.query_id)) for r in s.scalars(
            select(Shokai).where(Shokai.state == SUBMITTED).order_by(Shokai.id))]
    for position, (shokai_id, query_id) in enumerate(todo):
        try:
            status = client.query_status(query_id, key=_key(), by=by)
            result = client.query_result(query_id, key=_key(), by=by) if status == "Completed" else None
        except ChukanUnavailable:
            return Polled(tuple(waiting), tuple(applied), tuple(kept), tuple(failed),
                          tuple(i for i, _ in todo[position:]))
        except ChukanFault as fault:
            fail(sessions, shokai_id, f"{fault.operation} fault {fault.code}")
            failed.append(shokai_id)
            continue
        if status == "Failed":
            fail(sessions, shokai_id, "status Failed")
            failed.append(shokai_id)
        elif result is None:
            waiting.append(shokai_id)
        elif keep(sessions, chukan, payloads, shokai_id, result, by=by, now=now):
            applied.append(shokai_id)
        else:
            kept.append(shokai_id)
    for shokai_id in _unapplied(sessions, exclude=set(applied) | set(kept)):
        (applied if apply_stored(sessions, chukan, payloads, shokai_id, by=by, now=now) else kept).append(shokai_id)
    return Polled(tuple(waiting), tuple(applied), tuple(kept), tuple(failed), ())


def _unapplied(sessions: sessionmaker[Session], exclude: set[int]) -> list[int]:
    with sessions() as s:
        ids = s.scalars(select(Shokai.id).where(Shokai.state == COMPLETED, Shokai.result_ref.is_not(None))
                        .order_by(Shokai.id))
        return [i for i in ids if i not in exclude]


def keep(sessions: sessionmaker[Session], chukan: ChukanConfig, payloads: PayloadStore, shokai_id: int,
         result: QueryResult, *, by: str, now: datetime | None = None) -> bool:
    """Store a fetched result encrypted, record it, then apply it; True when this call applied it."""
    at = now or datetime.now(UTC)
    with sessions() as s:
        row = s.get(Shokai, shokai_id)
        assert row is not None
        key, query_id, tm = row.idem_key, row.query_id, row.tm
    if (result.query_id, result.tm) != (query_id, tm):
        fail(sessions, shokai_id, f"GetQueryResult answered query {result.query_id} {result.tm}, "
                                  f"expected {query_id} {tm}")
        return False
    with payloads.open_writer(key, FLOW) as writer:
        writer.write(pack(result))
    info = writer.close()
    with sessions.begin() as s:
        row = s.get(Shokai, shokai_id)
        assert row is not None
        if row.state == SUBMITTED:  # the first fetch; a second one only rewrote the same copy
            row.state, row.result_ref, row.result_sha256 = COMPLETED, info.ref, info.sha256
            row.result_version, row.result_at = result.version, at
            row.purge_after = at + timedelta(days=chukan.query_results_days)
            kiroku.record(s, kiroku.Entry(
                direction=QUERY, outcome="result", counterpart_kikan=row.provider_kikan, tetsuzuki=row.tetsuzuki,
                tm=row.tm, by=by, togo_atena_no=row.togo_atena_no, atena_no=row.atena_no, jimu=row.jimu,
                basis=row.basis, reference=row.query_id), records_years=chukan.records_years, at=at)
            handover_log.record(s, CustodyEvent(
                transfer_id=key, event="received", actor=by, partner=row.provider_kikan,
                record_count=len(result.items), key_id=info.key_id, basis=row.basis,
                detail=f"shokai {row.id} result {row.tm} 版 {result.version}: stored encrypted"))
    return apply(sessions, chukan, shokai_id, result, by=by, now=at)


def apply_stored(sessions: sessionmaker[Session], chukan: ChukanConfig, payloads: PayloadStore, shokai_id: int,
                 *, by: str, now: datetime | None = None) -> bool:
    """Apply a result kept earlier (after a crash, or a layout file added since it did not fit)."""
    with sessions() as s:
        row = s.get(Shokai, shokai_id)
        assert row is not None and row.result_ref is not None
        ref, key = row.result_ref, row.idem_key
    result = unpack(b"".join(payloads.read(ref, key, FLOW)))
    return apply(sessions, chukan, shokai_id, result, by=by, now=now)


def apply(sessions: sessionmaker[Session], chukan: ChukanConfig, shokai_id: int, result: QueryResult, *,
          by: str, now: datetime | None = None) -> bool:
    """The income of a ``completed`` 地方税関係情報 result into shotoku; True if this call applied it.
    A result of another 特定個人情報名 is kept (encrypted, until purged) but not applied: nothing
    here reads it. A result that does not fit its layout stays ``completed`` with the reason."""
    at = now or datetime.now(UTC)
    if result.tm != chukan.queries[KIND_INCOME].tm:
        _note(sessions, shokai_id, f"kept, not applied: no reader for {result.tm}")
        return False
    try:
        income = income_of(result)
    except ResultError as exc:
        _note(sessions, shokai_id, str(exc))
        return False
    with sessions.begin() as s:
        moved = cast(CursorResult[Any], s.execute(
            update(Shokai).where(Shokai.id == shokai_id, Shokai.state == COMPLETED)
            .values(state=APPLIED, applied_at=at, reason=None)))
        if moved.rowcount != 1:
            return False  # applied already: a result fetched twice is applied once
        row = s.get(Shokai, shokai_id)
        assert row is not None
        shotoku = s.scalar(select(Shotoku).where(Shotoku.nendo == row.nendo, Shotoku.atena_no == row.atena_no))
        if shotoku is None:
            shotoku = Shotoku(nendo=row.nendo, atena_no=row.atena_no)
            s.add(shotoku)
        shotoku.kazei_kubun, shotoku.gokei_shotoku = income.kazei_kubun, income.gokei_shotoku
        shotoku.nenkin_shunyu, shotoku.shokai_id = income.nenkin_shunyu, shokai_id
        shotoku.applied_at, shotoku.applied_by = at, by
        handover_log.record(s, CustodyEvent(
            transfer_id=row.idem_key, event="applied", actor=by, partner="core", record_count=1, basis=row.basis,
            detail=f"shokai {shokai_id} result -> shotoku 年度 {row.nendo}"))
    return True


def _note(sessions: sessionmaker[Session], shokai_id: int, reason: str) -> None:
    with sessions.begin() as s:
        s.execute(update(Shokai).where(Shokai.id == shokai_id).values(reason=reason[:1000]))
