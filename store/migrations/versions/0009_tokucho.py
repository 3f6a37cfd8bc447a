"""tokucho_taisho, tokucho_irai, tokucho_kekka, shuno: 特別徴収 with the 年金保険者 and 収納.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28

Code sets written out here, not imported from the models, so the revision stays frozen:
捕捉月 04/06/08/10/12/02 (LAYOUTS-EVIDENCE.md §4), 期 1–6 of 特別徴収, 依頼 status and the
result files Z13/Z14 (store/models/tokucho.py).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | None = None
depends_on: str | None = None


def _fk(table: str, column: str, target: str, target_column: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.{target_column}"],
                                   name=op.f(f"fk_{table}_{column}_{target}"))


def upgrade() -> None:
    ts = sa.DateTime(timezone=True)
    op.create_table(
        "tokucho_taisho",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("nendo", sa.Integer(), nullable=False),
        sa.Column("hosoku_month", sa.String(length=2), nullable=False),
        sa.Column("tsuchi_naiyo_code", sa.String(length=2), nullable=False),
        sa.Column("gimusha_code", sa.String(length=3), nullable=False),
        sa.Column("kiso_nenkin_no", sa.String(length=10), nullable=False),
        sa.Column("nenkin_code", sa.String(length=4), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("sex", sa.String(length=1), nullable=False),
        sa.Column("name_kana", sa.String(length=120), nullable=False),
        sa.Column("kingaku1", sa.Integer(), nullable=False),
        sa.Column("kingaku2", sa.Integer(), nullable=False),
        sa.Column("kingaku3", sa.Integer(), nullable=False),
        sa.Column("atena_no", sa.String(length=15), nullable=True),
        sa.Column("match_state", sa.String(length=10), nullable=False),
        sa.Column("transfer_id", sa.String(length=36), nullable=False),
        sa.Column("received_at", ts, nullable=False),
        sa.CheckConstraint("hosoku_month IN ('04', '06', '08', '10', '12', '02')",
                           name=op.f("ck_tokucho_taisho_hosoku_month_code")),
        sa.CheckConstraint("sex IN ('1', '2')", name=op.f("ck_tokucho_taisho_sex_code")),
        sa.CheckConstraint("match_state IN ('matched', 'unmatched', 'ambiguous')",
                           name=op.f("ck_tokucho_taisho_match_state_code")),
        sa.CheckConstraint("(match_state = 'matched') = (atena_no IS NOT NULL)",
                           name=op.f("ck_tokucho_taisho_matched_has_atena")),
        sa.CheckConstraint("kingaku1 >= 0 AND kingaku2 >= 0 AND kingaku3 >= 0",
                           name=op.f("ck_tokucho_taisho_kingaku_not_negative")),
        _fk("tokucho_taisho", "atena_no", "atena", "atena_no"),
        _fk("tokucho_taisho", "transfer_id", "transfer", "id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tokucho_taisho")),
        sa.UniqueConstraint("nendo", "kiso_nenkin_no", "nenkin_code", "hosoku_month",
                            name=op.f("uq_tokucho_taisho_nendo_kiso_nenkin_no_nenkin_code_hosoku_month")),
    )
    op.create_index(op.f("ix_tokucho_taisho_atena_no"), "tokucho_taisho", ["atena_no"])
    op.create_index(op.f("ix_tokucho_taisho_match_state_nendo"), "tokucho_taisho", ["match_state", "nendo"])

    op.create_table(
        "tokucho_irai",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("nendo", sa.Integer(), nullable=False),
        sa.Column("ki", sa.Integer(), nullable=False),
        sa.Column("atena_no", sa.String(length=15), nullable=False),
        sa.Column("hihokensha_no", sa.String(length=10), nullable=False),
        sa.Column("gimusha_code", sa.String(length=3), nullable=False),
        sa.Column("kiso_nenkin_no", sa.String(length=10), nullable=False),
        sa.Column("nenkin_code", sa.String(length=4), nullable=False),
        sa.Column("irai_amount", sa.Integer(), nullable=False),
        sa.Column("tsuchi_naiyo_code", sa.String(length=2), nullable=False),
        sa.Column("status", sa.String(length=10), server_default="pending", nullable=False),
        sa.Column("transfer_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", ts, nullable=False),
        sa.Column("updated_at", ts, nullable=False),
        sa.CheckConstraint("ki >= 1 AND ki <= 6", name=op.f("ck_tokucho_irai_ki_range")),
        sa.CheckConstraint("irai_amount >= 0", name=op.f("ck_tokucho_irai_irai_amount_not_negative")),
        sa.CheckConstraint("status IN ('pending', 'sent', 'accepted', 'rejected', 'deducted', 'stopped')",
                           name=op.f("ck_tokucho_irai_status_code")),
        sa.CheckConstraint("status = 'pending' OR transfer_id IS NOT NULL",
                           name=op.f("ck_tokucho_irai_sent_in_a_transfer")),
        _fk("tokucho_irai", "atena_no", "atena", "atena_no"),
        _fk("tokucho_irai", "transfer_id", "transfer", "id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tokucho_irai")),
        sa.UniqueConstraint("nendo", "ki", "atena_no", name=op.f("uq_tokucho_irai_nendo_ki_atena_no")),
    )
    op.create_index(op.f("ix_tokucho_irai_hihokensha_no"), "tokucho_irai", ["hihokensha_no"])
    op.create_index(op.f("ix_tokucho_irai_kiso_nenkin_no_nenkin_code_nendo"), "tokucho_irai",
                    ["kiso_nenkin_no", "nenkin_code", "nendo"])
    op.create_index(op.f("ix_tokucho_irai_status_nendo_ki"), "tokucho_irai", ["status", "nendo", "ki"])

    op.create_table(
        "tokucho_kekka",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("nendo", sa.Integer(), nullable=False),
        sa.Column("ki", sa.Integer(), nullable=False),
        sa.Column("kiso_nenkin_no", sa.String(length=10), nullable=False),
        sa.Column("nenkin_code", sa.String(length=4), nullable=False),
        sa.Column("irai_id", sa.Integer(), nullable=True),
        sa.Column("file_kind", sa.String(length=3), nullable=False),
        sa.Column("tsuchi_naiyo_code", sa.String(length=2), nullable=False),
        sa.Column("shori_kekka", sa.String(length=2), nullable=False),
        sa.Column("tenbiki_amount", sa.Integer(), nullable=True),
        sa.Column("teishi_jiyu", sa.String(length=4), nullable=True),
        sa.Column("teishi_date", sa.Date(), nullable=True),
        sa.Column("transfer_id", sa.String(length=36), nullable=False),
        sa.Column("received_at", ts, nullable=False),
        sa.CheckConstraint("ki >= 1 AND ki <= 6", name=op.f("ck_tokucho_kekka_ki_range")),
        sa.CheckConstraint("file_kind IN ('Z13', 'Z14')", name=op.f("ck_tokucho_kekka_file_kind_code")),
        sa.CheckConstraint("tenbiki_amount >= 0", name=op.f("ck_tokucho_kekka_tenbiki_amount_not_negative")),
        _fk("tokucho_kekka", "irai_id", "tokucho_irai", "id"),
        _fk("tokucho_kekka", "transfer_id", "transfer", "id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tokucho_kekka")),
        sa.UniqueConstraint("nendo", "ki", "kiso_nenkin_no", "nenkin_code", "tsuchi_naiyo_code",
                            name=op.f("uq_tokucho_kekka_per_notice")),
    )
    op.create_index(op.f("ix_tokucho_kekka_irai_id"), "tokucho_kekka", ["irai_id"])

    op.create_table(
        "shuno",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hihokensha_no", sa.String(length=10), nullable=False),
        sa.Column("nendo", sa.Integer(), nullable=False),
        sa.Column("ki", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("shuno_date", sa.Date(), nullable=False),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("source_key", sa.String(length=100), nullable=False),
        sa.Column("transfer_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", ts, nullable=False),
        sa.CheckConstraint("ki >= 1 AND ki <= 12", name=op.f("ck_shuno_ki_range")),
        sa.CheckConstraint("amount >= 0", name=op.f("ck_shuno_amount_not_negative")),
        sa.CheckConstraint("source IN ('tokucho', 'futsucho')", name=op.f("ck_shuno_source_code")),
        _fk("shuno", "transfer_id", "transfer", "id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shuno")),
        sa.UniqueConstraint("source_key", name=op.f("uq_shuno_source_key")),
    )
    op.create_index(op.f("ix_shuno_hihokensha_no_nendo_ki"), "shuno", ["hihokensha_no", "nendo", "ki"])


def downgrade() -> None:
    op.drop_index(op.f("ix_shuno_hihokensha_no_nendo_ki"), table_name="shuno")
    op.drop_table("shuno")
    op.drop_index(op.f("ix_tokucho_kekka_irai_id"), table_name="tokucho_kekka")
    op.drop_table("tokucho_kekka")
    op.drop_index(op.f("ix_tokucho_irai_status_nendo_ki"), table_name="tokucho_irai")
    op.drop_index(op.f("ix_tokucho_irai_kiso_nenkin_no_nenkin_code_nendo"), table_name="tokucho_irai")
    op.drop_index(op.f("ix_tokucho_irai_hihokensha_no"), table_name="tokucho_irai")
    op.drop_table("tokucho_irai")
    op.drop_index(op.f("ix_tokucho_taisho_match_state_nendo"), table_name="tokucho_taisho")
    op.drop_index(op.f("ix_tokucho_taisho_atena_no"), table_name="tokucho_taisho")
    op.drop_table("tokucho_taisho")
