"""status (--check for monitoring), transfers list|show."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from adapters.vendor import register as ledger
from bridge.app import Bridge
from bridge.context import state
from bridge.output import console, emit, emit_object
from bridge.staff.access_log import record_view
from queues import health
from queues.outbound import characters_ref
from queues.status import outbox_backlog, retrying, route_status, vhost_of
from queues.status_report import Facts, judge
from settings import ConfigError
from store.models import Quarantine, Transfer

JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON instead of a table")]


def register(app: typer.Typer) -> None:
    transfers_app = typer.Typer(help="Transfers (one payload moving once).")
    app.add_typer(transfers_app, name="transfers")

    @app.command()
    def status(ctx: typer.Context, json_out: JsonOpt = False,
               check: Annotated[bool, typer.Option(
                   "--check", help="exit 1 when anything is 異常, 3 when something waits for an operator (要対応)")]
               = False) -> None:
        """Every duty's health and what an operator must act on (each with its next step), queue depths,
        transfers by state."""
        bridge = state(ctx).bridge
        report, states, handovers, held = _gather(bridge)
        if json_out:
            print(json.dumps({**report, "transfers": states, "handovers": handovers, "quarantine": {"held": held}},
                             ensure_ascii=False))
        else:
            _show(report, states, handovers, held)
        if check and report["exit"]:
            raise typer.Exit(report["exit"])

    @transfers_app.command("list")
    def list_(ctx: typer.Context, state_filter: Annotated[str | None, typer.Option("--state")] = None,
              flow: Annotated[str | None, typer.Option()] = None,
              limit: Annotated[int, typer.Option()] = 50, json_out: JsonOpt = False) -> None:
        """Most recent transfers first."""
        bridge = state(ctx).bridge
        query = select(Transfer).order_by(Transfer.created_at.desc()).limit(limit)
        if state_filter:
            query = query.where(Transfer.state == state_filter)
        if flow:
            query = query.where(Transfer.flow == flow)
        with bridge.sessions() as s:
            rows = [_row(t) for t in s.scalars(query)]
        emit(rows, json_out, title="transfers",
             columns=["id", "flow", "partner", "direction", "state", "records", "part", "created_at"])

    @transfers_app.command("chars")
    def chars(ctx: typer.Context, transfer_id: str, json_out: JsonOpt = False) -> None:
        """The character report of a transfer: every substitution made and every unmapped character."""
        bridge = state(ctx).bridge
        transfer = _transfer(bridge, transfer_id)
        emit(_characters(bridge, transfer), json_out, title=f"characters of {transfer_id}",
             columns=["record", "key", "field", "char", "codepoint", "replacement", "reason"])

    @transfers_app.command("show")
    def show(ctx: typer.Context, transfer_id: str, json_out: JsonOpt = False) -> None:
        """One transfer: layout, hash, key id, last error (its custody chain: custody show)."""
        bridge = state(ctx).bridge
        transfer = _transfer(bridge, transfer_id)
        record_view(bridge.config, "transfers show", transfer.id, transfer.record_count)
        row = _row(transfer) | {"layout": f"{transfer.layout} v{transfer.layout_version}",
                                "sha256": transfer.sha256, "size": transfer.size, "key_id": transfer.key_id,
                                "last_error": transfer.last_error}
        emit_object(row, json_out, title=f"transfer {transfer_id}")


def _transfer(bridge: Bridge, transfer_id: str) -> Transfer:
    with bridge.sessions() as s:
        transfer = s.get(Transfer, transfer_id)
    if transfer is None:
        console.print(f"[red]no transfer {transfer_id}[/]")
        raise typer.Exit(1)
    return transfer


def _characters(bridge: Bridge, transfer: Transfer) -> list[dict[str, Any]]:
    ref = bridge.payloads.ref_for(characters_ref(transfer.id))
    if not bridge.payloads.exists(ref):
        return []
    text = b"".join(bridge.payloads.read(ref, characters_ref(transfer.id), transfer.flow)).decode()
    return [json.loads(line) for line in text.splitlines()]


def _row(t: Transfer) -> dict[str, object]:
    return {"id": t.id, "flow": t.flow, "partner": t.partner, "direction": t.direction, "state": t.state,
            "records": t.record_count, "part": f"{t.part_no}/{t.part_count}" if t.part_count else "",
            "created_at": t.created_at, "updated_at": t.updated_at}


def _gather(bridge: Bridge) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, int], int]:
    """Everything ``status`` shows; what cannot be read becomes a problem in the report, never a traceback."""
    config = bridge.config
    facts = Facts(beats=health.read_all(config.var), now=datetime.now(UTC))
    states: list[dict[str, Any]] = []
    handovers: dict[str, int] = {}
    try:
        with bridge.sessions() as s:
            facts.backlog = outbox_backlog(s)
            states = [{"state": st, "transfers": n} for st, n in
                      s.execute(select(Transfer.state, func.count()).group_by(Transfer.state).order_by(Transfer.state))]
            entries = ledger.entries(s, config.partners)
            facts.quarantined = s.scalar(select(func.count()).select_from(Quarantine)
                                         .where(Quarantine.state == "held")) or 0
            facts.refused_answers = ledger.open_refusals(s)
        handovers = {"open": sum(1 for e in entries if e.deleted_at is None),
                     "receipt_overdue": sum(1 for e in entries if e.overdue == "receipt"),
                     "deletion_overdue": sum(1 for e in entries if e.overdue == "deletion"),
                     "unconfirmed": sum(1 for e in entries if e.confirmed_by is None)}
        facts.receipt_overdue, facts.deletion_overdue = handovers["receipt_overdue"], handovers["deletion_overdue"]
    except SQLAlchemyError as exc:
        facts.store_error = health.cause(exc)
    try:
        facts.routes = route_status(config.broker.management_url(), vhost_of(config.broker.url()),
                                    list(config.routes.values()))
    except (OSError, ValueError, ConfigError) as exc:  # URLError is an OSError; a bad answer a ValueError
        facts.broker_error = health.cause(exc)
    try:
        facts.retrying = retrying(bridge.custody.engine)
    except SQLAlchemyError as exc:
        facts.custody_error = health.cause(exc)
    return judge(facts), states, handovers, facts.quarantined


def _show(report: dict[str, Any], states: list[dict[str, Any]], handovers: dict[str, int], held: int) -> None:
    colour = {"正常": "green", "要対応": "yellow"}.get(report["health"], "red")
    console.print(f"[bold {colour}]総合判定: {report['health']}[/]  ({report['checked_at']})")
    if report["problems"]:
        emit([{"区分": p["level"], "内容": p["what"], "次の手順": p["next"]} for p in report["problems"]], False,
             title="対応が必要な事項")
    emit([{"プロセス": d["process"], "処理": d["duty"], "状態": d["state"], "最終実行": d["last_run"],
           "最終成功": d["last_success"], "連続失敗": d["failures"], "最後のエラー": d["last_error"]}
          for d in report["duties"]], False, title="常駐処理の状態",
         columns=["プロセス", "処理", "状態", "最終実行", "最終成功", "連続失敗", "最後のエラー"])
    if "outbox" in report:
        box = report["outbox"]
        emit([{"送信待ち": box["pending"], "最古": box["oldest"], "経過秒": box["oldest_age_seconds"],
               "拒否あり": box["refused"]}], False, title="送信待ちイベント (outbox)")
    if report["routes"]:
        emit([{"ルート": r["route"], "待機": r["ready"], "処理中": r["unacked"], "再試行待ち": r["retrying"],
               "デッドレター": r["dead"], "コンシューマ": r["consumers"]} for r in report["routes"]], False,
             title="ルート")
    if report["retrying"]:
        emit([{"転送": r["transfer"], "時刻": r["at"], "最後のエラー": r["last_error"]} for r in report["retrying"]],
             False, title="再試行中の転送")
    emit([{"状態": r["state"], "件数": r["transfers"]} for r in states], False, title="転送 (状態別)")
    if handovers:
        emit([{"未消去": handovers["open"], "受領期限超過": handovers["receipt_overdue"],
               "消去期限超過": handovers["deletion_overdue"], "上長未確認": handovers["unconfirmed"]}], False,
             title="委託先への引渡し")
    emit([{"隔離中": held}], False, title="隔離中の受信ファイル")
