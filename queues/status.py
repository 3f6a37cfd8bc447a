"""What ``status`` reads: queue depths per route (RabbitMQ management API), the outbox backlog,
the transfers waiting in a retry queue (custody log)."""

from __future__ import annotations

import base64
import json
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from queues import topology
from queues.custody.schema import entries
from queues.outbox import PENDING
from settings import RouteConfig
from store.models import Outbox

RETRIED = "retried"  # the custody event of a message sent to a retry queue (queues/worker.py)


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


@dataclass(frozen=True)
class Backlog:
    pending: int  # events in the outbox not yet confirmed by the broker
    oldest: datetime | None  # created_at of the oldest of them (UTC)
    refused: int  # of them, refused at least once (nacked, unroutable): their last_error says why


def _utc(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)  # SQLite hands back naive UTC


def outbox_backlog(session: Session) -> Backlog:
    pending = Outbox.status == PENDING
    count, oldest = session.execute(select(func.count(), func.min(Outbox.created_at)).where(pending)).one()
    refused = session.scalar(select(func.count()).select_from(Outbox).where(pending, Outbox.attempts > 0)) or 0
    return Backlog(int(count or 0), None if oldest is None else _utc(oldest), int(refused))


@dataclass(frozen=True)
class Retrying:
    transfer: str
    at: str  # when it was last sent to a retry queue (custody time, UTC text)
    last_error: str  # the custody entry's detail: masked when it was written


def retrying(custody: Engine, limit: int = 50) -> list[Retrying]:
    """Transfers whose latest custody entry is a retry: waiting in a retry queue right now (once
    applied, parked dead or dropped, a later entry says so)."""
    latest = (select(entries.c.transfer_id, func.max(entries.c.seq).label("seq"))
              .where(entries.c.transfer_id.in_(select(entries.c.transfer_id).where(entries.c.event == RETRIED)))
              .group_by(entries.c.transfer_id).subquery())
    query = (select(entries.c.transfer_id, entries.c.at, entries.c.detail)
             .join(latest, entries.c.seq == latest.c.seq)
             .where(entries.c.event == RETRIED).order_by(entries.c.seq.desc()).limit(limit))
    with custody.connect() as conn:
        return [Retrying(r.transfer_id, r.at, r.detail or "") for r in conn.execute(query)]
