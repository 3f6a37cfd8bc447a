"""受給者台帳突合結果 (5331 [INF]) into the store: every record judged, then kept as the 国保連 holds it.

Beyond the layout: a 突合結果 file (データ種別 533 [INF: from the vendor's DbWT5331 table name]),
addressed to this ward, every 証記載保険者番号 ours, every 被保険者番号 one the ward insures, the
same record not twice in the file, 突合結果区分 / 突合情報区分 at most 20 characters (their
values are [NF]). Applied with INSERT … ON CONFLICT DO NOTHING on (処理対象年月, digest of the
record): the same result delivered again is one row.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Container, Iterator
from datetime import date
from typing import Any

from sqlalchemy import Table, func, select
from sqlalchemy.orm import Session

from adapters.judgement import Verdict
from adapters.kokuho.context import KokuhoContext, kokuho_context
from adapters.kokuho.verdict import Longest, control, hokensha, records
from mappings.charsets import mask
from mappings.records import ParsedRecord, RecordError
from mappings.streams import Source
from queues.errors import TransientError
from store.inserts import insert_new
from store.models import TotsugoKekka, utcnow

DATA_TYPE = "533"
BATCH = 2000
RULES = (Longest("totsugo_kekka_kubun", 20), Longest("totsugo_joho_kubun", 20))  # what the store's columns hold


def _digest(rec: ParsedRecord) -> str:
    values = {k: v for k, v in rec.values.items() if k != "record_no"}
    return hashlib.sha256(json.dumps(values, sort_keys=True, default=str, ensure_ascii=False).encode()).hexdigest()


def _read(source: Source, file: str, ward: str, known: Container[str],
          verdict: Verdict) -> Iterator[tuple[str, str, ParsedRecord]]:
    """(処理対象年月, digest, record) of every good data record, in file order; problems into ``verdict``."""
    seen: set[bytes] = set()
    shori_ym = ""
    for item in records(source, file, verdict):
        if isinstance(item, RecordError):
            verdict.add_error(item)
            continue
        if item.kind == "control":
            control(verdict, item, DATA_TYPE, "受給者台帳突合結果", ward)
            shori_ym = str(item.values["shori_ym"])
            continue
        hokensha(verdict, item, "sho_hokensha_no", "証記載保険者番号", ward)
        hiho = item.values["hihokensha_no"]
        if hiho not in known:
            verdict.on(item, "hihokensha_no", "unknown_hihokensha",
                        "被保険者番号 is not insured by this ward", mask(hiho))
        for rule in RULES:
            rule.check(verdict, item)
        digest = _digest(item)
        key = bytes.fromhex(digest)[:16]
        if key in seen:
            verdict.on(item, None, "duplicate_record", "the same 突合結果 record is earlier in this file")
        seen.add(key)
        verdict.groups += 1
        yield shori_ym, digest, item


class TotsugoLoader:
    context = staticmethod(kokuho_context)

    def check(self, read: Callable[[], Source], file: str, context: KokuhoContext) -> Verdict:
        verdict = Verdict(file)
        for _ in _read(read(), file, context.ward, context.known, verdict):
            pass
        return verdict

    def apply(self, session: Session, transfer_id: str, source: Source, file: str, context: KokuhoContext,
              first: Verdict) -> str:
        table = TotsugoKekka.__table__
        assert isinstance(table, Table)
        insert = insert_new(session, TotsugoKekka)
        second = Verdict(file)
        rows: list[dict[str, Any]] = []
        conn = session.connection()
        for shori_ym, digest, rec in _read(source, file, context.ward, context.known, second):
            v = rec.values
            ido: date = v["ido_ymd"]
            rows.append({"transfer_id": transfer_id, "shori_ym": shori_ym, "hihokensha_no": v["hihokensha_no"],
                         "kekka_kubun": v.get("totsugo_kekka_kubun"), "joho_kubun": v.get("totsugo_joho_kubun"),
                         "ido_ymd": ido, "ido_kubun": v["ido_kubun"], "digest": digest,
                         "record": json.dumps(v, default=str, ensure_ascii=False), "received_at": utcnow()})
            if len(rows) >= BATCH:
                conn.execute(insert, rows)
                rows = []
        if rows:
            conn.execute(insert, rows)
        # Rows of this file: a record already stored kept the transfer it first came in.
        inserted = conn.scalar(select(func.count()).select_from(table).where(table.c.transfer_id == transfer_id)) or 0
        if not second.ok or second.records != first.records:
            raise TransientError(f"{file}: the second reading found {second.errors} problem(s) the first did not")
        return (f"{file}: {first.records} 突合結果 records: {inserted} stored, "
                f"{first.groups - inserted} already stored")
