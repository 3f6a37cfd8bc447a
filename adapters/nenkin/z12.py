"""The July Z12 (特別徴収依頼, 通知内容コード 01): the 本徴収 依頼 of a 年度, one file per
特別徴収義務者コード, and the record of what the files held.

A run (`kaigo-bridge run nenkin.z12 --nendo 2026`, queues/flow_source.py ``Plan``):
- decides the 本徴収 依頼 in its own transaction (adapters/nenkin/irai.py ``decide_honcho``:
  idempotent; whom it cannot ask is listed with the reason in the run's summary);
- makes one file per 義務者 with pending 依頼 of 期4–6, batch key ``nenkin.z12/<義務者>/<年度>``
  (``#n`` for an edition). The 義務者 comes first because it names the file: flows.toml's
  ``file_name`` can use the batch key's first segment (``{period}``) but nothing after it;
- one record per person, sorted by 基礎年金番号: 金額1 = 期4, 金額2 = 期5 (= 期6, which irai.py
  made sure of), 金額3 = 0, 各種区分 "01" ("02" for a person 住所地特例 on the run's day: the
  vendor sets it from its 住特 flag, LAYOUTS-EVIDENCE §4), 処理結果 "00", 作成年月日 = the run's
  date in Japan, 媒体通番 = the edition, 媒体コード "6" (回線, LAYOUTS-EVIDENCE.md §4 [CODE]).
A 年度 already run is refused (AlreadyRun) unless ``--edition n``, which sends the 年度's 依頼
that are pending or sent (not yet answered by a Z13) again, as 媒体通番 n. A run that died between
files resumes with the files it had not made.

After the transfers exist, ``z12_sent.record_sent`` parses each stored file back and marks the 依頼 it
holds ``sent`` with its transfer (as adapters/kokuho/ido_run.py does): "sent" is what the file
holds, handed to delivery under custody. A file held for a character (a カナ氏名 the half-width
set cannot carry) is not delivered: its 依頼 stay pending, and the withheld persons are reported.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from operator import attrgetter
from typing import Any, Protocol

from sqlalchemy import Select, Subquery, case, func, select
from sqlalchemy.orm import Session

from adapters.nenkin import irai
from adapters.nenkin.z1a_jutoku import in_force
from mappings import jis_raw, nenkin_render
from mappings.charpolicy import CharPolicy
from mappings.halfwidth_kana import to_halfwidth_kana
from mappings.layout import Layout
from queues.flow_source import Encode, FlowContext
from queues.outbound import AlreadyRun
from store.models import Atena, TokuchoIrai, Transfer
from store.models.tokucho import IRAI_PENDING, IRAI_SENT, JushochiTokurei

FLOW = "nenkin.z12"
BAITAI_CODE = "6"  # 回線
KAKUSHU_TAISHO = "01"  # 各種区分 特別徴収対象者
KAKUSHU_JUTOKU = "02"  # 特別徴収対象者（住所地特例該当）, 住所地特例 on the run's day (nenkin.toml 01-02)
SHORI_KEKKA = "00"
KANA_BYTES, KANJI_BYTES = 25, 50  # the layout's カナ氏名 and 漢字氏名 spans
JST = timezone(timedelta(hours=9))
CHUNK = 500


class NothingToRequest(AlreadyRun):
    """No 依頼 to send for the 年度: refused like a finished batch, rather than an empty file."""


@dataclass
class Z12File:
    """One file of a run: the 依頼 of one 特別徴収義務者, read from the store when it is rendered
    (``records``); what the run's first pass (``build``) found: how many records, who is left out."""

    nendo: int
    gimusha_code: str
    edition: int
    sakusei: date
    statuses: tuple[str, ...]
    count: int = 0
    left_out: set[tuple[str, str, str]] = field(default_factory=set)  # (基礎年金番号, 年金コード, 宛名番号) not carried

    def batch(self, flow: str = FLOW) -> str:
        return f"{flow}/{self.gimusha_code}/{self.nendo}" + (f"#{self.edition}" if self.edition > 1 else "")

    def control(self, shichoson_code: str) -> dict[str, Any]:
        return {"shichoson_code": shichoson_code, "baitai_tsuban": self.edition, "sakusei_ymd": self.sakusei,
                "gimusha_code": self.gimusha_code, "tsuchi_naiyo_code": irai.IRAI_CODE,
                "baitai_code": BAITAI_CODE}


