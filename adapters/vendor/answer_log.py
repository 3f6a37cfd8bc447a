"""The ward's record of every answer judged (``vendor_answer``), and what a judgement leaves on
the hand-over: the problem an operator sees, cleared once made good.

A refusal is kept open (``resolved_at`` empty) until the hand-over takes an answer of the same
kind or reaches a terminal state, or an operator settles it (``vendors settle``); the
hand-over's ``problem`` is then the latest refusal still open, or nothing. Each row carries the
acknowledgement made for it (adapters/vendor/acks.py).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from adapters.pgp import Gpg
from adapters.vendor import acks, states
from queues.custody import CustodyEvent
from queues.handover_log import record
from queues.partner_names import shown
from queues.redact import mask
from settings import PartnerConfig
from store.models import Handover, VendorAnswer
from store.models.vendor_answer import ACCEPTED, REFUSED

log = logging.getLogger(__name__)
ANSWER_REFUSED = "answer_refused"  # custody: the ward refused a vendor's answer
ANSWER_SETTLED = "answer_settled"  # custody: an operator closed a refusal by hand


@dataclass(frozen=True)
class Logged:
    """What the poll still has to do for a judgement once its transaction committed."""

    id: int
    ack: str | None
    signature: str | None
    refused: bool
    closes: str | None  # the transfer this judgement closed: the ward deletes its copies after commit


def read_key(name: str, data: bytes) -> str:
    return hashlib.sha256(name.encode("utf-8", "surrogateescape") + b"\0" + data).hexdigest()


def unread_key(name: str, size: int, mtime: int) -> str:
    return hashlib.sha256(f"unread\0{name}\0{size}\0{mtime}".encode("utf-8", "surrogateescape")).hexdigest()


def pending(s: Session, partner: str, key: str, unfinished_only: bool = True) -> Logged | None:
    """The judgement already made of this very file (a poll that stopped before finishing it)."""
    query = select(VendorAnswer).where(VendorAnswer.partner == partner, VendorAnswer.read_key == key)
    if unfinished_only:
        query = query.where(VendorAnswer.done_at.is_(None))
    row = s.scalars(query.order_by(VendorAnswer.id.desc()).limit(1)).first()
    return None if row is None else _logged(row)


def write(s: Session, gpg: Gpg, ward_fingerprint: str, partner: PartnerConfig, actor: str, key: str,
          j: acks.Judgement, quarantine_id: str | None = None) -> Logged:
    """Record the judgement ``j`` with its acknowledgement; for a refusal, custody ``answer_refused``
    and the hand-over's problem; for an acceptance, the refusals it made good."""
    label, now = shown(j.answer), datetime.now(UTC)
    reason = mask(j.reason.replace(j.answer, label))[:1000] if j.reason else None
    j = acks.Judgement(**{**j.__dict__, "reason": reason})
    made = acks.make(gpg, ward_fingerprint, j)
    row = VendorAnswer(partner=partner.name, transfer_id=j.transfer_id, name=label, kind=j.kind, sha256=j.answer_sha256,
                       read_key=key, outcome=j.outcome, rule=j.rule, reason=reason, duplicate=j.duplicate,
                       quarantine_id=quarantine_id, read_at=now, ack=made[0] if made else None,
                       ack_signature=made[1] if made else None)
    s.add(row)
    s.flush()
    handover = s.get(Handover, j.transfer_id) if j.transfer_id else None
    if handover is not None and handover.partner != partner.name:
        handover = None  # the vendor named another partner's transfer: nothing of it is touched
    if j.outcome == REFUSED:
        if handover is not None:
            handover.problem = problem(j.kind, j.rule, label, reason)
        record(s, CustodyEvent(transfer_id=handover.transfer_id if handover else None, event=ANSWER_REFUSED,
                               actor=actor, partner=partner.name, sha256=j.answer_sha256,
                               detail=f"answer {label} refused ({j.rule}): {reason}"[:500]))
        log.error("vendor %s: answer %s refused (%s): %s", partner.name, label, j.rule, reason)
    elif handover is not None:
        _resolve(s, handover, j.kind, j.handover_state, now)
    return _logged(row)


