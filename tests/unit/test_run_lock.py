"""run_lock: one run of a name at a time across processes; a dead run's lock taken over after its lease."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from adapters.chukan.fukuhon_refresh import FLOW, InFlight, refresh
from queues.crypto import Keyring
from queues.payloads import PayloadStore
from store.models import RunLock
from store.run_lock import Busy, alone

HOUR = timedelta(hours=1)


def test_a_second_run_is_refused_while_the_first_holds_and_may_run_after(store: sessionmaker[Session]) -> None:
    with alone(store, "flow.x", "op1", HOUR):
        with pytest.raises(Busy, match=r"flow\.x: another run is going on since .* by op1 "), \
                alone(store, "flow.x", "op2", HOUR):
            pass
        with alone(store, "flow.y", "op2", HOUR):  # another name is not held
            pass
    with alone(store, "flow.x", "op2", HOUR):
        with store() as s:
            assert s.scalars(select(RunLock.holder)).one().startswith("op2 ")
    with store() as s:
        assert s.scalars(select(RunLock)).all() == []


def test_the_lock_goes_when_the_run_fails_and_a_dead_runs_lock_is_taken_over(store: sessionmaker[Session]) -> None:
    with pytest.raises(RuntimeError), alone(store, "flow.x", "op1", HOUR):
        raise RuntimeError("the run broke")
    with store() as s:
        assert s.scalars(select(RunLock)).all() == []
    with store.begin() as s:  # a run that died two hours ago left its row
        s.add(RunLock(name="flow.x", holder="op1 dead", taken_at=datetime.now(UTC) - 2 * HOUR))
    with alone(store, "flow.x", "op2", HOUR):
        pass


def test_a_refresh_is_refused_while_another_one_runs(store: sessionmaker[Session], tmp_path: Path) -> None:
    with store.begin() as s:
        s.add(RunLock(name=FLOW, holder="kaigo-bridge 1234abcd", taken_at=datetime.now(UTC)))
    keyring = Keyring.create(tmp_path / "keys")
    with pytest.raises(InFlight, match=r"another run is going on .* kaigo-bridge 1234abcd"):
        refresh(store, keyring, PayloadStore(tmp_path / "payloads", keyring), batch_size=10, actor="op1",
                everyone=True, day=date(2026, 11, 26))
    with store.begin() as s:
        s.execute(update(RunLock).values(taken_at=datetime.now(UTC) - timedelta(hours=3)))
    outcome = refresh(store, keyring, PayloadStore(tmp_path / "payloads", keyring), batch_size=10, actor="op1",
                      everyone=True, day=date(2026, 11, 26))
    assert outcome.persons == 0  # an empty store: nothing to send, but the dead run's lock did not stop it
