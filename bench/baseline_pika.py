"""Raw pika baselines on the same broker: what a plain, careful client gets with no project code.

Each runs in its own child process (``bench.proc``) on a quorum queue of its own, which it
deletes afterwards, with 1 KiB persistent bodies.
"""

from __future__ import annotations

import os
import time
from typing import Any

import pika
from pika.adapters.blocking_connection import BlockingChannel

BODY_BYTES = 1024
PREFETCH = 500  # as the core.changes route consumes
PERSISTENT = pika.BasicProperties(delivery_mode=2, content_type="application/octet-stream")


def body() -> bytes:
    return os.urandom(BODY_BYTES)


def declare_quorum(channel: BlockingChannel, queue: str) -> None:
    channel.queue_declare(queue, durable=True, arguments={"x-queue-type": "quorum"})


def confirm_each(url: str, queue: str, events: int) -> dict[str, Any]:
    """BlockingConnection, ``confirm_delivery()`` (so each publish waits for its confirm), then a
    consumer acking each message. Returns the two phases' seconds."""
    payload = body()
    with pika.BlockingConnection(pika.URLParameters(url)) as conn:
        channel = conn.channel()
        declare_quorum(channel, queue)
        channel.confirm_delivery()
        started = time.perf_counter()
        for _ in range(events):
            channel.basic_publish("", queue, payload, PERSISTENT, mandatory=True)
        published = time.perf_counter()
        consumed = _consume_ack_each(conn, channel, queue, events)
        finished = time.perf_counter()
        channel.queue_delete(queue)
    return {"publish_s": published - started, "consume_s": finished - published, "consumed": consumed}


def _consume_ack_each(conn: pika.BlockingConnection, channel: BlockingChannel, queue: str, events: int) -> int:
    received = 0

    def on_message(ch: BlockingChannel, method: Any, _props: pika.BasicProperties, _body: bytes) -> None:
        nonlocal received
        ch.basic_ack(delivery_tag=method.delivery_tag)
        received += 1

    channel.basic_qos(prefetch_count=PREFETCH)
    tag = channel.basic_consume(queue, on_message)
    deadline = time.monotonic() + 600
    while received < events:
        if time.monotonic() > deadline:
            raise TimeoutError(f"consumed only {received} of {events} messages from {queue}")
        conn.process_data_events(time_limit=1)
    channel.basic_cancel(tag)
    return received


def no_confirm(url: str, queue: str, events: int) -> dict[str, Any]:
    """Publishing with no confirms: the ceiling of the client and broker. The clock stops after a
    synchronous round trip on the same channel, so the broker has read every publish."""
    payload = body()
    with pika.BlockingConnection(pika.URLParameters(url)) as conn:
        channel = conn.channel()
        declare_quorum(channel, queue)
        started = time.perf_counter()
        for _ in range(events):
            channel.basic_publish("", queue, payload, PERSISTENT)
        channel.queue_declare(queue, passive=True)
        finished = time.perf_counter()
        channel.queue_delete(queue)
    return {"publish_s": finished - started}
