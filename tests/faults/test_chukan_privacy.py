"""No 個人番号 on the way to the 中間サーバー: synthetic people (fixtures/population.py, each with a
valid 個人番号) go through every operation, some under misbehaviour, with logging at DEBUG
everywhere; then every raw request and response the simulator saw (headers and bodies) and every
log record are scanned for any of their 個人番号, and every error message for any item value."""

from __future__ import annotations

import logging
import uuid
from datetime import date, datetime

import pytest

from adapters.chukan.client import ChukanClient
from adapters.chukan.errors import ChukanError, ChukanFault, ChukanRequestInvalid, ChukanUnavailable
from adapters.chukan.messages import Item, Query, Replica, ReplicaKey
from fixtures.chukan.sim import ChukanSim, WireEntry
from fixtures.population import Person, generate

TM = "TM00000000000101"
JT = "JT00000000000034"
KIKAN = "0000000000131121"
OTHER = "0000000000271004"
BY = "op.sato"


def key() -> str:
    return str(uuid.uuid4())


def _items(p: Person) -> tuple[Item, ...]:
    # values a 副本 of this person might carry: her 被保険者番号, birth date, kana name, 年額
    nengaku = p.premium.nengaku if p.premium else None
    return (Item("1", value=p.hihokensha_no), Item("2", value=p.birth_date.strftime("%Y%m%d")),
            Item("3", value=p.name_kana),
            Item("4", value=str(nengaku)) if nengaku else Item("4", unset="NotApplicable"))


def _values(people: list[Person]) -> set[str]:
    return {i.value for p in people for i in _items(p) if i.value}


def _wire_text(entry: WireEntry) -> str:
    headers = "".join(f"{k}: {v}\n" for k, v in entry.response_headers)
    return b"\n".join([entry.request_head, entry.request_body, entry.response_body]).decode() + headers


def _exercise(sim: ChukanSim, client: ChukanClient, people: list[Person]) -> list[ChukanError]:
    """Every operation for these people, some under misbehaviour; the errors they raised."""
    errors: list[ChukanError] = []
    replicas = [Replica(ReplicaKey(TM, "0101", "7", p.atena_no), _items(p)) for p in people]
    sim.misbehave("RegisterReplica", "drop_after")
    client.register(replicas, key=key(), by=BY)
    sim.misbehave("ReplaceReplica", "http503")
    client.replace(replicas[:5], key=key(), by=BY)
    for call in (lambda: client.register(replicas[:1], key=key(), by=BY),  # exists: DBM0001
                 lambda: client.delete([replicas[0].key] * 2, key=key(), by=BY)):  # DBM0004
        try:
            call()
        except ChukanFault as fault:
            errors.append(fault)
    sim.misbehave("ReplaceReplica", "http500", times=3)
    try:
        client.replace(replicas[5:8], key=key(), by=BY)
    except ChukanUnavailable as failed:
        errors.append(failed)
    for p in people[:6]:
        sim.set_answer(TM, ("7", _items(p)))
        ack = client.submit_query(Query(
            numbering_system="2", atena_no=p.atena_no, togo_atena_no=p.atena_no,
            requested_at=datetime(2026, 11, 26, 9, 0), department="KAIGO01", user_id=BY,
            querying_kikan=KIKAN, non_disclosure="0", jimu="JM00000000000012", tetsuzuki=JT,
            provider_kikan=OTHER, tm=TM, condition="1", year_class="1", start=date(2025, 4, 1),
            end=date(2026, 3, 31)), key=key(), by=BY)
        assert ack.query_id is not None
        client.query_status(ack.query_id, key=key(), by=BY)
        client.query_result(ack.query_id, key=key(), by=BY)
        held = sim.hold_provision(p.atena_no, OTHER, JT, TM)
        client.list_provisions(key=key(), by=BY, togo_atena_no=p.atena_no)
        client.answer_provision(held.id, "7", _items(p), key=key(), by=BY)
        client.records(p.atena_no, date(2026, 1, 1), date(2026, 12, 31), key=key(), by=BY)
    # a 個人番号 where a 宛名番号 belongs, or inside a value: refused before anything is sent
    p = people[0]
    mistakes = [
        lambda: client.delete([ReplicaKey(TM, "0101", "7", p.kojin_bango)], key=key(), by=BY),
        lambda: client.register([Replica(ReplicaKey(TM, "0101", "7", p.atena_no),
                                         (Item("1", value=f"番号 {p.kojin_bango}"),))], key=key(), by=BY),
        lambda: client.register([Replica(ReplicaKey(TM, "0101", "7", p.atena_no),
                                         (Item("1", value=f"{p.kojin_bango[:4]}-{p.kojin_bango[4:8]}-"
                                                          f"{p.kojin_bango[8:]}"),))], key=key(), by=BY),
    ]
    for mistake in mistakes:
        with pytest.raises(ChukanRequestInvalid) as refused:
            mistake()
        errors.append(refused.value)
    return errors


def test_no_kojin_bango_on_the_wire_or_in_logs_and_no_value_in_errors(
    chukan_sim: ChukanSim, chukan_client: ChukanClient, caplog: pytest.LogCaptureFixture
) -> None:
    people = list(generate(12, seed=606, nendo=2026))
    numbers = {p.kojin_bango for p in people}
    assert len(numbers) == 12
    caplog.set_level(logging.DEBUG)  # a DEBUG logging setup: the root at DEBUG
    for name in ("urllib3", "requests"):
        caplog.set_level(logging.DEBUG, logger=name)
    errors = _exercise(chukan_sim, chukan_client, people)
    assert chukan_sim.wait_idle(10.0)

    wire = [_wire_text(e) for e in chukan_sim.wire]
    assert len(wire) > 40
    assert any(p.atena_no in w for p in people for w in wire)  # the scan reads real traffic
    assert any(v in w for v in _values(people) for w in wire)
    assert [n for n in numbers for w in wire if n in w] == []

    logged = [r.getMessage() + (caplog.text if r.exc_info else "") for r in caplog.records]
    assert any("127.0.0.1" in line for line in logged)  # urllib3's DEBUG lines were captured
    assert any("sending again with the same key" in line for line in logged)  # and our retry warnings
    values = _values(people)
    assert [line for line in logged for n in numbers if n in line] == []
    assert [line for line in logged for v in values if v in line] == []

    kinds = {type(e).__name__ for e in errors}
    assert kinds == {"ChukanFault", "ChukanUnavailable", "ChukanRequestInvalid"}
    messages = [str(e) for e in errors]
    assert [m for m in messages for n in numbers if n in m] == []
    assert [m for m in messages for v in values if v in m] == []


def test_zeep_debug_logging_carries_no_body(
    chukan_sim: ChukanSim, chukan_client: ChukanClient, caplog: pytest.LogCaptureFixture
) -> None:
    """Even a setup that turns zeep's own loggers to DEBUG gets no envelope from our transport."""
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="zeep")
    caplog.set_level(logging.DEBUG, logger="zeep.transports")
    person = next(iter(generate(1, seed=7, nendo=2026)))
    replica = Replica(ReplicaKey(TM, "0101", "7", person.atena_no), _items(person))
    chukan_client.register([replica], key=key(), by=BY)
    assert chukan_sim.effects["RegisterReplica"] == 1
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert person.atena_no not in text and person.hihokensha_no not in text
    assert "Envelope" not in text

