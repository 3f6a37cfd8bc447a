"""Queue topology derived by name from each route declaration.

For a route ``r``: the quorum work queue ``r`` bound to the bridge exchange under key ``r``;
one delayed-retry queue ``r.retry.N`` per configured delay, whose messages expire after the
delay and dead-letter back to ``r``; and the parking queue ``r.dead``. The work queue also
dead-letters to ``r.dead`` when a message exceeds its delivery limit, which catches messages
that crash the worker itself (they never reach our own retry logic).
"""

from __future__ import annotations

from typing import Any

from pika.adapters.blocking_connection import BlockingChannel

from settings import RouteConfig

# At-least-once dead-lettering needs quorum queues with overflow=reject-publish (RabbitMQ 3.10+).
_SAFE_DLX = {
    "x-queue-type": "quorum",
    "x-dead-letter-strategy": "at-least-once",
    "x-overflow": "reject-publish",
}


def work_queue(route: str) -> str:
    return route


def retry_queue(route: str, level: int) -> str:
    return f"{route}.retry.{level}"


def dead_queue(route: str) -> str:
    return f"{route}.dead"


def queues_of(route: RouteConfig) -> list[str]:
    return [work_queue(route.name), *[retry_queue(route.name, i + 1) for i in range(len(route.retry_delays))],
            dead_queue(route.name)]


def work_arguments(route: RouteConfig) -> dict[str, Any]:
    return {
        **_SAFE_DLX,
        "x-dead-letter-exchange": "",
        "x-dead-letter-routing-key": dead_queue(route.name),
        "x-delivery-limit": route.delivery_limit,
    }


def retry_arguments(route: RouteConfig, exchange: str, delay_seconds: int) -> dict[str, Any]:
    return {
        **_SAFE_DLX,
        "x-message-ttl": delay_seconds * 1000,
        "x-dead-letter-exchange": exchange,
        "x-dead-letter-routing-key": work_queue(route.name),
    }


def declare(channel: BlockingChannel, exchange: str, routes: list[RouteConfig]) -> None:
    """Create (or confirm) the exchange and every queue of ``routes``; idempotent."""
    channel.exchange_declare(exchange=exchange, exchange_type="direct", durable=True)
    for route in routes:
        channel.queue_declare(dead_queue(route.name), durable=True, arguments={"x-queue-type": "quorum"})
        channel.queue_declare(work_queue(route.name), durable=True, arguments=work_arguments(route))
        channel.queue_bind(work_queue(route.name), exchange, routing_key=route.name)
        for level, delay in enumerate(route.retry_delays, start=1):
            channel.queue_declare(retry_queue(route.name, level), durable=True,
                                  arguments=retry_arguments(route, exchange, delay))
