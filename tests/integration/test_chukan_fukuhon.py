"""`kaigo-bridge chukan refresh` end to end: the real CLI and a worker process (core.changes,
chukan.fukuhon) on a whole installation, real RabbitMQ, the TLS simulator as the 中間サーバー.

What the simulator holds is compared with the store as the test reads it (not with what the
builder says); every screen, log and SOAP exchange is scanned for 個人番号."""

from __future__ import annotations

import json
import math
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import func, or_, select, update

from adapters.chukan.fukuhon_refresh import FLOW, RECEIPTED, REJECTED
from adapters.chukan.messages import ReplicaKey
from fixtures import activity, population
from fixtures.chukan.sim import ChukanSim, Pki
from store.models import Atena, ChangeJournal, FukuhonState, Nintei, Shikaku, Transfer
from tests.harness import Home, wait_until, wire_chukan

PEOPLE, SEED, NENDO = 60, 71, 2026
BATCH = 25
DAY = date(2026, 11, 26)
TM = "TM00000000000101"


@pytest.fixture
def ward(home: Home, chukan_sim: ChukanSim, chukan_pki: Pki) -> Home:
    wire_chukan(home, chukan_sim.url, chukan_pki, ("batch_size = 500", f"batch_size = {BATCH}"),
                ("timeout = 10", "timeout = 2"))
    population.load(home.bridge.sessions, home.bridge.mynumber, PEOPLE, seed=SEED, nendo=NENDO)
    return home


class Screens:
    def __init__(self, home: Home) -> None:
        self.home = home
        self.text: list[str] = []

    def refresh(self, *args: str, code: int = 0) -> dict[str, Any]:
        result = self.home.cli("chukan", "refresh", "--by", "op1", "--on", DAY.isoformat(), *args, "--json",
                               check=False)
        self.text.append(result.stdout + result.stderr)
        assert result.returncode == code, result.stdout + result.stderr
        return json.loads(result.stdout) if code == 0 else {}


def settled(home: Home) -> None:
    def done() -> bool:
        with home.bridge.read_sessions() as s:
            return not s.scalar(select(func.count()).select_from(Transfer)
                                .where(Transfer.flow == FLOW, Transfer.state == "queued"))
    wait_until(done, 90, "every 副本 transfer acknowledged or refused")


def states(home: Home) -> dict[tuple[str, str, str], FukuhonState]:
    with home.bridge.read_sessions() as s:
        return {(r.togo_atena_no, r.tm, r.dataset): r for r in s.scalars(select(FukuhonState))}


def journal(home: Home) -> int:
    with home.bridge.read_sessions() as s:
        return s.scalar(select(func.count()).select_from(ChangeJournal)) or 0


def no_pii(text: str, people: list[population.Person]) -> None:
    assert not [p.atena_no for p in people if p.kojin_bango in text]


