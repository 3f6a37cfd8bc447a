"""Judging an inbound 国保連 file whole: the rules every file kind shares.

A loader reads a file once to judge it (nothing written) and, if nothing was found, once more to
apply it; both passes read through ``records`` (the CSV frame, or its XML form, sniffed from the
first bytes) so they count the same records, into an adapters.judgement.Verdict.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

from adapters.judgement import Verdict
from mappings import kokuho_frame, kokuho_xml
from mappings.converters import code_tables
from mappings.linepattern import Narrowing
from mappings.records import ParsedRecord, RecordError
from mappings.streams import Source, chunks
from store.identifiers import InvalidIdentifier, validate_hokensha_no


def records(source: Source, file: str, verdict: Verdict) -> Iterator[ParsedRecord | RecordError]:
    """The file's control record, then each data record or its RecordError, tallied in ``verdict``:
    the CSV frame, or its XML form when the file starts with markup — the same records either way."""
    pieces = chunks(source)
    first = next(pieces, b"")
    rest = itertools.chain([first], pieces)
    xml = first.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"<"
    items = kokuho_xml.parse(rest, file=file) if xml else kokuho_frame.parse(rest, file=file)
    for item in items:
        if isinstance(item, ParsedRecord) and item.kind != "control":
            verdict.records += 1
            verdict.kinds[item.kind] += 1
        elif isinstance(item, RecordError) and item.kind not in (None, "control", "end"):
            verdict.records += 1
        yield item


def control(v: Verdict, rec: ParsedRecord, data_type: str, what: str, ward: str) -> None:
    """The control record: this kind of file (データ種別), addressed to this ward."""
    if rec.values["data_type"] != data_type:
        v.on(rec, "data_type", "data_type", f"データ種別 {rec.values['data_type']} is not {what} "
              f"({data_type})", str(rec.values["data_type"]))
    hokensha(v, rec, "hokensha_no", "保険者番号", ward)


def hokensha(v: Verdict, rec: ParsedRecord, name: str, label: str, ward: str) -> None:
    value = rec.values.get(name)
    found = hokensha_problem(str(value), ward)
    if found is not None:
        rule, detail = found
        v.on(rec, name, rule, f"{label}{detail}", str(value))


@lru_cache(maxsize=64)
def hokensha_problem(value: str, ward: str) -> tuple[str, str] | None:
    """(rule, detail) of a 保険者番号, or None. Cached: every record of a file repeats the same one."""
    try:
        validate_hokensha_no(value)
    except InvalidIdentifier as exc:
        return "check_digit", f": {exc.rule}"
    if value != ward:
        return "addressee", f" {value} is not this ward's ({ward})"
    return None


# --- rules on a record's values, kept as data: each judges a ParsedRecord (``check``) and says the
# same as a narrowing of its fields (``narrow``, mappings/linepattern.py) for the fast judgement.

@dataclass(frozen=True)
class Present:
    """The store keeps these values: they must be there (and with ``amount``, not negative)."""

    names: tuple[str, ...]
    amount: bool = False

    def check(self, v: Verdict, rec: ParsedRecord) -> None:
        for name in self.names:
            value = rec.values.get(name)
            if value is None:
                v.on(rec, name, "required_for_store", f"{rec.kind}: the store keeps {name}; it is empty")
            elif self.amount and value < 0:
                v.on(rec, name, "not_negative", f"{rec.kind}: {name} is negative", str(value))

    def narrow(self) -> dict[str, Narrowing]:
        rule = Narrowing.chars("[0-9]", 1, 18) if self.amount else Narrowing.present()
        return {name: rule for name in self.names}


@dataclass(frozen=True)
class Alnum:
    """When there, ``low``..``high`` half-width letters or digits."""

    name: str
    low: int
    high: int

    def check(self, v: Verdict, rec: ParsedRecord) -> None:
        value = rec.values.get(self.name)
        if value is not None and not (self.low <= len(value) <= self.high and value.isascii() and value.isalnum()):
            what = f"{self.low}–{self.high}" if self.low != self.high else str(self.low)
            _shape(v, rec, self.name, f"{what} half-width letters or digits")

    def narrow(self) -> dict[str, Narrowing]:
        rule = Narrowing.chars("[0-9A-Za-z]", self.low, self.high)
        return {self.name: Narrowing(rule.patterns)}  # the shape when there; Present says if it must be


@dataclass(frozen=True)
class Longest:
    """When there, at most ``high`` characters."""

    name: str
    high: int

    def check(self, v: Verdict, rec: ParsedRecord) -> None:
        value = rec.values.get(self.name)
        if value is not None and len(value) > self.high:
            _shape(v, rec, self.name, f"at most {self.high} characters")

    def narrow(self) -> dict[str, Narrowing]:
        return {self.name: Narrowing.longest(self.high)}


@dataclass(frozen=True)
class InTable:
    """When there, a code of the named code table."""

    name: str
    table: str

    def check(self, v: Verdict, rec: ParsedRecord) -> None:
        value = rec.values.get(self.name)
        if value is not None and value not in code_tables()[self.table]:
            v.on(rec, self.name, "code", f"not in code table {self.table}", str(value)[:4])

    def narrow(self) -> dict[str, Narrowing]:
        return {self.name: Narrowing.one_of(code_tables()[self.table], required=False)}


Rule = Present | Alnum | Longest | InTable


def narrowing(rules: tuple[Rule, ...]) -> dict[str, Narrowing]:
    """What the rules ask of each field, together."""
    out: dict[str, Narrowing] = {}
    for rule in rules:
        for name, n in rule.narrow().items():
            out[name] = out[name] & n if name in out else n
    return out


def _shape(v: Verdict, rec: ParsedRecord, name: str, what: str) -> None:
    v.on(rec, name, "shape", f"{rec.kind}: {name} must be {what}", str(rec.values[name])[:20])
