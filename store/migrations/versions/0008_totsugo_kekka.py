"""totsugo_kekka: the 受給者台帳突合結果 records the 国保連 returns.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "totsugo_kekka",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("transfer_id", sa.String(length=36), nullable=False),
        sa.Column("shori_ym", sa.String(length=6), nullable=False),
        sa.Column("hihokensha_no", sa.String(length=10), nullable=False),
        sa.Column("kekka_kubun", sa.String(length=20), nullable=True),
        sa.Column("joho_kubun", sa.String(length=20), nullable=True),
        sa.Column("ido_ymd", sa.Date(), nullable=False),
        sa.Column("ido_kubun", sa.String(length=1), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("record", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["transfer_id"], ["transfer.id"], name=op.f("fk_totsugo_kekka_transfer_id_transfer")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_totsugo_kekka")),
        sa.UniqueConstraint("shori_ym", "digest", name=op.f("uq_totsugo_kekka_shori_ym_digest")),
    )
    op.create_index(op.f("ix_totsugo_kekka_hihokensha_no"), "totsugo_kekka", ["hihokensha_no"])


def downgrade() -> None:
    op.drop_index(op.f("ix_totsugo_kekka_hihokensha_no"), table_name="totsugo_kekka")
    op.drop_table("totsugo_kekka")
