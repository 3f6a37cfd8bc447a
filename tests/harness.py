"""A whole kaigo-bridge installation for a test: its own config and var folder, its own vhost on
the session's RabbitMQ, and helpers to run the real CLI and worker processes against it."""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pika
import pytest

import settings as config_module
from bridge.app import Bridge, init
from fixtures.chukan.sim import Pki
from fixtures.services import RabbitNode
from fixtures.vendor.keys import stop_agent
from queues import topology
from settings import Config
from store.models import Transfer

REPO = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-m", "bridge"]


def _management(rabbit: RabbitNode, method: str, path: str, body: dict[str, Any] | None = None) -> None:
    request = urllib.request.Request(rabbit.management_url.rstrip("/") + path, method=method,
                                     data=json.dumps(body or {}).encode(),
                                     headers={"content-type": "application/json",
                                              "authorization": "Basic " + base64.b64encode(b"guest:guest").decode()})
    with urllib.request.urlopen(request, timeout=30):
        pass


class Home:
    """One installation: ``config``, ``bridge`` (in-process wiring), ``env`` (for subprocesses)."""

    def __init__(self, root: Path, rabbit: RabbitNode, vhost: str) -> None:
        self.root = root
        self.rabbit = rabbit
        self.vhost = vhost
        self.config_dir = root / "config"
        shutil.copytree(REPO / "config", self.config_dir)
        port = rabbit.management_url.rstrip("/").rsplit(":", 1)[1]
        self.env = {
            **os.environ,
            "KAIGO_CONFIG": str(self.config_dir),
            "KAIGO_VAR": str(root / "var"),
            "KAIGO_AMQP_URL": rabbit.amqp_url.rsplit("/", 1)[0] + "/" + vhost,
            "KAIGO_RABBIT_API": f"http://guest:guest@127.0.0.1:{port}/",
            "PYTHONUNBUFFERED": "1",
        }
        self.processes: list[subprocess.Popen[bytes]] = []

    def edit_config(self, name: str, edit: Callable[[str], str]) -> None:
        path = self.config_dir / name
        path.write_text(edit(path.read_text(encoding="utf-8")), encoding="utf-8")
        self.reload()

    def reload(self) -> None:
        """Forget the in-process configuration and wiring (after another process changed state)."""
        self.__dict__.pop("config", None)
        self.__dict__.pop("bridge", None)

    @property
    def config(self) -> Config:
        if "config" not in self.__dict__:
            self.__dict__["config"] = config_module.load(self.config_dir)
        return self.__dict__["config"]  # type: ignore[no-any-return]

    @property
    def bridge(self) -> Bridge:
        if "bridge" not in self.__dict__:
            self.__dict__["bridge"] = Bridge(self.config)
        return self.__dict__["bridge"]  # type: ignore[no-any-return]

    def cli(self, *args: str, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([*CLI, *args], env=self.env, capture_output=True, text=True, timeout=timeout,
                                cwd=self.root)
        if check and result.returncode != 0:
            raise AssertionError(f"kaigo-bridge {' '.join(args)} exited {result.returncode}:\n"
                                 f"{result.stdout}\n{result.stderr}")
        return result

    def cli_json(self, *args: str) -> Any:
        return json.loads(self.cli(*args, "--json").stdout)

    def start_worker(self, *args: str) -> subprocess.Popen[bytes]:
        log = open(self.root / f"worker-{len(self.processes)}.log", "wb")
        process = subprocess.Popen([*CLI, "worker", *args], env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                   cwd=self.root)
        self.processes.append(process)
        return process

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def worker_logs(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.root.glob("worker-*.log")))

    def transfer_state(self, transfer_id: str) -> str:
        # A read session: a writer's would wait for the store's write lock (a load in progress).
        with self.bridge.read_sessions() as s:
            transfer = s.get(Transfer, transfer_id)
            assert transfer is not None, f"no transfer {transfer_id}"
            return transfer.state

    def queue_totals(self) -> dict[str, int]:
        """Messages anywhere in each route's queues. Ready counts come from the broker itself
        (exact); unacked counts from the management API, whose statistics lag a few seconds,
        so wait for the effects in the store before relying on an empty total."""
        status = {r["route"]: r["unacked"] for r in self.cli_json("status")["routes"]}
        connection = pika.BlockingConnection(pika.URLParameters(self.env["KAIGO_AMQP_URL"]))
        try:
            channel = connection.channel()
            for route in self.config.routes.values():
                for name in topology.queues_of(route):
                    status[route.name] += channel.queue_declare(name, passive=True).method.message_count
        finally:
            connection.close()
        return status


def wait_until(condition: Callable[[], bool], timeout: float, what: str, every: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


@pytest.fixture
def home(tmp_path: Path, rabbit: RabbitNode) -> Iterator[Home]:
    vhost = f"t-{uuid.uuid4().hex[:10]}"
    _management(rabbit, "PUT", f"/api/vhosts/{vhost}")
    _management(rabbit, "PUT", f"/api/permissions/{vhost}/guest", {"configure": ".*", "write": ".*", "read": ".*"})
    h = Home(tmp_path, rabbit, vhost)
    saved = dict(os.environ)
    os.environ.update({k: v for k, v in h.env.items() if k.startswith("KAIGO_")})
    init(h.config)
    try:
        yield h
    finally:
        h.stop_all()
        stop_agent(h.config.openpgp_home)  # init's ward key started one; hundreds would pile up
        os.environ.clear()
        os.environ.update(saved)
        _management(rabbit, "DELETE", f"/api/vhosts/{vhost}")


def wire_chukan(home: Home, url: str, pki: Pki, *edits: tuple[str, str]) -> None:
    """``home``'s chukan.toml pointed at the simulated 中間サーバー at ``url``, the test CA and the
    client certificate where it looks ({var}/chukan/); ``edits``: more (old, new) of chukan.toml."""
    tls = home.root / "var" / "chukan"
    tls.mkdir(parents=True, exist_ok=True)
    for source, name in ((pki.ca_cert, "ca.pem"), (pki.client_cert, "client.pem"), (pki.client_key, "client.key")):
        shutil.copyfile(source, tls / name)

    def edit(text: str) -> str:
        for old, new in (('url = "https://127.0.0.1:8443/chukan/"', f'url = "{url}/"'), *edits):
            assert old in text, f"chukan.toml has no {old!r}"
            text = text.replace(old, new, 1)
        return text

    home.edit_config("chukan.toml", edit)

