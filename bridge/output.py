"""Printing for operators: a rich table on a terminal, or JSON with ``--json``.

Nothing printed here may carry 個人番号; callers pass ids, counts, hashes and masked text only.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from rich.console import Console
from rich.table import Table

console = Console()


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def emit(rows: Sequence[dict[str, Any]], as_json: bool, title: str | None = None,
         columns: Sequence[str] | None = None) -> None:
    if as_json:
        print(json.dumps([{k: _plain(v) for k, v in row.items()} for row in rows], ensure_ascii=False))
        return
    columns = list(columns or (rows[0].keys() if rows else []))
    table = Table(title=title, show_lines=False)
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*["" if row.get(c) is None else str(_plain(row.get(c))) for c in columns])
    console.print(table)


def emit_object(obj: dict[str, Any], as_json: bool, title: str | None = None) -> None:
    if as_json:
        print(json.dumps({k: _plain(v) for k, v in obj.items()}, ensure_ascii=False))
        return
    emit([{"field": k, "value": v} for k, v in obj.items()], False, title)
