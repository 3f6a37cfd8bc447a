"""Tables of the custody log (its own database and MetaData, never the business store's)."""

from __future__ import annotations

from sqlalchemy import BigInteger, CheckConstraint, Column, Integer, MetaData, String, Table, Text

metadata = MetaData()

GENESIS = "0" * 64

entries = Table(
    "custody_entries",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("at", String(32), nullable=False),  # fixed-format UTC text: hashed exactly as stored
    Column("transfer_id", String(128), index=True),
    Column("event", String(32), nullable=False),
    Column("actor", String(128), nullable=False),
    Column("partner", String(64)),
    Column("record_count", BigInteger),
    Column("sha256", String(64)),
    Column("key_id", String(64)),
    Column("basis", String(200)),
    Column("detail", Text),
    Column("dedup_key", String(200), unique=True),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)

# One row: the seq and hash of the last entry. Every append locks and updates it in the same
# transaction as its inserts, which serialises appenders and keeps seq gap-free and the chain linear.
head = Table(
    "custody_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
    CheckConstraint("id = 1", name="custody_head_single_row"),
)

checkpoints = Table(
    "custody_checkpoints",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("hash", String(64), nullable=False),
    Column("at", String(32), nullable=False),
    Column("signature", String(128), nullable=False),  # Ed25519, hex
    Column("signer", String(64), nullable=False),  # key id of the public key
)
