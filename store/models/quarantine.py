"""Inbound files held back because they failed validation: nothing of them was applied.

One row per quarantined transfer: the report (file, レコード番号, field, rule, value masked where
personal), and the operator's decision — ``released`` (load it again, e.g. after a code table
was corrected) or ``rejected`` (refused for good; the partner must send a corrected file).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from store.models.base import Base, utcnow

HELD = "held"
RELEASED = "released"
REJECTED = "rejected"


class Quarantine(Base):
    __tablename__ = "quarantine"
    __table_args__ = (CheckConstraint("state IN ('held', 'released', 'rejected')", name="state_code"),)

    transfer_id: Mapped[str] = mapped_column(String(36), ForeignKey("transfer.id"), primary_key=True)
    flow: Mapped[str] = mapped_column(String(64))
    file_name: Mapped[str] = mapped_column(String(255))
    held_at: Mapped[datetime] = mapped_column(default=utcnow)
    errors: Mapped[int]  # how many problems the report lists
    report: Mapped[str] = mapped_column(Text)  # JSON lines, values masked where personal
    state: Mapped[str] = mapped_column(String(10), default=HELD, server_default=HELD, index=True)
    decided_by: Mapped[str | None] = mapped_column(String(128))
    decided_at: Mapped[datetime | None]
    reason: Mapped[str | None] = mapped_column(Text)
