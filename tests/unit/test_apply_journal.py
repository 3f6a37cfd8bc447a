"""The core.changes apply path on a real store: a batch written with one INSERT per table keeps
every guard of the one-by-one path (inbox de-duplication, one custody entry per applied event,
the fallback to one message at a time when a batch fails), and custody moved later is moved once."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from adapters.core.journal import ROUTE, JournalHandler
from queues import handover_log
from queues.apply import Applier
from queues.crypto import Keyring
from queues.custody import CustodyLog
from queues.message import Message, seal_body
from store.models import ChangeJournal, CustodyPending, Inbox


@pytest.fixture
def keyring(tmp_path: Path) -> Keyring:
    return Keyring.create(tmp_path / "keys")


@pytest.fixture
def custody(tmp_path: Path) -> Iterator[CustodyLog]:
    key = tmp_path / "custody-signing.pem"
    CustodyLog.create_signing_key(key)
    log = CustodyLog(f"sqlite:///{tmp_path / 'custody.db'}", signing_key_path=key)
    log.create_schema()
    yield log
    log.dispose()


@pytest.fixture
def applier(store: sessionmaker[Session], keyring: Keyring, custody: CustodyLog) -> Applier:
    return Applier(ROUTE, store, JournalHandler(keyring, "worker:test"), "worker:test",
                   after_commit=lambda: handover_log.flush(store, custody))


def _events(keyring: Keyring, n: int) -> list[Message]:
    messages = []
    for i in range(n):
        message_id = str(uuid.uuid4())
        content = {"entity": "shikaku", "entity_key": f"{i:010d}", "kind": "changed",
                   "occurred_at": datetime.now(UTC).isoformat()}
        messages.append(Message(id=message_id, route=ROUTE, kind="shikaku.changed",
                                body=seal_body(keyring, message_id, ROUTE, content)))
    return messages


def _count(store: sessionmaker[Session], model: type) -> int:
    with store() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_a_batch_takes_effect_once_with_one_custody_entry_each(store: sessionmaker[Session], keyring: Keyring,
                                                               custody: CustodyLog, applier: Applier) -> None:
    batch = _events(keyring, 300)
    assert applier.apply(batch, move_custody=False) == []
    # Committed with the effect, not yet in the log.
    assert (_count(store, ChangeJournal), _count(store, Inbox), _count(store, CustodyPending)) == (300, 300, 300)
    assert custody.count_by_event() == {}
    applier.move_custody()
    assert _count(store, CustodyPending) == 0
    assert custody.count_by_event() == {"applied": 300}

    # Redelivered (the whole batch, and part of it with new ones, one twice): only the new take effect.
    more = _events(keyring, 50)
    assert applier.apply(batch) == []
    assert applier.apply([*batch[:100], *more, more[0]]) == []
    with store() as s:
        assert set(s.scalars(select(ChangeJournal.event_id))) == {m.id for m in batch + more}
    assert _count(store, ChangeJournal) == 350 and _count(store, Inbox) == 350
    assert custody.count_by_event() == {"applied": 350}
    entry = custody.chain(batch[0].id)
    assert [(e.event, e.partner, e.record_count, e.dedup_key) for e in entry] == [
        ("applied", "core", 1, f"{ROUTE}:{batch[0].id}:applied")]
    assert custody.verify().ok


def test_a_failing_batch_falls_back_to_one_by_one(store: sessionmaker[Session], keyring: Keyring,
                                                  custody: CustodyLog, applier: Applier) -> None:
    batch = _events(keyring, 20)
    # A body moved under another id does not open: that message fails, the other 19 take effect.
    bad = replace(batch[7], id=str(uuid.uuid4()))
    failures = applier.apply([*batch[:7], bad, *batch[8:]])
    assert [(f.message.id, f.permanent) for f in failures] == [(bad.id, True)]
    with store() as s:
        applied = set(s.scalars(select(ChangeJournal.event_id)))
        inbox = set(s.scalars(select(Inbox.message_id)))
    expected = {m.id for m in batch} - {batch[7].id}
    assert applied == inbox == expected
    assert custody.count_by_event() == {"applied": 19}
    assert _count(store, CustodyPending) == 0
