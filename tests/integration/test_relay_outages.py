"""The relay's run_forever outlives what goes wrong around it: the broker killed (SIGKILL) while
the relay is idle, a handshake that never finishes, a connection blocked by a memory alarm, the
store's disk full, the store (PostgreSQL) stopped. After each, new events are drained by the
same relay thread, every event reaches the queue, and every row is marked sent (a row is marked
sent only after its confirm, so nothing is lost on the way)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pika
import pytest
from pika.adapters.blocking_connection import BlockingChannel
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from fixtures.services import PostgresServer, RabbitNode
from queues.crypto import Keyring
from queues.outbox import enqueue
from queues.publisher import Publisher
from queues.relay import Relay
from store import schema
from store.models import Outbox
from store.sessions import open_store
from tests.harness import wait_until
from tests.small_disk import SmallDisk, small_disk

ROUTE = "relay.outage"


@pytest.fixture
def keyring(tmp_path: Path) -> Keyring:
    return Keyring.create(tmp_path / "keys")


@pytest.fixture
def broker(rabbit: RabbitNode, unique_name: Callable[[str], str]) -> Iterator[tuple[str, str]]:
    """A durable exchange and classic queue (their messages outlive a broker killed with
    SIGKILL once confirmed), deleted afterwards."""
    exchange, queue = unique_name("ex"), unique_name("q")
    with _channel(rabbit) as channel:
        channel.exchange_declare(exchange, "direct", durable=True)
        channel.queue_declare(queue, durable=True)
        channel.queue_bind(queue, exchange, routing_key=ROUTE)
    yield exchange, queue
    with _channel(rabbit) as channel:
        channel.queue_delete(queue)
        channel.exchange_delete(exchange)


class _channel:
    def __init__(self, rabbit: RabbitNode) -> None:
        self.conn = pika.BlockingConnection(pika.URLParameters(rabbit.amqp_url))

    def __enter__(self) -> BlockingChannel:
        return self.conn.channel()

    def __exit__(self, *_exc: object) -> None:
        self.conn.close()


class Running:
    """A relay's run_forever on its own thread, as the worker and the ``relay`` command run it."""

    def __init__(self, relay: Relay) -> None:
        self.relay = relay
        self.stop = threading.Event()
        self.thread = threading.Thread(target=relay.run_forever, args=(self.stop,), kwargs={"poll": 0.05})
        self.thread.start()

    def end(self) -> None:
        self.stop.set()
        self.thread.join(timeout=60)
        assert not self.thread.is_alive()


def _events(store: sessionmaker[Session], keyring: Keyring, n: int) -> list[str]:
    with store.begin() as s:
        return [enqueue(s, keyring, ROUTE, "test.event", f"key-{i}", {"i": i}) for i in range(n)]


def _unsent(store: sessionmaker[Session]) -> int:
    with store() as s:
        return int(s.scalar(select(func.count()).select_from(Outbox).where(Outbox.status != "sent")) or 0)


def _queued_ids(rabbit: RabbitNode, queue: str) -> list[str]:
    """Every message id in ``queue`` (taken off it)."""
    ids: list[str] = []
    with _channel(rabbit) as channel:
        while True:
            method, props, _body = channel.basic_get(queue, auto_ack=True)
            if method is None:
                return ids
            ids.append(str(props.message_id))


def _drained(store: sessionmaker[Session], running: Running, what: str) -> None:
    wait_until(lambda: _unsent(store) == 0 or not running.thread.is_alive(), 120, what)
    assert running.thread.is_alive(), "the relay thread died"
    assert _unsent(store) == 0


def test_idle_relay_outlives_a_broker_killed_and_drains_new_events(
        store: sessionmaker[Session], keyring: Keyring, rabbit: RabbitNode, broker: tuple[str, str]) -> None:
    exchange, queue = broker
    # The URL is read at each connect: a restarted node may have had to move its port.
    running = Running(Relay(store, lambda: Publisher(rabbit.amqp_url, exchange)))
    try:
        before = _events(store, keyring, 20)
        _drained(store, running, "the first events sent")
        rabbit.kill()  # while the relay idles on an open connection
        rabbit.start()
        after = _events(store, keyring, 300)
        _drained(store, running, "the events made after the broker's restart sent")
        assert running.relay.failures == 0  # it came back for good, not just once
    finally:
        running.end()
    queued = _queued_ids(rabbit, queue)
    assert sorted(queued) == sorted(before + after)  # each once: none lost, none doubled


