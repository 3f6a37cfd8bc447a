"""The hand-over state machine (adapters/vendor/HANDOVER.md) over real SFTP and stock gpg: answers
written and signed here as a vendor would (gpg --detach-sign), read by `vendors poll`, and the
signed acknowledgement the ward leaves in the vendor's inbox/ read back with stock gpg."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update

from fixtures.services import SshdServer
from fixtures.services.sshd import SftpTree
from fixtures.vendor import VendorRobot
from fixtures.vendor.gpgcli import Gpg as StockGpg
from fixtures.vendor.keys import create_key_pair, import_public, short_home, stop_agent
from store.models import Handover, Transfer, VendorAnswer
from tests.harness import Home
from tests.integration.test_vendor_handover import (  # noqa: F401 (fixtures)
    chain,
    sent_transfer,
    sftp_home,
    tree,
    vendor_home,
)


class Vendor:
    """The vendor's side of these tests: its answers signed with its key by stock gpg, put into
    outbox/ as its SFTP client would leave them; the ward's acknowledgements read from inbox/."""

    def __init__(self, home: Home, sftp_tree: SftpTree, gnupg: Path) -> None:
        self.home, self.tree, self.gnupg = home, sftp_tree, gnupg
        self.fingerprint = home.config.partners["vendor-a"].openpgp_fingerprint
        assert self.fingerprint is not None

    def sent(self, transfer_id: str) -> tuple[str, str, int]:
        """What the manifest said: plaintext and ciphertext hashes and the record count."""
        manifest = json.loads((self.tree.inbox / f"{transfer_id}.manifest.json").read_bytes())
        return manifest["plaintext_sha256"], manifest["ciphertext_sha256"], manifest["record_count"]

    def put(self, name: str, data: bytes, signature: bytes | None = None) -> None:
        assert self.fingerprint is not None
        sig = signature if signature is not None else StockGpg(self.gnupg).sign_detached(data, self.fingerprint)
        (self.tree.outbox / f"{name}.asc").write_bytes(sig)
        (self.tree.outbox / name).write_bytes(data)

    def receipt(self, transfer_id: str, received_at: str = "2026-12-08T10:00:00+09:00") -> bytes:
        plain, cipher, count = self.sent(transfer_id)
        return json.dumps({"transfer_id": transfer_id, "plaintext_sha256": plain, "ciphertext_sha256": cipher,
                           "record_count": count, "received_at": received_at}).encode()

    def deletion(self, transfer_id: str) -> bytes:
        plain, cipher, _count = self.sent(transfer_id)
        return json.dumps({"transfer_id": transfer_id, "plaintext_sha256": plain, "ciphertext_sha256": cipher,
                           "deleted_at": "2026-12-09T09:00:00+09:00", "method": "overwrite+unlink"}).encode()

    def ack(self, answer: str) -> dict[str, Any]:
        """The acknowledgement of ``answer``, its signature checked with stock gpg first: a good
        signature by exactly the ward key (VALIDSIG <fingerprint>), else AssertionError."""
        ack = self.tree.inbox / f"{answer}.ack.json"
        verified = subprocess.run(["gpg", "--homedir", str(self.gnupg), "--batch", "--status-fd", "1", "--verify",
                                   f"{ack}.asc", str(ack)], capture_output=True, text=True)
        valid = [line.split()[2] for line in verified.stdout.splitlines() if line.startswith("[GNUPG:] VALIDSIG ")]
        assert verified.returncode == 0 and valid == [self.home.bridge.ward_fingerprint], verified.stdout
        doc: dict[str, Any] = json.loads(ack.read_bytes().decode("utf-8"))
        return doc

    def acks(self) -> list[str]:
        return sorted(p.name for p in self.tree.inbox.iterdir() if ".ack.json" in p.name)


def poll(home: Home) -> tuple[int, dict[str, Any], str]:
    done = home.cli("vendors", "poll", "--json", check=False)
    return done.returncode, json.loads(done.stdout)[0], done.stderr


def state(home: Home, transfer_id: str) -> str:
    with home.bridge.sessions() as s:
        return s.get(Transfer, transfer_id).state  # type: ignore[union-attr]


