"""core store: atena, shikaku, fuka, fuka_kibetsu + runtime tables (outbox, inbox, transfer,
change_journal, custody_pending).

Revision ID: 0001
Revises:
Create Date: 2026-11-26

Written from autogenerate output and frozen: revisions never import the models, so a later
model change cannot rewrite history. Timestamps are ``DateTime(timezone=True)``; the models'
UtcDateTime decorator only adds the UTC conversion in Python.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def _ts(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _str(name: str, length: int, nullable: bool = False, **kw: object) -> sa.Column[object]:
    return sa.Column(name, sa.String(length=length), nullable=nullable, **kw)  # type: ignore[arg-type]


def upgrade() -> None:
    op.create_table(
        "atena",
        _str("atena_no", 15),
        _str("setai_no", 15),
        _str("name_kanji", 60),
        _str("name_kana", 120),
        sa.Column("birth_date", sa.Date(), nullable=False),
        _str("sex", 1),
        _str("postal_code", 7),
        _str("address", 200),
        _str("sofu_name", 60, nullable=True),
        _str("sofu_postal_code", 7, nullable=True),
        _str("sofu_address", 200, nullable=True),
        _str("sofu_status", 10, server_default="ok"),
        _str("kiso_nenkin_no", 10, nullable=True),
        _str("nenkin_code", 4, nullable=True),
        sa.Column("kojin_bango_enc", sa.LargeBinary(), nullable=True),
        _str("kojin_bango_index", 64, nullable=True),
        _ts("updated_at"),
        sa.CheckConstraint("sex IN ('1', '2')", name=op.f("ck_atena_sex_code")),
        sa.CheckConstraint(
            "(kojin_bango_enc IS NULL) = (kojin_bango_index IS NULL)",
            name=op.f("ck_atena_kojin_bango_pair"),
        ),
        sa.PrimaryKeyConstraint("atena_no", name=op.f("pk_atena")),
        sa.UniqueConstraint("kojin_bango_index", name=op.f("uq_atena_kojin_bango_index")),
    )
    op.create_index(op.f("ix_atena_setai_no"), "atena", ["setai_no"])

    op.create_table(
        "shikaku",
        sa.Column("id", sa.Integer(), nullable=False),
        _str("hihokensha_no", 10),
        _str("atena_no", 15),
        _str("hokensha_no", 6),
        _str("hihokensha_kubun", 1),
        sa.Column("shutoku_date", sa.Date(), nullable=False),
        _str("shutoku_jiyu", 2),
        sa.Column("soshitsu_date", sa.Date(), nullable=True),
        _str("soshitsu_jiyu", 2, nullable=True),
        _ts("updated_at"),
        sa.CheckConstraint("hihokensha_kubun IN ('1', '2')", name=op.f("ck_shikaku_hihokensha_kubun_code")),
        sa.ForeignKeyConstraint(["atena_no"], ["atena.atena_no"], name=op.f("fk_shikaku_atena_no_atena")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shikaku")),
        sa.UniqueConstraint("hihokensha_no", name=op.f("uq_shikaku_hihokensha_no")),
    )
    op.create_index(op.f("ix_shikaku_atena_no"), "shikaku", ["atena_no"])

    op.create_table(
        "fuka",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("nendo", sa.Integer(), nullable=False),
        _str("atena_no", 15),
        _str("hihokensha_no", 10),
        sa.Column("dankai", sa.Integer(), nullable=False),
        sa.Column("nengaku", sa.Integer(), nullable=False),
        _str("choshu_kubun", 8),
        sa.Column("nenkin_nengaku", sa.Integer(), nullable=True),
        _ts("updated_at"),
        sa.CheckConstraint("choshu_kubun IN ('tokucho', 'futsucho')", name=op.f("ck_fuka_choshu_kubun_code")),
        sa.CheckConstraint("dankai >= 1", name=op.f("ck_fuka_dankai_positive")),
        sa.CheckConstraint("nengaku >= 0", name=op.f("ck_fuka_nengaku_not_negative")),
        sa.ForeignKeyConstraint(["atena_no"], ["atena.atena_no"], name=op.f("fk_fuka_atena_no_atena")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fuka")),
        sa.UniqueConstraint("nendo", "atena_no", name=op.f("uq_fuka_nendo_atena_no")),
    )
    op.create_index(op.f("ix_fuka_atena_no"), "fuka", ["atena_no"])
    op.create_index(op.f("ix_fuka_hihokensha_no"), "fuka", ["hihokensha_no"])

    op.create_table(
        "fuka_kibetsu",
        sa.Column("fuka_id", sa.Integer(), nullable=False),
        sa.Column("ki", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.CheckConstraint("amount >= 0", name=op.f("ck_fuka_kibetsu_amount_not_negative")),
        sa.CheckConstraint("ki >= 1 AND ki <= 12", name=op.f("ck_fuka_kibetsu_ki_range")),
        sa.ForeignKeyConstraint(["fuka_id"], ["fuka.id"], name=op.f("fk_fuka_kibetsu_fuka_id_fuka")),
        sa.PrimaryKeyConstraint("fuka_id", "ki", name=op.f("pk_fuka_kibetsu")),
    )

    op.create_table(
        "outbox",
        _str("id", 36),
        _str("route", 64),
        _str("kind", 64),
        _str("key", 64),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        _ts("created_at"),
        _str("status", 16, server_default="pending"),
        _str("claimed_by", 64, nullable=True),
        _ts("claimed_until", nullable=True),
        _ts("published_at", nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
    )
    op.create_index(op.f("ix_outbox_status_id"), "outbox", ["status", "id"])

    op.create_table(
        "inbox",
        _str("consumer", 64),
        _str("message_id", 64),
        _ts("processed_at"),
        sa.PrimaryKeyConstraint("consumer", "message_id", name=op.f("pk_inbox")),
    )

    op.create_table(
        "transfer",
        _str("id", 36),
        _str("flow", 64),
        _str("partner", 64),
        _str("direction", 3),
        _str("layout", 64, nullable=True),
        _str("layout_version", 32, nullable=True),
        sa.Column("record_count", sa.Integer(), nullable=True),
        _str("sha256", 64),
        sa.Column("size", sa.BigInteger(), nullable=False),
        _str("key_id", 64),
        _str("payload_ref", 255),
        _str("state", 16),
        sa.Column("part_no", sa.Integer(), nullable=True),
        sa.Column("part_count", sa.Integer(), nullable=True),
        _ts("created_at"),
        _ts("updated_at"),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.CheckConstraint("direction IN ('out', 'in')", name=op.f("ck_transfer_direction_code")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transfer")),
    )
    op.create_index(op.f("ix_transfer_state"), "transfer", ["state"])

    op.create_table(
        "change_journal",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        _str("event_id", 36),
        _str("entity", 32),
        _str("entity_key", 64),
        _str("kind", 16),
        _ts("occurred_at"),
        _ts("applied_at"),
        sa.CheckConstraint(
            "kind IN ('created', 'changed', 'ended')", name=op.f("ck_change_journal_kind_code")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_change_journal")),
        sa.UniqueConstraint("event_id", name=op.f("uq_change_journal_event_id")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_change_journal_entity_id"), "change_journal", ["entity", "id"])

    op.create_table(
        "custody_pending",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        _str("id", 200),
        _ts("at"),
        _str("transfer_id", 128, nullable=True),
        _str("event", 32),
        _str("actor", 128),
        _str("partner", 64, nullable=True),
        sa.Column("record_count", sa.BigInteger(), nullable=True),
        _str("sha256", 64, nullable=True),
        _str("key_id", 64, nullable=True),
        _str("basis", 200, nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_custody_pending")),
        sa.UniqueConstraint("id", name=op.f("uq_custody_pending_id")),
        sqlite_autoincrement=True,
    )


def downgrade() -> None:
    for table in (
        "custody_pending", "change_journal", "transfer", "inbox", "outbox",
        "fuka_kibetsu", "fuka", "shikaku", "atena",
    ):  # fmt: skip
        op.drop_table(table)
