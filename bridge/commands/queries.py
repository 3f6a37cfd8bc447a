"""queries run|poll|list|show|ask: 情報照会 made through the 中間サーバー and their results.

``poll`` stores each fetched result encrypted and queues it on chukan.shokai; a worker applies it.

Screens show codes, states and times; a result's items are shown by number and label with the
value masked, never the value itself, never 個人番号.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

import typer
from pika.exceptions import AMQPError
from sqlalchemy import select

from adapters.chukan.connect import client_for
from adapters.chukan.permits import Permits
from adapters.chukan.shokai import UnknownPerson, ask, decide_income, nendo_of, submit
from adapters.chukan.shokai_poll import FLOW, poll
from adapters.chukan.shokai_result import unpack
from bridge.app import Bridge
from bridge.context import operator_id, state
from bridge.failures import NO, UNAVAILABLE
from bridge.output import console, emit, emit_object
from queues.publisher import PublishError
from store.models import Shokai, Shotoku
from store.models.shokai import KIND_INCOME, STATES

JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON instead of a table")]
ByOpt = Annotated[str, typer.Option("--by", help="operator id (sent as the 中間サーバー user, recorded)")]
NendoOpt = Annotated[int | None, typer.Option(help="年度 the income is for (default: this 年度)")]
MASK = "●●●"  # a value exists; never shown


def _row(r: Shokai) -> dict[str, Any]:
    return {"id": r.id, "kind": r.kind, "nendo": r.nendo, "atena_no": r.atena_no, "kikan": r.provider_kikan,
            "tm": r.tm, "state": r.state, "query_id": r.query_id, "by": r.requested_by, "created_at": r.created_at,
            "result_at": r.result_at, "purge_after": r.purge_after, "purged_at": r.purged_at}


def _list(bridge: Bridge, ids: list[int], json_out: bool, title: str) -> None:
    with bridge.sessions() as s:
        rows = [_row(r) for r in s.scalars(select(Shokai).where(Shokai.id.in_(ids)).order_by(Shokai.id))]
    emit(rows, json_out, title=title)


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="情報照会 made through the 中間サーバー and their results.")
    app.add_typer(group, name="queries")

    @group.command("run")
    def run(ctx: typer.Context, kind: Annotated[str, typer.Argument(help="income: the 転入者 income query")],
            by: ByOpt, nendo: NendoOpt = None,
            since: Annotated[str | None, typer.Option(help="only 資格 acquired on or after YYYY-MM-DD")] = None,
            limit: Annotated[int | None, typer.Option(help="at most this many new queries")] = None,
            json_out: JsonOpt = False) -> None:
        """Decide who is queried (permission list first; refusals recorded), then submit."""
        bridge = state(ctx).bridge
        chukan = bridge.config.chukan
        if kind != KIND_INCOME or kind not in chukan.queries:
            typer.echo(f"queries run {kind}: unknown kind (known: {KIND_INCOME})", err=True)
            raise typer.Exit(2)
        now = datetime.now(UTC)
        with bridge.sessions.begin() as s:
            rows = decide_income(s, chukan, Permits(chukan), nendo=nendo or nendo_of(now.date()),
                                 since=date.fromisoformat(since) if since else None, by=operator_id(by), now=now,
                                 limit=limit)
            made = [r.id for r in rows]
        with client_for(chukan) as client:
            done = submit(bridge.sessions, client, chukan)
        bridge.flush_custody()
        _list(bridge, made, json_out, title=f"{len(made)} new {kind} quer(ies)")
        if not json_out:
            console.print(f"sent {len(done.sent)}, replayed {len(done.replayed)}, failed {len(done.failed)}, "
                          f"left pending (service unreachable) {len(done.unreachable)}")
        if done.unreachable:  # recorded, left pending: `queries poll` sends them once it is back
            raise typer.Exit(UNAVAILABLE)

    @group.command("poll")
    def poll_(ctx: typer.Context, by: ByOpt, json_out: JsonOpt = False) -> None:
        """Send what is pending again, then status → result (kept encrypted) → queued on chukan.shokai;
        a running worker (`kaigo-bridge worker`) applies each result to the 賦課 input."""
        bridge = state(ctx).bridge
        chukan = bridge.config.chukan
        with client_for(chukan) as client:
            sent = submit(bridge.sessions, client, chukan)
            polled = poll(bridge.sessions, client, chukan, bridge.payloads, by=operator_id(by))
        bridge.flush_custody()
        try:
            published: int | str = bridge.publish_pending()
        except (AMQPError, OSError, PublishError) as exc:  # the events stay in the outbox: a worker's relay sends them
            published = f"not yet: broker unavailable ({type(exc).__name__}); a worker's relay publishes them"
        counts = {"sent": len(sent.sent) + len(sent.replayed), "waiting": len(polled.waiting),
                  "received": len(polled.received), "failed": len(sent.failed) + len(polled.failed),
                  "unreachable": len(sent.unreachable) + len(polled.unreachable), "published": published}
        emit_object(counts, json_out, title="queries poll (results are applied by a worker)")
        if counts["unreachable"] or isinstance(published, str):
            raise typer.Exit(UNAVAILABLE)

    @group.command("list")
    def list_(ctx: typer.Context,
              state_: Annotated[str | None, typer.Option("--state", help=f"one of {', '.join(STATES)}")] = None,
              json_out: JsonOpt = False) -> None:
        bridge = state(ctx).bridge
        query = select(Shokai).order_by(Shokai.id)
        if state_ is not None:
            query = query.where(Shokai.state == state_)
        with bridge.sessions() as s:
            rows = [_row(r) for r in s.scalars(query)]
        emit(rows, json_out, title="情報照会")

    @group.command("show")
    def show(ctx: typer.Context, shokai_id: int, json_out: JsonOpt = False) -> None:
        """One query: codes, basis, states and times; result items by number, values masked."""
        bridge = state(ctx).bridge
        with bridge.sessions() as s:
            row = s.get(Shokai, shokai_id)
            if row is None:
                typer.echo(f"no query {shokai_id}", err=True)
                raise typer.Exit(1)
            shown = {**_row(row), "jimu": row.jimu, "tetsuzuki": row.tetsuzuki, "basis": row.basis,
                     "reason": row.reason, "submitted_at": row.submitted_at, "applied_at": row.applied_at,
                     "result_version": row.result_version, "purged_by": row.purged_by}
            applied = s.scalar(select(Shotoku.nendo).where(Shotoku.shokai_id == row.id))
            ref, key, purged = row.result_ref, row.idem_key, row.purged_at
        if ref is not None:
            result = unpack(b"".join(bridge.payloads.read(ref, key, FLOW)))
            shown["result_items"] = ", ".join(f"{i.no}:{MASK if i.value is not None else i.unset}"
                                              for i in result.items)
        else:
            shown["result_items"] = "(deleted)" if purged else "(none)"
        shown["shotoku"] = f"年度 {applied} (values masked)" if applied is not None else None
        emit_object(shown, json_out, title=f"情報照会 {shokai_id}")

    @group.command("ask")
    def ask_(ctx: typer.Context, by: ByOpt,
             atena: Annotated[str, typer.Option(help="宛名番号 of the person")],
             tm: Annotated[str, typer.Option(help="特定個人情報名コード")],
             kikan: Annotated[str, typer.Option(help="機関コード asked (照会先)")],
             jimu: Annotated[str | None, typer.Option(help="事務コード (default: the income query's)")] = None,
             tetsuzuki: Annotated[str | None, typer.Option(help="事務手続コード (default: the income query's)")] = None,
             nendo: NendoOpt = None, json_out: JsonOpt = False) -> None:
        """Ask one query by hand: checked against the permission list; a refusal is recorded, nothing sent."""
        bridge = state(ctx).bridge
        chukan = bridge.config.chukan
        now = datetime.now(UTC)
        try:
            with bridge.sessions.begin() as s:
                row = ask(s, chukan, Permits(chukan), atena_no=atena, tm=tm, kikan=kikan, jimu=jimu,
                          tetsuzuki=tetsuzuki, nendo=nendo or nendo_of(now.date()), by=operator_id(by), now=now)
                shokai_id, refused, reason = row.id, row.reason is not None, row.reason
        except UnknownPerson as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(1) from exc
        if refused:
            bridge.flush_custody()
            _list(bridge, [shokai_id], json_out, title="refused: nothing sent")
            typer.echo(f"query {shokai_id} refused: {reason}", err=True)
            raise typer.Exit(1)
        with client_for(chukan) as client:
            done = submit(bridge.sessions, client, chukan, ids=[shokai_id])
        bridge.flush_custody()
        _list(bridge, [shokai_id], json_out, title="asked")
        if done.unreachable or done.failed:
            typer.echo(f"query {shokai_id} not accepted: " + ("the 中間サーバー could not be reached; `queries poll` "
                       "sends it again" if done.unreachable else "failed (see queries show)"), err=True)
            raise typer.Exit(UNAVAILABLE if done.unreachable else NO)
