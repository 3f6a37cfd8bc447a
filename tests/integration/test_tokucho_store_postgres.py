"""特別徴収 and 収納 tables (migration 0009) on a real PostgreSQL: the same checks as on SQLite
(tests/unit/test_tokucho_store.py), each on a fresh database."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.unit.test_tokucho_store import (
    check_constraints,
    check_received_again_changes_nothing,
    check_upgrade_and_downgrade,
)

pytestmark = pytest.mark.postgres


def test_migration_0009_upgrades_and_downgrades_on_postgres(pg_url: str) -> None:
    check_upgrade_and_downgrade(pg_url)


def test_check_constraints_on_postgres(pg_store: sessionmaker[Session]) -> None:
    check_constraints(pg_store)


def test_a_file_received_or_applied_again_changes_nothing_on_postgres(pg_store: sessionmaker[Session]) -> None:
    check_received_again_changes_nothing(pg_store)
