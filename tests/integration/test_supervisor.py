"""Every background duty under the supervisor (queues/supervisor.py), against the real services.

A property-style run: every duty of a worker (relay, inbound polls, partner answers over SFTP,
the 中間サーバー's rounds against the TLS simulator, housekeeping) is wrapped so that, for a while,
it raises exceptions of random kinds before or after its real work (the relay loop is also cut
off mid-run); then the chaos stops and every duty must be healthy and everything caught up —
every outbox event published (each id in a queue), every inbound file taken once, every custody
entry moved. Then, across processes: a real worker whose duty keeps failing makes
``status --check`` exit 1 with the masked cause, recovers when the cause is fixed, and shows as
stopped when killed.
"""

from __future__ import annotations

import json
import random
import signal
import socket
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pika
import pytest
from sqlalchemy import func, select

from bridge.duties import worker_duties
from fixtures import activity, population
from fixtures.chukan.sim import ChukanSim, Pki
from fixtures.services import SshdServer
from fixtures.services.sshd import SftpTree
from fixtures.vendor import create_key_pair
from fixtures.vendor.keys import short_home, stop_agent
from queues import health, topology
from queues.health import Board
from queues.message import Message
from queues.supervisor import Duty, Supervisor
from settings.partners import with_partner
from store.models import CustodyPending, Outbox, Transfer
from tests.harness import CLI, Home, wait_until, wire_chukan

PEOPLE, SEED, NENDO = 30, 29, 2026
CHAOS_SECONDS = 8.0
# What an injected failure says: a partner's file name (with a 12-digit stamp) and a 個人番号-shaped
# run, neither of which may reach a heartbeat or a log as written.
SECRET_NAME, SECRET_NUMBER = "KYUFU_202601011230.csv", "1234 5678 9012"
KINDS: list[Callable[[str], Exception]] = [ValueError, RuntimeError, KeyError, OSError, TimeoutError, AssertionError]


class Chaos:
    """Wraps duties so that, while ``on``, they fail at random (seeded): the first call of each
    always, then before their work or after it; a loop is also cut off mid-run."""

    def __init__(self, seed: int) -> None:
        self.on = True
        self.hits: Counter[str] = Counter()
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def _roll(self, p: float) -> bool:
        with self._lock:
            return self.on and self._rng.random() < p

    def _boom(self, name: str) -> None:
        with self._lock:
            self.hits[name] += 1
            kind = self._rng.choice(KINDS)
        raise kind(f"injected into {name}: {SECRET_NAME} for {SECRET_NUMBER}")

    def wrap(self, duty: Duty) -> Duty:
        return replace(duty, body=self._loop(duty) if duty.loop else self._round(duty))

    def _round(self, duty: Duty) -> Callable[[threading.Event], None]:
        def body(stop: threading.Event) -> None:
            if self.on and (self.hits[duty.name] == 0 or self._roll(0.4)):
                self._boom(duty.name)
            duty.body(stop)
            if self._roll(0.3):  # the work was done, the round still fails: it must be repeatable
                self._boom(duty.name)
        return body

    def _loop(self, duty: Duty) -> Callable[[threading.Event], None]:
        def body(stop: threading.Event) -> None:
            if self.on and self.hits[duty.name] == 0:
                self._boom(duty.name)
            with self._lock:
                lifetime = self._rng.uniform(0.1, 1.5)
            cut = threading.Event()
            deadline = time.monotonic() + lifetime

            def watch() -> None:  # the loop's own stop, or chaos cutting it off mid-run
                while not stop.wait(0.05):
                    if self.on and time.monotonic() > deadline:
                        break
                cut.set()

            watcher = threading.Thread(target=watch, daemon=True)
            watcher.start()
            duty.body(cut)
            watcher.join()
            if not stop.is_set():
                self._boom(duty.name)
        return body


