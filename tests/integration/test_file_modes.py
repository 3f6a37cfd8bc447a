"""Who can read the bridge's files: its own user only (folders 0700, files 0600 under var/), made
so at creation by every kaigo-bridge process and repaired by `init`; files delivered to a partner
at the partner's file_mode; refused answers kept encrypted and deleted after their retention."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from fixtures.services.sshd import SftpTree
from fixtures.vendor import VendorRobot
from fixtures.vendor.keys import stop_agent
from queues.quarantine import AnswerQuarantine
from queues.tidy import tidy_files
from store.models import Transfer
from tests.harness import Home, wait_until
from tests.integration.test_kokuho_kyufu import drop, settled, setup
from tests.integration.test_vendor_handover import (  # noqa: F401 (fixtures)
    sent_transfer,
    sftp_home,
    tree,
    vendor_home,
)


def wrong_modes(var: Path, exchange: list[Path]) -> tuple[list[str], dict[str, int]]:
    """Everything under ``var`` that is not 0700 (folder) / 0600 (file), and the modes of the files
    in the partners' drop folders (delivered files: the partner's file_mode) by name."""
    wrong, delivered = [], {}
    for root, folders, files in os.walk(var):
        here = Path(root)
        for name in folders:
            mode = (here / name).lstat().st_mode
            if stat.S_ISDIR(mode) and stat.S_IMODE(mode) != 0o700:
                wrong.append(f"{here / name} {stat.S_IMODE(mode):04o}")
        for name in files:
            mode = (here / name).lstat().st_mode
            if not stat.S_ISREG(mode):
                continue  # gpg-agent's sockets
            if any(here == e or e in here.parents for e in exchange):
                delivered[name] = stat.S_IMODE(mode)
            elif stat.S_IMODE(mode) != 0o600:
                wrong.append(f"{here / name} {stat.S_IMODE(mode):04o}")
    mode = stat.S_IMODE(var.stat().st_mode)
    return ([f"{var} {mode:04o}"] if mode != 0o700 else []) + wrong, delivered


def exchange_of(home: Home) -> list[Path]:
    return [p.path for p in home.config.partners.values() if p.path is not None]


def fresh_installation(home: Home) -> None:
    """``home`` installed again by the CLI: the harness's init ran in this process (umask 022)."""
    stop_agent(home.config.openpgp_home)
    shutil.rmtree(home.config.var)
    home.cli("init")
    home.reload()


def private_drop_folders(home: Home) -> None:
    """The drop folders the harness's init made in this process (umask 022) as the CLI's init
    makes them; init leaves existing ones alone (they are the exchange with a partner)."""
    for folder in [home.config.var / "drop", *(home.config.var / "drop").rglob("*")]:
        if folder.is_dir():
            folder.chmod(0o700)


def test_init_creates_everything_private_and_repairs_an_older_installation(home: Home, tmp_path: Path) -> None:
    fresh = tmp_path / "fresh-var"
    env = {**home.env, "KAIGO_VAR": str(fresh)}
    made = subprocess.run([sys.executable, "-m", "bridge", "init"], env=env, capture_output=True, text=True,
                          cwd=home.root, timeout=300)
    assert made.returncode == 0, made.stderr
    assert "(0 repaired)" in made.stdout, made.stdout  # right at creation, nothing to repair
    wrong, _ = wrong_modes(fresh, [])
    assert wrong == []
    assert (fresh / "store.db").exists() and (fresh / "custody.db").exists()

    # `home` was set up in this process (umask 022) like an installation from before: init repairs it.
    var = home.config.var
    (var / "store.db").chmod(0o644)
    home.config.payloads_dir.chmod(0o755)
    (home.config.keys_dir / "ACTIVE").chmod(0o644)
    # … and an answer it kept in clear in var/quarantine is encrypted now, under its original time.
    clear = var / "quarantine" / "20260101T090000-vendor-a-01234567-89ab-cdef-0123-456789abcdef.receipt.json"
    clear.parent.mkdir(exist_ok=True)
    clear.write_bytes(b'{"transfer_id": "01234567-89ab-cdef-0123-456789abcdef", "plaintext_sha256": "f00d"}')
    out = home.cli("init").stdout
    assert "1 refused answer(s) an earlier version kept in clear" in out, out
    assert not clear.exists()
    assert all(b"01234567-89ab" not in p.read_bytes() for p in (var / "quarantine").rglob("*") if p.is_file())
    [held] = home.cli_json("quarantine", "answers")
    assert held["answer"].startswith("20260101T090000-") and held["held_at"] == "2026-01-01 18:00 JST", held
    assert "01234567-89ab-cdef-0123-456789abcdef" in home.cli("quarantine", "show", held["answer"]).stdout
    for path, was in ((var / "store.db", "0644"), (home.config.payloads_dir, "0755"),
                      (home.config.keys_dir / "ACTIVE", "0644")):
        assert f"{path} was {was}, now" in out.replace("\n", ""), out
    assert stat.S_IMODE((var / "store.db").stat().st_mode) == 0o600
    assert stat.S_IMODE(home.config.payloads_dir.stat().st_mode) == 0o700
    assert "(0 repaired)" in home.cli("init").stdout  # idempotent


