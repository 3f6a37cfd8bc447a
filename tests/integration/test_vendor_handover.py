"""The whole hand-over to a print vendor over real SFTP with real OpenPGP, answered by the vendor
robot (stock gpg, paramiko): sent → 受領証 → 返戻 → 削除証明書, and the vendor misbehaving."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from fixtures.activity import change_shikaku
from fixtures.population import load
from fixtures.services import SshdServer
from fixtures.services.sshd import SftpTree
from fixtures.vendor import Behaviour, SftpParams, VendorRobot, create_key_pair, import_public
from fixtures.vendor.keys import short_home, stop_agent
from settings.partners import with_partner
from store.models import Atena, Handover, Transfer
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
def sftp_home(home: Home, sshd: SshdServer, tree: SftpTree, vendor_home: Path,
              tmp_path: Path) -> Iterator[tuple[Home, Callable[..., VendorRobot]]]:
    """vendor-a as an SFTP print vendor with its own OpenPGP key; a robot factory for its side."""
    vendor = create_key_pair(vendor_home, "vendor-a <print@vendor-a.invalid>")
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
receipt_sla_hours = 24
deletion_sla_days = 30
"""))
    import_public(vendor_home, home.bridge.gpg.export_public(home.bridge.ward_fingerprint).encode())
    robots: list[VendorRobot] = []

    def robot(**behaviour: Any) -> VendorRobot:
        params = SftpParams("127.0.0.1", tree.port, sshd.username, sshd.client_key, sshd.known_hosts)
        made = VendorRobot("vendor-a", params, vendor_home, home.bridge.ward_fingerprint,
                           work_dir=tmp_path / f"robot{len(robots)}", behaviour=Behaviour(**behaviour))
        robots.append(made)
        return made

    yield home, robot
    for made in robots:
        made.close()


def sent_transfer(home: Home, people: int = 400, flow: str = "print.hokenryo") -> str:
    load(home.bridge.sessions, home.bridge.mynumber, people=people, seed=121, nendo=2026)
    if flow == "print.hihokenshasho":  # cards for changed 資格: the changes must be journaled first
        change_shikaku(home.bridge.sessions, home.bridge.keyring, 50, seed=122)
        home.start_worker("--routes", "core.changes")
        wait_until(lambda: home.bridge.custody.count_by_event().get("applied") == 50, 60, "changes journaled")
        home.stop_all()
    summary = home.cli_json("run", flow, "--nendo", "2026", "--by", "alice")
    assert summary["transfers"] == 1 and summary["held"] == 0, summary
    transfer_id = str(summary["transfer_ids"][0])
    home.start_worker("--routes", "print.deliver")

    def state() -> str:
        with home.bridge.sessions() as s:
            return s.get(Transfer, transfer_id).state  # type: ignore[union-attr]

    wait_until(lambda: state() == "sent", 60, "the transfer sent")
    home.stop_all()
    return transfer_id


def chain(home: Home, transfer_id: str) -> list[str]:
    return [e["event"] for e in home.cli_json("custody", "show", transfer_id)]


@pytest.mark.parametrize("flow", ["print.hokenryo", "print.ninteikekka", "print.hihokenshasho"])
def test_full_handover_lifecycle(sftp_home: tuple[Home, Callable[..., VendorRobot]], tree: SftpTree,
                                 flow: str) -> None:
    home, robot = sftp_home
    transfer_id = sent_transfer(home, flow=flow)
    assert sorted(p.name for p in tree.inbox.iterdir()) == sorted(
        [f"{transfer_id}.csv.gpg", f"{transfer_id}.manifest.json", f"{transfer_id}.manifest.json.asc"])

    done = robot(returns=3).run_once()
    assert done.receipted == [transfer_id], done
    polled = home.cli_json("vendors", "poll")
    assert polled[0]["applied"] == {"receipt": 1, "returns": 1, "closed": 1}, polled
    with home.bridge.sessions() as s:
        transfer = s.get(Transfer, transfer_id)
        handover = s.get(Handover, transfer_id)
        assert transfer is not None and handover is not None
        assert transfer.state == "closed" and handover.returns == 3
        assert handover.receipt_at is not None and handover.deleted_at is not None
        assert s.scalar(select(func.count()).select_from(Atena).where(Atena.sofu_status == "returned")) == 3
        assert not home.bridge.payloads.exists(transfer.payload_ref)
    assert list(home.config.spool_dir.iterdir()) == []
    assert list(tree.outbox.iterdir()) == []
    assert chain(home, transfer_id) == ["extracted", "encrypted", "queued", "sent", "receipt", "returns", "deleted",
                                        "purged"]

    refused = home.cli("handovers", "confirm", transfer_id, "--by", "alice", check=False)
    assert refused.returncode == 1 and "started this run" in refused.stderr
    home.cli("handovers", "confirm", transfer_id, "--by", "bob")
    register = home.cli_json("handovers")
    assert register[0]["confirmed_by"] == "bob" and register[0]["overdue"] is None
    assert "intact" in home.cli("custody", "verify").stdout


@pytest.mark.parametrize("misbehaviour", ["wrong_hash", "bad_signature"])
def test_a_receipt_that_does_not_hold_is_rejected_and_recorded(
        sftp_home: tuple[Home, Callable[..., VendorRobot]], misbehaviour: str) -> None:
    home, robot = sftp_home
    transfer_id = sent_transfer(home)
    behaviour: dict[str, Any] = {"wrong_hash": True} if misbehaviour == "wrong_hash" else \
        {"bad_signature": "foreign_key"}
    robot(deletion=False, **behaviour).run_once()
    done = home.cli("vendors", "poll", "--json", check=False)
    assert done.returncode == 1 and "vendors answers --refused" in done.stderr, done.stderr
    polled = json.loads(done.stdout)
    assert polled[0]["refused"] == [f"{transfer_id}.receipt.json"], polled
    with home.bridge.sessions() as s:
        assert s.get(Transfer, transfer_id).state == "sent"  # type: ignore[union-attr]
        assert "receipt refused" in (s.get(Handover, transfer_id).problem or "")  # type: ignore[union-attr]
    assert chain(home, transfer_id)[-1] == "answer_refused"
    assert list((home.config.var / "quarantine").iterdir()), "the refused answer is kept for the operator"


