"""The vendor kit followed literally: the ```sh blocks of the VENDOR-KIT.md that
``kaigo-bridge vendor-kit OUT --partner vendor-a`` writes, run in order in one bash with stock
OpenSSH ``sftp -b`` and ``gpg``, against a real delivery on a real sshd, with the ward polling in
between — until the hand-over is closed. Nothing of the vendor's side is Python."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from fixtures.population import load
from fixtures.services import SshdServer
from fixtures.services.sshd import SftpTree
from fixtures.vendor import Gpg, create_key_pair
from fixtures.vendor.keys import short_home, stop_agent
from settings.partners import with_partner
from store.models import Atena, Handover, Transfer
from tests.harness import Home, wait_until

TREE = "vendor-a"
DONE = "__kit_step_done__"
# The steps of the kit, by their first line, as a vendor reads them: typed here, so a kit that
# loses, reorders or merges a step fails this test before any step is run.
STEPS = [
    "# 1. Settings for vendor-a, filled in by the ward, and the helpers the other steps use",
    "# 2. Once: import the ward's key, check its fingerprint, certify it locally",
    "# 3. Fetch the next complete delivery (the first by name)",
    "# 4. Check it: the manifest's signature, then the data against the manifest",
    "# 5. The receipt (受領証), then the delivery removed from the inbox",
    "# 6. Read the acknowledgement of the receipt: it must say accepted",
    "# 7. Send the 返戻 list, if mail came back (lines added with: returned LINE REASON)",
    "# 8. Destroy your copies, then the deletion certificate (削除証明書)",
    "# 9. Read the acknowledgements of the returns (if sent) and of the deletion certificate: the hand-over "
    "closed",
]


@pytest.fixture
def tree(sftp_tree: Callable[[str], SftpTree]) -> SftpTree:
    return sftp_tree(TREE)


@pytest.fixture
def vendor_gnupg() -> Iterator[Path]:
    home = short_home()
    yield home
    stop_agent(home)
    shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def kit_home(home: Home, sshd: SshdServer, tree: SftpTree, vendor_gnupg: Path) -> Home:
    """vendor-a reached by SFTP, its OpenPGP key pinned; the vendor's GnuPG home holds its secret key."""
    vendor = create_key_pair(vendor_gnupg, "vendor-a <print@vendor-a.invalid>")
    (home.config_dir / "vendor-a.asc").write_text(vendor.public_armored.decode(), encoding="ascii")
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
openpgp_fingerprint = "{vendor.fingerprint}"
"""))
    return home


class KitShell:
    """One bash that sources the kit's steps one after another, so what a step sets the next
    one sees, as in the vendor's single script."""

    def __init__(self, steps_dir: Path, env: dict[str, str], cwd: Path) -> None:
        self.steps_dir = steps_dir
        self.stderr = steps_dir / "stderr.txt"
        self.proc = subprocess.Popen(["bash"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=open(self.stderr, "wb"), env=env, cwd=cwd, text=True)

    def run(self, no: int, text: str) -> list[str]:
        path = self.steps_dir / f"step{no}.sh"
        path.write_text(text, encoding="utf-8")
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(f"source {path}\necho {DONE}\n")
        self.proc.stdin.flush()
        out: list[str] = []
        for line in self.proc.stdout:
            if line.rstrip("\n") == DONE:
                return out
            out.append(line.rstrip("\n"))
        raise AssertionError(f"kit step {no} ended the shell (exit {self.proc.wait()}): {out}\n"
                             f"{self.stderr.read_text(encoding='utf-8', errors='replace')}")

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait(timeout=30)


def kit_steps(kit: Path) -> list[str]:
    return re.findall(r"^```sh\n(.*?)^```$", (kit / "VENDOR-KIT.md").read_text(encoding="utf-8"), re.S | re.M)


def shell_env(tmp_path: Path, kit: Path, sshd: SshdServer, gnupg: Path) -> dict[str, str]:
    vendor_home = tmp_path / "vendor-home"
    vendor_home.mkdir()
    return {"PATH": os.environ["PATH"], "HOME": str(vendor_home), "LANG": "C.UTF-8", "KIT": str(kit),
            "SSH_KEY": str(sshd.client_key), "WORK": str(tmp_path / "vendor-work"), "GNUPGHOME": str(gnupg)}


def send_transfer(home: Home, people: int = 300) -> str:
    load(home.bridge.sessions, home.bridge.mynumber, people=people, seed=161, nendo=2026)
    summary = home.cli_json("run", "print.hokenryo", "--nendo", "2026", "--by", "alice")
    transfer_id = str(summary["transfer_ids"][0])
    home.start_worker("--routes", "print.deliver")

    def state() -> str:
        with home.bridge.sessions() as s:
            return s.get(Transfer, transfer_id).state  # type: ignore[union-attr]

    wait_until(lambda: state() == "sent", 60, "the transfer sent")
    home.stop_all()
    return transfer_id


def test_the_kit_followed_literally_closes_the_handover(kit_home: Home, sshd: SshdServer, tree: SftpTree,
                                                       vendor_gnupg: Path, tmp_path: Path) -> None:
    home = kit_home
    transfer_id = send_transfer(home)
    kit = tmp_path / "kit"
    home.cli("vendor-kit", str(kit), "--partner", "vendor-a")
    steps = kit_steps(kit)
    assert [s.splitlines()[0] for s in steps] == STEPS
    steps_dir = tmp_path / "steps"
    steps_dir.mkdir()
    shell = KitShell(steps_dir, shell_env(tmp_path, kit, sshd, vendor_gnupg), tmp_path)
    try:
        for no in (1, 2, 3):
            shell.run(no, steps[no - 1])
        with home.bridge.sessions() as s:
            sent = s.get(Transfer, transfer_id).record_count  # type: ignore[union-attr]
        assert shell.run(4, steps[3]) == [f"delivery {transfer_id} verified: {sent} records"]
        shell.run(5, steps[4])
        assert sorted(p.name for p in tree.outbox.iterdir()) == [f"{transfer_id}.receipt.json",
                                                                 f"{transfer_id}.receipt.json.asc"]
        assert [p.name for p in tree.inbox.iterdir()] == [], "the vendor took the delivery off the inbox"

        home.cli("vendors", "poll")
        with home.bridge.sessions() as s:
            assert s.get(Transfer, transfer_id).state == "receipted"  # type: ignore[union-attr]
        assert shell.run(6, steps[5]) == [f"{transfer_id}.receipt.json: accepted rule=null resend=false "
                                          "state=receipted"]
        # Two notices came back: the vendor names them by their lines, with the kit's helper.
        shell.run(70, "returned 1 01\nreturned 2 03\n")
        shell.run(7, steps[6])
        shell.run(8, steps[7])
        home.cli("vendors", "poll")
        assert shell.run(9, steps[8]) == [
            f"{transfer_id}.returns.csv: accepted rule=null resend=false state=receipted",
            f"{transfer_id}.deletion.json: accepted rule=null resend=false state=closed"]
    finally:
        shell.close()

    with home.bridge.sessions() as s:
        transfer, handover = s.get(Transfer, transfer_id), s.get(Handover, transfer_id)
        assert transfer is not None and handover is not None
        assert transfer.state == "closed" and handover.deleted_at is not None and handover.returns == 2
        returned = set(s.scalars(select(Atena.atena_no).where(Atena.sofu_status == "returned")))
    listed = (tmp_path / "vendor-work" / f"{transfer_id}.returns.csv").read_text(encoding="utf-8").splitlines()
    assert listed[0] == "notice_no,atena_no,reason_code,returned_on" and len(listed) == 3
    assert returned == {line.split(",")[1] for line in listed[1:]}, "exactly the two the vendor named"
    events = [e["event"] for e in home.cli_json("custody", "show", transfer_id)]
    assert events[-4:] == ["receipt", "returns", "deleted", "purged"], events
    assert [p.name for p in tree.inbox.iterdir()] == [], "acknowledgements read and removed"
    assert [p.name for p in tree.outbox.iterdir()] == []
    work = tmp_path / "vendor-work"
    assert not (work / f"{transfer_id}.csv").exists() and not (work / f"{transfer_id}.csv.gpg").exists()
    # The vendor's receipt carries the hash of the bytes it decrypted — the ward's own.
    receipt = (work / f"{transfer_id}.receipt.json").read_text(encoding="utf-8")
    with home.bridge.sessions() as s:
        assert f'"plaintext_sha256": "{s.get(Transfer, transfer_id).sha256}"' in receipt  # type: ignore[union-attr]


def test_the_kit_rejects_a_damaged_delivery_and_the_ward_takes_the_rejection(
        kit_home: Home, sshd: SshdServer, tree: SftpTree, vendor_gnupg: Path, tmp_path: Path) -> None:
    home = kit_home
    transfer_id = send_transfer(home, people=100)
    data = tree.inbox / f"{transfer_id}.csv.gpg"
    damaged = bytearray(data.read_bytes())
    damaged[len(damaged) // 2] ^= 0x01  # one bit, same size: only the hash can tell
    data.write_bytes(bytes(damaged))
    kit = tmp_path / "kit"
    home.cli("vendor-kit", str(kit), "--partner", "vendor-a")
    steps = kit_steps(kit)
    steps_dir = tmp_path / "steps"
    steps_dir.mkdir()
    shell = KitShell(steps_dir, shell_env(tmp_path, kit, sshd, vendor_gnupg), tmp_path)
    for no in (1, 2, 3):
        shell.run(no, steps[no - 1])
    with pytest.raises(AssertionError, match="ended the shell"):
        shell.run(4, steps[3])
    assert shell.proc.returncode == 1
    assert (f"delivery {transfer_id} rejected: ciphertext_sha256: {transfer_id}.csv.gpg: its SHA-256 differs "
            "from the manifest's ciphertext_sha256") in shell.stderr.read_text(encoding="utf-8")
    assert sorted(p.name for p in tree.outbox.iterdir()) == [f"{transfer_id}.rejected.json",
                                                             f"{transfer_id}.rejected.json.asc"]
    assert list(tree.inbox.iterdir()) == [], "the damaged delivery is taken off the inbox"
    work = tmp_path / "vendor-work"
    assert not (work / f"{transfer_id}.csv.gpg").exists() and not (work / f"{transfer_id}.csv").exists()

    home.cli("vendors", "poll")
    assert state(home, transfer_id) == "rejected"
    events = [e["event"] for e in home.cli_json("custody", "show", transfer_id)]
    assert events[-1] == "vendor_rejected", events
    assert sorted(p.name for p in tree.inbox.iterdir()) == [f"{transfer_id}.rejected.json.ack.json",
                                                            f"{transfer_id}.rejected.json.ack.json.asc"]


def state(home: Home, transfer_id: str) -> str:
    with home.bridge.sessions() as s:
        return s.get(Transfer, transfer_id).state  # type: ignore[union-attr]


def test_the_kit_does_not_believe_an_acknowledgement_the_ward_did_not_sign(
        kit_home: Home, sshd: SshdServer, tree: SftpTree, vendor_gnupg: Path, tmp_path: Path) -> None:
    home = kit_home
    transfer_id = send_transfer(home, people=100)
    kit = tmp_path / "kit"
    home.cli("vendor-kit", str(kit), "--partner", "vendor-a")
    steps = kit_steps(kit)
    steps_dir = tmp_path / "steps"
    steps_dir.mkdir()
    shell = KitShell(steps_dir, shell_env(tmp_path, kit, sshd, vendor_gnupg), tmp_path)
    for no in (1, 2, 3, 4, 5):
        shell.run(no, steps[no - 1])
    # Before the ward reads the receipt, someone who can write the inbox (not the ward) says it
    # was accepted — right name and hash, signed by another key (the vendor's own, here).
    receipt = tree.outbox / f"{transfer_id}.receipt.json"
    sent = hashlib.sha256(receipt.read_bytes()).hexdigest()
    forged = (f'{{"answer":"{transfer_id}.receipt.json","answer_sha256":"{sent}",'
              f'"outcome":"accepted","rule":null,"resend":false,"handover_state":"receipted"}}').encode()
    name = f"{transfer_id}.receipt.json.ack.json"
    signer = Gpg(vendor_gnupg)
    (tree.inbox / f"{name}.asc").write_bytes(signer.sign_detached(forged, signer.secret_fingerprints()[0]))
    (tree.inbox / name).write_bytes(forged)
    with pytest.raises(AssertionError, match="ended the shell"):
        shell.run(6, steps[5])
    assert f"{transfer_id}.receipt.json.ack.json: not signed by the ward key" in shell.stderr.read_text(
        encoding="utf-8")
    assert (tmp_path / "vendor-work" / f"{transfer_id}.csv").exists(), "no deletion on a forged word"
    assert state(home, transfer_id) == "sent"
