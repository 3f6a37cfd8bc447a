"""The relay on a real broker and store: a row is marked sent only once the broker confirmed it.
A row the broker nacks (its queue full, ``reject-publish``) or never confirms (the exchange is
missing, so the broker closes the channel) stays pending, its claim released, and goes out on the
next run; the confirmed ones of the same run are marked sent and go out once."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pika
import pytest
from pika.adapters.blocking_connection import BlockingChannel
from pika.exceptions import AMQPError
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from queues.crypto import Keyring
from queues.outbox import enqueue
from queues.publisher import Publisher, PublishError
from queues.relay import Relay
from store.models import Outbox

ROUTE = "relay.test"


@pytest.fixture
def keyring(tmp_path: Path) -> Keyring:
    return Keyring.create(tmp_path / "keys")


@pytest.fixture
def broker(rabbit_url: str, unique_name: Callable[[str], str]) -> Iterator[tuple[str, str, BlockingChannel]]:
    """(exchange name, queue name, a channel to look with); both deleted afterwards."""
    exchange, queue = unique_name("ex"), unique_name("q")
    conn = pika.BlockingConnection(pika.URLParameters(rabbit_url))
    channel = conn.channel()
    yield exchange, queue, channel
    channel.queue_delete(queue)
    channel.exchange_delete(exchange)
    conn.close()


def _declare(channel: BlockingChannel, exchange: str, queue: str, max_length: int | None = None) -> None:
    channel.exchange_declare(exchange, "direct")
    arguments = {} if max_length is None else {"x-max-length": max_length, "x-overflow": "reject-publish"}
    channel.queue_declare(queue, arguments=arguments)
    channel.queue_bind(queue, exchange, routing_key=ROUTE)


def _events(store: sessionmaker[Session], keyring: Keyring, n: int) -> list[str]:
    with store.begin() as s:
        return [enqueue(s, keyring, ROUTE, "test.event", f"key-{i}", {"i": i}) for i in range(n)]


def _rows(store: sessionmaker[Session]) -> dict[str, tuple[str, int, str | None]]:
    with store() as s:
        return {r.id: (r.status, r.attempts, r.claimed_by)
                for r in s.execute(select(Outbox.id, Outbox.status, Outbox.attempts, Outbox.claimed_by))}


def _depth(channel: BlockingChannel, queue: str) -> int:
    return int(channel.queue_declare(queue, passive=True).method.message_count)


def test_nacked_rows_stay_pending_and_go_out_on_the_next_run(store: sessionmaker[Session], keyring: Keyring,
                                                             rabbit_url: str, broker: tuple[str, str, BlockingChannel]
                                                             ) -> None:
    exchange, queue, channel = broker
    _declare(channel, exchange, queue, max_length=30)  # the broker nacks what does not fit
    ids = _events(store, keyring, 50)
    relay = Relay(store, lambda: Publisher(rabbit_url, exchange))
    try:
        with pytest.raises(PublishError) as raised:
            relay.drain(limit=20)  # three claims: the window runs across them
        rows = _rows(store)
        sent = [i for i in ids if rows[i][0] == "sent"]
        pending = [i for i in ids if rows[i][0] == "pending"]
        refused = set(raised.value.failures)
        # Exactly what the broker took is marked sent. The rest is pending, claim released: the
        # nacked ones with their attempt counted, any not claimed after the first nack untouched.
        assert len(sent) == _depth(channel, queue) == 30
        assert refused and refused <= set(pending) and len(pending) == 20
        assert all(rows[i][1:] == ((1 if i in refused else 0), None) for i in pending)
        assert all(rows[i][1] == 0 for i in sent)

        channel.queue_purge(queue)
        assert relay.drain() == 20  # the refused ones go out again; none of the sent ones does
        assert _depth(channel, queue) == 20
        assert all(status == "sent" for status, _, _ in _rows(store).values())
    finally:
        relay.close()


def test_unconfirmed_rows_are_released_not_marked_sent(store: sessionmaker[Session], keyring: Keyring,
                                                       rabbit_url: str, broker: tuple[str, str, BlockingChannel]
                                                       ) -> None:
    exchange, queue, channel = broker
    ids = _events(store, keyring, 40)
    # No exchange yet: the broker closes the channel at the first publish and confirms nothing.
    relay = Relay(store, lambda: Publisher(rabbit_url, exchange))
    try:
        with pytest.raises(AMQPError):
            relay.drain(limit=15)
        rows = _rows(store)
        assert all(rows[i] == ("pending", 0, None) for i in ids)  # not sent, claim given back at once

        _declare(channel, exchange, queue)
        assert relay.drain(limit=15) == 40
        assert _depth(channel, queue) == 40
        assert all(status == "sent" for status, _, _ in _rows(store).values())
    finally:
        relay.close()
