"""給付実績 (データ種別 111) into the store: judged by kyufu_quick or kyufu_check, applied by apply_kyufu."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from adapters.judgement import Verdict
from adapters.kokuho import kyufu_check, kyufu_quick
from adapters.kokuho.context import KokuhoContext, kokuho_context
from adapters.kokuho.kyufu_apply import apply_kyufu
from mappings.streams import Source
from queues.errors import TransientError


class KyufuLoader:
    context = staticmethod(kokuho_context)

    def check(self, read: Callable[[], Source], file: str, context: KokuhoContext) -> Verdict:
        # Nearly every file is valid: the fast judgement vouches for it, or the full one says why not.
        quick = kyufu_quick.judge(read(), file, context.ward, context.known)
        return quick if quick is not None else kyufu_check.check(read(), file, context.ward, context.known)

    def apply(self, session: Session, transfer_id: str, source: Source, file: str, context: KokuhoContext,
              first: Verdict) -> str:
        second = Verdict(file)
        counts = apply_kyufu(session, kyufu_check.groups(source, file, context.ward, context.known, second))
        if not second.ok or second.records != first.records:
            # The payload is authenticated and immutable: the two passes cannot differ unless the
            # store changed in between (a 資格 removed). Roll back; the next attempt judges again.
            raise TransientError(f"{file}: the second reading found {second.errors} problem(s) the first did not")
        kept = ", ".join(f"{k} {n}" for k, n in first.not_stored(kyufu_check.STORED).items())
        return (f"{file}: {first.records} records, {first.groups} 給付実績: {counts.inserted} applied, "
                f"{counts.skipped} already stored; {counts.meisai} 明細, {counts.shukei} 集計"
                + (f"; kept in the payload only: {kept}" if kept else ""))
