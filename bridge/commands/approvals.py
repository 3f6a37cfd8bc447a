"""approvals: Provisions held for a second operator (自動応答不可): list, show, approve, reject."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Provisions held for a second operator (自動応答不可): list, show, approve, reject.")
    app.add_typer(group, name="approvals")
