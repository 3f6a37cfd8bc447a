"""The custody log (引渡し・受領記録簿): append-only, hash-chained, with signed checkpoints."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import Connection, func, insert, select, update
from sqlalchemy.exc import IntegrityError as DBIntegrityError

from store.engine import make_engine, read_only
from store.inserts import insert_rows

from .entry import TIME_FORMAT, CustodyEvent, Entry, entry_hash, now_text, parse_time
from .schema import GENESIS, checkpoints, entries, head, metadata
from .signing import (
    checkpoint_message,
    create_signing_key,
    load_private_key,
    load_public_key,
    signer_id,
)
from .verify import ChainWalker, VerifyReport, verify_log

_IN_CHUNK = 500  # bound on bind parameters per IN (...) look-up
_COLUMNS = tuple(c.name for c in entries.columns)


class CustodyError(Exception):
    """The log cannot be appended to or checkpointed as asked (missing schema or key)."""


class CustodyTamperError(CustodyError):
    """The stored log is inconsistent; nothing is appended or signed on top of it."""

    def __init__(self, first_bad_seq: int | None, reason: str) -> None:
        super().__init__(f"custody log tampered at seq {first_bad_seq}: {reason}; run custody verify")
        self.first_bad_seq = first_bad_seq


@dataclass(frozen=True, slots=True)
class Checkpoint:
    seq: int
    hash: str
    at: datetime
    signature: str
    signer: str


class CustodyLog:
    def __init__(
        self,
        url: str,
        signing_key_path: Path | str | None = None,
        public_key_path: Path | str | None = None,
    ) -> None:
        self.url = url
        self.engine = make_engine(url)
        # Reads need no write lock (SQLite: a plain BEGIN), so a reader never holds up an append.
        self._reader = read_only(self.engine)
        self._signing_key: Ed25519PrivateKey | None = (
            load_private_key(signing_key_path) if signing_key_path is not None else None
        )
        self._public_key: Ed25519PublicKey | None = (
            load_public_key(public_key_path)
            if public_key_path is not None
            else self._signing_key.public_key()
            if self._signing_key is not None
            else None
        )

    create_signing_key = staticmethod(create_signing_key)

    def create_schema(self) -> None:
        """Create the tables and the head row if missing (idempotent)."""
        metadata.create_all(self.engine)
        try:
            with self.engine.begin() as conn:
                if conn.execute(select(head.c.id)).first() is None:
                    conn.execute(insert(head).values(id=1, seq=0, hash=GENESIS))
        except DBIntegrityError:
            pass  # another process inserted it first

    def dispose(self) -> None:
        self.engine.dispose()

    # ---- appending ----------------------------------------------------------------------
    def append(self, events: Sequence[CustodyEvent], when: datetime | None = None) -> list[int]:
        """Append events in one transaction; return their seqs in order.

        An event whose dedup_key is already in the log (or earlier in this batch) is not appended
        again; its existing seq is returned, so a redelivered message does not double the log.
        ``when`` (default: now) is for an import or a test's seeded history; the chain does not order time.
        """
        events = list(events)
        if not events:
            return []
        with self.engine.begin() as conn:
            seq, prev = self._lock_head(conn)
            known = self._existing_dedup(conn, {e.dedup_key for e in events if e.dedup_key})
            # taken under the lock, so time follows seq on one clock
            at = now_text() if when is None else when.astimezone(UTC).strftime(TIME_FORMAT)
            rows: list[tuple[Any, ...]] = []
            seqs: list[int] = []
            for event in events:
                if event.dedup_key is not None and event.dedup_key in known:
                    seqs.append(known[event.dedup_key])
                    continue
                seq += 1
                row = event.fields() | {"seq": seq, "at": at, "prev_hash": prev}
                row["hash"] = prev = entry_hash(row)
                rows.append(tuple(row[name] for name in _COLUMNS))
                seqs.append(seq)
                if event.dedup_key is not None:
                    known[event.dedup_key] = seq
            if rows:
                # Plain tuples to the driver (insert_rows): SQLAlchemy's per-row parameters cost
                # more than the hashing and the write together.
                insert_rows(conn, entries, _COLUMNS, rows)
                conn.execute(update(head).where(head.c.id == 1).values(seq=seq, hash=prev))
        return seqs

    def append_one(self, event: CustodyEvent) -> int:
        return self.append([event])[0]

    def _lock_head(self, conn: Connection) -> tuple[int, str]:
        # FOR UPDATE takes the row lock on PostgreSQL; SQLite already holds the write lock (BEGIN IMMEDIATE).
        row = conn.execute(select(head.c.seq, head.c.hash).where(head.c.id == 1).with_for_update()).first()
        if row is None:
            raise CustodyError(
                "custody_head row is missing: create_schema() was not run, or the row was deleted"
            )
        last = conn.execute(
            select(entries.c.seq, entries.c.hash).order_by(entries.c.seq.desc()).limit(1)
        ).first()
        last_seq, last_hash = (int(last[0]), str(last[1])) if last else (0, GENESIS)
        if (last_seq, last_hash) != (row[0], row[1]):
            raise CustodyTamperError(min(last_seq, row[0]) + 1, "custody_head does not match the last entry")
        return int(row[0]), str(row[1])

    @staticmethod
    def _existing_dedup(conn: Connection, keys: set[str | None]) -> dict[str, int]:
        wanted = sorted(k for k in keys if k is not None)
        found: dict[str, int] = {}
        for i in range(0, len(wanted), _IN_CHUNK):
            stmt = select(entries.c.dedup_key, entries.c.seq).where(
                entries.c.dedup_key.in_(wanted[i : i + _IN_CHUNK])
            )
            found.update((k, s) for k, s in conn.execute(stmt))
        return found

    # ---- reading ------------------------------------------------------------------------
    def head(self) -> tuple[int, str]:
        with self._reader.connect() as conn:
            row = conn.execute(select(head.c.seq, head.c.hash).where(head.c.id == 1)).first()
        if row is None:
            raise CustodyError("custody_head row is missing")
        return int(row[0]), str(row[1])

    def chain(self, transfer_id: str) -> list[Entry]:
        stmt = select(entries).where(entries.c.transfer_id == transfer_id).order_by(entries.c.seq)
        with self._reader.connect() as conn:
            return [Entry.from_row(dict(r)) for r in conn.execute(stmt).mappings()]

    def count_by_event(self) -> dict[str, int]:
        stmt = select(entries.c.event, func.count()).group_by(entries.c.event).order_by(entries.c.event)
        with self._reader.connect() as conn:
            return {event: int(n) for event, n in conn.execute(stmt)}

    def last_checkpoint(self) -> Checkpoint | None:
        with self._reader.connect() as conn:
            row = (
                conn.execute(select(checkpoints).order_by(checkpoints.c.seq.desc()).limit(1))
                .mappings()
                .first()
            )
        return _checkpoint(row) if row else None

    # ---- checkpoints and verification ---------------------------------------------------
    def checkpoint(self, min_new: int = 1) -> Checkpoint | None:
        """Sign the current head if at least ``min_new`` entries came since the last checkpoint.

        The entries since the last checkpoint are re-verified first, so a tampered stretch is
        never signed (CustodyTamperError instead).
        """
        if self._signing_key is None:
            raise CustodyError("no custody signing key configured: cannot sign a checkpoint")
        key = self._signing_key
        with self.engine.begin() as conn:
            seq, hash_ = self._lock_head(conn)
            last = (
                conn.execute(select(checkpoints).order_by(checkpoints.c.seq.desc()).limit(1))
                .mappings()
                .first()
            )
            since = last["seq"] if last else 0
            if last and last["seq"] > seq:
                raise CustodyTamperError(seq + 1, f"checkpoint at seq {last['seq']} is beyond the last entry")
            if seq - since < max(min_new, 1):
                return None
            walker = ChainWalker(since, last["hash"] if last else GENESIS)
            stmt = select(entries).where(entries.c.seq > since, entries.c.seq <= seq).order_by(entries.c.seq)
            for row in conn.execute(stmt).mappings():
                if problem := walker.feed(dict(row)):
                    raise CustodyTamperError(*problem)
            if (walker.seq, walker.hash) != (seq, hash_):
                raise CustodyTamperError(walker.seq + 1, "entries missing before the head")
            at = now_text()
            cp = {"seq": seq, "hash": hash_, "at": at,
                  "signature": key.sign(checkpoint_message(seq, hash_, at)).hex(),
                  "signer": signer_id(key.public_key())}  # fmt: skip
            conn.execute(insert(checkpoints).values(**cp))
        return _checkpoint(cp)

    def verify(self, page: int = 5000) -> VerifyReport:
        if self._public_key is None:
            raise CustodyError(
                "verify needs the custody public key (or the signing key) to check checkpoints"
            )
        return verify_log(self.engine, self._public_key, page)


def _checkpoint(row: Any) -> Checkpoint:
    return Checkpoint(row["seq"], row["hash"], parse_time(row["at"]), row["signature"], row["signer"])
