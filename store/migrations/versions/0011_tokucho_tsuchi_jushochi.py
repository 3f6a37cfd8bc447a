"""tokucho_tsuchi (the Z1A's 41/81 notices and their answers), jushochi_tokurei (住所地特例
periods), and tokucho_kekka answering them: tsuchi_id, and 各種区分 in its unique key.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29

A Z1A answer (Z14 32/42/62/82) is one tokucho_kekka row like any result; a 42/82 answers a notice
that asks no amount, so the notices a Z1A carried are kept (tokucho_tsuchi) for it to point at.
A 住所地特例 該当 and its 解除 can fall in one 期: 各種区分 joins the unique key, "" for the rows
that had none (Z13, 天引結果), so those keep their key. Codes written out here, not imported.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | None = None
depends_on: str | None = None

KEKKA_KEY = ["nendo", "ki", "kiso_nenkin_no", "nenkin_code", "tsuchi_naiyo_code"]


def _fk(table: str, column: str, target: str, target_column: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint([column], [f"{target}.{target_column}"],
                                   name=op.f(f"fk_{table}_{column}_{target}"))


def upgrade() -> None:
    ts = sa.DateTime(timezone=True)
    op.create_table(
        "tokucho_tsuchi",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("nendo", sa.Integer(), nullable=False),
        sa.Column("tsuchi_naiyo_code", sa.String(length=2), nullable=False),
        sa.Column("gimusha_code", sa.String(length=3), nullable=False),
        sa.Column("kiso_nenkin_no", sa.String(length=10), nullable=False),
        sa.Column("nenkin_code", sa.String(length=4), nullable=False),
        sa.Column("atena_no", sa.String(length=15), nullable=True),
        sa.Column("kakushu_kubun", sa.String(length=2), nullable=False),
        sa.Column("kakushu_date", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=10), server_default="sent", nullable=False),
        sa.Column("transfer_id", sa.String(length=36), nullable=False),
        sa.Column("created_at", ts, nullable=False),
        sa.Column("updated_at", ts, nullable=False),
        sa.CheckConstraint("tsuchi_naiyo_code IN ('41', '81')",
                           name=op.f("ck_tokucho_tsuchi_tsuchi_naiyo_code_code")),
        sa.CheckConstraint("status IN ('sent', 'accepted', 'rejected')", name=op.f("ck_tokucho_tsuchi_status_code")),
        _fk("tokucho_tsuchi", "atena_no", "atena", "atena_no"),
        _fk("tokucho_tsuchi", "transfer_id", "transfer", "id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tokucho_tsuchi")),
        sa.UniqueConstraint("transfer_id", "kiso_nenkin_no", "nenkin_code",
                            name=op.f("uq_tokucho_tsuchi_transfer_id_kiso_nenkin_no_nenkin_code")),
    )
    op.create_index(op.f("ix_tokucho_tsuchi_atena_no"), "tokucho_tsuchi", ["atena_no"])
    op.create_index(op.f("ix_tokucho_tsuchi_kiso_nenkin_no_nenkin_code"), "tokucho_tsuchi",
                    ["kiso_nenkin_no", "nenkin_code"])
    op.create_index(op.f("ix_tokucho_tsuchi_tsuchi_naiyo_code_nendo"), "tokucho_tsuchi",
                    ["tsuchi_naiyo_code", "nendo"])

    op.create_table(
        "jushochi_tokurei",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("atena_no", sa.String(length=15), nullable=False),
        sa.Column("tekiyo_date", sa.Date(), nullable=False),
        sa.Column("tekiyo_jiyu", sa.String(length=2), nullable=False),
        sa.Column("kaijo_date", sa.Date(), nullable=True),
        sa.Column("kaijo_jiyu", sa.String(length=2), nullable=True),
        sa.Column("shisetsu_hokensha_no", sa.String(length=6), nullable=True),
        sa.Column("updated_at", ts, nullable=False),
        sa.CheckConstraint("kaijo_date IS NULL OR kaijo_date >= tekiyo_date",
                           name=op.f("ck_jushochi_tokurei_kaijo_after_tekiyo")),
        _fk("jushochi_tokurei", "atena_no", "atena", "atena_no"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jushochi_tokurei")),
        sa.UniqueConstraint("atena_no", "tekiyo_date", name=op.f("uq_jushochi_tokurei_atena_no_tekiyo_date")),
    )
    op.create_index(op.f("ix_jushochi_tokurei_atena_no"), "jushochi_tokurei", ["atena_no"])

    with op.batch_alter_table("tokucho_kekka") as batch:
        batch.add_column(sa.Column("tsuchi_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("kakushu_kubun", sa.String(length=2), server_default=sa.text("''"), nullable=False))
        batch.create_foreign_key(op.f("fk_tokucho_kekka_tsuchi_id_tokucho_tsuchi"), "tokucho_tsuchi",
                                 ["tsuchi_id"], ["id"])
        batch.create_index(op.f("ix_tokucho_kekka_tsuchi_id"), ["tsuchi_id"])
        batch.drop_constraint(op.f("uq_tokucho_kekka_per_notice"), type_="unique")
        batch.create_unique_constraint(op.f("uq_tokucho_kekka_per_notice"), [*KEKKA_KEY, "kakushu_kubun"])


def downgrade() -> None:
    # Rows that differ only in 各種区分 (a 該当 and its 解除 of one 期) cannot keep the old key:
    # the later one goes, as it would not have been stored under 0010.
    op.execute("DELETE FROM tokucho_kekka WHERE id NOT IN (SELECT MIN(id) FROM tokucho_kekka GROUP BY "
               "nendo, ki, kiso_nenkin_no, nenkin_code, tsuchi_naiyo_code)")
    with op.batch_alter_table("tokucho_kekka") as batch:
        batch.drop_constraint(op.f("uq_tokucho_kekka_per_notice"), type_="unique")
        batch.create_unique_constraint(op.f("uq_tokucho_kekka_per_notice"), KEKKA_KEY)
        batch.drop_index(op.f("ix_tokucho_kekka_tsuchi_id"))
        batch.drop_constraint(op.f("fk_tokucho_kekka_tsuchi_id_tokucho_tsuchi"), type_="foreignkey")
        batch.drop_column("kakushu_kubun")
        batch.drop_column("tsuchi_id")
    op.drop_index(op.f("ix_jushochi_tokurei_atena_no"), table_name="jushochi_tokurei")
    op.drop_table("jushochi_tokurei")
    op.drop_index(op.f("ix_tokucho_tsuchi_tsuchi_naiyo_code_nendo"), table_name="tokucho_tsuchi")
    op.drop_index(op.f("ix_tokucho_tsuchi_kiso_nenkin_no_nenkin_code"), table_name="tokucho_tsuchi")
    op.drop_index(op.f("ix_tokucho_tsuchi_atena_no"), table_name="tokucho_tsuchi")
    op.drop_table("tokucho_tsuchi")
