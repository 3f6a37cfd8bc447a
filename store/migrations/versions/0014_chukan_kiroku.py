"""teikyo_kiroku, chukan_provision, chukan_approval: the 提供等記録 and the guarded provision.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-26

The PIA promises a record of every 情報照会, 情報提供 and refusal kept 7 years, and that a
自動応答不可 provision waits for a second operator. Codes only: no item value is stored.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    ts = sa.DateTime(timezone=True)
    op.create_table(
        "teikyo_kiroku",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", ts, nullable=False),
        sa.Column("direction", sa.String(length=10), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("atena_no", sa.String(length=15), nullable=True),
        sa.Column("togo_atena_no", sa.String(length=15), nullable=True),
        sa.Column("counterpart_kikan", sa.String(length=16), nullable=False),
        sa.Column("jimu", sa.String(length=16), nullable=True),
        sa.Column("tetsuzuki", sa.String(length=16), nullable=False),
        sa.Column("tm", sa.String(length=16), nullable=False),
        sa.Column("basis", sa.String(length=200), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("actor", sa.String(length=128), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=True),
        sa.Column("keep_until", ts, nullable=False),
        sa.CheckConstraint("direction IN ('query', 'provision')", name=op.f("ck_teikyo_kiroku_direction_code")),
        sa.CheckConstraint("atena_no IS NOT NULL OR togo_atena_no IS NOT NULL",
                           name=op.f("ck_teikyo_kiroku_person_named")),
        sa.CheckConstraint("basis IS NOT NULL OR reason IS NOT NULL", name=op.f("ck_teikyo_kiroku_basis_or_reason")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_teikyo_kiroku")),
    )
    for column in ("atena_no", "togo_atena_no", "reference", "keep_until"):
        op.create_index(op.f(f"ix_teikyo_kiroku_{column}"), "teikyo_kiroku", [column])
    op.create_table(
        "chukan_provision",
        sa.Column("request_id", sa.String(length=40), nullable=False),
        sa.Column("togo_atena_no", sa.String(length=15), nullable=False),
        sa.Column("atena_no", sa.String(length=15), nullable=True),
        sa.Column("querying_kikan", sa.String(length=16), nullable=False),
        sa.Column("jimu", sa.String(length=16), nullable=True),
        sa.Column("tetsuzuki", sa.String(length=16), nullable=False),
        sa.Column("tm", sa.String(length=16), nullable=False),
        sa.Column("requested_at", ts, nullable=False),
        sa.Column("seen_at", ts, nullable=False),
        sa.Column("basis", sa.String(length=200), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("decision", sa.String(length=10), nullable=False),
        sa.Column("send_key", sa.String(length=36), nullable=True),
        sa.Column("send_action", sa.String(length=10), nullable=True),
        sa.Column("sent_at", ts, nullable=True),
        sa.CheckConstraint("decision IN ('answer', 'refuse', 'hold')", name=op.f("ck_chukan_provision_decision_code")),
        sa.PrimaryKeyConstraint("request_id", name=op.f("pk_chukan_provision")),
    )
    op.create_index(op.f("ix_chukan_provision_sent_at"), "chukan_provision", ["sent_at"])
    op.create_table(
        "chukan_approval",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("request_id", sa.String(length=40), nullable=False),
        sa.Column("state", sa.String(length=10), server_default="held", nullable=False),
        sa.Column("held_by", sa.String(length=128), nullable=False),
        sa.Column("held_at", ts, nullable=False),
        sa.Column("decided_by", sa.String(length=128), nullable=True),
        sa.Column("decided_at", ts, nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.CheckConstraint("state IN ('held', 'approved', 'rejected', 'answered', 'refused')",
                           name=op.f("ck_chukan_approval_state_code")),
        sa.CheckConstraint("decided_by IS NULL OR decided_by <> held_by", name=op.f("ck_chukan_approval_four_eyes")),
        sa.ForeignKeyConstraint(["request_id"], ["chukan_provision.request_id"],
                                name=op.f("fk_chukan_approval_request_id_chukan_provision")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chukan_approval")),
        sa.UniqueConstraint("request_id", name=op.f("uq_chukan_approval_request_id")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_chukan_approval_state"), "chukan_approval", ["state"])


def downgrade() -> None:
    op.drop_index(op.f("ix_chukan_approval_state"), table_name="chukan_approval")
    op.drop_table("chukan_approval")
    op.drop_index(op.f("ix_chukan_provision_sent_at"), table_name="chukan_provision")
    op.drop_table("chukan_provision")
    for column in ("keep_until", "reference", "togo_atena_no", "atena_no"):
        op.drop_index(op.f(f"ix_teikyo_kiroku_{column}"), table_name="teikyo_kiroku")
    op.drop_table("teikyo_kiroku")
