"""Reading a 給付実績 file whole: every problem found, or every 給付実績 as a store group.

One pass over the file (kokuho_frame.parse, or kokuho_xml.parse for the XML form of the same
file → kokuho_kyufu.claims) yields the claims and the
problems, in file order. The loader makes the pass twice: first to judge the whole file without
writing anything (``check``), then, if nothing was found, to apply (``groups``). Memory stays
flat: claims are not kept between the passes, only a digest of each natural key.

What is checked beyond the layout (type, width, zero-fill, half-width, dates, code tables and the
frame, all in the layouts): that the file is a 給付実績 file addressed to this ward (データ種別 111,
保険者番号 with a good check digit and equal to ours, and the same for every 証記載保険者番号),
that every 被保険者番号 is someone the ward insures, and that every value the store keeps is
there and in its range (the 決定後 totals, サービス種類/項目 codes, 要介護状態区分 in its code
table) — a 給付実績 the store could only keep by guessing is refused, not repaired.
"""

from __future__ import annotations

import hashlib
from collections.abc import Container, Iterator
from typing import Any

from adapters.judgement import Verdict
from adapters.kokuho.verdict import (
    Alnum,
    InTable,
    Longest,
    Present,
    Rule,
    control,
    hokensha,
    records,
)
from mappings import kokuho_kyufu
from mappings.charsets import mask
from mappings.records import ParsedRecord, RecordError
from mappings.streams import Source
from store.models.kyufu import NATURAL_KEY

DATA_TYPE = "111"
STORED = frozenset({"H1", "D1", "T1"})  # the kinds the store keeps; D5–D8 stay in the payload

# What the store needs of each kind it keeps, beyond the layout (the rules of a claim's rows apply
# to rows of an H1's claim). kyufu_quick judges the same rules as patterns.
RULES: dict[str, tuple[Rule, ...]] = {
    "H1": (Present(("sakusei_kubun", "jisseki_kubun", "jigyosho_no", "seiri_no", "shinsa_ym")),
           Present(("ato_hoken_tanisu", "ato_hoken_seikyu", "ato_hoken_futan"), amount=True),
           Alnum("seiri_no", 1, 10), InTable("yokaigo_jotai_kubun", "yokaigo_jotai_kubun_09")),
    "D1": (Present(("service_shurui", "service_komoku")),
           Present(("ato_tanisu", "ato_nissu", "ato_service_tanisu"), amount=True),
           Alnum("service_shurui", 2, 2), Alnum("service_komoku", 4, 4), Longest("tekiyo", 40)),
    "T1": (Present(("service_shurui",)),
           Present(("jitsu_nissu", "ato_tanisu_gokei", "ato_hoken_seikyu", "hoken_futan"), amount=True),
           Alnum("service_shurui", 2, 2)),
}


def _check_claim(v: Verdict, claim: kokuho_kyufu.Claim, ward: str, known: Container[str],
                 keys: set[bytes]) -> None:
    head = claim.head
    for rec in claim.records:
        hokensha(v, rec, "sho_hokensha_no", "証記載保険者番号", ward)
    if head.kind != "H1":  # a D8/DE standing alone (高額): not stored, only checked
        return
    hiho = head.values["hihokensha_no"]
    if hiho not in known:  # one problem of the claim, on its H1, naming the lines of all its records
        v.on(head, "hihokensha_no", "unknown_hihokensha", "被保険者番号 is not insured by this ward "
             "(its 給付実績: the H1 and its rows)", mask(hiho), lines=[r.record_no for r in claim.records])
    for rule in RULES["H1"]:
        rule.check(v, head)
    key = hashlib.blake2b(repr(tuple(_group_key(head))).encode(), digest_size=16).digest()
    if key in keys:
        v.on(head, None, "duplicate_kyufu", "the same 給付実績 (key: 識別番号, 提供年月, 事業所, "
              "被保険者, 整理番号, 作成区分, 審査年月) is earlier in this file")
    keys.add(key)
    shurui: set[str] = set()
    for rec in claim.rows:
        for rule in RULES.get(rec.kind, ()):
            rule.check(v, rec)
        if rec.kind == "T1":
            s = rec.values.get("service_shurui")
            if s in shurui:
                v.on(rec, "service_shurui", "duplicate_shukei", f"a second T1 for サービス種類 {s} "
                      f"in the 給付実績 of record {head.record_no}", s)
            shurui.add(str(s))


