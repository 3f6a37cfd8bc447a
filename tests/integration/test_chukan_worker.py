"""A running worker does the 中間サーバー's work unasked (chukan.toml [schedule]): provision requests
decided (refused off the list, held when 自動応答不可, answered otherwise), a held one answered once
a second operator approved it, the income query of a new 転入者 made and its result applied, and
query results past their period purged when the worker starts. Real worker process, RabbitMQ,
the TLS simulator; the simulator's state and the store are what the test reads."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from adapters.chukan.messages import Item
from fixtures import activity, population
from fixtures.chukan.sim import ChukanSim, Pki
from store.models import (
    Atena,
    ChukanApproval,
    ChukanProvision,
    FukuhonState,
    Outbox,
    Shikaku,
    Shokai,
    Shotoku,
)
from tests.harness import Home, wait_until, wire_chukan

PEOPLE, SEED, NENDO = 30, 83, 2026
TM_AUTO, TM_HELD, TM_INCOME = "TM00000000000101", "TM00000000000102", "TM00000000000201"
PERMITTED = ("2000000000000017", "JT00000000001701")  # 旧別表第2 第17項: both TMs on the list
STRANGER = ("9999999999999999", "JT00000000001701")  # on no row of permissions.csv


@pytest.fixture
def ward(home: Home, chukan_sim: ChukanSim, chukan_pki: Pki) -> Home:
    wire_chukan(home, chukan_sim.url, chukan_pki, ("poll_seconds = 60", "poll_seconds = 1"),
                ("refresh_seconds = 900", "refresh_seconds = 1"), ("timeout = 10", "timeout = 2"))
    population.load(home.bridge.sessions, home.bridge.mynumber, PEOPLE, seed=SEED, nendo=NENDO)
    return home


def newcomer(home: Home) -> str:
    """One 第1号被保険者 made a 転入者 of ten days ago (the only one within income_days)."""
    with home.bridge.sessions.begin() as s:
        atena_no = s.scalars(select(Shikaku.atena_no).where(Shikaku.hihokensha_kubun == "1")
                             .order_by(Shikaku.atena_no)).first()
        assert atena_no is not None
        s.execute(update(Shikaku).where(Shikaku.atena_no == atena_no)
                  .values(shutoku_jiyu="01", shutoku_date=date.today() - timedelta(days=10)))
        s.execute(update(Atena).where(Atena.atena_no == atena_no).values(zenjusho_kikan_code="1311100000000001"))
        s.execute(update(Shikaku).where(Shikaku.atena_no != atena_no, Shikaku.shutoku_jiyu == "01")
                  .values(shutoku_date=date(2020, 4, 1)))
    return atena_no


def togo_of(home: Home, atena_no: str) -> str:
    with home.bridge.read_sessions() as s:
        togo = s.scalar(select(Atena.togo_atena_no).where(Atena.atena_no == atena_no))
    assert togo is not None
    return togo


def test_the_worker_decides_provisions_queries_newcomers_and_purges(ward: Home, chukan_sim: ChukanSim) -> None:
    people = list(population.generate(PEOPLE, SEED, NENDO))
    moved_in = newcomer(ward)
    chukan_sim.set_answer(TM_INCOME, ("1", (Item("1", value="1830000"), Item("2", value="1"),
                                            Item("3", value="1650000"))))
    someone = togo_of(ward, people[-1].atena_no)
    auto = chukan_sim.hold_provision(someone, *PERMITTED, TM_AUTO)
    held = chukan_sim.hold_provision(someone, *PERMITTED, TM_HELD)
    stranger = chukan_sim.hold_provision(someone, *STRANGER, TM_AUTO)

    ward.start_worker()

    def decided() -> bool:
        with ward.bridge.read_sessions() as s:
            sent = s.scalars(select(ChukanProvision.request_id).where(ChukanProvision.sent_at.is_not(None))).all()
            applied = s.scalar(select(Shotoku.gokei_shotoku).where(Shotoku.atena_no == moved_in))
        return set(sent) == {auto.id, stranger.id} and applied is not None

    wait_until(decided, 60, "provisions answered/refused and the newcomer's income applied")
    assert chukan_sim.provision(auto.id).state == "answered"
    assert chukan_sim.provision(stranger.id).state == "refused"
    assert chukan_sim.provision(held.id).state == "held"  # 自動応答不可: nothing without a person
    with ward.bridge.read_sessions() as s:
        [approval] = s.scalars(select(ChukanApproval)).all()
        [query] = s.scalars(select(Shokai)).all()
        income = s.scalar(select(Shotoku).where(Shotoku.atena_no == moved_in))
    assert (approval.state, approval.held_by) == ("held", "kaigo-bridge")
    assert (query.atena_no, query.provider_kikan, query.requested_by) == (moved_in, "1311100000000001", "kaigo-bridge")
    assert income is not None and (income.gokei_shotoku, income.nenkin_shunyu) == (1_830_000, 1_650_000)

    ward.cli("approvals", "approve", str(approval.id), "--by", "supervisor-1")
    wait_until(lambda: chukan_sim.provision(held.id).state == "answered", 30, "the approved answer")
    assert chukan_sim.effects["AnswerProvision"] == 2 and chukan_sim.effects["RefuseProvision"] == 1
    assert chukan_sim.effects["SubmitQuery"] == 1  # a round every second: still one query

    ward.stop_all()
    ref = query.result_ref
    assert ref is not None and ward.bridge.payloads.exists(ref)
    with ward.bridge.sessions.begin() as s:  # the result was fetched 31 days ago
        s.execute(update(Shokai).values(result_at=datetime.now(UTC) - timedelta(days=31)))
    ward.start_worker()

    def purged() -> bool:
        with ward.bridge.read_sessions() as s:
            return s.scalar(select(Shokai.purged_at)) is not None

    wait_until(purged, 30, "the result purged by the worker's retention run")
    with ward.bridge.read_sessions() as s:
        row = s.scalars(select(Shokai)).one()
    assert row.result_ref is None and row.purged_by == "kaigo-bridge" and not ward.bridge.payloads.exists(ref)
    events = [e["event"] for e in ward.cli_json("custody", "show", row.idem_key)]
    assert "purged" in events
    logs = "".join(p.read_text(encoding="utf-8", errors="replace") for p in ward.root.glob("worker-*.log"))
    assert not [p.atena_no for p in people if p.kojin_bango in logs]



def test_the_worker_refreshes_the_fukuhon_of_what_changed(ward: Home, chukan_sim: ChukanSim) -> None:
    """Store changes → outbox → change journal (core.changes) → the worker's refresh round →
    batches on chukan.fukuhon → the 中間サーバー: the 副本 of exactly the changed persons."""
    ward.start_worker()
    events = activity.change_shikaku(ward.bridge.sessions, ward.bridge.keyring, 12, seed=5)
    with ward.bridge.read_sessions() as s:  # the events name 被保険者番号; the 中間サーバー knows 統合宛名番号
        numbers = set(s.scalars(select(Outbox.key).where(Outbox.id.in_(events))))
        changed = set(s.scalars(select(Atena.togo_atena_no).join(Shikaku, Shikaku.atena_no == Atena.atena_no)
                                .where(Shikaku.hihokensha_no.in_(numbers))))
    assert changed

    def registered() -> bool:
        with ward.bridge.read_sessions() as s:
            return {t for t, in s.execute(select(FukuhonState.togo_atena_no))} == changed
    wait_until(registered, 60, "the changed persons' 副本 registered by the worker's refresh")
    with ward.bridge.read_sessions() as s:
        states = s.scalar(select(func.count()).select_from(FukuhonState))
    assert states and chukan_sim.replica_count() == states
