"""Receiving inbound files from a drop folder: only complete, settled files; stored encrypted;
recorded; queued for their loader; the same content twice is taken once."""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pika
from sqlalchemy import select

from fixtures.services.sshd import SftpTree, SshdServer
from store.models import Transfer
from tests.harness import Home


def queued(home: Home, queue: str) -> int:
    connection = pika.BlockingConnection(pika.URLParameters(home.env["KAIGO_AMQP_URL"]))
    try:
        return int(connection.channel().queue_declare(queue, passive=True).method.message_count)
    finally:
        connection.close()


def inbound_flow(home: Home) -> Path:
    """The shipped 国保連 share (a drop folder) without the settle wait; returns the folder."""
    home.edit_config("flows.toml", lambda t: t.replace("settle_seconds = 2", "settle_seconds = 0"))
    folder = home.config.var / "drop" / "kokuho" / home.config.flow("kokuho.kyufu").folder
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_complete_files_are_received_once_and_queued(home: Home) -> None:
    folder = inbound_flow(home)
    body = "1,1,1,3,113,,131128,,13,1,202610,00001,\r\n".encode("cp932") * 1000
    (folder / "KYUFU001").write_bytes(body)
    (folder / "KYUFU001.end").write_bytes(b"")
    (folder / "KYUFU002").write_bytes(b"still being written")  # no marker yet
    (folder / ".KYUFU003.part").write_bytes(b"temporary")

    taken = home.cli_json("receive", "kokuho.kyufu")
    assert [(t["file"], t["new"]) for t in taken] == [("KYUFU001", True)]
    assert sorted(p.name for p in folder.iterdir()) == [".KYUFU003.part", "KYUFU002"]
    transfer_id = taken[0]["transfer"]
    with home.bridge.sessions() as s:
        transfer = s.get(Transfer, transfer_id)
        assert transfer is not None and transfer.direction == "in" and transfer.state == "received"
        assert transfer.sha256 == hashlib.sha256(body).hexdigest() and transfer.size == len(body)
    stored = b"".join(home.bridge.payloads.read(transfer.payload_ref, transfer_id, "kokuho.kyufu"))
    assert stored == body
    raw = b"".join(p.read_bytes() for p in home.config.payloads_dir.rglob("*.kbp"))
    assert b"131128" not in raw  # encrypted at rest
    assert [e.event for e in home.bridge.custody.chain(transfer_id)] == ["received"]
    assert queued(home, "kokuho.load") == 1

    # The partner sends the same file again (or we crashed before removing it): taken once.
    (folder / "KYUFU001").write_bytes(body)
    (folder / "KYUFU001.end").write_bytes(b"")
    again = home.cli_json("receive", "kokuho.kyufu")
    assert again == [{"file": "KYUFU001", "transfer": transfer_id, "new": False}]
    with home.bridge.sessions() as s:
        assert len(s.scalars(select(Transfer).where(Transfer.direction == "in")).all()) == 1
    assert queued(home, "kokuho.load") == 1
    assert not os.path.exists(folder / "KYUFU001")


def test_files_are_received_from_the_partners_sftp_server(home: Home, sshd: SshdServer,
                                                           sftp_tree: Callable[[str], SftpTree]) -> None:
    tree = sftp_tree("default")
    home.edit_config("partners.toml", lambda t: t.replace('channel = "dropdir"\npath = "{var}/drop/kokuho"', f"""\
channel = "sftp"
host = "127.0.0.1"
port = {tree.port}
user = "{sshd.username}"
key_file = "{sshd.client_key}"
known_hosts = "{sshd.known_hosts}\""""))
    home.edit_config("flows.toml", lambda t: t.replace('folder = "in/kyufu"', 'folder = "outbox"')
                     .replace("settle_seconds = 2", "settle_seconds = 1"))
    assert home.config.partners["kokuho"].sftp is not None
    body = os.urandom(3 << 20)  # several SFTP reads
    (tree.outbox / "KYUFU_SFTP").write_bytes(body)
    assert home.cli_json("receive", "kokuho.kyufu") == []  # no done-marker yet
    (tree.outbox / "KYUFU_SFTP.end").write_bytes(b"")
    taken = home.cli_json("receive", "kokuho.kyufu")
    assert [(t["file"], t["new"]) for t in taken] == [("KYUFU_SFTP", True)]
    assert list(tree.outbox.iterdir()) == []  # taken: file and marker removed from the server
    with home.bridge.sessions() as s:
        transfer = s.get(Transfer, taken[0]["transfer"])
        assert transfer is not None and transfer.sha256 == hashlib.sha256(body).hexdigest()
    assert b"".join(home.bridge.payloads.read(transfer.payload_ref, transfer.id, "kokuho.kyufu")) == body


def test_a_file_still_growing_is_left_for_the_next_poll(home: Home) -> None:
    folder = inbound_flow(home)
    home.edit_config("flows.toml", lambda t: t.replace("settle_seconds = 0", "settle_seconds = 1"))
    path = folder / "KYUFU_SLOW"
    (folder / "KYUFU_SLOW.end").write_bytes(b"")  # a partner that puts the marker too early
    stop = threading.Event()

    def grow() -> None:
        with path.open("wb") as f:
            while not stop.wait(0.1):
                f.write(b"x" * 1000)
                f.flush()

    writer = threading.Thread(target=grow)
    writer.start()
    try:
        time.sleep(0.3)
        assert home.cli_json("receive", "kokuho.kyufu") == []
    finally:
        stop.set()
        writer.join()
    taken = home.cli_json("receive", "kokuho.kyufu")
    assert [t["file"] for t in taken] == ["KYUFU_SLOW"]
