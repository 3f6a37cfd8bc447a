"""The 副本 refresh: store changes → 副本 updates in batches (``kaigo-bridge chukan refresh``).

Who is looked at: everyone in atena (``--all``, the initial load), or the persons with a change
journaled in the run's window ``start < id <= end`` (資格, 認定, 負担割合, 支給限度額 by 被保険者番号;
宛名 and 住所地特例 by 宛名番号 [INF: how the 標準準拠 system announces 住所地特例]). 給付実績 is not
journaled: 0300 follows a 給付 only on the next ``--all``.

The window is part of the batch key, as for ido_run: ``chukan.fukuhon/<start>-<end>/<run>.<ops>/<op>``
(``all-<end>`` for --all; ``<ops>`` the operations the run planned, D/R/P). It starts where the
last *finished* run ended: every planned operation's parts made and every transfer acknowledged.
A run with a transfer refused by the service (a fault: dead letter) does not finish, so the next
refresh looks at its people again — against fukuhon_state, which only an Ack changes, so what did
go through is not sent twice.

One refresh at a time: while an earlier refresh's transfers are still queued (not acknowledged,
not refused), a refresh is refused (InFlight) — deciding against a state that is about to change
would register twice. Each batch of ``fukuhon_batch_size`` changes of one operation is one
transfer: the payload encrypted in the payload store, a claim-check message on the
``chukan.fukuhon`` route for the chukan-dbm handler (adapters/chukan/fukuhon_send.py).
"""

from __future__ import annotations

import re
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from adapters.chukan import fukuhon_plan as fp
from adapters.chukan.fukuhon import LAYOUT, build
from adapters.core.models import Atena, ChangeJournal, Shikaku, Transfer
from bridge.config import DEFAULT_NAME, FlowConfig
from mappings.standard_layout import StandardLayouts, standard_layouts
from queues.crypto import Keyring
from queues.outbound import QUEUED, AlreadyRun, RenderResult, send_outbound
from queues.payloads import PayloadStore

FLOW = ROUTE = "chukan.fukuhon"
PARTNER = "chukan"
RECEIPTED = "receipted"  # the service acknowledged the DBM call
REJECTED = "rejected"  # the service refused it with a fault (its message is in chukan.fukuhon.dead)
BY_HIHOKENSHA = ("shikaku", "nintei", "futan_wariai", "shikyu_gendogaku")
BY_ATENA = ("atena", "jushochi_tokurei")
LETTERS = {fp.DELETE: "D", fp.REGISTER: "R", fp.REPLACE: "P"}
BATCH = re.compile(rf"{re.escape(FLOW)}/(all|\d+)-(\d+)/([0-9a-f]{{8}})\.([DRP]+)/(delete|register|replace)")


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


def _runs(session: Session) -> dict[tuple[str, int, str], dict[str, Any]]:
    """Every earlier run: (start, end, run id) → planned ops, parts seen per op, all acknowledged?"""
    runs: dict[tuple[str, int, str], dict[str, Any]] = {}
    query = select(Transfer.batch, Transfer.part_count, Transfer.state).where(Transfer.flow == FLOW)
    for batch, part_count, state in session.execute(query):
        m = BATCH.fullmatch(batch or "")
        if m is None:
            raise ValueError(f"flow {FLOW}: batch key {batch!r} is not <start>-<end>/<run>.<ops>/<op>")
        run = runs.setdefault((m[1], int(m[2]), m[3]), {"ops": set(m[4]), "parts": defaultdict(int),
                                                        "counts": {}, "acked": True})
        letter = LETTERS[m[5]]
        run["parts"][letter] += 1
        run["counts"][letter] = part_count or 1
        run["acked"] &= state == RECEIPTED
    return runs


def _start(session: Session) -> int:
    """Where the next window starts: the end of the last finished run (0: none yet)."""
    finished = [end for (_start, end, _run), r in _runs(session).items()
                if r["acked"] and all(r["parts"][op] >= r["counts"].get(op, 1) for op in r["ops"])]
    return max(finished, default=0)


def _in_window(session: Session, start: int, end: int) -> set[str]:
    window = (ChangeJournal.id > start, ChangeJournal.id <= end)
    atena = set(session.scalars(select(ChangeJournal.entity_key).where(ChangeJournal.entity.in_(BY_ATENA), *window)))
    numbers = select(ChangeJournal.entity_key).where(ChangeJournal.entity.in_(BY_HIHOKENSHA), *window)
    atena.update(session.scalars(select(Shikaku.atena_no).where(Shikaku.hihokensha_no.in_(numbers))))
    return atena


def in_flight(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Transfer)
                          .where(Transfer.flow == FLOW, Transfer.state == QUEUED)) or 0


def refresh(sessions: sessionmaker[Session], keyring: Keyring, payloads: PayloadStore, *, batch_size: int,
            actor: str, everyone: bool, day: date, layouts: StandardLayouts = standard_layouts) -> Outcome:
    """Look at the persons of the window (or everyone), decide against fukuhon_state, and start
    one transfer per batch of each operation. Raises InFlight while an earlier one is unacknowledged."""
    layout = layouts.on(LAYOUT, day)
    with sessions() as s:
        waiting = in_flight(s)
        if waiting:
            raise InFlight(f"{FLOW}: {waiting} transfer(s) of an earlier refresh are not acknowledged yet "
                           f"(queued; see `kaigo-bridge dead list {ROUTE}`); refresh again once they are")
        end = int(s.scalar(select(func.max(ChangeJournal.id))) or 0)
        start = _start(s)
        if everyone:
            atena_nos: list[str] = list(s.scalars(select(Atena.atena_no)))
        else:
            atena_nos = sorted(_in_window(s, start, end))
        built = build(s, atena_nos, layout, day)
        changes = fp.plan(s, built, everyone)
    label = ("all" if everyone else str(start), end)
    outcome = Outcome(window=label, version=layout.version, persons=len(built.persons),
                      counts={op: len(changes[op]) for op in fp.OPS}, no_togo=sorted(built.no_togo),
                      not_built=dict(built.not_built))
    planned = [op for op in fp.OPS if changes[op]]
    if not planned:
        return outcome
    run = f"{uuid.uuid4().hex[:8]}.{''.join(LETTERS[op] for op in planned)}"
    flow = FlowConfig(name=FLOW, description="副本登録", partner=PARTNER, direction="out", layout=f"chukan/{LAYOUT}",
                      layout_version=int(layout.version), route=ROUTE, part_size=batch_size, substitutions=None,
                      done_marker="", folder="", file_name=DEFAULT_NAME, settle_seconds=0.0)
    for op in planned:
        batch = f"{FLOW}/{label[0]}-{label[1]}/{run}/{op}"
        sent = send_outbound(sessions, keyring, payloads, flow, batch, (fp.line(c) for c in changes[op]),
                             len(changes[op]), lambda recs: (fp.render(recs), RenderResult), actor)
        outcome.transfers[op] = sent.transfers
    return outcome
