"""Starting outbound transfers: render records as a stream, store them encrypted, queue delivery.

Custody comes first: each part becomes a transfer whose ``extracted``, ``encrypted`` and
``queued`` entries commit in the same transaction as the transfer row and its delivery event
(outbox). The rendered file never exists in clear on disk: it streams from the renderer into
the encrypted payload store, so memory stays flat whatever the record count.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from queues.crypto import Keyring
from queues.custody import CustodyEvent
from queues.handover_log import record
from queues.message import new_id
from queues.outbox import enqueue
from queues.payloads import PayloadStore
from settings import FlowConfig
from store.models import Transfer

QUEUED = "queued"
HELD = "held"
DELIVER = "transfer.deliver"

Record = Mapping[str, Any]


@dataclass(frozen=True)
class RenderResult:
    """What a renderer reports once its stream is consumed: held back records and why."""

    withheld: int = 0
    problems: tuple[str, ...] = ()
    substitutions: int = 0
    # Per character: record, key, field, char, codepoint, replacement (None: unmapped).
    characters: tuple[dict[str, Any], ...] = ()


def characters_ref(transfer_id: str) -> str:
    """Where a transfer's character report is kept: encrypted like a payload, since it holds
    pieces of names."""
    return f"{transfer_id}.chars"


@dataclass
class Outcome:
    transfers: list[str] = field(default_factory=list)
    records: int = 0
    held: list[str] = field(default_factory=list)
    bytes: int = 0
    resumed: int = 0  # parts an earlier, interrupted run of the same batch had already made


class AlreadyRun(Exception):
    """Every part of this batch exists: running it again would send the same records twice."""


# A renderer turns records into encoded chunks and, when the stream ends, says what it held back.
Renderer = Callable[[Iterable[Record]], tuple[Iterator[bytes], Callable[[], RenderResult]]]


class _Counter:
    def __init__(self, records: Iterable[Record], tick: Callable[[int], None]) -> None:
        self.records = records
        self.count = 0
        self.tick = tick

    def __iter__(self) -> Iterator[Record]:
        for rec in self.records:
            self.count += 1
            if self.count % 1000 == 0:
                self.tick(1000)
            yield rec
        self.tick(self.count % 1000)


def _existing_parts(sessions: sessionmaker[Session], batch: str, part_count: int) -> dict[int, Transfer]:
    with sessions() as s:
        done = {t.part_no or 0: t for t in s.scalars(select(Transfer).where(Transfer.batch == batch))}
    if done and any(t.part_count != part_count for t in done.values()):
        raise AlreadyRun(f"batch {batch}: an earlier run made parts of a different split "
                         f"({next(iter(done.values())).part_count} parts, now {part_count}): the records "
                         "changed since; issue a new edition instead of resuming")
    if len(done) == part_count:
        raise AlreadyRun(f"batch {batch} was already run: {part_count} transfer(s) "
                         f"({', '.join(t.id for t in done.values())}); issue a new edition to send it again")
    return done


def send_outbound(sessions: sessionmaker[Session], keyring: Keyring, payloads: PayloadStore, flow: FlowConfig,
                  batch: str, records: Iterable[Record], total: int, render: Renderer, actor: str,
                  tick: Callable[[int], None] = lambda _n: None) -> Outcome:
    """Split ``records`` (``total`` of them, in a stable order) into parts of ``flow.part_size``
    and start one transfer per part. A part whose renderer held back records is kept ``held``
    for an operator. ``batch`` keys the run: parts an interrupted run already made are skipped,
    and a batch whose parts all exist raises AlreadyRun."""
    outcome = Outcome()
    part_count = max(1, math.ceil(total / flow.part_size))
    done = _existing_parts(sessions, batch, part_count)
    source = iter(records)
    for part_no in range(1, part_count + 1):
        if part_no in done:
            skipped = sum(1 for _ in itertools.islice(source, flow.part_size))
            tick(skipped)
            outcome.transfers.append(done[part_no].id)
            outcome.records += skipped
            outcome.resumed += 1
            continue
        part = _Counter(itertools.islice(source, flow.part_size), tick)
        transfer_id = new_id()
        chunks, report = render(part)
        writer = payloads.open_writer(transfer_id, flow.name)
        with writer:
            for chunk in chunks:
                writer.write(chunk)
        info = writer.close()  # already closed by the block; returns its info
        result = report()
        if result.characters:
            with payloads.open_writer(characters_ref(transfer_id), flow.name) as chars:
                for line in result.characters:
                    chars.write(json.dumps(line, ensure_ascii=False).encode() + b"\n")
        state = HELD if result.withheld else QUEUED
        now = datetime.now(UTC)
        base = {"transfer_id": transfer_id, "actor": actor, "partner": flow.partner}
        with sessions.begin() as s:
            s.add(Transfer(id=transfer_id, flow=flow.name, batch=batch, partner=flow.partner, direction=flow.direction,
                           layout=flow.layout, layout_version=str(flow.layout_version),
                           record_count=part.count, sha256=info.sha256, size=info.size, key_id=info.key_id,
                           payload_ref=info.ref, state=state, part_no=part_no, part_count=part_count,
                           created_at=now, updated_at=now,
                           last_error="; ".join(result.problems)[:2000] or None))
            detail = f"{flow.layout} v{flow.layout_version}, part {part_no}/{part_count}"
            if result.substitutions:
                detail += f", {result.substitutions} character substitution(s)"
            record(s, CustodyEvent(event="extracted", record_count=part.count, sha256=info.sha256,
                                   detail=detail, dedup_key=f"{transfer_id}:extracted", **base))
            record(s, CustodyEvent(event="encrypted", record_count=part.count, sha256=info.sha256,
                                   key_id=info.key_id, detail=f"payload {info.size} bytes",
                                   dedup_key=f"{transfer_id}:encrypted", **base))
            if state == QUEUED:
                enqueue(s, keyring, flow.route, DELIVER, transfer_id, {"transfer_id": transfer_id, "started_by": actor},
                        transfer_id=transfer_id)
                record(s, CustodyEvent(event=QUEUED, record_count=part.count, sha256=info.sha256,
                                       detail=f"route {flow.route}", dedup_key=f"{transfer_id}:queued", **base))
            else:
                record(s, CustodyEvent(event=HELD, record_count=part.count, sha256=info.sha256,
                                       detail=f"{result.withheld} record(s) withheld for an operator",
                                       dedup_key=f"{transfer_id}:held", **base))
                outcome.held.append(transfer_id)
        outcome.transfers.append(transfer_id)
        outcome.records += part.count
        outcome.bytes += info.size
    return outcome
