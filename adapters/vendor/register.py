"""The hand-over register as operators see it: state, overdue answers, the problem still open, the
上長 confirmation; the answers judged (``vendors answers``) and the returned notices of a
hand-over (``handovers returns``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from adapters.vendor.exchange import RETURN_REASONS
from queues.custody import CustodyEvent
from queues.handover_log import record
from settings import PartnerConfig
from store.models import Handover, HandoverReturn, Transfer, VendorAnswer
from store.models.vendor_answer import REFUSED


class ConfirmError(Exception):
    """The confirmation cannot be recorded (unknown transfer, same person, already confirmed), or
    there is no such hand-over to list."""


@dataclass(frozen=True)
class Entry:
    transfer_id: str
    partner: str
    flow: str
    records: int | None
    state: str
    sent_at: datetime | None
    receipt_at: datetime | None
    deleted_at: datetime | None
    returns: int
    started_by: str
    confirmed_by: str | None
    overdue: str | None  # "receipt" or "deletion" when the partner is late
    problem: str | None


def overdue(h: Handover, partner: PartnerConfig | None, now: datetime) -> str | None:
    if partner is None or h.sent_at is None:
        return None
    if h.receipt_at is None:
        return "receipt" if now - h.sent_at > partner.receipt_sla else None
    if h.deleted_at is None:
        return "deletion" if now - h.receipt_at > partner.deletion_sla else None
    return None


def entries(session: Session, partners: dict[str, PartnerConfig], now: datetime | None = None) -> list[Entry]:
    now = now or datetime.now(UTC)
    rows = session.execute(select(Handover, Transfer).join(Transfer, Transfer.id == Handover.transfer_id)
                           .order_by(Handover.sent_at.desc()))
    return [Entry(t.id, h.partner, t.flow, t.record_count, t.state, h.sent_at, h.receipt_at, h.deleted_at,
                  h.returns, h.started_by, h.confirmed_by, overdue(h, partners.get(h.partner), now), h.problem)
            for h, t in rows]


def confirm(session: Session, transfer_id: str, operator: str) -> None:
    """The supervisor's confirmation of a hand-over record; never by whoever started the run."""
    handover = session.get(Handover, transfer_id)
    if handover is None:
        raise ConfirmError(f"no hand-over of transfer {transfer_id}")
    if handover.started_by in (operator, f"operator:{operator}"):
        raise ConfirmError(f"{operator} started this run; the confirmation must come from someone else")
    if handover.confirmed_by is not None:
        raise ConfirmError(f"already confirmed by {handover.confirmed_by} at {handover.confirmed_at}")
    handover.confirmed_by, handover.confirmed_at = operator, datetime.now(UTC)
    record(session, CustodyEvent(transfer_id=transfer_id, event="confirmed", actor=f"operator:{operator}",
                                 partner=handover.partner, detail="hand-over record confirmed (上長確認)",
                                 dedup_key=f"{transfer_id}:confirmed"))


@dataclass(frozen=True)
class Answer:
    id: int
    partner: str
    transfer_id: str | None
    name: str  # masked where it could hold personal data
    kind: str | None
    sha256: str | None
    outcome: str  # accepted / refused
    duplicate: bool
    rule: str | None
    reason: str | None
    read_at: datetime
    resolved_at: datetime | None
    resolved_by: str | None  # the operator who settled the refusal by hand
    resolution: str | None


def answers(session: Session, refused_open: bool = False) -> list[Answer]:
    """Every answer judged, newest first; ``refused_open``: only refusals not made good yet."""
    query = select(VendorAnswer).order_by(VendorAnswer.id.desc())
    if refused_open:
        query = query.where(VendorAnswer.outcome == REFUSED, VendorAnswer.resolved_at.is_(None))
    return [Answer(a.id, a.partner, a.transfer_id, a.name, a.kind, a.sha256, a.outcome, a.duplicate, a.rule,
                   a.reason, a.read_at, a.resolved_at, a.resolved_by, a.resolution) for a in session.scalars(query)]


def open_refusals(session: Session) -> int:
    """Refused answers neither made good by a later answer nor settled by an operator."""
    return session.scalar(select(func.count()).select_from(VendorAnswer).where(
        VendorAnswer.outcome == REFUSED, VendorAnswer.resolved_at.is_(None))) or 0


@dataclass(frozen=True)
class Returned:
    notice_no: str
    atena_no: str
    reason_code: str
    reason: str  # the code's Japanese label
    returned_on: str  # YYYY-MM-DD, the vendor's date
    recorded_at: datetime


def returned(session: Session, transfer_id: str) -> list[Returned]:
    """The notices of a hand-over that came back, in notice order (ConfirmError: no such hand-over)."""
    if session.get(Handover, transfer_id) is None:
        raise ConfirmError(f"no hand-over of transfer {transfer_id}")
    rows = session.scalars(select(HandoverReturn).where(HandoverReturn.transfer_id == transfer_id)
                           .order_by(HandoverReturn.notice_no))
    return [Returned(r.notice_no, r.atena_no, r.reason_code, RETURN_REASONS.get(r.reason_code, r.reason_code),
                     r.returned_on.isoformat(), r.recorded_at) for r in rows]
