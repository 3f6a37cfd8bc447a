"""INSERT … ON CONFLICT DO NOTHING on either store (SQLite, PostgreSQL): how idempotent writes
keep a row that is already there."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def insert_new(session: Session, model: Any) -> Any:
    """An INSERT of ``model``'s table that skips rows whose unique key is already stored."""
    table = model.__table__
    assert isinstance(table, Table)
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing()
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    raise ValueError(f"no INSERT … ON CONFLICT for dialect {dialect!r}")
