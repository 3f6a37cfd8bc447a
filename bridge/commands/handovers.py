"""handovers [--overdue] | handovers confirm ID --by OPERATOR | handovers returns ID |
vendors poll | vendors answers [--refused] | vendors settle ID --by OPERATOR --note TEXT."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timedelta, timezone
from typing import Annotated, Any

import typer

from adapters.vendor import answer_log
from adapters.vendor import register as ledger
from bridge.context import state
from bridge.failures import NO
from bridge.output import console, emit

JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON instead of a table")]
JST = timezone(timedelta(hours=9), "JST")
SHORT = 60  # a problem as the table shows it; --json has it whole


def _jst(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(JST).strftime("%Y-%m-%d %H:%M JST")


def _short(text: str | None) -> str | None:
    return text if text is None or len(text) <= SHORT else text[:SHORT - 1] + "…"


def register(app: typer.Typer) -> None:
    handovers_app = typer.Typer(help="The hand-over register (引渡し・受領記録簿) of print vendors.",
                                invoke_without_command=True)
    app.add_typer(handovers_app, name="handovers")

    @handovers_app.callback()
    def handovers(ctx: typer.Context, overdue: Annotated[bool, typer.Option(help="only overdue ones")] = False,
                  json_out: JsonOpt = False) -> None:
        """Hand-overs with their receipts, deletion certificates, what is overdue and the problem
        still open (an answer refused and not yet made good)."""
        if ctx.invoked_subcommand is not None:
            return
        bridge = state(ctx).bridge
        with bridge.sessions() as s:
            rows = [asdict(e) for e in ledger.entries(s, bridge.config.partners)]
        if overdue:
            rows = [r for r in rows if r["overdue"]]
        if not json_out:
            rows = [{**r, "problem": _short(r["problem"]),
                     **{k: _jst(r[k]) for k in ("sent_at", "receipt_at", "deleted_at")}} for r in rows]
        emit(rows, json_out, title="hand-overs",
             columns=["transfer_id", "partner", "flow", "records", "state", "sent_at", "receipt_at", "deleted_at",
                      "returns", "confirmed_by", "overdue", "problem"])

    @handovers_app.command("confirm")
    def confirm(ctx: typer.Context, transfer_id: str,
                by: Annotated[str, typer.Option("--by", help="the confirming supervisor (上長)")]) -> None:
        """Record the supervisor's confirmation of a hand-over (not the operator who ran it)."""
        bridge = state(ctx).bridge
        try:
            with bridge.sessions.begin() as s:
                ledger.confirm(s, transfer_id, by)
        except ledger.ConfirmError as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(1) from exc
        bridge.flush_custody()
        console.print(f"hand-over {transfer_id} confirmed by {by}")

    @handovers_app.command("returns")
    def returns(ctx: typer.Context, transfer_id: str, json_out: JsonOpt = False) -> None:
        """The notices of a hand-over that came back (返戻): 通知書番号, 宛名番号, 返戻理由, 返戻日."""
        bridge = state(ctx).bridge
        try:
            with bridge.sessions() as s:
                rows: list[dict[str, Any]] = [asdict(r) for r in ledger.returned(s, transfer_id)]
        except ledger.ConfirmError as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(NO) from exc
        if json_out:
            emit(rows, True)
            return
        emit([{"通知書番号": r["notice_no"], "宛名番号": r["atena_no"], "返戻理由": r["reason"],
               "返戻日": r["returned_on"], "記録": _jst(r["recorded_at"])} for r in rows],
             False, title=f"返戻 {transfer_id}: {len(rows)} 件")

    vendors_app = typer.Typer(help="Print vendors reached by SFTP.")
    app.add_typer(vendors_app, name="vendors")

    @vendors_app.command("poll")
    def poll(ctx: typer.Context, json_out: JsonOpt = False) -> None:
        """Read every SFTP partner's answers now (workers do it every few seconds). Exits 1 when
        an answer was refused: `kaigo-bridge vendors answers --refused` says why."""
        bridge = state(ctx).bridge
        rows = []
        for partner in (p for p in bridge.config.partners.values() if p.sftp is not None):
            result = bridge.answers.poll(partner)
            rows.append({"partner": partner.name, **asdict(result)})
        bridge.flush_custody()
        emit(rows, json_out, title="answers read", columns=["partner", "applied", "refused", "duplicate", "unknown"])
        rules = [rule for r in rows for rule in r["rules"]]
        if rules:
            why = ", ".join(f"{rules.count(rule)} {rule}" for rule in sorted(set(rules)))
            typer.echo(f"kaigo-bridge: 要対応: {len(rules)} answer(s) refused ({why}) and acknowledged to the vendor; "
                       "kaigo-bridge vendors answers --refused says why", err=True)
            raise typer.Exit(NO)

    @vendors_app.command("answers")
    def answers(ctx: typer.Context,
                refused: Annotated[bool, typer.Option("--refused", help="only refusals not yet made good")] = False,
                json_out: JsonOpt = False) -> None:
        """Every answer read from the vendors: taken or refused, the rule and the reason."""
        bridge = state(ctx).bridge
        with bridge.sessions() as s:
            rows = [asdict(a) for a in ledger.answers(s, refused)]
        if json_out:
            emit(rows, True)
            return
        emit([{"id": r["id"], "読取": _jst(r["read_at"]), "partner": r["partner"], "transfer": r["transfer_id"],
               "answer": r["name"], "kind": r["kind"],
               "結果": _OUTCOME[r["outcome"]] + (" (重複)" if r["duplicate"] else ""),
               "rule": r["rule"], "reason": _short(r["reason"]),
               "解決": (_jst(r["resolved_at"]) or "") + (f" ({r['resolved_by']})" if r["resolved_by"] else "")}
              for r in rows], False, title="vendor answers")

    @vendors_app.command("settle")
    def settle(ctx: typer.Context, answer_id: Annotated[int, typer.Argument(help="the id in vendors answers")],
               by: Annotated[str, typer.Option("--by", help="the operator settling it")],
               note: Annotated[str, typer.Option("--note", help="why: what was done about it")]) -> None:
        """Close by hand a refused answer no later answer can make good (a stray file, a transfer we
        never sent), once dealt with; recorded in custody (answer_settled)."""
        bridge = state(ctx).bridge
        try:
            with bridge.sessions.begin() as s:
                answer_log.settle(s, answer_id, by, note)
        except answer_log.SettleError as exc:
            typer.echo(f"kaigo-bridge: {exc}", err=True)
            raise typer.Exit(NO) from exc
        bridge.flush_custody()
        console.print(f"回答 {answer_id} の拒否を解決済みにしました ({by})。kaigo-bridge status で残りを確認できます")


_OUTCOME = {"accepted": "受理", "refused": "拒否"}
