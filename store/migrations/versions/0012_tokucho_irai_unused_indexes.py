"""tokucho_irai without two indexes no query uses: by 被保険者番号, and by status + 年度 + 期.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-26

Every query of the 依頼 names the 年度 and 期 (the unique key 年度 + 期 + 宛名番号 serves them) or
the pension (results); none starts from the 被保険者番号 or the status. Each index cost its share
of a July Z12's writes: 900,000 依頼 inserted and then marked sent for 300,000 people (the
被保険者番号 one, in no useful order, about a third of the insert).
"""

from __future__ import annotations

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.drop_index(op.f("ix_tokucho_irai_status_nendo_ki"), table_name="tokucho_irai")
    op.drop_index(op.f("ix_tokucho_irai_hihokensha_no"), table_name="tokucho_irai")


def downgrade() -> None:
    op.create_index(op.f("ix_tokucho_irai_hihokensha_no"), "tokucho_irai", ["hihokensha_no"])
    op.create_index(op.f("ix_tokucho_irai_status_nendo_ki"), "tokucho_irai", ["status", "nendo", "ki"])
