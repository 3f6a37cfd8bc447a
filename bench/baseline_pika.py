"""Raw pika baselines on the same broker: what a competent user writes with pika alone.

Each runs in its own child process (``bench.proc``) on a quorum queue of its own, which it deletes
afterwards. The messages are what ours carry: persistent bodies of the size ours measure (the
caller passes the average of the sealed outbox bodies) and the same properties (message id,
content type, three short headers); ids and bodies are made before the clock, the properties
as each message is published (ours builds them from its messages too).

Confirms are pipelined the way pika's asynchronous adapter is meant to be used: a
``SelectConnection`` keeps up to ``window`` publishes unconfirmed and sends the next as the
broker's (usually multiple) acks come in, so it is never idle waiting for a batch to finish.
"""

from __future__ import annotations

import multiprocessing
import os
import time
import uuid
from typing import Any

import pika
from pika import spec
from pika.adapters.blocking_connection import BlockingChannel

Item = tuple[str, bytes]  # message id, body


def messages(events: int, body_bytes: int) -> list[Item]:
    """Ids and random bodies of ``body_bytes`` (a sealed body is random bytes to the broker)."""
    return [(str(uuid.uuid4()), os.urandom(body_bytes)) for _ in range(events)]


def properties(message_id: str) -> pika.BasicProperties:
    """What ours puts on each message: persistent, its id, a content type and three short headers."""
    return pika.BasicProperties(message_id=message_id, delivery_mode=2, content_type="application/octet-stream",
                                headers={"x-kaigo-kind": "shikaku.changed", "x-kaigo-attempt": 0,
                                         "x-kaigo-transfer": message_id})


def declare_quorum(channel: BlockingChannel, queue: str) -> None:
    channel.queue_declare(queue, durable=True, arguments={"x-queue-type": "quorum"})


def delete_queue(url: str, queue: str) -> int:
    """Delete the queue; return how many ready messages it still held."""
    with pika.BlockingConnection(pika.URLParameters(url)) as conn:
        channel = conn.channel()
        depth = int(channel.queue_declare(queue, passive=True).method.message_count)
        channel.queue_delete(queue)
    return depth


class WindowPublisher:
    """Publishes ``items`` to ``queue`` (default exchange, ``mandatory``) with at most ``window``
    unconfirmed; ``run`` returns when the last one is confirmed. A nack or a return is an error.
    ``window=None``: no confirms, everything at once, done after a synchronous round trip."""

    def __init__(self, url: str, queue: str, items: list[Item], window: int | None) -> None:
        self.params = pika.URLParameters(url)
        self.queue = queue
        self.items = items
        self.window = window
        self.sent = 0
        self.lowest = 1  # every delivery tag below this one is confirmed
        self.pending: set[int] = set()
        self.refused = 0
        self.error: str | None = None
        self.connected_at = self.finished_at = 0.0
        self._conn: pika.SelectConnection | None = None
        self._channel: Any = None

    def run(self) -> None:
        self._conn = pika.SelectConnection(self.params, on_open_callback=self._on_open,
                                           on_open_error_callback=self._on_failure,
                                           on_close_callback=self._on_failure)
        self._conn.ioloop.start()
        if self.error is not None:
            raise RuntimeError(f"raw pipelined publisher: {self.error}")
        if self.refused:
            raise RuntimeError(f"raw pipelined publisher: {self.refused} message(s) nacked or returned")

    def _on_open(self, conn: pika.SelectConnection) -> None:
        conn.channel(on_open_callback=self._on_channel)

    def _on_channel(self, channel: Any) -> None:
        self._channel = channel
        channel.add_on_return_callback(lambda *_: self._refuse())
        if self.window is None:
            self.connected_at = time.perf_counter()
            for message_id, body in self.items:
                channel.basic_publish("", self.queue, body, properties(message_id))
            self.sent = len(self.items)
            channel.queue_declare(self.queue, passive=True, callback=self._on_round_trip)
        else:
            channel.confirm_delivery(ack_nack_callback=self._on_confirm, callback=self._on_selected)

    def _on_round_trip(self, _frame: Any) -> None:
        self.finished_at = time.perf_counter()
        self._done()

    def _on_selected(self, _frame: Any) -> None:
        self.connected_at = time.perf_counter()
        self._fill()

    def _fill(self) -> None:
        assert self.window is not None
        while self.sent < len(self.items) and len(self.pending) < self.window:
            message_id, body = self.items[self.sent]
            self.sent += 1
            self.pending.add(self.sent)
            self._channel.basic_publish("", self.queue, body, properties(message_id), mandatory=True)

    def _refuse(self) -> None:
        self.refused += 1

    def _on_confirm(self, frame: Any) -> None:
        method = frame.method
        if isinstance(method, spec.Basic.Nack):
            self.refused += 1
        if method.multiple:
            for tag in range(self.lowest, method.delivery_tag + 1):
                self.pending.discard(tag)
        else:
            self.pending.discard(method.delivery_tag)
        while self.lowest <= self.sent and self.lowest not in self.pending:
            self.lowest += 1
        if self.sent == len(self.items) and not self.pending:
            self.finished_at = time.perf_counter()
            self._done()
        else:
            self._fill()

    def _done(self) -> None:
        assert self._conn is not None
        self._conn.close()

    def _on_failure(self, conn: pika.SelectConnection, reason: Any) -> None:
        if not self.finished_at:
            self.error = str(reason)
        conn.ioloop.stop()