class ChangedDuringRun(RuntimeError):
    """The 依頼 of a file changed between the run's count and its rendering (e.g. a Z13 applied
    meanwhile): the file is not made; run again."""


@dataclass
class Z12Run:
    """What a run decided and made, for its summary."""

    nendo: int
    edition: int
    decided: irai.Decided
    files: list[Z12File] = field(default_factory=list)
    left_out: list[tuple[str, str]] = field(default_factory=list)  # (宛名番号, why) not in any file


_BATCH = re.compile(rf"{re.escape(FLOW)}/(\d{{3}})/(\d{{4}})(?:#(\d+))?")


def _made(session: Session, nendo: int) -> dict[tuple[str, int], bool]:
    """(義務者, edition) → finished, for the batches of the 年度 made so far."""
    query = (select(Transfer.batch, Transfer.part_count, func.count())
             .where(Transfer.flow == FLOW, Transfer.batch.like(f"{FLOW}/%/{nendo}%"))
             .group_by(Transfer.batch, Transfer.part_count))
    made: dict[tuple[str, int], bool] = {}
    for batch, part_count, parts in session.execute(query):
        m = _BATCH.fullmatch(batch or "")
        if m is None:
            raise ValueError(f"flow {FLOW}: batch key {batch!r} is not <義務者コード>/<年度>[#edition]")
        if int(m[2]) != nendo:
            continue  # LIKE '…/2026%' also finds a 年度 such as 20261: not this one
        key = (m[1], int(m[3] or 1))
        made[key] = made.get(key, False) or parts >= (part_count or 1)
    return made


def plan(hub: FlowContext, flow: str, nendo: int, edition: int) -> tuple[Z12Run, list[tuple[str, Z12File]]]:
    """Decide the 依頼 and the files of the run (queues/flow_source.py Plan)."""
    if flow != FLOW:
        raise ValueError(f"adapters.nenkin.z12 makes {FLOW}, not {flow}")
    if not 2000 <= nendo <= 2999:
        raise ValueError(f"{FLOW}: 年度 must be a western year like 2026, got {nendo}")
    with hub.sessions() as s:
        made = _made(s, nendo)
    if edition > 1 and not any(ed == 1 for _g, ed in made):
        raise NothingToRequest(f"{FLOW}: no run for 年度 {nendo} to issue again as edition {edition}")
    mine = {g: done for (g, ed), done in made.items() if ed == edition}
    if mine and all(mine.values()):
        raise AlreadyRun(f"{FLOW}: 年度 {nendo} was already run (batches "
                         f"{', '.join(sorted(f'{g}/{nendo}' for g in mine))}, edition {edition}); "
                         f"issue a new edition (--edition {edition + 1}) to send it again")
    with hub.sessions.begin() as s:
        decided = irai.decide_honcho(s, nendo)
    run = Z12Run(nendo, edition, decided)
    statuses = (IRAI_PENDING,) if edition == 1 else (IRAI_PENDING, IRAI_SENT)
    sakusei = datetime.now(JST).date()
    with hub.read_sessions() as s:
        files = build(s, nendo, edition, statuses, sakusei, run.left_out)
    # An interrupted run resumes: the files it finished are not made again.
    run.files = [f for f in files if not mine.get(f.gimusha_code, False)]
    if not run.files:
        raise NothingToRequest(f"{FLOW}: nothing to request for 年度 {nendo}: no {' or '.join(statuses)} 依頼 "
                               f"of 期4–6 ({len(decided.listed)} 賦課 listed without one)")
    return run, [(f.batch(flow), f) for f in run.files]