def _group_key(head: ParsedRecord) -> tuple[Any, ...]:
    g = _header(head)
    return tuple(g[k] for k in NATURAL_KEY)


def _read(source: Source, file: str, ward: str, known: Container[str],
          verdict: Verdict) -> Iterator[kokuho_kyufu.Claim]:
    keys: set[bytes] = set()
    for item in kokuho_kyufu.claims(records(source, file, verdict), file=file):
        if isinstance(item, RecordError):
            verdict.add_error(item)
        elif isinstance(item, ParsedRecord):  # the control record
            control(verdict, item, DATA_TYPE, "給付実績", ward)
        else:
            verdict.groups += 1
            _check_claim(verdict, item, ward, known, keys)
            yield item


def check(source: Source, file: str, ward: str, known: Container[str]) -> Verdict:
    """The whole file judged; nothing is kept but the verdict."""
    verdict = Verdict(file)
    for _ in _read(source, file, ward, known, verdict):
        pass
    return verdict


def groups(source: Source, file: str, ward: str, known: Container[str], verdict: Verdict) -> Iterator[dict[str, Any]]:
    """The 給付実績 of a file ``check`` passed, as ``apply_kyufu`` groups; ``verdict`` counts again."""
    for claim in _read(source, file, ward, known, verdict):
        if claim.head.kind == "H1":
            yield _group(claim)


def _header(head: ParsedRecord) -> dict[str, Any]:
    h = head.values
    return {
        "kokan_shikibetsu_no": h["exchange_id"], "service_ym": _ym(h["service_ym"]),
        "jigyosho_no": h["jigyosho_no"], "hihokensha_no": h["hihokensha_no"], "seiri_no": h["seiri_no"],
        "sakusei_kubun": h["sakusei_kubun"], "shinsa_ym": _ym(h["shinsa_ym"]),
        "shokisai_hokensha_no": h["sho_hokensha_no"],
        "jisseki_kubun": h["jisseki_kubun"], "yokaigo_kubun": h["yokaigo_jotai_kubun"],
        # 決定後 (後_) values: what the 国保連 decided, which is what the ward's 給付 records keep.
        "tanisu": h["ato_hoken_tanisu"], "seikyu_gaku": h["ato_hoken_seikyu"], "riyosha_futan": h["ato_hoken_futan"],
    }


def _ym(value: Any) -> str | None:
    return None if value is None else str(value)  # YearMonth → "YYYYMM"


def _group(claim: kokuho_kyufu.Claim) -> dict[str, Any]:
    group = _header(claim.head)
    group["meisai"] = [
        {"record_kind": r.kind, "service_shurui": r["service_shurui"], "service_komoku": r["service_komoku"],
         "tanisu": r["ato_tanisu"], "kaisu": r["ato_nissu"], "service_tanisu": r["ato_service_tanisu"],
         "tekiyo": r["tekiyo"]}
        for r in claim.rows if r.kind == "D1"]
    group["shukei"] = [
        {"service_shurui": r["service_shurui"], "jitsunissu": r["jitsu_nissu"], "tanisu_total": r["ato_tanisu_gokei"],
         # T1 has no 後_ 利用者負担額: the 保険 block's is the only one there is.
         "seikyu_gaku": r["ato_hoken_seikyu"], "riyosha_futan": r["hoken_futan"]}
        for r in claim.rows if r.kind == "T1"]
    return group
