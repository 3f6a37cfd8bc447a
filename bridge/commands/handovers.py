"""handovers [--overdue] | handovers confirm ID --by OPERATOR | vendors poll."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

import typer

from adapters.vendor import register as ledger
from bridge.context import state
from bridge.output import console, emit

JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON instead of a table")]


def register(app: typer.Typer) -> None:
    handovers_app = typer.Typer(help="The hand-over register (引渡し・受領記録簿) of print vendors.",
                                invoke_without_command=True)
    app.add_typer(handovers_app, name="handovers")

    @handovers_app.callback()
    def handovers(ctx: typer.Context, overdue: Annotated[bool, typer.Option(help="only overdue ones")] = False,
                  json_out: JsonOpt = False) -> None:
        """Hand-overs with their receipts, deletion certificates and what is overdue."""
        if ctx.invoked_subcommand is not None:
            return
        bridge = state(ctx).bridge
        with bridge.sessions() as s:
            rows = [asdict(e) for e in ledger.entries(s, bridge.config.partners)]
        if overdue:
            rows = [r for r in rows if r["overdue"]]
        emit(rows, json_out, title="hand-overs",
             columns=["transfer_id", "partner", "flow", "records", "state", "sent_at", "receipt_at", "deleted_at",
                      "returns", "confirmed_by", "overdue"])

    @handovers_app.command("confirm")
    def confirm(ctx: typer.Context, transfer_id: str,
                by: Annotated[str, typer.Option("--by", help="the confirming supervisor (上長)")]) -> None:
        """Record the supervisor's confirmation of a hand-over (not the operator who ran it)."""
        bridge = state(ctx).bridge
        try:
            with bridge.sessions.begin() as s:
                ledger.confirm(s, transfer_id, by)
        except ledger.ConfirmError as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(1) from exc
        bridge.flush_custody()
        console.print(f"hand-over {transfer_id} confirmed by {by}")

    vendors_app = typer.Typer(help="Print vendors reached by SFTP.")
    app.add_typer(vendors_app, name="vendors")

    @vendors_app.command("poll")
    def poll(ctx: typer.Context, json_out: JsonOpt = False) -> None:
        """Read every SFTP partner's answers now (workers do it every few seconds)."""
        bridge = state(ctx).bridge
        rows = []
        for partner in (p for p in bridge.config.partners.values() if p.sftp is not None):
            result = bridge.answers.poll(partner)
            rows.append({"partner": partner.name, **asdict(result)})
        bridge.flush_custody()
        emit(rows, json_out, title="answers read", columns=["partner", "applied", "rejected", "seen_again"])
