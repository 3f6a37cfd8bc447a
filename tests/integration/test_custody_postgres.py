"""The custody log tests of tests/unit/test_custody.py, run on a real PostgreSQL.

Every test function and helper fixture of the unit module is taken over unchanged; only the
``custody_url`` fixture is replaced by ``pg_url`` (a fresh database per test). That covers row
locking of ``custody_head`` by concurrent appenders on PostgreSQL, and the raw-SQL tampering.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

_path = Path(__file__).resolve().parents[1] / "unit" / "test_custody.py"
_spec = importlib.util.spec_from_file_location("custody_cases_for_postgres", _path)
assert _spec is not None and _spec.loader is not None
_cases = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_cases)

globals().update(
    {
        name: obj
        for name, obj in vars(_cases).items()
        if name.startswith("test_") or name in ("key_path", "log", "raw")
    }
)

pytestmark = pytest.mark.postgres


@pytest.fixture
def custody_url(pg_url: str) -> str:
    return pg_url


def test_all_unit_cases_are_taken_over() -> None:
    taken = {name for name in globals() if name.startswith("test_")} - {"test_all_unit_cases_are_taken_over"}
    assert len(taken) >= 17
    assert "test_concurrent_appenders_keep_seq_gap_free" in taken
