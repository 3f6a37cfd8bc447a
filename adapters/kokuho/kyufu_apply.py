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
給付実績 changes nothing. Work is batched: multi-row INSERT … RETURNING statements for a batch of
headers, then the lines through ``inserts.insert_rows`` (tuples to the driver on SQLite). The caller
owns the transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import islice
from operator import itemgetter
from typing import Any, cast

from sqlalchemy import Table
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

from store.inserts import insert_rows
from store.models import KyufuJisseki, KyufuMeisai, KyufuShukei, utcnow
from store.models.kyufu import NATURAL_KEY

HEADER_FIELDS = (
    *NATURAL_KEY, "shokisai_hokensha_no", "jisseki_kubun", "yokaigo_kubun", "tanisu", "seikyu_gaku",
    "riyosha_futan",
)  # fmt: skip
MEISAI_FIELDS = ("record_kind", "service_shurui", "service_komoku", "tanisu", "kaisu", "service_tanisu", "tekiyo")
SHUKEI_FIELDS = ("service_shurui", "jitsunissu", "tanisu_total", "seikyu_gaku", "riyosha_futan")
Group = Mapping[str, Any]
_MEISAI = cast(Table, KyufuMeisai.__table__)
_SHUKEI = cast(Table, KyufuShukei.__table__)


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


class _Statements:
    """The headers' INSERT … ON CONFLICT DO NOTHING in the driver's own parameter style: rows go
    to the driver as tuples (SQLAlchemy's per-row parameter building took most of the time of a
    million-record file). It takes ``rows`` rows at once and returns the id and natural key of
    what it inserted."""

    def __init__(self, dialect: Dialect, rows: int) -> None:
        if dialect.name not in ("sqlite", "postgresql"):
            raise ValueError(f"apply_kyufu: no INSERT … ON CONFLICT for dialect {dialect.name!r}")
        mark = "?" if dialect.paramstyle == "qmark" else "%s"
        header = (*HEADER_FIELDS, "received_at")
        values = "(" + ", ".join([mark] * len(header)) + ")"
        self.header_columns = len(header)
        self.rows = rows
        # Only this module's column names go into the text; every value is a bound parameter.
        self.header_prefix = f"INSERT INTO kyufu_jisseki ({', '.join(header)}) VALUES "  # noqa: S608
        self.header_suffix = f" ON CONFLICT DO NOTHING RETURNING id, {', '.join(NATURAL_KEY)}"
        self.values = values
        received = KyufuJisseki.__table__.c.received_at.type.bind_processor(dialect)
        self.received: Callable[[Any], Any] = received or (lambda v: v)

    def header(self, count: int) -> str:
        return self.header_prefix + ", ".join([self.values] * count) + self.header_suffix


def _pick(group_no: int, group: Group, part: str, fields: Sequence[str], source: Mapping[str, Any]) -> dict[str, Any]:
    try:
        return {f: source[f] for f in fields}
    except KeyError as e:
        key = "/".join(str(group.get(k)) for k in ("hihokensha_no", "service_ym", "jigyosho_no", "seiri_no"))
        raise KyufuGroupError(f"給付実績 group {group_no} ({key}): {part} has no field {e.args[0]!r}") from None


def _name_missing(group_no: int, group: Group) -> None:
    """Raise KyufuGroupError naming the first field the group lacks, part by part."""
    _pick(group_no, group, "H1", HEADER_FIELDS, group)
    parts = _pick(group_no, group, "group", ("meisai", "shukei"), group)
    for n, line in enumerate(parts["meisai"], start=1):
        _pick(group_no, group, f"明細 {n}", MEISAI_FIELDS, line)
    for n, t in enumerate(parts["shukei"], start=1):
        _pick(group_no, group, f"集計 {n}", SHUKEI_FIELDS, t)


def apply_kyufu(session: Session, groups: Iterable[Group], batch: int = 2000) -> ApplyCounts:
    """Store the groups not stored yet; returns the counts. Raises KyufuGroupError on a missing field
    (nothing of that batch is written; the caller rolls back) and IntegrityError on a value a CHECK
    refuses."""
    if batch < 1:
        raise ValueError(f"batch must be at least 1, got {batch}")
    conn = session.connection()
    # SQLite binds at most 32,766 values a statement: the header rows of a batch go in slices.
    sql = _Statements(conn.dialect, rows=max(1, min(batch, 30_000 // (len(HEADER_FIELDS) + 1))))
    header_of, meisai_of, shukei_of = itemgetter(*HEADER_FIELDS), itemgetter(*MEISAI_FIELDS), itemgetter(*SHUKEI_FIELDS)
    total = ApplyCounts()
    stream = iter(enumerate(groups, start=1))
    while chunk := list(islice(stream, batch)):
        now = sql.received(utcnow())
        # Fields are all checked before anything of the batch is written.
        parsed: dict[tuple[Any, ...], tuple[tuple[Any, ...], list[tuple[Any, ...]], list[tuple[Any, ...]]]] = {}
        for no, g in chunk:
            try:
                row = (*header_of(g), now)
                lines = [meisai_of(line) for line in g["meisai"]]
                sums = [shukei_of(t) for t in g["shukei"]]
            except KeyError:  # which field of which part: the slow path says
                _name_missing(no, g)
                raise
            # The same 給付実績 twice in one delivery: the first one counts, like a re-delivery.
            parsed.setdefault(row[:len(NATURAL_KEY)], (row, lines, sums))
        headers = [h for h, _, _ in parsed.values()]
        ids: dict[tuple[Any, ...], int] = {}
        for at in range(0, len(headers), sql.rows):
            part = headers[at:at + sql.rows]
            params = [value for h in part for value in h]
            ids.update((tuple(r[1:]), r[0]) for r in conn.exec_driver_sql(sql.header(len(part)), tuple(params)))
        meisai: list[tuple[Any, ...]] = []
        shukei: list[tuple[Any, ...]] = []
        for key, jisseki_id in ids.items():
            _, lines, sums = parsed[key]
            meisai.extend((jisseki_id, n, *line) for n, line in enumerate(lines, start=1))
            shukei.extend((jisseki_id, *t) for t in sums)
        insert_rows(conn, _MEISAI, ("jisseki_id", "line_no", *MEISAI_FIELDS), meisai, keep_existing=True)
        insert_rows(conn, _SHUKEI, ("jisseki_id", *SHUKEI_FIELDS), shukei, keep_existing=True)
        total = ApplyCounts(
            total.groups + len(chunk),
            total.inserted + len(ids),
            total.skipped + len(chunk) - len(ids),
            total.meisai + len(meisai),
            total.shukei + len(shukei),
        )
    return total
