"""Outages the processes ride out by themselves, with no restart of ours: the broker node killed
(SIGKILL) while a worker, its relay and the standalone ``relay`` command idle; the store's disk
full in the middle of a flow. Count what went in and what came out: every event applied exactly
once afterwards, nothing dead-lettered for the outage, every queue empty."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pika

from bridge.app import init
from fixtures.activity import change_shikaku
from fixtures.population import load
from queues import topology
from tests.faults.test_crashes import assert_exactly_once, journal_count
from tests.harness import CLI, Home, wait_until
from tests.small_disk import small_disk

ROUTE = "core.changes"


def start_relay(home: Home) -> subprocess.Popen[bytes]:
    """The standalone ``kaigo-bridge relay`` (its log among the workers', stopped with them)."""
    log = open(home.root / f"worker-{len(home.processes)}.log", "wb")
    process = subprocess.Popen([*CLI, "relay"], env=home.env, stdout=log, stderr=subprocess.STDOUT, cwd=home.root)
    home.processes.append(process)
    return process


def applied(home: Home, count: int, what: str) -> None:
    wait_until(lambda: journal_count(home) >= count, 180, what)


def kill_broker(home: Home) -> None:
    home.rabbit.kill()
    home.rabbit.start()


def test_broker_killed_while_idle_new_events_drain_without_a_restart(home: Home) -> None:
    load(home.bridge.sessions, home.bridge.mynumber, people=200, seed=51, nendo=2026)
    worker = home.start_worker()
    events = change_shikaku(home.bridge.sessions, home.bridge.keyring, 100, seed=52)
    applied(home, len(events), "the first events")
    # A quorum queue declared just before a crash can come back leaderless (RabbitNode.kill):
    # a clean restart writes the topology out first.
    home.rabbit.restart()
    events += change_shikaku(home.bridge.sessions, home.bridge.keyring, 100, seed=53)
    applied(home, len(events), "events after a clean restart")

    kill_broker(home)  # the worker and its relay thread idle
    events += change_shikaku(home.bridge.sessions, home.bridge.keyring, 1000, seed=54)
    applied(home, len(events), "events made after the kill, relayed by the worker's relay thread")
    assert worker.poll() is None, home.worker_logs()

    # The same with the standalone relay command beside a worker that does not relay.
    home.stop_all()
    worker = home.start_worker("--no-relay")
    relay = start_relay(home)
    events += change_shikaku(home.bridge.sessions, home.bridge.keyring, 100, seed=55)
    applied(home, len(events), "events relayed by the relay command")
    kill_broker(home)
    events += change_shikaku(home.bridge.sessions, home.bridge.keyring, 1000, seed=56)
    applied(home, len(events), "events made after the kill, relayed by the relay command")
    assert relay.poll() is None and worker.poll() is None, home.worker_logs()
    assert_exactly_once(home, events)


def dead_letters(home: Home) -> int:
    connection = pika.BlockingConnection(pika.URLParameters(home.env["KAIGO_AMQP_URL"]))
    try:
        declared = connection.channel().queue_declare(topology.dead_queue(ROUTE), passive=True)
        return int(declared.method.message_count)
    finally:
        connection.close()


def test_store_disk_full_during_a_flow_dead_letters_nothing(home: Home, tmp_path: Path) -> None:
    with small_disk(tmp_path / "disk", "256m") as disk:
        try:
            home.edit_config("bridge.toml", lambda text: text.replace(
                'url = "sqlite:///{var}/store.db"', f'url = "sqlite:///{disk.path}/store.db"'))
            # A short retry budget (2 s) and delivery limit (3): an outage counted as the messages'
            # failures, or redelivering them, would park events in .dead long before it ends.
            home.edit_config("routes.toml", lambda text: text.replace(
                "retry_delays = [1, 5, 30, 120]\ndelivery_limit = 20",
                "retry_delays = [1, 1]\ndelivery_limit = 3", 1))
            assert home.config.store_url.startswith(f"sqlite:///{disk.path}")
            assert home.config.route(ROUTE).delivery_limit == 3
            init(home.config)
            load(home.bridge.sessions, home.bridge.mynumber, people=500, seed=61, nendo=2026)
            events = change_shikaku(home.bridge.sessions, home.bridge.keyring, 40_000, seed=62)
            home.start_worker()
            applied(home, 2000, "the flow to be under way")
            disk.fill()
            assert journal_count(home) < len(events), "the flow finished before the disk filled: nothing was tested"
            wait_until(lambda: "store unavailable" in home.worker_logs() or dead_letters(home) > 0, 60,
                       "the worker to meet the full disk")
            time.sleep(20)  # the outage outlasts the retry budget and the delivery limit
            assert dead_letters(home) == 0, home.worker_logs()[-3000:]
            disk.free()
            assert_exactly_once(home, events)
            assert dead_letters(home) == 0
            assert "store answers again" in home.worker_logs()
        finally:
            home.stop_all()
            home.bridge.sessions.kw["bind"].dispose()
