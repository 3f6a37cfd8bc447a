"""INSERT … ON CONFLICT DO NOTHING on either store (SQLite, PostgreSQL): how idempotent writes
keep a row that is already there; and ``insert_rows``, how a large number of rows is written."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Dialect, Table, insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

BATCH = 5000  # rows per executemany


def insert_new(session: Session, model: Any) -> Any:
    """An INSERT of ``model``'s table that skips rows whose unique key is already stored."""
    table = model.__table__
    assert isinstance(table, Table)
    return _keeping(session.get_bind().dialect.name, table)


def _keeping(dialect: str, table: Table) -> Any:
    if dialect == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing()
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    raise ValueError(f"no INSERT … ON CONFLICT for dialect {dialect!r}")


def insert_rows(connection: Connection, table: Table, columns: Sequence[str], rows: Iterable[Sequence[Any]],
                keep_existing: bool = False, same: Mapping[str, Any] | None = None) -> int:
    """Insert ``rows`` (tuples, values in ``columns`` order; streamed, a batch at a time) into
    ``table``; how many were given. ``same``: more columns, of one value for every row (bound
    once). ``keep_existing``: a row whose unique key is stored is skipped.

    On SQLite the rows go to the driver's executemany as tuples, each value through its column's
    bind processor where it has one (a date becomes the text SQLAlchemy would store): SQLAlchemy's
    per-row parameter building took longer than SQLite's writing (300,000 rows: ~2 s of ~3). On
    PostgreSQL SQLAlchemy's executemany, which pages the rows into multi-row VALUES (the driver's
    own executemany is a round trip per row)."""
    dialect = connection.dialect
    same = same or {}
    count = 0
    source = iter(rows)
    if dialect.paramstyle != "qmark":
        statement = _keeping(dialect.name, table) if keep_existing else insert(table)
        while batch := list(itertools.islice(source, BATCH)):
            connection.execute(statement, [{**dict(zip(columns, row, strict=True)), **same} for row in batch])
            count += len(batch)
        return count
    processors = [(i, p) for i, name in enumerate(columns) if (p := _processor(table, name, dialect)) is not None]
    tail = tuple(v if v is None or (p := _processor(table, name, dialect)) is None else p(v)
                 for name, v in same.items())
    names = [*columns, *same]
    # Only the table's own column names go into the text; every value is a bound parameter.
    text = (f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"  # noqa: S608
            + (" ON CONFLICT DO NOTHING" if keep_existing else ""))
    while batch := list(itertools.islice(source, BATCH)):
        if processors or tail:  # else the rows go as they are: no copy of each
            batch = [(*(_bound(row, processors) if processors else row), *tail) for row in batch]
        connection.exec_driver_sql(text, batch)
        count += len(batch)
    return count


def _processor(table: Table, column: str, dialect: Dialect) -> Callable[[Any], Any] | None:
    return table.c[column].type.dialect_impl(dialect).bind_processor(dialect)


def _bound(row: Sequence[Any], processors: list[tuple[int, Callable[[Any], Any]]]) -> Sequence[Any]:
    values = list(row)
    for i, process in processors:
        if values[i] is not None:
            values[i] = process(values[i])
    return values

