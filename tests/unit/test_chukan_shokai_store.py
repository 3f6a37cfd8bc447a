"""Migration 0016 (shokai, shotoku) on SQLite: down and up again, and the constraints that keep a
query's state a known one and one income per person and 年度. Plus the 年度 arithmetic."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import inspect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from adapters.chukan.shokai import nendo_of, period
from store import schema
from store.engine import make_engine
from store.models import Atena, Shokai, Shotoku

AT = datetime(2026, 11, 26, tzinfo=UTC)


def test_0016_downgrades_and_upgrades(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'core.db'}"
    schema.upgrade(url)
    schema.downgrade(url, "0015")
    engine = make_engine(url)
    try:
        assert {"shokai", "shotoku"} & set(inspect(engine).get_table_names()) == set()
    finally:
        engine.dispose()
    schema.upgrade(url, "0016")
    engine = make_engine(url)
    try:
        assert {"shokai", "shotoku"} <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def _shokai(state: str, key: str) -> Shokai:
    return Shokai(kind="income", nendo=2026, atena_no="000000000000001", togo_atena_no="900000000000001",
                  provider_kikan="1311100000000001", jimu="JM00000000009301", tetsuzuki="JT00000000930101",
                  tm="TM00000000000201", idem_key=key, state=state, requested_by="op1", created_at=AT)


@pytest.fixture
def person(store: sessionmaker[Session]) -> sessionmaker[Session]:
    with store.begin() as s:
        s.add(Atena(atena_no="000000000000001", setai_no="0" * 15, name_kanji="世田谷\u3000一郎",
                    name_kana="セタガヤ\u3000イチロウ", birth_date=date(1955, 5, 5), sex="1", postal_code="1540017",
                    address="東京都世田谷区世田谷四丁目"))
    return store


def test_an_unknown_state_is_refused(person: sessionmaker[Session]) -> None:
    with pytest.raises(IntegrityError, match="ck_shokai_state_code"), person.begin() as s:
        s.add(_shokai("done", "8a4f6c2e-0b1d-4e5f-9a7b-1c2d3e4f5a6b"))


def test_one_key_one_query_and_one_income_per_person_and_nendo(person: sessionmaker[Session]) -> None:
    key = "8a4f6c2e-0b1d-4e5f-9a7b-1c2d3e4f5a6b"
    with person.begin() as s:
        s.add(_shokai("applied", key))
    with pytest.raises(IntegrityError, match="idem_key"), person.begin() as s:
        s.add(_shokai("pending", key))
    with person.begin() as s:
        s.add(Shotoku(nendo=2026, atena_no="000000000000001", shokai_id=1, applied_by="op1", applied_at=AT))
    with pytest.raises(IntegrityError, match=r"shotoku\.nendo, shotoku\.atena_no"), person.begin() as s:
        s.add(Shotoku(nendo=2026, atena_no="000000000000001", shokai_id=1, applied_by="op1", applied_at=AT))


@pytest.mark.parametrize(("day", "nendo"), [(date(2026, 4, 1), 2026), (date(2027, 3, 31), 2026),
                                            (date(2026, 3, 31), 2025), (date(2026, 12, 31), 2026)])
def test_nendo_runs_april_to_march(day: date, nendo: int) -> None:
    assert nendo_of(day) == nendo
    assert period(nendo) == (date(nendo, 4, 1), date(nendo + 1, 3, 31))
