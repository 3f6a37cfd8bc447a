"""Loading a received partner file into the store (the ``load`` handler).

The flow's layout names the loader (LOADERS), which says what it needs from the store and the
configuration (``context``), judges the file and applies it. ``prepare`` (outside the store's
write lock) reads
the decrypted payload once and judges the whole file; ``__call__`` (in the store transaction,
with the inbox row) then either quarantines the file whole with its report — nothing applied —
or has the loader read it a second time and apply it, idempotently: a file or a record
delivered again changes nothing. The transfer becomes ``applied``, its counts in the custody log.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy.orm import Session, sessionmaker

from adapters.judgement import Verdict
from adapters.kokuho.kyufu_load import KyufuLoader
from adapters.kokuho.totsugo_load import TotsugoLoader
from adapters.nenkin.loader import NenkinLoader
from mappings.streams import Source
from queues import quarantine
from queues.apply import Handler
from queues.crypto import Keyring
from queues.custody import CustodyEvent
from queues.errors import PermanentError
from queues.handover_log import record
from queues.inbound import RECEIVED
from queues.message import Message, open_body
from queues.payloads import PayloadStore
from settings import Config
from store.models import Transfer

APPLIED = "applied"


Reader = Callable[[], Source]  # the file from its start, each time it is called


class Loader(Protocol):
    def context(self, session: Session, config: Config, transfer: Transfer) -> Any:
        """What judging and applying the file need from the store and the configuration (the
        ward's numbers, who it insures …), read once per judgement."""
        ...

    def check(self, read: Reader, file: str, context: Any) -> Verdict:
        """The whole file judged, nothing written. ``read`` may be called more than once (a fast
        judgement that is not sure hands the file to the full one)."""
        ...

    def apply(self, session: Session, transfer_id: str, source: Source, file: str, context: Any,
              first: Verdict) -> str:
        """Apply a file ``check`` passed; returns the custody detail. TransientError if the second
        reading does not find what the first did (the store changed between them)."""
        ...


LOADERS: dict[str, Loader] = {
    "kokuho/kyufu-jisseki": KyufuLoader(),
    "kokuho/jukyusha-totsugo-kekka": TotsugoLoader(),
    "nenkin/tokucho": NenkinLoader(),
}


class LoadHandler(Handler):
    def __init__(self, config: Config, keyring: Keyring, payloads: PayloadStore, actor: str,
                 read_sessions: sessionmaker[Session]) -> None:
        self.config = config
        self.keyring = keyring
        self.payloads = payloads
        self.actor = actor
        self.read_sessions = read_sessions
        self._verdicts: dict[str, Verdict] = {}  # message id -> what prepare found

    def _target(self, session: Session, message: Message) -> tuple[Transfer, str, Loader]:
        body = open_body(self.keyring, message)
        transfer = session.get(Transfer, str(body.get("transfer_id")))
        if transfer is None or transfer.direction != "in":
            raise PermanentError(f"message {message.id}: no inbound transfer {body.get('transfer_id')}")
        layout = self.config.flow(transfer.flow).layout
        loader = LOADERS.get(layout)
        if loader is None:
            raise PermanentError(f"flow {transfer.flow}: no loader for layout {layout} (known: {', '.join(LOADERS)})")
        return transfer, str(body.get("file") or transfer.id), loader

    def _reader(self, transfer: Transfer) -> Reader:
        ref, transfer_id, flow = transfer.payload_ref, transfer.id, transfer.flow
        return lambda: self.payloads.read(ref, transfer_id, flow)  # decrypted as it is read

    def prepare(self, message: Message) -> None:
        with self.read_sessions() as s:
            transfer, name, loader = self._target(s, message)
            if transfer.state != RECEIVED:
                return
            context = loader.context(s, self.config, transfer)
        self._verdicts[message.id] = loader.check(self._reader(transfer), name, context)

    def __call__(self, session: Session, message: Message) -> None:
        transfer, name, loader = self._target(session, message)
        verdict = self._verdicts.pop(message.id, None)
        if transfer.state != RECEIVED:  # applied, quarantined or rejected by an earlier delivery
            return
        context = loader.context(session, self.config, transfer)
        if verdict is None:  # prepared by another process (a retried batch): judge it here
            verdict = loader.check(self._reader(transfer), name, context)
        layout = self.config.flow(transfer.flow)
        transfer.layout, transfer.layout_version = layout.layout, str(layout.layout_version)
        transfer.record_count = verdict.records
        if not verdict.ok:
            quarantine.hold(session, transfer, name, verdict.problems, self.actor, total=verdict.errors)
            return
        detail = loader.apply(session, transfer.id, self._reader(transfer)(), name, context, verdict)
        now = datetime.now(UTC)
        transfer.state, transfer.updated_at, transfer.last_error = APPLIED, now, None
        record(session, CustodyEvent(transfer_id=transfer.id, event=APPLIED, actor=self.actor,
                                     partner=transfer.partner, record_count=verdict.records,
                                     sha256=transfer.sha256, detail=detail, dedup_key=f"{transfer.id}:applied"))
