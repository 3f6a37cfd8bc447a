"""The print-vendor robot against a real sshd and real gpg. The ward is played by wardplay.py (stock
gpg and paramiko, no code shared with the robot); answers are read from the tree on disk and their
signatures checked with ``gpg --verify`` in the ward's own home."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

import pytest

from fixtures.services import SshdServer
from fixtures.services.sshd import SftpTree
from fixtures.vendor import Behaviour, KeyPair, SftpParams, VendorRobot, create_key_pair, import_public, wardplay
from fixtures.vendor.keys import exchange_keys, short_home, stop_agent
from fixtures.vendor.localfiles import count_crlf_records, destroy
from fixtures.vendor.wardplay import Delivery, build_delivery, gpg, signer_of

REPO = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 4, 1, 9, 30, tzinfo=UTC).timestamp()
TREE = "vendor-b"


class Keys(NamedTuple):
    ward: KeyPair
    vendor: KeyPair
    rogue: KeyPair  # another key pair the vendor knows; holds the vendor's public key


@pytest.fixture(scope="module")
def keys() -> Iterator[Keys]:
    homes = [short_home() for _ in range(3)]
    try:
        ward, vendor = exchange_keys(homes[0], homes[1])
        rogue = create_key_pair(homes[2], "rogue <rogue@example.invalid>")
        import_public(homes[2], vendor.public_armored)
        import_public(homes[1], rogue.public_armored)  # known to the vendor: only its fingerprint is wrong
        yield Keys(ward, vendor, rogue)
    finally:
        for home in homes:
            stop_agent(home)
            shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def tree(sftp_tree: Callable[[str], SftpTree]) -> SftpTree:
    return sftp_tree(TREE)


@pytest.fixture
def make_robot(sshd: SshdServer, tree: SftpTree, keys: Keys, tmp_path: Path) -> Iterator[Callable[..., VendorRobot]]:
    robots: list[VendorRobot] = []

    def make(clock: Callable[[], float] = lambda: T0, **behaviour: object) -> VendorRobot:
        params = SftpParams("127.0.0.1", tree.port, sshd.username, sshd.client_key, sshd.known_hosts)
        robot = VendorRobot("robot", params, keys.vendor.home, keys.ward.fingerprint, clock=clock,
                            work_dir=tmp_path / f"robot{len(robots)}", behaviour=Behaviour(**behaviour))  # type: ignore[arg-type]
        robots.append(robot)
        return robot

    yield make
    for robot in robots:
        robot.close()


# --- the ward, played with stock tools (fixtures/vendor/wardplay.py shares no code with the robot)


def build(keys: Keys, tid: str, rows: int = 3, **options: object) -> Delivery:
    return build_delivery(tid, keys.ward, keys.vendor.fingerprint, rows, **options)  # type: ignore[arg-type]


def upload(sshd: SshdServer, tree: SftpTree, files: dict[str, bytes]) -> None:
    wardplay.upload("127.0.0.1", tree.port, sshd.username, sshd.client_key, sshd.known_hosts, files)


def listing(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


def answer(keys: Keys, tree: SftpTree, name: str) -> dict[str, object]:
    path = tree.outbox / name
    assert signer_of(keys.ward.home, path) == keys.vendor.fingerprint, f"{name} not signed by the vendor key"
    return json.loads(path.read_bytes())


def events(robot: VendorRobot, event: str) -> list[dict[str, object]]:
    return [e for e in robot.journal() if e["event"] == event]


def assert_no_plaintext(robot: VendorRobot, delivery: Delivery) -> None:
    leftovers = [p for p in robot.work_dir.rglob("*") if p.is_file() and p != robot.journal_path]
    assert leftovers == []
    journal = robot.journal_path.read_bytes()
    assert delivery.plaintext.split(b"\r\n")[0] not in journal and "セタガヤ".encode() not in journal


# --- an honest vendor -----------------------------------------------------------------------


def test_honest_vendor_receipts_prints_deletes_and_signs_everything(sshd, tree, keys, make_robot) -> None:
    robot = make_robot()
    d = build(keys, "T-0001", rows=3)
    upload(sshd, tree, d.files())
    upload(sshd, tree, build(keys, "T-0002", rows=2).files())  # another part of the same run

    result = robot.run_once()

    assert result.picked_up == result.receipted == result.deletion_certified == ["T-0001", "T-0002"]
    assert listing(tree.inbox) == set()
    assert listing(tree.outbox) == {f"T-000{n}.{doc}.json{sig}" for n in (1, 2) for doc in ("receipt", "deletion")
                                    for sig in ("", ".asc")}
    common = {"transfer_id": "T-0001", "plaintext_sha256": hashlib.sha256(d.plaintext).hexdigest(),
              "ciphertext_sha256": hashlib.sha256(d.ciphertext).hexdigest(),
              "vendor_key_fingerprint": keys.vendor.fingerprint}
    assert answer(keys, tree, "T-0001.receipt.json") == {**common, "record_count": 3,
                                                         "received_at": "2026-04-01T09:30:00Z"}
    assert answer(keys, tree, "T-0001.deletion.json") == {**common, "deleted_at": "2026-04-01T09:30:00Z",
                                                          "method": "overwrite+unlink"}
    assert answer(keys, tree, "T-0002.receipt.json")["record_count"] == 2
    assert_no_plaintext(robot, d)
    uploads = [e["file"] for e in events(robot, "uploaded")]
    assert uploads[:4] == ["T-0001.receipt.json.asc", "T-0001.receipt.json",
                           "T-0001.deletion.json.asc", "T-0001.deletion.json"]  # each signature before its file
    order = [e["event"] for e in robot.journal()]
    assert order.index("receipt_written") < order.index("inbox_removed") < order.index("deletion_written")
    assert robot.run_once().picked_up == []


def test_returns_come_from_the_print_data_and_repeat_for_a_seed(sshd, tree, keys, make_robot) -> None:
    d = build(keys, "R-0001", rows=6)
    texts = []
    for _ in range(2):
        upload(sshd, tree, d.files())
        make_robot(returns=3, seed=7).run_once()
        texts.append((tree.outbox / "R-0001.returns.csv").read_bytes())
        assert signer_of(keys.ward.home, tree.outbox / "R-0001.returns.csv") == keys.vendor.fingerprint

    rows = list(csv.reader(io.StringIO(texts[0].decode("utf-8"), newline="")))
    assert rows[0] == ["notice_no", "atena_no", "reason_code", "returned_on"]
    assert len(rows) == 4 and len({r[0] for r in rows[1:]}) == 3
    assert {(r[0], r[1]) for r in rows[1:]} <= d.notices
    assert {r[2] for r in rows[1:]} <= {"01", "02", "03", "99"}
    assert {r[3] for r in rows[1:]} == {"2026-04-01"}
    assert texts[0] == texts[1]


# --- misbehaviour on demand -----------------------------------------------------------------


def test_wrong_hash_receipt_is_well_signed_but_wrong(sshd, tree, keys, make_robot) -> None:
    d = build(keys, "W-1")
    upload(sshd, tree, d.files())
    make_robot(wrong_hash=True).run_once()

    receipt = answer(keys, tree, "W-1.receipt.json")
    true_hash = hashlib.sha256(d.plaintext).hexdigest()
    assert receipt["plaintext_sha256"] != true_hash and len(str(receipt["plaintext_sha256"])) == 64
    assert (receipt["ciphertext_sha256"], receipt["record_count"]) == (hashlib.sha256(d.ciphertext).hexdigest(), 3)
    assert answer(keys, tree, "W-1.deletion.json")["plaintext_sha256"] == true_hash


@pytest.mark.parametrize("how", ["foreign_key", "mismatch"])
def test_bad_signature_on_the_receipt_only(sshd, tree, keys, make_robot, how: str) -> None:
    d = build(keys, "B-1")
    upload(sshd, tree, d.files())
    robot = make_robot(bad_signature=how)
    robot.run_once()

    receipt = tree.outbox / "B-1.receipt.json"
    assert signer_of(keys.ward.home, receipt) is None
    assert json.loads(receipt.read_bytes())["plaintext_sha256"] == hashlib.sha256(d.plaintext).hexdigest()
    status = gpg(keys.ward.home, "--verify", f"{receipt}.asc", str(receipt)).stderr.decode()
    assert ("NO_PUBKEY" if how == "foreign_key" else "BADSIG") in status
    signed_by = events(robot, "receipt_written")[0]["signed_by"]
    assert (signed_by != keys.vendor.fingerprint) == (how == "foreign_key")
    assert answer(keys, tree, "B-1.deletion.json")["transfer_id"] == "B-1"


def test_late_receipt_comes_after_the_delay_with_inbox_emptied_at_once(sshd, tree, keys, make_robot) -> None:
    now = [T0]
    robot = make_robot(clock=lambda: now[0], delay=600)
    upload(sshd, tree, build(keys, "L-1").files())

    robot.run_once()
    assert listing(tree.inbox) == set() and listing(tree.outbox) == set()
    now[0] += 599
    robot.run_once()
    assert listing(tree.outbox) == set()
    now[0] += 1
    assert robot.run_once().receipted == ["L-1"]

    assert answer(keys, tree, "L-1.receipt.json")["received_at"] == "2026-04-01T09:30:00Z"
    assert answer(keys, tree, "L-1.deletion.json")["deleted_at"] == "2026-04-01T09:30:00Z"


@pytest.mark.parametrize(("switches", "expected"), [
    ({"receipt": False, "deletion": False}, set()),
    ({"deletion": False}, {"N-1.receipt.json", "N-1.receipt.json.asc"}),
    ({"deletion_before_receipt": True}, {"N-1.deletion.json", "N-1.deletion.json.asc"}),
])
def test_missing_answers(sshd, tree, keys, make_robot, switches: dict[str, bool], expected: set[str]) -> None:
    robot = make_robot(**switches)
    d = build(keys, "N-1")
    upload(sshd, tree, d.files())
    robot.run_once()
    robot.run_once()

    assert listing(tree.inbox) == set()
    assert listing(tree.outbox) == expected
    assert_no_plaintext(robot, d)


def test_duplicate_receipt_twice_then_again_after_the_ward_took_it(sshd, tree, keys, make_robot) -> None:
    robot = make_robot(duplicate=True)
    upload(sshd, tree, build(keys, "D-1").files())
    robot.run_once()
    first = (tree.outbox / "D-1.receipt.json").read_bytes()
    assert [e["file"] for e in events(robot, "uploaded")].count("D-1.receipt.json") == 2

    for expected in (first, None):  # the ward consumes it: it comes back once, and only once
        for name in ("D-1.receipt.json", "D-1.receipt.json.asc"):
            (tree.outbox / name).unlink()
        robot.run_once()
        path = tree.outbox / "D-1.receipt.json"
        assert (path.read_bytes() if path.exists() else None) == expected
    assert events(robot, "receipt_reuploaded")[0]["file"] == "D-1.receipt.json"


def test_drop_connection_mid_download_then_success(sshd, tree, keys, make_robot) -> None:
    robot = make_robot(drop_connection=True)
    d = build(keys, "X-1", rows=40)
    upload(sshd, tree, d.files())

    first = robot.run_once()
    assert first.connection_lost is not None and first.receipted == []
    dropped = events(robot, "connection_dropped")[0]
    assert 0 < int(str(dropped["bytes_read"])) < int(str(dropped["bytes_total"])) == len(d.ciphertext)
    assert listing(tree.inbox) == set(d.files()) and listing(tree.outbox) == set()
    assert_no_plaintext(robot, d)

    assert robot.run_once().receipted == ["X-1"]
    assert answer(keys, tree, "X-1.receipt.json")["record_count"] == 40
    assert listing(tree.inbox) == set()


# --- deliveries that must not be receipted or not even taken --------------------------------


@pytest.mark.parametrize(("check", "how"), [
    ("ciphertext_sha256", {"tamper": True}),
    ("manifest_signature", {"manifest_by": "rogue"}),
    ("data_signature", {"data_by": "rogue"}),
    ("plaintext_sha256", {"plaintext_sha256": "0" * 64}),
    ("record_count", {"record_count": 4}),
    ("manifest_content", {"ward_key_fingerprint": "F" * 40}),
    ("data_missing", {"omit": "J-1.csv.gpg"}),
])
def test_bad_delivery_is_rejected_not_receipted(sshd, tree, keys, make_robot, check: str, how: dict) -> None:
    how = {k: keys.rogue if v == "rogue" else v for k, v in how.items()}
    omit = how.pop("omit", None)
    robot = make_robot()
    d = build(keys, "J-1", **how)
    upload(sshd, tree, {name: data for name, data in d.files().items() if name != omit})

    result = robot.run_once()

    assert result.rejected == {"J-1": check} and result.receipted == []
    assert listing(tree.outbox) == {"J-1.rejected.json", "J-1.rejected.json.asc"}
    rejected = answer(keys, tree, "J-1.rejected.json")
    assert rejected["check"] == check and "J-1" in str(rejected["reason"])
    assert listing(tree.inbox) == set()
    assert_no_plaintext(robot, d)


def test_incomplete_deliveries_are_left_alone_until_complete(sshd, tree, keys, make_robot) -> None:
    robot = make_robot()
    no_sig = build(keys, "I-1").files()
    sig = no_sig.pop("I-1.manifest.json.asc")
    part = build(keys, "I-2").files()
    upload(sshd, tree, no_sig)
    upload(sshd, tree, {k: v for k, v in part.items() if not k.endswith(".manifest.json")})
    (tree.inbox / ".I-2.manifest.json.part").write_bytes(part["I-2.manifest.json"])
    before = listing(tree.inbox)

    assert robot.run_once().picked_up == []
    assert listing(tree.inbox) == before and listing(tree.outbox) == set()
    assert events(robot, "picked_up") == []

    upload(sshd, tree, {"I-1.manifest.json.asc": sig})
    assert robot.run_once().receipted == ["I-1"]
    assert listing(tree.inbox) == {"I-2.csv.gpg", "I-2.manifest.json.asc", ".I-2.manifest.json.part"}


def test_resend_is_answered_not_printed_again_and_a_reused_id_is_rejected(sshd, tree, keys, make_robot) -> None:
    robot = make_robot(returns=1)
    upload(sshd, tree, build(keys, "S-1").files())
    robot.run_once()
    for name in ("S-1.returns.csv", "S-1.returns.csv.asc"):
        (tree.outbox / name).unlink()

    upload(sshd, tree, build(keys, "S-1").files())  # the same records, encrypted afresh
    assert robot.run_once().receipted == ["S-1"]
    assert "S-1.returns.csv" not in listing(tree.outbox) and len(events(robot, "resend_recognised")) == 1
    upload(sshd, tree, build(keys, "S-1", rows=4).files())
    assert robot.run_once().rejected == {"S-1": "transfer_id_reused"}


def test_changed_host_key_is_refused(sshd, tree, keys, make_robot, tmp_path: Path) -> None:
    robot = make_robot()
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "k")], check=True)
    key = " ".join((tmp_path / "k.pub").read_text().split()[:2])
    (tmp_path / "known_hosts").write_text(f"[127.0.0.1]:{tree.port} {key}\n")
    robot.sftp = replace(robot.sftp, known_hosts=tmp_path / "known_hosts")
    upload(sshd, tree, build(keys, "H-1").files())

    result = robot.run_once()

    assert result.connection_lost is not None and "BadHostKey" in result.connection_lost
    assert "H-1.manifest.json" in listing(tree.inbox)


# --- running it: thread and CLI -------------------------------------------------------------


def test_background_thread_answers_while_running(sshd, tree, keys, make_robot) -> None:
    robot = make_robot(clock=time.time)
    stop = threading.Event()
    thread = threading.Thread(target=robot.run, args=(stop, 0.05), daemon=True)
    thread.start()
    try:
        upload(sshd, tree, build(keys, "G-1").files())
        deadline = time.monotonic() + 60
        while "G-1.deletion.json" not in listing(tree.outbox) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(30)
    assert not thread.is_alive()
    assert answer(keys, tree, "G-1.receipt.json")["record_count"] == 3
    assert [e["event"] for e in robot.journal()][-1] == "stopped"


def test_cli_deliver_and_run_once_read_the_service_env(sshd, tree, keys, tmp_path: Path) -> None:
    env = {**os.environ, "KAIGO_SFTP_HOST": "127.0.0.1", "KAIGO_SFTP_PORT": str(tree.port),
           "KAIGO_SFTP_USER": sshd.username, "KAIGO_SFTP_KEY": str(sshd.client_key),
           "KAIGO_SFTP_KNOWN_HOSTS": str(sshd.known_hosts)}
    cli = [sys.executable, "-m", "fixtures.vendor"]
    for args in (["deliver", "--ward-home", str(keys.ward.home), "--ward-fingerprint", keys.ward.fingerprint,
                  "--vendor-fingerprint", keys.vendor.fingerprint, "--id", "C-1", "--rows", "3"],
                 ["run", "--once", "--gnupg-home", str(keys.vendor.home), "--ward-fingerprint",
                  keys.ward.fingerprint, "--work-dir", str(tmp_path / "cli"), "--returns", "1"]):
        res = subprocess.run(cli + args, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
        assert res.returncode == 0, res.stderr

    assert answer(keys, tree, "C-1.receipt.json")["transfer_id"] == "C-1"
    assert {"C-1.returns.csv", "C-1.deletion.json"} <= listing(tree.outbox)
    helped = subprocess.run([sys.executable, "-m", "fixtures.vendor", "run", "--help"], cwd=REPO,
                            capture_output=True, text=True, timeout=60)
    assert "--drop-connection" in helped.stdout and "KAIGO_SFTP_PORT" in helped.stdout


# --- local file handling --------------------------------------------------------------------


def test_records_are_counted_across_read_chunks(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_bytes(b"a" * 65535 + b"\r\n" + b"b\r\n")  # the first CRLF straddles the 64 KiB chunk edge
    assert count_crlf_records(path) == 2
    path.write_bytes(b"a\r\nb")
    with pytest.raises(ValueError, match=r"p\.csv: last line is not CRLF-terminated"):
        count_crlf_records(path)


def test_destroy_overwrites_before_unlinking(tmp_path: Path) -> None:
    path, witness = tmp_path / "plain.csv", tmp_path / "witness"
    path.write_bytes(b"secret row\r\n" * 10_000)
    os.link(path, witness)  # a second name for the same inode shows what was left on it
    assert destroy(path)
    assert not path.exists() and witness.read_bytes() == bytes(120_000)
    assert not destroy(path)


# --- the ward's acknowledgements (adapters/vendor/HANDOVER.md), written here by hand -----------

UUID = "3f2c9a10-5b7e-4d21-9c3a-0e8f6d4b2a17"


def acknowledge(tree: SftpTree, signer: KeyPair, answer: str, sha: str, outcome: str, state: str,
                rule: str | None = None, resend: bool = False) -> None:
    body = json.dumps({"answer": answer, "answer_sha256": sha, "transfer_id": UUID, "kind": answer.split(".")[1],
                       "outcome": outcome, "duplicate": False, "rule": rule, "reason": None if rule is None else "x",
                       "resend": resend, "handover_state": state, "acknowledged_at": "2026-04-01T09:31:00+09:00",
                       "ward_key_fingerprint": signer.fingerprint}, separators=(",", ":")).encode()
    signature = gpg(signer.home, "--local-user", signer.fingerprint, "--armor", "--detach-sign", data=body).stdout
    assert signature.startswith(b"-----BEGIN PGP SIGNATURE-----")
    (tree.inbox / f"{answer}.ack.json.asc").write_bytes(signature)
    (tree.inbox / f"{answer}.ack.json").write_bytes(body)


def sha_of(tree: SftpTree, name: str) -> str:
    return hashlib.sha256((tree.outbox / name).read_bytes()).hexdigest()


def test_an_acknowledgement_is_believed_only_for_the_bytes_sent_and_the_ward_key(sshd, tree, keys,
                                                                                 make_robot) -> None:
    robot = make_robot(deletion=False)
    upload(sshd, tree, build(keys, UUID).files())
    robot.run_once()
    receipt = f"{UUID}.receipt.json"
    acknowledge(tree, keys.ward, receipt, hashlib.sha256(b"other bytes").hexdigest(), "accepted", "receipted")
    assert robot.run_once().acks == []
    acknowledge(tree, keys.rogue, receipt, sha_of(tree, receipt), "accepted", "receipted")
    assert robot.run_once().acks == []
    assert [e["reason"].split(" ")[0] for e in events(robot, "ack_refused")] == ["answer_sha256", "not"]
    acknowledge(tree, keys.ward, receipt, sha_of(tree, receipt), "accepted", "receipted")
    seen = robot.run_once().acks
    assert [(a.answer, a.outcome, a.handover_state) for a in seen] == [(receipt, "accepted", "receipted")]
    assert listing(tree.inbox) == set()


def test_an_answer_refused_for_its_turn_is_resent_unchanged_after_the_receipt(sshd, tree, keys,
                                                                               make_robot) -> None:
    robot = make_robot(early_deletion=True)
    upload(sshd, tree, build(keys, UUID).files())
    first = robot.run_once()
    deletion = f"{UUID}.deletion.json"
    assert first.deletion_certified == [UUID] and first.receipted == []
    sent = {name: (tree.outbox / name).read_bytes() for name in (deletion, f"{deletion}.asc")}
    for name in sent:
        (tree.outbox / name).unlink()  # the ward took it …
    acknowledge(tree, keys.ward, deletion, hashlib.sha256(sent[deletion]).hexdigest(), "refused", "sent",
                rule="state", resend=True)  # … and refused it for its turn
    second = robot.run_once()
    assert second.receipted == [UUID] and second.resent == []  # the receipt first, the certificate waits
    receipt = f"{UUID}.receipt.json"
    acknowledge(tree, keys.ward, receipt, sha_of(tree, receipt), "accepted", "receipted")
    third = robot.run_once()
    assert third.resent == [deletion]
    assert {name: (tree.outbox / name).read_bytes() for name in sent} == sent, "the same bytes and signature"
    assert [e["file"] for e in events(robot, "answer_resent")] == [deletion]