def _resolve(s: Session, handover: Handover, kind: str | None, state: str | None, now: datetime) -> None:
    made_good = (VendorAnswer.partner == handover.partner) & (VendorAnswer.transfer_id == handover.transfer_id) & \
        (VendorAnswer.outcome == REFUSED) & VendorAnswer.resolved_at.is_(None)
    if state not in states.TERMINAL:
        made_good &= VendorAnswer.kind == kind
    s.execute(update(VendorAnswer).where(made_good).values(resolved_at=now))
    if state == states.REJECTED:
        return  # the problem is the vendor's rejection, set when it was applied
    _show_open(s, handover)


def _show_open(s: Session, handover: Handover) -> None:
    """The hand-over's problem: its latest refusal still open, or nothing."""
    still = s.scalars(select(VendorAnswer).where(
        VendorAnswer.partner == handover.partner, VendorAnswer.transfer_id == handover.transfer_id,
        VendorAnswer.outcome == REFUSED,
        VendorAnswer.resolved_at.is_(None)).order_by(VendorAnswer.id.desc()).limit(1)).first()
    handover.problem = problem(still.kind, still.rule, still.name, still.reason) if still else None


class SettleError(Exception):
    """The refusal cannot be settled: unknown, an answer that was taken, already settled or made good."""


def settle(s: Session, answer_id: int, operator: str, note: str) -> VendorAnswer:
    """An operator closes by hand a refusal no later answer can make good (a name that is no
    answer's, a transfer we never sent, a hand-over the vendor rejected) or one dealt with
    outside the exchange; who and why go to the row and to custody (``answer_settled``)."""
    row = s.get(VendorAnswer, answer_id)
    if row is None:
        raise SettleError(f"no vendor answer {answer_id} (kaigo-bridge vendors answers --refused lists them)")
    if row.outcome != REFUSED:
        raise SettleError(f"vendor answer {answer_id} was taken, not refused: nothing to settle")
    if row.resolved_at is not None:
        by = f"settled by {row.resolved_by}" if row.resolved_by else "made good by a later answer"
        raise SettleError(f"vendor answer {answer_id} is already closed ({by})")
    note = mask(note.strip())[:1000]
    if not note:
        raise SettleError("say why the refusal is settled (--note)")
    row.resolved_at, row.resolved_by, row.resolution = datetime.now(UTC), operator, note
    handover = s.get(Handover, row.transfer_id) if row.transfer_id else None
    if handover is not None and handover.partner == row.partner:
        _show_open(s, handover)
    else:
        handover = None
    record(s, CustodyEvent(transfer_id=handover.transfer_id if handover else None, event=ANSWER_SETTLED,
                           actor=f"operator:{operator}", partner=row.partner, sha256=row.sha256,
                           detail=f"refusal of answer {row.name} ({row.rule}) settled: {note}"[:500],
                           dedup_key=f"answer:{row.id}:settled"))
    return row


def problem(kind: str | None, rule: str | None, label: str, reason: str | None) -> str:
    """A refusal as the register shows it: what was refused and the rule first (the transfer is
    the row's), then the reason without the file name it starts with."""
    return f"{kind or 'file'} refused ({rule}): {(reason or '').removeprefix(f'{label}: ')}"[:2000]


def done(s: Session, answer_id: int) -> None:
    row = s.get(VendorAnswer, answer_id)
    if row is not None and row.done_at is None:
        row.done_at = datetime.now(UTC)


def _logged(row: VendorAnswer) -> Logged:
    closes = row.transfer_id if row.kind == "deletion" and row.outcome == ACCEPTED and not row.duplicate else None
    return Logged(row.id, row.ack, row.ack_signature, row.outcome == REFUSED, closes)


__all__ = ["ACCEPTED", "ANSWER_REFUSED", "ANSWER_SETTLED", "REFUSED", "Logged", "SettleError", "done", "pending",
           "read_key", "settle", "unread_key", "write"]
