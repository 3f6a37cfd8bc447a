"""quarantine: inbound files held back because they failed validation.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    ts = sa.DateTime(timezone=True)
    op.create_table(
        "quarantine",
        sa.Column("transfer_id", sa.String(length=36), nullable=False),
        sa.Column("flow", sa.String(length=64), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("held_at", ts, nullable=False),
        sa.Column("errors", sa.Integer(), nullable=False),
        sa.Column("report", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=10), server_default="held", nullable=False),
        sa.Column("decided_by", sa.String(length=128), nullable=True),
        sa.Column("decided_at", ts, nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.CheckConstraint("state IN ('held', 'released', 'rejected')", name=op.f("ck_quarantine_state_code")),
        sa.ForeignKeyConstraint(["transfer_id"], ["transfer.id"], name=op.f("fk_quarantine_transfer_id_transfer")),
        sa.PrimaryKeyConstraint("transfer_id", name=op.f("pk_quarantine")),
    )
    op.create_index(op.f("ix_quarantine_state"), "quarantine", ["state"])


def downgrade() -> None:
    op.drop_index(op.f("ix_quarantine_state"), table_name="quarantine")
    op.drop_table("quarantine")
