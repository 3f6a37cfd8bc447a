"""vendor_answer, handover_notice, handover_return: print vendors' answers as judged, what each
hand-over carried, and what came back.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-08

A refused answer was only an Inbox "seen" mark (and so never judged again) and the last problem
on the hand-over; a 返戻 list could name any 宛名番号. Now every judgement is a row with the
acknowledgement written back to the vendor, each vendor transfer keeps its (notice number,
宛名番号) pairs, and returned notices are kept per hand-over.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "vendor_answer",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("partner", sa.String(length=64), nullable=False),
        sa.Column("transfer_id", sa.String(length=36), nullable=True),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("read_key", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.String(length=10), nullable=False),
        sa.Column("rule", sa.String(length=32), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("duplicate", sa.Boolean(), nullable=False),
        sa.Column("quarantine_id", sa.String(length=255), nullable=True),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ack", sa.Text(), nullable=True),
        sa.Column("ack_signature", sa.Text(), nullable=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vendor_answer")),
    )
    op.create_index("ix_vendor_answer_partner_read_key", "vendor_answer", ["partner", "read_key"])
    op.create_index(op.f("ix_vendor_answer_transfer_id"), "vendor_answer", ["transfer_id"])
    op.create_table(
        "handover_notice",
        sa.Column("transfer_id", sa.String(length=36), nullable=False),
        sa.Column("notice_no", sa.String(length=32), nullable=False),
        sa.Column("atena_no", sa.String(length=15), nullable=False),
        sa.ForeignKeyConstraint(["transfer_id"], ["transfer.id"], name=op.f("fk_handover_notice_transfer_id_transfer")),
        sa.PrimaryKeyConstraint("transfer_id", "notice_no", name=op.f("pk_handover_notice")),
    )
    op.create_table(
        "handover_return",
        sa.Column("transfer_id", sa.String(length=36), nullable=False),
        sa.Column("notice_no", sa.String(length=32), nullable=False),
        sa.Column("atena_no", sa.String(length=15), nullable=False),
        sa.Column("reason_code", sa.String(length=2), nullable=False),
        sa.Column("returned_on", sa.Date(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["transfer_id"], ["transfer.id"], name=op.f("fk_handover_return_transfer_id_transfer")),
        sa.PrimaryKeyConstraint("transfer_id", "notice_no", name=op.f("pk_handover_return")),
    )


def downgrade() -> None:
    op.drop_table("handover_return")
    op.drop_table("handover_notice")
    op.drop_index(op.f("ix_vendor_answer_transfer_id"), table_name="vendor_answer")
    op.drop_index("ix_vendor_answer_partner_read_key", table_name="vendor_answer")
    op.drop_table("vendor_answer")