@pytest.fixture
def silent_broker() -> Iterator[str]:
    """An address that accepts TCP connections and never says a word (the AMQP handshake hangs)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    port = server.getsockname()[1]
    yield f"amqp://guest:guest@127.0.0.1:{port}/%2F?connection_attempts=1&socket_timeout=1&stack_timeout=1"
    server.close()


def test_a_handshake_that_never_finishes_does_not_end_the_relay(
        store: sessionmaker[Session], keyring: Keyring, rabbit: RabbitNode, broker: tuple[str, str],
        silent_broker: str) -> None:
    exchange, queue = broker
    attempts: list[str] = []

    def connect() -> Publisher:
        # The first three connects meet the silent listener (pika: AMQPConnectorStackTimeout).
        attempts.append("silent" if len(attempts) < 3 else "broker")
        return Publisher(silent_broker if attempts[-1] == "silent" else rabbit.amqp_url, exchange)

    ids = _events(store, keyring, 50)
    running = Running(Relay(store, connect))
    try:
        _drained(store, running, "the events sent once the broker answers")
    finally:
        running.end()
    assert attempts[:4] == ["silent", "silent", "silent", "broker"]
    assert sorted(_queued_ids(rabbit, queue)) == sorted(ids)


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[SmallDisk]:
    with small_disk(tmp_path / "disk", "32m") as mounted:
        yield mounted


def test_a_full_disk_under_the_store_does_not_end_the_relay(
        keyring: Keyring, rabbit: RabbitNode, broker: tuple[str, str], disk: SmallDisk) -> None:
    exchange, queue = broker
    url = f"sqlite:///{disk.path / 'core.db'}"
    schema.upgrade(url)
    store = open_store(url)
    try:
        ids = _events(store, keyring, 200)
        disk.fill()  # the relay's first claim cannot commit
        running = Running(Relay(store, lambda: Publisher(rabbit.amqp_url, exchange)))
        try:
            wait_until(lambda: running.relay.failures >= 2 or not running.thread.is_alive(), 60,
                       "the relay to meet the full disk twice")
            assert running.thread.is_alive(), "the relay thread died"
            assert _unsent(store) == 200  # nothing marked sent that could not be written
            disk.free()
            _drained(store, running, "the events sent once the disk has room")
        finally:
            running.end()
    finally:
        store.kw["bind"].dispose()
    # Each at least once; a batch confirmed while its marking failed goes out again.
    queued = _queued_ids(rabbit, queue)
    assert set(queued) == set(ids)


def test_a_blocked_connection_times_out_and_the_relay_carries_on(
        store: sessionmaker[Session], keyring: Keyring, rabbit: RabbitNode, broker: tuple[str, str]) -> None:
    exchange, queue = broker
    running = Running(Relay(store, lambda: Publisher(rabbit.amqp_url, exchange, blocked_timeout=2)))
    try:
        first = _events(store, keyring, 1)
        _drained(store, running, "a first event sent: the relay connected")
        rabbit.ctl("set_vm_memory_high_watermark", "0")  # a memory alarm: the broker blocks publishers
        try:
            ids = _events(store, keyring, 50)
            wait_until(lambda: running.relay.failures >= 1 or not running.thread.is_alive(), 60,
                       "the blocked connection to be given up")
            assert running.thread.is_alive(), "the relay thread died"
            # Given up for being blocked, not after the publisher's 30 s wait for confirms.
            assert "blocked" in (running.relay.last_error or "").lower(), running.relay.last_error
        finally:
            rabbit.ctl("set_vm_memory_high_watermark", "0.4")  # the node's default
        _drained(store, running, "the events sent once the alarm is cleared")
    finally:
        running.end()
    assert set(_queued_ids(rabbit, queue)) == set(first + ids)


def test_a_store_that_goes_away_does_not_end_the_relay(
        pg_store: sessionmaker[Session], postgres: PostgresServer, keyring: Keyring, rabbit: RabbitNode,
        broker: tuple[str, str]) -> None:
    exchange, queue = broker
    running = Running(Relay(pg_store, lambda: Publisher(rabbit.amqp_url, exchange)))
    try:
        before = _events(pg_store, keyring, 20)
        _drained(pg_store, running, "the first events sent")
        postgres.stop()  # the store unreachable while the relay idles
        try:
            wait_until(lambda: running.relay.failures >= 2 or not running.thread.is_alive(), 60,
                       "the relay to miss the store twice")
            assert running.thread.is_alive(), "the relay thread died"
        finally:
            postgres.start()
        after = _events(pg_store, keyring, 300)
        _drained(pg_store, running, "the events made after the store came back sent")
    finally:
        running.end()
    assert sorted(_queued_ids(rabbit, queue)) == sorted(before + after)
