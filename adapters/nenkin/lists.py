"""What an operator must look at in a 年度 of 特別徴収, never decided for them:

- ``unmatched``: Z11 対象者 not matched to one 宛名 (unmatched, ambiguous), with the reason and
  the 宛名 worth a look — matched again now, so a 宛名 corrected since shows as matched no more;
- ``stopped``: persons whose 依頼 were refused (Z13, or a 追加依頼 refused by its Z14 32) or
  stopped (Z14 停止, our 資格喪失等), and persons whose 仮徴収 stopped (a Z14 天引結果 of 期1–3 with a
  各種区分 other than 00: no 依頼 to point at, found from the pension — adapters/nenkin/stops.py,
  which also keeps them out of the July Z12; a 42 taking our 資格喪失等の通知 keeps a person out of it
  too, but is not listed here: a 資格喪失 is settled by the 賦課's 更正, not by 普通徴収 of the 期
  left [INF]): the 期 and the amount that 普通徴収 must now collect
  (from the stopped 期 to 期6: the 依頼's amount, else the 賦課's 期別額), and why (各種区分 of
  mappings/codes/nenkin.toml); a refused 仮徴収額変更 is ``refused``'s, not this;
- ``refused``: the Z1A records the 年金保険者 refused (Z14 32/42/62/82 処理結果 other than 00), with
  what follows for the ward [INF];
- ``unanswered``: results that answer nothing sent: Z13/Z14 天引結果 of 本徴収 without a 依頼 (仮徴収
  results have none by design: they continue last year's, and find their 被保険者 through the
  賦課), and Z1A answers matching no 依頼 or notice a Z1A sent.

基礎年金番号 are shown with their last four digits only (personal data: enough to find the file
record, not enough to be the number).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from adapters.nenkin.match import Person
from adapters.nenkin.stops import CHUNK, person_stops
from adapters.nenkin.taisho_load import atena_index
from mappings.converters import code_tables
from store.models import Fuka, FukaKibetsu, TokuchoIrai, TokuchoKekka, TokuchoTaisho
from store.models.fuka import TOKUCHO
from store.models.tokucho import IRAI_REJECTED, IRAI_STOPPED, MATCHED, TokuchoTsuchi

ANSWERS = ("32", "42", "62", "82")  # Z14 answers to a Z1A (adapters/nenkin/z1a_kekka.py)
KARI = "61"
FOLLOWS = {  # what a refusal leaves to the ward [INF]
    "32": "the 年金保険者 deducts nothing for these 期: 普通徴収 collects them",
    "42": "the 年金保険者 did not take the 資格喪失: what it still deducts is to be refunded (還付)",
    "62": "仮徴収 goes on at the amount before: 普通徴収 collects the difference (or it is refunded)",
    "82": "the 年金保険者 did not take the 住所地特例 notice: settle it with the 経由機関",
}


def tail(kiso: str) -> str:
    return "*" * (len(kiso) - 4) + kiso[-4:]


def unmatched(session: Session, nendo: int) -> list[dict[str, Any]]:
    rows = session.scalars(select(TokuchoTaisho).where(TokuchoTaisho.nendo == nendo,
                                                       TokuchoTaisho.match_state != MATCHED)
                           .order_by(TokuchoTaisho.id)).all()
    if not rows:
        return []
    index = atena_index(session)
    out = []
    for r in rows:
        now = index.match(Person(r.kiso_nenkin_no, r.birth_date, r.sex, r.name_kana))
        out.append({"kiso_nenkin_no": tail(r.kiso_nenkin_no), "nenkin_code": r.nenkin_code,
                    "gimusha_code": r.gimusha_code, "hosoku_month": r.hosoku_month, "state": r.match_state,
                    "now": now.state, "reason": now.reason, "suggestions": list(now.suggestions)})
    return out


def stopped(session: Session, nendo: int) -> list[dict[str, Any]]:
    why: dict[int, tuple[str, str | None]] = {}
    meanings = code_tables()["nenkin_kakushu_kubun"]
    for irai_id, kind, naiyo, kekka, jiyu, day in session.execute(
            select(TokuchoKekka.irai_id, TokuchoKekka.file_kind, TokuchoKekka.tsuchi_naiyo_code,
                   TokuchoKekka.shori_kekka, TokuchoKekka.teishi_jiyu, TokuchoKekka.teishi_date)
            .where(TokuchoKekka.nendo == nendo, TokuchoKekka.irai_id.is_not(None))
            .where((TokuchoKekka.teishi_jiyu.is_not(None)) | (TokuchoKekka.file_kind == "Z13")
                   | ((TokuchoKekka.tsuchi_naiyo_code == "32") & (TokuchoKekka.shori_kekka != "00")))):
        if irai_id is None:
            continue
        if jiyu is not None:
            why[irai_id] = (f"{jiyu} {meanings.get(f'22-{jiyu}', '?')}", day.isoformat() if day else None)
        elif kind == "Z13":
            why.setdefault(irai_id, ("Z13 依頼不能", None))
        elif naiyo == "32":
            why.setdefault(irai_id, (f"Z14 32 追加依頼不能 (処理結果 {kekka})", None))
    people: dict[str, dict[str, Any]] = defaultdict(lambda: {"ki": [], "futsucho_amount": 0})
    for r in session.scalars(select(TokuchoIrai).where(TokuchoIrai.nendo == nendo,
                                                       TokuchoIrai.status.in_((IRAI_STOPPED, IRAI_REJECTED)),
                                                       # a refused 61 leaves the 仮徴収 as it was: ``refused``
                                                       ~((TokuchoIrai.status == IRAI_REJECTED)
                                                         & (TokuchoIrai.tsuchi_naiyo_code == KARI)))
                             .order_by(TokuchoIrai.atena_no, TokuchoIrai.ki)):
        p = people[r.atena_no]
        p.update({"atena_no": r.atena_no, "hihokensha_no": r.hihokensha_no, "kiso_nenkin_no": tail(r.kiso_nenkin_no),
                  "status": r.status})
        p["ki"].append(r.ki)
        p["futsucho_amount"] += r.irai_amount
        if r.id in why and "reason" not in p:
            p["reason"], p["date"] = why[r.id]
    _add_stops(session, nendo, people)
    return [people[atena] for atena in sorted(people)]


def _add_stops(session: Session, nendo: int, people: dict[str, dict[str, Any]]) -> None:
    """The 期 a stop leaves to 普通徴収 that no stopped 依頼 stands for (仮徴収 has none; a Z12
    never asks a person stopped before it), at the 賦課's 期別額."""
    stops = {atena: stop for atena, stop in person_stops(session, nendo).items() if stop.tenbiki}
    hiho: dict[str, str] = {}
    kibetsu: dict[tuple[str, int], int] = {}
    atenas = sorted(stops)
    for i in range(0, len(atenas), CHUNK):
        for atena, hihokensha_no, ki, amount in session.execute(
                select(Fuka.atena_no, Fuka.hihokensha_no, FukaKibetsu.ki, FukaKibetsu.amount)
                .join(FukaKibetsu, FukaKibetsu.fuka_id == Fuka.id)
                .where(Fuka.nendo == nendo, Fuka.choshu_kubun == TOKUCHO, Fuka.atena_no.in_(atenas[i:i + CHUNK]))):
            hiho[atena] = hihokensha_no
            kibetsu[(atena, ki)] = amount
    for atena, stop in stops.items():
        p = people[atena]
        p.setdefault("atena_no", atena)
        p.setdefault("hihokensha_no", hiho.get(atena))
        p.setdefault("kiso_nenkin_no", tail(stop.pension[0]))
        p.setdefault("status", IRAI_STOPPED)
        for ki in range(stop.ki, 7):
            if ki not in p["ki"]:
                p["ki"].append(ki)
                p["futsucho_amount"] += kibetsu.get((atena, ki), 0)
        p["ki"].sort()
        if "reason" not in p:
            p["reason"], p["date"] = stop.reason, stop.day.isoformat() if stop.day else None