def test_refresh_registers_replaces_deletes_and_follows_the_version(ward: Home, chukan_sim: ChukanSim) -> None:
    people = list(population.generate(PEOPLE, SEED, NENDO))
    screens = Screens(ward)
    with ward.bridge.sessions.begin() as s:  # one person the 統合宛名機能 has not numbered yet
        unnumbered = s.scalars(select(Atena.atena_no).order_by(Atena.atena_no)).first()
        assert unnumbered is not None
        s.execute(update(Atena).where(Atena.atena_no == unnumbered).values(togo_atena_no=None))
        current = set(s.scalars(select(Shikaku.atena_no).join(Atena, Atena.atena_no == Shikaku.atena_no).where(
            Atena.togo_atena_no.is_not(None), Shikaku.shutoku_date <= DAY,
            or_(Shikaku.soshitsu_date.is_(None), Shikaku.soshitsu_date > DAY))))
        with_level = {h for h, in s.execute(select(Nintei.hihokensha_no).where(
            Nintei.yokaigo_kubun != "01", Nintei.valid_to >= DAY))}
    first = screens.refresh("--all")  # no worker yet: its transfers wait in the queue
    screens.refresh(code=1)  # one refresh at a time: refused while they are not acknowledged
    assert "not acknowledged" in screens.text[-1]
    ward.start_worker("--routes", "core.changes,chukan.fukuhon")
    settled(ward)
    registered = first["counts"]["register"]
    assert first["no_togo"] == [unnumbered] and "0400" in first["not_built"]
    assert chukan_sim.replica_count() == registered == len(states(ward))
    assert chukan_sim.effects["RegisterReplica"] == math.ceil(registered / BATCH) == len(first["transfers"]["register"])
    assert sum(1 for k in states(ward) if k[2] == "0101") == len(current)
    by_atena = {p.atena_no: p for p in people}
    sample = by_atena[sorted(current)[0]]
    stored = chukan_sim.replica(ReplicaKey(TM, "0101", "1", sample.togo_atena_no))
    assert stored is not None
    items = {i.no: i.value for i in stored[1]}
    assert items["1"] == sample.hihokensha_no and items["4"] == sample.shutoku_date.strftime("%Y%m%d")
    togo_unnumbered = by_atena[unnumbered].togo_atena_no
    assert not [k for k in states(ward) if k[0] == togo_unnumbered]
    with ward.bridge.read_sessions() as s:
        assert {t.state for t in s.scalars(select(Transfer).where(Transfer.flow == FLOW))} == {RECEIPTED}

    # a change: one person's 認定 corrected → that 0201 replaced, nothing else
    person = next(p for p in people if p.hihokensha_no in with_level and p.atena_no in current)
    before = journal(ward)
    activity.correct_nintei(ward.bridge.sessions, ward.bridge.keyring, person.hihokensha_no, "25")
    ward.bridge.publish_pending()
    wait_until(lambda: journal(ward) > before, 60, "the change journaled")
    second = screens.refresh()
    assert second["counts"] == {"delete": 0, "register": 0, "replace": 1}
    assert first["window"].startswith("all-")  # the next window starts where the finished --all ended
    assert second["window"] == f"{first['window'][4:]}-{journal(ward)}"
    settled(ward)
    revision, replaced = chukan_sim.replica(ReplicaKey(TM, "0201", "1", person.togo_atena_no)) or (0, ())
    assert revision == 2 and {i.no: i.value for i in replaced}["22"] == "25"

    # again: nothing to send, from where the last finished refresh ended
    again = screens.refresh()
    assert again["counts"] == {"delete": 0, "register": 0, "replace": 0}
    assert again["window"] == f"{journal(ward)}-{journal(ward)}" and again["transfers"] == {}

    # 資格喪失: every 副本 of the person deleted, at the service and in fukuhon_state
    held = [k for k in states(ward) if k[0] == person.togo_atena_no]
    before = journal(ward)
    activity.lose_shikaku(ward.bridge.sessions, ward.bridge.keyring, person.hihokensha_no, DAY - timedelta(days=1))
    ward.bridge.publish_pending()
    wait_until(lambda: journal(ward) > before, 60, "the 喪失 journaled")
    third = screens.refresh()
    assert third["counts"] == {"delete": len(held), "register": 0, "replace": 0} and len(held) >= 2
    settled(ward)
    assert not [k for k in states(ward) if k[0] == person.togo_atena_no]
    assert all(chukan_sim.replica(ReplicaKey(tm, ds, "1", togo)) is None for togo, tm, ds in held)
    assert chukan_sim.replica_count() == len(states(ward))

    # the 版 of 2027-07-01 (kaigo-fukuhon-v2: 0201 gains item 27): every 副本 moves to 版 2
    result = ward.cli("chukan", "refresh", "--all", "--by", "op2", "--on", "2027-07-01")
    screens.text.append(result.stdout)
    assert "版 2" in result.stdout
    settled(ward)
    now = states(ward)
    assert {r.version for r in now.values()} == {"2"} and chukan_sim.replica_count() == len(now)
    level = next(k for k in now if k[2] == "0201")
    _rev, v2_items = chukan_sim.replica(ReplicaKey(TM, "0201", "2", level[0])) or (0, ())
    assert "27" in {i.no for i in v2_items}

    wire = "\n".join((e.request_head + e.request_body + e.response_body).decode(errors="replace")
                     for e in chukan_sim.wire)
    assert "RegisterReplica" in wire
    no_pii(wire + "\n".join(screens.text) + ward.worker_logs(), people)


