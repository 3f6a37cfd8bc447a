"""Quarantine decisions on a received inbound file: hold with a masked report, release (queued
for loading again), hold again, reject (stored copy deleted); each recorded with its operator.
The 国保連 loader that will call ``hold`` is not written yet; the test calls it as a loader does."""

from __future__ import annotations

from queues import quarantine
from store.models import Transfer
from tests.harness import Home
from tests.integration.test_inbound import inbound_flow, queued

NUMBER = "123456789018"


def received(home: Home) -> str:
    folder = inbound_flow(home)
    (folder / "KYUFU009").write_bytes(b"1,1,1,2,113\r\n")
    (folder / "KYUFU009.end").write_bytes(b"")
    return str(home.cli_json("receive", "kokuho.kyufu")[0]["transfer"])


def hold(home: Home, transfer_id: str) -> None:
    problems = [{"file": "KYUFU009", "record": 2, "field": "hihokensha_no", "rule": "unknown 被保険者番号",
                 "value": "0000000001"},
                {"file": "KYUFU009", "record": 3, "field": "kojin_bango", "rule": "check digit",
                 "value": NUMBER}]  # a loader masks sensitive values; the quarantine masks again
    with home.bridge.sessions.begin() as s:
        transfer = s.get(Transfer, transfer_id)
        assert transfer is not None
        quarantine.hold(s, transfer, "KYUFU009", problems, "loader:test")
    home.bridge.flush_custody()


def test_hold_release_hold_reject(home: Home) -> None:
    transfer_id = received(home)
    assert queued(home, "kokuho.load") == 1
    hold(home, transfer_id)
    listed = home.cli_json("quarantine", "list")
    assert [(q["transfer"], q["errors"], q["state"]) for q in listed] == [(transfer_id, 2, "held")]
    assert home.cli_json("status")["quarantine"] == {"held": 1}
    report = home.cli_json("quarantine", "show", transfer_id)
    assert [p["rule"] for p in report] == ["unknown 被保険者番号", "check digit"]
    assert report[1]["value"] == "********9018"
    shown = home.cli("quarantine", "show", transfer_id)
    assert NUMBER not in shown.stdout

    home.cli("quarantine", "release", transfer_id, "--by", "op-1", "--reason", "code table corrected")
    assert queued(home, "kokuho.load") == 2  # loading again
    twice = home.cli("quarantine", "release", transfer_id, "--by", "op-1", "--reason", "again", check=False)
    assert twice.returncode == 1 and "already released" in twice.stderr

    hold(home, transfer_id)  # still failing
    home.cli("quarantine", "reject", transfer_id, "--by", "op-2", "--reason", "asked the 国保連 to resend")
    with home.bridge.sessions() as s:
        transfer = s.get(Transfer, transfer_id)
        assert transfer is not None and transfer.state == "rejected"
        assert not home.bridge.payloads.exists(transfer.payload_ref)
    chain = home.cli_json("custody", "show", transfer_id)
    assert [(e["event"], e["actor"]) for e in chain] == [
        ("received", "kaigo-bridge"), ("quarantined", "loader:test"), ("released", "operator:op-1"),
        ("quarantined", "loader:test"), ("rejected", "operator:op-2")]
    assert home.cli_json("quarantine", "list") == []
