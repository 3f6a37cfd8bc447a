"""給付実績 claims: the parsed records of a 給付実績 file grouped per claim.

A claim is one H1 基本 record with the D*/T1 records that follow it up to the next H1
(DOMAIN.md; LAYOUTS-EVIDENCE.md §1). The vendor's reader also opens a claim at a D8/DE
(高額介護サービス費) record, which has no H1 of its own: such a record is a claim by itself here.
A D*/T1 record before any H1, or one naming another 被保険者番号 / サービス提供年月 than its H1
([INF]: the rows of one claim are about one person and month), is a RecordError. The rows after
an H1 that was itself rejected belong to that broken claim and are not reported again.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from mappings.records import FieldProblem, ParsedRecord, RecordError

HEADS = frozenset({"H1"})
ALONE = frozenset({"D8", "DE"})
KEY = ("hihokensha_no", "service_ym")


@dataclass(frozen=True)
class Claim:
    head: ParsedRecord  # H1, or a D8/DE standing alone
    rows: tuple[ParsedRecord, ...] = ()

    @property
    def records(self) -> tuple[ParsedRecord, ...]:
        return (self.head, *self.rows)


def claims(items: Iterable[ParsedRecord | RecordError], *,
           file: str = "<stream>") -> Iterator[Claim | ParsedRecord | RecordError]:
    """Claims in file order; the control record and every RecordError pass through where they
    stand (a bad row does not end its claim: the claim is yielded when the next head comes)."""
    head: ParsedRecord | None = None
    rows: list[ParsedRecord] = []
    broken = False  # the current claim's H1 was itself rejected: its rows are not orphans
    for item in items:
        if isinstance(item, RecordError) and item.kind in HEADS:
            if head is not None:
                yield Claim(head, tuple(rows))
            head, rows, broken = None, [], True
            yield item
            continue
        if isinstance(item, RecordError) or item.kind == "control":
            yield item
            continue
        if item.kind in HEADS or item.kind in ALONE:
            if head is not None:
                yield Claim(head, tuple(rows))
            head, rows = (item, []) if item.kind in HEADS else (None, [])
            broken = False
            if item.kind in ALONE:
                yield Claim(item)
            continue
        if head is None:
            if broken:  # reported with its H1; the file is refused either way
                continue
            yield RecordError(file, item.record_no, (FieldProblem(None, "claim_head", f"{item.kind} record "
                                                                  "with no H1 before it"),), kind=item.kind)
            continue
        wrong = [k for k in KEY if item.values.get(k) != head.values.get(k)]
        if wrong:
            yield RecordError(file, item.record_no, tuple(
                FieldProblem(k, "claim_key", f"differs from its H1 (record {head.record_no})") for k in wrong),
                kind=item.kind)
            continue
        rows.append(item)
    if head is not None:
        yield Claim(head, tuple(rows))