@pytest.fixture
def busy(home: Home, sshd: SshdServer, sftp_tree: Callable[[str], SftpTree], chukan_sim: ChukanSim,
         chukan_pki: Pki) -> Iterator[Home]:
    """Every duty a worker has, each due every second: drop-folder partners without the settle
    wait, vendor-a over SFTP (its answers polled), the 中間サーバー simulator, checkpoints."""
    tree = sftp_tree("vendor-a")
    vendor_home = short_home()
    vendor = create_key_pair(vendor_home, "vendor-a <print@vendor-a.invalid>")
    (home.config_dir / "vendor-a.asc").write_text(vendor.public_armored.decode(), encoding="ascii")
    home.edit_config("partners.toml", lambda t: with_partner(t, "vendor-a", f"""
[partner.vendor-a]
kind = "print-vendor"
name = "委託印刷事業者A (synthetic)"
channel = "sftp"
host = "127.0.0.1"
port = {tree.port}
user = "{sshd.username}"
key_file = "{sshd.client_key}"
known_hosts = "{sshd.known_hosts}"
openpgp_key = "vendor-a.asc"
openpgp_fingerprint = "{vendor.fingerprint}"
poll_seconds = 1
""").replace('path = "{var}/drop/kokuho"', 'path = "{var}/drop/kokuho"\npoll_seconds = 1')
                     .replace('path = "{var}/drop/keiyu"', 'path = "{var}/drop/keiyu"\npoll_seconds = 1'))
    home.edit_config("flows.toml", lambda t: t.replace("settle_seconds = 2", "settle_seconds = 0"))
    home.edit_config("bridge.toml", lambda t: t.replace("checkpoint_interval = 5", "checkpoint_interval = 1"))
    wire_chukan(home, chukan_sim.url, chukan_pki, ("poll_seconds = 60", "poll_seconds = 1"),
                ("refresh_seconds = 900", "refresh_seconds = 1"), ("timeout = 10", "timeout = 2"))
    population.load(home.bridge.sessions, home.bridge.mynumber, PEOPLE, seed=SEED, nendo=NENDO)
    yield home
    stop_agent(vendor_home)


def drop(home: Home, flow: str, name: str) -> Path:
    """An inbound file with its done-marker in ``flow``'s drop folder (content unique per name)."""
    folder = home.config.partners[home.config.flow(flow).partner].path
    assert folder is not None
    path = folder / home.config.flow(flow).folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(f"synthetic {flow} file {name}\r\n".encode() * 50)
    (path.parent / (name + home.config.flow(flow).done_marker)).write_bytes(b"")
    return path


def published_ids(home: Home) -> Counter[str]:
    """Every message waiting in any route's work queue, by id (taken off the queues)."""
    seen: Counter[str] = Counter()
    connection = pika.BlockingConnection(pika.URLParameters(home.env["KAIGO_AMQP_URL"]))
    try:
        channel = connection.channel()
        for route in home.config.routes.values():
            while True:
                method, props, body = channel.basic_get(topology.work_queue(route.name), auto_ack=True)
                if method is None:
                    break
                seen[Message.from_delivery(route.name, props, body).id] += 1
    finally:
        connection.close()
    return seen


def caught_up(home: Home, dropped: list[Path]) -> bool:
    with home.bridge.read_sessions() as s:
        pending = s.scalar(select(func.count()).select_from(Outbox).where(Outbox.status != "sent"))
        custody = s.scalar(select(func.count()).select_from(CustodyPending))
    return pending == 0 and custody == 0 and not any(p.exists() for p in dropped)


def all_well(board: Board, since: str) -> bool:
    """Every duty's latest round a success; the frequent ones (not retention's daily round) have
    also succeeded since the chaos stopped."""
    beats = board.snapshot()["duties"]
    return all(b["failures"] == 0 and b["last_success"] and (b["every"] > 60 or b["last_success"] > since)
               for b in beats.values())


