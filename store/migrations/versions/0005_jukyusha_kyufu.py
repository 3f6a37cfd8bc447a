"""jukyusha + kyufu: 受給者 data for the 5311 受給者異動連絡票, 給付実績 from the 国保連.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26

Code sets (LAYOUTS-EVIDENCE.md §1, §5): 負担割合 1–3, 支給限度額 要介護状態区分 06/12–13/21–25,
居宅サービス計画作成区分 1–4 (受給者IF), 給付実績情報作成区分 1–3, 給付実績区分 1–2, 明細 D1/DD.
Written out here, not imported from the models, so the revision stays frozen.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None

_PERIOD_TABLES = ("futan_wariai", "shikyu_gendogaku", "kyotaku_keikaku", "futan_gendogaku")


def _period_table(name: str, *items: sa.schema.SchemaItem) -> None:
    """A 受給者 table: id, 被保険者番号 (FK), its own columns, 適用期間, updated_at."""
    op.create_table(
        name,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hihokensha_no", sa.String(length=10), nullable=False),
        *items,
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("valid_from <= valid_to", name=op.f(f"ck_{name}_valid_period_order")),
        sa.ForeignKeyConstraint(
            ["hihokensha_no"], ["shikaku.hihokensha_no"], name=op.f(f"fk_{name}_hihokensha_no_shikaku")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{name}")),
        sa.UniqueConstraint("hihokensha_no", "valid_from", name=op.f(f"uq_{name}_hihokensha_no_valid_from")),
    )


def upgrade() -> None:
    _period_table(
        "futan_wariai",
        sa.Column("wariai", sa.Integer(), nullable=False),
        sa.CheckConstraint("wariai IN (1, 2, 3)", name=op.f("ck_futan_wariai_wariai_code")),
    )
    _period_table(
        "shikyu_gendogaku",
        sa.Column("yokaigo_kubun", sa.String(length=2), nullable=False),
        sa.Column("gendo_tani", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "yokaigo_kubun IN ('06', '12', '13', '21', '22', '23', '24', '25')",
            name=op.f("ck_shikyu_gendogaku_yokaigo_kubun_code"),
        ),
        sa.CheckConstraint("gendo_tani > 0", name=op.f("ck_shikyu_gendogaku_gendo_tani_positive")),
    )
    _period_table(
        "kyotaku_keikaku",
        sa.Column("sakusei_kubun", sa.String(length=1), nullable=False),
        sa.Column("jigyosho_no", sa.String(length=10), nullable=True),
        sa.CheckConstraint("sakusei_kubun IN ('1', '2', '3', '4')", name=op.f("ck_kyotaku_keikaku_sakusei_kubun_code")),
        sa.CheckConstraint(
            "(sakusei_kubun = '3') = (jigyosho_no IS NULL)", name=op.f("ck_kyotaku_keikaku_jigyosho_unless_jiko")
        ),
        sa.CheckConstraint("length(jigyosho_no) = 10", name=op.f("ck_kyotaku_keikaku_jigyosho_no_length")),
    )
    limits = ("shokuhi", "unit_koshitsu", "unit_junkoshitsu", "juraigata_tokuyo", "juraigata_roken", "tashoshitsu")
    _period_table(
        "futan_gendogaku",
        *(sa.Column(c, sa.Integer(), nullable=False) for c in limits),
        sa.CheckConstraint(
            "shokuhi >= 0 AND unit_koshitsu >= 0 AND unit_junkoshitsu >= 0 AND juraigata_tokuyo >= 0"
            " AND juraigata_roken >= 0 AND tashoshitsu >= 0",
            name=op.f("ck_futan_gendogaku_limits_not_negative"),
        ),
    )
    op.create_table(
        "kyufu_jisseki",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kokan_shikibetsu_no", sa.String(length=4), nullable=False),
        sa.Column("sakusei_kubun", sa.String(length=1), nullable=False),
        sa.Column("shokisai_hokensha_no", sa.String(length=6), nullable=False),
        sa.Column("hihokensha_no", sa.String(length=10), nullable=False),
        sa.Column("service_ym", sa.String(length=6), nullable=False),
        sa.Column("jisseki_kubun", sa.String(length=1), nullable=False),
        sa.Column("jigyosho_no", sa.String(length=10), nullable=False),
        sa.Column("seiri_no", sa.String(length=10), nullable=False),
        sa.Column("yokaigo_kubun", sa.String(length=2), nullable=True),
        sa.Column("shinsa_ym", sa.String(length=6), nullable=False),
        sa.Column("tanisu", sa.Integer(), nullable=False),
        sa.Column("seikyu_gaku", sa.Integer(), nullable=False),
        sa.Column("riyosha_futan", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("sakusei_kubun IN ('1', '2', '3')", name=op.f("ck_kyufu_jisseki_sakusei_kubun_code")),
        sa.CheckConstraint("jisseki_kubun IN ('1', '2')", name=op.f("ck_kyufu_jisseki_jisseki_kubun_code")),
        sa.CheckConstraint("length(service_ym) = 6 AND length(shinsa_ym) = 6", name=op.f("ck_kyufu_jisseki_ym_shape")),
        sa.CheckConstraint(
            "tanisu >= 0 AND seikyu_gaku >= 0 AND riyosha_futan >= 0",
            name=op.f("ck_kyufu_jisseki_totals_not_negative"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kyufu_jisseki")),
        sa.UniqueConstraint(
            "kokan_shikibetsu_no",
            "service_ym",
            "jigyosho_no",
            "hihokensha_no",
            "seiri_no",
            "sakusei_kubun",
            "shinsa_ym",
            name=op.f("uq_kyufu_jisseki_natural_key"),
        ),
    )
    op.create_index(op.f("ix_kyufu_jisseki_hihokensha_no_service_ym"), "kyufu_jisseki", ["hihokensha_no", "service_ym"])
    op.create_table(
        "kyufu_meisai",
        sa.Column("jisseki_id", sa.Integer(), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("record_kind", sa.String(length=2), nullable=False),
        sa.Column("service_shurui", sa.String(length=2), nullable=False),
        sa.Column("service_komoku", sa.String(length=4), nullable=False),
        sa.Column("tanisu", sa.Integer(), nullable=False),
        sa.Column("kaisu", sa.Integer(), nullable=False),
        sa.Column("service_tanisu", sa.Integer(), nullable=False),
        sa.Column("tekiyo", sa.String(length=40), nullable=True),
        sa.CheckConstraint("record_kind IN ('D1', 'DD')", name=op.f("ck_kyufu_meisai_record_kind_code")),
        sa.CheckConstraint(
            "tanisu >= 0 AND kaisu >= 0 AND service_tanisu >= 0", name=op.f("ck_kyufu_meisai_amounts_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["jisseki_id"], ["kyufu_jisseki.id"], name=op.f("fk_kyufu_meisai_jisseki_id_kyufu_jisseki")
        ),
        sa.PrimaryKeyConstraint("jisseki_id", "line_no", name=op.f("pk_kyufu_meisai")),
    )
    op.create_table(
        "kyufu_shukei",
        sa.Column("jisseki_id", sa.Integer(), nullable=False),
        sa.Column("service_shurui", sa.String(length=2), nullable=False),
        sa.Column("jitsunissu", sa.Integer(), nullable=False),
        sa.Column("tanisu_total", sa.Integer(), nullable=False),
        sa.Column("seikyu_gaku", sa.Integer(), nullable=False),
        sa.Column("riyosha_futan", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "jitsunissu >= 0 AND tanisu_total >= 0 AND seikyu_gaku >= 0 AND riyosha_futan >= 0",
            name=op.f("ck_kyufu_shukei_totals_not_negative"),
        ),
        sa.ForeignKeyConstraint(
            ["jisseki_id"], ["kyufu_jisseki.id"], name=op.f("fk_kyufu_shukei_jisseki_id_kyufu_jisseki")
        ),
        sa.PrimaryKeyConstraint("jisseki_id", "service_shurui", name=op.f("pk_kyufu_shukei")),
    )


def downgrade() -> None:
    op.drop_table("kyufu_shukei")
    op.drop_table("kyufu_meisai")
    op.drop_index(op.f("ix_kyufu_jisseki_hihokensha_no_service_ym"), table_name="kyufu_jisseki")
    op.drop_table("kyufu_jisseki")
    for name in reversed(_PERIOD_TABLES):
        op.drop_table(name)
