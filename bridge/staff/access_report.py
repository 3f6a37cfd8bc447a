"""The access report: per operator their sessions and what they did, and the flags an auditor
(監査) must look at — each naming who, when (JST), what, and the next step.

The rules (thresholds are the constants below):

- off_hours: an event outside 08:00–19:00 JST or on a Saturday or Sunday (one flag per operator
  and day, counting that day's events off hours);
- bulk_read: one ``viewed`` of BULK_ROWS rows or more, or BULK_PERSONS distinct persons or more
  viewed by one operator within BULK_WINDOW;
- repeated_lookup: the same person viewed by the same operator REPEAT times or more in a JST day;
- failed_logins: FAILED or more failed logins for one login in a JST day; locked: every lockout;
- disabled_use: any event of an account after it was disabled (and before it was enabled again).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from bridge.staff.access_log import DISABLED, ENABLED, AccessEvent, AccessLog

JST = timezone(timedelta(hours=9), "JST")
WORK_START, WORK_END = time(8, 0), time(19, 0)  # office hours, JST; Saturday and Sunday are off
BULK_ROWS = 100
BULK_PERSONS = 100
BULK_WINDOW = timedelta(hours=1)
REPEAT = 3
FAILED = 3


def jst(t: datetime) -> str:
    return t.astimezone(JST).strftime("%Y-%m-%d %H:%M:%S")


def off_hours(t: datetime) -> bool:
    local = t.astimezone(JST)
    return local.weekday() >= 5 or not WORK_START <= local.time() < WORK_END


def window(first: date, last: date) -> tuple[datetime, datetime]:
    """From 00:00 JST of ``first`` to 24:00 JST of ``last``."""
    return datetime.combine(first, time(0), JST), datetime.combine(last + timedelta(days=1), time(0), JST)


def report(access: AccessLog, first: date, last: date) -> dict[str, Any]:
    start, end = window(first, last)
    events = access.events(start, end)
    changes = access.events(None, end, kinds=("account_changed",))
    flags = [*_off_hours(events), *_bulk(events), *_repeated(events), *_failed(events),
             *_disabled(events, changes)]
    flags.sort(key=lambda f: (f["at"], f["rule"], f["actor"]))
    return {"from": first.isoformat(), "to": last.isoformat(), "timezone": "JST", "events": len(events),
            "operators": _operators(events), "flags": flags}


def _flag(rule: str, actor: str, at: datetime, what: str, next_step: str) -> dict[str, Any]:
    return {"rule": rule, "actor": actor, "at": jst(at), "what": what, "next": next_step}


def _day(e: AccessEvent) -> date:
    return e.at.astimezone(JST).date()


def _operators(events: list[AccessEvent]) -> list[dict[str, Any]]:
    by_actor: dict[str, list[AccessEvent]] = defaultdict(list)
    for e in events:
        by_actor[e.actor].append(e)
    out = []
    for actor, mine in sorted(by_actor.items()):
        sessions: list[dict[str, str | None]] = []
        for e in mine:
            if e.kind == "login" and e.outcome == "ok":
                sessions.append({"login": jst(e.at), "logout": None})
            elif e.kind == "logout" and sessions and sessions[-1]["logout"] is None:
                sessions[-1]["logout"] = jst(e.at)
        counts = Counter(e.kind for e in mine)
        out.append({"actor": actor, "first": jst(mine[0].at), "last": jst(mine[-1].at), "sessions": sessions,
                    "counts": dict(sorted(counts.items())),
                    "rows_viewed": sum(e.count or 0 for e in mine if e.kind == "viewed")})
    return out


def _off_hours(events: list[AccessEvent]) -> list[dict[str, Any]]:
    found: dict[tuple[str, date], list[AccessEvent]] = defaultdict(list)
    for e in events:
        if off_hours(e.at):
            found[(e.actor, _day(e))].append(e)
    return [_flag("off_hours", actor, es[0].at,
                  f"{len(es)} event(s) outside 08:00–19:00 JST or on a weekend, {jst(es[0].at)}–{jst(es[-1].at)} "
                  f"({', '.join(sorted({e.command or e.kind for e in es}))})",
                  "ask the operator and their 上長 what the work was; if none, treat it as an incident")
            for (actor, _d), es in found.items()]


def _bulk(events: list[AccessEvent]) -> list[dict[str, Any]]:
    flags = [_flag("bulk_read", e.actor, e.at, f"{e.command} showed {e.count} rows ({e.record or '-'})",
                   "check that the work needed the whole list; if not, treat it as an incident")
             for e in events if e.kind == "viewed" and (e.count or 0) >= BULK_ROWS]
    views: dict[str, list[AccessEvent]] = defaultdict(list)
    for e in events:
        if e.kind == "viewed" and e.subjects:
            views[e.actor].append(e)
    for actor, mine in views.items():
        lo = 0
        for hi in range(len(mine)):  # the window ending at each view; one flag per operator, the first
            while mine[hi].at - mine[lo].at > BULK_WINDOW:
                lo += 1
            persons = {s for e in mine[lo:hi + 1] for s in e.subjects}
            if len(persons) >= BULK_PERSONS:
                flags.append(_flag("bulk_read", actor, mine[lo].at,
                                   f"{len(persons)} distinct persons viewed within an hour, "
                                   f"{jst(mine[lo].at)}–{jst(mine[hi].at)}",
                                   "check that the work needed each of them; if not, treat it as an incident"))
                break
    return flags


def _repeated(events: list[AccessEvent]) -> list[dict[str, Any]]:
    seen: dict[tuple[str, date, str], list[AccessEvent]] = defaultdict(list)
    for e in events:
        if e.kind == "viewed":
            for s in e.subjects:
                seen[(e.actor, _day(e), s)].append(e)
    return [_flag("repeated_lookup", actor, es[0].at, f"person {subject} viewed {len(es)} times on {day}",
                  "ask the operator what the work on this person was (a relative or an acquaintance?)")
            for (actor, day, subject), es in seen.items() if len(es) >= REPEAT]


def _failed(events: list[AccessEvent]) -> list[dict[str, Any]]:
    failed: dict[tuple[str, date], list[AccessEvent]] = defaultdict(list)
    flags = []
    for e in events:
        if e.kind == "login_failed":
            failed[(e.actor, _day(e))].append(e)
        elif e.kind == "locked":
            flags.append(_flag("locked", e.actor, e.at, f"account {e.record or e.actor} locked after failed logins",
                               "confirm with the person that it was them before a 管理者 unlocks it "
                               "(operators reset)"))
    flags += [_flag("failed_logins", actor, es[0].at, f"{len(es)} failed logins on {day}",
                    "ask the person; if it was not them, the password may be known: operators reset")
              for (actor, day), es in failed.items() if len(es) >= FAILED]
    return flags


def _disabled(events: list[AccessEvent], changes: list[AccessEvent]) -> list[dict[str, Any]]:
    """Events of an account inside a span between its disabling and its enabling."""
    spans: dict[str, list[tuple[datetime, datetime | None]]] = defaultdict(list)
    for c in changes:
        if c.record is None:
            continue
        if c.detail == DISABLED:
            spans[c.record].append((c.at, None))
        elif c.detail == ENABLED and spans[c.record] and spans[c.record][-1][1] is None:
            spans[c.record][-1] = (spans[c.record][-1][0], c.at)
    flags = []
    for e in events:
        for since, until in spans.get(e.actor, ()):
            if e.at > since and (until is None or e.at < until):
                flags.append(_flag("disabled_use", e.actor, e.at,
                                   f"{e.kind} ({e.command}) by an account disabled since {jst(since)}",
                                   "find out who holds its credentials or session; end it and report an incident"))
                break
    return flags
