"""The monthly Z1A (特別徴収追加依頼・異動): `kaigo-bridge run nenkin.z1a --month YYYYMM`.

Every month but July (the Z12's; config/nenkin.toml expects Z1A "when changes" in the others), a
run (queues/flow_source.py ``Plan``):
- decides the month's 追加依頼 in its own transaction (z1a_who.decide_tsuika: idempotent; whom it
  cannot ask is listed with the reason);
- decides the month's 仮徴収額変更 in the same transaction (z1a_kari.decide_kari, likewise);
- makes one file per 特別徴収義務者コード and 通知内容コード — a file has one block (the frame:
  one header per block, one block per 市町村), so 31 and 41 cannot share one — with the records
  sorted by 基礎年金番号, batch key z1a_sent.BatchKey (媒体通番 = the 義務者's n-th Z1A of the 年度,
  also the 管理レコード's 媒体通番, and the delivered name Z1A<義務者><媒体通番>.DTA):
  - 31 特別徴収追加依頼通知 (z1a_who.tsuika): 各種区分 01 (02 for a person 住所地特例 on the day
    of the first 期), 金額1 = the first 期's 依頼額, 金額2/3 0;
  - 41 資格喪失等の通知 (z1a_who.losses): 各種区分 by 喪失事由, 各種年月日 = 喪失日, 金額 0;
  - 61 仮徴収額変更通知 (z1a_kari): 各種区分 00, 金額1 = the first 期 changed's 期別額, 金額2/3 0,
    各種年月日 blank [INF];
  - 81 住所地特例該当者通知 (z1a_jutoku): 各種区分 01/02, 各種年月日 = 適用/解除年月日, 金額 0;
  処理結果 "00", 媒体コード "6" (回線), 作成年月日 = the run's date in Japan (LAYOUTS-EVIDENCE §4).
A month already run is refused (AlreadyRun) unless ``--edition n``, which sends the month again
(pending 31/61-依頼 and those the month's files sent; the 41/81 of the month's files and any new)
under new 媒体通番; a month before one already run is refused; a run that died between files
resumes. After the transfers exist, z1a_sent.record_sent marks from the stored files: 31/61-依頼
sent, the 依頼 a 41 stops stopped, the 41/81 kept as notices for their answers. A held file (a
カナ氏名 the file cannot carry) marks nothing.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from adapters.nenkin import z1a_jutoku, z1a_kari, z1a_sent, z1a_who
from adapters.nenkin.judge import nendo_of
from adapters.nenkin.z1a_sent import FLOW, JUTOKU, KARI, SOSHITSU, TSUIKA, BatchKey, tenbiki_day
from adapters.nenkin.z12 import BAITAI_CODE, JST, NothingToRequest, person
from queues.flow_source import FlowContext
from queues.outbound import HELD, AlreadyRun
from store.models import Atena, Transfer

NO_RUN_MONTH = 7  # the Z12's month: no Z1A expected (config/nenkin.toml)
TAISHO = "01"  # 各種区分 of a 31: 特別徴収対象者 (mappings/codes/nenkin.toml 31-01)
TAISHO_JUTOKU = "02"  # 31-02 特別徴収対象者（住所地特例該当）
KARI_KUBUN = "00"  # 各種区分 of a 61: 初期値 (61-00)
SHORI_KEKKA = "00"
CHUNK = 500


@dataclass
class Z1aFile:
    """One file of a run: the records of one 義務者 and 通知内容コード."""

    key: BatchKey
    sakusei: dt.date
    records: list[dict[str, Any]] = field(default_factory=list)
    atena: dict[str, str] = field(default_factory=dict)  # 基礎年金番号 → 宛名番号, for reports

    def control(self, shichoson_code: str) -> dict[str, Any]:
        return {"shichoson_code": shichoson_code, "baitai_tsuban": self.key.seq, "sakusei_ymd": self.sakusei,
                "gimusha_code": self.key.gimusha_code, "tsuchi_naiyo_code": self.key.naiyo,
                "baitai_code": BAITAI_CODE}


@dataclass
class Z1aRun:
    month: str
    edition: int
    decided: z1a_who.TsuikaDecided
    kari: z1a_kari.KariDecided
    files: list[Z1aFile] = field(default_factory=list)
    left_out: list[tuple[str, str]] = field(default_factory=list)  # (宛名番号, why)


def month_text(month: int) -> str:
    text = str(month)
    if not re.fullmatch(r"2\d{3}(0[1-9]|1[0-2])", text):
        raise ValueError(f"{FLOW}: 処理対象年月 must be YYYYMM like 202605, got {text!r}")
    if int(text[4:]) == NO_RUN_MONTH:
        raise ValueError(f"{FLOW}: no Z1A in July (the Z12 month, config/nenkin.toml); what changed goes in "
                         f"August's")
    return text


def _made(session: Session) -> dict[BatchKey, bool]:
    """Every Z1A batch made so far → finished."""
    out: dict[BatchKey, bool] = {}
    for batch, part_count, parts in session.execute(
            select(Transfer.batch, Transfer.part_count, func.count()).where(Transfer.flow == FLOW)
            .group_by(Transfer.batch, Transfer.part_count)):
        key = BatchKey.parse(batch)
        out[key] = out.get(key, False) or parts >= (part_count or 1)
    return out


def plan(hub: FlowContext, flow: str, month: int, edition: int) -> tuple[Z1aRun, list[tuple[str, Z1aFile]]]:
    """Decide the 追加依頼 and 仮徴収額変更, and the files of the month's run (queues/flow_source.py Plan)."""
    if flow != FLOW:
        raise ValueError(f"adapters.nenkin.z1a makes {FLOW}, not {flow}")
    ym = month_text(month)
    first = BatchKey("000", 1, ym, TSUIKA, edition)
    nendo, month_end = first.nendo, first.month_end
    with hub.sessions() as s:
        made = _made(s)
    mine = {(k.gimusha_code, k.naiyo): (k, done) for k, done in made.items() if k.month == ym and k.edition == edition}
    if edition > 1 and not any(k.month == ym and k.edition == 1 for k in made):
        raise NothingToRequest(f"{FLOW}: no run for 処理対象年月 {ym} to issue again as edition {edition}")
    if mine and all(done for _k, done in mine.values()):
        raise AlreadyRun(f"{FLOW}: 処理対象年月 {ym} was already run (edition {edition}); issue a new edition "
                         f"(--edition {edition + 1}) to send it again")
    later = sorted(k.month for k in made if k.month > ym)
    if edition == 1 and later:
        raise AlreadyRun(f"{FLOW}: 処理対象年月 {later[-1]} was already run; {ym} cannot come after it")
    with hub.sessions.begin() as s:
        decided = z1a_who.decide_tsuika(s, nendo, month_end)
        kari = z1a_kari.decide_kari(s, nendo, month_end)
    run = Z1aRun(ym, edition, decided, kari)
    resent = {n: [t for t, k in _transfers(hub, ym) if k.naiyo == n] if edition > 1 else [] for n in (TSUIKA, KARI)}
    with hub.sessions() as s:
        notified, resend = z1a_sent.notified(s, nendo, ym)
        told, retell = z1a_sent.told(s, JUTOKU, nendo, ym)
        records = Records(lost=z1a_who.losses(s, nendo, month_end, notified, resend),
                          asked=z1a_who.tsuika(s, nendo, month_end, resent[TSUIKA], run.left_out),
                          kari=z1a_who.tsuika(s, nendo, month_end, resent[KARI], run.left_out, naiyo=KARI),
                          jutoku=z1a_jutoku.jutoku(s, nendo, month_end, told, retell if edition > 1 else set()))
        files = build(s, ym, edition, records, run.left_out)
    seqs: dict[str, int] = {}
    for k in made:
        if k.nendo == nendo:
            seqs[k.gimusha_code] = max(seqs.get(k.gimusha_code, 0), k.seq)
    for f in files:  # an interrupted run's file keeps its 媒体通番; a new file takes the next
        again = mine.get((f.key.gimusha_code, f.key.naiyo))
        seq = again[0].seq if again else seqs.get(f.key.gimusha_code, 0) + 1
        if not again:
            seqs[f.key.gimusha_code] = seq
        if seq > 99:
            raise ValueError(f"{FLOW}: 義務者 {f.key.gimusha_code} has used the 99 媒体通番 of 年度 {nendo}")
        f.key = BatchKey(f.key.gimusha_code, seq, ym, f.key.naiyo, edition)
    run.files = [f for f in files if not mine.get((f.key.gimusha_code, f.key.naiyo), (None, False))[1]]
    if not run.files:
        raise NothingToRequest(f"{FLOW}: nothing to send for 処理対象年月 {ym}: no 資格喪失 or 住所地特例 of a "
                               f"特別徴収 person, no 追加依頼 and no 仮徴収額変更 ({len(decided.listed)} 追加候補者 "
                               f"and {len(kari.listed)} 仮徴収 listed without one)")
    return run, [(f.key.text(), f) for f in run.files]


