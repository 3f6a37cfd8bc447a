"""insert_rows (store/inserts.py): rows handed to the driver as tuples are stored exactly as
SQLAlchemy's own INSERT stores them (a date, a datetime, a NULL), and ``keep_existing`` skips a
row whose unique key is stored. On a real SQLite store; tests/integration/test_inserts_postgres.py
runs them again on PostgreSQL."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import Table, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from store.inserts import insert_rows
from store.models import TokuchoTaisho, Transfer

TABLE = TokuchoTaisho.__table__
assert isinstance(TABLE, Table)
COLUMNS = ("nendo", "hosoku_month", "tsuchi_naiyo_code", "gimusha_code", "kiso_nenkin_no", "nenkin_code", "birth_date",
           "sex", "name_kana", "kingaku1", "kingaku2", "kingaku3", "atena_no", "match_state", "transfer_id",
           "received_at")
AT = dt.datetime(2026, 5, 20, 9, 30, 1, 123456, tzinfo=dt.UTC)


def row(n: int) -> tuple[Any, ...]:
    return (2026, "04", "00", "001", f"{n:010d}", "1150", dt.date(1950, 4, n), "1", "ｶｲｺﾞ ﾀﾛｳ", 100, 0, 0, None,
            "unmatched", "t-z11", AT)


def stored(store: sessionmaker[Session]) -> list[tuple[Any, ...]]:
    """Every row as the store holds it (the driver's values, not SQLAlchemy's: a date kept as text on
    SQLite stays text here)."""
    with store() as s:
        query = f"SELECT {', '.join(COLUMNS)} FROM tokucho_taisho ORDER BY kiso_nenkin_no"
        return [tuple(r) for r in s.connection().exec_driver_sql(query)]


@pytest.fixture
def transfer(store: sessionmaker[Session]) -> None:
    with store.begin() as s:
        s.add(Transfer(id="t-z11", flow="nenkin.z11", partner="keiyu", direction="in", sha256="0" * 64, size=1,
                       key_id="k", payload_ref="p", state="applied"))


def test_rows_are_stored_as_sqlalchemy_stores_them(store: sessionmaker[Session], transfer: None) -> None:
    with store.begin() as s:
        s.execute(insert(TABLE), [dict(zip(COLUMNS, row(n), strict=True)) for n in (1, 2)])
    theirs = stored(store)
    with store.begin() as s:
        s.execute(TABLE.delete())
        assert insert_rows(s.connection(), TABLE, COLUMNS, (row(n) for n in (1,))) == 1
        # the transfer and the time, the same for every row, given once
        assert insert_rows(s.connection(), TABLE, COLUMNS[:-2], [row(2)[:-2]],
                           same={"transfer_id": "t-z11", "received_at": AT}) == 1
    assert stored(store) == theirs
    with store() as s:
        assert s.scalars(select(TokuchoTaisho.birth_date).order_by(TokuchoTaisho.id)).all() == [dt.date(1950, 4, 1),
                                                                                               dt.date(1950, 4, 2)]


def test_keep_existing_skips_a_stored_key_and_without_it_the_store_refuses(store: sessionmaker[Session],
                                                                           transfer: None) -> None:
    with store.begin() as s:
        insert_rows(s.connection(), TABLE, COLUMNS, [row(1)])
    again = (*row(1)[:9], 999, *row(1)[10:])
    with store.begin() as s:
        insert_rows(s.connection(), TABLE, COLUMNS, [again, row(2)], keep_existing=True)
    with store() as s:
        assert s.execute(select(TokuchoTaisho.kiso_nenkin_no, TokuchoTaisho.kingaku1)
                         .order_by(TokuchoTaisho.kiso_nenkin_no)).all() == [("0000000001", 100), ("0000000002", 100)]
    with pytest.raises(IntegrityError), store.begin() as s:
        insert_rows(s.connection(), TABLE, COLUMNS, [again])