def test_a_dropped_answer_is_replayed_once_and_a_fault_parks_the_batch(ward: Home, chukan_sim: ChukanSim) -> None:
    people = list(population.generate(PEOPLE, SEED, NENDO))
    screens = Screens(ward)
    ward.start_worker("--routes", "core.changes,chukan.fukuhon")
    chukan_sim.misbehave("RegisterReplica", "drop_after", times=1)
    first = screens.refresh("--all")
    settled(ward)
    transfers = first["transfers"]["register"]
    assert chukan_sim.effects["RegisterReplica"] == len(transfers)  # each batch applied once
    assert chukan_sim.requests_for(transfers[0]) == 2  # the dropped one sent again, same key
    receipts = [e["detail"] for e in ward.cli_json("custody", "show", transfers[0]) if e["event"] == "receipt"]
    assert len(receipts) == 1 and "(replayed)" in receipts[0]
    assert chukan_sim.replica_count() == first["counts"]["register"] == len(states(ward))

    # a SOAP fault: the batch parks in chukan.fukuhon.dead with the code, fukuhon_state untouched
    with ward.bridge.sessions.begin() as s:
        current = set(s.scalars(select(Shikaku.atena_no).where(Shikaku.shutoku_date <= DAY,
                                                              Shikaku.soshitsu_date.is_(None))))
    person = next(p for p in people if p.atena_no in current)
    togo = person.togo_atena_no
    before_state = {k: r.sha256 for k, r in states(ward).items()}
    before = journal(ward)
    activity.lose_shikaku(ward.bridge.sessions, ward.bridge.keyring, person.hihokensha_no, DAY + timedelta(days=30),
                          jiyu="01")
    ward.bridge.publish_pending()
    wait_until(lambda: journal(ward) > before, 60, "the change journaled")
    chukan_sim.misbehave("ReplaceReplica", "fault", code="DBM0009")
    faulted = screens.refresh()
    assert faulted["counts"] == {"delete": 0, "register": 0, "replace": 1}
    settled(ward)
    (tid,) = faulted["transfers"]["replace"]
    assert ward.transfer_state(tid) == REJECTED
    wait_until(lambda: bool(ward.cli_json("dead", "list", "chukan.fukuhon")), 30, "the dead letter")
    (dead,) = ward.cli_json("dead", "list", "chukan.fukuhon")
    assert dead["transfer"] == tid and "DBM0009" in dead["reason"]
    assert {k: r.sha256 for k, r in states(ward).items()} == before_state
    assert (chukan_sim.replica(ReplicaKey(TM, "0101", "1", togo)) or (0,))[0] == 1

    # the run did not finish: the next refresh looks at the person again and the replace goes through
    again = screens.refresh()
    assert again["counts"] == {"delete": 0, "register": 0, "replace": 1}
    settled(ward)
    revision, items = chukan_sim.replica(ReplicaKey(TM, "0101", "1", togo)) or (0, ())
    assert revision == 2 and {i.no: i.value for i in items}["6"] == (DAY + timedelta(days=30)).strftime("%Y%m%d")
    assert screens.refresh()["counts"] == {"delete": 0, "register": 0, "replace": 0}
    # replaying the refused batch now would put its older data back: parked again, nothing sent
    replaces = chukan_sim.effects["ReplaceReplica"]
    ward.cli("dead", "replay", "chukan.fukuhon", "--by", "op9", "--id", dead["id"])
    wait_until(lambda: any("superseded by a later refresh" in d["reason"]
                           for d in ward.cli_json("dead", "list", "chukan.fukuhon")), 60, "the replay parked again")
    assert chukan_sim.effects["ReplaceReplica"] == replaces and chukan_sim.requests_for(tid) == 1
    wire = "\n".join((e.request_head + e.request_body).decode(errors="replace") for e in chukan_sim.wire)
    no_pii(wire + "\n".join(screens.text) + ward.worker_logs(), people)
