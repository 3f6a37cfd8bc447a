"""仮徴収額変更通知 (61) of a month's Z1A: who gets one, decided into tokucho_irai as pending rows
(通知内容コード 61, one per 期 it changes), so that it is decided once and sent once.

仮徴収 (期1–3: 4, 6, 8月) goes on at the amount the 年金保険者 deducted the February before (期6)
unless the ward changes it (DOMAIN.md [DOC]; municipal guides: 平準化 of 6月/8月). What the 年金保険者
will deduct for a 仮徴収 期 of 年度 n, as the store knows it (仮徴収 has no 依頼 of its own):
- a 61 依頼 of that 期 it was sent (sent, accepted, deducted); else
- the amount it continues: the 期6 依頼 of 年度 n−1 (sent, accepted or deducted) [INF], else the
  期1 天引結果 of n (a Z14 22 正常: what it did deduct) [INF].
A 61 is decided for a person still insured, with a 特別徴収 賦課 of n, when the 賦課's 期別額 of a
仮徴収 期 the month's file can still reach differs from that. Reached: a 期 deducted after the end
of the run's month (the 追加依頼's rule) [INF]: in April and May 期2–3, in June 期3, in February and
March the next 年度's 期1–3 (once its 賦課 exists). A 61 changes every 仮徴収 期 it reaches [INF:
仮徴収 is one amount going on], so it carries one amount: 金額1 = the first reached 期's 期別額. (The
vendor writes 期2 when run in May or June, else 期1 [CODE]; the same in May, but in June our file can
no longer reach June's deduction, and in April it can.) When the first reached 期 is right and a
later one is not (a 平準化 of 8月 only), the 61 waits for the month that reaches that 期 first
(June). Listed, never guessed:
- the reached 期 do not share one amount;
- a 期 a 61 sent earlier already changed (or one refused): a second change is an operator's;
- a new amount of 0 (a 停止, not a 変更); no 期別額; two pensions deducted in 期1.
A person with another 依頼 of a reached 仮徴収 期 (a 追加依頼 asked for it) gets no 61. Pending 61
rows of the reached 期 are decided again at each run (never sent: replaced when the 賦課 changed).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Container
from dataclasses import dataclass, field

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from adapters.nenkin.z1a_sent import KARI, Pension, ki_after
from adapters.nenkin.z1a_who import YEARLY, lost
from store.inserts import insert_new
from store.models import Fuka, FukaKibetsu, TokuchoIrai, TokuchoKekka, TokuchoTaisho
from store.models.fuka import TOKUCHO
from store.models.tokucho import IRAI_ACCEPTED, IRAI_DEDUCTED, IRAI_PENDING, IRAI_SENT, MATCHED

KARI_KI = (1, 2, 3)
CONTINUES = (IRAI_SENT, IRAI_ACCEPTED, IRAI_DEDUCTED)  # a 依頼 the 年金保険者 acts on
TENBIKI = "22"  # 通知内容コード of a 天引結果


@dataclass
class KariDecided:
    created: int = 0
    existing: int = 0
    listed: list[tuple[str, str]] = field(default_factory=list)  # (宛名番号, why)


@dataclass(frozen=True)
class Continued:
    """What the 年金保険者 goes on deducting for a person's 仮徴収, from which pension."""

    gimusha_code: str
    pension: Pension
    amount: int


@dataclass(frozen=True)
class _Row:
    id: int
    amount: int
    status: str
    naiyo: str


def reached(nendo: int, month_end: dt.date) -> dict[int, tuple[int, ...]]:
    """年度 → its 仮徴収 期 deducted after ``month_end`` (what a file of that month can change)."""
    out: dict[int, list[int]] = defaultdict(list)
    for n, ki in ki_after(nendo, month_end):
        if ki in KARI_KI:
            out[n].append(ki)
    return {n: tuple(sorted(kis)) for n, kis in out.items()}


def continued(session: Session, nendo: int, listed: list[tuple[str, str]]) -> dict[str, Continued]:
    """宛名番号 → what 仮徴収 of ``nendo`` continues (see the module's doc)."""
    out: dict[str, Continued] = {}
    for atena, gimusha, kiso, code, amount in session.execute(
            select(TokuchoIrai.atena_no, TokuchoIrai.gimusha_code, TokuchoIrai.kiso_nenkin_no,
                   TokuchoIrai.nenkin_code, TokuchoIrai.irai_amount)
            .where(TokuchoIrai.nendo == nendo - 1, TokuchoIrai.ki == 6, TokuchoIrai.status.in_(CONTINUES))):
        out[atena] = Continued(gimusha, (kiso, code), amount)
    deducted: dict[str, dict[Pension, Continued]] = defaultdict(dict)
    for owner, gimusha, kiso, code, tenbiki in session.execute(
            select(TokuchoTaisho.atena_no, TokuchoTaisho.gimusha_code, TokuchoKekka.kiso_nenkin_no,
                   TokuchoKekka.nenkin_code, TokuchoKekka.tenbiki_amount)
            .join(TokuchoTaisho, (TokuchoTaisho.kiso_nenkin_no == TokuchoKekka.kiso_nenkin_no)
                  & (TokuchoTaisho.nenkin_code == TokuchoKekka.nenkin_code) & (TokuchoTaisho.nendo == nendo))
            .where(TokuchoKekka.nendo == nendo, TokuchoKekka.ki == 1, TokuchoKekka.tsuchi_naiyo_code == TENBIKI,
                   TokuchoKekka.teishi_jiyu.is_(None), TokuchoKekka.tenbiki_amount > 0,
                   TokuchoTaisho.match_state == MATCHED, TokuchoTaisho.hosoku_month == YEARLY)):
        if owner is not None and owner not in out:
            deducted[owner][(kiso, code)] = Continued(gimusha, (kiso, code), int(tenbiki or 0))
    for atena, pensions in sorted(deducted.items()):
        if len(pensions) > 1:
            listed.append((atena, f"{len(pensions)} pensions deducted in 期1 of 年度 {nendo}: which 仮徴収 to "
                                  "change is the 年金保険者's to say"))
        else:
            out[atena] = next(iter(pensions.values()))
    return out


