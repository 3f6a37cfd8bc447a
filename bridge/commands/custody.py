"""custody verify|show|checkpoint."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

import typer

from bridge.context import state
from bridge.output import console, emit, emit_object

JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON instead of a table")]


def register(app: typer.Typer) -> None:
    custody_app = typer.Typer(help="The custody log (引渡し・受領記録簿).")
    app.add_typer(custody_app, name="custody")

    @custody_app.command("verify")
    def verify(ctx: typer.Context, json_out: JsonOpt = False) -> None:
        """Check the hash chain and signed checkpoints; exit 1 naming the first bad entry."""
        bridge = state(ctx).bridge
        bridge.flush_custody()
        report = bridge.custody.verify()
        emit_object(asdict(report), json_out, title="custody verify")
        if not report.ok:
            if not json_out:
                console.print(f"[red bold]custody log FAILED verification at seq {report.first_bad_seq}: "
                              f"{report.reason}[/]")
            raise typer.Exit(1)
        if not json_out:
            console.print(f"[green]custody log intact[/]: {report.entries} entries, {report.checkpoints} checkpoints")

    @custody_app.command("show")
    def show(ctx: typer.Context, transfer_id: str, json_out: JsonOpt = False) -> None:
        """The chain of hand-overs of one transfer."""
        bridge = state(ctx).bridge
        bridge.flush_custody()
        chain = bridge.custody.chain(transfer_id)
        if not chain:
            console.print(f"[red]no custody entries for {transfer_id}[/]")
            raise typer.Exit(1)
        # A screen shows the short forms of time and hash; --json keeps everything.
        rows: list[dict[str, Any]] = [
            {"seq": e.seq, "at": e.at if json_out else e.at.strftime("%Y-%m-%d %H:%M:%S"), "event": e.event,
             "actor": e.actor, "partner": e.partner, "records": e.record_count,
             "sha256": e.sha256 if json_out else (e.sha256 or "")[:12], "key_id": e.key_id, "basis": e.basis,
             "detail": e.detail} for e in chain]
        emit(rows, json_out, title=f"custody of {transfer_id}",
             columns=None if json_out else ["seq", "at", "event", "actor", "records", "sha256", "detail"])

    @custody_app.command("checkpoint")
    def checkpoint(ctx: typer.Context) -> None:
        """Sign the current head of the log now."""
        bridge = state(ctx).bridge
        bridge.flush_custody()
        made = bridge.custody.checkpoint()
        console.print(f"checkpoint at seq {made.seq}" if made else "head unchanged since the last checkpoint")
