"""Each misbehaviour of the simulated 中間サーバー against ChukanClient: a SOAP fault is final (never
retried); HTTP 500/503, timeouts and dropped connections are retried with the SAME idempotency
key and the effect happens once; duplicate answers are harmless; when every attempt fails the
caller gets ChukanUnavailable naming the operation, and no value."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from typing import Any

import pytest
from lxml import etree
from tenacity import RetryCallState, Retrying

from adapters.chukan.client import ChukanClient, _wait
from adapters.chukan.errors import ChukanFault, ChukanUnavailable
from adapters.chukan.messages import Ack, Item, Query, Replica, ReplicaKey
from adapters.chukan.transport import Transient
from fixtures.chukan.sim import ChukanSim, Pki

TM = "TM00000000000101"
JT = "JT00000000000034"
KIKAN = "0000000000131121"
OTHER = "0000000000271004"
TOGO = "000000000067890"
BY = "batch.fukuhon"
VALUE = "3141592"  # an item value; must never show in an error


def key() -> str:
    return str(uuid.uuid4())


RKEY = ReplicaKey(tm=TM, dataset="0101", version="7", togo_atena_no=TOGO)
REPLICA = Replica(RKEY, (Item("1", value=VALUE), Item("2", unset="NotCovered")))
QUERY = Query(numbering_system="2", atena_no="000000000012345", togo_atena_no=TOGO,
              requested_at=datetime(2026, 11, 26, 9, 0), department="KAIGO01", user_id="op.sato",
              querying_kikan=KIKAN, non_disclosure="0", jimu="JM00000000000012", tetsuzuki=JT,
              provider_kikan=OTHER, tm=TM, condition="1", year_class="1", start=date(2025, 4, 1),
              end=date(2026, 3, 31))


def client_for(sim: ChukanSim, pki: Pki, *, attempts: int = 3, timeout: float = 1.0) -> ChukanClient:
    return ChukanClient(sim.url, ca_file=pki.ca_cert, cert_file=pki.client_cert, key_file=pki.client_key,
                        timeout=timeout, attempts=attempts)


def test_soap_fault_is_not_retried(chukan_sim: ChukanSim, chukan_client: ChukanClient) -> None:
    chukan_sim.misbehave("RegisterReplica", "fault", times=2, code="DBM9001")
    k = key()
    with pytest.raises(ChukanFault) as fault:
        chukan_client.register([REPLICA], key=k, by=BY)
    assert (fault.value.code, fault.value.operation, fault.value.key) == ("DBM9001", "RegisterReplica", k)
    assert chukan_sim.requests_for(k) == 1
    assert chukan_sim.effects["RegisterReplica"] == 0


@pytest.mark.parametrize("mode", ["http500", "http503"])
def test_http_5xx_is_retried_with_the_same_key_and_applied_once(
    chukan_sim: ChukanSim, chukan_client: ChukanClient, mode: Any, caplog: pytest.LogCaptureFixture
) -> None:
    chukan_sim.misbehave("RegisterReplica", mode, times=2)
    k = key()
    ack = chukan_client.register([REPLICA], key=k, by=BY)
    retries = [r.getMessage() for r in caplog.records if r.name == "adapters.chukan.client"]
    assert retries == [f"中間サーバー RegisterReplica: attempt {n} failed (HTTP {mode[-3:]}); sending again with "
                       f"the same key {k}" for n in (1, 2)]
    assert (ack.key, ack.replayed, ack.count) == (k, False, 1)
    assert chukan_sim.requests_for(k) == 3
    assert chukan_sim.effects["RegisterReplica"] == 1
    assert chukan_sim.replica(RKEY) == (1, REPLICA.items)


def test_slow_answer_past_the_timeout_is_resent_and_applied_once(
    chukan_sim: ChukanSim, chukan_client: ChukanClient
) -> None:
    chukan_sim.misbehave("RegisterReplica", "slow", seconds=1.6)
    k = key()
    ack = chukan_client.register([REPLICA], key=k, by=BY)
    assert ack.key == k and ack.count == 1
    assert chukan_sim.wait_idle(10.0)  # the slow request finishes after the client gave up on it
    assert chukan_sim.requests_for(k) == 2
    assert chukan_sim.effects["RegisterReplica"] == 1
    assert chukan_sim.replica(RKEY) == (1, REPLICA.items)


def test_drop_before_the_effect_is_resent_and_applied_once(
    chukan_sim: ChukanSim, chukan_client: ChukanClient
) -> None:
    chukan_sim.misbehave("RegisterReplica", "drop_before")
    k = key()
    ack = chukan_client.register([REPLICA], key=k, by=BY)
    assert (ack.replayed, ack.count) == (False, 1)
    assert chukan_sim.requests_for(k) == 2
    assert chukan_sim.effects["RegisterReplica"] == 1


def _hold(sim: ChukanSim) -> str:
    return sim.hold_provision(TOGO, OTHER, JT, TM).id


# operation -> (what the client does with key k, given the sim; what to check after, given ack)
DROP_AFTER: dict[str, Callable[[ChukanSim, ChukanClient, str], Ack]] = {
    "RegisterReplica": lambda sim, c, k: c.register([REPLICA], key=k, by=BY),
    "SubmitQuery": lambda sim, c, k: c.submit_query(QUERY, key=k, by=BY),
    "AnswerProvision": lambda sim, c, k: c.answer_provision(_hold(sim), "7", [Item("1", value=VALUE)],
                                                            key=k, by=BY),
    "RefuseProvision": lambda sim, c, k: c.refuse_provision(_hold(sim), "01", key=k, by=BY),
}


@pytest.mark.parametrize("op", sorted(DROP_AFTER))
def test_drop_after_the_effect_is_resent_and_recognised_as_a_replay(
    chukan_sim: ChukanSim, chukan_client: ChukanClient, op: str
) -> None:
    chukan_sim.misbehave(op, "drop_after")
    k = key()
    ack = DROP_AFTER[op](chukan_sim, chukan_client, k)
    assert (ack.key, ack.replayed) == (k, True)
    assert chukan_sim.requests_for(k) == 2
    assert chukan_sim.effects[op] == 1


def test_drop_after_submit_query_keeps_one_query(chukan_sim: ChukanSim, chukan_client: ChukanClient) -> None:
    chukan_sim.misbehave("SubmitQuery", "drop_after")
    ack = chukan_client.submit_query(QUERY, key=key(), by=BY)
    assert list(chukan_sim.state.queries) == [ack.query_id]
    assert len(chukan_sim.state.records[TOGO]) == 1  # one 情報提供等記録, not two


def test_duplicate_provision_entries_are_listed_once(chukan_sim: ChukanSim, chukan_client: ChukanClient) -> None:
    held = [chukan_sim.hold_provision(TOGO, OTHER, JT, TM), chukan_sim.hold_provision(TOGO, KIKAN, JT, TM)]
    chukan_sim.misbehave("ListProvisionRequests", "duplicate")
    listed = chukan_client.list_provisions(key=key(), by=BY)
    assert listed == held
    sent = etree.fromstring(chukan_sim.wire[-1].response_body)
    ids = [e.text for e in sent.iter("{urn:kaigo-bridge:chukan:v1}ProvisionRequestId")]
    assert sorted(ids) == sorted([h.id for h in held] * 2)  # the service really did repeat them


def test_a_query_result_fetched_again_is_the_same(chukan_sim: ChukanSim, chukan_client: ChukanClient) -> None:
    chukan_sim.set_answer(TM, ("7", (Item("1", value=VALUE),)))
    ack = chukan_client.submit_query(QUERY, key=key(), by=BY)
    assert ack.query_id is not None
    first = chukan_client.query_result(ack.query_id, key=key(), by=BY)
    second = chukan_client.query_result(ack.query_id, key=key(), by=BY)
    assert first == second and first.items == (Item("1", value=VALUE),)
    assert chukan_sim.effects["SubmitQuery"] == 1 and len(chukan_sim.state.queries) == 1


def test_all_attempts_fail_then_the_queue_resends_later(chukan_sim: ChukanSim, chukan_client: ChukanClient) -> None:
    chukan_sim.misbehave("RegisterReplica", "http503", times=3)
    k = key()
    with pytest.raises(ChukanUnavailable) as failed:
        chukan_client.register([REPLICA], key=k, by=BY)
    message = str(failed.value)
    assert "RegisterReplica" in message and "HTTP 503" in message and "3 attempt" in message
    assert VALUE not in message and TOGO not in message
    assert failed.value.__cause__ is None and failed.value.__suppress_context__
    assert chukan_sim.requests_for(k) == 3 and chukan_sim.effects["RegisterReplica"] == 0
    later = chukan_client.register([REPLICA], key=k, by=BY)  # the caller's queue, same key
    assert (later.replayed, chukan_sim.effects["RegisterReplica"]) == (False, 1)


def test_every_attempt_times_out_but_the_service_finishes_once(chukan_sim: ChukanSim, chukan_pki: Pki) -> None:
    chukan_sim.misbehave("AnswerProvision", "slow", times=2, seconds=1.3)
    request_id = _hold(chukan_sim)
    k = key()
    with client_for(chukan_sim, chukan_pki, attempts=2) as client:
        with pytest.raises(ChukanUnavailable) as failed:
            client.answer_provision(request_id, "7", [Item("1", value=VALUE)], key=k, by=BY)
        assert "timeout" in str(failed.value) and VALUE not in str(failed.value)
        assert chukan_sim.wait_idle(10.0)
        assert chukan_sim.effects["AnswerProvision"] == 1  # both slow requests finished; one effect
        later = client.answer_provision(request_id, "7", [Item("1", value=VALUE)], key=k, by=BY)
        assert later.replayed
    assert chukan_sim.requests_for(k) == 3 and chukan_sim.effects["AnswerProvision"] == 1


@pytest.mark.parametrize("mode", ["drop_before", "drop_after", "http500"])
def test_every_attempt_broken_is_unavailable(chukan_sim: ChukanSim, chukan_client: ChukanClient, mode: Any) -> None:
    chukan_sim.misbehave("DeleteReplica", mode, times=3)
    with pytest.raises(ChukanUnavailable) as failed:
        chukan_client.delete([RKEY], key=key(), by=BY)
    assert failed.value.operation == "DeleteReplica" and TOGO not in str(failed.value)


def test_service_down_is_unavailable(chukan_pki: Pki) -> None:
    sim = ChukanSim(chukan_pki)
    url_of_nothing = sim.url
    sim.stop()  # bound, never served, closed: the port refuses connections
    client = ChukanClient(url_of_nothing, ca_file=chukan_pki.ca_cert, cert_file=chukan_pki.client_cert,
                          key_file=chukan_pki.client_key, timeout=1.0, attempts=2)
    with client, pytest.raises(ChukanUnavailable, match="connection failed"):
        client.records(TOGO, date(2026, 1, 1), date(2026, 12, 31), key=key(), by=BY)


def test_misbehaviour_counts_down_per_operation(chukan_sim: ChukanSim, chukan_client: ChukanClient) -> None:
    chukan_sim.misbehave("GetRecords", "fault", times=2, code="TKM0009")
    for _ in range(2):
        with pytest.raises(ChukanFault, match="TKM0009"):
            chukan_client.records(TOGO, date(2026, 1, 1), date(2026, 12, 31), key=key(), by=BY)
    chukan_client.list_provisions(key=key(), by=BY)  # another operation is not affected
    assert chukan_client.records(TOGO, date(2026, 1, 1), date(2026, 12, 31), key=key(), by=BY) == []


def test_client_settings_are_checked(chukan_pki: Pki, tmp_path: Any) -> None:
    files = {"ca_file": chukan_pki.ca_cert, "cert_file": chukan_pki.client_cert, "key_file": chukan_pki.client_key}
    with pytest.raises(ValueError, match="https"):
        ChukanClient("http://127.0.0.1:1/chukan", **files, timeout=1.0, attempts=1)
    with pytest.raises(ValueError, match="ca_file: no such file"):
        ChukanClient("https://127.0.0.1:1/chukan", **{**files, "ca_file": tmp_path / "none.pem"}, timeout=1.0,
                     attempts=1)
    with pytest.raises(ValueError, match="together"):
        ChukanClient("https://127.0.0.1:1/chukan", ca_file=chukan_pki.ca_cert, cert_file=chukan_pki.client_cert,
                     key_file=None, timeout=1.0, attempts=1)
    with pytest.raises(ValueError, match="attempts"):
        ChukanClient("https://127.0.0.1:1/chukan", **files, timeout=1.0, attempts=0)


def test_unknown_misbehaviour_is_refused(chukan_sim: ChukanSim) -> None:
    with pytest.raises(ValueError, match="Register"):
        chukan_sim.misbehave("Register", "fault")
    with pytest.raises(ValueError, match="mode"):
        chukan_sim.misbehave("RegisterReplica", "explode")  # type: ignore[arg-type]


@pytest.mark.parametrize(("retry_after", "expected"), [(None, 0.05), (1.0, 1.0), (0.0, 0.05), (30.0, 2.0)])
def test_retry_wait_takes_the_services_retry_after_up_to_two_seconds(
    retry_after: float | None, expected: float
) -> None:
    state = RetryCallState(Retrying(), None, (), {})
    state.set_exception((Transient, Transient("HTTP 503", retry_after), None))  # first attempt failed
    assert _wait(state) == pytest.approx(expected)


def test_concurrent_requests_with_one_key_apply_once(chukan_sim: ChukanSim, chukan_pki: Pki) -> None:
    """Four clients send the same request with the same key at once (a resend racing the
    original): one effect, every answer the same count, all but one a replay."""
    k = key()
    batch = [Replica(ReplicaKey(TM, "0101", "7", f"{n:015d}"), (Item("1", value=str(n)),)) for n in range(200)]
    clients = [client_for(chukan_sim, chukan_pki, timeout=5.0) for _ in range(4)]
    start = threading.Barrier(len(clients))

    def send(client: ChukanClient) -> Ack:
        start.wait()
        return client.register(batch, key=k, by=BY)

    with ThreadPoolExecutor(len(clients)) as pool:
        acks = list(pool.map(send, clients))
    for client in clients:
        client.close()
    assert [a.count for a in acks] == [200] * 4
    assert sorted(a.replayed for a in acks) == [False, True, True, True]
    assert chukan_sim.effects["RegisterReplica"] == 1 and chukan_sim.replica_count() == 200
