"""Transactional outbox: a change and its event commit together; the relay (queues/relay.py)
publishes later.

``enqueue_many`` (``enqueue`` for one) adds events to the caller's open transaction, so an event
exists if and only if its change does.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Table
from sqlalchemy.orm import Session

from queues.crypto import Keyring
from queues.message import new_id, seal_body
from store.inserts import insert_rows
from store.models import Outbox

log = logging.getLogger(__name__)

PENDING = "pending"
SENT = "sent"


@dataclass(frozen=True)
class Event:
    """An event for the outbox: ``key`` is a business key, never 個人番号; ``transfer_id`` names
    the transfer the event moves (None: the event is its own)."""

    route: str
    kind: str
    key: str
    content: dict[str, Any]
    transfer_id: str | None = None


def enqueue(session: Session, keyring: Keyring, route: str, kind: str, key: str, content: dict[str, Any],
            transfer_id: str | None = None) -> str:
    """Add one event to the session's transaction (``enqueue_many`` of one); returns its id."""
    [message_id] = enqueue_many(session, keyring, [Event(route, kind, key, content, transfer_id)])
    return message_id


def enqueue_many(session: Session, keyring: Keyring, events: Iterable[Event]) -> list[str]:
    """Add ``events`` to the session's transaction, each body sealed to its new id and route;
    returns their ids, in order. The rows go to the session's connection at once, as plain tuples
    in one executemany (``insert_rows``): an ORM object per event cost more than the sealing and
    SQLite's writing together. They commit or roll back with the caller's change; the id is the
    primary key, so an event is never stored twice."""
    ids: list[str] = []
    rows = []
    for event in events:
        message_id = new_id()
        ids.append(message_id)
        rows.append((message_id, event.route, event.kind, event.key, event.transfer_id,
                     seal_body(keyring, message_id, event.route, event.content)))
    if rows:
        insert_rows(session.connection(), _TABLE, _COLUMNS, rows,
                    same={"created_at": datetime.now(UTC), "status": PENDING, "attempts": 0})
    return ids


_TABLE = cast(Table, Outbox.__table__)
_COLUMNS = ("id", "route", "kind", "key", "transfer_id", "body")
