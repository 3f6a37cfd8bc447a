"""Receiving inbound files from a drop folder: only complete, settled files; stored encrypted;
recorded; queued for their loader; the same content twice is taken once."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pika
from sqlalchemy import select

from adapters.core.models import Transfer
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
    folder = home.config.var / "drop" / "kokuho"
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
