"""Delivering an outbound transfer to its partner's channel (the ``deliver`` handler).

The message names a transfer; its payload is read from the encrypted store, checked against
the hash recorded at extraction, and handed to the partner's channel (``prepare``, outside the
store's write lock). Then the transfer becomes ``sent`` and the custody log gets its ``sent``
entry in one transaction.

Which hand-over a partner gets follows from its configuration, not from its kind:
- a drop folder (``channel = "dropdir"``): the file as it is, under its delivered name;
- SFTP with an OpenPGP key (print vendors): the vendor hand-over — encrypted and signed file,
  signed manifest, receipts and deletion certificates (adapters/vendor/handover.py);
- SFTP without a key (the 国保連 share): the file as it is (the SSH transport encrypts it, the
  host key is pinned), put in the partner's ``inbox/`` — the folder the vendor hand-over uses
  too, apart from the folders inbound flows read — through a temporary name, size and SHA-256
  checked, then renamed (SftpClient.upload). A file already there under that name with the
  transfer's hash means an earlier attempt got through; other content there is refused.

A delivered file gets the partner's ``file_mode`` (partners.toml, default 0640) on every channel;
everything else the bridge writes is its own user's only.

The delivered name is data: flows.toml's ``file_name`` pattern per flow (FlowConfig.file_name,
checked when the configuration loads), filled by ``file_name``.
"""

from __future__ import annotations

import hashlib
import string
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from adapters.dropdir import DropFolder
from adapters.sftp import SftpClient
from adapters.sftp_connect import endpoint
from adapters.vendor import exchange
from adapters.vendor.handover import Upload, VendorHandover
from queues.apply import Handler
from queues.crypto import Keyring
from queues.custody import CustodyEvent
from queues.errors import PermanentError, TransientError
from queues.handover_log import record
from queues.message import Message, open_body
from queues.payloads import PayloadStore
from settings import DEFAULT_NAME, Config, PartnerConfig
from store.models import Transfer

SENT = "sent"
DONE = ("sent", "receipted", "closed")
# Kinds whose contract is the vendor hand-over (manifest, 受領証, 削除証明書): on SFTP without a key
# they are refused by it ("nothing leaves unencrypted"), never sent in clear by mistake.
VENDOR_KINDS = ("print-vendor",)


def _facts(transfer: Transfer, hokensha_no: str) -> dict[str, Any]:
    """What a name pattern may use, from the transfer itself. The batch key is
    ``<flow>/<period>[/…][#edition]`` (queues/flow_source.py batch_key, adapters/kokuho/ido_run.py): ``period``
    is the run's 年度 or 処理対象年月; ``file_no`` is the edition — the 国保連 flows write it as
    the file's ファイル管理番号 (1 for a month's file, n for ``--edition n``)."""
    batch = transfer.batch or ""
    edition = int(batch.rsplit("#", 1)[1]) if "#" in batch and batch.rsplit("#", 1)[1].isdigit() else 1
    parts = batch.split("#", 1)[0].split("/")
    period = parts[1] if len(parts) > 1 and transfer.flow and parts[0] == transfer.flow else ""
    return {"transfer": transfer.id, "flow": transfer.flow, "period": period,
            "month": period if len(period) == 6 and period.isdigit() else "", "edition": edition,
            "file_no": edition, "part": transfer.part_no or 1, "hokensha_no": hokensha_no}


def file_name(transfer: Transfer, pattern: str = DEFAULT_NAME, hokensha_no: str = "") -> str:
    """The name ``transfer``'s file is delivered under: ``pattern`` (str.format, e.g.
    ``10_531{hokensha_no}{month}_{file_no:02d}.csv``) filled from the transfer."""
    facts = _facts(transfer, hokensha_no)
    used = {f for _t, f, _s, _c in string.Formatter().parse(pattern) if f is not None}
    missing = [f for f in used if f in ("month", "period", "hokensha_no") and not facts.get(f)]
    if missing:
        raise PermanentError(f"transfer {transfer.id}: file name pattern {pattern!r} needs {', '.join(missing)}, "
                             f"which batch {transfer.batch!r} does not give")
    name = pattern.format_map(facts)
    if not name or "/" in name or "\\" in name or name.startswith("."):
        raise PermanentError(f"transfer {transfer.id}: file name {name!r} from pattern {pattern!r} is not a plain name")
    return name


def sftp_put(transfer: Transfer, partner: PartnerConfig, payloads: PayloadStore, name: str) -> str:
    """Put ``transfer``'s file, as it is, in the partner's ``inbox/`` as ``name``; returns what was
    done (custody detail). Safe to call again after any failure."""
    remote = f"{exchange.INBOX}/{name}"
    where = f"sftp {partner.sftp.host if partner.sftp else ''} {remote}"
    with SftpClient(endpoint(partner)) as client:
        if client.exists(remote):
            if client.stat(remote).size == transfer.size:
                digest = hashlib.sha256()
                for chunk in client.read_chunks(remote):
                    digest.update(chunk)
                if digest.hexdigest() == transfer.sha256:
                    return f"{where} (already there)"
            raise PermanentError(f"sftp {partner.name}: {remote} already exists with other content")
        client.upload(payloads.read(transfer.payload_ref, transfer.id, transfer.flow), remote, transfer.size,
                      expected_sha256=transfer.sha256, mode=partner.file_mode)
    return where


class DeliverHandler(Handler):
    def __init__(self, config: Config, keyring: Keyring, payloads: PayloadStore, actor: str,
                 sessions: sessionmaker[Session], vendor: Callable[[], VendorHandover]) -> None:
        self.config = config
        self.keyring = keyring
        self.payloads = payloads
        self.actor = actor
        self.sessions = sessions  # read-only look-ups in prepare, outside the write transaction
        self.vendor = vendor  # built on first use: only partners with an OpenPGP key need it
        self._delivered: dict[str, Upload | str] = {}  # message id -> what prepare did

    def prepare(self, message: Message) -> None:
        """Put the file at the partner (idempotent: a file or manifest already there is kept)."""
        with self.sessions() as s:
            transfer, partner = self._lookup(s, message)
        if transfer.state in DONE:
            return
        if partner.sftp is not None and (partner.openpgp_fingerprint is not None or partner.kind in VENDOR_KINDS):
            self._delivered[message.id] = self.vendor().upload(transfer, partner)
            return
        name = file_name(transfer, self.config.flow(transfer.flow).file_name, self.config.hokensha_no)
        if partner.sftp is not None:
            self._delivered[message.id] = sftp_put(transfer, partner, self.payloads, name)
            return
        if partner.path is None:
            raise PermanentError(f"transfer {transfer.id}: partner {partner.name} has no channel")
        chunks = self.payloads.read(transfer.payload_ref, transfer.id, transfer.flow)
        DropFolder(partner.path).deliver(name, chunks, transfer.sha256, transfer.size, mode=partner.file_mode)
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