def test_an_early_deletion_certificate_sent_again_unchanged_after_the_receipt_closes_the_handover(
        sftp_home: tuple[Home, Callable[..., VendorRobot]], tree: SftpTree, vendor_home: Path) -> None:  # noqa: F811
    home, _robot = sftp_home
    transfer_id = sent_transfer(home)
    vendor = Vendor(home, tree, vendor_home)
    deletion = vendor.deletion(transfer_id)
    signature = StockGpg(vendor_home).sign_detached(deletion, vendor.fingerprint or "")
    name = f"{transfer_id}.deletion.json"

    vendor.put(name, deletion, signature)
    code, polled, err = poll(home)
    assert code == 1 and "要対応" in err and polled["refused"] == [name], (polled, err)
    assert state(home, transfer_id) == "sent"
    ack = vendor.ack(name)
    assert (ack["outcome"], ack["rule"], ack["resend"], ack["handover_state"]) == ("refused", "state", True, "sent")
    assert "receipt" in ack["reason"]
    problem = home.cli_json("handovers")[0]["problem"]
    assert problem == ("deletion refused (state): a deletion certificate before the receipt; resend it after the "
                       "receipt is acknowledged"), problem
    assert [(a["kind"], a["outcome"], a["rule"]) for a in home.cli_json("vendors", "answers", "--refused")] == [
        ("deletion", "refused", "state")]

    vendor.put(f"{transfer_id}.receipt.json", vendor.receipt(transfer_id))
    code, polled, _ = poll(home)
    assert code == 0 and polled["applied"] == {"receipt": 1}, polled
    assert state(home, transfer_id) == "receipted"

    vendor.put(name, deletion, signature)  # the very same bytes, the very same signature
    code, polled, _ = poll(home)
    assert code == 0 and polled["applied"] == {"closed": 1} and polled["refused"] == [], polled
    assert state(home, transfer_id) == "closed"
    ack = vendor.ack(name)  # the second judgement's acknowledgement replaced the first
    assert (ack["outcome"], ack["rule"], ack["resend"], ack["handover_state"]) == ("accepted", None, False, "closed")
    assert chain(home, transfer_id) == ["extracted", "encrypted", "queued", "sent", "answer_refused", "receipt",
                                        "deleted", "purged"]
    assert home.cli_json("handovers")[0]["problem"] is None
    assert home.cli_json("vendors", "answers", "--refused") == []
    answers = home.cli_json("vendors", "answers")
    assert [(a["kind"], a["outcome"]) for a in answers] == [("deletion", "accepted"), ("receipt", "accepted"),
                                                             ("deletion", "refused")]
    assert answers[2]["resolved_at"] is not None
    assert list(tree.outbox.iterdir()) == []


def test_a_late_signed_rejection_after_close_and_purge_is_refused_and_the_handover_stays_closed(
        sftp_home: tuple[Home, Callable[..., VendorRobot]], tree: SftpTree, vendor_home: Path) -> None:  # noqa: F811
    home, robot = sftp_home
    transfer_id = sent_transfer(home)
    vendor = Vendor(home, tree, vendor_home)
    robot().run_once()  # receipt and deletion certificate
    assert poll(home)[1]["applied"] == {"receipt": 1, "closed": 1}
    assert chain(home, transfer_id)[-1] == "purged"

    name = f"{transfer_id}.rejected.json"
    vendor.put(name, json.dumps({"transfer_id": transfer_id, "check": "record_count", "reason": "late",
                                 "rejected_at": "2026-12-10T09:00:00+09:00"}).encode())
    code, polled, _ = poll(home)
    assert code == 1 and polled["refused"] == [name] and polled["applied"] == {}, polled
    assert state(home, transfer_id) == "closed"
    with home.bridge.sessions() as s:
        handover = s.get(Handover, transfer_id)
        assert handover is not None and handover.deleted_at is not None
    ack = vendor.ack(name)
    assert (ack["outcome"], ack["rule"], ack["resend"], ack["handover_state"], ack["kind"]) == (
        "refused", "state", False, "closed", "rejected")
    events = chain(home, transfer_id)
    assert events[-1] == "answer_refused" and "vendor_rejected" not in events
    assert list(tree.outbox.iterdir()) == []  # read, refused, acknowledged: removed


def test_an_answer_read_again_after_a_stop_is_applied_once_and_acknowledged_with_the_same_bytes(
        sftp_home: tuple[Home, Callable[..., VendorRobot]], tree: SftpTree, vendor_home: Path) -> None:  # noqa: F811
    home, _robot = sftp_home
    transfer_id = sent_transfer(home)
    vendor = Vendor(home, tree, vendor_home)
    name, receipt = f"{transfer_id}.receipt.json", vendor.receipt(transfer_id)
    signature = StockGpg(vendor_home).sign_detached(receipt, vendor.fingerprint or "")
    vendor.put(name, receipt, signature)
    assert poll(home)[1]["applied"] == {"receipt": 1}
    first = (tree.inbox / f"{name}.ack.json").read_bytes()

    # A poll stopped after its store commit, before the acknowledgement and the removal: the
    # judgement is not done and the answer is still on the server.
    with home.bridge.sessions.begin() as s:
        s.execute(update(VendorAnswer).values(done_at=None))
    (tree.inbox / f"{name}.ack.json").unlink()
    (tree.inbox / f"{name}.ack.json.asc").unlink()
    vendor.put(name, receipt, signature)
    code, polled, _ = poll(home)
    assert code == 0 and polled["applied"] == {} and polled["duplicate"] == 0, polled  # completed, not judged
    assert (tree.inbox / f"{name}.ack.json").read_bytes() == first
    assert vendor.ack(name)["outcome"] == "accepted"
    assert len(home.cli_json("vendors", "answers")) == 1
    assert list(tree.outbox.iterdir()) == []

    # Sent again by the vendor after it was done: taken as a duplicate, applied once all the same.
    vendor.put(name, receipt, signature)
    code, polled, _ = poll(home)
    assert code == 0 and polled["duplicate"] == 1 and polled["applied"] == {}, polled
    ack = vendor.ack(name)
    assert (ack["outcome"], ack["duplicate"], ack["handover_state"]) == ("accepted", True, "receipted")
    assert chain(home, transfer_id).count("receipt") == 1
    with home.bridge.sessions() as s:
        assert s.scalar(select(func.count()).select_from(VendorAnswer)) == 2


