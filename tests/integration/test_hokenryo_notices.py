"""保険料決定通知書 records from the store, on SQLite and on a real PostgreSQL.

The query is shaped for speed (adapters/vendor/hokenryo.py: ``nendo + 0``, a scalar subquery
per 期); the records must still be exactly what the loaded people imply, in 賦課 id order, on
both stores. Expected records are built from the generated people themselves, not by a query.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from adapters.vendor import hokenryo
from fixtures.population import Person, generate, load
from store import schema
from store.models import TOKUCHO, Atena, Fuka
from store.models.atena import SOFU_HELD, SOFU_RETURNED
from store.mynumber import MyNumberCipher
from store.sessions import open_store

CIPHER = MyNumberCipher(bytes(range(32)), bytes(range(50, 82)))
NENDO, SEED, PEOPLE = 2026, 43, 400
ISSUE = date(2026, 7, 10)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    url = f"sqlite:///{tmp_path / 'store.db'}" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    schema.upgrade(url)
    sessions = open_store(url)
    load(sessions, CIPHER, PEOPLE, seed=SEED, nendo=NENDO, batch=150)
    yield sessions
    sessions.kw["bind"].dispose()


def expected(people: list[Person], ids: dict[str, int], stopped: set[str]) -> list[dict[str, Any]]:
    out = []
    for p in people:
        if p.premium is None or p.atena_no in stopped:
            continue
        kibetsu = dict(enumerate(p.premium.kibetsu, start=1))
        out.append({
            "notice_no": f"26{ids[p.atena_no]:08d}", "nendo": NENDO, "atena_no": p.atena_no,
            "hihokensha_no": p.hihokensha_no, "postal_code": p.sofu_postal_code or p.postal_code,
            "address": p.sofu_address or p.address, "name_kanji": p.name_kanji, "name_kana": p.name_kana,
            "dankai": p.premium.dankai, "nengaku": p.premium.nengaku,
            "choshu_kubun": "1" if p.premium.choshu_kubun == TOKUCHO else "2",
            **{f"ki{k:02d}": kibetsu.get(k) for k in range(1, 11)}, "issue_date": ISSUE})
    return sorted(out, key=lambda r: r["notice_no"])


def test_notices_are_what_the_people_imply_in_id_order(store: sessionmaker[Session]) -> None:
    people = list(generate(PEOPLE, seed=SEED, nendo=NENDO))
    with store.begin() as s:
        ids = {atena_no: fid for fid, atena_no in s.execute(select(Fuka.id, Fuka.atena_no))}
        first_go = sorted(ids, key=ids.__getitem__)
        stopped = {first_go[3]: SOFU_RETURNED, first_go[10]: SOFU_HELD}
        for atena_no, status in stopped.items():
            s.execute(update(Atena).where(Atena.atena_no == atena_no).values(sofu_status=status))
    want = expected(people, ids, set(stopped))
    assert any(p.sofu_address for p in people if p.premium) and any(r["ki10"] is None for r in want)
    with store() as s:
        got = list(hokenryo.notices(s, NENDO, ISSUE))
        assert hokenryo.count(s, NENDO) == len(want) == len(ids) - 2
        assert list(hokenryo.notices(s, NENDO + 1, ISSUE)) == [] and hokenryo.count(s, NENDO + 1) == 0
    assert got == want
