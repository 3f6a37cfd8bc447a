"""Custody entries written in the store's transaction, then moved to the custody log.

The custody log is a separate database, so an effect in the store and its custody entry cannot
commit atomically. Entries are therefore first written to ``custody_pending`` in the same
transaction as the effect (an outbox for custody), then appended to the log with the pending
row's id as dedup key and deleted. A crash in between is repaired by the next flush; a second
flush of the same rows is a no-op in the log.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from adapters.core.models import CustodyPending
from queues.custody import CustodyEvent, CustodyLog


def record(session: Session, event: CustodyEvent) -> None:
    session.add(CustodyPending(
        id=event.dedup_key or str(uuid.uuid4()), at=datetime.now(UTC), transfer_id=event.transfer_id,
        event=event.event, actor=event.actor, partner=event.partner, record_count=event.record_count,
        sha256=event.sha256, key_id=event.key_id, basis=event.basis, detail=event.detail))


def flush(sessions: sessionmaker[Session], log: CustodyLog, limit: int = 5000) -> int:
    """Move pending entries to the custody log; returns how many were moved."""
    moved = 0
    while True:
        with sessions() as s:
            rows = s.execute(select(CustodyPending).order_by(CustodyPending.seq).limit(limit)).scalars().all()
            events = [CustodyEvent(transfer_id=r.transfer_id, event=r.event, actor=r.actor, partner=r.partner,
                                   record_count=r.record_count, sha256=r.sha256, key_id=r.key_id, basis=r.basis,
                                   detail=r.detail, dedup_key=r.id) for r in rows]
        if not events:
            return moved
        log.append(events)
        with sessions.begin() as s:
            s.execute(delete(CustodyPending).where(CustodyPending.id.in_([e.dedup_key for e in events])))
        moved += len(events)
        if len(events) < limit:
            return moved
