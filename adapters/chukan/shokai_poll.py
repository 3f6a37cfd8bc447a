"""情報照会 after submission: poll the status, fetch the result, keep it encrypted, queue it.

A result is written to the payload store (AES-256-GCM, bound to the query's transfer id = its
idempotency key, flow FLOW) before the row says ``completed``; it is never a column, never a
message header, never in custody (no hash either: a few amounts hash to something guessable).
The transaction that moves the row ``submitted`` → ``completed`` (custody ``received``) also puts
an event on ROUTE in the outbox (ids only, sealed as every body): the result is applied by the
route's handler (adapters/chukan/shokai_apply.py) in a worker, never here. A result fetched
twice (a duplicate answer, two polls at once) moves the row once and so is queued once.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from adapters.chukan import kiroku
from adapters.chukan.client import ChukanClient
from adapters.chukan.errors import ChukanFault, ChukanProtocolError, ChukanRequestInvalid, ChukanUnavailable
from adapters.chukan.messages import QueryResult
from adapters.chukan.shokai import fail
from adapters.chukan.shokai_result import pack
from queues import handover_log
from queues.crypto import Keyring
from queues.custody import CustodyEvent
from queues.outbox import enqueue
from queues.payloads import PayloadStore
from settings.chukan import ChukanConfig
from store.models import Shokai
from store.models.chukan import QUERY
from store.models.shokai import COMPLETED, SUBMITTED

FLOW = "chukan.shokai"  # the payload store's flow for query results (part of the AEAD binding)
ROUTE = "chukan.shokai"  # the route a stored result travels on to its handler (config/routes.toml)
KIND = "shokai.result"

Kept = Literal["received", "again", "mismatch"]


@dataclass(frozen=True, slots=True)
class Polled:
    waiting: tuple[int, ...]  # Accepted / InProgress
    received: tuple[int, ...]  # result stored and queued on ROUTE by this poll
    failed: tuple[int, ...]
    unreachable: tuple[int, ...]  # not asked: the service could not be reached


def _key() -> str:
    # Status and result calls are reads: a fresh key each, a resend inside the client keeps it.
    return str(uuid.uuid4())


def poll(sessions: sessionmaker[Session], client: ChukanClient, chukan: ChukanConfig, payloads: PayloadStore, *,
         by: str, now: datetime | None = None) -> Polled:
    """Every ``submitted`` query: its status; a Completed one's result fetched, stored and queued."""
    waiting: list[int] = []
    received: list[int] = []
    failed: list[int] = []
    with sessions() as s:
        todo = [(r.id, str(r.query_id)) for r in s.scalars(
            select(Shokai).where(Shokai.state == SUBMITTED).order_by(Shokai.id))]
    for position, (shokai_id, query_id) in enumerate(todo):
        try:
            status = client.query_status(query_id, key=_key(), by=by)
            result = client.query_result(query_id, key=_key(), by=by) if status == "Completed" else None
        except ChukanUnavailable:
            return Polled(tuple(waiting), tuple(received), tuple(failed), tuple(i for i, _ in todo[position:]))
        except ChukanFault as fault:
            fail(sessions, shokai_id, f"{fault.operation} fault {fault.code}")
            failed.append(shokai_id)
            continue
        except (ChukanRequestInvalid, ChukanProtocolError):  # this row waits; the others go on
            waiting.append(shokai_id)
            continue
        if status == "Failed":
            fail(sessions, shokai_id, "status Failed")
            failed.append(shokai_id)
        elif result is None:
            waiting.append(shokai_id)
        else:
            outcome = keep(sessions, chukan, payloads, shokai_id, result, by=by, now=now)
            if outcome == "received":
                received.append(shokai_id)
            elif outcome == "mismatch":
                failed.append(shokai_id)
    return Polled(tuple(waiting), tuple(received), tuple(failed), ())


def keep(sessions: sessionmaker[Session], chukan: ChukanConfig, payloads: PayloadStore, shokai_id: int,
         result: QueryResult, *, by: str, now: datetime | None = None) -> Kept:
    """Store a fetched result encrypted; the first time, record it and queue it on ROUTE in the
    same transaction. ``again``: the row had moved on already (the same copy was only rewritten);
    ``mismatch``: the service answered another query, the row is failed."""
    at = now or datetime.now(UTC)
    with sessions() as s:
        row = s.get(Shokai, shokai_id)
        assert row is not None
        key, query_id, tm = row.idem_key, row.query_id, row.tm
    if (result.query_id, result.tm) != (query_id, tm):
        fail(sessions, shokai_id, f"GetQueryResult answered query {result.query_id} {result.tm}, "
                                  f"expected {query_id} {tm}")
        return "mismatch"
    with payloads.open_writer(key, FLOW) as writer:
        writer.write(pack(result))
    info = writer.close()
    with sessions.begin() as s:
        row = s.get(Shokai, shokai_id)
        assert row is not None
        if row.state != SUBMITTED:  # a second fetch only rewrote the same copy; its event exists
            return "again"
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
        announce(s, payloads.keyring, row, by=by)
    return "received"


def announce(session: Session, keyring: Keyring, row: Shokai, *, by: str) -> str:
    """The event that has ROUTE's handler apply a ``completed`` row's stored result, in the
    caller's transaction; the body holds the shokai id only. Returns the message id."""
    message_id = enqueue(session, keyring, ROUTE, KIND, str(row.id), {"shokai_id": row.id},
                         transfer_id=row.idem_key)
    handover_log.record(session, CustodyEvent(
        transfer_id=row.idem_key, event="queued", actor=by, record_count=1,
        detail=f"shokai {row.id} result: route {ROUTE} (message {message_id})"))
    return message_id
