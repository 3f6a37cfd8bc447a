"""介護保険被保険者証: a card for each 被保険者 whose 資格 was created or changed since the last
issue, as records for the vendor's layout.

The work of a run is a window of the change journal: entries (entity "shikaku", kind created or
changed) with id in (start, end]. The window is the run's batch key,
``print.hihokenshasho/<start>-<end>``, so the position already issued is derived from the
transfers themselves and no mutable "last issued" state exists to drift from them:

- a window is *finished* once one of its batches (the run, or an edition ``#n`` of it) has every
  part; the next run starts at the highest finished end and ends at the journal's current
  highest id;
- a window with parts but none of its batches complete was interrupted: the next run resumes
  that same window (send_outbound skips the parts already made), whatever was journaled since;
- nothing journaled since the last finished window, or nothing a card can be sent for: the run
  is refused (NothingToIssue, exit 1 from the CLI), like a finished batch, rather than sending
  the vendor an empty file; the position stays where it was.

Journal ids are positions because SQLite never reuses them (sqlite_autoincrement) and serialises
writers, so ids become visible in order. On PostgreSQL with several journal appliers a lower id
can commit after a higher one was read; a window ending at the higher one would pass over it.
That holds for every builder reading the journal by position and is not solved here.

One card per person: several journal entries in the window for one 被保険者番号 give one card
with the 資格 as it is now. Left out: 資格 already lost (喪失: their card is to be returned, not
issued) and people whose mail came back or is stopped (返戻, 送付停止), as for the other notices;
the window moves past them, so their cards are issued at the counter.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVarTuple

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from queues.outbound import AlreadyRun
from store.models import Atena, ChangeJournal, Shikaku, Transfer
from store.models.atena import SOFU_OK
from store.models.runtime import CHANGE_CHANGED, CHANGE_CREATED

ENTITY = "shikaku"
KINDS = (CHANGE_CREATED, CHANGE_CHANGED)

Row = TypeVarTuple("Row")


class NothingToIssue(AlreadyRun):
    """No 資格 change journaled since the last finished window: refused like a finished batch."""


@dataclass(frozen=True, order=True)
class Window:
    """Change-journal entries with ``start < id <= end``."""

    start: int
    end: int

    def batch(self, flow: str, edition: int = 1) -> str:
        return f"{flow}/{self.start}-{self.end}" + (f"#{edition}" if edition > 1 else "")


def _windows(session: Session, flow: str) -> dict[Window, bool]:
    """Every window a run of ``flow`` has made parts for → whether one of its batches is complete."""
    pattern = re.compile(rf"{re.escape(flow)}/(\d+)-(\d+)(?:#\d+)?")
    query = (select(Transfer.batch, Transfer.part_count, func.count())
             .where(Transfer.flow == flow, Transfer.batch.like(f"{flow}/%"))
             .group_by(Transfer.batch, Transfer.part_count))
    windows: dict[Window, bool] = {}
    for batch, part_count, parts in session.execute(query):
        m = pattern.fullmatch(batch or "")
        if m is None:
            raise ValueError(f"flow {flow}: batch key {batch!r} does not name a journal window (<start>-<end>)")
        window = Window(int(m[1]), int(m[2]))
        windows[window] = windows.get(window, False) or parts >= (part_count or 1)
    return windows


def scope(session: Session, flow: str, nendo: int, edition: int) -> tuple[str, Window]:
    """The batch key and window of the next run. ``nendo`` is only a label for this flow.
    ``edition`` > 1 issues the latest window again (a re-print of the whole batch)."""
    windows = _windows(session, flow)
    if edition > 1:
        if not windows:
            raise NothingToIssue(f"{flow}: no earlier run to issue again as edition {edition}")
        latest = max(windows, key=lambda w: w.end)
        return latest.batch(flow, edition), latest
    interrupted = sorted(w for w, finished in windows.items() if not finished)
    if interrupted:
        return interrupted[0].batch(flow), interrupted[0]
    start = max((w.end for w in windows), default=0)
    end = int(session.scalar(select(func.max(ChangeJournal.id)).where(ChangeJournal.entity == ENTITY)) or 0)
    if end <= start:
        last = f"last run {max(windows).batch(flow)}" if windows else "no run yet"
        raise NothingToIssue(f"{flow}: nothing to issue: no 資格 change journaled after position {start} ({last})")
    window = Window(start, end)
    if count(session, window) == 0:  # the position stays: a later window takes these entries again
        raise NothingToIssue(f"{flow}: nothing to issue: the 資格 changes journaled in ({start}, {end}] are all "
                             "of people whose 資格 is lost or whose mail is returned or stopped")
    return window.batch(flow), window


def _changed(query: Select[*Row], window: Window) -> Select[*Row]:
    changed = (select(ChangeJournal.entity_key)
               .where(ChangeJournal.entity == ENTITY, ChangeJournal.kind.in_(KINDS),
                      ChangeJournal.id > window.start, ChangeJournal.id <= window.end))
    return (query.join(Atena, Atena.atena_no == Shikaku.atena_no)
            .where(Shikaku.hihokensha_no.in_(changed), Shikaku.soshitsu_date.is_(None),
                   Atena.sofu_status == SOFU_OK))


def cards(session: Session, window: Window, issue_date: date) -> Iterator[dict[str, Any]]:
    """Records in layout field names, one per 被保険者番号, in 被保険者番号 order."""
    query = _changed(select(Shikaku.hihokensha_no, Shikaku.hokensha_no, Shikaku.hihokensha_kubun,
                            Shikaku.shutoku_date, Atena.atena_no, Atena.name_kanji, Atena.name_kana,
                            Atena.birth_date, Atena.sex, Atena.sofu_name,
                            func.coalesce(Atena.sofu_postal_code, Atena.postal_code).label("postal_code"),
                            func.coalesce(Atena.sofu_address, Atena.address).label("address")),
                     window).order_by(Shikaku.hihokensha_no)
    for row in session.execute(query.execution_options(yield_per=5000)):
        yield {
            "hihokensha_no": row.hihokensha_no,
            "hokensha_no": row.hokensha_no,
            "atena_no": row.atena_no,
            "postal_code": row.postal_code,
            "address": row.address,
            "sofu_name": row.sofu_name,
            "name_kanji": row.name_kanji,
            "name_kana": row.name_kana,
            "birth_date": row.birth_date,
            "sex": row.sex,
            "shutoku_date": row.shutoku_date,
            "hihokensha_kubun": row.hihokensha_kubun,
            "issue_date": issue_date,
        }


def count(session: Session, window: Window) -> int:
    return int(session.scalar(_changed(select(func.count()).select_from(Shikaku), window)) or 0)
