"""Events into the outbox a batch at a time (queues.outbox.enqueue_many, adapters.core.journal.
announce_many, fixtures.activity.change_shikaku) on a real SQLite store: each row is stored as the
ORM stored one (sealed to its own id and route, pending, no attempt), the ids are new and distinct,
and the events commit with their change or not at all: a failure part-way through the batch's
INSERT leaves neither the change nor any event. tests/integration/test_outbox_postgres.py runs the
store-independent ones again on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import exc, func, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from adapters.core.journal import Change, announce_many
from fixtures.activity import change_shikaku
from fixtures.population import load
from queues.crypto import IntegrityError, Keyring
from queues.message import Message, open_body
from queues.outbox import Event, enqueue, enqueue_many
from store.models import Outbox, Shikaku
from store.mynumber import MyNumberCipher

CIPHER = MyNumberCipher(bytes(range(32)), bytes(range(50, 82)))


@pytest.fixture
def keyring(tmp_path: Path) -> Keyring:
    return Keyring.create(tmp_path / "keys")


@pytest.fixture
def people(store: sessionmaker[Session]) -> sessionmaker[Session]:
    """The store with a small population (its 資格 rows are what the changes touch)."""
    load(store, CIPHER, people=20, seed=3, nendo=2026)
    return store


def outbox(store: sessionmaker[Session]) -> list[Outbox]:
    with store() as s:
        return list(s.scalars(select(Outbox).order_by(Outbox.id)))


def stamps(store: sessionmaker[Session]) -> dict[str, Any]:
    with store() as s:
        return {key: at for key, at in s.execute(select(Shikaku.hihokensha_no, Shikaku.updated_at))}


def test_a_batch_is_stored_pending_each_body_sealed_to_its_own_id(store: sessionmaker[Session],
                                                                   keyring: Keyring) -> None:
    events = [Event("core.changes", "shikaku.changed", "0000000001", {"n": 1}),
              Event("kokuho.ido", "deliver", "t-1", {"n": 2}, transfer_id="t-1")]
    before = datetime.now(UTC)
    with store.begin() as s:
        ids = enqueue_many(s, keyring, events)
    after = datetime.now(UTC)
    rows = {r.id: r for r in outbox(store)}
    assert list(rows) == sorted(ids)
    for message_id, event in zip(ids, events, strict=True):
        row = rows[message_id]
        assert (row.route, row.kind, row.key, row.transfer_id) == (event.route, event.kind, event.key,
                                                                   event.transfer_id)
        assert (row.status, row.attempts, row.claimed_by, row.claimed_until, row.published_at) == ("pending", 0,
                                                                                                    None, None, None)
        assert before <= row.created_at <= after
        assert open_body(keyring, Message(row.id, row.route, row.kind, row.body)) == event.content
        assert b'"n":' not in row.body  # sealed, not the JSON
    first, second = (rows[i] for i in ids)
    with pytest.raises(IntegrityError):  # a body moved under another event's id does not open
        open_body(keyring, Message(second.id, first.route, first.kind, first.body))


def test_ids_are_new_distinct_and_time_ordered(store: sessionmaker[Session], keyring: Keyring) -> None:
    with store.begin() as s:
        ids = enqueue_many(s, keyring, (Event("r", "k", f"{n:010d}", {"n": n}) for n in range(500)))
        ids += enqueue_many(s, keyring, [])
        single = enqueue(s, keyring, "r", "k", "0000000500", {"n": 500})
    assert len(set(ids)) == 500 and ids == sorted(ids) and single > ids[-1]
    with store() as s:
        keys = {message_id: key for message_id, key in s.execute(select(Outbox.id, Outbox.key))}
    assert [keys[i] for i in [*ids, single]] == [f"{n:010d}" for n in range(501)]


def test_a_failure_part_way_through_the_batch_leaves_neither_the_change_nor_any_event(
        people: sessionmaker[Session], keyring: Keyring) -> None:
    before = stamps(people)
    events = [Event("core.changes", "shikaku.changed", key, {"entity_key": key}) for key in sorted(before)]
    events[10] = Event("core.changes", "shikaku.changed", None, {})  # type: ignore[arg-type]  # key NOT NULL
    with pytest.raises(exc.IntegrityError), people.begin() as s:
        s.execute(update(Shikaku).values(updated_at=datetime.now(UTC)))
        enqueue_many(s, keyring, events)
    assert outbox(people) == []
    assert stamps(people) == before


def test_change_shikaku_commits_a_batch_with_its_events_or_neither(people: sessionmaker[Session],
                                                                    keyring: Keyring) -> None:
    """A real store failure after the batch's first 500 rows went in (a trigger refusing the 501st)."""
    before = stamps(people)
    with people.begin() as s:
        s.execute(text("CREATE TRIGGER outbox_full BEFORE INSERT ON outbox "
                       "WHEN (SELECT count(*) FROM outbox) >= 500 BEGIN SELECT RAISE(ABORT, 'outbox full'); END"))
    with pytest.raises(exc.IntegrityError):
        change_shikaku(people, keyring, 1000, seed=4, batch=1000)
    assert outbox(people) == []
    assert stamps(people) == before
    with people.begin() as s:
        s.execute(text("DROP TRIGGER outbox_full"))
    ids = change_shikaku(people, keyring, 1000, seed=4, batch=1000)
    rows = outbox(people)
    assert sorted(ids) == [r.id for r in rows]
    changed = {key for key, at in stamps(people).items() if at != before[key]}
    assert changed == {r.key for r in rows}


def test_an_unknown_kind_is_refused_before_any_event_is_written(store: sessionmaker[Session],
                                                                keyring: Keyring) -> None:
    with store.begin() as s:
        with pytest.raises(ValueError, match="change kind"):
            announce_many(s, keyring, [Change("shikaku", "0000000001", "changed"),
                                       Change("shikaku", "0000000002", "moved")])
        assert s.scalar(select(func.count()).select_from(Outbox)) == 0