def build(session: Session, nendo: int, edition: int, statuses: tuple[str, ...], sakusei: date,
          left_out: list[tuple[str, str]]) -> list[Z12File]:
    """The files of the 依頼 of 期4–6 in ``statuses``, one per 義務者, with how many records each
    holds; whom a file cannot carry is listed in ``left_out`` (宛名番号, why). Only the persons in
    doubt are read (``_asked(doubtful=True)``): the rest the store counts."""
    # A record is a group of ``_grouped``. A group with a 依頼 of the first 期 holds one (one 依頼
    # per 年度, 期 and 宛名: tokucho_irai's unique key), so the groups are those 依頼 — counted
    # without grouping 900,000 rows — and the groups without one, which lack a 期: in doubt, read.
    first = TokuchoIrai.ki == irai.HONCHO_KI[0]
    totals: dict[str, int] = {g: n for g, n in session.execute(
        select(TokuchoIrai.gimusha_code, func.count())
        .where(TokuchoIrai.nendo == nendo, first, TokuchoIrai.status.in_(statuses))
        .group_by(TokuchoIrai.gimusha_code))}
    left: dict[str, set[tuple[str, str, str]]] = {}
    for row in session.connection().execute(_asked(nendo, statuses, sakusei, doubtful=True)):
        if getattr(row, f"k{irai.HONCHO_KI[0]}") is None:
            totals[row.gimusha_code] = totals.get(row.gimusha_code, 0) + 1
        made = _record(row, statuses)
        if isinstance(made, str):
            left_out.append((row.atena_no, made))
            left.setdefault(row.gimusha_code, set()).add(_key(row))
    files = [Z12File(nendo, g, edition, sakusei, statuses, totals[g] - len(left.get(g, ())), left.get(g, set()))
             for g in sorted(totals)]
    return [f for f in files if f.count]


def rows(session: Session, file: Z12File) -> Iterator[tuple[str, dict[str, Any]]]:
    """(宛名番号, record) of the file, by 基礎年金番号, streamed from the store; ChangedDuringRun
    when they are not what ``build`` counted."""
    made = 0
    for row in session.connection().execute(_asked(file.nendo, file.statuses, file.sakusei, file.gimusha_code)
                                            .execution_options(yield_per=CHUNK)):
        record = _record(row, file.statuses)
        if isinstance(record, str) != (bool(file.left_out) and _key(row) in file.left_out):
            raise ChangedDuringRun(f"{file.batch()}: 宛名 {row.atena_no} "
                                   + (f"can no longer be carried ({record})" if isinstance(record, str)
                                      else "was left out when counted and can now be carried"))
        if isinstance(record, str):
            continue
        made += 1
        yield row.atena_no, record
    if made != file.count:
        raise ChangedDuringRun(f"{file.batch()}: {made} records where the run counted {file.count}")


def _key(row: Any) -> tuple[str, str, str]:
    return row.kiso_nenkin_no, row.nenkin_code, row.atena_no


def _grouped(nendo: int, statuses: tuple[str, ...], gimusha: str | None = None) -> Subquery:
    """Per (義務者, pension, 宛名): the 依頼 of 期4–6 in ``statuses``: how many, each 期's amount."""
    where = [TokuchoIrai.nendo == nendo, TokuchoIrai.ki.in_(irai.HONCHO_KI), TokuchoIrai.status.in_(statuses)]
    if gimusha is not None:
        where.append(TokuchoIrai.gimusha_code == gimusha)
    keys = (TokuchoIrai.gimusha_code, TokuchoIrai.kiso_nenkin_no, TokuchoIrai.nenkin_code, TokuchoIrai.atena_no)
    return (select(*keys, func.count().label("n"),
                   *(func.max(case((TokuchoIrai.ki == ki, TokuchoIrai.irai_amount))).label(f"k{ki}")
                     for ki in irai.HONCHO_KI))
            .where(*where).group_by(*keys).subquery())


