"""Judging an inbound 年金特徴 file whole: the frame's findings and this ward's rules.

Besides what mappings/nenkin_frame.py checks (length, blocks, 制度コード 0, fields, totals), a
file must be addressed to the ward (管理市町村コード and every block's 市町村コード =
``[ward] shichoson_code``), be the kind its flow says (every 通知内容コード one the code table
gives to that file: mappings/codes/nenkin.toml ``files``), and be of a month it can come in: a
天引結果 (22) only in an odd month [CODE: the vendor's upload refuses it in even months], the
yearly 対象者 (00) only in April–June [INF: it is the list of 4月1日, sent in May].
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache

from adapters.judgement import Verdict
from mappings import nenkin_frame
from mappings.converters.codes import table_entry
from mappings.records import ParsedRecord, RecordError
from mappings.streams import Source
from settings import Config

TENBIKI = "22"  # 特別徴収結果通知
YEARLY = "00"  # 特別徴収対象者情報 (捕捉月 04)
YEARLY_MONTHS = (4, 5, 6)


@dataclass(frozen=True)
class NenkinContext:
    shichoson_code: str
    kind: str  # the file kind its flow carries: Z11, Z13, Z14
    ki_of_month: dict[int, int]  # collection month → 期 (config/nenkin.toml)


def nenkin_context(config: Config, flow: str) -> NenkinContext:
    kinds = [f.kind for f in config.nenkin.files.values() if f.flow == flow]
    if len(kinds) != 1:
        raise ValueError(f"flow {flow} carries no 年金特徴 file kind in nenkin.toml")
    months = {m.month: m.ki for m in config.nenkin.months if m.ki is not None}
    return NenkinContext(config.shichoson_code, kinds[0], months)


@cache
def codes_of(kind: str) -> frozenset[str]:
    """The 通知内容コード a file kind carries, from the code table's ``files`` (data, not code)."""
    files: dict[str, str] = table_entry("nenkin_tsuchi_naiyo", "files")
    return frozenset(code for code, k in files.items() if k == kind)


def collected_ki(ctx: NenkinContext, made: dt.date) -> int | None:
    """The 期 a 天引結果 made in ``made``'s month reports: the one collected the month before."""
    return ctx.ki_of_month.get(12 if made.month == 1 else made.month - 1)


def nendo_of(day: dt.date) -> int:
    return day.year if day.month >= 4 else day.year - 1


def records(source: Source, file: str, ctx: NenkinContext, verdict: Verdict) -> Iterator[ParsedRecord]:
    """The file's data records that are good, every problem (the frame's and the ward's) into
    ``verdict``; the header of a record's block is the record's ``block`` (its 通知内容コード …)."""
    allowed = codes_of(ctx.kind)
    for item in nenkin_frame.parse(source, file=file):
        if isinstance(item, RecordError):
            verdict.add_error(item)
            if item.kind == "data":
                verdict.records += 1
            continue
        v = item.values
        if item.kind == "kanri":
            _addressed(verdict, item, ctx, "管理市町村コード")
        elif item.kind == "header":
            _addressed(verdict, item, ctx, "市町村コード")
            code, made = v["tsuchi_naiyo_code"], v["sakusei_ymd"]
            if code not in allowed:
                verdict.on(item, "tsuchi_naiyo_code", "file_kind",
                            f"通知内容コード {code} is not of a {ctx.kind} file ({', '.join(sorted(allowed))})", code)
            elif code == TENBIKI and (made.month % 2 == 0 or collected_ki(ctx, made) is None):
                verdict.on(item, "sakusei_ymd", "month",
                            f"a 天引結果 (22) comes in the odd month after a collection, not month {made.month}",
                            made.isoformat())
            elif code == YEARLY and made.month not in YEARLY_MONTHS:
                verdict.on(item, "sakusei_ymd", "month",
                            f"the yearly 対象者 (00) comes in April–June, not month {made.month}", made.isoformat())
        elif item.kind == "data":
            verdict.records += 1
            verdict.kinds[ctx.kind] += 1
            yield item


def _addressed(verdict: Verdict, rec: ParsedRecord, ctx: NenkinContext, label: str) -> None:
    got = rec.values["shichoson_code"]
    if got != ctx.shichoson_code:
        verdict.on(rec, "shichoson_code", "addressee",
                    f"{label} {got} is not this ward's ({ctx.shichoson_code})", got)