def test_a_rejection_while_sent_ends_the_handover_and_nothing_reopens_it(
        sftp_home: tuple[Home, Callable[..., VendorRobot]], tree: SftpTree, vendor_home: Path) -> None:  # noqa: F811
    home, _robot = sftp_home
    transfer_id = sent_transfer(home)
    vendor = Vendor(home, tree, vendor_home)
    rejection = json.dumps({"transfer_id": transfer_id, "check": "record_count", "reason": "337 lines, 336 expected",
                            "rejected_at": "2026-12-08T11:00:00+09:00"}).encode()
    name = f"{transfer_id}.rejected.json"
    vendor.put(name, rejection)
    code, polled, _ = poll(home)
    assert code == 0 and polled["applied"] == {"vendor-rejected": 1}, polled  # taken: the vendor's word
    assert state(home, transfer_id) == "rejected"
    assert chain(home, transfer_id)[-1] == "vendor_rejected"
    assert home.cli_json("handovers")[0]["problem"] == (
        "vendor rejected the delivery: record_count: 337 lines, 336 expected")
    ack = vendor.ack(name)
    assert (ack["outcome"], ack["kind"], ack["duplicate"], ack["handover_state"]) == (
        "accepted", "rejected", False, "rejected")

    vendor.put(f"{transfer_id}.receipt.json", vendor.receipt(transfer_id))
    vendor.put(name, rejection)
    code, polled, _ = poll(home)
    assert code == 1 and polled["refused"] == [f"{transfer_id}.receipt.json"] and polled["duplicate"] == 1, polled
    ack = vendor.ack(f"{transfer_id}.receipt.json")
    assert (ack["rule"], ack["resend"], ack["handover_state"]) == ("state", False, "rejected")
    assert state(home, transfer_id) == "rejected"
    assert chain(home, transfer_id).count("vendor_rejected") == 1


def test_a_vendor_naming_another_vendors_transfer_is_refused_and_touches_nothing_of_it(
        sftp_home: tuple[Home, Callable[..., VendorRobot]], tree: SftpTree, vendor_home: Path,  # noqa: F811
        sshd: SshdServer, sftp_tree: Callable[[str], SftpTree]) -> None:
    home, _robot = sftp_home
    transfer_id = sent_transfer(home)  # vendor-a's
    other_tree, other_home = sftp_tree("vendor-b"), short_home()
    try:
        other = create_key_pair(other_home, "vendor-b <print@vendor-b.invalid>")
        import_public(other_home, home.bridge.gpg.export_public(home.bridge.ward_fingerprint).encode())
        (home.config_dir / "vendor-b.asc").write_text(other.public_armored.decode(), encoding="ascii")
        home.edit_config("partners.toml", lambda t: t + f"""
[partner.vendor-b]
kind = "print-vendor"
name = "委託印刷事業者B (synthetic)"
channel = "sftp"
host = "127.0.0.1"
port = {other_tree.port}
user = "{sshd.username}"
key_file = "{sshd.client_key}"
known_hosts = "{sshd.known_hosts}"
openpgp_key = "vendor-b.asc"
openpgp_fingerprint = "{other.fingerprint}"
""")
        receipt = Vendor(home, tree, vendor_home).receipt(transfer_id)  # a true copy of vendor-a's receipt
        name = f"{transfer_id}.receipt.json"
        (other_tree.outbox / f"{name}.asc").write_bytes(StockGpg(other_home).sign_detached(receipt, other.fingerprint))
        (other_tree.outbox / name).write_bytes(receipt)
        done = home.cli("vendors", "poll", "--json", check=False)
        polled = {r["partner"]: r for r in json.loads(done.stdout)}
        assert done.returncode == 1 and polled["vendor-b"]["refused"] == [name], polled
        assert polled["vendor-a"]["refused"] == [] and polled["vendor-a"]["applied"] == {}, polled
        ack = json.loads((other_tree.inbox / f"{name}.ack.json").read_bytes())
        assert (ack["rule"], ack["handover_state"], ack["transfer_id"]) == ("transfer_unknown", None, transfer_id)
    finally:
        stop_agent(other_home)
        shutil.rmtree(other_home, ignore_errors=True)
    assert state(home, transfer_id) == "sent"
    assert home.cli_json("handovers")[0]["problem"] is None
    assert "answer_refused" not in chain(home, transfer_id)  # vendor-a's chain is vendor-a's
