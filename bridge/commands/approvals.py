"""approvals fetch|list|show|approve|reject|send: provisions held for a second operator (自動応答不可).

``fetch`` polls the 中間サーバー's provision requests (refused off the list, answered when
permitted, held when 自動応答不可); ``approve``/``reject`` decide a held one — never by whoever
fetched it — and send at once; ``send`` resends what was decided but not acknowledged. Screens
show codes, 宛名番号 and item numbers with labels; an item's value is never shown.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import typer

from adapters.chukan import approvals as decisions
from adapters.chukan import provision
from adapters.chukan.connect import client_for
from adapters.chukan.errors import ChukanError
from adapters.chukan.fukuhon import answer_items
from adapters.chukan.permits import Permits
from bridge.context import operator_id, state
from bridge.output import console, emit, emit_object
from mappings.standard_layout import CHUKAN_DIR, load_standard_layout

JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON instead of a table")]
ByOpt = Annotated[str, typer.Option("--by", help="operator id (recorded; sent as RequestedBy)")]
SHOWN_VALUE = "(値あり)"  # what a screen shows for an item value: that there is one, never what


def item_labels(tm: str, version: str) -> dict[str, str]:
    """項目番号 → "データセット 項目名" from the データ標準レイアウト of that 版 (empty if none)."""
    labels: dict[str, str] = {}
    for path in sorted(CHUKAN_DIR.glob(f"*-v{version}.toml")):
        for dataset in load_standard_layout(path).for_tm(tm):
            for f in dataset.items:
                if f.item is not None:
                    labels[f.item.no] = f"{dataset.code} {dataset.label} {f.label}"
    return labels


def _row(held: decisions.Held) -> dict[str, Any]:
    a, r = held.approval, held.request
    return {"id": a.id, "state": a.state, "request": r.request_id, "atena_no": r.atena_no,
            "togo_atena_no": r.togo_atena_no, "kikan": r.querying_kikan, "tetsuzuki": r.tetsuzuki, "tm": r.tm,
            "requested_at": r.requested_at, "held_by": a.held_by, "held_at": a.held_at,
            "decided_by": a.decided_by, "decided_at": a.decided_at, "reason": a.reason, "sent_at": r.sent_at}


def _report(result: provision.PollReport, what: str) -> None:
    console.print(f"{what}: listed {result.listed}, new {result.new}, held {result.held}, "
                  f"answered {result.sent['answer']}, refused {result.sent['refuse']}")
    for failure in result.failed:
        typer.echo(f"not sent (will be resent by `approvals send`): {failure}", err=True)
    if result.failed:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Provisions held for a second operator (自動応答不可): list, show, approve, reject.")
    app.add_typer(group, name="approvals")

    def run(ctx: typer.Context, by: str, act: Callable[..., provision.PollReport], what: str) -> None:
        bridge = state(ctx).bridge
        chukan = bridge.config.chukan
        try:
            with client_for(chukan) as client:
                result = act(bridge.sessions, client, Permits(chukan), chukan, by, answer_items)
        except ChukanError:  # the list itself could not be fetched: nothing decided; the CLI says why (exit 3/5)
            bridge.flush_custody()
            raise
        bridge.flush_custody()
        _report(result, what)

    @group.command("fetch")
    def fetch(ctx: typer.Context, by: ByOpt) -> None:
        """Poll the provision requests: refuse, answer or hold each new one."""
        operator_id(by)
        run(ctx, by, provision.poll, "fetched")

    @group.command("send")
    def send(ctx: typer.Context, by: ByOpt) -> None:
        """Resend every decided answer or refusal not yet acknowledged (same idempotency key)."""
        operator_id(by)
        run(ctx, by, provision.send_pending, "sent")

    @group.command("list")
    def list_(ctx: typer.Context, all_: Annotated[bool, typer.Option("--all", help="also answered/refused")] = False,
              json_out: JsonOpt = False) -> None:
        with state(ctx).bridge.sessions() as s:
            rows = [_row(h) for h in decisions.listing(s, everything=all_)]
        emit(rows, json_out, title="approvals", columns=None if json_out else
             ["id", "state", "request", "atena_no", "kikan", "tetsuzuki", "tm", "held_by", "decided_by"])

    @group.command("show")
    def show(ctx: typer.Context, approval_id: int, json_out: JsonOpt = False) -> None:
        """One request: codes, basis, and the items that would be sent — values masked."""
        bridge = state(ctx).bridge
        with bridge.sessions() as s:
            try:
                held = decisions.get(s, approval_id)
            except decisions.ApprovalError as exc:
                typer.echo(str(exc), err=True)
                raise typer.Exit(1) from exc
            row = _row(held) | {"jimu": held.request.jimu, "basis": held.request.basis}
            try:
                version, items = answer_items(s, held.request.tm, held.request.togo_atena_no)
            except (LookupError, ValueError) as exc:
                row["items"] = f"not built: {exc}"
            else:
                labels = item_labels(held.request.tm, version)
                row["version"] = version
                row["items"] = [{"no": i.no, "label": labels.get(i.no, ""),
                                 "value": SHOWN_VALUE if i.value is not None else f"未設定 ({i.unset})"}
                                for i in items]
                del items  # values leave this function only masked
        if json_out:
            emit_object(row, True)
            return
        shown = row.pop("items")
        emit_object(row, False, title=f"approval {approval_id}")
        if isinstance(shown, list):
            emit(shown, False, title=f"items (版 {row['version']}): values masked")
        else:
            console.print(shown)

    def decide(ctx: typer.Context, approval_id: int, by: str, reason: str | None, approve: bool) -> None:
        operator_id(by)
        bridge = state(ctx).bridge
        chukan = bridge.config.chukan
        try:
            with bridge.sessions.begin() as s:
                held = (decisions.approve(s, approval_id, by, reason, records_years=chukan.records_years) if approve
                        else decisions.reject(s, approval_id, by, reason or "", records_years=chukan.records_years))
                request_id = held.request.request_id
        except decisions.ApprovalError as exc:
            bridge.flush_custody()
            typer.echo(str(exc), err=True)
            raise typer.Exit(1) from exc
        bridge.flush_custody()
        verb = "approved" if approve else "rejected"
        console.print(f"approval {approval_id} ({request_id}) {verb} by {by}")

        def one(sessions: Any, client: Any, permits: Permits, chukan_: Any, by_: str,
                items: provision.BuildItems) -> provision.PollReport:
            return provision.send_pending(sessions, client, permits, chukan_, by_, items, ids=[request_id])

        run(ctx, by, one, "sent")

    @group.command("approve")
    def approve(ctx: typer.Context, approval_id: int, by: ByOpt,
                reason: Annotated[str | None, typer.Option(help="why (recorded)")] = None) -> None:
        """Approve a held provision (not by whoever fetched it) and answer it now."""
        decide(ctx, approval_id, by, reason, True)

    @group.command("reject")
    def reject(ctx: typer.Context, approval_id: int, by: ByOpt,
               reason: Annotated[str, typer.Option(help="why (recorded; required)")]) -> None:
        """Reject a held provision (not by whoever fetched it) and refuse it now."""
        decide(ctx, approval_id, by, reason, False)