def _asked(nendo: int, statuses: tuple[str, ...], day: date, gimusha: str | None = None,
           doubtful: bool = False) -> Select[Any]:
    """``_grouped`` with what the record says of the person (住所地特例 on ``day``: the run's),
    sorted as the files are. ``doubtful``:
    only rows a file may not carry — a 期 missing, or a カナ氏名 of more than 12 characters (each
    character takes at most 2 half-width bytes, so 12 always fit the 25)."""
    asked = _grouped(nendo, statuses, gimusha)
    jutoku = select(JushochiTokurei.id).where(JushochiTokurei.atena_no == asked.c.atena_no, *in_force(day)).exists()
    query = (select(asked, Atena.name_kana, Atena.name_kanji, Atena.birth_date, Atena.sex, Atena.postal_code,
                    jutoku.label("jutoku"))
             .join(Atena, Atena.atena_no == asked.c.atena_no)
             .order_by(asked.c.gimusha_code, asked.c.kiso_nenkin_no, asked.c.nenkin_code, asked.c.atena_no))
    if doubtful:
        query = query.where((asked.c.n < len(irai.HONCHO_KI)) | (func.length(Atena.name_kana) > KANA_BYTES // 2))
    return query


_AMOUNTS = attrgetter(*(f"k{ki}" for ki in irai.HONCHO_KI))


def _record(row: Any, statuses: tuple[str, ...]) -> dict[str, Any] | str:
    """The Z12 record of one row of ``_asked``, or why a file cannot carry it."""
    amounts = _AMOUNTS(row)
    if None in amounts:
        missing = [ki for ki, amount in zip(irai.HONCHO_KI, amounts, strict=True) if amount is None]
        return f"期 {', '.join(map(str, missing))} not {' or '.join(statuses)}: a Z12 asks for 期4–6 together"
    record = person(row)
    if isinstance(record, str):
        return record
    record.update(kiso_nenkin_no=row.kiso_nenkin_no, nenkin_code=row.nenkin_code,
                  kakushu_kubun=KAKUSHU_JUTOKU if row.jutoku else KAKUSHU_TAISHO, shori_kekka=SHORI_KEKKA,
                  koki_ikan_code=None, kakushu_ymd=None, kingaku1=amounts[0], kingaku2=amounts[1], kingaku3=0,
                  kyosai_shosho_no=None)
    return record


def person(atena: Any) -> dict[str, Any] | str:
    """What a Z12 or Z1A record says of the person (a 宛名 row), or why the file cannot carry it."""
    kana = to_halfwidth_kana(atena.name_kana).strip()
    # A character takes 2 bytes at most: a name this short fits, and encoding it tells nothing.
    if len(kana) * 2 > KANA_BYTES and len(kana.encode("cp932", "replace")) > KANA_BYTES:
        return f"カナ氏名 longer than the file's {KANA_BYTES} bytes in half-width kana"
    return {"birth_ymd": atena.birth_date, "seibetsu": atena.sex, "kana_shimei": kana,
            "kanji_shimei": kanji(atena.name_kanji), "yubin_no": atena.postal_code or None,
            "kana_jusho": None, "kanji_jusho": None}


def kanji(name: str) -> str | None:
    """The 漢字氏名 when JIS X 0208 carries all of it in the field's 50 bytes, else blank (the
    field may be blank; the カナ氏名 names the person)."""
    text = name.strip(" \u3000")
    try:
        raw, _ = jis_raw.encode(text)  # the codec's function: text.encode(NAME) looks it up each time
    except UnicodeEncodeError:
        return None
    return text if text and len(raw) <= KANJI_BYTES else None


class File(Protocol):
    """A file of a Z12 or Z1A run, as its encoder sees it: its 管理/header values."""

    def control(self, shichoson_code: str) -> dict[str, Any]: ...


def count(_session: Session, file: Z12File) -> int:
    return file.count


def records(session: Session, file: Z12File) -> Iterator[dict[str, Any]]:
    return (record for _atena_no, record in rows(session, file))


def encoder(hub: FlowContext, layout: Layout, file: File) -> Encode:
    """The whole frame of ``file``: 管理, ファイル管理, one block of the ward's 市町村コード."""
    city = hub.config.shichoson_code
    control = file.control(city)

    def encode(recs: Iterable[Mapping[str, Any]], policy: CharPolicy) -> Iterator[bytes]:
        return nenkin_render.render(control, ({**r, "shichoson_code": city} for r in recs), layout=layout,
                                   chars=policy)

    return encode
