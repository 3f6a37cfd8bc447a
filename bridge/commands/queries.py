"""queries: 情報照会 made through the 中間サーバー and their results."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="情報照会 made through the 中間サーバー and their results.")
    app.add_typer(group, name="queries")
