"""The 副本 refresh: store changes → 副本 updates in batches (``kaigo-bridge chukan refresh``).

Who is looked at: everyone in atena (``--all``, the initial load), or the persons with a change
journaled in the run's window ``start < id <= end`` (資格, 認定, 負担割合, 支給限度額 by 被保険者番号;
宛名 and 住所地特例 by 宛名番号 [INF: how the 標準準拠 system announces 住所地特例]). 給付実績 is not
journaled: 0300 follows a 給付 only on the next ``--all``.

The window is part of the batch key, as for ido_run: ``chukan.fukuhon/<start>-<end>/<run>/<op>/<n>``
(``all-<end>`` for --all; ``<n>`` the run's n-th transfer, ``.end`` on its last). It starts where
the last *finished* run ended: its last transfer made (a run that died half-way has none) and
every transfer acknowledged.
A run with a transfer refused by the service (a fault: dead letter) does not finish, so the next
refresh looks at its people again — against fukuhon_state, which only an Ack changes, so what did
go through is not sent twice.

One refresh at a time: while an earlier refresh's transfers are still queued (not acknowledged,
not refused), a refresh is refused (InFlight) — deciding against a state that is about to change
would register twice. Each batch of ``fukuhon_batch_size`` changes of one operation is one
transfer: the payload encrypted in the payload store, a claim-check message on the
``chukan.fukuhon`` route for the chukan-dbm handler (adapters/chukan/fukuhon_send.py).

It streams: persons are built and planned ``PERSONS`` at a time and a batch leaves as soon as it
is full, so memory holds a few batches, not the population's 副本.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from adapters.chukan import fukuhon_plan as fp
from adapters.chukan.fukuhon import LAYOUT, NOT_BUILT, build, check_sources
from mappings.standard_layout import StandardLayouts, standard_layouts
from queues.crypto import Keyring
from queues.outbound import QUEUED, AlreadyRun, RenderResult, send_outbound
from queues.payloads import PayloadStore
from settings import DEFAULT_NAME, FlowConfig
from store.engine import read_only
from store.models import Atena, ChangeJournal, Shikaku, Transfer
from store.run_lock import Busy, alone

FLOW = ROUTE = "chukan.fukuhon"
PARTNER = "chukan"
RECEIPTED = "receipted"  # the service acknowledged the DBM call
REJECTED = "rejected"  # the service refused it with a fault (its message is in chukan.fukuhon.dead)
BY_HIHOKENSHA = ("shikaku", "nintei", "futan_wariai", "shikyu_gendogaku")
BY_ATENA = ("atena", "jushochi_tokurei")
PERSONS = 2000  # persons built and planned at a time
BATCH = re.compile(rf"{re.escape(FLOW)}/(all|\d+)-(\d+)/([0-9a-f]{{8}})/(?:delete|register|replace)/\d+(\.end)?")


LEASE = timedelta(hours=2)  # a refresh of 200,000 persons takes about a minute: a lock this old is a dead run's


class InFlight(AlreadyRun):
    """An earlier refresh's transfers are not all acknowledged yet."""


@dataclass
class Outcome:
    window: tuple[str, int]  # (start or "all", end)
    version: str  # 版番号 sent
    persons: int = 0  # 統合宛名番号 looked at
    counts: dict[str, int] = field(default_factory=dict)  # changes per operation
    transfers: dict[str, list[str]] = field(default_factory=dict)  # transfer ids per operation
    no_togo: list[str] = field(default_factory=list)  # 宛名番号 not sent: no 統合宛名番号
    not_built: dict[str, str] = field(default_factory=dict)  # data set → why it is not built

    def as_dict(self) -> dict[str, Any]:
        return {"window": f"{self.window[0]}-{self.window[1]}", "version": self.version, "persons": self.persons,
                "counts": self.counts, "transfers": self.transfers, "no_togo": self.no_togo,
                "not_built": self.not_built}


def _start(session: Session) -> int:
    """Where the next window starts: the end of the last finished run (0: none yet)."""
    runs: dict[tuple[str, int, str], list[bool]] = {}  # run -> [ended, all acknowledged]
    for batch, state in session.execute(select(Transfer.batch, Transfer.state).where(Transfer.flow == FLOW)):
        m = BATCH.fullmatch(batch or "")
        if m is None:
            raise ValueError(f"flow {FLOW}: batch key {batch!r} is not <start>-<end>/<run>/<op>/<n>")
        run = runs.setdefault((m[1], int(m[2]), m[3]), [False, True])
        run[0] |= m[4] is not None
        run[1] &= state == RECEIPTED
    return max((end for (_s, end, _r), (ended, acked) in runs.items() if ended and acked), default=0)


def _in_window(session: Session, start: int, end: int) -> set[str]:
    window = (ChangeJournal.id > start, ChangeJournal.id <= end)
    atena = set(session.scalars(select(ChangeJournal.entity_key).where(ChangeJournal.entity.in_(BY_ATENA), *window)))
    numbers = select(ChangeJournal.entity_key).where(ChangeJournal.entity.in_(BY_HIHOKENSHA), *window)
    atena.update(session.scalars(select(Shikaku.atena_no).where(Shikaku.hihokensha_no.in_(numbers))))
    return atena


