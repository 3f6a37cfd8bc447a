"""The project's pipelined confirming publisher alone (``queues.publisher.Publisher.publish`` in
batches), on the same kind of queue and bodies as the raw confirm-per-message baseline."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pika

from bench.baseline_pika import body, declare_quorum
from queues.message import Message
from queues.publisher import Publisher


def pipelined(url: str, queue: str, events: int, batch: int = 1000) -> dict[str, Any]:
    payload = body()
    messages = [Message(id=str(uuid.uuid4()), route=queue, kind="bench", body=payload) for _ in range(events)]
    publisher = Publisher(url, exchange="", setup=lambda channel: declare_quorum(channel, queue))
    try:
        started = time.perf_counter()
        for first in range(0, events, batch):
            publisher.publish(messages[first:first + batch])
        finished = time.perf_counter()
    finally:
        publisher.close()
    # Depth check and clean-up, outside the clock.
    with pika.BlockingConnection(pika.URLParameters(url)) as conn:
        depth = conn.channel().queue_declare(queue, passive=True).method.message_count
        conn.channel().queue_delete(queue)
    return {"publish_s": finished - started, "queued": depth}
