"""status, transfers list|show."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated, Any

import typer
from sqlalchemy import func, select

from adapters.vendor import register as ledger
from bridge.app import Bridge
from bridge.context import state
from bridge.output import console, emit, emit_object
from queues.outbound import characters_ref
from queues.status import route_status, vhost_of
from store.models import Quarantine, Transfer

JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON instead of a table")]


def register(app: typer.Typer) -> None:
    transfers_app = typer.Typer(help="Transfers (one payload moving once).")
    app.add_typer(transfers_app, name="transfers")

    @app.command()
    def status(ctx: typer.Context, json_out: JsonOpt = False) -> None:
        """Per route: ready, unacked, retrying, dead, consumers; transfers by state."""
        bridge = state(ctx).bridge
        config = bridge.config
        routes = [asdict(s) for s in route_status(config.broker.management_url(), vhost_of(config.broker.url()),
                                                  list(config.routes.values()))]
        with bridge.sessions() as s:
            states = [{"state": st, "transfers": n} for st, n in
                      s.execute(select(Transfer.state, func.count()).group_by(Transfer.state).order_by(Transfer.state))]
            entries = ledger.entries(s, config.partners)
            held = s.scalar(select(func.count()).select_from(Quarantine).where(Quarantine.state == "held")) or 0
        handovers = {"open": sum(1 for e in entries if e.deleted_at is None),
                     "receipt_overdue": sum(1 for e in entries if e.overdue == "receipt"),
                     "deletion_overdue": sum(1 for e in entries if e.overdue == "deletion"),
                     "unconfirmed": sum(1 for e in entries if e.confirmed_by is None)}
        if json_out:
            print(json.dumps({"routes": routes, "transfers": states, "handovers": handovers,
                              "quarantine": {"held": held}}))
            return
        emit(routes, False, title="routes")
        emit(states, False, title="transfers by state")
        emit([handovers], False, title="hand-overs to vendors")
        emit([{"held": held}], False, title="inbound files in quarantine")

    @transfers_app.command("list")
    def list_(ctx: typer.Context, state_filter: Annotated[str | None, typer.Option("--state")] = None,
              flow: Annotated[str | None, typer.Option()] = None,
              limit: Annotated[int, typer.Option()] = 50, json_out: JsonOpt = False) -> None:
        """Most recent transfers first."""
        bridge = state(ctx).bridge
        query = select(Transfer).order_by(Transfer.created_at.desc()).limit(limit)
        if state_filter:
            query = query.where(Transfer.state == state_filter)
        if flow:
            query = query.where(Transfer.flow == flow)
        with bridge.sessions() as s:
            rows = [_row(t) for t in s.scalars(query)]
        emit(rows, json_out, title="transfers",
             columns=["id", "flow", "partner", "direction", "state", "records", "part", "created_at"])

    @transfers_app.command("chars")
    def chars(ctx: typer.Context, transfer_id: str, json_out: JsonOpt = False) -> None:
        """The character report of a transfer: every substitution made and every unmapped character."""
        bridge = state(ctx).bridge
        transfer = _transfer(bridge, transfer_id)
        emit(_characters(bridge, transfer), json_out, title=f"characters of {transfer_id}",
             columns=["record", "key", "field", "char", "codepoint", "replacement", "reason"])

    @transfers_app.command("show")
    def show(ctx: typer.Context, transfer_id: str, json_out: JsonOpt = False) -> None:
        """One transfer: layout, hash, key id, last error (its custody chain: custody show)."""
        transfer = _transfer(state(ctx).bridge, transfer_id)
        row = _row(transfer) | {"layout": f"{transfer.layout} v{transfer.layout_version}",
                                "sha256": transfer.sha256, "size": transfer.size, "key_id": transfer.key_id,
                                "last_error": transfer.last_error}
        emit_object(row, json_out, title=f"transfer {transfer_id}")


def _transfer(bridge: Bridge, transfer_id: str) -> Transfer:
    with bridge.sessions() as s:
        transfer = s.get(Transfer, transfer_id)
    if transfer is None:
        console.print(f"[red]no transfer {transfer_id}[/]")
        raise typer.Exit(1)
    return transfer


def _characters(bridge: Bridge, transfer: Transfer) -> list[dict[str, Any]]:
    ref = bridge.payloads.ref_for(characters_ref(transfer.id))
    if not bridge.payloads.exists(ref):
        return []
    text = b"".join(bridge.payloads.read(ref, characters_ref(transfer.id), transfer.flow)).decode()
    return [json.loads(line) for line in text.splitlines()]


def _row(t: Transfer) -> dict[str, object]:
    return {"id": t.id, "flow": t.flow, "partner": t.partner, "direction": t.direction, "state": t.state,
            "records": t.record_count, "part": f"{t.part_no}/{t.part_count}" if t.part_count else "",
            "created_at": t.created_at, "updated_at": t.updated_at}
