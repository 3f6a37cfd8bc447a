"""A 地方税関係情報 query result: read through its データ標準レイアウト, and packed for the payload store.

The result's 版番号 picks the layout file (mappings/layouts/chukan/chiho-zei-v<版>.toml), its
特定個人情報名コード the data set. Every item of the data set must be in the result (a value or a
未設定事由) and no other: a result that does not fit is refused whole, the error naming the layout
and item numbers, never a value.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from adapters.chukan.messages import Item, QueryResult
from mappings.standard_layout import ItemError, StandardLayouts, standard_layouts

LAYOUT = "chiho-zei"  # mappings/layouts/chukan/chiho-zei-v<版>.toml


class ResultError(ValueError):
    """A result that does not fit its layout. Names the query, layout and items, never values."""


@dataclass(frozen=True, slots=True)
class Income:
    """What 賦課 takes from a 地方税関係情報 result; None where the result gave a 未設定事由."""

    kazei_kubun: str | None = field(repr=False)  # 課税区分
    gokei_shotoku: int | None = field(repr=False)  # 合計所得金額
    nenkin_shunyu: int | None = field(repr=False)  # 公的年金等収入額


def income_of(result: QueryResult, layouts: StandardLayouts = standard_layouts) -> Income:
    where = f"query {result.query_id}"
    try:
        layout = layouts.get(LAYOUT, result.version)
    except LookupError:
        raise ResultError(f"{where}: no layout {LAYOUT} for 版 {result.version}") from None
    datasets = layout.for_tm(result.tm)
    if len(datasets) != 1:
        raise ResultError(f"{where}: layout {layout.id} has {len(datasets)} data sets for {result.tm}, expected 1")
    dataset = datasets[0]
    expected = {f.item.no for f in dataset.items if f.item is not None}
    given = [item.no for item in result.items]
    missing = sorted(expected - set(given), key=int)
    extra = sorted(set(given) - expected, key=int)
    twice = sorted({no for no in given if given.count(no) > 1}, key=int)
    if missing or extra or twice:
        problems = [f"{what} item(s) {', '.join(nos)}" for what, nos in
                    (("missing", missing), ("unknown", extra), ("repeated", twice)) if nos]
        raise ResultError(f"{where}: does not fit {layout.id} data set {dataset.code}: {'; '.join(problems)}")
    try:
        values = dataset.parse((item.no, item.value) for item in result.items)
    except ItemError as exc:
        raise ResultError(f"{where}: {exc}") from None
    return Income(kazei_kubun=values["kazei_kubun"], gokei_shotoku=values["gokei_shotoku"],
                  nenkin_shunyu=values["nenkin_shunyu"])


def pack(result: QueryResult) -> bytes:
    """The result as it came (every item, value or 未設定事由), for the encrypted payload store."""
    items = [{"no": i.no, "value": i.value} if i.value is not None else {"no": i.no, "unset": i.unset}
             for i in result.items]
    return json.dumps({"query_id": result.query_id, "tm": result.tm, "version": result.version, "items": items},
                      ensure_ascii=False, separators=(",", ":")).encode()


def unpack(data: bytes) -> QueryResult:
    raw = json.loads(data)
    items = tuple(Item(i["no"], value=i["value"]) if "value" in i else Item(i["no"], unset=i["unset"])
                  for i in raw["items"])
    return QueryResult(query_id=raw["query_id"], tm=raw["tm"], version=raw["version"], items=items)
