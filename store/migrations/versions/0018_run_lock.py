"""run_lock: one run at a time across processes (one 副本 refresh, whoever starts it).

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-26

A 副本 refresh started by an operator while a worker's round runs would plan the same persons
against the same fukuhon_state twice; a count of queued transfers cannot see a run that has not
queued one yet.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "run_lock",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("holder", sa.String(length=128), nullable=False),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_run_lock")),
    )


def downgrade() -> None:
    op.drop_table("run_lock")
