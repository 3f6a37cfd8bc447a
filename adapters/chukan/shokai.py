"""情報照会: decide who is queried (the permission list first), then submit to the 中間サーバー.

The 転入者 income query: a 第1号被保険者 who moved in (資格取得事由 転入) and whose previous
municipality is known gets one query for 地方税関係情報 per 年度, asked of that municipality.
An operator can also ask one query by hand (``ask``). Either way the ``shokai`` row is made first,
with its idempotency key: a query not on the permission list is refused there — nothing is sent —
and recorded (提供等記録 + custody); a permitted one waits as ``pending`` until ``submit`` has the
service's 照会番号. A submit that timed out is sent again with the same key and the same body (the
照会依頼日時 is the row's creation time, the user the one who asked), so the service answers it
as a replay: one query on the server, however many resends.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import exists, select
from sqlalchemy.orm import Session, sessionmaker

from adapters.chukan import kiroku
from adapters.chukan.client import USER, ChukanClient
from adapters.chukan.errors import ChukanFault, ChukanProtocolError, ChukanRequestInvalid, ChukanUnavailable
from adapters.chukan.messages import Query
from adapters.chukan.permits import NotPermitted, Permits
from queues import handover_log
from queues.custody import CustodyEvent
from settings.chukan import ChukanConfig
from store.models import Atena, Shikaku
from store.models.atena import HIHOKENSHA_KUBUN_1GO, SHUTOKU_TENNYU
from store.models.chukan import QUERY
from store.models.shokai import FAILED, KIND_ADHOC, KIND_INCOME, PENDING, REFUSED, SUBMITTED, Shokai


def nendo_of(day: date) -> int:
    """The 年度 (April to March) ``day`` falls in."""
    return day.year if day.month >= 4 else day.year - 1


def period(nendo: int) -> tuple[date, date]:
    """照会開始日/終了日 sent with a query: the 年度 the income is needed for [INF]."""
    return date(nendo, 4, 1), date(nendo + 1, 3, 31)


@dataclass(frozen=True, slots=True)
class Submitted:
    """What ``submit`` did: rows sent (replayed ones counted too), failed, and left pending because
    the service could not be reached (sent again by the next run, with the same key)."""

    sent: tuple[int, ...]
    replayed: tuple[int, ...]
    failed: tuple[int, ...]
    unreachable: tuple[int, ...]


def income_candidates(session: Session, nendo: int, since: date | None) -> list[tuple[str, str, str]]:
    """(宛名番号, 統合宛名番号, 転入前 機関コード) of each 転入 第1号被保険者 with a current 資格 and no
    income query for ``nendo`` yet (in any state: a refused or failed one is not asked again by
    itself — an operator asks again with ``ask``). A person without 統合宛名番号 cannot be asked
    about and is left out."""
    asked = exists().where(Shokai.atena_no == Atena.atena_no, Shokai.kind == KIND_INCOME, Shokai.nendo == nendo)
    query = (select(Atena.atena_no, Atena.togo_atena_no, Atena.zenjusho_kikan_code)
             .join(Shikaku, Shikaku.atena_no == Atena.atena_no)
             .where(Shikaku.hihokensha_kubun == HIHOKENSHA_KUBUN_1GO, Shikaku.shutoku_jiyu == SHUTOKU_TENNYU,
                    Shikaku.soshitsu_date.is_(None), Atena.zenjusho_kikan_code.is_not(None),
                    Atena.togo_atena_no.is_not(None), ~asked)
             .distinct().order_by(Atena.atena_no))
    if since is not None:
        query = query.where(Shikaku.shutoku_date >= since)
    return [(a, str(t), str(k)) for a, t, k in session.execute(query)]


def open_query(session: Session, chukan: ChukanConfig, permits: Permits, *, kind: str, nendo: int,
               atena_no: str, togo_atena_no: str, kikan: str, jimu: str, tetsuzuki: str, tm: str, by: str,
               now: datetime) -> Shokai:
    """The shokai row for one query, permission decided: ``pending`` or ``refused`` (recorded).
    ``by`` is sent as the query's ユーザーID, so it must be one the service takes."""
    if not USER.fullmatch(by):
        raise ValueError(f"operator id {by!r}: must be 1-20 of A-Z a-z 0-9 _ . - (the ユーザーID sent)")
    row = Shokai(kind=kind, nendo=nendo, atena_no=atena_no, togo_atena_no=togo_atena_no, provider_kikan=kikan,
                 jimu=jimu, tetsuzuki=tetsuzuki, tm=tm, idem_key=str(uuid.uuid4()), requested_by=by,
                 created_at=now)
    try:
        row.basis = permits.query(jimu, tetsuzuki, tm, kikan).basis
        row.state = PENDING
    except NotPermitted as refused:
        row.state, row.reason = REFUSED, str(refused)
    session.add(row)
    session.flush()
    if row.state == REFUSED:
        kiroku.record(session, kiroku.Entry(
            direction=QUERY, outcome="refused", counterpart_kikan=kikan, tetsuzuki=tetsuzuki, tm=tm, by=by,
            togo_atena_no=togo_atena_no, atena_no=atena_no, jimu=jimu, reason=row.reason,
            reference=row.idem_key), records_years=chukan.records_years, at=now)
    return row


