"""The relay: publishes what the transactional outbox holds, at least once.

It claims pending rows with a lease, so two relays never publish the same row while the lease
holds, and sends them through the confirming publisher without waiting for a batch's last
confirm: while the broker confirms one batch the next is claimed and sent, so the publisher's
window stays full. A row is marked sent only once the broker has confirmed it; a refused one
(nacked, unroutable) gets its error recorded and its claim released, and one whose confirm never
came (connection lost, relay killed) goes out again, when released or when its lease runs out.
The consumer's inbox makes a message published twice take effect once.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import cast

from sqlalchemy import Table, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from queues.health import cause
from queues.message import Message
from queues.outages import Backoff, is_store_outage
from queues.outbox import PENDING, SENT
from queues.publisher import Publisher, PublishError
from store.models import Outbox

log = logging.getLogger(__name__)

# Events a relay claims at once: several publisher windows, so the two store transactions of a
# batch (claim, mark sent) come once per 5000 events.
BATCH = 5000
_OUTBOX = cast(Table, Outbox.__table__)
_IN_CHUNK = 5000  # ids per UPDATE … WHERE id IN (…): within every store's bound-parameter limit


class Relay:
    def __init__(self, sessions: sessionmaker[Session], connect: Callable[[], Publisher],
                 relay_id: str | None = None, lease: timedelta = timedelta(seconds=45)) -> None:
        """``lease`` must outlast a batch's publishing and confirms (the publisher's confirm
        timeout is 30 s), or a second relay would take over rows whose confirms are on their way."""
        self.sessions = sessions
        self.connect = connect
        self.relay_id = relay_id or f"relay-{uuid.uuid4().hex[:8]}"
        self.lease = lease
        self._publisher: Publisher | None = None
        self.failures = 0  # consecutive failed turns of run_forever (0 after a good one)
        self.last_error: str | None = None
        self._unsettled: set[str] = set()  # claimed and sent, neither confirmed nor refused yet

    def run_once(self, limit: int = BATCH) -> int:
        """Publish up to ``limit`` pending events and wait for their confirms; return how many
        were confirmed. Raises PublishError (after recording it on the rows) if any was refused."""
        return self._pump(limit, batches=1)

    def drain(self, limit: int = BATCH) -> int:
        """Publish pending events, ``limit`` claimed at a time, until none is left; return how
        many were confirmed."""
        return self._pump(limit, batches=None)

    def run_forever(self, stop: threading.Event, poll: float = 0.05, limit: int = BATCH) -> None:
        """Relay until ``stop`` is set. An idle relay looks for new events every ``poll`` seconds
        (one indexed read) and serves its connection's heartbeats meanwhile.

        Nothing that goes wrong ends the loop: a refused event is recorded on its row and tried
        again later; any other failure — whatever pika raises for a lost or blocked connection or
        a handshake that never finishes, any store error (unreachable, disk full, read-only) —
        costs the publisher and the rows' claims (released if the store lets us, else their lease
        runs out) and the loop starts again with a fresh connection after a backoff. A row is
        marked sent only after its confirm, so whatever was in flight goes out again at worst."""
        backoff = Backoff()
        while not stop.is_set():
            try:
                if self._publisher is None:
                    # Connected (and the topology declared) ahead of the first event, not for it.
                    self._publisher = self.connect()
                if self._pump(limit, batches=None) == 0:
                    stop.wait(poll)
                    if self._publisher is not None:
                        self._publisher.process_events()
                backoff.reset()
                self.failures, self.last_error = 0, None
            except PublishError as exc:
                self._failed(exc)
                log.error("relay %s: %s", self.relay_id, exc)
                backoff.wait(stop)
            except Exception as exc:
                self._abandon()
                self._failed(exc)
                what = "store" if is_store_outage(exc) else "broker"
                log.warning("relay %s: %s unavailable (%s); retrying in %.1f s with a fresh connection",
                            self.relay_id, what, cause(exc), backoff.delay)
                backoff.wait(stop)
        self.close()

    def close(self) -> None:
        if self._publisher is not None:
            self._publisher.close()
            self._publisher = None

    def _failed(self, exc: BaseException) -> None:
        self.failures += 1
        self.last_error = cause(exc)

    def _abandon(self) -> None:
        """After a failure: give back the claims of rows whose confirm is unknown (the store may
        refuse that too; their lease then runs out) and drop the connection."""
        try:
            self._release()
        except Exception as exc:
            log.warning("relay %s: claims left to their lease (%s)", self.relay_id, cause(exc))
        self._unsettled.clear()
        self.close()

    def _pump(self, limit: int, batches: int | None) -> int:
        """Claim and send up to ``batches`` batches (None: until none is pending), settling the
        confirms that came in after each; then wait for the last confirms and settle them."""
        confirmed = 0
        refused: dict[str, str] = {}
        try:
            # After a refusal no more is claimed: a row refused for good (unroutable) must not be
            # claimed again and again by one drain; the caller hears of it and retries later.
            while (batches is None or batches > 0) and not refused:
                claimed = self._claim(limit)
                if not claimed:
                    break
                if self._publisher is None:
                    self._publisher = self.connect()
                self._unsettled.update(m.id for m in claimed)  # released if sending fails half-way
                for message in claimed:
                    self._publisher.send(message)
                confirmed += self._settle(*self._publisher.settled(), refused)
                if batches is not None:
                    batches -= 1
            if self._publisher is not None and self._unsettled:
                self._publisher.wait_confirms()
                confirmed += self._settle(*self._publisher.settled(), refused)
        except Exception:
            # Confirms unknown (whatever failed: the connection, the store): release the claim so
            # the rows go out again (the inbox absorbs any that had in fact arrived) without
            # waiting for the lease to run out.
            self._abandon()
            raise
        if refused:
            raise PublishError(refused)
        return confirmed

    def _claim(self, limit: int) -> list[Message]:
        now = datetime.now(UTC)
        with self.sessions.begin() as s:
            query = (select(_OUTBOX.c.id, _OUTBOX.c.route, _OUTBOX.c.kind, _OUTBOX.c.body, _OUTBOX.c.transfer_id)
                     .where(_OUTBOX.c.status == PENDING,
                            or_(_OUTBOX.c.claimed_until.is_(None), _OUTBOX.c.claimed_until < now))
                     .order_by(_OUTBOX.c.created_at, _OUTBOX.c.id).limit(limit))
            if s.get_bind().dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            conn = s.connection()  # Core statements: the ORM's bulk UPDATE costs more than the write
            rows = conn.execute(query).all()
            if rows:
                conn.execute(update(_OUTBOX).where(_OUTBOX.c.id.in_([r.id for r in rows]))
                             .values(claimed_by=self.relay_id, claimed_until=now + self.lease))
        return [Message(id=r.id, route=r.route, kind=r.kind, body=r.body, transfer_id=r.transfer_id) for r in rows]

    def _settle(self, confirmed: list[str], refused: dict[str, str], all_refused: dict[str, str]) -> int:
        """Mark the confirmed rows sent (only while this relay's claim holds) and record why the
        refused ones were refused, releasing their claim; return how many were confirmed."""
        if not confirmed and not refused:
            return 0
        now = datetime.now(UTC)
        with self.sessions.begin() as s:
            conn = s.connection()
            for i in range(0, len(confirmed), _IN_CHUNK):
                conn.execute(update(_OUTBOX).where(_OUTBOX.c.id.in_(confirmed[i:i + _IN_CHUNK]),
                                                   _OUTBOX.c.claimed_by == self.relay_id)
                             .values(status=SENT, published_at=now, claimed_until=None))
            for message_id, reason in refused.items():
                conn.execute(update(_OUTBOX).where(_OUTBOX.c.id == message_id)
                             .values(attempts=_OUTBOX.c.attempts + 1, last_error=reason[:500],
                                     claimed_by=None, claimed_until=None))
        self._unsettled.difference_update(confirmed)
        self._unsettled.difference_update(refused)
        all_refused.update(refused)
        return len(confirmed)

    def _release(self) -> None:
        """Give back the claim on the rows sent whose confirm has not come."""
        unsettled = list(self._unsettled)
        self._unsettled.clear()
        if not unsettled:
            return
        with self.sessions.begin() as s:
            conn = s.connection()
            for i in range(0, len(unsettled), _IN_CHUNK):
                conn.execute(update(_OUTBOX).where(_OUTBOX.c.id.in_(unsettled[i:i + _IN_CHUNK]),
                                                   _OUTBOX.c.claimed_by == self.relay_id)
                             .values(claimed_by=None, claimed_until=None))
