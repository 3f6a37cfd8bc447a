"""access report|verify|checkpoint: the access log (bridge/staff/access_log.py) read by an auditor."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date
from typing import Annotated

import typer

from bridge.context import state
from bridge.output import console, emit
from bridge.staff import access_report
from bridge.staff.access_log import AccessLog

JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON instead of a table")]
LABELS = {"off_hours": "時間外", "bulk_read": "大量参照", "repeated_lookup": "同一人物の反復参照",
          "failed_logins": "ログイン失敗", "locked": "ロックアウト", "disabled_use": "無効アカウントの使用"}


def _day(option: str, value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        typer.echo(f"{option}: a day is YYYY-MM-DD (JST), got {value!r}", err=True)
        raise typer.Exit(2) from None


def register(app: typer.Typer) -> None:
    access_app = typer.Typer(help="The access log (アクセスログ): who logged in, what they read or changed.")
    app.add_typer(access_app, name="access")

    @access_app.command("report")
    def report(ctx: typer.Context,
               first: Annotated[str, typer.Option("--from", help="first day, YYYY-MM-DD (JST)")],
               last: Annotated[str, typer.Option("--to", help="last day, YYYY-MM-DD (JST), included")],
               json_out: JsonOpt = False) -> None:
        """Per operator the sessions and what they did, and the flags to look at: off-hours use, bulk
        reads, repeated look-ups of one person, failed logins and lockouts, use by a disabled account."""
        start, end = _day("--from", first), _day("--to", last)
        if end < start:
            typer.echo(f"--to {last} is before --from {first}", err=True)
            raise typer.Exit(2)
        access = AccessLog.of(state(ctx).bridge.config)
        try:
            result = access_report.report(access, start, end)
        finally:
            access.dispose()
        if json_out:
            print(json.dumps(result, ensure_ascii=False))
            return
        console.print(f"アクセスログ {result['from']} 〜 {result['to']} (JST): {result['events']} 件")
        emit([{"操作者": o["actor"], "最初": o["first"], "最後": o["last"], "ログイン": len(o["sessions"]),
               "参照": o["counts"].get("viewed", 0), "参照行数": o["rows_viewed"],
               "変更": o["counts"].get("changed", 0) + o["counts"].get("account_changed", 0),
               "拒否": o["counts"].get("refused", 0), "ログイン失敗": o["counts"].get("login_failed", 0)}
              for o in result["operators"]], False, title="操作者別")
        if not result["flags"]:
            console.print("[green]要確認事項なし[/]")
        for f in result["flags"]:  # one line each, whole whatever the width: an auditor copies them
            typer.echo(f"[{LABELS[f['rule']]}] {f['actor']} {f['at']} JST: {f['what']} — 次の手順: {f['next']}")

    @access_app.command("verify")
    def verify(ctx: typer.Context, json_out: JsonOpt = False) -> None:
        """Check the access log's hash chain and signed checkpoints; exit 1 naming the first bad entry."""
        access = AccessLog.of(state(ctx).bridge.config)
        try:
            result = access.log.verify()
        finally:
            access.dispose()
        if json_out:
            print(json.dumps(asdict(result), ensure_ascii=False))
        elif result.ok:
            console.print(f"[green]access log intact[/]: {result.entries} entries, {result.checkpoints} checkpoints")
        else:
            typer.echo(f"access log FAILED verification at seq {result.first_bad_seq}: {result.reason}")
        if not result.ok:
            raise typer.Exit(1)

    @access_app.command("checkpoint")
    def checkpoint(ctx: typer.Context) -> None:
        """Sign the current head of the access log now (with the custody key)."""
        access = AccessLog.of(state(ctx).bridge.config)
        try:
            made = access.log.checkpoint()
        finally:
            access.dispose()
        console.print(f"checkpoint at seq {made.seq}" if made else "head unchanged since the last checkpoint")
