"""特別徴収依頼: what the ward asks the 年金保険者 to deduct, decided from 賦課.

The July Z12 asks for the 本徴収 (期4–6: 10, 12, 2月) of every 特別徴収 賦課 whose person a Z11
of the 年度 announced (捕捉月 04) and matched. A request is a pending row per person and 期 in
tokucho_irai; deciding again leaves an existing row as it is, so a run repeated changes nothing.
Who cannot be asked is listed with the reason, never guessed: 資格 lost, no Z11 match for the
賦課, more than one matched pension (which one to deduct from is the 年金保険者's choice, not
ours), or 期別額 a Z12 cannot carry (its 金額2 is the 12月 and the 2月 amount alike:
LAYOUTS-EVIDENCE §4 [INF]).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from adapters.core.inserts import insert_new
from adapters.core.models import Fuka, FukaKibetsu, Shikaku, TokuchoIrai, TokuchoTaisho
from adapters.core.models.fuka import TOKUCHO
from adapters.core.models.tokucho import MATCHED

HONCHO_KI = (4, 5, 6)  # 本徴収: 10, 12, 2月 (DOMAIN.md [DOC])
YEARLY = "04"  # 捕捉月 of the yearly 対象者 (通知内容コード 00)
IRAI_CODE = "01"  # 通知内容コード 特別徴収依頼通知 (mappings/codes/nenkin.toml [CODE])
BATCH = 5000


@dataclass
class Decided:
    """What one decision found: requests made, already there, and persons listed (宛名番号, why)."""

    created: int = 0
    existing: int = 0
    listed: list[tuple[str, str]] = field(default_factory=list)


def decide_honcho(session: Session, nendo: int) -> Decided:
    """Pending 依頼 of 期4–6 for the 年度, in the caller's transaction."""
    pensions: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
    for atena_no, gimusha, kiso, code in session.execute(
            select(TokuchoTaisho.atena_no, TokuchoTaisho.gimusha_code, TokuchoTaisho.kiso_nenkin_no,
                   TokuchoTaisho.nenkin_code)
            .where(TokuchoTaisho.nendo == nendo, TokuchoTaisho.match_state == MATCHED,
                   TokuchoTaisho.hosoku_month == YEARLY)):
        pensions[str(atena_no)].append((gimusha, kiso, code))
    amounts: dict[int, dict[int, int]] = defaultdict(dict)
    for fuka_id, ki, amount in session.execute(
            select(FukaKibetsu.fuka_id, FukaKibetsu.ki, FukaKibetsu.amount)
            .join(Fuka, Fuka.id == FukaKibetsu.fuka_id)
            .where(Fuka.nendo == nendo, Fuka.choshu_kubun == TOKUCHO, FukaKibetsu.ki.in_(HONCHO_KI))):
        amounts[fuka_id][ki] = amount
    insured = set(session.scalars(select(Shikaku.atena_no).where(Shikaku.soshitsu_date.is_(None))))
    before = _count(session, nendo)
    out = Decided()
    asked = 0
    rows: list[dict[str, object]] = []
    insert = insert_new(session, TokuchoIrai)
    for fuka_id, atena_no, hihokensha_no in session.execute(
            select(Fuka.id, Fuka.atena_no, Fuka.hihokensha_no)
            .where(Fuka.nendo == nendo, Fuka.choshu_kubun == TOKUCHO).order_by(Fuka.atena_no)):
        reason = (_refusal(pensions.get(atena_no, []), amounts.get(fuka_id, {})) if atena_no in insured
                  else "資格 lost: nothing to ask (a Z1A 資格喪失等の通知 tells the 年金保険者)")
        if reason is not None:
            out.listed.append((atena_no, reason))
            continue
        gimusha, kiso, code = pensions[atena_no][0]
        asked += 1
        rows.extend({"nendo": nendo, "ki": ki, "atena_no": atena_no, "hihokensha_no": hihokensha_no,
                     "gimusha_code": gimusha, "kiso_nenkin_no": kiso, "nenkin_code": code,
                     "irai_amount": amounts[fuka_id][ki], "tsuchi_naiyo_code": IRAI_CODE} for ki in HONCHO_KI)
        if len(rows) >= BATCH:
            session.execute(insert, rows)
            rows = []
    if rows:
        session.execute(insert, rows)
    out.created = _count(session, nendo) - before
    out.existing = asked * len(HONCHO_KI) - out.created
    return out


def _refusal(pensions: list[tuple[str, str, str]], kibetsu: dict[int, int]) -> str | None:
    if not pensions:
        return "no Z11 対象者 of the 年度 matched this 賦課"
    if len(set(pensions)) > 1:
        return f"{len(set(pensions))} pensions matched: the 年金保険者 says which one deducts"
    missing = [ki for ki in HONCHO_KI if ki not in kibetsu]
    if missing:
        return f"no 期別額 for 期 {', '.join(map(str, missing))}"
    if kibetsu[5] != kibetsu[6]:
        return "期5 and 期6 differ: a Z12 carries one amount for 12月 and 2月"
    return None


def _count(session: Session, nendo: int) -> int:
    return int(session.scalar(select(func.count()).select_from(TokuchoIrai).where(TokuchoIrai.nendo == nendo)
                              .where(TokuchoIrai.ki.in_(HONCHO_KI))) or 0)
