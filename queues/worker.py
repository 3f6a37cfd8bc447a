"""The worker: consumes routes, applies effects idempotently, acks only after commit.

pika's connection lives on the main thread, which does nothing but serve I/O and heartbeats.
Each route has a runner thread that takes deliveries in batches, applies them in one store
transaction (falling back to one transaction per message when a batch fails, so one bad
message cannot hold back the others), sends failures to a retry queue or ``.dead``, and only
then asks the I/O thread to ack. The custody entries committed with the effects are moved to
the custody log whenever the runner runs out of deliveries, and every ``MOVE_EVERY`` entries
while it is busy: moving them in bigger groups costs less per entry, and until then they wait
in ``custody_pending``, committed with the effect (the housekeeping repairs a crash in between).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pika
from pika.adapters.blocking_connection import BlockingChannel, BlockingConnection
from pika.exceptions import AMQPError

from queues import topology
from queues.apply import Applier, Failure
from queues.message import Message
from queues.publisher import Publisher
from settings import RouteConfig

log = logging.getLogger(__name__)

MOVE_EVERY = 2000  # custody entries a busy runner lets wait in custody_pending before it moves them
# Seconds the I/O loop serves the connection before it looks at ``stopping`` and the runners: a
# stop (SIGTERM) starts its drain within this; a turn costs a poll, nothing when idle.
TURN = 0.05


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
            if self._unmoved:
                self._move()
        except BaseException as exc:  # reported to the main thread, which reconnects
            self.error = exc
            log.error("route %s: runner stopped: %s", self.route.name, exc)
        finally:
            if self._publisher is not None:
                self._publisher.close()

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
        failures = self.applier.apply([d.message for d in batch], move_custody=False)
        if failures:
            self._park(failures)
        last = batch[-1].tag
        self.connection.add_callback_threadsafe(lambda: self._ack(last))
        self._unmoved += len(batch)
        if self._unmoved >= MOVE_EVERY or self.inbox.empty():
            self._move()

    def _move(self) -> None:
        self.applier.move_custody()
        self._unmoved = 0

    def _park(self, failures: list[Failure]) -> None:
        """Send each failed message to its next retry queue, or to ``.dead`` past the budget."""
        if self._publisher is None:
            self._publisher = self.new_publisher()
        notes = []
        for failure in failures:
            message = failure.message.retried(failure.reason)
            dead = failure.permanent or failure.message.attempt >= len(self.route.retry_delays)
            level = failure.message.attempt + 1
            target = topology.dead_queue(self.route.name) if dead else topology.retry_queue(self.route.name, level)
            # Straight to the queue through the default exchange; confirmed before the ack.
            self._publisher.publish([message], routing_key=target, exchange="")
            log.warning("route %s: message %s -> %s (attempt %d): %s", self.route.name, message.id, target,
                        message.attempt, failure.reason)
            notes.append((message, "dead" if dead else "retried",
                          f"attempt {message.attempt} -> {target}: {failure.reason}"))
        self.applier.note(notes)

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

    def stop(self) -> None:
        self.stopping.set()

    def run(self) -> None:
        """Consume until stopped; reconnect with backoff when the broker goes away."""
        delay = 0.5
        while not self.stopping.is_set():
            try:
                self._session()
                delay = 0.5
            except (AMQPError, OSError) as exc:
                log.warning("broker connection lost (%s); reconnecting in %.1f s", type(exc).__name__, delay)
                self.stopping.wait(delay)
                delay = min(delay * 2, 10.0)

    def _params(self) -> pika.URLParameters:
        params = pika.URLParameters(self.url)
        params.heartbeat = self.heartbeat
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
                                     lambda: Publisher(self.url, self.exchange, self.heartbeat))
                channel.basic_consume(topology.work_queue(route.name), runner.on_delivery)
                runners.append(runner)
                runner.start()
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
