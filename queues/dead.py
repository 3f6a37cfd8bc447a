"""Operator actions on a route's ``.dead`` queue: list, replay, drop.

Messages are taken with basic.get and either acted on (acked after the action is confirmed) or
given back untouched, so an interrupted command loses nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import pika
from pika.adapters.blocking_connection import BlockingChannel

from queues import topology
from queues.message import Message
from queues.publisher import Publisher

DROPPED = "dropped"  # the state of a transfer whose dead message an operator removed for good


@dataclass(frozen=True)
class DeadLetter:
    id: str
    transfer: str
    kind: str
    attempts: int
    reason: str


def _reason(props: pika.BasicProperties, message: Message) -> str:
    if message.reason:
        return message.reason
    # Dead-lettered by the broker itself (delivery limit): the x-death header says why.
    deaths: list[Any] = (props.headers or {}).get("x-death") or []
    if deaths:
        death = deaths[0]
        why = death.get("reason", b"")
        return f"broker: {why.decode() if isinstance(why, bytes) else why} (count {death.get('count')})"
    return "unknown"


def _walk(url: str, route: str, limit: int,
          act: Callable[[BlockingChannel, int, pika.BasicProperties, Message], bool]) -> int:
    """Get up to ``limit`` dead messages; ``act`` returns True to ack (remove) one, False to keep it."""
    conn = pika.BlockingConnection(pika.URLParameters(url))
    acted = 0
    try:
        channel = conn.channel()
        for _ in range(limit):
            method, props, body = channel.basic_get(topology.dead_queue(route), auto_ack=False)
            if method is None:
                break
            message = Message.from_delivery(route, props, body)
            if act(channel, method.delivery_tag, props, message):
                channel.basic_ack(method.delivery_tag)
                acted += 1
        # Whatever was not acked goes back, in order, when the channel closes.
        channel.close()
    finally:
        conn.close()
    return acted


def list_dead(url: str, route: str, limit: int = 1000) -> list[DeadLetter]:
    found: list[DeadLetter] = []

    def look(_ch: BlockingChannel, _tag: int, props: pika.BasicProperties, message: Message) -> bool:
        found.append(DeadLetter(message.id, message.transfer, message.kind, message.attempt, _reason(props, message)))
        return False

    _walk(url, route, limit, look)
    return found


def replay(url: str, exchange: str, route: str, on_replayed: Callable[[Message], None],
           ids: set[str] | None = None, limit: int = 100_000) -> int:
    """Send dead messages (all, or those in ``ids``) back to the work queue with a fresh budget."""
    with Publisher(url, exchange) as publisher:
        def send(_ch: BlockingChannel, _tag: int, _props: pika.BasicProperties, message: Message) -> bool:
            if ids is not None and message.id not in ids:
                return False
            on_replayed(message)  # custody first: the entry precedes what the replay causes
            publisher.publish([replace(message, attempt=0, reason=None)], routing_key=route)
            return True

        return _walk(url, route, limit, send)


def drop(url: str, route: str, ids: set[str], on_dropped: Callable[[Message], None]) -> int:
    """Remove the named dead messages for good (the caller records who and why)."""
    def remove(_ch: BlockingChannel, _tag: int, _props: pika.BasicProperties, message: Message) -> bool:
        if message.id not in ids:
            return False
        on_dropped(message)
        return True

    return _walk(url, route, 1_000_000, remove)
