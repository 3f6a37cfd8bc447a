"""Custody entries written in the store's transaction, then moved to the custody log.

The custody log is a separate database, so an effect in the store and its custody entry cannot
commit atomically. Entries are therefore first written to ``custody_pending`` in the same
transaction as the effect (an outbox for custody), then appended to the log with the pending
row's id as dedup key and deleted. A crash in between is repaired by the next flush; a second
flush of the same rows is a no-op in the log.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table, delete, select
from sqlalchemy.orm import Session, sessionmaker

from queues.custody import CustodyEvent, CustodyLog
from queues.message import new_id
from store.inserts import insert_rows
from store.models import CustodyPending

_PENDING = cast(Table, CustodyPending.__table__)
_FIELDS = ("transfer_id", "event", "actor", "partner", "record_count", "sha256", "key_id", "basis", "detail")


def record(session: Session, event: CustodyEvent) -> None:
    session.add(CustodyPending(**_row(event, datetime.now(UTC))))


def record_many(session: Session, events: Sequence[CustodyEvent]) -> None:
    """Write the events in the session's transaction now, in order, with one INSERT: for a batch
    of hand-overs (``record`` leaves each to the session's next flush)."""
    if not events:
        return
    session.flush()  # keep the order of rows the session still holds: ``seq`` is the hand-over order
    # Plain tuples to the driver (insert_rows): SQLAlchemy's per-row parameters cost more than the write.
    insert_rows(session.connection(), _PENDING, ("id", *_FIELDS),
                [(event.dedup_key or new_id(), *[getattr(event, name) for name in _FIELDS]) for event in events],
                same={"at": datetime.now(UTC)})


def _row(event: CustodyEvent, at: datetime) -> dict[str, Any]:
    row = {name: getattr(event, name) for name in _FIELDS}
    row["id"] = event.dedup_key or new_id()
    row["at"] = at
    return row


def flush(sessions: sessionmaker[Session], log: CustodyLog, limit: int = 5000) -> int:
    """Move pending entries to the custody log; returns how many were moved."""
    moved = 0
    columns = [_PENDING.c[name] for name in ("id", *_FIELDS)]
    while True:
        with sessions() as s:
            rows = s.execute(select(*columns).order_by(_PENDING.c.seq).limit(limit)).all()
        if not rows:
            return moved
        events = [CustodyEvent(dedup_key=r[0], **dict(zip(_FIELDS, r[1:], strict=True))) for r in rows]
        log.append(events)
        with sessions.begin() as s:
            s.execute(delete(_PENDING).where(_PENDING.c.id.in_([r[0] for r in rows])))
        moved += len(rows)
        if len(rows) < limit:
            return moved
