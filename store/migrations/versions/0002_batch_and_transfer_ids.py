"""transfer.batch (a batch run's key, one transfer per part), outbox.transfer_id, and the relay's
index on the outbox in the order it claims rows.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26

A batch run of a flow for a period ("print.hokenryo/2026") is keyed so that running it again
resumes the parts a crash left undone instead of sending the same notices twice. The outbox
carries the transfer id of each event so that retries, dead letters and operator actions are
recorded on the transfer's custody chain without opening the encrypted body.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("transfer") as batch:
        batch.add_column(sa.Column("batch", sa.String(length=100), nullable=True))
        batch.create_unique_constraint(op.f("uq_transfer_batch_part_no"), ["batch", "part_no"])
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("transfer_id", sa.String(length=36), nullable=True))
    # The relay claims the oldest pending rows: without created_at in the index it sorts the
    # whole backlog on every claim, inside the write lock.
    op.drop_index(op.f("ix_outbox_status_id"), table_name="outbox")
    op.create_index(op.f("ix_outbox_status_created_at_id"), "outbox", ["status", "created_at", "id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_outbox_status_created_at_id"), table_name="outbox")
    op.create_index(op.f("ix_outbox_status_id"), "outbox", ["status", "id"])
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("transfer_id")
    with op.batch_alter_table("transfer") as batch:
        batch.drop_constraint(op.f("uq_transfer_batch_part_no"), type_="unique")
        batch.drop_column("batch")