def _transfers(hub: FlowContext, ym: str) -> list[tuple[str, BatchKey]]:
    with hub.sessions() as s:
        return [(t.id, k) for t, k in z1a_sent.delivered(s) if k.month == ym]


@dataclass
class Records:
    """What a run's files say, decided before they are made."""

    lost: list[z1a_who.Loss]
    asked: list[z1a_who.Tsuika]
    kari: list[z1a_who.Tsuika]
    jutoku: list[z1a_jutoku.Jutoku]


def build(session: Session, month: str, edition: int, records: Records,
          left_out: list[tuple[str, str]]) -> list[Z1aFile]:
    """The files of the run, one per 義務者 and 通知内容コード (31, 41, 61, 81), records by
    基礎年金番号; 媒体通番 1 until ``plan`` numbers them."""
    people: dict[str, Atena] = {}
    atena_nos = sorted({x.atena_no for x in records.lost} | {x.atena_no for x in records.asked}
                       | {x.atena_no for x in records.kari} | {x.atena_no for x in records.jutoku})
    for i in range(0, len(atena_nos), CHUNK):
        people.update((a.atena_no, a) for a in session.scalars(
            select(Atena).where(Atena.atena_no.in_(atena_nos[i:i + CHUNK]))))
    sakusei = dt.datetime.now(JST).date()
    files: dict[tuple[str, str], Z1aFile] = {}

    def add(naiyo: str, gimusha: str, atena_no: str, pension: tuple[str, str], values: dict[str, Any]) -> None:
        base = person(people[atena_no])
        if isinstance(base, str):
            left_out.append((atena_no, base))
            return
        file = files.setdefault((gimusha, naiyo), Z1aFile(BatchKey(gimusha, 1, month, naiyo, edition), sakusei))
        file.atena[pension[0]] = atena_no
        file.records.append({**base, "kiso_nenkin_no": pension[0], "nenkin_code": pension[1],
                             "shori_kekka": SHORI_KEKKA, "koki_ikan_code": None, "kingaku2": 0, "kingaku3": 0,
                             "kyosai_shosho_no": None, **values})

    for t in records.asked:
        jutoku = z1a_jutoku.active(session, [t.atena_no], tenbiki_day(*t.first))
        add(TSUIKA, t.gimusha_code, t.atena_no, t.pension,
            {"kakushu_kubun": TAISHO_JUTOKU if jutoku else TAISHO, "kakushu_ymd": None, "kingaku1": t.amount})
    for x in records.lost:
        add(SOSHITSU, x.gimusha_code, x.atena_no, x.pension,
            {"kakushu_kubun": x.kakushu_kubun, "kakushu_ymd": x.soshitsu_date, "kingaku1": 0})
    for t in records.kari:
        add(KARI, t.gimusha_code, t.atena_no, t.pension,
            {"kakushu_kubun": KARI_KUBUN, "kakushu_ymd": None, "kingaku1": t.amount})
    for j in records.jutoku:
        add(JUTOKU, j.gimusha_code, j.atena_no, j.pension,
            {"kakushu_kubun": j.kakushu_kubun, "kakushu_ymd": j.day, "kingaku1": 0})
    for f in files.values():
        f.records.sort(key=lambda r: (r["kiso_nenkin_no"], r["nenkin_code"], r["kakushu_kubun"]))
    return [files[k] for k in sorted(files)]


