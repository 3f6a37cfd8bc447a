"""Batch flows by name: where their records come from and how they are rendered.

A flow's partner, layout, route and part size are configuration (flows.toml); what is code is
only the query that yields its records, registered here under the flow's name.
"""

from __future__ import annotations

import functools
import itertools
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any, Protocol

from rich.progress import Progress
from sqlalchemy.orm import Session

from adapters.kokuho import ido_run, ido_teisei
from adapters.nenkin import z1a, z1a_sent, z12, z12_sent
from adapters.vendor import hihokenshasho, hokenryo, nintei_kekka
from bridge.app import Bridge
from mappings import csv_codec, kokuho_frame
from mappings.charpolicy import CharPolicy, SubstitutionTable
from mappings.layout import Layout
from mappings.registry import LayoutRegistry
from queues.outbound import Outcome, Record, Renderer, RenderResult, send_outbound


def batch_key(name: str, nendo: int, edition: int) -> str:
    return f"{name}/{nendo}" + (f"#{edition}" if edition > 1 else "")


# What a run makes, from (bridge, flow, period, edition): what ``after`` gets, and the (batch key,
# scope) of every file, the scope being what ``count`` and ``records`` take. It may write to the
# store first (e.g. decide what to send).
Plan = Callable[[Bridge, str, int, int], tuple[Any, list[tuple[str, Any]]]]


def one_file(scope: Callable[[Session, str, int, int], tuple[str, Any]]) -> Plan:
    """The plan of a run of one file, whose (batch key, scope) ``scope`` takes from the store
    (e.g. a window derived from the batches already made, adapters/vendor/hihokenshasho.py);
    ``after`` gets the scope."""
    def plan(bridge: Bridge, name: str, period: int, edition: int) -> tuple[Any, list[tuple[str, Any]]]:
        with bridge.read_sessions() as session:
            batch, what = scope(session, name, period, edition)
        return what, [(batch, what)]

    return plan


def per_nendo(_session: Session, name: str, nendo: int, edition: int) -> tuple[str, int]:
    """The default scope of a run: the 年度 itself, keyed "flow/2026" ("#2" for an edition)."""
    return batch_key(name, nendo, edition), nendo


ONE_PER_NENDO = one_file(per_nendo)


# Renders records through a CharPolicy: (records, policy) → encoded chunks.
Encode = Callable[[Iterable[Record], CharPolicy], Iterator[bytes]]


class Reading(Protocol):
    """Records and how many there are, read together (one snapshot); closed when the run is done."""

    count: int

    def __iter__(self) -> Iterator[dict[str, Any]]: ...

    def close(self) -> None: ...


@dataclass
class _CountThenRecords:
    count: int
    records: Iterator[dict[str, Any]]

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return self.records

    def close(self) -> None:
        close = getattr(self.records, "close", None)
        if close is not None:
            close()


@dataclass(frozen=True)
class FlowSource:
    # How many records, then the records, in the run's read session (one transaction, so one
    # snapshot); or ``read``, both at once, for a source that reads elsewhere than in that
    # session (adapters/vendor/reader_process.py).
    count: Callable[[Session, Any], int] | None = None
    records: Callable[[Session, Any], Iterator[dict[str, Any]]] | None = None
    read: Callable[[Session, Any], Reading] | None = None
    # What one run makes (see Plan): one file per 年度 by default.
    plan: Plan = ONE_PER_NENDO
    period: str = "nendo"  # what a run is for: "nendo" (年度, --nendo) or "month" (YYYYMM, --month)
    # How the records become a file, from (bridge, layout, scope); None: the layout's plain CSV.
    encode: Callable[[Bridge, Layout, Any], Encode] | None = None
    # Runs before the plan and after the transfers exist (e.g. recording what was sent);
    # ``after`` returns extra summary entries.
    before: Callable[[Bridge], Any] | None = None
    after: Callable[[Bridge, Any], dict[str, Any]] | None = None

    def __post_init__(self) -> None:
        if (self.read is None) == (self.count is None or self.records is None):
            raise ValueError("a flow source has count and records, or read")

    def open(self, session: Session, scope: Any) -> Reading:
        if self.read is not None:
            return self.read(session, scope)
        assert self.count is not None and self.records is not None
        return _CountThenRecords(self.count(session, scope), self.records(session, scope))


def _kokuho_encode(exchange: str) -> Callable[[Bridge, Layout, Any], Encode]:
    """The whole 国保連 frame of ``exchange`` (control, data, end) for a run with ``file_no`` and
    ``control`` (ido_run.MonthRun, ido_teisei.TeiseiRun); ファイル管理番号 = the run's file_no."""
    def factory(bridge: Bridge, _layout: Layout, run: Any) -> Encode:
        files = itertools.count(run.file_no)

        def encode(records: Iterable[Record], policy: CharPolicy) -> Iterator[bytes]:
            return kokuho_frame.render(exchange, run.control(bridge.config.hokensha_no), records,
                                       file_no=next(files), chars=policy)

        return encode

    return factory


def _kokuho_ido_after(bridge: Bridge, run: ido_run.MonthRun) -> dict[str, Any]:
    ido_run.record_sent(bridge.sessions, bridge.payloads, "kokuho.ido")
    return {"month": run.month, "teisei_pending": ido_run.keep_pending(bridge.sessions, run)}


def _kokuho_teisei_after(bridge: Bridge, run: ido_teisei.TeiseiRun) -> dict[str, Any]:
    ido_teisei.record_sent(bridge.sessions, bridge.payloads)
    return {"month": run.month, "teisei_pending": ido_teisei.pending(bridge.sessions)}


SOURCES: dict[str, FlowSource] = {
    "print.hokenryo": FlowSource(read=lambda s, nendo: hokenryo.Notices(s, nendo, date.today())),
    "print.ninteikekka": FlowSource(count=nintei_kekka.count,
                                    records=lambda s, nendo: nintei_kekka.notices(s, nendo, date.today())),
    "print.hihokenshasho": FlowSource(count=hihokenshasho.count, plan=one_file(hihokenshasho.scope),
                                      records=lambda s, window: hihokenshasho.cards(s, window, date.today())),
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
    # The July 特別徴収依頼 (Z12) of a 年度: the 本徴収 依頼 decided, then one file per 特別徴収義務者
    # (adapters/nenkin/z12.py); the 依頼 in the files recorded sent (z12_sent.py).
    "nenkin.z12": FlowSource(count=z12.count, records=z12.records, plan=z12.plan, encode=z12.encoder,
                             before=lambda b: z12_sent.record_sent(b.sessions, b.payloads), after=z12_sent.after),
    # The monthly 追加依頼 (31), 資格喪失等 (41), 仮徴収額変更 (61) and 住所地特例該当者 (81) notices of
    # a 処理対象年月 (adapters/nenkin/z1a.py): one file per 特別徴収義務者 and 通知内容コード, made as
    # the Z12s are; 31/61-依頼 recorded sent, the 依頼 a 41 stops stopped, the 41/81 kept as notices
    # for their answers, from the stored files (z1a_sent.py).
    "nenkin.z1a": FlowSource(count=z1a.count, records=z1a.records, plan=z1a.plan, encode=z12.encoder,
                             period="month", before=lambda b: z1a_sent.record_sent(b.sessions, b.payloads),
                             after=z1a.after),
}


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
