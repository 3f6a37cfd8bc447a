"""dead list|replay|drop ROUTE."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

import typer

from bridge.context import state
from bridge.output import console, emit
from queues import dead as dead_ops
from queues.message import Message

JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON instead of a table")]
ByOpt = Annotated[str, typer.Option("--by", help="operator id (recorded in the custody log)")]


def register(app: typer.Typer) -> None:
    dead_app = typer.Typer(help="Dead letters: messages parked after their retry budget.")
    app.add_typer(dead_app, name="dead")

    @dead_app.command("list")
    def list_(ctx: typer.Context, route: str, json_out: JsonOpt = False) -> None:
        """What is parked in ROUTE.dead, with the reason."""
        config = state(ctx).config
        config.route(route)
        rows = [asdict(d) for d in dead_ops.list_dead(config.broker.url(), route)]
        emit(rows, json_out, title=f"{route}.dead", columns=["id", "transfer", "kind", "attempts", "reason"])

    @dead_app.command("replay")
    def replay(ctx: typer.Context, route: str, by: ByOpt,
               ids: Annotated[list[str] | None, typer.Option("--id", help="only these message ids")] = None,
               ) -> None:
        """Send dead messages back to the route with a fresh retry budget."""
        bridge = state(ctx).bridge
        config = bridge.config
        config.route(route)

        def note(message: Message) -> None:
            bridge.record_operator_action(message, "replayed", by, f"{route}.dead -> {route}")
            bridge.flush_custody()

        n = dead_ops.replay(config.broker.url(), config.broker.exchange, route, note, set(ids) if ids else None)
        console.print(f"replayed {n} message(s) to {route}")

    @dead_app.command("drop")
    def drop(ctx: typer.Context, route: str, by: ByOpt,
             ids: Annotated[list[str], typer.Option("--id", help="message ids to drop")],
             reason: Annotated[str, typer.Option(help="why (recorded)")]) -> None:
        """Remove named dead messages for good; recorded in the custody log."""
        bridge = state(ctx).bridge
        config = bridge.config
        config.route(route)

        def note(message: Message) -> None:
            bridge.record_operator_action(message, "dropped", by, f"{route}.dead: {reason}")

        n = dead_ops.drop(config.broker.url(), route, set(ids), note)
        bridge.flush_custody()
        console.print(f"dropped {n} message(s) from {route}.dead")
