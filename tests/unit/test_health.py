"""The heartbeat's masked causes and the judgement ``status`` makes of heartbeats and backlog
(queues/health.py, queues/status_report.py): plain data in, verdicts out."""

from __future__ import annotations

import os
import socket
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.exc import OperationalError

from queues import health
from queues.health import Board, cause
from queues.status import Backlog, Retrying, RouteStatus
from queues.status_report import Facts, judge

NOW = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)


def test_a_cause_names_its_kind_and_hides_names_numbers_and_sql() -> None:
    said = cause(ValueError("custody detail of KYUFU_202601011230.csv in /srv/drop/kokuho: 1234-5678-9012"))
    assert said.startswith("ValueError: ")
    assert "202601011230" not in said and "/srv/drop" not in said and "1234-5678-9012" not in said
    assert "********9012" in said and "file#" in said
    # The same name, the same hash: an operator can still tell files apart.
    assert cause(ValueError("a.CSV")) == cause(ValueError("a.CSV"))
    # Our own dotted names stay readable.
    assert "kokuho.kyufu" in cause(RuntimeError("inbound:kokuho.kyufu stalled"))
    # A database error: the driver's first line, never SQLAlchemy's SQL and parameters.
    db = OperationalError("INSERT INTO atena VALUES (?)", ("123456789012",), sqlite3.OperationalError("disk is full"))
    assert cause(db) == "OperationalError: disk is full"
    assert cause(KeyError()) == "KeyError"


def beat(duties: dict[str, dict[str, Any]], *, pid: int | None = None, updated: datetime = NOW) -> dict[str, Any]:
    return {"role": "worker", "host": socket.gethostname(), "pid": pid or os.getpid(),
            "started": (NOW - timedelta(hours=1)).isoformat(), "updated": updated.isoformat(), "tick": 5.0,
            "duties": duties}


def duty(every: float = 5.0, failures: int = 0, success: datetime | None = NOW,
         error: str | None = None) -> dict[str, Any]:
    return {"every": every, "failures": failures, "total_failures": failures, "last_error": error,
            "last_run": NOW.isoformat(), "last_success": success.isoformat() if success else None}


def test_all_well_is_exit_0() -> None:
    report = judge(Facts(beats=[beat({"relay": duty(), "chukan.retention": duty(every=86400)})], now=NOW,
                         backlog=Backlog(3, NOW - timedelta(seconds=2), 0), routes=[RouteStatus("r", 0, 0, 0, 0, 1)]))
    assert (report["health"], report["exit"], report["problems"]) == ("正常", 0, [])
    assert report["outbox"]["pending"] == 3 and report["checked_at"] == "2026-12-07 12:00:00 JST"


def test_a_duty_failing_past_its_threshold_is_abnormal_with_its_cause() -> None:
    failing = duty(failures=health.FAILURE_LIMIT, error="OSError: file#1234abcd")
    report = judge(Facts(beats=[beat({"inbound:kokuho.kyufu": failing, "relay": duty()})], now=NOW))
    assert report["exit"] == 1
    [row] = [d for d in report["duties"] if d["duty"] == "inbound:kokuho.kyufu"]
    assert row["state"] == "異常" and row["last_error"] == "OSError: file#1234abcd"
    assert "file#1234abcd" in report["problems"][0]["what"] and report["problems"][0]["next"]
    # One failure fewer: still healthy (it retries by itself).
    report = judge(Facts(beats=[beat({"x": duty(failures=health.FAILURE_LIMIT - 1)})], now=NOW))
    assert report["exit"] == 0


def test_a_duty_without_success_for_too_many_intervals_is_abnormal() -> None:
    late = NOW - timedelta(seconds=3 * 5 + health.GRACE + 1)
    assert judge(Facts(beats=[beat({"housekeeping": duty(success=late)})], now=NOW))["exit"] == 1
    assert judge(Facts(beats=[beat({"housekeeping": duty(success=NOW - timedelta(seconds=10))})], now=NOW))["exit"] == 0


def test_a_process_gone_or_silent_is_stopped() -> None:
    gone = beat({"relay": duty()}, pid=2**22 + 12345)  # no such pid on this host
    report = judge(Facts(beats=[gone], now=NOW))
    assert report["exit"] == 1 and report["duties"][0]["state"] == "停止"
    silent = beat({"relay": duty()}, updated=NOW - timedelta(seconds=health.SILENT_TICKS * 5 + 1))
    assert judge(Facts(beats=[silent], now=NOW))["exit"] == 1


def running(**facts: Any) -> Facts:
    """Facts with one healthy worker."""
    return Facts(beats=[beat({"relay": duty()})], now=NOW, **facts)


def test_what_waits_for_an_operator_is_exit_3_and_notes_are_exit_0() -> None:
    dead = judge(running(routes=[RouteStatus("core.changes", 0, 0, 0, 2, 1)]))
    assert dead["exit"] == 3 and dead["dead_letters"] == 2 and "dead list core.changes" in dead["problems"][0]["next"]
    assert judge(running(quarantined=1))["exit"] == 3
    assert judge(running(deletion_overdue=1))["exit"] == 3
    note = judge(running(retrying=[Retrying("t1", NOW.isoformat(), "attempt 1: boom")]))
    assert note["exit"] == 0 and note["problems"][0]["level"] == "注意" and note["retrying"][0]["last_error"]
    assert judge(Facts(beats=[], now=NOW))["problems"][0]["what"] == "稼働中のワーカーがありません"


def test_an_outbox_not_draining_or_an_unreachable_broker_is_abnormal() -> None:
    stuck = judge(running(backlog=Backlog(10_000, NOW - timedelta(minutes=6), 0)))
    assert stuck["exit"] == 1 and "10000" in stuck["problems"][0]["what"]
    assert judge(running(broker_error="URLError: refused"))["exit"] == 1
    assert judge(running(store_error="OperationalError: disk is full"))["exit"] == 1


def test_the_heartbeat_file_is_private_and_goes_with_a_clean_stop(tmp_path: Path) -> None:
    board = Board(tmp_path, "worker")
    board.add("relay", 5.0)
    board.ran("relay", "ValueError: x")
    assert board.path.stat().st_mode & 0o777 == 0o600
    assert board.folder.stat().st_mode & 0o777 == 0o700
    [read] = health.read_all(tmp_path)
    assert read["duties"]["relay"]["failures"] == 1 and read["duties"]["relay"]["last_error"] == "ValueError: x"
    board.close()
    assert health.read_all(tmp_path) == []