def count(_session: Session, file: Z1aFile) -> int:
    return len(file.records)


def records(_session: Session, file: Z1aFile) -> Iterator[dict[str, Any]]:
    """A month's files are small: their records are made whole before the run (``build``)."""
    return iter(file.records)


def _file(hub: FlowContext, file: Z1aFile) -> dict[str, Any]:
    with hub.sessions() as s:
        transfer = s.scalars(select(Transfer).where(Transfer.flow == FLOW, Transfer.batch == file.key.text())).first()
    out: dict[str, Any] = {"gimusha_code": file.key.gimusha_code, "tsuchi_naiyo_code": file.key.naiyo,
                           "baitai_tsuban": file.key.seq, "batch": file.key.text(), "records": len(file.records),
                           "transfer": transfer.id if transfer else None, "state": transfer.state if transfer else None}
    if transfer is not None and transfer.state == HELD:
        _header, rows = z1a_sent.parse_sent(hub.payloads, transfer)
        present = {r["kiso_nenkin_no"] for r in rows}
        out["withheld"] = [file.atena[r["kiso_nenkin_no"]] for r in file.records if r["kiso_nenkin_no"] not in present]
        out["problem"] = transfer.last_error
    return out


def after(hub: FlowContext, run: Z1aRun) -> dict[str, Any]:
    """Record what was sent and stopped; the run's summary (宛名番号, never 基礎年金番号)."""
    marked = z1a_sent.record_sent(hub.sessions, hub.payloads)
    return {"edition": run.edition, "nendo": nendo_of(dt.date(int(run.month[:4]), int(run.month[4:]), 1)),
            "decided": run.decided.created, "already_decided": run.decided.existing,
            "listed": [{"atena_no": a, "reason": why} for a, why in run.decided.listed],
            "kari_decided": run.kari.created, "kari_already_decided": run.kari.existing,
            "kari_listed": [{"atena_no": a, "reason": why} for a, why in run.kari.listed],
            "left_out": [{"atena_no": a, "reason": why} for a, why in run.left_out],
            "files": [_file(hub, f) for f in run.files], "irai_sent": marked["sent"],
            "irai_stopped": marked["stopped"], "notices_kept": marked["notices"]}
