"""Judging one answer read from a print vendor: does it hold, and what does it do to its hand-over.

The checks of HANDOVER.md run in its order — signature, the hand-over named, the content against
what was sent — before the state is looked at; the state table (adapters/vendor/states.py) then
says whether it is taken. A taken answer is applied inside the caller's transaction together with
its "seen" mark (keyed by name and content), so the same answer read twice is applied once.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from adapters.pgp import Gpg
from adapters.pgp_errors import PgpError
from adapters.vendor import exchange, returns, states
from adapters.vendor.exchange import AnswerError
from queues.custody import CustodyEvent
from queues.handover_log import record
from queues.redact import mask
from settings import PartnerConfig
from store.models import Handover, Inbox, Transfer

log = logging.getLogger(__name__)
KIND = {"receipt.json": "receipt", "returns.csv": "returns", "deletion.json": "deletion",
        "rejected.json": "rejected"}
VENDOR_REJECTED = "vendor_rejected"  # custody: the vendor refused our delivery


@dataclass
class Verdict:
    kind: str
    accepted: bool
    rule: str | None = None
    reason: str | None = None
    resend: bool = False
    duplicate: bool = False
    applied: str | None = None  # what poll counts: receipt, returns, closed, vendor-rejected
    state: str | None = None  # the hand-over's state after; None when there is no hand-over of ours
    transfer: Transfer | None = None


def judge(s: Session, gpg: Gpg, partner: PartnerConfig, actor: str, name: str, transfer_id: str, suffix: str,
          data: bytes, signature: bytes) -> Verdict:
    kind = KIND[suffix]
    transfer, handover = ours(s, transfer_id, partner)
    verdict = Verdict(kind, accepted=False, state=transfer.state if transfer else None, transfer=transfer)
    try:
        assert partner.openpgp_fingerprint is not None
        try:
            gpg.verify_detached(data, signature.decode("ascii", "replace"), partner.openpgp_fingerprint)
        except PgpError as exc:
            raise AnswerError(f"{name}: {exc}", "signature") from None
        if transfer is None or handover is None:
            raise AnswerError(f"{name}: no hand-over of transfer {transfer_id} to {partner.name}", "transfer_unknown")
        parsed = _checked(s, name, kind, data, transfer, handover)
        move = states.move(kind, transfer.state)
        if move.refused:
            verdict.resend = move.resend
            raise AnswerError(f"{name}: {move.why}", "state")
    except AnswerError as exc:
        verdict.rule, verdict.reason = exc.rule, str(exc)
        return verdict
    verdict.accepted = True
    seen_key = hashlib.sha256(name.encode() + b"\0" + data).hexdigest()
    consumer = f"vendor:{partner.name}"
    seen = s.scalar(select(Inbox.message_id).where(Inbox.consumer == consumer, Inbox.message_id == seen_key))
    verdict.duplicate = seen is not None or (move.to is None and kind != "returns")
    if seen is None:
        s.execute(insert(Inbox), [{"consumer": consumer, "message_id": seen_key, "processed_at": datetime.now(UTC)}])
    if not verdict.duplicate:
        verdict.applied = _apply(s, partner, actor, kind, data, parsed, transfer, handover, move.to)
    verdict.state = transfer.state
    return verdict


def ours(s: Session, transfer_id: str, partner: PartnerConfig) -> tuple[Transfer | None, Handover | None]:
    handover = s.get(Handover, transfer_id)
    if handover is None or handover.partner != partner.name:
        return None, None  # another partner's hand-over is none of this vendor's business
    return s.get(Transfer, transfer_id), handover


def _checked(s: Session, name: str, kind: str, data: bytes, transfer: Transfer, handover: Handover) -> Any:
    """The answer parsed, its content held against what was sent (AnswerError with the rule)."""
    if kind == "receipt":
        receipt = exchange.parse_receipt(data, name)
        _same(name, receipt.transfer_id, receipt.plaintext_sha256, receipt.ciphertext_sha256, transfer, handover)
        if receipt.record_count != transfer.record_count:
            raise AnswerError(f"{name}: record_count {receipt.record_count} but {transfer.record_count} were sent",
                              "record_count")
        return receipt
    if kind == "deletion":
        deletion = exchange.parse_deletion(data, name)
        _same(name, deletion.transfer_id, deletion.plaintext_sha256, deletion.ciphertext_sha256, transfer, handover)
        return deletion
    if kind == "returns":
        returned = exchange.parse_returns(data, name)
        returns.check(s, name, transfer.id, returned)
        return returned
    rejection = exchange.parse_rejection(data, name)
    if rejection.transfer_id != transfer.id:
        raise AnswerError(f"{name}: field 'transfer_id' names transfer {rejection.transfer_id}, not {transfer.id}",
                          "transfer_mismatch")
    return rejection


def _same(name: str, transfer_id: str, plain: str, cipher: str, transfer: Transfer, handover: Handover) -> None:
    if transfer_id != transfer.id:
        raise AnswerError(f"{name}: field 'transfer_id' names transfer {transfer_id}, not {transfer.id}",
                          "transfer_mismatch")
    if plain != transfer.sha256:
        raise AnswerError(f"{name}: field 'plaintext_sha256' does not match what was sent", "plaintext_sha256")
    if cipher != handover.ciphertext_sha256:
        raise AnswerError(f"{name}: field 'ciphertext_sha256' does not match what was sent", "ciphertext_sha256")


def _apply(s: Session, partner: PartnerConfig, actor: str, kind: str, data: bytes, parsed: Any, transfer: Transfer,
           handover: Handover, to: str | None) -> str:
    now = datetime.now(UTC)
    base: dict[str, Any] = {"transfer_id": transfer.id, "actor": f"{actor} (vendor {partner.name})",
                            "partner": partner.name}
    if to is not None:
        transfer.state, transfer.updated_at = to, now
    if kind == "receipt":
        handover.receipt_at = parsed.received_at
        record(s, CustodyEvent(event="receipt", record_count=parsed.record_count, sha256=transfer.sha256,
                               key_id=partner.openpgp_fingerprint, dedup_key=f"{transfer.id}:receipt",
                               detail=f"受領証 verified, received {parsed.received_at.isoformat()}", **base))
        return "receipt"
    if kind == "deletion":
        handover.deleted_at, handover.deletion_method = parsed.deleted_at, parsed.method
        record(s, CustodyEvent(event="deleted", sha256=transfer.sha256, key_id=partner.openpgp_fingerprint,
                               dedup_key=f"{transfer.id}:deleted",
                               detail=f"削除証明書 verified: {parsed.method}, deleted {parsed.deleted_at.isoformat()}",
                               **base))
        return states.CLOSED
    if kind == "returns":
        recorded, marked = returns.apply(s, transfer.id, parsed)
        handover.returns += recorded
        record(s, CustodyEvent(event="returns", record_count=len(parsed), sha256=hashlib.sha256(data).hexdigest(),
                               detail=f"返戻 {len(parsed)} notice(s), {recorded} new; 送付先 marked returned for "
                                      f"{marked}", **base))
        return "returns"
    handover.problem = mask(f"vendor rejected the delivery: {parsed.check}: {parsed.reason}")[:2000]
    record(s, CustodyEvent(event=VENDOR_REJECTED, sha256=transfer.sha256, detail=handover.problem[:500], **base))
    log.error("vendor %s rejected transfer %s: %s", partner.name, transfer.id, handover.problem)
    return "vendor-rejected"
