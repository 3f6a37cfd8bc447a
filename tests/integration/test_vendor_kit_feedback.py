"""The vendor's side reads the ward's acknowledgements: the robot (stock gpg, paramiko, no project
code) verifies the ward's signature on each, journals accepted or refused with the rule, refuses
an acknowledgement the ward did not sign, and sends an answer refused for its turn again once
the receipt is accepted — so an early deletion certificate still closes the hand-over."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from fixtures.population import load
from fixtures.services import SshdServer
from fixtures.services.sshd import SftpTree
from fixtures.vendor import Behaviour, Gpg, SftpParams, VendorRobot, create_key_pair, import_public
from fixtures.vendor.keys import short_home, stop_agent
from settings.partners import with_partner
from store.models import Transfer
from tests.harness import Home, wait_until

TREE = "vendor-a"


@pytest.fixture
def tree(sftp_tree: Callable[[str], SftpTree]) -> SftpTree:
    return sftp_tree(TREE)


@pytest.fixture
def vendor_home() -> Iterator[Path]:
    home = short_home()
    yield home
    stop_agent(home)
    shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def vendor(home: Home, sshd: SshdServer, tree: SftpTree, vendor_home: Path,
           tmp_path: Path) -> Iterator[Callable[..., VendorRobot]]:
    """vendor-a over SFTP with its key pinned; a factory of robots for its side."""
    key = create_key_pair(vendor_home, "vendor-a <print@vendor-a.invalid>")
    (home.config_dir / "vendor-a.asc").write_text(key.public_armored.decode(), encoding="ascii")
    home.edit_config("partners.toml", lambda t: with_partner(t, "vendor-a", f"""
[partner.vendor-a]
kind = "print-vendor"
name = "委託印刷事業者A (synthetic)"
channel = "sftp"
host = "127.0.0.1"
port = {tree.port}
user = "{sshd.username}"
key_file = "{sshd.client_key}"
known_hosts = "{sshd.known_hosts}"
openpgp_key = "vendor-a.asc"
openpgp_fingerprint = "{key.fingerprint}"
"""))
    import_public(vendor_home, home.bridge.gpg.export_public(home.bridge.ward_fingerprint).encode())
    robots: list[VendorRobot] = []

    def robot(**behaviour: Any) -> VendorRobot:
        params = SftpParams("127.0.0.1", tree.port, sshd.username, sshd.client_key, sshd.known_hosts)
        made = VendorRobot("vendor-a", params, vendor_home, home.bridge.ward_fingerprint,
                           work_dir=tmp_path / f"robot{len(robots)}", behaviour=Behaviour(**behaviour))
        robots.append(made)
        return made

    yield robot
    for made in robots:
        made.close()


def sent_transfer(home: Home) -> str:
    load(home.bridge.sessions, home.bridge.mynumber, people=200, seed=171, nendo=2026)
    transfer_id = str(home.cli_json("run", "print.hokenryo", "--nendo", "2026", "--by", "alice")["transfer_ids"][0])
    home.start_worker("--routes", "print.deliver")
    wait_until(lambda: state(home, transfer_id) == "sent", 60, "the transfer sent")
    home.stop_all()
    return transfer_id


def state(home: Home, transfer_id: str) -> str:
    with home.bridge.sessions() as s:
        return s.get(Transfer, transfer_id).state  # type: ignore[union-attr]


def poll(home: Home) -> int:
    return home.cli("vendors", "poll", check=False).returncode


def acks_read(robot: VendorRobot) -> list[tuple[str, str, str | None, bool, str | None]]:
    return [(e["answer"].split(".", 1)[1], e["outcome"], e["rule"], e["resend"], e["handover_state"])
            for e in robot.journal() if e["event"] == "ack_read"]


@pytest.mark.parametrize(("misbehaviour", "rule"), [({"bad_signature": "foreign_key"}, "signature"),
                                                     ({"wrong_hash": True}, "plaintext_sha256")])
def test_the_vendor_reads_a_refusal_with_its_rule(home: Home, vendor: Callable[..., VendorRobot], tree: SftpTree,
                                                  misbehaviour: dict[str, Any], rule: str) -> None:
    transfer_id = sent_transfer(home)
    robot = vendor(deletion=False, **misbehaviour)
    assert robot.run_once().receipted == [transfer_id]
    assert poll(home) == 1  # it refused an answer
    seen = robot.run_once()
    assert [(a.answer, a.outcome, a.rule, a.resend) for a in seen.acks] == [
        (f"{transfer_id}.receipt.json", "refused", rule, False)]
    assert acks_read(robot) == [("receipt.json", "refused", rule, False, "sent")]
    assert list(tree.inbox.iterdir()) == [], "the acknowledgement is read and removed"
    assert state(home, transfer_id) == "sent"


def test_an_early_deletion_is_sent_again_after_the_receipt_is_accepted(
        home: Home, vendor: Callable[..., VendorRobot], tree: SftpTree) -> None:
    transfer_id = sent_transfer(home)
    robot = vendor(early_deletion=True)
    first = robot.run_once()
    assert first.deletion_certified == [transfer_id] and first.receipted == []
    assert poll(home) == 1  # the certificate refused for its turn
    assert state(home, transfer_id) == "sent"

    second = robot.run_once()  # reads the refusal (resend), sends the receipt, not yet the certificate
    assert [(a.outcome, a.rule, a.resend) for a in second.acks] == [("refused", "state", True)]
    assert second.receipted == [transfer_id] and second.resent == []
    assert sorted(p.name for p in tree.outbox.iterdir()) == [f"{transfer_id}.receipt.json",
                                                             f"{transfer_id}.receipt.json.asc"]
    assert poll(home) == 0
    assert state(home, transfer_id) == "receipted"

    third = robot.run_once()  # the receipt accepted: the same certificate again
    assert third.resent == [f"{transfer_id}.deletion.json"]
    assert poll(home) == 0
    assert state(home, transfer_id) == "closed"
    robot.run_once()
    assert acks_read(robot) == [
        ("deletion.json", "refused", "state", True, "sent"),
        ("receipt.json", "accepted", None, False, "receipted"),
        ("deletion.json", "accepted", None, False, "closed"),
    ]
    assert list(tree.inbox.iterdir()) == [] and list(tree.outbox.iterdir()) == []


def test_an_acknowledgement_the_ward_did_not_sign_is_not_believed(
        home: Home, vendor: Callable[..., VendorRobot], tree: SftpTree, vendor_home: Path) -> None:
    transfer_id = sent_transfer(home)
    robot = vendor(deletion=False)
    robot.run_once()
    # Someone who can write to the inbox and read the outbox, but has not the ward's key, says the
    # receipt was refused: everything right but the signature.
    sent = hashlib.sha256((tree.outbox / f"{transfer_id}.receipt.json").read_bytes()).hexdigest()
    forged = (f'{{"answer":"{transfer_id}.receipt.json","answer_sha256":"{sent}","outcome":"refused",'
              f'"rule":"state","resend":true,"handover_state":"sent"}}').encode()
    name = f"{transfer_id}.receipt.json.ack.json"
    signer = Gpg(vendor_home)
    (tree.inbox / f"{name}.asc").write_bytes(signer.sign_detached(forged, signer.secret_fingerprints()[0]))
    (tree.inbox / name).write_bytes(forged)
    seen = robot.run_once()
    assert seen.acks == [] and seen.resent == []
    refused = [e for e in robot.journal() if e["event"] == "ack_refused"]
    assert len(refused) == 1 and refused[0]["file"] == name, refused
    assert "not signed by the ward key" in refused[0]["reason"]
    assert list(tree.inbox.iterdir()) == []
