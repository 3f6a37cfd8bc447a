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
import itertools
from collections import Counter
from collections.abc import Callable, Container, Iterator
from dataclasses import dataclass, field
from typing import Any

from adapters.core.identifiers import InvalidIdentifier, validate_hokensha_no
from adapters.core.models.kyufu import NATURAL_KEY
from mappings import kokuho_frame, kokuho_kyufu, kokuho_xml
from mappings.charsets import mask
from mappings.converters import code_tables
from mappings.records import ParsedRecord, RecordError
from mappings.streams import Source, chunks

DATA_TYPE = "111"
REPORT_LIMIT = 1000  # problems kept for the operator's report; the count is always exact
_YOKAIGO = "yokaigo_jotai_kubun_09"


@dataclass
class Verdict:
    """What one pass found: the problems (the first REPORT_LIMIT), their count, and tallies."""

    file: str
    problems: list[dict[str, Any]] = field(default_factory=list)
    errors: int = 0
    records: int = 0  # data records
    claims: int = 0
    kinds: Counter[str] = field(default_factory=Counter)  # data records per レコード種別コード
    exchange_id: str | None = None

    def add(self, record: int | None, fld: str | None, rule: str, detail: str, value: str | None = None,
            line: int | None = None) -> None:
        self.errors += 1
        if len(self.problems) < REPORT_LIMIT:
            self.problems.append({"file": self.file, "record": record, "line": line, "field": fld, "rule": rule,
                                  "detail": detail, "value": value})

    @property
    def ok(self) -> bool:
        return self.errors == 0

    @property
    def not_stored(self) -> dict[str, int]:
        """Records the store has no table for (D5–D8 …): received and kept in the payload only."""
        return {k: n for k, n in sorted(self.kinds.items()) if k not in STORED}


STORED = frozenset({"H1", "D1", "T1"})


def _hokensha(v: Verdict, rec: ParsedRecord, name: str, label: str, ward: str) -> None:
    value = rec.values.get(name)
    try:
        validate_hokensha_no(value)
    except InvalidIdentifier as exc:
        v.add(rec.record_no, name, "check_digit", f"{label}: {exc.rule}", str(value))
        return
    if value != ward:
        v.add(rec.record_no, name, "addressee", f"{label} {value} is not this ward's ({ward})", str(value))


def _present(v: Verdict, rec: ParsedRecord, names: tuple[str, ...], *, amount: bool = False) -> None:
    for name in names:
        value = rec.values.get(name)
        if value is None:
            v.add(rec.record_no, name, "required_for_store", f"{rec.kind}: the store keeps {name}; it is empty")
        elif amount and value < 0:
            v.add(rec.record_no, name, "not_negative", f"{rec.kind}: {name} is negative", str(value))


def _shaped(v: Verdict, rec: ParsedRecord, name: str, ok: Callable[[str], bool], what: str) -> None:
    value = rec.values.get(name)
    if value is not None and not ok(value):
        v.add(rec.record_no, name, "shape", f"{rec.kind}: {name} must be {what}", str(value)[:20])


def _digits(n: int) -> Callable[[str], bool]:
    return lambda s: len(s) == n and s.isascii() and s.isdigit()


def _alnum(low: int, high: int) -> Callable[[str], bool]:
    return lambda s: low <= len(s) <= high and s.isascii() and s.isalnum()


H1_AMOUNTS = ("ato_hoken_tanisu", "ato_hoken_seikyu", "ato_hoken_futan")
D1_AMOUNTS = ("ato_tanisu", "ato_nissu", "ato_service_tanisu")
T1_AMOUNTS = ("jitsu_nissu", "ato_tanisu_gokei", "ato_hoken_seikyu", "hoken_futan")


