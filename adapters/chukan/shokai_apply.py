"""Applying a stored 情報照会 result (the ``chukan-shokai`` handler of the ``chukan.shokai`` route).

``queries poll`` stores a fetched result encrypted, moves its row to ``completed`` and queues an
event holding the shokai id (adapters/chukan/shokai_poll.py). Here, in the worker's transaction
(the inbox row, the effect and the custody entry commit together, then the delivery is acked):
the income of a 地方税関係情報 result goes into ``shotoku`` and the row moves ``completed`` →
``applied`` by a conditional update, so a result queued or delivered twice is applied once.

What cannot be applied:
- a row no longer ``completed`` — applied already, or purged by retention before a worker got to
  it: logged, acked; there is nothing to apply (a purged result is gone on purpose);
- a result of another 特定個人情報名 (an operator's ``ask``): nothing here reads it; the row stays
  ``completed`` with that reason, acked;
- a result that does not fit its layout: the row stays ``completed`` with the reason (written in
  its own transaction, in ``prepare``) and the message parks in ``chukan.shokai.dead`` with the
  same reason, so that once the layout file exists an operator replays it (``dead replay``);
- a stored copy that cannot be read (file missing or failing authentication): parked in ``.dead``
  naming the shokai and the error type. Retention drops a parked copy once its result is purged.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session, sessionmaker

from adapters.chukan.messages import QueryResult
from adapters.chukan.shokai_poll import FLOW
from adapters.chukan.shokai_result import Income, ResultError, income_of, unpack
from queues import handover_log
from queues.apply import Handler
from queues.crypto import IntegrityError, Keyring
from queues.custody import CustodyEvent
from queues.errors import PermanentError
from queues.message import Message, open_body
from queues.payloads import PayloadStore
from settings.chukan import ChukanConfig
from store.models import Shokai, Shotoku
from store.models.shokai import APPLIED, COMPLETED, PURGED

log = logging.getLogger(__name__)


class ShokaiHandler(Handler):
    def __init__(self, chukan: ChukanConfig, keyring: Keyring, payloads: PayloadStore, actor: str,
                 sessions: sessionmaker[Session], read_sessions: sessionmaker[Session]) -> None:
        self.chukan = chukan
        self.keyring = keyring
        self.payloads = payloads
        self.actor = actor
        self.sessions = sessions  # for the reason of a result that does not fit, outside the message's transaction
        self.read_sessions = read_sessions

    def prepare(self, message: Message) -> None:
        """A result that does not fit its layout is found here, outside the message's transaction:
        its reason must stay on the row while the message itself goes to ``.dead``."""
        shokai_id = self._shokai_id(message)
        with self.read_sessions() as s:
            row = s.get(Shokai, shokai_id)
            if row is None or row.state != COMPLETED or row.tm != self._income_tm():
                return  # decided in __call__
            ref, key = row.result_ref, row.idem_key
        try:
            income_of(self._read(shokai_id, ref, key))
        except ResultError as exc:
            with self.sessions.begin() as s:
                s.execute(update(Shokai).where(Shokai.id == shokai_id, Shokai.state == COMPLETED)
                          .values(reason=str(exc)[:1000]))
            raise PermanentError(f"shokai {shokai_id}: {exc}") from None

    def __call__(self, session: Session, message: Message) -> None:
        shokai_id = self._shokai_id(message)
        row = session.get(Shokai, shokai_id)
        if row is None:
            raise PermanentError(f"shokai {shokai_id} does not exist")
        if row.state == PURGED:  # retention came first: the result is gone on purpose
            log.warning("shokai %d: result purged before it was applied; nothing to apply (message %s)",
                        shokai_id, message.id)
            return
        if row.state != COMPLETED:
            log.info("shokai %d: %s, nothing to apply (message %s)", shokai_id, row.state, message.id)
            return
        if row.tm != self._income_tm():
            row.reason = f"kept, not applied: no reader for {row.tm}"
            return
        try:
            income = income_of(self._read(shokai_id, row.result_ref, row.idem_key))
        except ResultError as exc:  # a layout changed since prepare: park it, as prepare would
            raise PermanentError(f"shokai {shokai_id}: {exc}") from None
        apply_income(session, row, income, by=self.actor)

    def _shokai_id(self, message: Message) -> int:
        shokai_id = open_body(self.keyring, message).get("shokai_id")
        if not isinstance(shokai_id, int):
            raise PermanentError(f"message {message.id}: body has no shokai_id")
        return shokai_id

    def _income_tm(self) -> str:
        return self.chukan.queries["income"].tm

    def _read(self, shokai_id: int, ref: str | None, key: str) -> QueryResult:
        if ref is None:
            raise PermanentError(f"shokai {shokai_id}: completed but no stored result")
        try:
            return unpack(b"".join(self.payloads.read(ref, key, FLOW)))
        except (OSError, IntegrityError, ValueError, KeyError) as exc:
            raise PermanentError(f"shokai {shokai_id}: stored result unreadable ({type(exc).__name__})") from None


def apply_income(session: Session, row: Shokai, income: Income, *, by: str, now: datetime | None = None) -> bool:
    """The income into shotoku and the row ``completed`` → ``applied``, in ``session``; False when
    another transaction applied it first (the conditional move keeps the effect once)."""
    at = now or datetime.now(UTC)
    moved = cast(CursorResult[Any], session.execute(
        update(Shokai).where(Shokai.id == row.id, Shokai.state == COMPLETED)
        .values(state=APPLIED, applied_at=at, reason=None)))
    if moved.rowcount != 1:
        return False
    shotoku = session.scalar(select(Shotoku).where(Shotoku.nendo == row.nendo, Shotoku.atena_no == row.atena_no))
    if shotoku is None:
        shotoku = Shotoku(nendo=row.nendo, atena_no=row.atena_no)
        session.add(shotoku)
    shotoku.kazei_kubun, shotoku.gokei_shotoku = income.kazei_kubun, income.gokei_shotoku
    shotoku.nenkin_shunyu, shotoku.shokai_id = income.nenkin_shunyu, row.id
    shotoku.applied_at, shotoku.applied_by = at, by
    handover_log.record(session, CustodyEvent(
        transfer_id=row.idem_key, event="applied", actor=by, partner="core", record_count=1, basis=row.basis,
        detail=f"shokai {row.id} result -> shotoku 年度 {row.nendo}"))
    return True
