"""Durable change events through the project's real path, timed end to end.

The events are already in the outbox. A relay process (``python -m bridge relay``) and a worker
process (``python -m bridge worker --routes core.changes --no-relay``) are started, as an operator
may run them and as the raw baseline runs its publisher and consumer, and allowed to connect
while the bench holds a relay lease on every pending row, so start-up is not timed on either
side. The clock starts when the lease is released: the relay claims the rows, publishes them
with confirms and marks them sent; the worker applies each to the change journal + inbox with
its custody entry, acks after the commit and moves custody to the log.

The clock stops when the last message is acked: once the custody log holds N ``applied`` entries
and every outbox row is marked sent (read from the stores, not the broker's 5 s statistics), the
worker is asked to stop (SIGTERM); its first step is to cancel its consumer on the channel that
carried the acks, and the broker handles a channel's frames in order, so when the queue shows no
consumer it has taken every ack. That stop costs ours up to one turn of the worker's I/O loop
(``queues.worker.TURN``, 0.05 s), no more. The run is then checked: every event applied once, every outbox row sent,
queues empty with no consumer (an unacked message would be back in the queue), N ``applied``
custody entries. The CPU time the worker and the relay used while the clock ran is printed with
the time, from /proc (a figure for reading a profile, not part of the row).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pika
from pika.exceptions import ChannelClosedByBroker
from sqlalchemy import func, select, update

from adapters.core.journal import ROUTE
from bench.install import Installation
from bench.proc import peak_rss_mb
from queues import topology
from queues.custody.schema import head
from store.engine import read_only
from store.models import ChangeJournal, Inbox, Outbox

HOLDER = "bench-hold"
POLL = 0.02  # seconds between store reads: the clock's resolution


def hold(home: Installation) -> int:
    """Take a relay lease on every pending outbox row, as another relay would."""
    with home.bridge.sessions.begin() as s:
        result = s.execute(update(Outbox).where(Outbox.status == "pending")
                           .values(claimed_by=HOLDER, claimed_until=datetime.now(UTC) + timedelta(hours=1)))
    return int(result.rowcount)  # type: ignore[attr-defined]


def release(home: Installation) -> None:
    with home.bridge.sessions.begin() as s:
        s.execute(update(Outbox).where(Outbox.claimed_by == HOLDER).values(claimed_by=None, claimed_until=None))


def amqp_connected(pid: int, url: str) -> bool:
    """Whether process ``pid`` holds an established TCP connection to the broker (from /proc)."""
    port = urllib.parse.urlsplit(url).port or 5672
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue  # closed meanwhile
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[2].rsplit(":", 1)[1], 16) == port and fields[3] == "01" and fields[9] in inodes:
                return True
    return False


def queue_state(home: Installation, queue: str) -> tuple[int, int] | None:
    """(ready messages, consumers) of a queue, straight from the broker (not the 5 s stats)."""
    with pika.BlockingConnection(pika.URLParameters(home.broker.amqp_url)) as conn:
        try:
            ok = conn.channel().queue_declare(queue, passive=True)
        except ChannelClosedByBroker:
            return None  # not declared yet
    return int(ok.method.message_count), int(ok.method.consumer_count)


class Settled:
    """Whether the store shows the whole run done: N ``applied`` custody entries past the log's
    head at the start, and no outbox row left unsent. Cheap reads first (the head row, then a
    count on the status index), so polling it takes little from the worker."""

    def __init__(self, home: Installation, events: int) -> None:
        self.home = home
        self.events = events
        self.applied_before = self._applied()
        self.seq_before = self._seq()

    def _seq(self) -> int:
        with read_only(self.home.bridge.custody.engine).connect() as conn:
            return int(conn.scalar(select(head.c.seq)) or 0)

    def _applied(self) -> int:
        return self.home.bridge.custody.count_by_event().get("applied", 0)

    def __call__(self) -> bool:
        if self._seq() < self.seq_before + self.events:
            return False
        if self._applied() < self.applied_before + self.events:
            return False  # other entries (a retry) made the head move: not all applied yet
        with self.home.bridge.read_sessions() as s:
            return not s.scalar(select(func.count()).select_from(Outbox).where(Outbox.status != "sent"))


def run(home: Installation, events: int, log: Callable[[str], None], timeout: float | None = None) -> dict[str, Any]:
    held = hold(home)
    if held != events:
        raise RuntimeError(f"expected {events} pending outbox rows, found {held}")
    timeout = timeout or max(120.0, events / 200)
    work_queue = topology.work_queue(ROUTE)
    worker_log = home.root / "worker.log"
    with worker_log.open("wb") as out:
        # Publisher and consumer in processes of their own, as the raw baseline runs them.
        relay = subprocess.Popen([sys.executable, "-m", "bridge", "relay"], env=home.env, cwd=home.root,
                                 stdout=out, stderr=subprocess.STDOUT)
        worker = subprocess.Popen([sys.executable, "-m", "bridge", "worker", "--routes", ROUTE, "--no-relay"],
                                  env=home.env, cwd=home.root, stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait(lambda: (queue_state(home, work_queue) or (0, 0))[1] >= 1, worker, worker_log, 60,
              "the worker to consume")
        _wait(lambda: amqp_connected(relay.pid, home.broker.amqp_url), relay, worker_log, 60,
              "the relay to connect")
        settled = Settled(home, events)
        log(f"worker {worker.pid} consuming, relay {relay.pid} started; releasing {events:,} events")
        with pika.BlockingConnection(pika.URLParameters(home.broker.amqp_url)) as conn:
            channel = conn.channel()
            cpu_before = cpu_seconds(worker.pid), cpu_seconds(relay.pid)
            started = time.perf_counter()
            release(home)
            _wait(settled, worker, worker_log, timeout, f"{events} events applied and sent", POLL)
            rss = max(peak_rss_mb(worker.pid), peak_rss_mb(relay.pid))
            cpu = cpu_seconds(worker.pid) - cpu_before[0], cpu_seconds(relay.pid) - cpu_before[1]
            worker.send_signal(signal.SIGTERM)
            _wait(lambda: channel.queue_declare(work_queue, passive=True).method.consumer_count == 0, worker,
                  worker_log, 60, "the worker's consumer to be cancelled after its acks", POLL)
            finished = time.perf_counter()
    finally:
        _stop(worker)
        _stop(relay)
    _check(home, events, worker_log)
    # Seconds of CPU against seconds of clock say whether ours was busy or waiting (a CPU-bound
    # worker would show about the clock's seconds: its threads share one interpreter lock).
    log(f"  CPU while the clock ran (to the last applied and sent): worker {cpu[0]:.2f} s, relay {cpu[1]:.2f} s")
    return {"seconds": finished - started, "peak_rss_mb": rss}


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a live process so far (from /proc), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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
        # The worker is gone: a message it had not acked would be ready again.
        state = queue_state(home, queue)
        if state is None or state != (0, 0):
            problems.append(f"queue {queue}: (ready, consumers) = {state}, expected (0, 0)")
    home.bridge.flush_custody()  # the worker flushes as it goes; this only repairs a crash
    applied = home.bridge.custody.count_by_event().get("applied", 0)
    if applied != events:
        problems.append(f"custody log holds {applied} 'applied' entries, expected {events}")
    if problems:
        raise RuntimeError("message path run is not correct:\n  " + "\n  ".join(problems) + "\n"
                           + worker_log.read_text(errors="replace")[-3000:])
