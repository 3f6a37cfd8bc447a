"""自動応答不可: a held provision is answered only after a second operator approves it (four eyes).

approve/reject decide, record and fix the idempotency key of what will be sent, in one
transaction; provision.send_one sends it. Whoever held the request (ran the fetch) may not decide
it, and the table's CHECK refuses it too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from adapters.chukan import kiroku
from adapters.chukan.kiroku import Entry
from adapters.chukan.provision import WORKER, fix_send
from store.models.chukan import (
    ANSWER,
    APPROVED,
    HELD,
    PROVISION,
    REFUSE,
    REJECTED,
    ChukanApproval,
    ChukanProvision,
)


class ApprovalError(Exception):
    """A decision that cannot be taken (unknown id, already decided, no reason)."""


class FourEyesError(ApprovalError):
    """The operator deciding is the one who held the request."""


@dataclass(frozen=True)
class Held:
    """An approval with the request it is about (codes only: never an item value)."""

    approval: ChukanApproval
    request: ChukanProvision


def listing(session: Session, *, everything: bool = False) -> list[Held]:
    """The approvals still to decide or send (``everything``: all of them), oldest first."""
    query = select(ChukanApproval, ChukanProvision).join(
        ChukanProvision, ChukanProvision.request_id == ChukanApproval.request_id).order_by(ChukanApproval.id)
    if not everything:
        query = query.where(ChukanApproval.state.in_((HELD, APPROVED, REJECTED)))
    return [Held(a, p) for a, p in session.execute(query)]


def get(session: Session, approval_id: int) -> Held:
    approval = session.get(ChukanApproval, approval_id)
    if approval is None:
        raise ApprovalError(f"approval {approval_id}: no such approval (kaigo-bridge approvals list --all)")
    request = session.get(ChukanProvision, approval.request_id)
    assert request is not None  # a foreign key
    return Held(approval, request)


def approve(session: Session, approval_id: int, by: str, reason: str | None = None, *,
            records_years: int) -> Held:
    """Approve a held provision: it will be answered (with items built when it is sent)."""
    return _decide(session, approval_id, by, reason, records_years, APPROVED)


def reject(session: Session, approval_id: int, by: str, reason: str, *, records_years: int) -> Held:
    """Reject a held provision: it will be refused. A rejection must say why."""
    if not reason or not reason.strip():
        raise ApprovalError(f"approval {approval_id}: a rejection needs a reason (--reason)")
    return _decide(session, approval_id, by, reason, records_years, REJECTED)


def _decide(session: Session, approval_id: int, by: str, reason: str | None, records_years: int,
            state: str) -> Held:
    held = get(session, approval_id)
    approval, request = held.approval, held.request
    if approval.state != HELD:
        raise ApprovalError(f"approval {approval_id} (provision request {request.request_id}): already "
                            f"{approval.state} by {approval.decided_by}; decided once only")
    if not by or not by.strip():
        raise ApprovalError(f"approval {approval_id}: name the deciding operator (--by)")
    if by == WORKER:
        raise ApprovalError(f"approval {approval_id}: {WORKER} is the worker, not an operator; a person decides")
    if by == approval.held_by:
        raise FourEyesError(f"approval {approval_id}: {by} held this request and may not decide it; "
                            "another operator must approve or reject it (four eyes)")
    action = ANSWER if state == APPROVED else REFUSE
    # Decided once, also when two operators decide at the same moment (PostgreSQL runs both
    # transactions side by side): the move from held is conditional.
    moved = cast(CursorResult[Any], session.execute(
        update(ChukanApproval).where(ChukanApproval.id == approval.id, ChukanApproval.state == HELD)
        .values(state=state, decided_by=by, decided_at=datetime.now(UTC), reason=reason)))
    if moved.rowcount != 1:
        raise ApprovalError(f"approval {approval_id} (provision request {request.request_id}): decided by "
                            "someone else just now; decided once only")
    session.refresh(approval)
    # The key is fixed now, with the decision: a resend after a timeout or crash is a replay.
    fix_send(request, action, by)
    kiroku.record(session, Entry(
        direction=PROVISION, outcome=state, counterpart_kikan=request.querying_kikan, tetsuzuki=request.tetsuzuki,
        tm=request.tm, by=by, togo_atena_no=request.togo_atena_no, atena_no=request.atena_no, jimu=request.jimu,
        basis=request.basis, reason=reason, reference=request.request_id), records_years=records_years)
    return held
