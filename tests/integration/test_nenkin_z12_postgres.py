"""The Z12's store work on a real PostgreSQL: the 依頼 decided by INSERT … SELECT … ON CONFLICT
(adapters/nenkin/irai.py), the files read back by their aggregate query (adapters/nenkin/z12.py)
and the 依頼 marked sent through a temporary table of the file's pensions (z12_sent.py) are
written in SQL both stores must run alike. The SQLite tests run here again, unchanged, with
``store`` a fresh PostgreSQL database."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.unit.test_nenkin_irai import (
    test_deciding_again_changes_nothing,
    test_honcho_requests_for_the_matched_and_reasons_for_the_rest,
)
from tests.unit.test_nenkin_z12_files import (
    people,
    test_a_file_whose_irai_changed_after_the_count_is_not_made,
    test_a_person_without_the_first_ki_is_counted_and_left_out,
    test_one_file_per_gimusha_sorted_by_kiso_with_the_amounts_of_ki_4_and_5,
    test_sent_is_what_each_file_holds_and_a_newer_file_keeps_its_irai,
)

pytestmark = pytest.mark.postgres

__all__ = ["people", "test_a_file_whose_irai_changed_after_the_count_is_not_made",
           "test_a_person_without_the_first_ki_is_counted_and_left_out",
           "test_deciding_again_changes_nothing", "test_honcho_requests_for_the_matched_and_reasons_for_the_rest",
           "test_one_file_per_gimusha_sorted_by_kiso_with_the_amounts_of_ki_4_and_5",
           "test_sent_is_what_each_file_holds_and_a_newer_file_keeps_its_irai"]


@pytest.fixture
def store(pg_store: sessionmaker[Session]) -> sessionmaker[Session]:
    return pg_store
