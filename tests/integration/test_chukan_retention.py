"""Retention of 情報照会 results with a frozen clock: nothing before the period, everything after —
store reference, payload store, dead-letter copies on real RabbitMQ — each deletion recorded, and
a second run finds nothing more. 提供等記録 go after their 7 years."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pika
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from adapters.chukan import retention
from adapters.chukan.client import ChukanClient
from adapters.chukan.permits import Permits
from adapters.chukan.shokai import decide_income, submit
from adapters.chukan.shokai_poll import poll
from adapters.core.models import CustodyPending, Shokai, Shotoku
from adapters.core.models.chukan import TeikyoKiroku
from adapters.core.mynumber import MyNumberCipher
from bridge import config as config_module
from bridge.config import RouteConfig
from bridge.config.chukan import ChukanConfig
from fixtures import population
from fixtures.chukan.sim import ChukanSim
from queues import dead, topology
from queues.crypto import Keyring
from queues.message import Message, seal_body
from queues.payloads import PayloadStore

REPO = Path(__file__).resolve().parents[2]
CIPHER = MyNumberCipher(bytes(range(32)), bytes(range(50, 82)))
PEOPLE, SEED, NENDO = 60, 62, 2026
FETCHED = datetime(2026, 10, 1, 10, 0, tzinfo=UTC)


@dataclass
class Kept:
    sessions: sessionmaker[Session]
    chukan: ChukanConfig
    payloads: PayloadStore
    keyring: Keyring
    amqp_url: str
    route: str

    def rows(self) -> list[Shokai]:
        with self.sessions() as s:
            return list(s.scalars(select(Shokai).order_by(Shokai.id)))

    def events(self, event: str) -> list[CustodyPending]:
        with self.sessions() as s:
            return list(s.scalars(select(CustodyPending).where(CustodyPending.event == event)
                                  .order_by(CustodyPending.seq)))

    def run(self, days: float, dry_run: bool = False) -> retention.Purge:
        return retention.run(self.sessions, self.chukan, self.payloads, by="op9", now=FETCHED + timedelta(days=days),
                             amqp_url=self.amqp_url, routes=[self.route], dry_run=dry_run)

    def park(self, transfer_id: str, content: dict[str, object]) -> str:
        """A message parked on the route's dead queue, as the worker parks one past its budget."""
        message_id = str(uuid.uuid4())
        message = Message(id=message_id, route=self.route, kind="shokai.result", transfer_id=transfer_id,
                          body=seal_body(self.keyring, message_id, self.route, content), attempt=5,
                          reason="apply failed")
        connection = pika.BlockingConnection(pika.URLParameters(self.amqp_url))
        try:
            channel = connection.channel()
            channel.confirm_delivery()
            channel.basic_publish("", topology.dead_queue(self.route), message.body,
                                  properties=message.properties(), mandatory=True)
        finally:
            connection.close()
        return message_id


@pytest.fixture
def kept(store: sessionmaker[Session], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chukan_sim: ChukanSim,
         chukan_client: ChukanClient, rabbit_url: str, unique_name: Callable[[str], str]) -> Iterator[Kept]:
    """Every 転入者's income query made, its result fetched at FETCHED and applied."""
    shutil.copytree(REPO / "config", tmp_path / "config")
    monkeypatch.setenv("KAIGO_VAR", str(tmp_path / "var"))
    chukan = config_module.load(tmp_path / "config").chukan
    population.load(store, CIPHER, PEOPLE, seed=SEED, nendo=NENDO)
    keyring = Keyring.create(tmp_path / "keys")
    payloads = PayloadStore(tmp_path / "payloads", keyring)
    with store.begin() as s:
        decide_income(s, chukan, Permits(chukan), nendo=NENDO, since=None, by="op1", now=FETCHED)
    submit(store, chukan_client, chukan, now=FETCHED)
    assert poll(store, chukan_client, chukan, payloads, by="op1", now=FETCHED).applied
    route = unique_name("chukan.shokai")
    connection = pika.BlockingConnection(pika.URLParameters(rabbit_url))
    try:
        topology.declare(connection.channel(), unique_name("x"), [RouteConfig(
            name=route, handler="none", retry_delays=(1,), delivery_limit=5, prefetch=1, batch_size=1)])
    finally:
        connection.close()
    yield Kept(store, chukan, payloads, keyring, rabbit_url, route)


