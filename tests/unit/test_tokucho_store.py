"""特別徴収 and 収納 tables (migration 0009) on SQLite: upgrade and downgrade, the CHECKs, the
unique keys that make a file received or applied twice change nothing, no 個人番号 column.

The checks are plain functions of a URL so that tests/integration/test_tokucho_store_postgres.py
runs the same ones on a real PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from store import schema
from store.engine import make_engine
from store.models import Atena, Base, Shuno, TokuchoIrai, TokuchoKekka, TokuchoTaisho, Transfer
from store.sessions import open_store

TOKUCHO_TABLES = {"tokucho_taisho", "tokucho_irai", "tokucho_kekka", "shuno"}
T0 = datetime(2026, 5, 20, 1, 0, tzinfo=UTC)


def tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def atena(atena_no: str) -> Atena:
    return Atena(atena_no=atena_no, setai_no="0" * 15, name_kanji="世田谷\u3000一郎",
                 name_kana="セタガヤ\u3000イチロウ", birth_date=date(1950, 5, 5), sex="1", postal_code="1540017",
                 address="東京都世田谷区", kiso_nenkin_no="1234567890", nenkin_code="1150")  # fmt: skip


def transfer(transfer_id: str, flow: str = "nenkin.z11", direction: str = "in") -> Transfer:
    return Transfer(id=transfer_id, flow=flow, partner="keiyu", direction=direction, sha256="0" * 64, size=1,
                    key_id="k", payload_ref=transfer_id, state="applied", created_at=T0, updated_at=T0)


def taisho(**change: Any) -> TokuchoTaisho:
    values: dict[str, Any] = dict(
        nendo=2026, hosoku_month="04", tsuchi_naiyo_code="00", gimusha_code="001", kiso_nenkin_no="1234567890",
        nenkin_code="1150", birth_date=date(1950, 5, 5), sex="1", name_kana="ｾﾀｶﾞﾔ ｲﾁﾛｳ", kingaku1=1_200_000,
        kingaku2=0, kingaku3=0, atena_no="000000000000001", match_state="matched", transfer_id="z11-a",
    )  # fmt: skip
    return TokuchoTaisho(**{**values, **change})


def irai(**change: Any) -> TokuchoIrai:
    values: dict[str, Any] = dict(
        nendo=2026, ki=4, atena_no="000000000000001", hihokensha_no="0000000001", gimusha_code="001",
        kiso_nenkin_no="1234567890", nenkin_code="1150", irai_amount=12_300, tsuchi_naiyo_code="00",
        status="sent", transfer_id="z12-a",
    )  # fmt: skip
    return TokuchoIrai(**{**values, **change})


def kekka(**change: Any) -> TokuchoKekka:
    values: dict[str, Any] = dict(
        nendo=2026, ki=4, kiso_nenkin_no="1234567890", nenkin_code="1150", file_kind="Z14",
        tsuchi_naiyo_code="22", shori_kekka="00", tenbiki_amount=12_300, transfer_id="z14-a",
    )  # fmt: skip
    return TokuchoKekka(**{**values, **change})


def shuno(**change: Any) -> Shuno:
    values: dict[str, Any] = dict(hihokensha_no="0000000001", nendo=2026, ki=4, amount=12_300,
                                  shuno_date=date(2026, 10, 15), source="tokucho", source_key="tokucho/1",
                                  transfer_id="z14-a")  # fmt: skip
    return Shuno(**{**values, **change})


def seed(store: sessionmaker[Session]) -> None:
    """One person and the files the rows refer to."""
    with store.begin() as s:
        s.add_all([atena("000000000000001"), atena("000000000000002")])
        s.add_all([transfer("z11-a"), transfer("z11-b"), transfer("z12-a", "nenkin.z12", "out"),
                   transfer("z14-a", "nenkin.z14"), transfer("z14-b", "nenkin.z14")])


# --- checks shared with the PostgreSQL run ------------------------------------------------------


def check_upgrade_and_downgrade(url: str) -> None:
    schema.upgrade(url, "0008")
    assert not TOKUCHO_TABLES & tables(url)
    schema.upgrade(url, "0009")
    assert schema.current(url) == "0009"
    assert TOKUCHO_TABLES <= tables(url)
    store = open_store(url)
    try:
        with store.begin() as s:
            # Only the columns 0009 has: later revisions add to atena (0013).
            person = atena("000000000000001")
            s.execute(insert(Atena).values({c.key: getattr(person, c.key) for c in Atena.__table__.columns
                                            if getattr(person, c.key) is not None}))
            s.add(transfer("z11-a"))
            s.add(taisho())
    finally:
        store.kw["bind"].dispose()
    schema.downgrade(url, "0008")
    assert not TOKUCHO_TABLES & tables(url)
    store = open_store(url)
    try:  # what 0008 had stays: the downgrade took only its own tables
        with store() as s:
            assert s.scalars(select(Atena.atena_no)).all() == ["000000000000001"]
            assert s.scalars(select(Transfer.id)).all() == ["z11-a"]
    finally:
        store.kw["bind"].dispose()
    schema.upgrade(url, "0009")
    assert schema.current(url) == "0009" and TOKUCHO_TABLES <= tables(url)


# (what breaks the rule, the constraint that must name it)
VIOLATIONS: list[tuple[str, Callable[[], Base], str]] = [
    ("taisho 捕捉月", lambda: taisho(hosoku_month="05"), "ck_tokucho_taisho_hosoku_month_code"),
    ("taisho sex", lambda: taisho(sex="3"), "ck_tokucho_taisho_sex_code"),
    ("taisho match state", lambda: taisho(match_state="guessed"), "ck_tokucho_taisho_match_state_code"),
    ("matched without 宛名", lambda: taisho(atena_no=None), "ck_tokucho_taisho_matched_has_atena"),
    ("unmatched with 宛名", lambda: taisho(match_state="unmatched"), "ck_tokucho_taisho_matched_has_atena"),
    ("ambiguous with 宛名", lambda: taisho(match_state="ambiguous"), "ck_tokucho_taisho_matched_has_atena"),
    ("taisho 金額 < 0", lambda: taisho(kingaku3=-1), "ck_tokucho_taisho_kingaku_not_negative"),
    ("irai 期 0", lambda: irai(ki=0), "ck_tokucho_irai_ki_range"),
    ("irai 期 7", lambda: irai(ki=7), "ck_tokucho_irai_ki_range"),
    ("irai 依頼額 < 0", lambda: irai(irai_amount=-1), "ck_tokucho_irai_irai_amount_not_negative"),
    ("irai status", lambda: irai(status="lost"), "ck_tokucho_irai_status_code"),
    ("sent without a file", lambda: irai(transfer_id=None), "ck_tokucho_irai_sent_in_a_transfer"),
    ("kekka 期 7", lambda: kekka(ki=7), "ck_tokucho_kekka_ki_range"),
    ("kekka file", lambda: kekka(file_kind="Z12"), "ck_tokucho_kekka_file_kind_code"),
    ("kekka 天引額 < 0", lambda: kekka(tenbiki_amount=-5), "ck_tokucho_kekka_tenbiki_amount_not_negative"),
    ("shuno 期 13", lambda: shuno(ki=13), "ck_shuno_ki_range"),
    ("shuno 金額 < 0", lambda: shuno(amount=-1), "ck_shuno_amount_not_negative"),
    ("shuno source", lambda: shuno(source="bank"), "ck_shuno_source_code"),
]


def check_constraints(store: sessionmaker[Session]) -> None:
    seed(store)
    with store.begin() as s:  # the valid forms are accepted, including the edges
        s.add_all([taisho(), taisho(hosoku_month="02", tsuchi_naiyo_code="30", match_state="ambiguous",
                                    atena_no=None), irai(ki=1, status="pending", transfer_id=None), irai(ki=6)])
        s.add_all([kekka(), kekka(file_kind="Z13", tsuchi_naiyo_code="99", tenbiki_amount=None),
                   shuno(ki=12, amount=0, source="futsucho", source_key="futsucho/1", transfer_id=None)])
    for what, make, constraint in VIOLATIONS:
        try:
            with store.begin() as s:
                s.add(make())
        except IntegrityError as exc:
            assert constraint in str(exc), (what, str(exc))
        else:
            pytest.fail(f"{what}: accepted, {constraint} did not fire")


def unique_violation(name: str) -> str:
    """PostgreSQL names the violated constraint; SQLite lists its columns instead."""
    table, constraint = next((t, c) for t in Base.metadata.tables.values() for c in t.constraints if c.name == name)
    columns = ", ".join(f"{table.name}.{c.name}" for c in constraint.columns)  # type: ignore[attr-defined]
    return f"{name}|UNIQUE constraint failed: {columns}\\n"


def check_received_again_changes_nothing(store: sessionmaker[Session]) -> None:
    seed(store)
    with store.begin() as s:
        s.add_all([taisho(), irai(), kekka(), shuno()])
    again: list[tuple[Callable[[], Base], str]] = [
        # the same Z11 record in a file received again (another transfer)
        (lambda: taisho(transfer_id="z11-b"), "uq_tokucho_taisho_nendo_kiso_nenkin_no_nenkin_code_hosoku_month"),
        (lambda: irai(irai_amount=1), "uq_tokucho_irai_nendo_ki_atena_no"),
        # the same 天引結果 applied from a second copy of the file
        (lambda: kekka(transfer_id="z14-b"), "uq_tokucho_kekka_per_notice"),
        (lambda: shuno(transfer_id="z14-b"), "uq_shuno_source_key"),
    ]
    for make, constraint in again:
        with pytest.raises(IntegrityError, match=unique_violation(constraint)), store.begin() as s:
            s.add(make())
    with store.begin() as s:  # what differs in a key is another row
        s.add_all([taisho(hosoku_month="06", transfer_id="z11-b"), irai(ki=5), irai(atena_no="000000000000002"),
                   kekka(tsuchi_naiyo_code="41"), kekka(ki=5), shuno(source_key="tokucho/2")])
    with store() as s:
        counts = [len(s.scalars(select(m)).all()) for m in (TokuchoTaisho, TokuchoIrai, TokuchoKekka, Shuno)]
    assert counts == [2, 3, 3, 2]


def check_no_kojin_bango_column() -> None:
    for name in TOKUCHO_TABLES:
        columns = {c.name for c in Base.metadata.tables[name].columns}
        assert not {c for c in columns if "kojin" in c or "mynumber" in c}, (name, columns)


# --- SQLite ---------------------------------------------------------------------------------------


def test_migration_0009_upgrades_and_downgrades(tmp_path: Path) -> None:
    check_upgrade_and_downgrade(f"sqlite:///{tmp_path / 'core.db'}")


def test_check_constraints(store: sessionmaker[Session]) -> None:
    check_constraints(store)


def test_a_file_received_or_applied_again_changes_nothing(store: sessionmaker[Session]) -> None:
    check_received_again_changes_nothing(store)


def test_no_kojin_bango_in_the_tokucho_tables() -> None:
    check_no_kojin_bango_column()
