"""給付実績 applied to the store: counts, idempotence (the same groups again, a re-delivery that
overlaps, the same 給付実績 twice in one delivery), 修正 kept as its own row, bad groups refused,
on SQLite and PostgreSQL; and the apply rate, measured and printed (never asserted)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from adapters.kokuho.kyufu_apply import ApplyCounts, KyufuGroupError, apply_kyufu
from store.models import KyufuJisseki, KyufuMeisai, KyufuShukei


def group(i: int, lines: int = 2, **changes: Any) -> dict[str, Any]:
    """The i-th synthetic 給付実績: ``lines`` D1 lines of 訪問介護 and one T1."""
    g: dict[str, Any] = {
        "kokan_shikibetsu_no": "1115", "service_ym": "202504", "jigyosho_no": f"13{i % 97:07d}0",
        "hihokensha_no": f"{100000000 + i:010d}", "seiri_no": f"{i:010d}", "sakusei_kubun": "1",
        "shinsa_ym": "202505", "shokisai_hokensha_no": "131128", "jisseki_kubun": "1", "yokaigo_kubun": "21",
        "tanisu": 250 * lines, "seikyu_gaku": 2250 * lines, "riyosha_futan": 250 * lines,
        "meisai": [
            {"record_kind": "D1", "service_shurui": "11", "service_komoku": f"{1211 + n}", "tanisu": 250,
             "kaisu": 1, "service_tanisu": 250, "tekiyo": None}
            for n in range(lines)
        ],
        "shukei": [{"service_shurui": "11", "jitsunissu": lines, "tanisu_total": 250 * lines,
                    "seikyu_gaku": 2250 * lines, "riyosha_futan": 250 * lines}],
    }  # fmt: skip
    return g | changes


def snapshot(store: sessionmaker[Session]) -> dict[str, list[tuple[Any, ...]]]:
    with store() as s:
        return {
            t: [tuple(r) for r in s.execute(text(f"SELECT * FROM {t} ORDER BY 1, 2"))]
            for t in ("kyufu_jisseki", "kyufu_meisai", "kyufu_shukei")
        }


def apply(store: sessionmaker[Session], groups: list[dict[str, Any]], batch: int = 2000) -> ApplyCounts:
    with store.begin() as s:
        return apply_kyufu(s, groups, batch=batch)


def check_idempotent(store: sessionmaker[Session]) -> None:
    groups = [group(i, lines=1 + i % 3) for i in range(300)]
    lines = sum(1 + i % 3 for i in range(300))
    assert apply(store, groups, batch=70) == ApplyCounts(300, 300, 0, lines, 300)
    before = snapshot(store)
    assert [len(before[t]) for t in before] == [300, lines, 300]
    # The same delivery again: nothing new, nothing changed (received_at included).
    assert apply(store, groups, batch=70) == ApplyCounts(300, 0, 300, 0, 0)
    assert snapshot(store) == before
    # A re-delivery overlapping the first plus 20 new ones, the same new one twice in it.
    more = groups[100:200] + [group(i) for i in range(300, 320)] + [group(305)]
    assert apply(store, more, batch=70) == ApplyCounts(121, 20, 101, 40, 20)
    # A 修正 of a stored claim is another record, not a duplicate.
    assert apply(store, [group(7, sakusei_kubun="2", shinsa_ym="202506")]).inserted == 1
    with store() as s:
        assert s.scalar(select(func.count()).select_from(KyufuJisseki)) == 321
        assert s.scalar(select(func.count()).select_from(KyufuMeisai)) == lines + 40 + 2
        assert s.scalar(select(func.count()).select_from(KyufuShukei)) == 321
        stored = s.scalars(select(KyufuMeisai).where(KyufuMeisai.line_no == 3)).all()
        assert len(stored) == 100 and {m.service_komoku for m in stored} == {"1213"}


def test_applying_the_same_groups_again_changes_nothing(store: sessionmaker[Session]) -> None:
    check_idempotent(store)


@pytest.mark.postgres
def test_applying_the_same_groups_again_changes_nothing_on_postgres(pg_store: sessionmaker[Session]) -> None:
    check_idempotent(pg_store)


def test_a_missing_field_is_named_and_nothing_is_written(store: sessionmaker[Session]) -> None:
    bad = group(2)
    del bad["meisai"][1]["kaisu"]
    with pytest.raises(KyufuGroupError, match=r"group 3 \(0100000002/202504/.*明細 2 has no field 'kaisu'"):
        apply(store, [group(0), group(1), bad, group(3)])
    headless = group(4)
    del headless["seiri_no"]
    with pytest.raises(KyufuGroupError, match=r"group 1 .*H1 has no field 'seiri_no'"):
        apply(store, [headless])
    assert snapshot(store) == {"kyufu_jisseki": [], "kyufu_meisai": [], "kyufu_shukei": []}


@pytest.mark.parametrize(
    ("changes", "rule"),
    [
        ({"sakusei_kubun": "4"}, "sakusei_kubun_code"),
        ({"jisseki_kubun": "3"}, "jisseki_kubun_code"),
        ({"service_ym": "2025-04"}, "ym_shape"),
        ({"seikyu_gaku": -1}, "totals_not_negative"),
        ({"meisai": [group(0)["meisai"][0] | {"record_kind": "D2"}]}, "record_kind_code"),
    ],
)
def test_checks_refuse_bad_values(store: sessionmaker[Session], changes: dict[str, Any], rule: str) -> None:
    with pytest.raises(IntegrityError, match=rule):
        apply(store, [group(1, **changes)])


def test_refuses_a_bad_batch(store: sessionmaker[Session]) -> None:
    with pytest.raises(ValueError, match="batch"), store.begin() as s:
        apply_kyufu(s, [], batch=0)


def test_apply_rate(store: sessionmaker[Session]) -> None:
    """Measured, not asserted (shared machine): records = H1 + D1 + T1 rows written."""
    groups = [group(i, lines=3) for i in range(20_000)]
    started = time.perf_counter()
    counts = apply(store, groups)
    elapsed = time.perf_counter() - started
    records = counts.inserted + counts.meisai + counts.shukei
    assert (counts.inserted, records) == (20_000, 100_000)
    print(f"\napply_kyufu on SQLite: {records} records in {elapsed:.2f} s = {records / elapsed:,.0f} records/s")
    started = time.perf_counter()
    assert apply(store, groups).skipped == 20_000
    print(f"re-delivery of the same 20,000 給付実績: {time.perf_counter() - started:.2f} s")