def test_results_are_purged_everywhere_after_the_period_and_only_then(kept: Kept) -> None:
    rows = kept.rows()
    assert rows and all(r.state == "applied" for r in rows)
    refs = [str(r.result_ref) for r in rows]
    copy = kept.park(rows[0].idem_key, {"shokai": rows[0].id, "ref": refs[0]})
    other = kept.park(str(uuid.uuid4()), {"shokai": 0})  # not a query result: stays

    early = kept.run(days=29)
    assert early == retention.Purge()
    assert all(kept.payloads.exists(ref) for ref in refs)
    assert {m.id for m in dead.list_dead(kept.amqp_url, kept.route)} == {copy, other}
    assert kept.run(days=31, dry_run=True).results == tuple(r.id for r in rows)
    assert all(kept.payloads.exists(ref) for ref in refs)  # a dry run deletes nothing

    done = kept.run(days=31)
    assert done == retention.Purge(results=tuple(r.id for r in rows), payloads=len(rows), dead_copies=1)
    assert not [ref for ref in refs if kept.payloads.exists(ref)]
    assert [m.id for m in dead.list_dead(kept.amqp_url, kept.route)] == [other]
    for row in kept.rows():
        assert (row.state, row.result_ref, row.result_sha256, row.result_version) == ("purged", None, None, None)
        assert (row.purged_at, row.purged_by) == (FETCHED + timedelta(days=31), "op9")
    # the 賦課 input derived from the results stays (business data; see adapters/chukan/retention.py)
    with kept.sessions() as s:
        assert len(s.scalars(select(Shotoku)).all()) == len(rows)
    purged = kept.events("purged")
    assert len(purged) == len(rows) + 1
    dropped = [e for e in purged if e.detail and "dead-letter copy" in e.detail]
    assert [(e.transfer_id, e.detail) for e in dropped] == [
        (rows[0].idem_key, f"dead-letter copy {copy} on {kept.route}.dead dropped")]
    by_transfer = {e.transfer_id: e for e in purged if e not in dropped}
    for row in rows:
        entry = by_transfer[row.idem_key]
        assert entry.record_count == 1 and entry.actor == "op9"
        assert entry.detail == f"shokai {row.id} result: payload store deleted, store reference cleared"

    assert kept.run(days=32) == retention.Purge()  # nothing more
    assert len(kept.events("purged")) == len(rows) + 1


def test_a_copy_parked_after_its_result_was_purged_is_dropped_by_the_next_run(kept: Kept) -> None:
    rows = kept.rows()
    assert kept.run(days=31).dead_copies == 0
    late = kept.park(rows[-1].idem_key, {"shokai": rows[-1].id})
    assert kept.run(days=32) == retention.Purge(dead_copies=1)
    assert [m.id for m in dead.list_dead(kept.amqp_url, kept.route)] == []
    assert any(e.detail == f"dead-letter copy {late} on {kept.route}.dead dropped" for e in kept.events("purged"))


def test_without_a_broker_the_store_is_purged_and_the_sweep_reported(kept: Kept) -> None:
    done = retention.run(kept.sessions, kept.chukan, kept.payloads, by="op9", now=FETCHED + timedelta(days=31),
                         amqp_url=None, routes=[kept.route])
    assert len(done.results) == len(kept.rows()) and done.problems == (
        "dead-letter queues not swept: no broker configured",)


def test_a_route_without_queues_holds_nothing(kept: Kept) -> None:
    done = retention.run(kept.sessions, kept.chukan, kept.payloads, by="op9", now=FETCHED + timedelta(days=31),
                         amqp_url=kept.amqp_url, routes=[f"{kept.route}.undeclared"])
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
