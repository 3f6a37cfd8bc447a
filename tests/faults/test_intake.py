"""Files a partner controls never break intake: a name with a 12-digit run, a link to a secret, a
file over the flow's size cap, something that is no regular file, an answer over the cap, a name
that is no answer's. Each is refused or masked and reported; the files after it are still taken;
no payload is left behind for what was refused. Real drop folders, real sshd, real OpenPGP."""

from __future__ import annotations

import json
import os
import sqlite3
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select

from adapters.dropdir import REFUSED, DropFolder, FileRefused
from adapters.vendor import exchange
from fixtures.services.sshd import SftpTree
from fixtures.vendor import VendorRobot
from queues.partner_names import shown
from store.models import Handover, Transfer
from tests.harness import Home, wait_until
from tests.integration.test_inbound import inbound_flow, queued

# The print vendor over SFTP: its fixtures (re-exported, so pytest finds them here) and a sent transfer.
from tests.integration.test_vendor_handover import sent_transfer
from tests.integration.test_vendor_handover import sftp_home as sftp_home
from tests.integration.test_vendor_handover import tree as tree
from tests.integration.test_vendor_handover import vendor_home as vendor_home

FLOW = "kokuho.kyufu"
BODY = "1,1,1,3,113,,131128,,13,1,202610,00001,\r\n".encode("cp932")


def drop(folder: Path, name: str, body: bytes = BODY, marker: str = ".end") -> None:
    (folder / name).write_bytes(body)
    (folder / (name + marker)).write_bytes(b"")


def payload_files(home: Home) -> list[Path]:
    return sorted(home.config.payloads_dir.rglob("*.kbp"))


def inbound_transfers(home: Home) -> int:
    with home.bridge.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(Transfer).where(Transfer.direction == "in")) or 0)


def custody_details(home: Home, event: str) -> list[str]:
    home.bridge.flush_custody()
    with sqlite3.connect(home.config.custody_url.removeprefix("sqlite:///")) as db:
        return [row[0] or "" for row in db.execute("SELECT detail FROM custody_entries WHERE event = ?", (event,))]


def test_a_name_with_a_12_digit_stamp_is_taken_masked_and_the_next_files_too(home: Home) -> None:
    folder = inbound_flow(home)
    stamped = "KYUFU_202612071230.csv"  # a YYYYMMDDhhmm stamp: 12 digits, the shape of a 個人番号
    drop(folder, stamped, BODY * 2)
    drop(folder, "KYUFU_AFTER", BODY * 3)

    taken = home.bridge.receive(FLOW)  # raised ValueError after storing the payload, before the fix
    assert sorted(name for name, _t, new in taken if new) == sorted([shown(stamped), "KYUFU_AFTER"])
    assert shown(stamped).startswith("KYUFU_********1230.csv [#")
    assert inbound_transfers(home) == 2 and len(payload_files(home)) == 2  # two in, two stored, no orphan
    assert queued(home, "kokuho.load") == 2
    assert sorted(p.name for p in folder.iterdir()) == []
    details = custody_details(home, "received")
    assert len(details) == 2 and not any("202612071230" in d for d in details), details

    # The worker's inbound duty and the loader take the next ones too: the masked name goes on
    # to the load event and the quarantine report (a file of junk is held whole), never raw.
    home.edit_config("partners.toml", lambda t: t.replace('path = "{var}/drop/kokuho"',
                                                          'path = "{var}/drop/kokuho"\npoll_seconds = 1'))
    home.start_worker("--routes", "kokuho.load", "--no-relay")
    drop(folder, "KYUFU_201701010000_LATER", b"not a kyufu file\r\n")
    wait_until(lambda: inbound_transfers(home) == 3, 60, "the later file received by the worker")
    wait_until(lambda: len(custody_details(home, "quarantined")) == 3, 60, "all three judged and held")
    assert len(payload_files(home)) == 3
    logs = home.worker_logs()
    assert "Traceback" not in logs and "201701010000" not in logs and "202612071230" not in logs, logs
    assert not any("201701010000" in d for d in custody_details(home, "quarantined"))


