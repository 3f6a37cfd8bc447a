"""One run of the 受給者訂正連絡票 flow (kokuho.teisei): the pending 訂正 sent in the 5321 exchange.

A flow of its own rather than a second transfer of the kokuho.ido run: the outbound path
(queues/outbound.send_outbound) makes the parts of one batch in one layout; a 5321 file is
another exchange (its own データ種別 in the control record), another layout and file name, with
editions of its own. So each month ``run kokuho.teisei --month YYYYMM`` follows
``run kokuho.ido --month YYYYMM`` and sends what the 5311 runs up to that month decided; its
batch key is ``kokuho.teisei/<YYYYMM>`` (``#n`` for an edition).

What a run sends: every 訂正 still pending from a kokuho.ido run of the month or earlier.
- a month already run is refused (AlreadyRun); ``--edition n`` re-sends the records of the
  month's latest file (ファイル管理番号 n); a month before one already run is refused;
- nothing pending: refused (NothingToIssue).
A record is the pending row's kept values (修正: the corrected ones; 削除: the record as sent),
its 異動年月日 and 異動事由 (of the record corrected), the person's 被保険者番号, カナ氏名, 生年月日
and 性別 as the store has them now (never kept), 訂正区分, and 訂正年月日 = the day the file is
made, in Japan [INF: the vendor takes it from its 訂正 entry screen].

After the transfer exists, ``record_sent`` parses the stored file back and marks each pending row
the file carries ``reported`` (transfer, レコード番号, the file's 処理対象年月, the values the file
holds): from then on the 訂正 is part of what the partner has (ido._spell). A record withheld for
a character is not in the file and stays pending. An edition's records are recorded again.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from adapters.kokuho import ido
from adapters.kokuho.ido_run import BAITAI_KUBUN, JST, NothingToIssue, month_text, parse_sent, unrecorded
from adapters.kokuho.ido_state import CHUNK, states
from mappings import kokuho_frame
from mappings.layout import Layout
from queues.outbound import AlreadyRun
from queues.payloads import PayloadStore
from store.models import KokuhoIdo, KokuhoIdoFile, Transfer
from store.models.kokuho_ido import PENDING, REPORTED

EXCHANGE = "5321"
FLOW = "kokuho.teisei"


@dataclass
class TeiseiRun:
    """The scope of one run: what ``records`` yields."""

    month: str  # 処理対象年月 YYYYMM
    file_no: int  # ファイル管理番号 = the edition
    teisei_ymd: date
    records: list[dict[str, Any]] = field(default_factory=list)

    def control(self, hokensha_no: str) -> dict[str, Any]:
        return {"hokensha_no": hokensha_no, "shori_ym": self.month, "baitai_kubun": BAITAI_KUBUN}


def layout() -> Layout:
    index = kokuho_frame.default_index()
    entry = index.entry(EXCHANGE)
    if entry is None:
        raise kokuho_frame.KokuhoFrameError(f"index/exchanges.toml has no entry for {EXCHANGE}")
    return index.layout(entry)


def _months(session: Session, flow: str) -> dict[str, list[Transfer]]:
    pattern = re.compile(rf"{re.escape(flow)}/(\d{{6}})(?:#\d+)?")
    months: dict[str, list[Transfer]] = {}
    for transfer in session.scalars(select(Transfer).where(Transfer.flow == flow).order_by(Transfer.created_at)):
        m = pattern.fullmatch(transfer.batch or "")
        if m is None:
            raise ValueError(f"flow {flow}: batch key {transfer.batch!r} is not <flow>/<YYYYMM>[#n]")
        months.setdefault(m[1], []).append(transfer)
    return months


def scope(session: Session, flow: str, month: int, edition: int) -> tuple[str, TeiseiRun]:
    """The batch key and the records of the run of ``flow`` for 処理対象年月 ``month``."""
    ym = month_text(month)
    months = _months(session, flow)
    run = TeiseiRun(ym, edition, datetime.now(JST).date())
    if edition > 1:
        if ym not in months:
            raise NothingToIssue(f"{flow}: no run for 処理対象年月 {ym} to issue again as edition {edition}")
        rows = list(session.scalars(select(KokuhoIdo).where(KokuhoIdo.transfer_id == months[ym][-1].id)
                                    .order_by(KokuhoIdo.record_no)))
    else:
        if ym in months:
            raise AlreadyRun(f"{flow}: 処理対象年月 {ym} was already run; issue a new edition to send it again")
        later = sorted(m for m in months if m > ym)
        if later:
            raise AlreadyRun(f"{flow}: 処理対象年月 {later[-1]} was already run; {ym} cannot come after it")
        rows = list(session.scalars(select(KokuhoIdo).where(KokuhoIdo.state == PENDING, KokuhoIdo.shori_ym <= ym)
                                    .order_by(KokuhoIdo.hihokensha_no, KokuhoIdo.ido_ymd, KokuhoIdo.id)))
    if not rows:
        raise NothingToIssue(f"{flow}: nothing to send for 処理対象年月 {ym}: no 訂正 pending "
                             f"(they are decided by `run kokuho.ido --month {ym}`)")
    run.records = _records(session, rows, run.teisei_ymd, date(int(ym[:4]), int(ym[4:]), 1))
    suffix = f"#{edition}" if edition > 1 else ""
    return f"{flow}/{ym}{suffix}", run


def _records(session: Session, rows: list[KokuhoIdo], teisei_ymd: date, asof: date) -> list[dict[str, Any]]:
    fields = layout().kinds[0].by_name
    out: list[dict[str, Any]] = []
    for i in range(0, len(rows), CHUNK):
        chunk = rows[i:i + CHUNK]
        people = states(session, [r.hihokensha_no for r in chunk], asof)
        for row in chunk:
            person = people.get(row.hihokensha_no)
            if person is None:
                raise ValueError(f"訂正 kokuho_ido id {row.id}: the person has no 資格 row any more")
            kept = {name: fields[name].parse(text) for name, text in json.loads(row.ido_values).items()
                    if name in fields}
            out.append({**kept, **{k: person.values.get(k) for k in ido.PERSONAL if k != "hihokensha_no"},
                        "hihokensha_no": row.hihokensha_no, "ido_ymd": row.ido_ymd, "teisei_ymd": teisei_ymd,
                        "teisei_kubun": row.teisei_kubun})
    return out


def count(_session: Session, run: TeiseiRun) -> int:
    return len(run.records)


def records(_session: Session, run: TeiseiRun) -> Iterator[dict[str, Any]]:
    return iter(run.records)


def record_sent(sessions: sessionmaker[Session], payloads: PayloadStore, flow: str = FLOW) -> int:
    """Mark the 訂正 every not yet recorded transfer of ``flow`` carries as reported, from its
    stored payload; returns the number of transfers recorded."""
    missing = unrecorded(sessions, flow)
    for transfer in missing:
        control, rows = parse_sent(payloads, transfer)
        month = control["shori_ym"]
        with sessions.begin() as s:
            if s.get(KokuhoIdoFile, transfer.id) is not None:
                continue
            s.add(KokuhoIdoFile(transfer_id=transfer.id, shori_ym=month, file_no=int(control["file_kanri_no"]),
                                records=len(rows)))
            for r in rows:
                source = s.scalars(select(KokuhoIdo).where(
                    KokuhoIdo.hihokensha_no == r["hihokensha_no"], KokuhoIdo.ido_ymd == r["ido_ymd"],
                    KokuhoIdo.teisei_kubun == r["teisei_kubun"], KokuhoIdo.shori_ym <= month)
                    .order_by((KokuhoIdo.state == PENDING).desc(), KokuhoIdo.id.desc())).first()
                if source is None:
                    raise ValueError(f"transfer {transfer.id}: 訂正 record {r.record_no} matches no decided 訂正")
                row = source if source.state == PENDING else KokuhoIdo(
                    hihokensha_no=source.hihokensha_no, ido_ymd=source.ido_ymd, ido_kubun=source.ido_kubun,
                    teisei_kubun=source.teisei_kubun)
                row.state, row.transfer_id, row.record_no, row.shori_ym = REPORTED, transfer.id, r.record_no, month
                row.ido_values = ido.kept_json(r.values)
                # a 削除 leaves no 認定 with the partner to run out
                row.nintei_end_ymd = r["nintei_end_ymd"] if r["teisei_kubun"] == ido.SHUSEI else None
                s.add(row)
    return len(missing)


def pending(sessions: sessionmaker[Session]) -> int:
    with sessions() as s:
        return int(s.scalar(select(func.count()).select_from(KokuhoIdo).where(KokuhoIdo.state == PENDING)) or 0)
