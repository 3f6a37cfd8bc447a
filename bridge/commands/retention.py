"""retention: Retention: delete what is kept past its period (query results), with proof."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Retention: delete what is kept past its period (query results), with proof.")
    app.add_typer(group, name="retention")