def unanswered(session: Session, nendo: int) -> list[dict[str, Any]]:
    z1a = TokuchoKekka.tsuchi_naiyo_code.in_(ANSWERS)
    return [{"file_kind": k.file_kind, "ki": k.ki, "kiso_nenkin_no": tail(k.kiso_nenkin_no),
             "nenkin_code": k.nenkin_code, "tsuchi_naiyo_code": k.tsuchi_naiyo_code, "shori_kekka": k.shori_kekka,
             "transfer": k.transfer_id}
            for k in session.scalars(select(TokuchoKekka).where(
                TokuchoKekka.nendo == nendo, TokuchoKekka.irai_id.is_(None),
                (~z1a & (TokuchoKekka.ki >= 4)) | (z1a & TokuchoKekka.tsuchi_id.is_(None)))
                .order_by(TokuchoKekka.id))]


def refused(session: Session, nendo: int) -> list[dict[str, Any]]:
    """One entry per Z1A record refused: whose, which notice, the 期 (and amounts) it was about."""
    meanings = code_tables()["nenkin_tsuchi_naiyo"]
    out: dict[tuple[str, int | None, str, str], dict[str, Any]] = {}
    for k, irai_atena, amount, tsuchi_atena, told in session.execute(
            select(TokuchoKekka, TokuchoIrai.atena_no, TokuchoIrai.irai_amount, TokuchoTsuchi.atena_no,
                   TokuchoTsuchi.kakushu_date)
            .outerjoin(TokuchoIrai, TokuchoIrai.id == TokuchoKekka.irai_id)
            .outerjoin(TokuchoTsuchi, TokuchoTsuchi.id == TokuchoKekka.tsuchi_id)
            .where(TokuchoKekka.nendo == nendo, TokuchoKekka.tsuchi_naiyo_code.in_(ANSWERS),
                   TokuchoKekka.shori_kekka != "00")
            .order_by(TokuchoKekka.id)):
        key = (k.transfer_id, k.tsuchi_id, k.kiso_nenkin_no, k.kakushu_kubun)
        day = told or k.teishi_date  # the notice's 各種年月日 (喪失日, 適用/解除年月日), as sent or echoed
        entry = out.setdefault(key, {
            "atena_no": irai_atena or tsuchi_atena, "kiso_nenkin_no": tail(k.kiso_nenkin_no),
            "answer": f"{k.tsuchi_naiyo_code} {meanings.get(k.tsuchi_naiyo_code, '?')}", "shori_kekka": k.shori_kekka,
            "kakushu_kubun": k.kakushu_kubun, "date": day.isoformat() if day else None,
            "ki": [], "amount": 0, "answered": k.irai_id is not None or k.tsuchi_id is not None,
            "follows": FOLLOWS[k.tsuchi_naiyo_code], "transfer": k.transfer_id})
        entry["ki"].append(k.ki)
        entry["amount"] += amount or 0
    return list(out.values())


LISTS = {"unmatched": unmatched, "stopped": stopped, "refused": refused, "unanswered": unanswered}
