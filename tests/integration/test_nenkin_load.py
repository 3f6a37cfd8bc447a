"""年金特徴 files in through a whole installation: the simulated 経由機関 drops Z11 and Z14 files on
the share, `kaigo-bridge receive` takes them, a worker judges each whole and applies it (Z11:
matched to 宛名; Z14: deducted amounts become 収納, 停止 stop the rest of the 年度's 依頼) or
quarantines it whole with its rule. Expected rows come from the simulator's inputs.

The Z11 matching a chunk at a time runs on a real PostgreSQL too: the checks of
tests/unit/test_nenkin_match.py on a fresh database (IN lists, dates and ON CONFLICT there)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from adapters.nenkin.irai import decide_honcho
from fixtures.nenkin import dta, keiyu, taisho
from fixtures.nenkin.dta import Dta
from fixtures.population import load
from store.models import Shuno, TokuchoIrai, TokuchoKekka, TokuchoTaisho, Transfer
from tests.harness import Home, wait_until
from tests.unit.test_nenkin_match import check_chunks_match_as_one_index, check_kept_a_chunk_at_a_time

NENDO = 2026


def share(home: Home, kind: str) -> Path:
    home.edit_config("flows.toml", lambda t: t.replace("settle_seconds = 2", "settle_seconds = 0"))
    folder = home.config.var / "drop" / "keiyu" / home.config.flow(f"nenkin.{kind.lower()}").folder
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def deliver(home: Home, kind: str, files: list[Dta]) -> list[str]:
    """Drop the files with their done-markers, receive them; the new transfers' ids."""
    folder = share(home, kind)
    for f in files:
        dta.write(folder / f.name, f)
        (folder / f"{f.name}.end").write_bytes(b"")
    taken = home.cli_json("receive", f"nenkin.{kind.lower()}")
    assert all(t["new"] for t in taken) and len(taken) == len(files)
    return [str(t["transfer"]) for t in taken]


def settled(home: Home, transfer_id: str) -> str:
    wait_until(lambda: home.transfer_state(transfer_id) != "received", 90, f"transfer {transfer_id} loaded")
    return home.transfer_state(transfer_id)


def population(home: Home) -> list[taisho.Pensioner]:
    load(home.bridge.sessions, home.bridge.mynumber, people=600, seed=17, nendo=NENDO)
    with home.bridge.sessions() as s:
        return taisho.pensioners(s, NENDO, seed=3, twists={"other_birth": 2, "unknown_kiso": 1})


def test_z11_matched_and_kept_once_the_twisted_listed(home: Home) -> None:
    people = population(home)
    home.start_worker("--routes", "nenkin.load")
    ids = deliver(home, "Z11", taisho.z11(people, NENDO))
    assert [settled(home, t) for t in ids] == ["applied"] * len(ids)
    with home.bridge.read_sessions() as s:
        rows = {(r.kiso_nenkin_no, r.nenkin_code): (r.match_state, r.atena_no, r.hosoku_month, r.gimusha_code)
                for r in s.scalars(select(TokuchoTaisho))}
    assert len(rows) == len(people)
    for p in people:
        state, atena, month, gimusha = rows[p.person.key]
        assert (month, gimusha) == ("04", p.person.gimusha_code)
        if p.twist is None:
            assert (state, atena) == ("matched", p.atena_no)
        else:  # another 生年月日, or a 基礎年金番号 the ward does not hold: never guessed
            assert (state, atena) == ("unmatched", None), p.twist
    listed = home.cli_json("nenkin", "list", "unmatched", "--nendo", str(NENDO))
    twisted = [p for p in people if p.twist is not None]
    assert len(listed) == len(twisted) and {r["state"] for r in listed} == {"unmatched"}
    assert all(r["reason"] for r in listed)
    shown = home.cli("nenkin", "list", "unmatched", "--nendo", str(NENDO)).stdout
    assert {r["kiso_nenkin_no"] for r in listed} == {"******" + p.person.kiso_nenkin_no[-4:] for p in twisted}
    for p in twisted:  # the operator sees the last four digits, never the whole 基礎年金番号
        assert p.person.kiso_nenkin_no not in shown
    # the same files again (new names): nothing changes
    again = [replace(f, baitai_tsuban=2) for f in taisho.z11(people, NENDO)]
    for t in deliver(home, "Z11", again):
        assert settled(home, t) == "applied"
    with home.bridge.read_sessions() as s:
        assert s.scalar(select(func.count()).select_from(TokuchoTaisho)) == len(people)


