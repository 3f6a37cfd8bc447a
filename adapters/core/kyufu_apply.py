"""Apply 給付実績 received from the 国保連 to the store, idempotently.

``apply_kyufu(session, groups)`` takes 給付実績 already parsed and validated by the 国保連 reader
(one group = one H1 with its D1/DD and T1 records) as plain dicts:

    {
        # H1 基本: the natural key (models.kyufu.NATURAL_KEY) ...
        "kokan_shikibetsu_no": "1115",   # 交換情報識別番号
        "service_ym": "202504",          # サービス提供年月 YYYYMM
        "jigyosho_no": "1312345678",     # 事業所番号
        "hihokensha_no": "0123456789",   # 被保険者番号
        "seiri_no": "0000000001",        # 整理番号
        "sakusei_kubun": "1",            # 給付実績情報作成区分 1 新規 / 2 修正 / 3 取消
        "shinsa_ym": "202505",           # 審査年月 YYYYMM
        # ... and the other H1 fields
        "shokisai_hokensha_no": "131128",  # 証記載保険者番号
        "jisseki_kubun": "1",            # 給付実績区分 1 現物 / 2 償還
        "yokaigo_kubun": "21",           # 要介護状態区分 (None when absent)
        "tanisu": 1000, "seikyu_gaku": 9000, "riyosha_futan": 1000,  # 後_保険 totals
        "meisai": [                      # D1/DD lines, in file order (line_no = position, from 1)
            {"record_kind": "D1", "service_shurui": "11", "service_komoku": "1211",
             "tanisu": 250, "kaisu": 4, "service_tanisu": 1000, "tekiyo": None},
        ],
        "shukei": [                      # T1, one per サービス種類
            {"service_shurui": "11", "jitsunissu": 4, "tanisu_total": 1000,
             "seikyu_gaku": 9000, "riyosha_futan": 1000},
        ],
    }

A group whose natural key is already stored is skipped whole (INSERT … ON CONFLICT DO NOTHING on
the key; its lines are only written with a header this call inserted), so re-delivering a file or a
給付実績 changes nothing. Work is batched: one multi-row INSERT … RETURNING per batch of headers,
then executemany inserts of the lines. The caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any

from sqlalchemy import Insert, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from adapters.core.models import KyufuJisseki, KyufuMeisai, KyufuShukei, utcnow
from adapters.core.models.kyufu import NATURAL_KEY

HEADER_FIELDS = (
    *NATURAL_KEY, "shokisai_hokensha_no", "jisseki_kubun", "yokaigo_kubun", "tanisu", "seikyu_gaku",
    "riyosha_futan",
)  # fmt: skip
MEISAI_FIELDS = ("record_kind", "service_shurui", "service_komoku", "tanisu", "kaisu", "service_tanisu", "tekiyo")
SHUKEI_FIELDS = ("service_shurui", "jitsunissu", "tanisu_total", "seikyu_gaku", "riyosha_futan")
Group = Mapping[str, Any]


class KyufuGroupError(ValueError):
    """A group lacks a field. Names the group (position and key), the part and the field."""


@dataclass(frozen=True, slots=True)
class ApplyCounts:
    """What one call did: groups seen, headers/lines inserted, groups skipped as already stored."""

    groups: int = 0
    inserted: int = 0
    skipped: int = 0
    meisai: int = 0
    shukei: int = 0


def _insert_ignoring_duplicates(session: Session, table: Table) -> Insert:
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing()
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    raise ValueError(f"apply_kyufu: no INSERT … ON CONFLICT for dialect {dialect!r}")


def _pick(group_no: int, group: Group, part: str, fields: Sequence[str], source: Mapping[str, Any]) -> dict[str, Any]:
    try:
        return {f: source[f] for f in fields}
    except KeyError as e:
        key = "/".join(str(group.get(k)) for k in ("hihokensha_no", "service_ym", "jigyosho_no", "seiri_no"))
        raise KyufuGroupError(f"給付実績 group {group_no} ({key}): {part} has no field {e.args[0]!r}") from None


def apply_kyufu(session: Session, groups: Iterable[Group], batch: int = 2000) -> ApplyCounts:
    """Store the groups not stored yet; returns the counts. Raises KyufuGroupError on a missing field
    (nothing of that batch is written; the caller rolls back) and IntegrityError on a value a CHECK
    refuses."""
    if batch < 1:
        raise ValueError(f"batch must be at least 1, got {batch}")
    table = KyufuJisseki.__table__
    assert isinstance(table, Table)
    key_columns = [table.c[k] for k in NATURAL_KEY]
    header_insert = _insert_ignoring_duplicates(session, table).returning(table.c.id, *key_columns)
    meisai_insert = _insert_ignoring_duplicates(session, KyufuMeisai.__table__)  # type: ignore[arg-type]
    shukei_insert = _insert_ignoring_duplicates(session, KyufuShukei.__table__)  # type: ignore[arg-type]
    conn = session.connection()
    total = ApplyCounts()
    stream = iter(enumerate(groups, start=1))
    while chunk := list(islice(stream, batch)):
        now = utcnow()
        # Fields are all checked before anything of the batch is written.
        parsed: dict[tuple[Any, ...], tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]] = {}
        for no, g in chunk:
            row = _pick(no, g, "H1", HEADER_FIELDS, g)
            parts = _pick(no, g, "group", ("meisai", "shukei"), g)
            lines = [
                _pick(no, g, f"明細 {n}", MEISAI_FIELDS, line) | {"line_no": n}
                for n, line in enumerate(parts["meisai"], start=1)
            ]
            sums = [_pick(no, g, f"集計 {n}", SHUKEI_FIELDS, t) for n, t in enumerate(parts["shukei"], start=1)]
            # The same 給付実績 twice in one delivery: the first one counts, like a re-delivery.
            parsed.setdefault(tuple(row[k] for k in NATURAL_KEY), (row | {"received_at": now}, lines, sums))
        ids = {tuple(r[1:]): r[0] for r in conn.execute(header_insert, [h for h, _, _ in parsed.values()])}
        meisai: list[dict[str, Any]] = []
        shukei: list[dict[str, Any]] = []
        for key, jisseki_id in ids.items():
            _, lines, sums = parsed[key]
            meisai.extend(line | {"jisseki_id": jisseki_id} for line in lines)
            shukei.extend(t | {"jisseki_id": jisseki_id} for t in sums)
        if meisai:
            conn.execute(meisai_insert, meisai)
        if shukei:
            conn.execute(shukei_insert, shukei)
        total = ApplyCounts(
            total.groups + len(chunk),
            total.inserted + len(ids),
            total.skipped + len(chunk) - len(ids),
            total.meisai + len(meisai),
            total.shukei + len(shukei),
        )
    return total