def test_a_store_refusal_while_recording_leaves_no_payload_behind(home: Home) -> None:
    folder = inbound_flow(home)
    drop(folder, "KYUFU_REFUSED")
    store = home.config.store_url.removeprefix("sqlite:///")
    with sqlite3.connect(store) as db:  # the store itself refuses the transfer row
        db.execute("CREATE TRIGGER refuse_in BEFORE INSERT ON transfer "
                   "BEGIN SELECT RAISE(ABORT, 'refused for the test'); END")
    with pytest.raises(Exception, match="refused for the test"):
        home.bridge.receive(FLOW)
    assert payload_files(home) == [] and inbound_transfers(home) == 0  # nothing in: nothing stored
    assert sorted(p.name for p in folder.iterdir()) == ["KYUFU_REFUSED", "KYUFU_REFUSED.end"]  # left to retry

    with sqlite3.connect(store) as db:
        db.execute("DROP TRIGGER refuse_in")
    assert [new for _n, _t, new in home.bridge.receive(FLOW)] == [True]
    assert len(payload_files(home)) == 1 and inbound_transfers(home) == 1


def test_a_link_to_a_secret_and_what_is_no_regular_file_are_refused_never_read(home: Home, tmp_path: Path) -> None:
    folder = inbound_flow(home)
    secret = tmp_path / "kek.key"
    secret.write_bytes(b"THE-KEY-ENCRYPTION-KEY")
    (folder / "KYUFU_LINK").symlink_to(secret)
    (folder / "KYUFU_LINK.end").write_bytes(b"")
    os.mkfifo(folder / "KYUFU_FIFO")  # opening it to read would block a poller for ever
    (folder / "KYUFU_FIFO.end").write_bytes(b"")
    (folder / "KYUFU_DIR").mkdir()
    (folder / "KYUFU_DIR.end").write_bytes(b"")
    drop(folder, "KYUFU_OK")

    taken = home.bridge.receive(FLOW)
    assert [(name, new) for name, _t, new in taken] == [("KYUFU_OK", True)]
    assert inbound_transfers(home) == 1 and len(payload_files(home)) == 1  # 4 in, 1 taken, 1 stored
    (transfer_id,) = [t for _n, t, _new in taken]
    with home.bridge.sessions() as s:
        transfer = s.get(Transfer, transfer_id)
        assert transfer is not None
    assert b"".join(home.bridge.payloads.read(transfer.payload_ref, transfer_id, FLOW)) == BODY
    assert secret.read_bytes() == b"THE-KEY-ENCRYPTION-KEY"  # untouched, and never copied in

    aside = folder / REFUSED
    refused = sorted(p.name.split("-", 1)[1] for p in aside.iterdir())
    assert refused == sorted(["KYUFU_LINK", "KYUFU_LINK.end", "KYUFU_FIFO", "KYUFU_FIFO.end", "KYUFU_DIR",
                              "KYUFU_DIR.end"])
    assert next(p for p in aside.iterdir() if p.name.endswith("KYUFU_LINK")).is_symlink()  # moved, not followed
    assert sorted(p.name for p in folder.iterdir()) == [REFUSED]

    # A file swapped for a link after the listing is refused when opened.
    (folder / "KYUFU_SWAPPED").symlink_to(secret)
    with pytest.raises(FileRefused, match="is a link"):
        b"".join(DropFolder(folder).read(folder / "KYUFU_SWAPPED"))
    (folder / "KYUFU_SWAPPED").unlink()

    drop(folder, "KYUFU_LATER", BODY * 2)  # and the next round takes what comes later
    assert [(name, new) for name, _t, new in home.bridge.receive(FLOW)] == [("KYUFU_LATER", True)]
    assert inbound_transfers(home) == 2 and len(payload_files(home)) == 2


