"""fixtures population|changes: synthetic people and core-system activity (never real data)."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from bridge.context import state
from bridge.output import console
from fixtures import activity, population


def register(app: typer.Typer) -> None:
    fixtures_app = typer.Typer(help="Synthetic data for demos and tests.")
    app.add_typer(fixtures_app, name="fixtures")

    @fixtures_app.command("population")
    def load_population(ctx: typer.Context,
                        people: Annotated[int, typer.Option(help="how many people")] = 20_000,
                        seed: Annotated[int, typer.Option(help="same seed, same people")] = 1,
                        nendo: Annotated[int, typer.Option(help="年度 of the 賦課 rows")] = 2026) -> None:
        """Load N synthetic people (宛名, 資格, 賦課) into the core store."""
        bridge = state(ctx).bridge
        started = time.perf_counter()
        counts = population.load(bridge.sessions, bridge.mynumber, people=people, seed=seed, nendo=nendo)
        console.print(f"loaded {counts} in {time.perf_counter() - started:.1f} s")

    @fixtures_app.command("changes")
    def changes(ctx: typer.Context, count: Annotated[int, typer.Option(help="how many changes")] = 1000,
                seed: Annotated[int, typer.Option()] = 1) -> None:
        """Make COUNT 資格 changes, each announced through the outbox (route core.changes)."""
        bridge = state(ctx).bridge
        events = activity.change_shikaku(bridge.sessions, bridge.keyring, count, seed=seed)
        console.print(f"{len(events)} change event(s) written to the outbox")
