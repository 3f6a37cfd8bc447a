"""The chukan.shokai handler on a real worker (RabbitMQ, the simulated 中間サーバー, the store on
SQLite and PostgreSQL): a result fetched twice is queued once, and delivered three times applied
once; what cannot be applied — a result that does not fit its layout (kept with the reason,
parked in .dead), one nothing here reads (kept, acked), one purged before a worker took it (acked,
nothing applied)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from adapters.chukan import retention
from adapters.chukan.client import ChukanClient
from adapters.chukan.messages import Item
from adapters.chukan.shokai import ask, decide_income, submit
from adapters.chukan.shokai_poll import ROUTE, announce, keep, poll
from fixtures.chukan.sim import ChukanSim
from queues import dead, topology
from store.models import Outbox, Shokai, Shotoku
from tests.harness import wait_until
from tests.integration import test_chukan_shokai as base
from tests.integration.test_chukan_shokai import NENDO, NOW, TM_INCOME, World

backend, vhost, world = base.backend, base.vhost, base.world  # the fixtures, shared

TM_SEIHO = "TM00000000000203"


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_a_result_fetched_twice_is_queued_once_and_applied_once(world: World, chukan_sim: ChukanSim,
                                                                chukan_client: ChukanClient) -> None:
    chukan_sim.set_answer(TM_INCOME, ("1", (Item("1", value="2150000"), Item("2", value="1"),
                                            Item("3", value="1980000"))))
    with world.sessions.begin() as s:
        [row] = decide_income(s, world.chukan, world.permits, nendo=NENDO, since=None, by="op1", now=NOW, limit=1)
    submit(world.sessions, chukan_client, world.chukan)
    [row] = world.rows()
    assert row.query_id is not None
    results = [chukan_client.query_result(row.query_id, key=k, by="op2")
               for k in ("6f1c0a52-1b7e-4c55-9f43-0f5a8e2d7c10", "0d9e3b1a-5c2f-4e8b-a7d6-3f1e2b4c5d6e")]
    assert results[0] == results[1]  # the service answers the same result again
    kept = [keep(world.sessions, world.chukan, world.payloads, row.id, r, by="op2", now=NOW) for r in results]
    assert kept == ["received", "again"]
    [first] = world.outbox()
    assert world.publish() == 1
    # the same event published again (a relay that died before marking it sent) and a second
    # event for the same result (as another fetch could queue): three deliveries, one effect
    with world.sessions.begin() as s:
        s.execute(update(Outbox).where(Outbox.id == first.id).values(status="pending"))
    assert world.publish() == 1
    with world.sessions.begin() as s:
        same = s.get(Shokai, row.id)
        assert same is not None
        announce(s, world.payloads.keyring, same, by="op2")
    assert world.publish() == 1
    assert world.queued(topology.work_queue(ROUTE)) == 3
    with world.worker():
        wait_until(lambda: world.handled() == 2 and world.queued(topology.work_queue(ROUTE)) == 0, 60,
                   "the three deliveries taken")
    assert world.queued(topology.work_queue(ROUTE)) == world.queued(topology.dead_queue(ROUTE)) == 0
    with world.sessions() as s:
        [shotoku] = s.scalars(select(Shotoku)).all()
    assert (shotoku.gokei_shotoku, shotoku.kazei_kubun, shotoku.nenkin_shunyu) == (2_150_000, "1", 1_980_000)
    assert world.rows()[0].state == "applied"
    events = [e.event for e in world.events()]
    assert events.count("applied") == events.count("received") == 1 and events.count("queued") == 2
    # nothing left for a poll to do
    assert poll(world.sessions, chukan_client, world.chukan, world.payloads, by="op2", now=NOW).received == ()


def test_a_result_that_does_not_fit_stays_completed_and_parks_in_dead(world: World, chukan_sim: ChukanSim,
                                                                      chukan_client: ChukanClient) -> None:
    chukan_sim.set_answer(TM_INCOME, ("1", (Item("1", value="2150000"), Item("2", value="1"))))
    with world.sessions.begin() as s:
        decide_income(s, world.chukan, world.permits, nendo=NENDO, since=None, by="op1", now=NOW, limit=1)
    submit(world.sessions, chukan_client, world.chukan)
    polled = poll(world.sessions, chukan_client, world.chukan, world.payloads, by="op2", now=NOW)
    [row] = world.rows()
    assert polled.received == (row.id,)
    world.publish()
    with world.worker():
        wait_until(lambda: world.queued(topology.dead_queue(ROUTE)) == 1, 60, "the message parked")
    [row] = world.rows()
    assert row.state == "completed" and row.result_ref is not None
    assert row.reason is not None and "missing item(s) 3" in row.reason and "2150000" not in row.reason
    [parked] = dead.list_dead(world.amqp_url, ROUTE)
    assert parked.transfer == row.idem_key and "missing item(s) 3" in parked.reason
    assert "2150000" not in parked.reason
    assert [e.event for e in world.events() if e.transfer_id == row.idem_key].count("dead") == 1
    with world.sessions() as s:
        assert s.scalars(select(Shotoku)).all() == []


def test_a_result_no_reader_takes_is_kept_with_the_reason_and_acked(world: World, chukan_sim: ChukanSim,
                                                                    chukan_client: ChukanClient) -> None:
    person = world.movers()[0]
    with world.sessions.begin() as s:  # 生活保護関係情報, asked by hand: permitted, nothing here reads it
        row = ask(s, world.chukan, world.permits, atena_no=person.atena_no, tm=TM_SEIHO,
                  kikan=str(person.zenjusho_kikan_code), jimu="JM00000000009302", tetsuzuki="JT00000000930202",
                  nendo=NENDO, by="op1", now=NOW)
        assert row.state == "pending"
    submit(world.sessions, chukan_client, world.chukan)
    assert len(poll(world.sessions, chukan_client, world.chukan, world.payloads, by="op2", now=NOW).received) == 1
    world.publish()
    with world.worker():
        wait_until(lambda: world.handled() == 1, 60, "the result handled")
    [row] = world.rows()
    assert (row.state, row.reason) == ("completed", f"kept, not applied: no reader for {TM_SEIHO}")
    assert world.queued(topology.work_queue(ROUTE)) == world.queued(topology.dead_queue(ROUTE)) == 0
    with world.sessions() as s:
        assert s.scalars(select(Shotoku)).all() == []


def test_a_result_purged_before_a_worker_took_it_is_acked_with_nothing_applied(
        world: World, chukan_sim: ChukanSim, chukan_client: ChukanClient, caplog: pytest.LogCaptureFixture) -> None:
    with world.sessions.begin() as s:
        decide_income(s, world.chukan, world.permits, nendo=NENDO, since=None, by="op1", now=NOW, limit=1)
    submit(world.sessions, chukan_client, world.chukan)
    poll(world.sessions, chukan_client, world.chukan, world.payloads, by="op2", now=NOW)
    world.publish()  # no worker for the whole retention period
    done = retention.run(world.sessions, world.chukan, world.payloads, by="op9", now=NOW + timedelta(days=31),
                         amqp_url=world.amqp_url)
    [row] = world.rows()
    assert done.results == (row.id,) and row.state == "purged"
    with world.worker():
        wait_until(lambda: world.handled() == 1, 60, "the message handled")
    assert world.queued(topology.work_queue(ROUTE)) == world.queued(topology.dead_queue(ROUTE)) == 0
    assert world.rows()[0].state == "purged"
    with world.sessions() as s:
        assert s.scalars(select(Shotoku)).all() == []
    assert any(f"shokai {row.id}: result purged before it was applied" in r.getMessage() for r in caplog.records)
