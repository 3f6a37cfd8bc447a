"""情報提供等記録: each row with its custody event in one transaction, the person's records by
宛名番号 or 統合宛名番号, and purging past keep_until with a frozen clock."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from adapters.chukan import kiroku
from adapters.chukan.kiroku import Entry
from fixtures.population import Person, generate, load
from store.models import CustodyPending
from store.models.chukan import TeikyoKiroku
from store.mynumber import MyNumberCipher

CIPHER = MyNumberCipher(bytes(range(32)), bytes(range(50, 82)))
BASIS = "番号法第19条第8号 第2条の表第17項 (旧別表第2 第17項)"
AT = datetime(2026, 4, 1, 9, 30, tzinfo=UTC)


@pytest.fixture
def people(store: sessionmaker[Session]) -> list[Person]:
    load(store, CIPHER, 5, seed=3, nendo=2025)
    return list(generate(5, seed=3, nendo=2025))


def provision(togo: str, outcome: str = "answered", **kw: str | None) -> Entry:
    fields: dict[str, str | None] = {"direction": "provision", "outcome": outcome,
                                     "counterpart_kikan": "2000000000000017", "tetsuzuki": "JT00000000001701",
                                     "tm": "TM00000000000102", "by": "op-a", "togo_atena_no": togo,
                                     "jimu": "JM00000000000017", "basis": BASIS, "reference": "REQ-1"}
    fields.update(kw)
    return Entry(**fields)  # type: ignore[arg-type]


def test_a_record_has_its_custody_event_and_the_atena_no_looked_up(
        store: sessionmaker[Session], people: list[Person]) -> None:
    p = people[0]
    with store.begin() as s:
        kiroku.record(s, provision(p.togo_atena_no), records_years=7, at=AT)
    with store() as s:
        row = s.scalars(select(TeikyoKiroku)).one()
        events = s.scalars(select(CustodyPending)).all()
    assert row.atena_no == p.atena_no and row.togo_atena_no == p.togo_atena_no
    assert row.keep_until == datetime(2033, 4, 1, 9, 30, tzinfo=UTC)
    assert (row.outcome, row.actor, row.basis, row.reference) == ("answered", "op-a", BASIS, "REQ-1")
    assert [(e.event, e.actor, e.partner, e.basis) for e in events] == [
        ("provided", "op-a", "2000000000000017", BASIS)]
    assert "tm=TM00000000000102" in (events[0].detail or "") and "ref=REQ-1" in (events[0].detail or "")
    # Codes only: neither the person's numbers nor the 個人番号 are in the custody entry.
    for value in (p.kojin_bango, p.togo_atena_no, p.atena_no):
        assert all(value not in (getattr(e, f) or "") for e in events for f in ("detail", "basis", "partner"))


def test_a_rolled_back_transaction_leaves_neither(store: sessionmaker[Session], people: list[Person]) -> None:
    with pytest.raises(RuntimeError), store.begin() as s:
        kiroku.record(s, provision(people[0].togo_atena_no), records_years=7, at=AT)
        raise RuntimeError("the send failed")
    with store() as s:
        assert s.scalars(select(TeikyoKiroku)).all() == [] and s.scalars(select(CustodyPending)).all() == []


def test_refusal_off_the_list_has_a_reason_and_no_basis(store: sessionmaker[Session], people: list[Person]) -> None:
    with store.begin() as s:
        entry = provision(people[1].togo_atena_no, "refused", jimu=None, basis=None,
                          reason="提供 not on the permission list: 機関 2000000000000099")
        kiroku.record(s, entry, records_years=7, at=AT)
    with store() as s:
        row = s.scalars(select(TeikyoKiroku)).one()
        event = s.scalars(select(CustodyPending)).one()
    assert row.basis is None and row.jimu is None and "2000000000000099" in (row.reason or "")
    assert event.event == "refused" and event.basis == "not on the permission list"
    assert "reason: 提供 not on the permission list" in (event.detail or "")


@pytest.mark.parametrize(("changes", "message"), [
    ({"outcome": "sent"}, "outcome 'sent' is not one of direction 'provision'"),
    ({"direction": "query", "outcome": "held"}, "outcome 'held' is not one of direction 'query'"),
    ({"basis": None}, r"a basis \(the permission row\) or a reason"),
    ({"togo_atena_no": None}, "name the person"),
])
def test_a_bad_entry_is_refused_by_rule(store: sessionmaker[Session], changes: dict[str, str | None],
                                        message: str) -> None:
    with store.begin() as s, pytest.raises(ValueError, match=message):
        kiroku.record(s, provision("100000000000001", **changes), records_years=7, at=AT)  # type: ignore[arg-type]


def test_person_finds_rows_by_atena_no_and_by_togo(store: sessionmaker[Session], people: list[Person]) -> None:
    p, other = people[0], people[1]
    with store.begin() as s:
        kiroku.record(s, provision(p.togo_atena_no, "held"), records_years=7, at=AT)
        kiroku.record(s, Entry(direction="query", outcome="queried", counterpart_kikan="1311100000000001",
                               tetsuzuki="JT00000000930101", tm="TM00000000000201", by="op-b", atena_no=p.atena_no,
                               jimu="JM00000000009301", basis=BASIS, reference="Q-1"),
                      records_years=7, at=AT.replace(hour=11))
        kiroku.record(s, provision(other.togo_atena_no), records_years=7, at=AT)
        # A row made when the 宛名 had no 統合宛名番号 match: only the togo, found through the 宛名.
        kiroku.record(s, provision("999999999999999"), records_years=7, at=AT)
    with store() as s:
        rows = kiroku.person(s, p.atena_no)
        nobody = kiroku.person(s, "000000000000000")
    assert [(r.direction, r.outcome, r.reference) for r in rows] == [
        ("provision", "held", "REQ-1"), ("query", "queried", "Q-1")]
    assert nobody == []


def test_keep_until_adds_whole_years_and_leap_day_keeps_longer() -> None:
    assert kiroku.keep_until(datetime(2024, 2, 29, tzinfo=UTC), 7) == datetime(2031, 3, 1, tzinfo=UTC)
    assert kiroku.keep_until(datetime(2026, 12, 31, 23, 59, tzinfo=UTC), 1) == datetime(2027, 12, 31, 23, 59,
                                                                                         tzinfo=UTC)


def test_purge_expired_with_a_frozen_clock(store: sessionmaker[Session], people: list[Person]) -> None:
    with store.begin() as s:
        kiroku.record(s, provision(people[0].togo_atena_no), records_years=7, at=datetime(2019, 5, 1, tzinfo=UTC))
        kiroku.record(s, provision(people[1].togo_atena_no), records_years=7, at=datetime(2019, 6, 1, tzinfo=UTC))
        kiroku.record(s, provision(people[2].togo_atena_no), records_years=7, at=datetime(2020, 1, 1, tzinfo=UTC))
    with store.begin() as s:
        assert kiroku.purge_expired(s, datetime(2026, 5, 1, tzinfo=UTC)) == 0  # due, not past
    with store.begin() as s:
        assert kiroku.purge_expired(s, datetime(2026, 6, 15, tzinfo=UTC), by="retention-run") == 2
    with store() as s:
        left = [r.togo_atena_no for r in s.scalars(select(TeikyoKiroku))]
        purged = s.scalars(select(CustodyPending).where(CustodyPending.event == "purged")).all()
    assert left == [people[2].togo_atena_no]
    assert [(e.record_count, e.actor, e.detail) for e in purged] == [(2, "retention-run", "teikyo_kiroku")]
