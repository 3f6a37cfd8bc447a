"""`kaigo-bridge nenkin calendar` as an operator runs it, against a real installation's store with
transfers of the calendar's flows in several states."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

from adapters.core.models import Transfer
from tests.harness import Home

JST = timezone(timedelta(hours=9))


def add_transfers(home: Home) -> None:
    def t(tid: str, flow: str, direction: str, state: str, at: datetime) -> Transfer:
        return Transfer(id=tid, flow=flow, partner="keiyu", direction=direction, sha256="0" * 64, size=1,
                        key_id="k", payload_ref=tid, state=state, created_at=at, updated_at=at)

    with home.bridge.sessions.begin() as s:
        s.add_all([
            t("z11-2026", "nenkin.z11", "in", "applied", datetime(2026, 5, 21, 9, tzinfo=JST)),
            t("z14-2026-05", "nenkin.z14", "in", "quarantined", datetime(2026, 5, 15, tzinfo=JST)),
            t("z12-2026", "nenkin.z12", "out", "sent", datetime(2026, 7, 24, tzinfo=JST)),
            t("z13-2026-08", "nenkin.z13", "in", "received", datetime(2026, 8, 19, tzinfo=JST)),
            t("z1a-2026-09", "nenkin.z1a", "out", "held", datetime(2026, 9, 2, tzinfo=JST)),
        ])


def by_month_and_file(report: dict[str, Any]) -> dict[str, tuple[str, list[str]]]:
    return {f"{m['month']} {f['file']}": (f["status"], [f"{x['id']}:{x['state']}" for x in f["transfers"]])
            for m in report["months"] for f in m["files"]}


def test_calendar_json_and_table(home: Home) -> None:
    add_transfers(home)
    report = home.cli_json("nenkin", "calendar", "--nendo", "2026", "--as-of", "2026-09-15")
    assert report["nendo"] == 2026 and report["as_of"] == "2026-09-15"
    assert report["flows"] == ["nenkin.z11", "nenkin.z12", "nenkin.z1a", "nenkin.z13", "nenkin.z14"]
    got = by_month_and_file(report)
    assert got["2026-05 Z11"] == ("done", ["z11-2026:applied"])
    assert got["2026-05 Z14"] == ("overdue", ["z14-2026-05:quarantined"])
    assert got["2026-07 Z12"] == ("done", ["z12-2026:sent"])
    assert got["2026-07 Z14"] == ("overdue", [])
    assert got["2026-08 Z13"] == ("overdue", ["z13-2026-08:received"])  # came, never applied
    assert got["2026-09 Z1A"] == ("overdue", ["z1a-2026-09:held"])
    assert got["2026-09 Z14"] == ("pending", [])
    assert got["2026-06 Z1A"] == ("none", [])
    assert report["counts"] == {"done": 2, "pending": 16, "overdue": 4, "none": 9}
    assert [(m["month"], m["collection"], m["ki"]) for m in report["months"] if m["collection"]] == [
        ("2026-04", "kari", 1), ("2026-06", "kari", 2), ("2026-08", "kari", 3), ("2026-10", "hon", 4),
        ("2026-12", "hon", 5), ("2027-02", "hon", 6)]  # fmt: skip

    home.env["COLUMNS"] = "220"  # the table as a wide terminal shows it
    table = home.cli("nenkin", "calendar", "--nendo", "2026", "--as-of", "2026-09-15").stdout
    assert "年金特徴 calendar 2026年度 (as of 2026-09-15)" in table
    z14_may = next(line for line in table.splitlines() if "z14-2026-05 quarantined" in line)
    assert "overdue" in z14_may and "2026-05-20" in z14_may
    assert "仮徴収 1期" in table and "本徴収 6期" in table
    assert "flows: nenkin.z11, nenkin.z12, nenkin.z1a, nenkin.z13, nenkin.z14" in table
    assert "done 2 · pending 16 · overdue 4 · none 9" in table


def test_this_nendo_by_default(home: Home) -> None:
    today = datetime.now(JST).date()
    expected = today.year if today.month >= 4 else today.year - 1
    report = home.cli_json("nenkin", "calendar")
    assert report["nendo"] == expected and report["as_of"] == today.isoformat()
    assert report["months"][0]["month"] == f"{expected}-04"


def test_a_bad_nendo_is_a_clear_error(home: Home) -> None:
    for value in ("26", "1999", "next"):
        result = home.cli("nenkin", "calendar", "--nendo", value, check=False)
        assert result.returncode == 2, result
        assert "--nendo: a 年度 is a year of four digits from 2000" in result.stderr
        assert f"got {value!r}" in result.stderr and result.stdout == ""
    result = home.cli("nenkin", "calendar", "--as-of", "yesterday", "--json", check=False)
    assert result.returncode == 2 and "--as-of: a date is YYYY-MM-DD, got 'yesterday'" in result.stderr
    assert json.loads(home.cli("nenkin", "calendar", "--nendo", "2000", "--json").stdout)["nendo"] == 2000
