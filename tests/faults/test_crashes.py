"""Crashes: workers killed with SIGKILL at random moments, and RabbitMQ restarted mid-run.

Count what went in and what came out: every event takes effect exactly once, custody is
complete and intact, and every queue is empty after the drain.
"""

from __future__ import annotations

import hashlib
import os
import random
import signal
import time

from sqlalchemy import func, select

from fixtures.activity import change_shikaku
from fixtures.population import load
from store.models import ChangeJournal, Inbox, Outbox, Transfer
from tests.harness import Home, wait_until

# Enough that the ten kills all land while events still flow (a worker applies several
# thousand a second between two kills; the test fails if the run finished first).
EVENTS = 40_000


def journal_count(home: Home) -> int:
    with home.bridge.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(ChangeJournal)) or 0)


def pending_outbox(home: Home) -> int:
    with home.bridge.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(Outbox).where(Outbox.status != "sent")) or 0)


def assert_exactly_once(home: Home, events: list[str]) -> None:
    wait_until(lambda: journal_count(home) == len(events), 180, f"{len(events)} journal rows")
    # A relay killed between publishing and marking leaves its rows claimed: they go out again
    # when the claim's lease ends, and the inbox absorbs the copies.
    wait_until(lambda: pending_outbox(home) == 0, 120, "every outbox row confirmed")
    wait_until(lambda: sum(home.queue_totals().values()) == 0, 60, "every queue empty")
    home.stop_all()
    with home.bridge.sessions() as s:
        applied = list(s.scalars(select(ChangeJournal.event_id)))
        assert len(applied) == len(set(applied)) == len(events)
        assert set(applied) == set(events)
        assert s.scalar(select(func.count()).select_from(Inbox)) == len(events)
        assert s.scalar(select(func.count()).select_from(Outbox).where(Outbox.status != "sent")) == 0
    home.bridge.flush_custody()
    assert home.bridge.custody.count_by_event().get("applied") == len(events)
    report = home.bridge.custody.verify()
    assert report.ok, report


def test_worker_killed_ten_times_while_40000_events_flow(home: Home) -> None:
    load(home.bridge.sessions, home.bridge.mynumber, people=500, seed=21, nendo=2026)
    events = change_shikaku(home.bridge.sessions, home.bridge.keyring, EVENTS, seed=22)
    rng = random.Random(23)
    worker = home.start_worker()
    for _ in range(10):
        # Each kill lands while events are being applied: after progress, at a random moment.
        before = journal_count(home)
        wait_until(lambda before=before: journal_count(home) > before, 60, "the worker to make progress")
        time.sleep(rng.uniform(0.0, 0.2))
        assert worker.poll() is None, home.worker_logs()
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait()
        worker = home.start_worker()
    assert journal_count(home) < EVENTS, "the run finished before the kills ended: nothing was tested"
    assert_exactly_once(home, events)


def test_broker_restarted_mid_run(home: Home) -> None:
    load(home.bridge.sessions, home.bridge.mynumber, people=500, seed=31, nendo=2026)
    events = change_shikaku(home.bridge.sessions, home.bridge.keyring, EVENTS, seed=32)
    home.start_worker()
    wait_until(lambda: journal_count(home) > 2000, 60, "the run to be under way")
    home.rabbit.restart()
    assert journal_count(home) < EVENTS, "the run finished before the restart: nothing was tested"
    assert_exactly_once(home, events)
    assert "reconnecting" in home.worker_logs() or "broker unavailable" in home.worker_logs()


def test_delivery_killed_mid_file_arrives_once_whole(home: Home) -> None:
    """Kill the worker while a file is being written; after restart each file exists once, whole.

    The write lasts some milliseconds, so a try can miss it (the file completes first); each try
    runs the flow again for a new transfer, and the test insists that one try was caught."""
    load(home.bridge.sessions, home.bridge.mynumber, people=20_000, seed=41, nendo=2026)
    drop = home.config.partners["vendor-a"].path
    interrupted: str | None = None
    for edition in range(1, 6):
        run = home.cli_json("run", "print.hokenryo", "--nendo", "2026", "--edition", str(edition))
        transfer_id = run["transfer_ids"][0]
        part, final = drop / f".{transfer_id}.csv.part", drop / f"{transfer_id}.csv"
        worker = home.start_worker("--routes", "print.deliver")
        deadline = time.monotonic() + 60
        while not part.exists() and not final.exists() and time.monotonic() < deadline:
            time.sleep(0.0002)
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait()
        if part.exists() and not final.exists():
            interrupted = transfer_id
            break
    assert interrupted is not None, "never caught the worker mid-file: nothing was tested"

    home.start_worker("--routes", "print.deliver")

    def all_sent() -> bool:
        with home.bridge.sessions() as s:
            return set(s.scalars(select(Transfer.state))) == {"sent"}

    wait_until(all_sent, 60, "every transfer sent")
    wait_until(lambda: sum(home.queue_totals().values()) == 0, 60, "every queue empty")
    home.stop_all()
    with home.bridge.sessions() as s:
        transfers = {t.id: t for t in s.scalars(select(Transfer))}
    assert sorted(p.name for p in drop.iterdir()) == sorted(f"{tid}.csv" for tid in transfers)
    for tid, transfer in transfers.items():
        assert transfer.state == "sent"
        assert hashlib.sha256((drop / f"{tid}.csv").read_bytes()).hexdigest() == transfer.sha256
    home.bridge.flush_custody()
    events = [e.event for e in home.bridge.custody.chain(interrupted)]
    assert events == ["extracted", "encrypted", "queued", "sent"]