def decide_kari(session: Session, nendo: int, month_end: dt.date) -> KariDecided:
    """Pending 61-依頼 of the 仮徴収 期 a file of ``month_end``'s month reaches, in the caller's
    transaction (see the module's doc)."""
    out = KariDecided()
    gone = lost(session, month_end)
    for n, kis in sorted(reached(nendo, month_end).items()):
        _decide(session, n, kis, gone, out)
    return out


def _decide(session: Session, n: int, kis: tuple[int, ...], gone: Container[str], out: KariDecided) -> None:
    fuka = {atena: (fuka_id, hiho) for fuka_id, atena, hiho in session.execute(
        select(Fuka.id, Fuka.atena_no, Fuka.hihokensha_no).where(Fuka.nendo == n, Fuka.choshu_kubun == TOKUCHO))}
    if not fuka:
        return  # the 年度's 賦課 is not made yet: nothing to compare
    kibetsu: dict[int, dict[int, int]] = defaultdict(dict)
    for fuka_id, ki, amount in session.execute(
            select(FukaKibetsu.fuka_id, FukaKibetsu.ki, FukaKibetsu.amount).join(Fuka, Fuka.id == FukaKibetsu.fuka_id)
            .where(Fuka.nendo == n, Fuka.choshu_kubun == TOKUCHO, FukaKibetsu.ki.in_(KARI_KI))):
        kibetsu[fuka_id][ki] = amount
    have: dict[str, dict[int, _Row]] = defaultdict(dict)
    for id_, atena, ki, amount, status, naiyo in session.execute(
            select(TokuchoIrai.id, TokuchoIrai.atena_no, TokuchoIrai.ki, TokuchoIrai.irai_amount, TokuchoIrai.status,
                   TokuchoIrai.tsuchi_naiyo_code).where(TokuchoIrai.nendo == n, TokuchoIrai.ki.in_(KARI_KI))):
        have[atena][ki] = _Row(id_, amount, status, naiyo)
    insert = insert_new(session, TokuchoIrai)
    for atena, c in sorted(continued(session, n, out.listed).items()):
        if atena not in fuka or atena in gone:
            continue  # no 特別徴収 賦課 (not this notice's), or lost (the 資格喪失等's)
        rows = have.get(atena, {})
        if any(r.naiyo != KARI for k, r in rows.items() if k in kis):
            continue  # a 追加依頼 asked for these 期
        fuka_id, hiho = fuka[atena]
        want, why = _wanted(n, kis, kibetsu.get(fuka_id, {}), rows, c)
        if why is not None:
            out.listed.append((atena, why))
        pending = {k: r for k, r in rows.items() if k in kis and r.status == IRAI_PENDING}
        if {k: r.amount for k, r in pending.items()} == want:
            out.existing += len(want)
            continue
        if pending:
            session.execute(delete(TokuchoIrai).where(TokuchoIrai.id.in_([r.id for r in pending.values()])))
        if want:
            session.execute(insert, [{"nendo": n, "ki": k, "atena_no": atena, "hihokensha_no": hiho,
                                      "gimusha_code": c.gimusha_code, "kiso_nenkin_no": c.pension[0],
                                      "nenkin_code": c.pension[1], "irai_amount": a, "tsuchi_naiyo_code": KARI}
                                     for k, a in want.items()])
            out.created += len(want)


def _wanted(n: int, kis: tuple[int, ...], amounts: dict[int, int], rows: dict[int, _Row],
            c: Continued) -> tuple[dict[int, int], str | None]:
    """The 61 rows a person should have pending (期 → amount), or none and why not."""
    missing = [k for k in kis if k not in amounts]
    if missing:
        return {}, f"no 期別額 for 期 {', '.join(map(str, missing))} of 年度 {n}"
    sent = {k: r for k, r in rows.items() if r.status != IRAI_PENDING}
    deduct = {k: sent[k].amount if k in sent and sent[k].status in CONTINUES else c.amount for k in kis}
    differ = [k for k in kis if amounts[k] != deduct[k]]
    if not differ or differ[0] != kis[0]:
        return {}, None  # nothing to change, or not yet: a 61 now would change the first 期 too
    cover = list(kis)
    blocked = [k for k in cover if k in sent]
    if blocked:
        k = blocked[0]
        return {}, (f"仮徴収額 of 期 {k} of 年度 {n} was already asked by a 仮徴収額変更 ({sent[k].status}, "
                    f"{sent[k].amount} yen); the 賦課 now says {amounts[k]} yen: an operator decides")
    if len({amounts[k] for k in cover}) != 1:
        return {}, (f"期別額 of 期 {cover[0]}–3 of 年度 {n} differ ({', '.join(str(amounts[k]) for k in cover)}): "
                    "a 仮徴収額変更 carries one amount")
    if amounts[cover[0]] == 0:
        return {}, f"仮徴収額 0 from 期 {cover[0]} of 年度 {n}: a 停止, not a 仮徴収額変更"
    return {k: amounts[k] for k in cover}, None
