"""Batch flows by name: where their records come from and how they are rendered.

A flow's partner, layout, route and part size are configuration (flows.toml); what is code is
only the query that yields its records, registered here under the flow's name.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from rich.progress import Progress
from sqlalchemy.orm import Session

from adapters.vendor import hihokenshasho, hokenryo, nintei_kekka
from bridge.app import Bridge
from mappings import csv_codec
from mappings.charpolicy import CharPolicy, SubstitutionTable
from mappings.layout import Layout
from mappings.registry import LayoutRegistry
from queues.outbound import Record, Renderer, RenderResult, send_outbound


def batch_key(name: str, nendo: int, edition: int) -> str:
    return f"{name}/{nendo}" + (f"#{edition}" if edition > 1 else "")


def per_nendo(_session: Session, name: str, nendo: int, edition: int) -> tuple[str, int]:
    """The default scope of a run: the 年度 itself, keyed "flow/2026" ("#2" for an edition)."""
    return batch_key(name, nendo, edition), nendo


@dataclass(frozen=True)
class FlowSource:
    count: Callable[[Session, Any], int]
    records: Callable[[Session, Any], Iterator[dict[str, Any]]]
    # What one run covers: (batch key, the scope count/records take), from (session, flow, nendo,
    # edition). Per 年度 by default; a flow issuing what changed since its last run derives its
    # window from the batches already made (adapters/vendor/hihokenshasho.py).
    scope: Callable[[Session, str, int, int], tuple[str, Any]] = per_nendo


SOURCES: dict[str, FlowSource] = {
    "print.hokenryo": FlowSource(count=hokenryo.count,
                                 records=lambda s, nendo: hokenryo.notices(s, nendo, date.today())),
    "print.ninteikekka": FlowSource(count=nintei_kekka.count,
                                    records=lambda s, nendo: nintei_kekka.notices(s, nendo, date.today())),
    "print.hihokenshasho": FlowSource(count=hihokenshasho.count, scope=hihokenshasho.scope,
                                      records=lambda s, window: hihokenshasho.cards(s, window, date.today())),
}


def csv_renderer(layout: Layout, table: SubstitutionTable) -> Renderer:
    """Render with the configured substitutions; unmapped characters withhold their record."""
    def render(records: Any) -> tuple[Iterator[bytes], Callable[[], RenderResult]]:
        policy = CharPolicy(table, on_unmapped="withhold")

        def report() -> RenderResult:
            lines = [{"record": x.record_index, "key": x.record_key, "field": x.field, "char": x.char,
                      "codepoint": x.codepoint, "replacement": x.replacement} for x in policy.substitutions]
            lines += [{"record": x.record_index, "key": x.record_key, "field": x.field, "char": x.char,
                       "codepoint": x.codepoint, "replacement": None, "reason": x.reason} for x in policy.issues]
            return RenderResult(withheld=len(policy.withheld), substitutions=len(policy.substitutions),
                                problems=tuple(str(issue) for issue in policy.issues[:50]), characters=tuple(lines))

        return csv_codec.render(layout, records, chars=policy), report

    return render


def run_flow(bridge: Bridge, name: str, nendo: int, edition: int = 1, progress: bool = True) -> dict[str, Any]:
    """Run a batch flow for a 年度; ``edition`` > 1 issues the batch again (a re-print)."""
    flow = bridge.config.flow(name)
    source = SOURCES.get(name)
    if source is None:
        raise KeyError(f"flow {name!r} has no record source (known: {', '.join(SOURCES)})")
    partner, layout_name = flow.layout.split("/", 1)
    layout = LayoutRegistry().get(partner, layout_name, flow.layout_version)
    table = SubstitutionTable.load(flow.substitutions) if flow.substitutions else SubstitutionTable({})
    render = csv_renderer(layout, table)
    started = time.perf_counter()
    with bridge.read_sessions() as session, Progress(disable=not progress, transient=True) as bar:
        batch, scope = source.scope(session, name, nendo, edition)
        total = source.count(session, scope)
        task = bar.add_task(batch, total=total)
        records: Iterator[Record] = source.records(session, scope)
        outcome = send_outbound(bridge.sessions, bridge.keyring, bridge.payloads, flow,
                                batch, records, total, render, bridge.actor,
                                tick=lambda n: bar.advance(task, n))
    bridge.flush_custody()
    published = bridge.publish_pending()
    return {"flow": name, "nendo": nendo, "batch": batch, "records": outcome.records,
            "transfers": len(outcome.transfers), "resumed": outcome.resumed, "held": len(outcome.held),
            "bytes": outcome.bytes, "published": published,
            "seconds": round(time.perf_counter() - started, 2), "transfer_ids": outcome.transfers}
