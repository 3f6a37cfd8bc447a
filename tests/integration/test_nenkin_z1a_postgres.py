"""The Z1A's 61 decisions and the answers to a Z1A on a real PostgreSQL: the SQLite tests run here
again, unchanged, with ``store`` a fresh PostgreSQL database (pending 61 deleted and inserted again,
the answers' ON CONFLICT, status updates and the lists' outer joins)."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.unit.test_nenkin_z1a_answers import (
    sent,
    test_answers_accept_and_refuse_what_they_answer_once,
    test_the_operator_sees_refusals_and_answers_to_nothing,
)
from tests.unit.test_nenkin_z1a_kari import people, test_who_gets_a_kari_change_in_may_and_why_not

pytestmark = pytest.mark.postgres

__all__ = ["people", "sent", "test_answers_accept_and_refuse_what_they_answer_once",
           "test_the_operator_sees_refusals_and_answers_to_nothing", "test_who_gets_a_kari_change_in_may_and_why_not"]


@pytest.fixture
def store(pg_store: sessionmaker[Session]) -> sessionmaker[Session]:
    return pg_store
