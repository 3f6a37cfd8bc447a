"""The 年金特徴 calendar judged against a real (SQLite) store's transfers: done, pending, overdue
and none, month boundaries in Japan time, answers looking back across the 年度, the two Z14s of a
month told apart by the 通知内容コード of the records they applied, bad 年度."""

from __future__ import annotations

import zlib
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

import settings as config_module
from bridge.commands.nenkin import CalendarError, calendar_status, parse_as_of, parse_nendo
from settings import NenkinCalendar
from store.models import TokuchoKekka, Transfer

REPO = Path(__file__).resolve().parents[2]
JST = timezone(timedelta(hours=9))
ANS = "32/42/62/82"  # the Z14 entry of the answers to a Z1A (the 天引結果's is "22")


@pytest.fixture(scope="module")
def cal() -> NenkinCalendar:
    return config_module.load(REPO / "config").nenkin


def add(store: sessionmaker[Session], tid: str, flow: str, direction: str, state: str, at: datetime) -> None:
    with store.begin() as s:
        s.add(Transfer(id=tid, flow=flow, partner="keiyu", direction=direction, sha256="0" * 64, size=1,
                       key_id="k", payload_ref=tid, state=state, created_at=at, updated_at=at))


def results(store: sessionmaker[Session], tid: str, *codes: str, ki: int = 1) -> None:
    """A result record (tokucho_kekka) of each 通知内容コード, as applying transfer ``tid`` leaves;
    ``ki``: the 期 a 天引結果 (22) reports, which says the month it is for (the one after ``ki``'s)."""
    with store.begin() as s:
        person = zlib.crc32(tid.encode()) % 10**6  # synthetic 基礎年金番号, distinct per transfer
        for i, code in enumerate(codes):
            s.add(TokuchoKekka(nendo=2026, ki=ki, kiso_nenkin_no=f"{person:06d}{i:04d}", nenkin_code="1150",
                               file_kind="Z14", tsuchi_naiyo_code=code, shori_kekka="00", transfer_id=tid))


def statuses(store: sessionmaker[Session], cal: NenkinCalendar, as_of: date, nendo: int = 2026) -> dict[str, Any]:
    """{"2026-05 Z11": ("done", ["z11 applied"]), "2026-05 Z14 22": …, "2026-05 Z14 32/42/62/82": …}"""
    with store() as s:
        report = calendar_status(s, cal, nendo, as_of)
    got = {" ".join([m["month"], f["file"], *(["/".join(f["codes"])] if f["codes"] else [])]):
           (f["status"], [f"{t['id']} {t['state']}" for t in f["transfers"]])
           for m in report["months"] for f in m["files"]}
    assert len(got) == sum(len(m["files"]) for m in report["months"])  # no two entries share a key
    return got


def test_an_empty_store_early_in_the_year(store: sessionmaker[Session], cal: NenkinCalendar) -> None:
    got = statuses(store, cal, date(2026, 4, 15))
    assert got["2026-04 Z1A"] == ("none", [])  # conditional, past its 10th, nothing made
    assert got[f"2026-04 Z14 {ANS}"] == ("none", [])  # nothing sent in March 2026 to answer
    assert got["2026-05 Z11"] == ("pending", [])
    assert got["2026-05 Z14 22"] == ("pending", [])
    assert got["2026-05 Z1A"] == ("pending", [])
    assert got[f"2026-05 Z14 {ANS}"] == ("pending", [])  # April not over: something may still be sent
    assert {v[0] for k, v in got.items() if k >= "2026-05"} == {"pending"}


