"""Queue depths per route from the RabbitMQ management API."""

from __future__ import annotations

import base64
import json
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from queues import topology
from settings import RouteConfig


@dataclass(frozen=True)
class RouteStatus:
    route: str
    ready: int
    unacked: int
    retrying: int
    dead: int
    consumers: int


def _get(api: str, path: str) -> Any:
    parts = urllib.parse.urlsplit(api)
    netloc = parts.hostname or "127.0.0.1"
    if parts.port:
        netloc += f":{parts.port}"
    url = urllib.parse.urlunsplit((parts.scheme, netloc, parts.path.rstrip("/") + path, "", ""))
    request = urllib.request.Request(url)  # noqa: S310 - operator-configured http(s) URL
    if parts.username:
        token = base64.b64encode(f"{parts.username}:{parts.password or ''}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - operator-configured URL
        return json.load(response)


def vhost_of(amqp_url: str) -> str:
    path = urllib.parse.urlsplit(amqp_url).path
    return urllib.parse.unquote(path[1:]) if len(path) > 1 else "/"


def route_status(api: str, vhost: str, routes: list[RouteConfig]) -> list[RouteStatus]:
    columns = "name,messages_ready,messages_unacknowledged,consumers"
    path = f"/api/queues/{urllib.parse.quote(vhost, safe='')}?columns={columns}"
    queues = {q["name"]: q for q in _get(api, path)}

    def n(name: str, field: str) -> int:
        return int(queues.get(name, {}).get(field) or 0)

    out = []
    for route in routes:
        work = topology.work_queue(route.name)
        retries = [topology.retry_queue(route.name, i + 1) for i in range(len(route.retry_delays))]
        out.append(RouteStatus(
            route=route.name, ready=n(work, "messages_ready"), unacked=n(work, "messages_unacknowledged"),
            retrying=sum(n(q, "messages_ready") + n(q, "messages_unacknowledged") for q in retries),
            dead=n(topology.dead_queue(route.name), "messages_ready")
            + n(topology.dead_queue(route.name), "messages_unacknowledged"),
            consumers=n(work, "consumers")))
    return out