def pipelined(url: str, queue: str, events: int, body_bytes: int, window: int) -> dict[str, Any]:
    """Publish alone: connected and confirm-selected before the clock; it stops at the last confirm."""
    with pika.BlockingConnection(pika.URLParameters(url)) as conn:
        declare_quorum(conn.channel(), queue)
    publisher = WindowPublisher(url, queue, messages(events, body_bytes), window)
    publisher.run()
    return {"publish_s": publisher.finished_at - publisher.connected_at, "queued": delete_queue(url, queue)}


def pipeline(url: str, queue: str, events: int, body_bytes: int, window: int, prefetch: int,
             ack_every: int) -> dict[str, Any]:
    """The raw message path: a consumer in a process of its own (own connection, ``prefetch``,
    one multiple ack per ``ack_every`` messages) consumes while this process publishes with
    pipelined confirms. Both connect before the clock (as ours' worker and relay do); it starts
    at the first publish and stops when the last confirm has come and the consumer's last ack is
    through (a cancel round trip after it)."""
    with pika.BlockingConnection(pika.URLParameters(url)) as conn:
        declare_quorum(conn.channel(), queue)
    items = messages(events, body_bytes)
    spawn = multiprocessing.get_context("spawn")
    here, there = spawn.Pipe()
    consumer = spawn.Process(target=_consume, args=(url, queue, events, prefetch, ack_every, there))
    consumer.start()
    try:
        if not here.poll(60) or here.recv() != "ready":
            raise RuntimeError("raw consumer did not start")
        publisher = WindowPublisher(url, queue, items, window)
        publisher.run()
        if not here.poll(600):
            raise TimeoutError(f"raw consumer did not take {events} messages")
        consumed, acked_at = here.recv()
    finally:
        consumer.join(timeout=60)
        if consumer.is_alive():
            consumer.kill()
    left = delete_queue(url, queue)
    started = publisher.connected_at
    # perf_counter is CLOCK_MONOTONIC on Linux: one clock for both processes.
    return {"seconds": max(publisher.finished_at, acked_at) - started, "publish_s": publisher.finished_at - started,
            "consumed": consumed, "left": left}


def _consume(url: str, queue: str, events: int, prefetch: int, ack_every: int, pipe: Any) -> None:
    received = 0

    def on_message(ch: BlockingChannel, method: Any, _props: pika.BasicProperties, _body: bytes) -> None:
        nonlocal received
        received += 1
        if received % ack_every == 0 or received == events:
            ch.basic_ack(delivery_tag=method.delivery_tag, multiple=True)

    with pika.BlockingConnection(pika.URLParameters(url)) as conn:
        channel = conn.channel()
        channel.basic_qos(prefetch_count=prefetch)
        tag = channel.basic_consume(queue, on_message)
        pipe.send("ready")
        deadline = time.monotonic() + 600
        while received < events and time.monotonic() < deadline:
            conn.process_data_events(time_limit=1)
        channel.basic_cancel(tag)  # a round trip after the last ack: the broker has taken it
        pipe.send((received, time.perf_counter()))


def no_confirm(url: str, queue: str, events: int, body_bytes: int) -> dict[str, Any]:
    """Publishing with no confirms and no consumer: the ceiling of the client and broker. The clock
    (from the open channel) stops after a synchronous round trip on the same channel, so the broker
    has read every publish."""
    with pika.BlockingConnection(pika.URLParameters(url)) as conn:
        declare_quorum(conn.channel(), queue)
    publisher = WindowPublisher(url, queue, messages(events, body_bytes), None)
    publisher.run()
    return {"publish_s": publisher.finished_at - publisher.connected_at, "queued": delete_queue(url, queue)}
