"""What the Z12 files held: their 依頼 marked ``sent``, and the run's summary.

``record_sent`` parses every stored Z12 not recorded yet back (as adapters/kokuho/ido_run.py
does for the 異動 file) and marks the 依頼 of its records ``sent`` with its transfer, so "sent" is
exactly what a file holds: a record withheld for a character is not in it. A held file (one
record withheld holds the whole file for an operator) is not delivered and marks nothing: its
依頼 stay pending for the next edition. Files are recorded oldest first, and a 依頼 already
sent in a newer file is never moved back to an older one, so recording again changes nothing.
Runs before a run decides anything (a run that died after making its files) and after it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Column, CursorResult, String, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from adapters.nenkin import irai, z12
from adapters.nenkin.z12 import _BATCH, FLOW, Z12File, Z12Run
from adapters.readback import read_back
from mappings import nenkin_frame
from mappings.records import ParsedRecord
from queues.flow_source import FlowContext
from queues.outbound import HELD
from queues.payloads import PayloadStore
from store.models import TokuchoIrai, Transfer
from store.models.tokucho import IRAI_PENDING, IRAI_SENT
from store.scratch import fill, scratch


def pensions(payloads: PayloadStore, transfer: Transfer, header: list[ParsedRecord]) -> Iterator[tuple[str, str]]:
    """The pensions (基礎年金番号, 年金コード) of a stored Z12's records, streamed, its frame
    checked; its header into ``header`` (ValueError, once read, unless a Z12's one block)."""
    for p in read_back(payloads, transfer, nenkin_frame.parse):
        if p.kind == "header":
            header.append(p)
        elif p.kind == "data":
            yield p.values["kiso_nenkin_no"], p.values["nenkin_code"]
    if len(header) != 1:
        raise ValueError(f"transfer {transfer.id}: a Z12 has one block, this one has {len(header)}")


def unrecorded(sessions: sessionmaker[Session]) -> list[Transfer]:
    """The Z12 transfers not held that no 依頼 names, oldest first."""
    named = select(TokuchoIrai.id).where(TokuchoIrai.transfer_id == Transfer.id).exists()
    with sessions() as s:
        return list(s.scalars(select(Transfer).where(Transfer.flow == FLOW, Transfer.direction == "out",
                                                     Transfer.state != HELD, ~named)
                              .order_by(Transfer.created_at, Transfer.id)))


def record_sent(sessions: sessionmaker[Session], payloads: PayloadStore) -> int:
    """Mark ``sent`` the 依頼 in every Z12 not recorded yet; returns the 依頼 rows marked."""
    marked = 0
    for transfer in unrecorded(sessions):
        m = _BATCH.fullmatch(transfer.batch or "")
        if m is None:
            raise ValueError(f"transfer {transfer.id}: batch key {transfer.batch!r} is not a Z12's")
        with sessions.begin() as s:
            connection = s.connection()
            header: list[ParsedRecord] = []
            # The file's pensions for the store to match its 依頼 against (a set of a run's 300,000
            # pensions and the 900,000 依頼 read to pick from held hundreds of MB).
            with scratch(connection, "z12_sent_pensions", Column("kiso_nenkin_no", String(10), primary_key=True),
                         Column("nenkin_code", String(4), primary_key=True)) as in_file:
                fill(connection, in_file, pensions(payloads, transfer, header))
                held = (select(in_file.c.kiso_nenkin_no)
                        .where(in_file.c.kiso_nenkin_no == TokuchoIrai.kiso_nenkin_no,
                               in_file.c.nenkin_code == TokuchoIrai.nenkin_code).exists())
                # A 依頼 a newer file sent stays that file's.
                older = select(Transfer.id).where(Transfer.flow == FLOW, Transfer.created_at < transfer.created_at)
                result = cast(CursorResult[Any], s.execute(
                    update(TokuchoIrai)
                    .where(TokuchoIrai.nendo == int(m[2]), TokuchoIrai.ki.in_(irai.HONCHO_KI),
                           TokuchoIrai.gimusha_code == header[0]["gimusha_code"],
                           TokuchoIrai.status.in_((IRAI_PENDING, IRAI_SENT)), held,
                           or_(TokuchoIrai.transfer_id.is_(None), TokuchoIrai.transfer_id.in_(older)))
                    .values(status=IRAI_SENT, transfer_id=transfer.id, updated_at=datetime.now(UTC))
                    .execution_options(synchronize_session=False)))
                marked += result.rowcount
    return marked


def _file(hub: FlowContext, file: Z12File) -> dict[str, Any]:
    """A file of the run: its transfer, and for a held one the persons withheld (宛名番号)."""
    with hub.sessions() as s:
        transfer = s.scalars(select(Transfer).where(Transfer.flow == FLOW, Transfer.batch == file.batch())).first()
    out: dict[str, Any] = {"gimusha_code": file.gimusha_code, "batch": file.batch(), "records": file.count,
                           "transfer": transfer.id if transfer else None, "state": transfer.state if transfer else None}
    if transfer is not None and transfer.state == HELD:
        keys = set(pensions(hub.payloads, transfer, []))
        with hub.read_sessions() as s:  # the held file's 依頼 are still as the run found them
            out["withheld"] = [atena_no for atena_no, r in z12.rows(s, file)
                               if (r["kiso_nenkin_no"], r["nenkin_code"]) not in keys]
        out["problem"] = transfer.last_error
    return out


def after(hub: FlowContext, run: Z12Run) -> dict[str, Any]:
    """Record what was sent; the run's summary: decided, listed, left out, files (no 基礎年金番号)."""
    marked = record_sent(hub.sessions, hub.payloads)
    return {"edition": run.edition, "decided": run.decided.created, "already_decided": run.decided.existing,
            "withdrawn": run.decided.withdrawn,
            "listed": [{"atena_no": a, "reason": why} for a, why in run.decided.listed],
            "left_out": [{"atena_no": a, "reason": why} for a, why in run.left_out],
            "files": [_file(hub, f) for f in run.files], "irai_sent": marked}
