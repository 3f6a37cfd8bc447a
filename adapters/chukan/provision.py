"""情報提供 (TKY): the provision requests the 中間サーバー holds for us — refused when not on the
permission list, held for a second operator when 自動応答不可, answered otherwise.

Each request is decided once (chukan_provision, keyed by 提供依頼番号: the list may repeat one)
and its answer or refusal gets an idempotency key when it is decided, before anything is sent.
A send that timed out, or a crash after the service applied it, is sent again with the same key:
the service answers that as a replay, so nothing is provided twice. The 提供等記録 of a send is
written only once the service has acknowledged it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from adapters.chukan import kiroku
from adapters.chukan.client import ChukanClient
from adapters.chukan.errors import ChukanError
from adapters.chukan.fukuhon import today
from adapters.chukan.kiroku import Entry
from adapters.chukan.messages import Item, ProvisionRequest
from adapters.chukan.permits import NotPermitted, Permits
from settings.chukan import ChukanConfig
from store.models import Atena
from store.models.chukan import (
    ANSWER,
    ANSWERED,
    APPROVED,
    HOLD,
    PROVISION,
    REFUSE,
    REFUSED,
    ChukanApproval,
    ChukanProvision,
)

# (session, 特定個人情報名コード, 統合宛名番号) -> (版番号, items): adapters.chukan.fukuhon.answer_items.
WORKER = "kaigo-bridge"  # the worker's user id (RequestedBy, records): never a deciding operator


class BuildItems(Protocol):
    """adapters.chukan.fukuhon.answer_items: (session, tm, 統合宛名番号, day) → (版, items)."""

    def __call__(self, session: Session, tm: str, togo_atena_no: str, *,
                 day: date | None = None) -> tuple[str, tuple[Item, ...]]: ...

_KEYS = uuid.UUID("6f1d2c1e-6b0a-5c7e-9a53-1b0c3f7e2a10")  # namespace of our send keys


class FourEyesMissing(Exception):
    """An answer of a 自動応答不可 特定個人情報名 without a second operator's approval: never sent."""


def send_key(request_id: str, action: str) -> str:
    """The idempotency key of the answer or refusal of one request: the same on every resend."""
    return str(uuid.uuid5(_KEYS, f"tky:{request_id}:{action}"))


@dataclass
class PollReport:
    listed: int = 0  # entries in the service's list, duplicates included
    new: int = 0  # requests seen for the first time
    held: int = 0
    sent: dict[str, int] = field(default_factory=lambda: {ANSWER: 0, REFUSE: 0})
    failed: list[str] = field(default_factory=list)  # "提供依頼番号: error" (codes, never values)


def poll(sessions: sessionmaker[Session], client: ChukanClient, permits: Permits, chukan: ChukanConfig, by: str,
         build_items: BuildItems) -> PollReport:
    """List the held provision requests, decide each new one, then send every decided, unsent one."""
    report = PollReport()
    listed = client.list_provisions(key=str(uuid.uuid4()), by=by)
    report.listed = len(listed)
    unique = list({r.id: r for r in listed}.values())
    with sessions.begin() as s:
        known = set(s.scalars(select(ChukanProvision.request_id).where(
            ChukanProvision.request_id.in_([r.id for r in unique]))))
        for request in unique:
            if request.id in known:
                continue
            report.new += 1
            if _decide(s, request, permits, chukan, by) == HOLD:
                report.held += 1
    send_pending(sessions, client, permits, chukan, by, build_items, report)
    return report


def _decide(s: Session, request: ProvisionRequest, permits: Permits, chukan: ChukanConfig, by: str) -> str:
    row = ChukanProvision(request_id=request.id, togo_atena_no=request.togo_atena_no,
                          atena_no=s.scalar(select(Atena.atena_no).where(Atena.togo_atena_no == request.togo_atena_no)),
                          querying_kikan=request.querying_kikan, tetsuzuki=request.tetsuzuki, tm=request.tm,
                          requested_at=_utc(request.requested_at), seen_at=datetime.now(UTC))
    try:
        permission = permits.provision(request.tetsuzuki, request.tm, request.querying_kikan)
    except NotPermitted as refused:
        # Refused before anything is provided; the refusal's record is written when it is sent.
        row.decision, row.reason = REFUSE, str(refused)
        fix_send(row, REFUSE, by)
        s.add(row)
        return REFUSE
    row.jimu, row.basis = permission.jimu, permission.basis
    if permits.auto_answer(request.tm):
        row.decision = ANSWER
        fix_send(row, ANSWER, by)
        s.add(row)
        return ANSWER
    row.decision = HOLD
    s.add(row)
    s.flush()
    s.add(ChukanApproval(request_id=request.id, held_by=by, held_at=datetime.now(UTC)))
    kiroku.record(s, _entry(row, "held", by, s), records_years=chukan.records_years)
    return HOLD


