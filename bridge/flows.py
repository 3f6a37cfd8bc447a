"""Batch flows by name: run one, from its partner adapter's record source to queued transfers.

A flow's partner, layout, route and part size are configuration (flows.toml); what is code is
only its record source (queues/flow_source.py), registered by the partner adapter that owns it
(adapters/<partner>/flows.py) and gathered here.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing
from datetime import date, datetime, timedelta, timezone
from typing import Any

from rich.progress import Progress

from adapters.kokuho import flows as kokuho_flows
from adapters.nenkin import flows as nenkin_flows
from adapters.vendor import flows as vendor_flows
from bridge.app import Bridge
from mappings import csv_codec
from mappings.charpolicy import CharPolicy, SubstitutionTable
from mappings.layout import Layout
from mappings.registry import LayoutRegistry
from queues.flow_source import Encode, FlowSource
from queues.outbound import Outcome, Record, Renderer, RenderResult, send_outbound

# Every batch flow's record source, from the partner adapter that owns it.
SOURCES: dict[str, FlowSource] = {**vendor_flows.SOURCES, **kokuho_flows.SOURCES, **nenkin_flows.SOURCES}


def csv_renderer(layout: Layout, table: SubstitutionTable, encode: Encode | None = None) -> Renderer:
    """Render with the configured substitutions; unmapped characters withhold their record.
    ``encode`` replaces the layout's plain CSV (e.g. a partner's file frame)."""
    def plain(records: Iterable[Record], policy: CharPolicy) -> Iterator[bytes]:
        return csv_codec.render(layout, records, chars=policy)

    def render(records: Any) -> tuple[Iterator[bytes], Callable[[], RenderResult]]:
        policy = CharPolicy(table, on_unmapped="withhold")

        def report() -> RenderResult:
            lines = [{"record": x.record_index, "key": x.record_key, "field": x.field, "char": x.char,
                      "codepoint": x.codepoint, "replacement": x.replacement} for x in policy.substitutions]
            lines += [{"record": x.record_index, "key": x.record_key, "field": x.field, "char": x.char,
                       "codepoint": x.codepoint, "replacement": None, "reason": x.reason} for x in policy.issues]
            return RenderResult(withheld=len(policy.withheld), substitutions=len(policy.substitutions),
                                problems=tuple(str(issue) for issue in policy.issues[:50]), characters=tuple(lines))

        return (encode or plain)(records, policy), report

    return render


def this_month() -> int:
    """The current 処理対象年月 (YYYYMM) in Japan."""
    now = datetime.now(timezone(timedelta(hours=9)))
    return now.year * 100 + now.month


def run_flow(bridge: Bridge, name: str, nendo: int | None = None, edition: int = 1, progress: bool = True,
             month: int | None = None) -> dict[str, Any]:
    """Run a batch flow for a 年度 (or, for a monthly flow, a 処理対象年月 YYYYMM, this month by
    default); ``edition`` > 1 issues the batch again (a re-print, a re-sent file)."""
    flow = bridge.config.flow(name)
    source = SOURCES.get(name)
    if source is None:
        raise KeyError(f"flow {name!r} has no record source (known: {', '.join(SOURCES)})")
    if source.period == "month":
        if nendo is not None:
            raise ValueError(f"flow {name} runs per 処理対象年月: give --month YYYYMM, not --nendo")
        period = month if month is not None else this_month()
    else:
        if month is not None:
            raise ValueError(f"flow {name} runs per 年度: give --nendo, not --month")
        period = nendo if nendo is not None else date.today().year - (1 if date.today().month < 4 else 0)
    partner, layout_name = flow.layout.split("/", 1)
    layout = LayoutRegistry().get(partner, layout_name, flow.layout_version)
    table = SubstitutionTable.load(flow.substitutions) if flow.substitutions else SubstitutionTable({})
    if source.before is not None:
        source.before(bridge)
    started = time.perf_counter()
    run, files = source.plan(bridge, name, period, edition)
    outcome = Outcome()
    with bridge.read_sessions() as session, Progress(disable=not progress, transient=True) as bar:
        for batch, scope in files:
            render = csv_renderer(layout, table, source.encode(bridge, layout, scope) if source.encode else None)
            with closing(source.open(session, scope)) as reading:
                task = bar.add_task(batch, total=reading.count)
                made = send_outbound(bridge.sessions, bridge.keyring, bridge.payloads, flow,
                                     batch, iter(reading), reading.count, render, bridge.actor,
                                     tick=functools.partial(bar.advance, task))
            outcome.transfers += made.transfers
            outcome.held += made.held
            outcome.records += made.records
            outcome.bytes += made.bytes
            outcome.resumed += made.resumed
    extra = source.after(bridge, run) if source.after is not None else {}
    bridge.flush_custody()
    published = bridge.publish_pending()
    when = {"month": period} if source.period == "month" else {"nendo": period}
    return {"flow": name, **when, "batch": " ".join(batch for batch, _scope in files), "records": outcome.records,
            "transfers": len(outcome.transfers), "resumed": outcome.resumed, "held": len(outcome.held),
            "bytes": outcome.bytes, "published": published,
            "seconds": round(time.perf_counter() - started, 2), "transfer_ids": outcome.transfers, **extra}
