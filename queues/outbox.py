"""Transactional outbox: a change and its event commit together; the relay publishes later.

``enqueue_many`` (``enqueue`` for one) adds events to the caller's open transaction, so an event
exists if and only if its change does. The relay claims pending rows with a lease, publishes them
with confirms, and marks them sent only after the broker confirmed. Two relays never claim the
same row while a lease holds; if a relay dies after publishing but before marking, the row is
published again after the lease, and the consumer's inbox makes the effect happen once.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from pika.exceptions import AMQPError
from sqlalchemy import Table, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from queues.crypto import Keyring
from queues.message import Message, new_id, seal_body
from queues.publisher import Publisher, PublishError
from store.inserts import insert_rows
from store.models import Outbox

log = logging.getLogger(__name__)

PENDING = "pending"
SENT = "sent"
# Events a relay claims, publishes and marks sent at once: several publisher windows (WINDOW), so
# the wait for the last confirms and the two store transactions come once per 5000 events.
BATCH = 5000


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


class Relay:
    def __init__(self, sessions: sessionmaker[Session], connect: Callable[[], Publisher],
                 relay_id: str | None = None, lease: timedelta = timedelta(seconds=45)) -> None:
        """``lease`` must outlast a publish (the publisher's confirm timeout is 30 s), or a second
        relay would take over rows whose confirms are still on their way."""
        self.sessions = sessions
        self.connect = connect
        self.relay_id = relay_id or f"relay-{uuid.uuid4().hex[:8]}"
        self.lease = lease
        self._publisher: Publisher | None = None

    def run_once(self, limit: int = BATCH) -> int:
        """Publish up to ``limit`` pending events; return how many were confirmed.
        Raises PublishError (after recording it on the rows) if the broker refused any."""
        claimed = self._claim(limit)
        if not claimed:
            return 0
        failures: dict[str, str] = {}
        try:
            if self._publisher is None:
                self._publisher = self.connect()
            self._publisher.publish(claimed)
        except PublishError as exc:
            failures = exc.failures
        except (AMQPError, OSError, TimeoutError):
            # Confirms unknown: release the claim so the rows go out again (the inbox absorbs
            # any that had in fact arrived) without waiting for the lease to run out.
            self._release(claimed)
            self.close()
            raise
        self._settle(claimed, failures)
        if failures:
            raise PublishError(failures)
        return len(claimed)

    def drain(self, limit: int = BATCH) -> int:
        total = 0
        while n := self.run_once(limit):
            total += n
        return total

    def run_forever(self, stop: threading.Event, poll: float = 0.2, limit: int = BATCH) -> None:
        """Relay until ``stop`` is set, reconnecting with backoff when the broker goes away."""
        delay = 0.5
        while not stop.is_set():
            try:
                if self._publisher is None:
                    # Connected (and the topology declared) ahead of the first event, not for it.
                    self._publisher = self.connect()
                if self.run_once(limit) == 0:
                    stop.wait(poll)
                    if self._publisher is not None:
                        self._publisher.process_events()
                delay = 0.5
            except PublishError as exc:
                log.error("relay %s: %s", self.relay_id, exc)
                stop.wait(delay)
                delay = min(delay * 2, 10.0)
            except (AMQPError, OSError, TimeoutError) as exc:
                log.warning("relay %s: broker unavailable (%s); retrying in %.1f s", self.relay_id,
                            type(exc).__name__, delay)
                stop.wait(delay)
                delay = min(delay * 2, 10.0)
        self.close()

    def close(self) -> None:
        if self._publisher is not None:
            try:
                self._publisher.close()
            except (AMQPError, OSError):
                pass
            self._publisher = None

    def _release(self, claimed: list[Message]) -> None:
        with self.sessions.begin() as s:
            s.execute(update(Outbox).where(Outbox.id.in_([m.id for m in claimed]),
                                           Outbox.claimed_by == self.relay_id)
                      .values(claimed_by=None, claimed_until=None))

    def _claim(self, limit: int) -> list[Message]:
        now = datetime.now(UTC)
        with self.sessions.begin() as s:
            query = (select(Outbox.id, Outbox.route, Outbox.kind, Outbox.body, Outbox.transfer_id)
                     .where(Outbox.status == PENDING,
                            or_(Outbox.claimed_until.is_(None), Outbox.claimed_until < now))
                     .order_by(Outbox.created_at, Outbox.id).limit(limit))
            if s.get_bind().dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            rows = s.execute(query).all()
            if rows:
                s.execute(update(Outbox).where(Outbox.id.in_([r.id for r in rows]))
                          .values(claimed_by=self.relay_id, claimed_until=now + self.lease))
        return [Message(id=r.id, route=r.route, kind=r.kind, body=r.body, transfer_id=r.transfer_id) for r in rows]

    def _settle(self, claimed: list[Message], failures: dict[str, str]) -> None:
        now = datetime.now(UTC)
        sent = [m.id for m in claimed if m.id not in failures]
        with self.sessions.begin() as s:
            if sent:
                s.execute(update(Outbox).where(Outbox.id.in_(sent), Outbox.claimed_by == self.relay_id)
                          .values(status=SENT, published_at=now, claimed_until=None))
            for message_id, reason in failures.items():
                s.execute(update(Outbox).where(Outbox.id == message_id)
                          .values(attempts=Outbox.attempts + 1, last_error=reason[:500],
                                  claimed_by=None, claimed_until=None))
