"""The 年金特徴 calendar counts a file for the month it is for — by what it holds — not for the
month the store happened to make or receive it (bridge/commands/nenkin_months.py): the demo's
case, a whole year's first files received and sent in one December day, and a ward catching up.
A month whose file truly never came stays overdue. Rows are written by hand into a real (SQLite)
store, as the loaders and runs leave them."""

from __future__ import annotations

import zlib
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

import settings as config_module
from bridge.commands.nenkin import calendar_status
from settings import NenkinCalendar
from store.models import TokuchoKekka, TokuchoTaisho, Transfer

REPO = Path(__file__).resolve().parents[2]
JST = timezone(timedelta(hours=9))
DECEMBER = datetime(2026, 12, 8, 10, tzinfo=JST)  # the day everything below was made or received


@pytest.fixture(scope="module")
def cal() -> NenkinCalendar:
    return config_module.load(REPO / "config").nenkin


def transfer(s: Session, tid: str, flow: str, direction: str, state: str, batch: str | None = None,
             at: datetime = DECEMBER) -> None:
    s.add(Transfer(id=tid, flow=flow, partner="keiyu", direction=direction, sha256="0" * 64, size=1, key_id="k",
                   payload_ref=tid, state=state, batch=batch, created_at=at, updated_at=at))
    s.flush()


def kekka(s: Session, tid: str, nendo: int, ki: int, kind: str = "Z14", code: str = "22") -> None:
    s.add(TokuchoKekka(nendo=nendo, ki=ki, kiso_nenkin_no=f"{zlib.crc32(tid.encode()):010d}", nenkin_code="1150",
                       file_kind=kind, tsuchi_naiyo_code=code, shori_kekka="00", transfer_id=tid))


def taisho(s: Session, tid: str, nendo: int) -> None:
    s.add(TokuchoTaisho(nendo=nendo, hosoku_month="04", tsuchi_naiyo_code="00", gimusha_code="001",
                        kiso_nenkin_no="0000000001", nenkin_code="1150", birth_date=date(1950, 4, 2), sex="1",
                        name_kana="ｶｲｺﾞ ﾀﾛｳ", kingaku1=0, kingaku2=0, kingaku3=0, match_state="unmatched",
                        transfer_id=tid))


def statuses(store: sessionmaker[Session], cal: NenkinCalendar, nendo: int = 2026,
             as_of: date = date(2026, 12, 8)) -> dict[str, tuple[str, list[str]]]:
    with store() as s:
        report = calendar_status(s, cal, nendo, as_of)
    return {" ".join([m["month"], f["file"], *(["/".join(f["codes"])] if f["codes"] else [])]):
            (f["status"], [f"{t['id']} {t['state']} {t['made']}" for t in f["transfers"]])
            for m in report["months"] for f in m["files"]}


def test_files_received_and_sent_late_count_for_their_month(store: sessionmaker[Session],
                                                            cal: NenkinCalendar) -> None:
    with store.begin() as s:
        transfer(s, "z11", "nenkin.z11", "in", "applied")
        taisho(s, "z11", 2026)
        transfer(s, "z14-kari", "nenkin.z14", "in", "applied")
        kekka(s, "z14-kari", 2026, 1)  # the April 仮徴収's results
        transfer(s, "z12-001", "nenkin.z12", "out", "sent", batch="nenkin.z12/001/2026")
        transfer(s, "z12-002", "nenkin.z12", "out", "receipted", batch="nenkin.z12/002/2026")
        transfer(s, "z13", "nenkin.z13", "in", "applied")
        kekka(s, "z13", 2026, 4, kind="Z13", code="02")
        transfer(s, "z1a", "nenkin.z1a", "out", "sent", batch="nenkin.z1a/00101/202609/31")
        # The 年度 before's last 天引結果 (期6, February 2026), received only now.
        transfer(s, "z14-feb", "nenkin.z14", "in", "applied")
        kekka(s, "z14-feb", 2025, 6)
    got = statuses(store, cal)
    made = "2026-12-08"
    assert got["2026-05 Z11"] == ("done", [f"z11 applied {made}"])
    assert got["2026-05 Z14 22"] == ("done", [f"z14-kari applied {made}"])
    assert got["2026-07 Z12"] == ("done", [f"z12-001 sent {made}", f"z12-002 receipted {made}"])
    assert got["2026-08 Z13"] == ("done", [f"z13 applied {made}"])
    assert got["2026-09 Z1A"] == ("done", [f"z1a sent {made}"])
    # The months whose file truly never came are overdue; December holds none of these files.
    assert got["2026-07 Z14 22"] == ("overdue", [])
    assert got["2026-09 Z14 22"] == ("overdue", [])
    assert got["2026-11 Z14 22"] == ("overdue", [])
    assert got["2026-12 Z1A"] == ("pending", [])
    assert not [k for k, (_s, ts) in got.items() if k.startswith("2026-12") and ts]
    # The 年度 before's file is its own calendar's: March 2026 done there, nothing of it in 2026.
    assert statuses(store, cal, nendo=2025)["2026-03 Z14 22"] == ("done", [f"z14-feb applied {made}"])
    assert not [k for k, (_s, ts) in got.items() if any(t.startswith("z14-feb") for t in ts)]


def test_without_content_a_file_goes_by_when_it_came(store: sessionmaker[Session], cal: NenkinCalendar) -> None:
    # Received, not applied yet: nothing it holds is known, so December's — and May is still missing.
    with store.begin() as s:
        transfer(s, "z11", "nenkin.z11", "in", "received")
        transfer(s, "z12-odd", "nenkin.z12", "out", "sent", batch="not-a-z12-batch")
    got = statuses(store, cal)
    assert got["2026-05 Z11"] == ("overdue", [])
    assert got["2026-07 Z12"] == ("overdue", [])
