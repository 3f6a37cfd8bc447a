"""Retention: 情報照会 results deleted after config.chukan.query_results_days from every place they
were kept, and 提供等記録 past their 7 years — each deletion recorded.

The PIA (③ 情報照会結果 … 一定期間経過後に自動で削除) promises the RESULT is deleted. Where a
result was kept:
- the payload store: the encrypted copy (shokai.result_ref) — deleted;
- the shokai row: the ref, the SHA-256 of the plaintext and the 版 — cleared (a hash of a few
  amounts could be guessed back); the row keeps codes, states and times, which say that a query
  was made and its result deleted (the 提供等記録 keep the same for 7 years anyway);
- dead-letter queues: a message parked on a ``.dead`` queue of ``routes`` (always ROUTE, the route
  results travel on to be applied: one that did not fit or could not be read parks there) whose
  transfer id is a purged result's (its idempotency key) — dropped. Every purged result is looked for, not only
  this run's, so a copy missed while the broker was away is dropped by a later run.
The income applied for 賦課 (shotoku) is KEPT: it is the input of a 保険料 decision, business data
of the 賦課 事務 kept as long as that decision's records are, not the 照会結果 the PIA speaks of
(it is the few fields 賦課 needed, read out of the result). It keeps the shokai id it came from.

The period runs from when the result was fetched (result_at); the configured period at the time
of the run decides (shokai.purge_after shows what it was when fetched).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from pika.exceptions import AMQPError, ChannelClosedByBroker
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from adapters.chukan import kiroku
from adapters.chukan.shokai_poll import ROUTE
from queues import dead, handover_log
from queues.custody import CustodyEvent
from queues.message import Message
from queues.payloads import PayloadStore
from settings.chukan import ChukanConfig
from store.models import Shokai
from store.models.chukan import TeikyoKiroku
from store.models.shokai import APPLIED, COMPLETED, PURGED


@dataclass(frozen=True, slots=True)
class Purge:
    """What a run deleted (or, dry, would delete)."""

    results: tuple[int, ...] = ()  # shokai ids whose result was purged
    payloads: int = 0  # encrypted copies deleted from the payload store
    dead_copies: int = 0  # dead-letter messages dropped
    kiroku: int = 0  # 提供等記録 rows past their period
    problems: tuple[str, ...] = field(default=())  # what could not be done (run again)


def due(session: Session, chukan: ChukanConfig, now: datetime) -> list[Shokai]:
    """Rows whose result is still kept and was fetched at least the period before ``now``."""
    cutoff = now - timedelta(days=chukan.query_results_days)
    return list(session.scalars(select(Shokai).where(Shokai.result_ref.is_not(None), Shokai.purged_at.is_(None),
                                                     Shokai.result_at <= cutoff).order_by(Shokai.id)))


def run(sessions: sessionmaker[Session], chukan: ChukanConfig, payloads: PayloadStore, *, by: str, now: datetime,
        amqp_url: str | None, routes: Iterable[str] = (ROUTE,), dry_run: bool = False) -> Purge:
    """Purge what is due; ``amqp_url`` None skips the dead-letter sweep (reported as a problem)."""
    if dry_run:
        with sessions() as s:
            ids = tuple(r.id for r in due(s, chukan, now))
            expired = s.scalar(select(func.count()).select_from(TeikyoKiroku).where(TeikyoKiroku.keep_until < now))
        return Purge(results=ids, kiroku=expired or 0)
    purged: list[int] = []
    deleted = 0
    with sessions.begin() as s:
        for row in due(s, chukan, now):
            assert row.result_ref is not None
            gone = payloads.delete(row.result_ref)  # the copy goes first: a crash leaves a row to purge again
            deleted += gone
            row.result_ref = row.result_sha256 = row.result_version = None
            row.purged_at, row.purged_by = now, by
            if row.state in (COMPLETED, APPLIED):
                row.state = PURGED
            handover_log.record(s, CustodyEvent(
                transfer_id=row.idem_key, event="purged", actor=by, record_count=int(gone),
                basis=f"retention.query_results_days = {chukan.query_results_days}",
                detail=f"shokai {row.id} result: payload store {'deleted' if gone else 'already gone'}, "
                       "store reference cleared"))
            purged.append(row.id)
        records = kiroku.purge_expired(s, now, by=by)
    problems: list[str] = []
    copies = 0
    if amqp_url is None:
        problems.append("dead-letter queues not swept: no broker configured")
    else:
        for route in dict.fromkeys(routes):
            try:
                copies += sweep_dead(sessions, amqp_url, route, by=by)
            except AMQPError as exc:
                problems.append(f"{dead_name(route)} not swept: broker unavailable ({type(exc).__name__})")
    return Purge(tuple(purged), deleted, copies, records, tuple(problems))


def dead_name(route: str) -> str:
    return f"{route}.dead"


def sweep_dead(sessions: sessionmaker[Session], amqp_url: str, route: str, *, by: str) -> int:
    """Drop every message on ``route``'s dead queue that carries a purged result's transfer id; each
    drop recorded. A queue that does not exist holds nothing."""
    try:
        parked = dead.list_dead(amqp_url, route)
    except ChannelClosedByBroker as exc:
        if exc.reply_code == 404:
            return 0
        raise
    transfers = {m.transfer for m in parked}
    if not transfers:
        return 0
    with sessions() as s:
        purged = set(s.scalars(select(Shokai.idem_key).where(Shokai.idem_key.in_(transfers),
                                                             Shokai.purged_at.is_not(None))))
    ids = {m.id for m in parked if m.transfer in purged}
    if not ids:
        return 0

    def note(message: Message) -> None:
        # Recorded before the ack that removes it: a crash between leaves an entry and a copy,
        # and the next run drops the copy again (never a copy gone without its entry).
        with sessions.begin() as s:
            handover_log.record(s, CustodyEvent(
                transfer_id=message.transfer, event="purged", actor=by, record_count=1,
                basis="retention.query_results_days",
                detail=f"dead-letter copy {message.id} on {dead_name(route)} dropped"))

    return dead.drop(amqp_url, route, ids, note)

