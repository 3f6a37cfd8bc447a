"""The worker's own loops on a real broker: the publisher a route keeps for retries and ``.dead``
answers heartbeats while it idles (the broker does not close it), a handshake that never
finishes does not end the consume loop, and the circuit breaker does not hold for ever a message
whose own effect raises a store error while the store answers."""

from __future__ import annotations

import socket
import threading
import uuid
from collections.abc import Iterator

import pika
import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from fixtures.services import RabbitNode
from queues import topology
from queues.apply import Applier, Handler
from queues.errors import TransientError
from queues.message import Message, new_id
from queues.publisher import Publisher
from queues.worker import Worker
from settings import RouteConfig
from store.models import Inbox
from tests.harness import wait_until

ROUTE = RouteConfig(name="outage.route", handler="test", retry_delays=(1,), delivery_limit=20, prefetch=10,
                    batch_size=10)


class FailsOnce(Handler):
    """Each message fails its first try (to the retry queue), then takes effect (its inbox row)."""

    def __init__(self) -> None:
        self.seen: set[str] = set()

    def __call__(self, session: Session, message: Message) -> None:
        if message.id not in self.seen:
            self.seen.add(message.id)
            raise TransientError("first try fails")


@pytest.fixture
def vhost_url(rabbit: RabbitNode) -> Iterator[tuple[str, str]]:
    """(vhost, its AMQP URL): the test's connections counted apart from any other's."""
    vhost = f"t-{uuid.uuid4().hex[:10]}"
    rabbit.ctl("add_vhost", vhost)
    rabbit.ctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
    yield vhost, rabbit.amqp_url.rsplit("/", 1)[0] + "/" + vhost
    rabbit.ctl("delete_vhost", vhost)


def _connections(rabbit: RabbitNode, vhost: str) -> int:
    listed = rabbit.ctl("list_connections", "vhost").stdout.split()
    return listed.count(vhost)


class Running:
    def __init__(self, worker: Worker) -> None:
        self.worker = worker
        self.thread = threading.Thread(target=worker.run)
        self.thread.start()

    def end(self) -> None:
        self.worker.stop()
        self.thread.join(timeout=60)
        assert not self.thread.is_alive()


def test_the_retry_publisher_answers_heartbeats_while_idle(store: sessionmaker[Session], rabbit: RabbitNode,
                                                           vhost_url: tuple[str, str]) -> None:
    vhost, url = vhost_url
    applier = Applier(ROUTE.name, store, FailsOnce(), "worker:test")
    running = Running(Worker(url, "outage.ex", [ROUTE], {ROUTE.name: applier}, heartbeat=1))
    try:
        wait_until(lambda: _connections(rabbit, vhost) == 1, 60, "the worker connected")
        message = Message(id=new_id(), route=ROUTE.name, kind="test.event", body=b"{}", transfer_id=None)
        with Publisher(url, "outage.ex") as publisher:
            publisher.publish([message])

        def applied() -> bool:
            with store() as s:
                return s.scalar(select(Inbox.message_id).where(Inbox.message_id == message.id)) is not None

        wait_until(applied, 60, "the message applied after its retry")
        assert _connections(rabbit, vhost) == 2  # the consumer and the retry publisher
        # The broker closes a connection that misses two heartbeats (2 s at heartbeat=1); the
        # route now idles for several times that.
        threading.Event().wait(6)
        assert _connections(rabbit, vhost) == 2, "the broker closed the idle retry publisher"
        assert running.thread.is_alive() and running.worker.failures == 0
    finally:
        running.end()


def test_a_handshake_that_never_finishes_does_not_end_the_worker(store: sessionmaker[Session], rabbit: RabbitNode,
                                                                vhost_url: tuple[str, str]) -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    url = (f"amqp://guest:guest@127.0.0.1:{server.getsockname()[1]}/%2F"
           "?connection_attempts=1&socket_timeout=1&stack_timeout=1")
    applier = Applier(ROUTE.name, store, FailsOnce(), "worker:test")
    running = Running(Worker(url, "outage.ex", [ROUTE], {ROUTE.name: applier}))
    try:
        # pika raises AMQPConnectorStackTimeout (no AMQPError) for each try.
        wait_until(lambda: running.worker.failures >= 2 or not running.thread.is_alive(), 60,
                   "two handshakes to time out")
        assert running.thread.is_alive(), "the consume loop ended"
        assert running.worker.last_error is not None and "Timeout" in running.worker.last_error
        # The broker answers again (the next session's address): once consuming, the outage is
        # over for status too, although the session itself goes on.
        vhost, running.worker.url = vhost_url
        wait_until(lambda: _connections(rabbit, vhost) == 1, 60, "the worker connected to the broker")
        wait_until(lambda: running.worker.failures == 0, 30, "the consumer counted as well again")
        assert running.worker.last_error is None and running.thread.is_alive()
    finally:
        running.end()
        server.close()


class BreaksOne(Handler):
    """A statement that only one message's effect breaks (its own OperationalError)."""

    def __call__(self, session: Session, message: Message) -> None:
        if message.kind == "test.breaks":
            raise OperationalError("UPDATE broken", {}, Exception("no such column: broken"))


def test_a_message_whose_own_effect_raises_a_store_error_is_failed_not_held_for_ever(
        store: sessionmaker[Session], rabbit: RabbitNode, vhost_url: tuple[str, str]) -> None:
    vhost, url = vhost_url
    applier = Applier(ROUTE.name, store, BreaksOne(), "worker:test")
    running = Running(Worker(url, "outage.ex", [ROUTE], {ROUTE.name: applier}))
    good = [Message(id=new_id(), route=ROUTE.name, kind="test.event", body=b"{}", transfer_id=None)
            for _ in range(5)]
    bad = Message(id=new_id(), route=ROUTE.name, kind="test.breaks", body=b"{}", transfer_id=None)
    try:
        wait_until(lambda: _connections(rabbit, vhost) == 1, 60, "the worker connected")
        connection = pika.BlockingConnection(pika.URLParameters(url))
        with Publisher(url, "outage.ex") as publisher:
            publisher.publish([*good[:2], bad, *good[2:]])
        channel = connection.channel()

        def dead() -> int:
            return int(channel.queue_declare(topology.dead_queue(ROUTE.name), passive=True).method.message_count)

        # The store answers every probe, so after a few held tries the message's error is its own:
        # its retry budget (one retry) is spent and it is parked.
        wait_until(lambda: dead() == 1, 120, "the breaking message parked in .dead")
        with store() as s:
            applied = set(s.scalars(select(Inbox.message_id).where(Inbox.consumer == ROUTE.name)))
            probes = s.scalar(select(func.count()).select_from(Inbox).where(Inbox.consumer != ROUTE.name))
        assert applied == {m.id for m in good}
        assert probes == 0  # a probe leaves nothing behind
        assert running.thread.is_alive() and running.worker.failures == 0
        connection.close()
    finally:
        running.end()
