"""chukan: The 中間サーバー: 副本 refresh and provision requests."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer

from adapters.chukan.fukuhon import today
from adapters.chukan.fukuhon_refresh import InFlight, refresh
from bridge.context import operator_id, state
from bridge.output import console, emit_object

JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON instead of a summary")]
ByOpt = Annotated[str, typer.Option("--by", help="operator id (recorded in the custody log, sent as RequestedBy)")]
SHOWN = 20  # 宛名番号 without a 統合宛名番号 listed on screen (all of them with --json)


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="The 中間サーバー: 副本 refresh and provision requests.")
    app.add_typer(group, name="chukan")

    @group.command("refresh")
    def refresh_(ctx: typer.Context, by: ByOpt,
                 all_: Annotated[bool, typer.Option("--all", help="everyone (the initial load), not only "
                                                    "the persons changed since the last refresh")] = False,
                 on: Annotated[str | None, typer.Option(help="the day (YYYY-MM-DD) whose 版 and data apply; "
                                                        "default today in Japan")] = None,
                 json_out: JsonOpt = False) -> None:
        """Bring the 中間サーバー's 副本 up to date: register new, replace changed, delete gone, in
        batches of chukan.toml fukuhon.batch_size (one transfer each, sent by the chukan.fukuhon route)."""
        bridge = state(ctx).bridge
        operator_id(by)
        try:
            day = date.fromisoformat(on) if on else today()
        except ValueError:
            typer.echo(f"--on {on!r}: not a date (YYYY-MM-DD)", err=True)
            raise typer.Exit(2) from None
        try:
            outcome = refresh(bridge.sessions, bridge.keyring, bridge.payloads,
                              batch_size=bridge.config.chukan.fukuhon_batch_size, actor=f"operator:{by}",
                              everyone=all_, day=day)
        except InFlight as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(1) from exc
        bridge.flush_custody()
        bridge.publish_pending()
        result = outcome.as_dict()
        if json_out:
            emit_object(result, True)
            return
        counts = ", ".join(f"{op} {n}" for op, n in outcome.counts.items())
        transfers = sum(len(t) for t in outcome.transfers.values())
        console.print(f"副本 refresh (版 {outcome.version}, window {result['window']}): {outcome.persons} person(s) "
                      f"looked at; {counts}; {transfers} transfer(s) queued on chukan.fukuhon")
        for code, why in outcome.not_built.items():
            console.print(f"not built: data set {code} ({why})")
        if outcome.no_togo:
            shown = ", ".join(outcome.no_togo[:SHOWN]) + (" …" if len(outcome.no_togo) > SHOWN else "")
            console.print(f"not sent: {len(outcome.no_togo)} person(s) without a 統合宛名番号 (宛名番号 {shown})")