def test_a_file_over_the_flows_max_bytes_is_refused_and_the_others_taken(home: Home) -> None:
    folder = inbound_flow(home)
    home.edit_config("flows.toml", lambda t: t.replace("max_bytes = 1073741824\n", "max_bytes = 1000\n", 1))
    assert home.config.flow(FLOW).max_bytes == 1000
    drop(folder, "KYUFU_BIG", os.urandom(1001))
    drop(folder, "KYUFU_SMALL", os.urandom(1000))

    taken = home.cli_json("receive", FLOW)
    assert [(t["file"], t["new"]) for t in taken] == [("KYUFU_SMALL", True)]
    home.reload()
    assert inbound_transfers(home) == 1 and len(payload_files(home)) == 1  # 2 in, 1 taken, 1 stored
    assert sorted(p.name.split("-", 1)[1] for p in (folder / REFUSED).iterdir()) == ["KYUFU_BIG", "KYUFU_BIG.end"]

    # Over the cap when opened, or growing past it while read (a regular file that says 0 bytes
    # and gives more: /proc's): refused part-way, nothing more read.
    (folder / "KYUFU_GROWN").write_bytes(os.urandom(1001))
    with pytest.raises(FileRefused, match="more than the flow's max_bytes"):
        b"".join(DropFolder(folder).read(folder / "KYUFU_GROWN", max_bytes=1000))
    (folder / "KYUFU_GROWN").unlink()
    assert Path("/proc/self/status").stat().st_size == 0
    with pytest.raises(FileRefused, match="grew past the 10 bytes"):
        b"".join(DropFolder(Path("/proc/self")).read(Path("/proc/self/status"), max_bytes=10))

    drop(folder, "KYUFU_LATER", os.urandom(999))
    assert [t["file"] for t in home.cli_json("receive", FLOW)] == ["KYUFU_LATER"]
    home.reload()
    assert inbound_transfers(home) == 2 and len(payload_files(home)) == 2


def test_an_oversize_answer_and_unknown_names_are_reported_once_and_the_rest_is_read(
        sftp_home: tuple[Home, Callable[..., VendorRobot]], tree: SftpTree) -> None:
    home, robot = sftp_home
    transfer_id = sent_transfer(home)
    oversize = f"{transfer_id}.rejected.json"  # if it were read, the delivery would count as refused
    (tree.outbox / oversize).write_bytes(b" " * (exchange.MAX_ANSWER_BYTES + 1))
    (tree.outbox / f"{oversize}.asc").write_bytes(b"-----BEGIN PGP SIGNATURE-----\n")
    stamped = "123456789012-" + "a" * 23 + ".receipt.json"  # an answer's name with a 個人番号's shape
    assert exchange.ANSWER.fullmatch(stamped)
    (tree.outbox / stamped).write_bytes(b"{}")
    (tree.outbox / f"{stamped}.asc").write_bytes(b"not a signature")
    (tree.outbox / "hello_202612071230.txt").write_bytes(b"a file that is no answer")
    assert robot().run_once().receipted == [transfer_id]  # receipt and deletion certificate, after them

    done = home.cli("vendors", "poll", "--json", check=False)
    assert done.returncode == 1, done.stderr  # it refused answers: the operator has something to do
    polled = json.loads(done.stdout)[0]
    assert polled["applied"] == {"receipt": 1, "closed": 1}, polled
    assert sorted(polled["refused"]) == sorted([shown(oversize), shown(stamped)]), polled
    assert polled["unknown"] == [shown("hello_202612071230.txt")], polled
    home.reload()
    with home.bridge.sessions() as s:
        assert s.get(Transfer, transfer_id).state == "closed"  # type: ignore[union-attr]
        # Closed: the oversize rejection's refusal no longer stands in the way; it stays listed.
        assert s.get(Handover, transfer_id).problem is None  # type: ignore[union-attr]
    oversize_refusal = [a for a in home.cli_json("vendors", "answers") if a["name"] == oversize]
    assert len(oversize_refusal) == 1 and oversize_refusal[0]["rule"] == "too_large", oversize_refusal
    assert "more than the" in oversize_refusal[0]["reason"] and oversize_refusal[0]["resolved_at"] is not None
    # Read and applied ones are gone; the oversize one and the unknown one stay for the operator.
    assert sorted(p.name for p in tree.outbox.iterdir()) == sorted([oversize, f"{oversize}.asc",
                                                                    "hello_202612071230.txt"])
    assert len(home.bridge.answers.quarantine.held()) == 1  # the bad signature, kept encrypted

    again = home.cli_json("vendors", "poll")[0]  # said once, not at every poll
    assert again["refused"] == [] and again["unknown"] == [] and again["applied"] == {}, again
    rejected = custody_details(home, "answer_refused")
    assert len(rejected) == 3, rejected  # oversize, unknown name, bad signature: once each
    assert not any("123456789012" in d or "202612071230" in d for d in rejected), rejected

    # The vendor replaces the oversize file with a proper one later: it is judged again.
    (tree.outbox / oversize).unlink()
    (tree.outbox / f"{oversize}.asc").unlink()
    (tree.outbox / f"{uuid.uuid4()}.receipt.json").write_bytes(b"{}")  # unsigned yet: waits
    assert home.cli_json("vendors", "poll")[0]["refused"] == []
