"""One run of the 受給者異動連絡票 flow: the 異動 of one 処理対象年月, and the record of what was sent.

Which people a run looks at:
- everyone with a change journaled (資格, 認定, 負担割合, 支給限度額, 居宅サービス計画, 負担限度額,
  宛名) in the run's window of the change journal, ids ``start < id <= end``;
- everyone the partner has as a 受給者 whose 認定, as sent, ended before the month (their 終了);
- everyone with a 訂正 still pending from an earlier run.
What each gets is ``ido.decide`` against the records the partner has: ``kokuho_ido`` rows of
earlier months whose file was handed over (not ``held``).

The window is part of the batch key, ``kokuho.ido/<YYYYMM>/<start>-<end>`` (``#n`` for an
edition), so it is derived from the transfers themselves, as for the 被保険者証 flow:
- a month with a finished batch is refused (AlreadyRun); ``--edition n`` re-issues that month's
  window against the same baseline (a re-sent file, e.g. after the held one was fixed);
- a month before one already run is refused: the partner's history would go backwards;
- the window starts where the last *delivered* window of an earlier month ended (finished and
  not held): the people of a held file are looked at again by the next month's run;
- nothing to send: refused (NothingToIssue), the position stays.
ファイル管理番号 is the edition: 1 for the month's file, n for ``--edition n`` [INF: the vendor
writes 1 always]; the delivered file name can carry it (flows.toml ``file_name``).

A decided 訂正 is kept ``pending``; the kokuho.teisei flow (ido_teisei.py) sends the pending ones
in their own exchange (5321). A 訂正 in a file that was held is looked at again like a person
journaled: ``decide`` sees the partner's history without it and decides it again.

After the transfer exists, ``record_sent`` parses its stored payload back and writes one
``kokuho_ido`` row per data record, so "reported" is exactly what the file holds (a record held
back for a character is not in it). Transfers not yet recorded (a run that died between) are
recorded before the next run decides anything.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta, timezone
from typing import Any

from sqlalchemy import case, delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from adapters.kokuho import ido
from adapters.kokuho.ido_state import CHUNK, states
from adapters.readback import read_back
from mappings import kokuho_frame
from mappings.records import ParsedRecord
from queues.outbound import HELD, AlreadyRun
from queues.payloads import PayloadStore
from store.models import ChangeJournal, KokuhoIdo, KokuhoIdoFile, Shikaku, Transfer
from store.models.kokuho_ido import PENDING, REPORTED

EXCHANGE = "5311"
ENTITIES = ("shikaku", "nintei", "futan_wariai", "shikyu_gendogaku", "kyotaku_keikaku", "futan_gendogaku")
PERSON = "atena"  # keyed by 宛名番号: 氏名, 生年月日, 性別
BAITAI_KUBUN = "1"  # 媒体区分 of 伝送 [NF: code table not found; the frame tests use 1]
JST = timezone(timedelta(hours=9))


class NothingToIssue(AlreadyRun):
    """No 異動 to send for the month: refused like a finished batch, rather than an empty file."""


@dataclass(frozen=True, order=True)
class Window:
    start: int
    end: int


@dataclass(frozen=True)
class Pending:
    hihokensha_no: str
    ido: ido.Ido
    values: str  # kept columns (JSON) of the record the 訂正 is about


@dataclass
class MonthRun:
    """The scope of one run: what ``records`` yields and what ``record_sent`` keeps."""

    month: str  # 処理対象年月 YYYYMM
    window: Window
    file_no: int
    records: list[dict[str, Any]] = field(default_factory=list)
    teisei: list[Pending] = field(default_factory=list)
    examined: list[str] = field(default_factory=list)

    def batch(self, flow: str, edition: int = 1) -> str:
        return f"{flow}/{self.month}/{self.window.start}-{self.window.end}" + (f"#{edition}" if edition > 1 else "")

    def control(self, hokensha_no: str) -> dict[str, Any]:
        return {"hokensha_no": hokensha_no, "shori_ym": self.month, "baitai_kubun": BAITAI_KUBUN}


def month_text(month: int | str) -> str:
    value = str(month)
    if not re.fullmatch(r"\d{4}(0[1-9]|1[0-2])", value):
        raise ValueError(f"処理対象年月 must be YYYYMM, got {value!r}")
    return value


@dataclass
class _Seen:
    finished: bool = False
    delivered: bool = False


def _windows(session: Session, flow: str) -> dict[tuple[str, Window], _Seen]:
    pattern = re.compile(rf"{re.escape(flow)}/(\d{{6}})/(\d+)-(\d+)(?:#\d+)?")
    query = (select(Transfer.batch, Transfer.part_count, func.count(),
                    func.sum(case((Transfer.state == HELD, 1), else_=0)))
             .where(Transfer.flow == flow, Transfer.batch.like(f"{flow}/%"))
             .group_by(Transfer.batch, Transfer.part_count))
    seen: dict[tuple[str, Window], _Seen] = defaultdict(_Seen)
    for batch, part_count, parts, held in session.execute(query):
        m = pattern.fullmatch(batch or "")
        if m is None:
            raise ValueError(f"flow {flow}: batch key {batch!r} is not <YYYYMM>/<start>-<end>")
        entry = seen[(m[1], Window(int(m[2]), int(m[3])))]
        finished = parts >= (part_count or 1)
        entry.finished |= finished
        entry.delivered |= finished and not held
    return dict(seen)


def scope(session: Session, flow: str, month: int, edition: int) -> tuple[str, MonthRun]:
    """The batch key and the work of the run of ``flow`` for 処理対象年月 ``month`` (YYYYMM)."""
    ym = month_text(month)
    seen = _windows(session, flow)
    mine = sorted(w for (m, w) in seen if m == ym)
    if edition > 1:
        if not mine:
            raise NothingToIssue(f"{flow}: no run for 処理対象年月 {ym} to issue again as edition {edition}")
        window = mine[-1]
    else:
        done = [w for w in mine if seen[(ym, w)].finished]
        if done:
            raise AlreadyRun(f"{flow}: 処理対象年月 {ym} was already run (batch {flow}/{ym}/{done[0].start}-"
                             f"{done[0].end}); issue a new edition to send it again")
        later = sorted(m for (m, _w) in seen if m > ym)
        if later:
            raise AlreadyRun(f"{flow}: 処理対象年月 {later[-1]} was already run; {ym} cannot come after it")
        if mine:  # an interrupted run of this month: the same window
            window = mine[0]
        else:
            start = max((w.end for (m, w), s in seen.items() if m < ym and s.delivered), default=0)
            end = session.scalar(select(func.max(ChangeJournal.id))
                                 .where(ChangeJournal.entity.in_((*ENTITIES, PERSON))))
            window = Window(start, max(start, int(end or 0)))
    run = build(session, ym, window, edition)
    if not run.records:
        waiting = f"; {len(run.teisei)} 訂正 wait for `run kokuho.teisei --month {ym}`" if run.teisei else ""
        raise NothingToIssue(f"{flow}: nothing to send for 処理対象年月 {ym}: no 異動 in journal window "
                             f"({window.start}, {window.end}]{waiting}")
    return run.batch(flow, edition), run


def _reported(session: Session, month: str) -> Any:
    """kokuho_ido rows the partner has: reported in a file of an earlier month not held."""
    return (select(KokuhoIdo).join(Transfer, Transfer.id == KokuhoIdo.transfer_id)
            .where(KokuhoIdo.state == REPORTED, KokuhoIdo.shori_ym < month, Transfer.state != HELD))


def _candidates(session: Session, month: str, window: Window, asof: date) -> tuple[set[str], dict[str, date]]:
    in_window = (ChangeJournal.id > window.start, ChangeJournal.id <= window.end)
    keys = set(session.scalars(select(ChangeJournal.entity_key)
                               .where(ChangeJournal.entity.in_(ENTITIES), *in_window)))
    person: dict[str, date] = {}
    query = (select(Shikaku.hihokensha_no, func.max(ChangeJournal.occurred_at))
             .join(ChangeJournal, ChangeJournal.entity_key == Shikaku.atena_no)
             .where(ChangeJournal.entity == PERSON, *in_window).group_by(Shikaku.hihokensha_no))
    for key, at in session.execute(query):
        person[key] = at.astimezone(JST).date()  # the day the change was made, in Japan
    latest = _reported(session, month).with_only_columns(func.max(KokuhoIdo.id)).group_by(KokuhoIdo.hihokensha_no)
    keys.update(session.scalars(select(KokuhoIdo.hihokensha_no).where(
        KokuhoIdo.id.in_(latest), KokuhoIdo.ido_kubun != ido.SHURYO, KokuhoIdo.nintei_end_ymd < asof)))
    keys.update(session.scalars(select(KokuhoIdo.hihokensha_no)
                                .where(KokuhoIdo.state == PENDING, KokuhoIdo.shori_ym < month)))
    keys.update(session.scalars(select(KokuhoIdo.hihokensha_no).join(Transfer, Transfer.id == KokuhoIdo.transfer_id)
                                .where(KokuhoIdo.teisei_kubun.is_not(None), Transfer.state == HELD)))
    return keys | set(person), person


def build(session: Session, month: str, window: Window, file_no: int) -> MonthRun:
    asof = date(int(month[:4]), int(month[4:]), 1)
    keys, person = _candidates(session, month, window, asof)
    run = MonthRun(month, window, file_no, examined=sorted(keys))
    for i in range(0, len(run.examined), CHUNK):
        chunk = run.examined[i:i + CHUNK]
        sent: dict[str, list[ido.Reported]] = defaultdict(list)
        for row in session.scalars(_reported(session, month).where(KokuhoIdo.hihokensha_no.in_(chunk))
                                   .order_by(KokuhoIdo.id)):
            sent[row.hihokensha_no].append(ido.Reported(row.ido_ymd, row.ido_kubun, json.loads(row.ido_values),
                                                        row.teisei_kubun))
        now = states(session, chunk, asof)
        for key in chunk:
            state = now.get(key)
            if state is None:  # no 資格 row (never a 被保険者 here): nothing the partner can hold
                continue
            for decided in ido.decide(state, sent[key], person.get(key)):
                if decided.teisei_kubun is None:
                    run.records.append(ido.record(state, decided))
                    continue
                # 修正 carries the corrected values; 削除 the record as it was sent
                values = (ido.record(state, decided) if decided.teisei_kubun == ido.SHUSEI else
                          next(r.values for r in reversed(sent[key]) if r.ido_ymd == decided.ido_ymd))
                run.teisei.append(Pending(key, decided, ido.kept_json(values)))
    return run


def count(_session: Session, run: MonthRun) -> int:
    return len(run.records)


def records(_session: Session, run: MonthRun) -> Iterator[dict[str, Any]]:
    return iter(run.records)


def unrecorded(sessions: sessionmaker[Session], flow: str) -> list[Transfer]:
    """The transfers of ``flow`` whose sent records are not in ``kokuho_ido`` yet, oldest first."""
    with sessions() as s:
        return list(s.scalars(select(Transfer).where(
            Transfer.flow == flow, Transfer.direction == "out",
            ~select(KokuhoIdoFile.transfer_id).where(KokuhoIdoFile.transfer_id == Transfer.id).exists())
            .order_by(Transfer.created_at)))


def record_sent(sessions: sessionmaker[Session], payloads: PayloadStore, flow: str) -> int:
    """Write the ``kokuho_ido`` rows of every transfer of ``flow`` not recorded yet, from its
    stored payload; returns the number of transfers recorded."""
    missing = unrecorded(sessions, flow)
    for transfer in missing:
        control, rows = parse_sent(payloads, transfer)
        with sessions.begin() as s:
            if s.get(KokuhoIdoFile, transfer.id) is not None:
                continue
            s.add(KokuhoIdoFile(transfer_id=transfer.id, shori_ym=control["shori_ym"],
                                file_no=int(control["file_kanri_no"]), records=len(rows)))
            s.add_all(KokuhoIdo(hihokensha_no=r["hihokensha_no"], shori_ym=control["shori_ym"],
                                transfer_id=transfer.id, record_no=r.record_no, ido_ymd=r["ido_ymd"],
                                ido_kubun=r["ido_kubun"], state=REPORTED, nintei_end_ymd=r["nintei_end_ymd"],
                                ido_values=ido.kept_json(r.values)) for r in rows)
    return len(missing)


def parse_sent(payloads: PayloadStore, transfer: Transfer) -> tuple[ParsedRecord, list[ParsedRecord]]:
    """The control record and the data records of a stored 国保連 file (a month's: small)."""
    parsed = list(read_back(payloads, transfer, kokuho_frame.parse))
    if not parsed:
        raise ValueError(f"transfer {transfer.id}: the stored file is empty")
    control, *rows = parsed
    return control, rows


def keep_pending(sessions: sessionmaker[Session], run: MonthRun) -> int:
    """Replace the pending 訂正 of the people this run examined with the ones it decided."""
    with sessions.begin() as s:
        for i in range(0, len(run.examined), CHUNK):
            s.execute(delete(KokuhoIdo).where(KokuhoIdo.state == PENDING,
                                              KokuhoIdo.hihokensha_no.in_(run.examined[i:i + CHUNK])))
        s.add_all(KokuhoIdo(hihokensha_no=p.hihokensha_no, shori_ym=run.month, ido_ymd=p.ido.ido_ymd,
                            ido_kubun=p.ido.ido_kubun, teisei_kubun=p.ido.teisei_kubun, state=PENDING,
                            ido_values=p.values) for p in run.teisei)
    return len(run.teisei)
