"""Receiving an inbound file: stored encrypted, recorded, and queued for its loader.

The file streams into the encrypted payload store (it never stays in clear on our side), a
transfer ``received`` is recorded with its size and SHA-256, the custody log gets a
``received`` entry, and a load event for the flow's route commits in the same transaction.
The same content received again for the same flow is recognised by its hash and not taken
twice, so a partner re-sending a file, or a crash before the source file was removed, changes
nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from queues.crypto import Keyring
from queues.custody import CustodyEvent
from queues.handover_log import record
from queues.message import new_id
from queues.outbox import enqueue
from queues.payloads import PayloadStore
from settings import FlowConfig
from store.models import Transfer

RECEIVED = "received"
LOAD = "transfer.load"


def receive(sessions: sessionmaker[Session], keyring: Keyring, payloads: PayloadStore, flow: FlowConfig,
            name: str, chunks: Iterable[bytes], actor: str) -> tuple[str, bool]:
    """Store and record one inbound file; returns (transfer id, True if new / False if known)."""
    transfer_id = new_id()
    writer = payloads.open_writer(transfer_id, flow.name)
    with writer:
        for chunk in chunks:
            writer.write(chunk)
    info = writer.close()
    now = datetime.now(UTC)
    with sessions.begin() as s:
        known = s.scalar(select(Transfer.id).where(Transfer.flow == flow.name, Transfer.direction == "in",
                                                   Transfer.sha256 == info.sha256))
        if known is not None:
            payloads.delete(info.ref)
            return known, False
        s.add(Transfer(id=transfer_id, flow=flow.name, partner=flow.partner, direction="in", layout=None,
                       layout_version=None, record_count=None, sha256=info.sha256, size=info.size,
                       key_id=info.key_id, payload_ref=info.ref, state=RECEIVED, created_at=now, updated_at=now))
        record(s, CustodyEvent(transfer_id=transfer_id, event=RECEIVED, actor=actor, partner=flow.partner,
                               sha256=info.sha256, key_id=info.key_id, dedup_key=f"{transfer_id}:received",
                               detail=f"{name}, {info.size} bytes"))
        enqueue(s, keyring, flow.route, LOAD, transfer_id, {"transfer_id": transfer_id, "file": name},
                transfer_id=transfer_id)
    return transfer_id, True
