"""Durable change events through the project's real path, timed end to end.

The events are already in the outbox. A worker process (``python -m bridge worker --routes
core.changes``, relay included, as an operator runs it) is started and allowed to connect while
the bench holds a relay lease on every pending row, so start-up is not timed. The clock starts
when the lease is released: the worker's relay claims the rows, publishes them with confirms, the
route runner applies each to the change journal + inbox with its custody entry, moves custody to
the log and acks. The clock stops when all N journal rows exist. The run is then checked: every
event applied once, every outbox row sent, queues empty, N ``applied`` custody entries.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pika
from pika.exceptions import ChannelClosedByBroker
from sqlalchemy import func, select, update

from adapters.core.journal import ROUTE
from adapters.core.models import ChangeJournal, Inbox, Outbox
from bench.install import Installation
from bench.proc import peak_rss_mb
from queues import topology

HOLDER = "bench-hold"
POLL = 0.05  # seconds between journal counts: the clock's resolution


def hold(home: Installation) -> int:
    """Take a relay lease on every pending outbox row, as another relay would."""
    with home.bridge.sessions.begin() as s:
        result = s.execute(update(Outbox).where(Outbox.status == "pending")
                           .values(claimed_by=HOLDER, claimed_until=datetime.now(UTC) + timedelta(hours=1)))
    return int(result.rowcount)  # type: ignore[attr-defined]


def release(home: Installation) -> None:
    with home.bridge.sessions.begin() as s:
        s.execute(update(Outbox).where(Outbox.claimed_by == HOLDER).values(claimed_by=None, claimed_until=None))


def journal_count(home: Installation) -> int:
    # Read-only session: a plain BEGIN, so polling never takes the store's write lock.
    with home.bridge.read_sessions() as s:
        return int(s.scalar(select(func.count()).select_from(ChangeJournal)) or 0)


def queue_state(home: Installation, queue: str) -> tuple[int, int] | None:
    """(ready messages, consumers) of a queue, straight from the broker (not the 5 s stats)."""
    with pika.BlockingConnection(pika.URLParameters(home.broker.amqp_url)) as conn:
        try:
            ok = conn.channel().queue_declare(queue, passive=True)
        except ChannelClosedByBroker:
            return None  # not declared yet
    return int(ok.method.message_count), int(ok.method.consumer_count)


def run(home: Installation, events: int, log: Callable[[str], None], timeout: float | None = None) -> dict[str, Any]:
    held = hold(home)
    if held != events:
        raise RuntimeError(f"expected {events} pending outbox rows, found {held}")
    timeout = timeout or max(120.0, events / 200)
    worker_log = home.root / "worker.log"
    with worker_log.open("wb") as out:
        worker = subprocess.Popen([sys.executable, "-m", "bridge", "worker", "--routes", ROUTE], env=home.env,
                                  cwd=home.root, stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait(lambda: (queue_state(home, ROUTE) or (0, 0))[1] >= 1, worker, worker_log, 60, "the worker to consume")
        log(f"worker {worker.pid} consuming; releasing {events:,} events")
        started = time.perf_counter()
        release(home)
        _wait(lambda: journal_count(home) >= events, worker, worker_log, timeout, f"{events} journal rows", POLL)
        finished = time.perf_counter()
        rss = peak_rss_mb(worker.pid)
    finally:
        _stop(worker)
    _check(home, events, worker_log)
    return {"seconds": finished - started, "peak_rss_mb": rss}


def _wait(done: Callable[[], bool], worker: subprocess.Popen[bytes], worker_log: Any, timeout: float, what: str,
          every: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        if worker.poll() is not None:
            raise RuntimeError(f"worker exited {worker.returncode} while waiting for {what}:\n"
                               f"{worker_log.read_text(errors='replace')[-4000:]}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}:\n"
                               f"{worker_log.read_text(errors='replace')[-4000:]}")
        time.sleep(every)


def _stop(worker: subprocess.Popen[bytes]) -> None:
    if worker.poll() is None:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=60)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


def _check(home: Installation, events: int, worker_log: Any) -> None:
    """A fast run that lost or doubled work would be worthless: check the effect, not just the count."""
    problems = []
    with home.bridge.read_sessions() as s:
        journal = s.scalar(select(func.count()).select_from(ChangeJournal))
        distinct = s.scalar(select(func.count(func.distinct(ChangeJournal.event_id))))
        inbox = s.scalar(select(func.count()).select_from(Inbox).where(Inbox.consumer == ROUTE))
        unsent = s.scalar(select(func.count()).select_from(Outbox).where(Outbox.status != "sent"))
    if journal != events or distinct != events:
        problems.append(f"change journal holds {journal} rows ({distinct} distinct events), expected {events}")
    if inbox != events:
        problems.append(f"inbox holds {inbox} rows for {ROUTE}, expected {events}")
    if unsent:
        problems.append(f"{unsent} outbox rows not marked sent")
    for queue in (topology.work_queue(ROUTE), topology.dead_queue(ROUTE)):
        state = queue_state(home, queue)
        if state is None or state[0] != 0:
            problems.append(f"queue {queue}: {state and state[0]} messages left")
    home.bridge.flush_custody()  # the worker flushes as it goes; this only repairs a crash
    applied = home.bridge.custody.count_by_event().get("applied", 0)
    if applied != events:
        problems.append(f"custody log holds {applied} 'applied' entries, expected {events}")
    if problems:
        raise RuntimeError("message path run is not correct:\n  " + "\n  ".join(problems) + "\n"
                           + worker_log.read_text(errors="replace")[-3000:])
