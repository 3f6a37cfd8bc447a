"""副本 from the core store: each person's data sets of the データ標準レイアウト, as Replicas.

Who has which data set on a day (our rule, [INF] where the real 中間サーバー practice is not public):
- no 団体内統合宛名番号 → nothing is built; the person is listed (``Built.no_togo``), never sent;
- no 資格 current on the day (取得 on or before it, 喪失 after it or none) → no 副本 at all: the
  中間サーバー answers other bodies about our 被保険者, and after 資格喪失 the person's 副本 are
  deleted (a 喪失 still ahead — a 転出 予定 — is sent, with its 喪失年月日);
- 0101 被保険者: that 資格 (atena + shikaku);
- 0102 住所地特例: the period current on the day (jushochi_tokurei);
- 0201 受給者基本: the latest 認定, unless 非該当 or ended before the day (nintei), with the
  支給限度額 current on the day (shikyu_gendogaku) for a 版 that carries it;
- 0202 負担割合: the 負担割合 period holding the day (futan_wariai);
- 0300 給付: the latest サービス提供年月 of the person's 給付実績 (kyufu_jisseki): per claim
  (事業所, 整理番号) its latest 審査 counts, a 取消 removes the claim; counts and sums of that month;
- 0400 総合事業: NOT BUILT — the store holds no 総合事業 data (``NOT_BUILT``).
Each data set's values are keyed by the layout's ``source`` names; a layout naming a source this
module does not give is refused (``check_sources``) before anything is built.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from adapters.chukan.messages import Item, Replica, ReplicaKey
from mappings.converters.dates import YearMonth
from mappings.errors import LayoutError
from mappings.standard_layout import DataSet, ItemError, StandardLayout, StandardLayouts, standard_layouts
from store.models import (
    Atena,
    FutanWariai,
    KyufuJisseki,
    Nintei,
    Shikaku,
    ShikyuGendogaku,
)
from store.models.kyufu import SAKUSEI_TORIKESHI
from store.models.nintei import HIGAITO
from store.models.tokucho import JushochiTokurei

LAYOUT = "kaigo-fukuhon"
CHUNK = 500  # persons per look-up (IN lists)
JST = timezone(timedelta(hours=9))
SOURCES: dict[str, frozenset[str]] = {
    "0101": frozenset({"hihokensha_no", "hokensha_no", "hihokensha_kubun", "shutoku_date", "shutoku_jiyu",
                       "soshitsu_date", "soshitsu_jiyu"}),
    "0102": frozenset({"hihokensha_no", "tekiyo_date", "tekiyo_jiyu", "kaijo_date", "kaijo_jiyu",
                       "shisetsu_hokensha_no"}),
    "0201": frozenset({"hihokensha_no", "yokaigo_kubun", "shinsei_date", "nintei_date", "valid_from", "valid_to",
                       "gendo_tani"}),
    "0202": frozenset({"hihokensha_no", "wariai", "valid_from", "valid_to"}),
    "0300": frozenset({"hihokensha_no", "service_ym", "kensu", "tanisu", "seikyu_gaku", "riyosha_futan"}),
}
NOT_BUILT = {"0400": "総合事業: the store holds no 総合事業 data"}

Values = dict[str, Any]
Slot = tuple[str, str, str]  # (統合宛名番号, TM, data set)


def check_sources(layout: StandardLayout) -> None:
    """Every data set of ``layout`` is one this module builds or knowingly does not, and every
    source it names is one the builder gives; else LayoutError naming file, data set and item."""
    problems = []
    for ds in layout.datasets:
        if ds.code in NOT_BUILT:
            continue
        known = SOURCES.get(ds.code)
        if known is None:
            problems.append(f"data set {ds.code}: the 副本 builder knows no such data set")
            continue
        for f in ds.items:
            if f.name not in known:
                no = f.item.no if f.item else "?"
                problems.append(f"data set {ds.code}: item {no}: source {f.name!r} is not one the builder gives "
                                f"(known: {', '.join(sorted(known))})")
    if problems:
        raise LayoutError(str(layout.path or layout.id), problems)


ItemCache = dict[tuple[str, str | None, str | None], Item]


def items_of(ds: DataSet, values: Values, made: ItemCache | None = None) -> tuple[Item, ...]:
    """The rendered items as Items; ``made`` shares equal Items between replicas (they are
    immutable, and most items of a population repeat: numbers with a 未設定事由, codes, dates)."""
    if made is None:
        made = {}
    out = []
    for r in ds.render(values):
        item = made.get(r)
        if item is None:
            item = made[r] = Item(r.no, value=r.value) if r.value is not None else Item(r.no, unset=r.unset)
        out.append(item)
    return tuple(out)


def items_json(items: Iterable[Item]) -> str:
    """The items as compact JSON, [[number, value, 未設定事由], …]: what is hashed, and what a
    batch payload line carries."""
    return json.dumps([[i.no, i.value, i.unset] for i in items], ensure_ascii=False, separators=(",", ":"))


def items_hash(items: Iterable[Item], canon: str | None = None) -> str:
    """SHA-256 of the items as sent (number, value or 未設定事由), what fukuhon_state keeps;
    ``canon``: their ``items_json``, when made already."""
    return hashlib.sha256((items_json(items) if canon is None else canon).encode()).hexdigest()


@dataclass
class Built:
    """The replicas of the persons looked at, with the persons that could not be sent."""

    version: str
    replicas: dict[Slot, Replica] = field(default_factory=dict)
    persons: set[str] = field(default_factory=set)  # 統合宛名番号 looked at (their other 副本 are gone)
    no_togo: list[str] = field(default_factory=list)  # 宛名番号 without a 統合宛名番号: listed, not sent
    not_built: dict[str, str] = field(default_factory=lambda: dict(NOT_BUILT))


def build(session: Session, atena_nos: Sequence[str], layout: StandardLayout, day: date) -> Built:
    """The 副本 of ``atena_nos`` on ``day`` in ``layout`` (a 版 of kaigo-fukuhon)."""
    check_sources(layout)
    built = Built(version=layout.version)
    ordered = sorted(set(atena_nos))
    for i in range(0, len(ordered), CHUNK):
        _chunk(session, ordered[i:i + CHUNK], layout, day, built)
    return built


def _chunk(session: Session, atena_nos: list[str], layout: StandardLayout, day: date, built: Built) -> None:
    togo: dict[str, str] = {}
    for atena_no, togo_no in session.execute(select(Atena.atena_no, Atena.togo_atena_no)
                                             .where(Atena.atena_no.in_(atena_nos))):
        if togo_no is None:
            built.no_togo.append(atena_no)
        else:
            togo[atena_no] = togo_no
    built.persons.update(togo.values())
    shikaku = _current_shikaku(session, list(togo), day)
    hihokensha = {s.hihokensha_no: a for a, s in shikaku.items()}
    values: dict[str, dict[str, Values]] = {code: {} for code in SOURCES}  # data set -> 宛名番号 -> values
    for atena_no, s in shikaku.items():
        values["0101"][atena_no] = _columns(s, SOURCES["0101"])
    for t in _latest(session.execute(_rows(JushochiTokurei).where(
            JushochiTokurei.atena_no.in_(list(shikaku)), JushochiTokurei.tekiyo_date <= day,
            or_(JushochiTokurei.kaijo_date.is_(None), JushochiTokurei.kaijo_date > day))),
            lambda t: t.atena_no, lambda t: t.tekiyo_date):
        values["0102"][t.atena_no] = {**_columns(t, SOURCES["0102"] - {"hihokensha_no"}),
                                      "hihokensha_no": shikaku[t.atena_no].hihokensha_no}
    numbers = list(hihokensha)
    gendo = {g.hihokensha_no: g.gendo_tani for g in session.execute(_rows(ShikyuGendogaku).where(
        ShikyuGendogaku.hihokensha_no.in_(numbers), ShikyuGendogaku.valid_from <= day,
        ShikyuGendogaku.valid_to >= day))}
    for n in _latest(session.execute(_rows(Nintei).where(Nintei.hihokensha_no.in_(numbers))),
                     lambda n: n.hihokensha_no, lambda n: n.nintei_date):
        if n.yokaigo_kubun != HIGAITO and n.valid_to is not None and n.valid_to >= day:
            values["0201"][hihokensha[n.hihokensha_no]] = {**_columns(n, SOURCES["0201"] - {"gendo_tani"}),
                                                           "gendo_tani": gendo.get(n.hihokensha_no)}
    for w in session.execute(_rows(FutanWariai).where(FutanWariai.hihokensha_no.in_(numbers),
                                                       FutanWariai.valid_from <= day, FutanWariai.valid_to >= day)):
        values["0202"][hihokensha[w.hihokensha_no]] = _columns(w, SOURCES["0202"])
    for number, kyufu in _kyufu(session, numbers).items():
        values["0300"][hihokensha[number]] = kyufu
    made: ItemCache = {}
    for ds in layout.datasets:
        if ds.code in NOT_BUILT:
            continue
        for atena_no, v in values[ds.code].items():
            key = ReplicaKey(tm=ds.tm, dataset=ds.code, version=layout.version, togo_atena_no=togo[atena_no])
            try:
                items = items_of(ds, v, made)
            except ItemError as bad:  # the record named (宛名番号, never 個人番号) beside the item and rule
                raise ItemError(f"宛名番号 {atena_no}: {bad}") from None
            built.replicas[(key.togo_atena_no, ds.tm, ds.code)] = Replica(key, items)


def _rows(model: Any) -> Select[Any]:
    """All of ``model``'s columns as plain rows (attributes named as the columns): the builder only
    reads them, and an ORM object per row cost more than the rest of the look-up."""
    return select(*model.__table__.c)


def _columns(row: object, names: Iterable[str]) -> Values:
    return {c: getattr(row, c) for c in names}


def _latest(rows: Iterable[Any], key: Any, order: Any) -> list[Any]:
    best: dict[str, Any] = {}
    for row in rows:
        k = key(row)
        if k not in best or order(row) > order(best[k]):
            best[k] = row
    return list(best.values())


def _current_shikaku(session: Session, atena_nos: list[str], day: date) -> dict[str, Any]:
    rows = session.execute(_rows(Shikaku).where(
        Shikaku.atena_no.in_(atena_nos), Shikaku.shutoku_date <= day,
        or_(Shikaku.soshitsu_date.is_(None), Shikaku.soshitsu_date > day)))
    return {s.atena_no: s for s in _latest(rows, lambda s: s.atena_no, lambda s: (s.shutoku_date, s.id))}


def _kyufu(session: Session, numbers: list[str]) -> dict[str, Values]:
    """Per 被保険者番号: the latest サービス提供年月 with 給付実績, its claims counted once each."""
    if not numbers:
        return {}
    latest = (select(KyufuJisseki.hihokensha_no, func.max(KyufuJisseki.service_ym).label("ym"))
              .where(KyufuJisseki.hihokensha_no.in_(numbers)).group_by(KyufuJisseki.hihokensha_no).subquery())
    rows = session.execute(_rows(KyufuJisseki).join(
        latest, (KyufuJisseki.hihokensha_no == latest.c.hihokensha_no) & (KyufuJisseki.service_ym == latest.c.ym)))
    claims: dict[tuple[str, str, str], Any] = {}
    for r in rows:
        k = (r.hihokensha_no, r.jigyosho_no, r.seiri_no)
        if k not in claims or (r.shinsa_ym, r.id) > (claims[k].shinsa_ym, claims[k].id):
            claims[k] = r
    out: dict[str, Values] = defaultdict(lambda: {"kensu": 0, "tanisu": 0, "seikyu_gaku": 0, "riyosha_futan": 0})
    for (number, _j, _s), r in sorted(claims.items()):
        if r.sakusei_kubun == SAKUSEI_TORIKESHI:
            continue
        v = out[number]
        v.update(hihokensha_no=number, service_ym=_ym(r.service_ym))
        v["kensu"] += 1
        v["tanisu"] += r.tanisu
        v["seikyu_gaku"] += r.seikyu_gaku
        v["riyosha_futan"] += r.riyosha_futan
    return dict(out)


def _ym(text: str) -> YearMonth:
    return YearMonth(int(text[:4]), int(text[4:]))


def today() -> date:
    """The day in Japan (a 資格 ends, a 版 starts, on a Japanese date)."""
    return datetime.now(JST).date()


def answer_items(session: Session, tm: str, togo_atena_no: str, *, day: date | None = None,
                 layouts: StandardLayouts = standard_layouts) -> tuple[str, tuple[Item, ...]]:
    """What a provision of ``tm`` about ``togo_atena_no`` answers, from the store as it is now:
    (版番号, the items of every data set of ``tm`` in layout order). A data set the person does
    not have (no 住所地特例, no 認定 …) is answered item by item as NotApplicable; one this module
    does not build (0400) as NotCovered: never an empty item. LookupError: no such person, or no
    data set of ``tm`` in the 版."""
    on = day or today()
    layout = layouts.on(LAYOUT, on)
    sets = layout.for_tm(tm)
    if not sets:
        raise LookupError(f"{layout.id} has no data set of {tm}")
    atena_no = session.scalar(select(Atena.atena_no).where(Atena.togo_atena_no == togo_atena_no))
    if atena_no is None:
        raise LookupError(f"no person with 統合宛名番号 {togo_atena_no}")
    built = build(session, [atena_no], layout, on)
    items: list[Item] = []
    for ds in sets:
        replica = built.replicas.get((togo_atena_no, tm, ds.code))
        if replica is not None:
            items.extend(replica.items)
            continue
        reason = "NotCovered" if ds.code in NOT_BUILT else "NotApplicable"
        items.extend(Item(f.item.no, unset=reason) for f in ds.items if f.item is not None)
    return layout.version, tuple(items)
