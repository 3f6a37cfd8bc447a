"""Who a month's Z1A tells the 年金保険者 about (LAYOUTS-EVIDENCE.md §4, the vendor's 特徴送付情報作成):

資格喪失等の通知 (41) — a 特別徴収 person whose 資格 was lost by the end of the run's month (no 資格
of theirs still open), one record per pension:
- with a 依頼 still pending, sent or accepted for a 期 deducted after the 喪失日 (z1a_sent.ki_after);
- or, with no 依頼 in the 年度 but 仮徴収額変更 (61) ones (仮徴収 goes on from last year without
  one), a matched yearly Z11 対象者 (捕捉月 04) of the 年度 and a 特別徴収 賦課 of it, lost within
  the 年度, not in a 41 already sent (a 追加候補者 without a 依頼 is deducted nothing yet: nothing to stop);
- or in a 41 of an earlier edition of the same month (an edition sends the month again).
各種区分 from the 喪失事由: 01 死亡, 02 転出, 04 適用除外, 03 anything else [CODE]; the store's
own codes (store/models/atena.py) and the vendor's 51/52/53 both mean what they say.

特別徴収追加依頼 (31) — a matched 追加候補者 (Z11 通知内容コード 30, 捕捉月 even) of this 年度 or
the one before, still insured, with a 特別徴収 賦課: 依頼 from the 期 deducted 6 months after the
捕捉月 [CODE: "徴収方法 of the month 6 months after 捕捉月"] to the last 期 of its collection (仮徴収
期3 or 本徴収 期6), of the 年度 that 期 is in, one amount (金額1 = the first 期's 期別額 [INF]: the
file has one). Decided into tokucho_irai as pending rows (通知内容コード 31) like decide_honcho;
anyone it cannot ask is listed with the reason, never guessed.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from adapters.nenkin import irai
from adapters.nenkin.irai import matched_yearly
from adapters.nenkin.judge import nendo_of
from adapters.nenkin.z1a_sent import ACTIVE, COLLECTED, KARI, TSUIKA, Pension, ki_after, tenbiki_day
from store.inserts import insert_new
from store.models import Fuka, FukaKibetsu, Shikaku, TokuchoIrai, TokuchoTaisho
from store.models.atena import SOSHITSU_SHIBO, SOSHITSU_TENSHUTSU
from store.models.fuka import TOKUCHO
from store.models.tokucho import MATCHED

CANDIDATE = "30"  # 通知内容コード 特別徴収追加候補者情報
YEARLY = irai.YEARLY  # 捕捉月 of the yearly 対象者: those whose 仮徴収 goes on without a 依頼
KUBUN_OF_JIYU = {SOSHITSU_SHIBO: "01", SOSHITSU_TENSHUTSU: "02", "52": "01", "51": "02", "53": "04"}
OTHER = "03"
CHUNK = 400


@dataclass(frozen=True)
class Loss:
    """One 41 record: whose pension, lost when and why."""

    atena_no: str
    gimusha_code: str
    pension: Pension
    soshitsu_date: dt.date
    kakushu_kubun: str


@dataclass
class TsuikaDecided:
    created: int = 0
    existing: int = 0
    listed: list[tuple[str, str]] = field(default_factory=list)  # (宛名番号, why)


def _chunks(keys: list[str]) -> list[list[str]]:
    return [keys[i:i + CHUNK] for i in range(0, len(keys), CHUNK)]


def lost(session: Session, by: dt.date) -> dict[str, tuple[dt.date, str | None]]:
    """宛名番号 → (latest 喪失日, its 事由) of everyone whose 資格 are all lost, the last by ``by``."""
    out: dict[str, tuple[dt.date, str | None]] = {}
    for atena, day, jiyu in session.execute(
            select(Shikaku.atena_no, Shikaku.soshitsu_date, Shikaku.soshitsu_jiyu)
            .where(Shikaku.soshitsu_date.is_not(None)).order_by(Shikaku.soshitsu_date)):
        if day is not None:
            out[atena] = (day, jiyu)
    for chunk in _chunks(sorted(out)):
        for atena in session.scalars(select(Shikaku.atena_no).where(Shikaku.atena_no.in_(chunk),
                                                                     Shikaku.soshitsu_date.is_(None))):
            out.pop(atena, None)
    return {a: v for a, v in out.items() if v[0] <= by}


def yearly_pensions(session: Session, nendo: int, chunk: list[str], pensions: dict[str, set[tuple[str, str, str]]],
                    tokucho: set[str]) -> None:
    """Into ``pensions``: 宛名番号 → (義務者, 基礎年金番号, 年金コード) of the 年度's matched yearly
    対象者 among ``chunk``; into ``tokucho``: those of ``chunk`` with a 特別徴収 賦課 of the 年度."""
    for atena, gimusha, kiso, code in session.execute(
            select(TokuchoTaisho.atena_no, TokuchoTaisho.gimusha_code, TokuchoTaisho.kiso_nenkin_no,
                   TokuchoTaisho.nenkin_code)
            .where(TokuchoTaisho.atena_no.in_(chunk), *matched_yearly(nendo))):
        pensions[str(atena)].add((gimusha, kiso, code))
    tokucho.update(session.scalars(select(Fuka.atena_no).where(Fuka.atena_no.in_(chunk), Fuka.nendo == nendo,
                                                               Fuka.choshu_kubun == TOKUCHO)))


def losses(session: Session, nendo: int, month_end: dt.date, notified: set[Pension],
           resend: set[Pension]) -> list[Loss]:
    """The 41 records of a month's run (see the module's doc), by 義務者 and 基礎年金番号."""
    gone = lost(session, month_end)
    irai: dict[str, dict[tuple[str, str, str], bool]] = defaultdict(dict)  # atena → pension → still to stop
    with_irai: set[str] = set()
    taisho: dict[str, set[tuple[str, str, str]]] = defaultdict(set)
    tokucho: set[str] = set()
    for chunk in _chunks(sorted(gone)):
        for irai_atena, n, ki, status, naiyo, gimusha, kiso, code in session.execute(
                select(TokuchoIrai.atena_no, TokuchoIrai.nendo, TokuchoIrai.ki, TokuchoIrai.status,
                       TokuchoIrai.tsuchi_naiyo_code, TokuchoIrai.gimusha_code, TokuchoIrai.kiso_nenkin_no,
                       TokuchoIrai.nenkin_code)
                .where(TokuchoIrai.atena_no.in_(chunk), TokuchoIrai.nendo.in_((nendo, nendo + 1)))):
            if n == nendo and naiyo != KARI:  # a 61 only changes the 仮徴収 that goes on without one
                with_irai.add(irai_atena)
            key = (gimusha, kiso, code)
            still = status in ACTIVE and tenbiki_day(n, ki) > gone[irai_atena][0]
            irai[irai_atena][key] = irai[irai_atena].get(key, False) or still
        yearly_pensions(session, nendo, chunk, taisho, tokucho)
    start = dt.date(nendo, 4, 1)
    out: list[Loss] = []
    for atena, (day, jiyu) in gone.items():
        chosen = {k for k, still in irai[atena].items() if still or (k[1], k[2]) in resend}
        if atena not in with_irai and atena in tokucho and day >= start:
            chosen |= {k for k in taisho[atena] if (k[1], k[2]) not in notified}
        chosen |= {k for k in taisho[atena] if (k[1], k[2]) in resend}
        kubun = KUBUN_OF_JIYU.get(jiyu or "", OTHER)
        out.extend(Loss(atena, g, (kiso, code), day, kubun) for g, kiso, code in chosen)
    return sorted(out, key=lambda x: (x.gimusha_code, x.pension, x.atena_no))


def target(nendo: int, hosoku_month: str) -> tuple[int, int]:
    """(年度, 期) deducted 6 months after a 捕捉月 of a 年度's 追加候補者 (06 → 期5, 08 → 期6, 10 → 期1
    of the next 年度, 12 → 期2, 02 → 期3)."""
    month = int(hosoku_month)
    year = nendo if month >= 4 else nendo + 1
    later = dt.date(year + (month + 5) // 12, (month + 5) % 12 + 1, 1)
    ki = next(k for k, m in COLLECTED.items() if m == later.month)
    return nendo_of(later), ki


def span(ki: int) -> tuple[int, ...]:
    """期 from ``ki`` to the end of its collection: 仮徴収 1–3, 本徴収 4–6."""
    return tuple(range(ki, 4 if ki <= 3 else 7))


def decide_tsuika(session: Session, nendo: int, month_end: dt.date) -> TsuikaDecided:
    """Pending 31-依頼 for the 追加候補者 (see the module's doc), in the caller's transaction."""
    wanted: dict[str, set[tuple[str, str, str, int, int]]] = defaultdict(set)
    for atena, n, hosoku, gimusha, kiso, code in session.execute(
            select(TokuchoTaisho.atena_no, TokuchoTaisho.nendo, TokuchoTaisho.hosoku_month,
                   TokuchoTaisho.gimusha_code, TokuchoTaisho.kiso_nenkin_no, TokuchoTaisho.nenkin_code)
            .where(TokuchoTaisho.match_state == MATCHED, TokuchoTaisho.tsuchi_naiyo_code == CANDIDATE,
                   TokuchoTaisho.nendo.in_((nendo - 1, nendo)))):
        wanted[str(atena)].add((gimusha, kiso, code, *target(n, hosoku)))
    out = TsuikaDecided()
    if not wanted:
        return out
    gone = lost(session, dt.date.max)
    insert = insert_new(session, TokuchoIrai)
    for atena, asks in sorted(wanted.items()):
        if len(asks) > 1:
            out.listed.append((atena, f"{len(asks)} pensions or 期 asked: the 年金保険者 says which one deducts"))
            continue
        gimusha, kiso, code, n, ki = next(iter(asks))
        kis = span(ki)
        have = int(session.scalar(select(func.count()).select_from(TokuchoIrai).where(
            TokuchoIrai.atena_no == atena, TokuchoIrai.nendo == n, TokuchoIrai.ki.in_(kis))) or 0)
        if have:
            out.existing += have
            continue
        if tenbiki_day(n, ki) <= month_end:
            out.listed.append((atena, f"期 {ki} of 年度 {n} (6 months after the 捕捉月) is deducted before this "
                                      "month's file could reach the 年金保険者"))
            continue
        if atena in gone:
            out.listed.append((atena, f"資格 lost on {gone[atena][0].isoformat()}"))
            continue
        fuka = session.execute(select(Fuka.id, Fuka.hihokensha_no).where(
            Fuka.atena_no == atena, Fuka.nendo == n, Fuka.choshu_kubun == TOKUCHO)).first()
        if fuka is None:
            out.listed.append((atena, f"no 特別徴収 賦課 of 年度 {n} for 期 {ki}"))
            continue
        amounts = {k: a for k, a in session.execute(select(FukaKibetsu.ki, FukaKibetsu.amount).where(
            FukaKibetsu.fuka_id == fuka[0], FukaKibetsu.ki.in_(kis)))}
        if set(amounts) != set(kis) or len(set(amounts.values())) != 1:
            out.listed.append((atena, f"期別額 of 期 {kis[0]}–{kis[-1]} of 年度 {n} missing or not one amount: "
                                      "a 追加依頼 carries one"))
            continue
        session.execute(insert, [{"nendo": n, "ki": k, "atena_no": atena, "hihokensha_no": fuka[1],
                                  "gimusha_code": gimusha, "kiso_nenkin_no": kiso, "nenkin_code": code,
                                  "irai_amount": amounts[k], "tsuchi_naiyo_code": TSUIKA} for k in kis])
        out.created += len(kis)
    return out


@dataclass(frozen=True)
class Tsuika:
    """One 31 record: the pension asked, from which 期 (年度, 期), and the amount."""

    atena_no: str
    gimusha_code: str
    pension: Pension
    first: tuple[int, int]
    amount: int


def tsuika(session: Session, nendo: int, month_end: dt.date, resent: list[str],
           left_out: list[tuple[str, str]], naiyo: str = TSUIKA) -> list[Tsuika]:
    """The 31 (or, by ``naiyo``, 61) records of a run: per pension its pending 依頼 of that
    通知内容コード (and those sent by ``resent`` transfers, an edition's month) of 期 deducted after
    the month; the first 期's amount."""
    ahead = set(ki_after(nendo, month_end))
    rows: dict[tuple[str, str, Pension], list[tuple[int, int, int]]] = defaultdict(list)
    passed: set[str] = set()
    query = (select(TokuchoIrai.atena_no, TokuchoIrai.gimusha_code, TokuchoIrai.kiso_nenkin_no,
                    TokuchoIrai.nenkin_code, TokuchoIrai.nendo, TokuchoIrai.ki, TokuchoIrai.irai_amount,
                    TokuchoIrai.status)
             .where(TokuchoIrai.tsuchi_naiyo_code == naiyo, TokuchoIrai.nendo.in_((nendo, nendo + 1)),
                    (TokuchoIrai.status == "pending") | TokuchoIrai.transfer_id.in_(resent or [""])))
    for atena, gimusha, kiso, code, n, ki, amount, status in session.execute(query):
        if (n, ki) in ahead:
            rows[(atena, gimusha, (kiso, code))].append((n, ki, amount))
        elif status == "pending" and n == nendo:
            passed.add(atena)
    out = []
    for (atena, gimusha, pension), kis in rows.items():
        n, ki, amount = min(kis)
        out.append(Tsuika(atena, gimusha, pension, (n, ki), amount))
    what = "追加依頼" if naiyo == TSUIKA else "仮徴収額変更"
    left_out.extend((a, f"a pending {what} whose 期 was deducted before it was sent")
                    for a in sorted(passed - {t.atena_no for t in out}))
    return sorted(out, key=lambda t: (t.gimusha_code, t.pension, t.atena_no))
