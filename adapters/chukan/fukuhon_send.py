"""Sending a 副本 batch (the ``chukan-dbm`` handler of the ``chukan.fukuhon`` route).

Like the ``deliver`` handler (adapters/delivery.py) for files: ``prepare`` reads the transfer's
payload from the encrypted store and makes the DBM call (Register/Replace/DeleteReplica) outside
the store's write lock, with the transfer id as the idempotency key — a resend after a dropped
answer or a crash is a replay the service recognises, so the effect happens once. ``__call__``
then records it in one transaction: custody ``sent`` and ``receipt`` (the Ack's count),
fukuhon_state for each replica, the transfer ``receipted``. Nothing of fukuhon_state changes
before the Ack.

- ChukanUnavailable (no answer after the client's short retries) → TransientError: the queue
  retries later with the same key.
- ChukanFault → the transfer is marked ``rejected`` with the fault code and the message parks in
  ``chukan.fukuhon.dead`` with the code as its reason (PermanentError); a replay from there tries
  again with the same key.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import Table, bindparam, delete, func, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from adapters.chukan import fukuhon_plan as fp
from adapters.chukan.client import ChukanClient
from adapters.chukan.errors import ChukanError, ChukanFault, ChukanUnavailable
from adapters.chukan.fukuhon_refresh import PARTNER, RECEIPTED, REJECTED
from adapters.chukan.messages import Ack
from queues.apply import Handler
from queues.crypto import Keyring
from queues.custody import CustodyEvent
from queues.errors import PermanentError, TransientError
from queues.handover_log import record
from queues.message import Message, open_body
from queues.payloads import PayloadStore
from store.models import FukuhonState, Transfer

OPERATOR = re.compile(r"(?:operator:)?([0-9A-Za-z_.\-]{1,20})")
CHUNK = 500


class FukuhonHandler(Handler):
    def __init__(self, keyring: Keyring, payloads: PayloadStore, actor: str, sessions: sessionmaker[Session],
                 read_sessions: sessionmaker[Session], client: Callable[[], ChukanClient]) -> None:
        self.keyring = keyring
        self.payloads = payloads
        self.actor = actor
        self.sessions = sessions  # for marking a refused transfer, outside the message's transaction
        self.read_sessions = read_sessions
        self.client = client  # built on first use
        self._acked: dict[str, tuple[Ack, list[fp.Change]]] = {}

    def prepare(self, message: Message) -> None:
        body = open_body(self.keyring, message)
        with self.read_sessions() as s:
            transfer = _transfer(s, body["transfer_id"])
        if transfer.state == RECEIPTED:
            return
        if transfer.state == REJECTED:
            with self.read_sessions() as s:
                later = s.scalar(select(func.count()).select_from(Transfer).where(
                    Transfer.flow == transfer.flow, Transfer.created_at > transfer.created_at))
            if later:  # a later refresh looked at its persons again: sending it now would put older data back
                raise PermanentError(f"transfer {transfer.id}: refused earlier and superseded by a later refresh; "
                                     "drop it (`kaigo-bridge dead drop`)")
        changes = fp.parse(self.payloads.read(transfer.payload_ref, transfer.id, transfer.flow))
        if not changes:
            raise PermanentError(f"transfer {transfer.id}: empty payload")
        op = changes[0].op
        match = OPERATOR.fullmatch(str(body.get("started_by", "")))
        if match is None:  # never replaced by another id: the 中間サーバー records who asked
            raise PermanentError(f"transfer {transfer.id}: started_by is not an operator id "
                                 "(1-20 of A-Z a-z 0-9 _ . -)")
        by = match[1]
        try:
            client = self.client()
            if op == fp.DELETE:
                ack = client.delete([c.key for c in changes], key=transfer.id, by=by)
            elif op == fp.REGISTER:
                ack = client.register([c.replica() for c in changes], key=transfer.id, by=by)
            else:
                ack = client.replace([c.replica() for c in changes], key=transfer.id, by=by)
        except ChukanUnavailable as exc:
            raise TransientError(str(exc)) from None
        except ChukanFault as exc:
            self._refused(transfer.id, op, exc.code)
            raise PermanentError(f"中間サーバー {op}: fault {exc.code} (transfer {transfer.id})") from None
        except (ChukanError, ValueError) as exc:  # an answer or a request outside chukan.wsdl
            raise PermanentError(f"中間サーバー {op}: {type(exc).__name__} (transfer {transfer.id})") from None
        if ack.count != len(changes):
            raise PermanentError(f"transfer {transfer.id}: the service acknowledged {ack.count} of "
                                 f"{len(changes)} 副本")
        self._acked[message.id] = (ack, changes)

    def _refused(self, transfer_id: str, op: str, code: str) -> None:
        with self.sessions.begin() as s:
            transfer = _transfer(s, transfer_id)
            transfer.state, transfer.last_error = REJECTED, f"{op}: fault {code}"
            transfer.updated_at = datetime.now(UTC)
            record(s, CustodyEvent(transfer_id=transfer_id, event="rejected", actor=self.actor, partner=PARTNER,
                                   record_count=transfer.record_count, detail=f"{op}: fault {code}"))

    def __call__(self, session: Session, message: Message) -> None:
        transfer = _transfer(session, open_body(self.keyring, message)["transfer_id"])
        got = self._acked.pop(message.id, None)
        if transfer.state == RECEIPTED:
            return
        if got is None:
            raise TransientError(f"transfer {transfer.id}: not yet acknowledged; sending again")
        ack, changes = got
        now = datetime.now(UTC)
        _apply(session, changes, transfer.id, now)
        transfer.state, transfer.last_error, transfer.updated_at = RECEIPTED, None, now
        op = changes[0].op
        base = {"transfer_id": transfer.id, "actor": self.actor, "partner": PARTNER, "sha256": transfer.sha256}
        record(session, CustodyEvent(event="sent", record_count=len(changes), key_id=transfer.key_id,
                                     detail=f"DBM {op}, 版 {transfer.layout_version}", dedup_key=f"{transfer.id}:sent",
                                     **base))
        record(session, CustodyEvent(event="receipt", record_count=ack.count,
                                     detail=f"Ack {ack.count}" + (" (replayed)" if ack.replayed else ""),
                                     dedup_key=f"{transfer.id}:receipt", **base))


def _transfer(session: Session, transfer_id: str) -> Transfer:
    transfer = session.get(Transfer, transfer_id)
    if transfer is None:
        raise PermanentError(f"transfer {transfer_id} does not exist")
    return transfer


def _apply(session: Session, changes: list[fp.Change], transfer_id: str, now: datetime) -> None:
    """fukuhon_state as the Ack made it: a register/replace sets the slot; a delete removes it only
    if it still holds the deleted 版 (a new 版's register may have been acknowledged first).
    Core statements, not ORM objects: a batch is hundreds of rows."""
    togos = sorted({c.key.togo_atena_no for c in changes})
    held: set[tuple[str, str, str]] = set()
    for i in range(0, len(togos), CHUNK):
        query = (select(FukuhonState.togo_atena_no, FukuhonState.tm, FukuhonState.dataset)
                 .where(FukuhonState.togo_atena_no.in_(togos[i:i + CHUNK])))
        held.update((t, tm, ds) for t, tm, ds in session.execute(query))
    new: list[dict[str, object]] = []
    changed: list[dict[str, object]] = []
    for c in changes:
        k = c.key
        if c.op == fp.DELETE:
            if c.slot in held:
                session.execute(delete(FukuhonState).where(
                    FukuhonState.togo_atena_no == k.togo_atena_no, FukuhonState.tm == k.tm,
                    FukuhonState.dataset == k.dataset, FukuhonState.version == k.version))
            continue
        row: dict[str, object] = {"togo_atena_no": k.togo_atena_no, "tm": k.tm, "dataset": k.dataset,
                                  "version": k.version, "sha256": c.sha256, "transfer_id": transfer_id,
                                  "registered_at": now}
        (changed if c.slot in held else new).append(row)
    # Core statements on the table, not the ORM's bulk paths (which build per-row state first)
    table = FukuhonState.__table__
    assert isinstance(table, Table)
    if new:
        session.execute(insert(table), new)
    if changed:
        session.execute(update(table).where(table.c.togo_atena_no == bindparam("pk_togo"),
                                            table.c.tm == bindparam("pk_tm"),
                                            table.c.dataset == bindparam("pk_dataset")),
                        [{**row, "pk_togo": row["togo_atena_no"], "pk_tm": row["tm"], "pk_dataset": row["dataset"]}
                         for row in changed])
