"""Loading a received 給付実績 file into the store (the ``kokuho-load`` handler).

``prepare`` (outside the store's write lock) reads the decrypted payload once and judges the
whole file; ``__call__`` (in the store transaction, with the inbox row) then either quarantines
the file whole with its report — nothing applied — or reads it a second time and applies every
給付実績 with ``apply_kyufu``, which skips what is already stored: a file or a 給付実績 delivered
again changes nothing. The transfer becomes ``applied`` with its counts in the custody log.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from adapters.core.kyufu_apply import apply_kyufu
from adapters.core.models import Shikaku, Transfer
from adapters.kokuho import kyufu_check
from bridge.config import Config
from queues import quarantine
from queues.apply import Handler
from queues.crypto import Keyring
from queues.custody import CustodyEvent
from queues.errors import PermanentError, TransientError
from queues.handover_log import record
from queues.inbound import RECEIVED
from queues.message import Message, open_body
from queues.payloads import PayloadStore

APPLIED = "applied"
LAYOUT = ("kokuho/kyufu-jisseki", "1")


def known_hihokensha(session: Session) -> set[str]:
    return set(session.scalars(select(Shikaku.hihokensha_no)))


class KyufuLoadHandler(Handler):
    def __init__(self, config: Config, keyring: Keyring, payloads: PayloadStore, actor: str,
                 read_sessions: sessionmaker[Session]) -> None:
        self.ward = config.hokensha_no
        self.keyring = keyring
        self.payloads = payloads
        self.actor = actor
        self.read_sessions = read_sessions
        self._verdicts: dict[str, kyufu_check.Verdict] = {}  # message id -> what prepare found

    def _target(self, session: Session, message: Message) -> tuple[Transfer, str]:
        body = open_body(self.keyring, message)
        transfer = session.get(Transfer, str(body.get("transfer_id")))
        if transfer is None or transfer.direction != "in":
            raise PermanentError(f"message {message.id}: no inbound transfer {body.get('transfer_id')}")
        return transfer, str(body.get("file") or transfer.id)

    def prepare(self, message: Message) -> None:
        with self.read_sessions() as s:
            transfer, name = self._target(s, message)
            if transfer.state != RECEIVED:
                return
            known = known_hihokensha(s)
        self._verdicts[message.id] = kyufu_check.check(
            self.payloads.read(transfer.payload_ref, transfer.id, transfer.flow), name, self.ward, known)

    def __call__(self, session: Session, message: Message) -> None:
        transfer, name = self._target(session, message)
        verdict = self._verdicts.pop(message.id, None)
        if transfer.state != RECEIVED:  # applied, quarantined or rejected by an earlier delivery
            return
        known = known_hihokensha(session)
        chunks = self.payloads.read(transfer.payload_ref, transfer.id, transfer.flow)
        if verdict is None:  # prepared by another process (a retried batch): judge it here
            verdict = kyufu_check.check(chunks, name, self.ward, known)
            chunks = self.payloads.read(transfer.payload_ref, transfer.id, transfer.flow)
        transfer.layout, transfer.layout_version = LAYOUT
        transfer.record_count = verdict.records
        if not verdict.ok:
            quarantine.hold(session, transfer, name, verdict.problems, self.actor, total=verdict.errors)
            return
        second = kyufu_check.Verdict(name)
        counts = apply_kyufu(session, kyufu_check.groups(chunks, name, self.ward, known, second))
        if not second.ok or second.records != verdict.records:
            # The payload is authenticated and immutable: the two passes cannot differ unless the
            # store changed in between (a 資格 removed). Roll back; the next attempt judges again.
            raise TransientError(f"{name}: the second reading found {second.errors} problem(s) the first did not")
        now = datetime.now(UTC)
        transfer.state, transfer.updated_at, transfer.last_error = APPLIED, now, None
        kept = ", ".join(f"{k} {n}" for k, n in verdict.not_stored.items())
        detail = (f"{name}: {verdict.records} records, {verdict.claims} 給付実績: {counts.inserted} applied, "
                  f"{counts.skipped} already stored; {counts.meisai} 明細, {counts.shukei} 集計"
                  + (f"; kept in the payload only: {kept}" if kept else ""))
        record(session, CustodyEvent(transfer_id=transfer.id, event=APPLIED, actor=self.actor,
                                     partner=transfer.partner, record_count=verdict.records,
                                     sha256=transfer.sha256, detail=detail, dedup_key=f"{transfer.id}:applied"))
