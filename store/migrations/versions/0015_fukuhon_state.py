"""fukuhon_state: which 副本 the 中間サーバー holds (版, SHA-256 of the items, the acknowledged transfer).

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "fukuhon_state",
        sa.Column("togo_atena_no", sa.String(length=15), nullable=False),
        sa.Column("tm", sa.String(length=16), nullable=False),
        sa.Column("dataset", sa.String(length=4), nullable=False),
        sa.Column("version", sa.String(length=4), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("transfer_id", sa.String(length=36), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("togo_atena_no", "tm", "dataset", name=op.f("pk_fukuhon_state")),
    )


def downgrade() -> None:
    op.drop_table("fukuhon_state")
