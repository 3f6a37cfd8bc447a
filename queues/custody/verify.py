"""Verification of the custody log: recompute the chain, check signed checkpoints and the head.

It streams in pages, each read in its own short transaction, bounded by a snapshot of the last
seq taken at the start; entries appended meanwhile are simply not part of this run.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Engine, Table, func, select

from .entry import entry_hash
from .schema import GENESIS, checkpoints, entries, head
from .signing import checkpoint_message, signer_id

PAGE = 5000


@dataclass(frozen=True, slots=True)
class VerifyReport:
    ok: bool
    entries: int
    checkpoints: int
    first_bad_seq: int | None
    reason: str


class ChainWalker:
    """Follows the chain one entry at a time from a trusted (seq, hash)."""

    def __init__(self, seq: int = 0, hash_: str = GENESIS) -> None:
        self.seq, self.hash = seq, hash_

    def feed(self, row: Mapping[str, Any]) -> tuple[int, str] | None:
        """Accept the next row, or return (first bad seq, reason)."""
        expected = self.seq + 1
        if row["seq"] > expected:
            return expected, f"entry {expected} is missing (the next entry is {row['seq']}): entries deleted"
        if row["seq"] < expected:
            return row["seq"], f"unexpected entry with seq {row['seq']} after entry {self.seq}"
        if row["prev_hash"] != self.hash:
            return expected, (
                f"entry {expected}: prev_hash does not link to entry {self.seq} "
                "(entry replaced, reordered, or one before it deleted)"
            )
        if entry_hash(row) != row["hash"]:
            return expected, f"entry {expected}: content does not match its hash (entry edited)"
        self.seq, self.hash = expected, row["hash"]
        return None


def page_rows(engine: Engine, table: Table, upto: int, page: int = PAGE) -> Iterator[dict[str, Any]]:
    """Rows of ``table`` with seq <= upto, in seq order, one short transaction per page."""
    after: int | None = None
    while True:
        stmt = select(table).where(table.c.seq <= upto).order_by(table.c.seq).limit(page)
        if after is not None:
            stmt = stmt.where(table.c.seq > after)
        with engine.connect() as conn:
            rows = [dict(r) for r in conn.execute(stmt).mappings()]
        yield from rows
        if len(rows) < page:
            return
        after = rows[-1]["seq"]


def checkpoint_problem(cp: Mapping[str, Any], public_key: Ed25519PublicKey) -> str | None:
    if cp["signer"] != signer_id(public_key):
        return (
            f"checkpoint at seq {cp['seq']} is signed by key {cp['signer']!r}, not by {signer_id(public_key)}"
        )
    try:
        public_key.verify(bytes.fromhex(cp["signature"]), checkpoint_message(cp["seq"], cp["hash"], cp["at"]))
    except (ValueError, InvalidSignature):
        return f"checkpoint at seq {cp['seq']}: signature does not verify (checkpoint forged or altered)"
    return None


def verify_log(engine: Engine, public_key: Ed25519PublicKey, page: int = PAGE) -> VerifyReport:
    with engine.connect() as conn:  # one statement: one consistent snapshot on PostgreSQL too
        last_seq, max_cp, head_seq, head_hash = conn.execute(
            select(
                select(func.max(entries.c.seq)).scalar_subquery(),
                select(func.max(checkpoints.c.seq)).scalar_subquery(),
                select(head.c.seq).where(head.c.id == 1).scalar_subquery(),
                select(head.c.hash).where(head.c.id == 1).scalar_subquery(),
            )
        ).one()
    walker = ChainWalker()
    n_entries = n_checkpoints = signed_upto = 0

    def bad(seq: int | None, reason: str) -> VerifyReport:
        return VerifyReport(False, n_entries, n_checkpoints, seq, reason)

    cps = page_rows(engine, checkpoints, max_cp, page) if max_cp is not None else iter(())
    cp = next(cps, None)
    for row in page_rows(engine, entries, last_seq or 0, page):
        problem = walker.feed(row)
        if problem:
            return bad(*problem)
        n_entries += 1
        while cp is not None and cp["seq"] <= walker.seq:
            if cp["seq"] != walker.seq:
                return bad(cp["seq"], f"checkpoint at seq {cp['seq']} does not correspond to any entry")
            if reason := checkpoint_problem(cp, public_key):
                return bad(cp["seq"], reason)
            if cp["hash"] != walker.hash:
                return bad(signed_upto + 1, (
                    f"the chain differs from the signed checkpoint at seq {cp['seq']}: entries "
                    f"{signed_upto + 1}..{cp['seq']} were rewritten (hashes recomputed)"
                ))  # fmt: skip
            signed_upto, n_checkpoints, cp = cp["seq"], n_checkpoints + 1, next(cps, None)
    if cp is not None:
        if reason := checkpoint_problem(cp, public_key):
            return bad(cp["seq"], reason)
        return bad(walker.seq + 1, (
            f"signed checkpoint at seq {cp['seq']} but the log ends at seq {walker.seq}: "
            "entries removed from the end (truncation)"
        ))  # fmt: skip
    if head_seq is None:
        return bad(None, "custody_head row is missing")
    if head_seq != walker.seq:
        if head_seq > walker.seq:
            return bad(
                walker.seq + 1, f"custody_head records seq {head_seq} but the log ends at seq {walker.seq}"
            )
        return bad(head_seq + 1, f"entries after seq {head_seq} are not recorded in custody_head")
    if head_hash != walker.hash:
        return bad(walker.seq, f"custody_head hash does not match entry {walker.seq} (head row edited)")
    tail = walker.seq - signed_upto
    note = f"; {tail} newest entries not yet covered by a checkpoint" if tail else ""
    return VerifyReport(True, n_entries, n_checkpoints, None, f"chain intact{note}")
