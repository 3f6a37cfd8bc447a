"""The current ``State`` of people for the 受給者異動連絡票, read from the core store in bulk.

Per person: 資格 and 宛名, the 認定 in force (the latest decision with a level; 非該当 decisions
are not a 受給), and the newest row (by 適用開始) of each 受給者 table, each with its own period.
A person whose 認定 ended before the month's first day and was not renewed has ended (異動年月日
= the day after its end); a lost 資格 ends the 受給 on its 喪失年月日.

Not carried [NF/INF]: 利用者負担 3割 (the 2016 edition has only the 二割負担 period, cols 78–79:
a 3割 person's record leaves them empty), 変更申請中区分, みなし要介護, 特定入所者 区分 codes,
社会福祉法人軽減, 住所地特例 — the store does not model them yet.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from adapters.kokuho.ido import JIYU_SOSHITSU, State
from mappings.halfwidth_kana import to_halfwidth_kana
from store.models import Atena, FutanGendogaku, FutanWariai, KyotakuKeikaku, Nintei, Shikaku, ShikyuGendogaku
from store.models.nintei import HIGAITO

CHUNK = 500
R = TypeVar("R", FutanWariai, ShikyuGendogaku, KyotakuKeikaku, FutanGendogaku)


def _newest(session: Session, model: type[R], keys: Sequence[str]) -> dict[str, R]:
    newest: dict[str, R] = {}
    for row in session.scalars(select(model).where(model.hihokensha_no.in_(keys)).order_by(model.valid_from)):
        newest[row.hihokensha_no] = row
    return newest


def _nintei(session: Session, keys: Sequence[str]) -> dict[str, Nintei]:
    query = (select(Nintei).where(Nintei.hihokensha_no.in_(keys), Nintei.yokaigo_kubun != HIGAITO)
             .order_by(Nintei.valid_from, Nintei.nintei_date))
    return {n.hihokensha_no: n for n in session.scalars(query)}


def states(session: Session, keys: Iterable[str], asof: date) -> dict[str, State]:
    """The state of each known 被保険者番号 (unknown ones are left out) as of ``asof``."""
    out: dict[str, State] = {}
    ordered = sorted(set(keys))
    for i in range(0, len(ordered), CHUNK):
        chunk = ordered[i:i + CHUNK]
        people = session.execute(select(Shikaku, Atena).join(Atena, Atena.atena_no == Shikaku.atena_no)
                                 .where(Shikaku.hihokensha_no.in_(chunk))).all()
        nintei = _nintei(session, chunk)
        wariai = _newest(session, FutanWariai, chunk)
        gendo = _newest(session, ShikyuGendogaku, chunk)
        keikaku = _newest(session, KyotakuKeikaku, chunk)
        tokutei = _newest(session, FutanGendogaku, chunk)
        for shikaku, atena in people:
            key = shikaku.hihokensha_no
            out[key] = state_of(shikaku, atena, nintei.get(key), wariai.get(key), gendo.get(key),
                                keikaku.get(key), tokutei.get(key), asof)
    return out


def state_of(shikaku: Shikaku, atena: Atena, nintei: Nintei | None, wariai: FutanWariai | None,
             gendo: ShikyuGendogaku | None, keikaku: KyotakuKeikaku | None, tokutei: FutanGendogaku | None,
             asof: date) -> State:
    values: dict[str, Any] = {
        "sho_hokensha_no": shikaku.hokensha_no,
        "name_kana": to_halfwidth_kana(atena.name_kana),
        "birth_ymd": atena.birth_date,
        "seibetsu": atena.sex,
        "shikaku_shutoku_ymd": shikaku.shutoku_date,
        "shikaku_soshitsu_ymd": shikaku.soshitsu_date,
    }
    if nintei is not None:
        values |= {"shinsei_shubetsu": nintei.shinsei_kubun, "shinsei_ymd": nintei.shinsei_date,
                   "yokaigo_jotai_kubun": nintei.yokaigo_kubun, "nintei_start_ymd": nintei.valid_from,
                   "nintei_end_ymd": nintei.valid_to}
    if keikaku is not None:
        values |= {"keikaku_sakusei_kubun": keikaku.sakusei_kubun, "kyotaku_shien_jigyosho_no": keikaku.jigyosho_no,
                   "keikaku_start_ymd": keikaku.valid_from, "keikaku_end_ymd": keikaku.valid_to}
    if gendo is not None:
        values |= {"homon_gendo_gaku": gendo.gendo_tani, "homon_kanri_start_ymd": gendo.valid_from,
                   "homon_kanri_end_ymd": gendo.valid_to}
    if tokutei is not None:
        values |= {"shokuhi_gendo_gaku": tokutei.shokuhi, "kyojuhi_unit_koshitsu": tokutei.unit_koshitsu,
                   "kyojuhi_unit_junkoshitsu": tokutei.unit_junkoshitsu,
                   "kyojuhi_jurai_koshitsu_tokuyo": tokutei.juraigata_tokuyo,
                   "kyojuhi_jurai_koshitsu_roken": tokutei.juraigata_roken,
                   "kyojuhi_tashoshitsu": tokutei.tashoshitsu,
                   "tokutei_start_ymd": tokutei.valid_from, "tokutei_end_ymd": tokutei.valid_to}
    if wariai is not None and wariai.wariai == 2:
        values |= {"niwari_start_ymd": wariai.valid_from, "niwari_end_ymd": wariai.valid_to}
    ended: tuple[date, str] | None = None
    if shikaku.soshitsu_date is not None:
        ended = (shikaku.soshitsu_date, JIYU_SOSHITSU)
    elif nintei is not None and nintei.valid_to is not None and nintei.valid_to < asof:
        ended = (nintei.valid_to + timedelta(days=1), JIYU_SOSHITSU)
    start = None
    if nintei is not None and nintei.valid_from is not None:
        start = max(nintei.valid_from, shikaku.shutoku_date)
    return State(shikaku.hihokensha_no, values, start, ended)
