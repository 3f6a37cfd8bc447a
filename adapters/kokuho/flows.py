"""The 国保連's outbound batch flows (異動連絡 and its 訂正): record sources and file frames, by flow name."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from adapters.kokuho import ido_run, ido_teisei
from mappings import kokuho_frame
from mappings.charpolicy import CharPolicy
from mappings.layout import Layout
from queues.flow_source import Encode, FlowContext, FlowSource, one_file
from queues.outbound import Record


def _kokuho_encode(exchange: str) -> Callable[[FlowContext, Layout, Any], Encode]:
    """The whole 国保連 frame of ``exchange`` (control, data, end) for a run with ``file_no`` and
    ``control`` (ido_run.MonthRun, ido_teisei.TeiseiRun); ファイル管理番号 = the run's file_no."""
    def factory(hub: FlowContext, _layout: Layout, run: Any) -> Encode:
        files = itertools.count(run.file_no)

        def encode(records: Iterable[Record], policy: CharPolicy) -> Iterator[bytes]:
            return kokuho_frame.render(exchange, run.control(hub.config.hokensha_no), records,
                                       file_no=next(files), chars=policy)

        return encode

    return factory


def _kokuho_ido_after(hub: FlowContext, run: ido_run.MonthRun) -> dict[str, Any]:
    ido_run.record_sent(hub.sessions, hub.payloads, "kokuho.ido")
    return {"month": run.month, "teisei_pending": ido_run.keep_pending(hub.sessions, run)}


def _kokuho_teisei_after(hub: FlowContext, run: ido_teisei.TeiseiRun) -> dict[str, Any]:
    ido_teisei.record_sent(hub.sessions, hub.payloads)
    return {"month": run.month, "teisei_pending": ido_teisei.pending(hub.sessions)}


SOURCES: dict[str, FlowSource] = {
    "kokuho.ido": FlowSource(count=ido_run.count, records=ido_run.records, plan=one_file(ido_run.scope),
                             period="month", encode=_kokuho_encode(ido_run.EXCHANGE),
                             before=lambda b: ido_run.record_sent(b.sessions, b.payloads, "kokuho.ido"),
                             after=_kokuho_ido_after),
    # The 訂正 the kokuho.ido runs decided, in their own exchange (5321): run after kokuho.ido
    # for the same month (why a flow of its own: adapters/kokuho/ido_teisei.py).
    "kokuho.teisei": FlowSource(count=ido_teisei.count, records=ido_teisei.records,
                                plan=one_file(ido_teisei.scope),
                                period="month", encode=_kokuho_encode(ido_teisei.EXCHANGE),
                                before=lambda b: ido_teisei.record_sent(b.sessions, b.payloads),
                                after=_kokuho_teisei_after),
}
