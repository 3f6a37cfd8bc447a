"""handover: the hand-over register of transfers to 委託 partners.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    ts = sa.DateTime(timezone=True)
    op.create_table(
        "handover",
        sa.Column("transfer_id", sa.String(length=36), nullable=False),
        sa.Column("partner", sa.String(length=64), nullable=False),
        sa.Column("file_name", sa.String(length=128), nullable=False),
        sa.Column("ciphertext_sha256", sa.String(length=64), nullable=False),
        sa.Column("ciphertext_size", sa.BigInteger(), nullable=False),
        sa.Column("manifest_sha256", sa.String(length=64), nullable=False),
        sa.Column("started_by", sa.String(length=128), nullable=False),
        sa.Column("sent_at", ts, nullable=True),
        sa.Column("receipt_at", ts, nullable=True),
        sa.Column("deleted_at", ts, nullable=True),
        sa.Column("deletion_method", sa.String(length=100), nullable=True),
        sa.Column("returns", sa.Integer(), server_default="0", nullable=False),
        sa.Column("confirmed_by", sa.String(length=128), nullable=True),
        sa.Column("confirmed_at", ts, nullable=True),
        sa.Column("problem", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["transfer_id"], ["transfer.id"], name=op.f("fk_handover_transfer_id_transfer")),
        sa.PrimaryKeyConstraint("transfer_id", name=op.f("pk_handover")),
    )
    op.create_index(op.f("ix_handover_partner"), "handover", ["partner"])


def downgrade() -> None:
    op.drop_index(op.f("ix_handover_partner"), table_name="handover")
    op.drop_table("handover")
