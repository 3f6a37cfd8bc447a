"""retention run: delete what is kept past its period (query results, 提供等記録), with proof."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from bridge import chukan_duties
from bridge.context import state
from bridge.output import console, emit_object

ByOpt = Annotated[str, typer.Option("--by", help="operator id (recorded in the custody log)")]


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Retention: delete what is kept past its period (query results), with proof.")
    app.add_typer(group, name="retention")

    @group.command("run")
    def run(ctx: typer.Context, by: ByOpt,
            dry_run: Annotated[bool, typer.Option("--dry-run", help="say what is due, delete nothing")] = False,
            json_out: Annotated[bool, typer.Option("--json", help="print JSON")] = False) -> None:
        """情報照会 results past retention.query_results_days: deleted from the store, the payload
        store and dead-letter queues; 提供等記録 past retention.records_years. Each deletion recorded."""
        done = chukan_duties.purge(state(ctx).bridge, by=by, now=datetime.now(UTC), dry_run=dry_run)
        shown = {"dry_run": dry_run, "query_results": len(done.results),
                 "shokai_ids": " ".join(str(i) for i in done.results), "payloads_deleted": done.payloads,
                 "dead_letter_copies_dropped": done.dead_copies, "records_purged": done.kiroku,
                 "problems": "; ".join(done.problems)}
        emit_object(shown, json_out, title="retention run" + (" (dry run: nothing deleted)" if dry_run else ""))
        if done.problems:
            if not json_out:
                console.print("[yellow]run again once the problem is fixed: what was missed is found again[/]")
            raise typer.Exit(1)
