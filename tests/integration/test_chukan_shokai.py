"""The 転入者 income query against the real simulated 中間サーバー (TLS, client certificate): who is
asked, refusals before anything is sent, replays after a timeout, failures, the result kept
encrypted and queued on chukan.shokai, applied by a real worker (queues.worker on real RabbitMQ,
the route as config/routes.toml has it), and no 個人番号 on the wire or in the logs. What the
handler does with a result twice, or one it cannot apply: test_chukan_shokai_apply.py."""

from __future__ import annotations

import logging
import re
import shutil
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pika
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

import settings as config_module
from adapters.chukan.client import ChukanClient
from adapters.chukan.permits import Permits
from adapters.chukan.shokai import ask, decide_income, submit
from adapters.chukan.shokai_apply import ShokaiHandler
from adapters.chukan.shokai_poll import FLOW, ROUTE, poll
from adapters.chukan.shokai_result import unpack
from fixtures import population
from fixtures.chukan.sim import ChukanSim, default_answer
from fixtures.services import RabbitNode
from queues import topology
from queues.apply import Applier
from queues.crypto import Keyring
from queues.message import Message, open_body
from queues.payloads import PayloadStore
from queues.publisher import Publisher
from queues.relay import Relay
from queues.worker import Worker
from settings import RouteConfig
from settings.chukan import ChukanConfig
from store.models import CustodyPending, Inbox, Outbox, Shokai, Shotoku
from store.models.chukan import TeikyoKiroku
from store.mynumber import MyNumberCipher
from tests.harness import _management, wait_until

REPO = Path(__file__).resolve().parents[2]
CIPHER = MyNumberCipher(bytes(range(32)), bytes(range(50, 82)))
PEOPLE, SEED, NENDO = 120, 61, 2026
NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
TM_INCOME, TM_NENKIN = "TM00000000000201", "TM00000000000202"
EXCHANGE = "kaigo.test"


@dataclass
class World:
    sessions: sessionmaker[Session]
    chukan: ChukanConfig
    route: RouteConfig  # chukan.shokai as config/routes.toml declares it
    permits: Permits
    payloads: PayloadStore
    people: list[population.Person]
    amqp_url: str  # a vhost of this test's own

    def movers(self) -> list[population.Person]:
        """The 転入 第1号被保険者, as the generator made them (not as the code under test reads them)."""
        return [p for p in self.people if p.hihokensha_kubun == "1" and p.shutoku_jiyu == "01"]

    def rows(self) -> list[Shokai]:
        with self.sessions() as s:
            return list(s.scalars(select(Shokai).order_by(Shokai.id)))

    def events(self) -> list[CustodyPending]:
        with self.sessions() as s:
            return list(s.scalars(select(CustodyPending).order_by(CustodyPending.seq)))

    def outbox(self) -> list[Outbox]:
        with self.sessions() as s:
            return list(s.scalars(select(Outbox).order_by(Outbox.created_at, Outbox.id)))

    def publish(self) -> int:
        """What the outbox holds, published (confirmed) to the broker, as a command does before exiting."""
        relay = Relay(self.sessions, lambda: Publisher(self.amqp_url, EXCHANGE, setup=lambda channel: topology.declare(
            channel, EXCHANGE, [self.route])))
        try:
            return relay.drain()
        finally:
            relay.close()

    @contextmanager
    def worker(self) -> Iterator[None]:
        """A real worker consuming chukan.shokai with the route's handler, until the block ends."""
        handler = ShokaiHandler(self.chukan, self.payloads.keyring, self.payloads, "worker:test", self.sessions,
                                self.sessions)
        consumer = Worker(self.amqp_url, EXCHANGE, [self.route],
                          {ROUTE: Applier(ROUTE, self.sessions, handler, "worker:test")})
        thread = threading.Thread(target=consumer.run, name="shokai-worker", daemon=True)
        thread.start()
        try:
            yield
        finally:
            consumer.stop()
            thread.join(timeout=30)
            assert not thread.is_alive()

    def queued(self, queue: str) -> int:
        """Messages ready on ``queue`` (exact: the broker's own count)."""
        connection = pika.BlockingConnection(pika.URLParameters(self.amqp_url))
        try:
            return connection.channel().queue_declare(queue, passive=True).method.message_count
        finally:
            connection.close()

    def applied(self) -> int:
        with self.sessions() as s:
            return s.scalar(select(func.count()).select_from(Shokai).where(Shokai.state == "applied")) or 0

    def handled(self) -> int:
        """Messages the route's consumer has processed (its inbox rows)."""
        with self.sessions() as s:
            return s.scalar(select(func.count()).select_from(Inbox).where(Inbox.consumer == ROUTE)) or 0


