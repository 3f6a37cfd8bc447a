"""Events into the outbox a batch at a time on a real PostgreSQL: the SQLite tests
(tests/unit/test_outbox_enqueue.py) that do not need SQLite's triggers again, unchanged, with
``store`` a fresh PostgreSQL database (there the rows go through SQLAlchemy's executemany)."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.unit.test_outbox_enqueue import (
    keyring,
    people,
    test_a_batch_is_stored_pending_each_body_sealed_to_its_own_id,
    test_a_failure_part_way_through_the_batch_leaves_neither_the_change_nor_any_event,
    test_an_unknown_kind_is_refused_before_any_event_is_written,
    test_ids_are_new_distinct_and_time_ordered,
)

pytestmark = pytest.mark.postgres

__all__ = ["keyring", "people", "test_a_batch_is_stored_pending_each_body_sealed_to_its_own_id",
           "test_a_failure_part_way_through_the_batch_leaves_neither_the_change_nor_any_event",
           "test_an_unknown_kind_is_refused_before_any_event_is_written",
           "test_ids_are_new_distinct_and_time_ordered"]


@pytest.fixture
def store(pg_store: sessionmaker[Session]) -> sessionmaker[Session]:
    return pg_store