def decide_income(session: Session, chukan: ChukanConfig, permits: Permits, *, nendo: int, since: date | None,
                  by: str, now: datetime, limit: int | None = None) -> list[Shokai]:
    """One income query row per candidate (config.chukan.queries["income"]), each permission-checked."""
    income = chukan.queries[KIND_INCOME]
    found = income_candidates(session, nendo, since)
    return [open_query(session, chukan, permits, kind=KIND_INCOME, nendo=nendo, atena_no=atena_no,
                       togo_atena_no=togo, kikan=kikan, jimu=income.jimu, tetsuzuki=income.tetsuzuki, tm=income.tm,
                       by=by, now=now)
            for atena_no, togo, kikan in found[:limit]]


class UnknownPerson(LookupError):
    """``ask`` for a 宛名番号 the store does not have, or one without 統合宛名番号."""


def ask(session: Session, chukan: ChukanConfig, permits: Permits, *, atena_no: str, tm: str, kikan: str,
        jimu: str | None, tetsuzuki: str | None, nendo: int, by: str, now: datetime) -> Shokai:
    """One query an operator asks for by hand. 事務/事務手続 default to the income query's (the 賦課
    事務 this bridge queries for); the permission list decides, exactly as for the automatic ones."""
    togo = session.scalar(select(Atena.togo_atena_no).where(Atena.atena_no == atena_no))
    if togo is None:
        raise UnknownPerson(f"宛名番号 {atena_no}: not in the store, or no 団体内統合宛名番号 yet")
    income = chukan.queries[KIND_INCOME]
    return open_query(session, chukan, permits, kind=KIND_ADHOC, nendo=nendo, atena_no=atena_no,
                      togo_atena_no=togo, kikan=kikan, jimu=jimu or income.jimu,
                      tetsuzuki=tetsuzuki or income.tetsuzuki, tm=tm, by=by, now=now)


def query_of(row: Shokai, chukan: ChukanConfig) -> Query:
    """The SubmitQuery request of a row: the same body every time it is sent (replays need it)."""
    start, end = period(row.nendo)
    settings = chukan.queries.get(row.kind) or chukan.queries[KIND_INCOME]
    return Query(numbering_system=chukan.numbering_system, atena_no=row.atena_no, togo_atena_no=row.togo_atena_no,
                 requested_at=row.created_at, department=chukan.department, user_id=row.requested_by,
                 querying_kikan=chukan.kikan_code, non_disclosure=settings.non_disclosure, jimu=row.jimu,
                 tetsuzuki=row.tetsuzuki, provider_kikan=row.provider_kikan, tm=row.tm,
                 condition=settings.condition, year_class=settings.year_class, start=start, end=end)


def submit(sessions: sessionmaker[Session], client: ChukanClient, chukan: ChukanConfig, *,
           ids: Sequence[int] | None = None, now: datetime | None = None) -> Submitted:
    """Send every ``pending`` row (or those of ``ids``). Each row commits on its own: a crash
    loses at most the answer of one call, and that row is sent again with its key. When the
    service cannot be reached the run stops; what is left stays pending."""
    sent: list[int] = []
    replayed: list[int] = []
    failed: list[int] = []
    with sessions() as s:
        query = select(Shokai.id).where(Shokai.state == PENDING).order_by(Shokai.id)
        if ids is not None:
            query = query.where(Shokai.id.in_(ids))
        todo = list(s.scalars(query))
    for position, shokai_id in enumerate(todo):
        with sessions() as s:
            row = s.get(Shokai, shokai_id)
            assert row is not None
            request, key, by = query_of(row, chukan), row.idem_key, row.requested_by
        try:
            ack = client.submit_query(request, key=key, by=by)
        except ChukanUnavailable:
            return Submitted(tuple(sent), tuple(replayed), tuple(failed), tuple(todo[position:]))
        except ChukanFault as fault:
            fail(sessions, shokai_id, f"SubmitQuery fault {fault.code}")
            failed.append(shokai_id)
            continue
        except ChukanRequestInvalid as invalid:  # refused on our side: nothing was sent
            fail(sessions, shokai_id, str(invalid))
            failed.append(shokai_id)
            continue
        except ChukanProtocolError:  # an answer not as the WSDL says: left pending, the next row goes on
            continue
        with sessions.begin() as s:
            row = s.get(Shokai, shokai_id)
            assert row is not None and ack.query_id is not None
            if row.state != PENDING:  # another run sent it too (same key: the service saw one query)
                replayed.append(shokai_id)
                continue
            at = now or datetime.now(UTC)
            row.state, row.query_id, row.submitted_at = SUBMITTED, ack.query_id, at
            kiroku.record(s, kiroku.Entry(
                direction=QUERY, outcome="queried", counterpart_kikan=row.provider_kikan, tetsuzuki=row.tetsuzuki,
                tm=row.tm, by=row.requested_by, togo_atena_no=row.togo_atena_no, atena_no=row.atena_no,
                jimu=row.jimu, basis=row.basis, reference=ack.query_id), records_years=chukan.records_years, at=at)
        (replayed if ack.replayed else sent).append(shokai_id)
    return Submitted(tuple(sent), tuple(replayed), tuple(failed), ())


def fail(sessions: sessionmaker[Session], shokai_id: int, reason: str) -> None:
    """The service refused or failed the query: recorded on the row and in custody (codes only)."""
    with sessions.begin() as s:
        row = s.get(Shokai, shokai_id)
        assert row is not None
        row.state, row.reason = FAILED, reason
        handover_log.record(s, CustodyEvent(
            transfer_id=row.idem_key, event="query_failed", actor=row.requested_by, partner=row.provider_kikan,
            basis=row.basis, detail=f"shokai {row.id} {row.tetsuzuki} {row.tm}: {reason}"[:500]))