def test_a_run_out_and_files_in_through_a_worker_leave_only_private_files(home: Home) -> None:
    home.edit_config("partners.toml", lambda t: t.replace('path = "{var}/drop/vendor-a"',
                                                          'path = "{var}/drop/vendor-a"\nfile_mode = 0o604'))
    fresh_installation(home)
    folder, claims = setup(home, people=200, seed=43)
    drop(folder, "KYUFU_OK", claims)
    drop(folder, "KYUFU_BAD", claims, faults=("negative",), file_no=2)
    home.start_worker()
    summary = home.cli_json("run", "print.hokenryo", "--nendo", "2026", "--by", "alice")
    taken = {t["file"]: t["transfer"] for t in home.cli_json("receive", "kokuho.kyufu")}
    assert len(taken) == 2, taken
    states = sorted(settled(home, t) for t in taken.values())
    assert states == ["applied", "quarantined"], home.worker_logs()
    sent = [str(t) for t in summary["transfer_ids"]]
    wait_until(lambda: all(home.transfer_state(t) == "sent" for t in sent), 90, "the print files delivered")
    home.stop_all()

    wrong, delivered = wrong_modes(home.config.var, exchange_of(home))
    assert wrong == [], "\n".join(wrong)
    assert delivered and set(delivered.values()) == {0o604}, delivered  # vendor-a's file_mode

    # The quarantined file is exported decrypted for an operator, owner-only, and recorded.
    bad = next(t for t in taken.values() if home.transfer_state(t) == "quarantined")
    out = home.root / "exported.csv"
    home.cli("quarantine", "export", bad, "--to", str(out), "--by", "alice")
    with home.bridge.sessions() as s:
        assert hashlib.sha256(out.read_bytes()).hexdigest() == s.get(Transfer, bad).sha256  # type: ignore[union-attr]
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert "exported" in [e["event"] for e in home.cli_json("custody", "show", bad)]


def test_a_refused_answer_is_kept_encrypted_then_deleted_after_its_retention(
        sftp_home: tuple[Home, Callable[..., VendorRobot]], tree: SftpTree) -> None:  # noqa: F811
    home, robot = sftp_home
    home.edit_config("partners.toml", lambda t: t.replace("deletion_sla_days = 30\n",
                                                          "deletion_sla_days = 30\nfile_mode = 0o640\n", 1))
    home.cli("init")
    private_drop_folders(home)
    transfer_id = sent_transfer(home)
    uploaded = {p.name: stat.S_IMODE(p.stat().st_mode) for p in tree.inbox.iterdir()}
    assert len(uploaded) == 3 and set(uploaded.values()) == {0o640}, uploaded  # SFTP: the partner's file_mode

    robot(deletion=False, wrong_hash=True).run_once()
    done = home.cli("vendors", "poll", "--json", check=False)
    assert done.returncode == 1, done.stderr
    assert json.loads(done.stdout)[0]["refused"] == [f"{transfer_id}.receipt.json"], done.stdout
    held = home.cli_json("quarantine", "answers")
    assert len(held) == 1 and transfer_id in held[0]["answer"], held
    answer = held[0]["answer"]

    # On disk: nothing of the answer in clear (it names the transfer and its hashes).
    with home.bridge.sessions() as s:
        sha = s.get(Transfer, transfer_id).sha256  # type: ignore[union-attr]
    on_disk = b"".join(p.read_bytes() for p in (home.config.var / "quarantine").rglob("*") if p.is_file())
    assert on_disk and transfer_id.encode() not in on_disk and sha.encode() not in on_disk
    # Read back decrypted for the operator: shown, and exported byte for byte as refused.
    assert transfer_id in home.cli("quarantine", "show", answer).stdout
    out = home.root / "answer.json"
    home.cli("quarantine", "export", answer, "--to", str(out), "--by", "alice")
    refused = [e for e in home.cli_json("custody", "show", transfer_id) if e["event"] == "answer_refused"]
    assert hashlib.sha256(out.read_bytes()).hexdigest() == refused[-1]["sha256"]
    assert transfer_id.encode() in out.read_bytes()

    wrong, _ = wrong_modes(home.config.var, exchange_of(home))
    assert wrong == [], "\n".join(wrong)

    # Housekeeping: within its retention it stays; past it, deleted with a custody entry.
    quarantine = AnswerQuarantine.of(home.config, home.bridge.payloads)
    assert tidy_files(home.bridge).expired == [] and [a.id for a in quarantine.held()] == [answer]
    home.edit_config("bridge.toml", lambda t: t.replace("retention_days = 90", "retention_days = 0"))
    home.start_worker("--routes", "print.deliver")  # its housekeeping deletes it, unasked
    wait_until(lambda: quarantine.held() == [], 60, "the answer past its retention deleted")
    home.stop_all()
    assert not list((home.config.var / "quarantine").rglob("*.kbp"))
    home.bridge.flush_custody()
    assert home.bridge.custody.count_by_event().get("quarantine_expired") == 1
    assert tidy_files(home.bridge).expired == []  # once
    assert home.cli_json("quarantine", "answers") == []