def test_duplicate_receipt_is_harmless_and_a_late_one_shows_overdue(
        sftp_home: tuple[Home, Callable[..., VendorRobot]]) -> None:
    home, robot = sftp_home
    transfer_id = sent_transfer(home)
    home.edit_config("partners.toml", lambda t: t.replace("receipt_sla_hours = 24", "receipt_sla_hours = 0"))
    overdue = home.cli_json("handovers", "--overdue")
    assert [h["transfer_id"] for h in overdue] == [transfer_id] and overdue[0]["overdue"] == "receipt"
    assert home.cli_json("status")["handovers"]["receipt_overdue"] == 1

    vendor = robot(duplicate=True, deletion=False)
    vendor.run_once()
    home.cli("vendors", "poll")
    vendor.run_once()  # the duplicate re-upload of the same receipt
    home.cli("vendors", "poll")
    assert chain(home, transfer_id).count("receipt") == 1
    assert home.cli_json("handovers", "--overdue") == []


def test_deletion_certificate_without_receipt_is_refused(sftp_home: tuple[Home, Callable[..., VendorRobot]]) -> None:
    home, robot = sftp_home
    transfer_id = sent_transfer(home)
    robot(deletion_before_receipt=True, receipt=False).run_once()
    done = home.cli("vendors", "poll", "--json", check=False)
    assert done.returncode == 1, done.stderr
    assert json.loads(done.stdout)[0]["refused"] == [f"{transfer_id}.deletion.json"], done.stdout
    with home.bridge.sessions() as s:
        assert s.get(Transfer, transfer_id).state == "sent"  # type: ignore[union-attr]


def test_sftp_server_down_is_retried_and_delivered_after(
        sftp_home: tuple[Home, Callable[..., VendorRobot]], sshd: SshdServer, tree: SftpTree) -> None:
    home, _robot = sftp_home
    home.edit_config("routes.toml", lambda t: t.replace("retry_delays = [2, 10, 60, 300, 900]",
                                                         "retry_delays = [1, 2, 4, 8, 16]"))
    load(home.bridge.sessions, home.bridge.mynumber, people=300, seed=131, nendo=2026)
    sshd.stop()
    try:
        transfer_id = home.cli_json("run", "print.hokenryo", "--nendo", "2026")["transfer_ids"][0]
        home.start_worker("--routes", "print.deliver")
        wait_until(lambda: "retried" in chain(home, transfer_id), 60, "a retry while the server is down")
    finally:
        sshd.start()

    def state() -> str:
        with home.bridge.sessions() as s:
            return s.get(Transfer, transfer_id).state  # type: ignore[union-attr]

    wait_until(lambda: state() == "sent", 90, "delivery once the server is back")
    home.stop_all()
    names = sorted(p.name for p in tree.inbox.iterdir())
    assert names == sorted([f"{transfer_id}.csv.gpg", f"{transfer_id}.manifest.json",
                            f"{transfer_id}.manifest.json.asc"])
    assert "dead" not in chain(home, transfer_id)


def test_unknown_host_key_is_refused_and_parked_with_the_reason(
        sftp_home: tuple[Home, Callable[..., VendorRobot]], tree: SftpTree, tmp_path: Path) -> None:
    home, _robot = sftp_home
    wrong = tmp_path / "known_hosts"
    wrong.write_text(f"[127.0.0.1]:{tree.port} ssh-ed25519 "
                     "AAAAC3NzaC1lZDI1NTE5AAAAIG5vdC10aGUtcmlnaHQta2V5LW5vdC10aGUtcmlnaHQt\n")
    home.edit_config("partners.toml", lambda t: "\n".join(
        f'known_hosts = "{wrong}"' if line.startswith("known_hosts") else line for line in t.splitlines()))
    load(home.bridge.sessions, home.bridge.mynumber, people=200, seed=141, nendo=2026)
    transfer_id = home.cli_json("run", "print.hokenryo", "--nendo", "2026")["transfer_ids"][0]
    home.start_worker("--routes", "print.deliver")
    wait_until(lambda: "dead" in chain(home, transfer_id), 60, "the transfer parked")
    home.stop_all()
    dead = home.cli_json("dead", "list", "print.deliver")
    assert len(dead) == 1 and "host key" in dead[0]["reason"].lower(), dead
    assert dead[0]["attempts"] == 1  # refused at once: retrying cannot make an unknown key known
    assert list(tree.inbox.iterdir()) == []


def test_vendor_connection_dropped_mid_file_then_completes(sftp_home: tuple[Home, Callable[..., VendorRobot]],
                                                            tree: SftpTree) -> None:
    home, robot = sftp_home
    transfer_id = sent_transfer(home)
    vendor = robot(drop_connection=True)
    first = vendor.run_once()
    assert first.connection_lost and first.receipted == [], first
    assert f"{transfer_id}.manifest.json" in {p.name for p in tree.inbox.iterdir()}  # still there for next time
    assert vendor.run_once().receipted == [transfer_id]
    home.cli("vendors", "poll")
    with home.bridge.sessions() as s:
        assert s.get(Transfer, transfer_id).state == "closed"  # type: ignore[union-attr]
