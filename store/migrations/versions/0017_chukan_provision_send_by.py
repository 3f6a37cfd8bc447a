"""chukan_provision: who a decided answer/refusal is sent as, and the day its data is of.

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-26

The 中間サーバー answers a reused idempotency key with the first answer only when the body is the
same; a resend by another operator (RequestedBy) or on another day (the items) would be a fault.
Both are fixed with the key when the send is decided.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("chukan_provision") as batch:
        batch.add_column(sa.Column("send_by", sa.String(length=128), nullable=True))
        batch.add_column(sa.Column("send_on", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("chukan_provision") as batch:
        batch.drop_column("send_on")
        batch.drop_column("send_by")
