"""Runtime tables of the bridge itself, in the core store so that a business change and the
event announcing it commit in one transaction (transactional outbox), and so that one Alembic
history covers everything. Used by queues/ (outbox relay, inbox idempotency), the transfer
tracker and the change-events route.

No column here ever holds a 個人番号 or a name in clear: keys are business keys (被保険者番号,
transfer id), bodies are encrypted by the caller, error texts are masked by the caller.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from store.models.base import Base, utcnow

OUTBOX_PENDING = "pending"
OUTBOX_SENT = "sent"


class Outbox(Base):
    """An event waiting to be published (written in the transaction of the change)."""

    __tablename__ = "outbox"
    __table_args__ = (Index(None, "status", "created_at", "id"),)  # relay: oldest pending first

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # event id (uuid)
    route: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(64))  # business key, never 個人番号
    # The transfer the event moves (None: the event is its own transfer, id = event id).
    transfer_id: Mapped[str | None] = mapped_column(String(36))
    body: Mapped[bytes]  # already encrypted by the caller
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default=OUTBOX_PENDING, server_default=OUTBOX_PENDING)
    claimed_by: Mapped[str | None] = mapped_column(String(64))  # relay instance holding it
    claimed_until: Mapped[datetime | None]  # claim lease: another relay may take it after this
    published_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)


class Inbox(Base):
    """Messages a consumer has already applied: the idempotency record (exactly-once effect)."""

    __tablename__ = "inbox"

    consumer: Mapped[str] = mapped_column(String(64), primary_key=True)
    message_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    processed_at: Mapped[datetime] = mapped_column(default=utcnow)


class RunLock(Base):
    """A run that must be alone (one 副本 refresh at a time, whoever starts it): held while it
    runs; one older than its lease was left by a run that died and is taken over
    (store/run_lock.py)."""

    __tablename__ = "run_lock"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))  # who runs it (actor and a run id)
    taken_at: Mapped[datetime] = mapped_column(default=utcnow)


class Transfer(Base):
    """One payload moving once across the boundary (DESIGN.md "Transfer")."""

    __tablename__ = "transfer"
    __table_args__ = (
        CheckConstraint("direction IN ('out', 'in')", name="direction_code"),
        UniqueConstraint("batch", "part_no"),  # a batch run makes each part once
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    flow: Mapped[str] = mapped_column(String(64))
    batch: Mapped[str | None] = mapped_column(String(100))  # batch run key, e.g. "print.hokenryo/2026"
    partner: Mapped[str] = mapped_column(String(64))
    direction: Mapped[str] = mapped_column(String(3))  # "out" / "in"
    # Layout may be known only after reading an inbound file (国保連: 識別番号 + サービス提供年月).
    layout: Mapped[str | None] = mapped_column(String(64))
    layout_version: Mapped[str | None] = mapped_column(String(32))
    record_count: Mapped[int | None]  # inbound: known once the loader has parsed the payload
    # A transfer row is written once its payload is in the encrypted store, so these are known.
    sha256: Mapped[str] = mapped_column(String(64))  # of the plaintext
    size: Mapped[int] = mapped_column(BigInteger)  # bytes of the plaintext
    key_id: Mapped[str] = mapped_column(String(64))
    payload_ref: Mapped[str] = mapped_column(String(255))  # claim check
    # extracted / encrypted / queued / sent / received / applied / rejected / dead / …
    state: Mapped[str] = mapped_column(String(16), index=True)
    part_no: Mapped[int | None]  # for a payload split in parts: 1..part_count
    part_count: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)  # masked by the caller


CHANGE_CREATED = "created"
CHANGE_CHANGED = "changed"
CHANGE_ENDED = "ended"


class ChangeJournal(Base):
    """One applied change event (a counted effect): partner files are built from these rows."""

    __tablename__ = "change_journal"
    __table_args__ = (
        CheckConstraint("kind IN ('created', 'changed', 'ended')", name="kind_code"),
        Index(None, "entity", "id"),  # builders read one entity's changes since a position
        # ids are positions for the builders: SQLite must never reuse one after a delete.
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(36), unique=True)
    entity: Mapped[str] = mapped_column(String(32))  # e.g. "shikaku"
    entity_key: Mapped[str] = mapped_column(String(64))  # e.g. 被保険者番号, never 個人番号
    kind: Mapped[str] = mapped_column(String(16))
    occurred_at: Mapped[datetime]
    applied_at: Mapped[datetime] = mapped_column(default=utcnow)


class CustodyPending(Base):
    """A custody entry written in the store's transaction, waiting to be moved to the custody
    log (a separate database) by queues.handover_log.flush: an outbox for custody.

    Field limits mirror queues.custody's CustodyEvent; ``id`` is the event's dedup key, ``seq``
    keeps the order of the hand-overs.
    """

    __tablename__ = "custody_pending"
    __table_args__ = ({"sqlite_autoincrement": True},)

    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(200), unique=True)  # dedup key in the custody log
    at: Mapped[datetime] = mapped_column(default=utcnow)
    transfer_id: Mapped[str | None] = mapped_column(String(128))
    event: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(128))
    partner: Mapped[str | None] = mapped_column(String(64))
    record_count: Mapped[int | None] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64))
    key_id: Mapped[str | None] = mapped_column(String(64))
    basis: Mapped[str | None] = mapped_column(String(200))
    detail: Mapped[str | None] = mapped_column(Text)  # masked by the caller (checked there)
