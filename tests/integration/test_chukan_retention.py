"""Retention of 情報照会 results with a frozen clock: nothing before the period, everything after —
store reference, payload store, dead-letter copies on real RabbitMQ (messages a real worker parked
on chukan.shokai.dead) — each deletion recorded, and a second run finds nothing more. 提供等記録
go after their 7 years."""

from __future__ import annotations

import shutil
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pika
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

import settings as config_module
from adapters.chukan import retention
from adapters.chukan.client import ChukanClient
from adapters.chukan.permits import Permits
from adapters.chukan.shokai import decide_income, submit
from adapters.chukan.shokai_apply import ShokaiHandler
from adapters.chukan.shokai_poll import ROUTE, poll
from fixtures import population
from fixtures.chukan.sim import ChukanSim
from queues import dead, topology
from queues.apply import Applier
from queues.crypto import Keyring
from queues.outbox import enqueue
from queues.payloads import PayloadStore
from queues.publisher import Publisher
from queues.relay import Relay
from queues.worker import Worker
from settings import RouteConfig
from settings.chukan import ChukanConfig
from store.models import CustodyPending, Shokai, Shotoku
from store.models.chukan import TeikyoKiroku
from store.mynumber import MyNumberCipher
from tests.harness import wait_until
from tests.integration import test_chukan_shokai as shokai_tests

REPO = Path(__file__).resolve().parents[2]
CIPHER = MyNumberCipher(bytes(range(32)), bytes(range(50, 82)))
PEOPLE, SEED, NENDO = 60, 62, 2026
FETCHED = datetime(2026, 10, 1, 10, 0, tzinfo=UTC)
EXCHANGE = "kaigo.test"
vhost = shokai_tests.vhost  # the fixture: a vhost of the test's own, the real queue names


@dataclass
class Kept:
    sessions: sessionmaker[Session]
    chukan: ChukanConfig
    payloads: PayloadStore
    amqp_url: str
    broken: int  # the shokai whose stored copy a worker could not read: its message parked in .dead
    stranger: str  # the transfer of a parked message that is no query result

    def rows(self) -> list[Shokai]:
        with self.sessions() as s:
            return list(s.scalars(select(Shokai).order_by(Shokai.id)))

    def events(self, event: str) -> list[CustodyPending]:
        with self.sessions() as s:
            return list(s.scalars(select(CustodyPending).where(CustodyPending.event == event)
                                  .order_by(CustodyPending.seq)))

    def run(self, days: float, dry_run: bool = False, broker: bool = True) -> retention.Purge:
        # routes left at their default: the real chukan.shokai is swept without being named
        return retention.run(self.sessions, self.chukan, self.payloads, by="op9", now=FETCHED + timedelta(days=days),
                             amqp_url=self.amqp_url if broker else None, dry_run=dry_run)

    def parked(self) -> dict[str, str]:
        """Transfer → message id of what sits on chukan.shokai.dead."""
        return {m.transfer: m.id for m in dead.list_dead(self.amqp_url, ROUTE)}


def dead_count(url: str) -> int:
    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        return connection.channel().queue_declare(topology.dead_queue(ROUTE), passive=True).method.message_count
    finally:
        connection.close()


def work(sessions: sessionmaker[Session], chukan: ChukanConfig, payloads: PayloadStore, route: RouteConfig,
         url: str, until: int) -> None:
    """Publish the outbox, then a real worker on chukan.shokai until ``until`` messages were handled."""
    relay = Relay(sessions, lambda: Publisher(url, EXCHANGE, setup=lambda ch: topology.declare(ch, EXCHANGE, [route])))
    relay.drain()
    relay.close()
    handler = ShokaiHandler(chukan, payloads.keyring, payloads, "worker:test", sessions, sessions)
    applier = Applier(ROUTE, sessions, handler, "worker:test")
    consumer = Worker(url, EXCHANGE, [route], {ROUTE: applier})
    thread = threading.Thread(target=consumer.run, daemon=True)
    thread.start()
    try:
        def handled() -> bool:
            with sessions() as s:
                done = s.scalar(select(func.count()).select_from(Shokai).where(Shokai.state == "applied")) or 0
            return done + dead_count(url) == until
        wait_until(handled, 60, f"{until} messages applied or parked")
    finally:
        consumer.stop()
        thread.join(timeout=30)


