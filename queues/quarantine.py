"""Holding an inbound file that failed validation, and the operator's decision on it.

A loader that finds any error quarantines the whole file (nothing applied) with a report;
``release`` queues it for loading again (after the cause was fixed: a code table, a layout
version), ``reject`` refuses it for good and deletes the stored payload. Both need an operator
id and are recorded in the custody log.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from queues.crypto import Keyring
from queues.custody import CustodyEvent
from queues.handover_log import record
from queues.inbound import LOAD
from queues.outbox import enqueue
from queues.redact import mask
from store.models import Quarantine, Transfer
from store.models.quarantine import HELD, REJECTED, RELEASED

QUARANTINED = "quarantined"


class DecisionError(Exception):
    """The decision cannot be taken (unknown transfer, already decided)."""


def hold(session: Session, transfer: Transfer, file_name: str, problems: Sequence[dict[str, Any]],
         actor: str, total: int | None = None) -> None:
    """Quarantine ``transfer`` with its problems (each a dict: record, field, rule, value …);
    ``total`` is the number found when ``problems`` holds only the first of them."""
    errors = len(problems) if total is None else total
    report = "\n".join(mask(json.dumps(p, ensure_ascii=False, default=str)) for p in problems)
    existing = session.get(Quarantine, transfer.id)
    if existing is None:
        session.add(Quarantine(transfer_id=transfer.id, flow=transfer.flow, file_name=file_name,
                               held_at=datetime.now(UTC), errors=errors, report=report, state=HELD))
    else:  # loaded again after a release and still failing
        existing.errors, existing.report, existing.state = errors, report, HELD
        existing.decided_by = existing.decided_at = existing.reason = None
    transfer.state, transfer.updated_at = QUARANTINED, datetime.now(UTC)
    transfer.last_error = f"{errors} problem(s); see quarantine show {transfer.id}"
    record(session, CustodyEvent(transfer_id=transfer.id, event=QUARANTINED, actor=actor, partner=transfer.partner,
                                 sha256=transfer.sha256,
                                 detail=f"{file_name}: {errors} problem(s), nothing applied"))


def _held(session: Session, transfer_id: str) -> tuple[Quarantine, Transfer]:
    row = session.get(Quarantine, transfer_id)
    transfer = session.get(Transfer, transfer_id)
    if row is None or transfer is None:
        raise DecisionError(f"transfer {transfer_id} is not in quarantine")
    if row.state != HELD:
        raise DecisionError(f"transfer {transfer_id} was already {row.state} by {row.decided_by}")
    return row, transfer


def release(session: Session, keyring: Keyring, route: str, transfer_id: str, operator: str, reason: str) -> None:
    row, transfer = _held(session, transfer_id)
    now = datetime.now(UTC)
    row.state, row.decided_by, row.decided_at, row.reason = RELEASED, operator, now, reason
    transfer.state, transfer.updated_at = "received", now
    record(session, CustodyEvent(transfer_id=transfer_id, event="released", actor=f"operator:{operator}",
                                 partner=transfer.partner, detail=mask(f"quarantine released: {reason}")[:500]))
    enqueue(session, keyring, route, LOAD, transfer_id, {"transfer_id": transfer_id, "file": row.file_name},
            transfer_id=transfer_id)


def reject(session: Session, transfer_id: str, operator: str, reason: str) -> str:
    """Refuse the file for good; returns the payload reference to delete once this commits."""
    row, transfer = _held(session, transfer_id)
    now = datetime.now(UTC)
    row.state, row.decided_by, row.decided_at, row.reason = REJECTED, operator, now, reason
    transfer.state, transfer.updated_at = "rejected", now
    record(session, CustodyEvent(transfer_id=transfer_id, event="rejected", actor=f"operator:{operator}",
                                 partner=transfer.partner, detail=mask(f"quarantine rejected: {reason}")[:500]))
    return transfer.payload_ref
