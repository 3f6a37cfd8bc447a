"""特別徴収依頼: what the ward asks the 年金保険者 to deduct, decided from 賦課.

The July Z12 asks for the 本徴収 (期4–6: 10, 12, 2月) of every 特別徴収 賦課 whose person a Z11
of the 年度 announced (捕捉月 04) and matched. A request is a pending row per person and 期 in
tokucho_irai; deciding again leaves an existing row as it is, so a run repeated changes nothing.
Who cannot be asked is listed with the reason, never guessed: 資格 lost, no Z11 match for the
賦課, more than one matched pension (which one to deduct from is the 年金保険者's choice, not
ours), 期別額 a Z12 cannot carry (its 金額2 is the 12月 and the 2月 amount alike:
LAYOUTS-EVIDENCE §4 [INF]), or special collection stopped within the 年度.

A stop within the 年度 is final for it (adapters/nenkin/stops.py: the rule, its source — DOMAIN.md
§年金特徴, "A stop within the 年度" [INF] — and its confidence): a person whose 仮徴収 or an
earlier 期 the 年金保険者 reported stopped (Z14 天引結果 各種区分 other than 00, or a 42 taking our
資格喪失等の通知) is not asked: 普通徴収 collects the rest of the 年度, and ``nenkin list stopped``
shows them with what it must collect. Nothing within the 年度 brings them back into the Z12.
A 依頼 decided before the stop and never sent (its file held, or the run cut short) is withdrawn
when the 年度 is decided again (``Decided.withdrawn``): it was never told to anyone.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import (
    Column,
    ColumnElement,
    Integer,
    Select,
    Table,
    case,
    delete,
    func,
    literal,
    select,
    true,
    union_all,
)
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from adapters.nenkin.stops import Stop, person_stops
from store.inserts import insert_new
from store.models import Fuka, FukaKibetsu, Shikaku, TokuchoIrai, TokuchoTaisho
from store.models.fuka import TOKUCHO
from store.models.tokucho import IRAI_PENDING, MATCHED
from store.scratch import fill, scratch

HONCHO_KI = (4, 5, 6)  # 本徴収: 10, 12, 2月 (DOMAIN.md [DOC])
YEARLY = "04"  # 捕捉月 of the yearly 対象者 (通知内容コード 00)
IRAI_CODE = "01"  # 通知内容コード 特別徴収依頼通知 (mappings/codes/nenkin.toml [CODE])
CHUNK = 1000  # 賦課 judged rows fetched at a time


@dataclass
class Decided:
    """What one decision found: requests made, already there, and persons listed (宛名番号, why)."""

    created: int = 0
    existing: int = 0
    withdrawn: int = 0  # pending 依頼 of persons stopped since they were decided
    listed: list[tuple[str, str]] = field(default_factory=list)


def decide_honcho(session: Session, nendo: int) -> Decided:
    """Pending 依頼 of 期4–6 for the 年度, in the caller's transaction.

    Each 特別徴収 賦課 is judged from one row the store aggregates (資格, how many pensions and
    what the one pension is, the 期4–6 amounts), so nothing grows with the population; the 賦課
    asked go into a scratch table with what their 依頼 say, a batch at a time as they are
    judged, and the 依頼 rows are made by the store itself: one INSERT … SELECT from it."""
    before = _count(session, nendo)
    out = Decided()
    stopped = person_stops(session, nendo)  # read before the 賦課 stream opens on the connection
    out.withdrawn = _withdraw(session, nendo, sorted(stopped))
    before -= out.withdrawn
    connection = session.connection()
    # In the judged order (by 宛名番号), which the 依頼 keep: the store's later reads of them go by
    # 年度, 期 and 宛名番号, and rows stored in another order made each read jump about the table.
    with scratch(connection, "irai_asked", Column("seq", Integer, primary_key=True),
                 *(Column(name, TokuchoIrai.__table__.c[name].type) for name in _ASKED_TEXT),
                 *(Column(f"k{ki}", Integer) for ki in HONCHO_KI)) as asked:
        judged = connection.execute(_judged(nendo).execution_options(yield_per=CHUNK))  # streamed: whole, 130 MB
        made = fill(connection, asked, _asked(judged, out, stopped))
        session.execute(_requests(session, nendo, asked, datetime.now(UTC)))
    out.created = _count(session, nendo) - before
    out.existing = made * len(HONCHO_KI) - out.created
    return out


# What a 依頼 says besides its 期 and amount, carried from the judged row to the scratch table.
_ASKED_TEXT = ("atena_no", "hihokensha_no", "gimusha_code", "kiso_nenkin_no", "nenkin_code")


def _asked(judged: Iterable[Any], out: Decided, stopped: dict[str, Stop]) -> Iterator[tuple[Any, ...]]:
    """The scratch rows of the 賦課 asked, in the judged order; the others into ``out.listed``."""
    for seq, (atena_no, hihokensha_no, is_insured, n, gimusha, kiso, nenkin, *amounts) in enumerate(judged):
        found = {ki: amount for ki, amount in zip(HONCHO_KI, amounts, strict=True) if amount is not None}
        stop = stopped.get(atena_no)
        reason = ("資格 lost: nothing to ask (a Z1A 資格喪失等の通知 tells the 年金保険者)" if not is_insured
                  else f"特別徴収 stopped in the 年度 ({stop.reason}): 普通徴収 for the rest of the 年度"
                  if stop is not None else _refusal(n or 0, found))
        if reason is not None:
            out.listed.append((atena_no, reason))
        else:
            yield seq, atena_no, hihokensha_no, gimusha, kiso, nenkin, *amounts


def _judged(nendo: int) -> Select[Any]:
    """Per 特別徴収 賦課 of the 年度: 宛名番号, 被保険者番号, insured now, how many matched pensions
    and what the pension is (義務者, 基礎年金番号, 年金コード: meant only when there is one), the
    期4–6 amounts."""
    # Each 期's amount looked up by the 期別額's key (賦課, 期): grouping the whole table took longer.
    kibetsu = [select(FukaKibetsu.amount).where(FukaKibetsu.fuka_id == Fuka.id, FukaKibetsu.ki == ki)
               .scalar_subquery().label(f"k{ki}") for ki in HONCHO_KI]
    # A pension is one row: (年度, 基礎年金番号, 年金コード, 捕捉月) is unique in tokucho_taisho.
    pensions = (select(TokuchoTaisho.atena_no, func.count().label("n"),
                       *(func.max(c).label(c.key) for c in (TokuchoTaisho.gimusha_code, TokuchoTaisho.kiso_nenkin_no,
                                                            TokuchoTaisho.nenkin_code)))
                .where(*matched_yearly(nendo)).group_by(TokuchoTaisho.atena_no).subquery())
    insured = (select(Shikaku.atena_no).where(Shikaku.atena_no == Fuka.atena_no, Shikaku.soshitsu_date.is_(None))
               .exists())
    return (select(Fuka.atena_no, Fuka.hihokensha_no, insured, pensions.c.n, pensions.c.gimusha_code,
                   pensions.c.kiso_nenkin_no, pensions.c.nenkin_code, *kibetsu)
            .outerjoin(pensions, pensions.c.atena_no == Fuka.atena_no)
            .where(Fuka.nendo == nendo, Fuka.choshu_kubun == TOKUCHO).order_by(Fuka.atena_no))


def matched_yearly(nendo: int) -> tuple[ColumnElement[bool], ...]:
    """The 対象者 of the 年度's yearly Z11 matched to a 宛名: the pensions a Z12 may ask."""
    return (TokuchoTaisho.nendo == nendo, TokuchoTaisho.match_state == MATCHED, TokuchoTaisho.hosoku_month == YEARLY)


