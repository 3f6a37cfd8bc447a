"""Change events from the core store, and the journal they are applied to.

A change in the core store (資格, 賦課 …) is announced by ``announce_many`` (``announce`` for
one) in the same transaction as the change, through the outbox. The ``change-journal`` route
applies each event once to the change journal, from which partner builders (受給者異動連絡票,
年金特徴 異動) take their work.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import NamedTuple, cast

from sqlalchemy import Table
from sqlalchemy.orm import Session

from queues.apply import Handler
from queues.crypto import Keyring
from queues.custody import CustodyEvent
from queues.handover_log import record_many
from queues.message import Message, open_body
from queues.outbox import Event, enqueue_many
from store.inserts import insert_rows
from store.models import ChangeJournal

ROUTE = "core.changes"
KINDS = ("created", "changed", "ended")


class Change(NamedTuple):
    """``entity`` ``entity_key`` was created, changed or ended (a kind of KINDS)."""

    entity: str
    entity_key: str
    kind: str


def announce(session: Session, keyring: Keyring, entity: str, entity_key: str, kind: str,
             route: str = ROUTE) -> str:
    """Record that ``entity`` ``entity_key`` was created/changed/ended; returns the event id."""
    [event_id] = announce_many(session, keyring, [Change(entity, entity_key, kind)], route)
    return event_id


def announce_many(session: Session, keyring: Keyring, changes: Iterable[Change], route: str = ROUTE) -> list[str]:
    """One event per change, in the session's transaction (``enqueue_many``: one executemany);
    returns the event ids, in order. A change of an unknown kind is refused before any is written."""
    events = []
    for entity, entity_key, kind in changes:
        if kind not in KINDS:
            raise ValueError(f"change kind must be one of {KINDS}, got {kind!r}")
        content = {"entity": entity, "entity_key": entity_key, "kind": kind,
                   "occurred_at": datetime.now(UTC).isoformat()}
        events.append(Event(route, f"{entity}.{kind}", entity_key, content))
    return enqueue_many(session, keyring, events)


class JournalHandler(Handler):
    def __init__(self, keyring: Keyring, actor: str) -> None:
        self.keyring = keyring
        self.actor = actor

    def __call__(self, session: Session, message: Message) -> None:
        self.apply_all(session, [message])

    def apply_all(self, session: Session, messages: Sequence[Message]) -> None:
        """Each message's journal row and its ``applied`` custody entry; one INSERT per table."""
        rows, custody = [], []
        for message in messages:
            content = open_body(self.keyring, message)
            rows.append((message.id, content["entity"], content["entity_key"], content["kind"],
                         datetime.fromisoformat(content["occurred_at"])))
            custody.append(CustodyEvent(transfer_id=message.id, event="applied", actor=self.actor, partner="core",
                                        record_count=1, sha256=hashlib.sha256(message.body).hexdigest(),
                                        detail=f"{message.kind} -> change journal",
                                        dedup_key=f"{message.route}:{message.id}:applied"))
        # Plain tuples to the driver (insert_rows), not the ORM's bulk path nor Core's per-row parameters.
        insert_rows(session.connection(), _JOURNAL, _COLUMNS, rows, same={"applied_at": datetime.now(UTC)})
        record_many(session, custody)


_JOURNAL = cast(Table, ChangeJournal.__table__)
_COLUMNS = ("event_id", "entity", "entity_key", "kind", "occurred_at")
