"""`kaigo-bridge nenkin calendar` as an operator runs it, against a real installation's store with
transfers of the calendar's flows in several states (a Z14 of answers to a Z1A among them, told from
the 天引結果 by the 通知内容コード of its records); the nenkin commands' help."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

from adapters.nenkin.lists import LISTS
from store.models import TokuchoKekka, Transfer
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
            # Answers (a 32) to a Z1A, in July: not the 天引結果 July waits for.
            t("z14-2026-07", "nenkin.z14", "in", "applied", datetime(2026, 7, 17, tzinfo=JST)),
        ])
        s.flush()
        s.add(TokuchoKekka(nendo=2026, ki=4, kiso_nenkin_no="9000000017", nenkin_code="1150", file_kind="Z14",
                           tsuchi_naiyo_code="32", kakushu_kubun="01", shori_kekka="00", transfer_id="z14-2026-07"))


def by_month_and_file(report: dict[str, Any]) -> dict[str, tuple[str, list[str]]]:
    """{"2026-05 Z11": …, "2026-05 Z14 22": …, "2026-05 Z14 32/42/62/82": …}"""
    return {" ".join([m["month"], f["file"], *(["/".join(f["codes"])] if f["codes"] else [])]):
            (f["status"], [f"{x['id']}:{x['state']}" for x in f["transfers"]])
            for m in report["months"] for f in m["files"]}


def test_calendar_json_and_table(home: Home) -> None:
    add_transfers(home)
    report = home.cli_json("nenkin", "calendar", "--nendo", "2026", "--as-of", "2026-09-15")
    assert report["nendo"] == 2026 and report["as_of"] == "2026-09-15"
    assert report["flows"] == ["nenkin.z11", "nenkin.z12", "nenkin.z1a", "nenkin.z13", "nenkin.z14"]
    got = by_month_and_file(report)
    assert got["2026-05 Z11"] == ("done", ["z11-2026:applied"])
    assert got["2026-05 Z14 22"] == ("overdue", ["z14-2026-05:quarantined"])
    assert got["2026-05 Z14 32/42/62/82"] == ("overdue", ["z14-2026-05:quarantined"])  # which one: not known
    assert got["2026-07 Z12"] == ("done", ["z12-2026:sent"])
    assert got["2026-07 Z14 22"] == ("overdue", [])  # the Z14 that came holds answers, not 天引結果
    assert got["2026-07 Z14 32/42/62/82"] == ("done", ["z14-2026-07:applied"])
    assert got["2026-08 Z13"] == ("overdue", ["z13-2026-08:received"])  # came, never applied
    assert got["2026-09 Z1A"] == ("overdue", ["z1a-2026-09:held"])
    assert got["2026-09 Z14 22"] == ("pending", [])
    assert got["2026-09 Z14 32/42/62/82"] == ("none", [])  # nothing sent in August
    assert got["2026-06 Z1A"] == ("none", [])
    # done: 5月 Z11, 7月 Z12, 7月 Z14 answers; overdue: 5月 both Z14, 7月 Z14 22, 8月 Z13, 9月 Z1A;
    # none: 4月 Z1A and answers, 5月 Z1A, 6月 Z1A and answers, 8月 Z1A and answers, 9月 answers.
    assert report["counts"] == {"done": 3, "pending": 16, "overdue": 5, "none": 8}
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
    assert "done 3 · pending 16 · overdue 5 · none 8" in table
    z14_jul = next(line for line in table.splitlines() if "z14-2026-07 applied" in line)
    assert "Z14 (32/42/62/82)" in z14_jul and "done" in z14_jul and "Z1A の処理結果" in z14_jul
    assert "Z14 (22)" in table and "6月 仮徴収の天引結果" in table


def test_the_help_names_every_list_and_status(home: Home) -> None:
    lists = ("unmatched", "stopped", "refused", "unanswered")
    assert set(LISTS) == set(lists)  # a new list must be named here, and in the help
    home.env["COLUMNS"] = "220"
    helped = home.cli("nenkin", "list", "--help").stdout
    assert all(f"{name} (" in helped for name in lists), helped
    helped = home.cli("nenkin", "calendar", "--help").stdout
    assert "done, pending, overdue or none" in helped, helped


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
