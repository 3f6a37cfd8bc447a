"""One run at a time across processes (an operator's command and a worker's round alike).

A row of run_lock is the lock: inserting it (primary key = the run's name) succeeds for one
holder only, in SQLite and PostgreSQL alike. A run that died leaves its row; past its lease the
next run takes it over (the lease is far longer than any run).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from store.models import RunLock


class Busy(Exception):
    """Another run of the same name holds the lock."""


@contextmanager
def alone(sessions: sessionmaker[Session], name: str, actor: str, lease: timedelta) -> Iterator[None]:
    now = datetime.now(UTC)
    holder = f"{actor} {uuid.uuid4().hex[:8]}"[:128]
    try:
        with sessions.begin() as s:
            s.execute(delete(RunLock).where(RunLock.name == name, RunLock.taken_at < now - lease))
            s.add(RunLock(name=name, holder=holder, taken_at=now))
    except IntegrityError:
        with sessions() as s:
            row = s.get(RunLock, name)
            since = f" since {row.taken_at:%Y-%m-%d %H:%M:%S} UTC by {row.holder}" if row is not None else ""
        raise Busy(f"{name}: another run is going on{since}") from None
    try:
        yield
    finally:
        with sessions.begin() as s:
            s.execute(delete(RunLock).where(RunLock.name == name, RunLock.holder == holder))
