"""chukan: The 中間サーバー: 副本 refresh and provision requests."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="The 中間サーバー: 副本 refresh and provision requests.")
    app.add_typer(group, name="chukan")
