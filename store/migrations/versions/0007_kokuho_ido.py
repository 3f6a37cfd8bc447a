"""kokuho_ido + kokuho_ido_file: the 受給者異動連絡票 (5311) records sent to the 国保連.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27

Code sets (LAYOUTS-EVIDENCE.md §5 and the vendor's JukyushaIF_TeiseiKubunCode): 異動区分 1–3,
訂正区分 2 修正 / 3 削除. Written out here, not imported from the models, so the revision stays frozen.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    ts = sa.DateTime(timezone=True)
    op.create_table(
        "kokuho_ido_file",
        sa.Column("transfer_id", sa.String(length=36), nullable=False),
        sa.Column("shori_ym", sa.String(length=6), nullable=False),
        sa.Column("file_no", sa.Integer(), nullable=False),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.Column("recorded_at", ts, nullable=False),
        sa.ForeignKeyConstraint(["transfer_id"], ["transfer.id"], name=op.f("fk_kokuho_ido_file_transfer_id_transfer")),
        sa.PrimaryKeyConstraint("transfer_id", name=op.f("pk_kokuho_ido_file")),
    )
    op.create_index(op.f("ix_kokuho_ido_file_shori_ym"), "kokuho_ido_file", ["shori_ym"])
    op.create_table(
        "kokuho_ido",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hihokensha_no", sa.String(length=10), nullable=False),
        sa.Column("shori_ym", sa.String(length=6), nullable=False),
        sa.Column("transfer_id", sa.String(length=36), nullable=True),
        sa.Column("record_no", sa.Integer(), nullable=True),
        sa.Column("ido_ymd", sa.Date(), nullable=False),
        sa.Column("ido_kubun", sa.String(length=1), nullable=False),
        sa.Column("teisei_kubun", sa.String(length=1), nullable=True),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("nintei_end_ymd", sa.Date(), nullable=True),
        sa.Column("ido_values", sa.Text(), nullable=False),
        sa.Column("created_at", ts, nullable=False),
        sa.CheckConstraint("ido_kubun IN ('1', '2', '3')", name=op.f("ck_kokuho_ido_ido_kubun_code")),
        sa.CheckConstraint("teisei_kubun IN ('2', '3')", name=op.f("ck_kokuho_ido_teisei_kubun_code")),
        sa.CheckConstraint("state IN ('reported', 'pending')", name=op.f("ck_kokuho_ido_state_code")),
        sa.CheckConstraint("(state = 'reported') = (transfer_id IS NOT NULL)",
                           name=op.f("ck_kokuho_ido_reported_in_a_transfer")),
        sa.ForeignKeyConstraint(["transfer_id"], ["transfer.id"], name=op.f("fk_kokuho_ido_transfer_id_transfer")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kokuho_ido")),
        sa.UniqueConstraint("transfer_id", "record_no", name=op.f("uq_kokuho_ido_transfer_id_record_no")),
    )
    op.create_index(op.f("ix_kokuho_ido_hihokensha_no_id"), "kokuho_ido", ["hihokensha_no", "id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_kokuho_ido_hihokensha_no_id"), table_name="kokuho_ido")
    op.drop_table("kokuho_ido")
    op.drop_index(op.f("ix_kokuho_ido_file_shori_ym"), table_name="kokuho_ido_file")
    op.drop_table("kokuho_ido_file")
