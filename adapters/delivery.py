"""Delivering an outbound transfer to its partner's channel (the ``deliver`` handler).

The message names a transfer; its payload is read from the encrypted store, checked against
the hash recorded at extraction, and handed to the partner's channel. The transfer becomes
``sent`` and the custody log gets its ``sent`` entry in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from adapters.core.models import Transfer
from adapters.dropdir import DropFolder
from adapters.vendor.handover import VendorHandover
from bridge.config import Config
from queues.crypto import Keyring
from queues.custody import CustodyEvent
from queues.errors import PermanentError
from queues.handover_log import record
from queues.message import Message, open_body
from queues.payloads import PayloadStore

SENT = "sent"
DONE = ("sent", "receipted", "closed")


def file_name(transfer: Transfer) -> str:
    return f"{transfer.id}.csv"


class DeliverHandler:
    def __init__(self, config: Config, keyring: Keyring, payloads: PayloadStore, actor: str,
                 vendor: Callable[[], VendorHandover]) -> None:
        self.config = config
        self.keyring = keyring
        self.payloads = payloads
        self.actor = actor
        self.vendor = vendor  # built on first use: only SFTP partners need OpenPGP

    def __call__(self, session: Session, message: Message) -> None:
        content = open_body(self.keyring, message)
        transfer_id = content["transfer_id"]
        transfer = session.get(Transfer, transfer_id)
        if transfer is None:
            raise PermanentError(f"transfer {transfer_id} does not exist")
        if transfer.state in DONE:
            return
        partner = self.config.partners.get(transfer.partner)
        if partner is None:
            raise PermanentError(f"transfer {transfer_id}: partner {transfer.partner!r} is not configured")
        if partner.sftp is not None:
            self.vendor().send(session, transfer, partner, str(content.get("started_by", "")))
            return
        if partner.path is None:
            raise PermanentError(f"transfer {transfer_id}: partner {partner.name} has no channel")
        name = file_name(transfer)
        chunks = self.payloads.read(transfer.payload_ref, transfer.id, transfer.flow)
        DropFolder(partner.path).deliver(name, chunks, transfer.sha256, transfer.size)
        transfer.state = SENT
        transfer.updated_at = datetime.now(UTC)
        record(session, CustodyEvent(transfer_id=transfer.id, event=SENT, actor=self.actor, partner=partner.name,
                                     record_count=transfer.record_count, sha256=transfer.sha256,
                                     key_id=transfer.key_id, detail=f"{partner.channel} {name}",
                                     dedup_key=f"{transfer.id}:sent"))
