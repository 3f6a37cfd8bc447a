"""The print run's query read by a helper process (adapters/vendor/reader_process.py), on SQLite.

The records are those of the in-process read (test_hokenryo_notices checks them against the
people); here: the rows really come from the child's own snapshot, and when the store changed
the count between the caller's snapshot and the child's, the caller's snapshot is what is read —
the caller split its parts by its own count, so a record more or less would be sent twice or lost.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, literal, select, update
from sqlalchemy.orm import Session, sessionmaker

from adapters.core import schema
from adapters.core.engine import read_only
from adapters.core.models import Atena, Fuka
from adapters.core.models.atena import SOFU_RETURNED
from adapters.core.mynumber import MyNumberCipher
from adapters.core.store import open_store
from adapters.vendor import hokenryo, reader_process
from fixtures.population import load

CIPHER = MyNumberCipher(bytes(range(32)), bytes(range(50, 82)))
NENDO = 2026
ISSUE = date(2026, 7, 10)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    schema.upgrade(url)
    sessions = open_store(url)
    load(sessions, CIPHER, 300, seed=5, nendo=NENDO, batch=150)
    yield sessions
    sessions.kw["bind"].dispose()


def _reader(store: sessionmaker[Session]) -> Session:
    """A read session whose snapshot is taken now (as run_flow's, by its count)."""
    session = sessionmaker(bind=read_only(store.kw["bind"]))()
    hokenryo.count(session, NENDO)
    return session


def test_the_rows_come_from_the_helper_process_and_its_snapshot(store: sessionmaker[Session]) -> None:
    session = _reader(store)
    with store.begin() as s:  # after the caller's snapshot; the count stays the same
        first = s.scalar(select(Fuka.atena_no).where(Fuka.nendo == NENDO).order_by(Fuka.id).limit(1))
        s.execute(update(Atena).where(Atena.atena_no == first).values(sofu_address=None, address="変更後の住所"))
    got = list(hokenryo.notices(session, NENDO, ISSUE))
    in_process = list(session.connection().execute(select(Atena.address).where(Atena.atena_no == first)))
    session.close()
    assert got[0]["atena_no"] == first and got[0]["address"] == "変更後の住所"  # the child's snapshot
    assert in_process[0][0] != "変更後の住所"  # the caller's snapshot did not see it
    with store() as s:
        assert got == list(hokenryo.notices(s, NENDO, ISSUE)) and len(got) == hokenryo.count(s, NENDO)


def test_a_count_changed_since_the_callers_snapshot_reads_the_callers_snapshot(
        store: sessionmaker[Session]) -> None:
    session = _reader(store)
    before = list(session.connection().execute(select(Fuka.atena_no).where(Fuka.nendo == NENDO).order_by(Fuka.id)))
    with store.begin() as s:  # one notice fewer after the caller counted: its parts are split by its count
        s.execute(update(Atena).where(Atena.atena_no == before[0][0]).values(sofu_status=SOFU_RETURNED))
    got = list(hokenryo.notices(session, NENDO, ISSUE))
    session.close()
    assert [r["atena_no"] for r in got] == [atena_no for (atena_no,) in before]
    with store() as s:
        assert hokenryo.count(s, NENDO) == len(before) - 1


def test_a_failing_helper_process_is_an_error_not_fewer_rows(store: sessionmaker[Session]) -> None:
    # abs() of the smallest integer overflows in SQLite at step time: after the count, in the child.
    where = Fuka.nendo + 0 == NENDO
    failing = select(Fuka.id, func.abs(literal(-(2**63)))).where(where).order_by(Fuka.id)
    with store() as s, pytest.raises(reader_process.ReaderError, match=r"exited 1 .*integer overflow"):
        list(reader_process.rows(s, failing, select(func.count()).select_from(Fuka).where(where)))
