"""The project's pipelined confirming publisher alone (``queues.publisher.Publisher.publish`` in
the relay's batches), against raw pika keeping the same number of publishes unconfirmed
(``bench.baseline_pika.pipelined``): both publish the same kind of messages (ids, bodies of the
measured size, the same properties) into a quorum queue of their own and stop at the last
confirm; ours sends on when a quarter of its window is confirmed and waits for every confirm at the end
of each relay batch, raw pika sends on at every confirm."""

from __future__ import annotations

import time
from typing import Any

from bench.baseline_pika import declare_quorum, delete_queue, messages
from queues.message import Message
from queues.publisher import Publisher


def pipelined(url: str, queue: str, events: int, body_bytes: int, batch: int) -> dict[str, Any]:
    batch_of = [Message(id=message_id, route=queue, kind="shikaku.changed", body=body)
                for message_id, body in messages(events, body_bytes)]
    publisher = Publisher(url, exchange="", setup=lambda channel: declare_quorum(channel, queue))
    try:
        started = time.perf_counter()
        for first in range(0, events, batch):
            publisher.publish(batch_of[first:first + batch])
        finished = time.perf_counter()
    finally:
        publisher.close()
    return {"publish_s": finished - started, "queued": delete_queue(url, queue)}
