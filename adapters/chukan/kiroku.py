"""情報提供等記録 (teikyo_kiroku): what was exchanged about whom, with whom, when, why and by whom.

The PIA promises a record of every 情報照会, 情報提供 and refusal — a refused request too — kept
7 years (retention.records_years), and the custody log's who/what/when/why for each. Both are
written here in the caller's transaction, so a record cannot exist without its custody entry or
the other way round. Codes only: never an item value, never a 個人番号.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import CursorResult, delete, or_, select
from sqlalchemy.orm import Session

from queues import handover_log
from queues.custody import CustodyEvent
from store.models import Atena
from store.models.chukan import OUTCOMES, PROVISION, QUERY, TeikyoKiroku

# The custody event for each record: the names the custody log is searched by.
EVENTS = {
    (QUERY, "queried"): "queried",
    (QUERY, "result"): "query_result",
    (QUERY, "refused"): "query_refused",
    (PROVISION, "held"): "held",
    (PROVISION, "approved"): "approved",
    (PROVISION, "rejected"): "denied",
    (PROVISION, "answered"): "provided",
    (PROVISION, "refused"): "refused",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Entry:
    """What one record says. ``basis`` is Permission.basis; a request not on the list has none and
    gives the ``reason`` instead (NotPermitted's message: codes only)."""

    direction: str
    outcome: str
    counterpart_kikan: str
    tetsuzuki: str
    tm: str
    by: str
    togo_atena_no: str | None = None
    atena_no: str | None = None
    jimu: str | None = None
    basis: str | None = None
    reason: str | None = None
    reference: str | None = None


def keep_until(at: datetime, years: int) -> datetime:
    """``at`` plus whole years; 29 February becomes 1 March (kept a day longer, never shorter)."""
    try:
        return at.replace(year=at.year + years)
    except ValueError:
        return at.replace(year=at.year + years, month=3, day=1)


def record(session: Session, entry: Entry, *, records_years: int, at: datetime | None = None) -> TeikyoKiroku:
    """One 提供等記録 row and its custody event, in ``session``'s transaction."""
    event = EVENTS.get((entry.direction, entry.outcome))
    if event is None or entry.outcome not in OUTCOMES:
        raise ValueError(f"提供等記録: outcome {entry.outcome!r} is not one of direction {entry.direction!r} "
                         f"(known: {', '.join(sorted(f'{d}/{o}' for d, o in EVENTS))})")
    if entry.basis is None and entry.reason is None:
        raise ValueError(f"提供等記録 {entry.direction}/{entry.outcome} ({entry.tetsuzuki} {entry.tm}): "
                         "a basis (the permission row) or a reason (why it is refused) is required")
    if entry.atena_no is None and entry.togo_atena_no is None:
        raise ValueError(f"提供等記録 {entry.direction}/{entry.outcome}: name the person (宛名番号 or 統合宛名番号)")
    when = at or datetime.now(UTC)
    atena_no = entry.atena_no
    if atena_no is None:
        # A provision request names only the 統合宛名番号; keep the 宛名番号 too when the store knows it.
        atena_no = session.scalar(select(Atena.atena_no).where(Atena.togo_atena_no == entry.togo_atena_no))
    row = TeikyoKiroku(
        at=when, direction=entry.direction, outcome=entry.outcome, atena_no=atena_no,
        togo_atena_no=entry.togo_atena_no, counterpart_kikan=entry.counterpart_kikan, jimu=entry.jimu,
        tetsuzuki=entry.tetsuzuki, tm=entry.tm, basis=entry.basis, reason=entry.reason, actor=entry.by,
        reference=entry.reference, keep_until=keep_until(when, records_years))
    session.add(row)
    what = " ".join(f"{name}={value}" for name, value in (
        ("jimu", entry.jimu), ("tetsuzuki", entry.tetsuzuki), ("tm", entry.tm), ("ref", entry.reference))
        if value)
    detail = what if entry.reason is None else f"{what} reason: {entry.reason}"
    handover_log.record(session, CustodyEvent(
        transfer_id=None, event=event, actor=entry.by, partner=entry.counterpart_kikan,
        basis=(entry.basis or "not on the permission list")[:200], detail=detail[:4000]))
    return row


def person(session: Session, atena_no: str) -> list[TeikyoKiroku]:
    """Every record about the person: by 宛名番号, or by the 統合宛名番号 the 宛名 carries (a record
    made before the 宛名 knew it has only that)."""
    togo = session.scalar(select(Atena.togo_atena_no).where(Atena.atena_no == atena_no))
    match = TeikyoKiroku.atena_no == atena_no
    if togo is not None:
        match = or_(match, TeikyoKiroku.togo_atena_no == togo)
    return list(session.scalars(select(TeikyoKiroku).where(match).order_by(TeikyoKiroku.at, TeikyoKiroku.id)))


def purge_expired(session: Session, now: datetime, *, by: str = "retention") -> int:
    """Delete the records past their keep_until; one custody ``purged`` event with the count (none
    when nothing was due)."""
    result = cast(CursorResult[Any], session.execute(delete(TeikyoKiroku).where(TeikyoKiroku.keep_until < now)))
    count = result.rowcount
    if count:
        handover_log.record(session, CustodyEvent(
            transfer_id=None, event="purged", actor=by, record_count=count,
            basis="retention.records_years (情報提供等記録)", detail="teikyo_kiroku"))
    return count
