"""The broker a benchmark run uses: the one ``./dev bench`` exported, or a node started here.

Every run works in a fresh vhost created through the management API and deleted at the end, so
queues left by an earlier run (or by anything else on the node) cannot skew the figures.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import tempfile
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Broker:
    """A broker plus one vhost on it: ``amqp_url`` points into the vhost."""

    amqp_url: str
    api_url: str  # management API root, credentials stripped
    user: str
    password: str
    vhost: str

    def api(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        request = urllib.request.Request(
            self.api_url + path.lstrip("/"), method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"content-type": "application/json",
                     "authorization": "Basic " + base64.b64encode(f"{self.user}:{self.password}".encode()).decode()})
        with urllib.request.urlopen(request, timeout=30) as response:
            text = response.read()
        return json.loads(text) if text else None

    def queue(self, name: str) -> dict[str, Any]:
        """The management API's view of a queue in this vhost (messages, consumers …)."""
        result: dict[str, Any] = self.api("GET", f"api/queues/{_q(self.vhost)}/{_q(name)}")
        return result

    def management_env_url(self) -> str:
        """The API root with credentials, as ``KAIGO_RABBIT_API`` carries it."""
        parts = urllib.parse.urlsplit(self.api_url)
        netloc = f"{_q(self.user)}:{_q(self.password)}@{parts.netloc}"
        return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _q(text: str) -> str:
    return urllib.parse.quote(text, safe="")


def _with_vhost(amqp_url: str, vhost: str) -> str:
    parts = urllib.parse.urlsplit(amqp_url)
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, "/" + _q(vhost), parts.query, ""))


def _split_api(api_url: str) -> tuple[str, str, str]:
    parts = urllib.parse.urlsplit(api_url)
    user = urllib.parse.unquote(parts.username or "guest")
    password = urllib.parse.unquote(parts.password or "guest")
    host = parts.hostname or "127.0.0.1"
    netloc = f"{host}:{parts.port}" if parts.port else host
    path = parts.path if parts.path.endswith("/") else parts.path + "/"
    return urllib.parse.urlunsplit((parts.scheme, netloc, path, "", "")), user, password


@contextmanager
def node(log: Callable[[str], None]) -> Iterator[tuple[str, str]]:
    """(AMQP URL, management API URL) of the broker to use: from KAIGO_AMQP_URL/KAIGO_RABBIT_API,
    or a RabbitMQ node started in a temporary folder and stopped (and removed) on exit."""
    url = os.environ.get("KAIGO_AMQP_URL")
    if url:
        api = os.environ.get("KAIGO_RABBIT_API")
        if not api:
            raise SystemExit("KAIGO_AMQP_URL is set but KAIGO_RABBIT_API is not: the benchmark needs the "
                             "management API to create its own vhost")
        yield url, api
        return
    from fixtures.services.rabbit import RabbitNode  # only needed standalone

    folder = Path(tempfile.mkdtemp(prefix="kaigo-bench-"))
    folder.chmod(0o755)  # the node runs as the rabbitmq user, which must enter the folder
    rabbit = RabbitNode(folder / "rabbit")
    log(f"starting a RabbitMQ node in {folder}")
    try:
        rabbit.start()
        yield rabbit.amqp_url, rabbit.management_url
    finally:
        rabbit.stop()
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def fresh_vhost(amqp_url: str, api_url: str) -> Iterator[Broker]:
    api_root, user, password = _split_api(api_url)
    vhost = f"bench-{uuid.uuid4().hex[:10]}"
    broker = Broker(_with_vhost(amqp_url, vhost), api_root, user, password, vhost)
    broker.api("PUT", f"api/vhosts/{_q(vhost)}", {})
    broker.api("PUT", f"api/permissions/{_q(vhost)}/{_q(user)}", {"configure": ".*", "write": ".*", "read": ".*"})
    try:
        yield broker
    finally:
        broker.api("DELETE", f"api/vhosts/{_q(vhost)}")
