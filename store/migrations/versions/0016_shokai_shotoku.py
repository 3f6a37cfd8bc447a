"""shokai (情報照会 through the 中間サーバー) and shotoku (the income applied for 賦課).

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-26

A query's result is never a column: it is kept encrypted in the payload store (shokai.result_ref)
until retention purges it; shotoku keeps what 賦課 needs, naming the shokai it came from.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | None = None
depends_on: str | None = None

STATES = "'refused', 'pending', 'submitted', 'completed', 'failed', 'applied', 'purged'"


def upgrade() -> None:
    ts = sa.DateTime(timezone=True)
    op.create_table(
        "shokai",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("nendo", sa.Integer(), nullable=False),
        sa.Column("atena_no", sa.String(length=15), nullable=False),
        sa.Column("togo_atena_no", sa.String(length=15), nullable=False),
        sa.Column("provider_kikan", sa.String(length=16), nullable=False),
        sa.Column("jimu", sa.String(length=16), nullable=False),
        sa.Column("tetsuzuki", sa.String(length=16), nullable=False),
        sa.Column("tm", sa.String(length=16), nullable=False),
        sa.Column("basis", sa.String(length=200), nullable=True),
        sa.Column("idem_key", sa.String(length=36), nullable=False),
        sa.Column("query_id", sa.String(length=40), nullable=True),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("requested_by", sa.String(length=128), nullable=False),
        sa.Column("created_at", ts, nullable=False),
        sa.Column("submitted_at", ts, nullable=True),
        sa.Column("result_at", ts, nullable=True),
        sa.Column("result_ref", sa.String(length=200), nullable=True),
        sa.Column("result_sha256", sa.String(length=64), nullable=True),
        sa.Column("result_version", sa.String(length=4), nullable=True),
        sa.Column("applied_at", ts, nullable=True),
        sa.Column("purge_after", ts, nullable=True),
        sa.Column("purged_at", ts, nullable=True),
        sa.Column("purged_by", sa.String(length=128), nullable=True),
        sa.CheckConstraint(f"state IN ({STATES})", name=op.f("ck_shokai_state_code")),
        sa.ForeignKeyConstraint(["atena_no"], ["atena.atena_no"], name=op.f("fk_shokai_atena_no_atena")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shokai")),
        sa.UniqueConstraint("idem_key", name=op.f("uq_shokai_idem_key")),
    )
    op.create_index(op.f("ix_shokai_atena_no"), "shokai", ["atena_no"])
    op.create_index(op.f("ix_shokai_state"), "shokai", ["state"])
    op.create_table(
        "shotoku",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("nendo", sa.Integer(), nullable=False),
        sa.Column("atena_no", sa.String(length=15), nullable=False),
        sa.Column("kazei_kubun", sa.String(length=1), nullable=True),
        sa.Column("gokei_shotoku", sa.BigInteger(), nullable=True),
        sa.Column("nenkin_shunyu", sa.BigInteger(), nullable=True),
        sa.Column("shokai_id", sa.Integer(), nullable=False),
        sa.Column("applied_at", ts, nullable=False),
        sa.Column("applied_by", sa.String(length=128), nullable=False),
        sa.ForeignKeyConstraint(["atena_no"], ["atena.atena_no"], name=op.f("fk_shotoku_atena_no_atena")),
        sa.ForeignKeyConstraint(["shokai_id"], ["shokai.id"], name=op.f("fk_shotoku_shokai_id_shokai")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shotoku")),
        sa.UniqueConstraint("nendo", "atena_no", name=op.f("uq_shotoku_nendo_atena_no")),
    )
    op.create_index(op.f("ix_shotoku_shokai_id"), "shotoku", ["shokai_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_shotoku_shokai_id"), table_name="shotoku")
    op.drop_table("shotoku")
    op.drop_index(op.f("ix_shokai_state"), table_name="shokai")
    op.drop_index(op.f("ix_shokai_atena_no"), table_name="shokai")
    op.drop_table("shokai")