def test_done_pending_overdue_and_none(store: sessionmaker[Session], cal: NenkinCalendar) -> None:
    add(store, "z11", "nenkin.z11", "in", "applied", datetime(2026, 5, 20, 10, tzinfo=JST))
    add(store, "z14-may", "nenkin.z14", "in", "quarantined", datetime(2026, 5, 12, tzinfo=JST))
    add(store, "z12", "nenkin.z12", "out", "sent", datetime(2026, 7, 15, tzinfo=JST))
    add(store, "z14-jul", "nenkin.z14", "in", "applied", datetime(2026, 7, 16, tzinfo=JST))
    results(store, "z14-jul", "22", "22", ki=2)
    add(store, "z1a-sep", "nenkin.z1a", "out", "held", datetime(2026, 9, 3, tzinfo=JST))
    add(store, "z14-jan", "nenkin.z14", "in", "applied", datetime(2027, 1, 15, tzinfo=JST))
    results(store, "z14-jan", "22", ki=5)
    # Not the calendar's: another flow, and a transfer of a calendar flow the other way.
    add(store, "print", "print.hokenryo", "out", "sent", datetime(2026, 5, 1, tzinfo=JST))
    add(store, "odd", "nenkin.z11", "out", "sent", datetime(2026, 5, 2, tzinfo=JST))

    got = statuses(store, cal, date(2026, 9, 15))
    assert got["2026-05 Z11"] == ("done", ["z11 applied"])
    assert got["2026-05 Z14 22"] == ("overdue", ["z14-may quarantined"])  # received, never applied
    # Never applied, so which Z14 it is is not known: listed under both, and both wait on it.
    assert got[f"2026-05 Z14 {ANS}"] == ("overdue", ["z14-may quarantined"])
    assert got["2026-07 Z12"] == ("done", ["z12 sent"])
    assert got["2026-07 Z14 22"] == ("done", ["z14-jul applied"])
    assert got[f"2026-07 Z14 {ANS}"] == ("none", [])  # z14-jul holds 天引結果; no Z1A in June
    assert got["2026-08 Z13"] == ("overdue", [])  # the answer to July's Z12 never came
    assert got["2026-08 Z1A"] == ("none", [])
    assert got[f"2026-08 Z14 {ANS}"] == ("none", [])  # no Z1A in July
    assert got["2026-09 Z1A"] == ("overdue", ["z1a-sep held"])  # made, stuck past the 10th
    assert got["2026-09 Z14 22"] == ("pending", [])  # due on the 20th
    assert got[f"2026-09 Z14 {ANS}"] == ("none", [])  # nothing sent in August
    assert got[f"2026-10 Z14 {ANS}"] == ("pending", [])  # September's Z1A may still go out
    assert got["2027-01 Z14 22"] == ("done", ["z14-jan applied"])  # January belongs to the 年度 2026
    assert got["2026-06 Z1A"] == ("none", [])
    assert [k for k in got if " Z13" in k] == ["2026-08 Z13"]  # a Z13 answers the Z12 only

    before = statuses(store, cal, date(2026, 8, 5))
    assert before["2026-08 Z13"] == ("pending", [])  # not yet due
    assert before["2026-05 Z14 22"] == ("overdue", ["z14-may quarantined"])


def test_a_z1a_is_answered_by_its_own_z14(store: sessionmaker[Session], cal: NenkinCalendar) -> None:
    add(store, "z1a-aug", "nenkin.z1a", "out", "sent", datetime(2026, 8, 7, tzinfo=JST))
    add(store, "z14-sep", "nenkin.z14", "in", "applied", datetime(2026, 9, 14, tzinfo=JST))
    results(store, "z14-sep", "22", "22", "22", ki=3)
    got = statuses(store, cal, date(2026, 9, 15))
    assert got["2026-09 Z14 22"] == ("done", ["z14-sep applied"])
    assert got[f"2026-09 Z14 {ANS}"] == ("pending", [])  # a Z14 came, but of 天引結果
    assert statuses(store, cal, date(2026, 9, 21))[f"2026-09 Z14 {ANS}"] == ("overdue", [])

    add(store, "z14-sep-ans", "nenkin.z14", "in", "applied", datetime(2026, 9, 18, tzinfo=JST))
    results(store, "z14-sep-ans", "32", "82")
    got = statuses(store, cal, date(2026, 9, 21))
    assert got["2026-09 Z14 22"] == ("done", ["z14-sep applied"])
    assert got[f"2026-09 Z14 {ANS}"] == ("done", ["z14-sep-ans applied"])

    # An even month has the answers' Z14 only.
    add(store, "z1a-sep", "nenkin.z1a", "out", "sent", datetime(2026, 9, 10, tzinfo=JST))
    add(store, "z14-oct", "nenkin.z14", "in", "applied", datetime(2026, 10, 19, tzinfo=JST))
    results(store, "z14-oct", "42")
    got = statuses(store, cal, date(2026, 10, 21))
    assert got[f"2026-10 Z14 {ANS}"] == ("done", ["z14-oct applied"])
    assert [k for k in got if k.startswith("2026-10 Z14")] == [f"2026-10 Z14 {ANS}"]


def test_a_z14_of_unknown_codes(store: sessionmaker[Session], cal: NenkinCalendar) -> None:
    # Applied with no records (an empty file, or one applied before): it makes no entry done, and
    # does not call for an answer nothing asked for.
    add(store, "z14-nov", "nenkin.z14", "in", "applied", datetime(2026, 11, 18, tzinfo=JST))
    # Received and stuck in an even month: nothing was sent in November, yet it waits on an operator.
    add(store, "z14-dec", "nenkin.z14", "in", "received", datetime(2026, 12, 4, tzinfo=JST))
    got = statuses(store, cal, date(2026, 12, 25))
    assert got["2026-11 Z14 22"] == ("overdue", ["z14-nov applied"])
    assert got[f"2026-11 Z14 {ANS}"] == ("none", ["z14-nov applied"])
    assert got[f"2026-12 Z14 {ANS}"] == ("overdue", ["z14-dec received"])


def test_a_stuck_request_is_overdue_and_nothing_answers_it(store: sessionmaker[Session],
                                                          cal: NenkinCalendar) -> None:
    add(store, "z12", "nenkin.z12", "out", "queued", datetime(2026, 7, 28, tzinfo=JST))
    got = statuses(store, cal, date(2026, 8, 25))
    assert got["2026-07 Z12"] == ("overdue", ["z12 queued"])
    assert got["2026-08 Z13"] == ("none", [])


