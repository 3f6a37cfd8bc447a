"""quarantine list|show|release|reject: inbound files held back by validation."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from sqlalchemy import select

from bridge.context import state
from bridge.output import console, emit
from queues import quarantine as decisions
from store.models import Quarantine

JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON instead of a table")]
ByOpt = Annotated[str, typer.Option("--by", help="operator id (recorded in the custody log)")]
ReasonOpt = Annotated[str, typer.Option(help="why (recorded)")]


def register(app: typer.Typer) -> None:
    quarantine_app = typer.Typer(help="Inbound files held back by validation: nothing of them was applied.")
    app.add_typer(quarantine_app, name="quarantine")

    @quarantine_app.command("list")
    def list_(ctx: typer.Context, all_: Annotated[bool, typer.Option("--all", help="also decided ones")] = False,
              json_out: JsonOpt = False) -> None:
        bridge = state(ctx).bridge
        query = select(Quarantine).order_by(Quarantine.held_at.desc())
        if not all_:
            query = query.where(Quarantine.state == "held")
        with bridge.sessions() as s:
            rows = [{"transfer": q.transfer_id, "flow": q.flow, "file": q.file_name, "held_at": q.held_at,
                     "errors": q.errors, "state": q.state, "decided_by": q.decided_by} for q in s.scalars(query)]
        emit(rows, json_out, title="quarantine")

    @quarantine_app.command("show")
    def show(ctx: typer.Context, transfer_id: str, json_out: JsonOpt = False) -> None:
        """The report: file, レコード番号, field, rule and value (masked where personal)."""
        bridge = state(ctx).bridge
        with bridge.sessions() as s:
            row = s.get(Quarantine, transfer_id)
        if row is None:
            console.print(f"[red]transfer {transfer_id} is not in quarantine[/]")
            raise typer.Exit(1)
        problems = [json.loads(line) for line in row.report.splitlines() if line]
        emit(problems, json_out, title=f"{row.file_name}: {row.errors} problem(s), {row.state}")

    @quarantine_app.command("release")
    def release(ctx: typer.Context, transfer_id: str, by: ByOpt, reason: ReasonOpt) -> None:
        """Load the file again (after its cause was fixed)."""
        bridge = state(ctx).bridge
        with bridge.sessions() as s:
            row = s.get(Quarantine, transfer_id)
        route = bridge.config.flow(row.flow).route if row is not None else ""
        try:
            with bridge.sessions.begin() as s:
                decisions.release(s, bridge.keyring, route, transfer_id, by, reason)
        except decisions.DecisionError as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(1) from exc
        bridge.flush_custody()
        bridge.publish_pending()
        console.print(f"{transfer_id} released by {by}: queued for loading again")

    @quarantine_app.command("reject")
    def reject(ctx: typer.Context, transfer_id: str, by: ByOpt, reason: ReasonOpt) -> None:
        """Refuse the file for good; its stored copy is deleted."""
        bridge = state(ctx).bridge
        try:
            with bridge.sessions.begin() as s:
                ref = decisions.reject(s, transfer_id, by, reason)
        except decisions.DecisionError as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(1) from exc
        bridge.payloads.delete(ref)
        bridge.flush_custody()
        console.print(f"{transfer_id} rejected by {by}; stored copy deleted")
