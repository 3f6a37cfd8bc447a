"""vendor_answer.resolved_by, resolution: a refusal an operator settled by hand.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-08

Some refusals can never be made good by a later answer (a file name that is no answer's, an
answer naming a transfer we never sent, one for a hand-over the vendor rejected): without a way
to settle them, ``status`` would ask for action on them for ever. Who settled one, and why, is
kept beside it (and in custody).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("vendor_answer") as batch:
        batch.add_column(sa.Column("resolved_by", sa.String(length=128), nullable=True))
        batch.add_column(sa.Column("resolution", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("vendor_answer") as batch:
        batch.drop_column("resolution")
        batch.drop_column("resolved_by")