def _requests(session: Session, nendo: int, asked: Table, now: datetime) -> Any:
    """INSERT … SELECT of the 依頼 of 期4–6 of the ``asked`` (the scratch table ``decide_honcho``
    fills), three per row, in its order; a 依頼 already there is left as it is. One statement
    reading one table: lists of ids took a statement per few hundred, and joining 賦課, 期別額 and
    対象者 again for each row took more than the writing."""
    ki = union_all(*(select(literal(k).label("ki")) for k in HONCHO_KI)).subquery("honcho_ki")
    amount = case(*((ki.c.ki == k, asked.c[f"k{k}"]) for k in HONCHO_KI[:-1]), else_=asked.c[f"k{HONCHO_KI[-1]}"])
    rows = (select(literal(nendo), ki.c.ki, *(asked.c[name] for name in _ASKED_TEXT), amount, literal(IRAI_CODE),
                   literal(IRAI_PENDING), literal(now, TokuchoIrai.created_at.type),
                   literal(now, TokuchoIrai.updated_at.type))
            .select_from(asked).join(ki, true()).order_by(asked.c.seq, ki.c.ki))
    columns = ["nendo", "ki", *_ASKED_TEXT, "irai_amount", "tsuchi_naiyo_code", "status", "created_at", "updated_at"]
    return insert_new(session, TokuchoIrai).from_select(columns, rows)


def _refusal(pensions: int, kibetsu: dict[int, int]) -> str | None:
    if not pensions:
        return "no Z11 対象者 of the 年度 matched this 賦課"
    if pensions > 1:
        return f"{pensions} pensions matched: the 年金保険者 says which one deducts"
    missing = [ki for ki in HONCHO_KI if ki not in kibetsu]
    if missing:
        return f"no 期別額 for 期 {', '.join(map(str, missing))}"
    if kibetsu[5] != kibetsu[6]:
        return "期5 and 期6 differ: a Z12 carries one amount for 12月 and 2月"
    return None


def _withdraw(session: Session, nendo: int, atena_nos: list[str]) -> int:
    """Delete the pending 本徴収 依頼 of ``atena_nos``: never sent, nothing answers them."""
    gone = 0
    for i in range(0, len(atena_nos), CHUNK):
        done = session.execute(delete(TokuchoIrai).where(
            TokuchoIrai.nendo == nendo, TokuchoIrai.ki.in_(HONCHO_KI), TokuchoIrai.status == IRAI_PENDING,
            TokuchoIrai.atena_no.in_(atena_nos[i:i + CHUNK])))
        gone += cast(CursorResult[Any], done).rowcount
    return gone


def _count(session: Session, nendo: int) -> int:
    return int(session.scalar(select(func.count()).select_from(TokuchoIrai).where(TokuchoIrai.nendo == nendo)
                              .where(TokuchoIrai.ki.in_(HONCHO_KI))) or 0)
