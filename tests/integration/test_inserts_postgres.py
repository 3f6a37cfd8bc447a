"""insert_rows on a real PostgreSQL: the SQLite tests (tests/unit/test_inserts.py) again, unchanged,
with ``store`` a fresh PostgreSQL database (there the rows go through SQLAlchemy's executemany)."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.unit.test_inserts import (
    test_keep_existing_skips_a_stored_key_and_without_it_the_store_refuses,
    test_rows_are_stored_as_sqlalchemy_stores_them,
    transfer,
)

pytestmark = pytest.mark.postgres

__all__ = ["test_keep_existing_skips_a_stored_key_and_without_it_the_store_refuses",
           "test_rows_are_stored_as_sqlalchemy_stores_them", "transfer"]


@pytest.fixture
def store(pg_store: sessionmaker[Session]) -> sessionmaker[Session]:
    return pg_store
