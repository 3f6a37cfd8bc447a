"""The print run's query read by a helper process (adapters/vendor/reader_process.py), on SQLite.

The records are those of the in-process read (test_hokenryo_notices checks them against the
people); here: the rows and their count come from the child's one snapshot (a run splits its
parts by that count: a count from another snapshot would lose or double records), a child is
never left behind, and a child's failure is an error, not a shorter file.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import closing
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, literal, select, update
from sqlalchemy.orm import Session, sessionmaker

from adapters.vendor import hokenryo, reader_process
from fixtures.population import load
from store import schema
from store.engine import read_only
from store.models import Atena, Fuka
from store.models.atena import SOFU_RETURNED
from store.mynumber import MyNumberCipher
from store.sessions import open_store

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
    """A read session whose snapshot is taken now (as run_flow's)."""
    session = sessionmaker(bind=read_only(store.kw["bind"]))()
    hokenryo.count(session, NENDO)
    return session


def test_count_and_rows_come_from_the_helper_process_in_one_snapshot(store: sessionmaker[Session]) -> None:
    session = _reader(store)
    before = [a for (a,) in session.execute(select(Fuka.atena_no).where(Fuka.nendo == NENDO).order_by(Fuka.id))]
    with store.begin() as s:  # after the caller's snapshot: one notice fewer, one address changed
        s.execute(update(Atena).where(Atena.atena_no == before[0]).values(sofu_status=SOFU_RETURNED))
        s.execute(update(Atena).where(Atena.atena_no == before[1]).values(sofu_address=None, address="変更後の住所"))
    with closing(hokenryo.Notices(session, NENDO, ISSUE)) as notices:
        got = list(notices)
    assert notices.count == len(got) == len(before) - 1  # the parts are split by the rows' own count
    assert [r["atena_no"] for r in got] == before[1:] and got[0]["address"] == "変更後の住所"
    assert hokenryo.count(session, NENDO) == len(before)  # the caller's snapshot did not see it
    session.close()
    with store() as s:
        assert got == list(hokenryo.notices(s, NENDO, ISSUE))


def test_closing_before_the_end_ends_the_helper_process(store: sessionmaker[Session]) -> None:
    with store() as s:
        notices = hokenryo.Notices(s, NENDO, ISSUE)  # e.g. a run refused (AlreadyRun) before reading
        child = notices._rows._child
        assert child is not None and child.poll() is None
        notices.close()
        assert child.returncode is not None
        with pytest.raises(ProcessLookupError):
            os.kill(child.pid, 0)  # reaped, not left behind


def test_a_failing_helper_process_is_an_error_not_fewer_rows(store: sessionmaker[Session]) -> None:
    # abs() of the smallest integer overflows in SQLite at step time: after the count, in the child.
    where = Fuka.nendo + 0 == NENDO
    failing = select(Fuka.id, func.abs(literal(-(2**63)))).where(where).order_by(Fuka.id)
    count = select(func.count()).select_from(Fuka).where(where)
    with store() as s, closing(reader_process.Rows(s, failing, count)) as rows, \
            pytest.raises(reader_process.ReaderError, match=r"exited 1 .*integer overflow"):
        list(rows)