@pytest.fixture
def vhost(rabbit: RabbitNode) -> Iterator[str]:
    """An AMQP URL of a vhost of this test's own: the route's queue names are the real ones."""
    name = f"t-{uuid.uuid4().hex[:10]}"
    _management(rabbit, "PUT", f"/api/vhosts/{name}")
    _management(rabbit, "PUT", f"/api/permissions/{name}/guest", {"configure": ".*", "write": ".*", "read": ".*"})
    yield rabbit.amqp_url.rsplit("/", 1)[0] + "/" + name
    _management(rabbit, "DELETE", f"/api/vhosts/{name}")


@pytest.fixture(params=["sqlite"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def world(backend: str, request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
          vhost: str) -> Iterator[World]:
    store: sessionmaker[Session] = request.getfixturevalue("store" if backend == "sqlite" else "pg_store")
    shutil.copytree(REPO / "config", tmp_path / "config")
    monkeypatch.setenv("KAIGO_VAR", str(tmp_path / "var"))
    config = config_module.load(tmp_path / "config")
    population.load(store, CIPHER, PEOPLE, seed=SEED, nendo=NENDO)
    people = list(population.generate(PEOPLE, SEED, NENDO))
    yield World(store, config.chukan, config.route(ROUTE), Permits(config.chukan),
                PayloadStore(tmp_path / "payloads", Keyring.create(tmp_path / "keys")), people, vhost)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_permitted_round_trip_applies_each_movers_income(world: World, chukan_sim: ChukanSim,
                                                         chukan_client: ChukanClient) -> None:
    movers = world.movers()
    assert len(movers) >= 3  # the population has 転入者 to ask about
    with world.sessions.begin() as s:
        made = decide_income(s, world.chukan, world.permits, nendo=NENDO, since=None, by="op1", now=NOW)
        assert [r.state for r in made] == ["pending"] * len(movers)
    done = submit(world.sessions, chukan_client, world.chukan)
    assert (len(done.sent), done.replayed, done.failed, done.unreachable) == (len(movers), (), (), ())
    # what the service received: one query per mover, asked of the municipality they came from
    with chukan_sim.state.lock:
        asked = {q.query.togo_atena_no: q.query for q in chukan_sim.state.queries.values()}
    assert set(asked) == {p.togo_atena_no for p in movers}
    for p in movers:
        q = asked[p.togo_atena_no]
        assert (q.atena_no, q.provider_kikan, q.tm, q.querying_kikan) == (
            p.atena_no, p.zenjusho_kikan_code, TM_INCOME, "1311200000000001")
        assert (q.jimu, q.tetsuzuki, q.start, q.end) == ("JM00000000009301", "JT00000000930101",
                                                         date(2026, 4, 1), date(2027, 3, 31))
    polled = poll(world.sessions, chukan_client, world.chukan, world.payloads, by="op2", now=NOW)
    assert len(polled.received) == len(movers) and not (polled.waiting or polled.failed or polled.unreachable)
    # stored and queued, not applied: one event per result on chukan.shokai, ids only in its body
    rows = world.rows()
    assert {r.state for r in rows} == {"completed"}
    events = world.outbox()
    assert [(e.route, e.kind, e.key, e.transfer_id) for e in events] == [
        ("chukan.shokai", "shokai.result", str(r.id), r.idem_key) for r in rows]
    for event, row in zip(events, rows, strict=True):
        message = Message(id=event.id, route=event.route, kind=event.kind, body=event.body)
        assert open_body(world.payloads.keyring, message) == {"shokai_id": row.id}
    with world.sessions() as s:
        assert s.scalars(select(Shotoku)).all() == []

    assert world.publish() == len(movers)
    with world.worker():
        wait_until(lambda: world.applied() == len(movers), 60, "every result applied by the worker")
    assert world.queued(topology.work_queue(ROUTE)) == world.queued(topology.dead_queue(ROUTE)) == 0
    with world.sessions() as s:
        shotoku = {r.atena_no: r for r in s.scalars(select(Shotoku))}
    for p in movers:
        _version, items = default_answer(asked[p.togo_atena_no])  # the simulator's own answer
        values = {i.no: i.value for i in items}
        income = shotoku[p.atena_no]
        assert (income.nendo, income.gokei_shotoku, income.kazei_kubun) == (NENDO, int(str(values["1"])), values["2"])
        assert income.nenkin_shunyu == (None if values["3"] is None else int(values["3"]))
        assert income.applied_by == "worker:test"
    for row in world.rows():
        assert row.state == "applied" and row.result_ref is not None and row.applied_at is not None
        assert row.purge_after == datetime(2026, 12, 26, 9, 0, tzinfo=UTC)  # 30 days (chukan.toml)
        kept = unpack(b"".join(world.payloads.read(row.result_ref, row.idem_key, FLOW)))
        assert (kept.query_id, kept.tm) == (row.query_id, TM_INCOME)
        raw = (world.payloads.root / row.result_ref).read_bytes()
        assert kept.items[0].value is not None and f'"{kept.items[0].value}"'.encode() not in raw  # encrypted
    chain = [e.event for e in world.events()]
    for name in ("queried", "query_result", "received", "queued", "applied"):
        assert chain.count(name) == len(movers), name
    assert {(e.transfer_id, e.actor) for e in world.events() if e.event == "applied"} == {
        (r.idem_key, "worker:test") for r in rows}
    with world.sessions() as s:
        outcomes = sorted(k.outcome for k in s.scalars(select(TeikyoKiroku)))
    assert outcomes == sorted(["queried", "result"] * len(movers))
    # asked once per 年度: a second run makes nothing new
    with world.sessions.begin() as s:
        assert decide_income(s, world.chukan, world.permits, nendo=NENDO, since=None, by="op1", now=NOW) == []


def test_a_query_not_on_the_list_is_refused_recorded_and_never_sent(world: World, chukan_sim: ChukanSim,
                                                                   chukan_client: ChukanClient) -> None:
    person = world.movers()[0]
    with world.sessions.begin() as s:  # 年金 is asked of 日本年金機構 only, and for another 事務
        row = ask(s, world.chukan, world.permits, atena_no=person.atena_no, tm=TM_NENKIN,
                  kikan=str(person.zenjusho_kikan_code), jimu=None, tetsuzuki=None, nendo=NENDO, by="op1", now=NOW)
        assert row.state == "refused" and row.basis is None
        assert "TM00000000000202" in str(row.reason) and "no 区分 照会 row" in str(row.reason)
    done = submit(world.sessions, chukan_client, world.chukan)
    assert done.sent == done.replayed == ()
    assert chukan_sim.wire == []  # nothing left this side
    with world.sessions() as s:
        kiroku = s.scalars(select(TeikyoKiroku)).one()
    assert (kiroku.outcome, kiroku.atena_no, kiroku.tm, kiroku.basis) == ("refused", person.atena_no, TM_NENKIN, None)
    refused = [e for e in world.events() if e.event == "query_refused"]
    assert len(refused) == 1 and refused[0].actor == "op1" and "TM00000000000202" in str(refused[0].detail)


def test_a_timed_out_submit_is_sent_again_as_a_replay(world: World, chukan_sim: ChukanSim,
                                                      chukan_client: ChukanClient) -> None:
    with world.sessions.begin() as s:
        [row] = decide_income(s, world.chukan, world.permits, nendo=NENDO, since=None, by="op1", now=NOW, limit=1)
        key = row.idem_key
    # every attempt answers after the client's 1 s timeout (the server still makes the query)
    chukan_sim.misbehave("SubmitQuery", "slow", times=3, seconds=1.3)
    first = submit(world.sessions, chukan_client, world.chukan)
    assert first.unreachable == (row.id,) and world.rows()[0].state == "pending"
    assert chukan_sim.wait_idle(10.0)
    second = submit(world.sessions, chukan_client, world.chukan)
    assert second.replayed == (row.id,)
    assert chukan_sim.effects["SubmitQuery"] == 1 and len(chukan_sim.state.queries) == 1
    assert chukan_sim.requests_for(key) == 4
    assert world.rows()[0].state == "submitted"


def test_failed_status_and_a_refusing_service_leave_failed_queries(world: World, chukan_sim: ChukanSim,
                                                                  chukan_client: ChukanClient) -> None:
    with world.sessions.begin() as s:
        rows = decide_income(s, world.chukan, world.permits, nendo=NENDO, since=None, by="op1", now=NOW, limit=2)
        first, second = rows[0].id, rows[1].id
    chukan_sim.state.query_polls = 1000  # not completed by polling
    chukan_sim.misbehave("SubmitQuery", "fault", code="SKI0009")
    done = submit(world.sessions, chukan_client, world.chukan)
    assert done.failed == (first,) and done.sent == (second,)
    with chukan_sim.state.lock:
        [query] = chukan_sim.state.queries.values()
        query.status = "Failed"
    polled = poll(world.sessions, chukan_client, world.chukan, world.payloads, by="op2", now=NOW)
    assert polled.failed == (second,)
    reasons = {r.id: (r.state, r.reason) for r in world.rows()}
    assert reasons == {first: ("failed", "SubmitQuery fault SKI0009"), second: ("failed", "status Failed")}
    with world.sessions() as s:
        assert s.scalars(select(Shotoku)).all() == []
    assert world.outbox() == []  # nothing to apply, nothing queued
    assert [e.event for e in world.events()].count("query_failed") == 2


def test_a_query_in_progress_waits_then_is_received(world: World, chukan_sim: ChukanSim,
                                                   chukan_client: ChukanClient) -> None:
    chukan_sim.state.query_polls = 3  # Accepted, InProgress, Completed
    with world.sessions.begin() as s:
        decide_income(s, world.chukan, world.permits, nendo=NENDO, since=None, by="op1", now=NOW, limit=1)
    submit(world.sessions, chukan_client, world.chukan)
    waits = [poll(world.sessions, chukan_client, world.chukan, world.payloads, by="op2", now=NOW) for _ in range(3)]
    assert [(len(p.waiting), len(p.received)) for p in waits] == [(1, 0), (1, 0), (0, 1)]
    assert len(world.outbox()) == 1


def test_no_kojin_bango_on_the_wire_or_in_logs_no_result_value_in_logs(
        world: World, chukan_sim: ChukanSim, chukan_client: ChukanClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with world.sessions.begin() as s:
        decide_income(s, world.chukan, world.permits, nendo=NENDO, since=None, by="op1", now=NOW)
        person = world.movers()[0]
        ask(s, world.chukan, world.permits, atena_no=person.atena_no, tm=TM_NENKIN, kikan="0000000000010001",
            jimu=None, tetsuzuki=None, nendo=NENDO, by="op1", now=NOW)
    submit(world.sessions, chukan_client, world.chukan)
    poll(world.sessions, chukan_client, world.chukan, world.payloads, by="op2", now=NOW)
    assert world.publish() == len(world.movers())
    with world.worker():
        wait_until(lambda: world.applied() == len(world.movers()), 60, "every result applied")
    numbers = {p.kojin_bango for p in world.people}
    wire = b"".join(e.request_head + e.request_body + repr(e.response_headers).encode() + e.response_body
                    for e in chukan_sim.wire)
    assert wire and not [n for n in numbers if n.encode() in wire]
    with chukan_sim.state.lock:
        values = {i.value for q in chukan_sim.state.queries.values() for i in default_answer(q.query)[1]
                  if i.value is not None and len(i.value) >= 4}
    assert values  # amounts to look for
    logged = "\n".join(r.getMessage() for r in caplog.records)
    custody = "\n".join(f"{e.detail} {e.basis}" for e in world.events())
    for text in (logged, custody):
        assert not [n for n in numbers if n in text]
        assert not [v for v in values if re.search(rf"(?<![0-9]){v}(?![0-9])", text)]


def test_an_operator_id_the_service_would_not_take_is_refused_first(world: World) -> None:
    with world.sessions.begin() as s, pytest.raises(ValueError, match="operator id 'op 1'"):
        decide_income(s, world.chukan, world.permits, nendo=NENDO, since=None, by="op 1", now=NOW)
    assert world.rows() == []
