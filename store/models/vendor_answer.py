"""What the ward read from print vendors, and what their hand-overs carried and got back.

``vendor_answer``: one row per judgement of a file in a vendor's ``outbox/`` (taken or refused):
the operator's record (``vendors answers``) and the acknowledgement written back to the vendor,
kept byte for byte so that a poll that crashed after the store commit writes the same one again.
``handover_notice``: the (notice number, 宛名番号) pairs each vendor transfer carried, against
which a 返戻 list is checked. ``handover_return``: the returned notices per hand-over.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from store.models.base import Base

ACCEPTED = "accepted"
REFUSED = "refused"


class VendorAnswer(Base):
    __tablename__ = "vendor_answer"
    __table_args__ = (Index("ix_vendor_answer_partner_read_key", "partner", "read_key"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    partner: Mapped[str] = mapped_column(String(64))
    transfer_id: Mapped[str | None] = mapped_column(String(36), index=True)  # null: the name is no answer's
    name: Mapped[str] = mapped_column(String(255))  # the vendor's file name, masked (partner_names.shown)
    kind: Mapped[str | None] = mapped_column(String(16))  # receipt, returns, deletion, rejected
    sha256: Mapped[str | None] = mapped_column(String(64))  # of the bytes read; null when left unread
    read_key: Mapped[str] = mapped_column(String(64))  # name+content (read) or name+size+mtime (unread)
    outcome: Mapped[str] = mapped_column(String(10))  # accepted / refused
    rule: Mapped[str | None] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(Text)  # masked
    duplicate: Mapped[bool] = mapped_column(default=False)
    quarantine_id: Mapped[str | None] = mapped_column(String(255))  # the refused copy in var/quarantine
    read_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]  # a refusal made good: the answer taken later, or closed
    resolved_by: Mapped[str | None] = mapped_column(String(128))  # the operator who settled it by hand
    resolution: Mapped[str | None] = mapped_column(Text)  # why, in the operator's words (masked)
    ack: Mapped[str | None] = mapped_column(Text)  # the acknowledgement's canonical JSON
    ack_signature: Mapped[str | None] = mapped_column(Text)
    done_at: Mapped[datetime | None]  # acknowledged and, when read, removed from the vendor's server


class HandoverNotice(Base):
    __tablename__ = "handover_notice"

    transfer_id: Mapped[str] = mapped_column(String(36), ForeignKey("transfer.id"), primary_key=True)
    notice_no: Mapped[str] = mapped_column(String(32), primary_key=True)
    atena_no: Mapped[str] = mapped_column(String(15))


class HandoverReturn(Base):
    __tablename__ = "handover_return"

    transfer_id: Mapped[str] = mapped_column(String(36), ForeignKey("transfer.id"), primary_key=True)
    notice_no: Mapped[str] = mapped_column(String(32), primary_key=True)
    atena_no: Mapped[str] = mapped_column(String(15))
    reason_code: Mapped[str] = mapped_column(String(2))
    returned_on: Mapped[date]
    recorded_at: Mapped[datetime]
