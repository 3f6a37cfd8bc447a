"""Temporary tables for one transaction: how the store matches a large set of keys.

A run's keys (300,000 pensions of a Z12, the 依頼 to make) given to the store as IN lists took a
statement per few hundred keys, and held in Python as sets took hundreds of MB. A temporary table
filled in batches lets one statement join them, on SQLite and PostgreSQL alike. The table is
created in the caller's transaction and dropped at the end of the ``with``; if the transaction
fails, its rollback takes the table with it (DDL is transactional in both stores).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Column, Connection, MetaData, Table

from store.inserts import insert_rows


@contextmanager
def scratch(connection: Connection, name: str, *columns: Column[Any]) -> Iterator[Table]:
    """A temporary table ``name`` of ``columns`` for the ``with`` block."""
    table = Table(name, MetaData(), *columns, prefixes=["TEMPORARY"])
    table.create(connection)
    yield table
    table.drop(connection)


def fill(connection: Connection, table: Table, rows: Iterable[Sequence[Any]]) -> int:
    """Insert ``rows`` (tuples in the table's column order; streamed, a batch at a time); how many."""
    return insert_rows(connection, table, [c.name for c in table.c], rows)
