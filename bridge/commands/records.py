"""records: 情報提供等記録: what was exchanged about a person, with whom, when, why."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="情報提供等記録: what was exchanged about a person, with whom, when, why.")
    app.add_typer(group, name="records")