def test_months_are_taken_in_japan_time(store: sessionmaker[Session], cal: NenkinCalendar) -> None:
    # 2026-05-31 15:30 UTC is 1 June 00:30 in Japan: June's, so May's Z11 never came.
    add(store, "z11-late", "nenkin.z11", "in", "applied", datetime(2026, 5, 31, 15, 30, tzinfo=UTC))
    # 2026-06-30 15:30 UTC is 1 July in Japan: July's 天引結果.
    add(store, "z14", "nenkin.z14", "in", "applied", datetime(2026, 6, 30, 15, 30, tzinfo=UTC))
    results(store, "z14", "22", ki=2)
    got = statuses(store, cal, date(2026, 7, 25))
    assert got["2026-05 Z11"] == ("overdue", [])
    assert got["2026-07 Z14 22"] == ("done", ["z14 applied"])
    assert got[f"2026-06 Z14 {ANS}"] == ("none", [])


def test_april_answers_look_back_to_the_previous_nendo(store: sessionmaker[Session], cal: NenkinCalendar) -> None:
    add(store, "z1a-mar", "nenkin.z1a", "out", "receipted", datetime(2026, 3, 9, tzinfo=JST))
    got = statuses(store, cal, date(2026, 4, 21))
    assert got[f"2026-04 Z14 {ANS}"] == ("overdue", [])
    assert statuses(store, cal, date(2026, 4, 21), nendo=2025)["2026-03 Z1A"] == ("done", ["z1a-mar receipted"])
    add(store, "z13-apr", "nenkin.z13", "in", "applied", datetime(2026, 4, 18, tzinfo=JST))  # no Z1A's answer
    assert statuses(store, cal, date(2026, 4, 21))[f"2026-04 Z14 {ANS}"] == ("overdue", [])
    add(store, "z14-apr", "nenkin.z14", "in", "applied", datetime(2026, 4, 18, tzinfo=JST))
    results(store, "z14-apr", "62")
    got = statuses(store, cal, date(2026, 4, 21))
    assert got[f"2026-04 Z14 {ANS}"] == ("done", ["z14-apr applied"])
    assert sorted(k for k in got if k.startswith("2026-04")) == ["2026-04 Z14 32/42/62/82", "2026-04 Z1A"]


def test_the_report_shape(store: sessionmaker[Session], cal: NenkinCalendar) -> None:
    with store() as s:
        report = calendar_status(s, cal, 2026, date(2026, 6, 1))
    assert report["nendo"] == 2026 and report["as_of"] == "2026-06-01"
    assert report["flows"] == ["nenkin.z11", "nenkin.z12", "nenkin.z1a", "nenkin.z13", "nenkin.z14"]
    assert [m["month"] for m in report["months"]][:2] == ["2026-04", "2026-05"]
    assert report["months"][-1]["month"] == "2027-03"
    april = report["months"][0]
    assert (april["collection"], april["collection_title"], april["ki"]) == ("kari", "仮徴収", 1)
    assert report["months"][1]["collection"] is None
    may_z11 = report["months"][1]["files"][0]
    assert may_z11 == {"file": "Z11", "title": "特別徴収対象者情報", "flow": "nenkin.z11", "direction": "in",
                       "when": "always", "due": "2026-05-31", "status": "overdue", "transfers": [],
                       "note": "捕捉月 04 (4月1日現在)", "codes": []}  # fmt: skip
    may_answers = report["months"][1]["files"][3]
    assert may_answers == {"file": "Z14", "title": "天引結果・異動処理結果情報", "flow": "nenkin.z14",
                           "direction": "in", "when": "answer", "due": "2026-05-20", "status": "none",
                           "transfers": [], "note": "Z1A の処理結果", "codes": ["32", "42", "62", "82"]}  # fmt: skip
    total = sum(len(m["files"]) for m in report["months"])
    # 4月 2, 5月 4, 6月 2, 7月 3, 8月 3, 9月 3, 10月 2, 11月 3, 12月 2, 1月 3, 2月 2, 3月 3
    assert sum(report["counts"].values()) == total == 32


@pytest.mark.parametrize("value", ["abc", "99", "1999", "20260", "２０２６", "2026 ", "2099"])
def test_a_bad_nendo_is_refused_with_its_reason(value: str) -> None:
    with pytest.raises(CalendarError, match=rf"--nendo: a 年度 is a year of four digits from 2000 .* got '{value}'"):
        parse_nendo(value, date(2026, 6, 1))


def test_the_nendo_by_default_and_at_the_edges() -> None:
    assert parse_nendo(None, date(2026, 4, 1)) == 2026
    assert parse_nendo(None, date(2026, 3, 31)) == 2025
    assert parse_nendo(None, date(2027, 2, 10)) == 2026
    assert parse_nendo("2000", date(2026, 6, 1)) == 2000
    with pytest.raises(CalendarError, match="--as-of: a date is YYYY-MM-DD, got '2026-13-01'"):
        parse_as_of("2026-13-01")
