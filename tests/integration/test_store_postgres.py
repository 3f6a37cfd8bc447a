"""Core store on a real PostgreSQL (fresh database per test from the ``pg_url`` fixture)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, inspect, select, text
from sqlalchemy.orm import Session, sessionmaker

from fixtures.population import generate, load
from store import schema
from store.engine import make_engine
from store.models import Atena, Base, Fuka, FukaKibetsu, Outbox, Shikaku
from store.mynumber import MyNumberCipher
from store.sessions import find_by_kojin_bango

pytestmark = pytest.mark.postgres

CIPHER = MyNumberCipher(bytes(range(32)), bytes(range(50, 82)))


def test_migration_matches_the_models_on_postgres(pg_url: str) -> None:
    assert schema.current(pg_url) is None
    schema.upgrade(pg_url)
    assert schema.current(pg_url) == schema.head()
    engine = make_engine(pg_url)
    try:
        assert set(inspect(engine).get_table_names()) == set(Base.metadata.tables) | {"alembic_version"}
        with engine.connect() as conn:
            opts = {"compare_type": True, "compare_server_default": True}
            assert compare_metadata(MigrationContext.configure(conn, opts=opts), Base.metadata) == []
    finally:
        engine.dispose()
    schema.downgrade(pg_url, "base")
    schema.upgrade(pg_url)
    assert schema.is_current(pg_url)


def test_load_and_look_up_on_postgres(pg_store: sessionmaker[Session]) -> None:
    store = pg_store
    people = list(generate(500, seed=31, nendo=2025))
    counts = load(store, CIPHER, 500, seed=31, nendo=2025, batch=200)
    with_premium = [p for p in people if p.premium is not None]
    assert (counts.atena, counts.shikaku, counts.fuka) == (500, 500, len(with_premium))
    assert counts.fuka_kibetsu == sum(len(p.premium.kibetsu) for p in with_premium if p.premium)
    with store() as s:
        assert s.scalar(select(func.count()).select_from(Atena)) == 500
        assert s.scalar(select(func.count()).select_from(Shikaku)) == 500
        assert s.scalar(select(func.count()).select_from(Fuka)) == counts.fuka
        assert s.scalar(select(func.count()).select_from(FukaKibetsu)) == counts.fuka_kibetsu
        for sample in (people[0], people[250], people[499]):
            found = find_by_kojin_bango(s, CIPHER, sample.kojin_bango)
            assert found is not None and found.atena_no == sample.atena_no
            assert found.name_kanji == sample.name_kanji
        # Every stored row as PostgreSQL prints it (bytea in hex): no 個人番号 in clear.
        rows = " ".join(
            row
            for table in ("atena", "shikaku", "fuka")
            for row in s.execute(text(f"SELECT t::text FROM {table} t")).scalars()
        )
        assert people[0].hihokensha_no in rows  # the scan sees clear identifiers
        assert [p.atena_no for p in people if p.kojin_bango in rows] == []


def test_timestamps_are_timestamptz_in_utc(pg_store: sessionmaker[Session]) -> None:
    store = pg_store
    jst = timezone(timedelta(hours=9))
    with store.begin() as s:
        s.add(Outbox(id="e1", route="r", kind="k", key="0000000001", body=b"x",
                     created_at=datetime(2025, 4, 1, 9, 0, tzinfo=jst)))  # fmt: skip
    with store() as s:
        row = s.get(Outbox, "e1")
        assert row is not None and row.created_at == datetime(2025, 4, 1, 0, 0, tzinfo=UTC)
        assert row.created_at.utcoffset() == timedelta(0)
        kind = s.execute(
            text("SELECT data_type FROM information_schema.columns WHERE table_name = 'outbox' "
                 "AND column_name = 'created_at'")
        ).scalar_one()  # fmt: skip
        assert kind == "timestamp with time zone"
