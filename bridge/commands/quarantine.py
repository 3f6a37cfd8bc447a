"""quarantine list|show|release|reject|export: inbound files held back by validation; answers:
partners' answers refused on reading, kept encrypted until their retention ends."""

from __future__ import annotations

import json
import os
from datetime import timedelta, timezone
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import select

from adapters.judgement import DAMAGE, where
from bridge.context import state
from bridge.output import console, emit
from queues import handover_log
from queues import quarantine as decisions
from queues.custody import CustodyEvent
from queues.quarantine import AnswerQuarantine
from queues.redact import mask
from store.models import Quarantine, Transfer, VendorAnswer

JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON instead of a table")]
ByOpt = Annotated[str, typer.Option("--by", help="operator id (recorded in the custody log)")]
ReasonOpt = Annotated[str, typer.Option(help="why (recorded)")]
JST = timezone(timedelta(hours=9), "JST")


def register(app: typer.Typer) -> None:
    quarantine_app = typer.Typer(help="Inbound files held back by validation: nothing of them was applied.")
    app.add_typer(quarantine_app, name="quarantine")

    @quarantine_app.command("list")
    def list_(ctx: typer.Context, all_: Annotated[bool, typer.Option(
                  "--all", help="also decided ones, and the vendors' refused answers kept here")] = False,
              json_out: JsonOpt = False) -> None:
        bridge = state(ctx).bridge
        query = select(Quarantine).order_by(Quarantine.held_at.desc())
        if not all_:
            query = query.where(Quarantine.state == "held")
        with bridge.sessions() as s:
            rows = [{"transfer": q.transfer_id, "flow": q.flow, "file": q.file_name, "held_at": q.held_at,
                     "errors": q.errors, "state": q.state, "decided_by": q.decided_by} for q in s.scalars(query)]
            if all_:  # refused vendor answers whose copy is still kept (id: for quarantine show/export)
                kept = {a.id for a in AnswerQuarantine.of(bridge.config, bridge.payloads).held()}
                rows += [{"transfer": a.quarantine_id, "flow": f"answer of {a.partner}", "file": a.name,
                          "held_at": a.read_at, "errors": 1, "state": f"refused ({a.rule})", "decided_by": None}
                         for a in s.scalars(select(VendorAnswer).where(VendorAnswer.quarantine_id.is_not(None))
                                            .order_by(VendorAnswer.id.desc())) if a.quarantine_id in kept]
        emit(rows, json_out, title="quarantine")

    @quarantine_app.command("show")
    def show(ctx: typer.Context, transfer_id: str, json_out: JsonOpt = False) -> None:
        """The report (adapters/judgement.py): a row per problem — its lines (repeats are one row
        with a count), record kind, レコード番号, field, rule, detail and value (masked where
        personal); a damaged file's damage alone. For a refused answer (`quarantine answers`), its
        content decrypted and masked."""
        bridge = state(ctx).bridge
        with bridge.sessions() as s:
            row = s.get(Quarantine, transfer_id)
        if row is None:
            answers = AnswerQuarantine.of(bridge.config, bridge.payloads)
            try:
                text = answers.read(transfer_id).decode("utf-8", "replace")
            except KeyError:
                console.print(f"[red]{transfer_id} is neither a transfer nor an answer in quarantine[/]")
                raise typer.Exit(1) from None
            if json_out:
                print(json.dumps({"answer": transfer_id, "content": mask(text)}, ensure_ascii=False))
            else:
                console.print(mask(text), markup=False, highlight=False)
            return
        problems = [json.loads(line) for line in row.report.splitlines() if line]
        title = f"{row.file_name}: {row.errors} problem(s), {row.state}"
        if problems and problems[0].get("rule") in DAMAGE:  # adapters/judgement.py: damage first and alone
            title += (f"; the file is damaged, ask its sender to send it again ({problems[0].get('withheld') or 0} "
                      "follow-on finding(s) not listed)")
        if json_out:
            emit(problems, True)
            return
        emit([{"lines": where(p) or p.get("line"), "kind": p.get("kind"), "record": p.get("record"),
               "field": p.get("field"), "rule": p.get("rule"), "detail": p.get("detail"), "value": p.get("value")}
              for p in problems], False, title=title)

    @quarantine_app.command("release")
    def release(ctx: typer.Context, transfer_id: str, by: ByOpt, reason: ReasonOpt) -> None:
        """Load the file again (after its cause was fixed)."""
        bridge = state(ctx).bridge
        with bridge.sessions() as s:
            row = s.get(Quarantine, transfer_id)
        route = bridge.config.flow(row.flow).route if row is not None else ""
        try:
            with bridge.sessions.begin() as s:
                decisions.release(s, bridge.keyring, route, transfer_id, by, reason)
        except decisions.DecisionError as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(1) from exc
        bridge.flush_custody()
        bridge.publish_pending()
        console.print(f"{transfer_id} released by {by}: queued for loading again")

    @quarantine_app.command("reject")
    def reject(ctx: typer.Context, transfer_id: str, by: ByOpt, reason: ReasonOpt) -> None:
        """Refuse the file for good; its stored copy is deleted."""
        bridge = state(ctx).bridge
        try:
            with bridge.sessions.begin() as s:
                ref = decisions.reject(s, transfer_id, by, reason)
        except decisions.DecisionError as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(1) from exc
        bridge.payloads.delete(ref)
        bridge.flush_custody()
        console.print(f"{transfer_id} rejected by {by}; stored copy deleted")

    @quarantine_app.command("answers")
    def answers(ctx: typer.Context, json_out: JsonOpt = False) -> None:
        """Partners' answers refused on reading (signature, hashes): kept encrypted, deleted after
        bridge.toml quarantine.retention_days."""
        bridge = state(ctx).bridge
        days = bridge.config.quarantine_days
        rows = [{"answer": a.id, "held_at": a.held_at.astimezone(JST).strftime("%Y-%m-%d %H:%M JST"),
                 "deleted_after": (a.held_at + timedelta(days=days)).astimezone(JST).strftime("%Y-%m-%d JST"),
                 "bytes": a.size} for a in AnswerQuarantine.of(bridge.config, bridge.payloads).held()]
        emit(rows, json_out, title="refused answers")

    @quarantine_app.command("export")
    def export(ctx: typer.Context, held_id: str, to: Annotated[Path, typer.Option(help="file to write (new)")],
               by: ByOpt) -> None:
        """Write a quarantined file (transfer id) or a refused answer (answer id) decrypted to a new
        file readable by its owner only; recorded in the custody log."""
        bridge = state(ctx).bridge
        with bridge.sessions() as s:
            row, transfer = s.get(Quarantine, held_id), s.get(Transfer, held_id)
        if row is not None and transfer is not None:
            chunks = bridge.payloads.read(transfer.payload_ref, transfer.id, transfer.flow)
            transfer_id, partner = transfer.id, transfer.partner
        else:
            try:
                chunks = iter([AnswerQuarantine.of(bridge.config, bridge.payloads).read(held_id)])
            except KeyError:
                console.print(f"[red]{held_id} is neither a transfer nor an answer in quarantine[/]")
                raise typer.Exit(1) from None
            transfer_id, partner = None, None
        try:
            fd = os.open(to, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            console.print(f"[red]{to} exists already: name a new file[/]")
            raise typer.Exit(1) from None
        written = 0
        with os.fdopen(fd, "wb") as out:
            for chunk in chunks:
                out.write(chunk)
                written += len(chunk)
        with bridge.sessions.begin() as s:
            handover_log.record(s, CustodyEvent(transfer_id=transfer_id, event="exported", actor=f"operator:{by}",
                                                partner=partner,
                                                detail=f"quarantined {held_id} exported decrypted ({written} bytes)"))
        bridge.flush_custody()
        console.print(f"{held_id}: {written:,} bytes written to {to} (owner only), recorded for {by}")
