"""The acknowledgement the ward writes back for every answer (HANDOVER.md "Acknowledgements"),
read with stock gpg as a vendor would, and what the operator sees of a refusal: the poll's exit
code and line, the problem column, `vendors answers`, `quarantine list --all`, custody."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from adapters.vendor import exchange
from fixtures.services.sshd import SftpTree
from fixtures.vendor import VendorRobot
from fixtures.vendor.gpgcli import Gpg as StockGpg
from fixtures.vendor.keys import create_key_pair, short_home, stop_agent
from tests.harness import Home
from tests.integration.test_vendor_answers_states import Vendor, poll, state
from tests.integration.test_vendor_handover import (  # noqa: F401 (fixtures)
    chain,
    sent_transfer,
    sftp_home,
    tree,
    vendor_home,
)

KEYS = {"answer", "answer_sha256", "transfer_id", "kind", "outcome", "duplicate", "rule", "reason", "resend",
        "handover_state", "acknowledged_at", "ward_key_fingerprint"}


def canonical(doc: dict[str, object]) -> bytes:
    return json.dumps(doc, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def test_a_refused_and_an_accepted_answer_each_get_a_signed_acknowledgement_and_the_refusal_is_shown(
        sftp_home: tuple[Home, Callable[..., VendorRobot]], tree: SftpTree, vendor_home: Path) -> None:  # noqa: F811
    home, _robot = sftp_home
    transfer_id = sent_transfer(home)
    vendor = Vendor(home, tree, vendor_home)
    name = f"{transfer_id}.receipt.json"
    receipt = vendor.receipt(transfer_id)
    stranger = short_home()
    try:
        foreign = create_key_pair(stranger, "not the vendor <x@invalid.invalid>")
        vendor.put(name, receipt, StockGpg(stranger).sign_detached(receipt, foreign.fingerprint))
    finally:
        stop_agent(stranger)
        shutil.rmtree(stranger, ignore_errors=True)

    code, polled, err = poll(home)
    assert code == 1 and polled["refused"] == [name], polled
    assert err.strip().splitlines()[-1] == (
        "kaigo-bridge: 要対応: 1 answer(s) refused (1 signature) and acknowledged to the vendor; "
        "kaigo-bridge vendors answers --refused says why"), err
    raw = (tree.inbox / f"{name}.ack.json").read_bytes()
    ack = vendor.ack(name)  # stock gpg: VALIDSIG by the ward fingerprint
    assert set(ack) == KEYS and raw == canonical(ack)
    assert ack["answer"] == name and ack["answer_sha256"] == hashlib.sha256(receipt).hexdigest()
    assert (ack["transfer_id"], ack["kind"], ack["outcome"], ack["duplicate"], ack["rule"], ack["resend"],
            ack["handover_state"]) == (transfer_id, "receipt", "refused", False, "signature", False, "sent")
    assert ack["ward_key_fingerprint"] == home.bridge.ward_fingerprint
    assert datetime.fromisoformat(ack["acknowledged_at"]).tzinfo is not None
    assert list(tree.outbox.iterdir()) == []  # read, refused, acknowledged: removed

    # The operator's side of the refusal.
    assert chain(home, transfer_id)[-1] == "answer_refused"
    refused = home.cli_json("vendors", "answers", "--refused")
    assert [(a["transfer_id"], a["name"], a["kind"], a["rule"], a["sha256"]) for a in refused] == [
        (transfer_id, name, "receipt", "signature", hashlib.sha256(receipt).hexdigest())]
    home.env["COLUMNS"] = "400"  # an operator's wide terminal: rich wraps every cell at 80
    table = home.cli("handovers").stdout
    assert "problem" in table and "receipt refused (signature)" in table and transfer_id in table
    kept = [q for q in home.cli_json("quarantine", "list", "--all") if q["file"] == name]
    assert len(kept) == 1 and kept[0]["state"] == "refused (signature)", kept
    assert transfer_id in home.cli("quarantine", "show", kept[0]["transfer"]).stdout
    assert home.cli_json("quarantine", "list") == []  # without --all: inbound files held only

    vendor.put(name, receipt)  # now signed by the vendor
    code, polled, _ = poll(home)
    assert code == 0 and polled["applied"] == {"receipt": 1}, polled
    raw = (tree.inbox / f"{name}.ack.json").read_bytes()
    ack = vendor.ack(name)
    assert set(ack) == KEYS and raw == canonical(ack)
    assert (ack["outcome"], ack["duplicate"], ack["rule"], ack["reason"], ack["resend"], ack["handover_state"]) == (
        "accepted", False, None, None, False, "receipted")
    assert state(home, transfer_id) == "receipted"
    assert home.cli_json("vendors", "answers", "--refused") == []  # made good by the receipt taken
    assert home.cli_json("handovers")[0]["problem"] is None
    assert [a["resolved_at"] is not None for a in home.cli_json("vendors", "answers")] == [False, True]


def test_files_left_unread_and_names_of_no_answer_are_acknowledged_once(
        sftp_home: tuple[Home, Callable[..., VendorRobot]], tree: SftpTree, vendor_home: Path) -> None:  # noqa: F811
    home, _robot = sftp_home
    transfer_id = sent_transfer(home)
    vendor = Vendor(home, tree, vendor_home)
    oversize = f"{transfer_id}.returns.csv"
    (tree.outbox / oversize).write_bytes(b" " * (exchange.MAX_ANSWER_BYTES + 1))
    (tree.outbox / f"{oversize}.asc").write_bytes(b"-----BEGIN PGP SIGNATURE-----\n")
    (tree.outbox / "hello.txt").write_bytes(b"not an answer")

    code, polled, _ = poll(home)
    assert code == 1 and polled["refused"] == [oversize] and polled["unknown"] == ["hello.txt"], polled
    big = vendor.ack(oversize)
    assert (big["rule"], big["answer_sha256"], big["transfer_id"], big["kind"], big["handover_state"]) == (
        "too_large", None, transfer_id, "returns", "sent")
    assert "more than the" in big["reason"]
    odd = vendor.ack("hello.txt")
    assert (odd["rule"], odd["transfer_id"], odd["kind"], odd["handover_state"], odd["outcome"]) == (
        "name", None, None, None, "refused")
    assert sorted(p.name for p in tree.outbox.iterdir()) == sorted([oversize, f"{oversize}.asc", "hello.txt"])
    assert vendor.acks() == sorted([f"{oversize}.ack.json", f"{oversize}.ack.json.asc", "hello.txt.ack.json",
                                    "hello.txt.ack.json.asc"])

    for name in vendor.acks():  # the vendor reads and removes its acknowledgements
        (tree.inbox / name).unlink()
    code, polled, _ = poll(home)  # still there, unchanged: said once
    assert code == 0 and polled["refused"] == [] and polled["unknown"] == [], polled
    assert vendor.acks() == []
    assert len(home.cli_json("vendors", "answers")) == 2


def test_an_answer_the_server_will_not_let_us_read_is_refused_unread_once_and_the_rest_is_read(
        sftp_home: tuple[Home, Callable[..., VendorRobot]], tree: SftpTree, vendor_home: Path) -> None:  # noqa: F811
    home, _robot = sftp_home
    transfer_id = sent_transfer(home)
    vendor = Vendor(home, tree, vendor_home)
    locked = f"{transfer_id}.deletion.json"
    vendor.put(locked, vendor.deletion(transfer_id))
    (tree.outbox / locked).chmod(0)  # the SFTP account may list it, not open it
    vendor.put(f"{transfer_id}.receipt.json", vendor.receipt(transfer_id))

    code, polled, _ = poll(home)
    assert code == 1 and polled["refused"] == [locked] and polled["applied"] == {"receipt": 1}, polled
    ack = vendor.ack(locked)
    assert (ack["rule"], ack["answer_sha256"], ack["outcome"], ack["handover_state"]) == (
        "unreadable", None, "refused", "receipted")
    assert sorted(p.name for p in tree.outbox.iterdir()) == [locked, f"{locked}.asc"]  # left there
    assert [(a["kind"], a["outcome"], a["rule"]) for a in home.cli_json("vendors", "answers")] == [
        ("deletion", "refused", "unreadable"), ("receipt", "accepted", None)]

    code, polled, _ = poll(home)  # unchanged: refused once
    assert code == 0 and polled["refused"] == [], polled
    assert len(home.cli_json("vendors", "answers")) == 2
    (tree.outbox / locked).chmod(0o644)  # the vendor fixes it: a changed file (mtime) is judged again
    vendor.put(locked, vendor.deletion(transfer_id))
    code, polled, _ = poll(home)
    assert code == 0 and polled["applied"] == {"closed": 1}, polled
    assert state(home, transfer_id) == "closed"
    assert home.cli_json("vendors", "answers", "--refused") == []
