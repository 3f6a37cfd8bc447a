"""The worker: consumes routes, applies effects idempotently, acks only after commit.

pika's connection lives on the main thread, which does nothing but serve I/O and heartbeats.
Each route has a runner thread that takes deliveries in batches, applies them in one store
transaction (falling back to one transaction per message when a batch fails, so one bad
message cannot hold back the others), sends failures to a retry queue or ``.dead``, and only
then asks the I/O thread to ack. The custody entries committed with the effects are moved to
the custody log whenever the runner runs out of deliveries, and every ``MOVE_EVERY`` entries
while it is busy: moving them in bigger groups costs less per entry, and until then they wait
in ``custody_pending``, committed with the effect (the housekeeping repairs a crash in between).

A store outage opens the route's circuit breaker: the runner holds its batch unacked (no
attempt is counted, and with the prefetch window full the broker delivers the route no more),
probes the store with a write, backing off, and applies the held batch once the probe passes.
A batch that keeps failing with a store error while the probe passes is that batch's fault
after ``SUSPECT`` tries, and is failed like any other. Whatever the connection raises, the
worker reconnects with backoff; the runner's own publisher (for retries and ``.dead``) answers
heartbeats while idle and is replaced once when it fails.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import pika
from pika.adapters.blocking_connection import BlockingChannel, BlockingConnection
from pika.exceptions import AMQPError

from queues import topology
from queues.apply import Applier, Failure
from queues.health import cause
from queues.message import Message
from queues.outages import Backoff, StoreUnavailable, is_store_outage
from queues.publisher import Publisher, PublishError
from settings import RouteConfig

log = logging.getLogger(__name__)

MOVE_EVERY = 2000  # custody entries a busy runner lets wait in custody_pending before it moves them
# Seconds the I/O loop serves the connection before it looks at ``stopping`` and the runners: a
# stop (SIGTERM) starts its drain within this; a turn costs a poll, nothing when idle.
TURN = 0.05
# Tries of a held batch that fails with a store error although the store answers the probe,
# before its failures are counted as the messages' own.
SUSPECT = 3
# Seconds the retry publisher may stay blocked by the broker (resource alarm) before it is closed.
BLOCKED_TIMEOUT = 60.0

T = TypeVar("T")


@dataclass(frozen=True)
class Delivery:
    tag: int
    message: Message


class RouteRunner(threading.Thread):
    def __init__(self, route: RouteConfig, applier: Applier, connection: BlockingConnection,
                 channel: BlockingChannel, new_publisher: Callable[[], Publisher]) -> None:
        super().__init__(name=f"route-{route.name}", daemon=True)
        self.route = route
        self.applier = applier
        self.connection = connection
        self.channel = channel
        self.new_publisher = new_publisher
        self.inbox: queue.Queue[Delivery] = queue.Queue()
        self.closing = threading.Event()
        self.error: BaseException | None = None
        self._publisher: Publisher | None = None
        self._unmoved = 0  # messages applied since custody was last moved to the log

    def on_delivery(self, _ch: Any, method: Any, props: pika.BasicProperties, body: bytes) -> None:
        self.inbox.put(Delivery(method.delivery_tag, Message.from_delivery(self.route.name, props, body)))

    def run(self) -> None:
        try:
            while not (self.closing.is_set() and self.inbox.empty()):
                batch = self._gather()
                if batch:
                    self._process(batch)
                else:
                    self._serve_publisher()
            if self._unmoved:
                self._move()
        except BaseException as exc:  # reported to the main thread, which reconnects
            self.error = exc
            log.error("route %s: runner stopped: %s", self.route.name, exc)
        finally:
            self._drop_publisher()

    def _gather(self) -> list[Delivery]:
        try:
            batch = [self.inbox.get(timeout=0.2)]
        except queue.Empty:
            return []
        while len(batch) < self.route.batch_size:
            try:
                batch.append(self.inbox.get_nowait())
            except queue.Empty:
                break
        return batch

    def _process(self, batch: list[Delivery]) -> None:
        messages = [d.message for d in batch]
        failures = self._through_outage(lambda hold: self.applier.apply(messages, move_custody=False,
                                                                        hold_outages=hold))
        if failures:
            self._park(failures)
        last = batch[-1].tag
        self.connection.add_callback_threadsafe(lambda: self._ack(last))
        self._unmoved += len(batch)
        if self._unmoved >= MOVE_EVERY or self.inbox.empty():
            self._move()

    def _through_outage(self, work: Callable[[bool], T]) -> T:
        """``work(hold_outages)``, held through a store outage: the circuit breaker (see module
        docstring). Raises StoreUnavailable only when the worker is stopping meanwhile."""
        strikes = 0
        while True:
            try:
                return work(strikes < SUSPECT)
            except StoreUnavailable as exc:
                log.warning("route %s: store unavailable (%s); deliveries held, probing the store",
                            self.route.name, cause(exc.__cause__ or exc))
                self._await_store()
                strikes += 1

    def _await_store(self) -> None:
        backoff = Backoff()
        while True:
            backoff.wait(self.closing)
            if self.closing.is_set():
                raise StoreUnavailable("worker stopping while the store is unavailable")
            self._serve_publisher()
            try:
                self.applier.probe()
            except StoreUnavailable:
                continue
            log.warning("route %s: store answers again; resuming", self.route.name)
            return

    def _move(self) -> None:
        """Move custody entries to the log; if the custody log or store cannot take them now,
        they wait in ``custody_pending`` (committed) for the next move."""
        try:
            self.applier.move_custody()
        except Exception as exc:
            if not is_store_outage(exc):
                raise
            log.warning("route %s: custody entries wait in the store (%s)", self.route.name, cause(exc))
            return
        self._unmoved = 0

    def _park(self, failures: list[Failure]) -> None:
        """Send each failed message to its next retry queue, or to ``.dead`` past the budget."""
        notes = []
        for failure in failures:
            message = failure.message.retried(failure.reason)
            dead = failure.permanent or failure.message.attempt >= len(self.route.retry_delays)
            level = failure.message.attempt + 1
            target = topology.dead_queue(self.route.name) if dead else topology.retry_queue(self.route.name, level)
            # Straight to the queue through the default exchange; confirmed before the ack.
            self._publish(message, target)
            log.warning("route %s: message %s -> %s (attempt %d): %s", self.route.name, message.id, target,
                        message.attempt, failure.reason)
            notes.append((message, "dead" if dead else "retried",
                          f"attempt {message.attempt} -> {target}: {failure.reason}"))
        self._through_outage(lambda _hold: self.applier.note(notes))

    def _publish(self, message: Message, target: str) -> None:
        """Publish with confirm; a publisher whose connection was lost is replaced once (a copy
        that did arrive is absorbed by the inbox). A refusal by the broker is raised as is."""
        for last in (False, True):
            try:
                if self._publisher is None:
                    self._publisher = self.new_publisher()
                self._publisher.publish([message], routing_key=target, exchange="")
                return
            except PublishError:
                raise
            except Exception:
                self._drop_publisher()
                if last:
                    raise

    def _serve_publisher(self) -> None:
        """Answer the idle publisher's heartbeats; one whose connection is gone is dropped (the
        next failure opens a fresh one)."""
        if self._publisher is None:
            return
        try:
            self._publisher.process_events()
        except Exception as exc:
            log.info("route %s: retry publisher lost (%s); a fresh one when next needed", self.route.name, cause(exc))
            self._drop_publisher()

    def _drop_publisher(self) -> None:
        if self._publisher is not None:
            self._publisher.close()
            self._publisher = None

    def _ack(self, tag: int) -> None:
        if self.channel.is_open:
            self.channel.basic_ack(delivery_tag=tag, multiple=True)


class Worker:
    def __init__(self, url: str, exchange: str, routes: list[RouteConfig], appliers: dict[str, Applier],
                 heartbeat: int = 30) -> None:
        self.url = url
        self.exchange = exchange
        self.routes = routes
        self.appliers = appliers
        self.heartbeat = heartbeat
        self.stopping = threading.Event()
        self.failures = 0  # consecutive sessions that ended in a failure (0 after a good one)
        self.last_error: str | None = None

    def stop(self) -> None:
        self.stopping.set()

    def run(self) -> None:
        """Consume until stopped; reconnect with backoff when the broker goes away."""
        backoff = Backoff()
        while not self.stopping.is_set():
            try:
                self._session()
                backoff.reset()
                self.failures, self.last_error = 0, None
            except Exception as exc:  # whatever pika raises (a handshake timeout is no AMQPError)
                self.failures += 1
                self.last_error = cause(exc)
                log.warning("broker connection lost (%s); reconnecting in %.1f s", self.last_error, backoff.delay)
                backoff.wait(self.stopping)

    def _params(self) -> pika.URLParameters:
        params = pika.URLParameters(self.url)
        params.heartbeat = self.heartbeat
        # No blocked-connection timeout here: this connection only consumes and acks, which a
        # resource alarm does not block, and giving it up would hand every unacked delivery back
        # (a delivery counted each time). The retry publisher has one.
        return params

    def _session(self) -> None:
        conn = pika.BlockingConnection(self._params())
        runners: list[RouteRunner] = []
        try:
            setup = conn.channel()
            topology.declare(setup, self.exchange, self.routes)
            setup.close()
            for route in self.routes:
                channel = conn.channel()
                channel.basic_qos(prefetch_count=route.prefetch)
                runner = RouteRunner(route, self.appliers[route.name], conn, channel,
                                     lambda: Publisher(self.url, self.exchange, self.heartbeat,
                                                       blocked_timeout=BLOCKED_TIMEOUT))
                channel.basic_consume(topology.work_queue(route.name), runner.on_delivery)
                runners.append(runner)
                runner.start()
            # Consuming again: the outage it rode out is over (a session lasts until the next one,
            # so waiting for its end would show a recovered consumer as failing for hours).
            self.failures, self.last_error = 0, None
            while not self.stopping.is_set():
                conn.process_data_events(time_limit=TURN)
                failed = [r for r in runners if r.error is not None]
                if failed:
                    raise AMQPError(f"route {failed[0].route.name}: {failed[0].error}")
            self._drain(conn, runners)
        finally:
            for runner in runners:
                runner.closing.set()
            for runner in runners:
                runner.join(timeout=30)
            if conn.is_open:
                try:
                    conn.close()
                except AMQPError:
                    pass

    def _drain(self, conn: BlockingConnection, runners: list[RouteRunner]) -> None:
        """Graceful stop: stop consuming, let runners finish their batch, serve their acks."""
        for runner in runners:
            if runner.channel.is_open:
                for tag in list(runner.channel.consumer_tags):
                    runner.channel.basic_cancel(tag)
            runner.closing.set()
        while any(r.is_alive() for r in runners):
            conn.process_data_events(time_limit=0.1)
        conn.process_data_events(time_limit=0)
