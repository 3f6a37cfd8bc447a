"""The loader of inbound 年金特徴 files (Z11, Z13, Z14: the flow says which), for adapters/load.py."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from adapters.judgement import Verdict
from adapters.nenkin.judge import NenkinContext, nenkin_context, records
from adapters.nenkin.kekka_load import apply_kekka
from adapters.nenkin.taisho_load import apply_taisho
from mappings.streams import Source
from queues.errors import TransientError
from settings import Config
from store.models import Transfer


class NenkinLoader:
    def context(self, _session: Session, config: Config, transfer: Transfer) -> NenkinContext:
        return nenkin_context(config, transfer.flow)

    def check(self, read: Callable[[], Source], file: str, context: NenkinContext) -> Verdict:
        verdict = Verdict(file)
        for _ in records(read(), file, context, verdict):
            verdict.groups += 1
        return verdict

    def apply(self, session: Session, transfer_id: str, source: Source, file: str, context: NenkinContext,
              first: Verdict) -> str:
        second = Verdict(file)
        if context.kind == "Z11":
            counts = apply_taisho(session, transfer_id, source, file, context, second)
        else:
            counts = apply_kekka(session, transfer_id, source, file, context, second)
        if not second.ok or second.records != first.records:
            raise TransientError(f"{file}: the second reading found {second.errors} problem(s) the first did not")
        shown = ", ".join(f"{k} {n}" for k, n in sorted(counts.items()))
        return f"{file}: {first.records} {context.kind} records: {shown}"
