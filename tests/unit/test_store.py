"""Core store on SQLite: the Alembic migration, the models it must match, 個人番号 look-up and
rotation, and a population load that leaves no 個人番号 in clear in the database files."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, inspect, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from fixtures.population import generate, load
from store import schema
from store.engine import make_engine
from store.identifiers import InvalidKojinBango
from store.models import Atena, Base, Fuka, FukaKibetsu, Outbox, Shikaku
from store.mynumber import MyNumberCipher
from store.sessions import (
    find_by_kojin_bango,
    reveal_kojin_bango,
    rotate_kojin_bango_key,
    set_kojin_bango,
)

TABLES = {
    "atena", "shikaku", "fuka", "fuka_kibetsu", "outbox", "inbox", "transfer", "change_journal",
    "custody_pending", "handover", "nintei", "futan_wariai", "shikyu_gendogaku", "kyotaku_keikaku",
    "futan_gendogaku", "kyufu_jisseki", "kyufu_meisai", "kyufu_shukei", "quarantine", "kokuho_ido",
    "kokuho_ido_file", "totsugo_kekka", "tokucho_taisho", "tokucho_irai", "tokucho_kekka", "shuno",
    "tokucho_tsuchi", "jushochi_tokurei", "teikyo_kiroku", "chukan_provision", "chukan_approval", "fukuhon_state",
    "shokai", "shotoku", "run_lock", "vendor_answer", "handover_notice", "handover_return",
}  # fmt: skip
CIPHER = MyNumberCipher(bytes(range(32)), bytes(range(50, 82)))


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'core.db'}"


# ``store`` (tests/conftest.py) is the same file as ``url``, migrated to head.


def person(atena_no: str, number: str | None = None) -> Atena:
    a = Atena(
        atena_no=atena_no, setai_no="0" * 15, name_kanji="世田谷\u3000花子",
        name_kana="セタガヤ\u3000ハナコ", birth_date=date(1950, 5, 5), sex="2", postal_code="1540017",
        address="東京都世田谷区世田谷四丁目２１番２７号",
    )  # fmt: skip
    if number is not None:
        set_kojin_bango(a, CIPHER, number)
    return a


def test_migration_creates_the_tables_and_records_the_revision(url: str) -> None:
    assert schema.current(url) is None
    schema.upgrade(url)
    assert schema.current(url) == schema.head() == "0021"
    assert schema.is_current(url)
    engine = make_engine(url)
    try:
        assert set(inspect(engine).get_table_names()) == TABLES | {"alembic_version"}
    finally:
        engine.dispose()


def test_migration_matches_the_models(url: str) -> None:
    schema.upgrade(url)
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            opts = {"compare_type": True, "compare_server_default": True}
            ctx = MigrationContext.configure(conn, opts=opts)
            assert compare_metadata(ctx, Base.metadata) == []
    finally:
        engine.dispose()
    assert set(Base.metadata.tables) == TABLES


def test_downgrade_and_upgrade_again(url: str) -> None:
    schema.upgrade(url)
    schema.downgrade(url, "base")
    assert schema.current(url) is None
    engine = make_engine(url)
    try:
        assert set(inspect(engine).get_table_names()) == {"alembic_version"}
    finally:
        engine.dispose()
    schema.upgrade(url)
    assert schema.current(url) == "0021"
    schema.downgrade(url, "0001")
    assert "batch" not in {c["name"] for c in inspect(make_engine(url)).get_columns("transfer")}
    assert "handover" not in inspect(make_engine(url)).get_table_names()
    schema.upgrade(url)
    assert schema.current(url) == "0021"


def test_constraints_are_named_by_convention(store: sessionmaker[Session]) -> None:
    insp = inspect(store.kw["bind"])
    assert insp.get_pk_constraint("atena")["name"] == "pk_atena"
    assert {u["name"] for u in insp.get_unique_constraints("fuka")} == {"uq_fuka_nendo_atena_no"}
    assert {i["name"] for i in insp.get_indexes("outbox")} == {"ix_outbox_status_created_at_id"}


def test_find_by_kojin_bango(store: sessionmaker[Session]) -> None:
    with store.begin() as s:
        s.add_all([person("000000000000001", "123456789018"), person("000000000000002", "111111111118")])
        s.add(person("000000000000003"))  # no number known yet
    with store() as s:
        found = find_by_kojin_bango(s, CIPHER, "111111111118")
        assert found is not None and found.atena_no == "000000000000002"
        assert reveal_kojin_bango(found, CIPHER) == "111111111118"
        assert find_by_kojin_bango(s, CIPHER, "000000000019") is None
        with pytest.raises(InvalidKojinBango):
            find_by_kojin_bango(s, CIPHER, "123456789019")
        blank = s.get(Atena, "000000000000003")
        assert blank is not None and reveal_kojin_bango(blank, CIPHER) is None


def test_one_number_one_person(store: sessionmaker[Session]) -> None:
    with pytest.raises(IntegrityError, match="kojin_bango_index"), store.begin() as s:
        s.add_all([person("000000000000001", "123456789018"), person("000000000000002", "123456789018")])


def test_blob_and_index_go_together(store: sessionmaker[Session]) -> None:
    a = person("000000000000001")
    a.kojin_bango_enc = CIPHER.encrypt("123456789018")
    with pytest.raises(IntegrityError, match="kojin_bango_pair"), store.begin() as s:
        s.add(a)


def test_code_check_constraints(store: sessionmaker[Session]) -> None:
    a = person("000000000000001")
    a.sex = "3"
    with pytest.raises(IntegrityError, match="sex_code"), store.begin() as s:
        s.add(a)


def test_timestamps_are_utc_and_naive_ones_refused(store: sessionmaker[Session]) -> None:
    jst = timezone(timedelta(hours=9))
    with store.begin() as s:
        s.add(Outbox(id="e1", route="r", kind="k", key="0000000001", body=b"x",
                     created_at=datetime(2025, 4, 1, 9, 0, tzinfo=jst)))  # fmt: skip
    with store() as s:
        row = s.get(Outbox, "e1")
        assert row is not None
        assert row.created_at == datetime(2025, 4, 1, 0, 0, tzinfo=UTC)
        assert row.created_at.tzinfo == UTC
        assert row.status == "pending" and row.attempts == 0
        stored = s.execute(text("SELECT created_at FROM outbox")).scalar_one()
        assert str(stored).startswith("2025-04-01 00:00:00")
    with pytest.raises(Exception, match="naive datetime"), store.begin() as s:
        s.add(Outbox(id="e2", route="r", kind="k", key="k", body=b"x", created_at=datetime(2025, 4, 1)))


def test_key_rotation_re_encrypts_and_resumes(store: sessionmaker[Session]) -> None:
    numbers = {f"{i:015d}": p.kojin_bango for i, p in enumerate(generate(25, seed=5, nendo=2025))}
    with store.begin() as s:
        s.add_all(person(a, n) for a, n in numbers.items())
    new = MyNumberCipher(bytes(range(200, 232)), bytes(range(50, 82)), key_id=2)
    assert rotate_kojin_bango_key(store, CIPHER, new, batch=10) == 25
    assert rotate_kojin_bango_key(store, CIPHER, new, batch=10) == 0  # already done
    with store() as s:
        for a in s.scalars(select(Atena)):
            assert a.kojin_bango_enc is not None and a.kojin_bango_enc[0] == 2
            assert new.decrypt(a.kojin_bango_enc) == numbers[a.atena_no]
        # The blind index depends on the index key only: look-up still works.
        some = next(iter(numbers.values()))
        assert find_by_kojin_bango(s, new, some) is not None
    with pytest.raises(ValueError, match="key id"):
        rotate_kojin_bango_key(store, new, new)


def test_load_population_counts_and_no_plaintext(tmp_path: Path, store: sessionmaker[Session]) -> None:
    people = list(generate(2000, seed=11, nendo=2025))
    counts = load(store, CIPHER, 2000, seed=11, nendo=2025, batch=700)
    expected_fuka = [p for p in people if p.premium is not None]
    expected_kibetsu = sum(len(p.premium.kibetsu) for p in expected_fuka if p.premium)
    assert (counts.atena, counts.shikaku, counts.fuka, counts.fuka_kibetsu) == (
        2000, 2000, len(expected_fuka), expected_kibetsu,
    )  # fmt: skip
    assert 1500 < len(expected_fuka) < 1900
    with store() as s:
        assert s.scalar(select(func.count()).select_from(Atena)) == 2000
        assert s.scalar(select(func.count()).select_from(Shikaku)) == 2000
        assert s.scalar(select(func.count()).select_from(Fuka)) == len(expected_fuka)
        assert s.scalar(select(func.count()).select_from(FukaKibetsu)) == expected_kibetsu
        # 期別額 add up to 年額 in the database too.
        mismatched = s.execute(
            select(Fuka.id)
            .join(FukaKibetsu, FukaKibetsu.fuka_id == Fuka.id)
            .group_by(Fuka.id, Fuka.nengaku)
            .having(func.sum(FukaKibetsu.amount) != Fuka.nengaku)
        ).all()
        assert mismatched == []
        sample = people[1234]
        found = find_by_kojin_bango(s, CIPHER, sample.kojin_bango)
        assert found is not None and found.atena_no == sample.atena_no
        assert found.name_kanji == sample.name_kanji  # out-of-BMP characters survive too
    store.kw["bind"].dispose()
    raw = b"".join(f.read_bytes() for f in tmp_path.iterdir() if f.name.startswith("core.db"))
    # Positive control: the scan does see plain identifiers that are stored in clear.
    assert sample.hihokensha_no.encode() in raw
    leaked = [p.atena_no for p in people if p.kojin_bango.encode() in raw]
    assert leaked == []


def test_load_refuses_a_bad_batch(store: sessionmaker[Session]) -> None:
    with pytest.raises(ValueError, match="batch"):
        load(store, CIPHER, 10, seed=1, nendo=2025, batch=0)