def test_every_duty_survives_random_failures_and_catches_up(busy: Home) -> None:
    home = busy
    chaos = Chaos(seed=15)
    duties = [chaos.wrap(d) for d in worker_duties(home.bridge, relay=True)]
    names = {d.name for d in duties}
    assert {"relay", "housekeeping", "answers:vendor-a", "inbound:kokuho.kyufu", "inbound:nenkin.z11",
            "chukan.refresh", "chukan.exchange", "chukan.retention"} <= names
    board = Board(home.config.var, "worker")
    supervisor = Supervisor(duties, board)
    stop = threading.Event()

    events = activity.change_shikaku(home.bridge.sessions, home.bridge.keyring, 200, seed=1)
    dropped = [drop(home, "kokuho.kyufu", f"KYUFU{i:03d}") for i in range(3)]
    supervisor.start(stop)
    try:
        time.sleep(CHAOS_SECONDS / 2)  # work arrives while the duties keep failing
        events += activity.change_shikaku(home.bridge.sessions, home.bridge.keyring, 200, seed=2)
        dropped += [drop(home, "nenkin.z11", f"Z11_{i:03d}") for i in range(3)]
        dropped += [drop(home, "kokuho.totsugo", "TOTSUGO001")]
        time.sleep(CHAOS_SECONDS / 2)
        chaos.on = False
        calm = health.now_iso()
        wait_until(lambda: caught_up(home, dropped), 120, "outbox published, files taken, custody moved")
        wait_until(lambda: all_well(board, calm), 120, "every duty succeeding again")
    finally:
        stop.set()
        supervisor.join()

    assert set(chaos.hits) == names, f"chaos reached only {sorted(chaos.hits)}"
    beats = board.snapshot()["duties"]
    for name, beat in beats.items():
        assert beat["total_failures"] >= chaos.hits[name], name
        # The cause is there (its kind), masked: no file name, no 個人番号 as written.
        assert beat["last_error"], name
        assert "202601011230" not in beat["last_error"] and SECRET_NUMBER not in beat["last_error"], beat
    assert any("file#" in b["last_error"] and "********9012" in b["last_error"] for b in beats.values())
    assert not (home.config.var / "health").exists() or not list((home.config.var / "health").glob("*.json"))

    # In and out: every inbound file taken once, every outbox event (ours and the duties' own) in a queue.
    with home.bridge.read_sessions() as s:
        inbound = s.scalar(select(func.count()).select_from(Transfer).where(Transfer.direction == "in"))
        outbox = set(s.scalars(select(Outbox.id)))
    assert inbound == len(dropped)
    assert set(events) <= outbox
    assert set(published_ids(home)) == outbox
    assert home.bridge.custody.verify().ok


def status(home: Home, *args: str) -> tuple[int, dict[str, Any]]:
    result = home.cli("status", "--json", *args, check=False)
    assert "Traceback" not in result.stderr, result.stderr
    return result.returncode, json.loads(result.stdout)


def duty_row(report: dict[str, Any], name: str) -> dict[str, Any]:
    rows = [d for d in report["duties"] if d["duty"] == name]
    assert len(rows) == 1, report["duties"]
    return rows[0]


def test_a_duty_that_keeps_failing_fails_status_check_until_fixed(home: Home) -> None:
    home.edit_config("partners.toml", lambda t: t.replace('path = "{var}/drop/kokuho"',
                                                          'path = "{var}/drop/kokuho"\npoll_seconds = 1'))
    home.edit_config("flows.toml", lambda t: t.replace("settle_seconds = 2", "settle_seconds = 0"))
    # No 中間サーバー here: its rounds off (left on, they would rightly fail and show 異常 too).
    home.edit_config("chukan.toml", lambda t: t.replace("poll_seconds = 60", "poll_seconds = 0")
                     .replace("refresh_seconds = 900", "refresh_seconds = 0"))
    folder = home.config.var / "drop" / "kokuho" / home.config.flow("kokuho.kyufu").folder
    folder.rmdir()
    folder.write_bytes(b"")  # the partner's share broken: a file where its folder should be
    worker = home.start_worker()

    # Read from this process, written by the worker: heartbeats cross processes.
    def failures() -> int:
        rows = [d for d in status(home)[1]["duties"] if d["duty"] == "inbound:kokuho.kyufu"]
        return int(rows[0]["failures"]) if rows else 0

    wait_until(lambda: failures() >= health.FAILURE_LIMIT, 60, "the inbound duty failing past its threshold")
    code, report = status(home, "--check")
    assert code == 1 and report["health"] == "異常"
    row = duty_row(report, "inbound:kokuho.kyufu")
    assert row["state"] == "異常" and row["last_error"]
    assert "in/kyufu" not in row["last_error"] and str(home.root) not in row["last_error"]  # masked
    assert any("inbound:kokuho.kyufu" in p["what"] and p["next"] for p in report["problems"])
    assert duty_row(report, "relay")["state"] == "正常"
    human = home.cli("status", "--check", check=False)
    assert human.returncode == 1 and "異常" in human.stdout and "次の手順" in human.stdout
    assert "Traceback" not in human.stdout + human.stderr

    folder.unlink()
    folder.mkdir()
    drop(home, "kokuho.kyufu", "KYUFU_AFTER")
    last: list[dict[str, Any]] = []

    def recovered() -> bool:  # the file taken and, being no 国保連 file, quarantined: 要対応, not 異常
        code, report = status(home, "--check")
        last[:] = [report]
        return code == 3

    try:
        wait_until(recovered, 60, "status without 異常 once the share is back")
    except AssertionError:
        raise AssertionError(f"{last[0]['problems']}\n{home.worker_logs()[-3000:]}") from None
    assert [(p["level"], p["what"]) for p in last[0]["problems"]] == [("要対応", "隔離中の受信ファイル 1 件")]
    assert duty_row(last[0], "inbound:kokuho.kyufu")["state"] == "正常"
    with home.bridge.read_sessions() as s:
        assert s.scalar(select(func.count()).select_from(Transfer).where(Transfer.direction == "in")) == 1

    worker.send_signal(signal.SIGKILL)
    worker.wait()
    code, report = status(home, "--check")
    assert code == 1
    assert {d["state"] for d in report["duties"]} == {"停止"}
    assert any("停止" in p["what"] for p in report["problems"])