def in_flight(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Transfer)
                          .where(Transfer.flow == FLOW, Transfer.state == QUEUED)) or 0


class _Batches:
    """Changes gathered per operation. A full batch is held until the next one fills (or the run
    ends), so the run's last transfer is known when it is made and its key says so (``.end``)."""

    def __init__(self, sessions: sessionmaker[Session], keyring: Keyring, payloads: PayloadStore, flow: FlowConfig,
                 prefix: str, actor: str, outcome: Outcome) -> None:
        self.sessions, self.keyring, self.payloads, self.flow = sessions, keyring, payloads, flow
        self.prefix, self.actor, self.outcome = prefix, actor, outcome
        self.pending: dict[str, list[fp.Change]] = {op: [] for op in fp.OPS}
        self.held: tuple[str, list[fp.Change]] | None = None
        self.made = 0

    def add(self, changes: Iterable[fp.Change]) -> None:
        for change in changes:
            self.outcome.counts[change.op] += 1
            waiting = self.pending[change.op]
            waiting.append(change)
            if len(waiting) >= self.flow.part_size:
                self._hold(change.op, waiting)
                self.pending[change.op] = []

    def _hold(self, op: str, changes: list[fp.Change]) -> None:
        if self.held is not None:
            self._send(*self.held, last=False)
        self.held = (op, changes)

    def close(self) -> None:
        for op in fp.OPS:
            if self.pending[op]:
                self._hold(op, self.pending[op])
                self.pending[op] = []
        if self.held is not None:
            self._send(*self.held, last=True)
            self.held = None

    def _send(self, op: str, changes: list[fp.Change], last: bool) -> None:
        self.made += 1
        batch = f"{self.prefix}/{op}/{self.made}" + (".end" if last else "")
        sent = send_outbound(self.sessions, self.keyring, self.payloads, self.flow, batch,
                             (fp.line(c) for c in changes), len(changes),
                             lambda recs: (fp.render(recs), RenderResult), self.actor)
        self.outcome.transfers.setdefault(op, []).extend(sent.transfers)


def refresh(sessions: sessionmaker[Session], keyring: Keyring, payloads: PayloadStore, *, batch_size: int,
            actor: str, everyone: bool, day: date, layouts: StandardLayouts = standard_layouts) -> Outcome:
    """Look at the persons of the window (or everyone), decide against fukuhon_state, and start
    one transfer per batch of each operation. Raises InFlight while another refresh runs (an
    operator's and a worker's round alike: run_lock) or an earlier one is unacknowledged."""
    try:
        with alone(sessions, FLOW, actor, LEASE):
            return _refresh(sessions, keyring, payloads, batch_size=batch_size, actor=actor, everyone=everyone,
                            day=day, layouts=layouts)
    except Busy as busy:
        raise InFlight(f"{busy}; refresh again once it has ended") from None


def _refresh(sessions: sessionmaker[Session], keyring: Keyring, payloads: PayloadStore, *, batch_size: int,
             actor: str, everyone: bool, day: date, layouts: StandardLayouts) -> Outcome:
    layout = layouts.on(LAYOUT, day)
    check_sources(layout)
    reader = sessionmaker(bind=read_only(sessions.kw["bind"]))  # no write lock while batches are written
    with reader() as s:
        waiting = in_flight(s)
        if waiting:
            raise InFlight(f"{FLOW}: {waiting} transfer(s) of an earlier refresh are not acknowledged yet "
                           f"(queued; see `kaigo-bridge dead list {ROUTE}`); refresh again once they are")
        end = int(s.scalar(select(func.max(ChangeJournal.id))) or 0)
        start = _start(s)
        atena_nos = sorted(s.scalars(select(Atena.atena_no)) if everyone else _in_window(s, start, end))
        label = ("all" if everyone else str(start), end)
        outcome = Outcome(window=label, version=layout.version, counts={op: 0 for op in fp.OPS},
                          not_built=dict(NOT_BUILT))
        flow = FlowConfig(name=FLOW, description="副本登録", partner=PARTNER, direction="out",
                          layout=f"chukan/{LAYOUT}", layout_version=int(layout.version), route=ROUTE,
                          part_size=batch_size, substitutions=None, done_marker="", folder="",
                          file_name=DEFAULT_NAME, settle_seconds=0.0)
        batches = _Batches(sessions, keyring, payloads, flow, f"{FLOW}/{label[0]}-{label[1]}/{uuid.uuid4().hex[:8]}",
                           actor, outcome)
        seen: set[str] = set()
        for i in range(0, len(atena_nos), PERSONS):
            built = build(s, atena_nos[i:i + PERSONS], layout, day)
            seen |= built.persons
            outcome.no_togo.extend(built.no_togo)
            planned = fp.plan(s, built)
            batches.add(change for op in fp.OPS for change in planned[op])
        if everyone:
            batches.add(fp.orphans(s, seen))
        batches.close()
    outcome.persons = len(seen)
    outcome.no_togo.sort()
    return outcome