@pytest.mark.parametrize(("fault", "rule"), [
    ("other_city", "addressee"), ("seido_1", "seido_code"), ("trailer_total", "trailer_total"),
    ("length", "length"), ("truncated", "length"), ("naiyo_differs", "same_as_header"),
    ("bad_encoding", "encoding"), ("trailer_count", "trailer_count"),
])
def test_a_faulty_z11_is_quarantined_whole_with_its_rule(home: Home, fault: str, rule: str) -> None:
    people = population(home)
    home.start_worker("--routes", "nenkin.load")
    files = [f.with_faults(fault) for f in taisho.z11(people, NENDO)[:1]]
    (transfer_id,) = deliver(home, "Z11", files)
    assert settled(home, transfer_id) == "quarantined"
    shown = home.cli_json("quarantine", "show", transfer_id)
    assert rule in {p["rule"] for p in shown}, shown[:5]
    with home.bridge.read_sessions() as s:
        assert s.scalar(select(func.count()).select_from(TokuchoTaisho)) == 0


def test_a_z14_of_the_wrong_kind_or_month_is_refused(home: Home) -> None:
    people = population(home)
    home.start_worker("--routes", "nenkin.load")
    wrong_kind = taisho.z11(people, NENDO)[:1]  # a Z11 dropped where Z14 arrive
    even = keiyu.Keiyu(NENDO).tenbiki([keiyu.Request(p.person, {1: 5000}) for p in people[:5]], 1,
                                      sakusei=date(NENDO, 6, 10))
    ids = deliver(home, "Z14", [*wrong_kind, *even])
    states = {t: settled(home, t) for t in ids}
    assert set(states.values()) == {"quarantined"}
    rules = {p["rule"] for t in ids for p in home.cli_json("quarantine", "show", t)}
    assert {"file_kind", "month"} <= rules


def test_z14_deductions_become_shuno_and_a_stop_ends_the_year(home: Home) -> None:
    people = population(home)
    home.start_worker("--routes", "nenkin.load")
    for t in deliver(home, "Z11", taisho.z11(people, NENDO)):
        assert settled(home, t) == "applied"
    with home.bridge.sessions.begin() as s:
        decided = decide_honcho(s, NENDO)
        s.add(Transfer(id="t-z12", flow="nenkin.z12", partner="keiyu", direction="out", sha256="0" * 64, size=1,
                       key_id="k", payload_ref="p", state="sent"))
        s.flush()
        s.execute(TokuchoIrai.__table__.update().values(status="sent", transfer_id="t-z12"))
    assert decided.created > 0
    with home.bridge.read_sessions() as s:
        asked = {(r.kiso_nenkin_no, r.nenkin_code): {} for r in s.scalars(select(TokuchoIrai))}
        for r in s.scalars(select(TokuchoIrai)):
            asked[(r.kiso_nenkin_no, r.nenkin_code)][r.ki] = r.irai_amount
    requests = [keiyu.Request(p.person, asked[p.person.key]) for p in people if p.person.key in asked]
    stopped = requests[0].person.kiso_nenkin_no
    sim = keiyu.Keiyu(NENDO)
    for ki in (4, 5):
        files = sim.tenbiki(requests, ki, stop={stopped: "02"} if ki == 4 else None)
        for t in deliver(home, "Z14", files):
            assert settled(home, t) == "applied"
    with home.bridge.read_sessions() as s:
        shuno = {(r.ki, r.hihokensha_no): r.amount for r in s.scalars(select(Shuno))}
        irai = {(r.kiso_nenkin_no, r.ki): (r.status, r.hihokensha_no, r.irai_amount)
                for r in s.scalars(select(TokuchoIrai))}
        kekka = s.scalar(select(func.count()).select_from(TokuchoKekka))
    others = [r for r in requests if r.person.kiso_nenkin_no != stopped]
    expected = {(ki, irai[(r.person.kiso_nenkin_no, ki)][1]): r.amounts[ki] for r in others for ki in (4, 5)}
    assert shuno == expected
    assert [irai[(stopped, ki)][0] for ki in (4, 5, 6)] == ["stopped"] * 3
    assert {irai[(r.person.kiso_nenkin_no, 6)][0] for r in others} == {"sent"}  # 期6 not collected yet
    assert kekka == 2 * len(requests) - 0  # one result per pension and 期 (the stop is repeated in 期5)
    total = sum(a for r in others for ki, a in r.amounts.items() if ki in (4, 5))
    assert sum(shuno.values()) == total
    (listed,) = home.cli_json("nenkin", "list", "stopped", "--nendo", str(NENDO))
    assert (listed["ki"], listed["futsucho_amount"]) == ([4, 5, 6], sum(requests[0].amounts[k] for k in (4, 5, 6)))
    assert listed["reason"].startswith("02 差止") and listed["kiso_nenkin_no"].endswith(stopped[-4:])
    assert stopped not in home.cli("nenkin", "list", "stopped", "--nendo", str(NENDO)).stdout


@pytest.mark.postgres
def test_z11_chunks_match_as_one_index_on_postgres(pg_store: sessionmaker[Session]) -> None:
    check_chunks_match_as_one_index(pg_store)


@pytest.mark.postgres
def test_z11_kept_a_chunk_at_a_time_on_postgres(pg_store: sessionmaker[Session],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    check_kept_a_chunk_at_a_time(pg_store, monkeypatch)
