"""Applying a batch of messages to the store exactly once in effect.

The inbox row (consumer, message id) is inserted in the same transaction as the effect, so a
redelivered message finds its row and is skipped. A batch runs in one transaction for speed;
if it fails, each message is retried alone, so only the messages at fault are reported. A store
outage is no message's fault: it is raised as StoreUnavailable for the caller to hold the batch
and try it again (queues/outages.py), never reported as the messages' failure.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import cast

from sqlalchemy import Table, delete, select
from sqlalchemy.orm import Session, sessionmaker

from queues.crypto import IntegrityError
from queues.custody import CustodyEvent
from queues.errors import PermanentError, TransientError
from queues.handover_log import record
from queues.message import Message, new_id
from queues.outages import StoreUnavailable, is_store_outage
from queues.redact import mask
from store.inserts import insert_rows
from store.models import Inbox

log = logging.getLogger(__name__)
_INBOX = cast(Table, Inbox.__table__)


class Handler:
    """What a route does with a message. ``prepare`` runs first, outside any transaction, for
    the slow external part of an effect (an upload, a file written): it must be idempotent
    itself, since a redelivered message runs it again. ``__call__`` then records the effect
    inside the store transaction, with the inbox row and the custody entries, so the store's
    write lock is never held across network or disk work."""

    def prepare(self, message: Message) -> None:
        return None

    def __call__(self, session: Session, message: Message) -> None:
        raise NotImplementedError

    def apply_all(self, session: Session, messages: Sequence[Message]) -> None:
        """Record the effects of a batch in one transaction. A handler that can write a batch's
        rows together (one executemany per table) overrides this; it must do exactly what
        ``__call__`` does for each message."""
        for message in messages:
            self(session, message)


@dataclass(frozen=True)
class Failure:
    message: Message
    reason: str
    permanent: bool


def classify(message: Message, exc: BaseException) -> Failure:
    permanent = isinstance(exc, PermanentError | IntegrityError)
    kind = "" if isinstance(exc, TransientError | PermanentError) else f"{type(exc).__name__}: "
    # The reason travels in a message header and the custody log: mask anything number-shaped.
    return Failure(message, mask(f"{kind}{exc}")[:300], permanent)


class Applier:
    def __init__(self, consumer: str, sessions: sessionmaker[Session], handler: Handler, actor: str,
                 after_commit: Callable[[], object] = lambda: None) -> None:
        self.consumer = consumer
        self.sessions = sessions
        self.handler = handler
        self.actor = actor
        self.after_commit = after_commit

    def apply(self, messages: Sequence[Message], move_custody: bool = True,
              hold_outages: bool = True) -> list[Failure]:
        """Apply a batch; return the messages that failed. The custody entries the transaction
        committed are then moved to the custody log, unless ``move_custody`` is False: a caller
        under load lets them wait in ``custody_pending`` (committed with the effect, so nothing
        is lost) and calls ``move_custody`` for many batches at once.

        A store outage raises StoreUnavailable (what committed before it stays committed, and its
        inbox rows make a second try skip it), unless ``hold_outages`` is False: then it is
        reported as the messages' failure like any other (for a caller that found the store
        answering its probe while this batch still fails with a store error)."""
        # The same message can arrive twice in one batch (published again by a relay).
        unique: list[Message] = []
        ids: set[str] = set()
        failures: list[Failure] = []
        for message in messages:
            if message.id in ids:
                continue
            ids.add(message.id)
            try:
                self.handler.prepare(message)
                unique.append(message)
            except Exception as exc:
                self._hold(exc, hold_outages)
                failures.append(classify(message, exc))
        if not unique:
            if move_custody:
                self.after_commit()
            return failures
        try:
            self._transaction(unique)
        except Exception as batch_error:
            self._hold(batch_error, hold_outages)
            if len(unique) == 1:  # its own error, not a second attempt's
                failures.append(classify(unique[0], batch_error))
            else:
                log.info("consumer %s: batch of %d failed (%s); applying one by one", self.consumer,
                         len(unique), type(batch_error).__name__)
                for message in unique:
                    try:
                        self._transaction([message])
                    except Exception as exc:
                        self._hold(exc, hold_outages)
                        failures.append(classify(message, exc))
        if move_custody:
            self.after_commit()
        return failures

    def probe(self) -> None:
        """Write to the store and commit (a row into the inbox and out again in one transaction),
        raising StoreUnavailable if it cannot: whether a held batch can be tried again."""
        probe = (f"{self.consumer}.probe", new_id())  # its own key: workers probe side by side
        try:
            with self.sessions.begin() as s:
                insert_rows(s.connection(), _INBOX, ("consumer", "message_id"), [probe],
                            same={"processed_at": datetime.now(UTC)})
                s.execute(delete(_INBOX).where(_INBOX.c.consumer == probe[0], _INBOX.c.message_id == probe[1]))
        except Exception as exc:
            raise StoreUnavailable(str(exc)) from exc

    @staticmethod
    def _hold(exc: Exception, hold_outages: bool) -> None:
        if hold_outages and is_store_outage(exc):
            raise StoreUnavailable(str(exc)) from exc

    def move_custody(self) -> None:
        """Move the custody entries waiting in the store to the custody log."""
        self.after_commit()

    def note(self, notes: Sequence[tuple[Message, str, str]]) -> None:
        """Custody entries (message, event, detail) for what happened to messages outside a
        transaction of their own: sent to a retry queue, parked in ``.dead``. They wait in
        ``custody_pending`` for the caller's next ``move_custody``. A store outage raises
        StoreUnavailable with nothing committed, so the caller can try the same notes again."""
        try:
            with self.sessions.begin() as s:
                for message, event, detail in notes:
                    text = mask(f"{self.consumer}: {detail} (message {message.id})")[:500]
                    record(s, CustodyEvent(transfer_id=message.transfer, event=event, actor=self.actor, detail=text))
        except Exception as exc:
            self._hold(exc, True)
            raise

    def _transaction(self, messages: Sequence[Message]) -> None:
        with self.sessions.begin() as s:
            ids = [m.id for m in messages]
            seen = set(s.scalars(select(Inbox.message_id)
                                 .where(Inbox.consumer == self.consumer, Inbox.message_id.in_(ids))))
            fresh = [m for m in messages if m.id not in seen]
            if not fresh:
                return
            # Plain tuples to the driver (the ORM's bulk path and Core's per-row parameters cost
            # more than SQLite's writing); consumer and time are bound once for the batch.
            insert_rows(s.connection(), _INBOX, ("message_id",), [(m.id,) for m in fresh],
                        same={"consumer": self.consumer, "processed_at": datetime.now(UTC)})
            self.handler.apply_all(s, fresh)
