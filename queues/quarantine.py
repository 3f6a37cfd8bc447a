"""Holding an inbound file that failed validation, and the operator's decision on it.

A loader that finds any error quarantines the whole file (nothing applied) with a report;
``release`` queues it for loading again (after the cause was fixed: a code table, a layout
version), ``reject`` refuses it for good and deletes the stored payload. Both need an operator
id and are recorded in the custody log.

A partner's answer that is refused (bad signature, hashes that do not hold) is kept for the
operator by ``AnswerQuarantine``: encrypted like a payload (queues/payloads.py, same envelope
and keyring) under ``{var}/quarantine``, never in clear on disk, and deleted with a custody entry
once older than the retention (bridge.toml ``quarantine.retention_days``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from queues.crypto import Keyring
from queues.custody import CustodyEvent
from queues.handover_log import record
from queues.inbound import LOAD
from queues.outbox import enqueue
from queues.payloads import TRANSFER_ID_RE, PayloadStore
from queues.redact import mask
from settings import Config
from store.models import CustodyPending, Quarantine, Transfer
from store.models.quarantine import HELD, REJECTED, RELEASED

QUARANTINED = "quarantined"
EXPIRED = "quarantine_expired"
_ANSWERS = "quarantine"  # the "flow" an answer copy is sealed under (bound into every chunk)
_STAMP = "%Y%m%dT%H%M%S"


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


@dataclass(frozen=True, slots=True)
class HeldAnswer:
    id: str  # <UTC stamp>-<partner>-<answer name>-<sha256 prefix>: ids and names the config/pattern allow
    held_at: datetime
    size: int  # of the encrypted copy


class AnswerQuarantine:
    """Refused partner answers, kept encrypted for the operator until their retention ends."""

    def __init__(self, root: Path, store: PayloadStore) -> None:
        self.root = root
        self.store = store

    @classmethod
    def of(cls, config: Config, payloads: PayloadStore) -> AnswerQuarantine:
        """The installation's quarantine folder, sealed with the payload store's keyring."""
        root = config.var / "quarantine"
        return cls(root, PayloadStore(root, payloads.keyring, payloads.chunk_size))

    def keep(self, partner: str, name: str, data: bytes, now: datetime | None = None) -> str:
        """Store ``data`` encrypted; returns its id. The same answer kept twice in one second is one copy."""
        stamp = (now or datetime.now(UTC)).strftime(_STAMP)
        digest = hashlib.sha256(data).hexdigest()[:12]
        held_id = f"{stamp}-{partner}-{name}-{digest}"
        if not TRANSFER_ID_RE.fullmatch(held_id):  # a name the payload store cannot hold: its hash
            held_id = f"{stamp}-{hashlib.sha256(f'{partner}/{name}'.encode()).hexdigest()[:24]}-{digest}"
        with self.store.open_writer(held_id, _ANSWERS) as writer:
            writer.write(data)
        return held_id

    def read(self, held_id: str) -> bytes:
        """The answer in clear (raises KeyError for an unknown id)."""
        ref = self._ref(held_id)
        if not self.store.exists(ref):
            raise KeyError(held_id)
        return b"".join(self.store.read(ref, held_id, _ANSWERS))

    def held(self) -> list[HeldAnswer]:
        out = []
        for path in sorted(self.root.glob("??/*.kbp")):
            held_id = path.name[: -len(".kbp")]
            try:
                held_at = datetime.strptime(held_id[:15], _STAMP).replace(tzinfo=UTC)
            except ValueError:
                continue  # not ours
            out.append(HeldAnswer(held_id, held_at, path.stat().st_size))
        return out

    def expire(self, sessions: sessionmaker[Session], days: int, actor: str,
               now: datetime | None = None) -> list[str]:
        """Delete the copies held longer than ``days``, each recorded in custody first (so a
        deletion is never unrecorded; a crash in between records it once, by its dedup key)."""
        cutoff = (now or datetime.now(UTC)) - timedelta(days=days)
        gone = []
        for answer in self.held():
            if answer.held_at > cutoff:
                continue
            key = f"quarantine:{answer.id}:expired"
            with sessions.begin() as s:
                if s.get(CustodyPending, key) is None:
                    record(s, CustodyEvent(transfer_id=None, event=EXPIRED, actor=actor, dedup_key=key,
                                           detail=f"refused answer copy {answer.id} deleted after {days} days"[:500]))
            self.store.delete(self._ref(answer.id))
            gone.append(answer.id)
        return gone

    def seal_clear_copies(self) -> list[str]:
        """Answers an earlier version kept in clear (files right in the folder), kept encrypted
        instead under their original time, the clear file deleted; returns their new ids."""
        sealed = []
        for path in sorted(self.root.glob("*")):
            if not path.is_file() or path.is_symlink() or path.name.startswith("."):
                continue
            try:
                held_at = datetime.strptime(path.name[:15], _STAMP).replace(tzinfo=UTC)
            except ValueError:
                held_at = datetime.fromtimestamp(path.stat().st_mtime, UTC)
            sealed.append(self.keep("clear-copy", path.name, path.read_bytes(), now=held_at))
            path.unlink()
        return sealed

    def _ref(self, held_id: str) -> str:
        try:
            return self.store.ref_for(held_id)
        except ValueError:
            raise KeyError(held_id) from None
