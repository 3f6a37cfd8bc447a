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

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session, sessionmaker

from adapters.core.models import TokuchoIrai, Transfer
from adapters.core.models.tokucho import IRAI_PENDING, IRAI_SENT
from adapters.nenkin import irai, z12
from adapters.nenkin.z12 import _BATCH, FLOW, Z12File, Z12Run
from adapters.readback import read_back
from mappings import nenkin_frame
from mappings.records import ParsedRecord
from queues.outbound import HELD
from queues.payloads import PayloadStore

if TYPE_CHECKING:
    from bridge.app import Bridge

CHUNK = 400


def parse_sent(payloads: PayloadStore, transfer: Transfer) -> tuple[ParsedRecord, set[tuple[str, str]]]:
    """The header of a stored Z12 and the pensions (基礎年金番号, 年金コード) of its records, its
    frame checked; read as a stream (a list of a run's parsed records held hundreds of MB)."""
    headers: list[ParsedRecord] = []
    keys: set[tuple[str, str]] = set()
    for p in read_back(payloads, transfer, nenkin_frame.parse):
        if p.kind == "header":
            headers.append(p)
        elif p.kind == "data":
            keys.add((p.values["kiso_nenkin_no"], p.values["nenkin_code"]))
    if len(headers) != 1:
        raise ValueError(f"transfer {transfer.id}: a Z12 has one block, this one has {len(headers)}")
    return headers[0], keys


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
        header, keys = parse_sent(payloads, transfer)
        with sessions.begin() as s:
            older = select(Transfer.id).where(Transfer.flow == FLOW, Transfer.created_at < transfer.created_at)
            older_ids = set(s.scalars(older))
            # The 依頼 of the file's 年度 and 義務者 read once and picked here: a row-value IN list
            # per chunk made SQLite scan the table once per chunk (quadratic in the file's size).
            where = [TokuchoIrai.nendo == int(m[2]), TokuchoIrai.ki.in_(irai.HONCHO_KI),
                     TokuchoIrai.gimusha_code == header["gimusha_code"],
                     TokuchoIrai.status.in_((IRAI_PENDING, IRAI_SENT))]
            ids: list[int] = []
            others: list[int] = []
            for id_, kiso, code, sent_in in s.execute(select(TokuchoIrai.id, TokuchoIrai.kiso_nenkin_no,
                                                             TokuchoIrai.nenkin_code, TokuchoIrai.transfer_id)
                                                      .where(*where)):
                mine = (kiso, code) in keys and (sent_in is None or sent_in in older_ids)
                (ids if mine else others).append(id_)
            values = {"status": IRAI_SENT, "transfer_id": transfer.id, "updated_at": datetime.now(UTC)}
            if len(others) <= CHUNK:
                # Nearly every 依頼 read is in the file (a run's own): one UPDATE of them all, less
                # the few that are not — the same rows, without a statement per chunk of ids.
                marked += _update(s, [*where, TokuchoIrai.id.not_in(others)], values)
            else:
                for i in range(0, len(ids), CHUNK):
                    marked += _update(s, [TokuchoIrai.id.in_(ids[i:i + CHUNK])], values)
    return marked


def _update(session: Session, where: list[Any], values: dict[str, Any]) -> int:
    result = cast(CursorResult[Any], session.execute(update(TokuchoIrai).where(*where).values(**values)
                                                     .execution_options(synchronize_session=False)))
    return result.rowcount


def _file(bridge: Bridge, file: Z12File) -> dict[str, Any]:
    """A file of the run: its transfer, and for a held one the persons withheld (宛名番号)."""
    with bridge.sessions() as s:
        transfer = s.scalars(select(Transfer).where(Transfer.flow == FLOW, Transfer.batch == file.batch())).first()
    out: dict[str, Any] = {"gimusha_code": file.gimusha_code, "batch": file.batch(), "records": file.count,
                           "transfer": transfer.id if transfer else None, "state": transfer.state if transfer else None}
    if transfer is not None and transfer.state == HELD:
        _header, keys = parse_sent(bridge.payloads, transfer)
        with bridge.read_sessions() as s:  # the held file's 依頼 are still as the run found them
            out["withheld"] = [atena_no for atena_no, r in z12.rows(s, file)
                               if (r["kiso_nenkin_no"], r["nenkin_code"]) not in keys]
        out["problem"] = transfer.last_error
    return out


def after(bridge: Bridge, run: Z12Run) -> dict[str, Any]:
    """Record what was sent; the run's summary: decided, listed, left out, files (no 基礎年金番号)."""
    marked = record_sent(bridge.sessions, bridge.payloads)
    return {"edition": run.edition, "decided": run.decided.created, "already_decided": run.decided.existing,
            "listed": [{"atena_no": a, "reason": why} for a, why in run.decided.listed],
            "left_out": [{"atena_no": a, "reason": why} for a, why in run.left_out],
            "files": [_file(bridge, f) for f in run.files], "irai_sent": marked}