def fix_send(row: ChukanProvision, action: str, by: str) -> None:
    """The send decided: its key, and what makes its body — who sends it, the day of its data —
    fixed with it, so every resend is the same request (a replay at the 中間サーバー)."""
    row.send_key, row.send_action = send_key(row.request_id, action), action
    row.send_by, row.send_on = by, today()


def _utc(at: datetime) -> datetime:
    """The wire's 照会依頼日時 carries no zone; the bridge sends UTC (soap.stamp17 of an aware UTC
    time), and reads the service's the same way."""
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at


def _entry(row: ChukanProvision, outcome: str, by: str, s: Session, reason: str | None = None) -> Entry:
    return Entry(direction=PROVISION, outcome=outcome, counterpart_kikan=row.querying_kikan,
                 tetsuzuki=row.tetsuzuki, tm=row.tm, by=by, togo_atena_no=row.togo_atena_no,
                 atena_no=row.atena_no, jimu=row.jimu, basis=row.basis, reason=reason or row.reason,
                 reference=row.request_id)


def send_pending(sessions: sessionmaker[Session], client: ChukanClient, permits: Permits, chukan: ChukanConfig,
                 by: str, build_items: BuildItems, report: PollReport | None = None,
                 ids: Sequence[str] | None = None) -> PollReport:
    """Send every decided, unsent answer or refusal (after a timeout or a crash: with its key again),
    or those of ``ids``."""
    report = report or PollReport()
    if ids is None:
        with sessions() as s:
            ids = list(s.scalars(select(ChukanProvision.request_id).where(
                ChukanProvision.send_key.is_not(None), ChukanProvision.sent_at.is_(None))
                .order_by(ChukanProvision.seen_at, ChukanProvision.request_id)))
    for request_id in ids:
        try:
            action = send_one(sessions, client, permits, chukan, request_id, by, build_items)
        except (ChukanError, FourEyesMissing, LookupError, ValueError) as failed:
            report.failed.append(f"{request_id}: {failed}")
        else:
            if action is not None:
                report.sent[action] += 1
    return report


def send_one(sessions: sessionmaker[Session], client: ChukanClient, permits: Permits, chukan: ChukanConfig,
             request_id: str, by: str, build_items: BuildItems) -> str | None:
    """Send one decided request; None when it was sent already (by another run)."""
    with sessions() as s:
        row = s.get(ChukanProvision, request_id)
        if row is None:
            raise LookupError(f"provision request {request_id}: not seen by approvals fetch")
        if row.sent_at is not None or row.send_key is None or row.send_action is None:
            return None
        action, key, sender = row.send_action, row.send_key, row.send_by or by
        approval = s.scalar(select(ChukanApproval).where(ChukanApproval.request_id == request_id))
        answer: tuple[str, tuple[Item, ...]] | None = None
        if action == ANSWER:
            _check_four_eyes(row, approval, permits)
            # Built now, from the store as it is, and never kept: values live only in this call.
            answer = build_items(s, row.tm, row.togo_atena_no, day=row.send_on)
    if answer is not None:
        client.answer_provision(request_id, answer[0], answer[1], key=key, by=sender)
    else:
        client.refuse_provision(request_id, chukan.refusal_reason, key=key, by=sender)
    with sessions.begin() as s:
        row = s.get(ChukanProvision, request_id)
        assert row is not None
        if row.sent_at is not None:
            return None  # another run sent it too (the same key: one provision) and recorded it
        row.sent_at = datetime.now(UTC)
        approval = s.scalar(select(ChukanApproval).where(ChukanApproval.request_id == request_id))
        if approval is not None:
            approval.state = ANSWERED if action == ANSWER else REFUSED
        outcome = "answered" if action == ANSWER else "refused"
        reason = None if approval is None or action == ANSWER else f"rejected by {approval.decided_by}: " \
            f"{approval.reason}"
        kiroku.record(s, _entry(row, outcome, sender, s, reason), records_years=chukan.records_years)
    return action


def _check_four_eyes(row: ChukanProvision, approval: ChukanApproval | None, permits: Permits) -> None:
    """The last gate before a value leaves: a 自動応答不可 answer needs an approval decided by
    someone other than whoever held it, whatever the rows say about how it got here."""
    if permits.auto_answer(row.tm) and row.decision == ANSWER:
        return
    if (approval is None or approval.state != APPROVED or approval.decided_by is None
            or approval.decided_by == approval.held_by):
        raise FourEyesMissing(f"provision request {row.request_id} ({row.tm}, 自動応答不可): no approval by a "
                              "second operator — not sent")
