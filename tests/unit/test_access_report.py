"""The access report's flags on a seeded access log (a real SQLite database, events recorded through
AccessLog.record with explicit times): a normal Monday flags nothing; a Tuesday with off-hours use,
bulk reads, repeated look-ups, failed logins, a lockout and use by a disabled account flags each,
naming who, when (JST) and what; a Saturday is off hours all day. Expected flags typed by hand."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from bridge.staff import access_report
from bridge.staff.access_log import AccessLog
from queues.custody import CustodyLog

JST = timezone(timedelta(hours=9))
P1, P2 = "131120000000001", "131120000000002"  # 宛名番号 (15 digits)


def at(day: int, hh: int, mm: int, ss: int = 0) -> datetime:
    return datetime(2026, 12, day, hh, mm, ss, tzinfo=JST)


def seed(log: AccessLog) -> None:
    """Monday 2026-12-07 (normal), Tuesday 2026-12-08 (everything to flag), Saturday 2026-12-12."""
    r = log.record
    # --- Monday: office hours, below every threshold --------------------------------------
    r("login_failed", "clerk-a", "login", outcome="failed", at=at(7, 8, 55))
    r("login", "clerk-a", "login", at=at(7, 9, 0))
    r("viewed", "clerk-a", "transfers show", record="t-1", count=40, at=at(7, 9, 10))
    r("viewed", "clerk-a", "atena show", subject=P1, record="a-1", count=1, at=at(7, 10, 0))
    r("viewed", "clerk-a", "nenkin list stopped", record="nenkin stopped 2026", count=99, at=at(7, 11, 0))
    r("viewed", "clerk-d", "nenkin list stopped", record="nenkin stopped 2026", count=99,
      subject=[f"1311200000{i:05d}" for i in range(100, 199)], at=at(7, 11, 30))
    r("account_changed", "admin", "operators disable", record="clerk-b", detail="disabled", at=at(7, 13, 0))
    r("account_changed", "admin", "operators enable", record="clerk-b", detail="enabled", at=at(7, 13, 30))
    r("login", "clerk-b", "login", at=at(7, 14, 0))
    r("viewed", "clerk-a", "atena show", subject=P1, record="a-1", count=1, at=at(7, 14, 0))
    r("logout", "clerk-a", "logout", at=at(7, 18, 59, 59))
    # --- Tuesday -----------------------------------------------------------------------------
    r("viewed", "clerk-x", "nenkin list stopped", record="nenkin stopped 2026", count=500, at=at(8, 8, 30))
    r("login_failed", "clerk-f", "login", outcome="failed", at=at(8, 9, 0))
    r("login_failed", "clerk-f", "login", outcome="failed", at=at(8, 9, 1))
    r("login_failed", "clerk-f", "login", outcome="failed", at=at(8, 9, 2))
    r("locked", "clerk-g", "login", record="clerk-g", outcome="refused", at=at(8, 9, 30))
    r("viewed", "clerk-a", "nenkin list stopped", record="nenkin stopped 2026", count=100, at=at(8, 10, 0))
    for i in range(100):  # 100 persons one by one, 30 s apart: 49.5 minutes
        r("viewed", "clerk-d", "atena show", subject=f"1311200000{i:05d}", record=f"a-{i}", count=1,
          at=at(8, 11, 0) + timedelta(seconds=30 * i))
    r("account_changed", "admin", "operators disable", record="clerk-h", detail="disabled", at=at(8, 12, 0))
    r("viewed", "clerk-h", "transfers show", record="t-2", count=3, at=at(8, 12, 30))
    for hh, mm in ((13, 0), (13, 5), (16, 0)):
        r("viewed", "clerk-a", "atena show", subject=P2, record="a-2", count=1, at=at(8, hh, mm))
    r("login", "clerk-c", "login", at=at(8, 22, 10))
    r("viewed", "clerk-c", "transfers show", record="t-3", count=7, at=at(8, 22, 15))
    r("logout", "clerk-c", "logout", at=at(8, 22, 30))
    # --- Saturday: office hours, but a weekend -------------------------------------------------
    r("viewed", "clerk-a", "transfers show", record="t-4", count=2, at=at(12, 10, 0))
    # --- Monday again (recorded last: the chain's order is not the time's) -------------------
    for i in range(100):  # 100 persons one by one, 40 s apart: 66 minutes, at most 91 within an hour
        r("viewed", "clerk-e", "atena show", subject=f"1311200001{i:05d}", record=f"a-{i}", count=1,
          at=at(7, 15, 0) + timedelta(seconds=40 * i))


@pytest.fixture
def access(tmp_path: Path) -> Iterator[AccessLog]:
    key = tmp_path / "signing.pem"
    CustodyLog.create_signing_key(key)
    log = AccessLog(f"sqlite:///{tmp_path}/access.db", signing_key_path=key)
    log.create_schema()
    seed(log)
    yield log
    log.dispose()


def flags(access: AccessLog, first: str, last: str) -> list[tuple[str, str, str, str]]:
    result = access_report.report(access, date.fromisoformat(first), date.fromisoformat(last))
    assert all(f["next"] for f in result["flags"])
    return [(f["rule"], f["actor"], f["at"], f["what"]) for f in result["flags"]]


def test_a_normal_day_flags_nothing(access: AccessLog) -> None:
    result = access_report.report(access, date(2026, 12, 7), date(2026, 12, 7))
    assert result["flags"] == []
    assert result["events"] == 111  # the 08:30 JST Tuesday read (Monday 23:30 UTC) is Tuesday's
    clerk_a = next(o for o in result["operators"] if o["actor"] == "clerk-a")
    assert clerk_a["sessions"] == [{"login": "2026-12-07 09:00:00", "logout": "2026-12-07 18:59:59"}]
    assert clerk_a["counts"] == {"login": 1, "login_failed": 1, "logout": 1, "viewed": 4}
    assert clerk_a["rows_viewed"] == 141


def test_each_rule_flags_its_day(access: AccessLog) -> None:
    assert flags(access, "2026-12-08", "2026-12-08") == [
        ("bulk_read", "clerk-x", "2026-12-08 08:30:00", "nenkin list stopped showed 500 rows (nenkin stopped 2026)"),
        ("failed_logins", "clerk-f", "2026-12-08 09:00:00", "3 failed logins on 2026-12-08"),
        ("locked", "clerk-g", "2026-12-08 09:30:00", "account clerk-g locked after failed logins"),
        ("bulk_read", "clerk-a", "2026-12-08 10:00:00", "nenkin list stopped showed 100 rows (nenkin stopped 2026)"),
        ("bulk_read", "clerk-d", "2026-12-08 11:00:00",
         "100 distinct persons viewed within an hour, 2026-12-08 11:00:00–2026-12-08 11:49:30"),
        ("disabled_use", "clerk-h", "2026-12-08 12:30:00",
         "viewed (transfers show) by an account disabled since 2026-12-08 12:00:00"),
        ("repeated_lookup", "clerk-a", "2026-12-08 13:00:00", f"person {P2} viewed 3 times on 2026-12-08"),
        ("off_hours", "clerk-c", "2026-12-08 22:10:00",
         "3 event(s) outside 08:00–19:00 JST or on a weekend, 2026-12-08 22:10:00–2026-12-08 22:30:00 "
         "(login, logout, transfers show)"),
    ]


def test_a_weekend_is_off_hours_all_day(access: AccessLog) -> None:
    assert flags(access, "2026-12-12", "2026-12-12") == [
        ("off_hours", "clerk-a", "2026-12-12 10:00:00",
         "1 event(s) outside 08:00–19:00 JST or on a weekend, 2026-12-12 10:00:00–2026-12-12 10:00:00 "
         "(transfers show)"),
    ]


def test_an_account_disabled_before_the_window_is_still_disabled(access: AccessLog) -> None:
    """The disabling on Tuesday is read although the report starts on Friday."""
    access.record("viewed", "clerk-h", "transfers show", record="t-5", count=1, at=at(11, 9, 0))
    assert flags(access, "2026-12-11", "2026-12-11") == [
        ("disabled_use", "clerk-h", "2026-12-11 09:00:00",
         "viewed (transfers show) by an account disabled since 2026-12-08 12:00:00"),
    ]
