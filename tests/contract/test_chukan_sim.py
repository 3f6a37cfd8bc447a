"""Contract: every chukan.wsdl operation round-trips through zeep + TLS (client certificate) against
the simulator; the simulator refuses an XSD-invalid body, a malformed document and a client
without a certificate from our CA; an idempotency key answers a resend as a replay."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import date, datetime
from pathlib import Path

import pytest
import requests

from adapters.chukan.client import ChukanClient
from adapters.chukan.errors import ChukanFault, ChukanRequestInvalid, ChukanUnavailable
from adapters.chukan.messages import Item, Query, Replica, ReplicaKey
from fixtures.chukan.sim import ChukanSim, Pki, SimProcess

TM = "TM00000000000101"
JT = "JT00000000000034"
KIKAN = "0000000000131121"
OTHER = "0000000000271004"
TOGO = "000000000067890"
BY = "op.sato"


def key() -> str:
    return str(uuid.uuid4())


def rkey(togo: str = TOGO, dataset: str = "0101") -> ReplicaKey:
    return ReplicaKey(tm=TM, dataset=dataset, version="7", togo_atena_no=togo)


def replica(togo: str = TOGO, value: str = "2") -> Replica:
    return Replica(rkey(togo), (Item("1", value=value), Item("2", unset="NotCovered"), Item("3", value="値 ")))


def query(togo: str = TOGO) -> Query:
    return Query(numbering_system="2", atena_no="000000000012345", togo_atena_no=togo,
                 requested_at=datetime(2026, 11, 26, 17, 21, 0, 123000), department="KAIGO01",
                 user_id=BY, querying_kikan=KIKAN, non_disclosure="0", jimu="JM00000000000012",
                 tetsuzuki=JT, provider_kikan=OTHER, tm=TM, condition="1", year_class="1",
                 start=date(2025, 4, 1), end=date(2026, 3, 31))


def test_register_replace_delete_round_trip(chukan_sim: ChukanSim, chukan_client: ChukanClient) -> None:
    first = chukan_client.register([replica(), replica("000000000067891")], key=(k := key()), by=BY)
    assert (first.key, first.replayed, first.count) == (k, False, 2)
    assert chukan_sim.replica(rkey()) == (1, (Item("1", value="2"), Item("2", unset="NotCovered"),
                                             Item("3", value="値 ")))
    again = chukan_client.replace([replica(value="3")], key=key(), by=BY)
    assert (again.replayed, again.count) == (False, 1)
    assert chukan_sim.replica(rkey()) == (2, (Item("1", value="3"), Item("2", unset="NotCovered"),
                                             Item("3", value="値 ")))
    gone = chukan_client.delete([rkey()], key=key(), by=BY)
    assert gone.count == 1
    assert chukan_sim.replica(rkey()) is None
    assert chukan_sim.replica_count() == 1


def test_register_is_for_new_replicas_and_replace_for_existing(chukan_sim: ChukanSim,
                                                               chukan_client: ChukanClient) -> None:
    with pytest.raises(ChukanFault) as missing:
        chukan_client.replace([replica()], key=key(), by=BY)
    assert missing.value.code == "DBM0002"
    chukan_client.register([replica()], key=key(), by=BY)
    with pytest.raises(ChukanFault) as exists:
        chukan_client.register([replica(), replica("000000000000001")], key=key(), by=BY)
    assert exists.value.code == "DBM0001"
    assert chukan_sim.replica_count() == 1  # a refused batch takes nothing of itself
    with pytest.raises(ChukanFault) as deleted:
        chukan_client.delete([rkey("000000000000002")], key=key(), by=BY)
    assert deleted.value.code == "DBM0003"


def test_query_polls_then_result(chukan_pki: Pki) -> None:
    with ChukanSim(chukan_pki, query_polls=3) as sim, _client(sim, chukan_pki) as client:
        sim.set_answer(TM, ("5", (Item("1", value="1234000"), Item("2", unset="NotApplicable"))))
        ack = client.submit_query(query(), key=key(), by=BY)
        assert ack.query_id and not ack.replayed
        with pytest.raises(ChukanFault) as early:
            client.query_result(ack.query_id, key=key(), by=BY)
        assert early.value.code == "SKI0002"
        polls = [client.query_status(ack.query_id, key=key(), by=BY) for _ in range(4)]
        assert polls == ["Accepted", "InProgress", "Completed", "Completed"]
        result = client.query_result(ack.query_id, key=key(), by=BY)
        assert (result.query_id, result.tm, result.version) == (ack.query_id, TM, "5")
        assert result.items == (Item("1", value="1234000"), Item("2", unset="NotApplicable"))


def test_result_values_come_back_as_sent(chukan_sim: ChukanSim, chukan_client: ChukanClient) -> None:
    """An empty value, spaces and line breaks, non-ASCII text: each item as the service gave it."""
    items = (Item("1", value=""), Item("2", value="  a\n b "), Item("3", value="介護 ５"),
             Item("4", unset="NotYetDetermined"))
    chukan_sim.set_answer(TM, ("12", items))
    ack = chukan_client.submit_query(query(), key=key(), by=BY)
    assert ack.query_id is not None
    assert chukan_client.query_result(ack.query_id, key=key(), by=BY).items == items


def test_query_default_answer_is_the_same_for_the_same_person(chukan_client: ChukanClient) -> None:
    results = []
    for _ in range(2):
        ack = chukan_client.submit_query(query(), key=key(), by=BY)
        assert ack.query_id is not None
        assert chukan_client.query_status(ack.query_id, key=key(), by=BY) == "Completed"
        results.append(chukan_client.query_result(ack.query_id, key=key(), by=BY))
    assert results[0].items == results[1].items and len(results[0].items) == 3
    other = chukan_client.submit_query(query("000000000011111"), key=key(), by=BY)
    assert other.query_id is not None
    assert chukan_client.query_result(other.query_id, key=key(), by=BY).items != results[0].items


def test_a_failed_query_stays_failed(chukan_pki: Pki) -> None:
    with ChukanSim(chukan_pki, query_polls=2) as sim, _client(sim, chukan_pki) as client:
        ack = client.submit_query(query(), key=key(), by=BY)
        assert ack.query_id is not None
        sim.fail_query(ack.query_id)
        assert [client.query_status(ack.query_id, key=key(), by=BY) for _ in range(3)] == ["Failed"] * 3
        with pytest.raises(ChukanFault) as failed:
            client.query_result(ack.query_id, key=key(), by=BY)
        assert failed.value.code == "SKI0003"


def test_unknown_query_is_a_fault(chukan_client: ChukanClient) -> None:
    with pytest.raises(ChukanFault) as unknown:
        chukan_client.query_status("Q-nope", key=key(), by=BY)
    assert unknown.value.code == "SKI0001"


def test_provisions_listed_answered_refused(chukan_sim: ChukanSim, chukan_client: ChukanClient) -> None:
    asked = datetime(2026, 11, 20, 9, 30, 15, 250000)
    one = chukan_sim.hold_provision(TOGO, OTHER, JT, TM, requested_at=asked)
    two = chukan_sim.hold_provision("000000000011111", OTHER, JT, TM, requested_at=asked)
    listed = chukan_client.list_provisions(key=key(), by=BY)
    assert listed == [one, two]
    assert chukan_client.list_provisions(key=key(), by=BY, togo_atena_no=TOGO) == [one]
    ack = chukan_client.answer_provision(one.id, "7", [Item("1", value="3"), Item("2", unset="NotCovered")],
                                         key=key(), by=BY)
    assert not ack.replayed
    held = chukan_sim.provision(one.id)
    assert (held.state, held.version, held.items) == ("answered", "7", (Item("1", value="3"),
                                                                         Item("2", unset="NotCovered")))
    chukan_client.refuse_provision(two.id, "01", key=key(), by=BY)
    assert (chukan_sim.provision(two.id).state, chukan_sim.provision(two.id).reason) == ("refused", "01")
    assert chukan_client.list_provisions(key=key(), by=BY) == []
    with pytest.raises(ChukanFault) as twice:
        chukan_client.refuse_provision(one.id, "01", key=key(), by=BY)
    assert twice.value.code == "TKY0002"
    with pytest.raises(ChukanFault) as unknown:
        chukan_client.answer_provision("P-nope", "7", [Item("1", value="3")], key=key(), by=BY)
    assert unknown.value.code == "TKY0001"


def test_records_show_queries_and_provisions(chukan_sim: ChukanSim, chukan_client: ChukanClient) -> None:
    chukan_sim.state.clock = lambda: datetime(2026, 11, 26, 10, 0, 0, 5000)
    chukan_client.submit_query(query(), key=key(), by=BY)
    held = chukan_sim.hold_provision(TOGO, KIKAN, JT, TM)
    chukan_sim.state.clock = lambda: datetime(2026, 12, 1, 8, 0, 0)
    chukan_client.answer_provision(held.id, "7", [Item("1", value="9")], key=key(), by=BY)
    found = chukan_client.records(TOGO, date(2026, 11, 1), date(2026, 12, 31), key=key(), by=BY)
    assert [(r.direction, r.counterpart_kikan, r.tetsuzuki, r.tm, r.at) for r in found] == [
        ("Query", OTHER, JT, TM, datetime(2026, 11, 26, 10, 0, 0, 5000)),
        ("Provision", KIKAN, JT, TM, datetime(2026, 12, 1, 8, 0, 0)),
    ]
    november = chukan_client.records(TOGO, date(2026, 11, 1), date(2026, 11, 30), key=key(), by=BY)
    assert [r.direction for r in november] == ["Query"]
    assert chukan_client.records("000000000011111", date(2026, 1, 1), date(2026, 12, 31), key=key(), by=BY) == []


# --- idempotency --------------------------------------------------------------------------------


def test_same_key_same_body_is_a_replay_without_second_effect(chukan_sim: ChukanSim,
                                                               chukan_client: ChukanClient) -> None:
    k = key()
    first = chukan_client.register([replica()], key=k, by=BY)
    second = chukan_client.register([replica()], key=k, by=BY)
    assert (first.replayed, second.replayed) == (False, True)
    assert (first.count, second.count) == (1, 1)
    assert chukan_sim.effects["RegisterReplica"] == 1
    assert chukan_sim.requests_for(k) == 2
    assert chukan_sim.replica(rkey()) is not None and chukan_sim.replica(rkey())[0] == 1  # type: ignore[index]


def test_same_key_other_body_is_refused(chukan_sim: ChukanSim, chukan_client: ChukanClient) -> None:
    k = key()
    chukan_client.register([replica()], key=k, by=BY)
    with pytest.raises(ChukanFault) as other:
        chukan_client.register([replica(value="9")], key=k, by=BY)
    assert other.value.code == "IDM0001"
    with pytest.raises(ChukanFault) as other_op:
        chukan_client.replace([replica()], key=k, by=BY)
    assert other_op.value.code == "IDM0001"
    assert chukan_sim.effects["RegisterReplica"] == 1 and chukan_sim.effects["ReplaceReplica"] == 0
    assert chukan_sim.replica(rkey()) == (1, replica().items)


def test_submit_query_replay_gives_the_same_query_id(chukan_sim: ChukanSim, chukan_client: ChukanClient) -> None:
    k = key()
    first = chukan_client.submit_query(query(), key=k, by=BY)
    again = chukan_client.submit_query(query(), key=k, by=BY)
    assert again.query_id == first.query_id and again.replayed
    assert len(chukan_sim.state.queries) == 1
    assert len(chukan_sim.state.records[TOGO]) == 1


# --- what the simulator refuses -------------------------------------------------------------------

ENVELOPE = (
    '<?xml version="1.0" encoding="utf-8"?>'
    '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" '
    'xmlns:tns="urn:kaigo-bridge:chukan:v1"><soap:Body>{body}</soap:Body></soap:Envelope>'
)


def _raw(sim: ChukanSim, pki: Pki, port: str, payload: str) -> requests.Response:
    with requests.Session() as session:
        session.trust_env = False
        return session.post(f"{sim.url}/{port}", data=payload.encode(), timeout=5,
                            headers={"Content-Type": "text/xml; charset=utf-8"},
                            verify=str(pki.ca_cert), cert=(str(pki.client_cert), str(pki.client_key)))


def _fault_code(response: requests.Response) -> str:
    from lxml import etree

    root = etree.fromstring(response.content)
    return root.findtext(".//{urn:kaigo-bridge:chukan:v1}Code") or ""


@pytest.mark.parametrize(("port", "body", "code"), [
    ("ski", "<tns:GetQueryStatusRequest><tns:IdempotencyKey>{k}</tns:IdempotencyKey>"
            "<tns:RequestedBy>op</tns:RequestedBy><tns:QueryId>Q 1</tns:QueryId></tns:GetQueryStatusRequest>",
     "SCH0001"),  # a space is not in ServerId's pattern
    ("ski", "<tns:GetQueryStatusRequest><tns:RequestedBy>op</tns:RequestedBy>"
            "<tns:QueryId>Q-1</tns:QueryId></tns:GetQueryStatusRequest>", "SCH0001"),  # no key
    ("tkm", "<tns:GetRecordsRequest><tns:IdempotencyKey>{k}</tns:IdempotencyKey>"
            "<tns:RequestedBy>op</tns:RequestedBy><tns:TogoAtenaNo>123456789012</tns:TogoAtenaNo>"
            "<tns:StartDate>20260101</tns:StartDate><tns:EndDate>20261231</tns:EndDate></tns:GetRecordsRequest>",
     "SCH0001"),  # a 12-digit number where a 15-digit 宛名番号 belongs
    ("dbm", "<tns:GetQueryStatusRequest><tns:IdempotencyKey>{k}</tns:IdempotencyKey>"
            "<tns:RequestedBy>op</tns:RequestedBy><tns:QueryId>Q-1</tns:QueryId></tns:GetQueryStatusRequest>",
     "SCH0003"),  # an SKI operation sent to the DBM port
])
def test_sim_refuses_invalid_requests(chukan_sim: ChukanSim, chukan_pki: Pki, port: str, body: str,
                                      code: str) -> None:
    response = _raw(chukan_sim, chukan_pki, port, ENVELOPE.format(body=body.format(k=key())))
    assert response.status_code == 500
    assert _fault_code(response) == code
    assert sum(chukan_sim.effects.values()) == 0


def test_sim_refuses_a_doctype_and_entities(chukan_sim: ChukanSim, chukan_pki: Pki) -> None:
    payload = ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
               + ENVELOPE.split("?>", 1)[1].format(body="<tns:X>&e;</tns:X>"))
    response = _raw(chukan_sim, chukan_pki, "ski", payload)
    assert _fault_code(response) == "SCH0002"
    assert b"root:" not in response.content


def test_sim_refuses_a_client_without_a_certificate(chukan_sim: ChukanSim, chukan_pki: Pki) -> None:
    client = ChukanClient(chukan_sim.url, ca_file=chukan_pki.ca_cert, cert_file=None, key_file=None,
                          timeout=1.0, attempts=2)
    with client, pytest.raises(ChukanUnavailable) as refused:
        client.register([replica()], key=key(), by=BY)
    assert refused.value.attempts == 2
    assert chukan_sim.requests == {} and chukan_sim.replica_count() == 0
    assert chukan_sim.wait_rejections(2) == 2  # one refused handshake per attempt


def test_sim_refuses_a_certificate_from_another_ca(chukan_sim: ChukanSim, chukan_pki: Pki) -> None:
    client = ChukanClient(chukan_sim.url, ca_file=chukan_pki.ca_cert, cert_file=chukan_pki.stranger_cert,
                          key_file=chukan_pki.stranger_key, timeout=1.0, attempts=1)
    with client, pytest.raises(ChukanUnavailable):
        client.list_provisions(key=key(), by=BY)
    assert chukan_sim.requests == {}
    assert chukan_sim.wait_rejections(1) == 1


def test_client_refuses_a_malformed_code_before_sending(chukan_sim: ChukanSim, chukan_client: ChukanClient) -> None:
    bad = Replica(ReplicaKey(tm="TM1", dataset="0101", version="7", togo_atena_no=TOGO), (Item("1", value="1"),))
    with pytest.raises(ChukanRequestInvalid) as refused:
        chukan_client.register([bad], key=key(), by=BY)
    assert "TokuteiJohoMeiCode" in str(refused.value) and "TM1" not in str(refused.value)
    assert chukan_sim.wire == []


def test_client_refuses_a_missing_field_before_sending(chukan_sim: ChukanSim, chukan_client: ChukanClient) -> None:
    with pytest.raises(ChukanRequestInvalid, match=r"GetQueryStatus.*QueryId"):
        chukan_client.query_status(None, key=key(), by=BY)  # type: ignore[arg-type]
    incomplete = dataclasses.replace(query(), atena_no="")
    with pytest.raises(ChukanRequestInvalid, match=r"SubmitQuery.*AtenaNo"):
        chukan_client.submit_query(incomplete, key=key(), by=BY)
    assert chukan_sim.wire == []


def test_client_refuses_an_empty_value(chukan_sim: ChukanSim, chukan_client: ChukanClient) -> None:
    empty = Replica(rkey(), (Item("1", value="1"), Item("2", value="")))
    with pytest.raises(ChukanRequestInvalid, match="item 2 has an empty value"):
        chukan_client.register([empty], key=key(), by=BY)
    assert chukan_sim.wire == []


@pytest.mark.parametrize(("k", "by"), [("3F2B8C1E-4D5A-4B6C-9E7F-0A1B2C3D4E5F", BY), (str(uuid.uuid4()), "op sato")])
def test_client_checks_key_and_operator(chukan_client: ChukanClient, k: str, by: str) -> None:
    with pytest.raises(ValueError, match="RegisterReplica"):
        chukan_client.register([replica()], key=k, by=by)


def _client(sim: ChukanSim, pki: Pki) -> ChukanClient:
    return ChukanClient(sim.url, ca_file=pki.ca_cert, cert_file=pki.client_cert, key_file=pki.client_key,
                        timeout=1.0, attempts=3)


def test_sim_runs_as_its_own_process(tmp_path: Path) -> None:
    """``python -m fixtures.chukan.sim`` (through SimProcess): certificates in --dir, the URL on
    stdout, steered through its control endpoint (SimControl), SIGTERM stops it cleanly."""
    process = SimProcess(tmp_path).start()
    try:
        assert process.url.startswith("https://127.0.0.1:") and process.url.endswith("/chukan")
        client = ChukanClient(process.url, **process.client_files(), timeout=5.0, attempts=2)
        with client, process.control() as control:
            k = key()
            control.misbehave("RegisterReplica", "drop_after")
            assert client.register([replica()], key=k, by=BY).replayed  # the resend after the drop
            assert client.submit_query(query(), key=key(), by=BY).query_id
            assert [r.direction for r in client.records(TOGO, date(2000, 1, 1), date(2100, 1, 1),
                                                        key=key(), by=BY)] == ["Query"]
            held = control.hold_provision(TOGO, OTHER, JT, TM, requested_at=datetime(2026, 11, 2, 9, 0, 0, 120000))
            assert client.list_provisions(key=key(), by=BY) == [held]
            control.set_answer(TM, "3", (Item("1", value="5"), Item("2", unset="NotCovered")))
            ack = client.submit_query(query(), key=key(), by=BY)
            assert ack.query_id is not None
            assert client.query_result(ack.query_id, key=key(), by=BY).items == (
                Item("1", value="5"), Item("2", unset="NotCovered"))
            stats = control.stats()
            assert (stats["replicas"], stats["effects"]["RegisterReplica"], stats["queries"]) == (1, 1, 2)
            with pytest.raises(RuntimeError, match="explode"):
                control.misbehave("RegisterReplica", "explode")
    finally:
        assert process.stop() == 0