def _check_claim(v: Verdict, claim: kokuho_kyufu.Claim, ward: str, known: Container[str],
                 keys: set[bytes]) -> None:
    head = claim.head
    for rec in claim.records:
        _hokensha(v, rec, "sho_hokensha_no", "証記載保険者番号", ward)
    if head.kind != "H1":  # a D8/DE standing alone (高額): not stored, only checked
        return
    hiho = head.values["hihokensha_no"]
    if hiho not in known:
        v.add(head.record_no, "hihokensha_no", "unknown_hihokensha", "被保険者番号 is not insured by this ward",
              mask(hiho))
    _present(v, head, ("sakusei_kubun", "jisseki_kubun", "jigyosho_no", "seiri_no", "shinsa_ym"))
    _present(v, head, H1_AMOUNTS, amount=True)
    _shaped(v, head, "seiri_no", _alnum(1, 10), "1–10 half-width letters or digits")
    yokaigo = head.values.get("yokaigo_jotai_kubun")
    if yokaigo is not None and yokaigo not in code_tables()[_YOKAIGO]:
        v.add(head.record_no, "yokaigo_jotai_kubun", "code", f"not in code table {_YOKAIGO}", yokaigo[:4])
    key = hashlib.blake2b(repr(tuple(_group_key(head))).encode(), digest_size=16).digest()
    if key in keys:
        v.add(head.record_no, None, "duplicate_kyufu", "the same 給付実績 (key: 識別番号, 提供年月, 事業所, "
              "被保険者, 整理番号, 作成区分, 審査年月) is earlier in this file")
    keys.add(key)
    shurui: set[str] = set()
    for rec in claim.rows:
        if rec.kind == "D1":
            _present(v, rec, ("service_shurui", "service_komoku"))
            _present(v, rec, D1_AMOUNTS, amount=True)
            _shaped(v, rec, "service_shurui", _alnum(2, 2), "2 half-width letters or digits")
            _shaped(v, rec, "service_komoku", _alnum(4, 4), "4 half-width letters or digits")
            _shaped(v, rec, "tekiyo", lambda s: len(s) <= 40, "at most 40 characters")
        elif rec.kind == "T1":
            _present(v, rec, ("service_shurui",))
            _present(v, rec, T1_AMOUNTS, amount=True)
            _shaped(v, rec, "service_shurui", _alnum(2, 2), "2 half-width letters or digits")
            s = rec.values.get("service_shurui")
            if s in shurui:
                v.add(rec.record_no, "service_shurui", "duplicate_shukei", f"a second T1 for サービス種類 {s} "
                      f"in the 給付実績 of record {head.record_no}", s)
            shurui.add(str(s))


def _group_key(head: ParsedRecord) -> tuple[Any, ...]:
    g = _header(head)
    return tuple(g[k] for k in NATURAL_KEY)


def _problems_of(v: Verdict, err: RecordError) -> None:
    for p in err.problems:
        v.add(err.record_no, p.field, p.rule, p.detail, p.raw, line=err.line)


def _read(source: Source, file: str, ward: str, known: Container[str],
          verdict: Verdict) -> Iterator[kokuho_kyufu.Claim]:
    keys: set[bytes] = set()
    items = _parser(source, file)
    for item in kokuho_kyufu.claims(_tally(items, verdict), file=file):
        if isinstance(item, RecordError):
            _problems_of(verdict, item)
        elif isinstance(item, ParsedRecord):  # the control record
            if item.values["data_type"] != DATA_TYPE:
                verdict.add(item.record_no, "data_type", "data_type",
                            f"データ種別 {item.values['data_type']} is not 給付実績 ({DATA_TYPE})",
                            str(item.values["data_type"]))
            _hokensha(verdict, item, "hokensha_no", "保険者番号", ward)
        else:
            verdict.claims += 1
            _check_claim(verdict, item, ward, known, keys)
            yield item


def _parser(source: Source, file: str) -> Iterator[ParsedRecord | RecordError]:
    """The CSV frame, or its XML form when the file starts with markup: the same records either way."""
    pieces = chunks(source)
    first = next(pieces, b"")
    rest = itertools.chain([first], pieces)
    if first.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"<":
        return kokuho_xml.parse(rest, file=file)
    return kokuho_frame.parse(rest, file=file)


def _tally(items: Iterator[ParsedRecord | RecordError], verdict: Verdict) -> Iterator[ParsedRecord | RecordError]:
    for item in items:
        if isinstance(item, ParsedRecord) and item.kind != "control":
            verdict.records += 1
            verdict.kinds[item.kind] += 1
            if verdict.exchange_id is None:
                verdict.exchange_id = item.values["exchange_id"]
        elif isinstance(item, RecordError) and item.kind not in (None, "control", "end"):
            verdict.records += 1
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
