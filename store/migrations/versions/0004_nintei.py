"""nintei: decided 要介護認定 (result notices now, 受給者 data for 国保連 later).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27

Code sets are the 国保連 interface values (LAYOUTS-EVIDENCE.md §5): 申請種別 1–4, 要介護状態区分
01 / 12–13 / 21–25. Written out here, not imported from the models, so the revision stays frozen.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "nintei",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hihokensha_no", sa.String(length=10), nullable=False),
        sa.Column("shinsei_date", sa.Date(), nullable=False),
        sa.Column("shinsei_kubun", sa.String(length=1), nullable=False),
        sa.Column("nintei_date", sa.Date(), nullable=False),
        sa.Column("yokaigo_kubun", sa.String(length=2), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=True),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("shinsakai_iken", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("shinsei_kubun IN ('1', '2', '3', '4')", name=op.f("ck_nintei_shinsei_kubun_code")),
        sa.CheckConstraint(
            "yokaigo_kubun IN ('01', '12', '13', '21', '22', '23', '24', '25')",
            name=op.f("ck_nintei_yokaigo_kubun_code"),
        ),
        sa.CheckConstraint("shinsei_date <= nintei_date", name=op.f("ck_nintei_decided_after_application")),
        sa.CheckConstraint("(valid_from IS NULL) = (valid_to IS NULL)", name=op.f("ck_nintei_valid_period_pair")),
        sa.CheckConstraint(
            "(yokaigo_kubun = '01') = (valid_from IS NULL)", name=op.f("ck_nintei_valid_period_unless_higaito")
        ),
        sa.CheckConstraint("valid_from <= valid_to", name=op.f("ck_nintei_valid_period_order")),
        sa.ForeignKeyConstraint(
            ["hihokensha_no"], ["shikaku.hihokensha_no"], name=op.f("fk_nintei_hihokensha_no_shikaku")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nintei")),
        sa.UniqueConstraint("hihokensha_no", "nintei_date", name=op.f("uq_nintei_hihokensha_no_nintei_date")),
    )
    op.create_index(op.f("ix_nintei_nintei_date"), "nintei", ["nintei_date"])


def downgrade() -> None:
    op.drop_index(op.f("ix_nintei_nintei_date"), table_name="nintei")
    op.drop_table("nintei")
