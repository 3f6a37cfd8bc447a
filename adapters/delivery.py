"""Delivering an outbound transfer to its partner's channel (the ``deliver`` handler).

The message names a transfer; its payload is read from the encrypted store, checked against
the hash recorded at extraction, and handed to the partner's channel (``prepare``, outside the
store's write lock). Then the transfer becomes ``sent`` and the custody log gets its ``sent``
entry in one transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from adapters.core.models import Transfer
from adapters.dropdir import DropFolder
from adapters.vendor.handover import Upload, VendorHandover
from bridge.config import Config, PartnerConfig
from queues.apply import Handler
from queues.crypto import Keyring
from queues.custody import CustodyEvent
from queues.errors import PermanentError, TransientError
from queues.handover_log import record
from queues.message import Message, open_body
from queues.payloads import PayloadStore

SENT = "sent"
DONE = ("sent", "receipted", "closed")


def file_name(transfer: Transfer) -> str:
    return f"{transfer.id}.csv"


class DeliverHandler(Handler):
    def __init__(self, config: Config, keyring: Keyring, payloads: PayloadStore, actor: str,
                 sessions: sessionmaker[Session], vendor: Callable[[], VendorHandover]) -> None:
        self.config = config
        self.keyring = keyring
        self.payloads = payloads
        self.actor = actor
        self.sessions = sessions  # read-only look-ups in prepare, outside the write transaction
        self.vendor = vendor  # built on first use: only SFTP partners need OpenPGP
        self._delivered: dict[str, Upload | str] = {}  # message id -> what prepare did

    def prepare(self, message: Message) -> None:
        """Put the file at the partner (idempotent: a file or manifest already there is kept)."""
        with self.sessions() as s:
            transfer, partner = self._lookup(s, message)
        if transfer.state in DONE:
            return
        if partner.sftp is not None:
            self._delivered[message.id] = self.vendor().upload(transfer, partner)
            return
        if partner.path is None:
            raise PermanentError(f"transfer {transfer.id}: partner {partner.name} has no channel")
        name = file_name(transfer)
        chunks = self.payloads.read(transfer.payload_ref, transfer.id, transfer.flow)
        DropFolder(partner.path).deliver(name, chunks, transfer.sha256, transfer.size)
        self._delivered[message.id] = f"{partner.channel} {name}"

    def __call__(self, session: Session, message: Message) -> None:
        transfer, partner = self._lookup(session, message)
        done = self._delivered.pop(message.id, None)
        if transfer.state in DONE:
            return
        if done is None:
            raise TransientError(f"transfer {transfer.id}: not yet at the partner; delivering again")
        if isinstance(done, Upload):
            started_by = str(open_body(self.keyring, message).get("started_by", ""))
            self.vendor().record_sent(session, transfer, partner, started_by, done)
            return
        transfer.state = SENT
        transfer.updated_at = datetime.now(UTC)
        record(session, CustodyEvent(transfer_id=transfer.id, event=SENT, actor=self.actor, partner=partner.name,
                                     record_count=transfer.record_count, sha256=transfer.sha256,
                                     key_id=transfer.key_id, detail=done, dedup_key=f"{transfer.id}:sent"))

    def _lookup(self, session: Session, message: Message) -> tuple[Transfer, PartnerConfig]:
        transfer_id = open_body(self.keyring, message)["transfer_id"]
        transfer = session.get(Transfer, transfer_id)
        if transfer is None:
            raise PermanentError(f"transfer {transfer_id} does not exist")
        partner = self.config.partners.get(transfer.partner)
        if partner is None:
            raise PermanentError(f"transfer {transfer_id}: partner {transfer.partner!r} is not configured")
        return transfer, partner
