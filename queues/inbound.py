"""Receiving an inbound file: stored encrypted, recorded, and queued for its loader.

The file streams into the encrypted payload store (it never stays in clear on our side), a
transfer ``received`` is recorded with its size and SHA-256, the custody log gets a
``received`` entry, and a load event for the flow's route commits in the same transaction.
The same content received again for the same flow is recognised by its hash and not taken
twice, so a partner re-sending a file, or a crash before the source file was removed, changes
nothing. The partner's file name is shown masked (queues/partner_names.py) wherever we write it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from queues.crypto import Keyring
from queues.custody import CustodyEvent
from queues.handover_log import record
from queues.message import new_id
from queues.outbox import enqueue
from queues.partner_names import shown
from queues.payloads import PayloadStore
from settings import FlowConfig
from store.models import Transfer

RECEIVED = "received"
LOAD = "transfer.load"


def receive(sessions: sessionmaker[Session], keyring: Keyring, payloads: PayloadStore, flow: FlowConfig,
            name: str, chunks: Iterable[bytes], actor: str) -> tuple[str, bool]:
    """Store and record one inbound file; returns (transfer id, True if new / False if known).

    ``name`` is the partner's and never reaches custody, the load event or a log raw (``shown``).
    The custody entry is checked before a byte is stored, and a payload whose record did not
    commit is deleted, so a refusal never leaves an orphan in the payload store."""
    transfer_id = new_id()
    label = shown(name)
    entry = CustodyEvent(transfer_id=transfer_id, event=RECEIVED, actor=actor, partner=flow.partner,
                         dedup_key=f"{transfer_id}:received", detail=label)  # refuses here, before storing
    writer = payloads.open_writer(transfer_id, flow.name)
    with writer:
        for chunk in chunks:
            writer.write(chunk)
    info = writer.close()
    now = datetime.now(UTC)
    with sessions.begin() as s:
        try:
            known = s.scalar(select(Transfer.id).where(Transfer.flow == flow.name, Transfer.direction == "in",
                                                       Transfer.sha256 == info.sha256))
            if known is not None:
                payloads.delete(info.ref)
                return known, False
            s.add(Transfer(id=transfer_id, flow=flow.name, partner=flow.partner, direction="in", layout=None,
                           layout_version=None, record_count=None, sha256=info.sha256, size=info.size,
                           key_id=info.key_id, payload_ref=info.ref, state=RECEIVED, created_at=now,
                           updated_at=now))
            record(s, replace(entry, sha256=info.sha256, key_id=info.key_id,
                              detail=f"{label}, {info.size} bytes"))
            enqueue(s, keyring, flow.route, LOAD, transfer_id, {"transfer_id": transfer_id, "file": label},
                    transfer_id=transfer_id)
            s.flush()  # every row written here, so a refusal of any of them is caught below
        except BaseException:
            # Nothing of this file will commit. A failing COMMIT itself is left alone: it may have
            # committed after all, and a payload a transfer names must never go.
            payloads.delete(info.ref)
            raise
    return transfer_id, True
