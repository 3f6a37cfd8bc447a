"""The verdict on an inbound file judged whole — one mechanism for every partner's report
(国保連 and 年金 alike): what the operator reads in ``quarantine show``, as text or ``--json``.

A report row names the file, the line, the record kind, the レコード番号, the field, the rule, a
detail and the value (masked where personal), and says how many times it was found:

- ``line``: the physical line of a CSV record; for a record judged after parsing (a store or
  addressee rule) its レコード番号, which is its line whenever such a row is shown (a file whose
  numbering is off is damaged, below); for a fixed-length 年金 file, which has no lines, the
  record's ordinal (the 管理レコード is 1); in the XML form, the element's source line where the
  frame gives it, else the record's number. None for the file as a whole (no records).
- ``lines``: the first LINES_KEPT lines the row concerns — the line of each time it was found, or
  for a problem of a whole 給付実績 (an unknown 被保険者番号) every record of that claim.
- ``count``: how many times it was found. Problems with the same (rule, field, detail) are one
  row: an LF-only file gives one ``line_terminator`` row counted once per line, not a row a line.
- Damage first and alone: a finding that the file is not what its sender wrote (cut short,
  bytes lost, lines lost, repeated or broken: the frames' DAMAGE rules,
  mappings/kokuho_frame.py and mappings/nenkin_frame.py) means the record boundaries after it
  cannot be trusted, so every other finding is a follow-on: once damage is found, the report
  holds the damage rows only, the follow-on findings are counted in ``withheld`` (given on the
  first row) and ``errors`` counts the damage findings.

``errors`` is exact however many rows are kept (the first REPORT_LIMIT distinct ones)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from mappings import kokuho_frame, nenkin_frame
from mappings.records import ParsedRecord, RecordError

REPORT_LIMIT = 1000  # distinct rows kept for the operator's report; the count is always exact
LINES_KEPT = 10  # lines a row names; its count says how many times it was found
DAMAGE = kokuho_frame.DAMAGE | nenkin_frame.DAMAGE  # rule names: no field-level rule shares one
Row = dict[str, Any]


@dataclass
class Verdict:
    """What one pass found: the report rows, the exact number of problems, and tallies."""

    file: str
    errors: int = 0  # problems found (damage findings only, once damage is found)
    records: int = 0  # data records
    groups: int = 0  # what the store keeps: 給付実績, 突合結果 …
    kinds: Counter[str] = field(default_factory=Counter)  # data records per record kind
    withheld: int = 0  # follow-on findings of a damaged file, not reported
    damaged: bool = False
    rows: list[Row] = field(default_factory=list)
    _by_key: dict[tuple[str, str | None, str], Row] = field(default_factory=dict, compare=False, repr=False)

    def add(self, record: int | None, fld: str | None, rule: str, detail: str, value: str | None = None,
            line: int | None = None, kind: str | None = None, lines: Iterable[int] = ()) -> None:
        """One problem of record ``record`` (0: the file as a whole); ``line`` defaults to the
        record's number (module doc), ``lines`` to [line]."""
        damage = rule in DAMAGE
        if self.damaged and not damage:
            self.withheld += 1
            return
        if damage and not self.damaged:  # what was found so far follows from the damage
            self.withheld += self.errors
            self.errors = 0
            self.rows.clear()
            self._by_key.clear()
            self.damaged = True
        self.errors += 1
        if line is None and record:
            line = record
        where = list(lines) or ([line] if line is not None else [])
        key = (rule, fld, detail)
        row = self._by_key.get(key)
        if row is not None:
            row["count"] += 1
            if kind is not None and kind not in row["kinds"]:
                row["kinds"].append(kind)
                row["kind"] = "/".join(row["kinds"])
            row["lines"].extend(where[:LINES_KEPT - len(row["lines"])])
            return
        if len(self.rows) >= REPORT_LIMIT:
            return
        if kind is None and damage:
            kind = "file"
        row = {"file": self.file, "line": line, "kind": kind, "record": record, "field": fld, "rule": rule,
               "detail": detail, "value": value, "count": 1, "lines": where[:LINES_KEPT],
               "kinds": [kind] if kind is not None else []}
        self.rows.append(row)
        self._by_key[key] = row

    def on(self, rec: ParsedRecord, fld: str | None, rule: str, detail: str, value: str | None = None,
           lines: Iterable[int] = ()) -> None:
        """A problem a rule finds in a parsed record (store, addressee, file kind …)."""
        self.add(rec.record_no, fld, rule, detail, value, kind=rec.kind, lines=lines)

    def add_error(self, err: RecordError) -> None:
        for p in err.problems:
            self.add(err.record_no, p.field, p.rule, p.detail, p.raw, line=err.line, kind=err.kind)

    @property
    def problems(self) -> list[Row]:
        """The report rows, in the order first found (damage rows alone once damage is found)."""
        out = [{k: v for k, v in row.items() if k != "kinds"} for row in self.rows]
        if out and self.withheld:
            out[0]["withheld"] = self.withheld
        return out

    @property
    def ok(self) -> bool:
        return self.errors == 0

    def not_stored(self, stored: frozenset[str]) -> dict[str, int]:
        """Records of kinds the store has no table for: received, kept in the payload only."""
        return {k: n for k, n in sorted(self.kinds.items()) if k not in stored}


def where(row: Row) -> str:
    """A row's lines for a screen: "5", "lines 1, 2, 3 … (143 times)"."""
    lines, count = row.get("lines") or [], int(row.get("count") or 1)
    shown = ", ".join(map(str, lines))
    if count == 1 and len(lines) <= 1:
        return shown
    more = " …" if count > len(lines) or len(lines) >= LINES_KEPT else ""
    times = f" ({count} times)" if count > 1 else ""
    return f"lines {shown}{more}{times}"
