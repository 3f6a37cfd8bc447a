"""給付実績 received from the 国保連 (データ種別 111; LAYOUTS-EVIDENCE.md §1).

One 給付実績 = one H1 基本 record with its D1/DD 明細 and T1 集計 records. The header keeps the
H1 key and the 決定後 保険 totals; 明細 and 集計 lines hang off it.

The natural key is what identifies the record in the file: 交換情報識別番号, サービス提供年月,
事業所番号, 被保険者番号, 整理番号, plus 給付実績情報作成区分 and 審査年月 — a 修正 or 取消 of
the same claim arrives later with another 作成区分 / 審査年月 and must be kept as its own row,
not swallowed as a duplicate. The same record delivered twice has the same key: one row.

被保険者番号 has no foreign key: the 国保連 reports what it paid, and a 給付実績 for a person the
store does not (yet) know is a finding to report, not a row to refuse.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from store.models.base import Base, utcnow

SAKUSEI_SHINKI, SAKUSEI_SHUSEI, SAKUSEI_TORIKESHI = "1", "2", "3"  # 給付実績情報作成区分 [CODE]
JISSEKI_GENBUTSU, JISSEKI_SHOKAN = "1", "2"  # 給付実績区分: 現物 / 償還 [CODE]
MEISAI_KINDS = ("D1", "DD")  # 明細, 明細(住所地特例)
NATURAL_KEY = (
    "kokan_shikibetsu_no", "service_ym", "jigyosho_no", "hihokensha_no", "seiri_no", "sakusei_kubun",
    "shinsa_ym",
)  # fmt: skip


class KyufuJisseki(Base):
    """給付実績 基本 (H1) with its 決定後 保険 totals."""

    __tablename__ = "kyufu_jisseki"
    __table_args__ = (
        # Named by hand: the convention's name would pass PostgreSQL's 63-character limit.
        UniqueConstraint(*NATURAL_KEY, name="uq_kyufu_jisseki_natural_key"),
        CheckConstraint("sakusei_kubun IN ('1', '2', '3')", name="sakusei_kubun_code"),
        CheckConstraint("jisseki_kubun IN ('1', '2')", name="jisseki_kubun_code"),
        CheckConstraint("length(service_ym) = 6 AND length(shinsa_ym) = 6", name="ym_shape"),
        CheckConstraint("tanisu >= 0 AND seikyu_gaku >= 0 AND riyosha_futan >= 0", name="totals_not_negative"),
        Index(None, "hihokensha_no", "service_ym"),  # a person's 実績 by month
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kokan_shikibetsu_no: Mapped[str] = mapped_column(String(4))  # 交換情報識別番号 (1111…)
    sakusei_kubun: Mapped[str] = mapped_column(String(1))  # 給付実績情報作成区分コード
    shokisai_hokensha_no: Mapped[str] = mapped_column(String(6))  # 証記載保険者番号
    hihokensha_no: Mapped[str] = mapped_column(String(10))  # 被保険者番号
    service_ym: Mapped[str] = mapped_column(String(6))  # サービス提供年月 YYYYMM
    jisseki_kubun: Mapped[str] = mapped_column(String(1))  # 給付実績区分コード
    jigyosho_no: Mapped[str] = mapped_column(String(10))  # 事業所番号
    seiri_no: Mapped[str] = mapped_column(String(10))  # 整理番号
    yokaigo_kubun: Mapped[str | None] = mapped_column(String(2))  # 要介護状態区分コード
    shinsa_ym: Mapped[str] = mapped_column(String(6))  # 審査年月 YYYYMM
    tanisu: Mapped[int]  # 後_保険_サービス単位数
    seikyu_gaku: Mapped[int]  # 後_保険_請求額 (円)
    riyosha_futan: Mapped[int]  # 後_保険_利用者負担額 (円)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class KyufuMeisai(Base):
    """給付実績 明細 (D1 / DD): one サービスコード line, 決定後 values."""

    __tablename__ = "kyufu_meisai"
    __table_args__ = (
        CheckConstraint(f"record_kind IN ({', '.join(repr(k) for k in MEISAI_KINDS)})", name="record_kind_code"),
        CheckConstraint("tanisu >= 0 AND kaisu >= 0 AND service_tanisu >= 0", name="amounts_not_negative"),
    )

    jisseki_id: Mapped[int] = mapped_column(ForeignKey("kyufu_jisseki.id"), primary_key=True)
    line_no: Mapped[int] = mapped_column(primary_key=True)  # order in the 給付実績, from 1
    record_kind: Mapped[str] = mapped_column(String(2))  # レコード種別コード D1 / DD
    service_shurui: Mapped[str] = mapped_column(String(2))  # サービス種類コード
    service_komoku: Mapped[str] = mapped_column(String(4))  # サービス項目コード
    tanisu: Mapped[int]  # 後_単位数
    kaisu: Mapped[int]  # 後_日数・回数
    service_tanisu: Mapped[int]  # 後_サービス単位数
    tekiyo: Mapped[str | None] = mapped_column(String(40))  # 摘要


class KyufuShukei(Base):
    """給付実績 集計 (T1): the totals of one サービス種類, 決定後 保険 values."""

    __tablename__ = "kyufu_shukei"
    __table_args__ = (
        CheckConstraint(
            "jitsunissu >= 0 AND tanisu_total >= 0 AND seikyu_gaku >= 0 AND riyosha_futan >= 0",
            name="totals_not_negative",
        ),
    )

    jisseki_id: Mapped[int] = mapped_column(ForeignKey("kyufu_jisseki.id"), primary_key=True)
    service_shurui: Mapped[str] = mapped_column(String(2), primary_key=True)  # サービス種類コード
    jitsunissu: Mapped[int]  # サービス実日数
    tanisu_total: Mapped[int]  # 後_単位数合計
    seikyu_gaku: Mapped[int]  # 後_保険請求分請求額 (円)
    riyosha_futan: Mapped[int]  # 保険 利用者負担額 (円)
