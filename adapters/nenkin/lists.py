"""What an operator must look at in a 年度 of 特別徴収, never decided for them:

- ``unmatched``: Z11 対象者 not matched to one 宛名 (unmatched, ambiguous), with the reason and
  the 宛名 worth a look — matched again now, so a 宛名 corrected since shows as matched no more;
- ``stopped``: persons whose 依頼 were refused (Z13) or stopped (Z14 停止): the 期 and the amount
  that 普通徴収 must now collect, and why (各種区分 of mappings/codes/nenkin.toml);
- ``unanswered``: results (Z13/Z14) of 本徴収 that answer no 依頼 of ours (仮徴収 results have
  none by design: they continue last year's, and find their 被保険者 through the 賦課).

基礎年金番号 are shown with their last four digits only (personal data: enough to find the file
record, not enough to be the number).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from adapters.core.models import TokuchoIrai, TokuchoKekka, TokuchoTaisho
from adapters.core.models.tokucho import IRAI_REJECTED, IRAI_STOPPED, MATCHED
from adapters.nenkin.match import Person
from adapters.nenkin.taisho_load import atena_index
from mappings.converters import code_tables


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
    for irai_id, kind, jiyu, day in session.execute(
            select(TokuchoKekka.irai_id, TokuchoKekka.file_kind, TokuchoKekka.teishi_jiyu, TokuchoKekka.teishi_date)
            .where(TokuchoKekka.nendo == nendo, TokuchoKekka.irai_id.is_not(None))
            .where((TokuchoKekka.teishi_jiyu.is_not(None)) | (TokuchoKekka.file_kind == "Z13"))):
        if irai_id is None:
            continue
        if jiyu is not None:
            why[irai_id] = (f"{jiyu} {meanings.get(f'22-{jiyu}', '?')}", day.isoformat() if day else None)
        elif kind == "Z13":
            why.setdefault(irai_id, ("Z13 依頼不能", None))
    people: dict[str, dict[str, Any]] = defaultdict(lambda: {"ki": [], "futsucho_amount": 0})
    for r in session.scalars(select(TokuchoIrai).where(TokuchoIrai.nendo == nendo,
                                                       TokuchoIrai.status.in_((IRAI_STOPPED, IRAI_REJECTED)))
                             .order_by(TokuchoIrai.atena_no, TokuchoIrai.ki)):
        p = people[r.atena_no]
        p.update({"atena_no": r.atena_no, "hihokensha_no": r.hihokensha_no, "kiso_nenkin_no": tail(r.kiso_nenkin_no),
                  "status": r.status})
        p["ki"].append(r.ki)
        p["futsucho_amount"] += r.irai_amount
        if r.id in why and "reason" not in p:
            p["reason"], p["date"] = why[r.id]
    return list(people.values())


def unanswered(session: Session, nendo: int) -> list[dict[str, Any]]:
    return [{"file_kind": k.file_kind, "ki": k.ki, "kiso_nenkin_no": tail(k.kiso_nenkin_no),
             "nenkin_code": k.nenkin_code, "tsuchi_naiyo_code": k.tsuchi_naiyo_code, "shori_kekka": k.shori_kekka,
             "transfer": k.transfer_id}
            for k in session.scalars(select(TokuchoKekka).where(TokuchoKekka.nendo == nendo, TokuchoKekka.ki >= 4,
                                                                TokuchoKekka.irai_id.is_(None))
                                     .order_by(TokuchoKekka.id))]


LISTS = {"unmatched": unmatched, "stopped": stopped, "unanswered": unanswered}
