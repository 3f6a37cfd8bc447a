"""Indexes on atena for 年金特徴 matching: by 基礎年金番号, and by 生年月日 + 性別.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26

A Z11 file is matched a chunk of records at a time (adapters/nenkin/match.py): the 宛名 with the
chunk's 基礎年金番号, and for those without one the 宛名 born the same day with the same 性別
(the suggestions for an operator). Without these indexes each chunk scanned the whole table.
"""

from __future__ import annotations

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_index(op.f("ix_atena_kiso_nenkin_no"), "atena", ["kiso_nenkin_no"])
    op.create_index(op.f("ix_atena_birth_date_sex"), "atena", ["birth_date", "sex"])


def downgrade() -> None:
    op.drop_index(op.f("ix_atena_birth_date_sex"), table_name="atena")
    op.drop_index(op.f("ix_atena_kiso_nenkin_no"), table_name="atena")
