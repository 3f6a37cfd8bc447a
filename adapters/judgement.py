"""The verdict on an inbound file judged whole: every problem (the first REPORT_LIMIT kept for the
operator's report, the count always exact) and the tallies of what it holds. A problem is a dict
the quarantine report shows: file, record number, line, field, rule, detail and the value (masked
where personal)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from mappings.records import RecordError

REPORT_LIMIT = 1000  # problems kept for the operator's report; the count is always exact


@dataclass
class Verdict:
    """What one pass found: the problems (the first REPORT_LIMIT), their count, and tallies."""

    file: str
    problems: list[dict[str, Any]] = field(default_factory=list)
    errors: int = 0
    records: int = 0  # data records
    groups: int = 0  # what the store keeps: 給付実績, 突合結果 …
    kinds: Counter[str] = field(default_factory=Counter)  # data records per record kind

    def add(self, record: int | None, fld: str | None, rule: str, detail: str, value: str | None = None,
            line: int | None = None) -> None:
        self.errors += 1
        if len(self.problems) < REPORT_LIMIT:
            self.problems.append({"file": self.file, "record": record, "line": line, "field": fld, "rule": rule,
                                  "detail": detail, "value": value})

    def add_error(self, err: RecordError) -> None:
        for p in err.problems:
            self.add(err.record_no, p.field, p.rule, p.detail, p.raw, line=err.line)

    @property
    def ok(self) -> bool:
        return self.errors == 0

    def not_stored(self, stored: frozenset[str]) -> dict[str, int]:
        """Records of kinds the store has no table for: received, kept in the payload only."""
        return {k: n for k, n in sorted(self.kinds.items()) if k not in stored}
