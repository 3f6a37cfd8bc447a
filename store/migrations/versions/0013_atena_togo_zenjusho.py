"""atena: 団体内統合宛名番号 (how the 中間サーバー knows the person) and 転入前住所地の機関コード.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-26

The 中間サーバー never sees 宛名番号 alone or 個人番号: replicas, queries and provisions name the
person by 団体内統合宛名番号, unique per person. A 転入者's previous municipality is whom the
income query (地方税関係情報) asks.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("atena") as batch:
        batch.add_column(sa.Column("togo_atena_no", sa.String(length=15), nullable=True))
        batch.add_column(sa.Column("zenjusho_kikan_code", sa.String(length=16), nullable=True))
        batch.create_unique_constraint(op.f("uq_atena_togo_atena_no"), ["togo_atena_no"])


def downgrade() -> None:
    with op.batch_alter_table("atena") as batch:
        batch.drop_constraint(op.f("uq_atena_togo_atena_no"), type_="unique")
        batch.drop_column("zenjusho_kikan_code")
        batch.drop_column("togo_atena_no")
