"""The access log (アクセスログ): who logged in and out, failed, was locked, changed an account,
was shown personal data or changed state — who, when, what.

It is the custody log's class (queues.custody.CustodyLog) on a database of its own
(``access.url`` in bridge.toml, default ``var/access.db``), checkpoints signed with the custody
key: the same chain, the same verify, no second chain code. An access event maps onto the custody
columns: event = kind, actor, transfer_id = the record shown or changed, basis = the command,
record_count = how many rows, detail = JSON of subject, outcome and detail, masked through
queues/redact (a 個人番号 never enters it; a person is named by 宛名番号 or 被保険者番号).

The actor: until every command runs in an operator's session (issue 17, part 2), an event of a
command with no session is recorded as ``os:<OS user name>`` (``os_actor()``); a logged-in
operator's is their login, a service's ``service:<name>``.
"""

from __future__ import annotations

import getpass
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from queues.custody import CustodyEvent, CustodyLog, Entry
from queues.custody.entry import TIME_FORMAT
from queues.custody.schema import entries
from queues.redact import mask
from settings import Config

# An account change names the account in ``record`` and what changed in ``detail``; the report
# follows these two to find use by a disabled account.
DISABLED, ENABLED = "disabled", "enabled"
KINDS = ("login", "logout", "login_failed", "locked", "account_changed", "viewed", "changed", "refused")
OUTCOMES = ("ok", "refused", "failed")
MAX_SUBJECTS = 99  # persons named in one event; a longer list is a bulk read, counted by record_count
_SUBJECT = re.compile(r"[0-9A-Za-z]{1,15}")  # a 宛名番号 (15) or 被保険者番号 (10)


class AccessLogError(ValueError):
    """An event that cannot be recorded as asked (unknown kind or outcome, a bad subject)."""


@dataclass(frozen=True, slots=True)
class AccessEvent:
    """One event as the report reads it (times are UTC; screens show them in JST)."""

    seq: int
    at: datetime
    kind: str
    actor: str
    command: str | None
    record: str | None
    count: int | None
    subjects: tuple[str, ...]
    outcome: str
    detail: str | None


def os_actor() -> str:
    """The actor of a command run without an operator's session: the OS user who ran it."""
    return f"os:{getpass.getuser()}"


class AccessLog:
    def __init__(self, url: str, signing_key_path: Any = None, public_key_path: Any = None) -> None:
        self.log = CustodyLog(url, signing_key_path=signing_key_path, public_key_path=public_key_path)
        self._ready = False

    @classmethod
    def of(cls, config: Config) -> AccessLog:
        signing = config.custody_signing_key
        return cls(config.access_url, signing_key_path=signing if signing.exists() else None,
                   public_key_path=signing.with_name(signing.name + ".pub"))

    def create_schema(self) -> None:
        self.log.create_schema()
        self._ready = True

    def dispose(self) -> None:
        self.log.dispose()

    def record(self, kind: str, actor: str, command: str, subject: str | Sequence[str] | None = None,
               record: str | None = None, count: int | None = None, outcome: str = "ok",
               detail: str | None = None, at: datetime | None = None) -> int:
        """Append one event; its seq. ``subject``: the person(s) shown, by 宛名番号 or 被保険者番号
        (at most MAX_SUBJECTS); ``at`` only for an import or a test's seeded history."""
        if at is not None and at.tzinfo is None:
            raise AccessLogError("access event: at must carry its time zone (a naive time is no time)")
        if kind not in KINDS:
            raise AccessLogError(f"access event: kind {kind!r} is not one of {', '.join(KINDS)}")
        if outcome not in OUTCOMES:
            raise AccessLogError(f"access event: outcome {outcome!r} is not one of {', '.join(OUTCOMES)}")
        subjects = [subject] if isinstance(subject, str) else list(subject or ())
        if len(subjects) > MAX_SUBJECTS:
            raise AccessLogError(f"access event: {len(subjects)} subjects, at most {MAX_SUBJECTS} "
                                 "(record a longer list by its count)")
        for i, s in enumerate(subjects):
            if not isinstance(s, str) or not _SUBJECT.fullmatch(s) or (len(s) == 12 and s.isdigit()):
                # the value is not named: it may be the 個人番号 this refuses
                raise AccessLogError(f"access event: subject {i + 1} is not a 宛名番号 or 被保険者番号 "
                                     "(1-15 letters or digits, never 12 digits: a 個人番号 is never logged)")
        body: dict[str, Any] = {"outcome": outcome}
        if subjects:
            body["subjects"] = sorted(set(subjects))
        if detail:
            body["detail"] = detail
        event = CustodyEvent(transfer_id=mask(record) if record else None, event=kind, actor=mask(actor)[:128],
                             record_count=count, basis=mask(command)[:200],
                             detail=mask(json.dumps(body, ensure_ascii=False, sort_keys=True)))
        if not self._ready:  # an installation made before the access log gets it at its first event
            self.create_schema()
        return self.log.append([event], when=at)[0]

    def events(self, start: datetime | None, end: datetime, kinds: Sequence[str] = ()) -> list[AccessEvent]:
        """Events with start <= at < end (aware datetimes; start None: from the first), of
        ``kinds`` (default all), in seq order. The stored time is fixed-format UTC text, so text
        order is time order."""
        if not self._ready:
            self.create_schema()
        stmt = select(entries).where(entries.c.at < _text(end)).order_by(entries.c.seq)
        if start is not None:
            stmt = stmt.where(entries.c.at >= _text(start))
        if kinds:
            stmt = stmt.where(entries.c.event.in_(kinds))
        with self.log.engine.connect() as conn:
            return [_event(Entry.from_row(dict(r))) for r in conn.execute(stmt).mappings()]


def _text(t: datetime) -> str:
    return t.astimezone(UTC).strftime(TIME_FORMAT)


def _event(e: Entry) -> AccessEvent:
    body = json.loads(e.detail or "{}")
    return AccessEvent(seq=e.seq, at=e.at, kind=e.event, actor=e.actor, command=e.basis, record=e.transfer_id,
                       count=e.record_count, subjects=tuple(body.get("subjects", ())),
                       outcome=body.get("outcome", "ok"), detail=body.get("detail"))


def record(config: Config, kind: str, actor: str, command: str, **fields: Any) -> int:
    """One event in the installation's access log (AccessLog.record's fields), opened and closed
    around it: the one call a command makes."""
    access = AccessLog.of(config)
    try:
        return access.record(kind, actor, command, **fields)
    finally:
        access.dispose()


def record_view(config: Config, command: str, shown: str, rows: Sequence[dict[str, Any]] | int | None) -> None:
    """A command is about to show personal data: ``viewed`` with the record ``shown``, how many rows
    and, for a list short enough, the persons in it (by 宛名番号, else 被保険者番号). Recorded before
    the screen, so what cannot be logged is not shown."""
    if rows is None or isinstance(rows, int):  # a record of rows not listed (None: how many not known)
        count, persons = rows, []
    else:
        count = len(rows)
        persons = [] if count > MAX_SUBJECTS else \
            [p for row in rows if (p := row.get("atena_no") or row.get("hihokensha_no"))]
    record(config, "viewed", os_actor(), command, subject=persons, record=shown, count=count)
