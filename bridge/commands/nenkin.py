"""nenkin calendar [--nendo YYYY] [--as-of YYYY-MM-DD] [--json]: the 年金特徴 year at a glance;
nenkin list unmatched|stopped|refused|unanswered [--nendo YYYY] [--json]: what an operator must
look at (adapters/nenkin/lists.py).

Each month of the 年度 (config/nenkin.toml) with its collection (仮徴収/本徴収 and 期) and the
files it expects, each judged against the store's transfers of the file's flow that are for that
month — by what the file holds (a Z11's 年度, a Z12's batch, a Z14's 期 …: bridge/commands/
nenkin_months.py), else by when it was made (sent or received), in Japan time; a file of the month
made late counts for its month (``made`` says when):

- done: one of them reached its end — outbound ``sent`` (or ``receipted``/``closed``), inbound
  ``applied``; for an entry naming 通知内容コード (``codes``: a Z14 of 天引結果 22 or of answers to
  a Z1A 32/42/62/82), an applied one whose result records (tokucho_kekka) carry one of them. A
  transfer whose codes are not known (not applied yet, or applied with no records) is listed under
  each entry of its file;
- pending: not done and its due day has not passed;
- overdue: not done, past its due day, and needed — always, or a transfer of it exists (made but
  stuck), or for an answer, the file it answers was done the month before;
- none: a conditional file nothing called for (no changes sent; nothing to answer).
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Annotated, Any

import typer
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session

from adapters.nenkin.judge import nendo_of
from adapters.nenkin.lists import LISTS
from bridge.commands.nenkin_months import CHUNK, JST, Month, months_for
from bridge.context import state
from bridge.output import console
from bridge.staff.access_log import record_view
from settings.nenkin import ANSWER, CHANGES, COLLECTIONS, Expected, NenkinCalendar
from store.models import TokuchoKekka, Transfer

FIRST_NENDO = 2000  # 介護保険 began in April 2000
DONE_STATES = {"out": ("sent", "receipted", "closed"), "in": ("applied",)}
DONE, PENDING, OVERDUE, NONE = "done", "pending", "overdue", "none"
STYLE = {DONE: "green", PENDING: "cyan", OVERDUE: "bold red", NONE: "dim"}
NENDO_RE = re.compile(r"[0-9]{4}")


class CalendarError(ValueError):
    """A bad --nendo or --as-of, with the reason."""


@dataclass(frozen=True)
class FileStatus:
    file: str
    title: str
    flow: str
    direction: str
    when: str
    due: str  # ISO date
    status: str
    transfers: list[dict[str, str]]  # {"id", "state", "made"} of the month's transfers of the flow (of the entry)
    note: str
    codes: list[str]  # the 通知内容コード that make the entry ([]: any file of the kind)


def today_in_japan() -> date:
    return datetime.now(JST).date()


def parse_nendo(value: str | None, as_of: date) -> int:
    """The 年度 asked for (default: the one of ``as_of``); a clear reason for anything else."""
    if value is None:
        return nendo_of(as_of)
    last = nendo_of(max(as_of, today_in_japan())) + 1
    if not NENDO_RE.fullmatch(value) or not FIRST_NENDO <= int(value) <= last:
        raise CalendarError(f"--nendo: a 年度 is a year of four digits from {FIRST_NENDO} (介護保険 began in April "
                            f"{FIRST_NENDO}) to {last} (the next 年度), got {value!r}")
    return int(value)


def parse_as_of(value: str | None) -> date:
    if value is None:
        return today_in_japan()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CalendarError(f"--as-of: a date is YYYY-MM-DD, got {value!r}") from None


def _start(year: int, month: int) -> datetime:
    """The first instant of a month in Japan."""
    return datetime(year, month, 1, tzinfo=JST)


def _previous(month: Month) -> Month:
    year, m = month
    return (year - 1, 12) if m == 1 else (year, m - 1)


def _transfers(session: Session, cal: NenkinCalendar, nendo: int) -> dict[tuple[str, str, Month], list[Transfer]]:
    """The transfers of the calendar's flows by (flow, direction, month), each under the month it is
    for (bridge/commands/nenkin_months.py: by what it holds, else when it was made, in Japan time),
    from the March before the 年度 (April's answers look back to it) on: a file of the 年度 made late
    is still its month's."""
    rows = list(session.scalars(select(Transfer).where(Transfer.flow.in_(cal.flows),
                                                       Transfer.created_at >= _start(nendo, 3))
                                .order_by(Transfer.created_at, Transfer.id)))
    month = months_for(session, cal, rows)
    out: dict[tuple[str, str, Month], list[Transfer]] = defaultdict(list)
    for t in rows:
        out[(t.flow, t.direction, month[t.id])].append(t)
    return out


def _codes_of(session: Session, cal: NenkinCalendar, ids: list[str]) -> dict[str, set[str]]:
    """通知内容コード of the result records each of the transfers ``ids`` applied: how the entries
    of one file that name ``codes`` are told apart."""
    out: dict[str, set[str]] = defaultdict(set)
    for i in range(0, len(ids), CHUNK):
        for transfer_id, code in session.execute(
                select(TokuchoKekka.transfer_id, TokuchoKekka.tsuchi_naiyo_code).distinct()
                .where(TokuchoKekka.transfer_id.in_(ids[i:i + CHUNK]))):
            out[transfer_id].add(code)
    return out


def judge(expected: Expected, due: date, month_start: date, as_of: date, stuck: list[Transfer],
          done: bool, answered: bool) -> str:
    """``done``: a transfer of the month reached its end; ``stuck``: its transfers that did not;
    ``answered``: (an answer) a file it answers was done the month before."""
    if done:
        return DONE
    needed = bool(stuck) or expected.when not in (CHANGES, ANSWER) or (expected.when == ANSWER and answered)
    if needed:
        return OVERDUE if as_of > due else PENDING
    if expected.when == ANSWER:  # what it answers is known once the month before is over
        return NONE if as_of >= month_start else PENDING
    return NONE if as_of > due else PENDING


def calendar_status(session: Session, cal: NenkinCalendar, nendo: int, as_of: date) -> dict[str, Any]:
    """The whole year as plain data (the JSON of the command)."""
    by_key = _transfers(session, cal, nendo)
    coded = {cal.files[e.file].flow for m in cal.months for e in m.expect if e.codes}
    codes_of = _codes_of(session, cal, [t.id for (flow, _d, _m), ts in by_key.items() if flow in coded for t in ts])

    def done_in(kind: str, month: Month) -> bool:
        f = cal.files[kind]
        return any(t.state in DONE_STATES[f.direction] for t in by_key.get((f.flow, f.direction, month), []))

    def carries(e: Expected, t: Transfer) -> bool | None:
        """Whether ``t`` is a file of entry ``e``; None when its codes are not known."""
        if not e.codes:
            return True
        seen = codes_of.get(t.id)
        return bool(seen & set(e.codes)) if seen else None

    months: list[dict[str, Any]] = []
    counts = {DONE: 0, PENDING: 0, OVERDUE: 0, NONE: 0}
    for m in cal.months:
        key: Month = (m.year(nendo), m.month)
        files = []
        for e in m.expect:
            f = cal.files[e.file]
            transfers = [t for t in by_key.get((f.flow, f.direction, key), []) if carries(e, t) is not False]
            ended = [t.state in DONE_STATES[f.direction] for t in transfers]
            done = any(end and carries(e, t) for t, end in zip(transfers, ended, strict=True))
            status = judge(e, m.due(nendo, e), date(*key, 1), as_of,
                           [t for t, end in zip(transfers, ended, strict=True) if not end], done,
                           any(done_in(a, _previous(key)) for a in e.answers))
            counts[status] += 1
            files.append(FileStatus(file=e.file, title=f.title, flow=f.flow, direction=f.direction, when=e.when,
                                    due=m.due(nendo, e).isoformat(), status=status,
                                    transfers=[{"id": t.id, "state": t.state,
                                                "made": t.created_at.astimezone(JST).date().isoformat()}
                                               for t in transfers], note=e.note,
                                    codes=list(e.codes)))
        months.append({"month": f"{key[0]}-{key[1]:02d}", "collection": m.collection,
                       "collection_title": COLLECTIONS.get(m.collection or ""), "ki": m.ki,
                       "files": [asdict(x) for x in files]})
    return {"nendo": nendo, "as_of": as_of.isoformat(), "flows": list(cal.flows), "counts": counts,
            "months": months}


def _collection(m: dict[str, Any]) -> str:
    return f"{m['collection_title']} {m['ki']}期" if m["collection"] else ""


def render(report: dict[str, Any]) -> Table:
    counts = " · ".join(f"{k} {v}" for k, v in report["counts"].items())
    table = Table(title=f"年金特徴 calendar {report['nendo']}年度 (as of {report['as_of']})",
                  caption=f"flows: {', '.join(report['flows'])}\n{counts}")
    for column in ("month", "collection", "file", "title", "flow", "dir", "due", "status", "transfers", "note"):
        table.add_column(column)
    for m in report["months"]:
        rows = m["files"] or [None]
        for i, f in enumerate(rows):
            first = (m["month"], _collection(m)) if i == 0 else ("", "")
            if f is None:
                table.add_row(*first, *[""] * 8)
                continue
            transfers = ", ".join(f"{t['id']} {t['state']}" + ("" if t["made"].startswith(m["month"])
                                                               else f" (made {t['made']})")
                                  for t in f["transfers"])
            kind = f"{f['file']} ({'/'.join(f['codes'])})" if f["codes"] else f["file"]
            table.add_row(*first, kind, f["title"], f["flow"], f["direction"], f["due"],
                          f"[{STYLE[f['status']]}]{f['status']}[/]", transfers, f["note"])
        table.add_section()
    return table


def register(app: typer.Typer) -> None:
    nenkin_app = typer.Typer(help="年金特徴 (特別徴収) with the 年金保険者 through the 経由機関.")
    app.add_typer(nenkin_app, name="nenkin")

    @nenkin_app.command("calendar")
    def calendar(ctx: typer.Context,
                 nendo: Annotated[str | None, typer.Option(help="the 年度 (YYYY; default: this one)")] = None,
                 as_of: Annotated[str | None, typer.Option("--as-of", help="judge as of this day (YYYY-MM-DD; "
                                                           "default: today in Japan)")] = None,
                 json_out: Annotated[bool, typer.Option("--json", help="print JSON instead of a table")] = False,
                 ) -> None:
        """The year's months and files: done, pending, overdue or none, from the store's transfers (a Z14
        entry by the 通知内容コード its applied records carry)."""
        try:
            day = parse_as_of(as_of)
            year = parse_nendo(nendo, day)
        except CalendarError as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(2) from exc
        bridge = state(ctx).bridge
        with bridge.sessions() as s:
            report = calendar_status(s, bridge.config.nenkin, year, day)
        if json_out:
            print(json.dumps(report, ensure_ascii=False))
        else:
            console.print(render(report))

    @nenkin_app.command("list")
    def list_(ctx: typer.Context,
              what: Annotated[str, typer.Argument(help="unmatched (Z11 対象者 not matched to one 宛名), stopped "
                                                       "(依頼 refused or stopped: 普通徴収 to collect), refused "
                                                       "(Z1A records the 年金保険者 refused, Z14 32/42/62/82), "
                                                       "unanswered (results answering nothing sent)")],
              nendo: Annotated[str | None, typer.Option(help="the 年度 (YYYY; default: this one)")] = None,
              json_out: Annotated[bool, typer.Option("--json", help="print JSON instead of a table")] = False,
              ) -> None:
        """The persons of a 年度 an operator must look at (adapters/nenkin/lists.py)."""
        make = LISTS.get(what)
        try:
            if make is None:
                raise CalendarError(f"nothing to list as {what!r}: one of {', '.join(LISTS)}")
            year = parse_nendo(nendo, today_in_japan())
        except CalendarError as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(2) from exc
        bridge = state(ctx).bridge
        with bridge.read_sessions() as s:
            rows = make(s, year)
        record_view(bridge.config, f"nenkin list {what}", f"nenkin {what} {year}", rows)
        if json_out:
            print(json.dumps(rows, ensure_ascii=False))
            return
        table = Table(title=f"年金特徴 {what}, 年度 {year}: {len(rows)}")
        for key in rows[0] if rows else ("(none)",):
            table.add_column(key, overflow="fold")
        for row in rows:
            table.add_row(*(", ".join(map(str, v)) if isinstance(v, list) else str(v) for v in row.values()))
        console.print(table)