@pytest.fixture
def kept(store: sessionmaker[Session], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chukan_sim: ChukanSim,
         chukan_client: ChukanClient, vhost: str) -> Iterator[Kept]:
    """Every 転入者's income query made and its result fetched at FETCHED; a worker applied all
    but one, whose stored copy had been damaged (parked in .dead), and parked a message about a
    shokai that does not exist."""
    shutil.copytree(REPO / "config", tmp_path / "config")
    monkeypatch.setenv("KAIGO_VAR", str(tmp_path / "var"))
    config = config_module.load(tmp_path / "config")
    chukan = config.chukan
    population.load(store, CIPHER, PEOPLE, seed=SEED, nendo=NENDO)
    keyring = Keyring.create(tmp_path / "keys")
    payloads = PayloadStore(tmp_path / "payloads", keyring)
    with store.begin() as s:
        decide_income(s, chukan, Permits(chukan), nendo=NENDO, since=None, by="op1", now=FETCHED)
    submit(store, chukan_client, chukan, now=FETCHED)
    received = poll(store, chukan_client, chukan, payloads, by="op1", now=FETCHED).received
    assert len(received) >= 3
    with store() as s:
        broken = s.get(Shokai, received[0])
        assert broken is not None and broken.result_ref is not None
        copy = payloads.root / broken.result_ref
    data = bytearray(copy.read_bytes())
    data[-1] ^= 0x01  # the last chunk's tag: the copy no longer authenticates
    copy.write_bytes(bytes(data))
    stranger = str(uuid.uuid4())
    with store.begin() as s:
        enqueue(s, keyring, ROUTE, "shokai.result", "999999", {"shokai_id": 999999}, transfer_id=stranger)
    work(store, chukan, payloads, config.route(ROUTE), vhost, until=len(received) + 1)
    yield Kept(store, chukan, payloads, vhost, broken.id, stranger)


def test_results_are_purged_everywhere_after_the_period_and_only_then(kept: Kept) -> None:
    rows = kept.rows()
    assert {r.id: r.state for r in rows} == {r.id: "completed" if r.id == kept.broken else "applied" for r in rows}
    refs = [str(r.result_ref) for r in rows]
    broken_key = next(r.idem_key for r in rows if r.id == kept.broken)
    parked = kept.parked()
    assert set(parked) == {broken_key, kept.stranger}  # parked by the worker, not by this test
    [reason] = [m.reason for m in dead.list_dead(kept.amqp_url, ROUTE) if m.transfer == broken_key]
    assert reason == f"shokai {kept.broken}: stored result unreadable (IntegrityError)"

    early = kept.run(days=29)
    assert early == retention.Purge()
    assert all(kept.payloads.exists(ref) for ref in refs)
    assert kept.parked() == parked
    assert kept.run(days=31, dry_run=True).results == tuple(r.id for r in rows)
    assert all(kept.payloads.exists(ref) for ref in refs)  # a dry run deletes nothing

    done = kept.run(days=31)
    assert done == retention.Purge(results=tuple(r.id for r in rows), payloads=len(rows), dead_copies=1)
    assert not [ref for ref in refs if kept.payloads.exists(ref)]
    assert kept.parked() == {kept.stranger: parked[kept.stranger]}  # not a query result: stays
    for row in kept.rows():
        assert (row.state, row.result_ref, row.result_sha256, row.result_version) == ("purged", None, None, None)
        assert (row.purged_at, row.purged_by) == (FETCHED + timedelta(days=31), "op9")
    # the 賦課 input derived from the results stays (business data; see adapters/chukan/retention.py)
    with kept.sessions() as s:
        assert len(s.scalars(select(Shotoku)).all()) == len(rows) - 1
    purged = kept.events("purged")
    assert len(purged) == len(rows) + 1
    dropped = [e for e in purged if e.detail and "dead-letter copy" in e.detail]
    assert [(e.transfer_id, e.detail) for e in dropped] == [
        (broken_key, f"dead-letter copy {parked[broken_key]} on chukan.shokai.dead dropped")]
    by_transfer = {e.transfer_id: e for e in purged if e not in dropped}
    for row in rows:
        entry = by_transfer[row.idem_key]
        assert entry.record_count == 1 and entry.actor == "op9"
        assert entry.detail == f"shokai {row.id} result: payload store deleted, store reference cleared"

    assert kept.run(days=32) == retention.Purge()  # nothing more
    assert len(kept.events("purged")) == len(rows) + 1


def test_a_copy_missed_while_the_broker_was_away_is_dropped_by_the_next_run(kept: Kept) -> None:
    rows = kept.rows()
    away = kept.run(days=31, broker=False)
    assert len(away.results) == len(rows) and away.dead_copies == 0
    assert away.problems == ("dead-letter queues not swept: no broker configured",)
    broken_key = next(r.idem_key for r in rows if r.id == kept.broken)
    late = kept.parked()[broken_key]
    assert kept.run(days=32) == retention.Purge(dead_copies=1)
    assert set(kept.parked()) == {kept.stranger}
    assert any(e.detail == f"dead-letter copy {late} on chukan.shokai.dead dropped" for e in kept.events("purged"))


def test_a_route_without_queues_holds_nothing(kept: Kept) -> None:
    done = retention.run(kept.sessions, kept.chukan, kept.payloads, by="op9", now=FETCHED + timedelta(days=31),
                         amqp_url=kept.amqp_url, routes=[f"{ROUTE}.undeclared"])
    assert done.problems == () and done.dead_copies == 0


def test_exchange_records_go_after_seven_years(kept: Kept) -> None:
    with kept.sessions() as s:
        records = len(s.scalars(select(TeikyoKiroku)).all())
    assert records == 2 * len(kept.rows())  # queried + result per query
    assert kept.run(days=365 * 7).kiroku == 0
    done = kept.run(days=365 * 7 + 3)  # 7 years (two leap days among them) and a day
    assert done.kiroku == records
    [entry] = [e for e in kept.events("purged") if e.detail == "teikyo_kiroku"]
    assert entry.record_count == records and entry.actor == "op9"
