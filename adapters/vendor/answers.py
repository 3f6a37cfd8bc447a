"""Reading a print vendor's answers from its ``outbox/``: 受領証, 返戻, 削除証明書, rejections.

A file is read only when its signature file is there too and its size held still across two
listings. Each is verified (signature by the vendor's pinned key, hashes and counts against
the hand-over) and applied in one store transaction with a "seen" mark keyed by name and
content hash, so reading the same file again changes nothing. Only then is it removed from the
server. A file that fails verification is kept locally in quarantine, recorded as ``rejected``
in custody with the reason, and logged as an error for the operators.

What the vendor controls never stops the poll: an answer over ``MAX_ANSWER_BYTES`` or one that
cannot be read is refused unread (left on the server, recorded and logged once for its size and
mtime), a name that is no answer's is reported once and left alone, and the others are read on.
Names and the vendor's reasons reach custody and logs masked (queues/partner_names.py).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import CursorResult, insert, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from adapters.pgp import Gpg
from adapters.pgp_errors import PgpError
from adapters.sftp import RemoteFile, SftpClient
from adapters.sftp_connect import endpoint
from adapters.sftp_errors import RemoteNotFoundError, SftpError
from adapters.vendor import exchange
from adapters.vendor.exchange import AnswerError
from queues.custody import CustodyEvent
from queues.errors import TransientError
from queues.handover_log import record
from queues.partner_names import shown
from queues.quarantine import AnswerQuarantine
from queues.redact import mask
from settings import PartnerConfig
from store.models import Atena, Handover, Inbox, Transfer
from store.models.atena import SOFU_OK, SOFU_RETURNED

log = logging.getLogger(__name__)

RECEIPTED = "receipted"
CLOSED = "closed"
REJECTED = "rejected"
ORDER = {"receipt.json": 0, "rejected.json": 1, "returns.csv": 2, "deletion.json": 3}
MAX_SIGNATURE_BYTES = 1 << 16


@dataclass
class PollResult:
    applied: dict[str, int] = field(default_factory=dict)
    rejected: list[str] = field(default_factory=list)  # refused: failed verification, too large, unreadable
    seen_again: int = 0
    unknown: list[str] = field(default_factory=list)  # names that are no answer's, reported now


class AnswerReader:
    def __init__(self, sessions: sessionmaker[Session], gpg: Gpg, quarantine: AnswerQuarantine, actor: str,
                 on_closed: Callable[[Transfer], None]) -> None:
        self.sessions = sessions
        self.gpg = gpg
        self.quarantine = quarantine
        self.actor = actor
        self.on_closed = on_closed  # deletes what the ward still holds of a closed hand-over

    def poll(self, partner: PartnerConfig, settle: float = 1.0) -> PollResult:
        result = PollResult()
        with SftpClient(endpoint(partner)) as client:
            files = {f.name: f for f in client.stable_listing(exchange.OUTBOX, wait=settle)}
            answers = [(m, m.string) for m in map(exchange.ANSWER.fullmatch, files) if m is not None]
            answer_names = {name for _m, name in answers}
            for f in files.values():
                if f.name not in answer_names and f.name.removesuffix(".asc") not in answer_names:
                    if self._report(partner, f, None, "matches no answer name (<transfer id>.<kind>); left on the "
                                                      "server"):
                        result.unknown.append(shown(f.name))
            # A receipt before the deletion certificate that needs it, whatever the names sort as.
            for match, name in sorted(answers, key=lambda a: (ORDER[a[0]["kind"]], a[1])):
                if f"{name}.asc" not in files:
                    continue  # its signature is not there yet
                try:
                    data, signature = self._read(client, files[name], files[f"{name}.asc"])
                except RemoteNotFoundError:
                    continue  # taken by another poller since the listing
                except SftpError as exc:  # too large, unreadable: refused unread, the others go on
                    reason = str(exc).replace(name, shown(name))
                    if self._report(partner, files[name], match["tid"], f"not read: {reason}; left on the server"):
                        result.rejected.append(shown(name))
                    continue
                try:
                    outcome = self._one(partner, name, match["tid"], match["kind"], data, signature)
                except (TransientError, SQLAlchemyError):
                    raise  # the server or the store: the whole poll is retried
                except Exception as exc:
                    log.error("vendor %s: answer %s not applied (%s), left for the next poll", partner.name,
                              shown(name), type(exc).__name__)
                    continue
                if outcome == "seen":
                    result.seen_again += 1
                elif outcome == REJECTED:
                    result.rejected.append(shown(name))
                else:
                    result.applied[outcome] = result.applied.get(outcome, 0) + 1
                for remote in (f"{exchange.OUTBOX}/{name}.asc", f"{exchange.OUTBOX}/{name}"):
                    with contextlib.suppress(RemoteNotFoundError):  # another poller was quicker
                        client.remove(remote)
        return result

    @staticmethod
    def _read(client: SftpClient, answer: RemoteFile, signature: RemoteFile) -> tuple[bytes, bytes]:
        """Both files, refused by the listed size before a byte is read (SftpError)."""
        for f, cap in ((answer, exchange.MAX_ANSWER_BYTES), (signature, MAX_SIGNATURE_BYTES)):
            if f.size > cap:
                raise SftpError(f"{f.name}: {f.size} bytes is more than the {cap} allowed")
        return (client.read_bytes(f"{exchange.OUTBOX}/{answer.name}", exchange.MAX_ANSWER_BYTES),
                client.read_bytes(f"{exchange.OUTBOX}/{signature.name}", MAX_SIGNATURE_BYTES))

    def _report(self, partner: PartnerConfig, f: RemoteFile, transfer_id: str | None, reason: str) -> bool:
        """Record and log once a file left unread on the vendor's server: True if said now, False if
        it was already (the same name, size and mtime); a changed file is judged again."""
        label = shown(f.name)
        key = hashlib.sha256(f"unread\0{f.name}\0{f.size}\0{f.mtime}".encode("utf-8", "surrogateescape")).hexdigest()
        consumer = f"vendor:{partner.name}"
        detail = mask(f"{exchange.OUTBOX}/{label} ({f.size} bytes): {reason}")[:500]
        with self.sessions.begin() as s:
            if s.scalar(select(Inbox.message_id).where(Inbox.consumer == consumer, Inbox.message_id == key)):
                return False
            s.execute(insert(Inbox), [{"consumer": consumer, "message_id": key, "processed_at": datetime.now(UTC)}])
            handover = s.get(Handover, transfer_id) if transfer_id is not None else None
            if handover is not None and handover.partner == partner.name:
                handover.problem = detail
            else:
                transfer_id = None  # the name is the vendor's: not a transfer of ours to file it under
            record(s, CustodyEvent(transfer_id=transfer_id, event=REJECTED, actor=self.actor, partner=partner.name,
                                   detail=detail))
        log.error("vendor %s: %s", partner.name, detail)
        return True

    def _one(self, partner: PartnerConfig, name: str, transfer_id: str, kind: str, data: bytes,
             signature: bytes) -> str:
        seen_key = hashlib.sha256(name.encode() + b"\0" + data).hexdigest()
        consumer = f"vendor:{partner.name}"
        closed: Transfer | None = None
        with self.sessions.begin() as s:
            if s.scalar(select(Inbox.message_id).where(Inbox.consumer == consumer, Inbox.message_id == seen_key)):
                return "seen"
            s.execute(insert(Inbox), [{"consumer": consumer, "message_id": seen_key,
                                       "processed_at": datetime.now(UTC)}])
            try:
                assert partner.openpgp_fingerprint is not None
                self.gpg.verify_detached(data, signature.decode("ascii", "replace"), partner.openpgp_fingerprint)
                transfer, handover = _handover(s, transfer_id, partner)
                outcome = self._apply(s, partner, kind, name, data, transfer, handover)
                if outcome == CLOSED:
                    closed = transfer
            except (AnswerError, PgpError) as exc:
                self._reject(s, partner, name, transfer_id, data, str(exc))
                outcome = REJECTED
        if closed is not None:
            self.on_closed(closed)
        return outcome

    def _apply(self, s: Session, partner: PartnerConfig, kind: str, name: str, data: bytes, transfer: Transfer,
               handover: Handover) -> str:
        now = datetime.now(UTC)
        base: dict[str, Any] = {"transfer_id": transfer.id, "actor": f"{self.actor} (vendor {partner.name})",
                                "partner": partner.name}
        if kind == "receipt.json":
            receipt = exchange.parse_receipt(data, name)
            _same(name, receipt.transfer_id, receipt.plaintext_sha256, receipt.ciphertext_sha256, transfer, handover)
            if receipt.record_count != transfer.record_count:
                raise AnswerError(f"{name}: record_count {receipt.record_count} but {transfer.record_count} were sent")
            if handover.receipt_at is None:
                handover.receipt_at = receipt.received_at
                transfer.state, transfer.updated_at = RECEIPTED, now
                record(s, CustodyEvent(event="receipt", record_count=receipt.record_count, sha256=transfer.sha256,
                                       key_id=partner.openpgp_fingerprint, dedup_key=f"{transfer.id}:receipt",
                                       detail=f"受領証 verified, received {receipt.received_at.isoformat()}", **base))
            return "receipt"
        if kind == "deletion.json":
            deletion = exchange.parse_deletion(data, name)
            _same(name, deletion.transfer_id, deletion.plaintext_sha256, deletion.ciphertext_sha256, transfer,
                  handover)
            if handover.receipt_at is None:
                raise AnswerError(f"{name}: a deletion certificate before any valid receipt for this transfer")
            if handover.deleted_at is None:
                handover.deleted_at, handover.deletion_method = deletion.deleted_at, deletion.method
                transfer.state, transfer.updated_at = CLOSED, now
                record(s, CustodyEvent(event="deleted", sha256=transfer.sha256, key_id=partner.openpgp_fingerprint,
                                       dedup_key=f"{transfer.id}:deleted",
                                       detail=f"削除証明書 verified: {deletion.method}, "
                                              f"deleted {deletion.deleted_at.isoformat()}", **base))
                return CLOSED
            return "deletion"
        if kind == "returns.csv":
            returned = exchange.parse_returns(data, name)
            keys = {r.atena_no for r in returned}
            result = cast(CursorResult[Any], s.execute(
                update(Atena).where(Atena.atena_no.in_(keys), Atena.sofu_status == SOFU_OK)
                .values(sofu_status=SOFU_RETURNED, updated_at=now)))
            changed = result.rowcount
            handover.returns += len(returned)
            record(s, CustodyEvent(event="returns", record_count=len(returned), sha256=hashlib.sha256(data).hexdigest(),
                                   detail=f"返戻 {len(returned)} notice(s); 送付先 marked returned for {changed}",
                                   **base))
            return "returns"
        rejection = exchange.parse_rejection(data, name)
        transfer.state, transfer.updated_at = REJECTED, now
        handover.problem = mask(f"vendor rejected the delivery: {rejection.check}: {rejection.reason}")[:2000]
        record(s, CustodyEvent(event="rejected", sha256=transfer.sha256, detail=handover.problem[:500], **base))
        log.error("vendor %s rejected transfer %s: %s", partner.name, transfer.id, handover.problem)
        return "vendor-rejected"

    def _reject(self, s: Session, partner: PartnerConfig, name: str, transfer_id: str, data: bytes,
                reason: str) -> None:
        self.quarantine.keep(partner.name, name, data)  # encrypted, like a payload
        handover = s.get(Handover, transfer_id)
        label = shown(name)
        reason = mask(reason.replace(name, label))  # the vendor's words and its name, never raw
        if handover is not None:
            handover.problem = f"{label}: {reason}"[:2000]
        record(s, CustodyEvent(transfer_id=transfer_id, event="rejected", actor=self.actor, partner=partner.name,
                               sha256=hashlib.sha256(data).hexdigest(),
                               detail=f"answer {label} refused: {reason}"[:500]))
        log.error("vendor %s: answer %s refused: %s", partner.name, label, reason)


def _handover(s: Session, transfer_id: str, partner: PartnerConfig) -> tuple[Transfer, Handover]:
    transfer = s.get(Transfer, transfer_id)
    handover = s.get(Handover, transfer_id)
    if transfer is None or handover is None or handover.partner != partner.name:
        raise AnswerError(f"no hand-over of transfer {transfer_id} to {partner.name}")
    return transfer, handover


def _same(name: str, transfer_id: str, plain: str, cipher: str, transfer: Transfer, handover: Handover) -> None:
    if transfer_id != transfer.id:
        raise AnswerError(f"{name}: names transfer {transfer_id}, not {transfer.id}")
    if plain != transfer.sha256:
        raise AnswerError(f"{name}: plaintext_sha256 does not match what was sent")
    if cipher != handover.ciphertext_sha256:
        raise AnswerError(f"{name}: ciphertext_sha256 does not match what was sent")