def test_the_standalone_relay_is_supervised_and_seen_by_status(home: Home) -> None:
    population.load(home.bridge.sessions, home.bridge.mynumber, PEOPLE, seed=SEED, nendo=NENDO)
    events = activity.change_shikaku(home.bridge.sessions, home.bridge.keyring, 300, seed=4)
    log = open(home.root / "relay.log", "wb")
    relay = subprocess.Popen([*CLI, "relay"], env=home.env, stdout=log, stderr=subprocess.STDOUT, cwd=home.root)
    home.processes.append(relay)

    def sent() -> int:
        with home.bridge.read_sessions() as s:
            return int(s.scalar(select(func.count()).select_from(Outbox).where(Outbox.status == "sent")) or 0)

    wait_until(lambda: sent() == len(events), 60, "every event published by the relay command")
    wait_until(lambda: any(d["duty"] == "relay" and d["state"] == "正常" and d["last_success"]
                           for d in status(home)[1]["duties"]), 30, "the relay's heartbeat in status")
    [process] = {d["process"] for d in status(home)[1]["duties"]}
    assert process.startswith("relay ") and process.endswith(f":{relay.pid}")
    assert set(published_ids(home)) == set(events)

    relay.send_signal(signal.SIGTERM)
    assert relay.wait(timeout=30) == 0
    log.close()
    assert health.read_all(home.config.var) == []  # a clean stop claims nothing any more


def test_a_consumer_that_cannot_reach_the_broker_shows_in_status(home: Home) -> None:
    """The worker's consumer runs outside the duties' threads; its watch shows it failing."""
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))  # bound, never listening: every connection is refused
    home.env["KAIGO_AMQP_URL"] = f"amqp://guest:guest@127.0.0.1:{closed.getsockname()[1]}/%2F?connection_attempts=1"
    home.edit_config("chukan.toml", lambda t: t.replace("poll_seconds = 60", "poll_seconds = 0")
                     .replace("refresh_seconds = 900", "refresh_seconds = 0"))
    try:
        home.start_worker("--no-relay")

        def consumer_failing() -> bool:
            rows = [d for d in status(home)[1]["duties"] if d["duty"] == "consumer"]
            return bool(rows) and int(rows[0]["failures"]) >= health.FAILURE_LIMIT

        wait_until(consumer_failing, 90, "the consumer failing past its threshold")
        code, report = status(home, "--check")
        assert code == 1
        row = duty_row(report, "consumer")
        assert row["state"] == "異常" and row["last_error"]
        assert any("consumer" in p["what"] and p["next"] for p in report["problems"])
    finally:
        home.stop_all()
        closed.close()
