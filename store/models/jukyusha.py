"""受給者 data: what the 国保連 受給者異動連絡票 (5311) carries besides 資格 and 認定.

One row per decision with its 適用期間 (history is kept: a new period is a new row, never an
update in place). Columns map to 5311 items (LAYOUTS-EVIDENCE.md §3):
- futan_wariai: 利用者負担割合 1/2/3割 (5311 cols 78–79 carry only the 二割負担 period; the
  割合 itself is the 負担割合証's, 3割 since 2018-08).
- shikyu_gendogaku: 区分支給限度基準額 (単位/月) with its 上限管理適用期間 (cols 28–30).
- kyotaku_keikaku: 居宅サービス計画 作成区分 and 居宅介護支援事業所番号 (cols 24–27).
- futan_gendogaku: 特定入所者介護サービス 負担限度額 (円/日): 食費 and the 居住費 of each room
  type (cols 51–58).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, validates

from store.identifiers import validate_jigyosho_no
from store.models.base import Base, utcnow

WARIAI = (1, 2, 3)  # 利用者負担割合 (割)
# 要介護状態区分 a 支給限度額 exists for: 06 事業対象者 (区分支給限度額用 table [CODE]), 要支援1–2,
# 要介護1–5. 非該当 has none.
GENDO_KUBUN = ("06", "12", "13", "21", "22", "23", "24", "25")
# 居宅サービス計画作成区分 (受給者IF, 4 values, JukyushaIF_KeikakuSakuseiKubunCode [CODE]). The
# 給付実績 table numbers them differently (2 = 自己作成); the 受給者IF table is the one 5311 uses.
SAKUSEI_KYOTAKU = "1"  # 居宅介護支援事業所作成
SAKUSEI_KIJUN = "2"  # 基準該当居宅介護支援事業者作成
SAKUSEI_JIKO = "3"  # 自己作成: no 事業所
SAKUSEI_YOBO = "4"  # 介護予防支援事業所・地域包括支援センター作成
SAKUSEI_KUBUN = (SAKUSEI_KYOTAKU, SAKUSEI_KIJUN, SAKUSEI_JIKO, SAKUSEI_YOBO)


def _hihokensha_no() -> Mapped[str]:
    return mapped_column(String(10), ForeignKey("shikaku.hihokensha_no"))


def _period_order() -> CheckConstraint:
    return CheckConstraint("valid_from <= valid_to", name="valid_period_order")


class FutanWariai(Base):
    """負担割合: the 利用者負担割合 of one 適用期間."""

    __tablename__ = "futan_wariai"
    __table_args__ = (
        CheckConstraint("wariai IN (1, 2, 3)", name="wariai_code"),
        _period_order(),
        UniqueConstraint("hihokensha_no", "valid_from"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    hihokensha_no: Mapped[str] = _hihokensha_no()  # 被保険者番号
    wariai: Mapped[int]  # 利用者負担割合 (割)
    valid_from: Mapped[date]  # 適用開始年月日
    valid_to: Mapped[date]  # 適用終了年月日
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ShikyuGendogaku(Base):
    """支給限度額: 区分支給限度基準額 (訪問通所 = 居宅 since 2006) of one 上限管理適用期間."""

    __tablename__ = "shikyu_gendogaku"
    __table_args__ = (
        CheckConstraint(f"yokaigo_kubun IN ({', '.join(repr(c) for c in GENDO_KUBUN)})", name="yokaigo_kubun_code"),
        CheckConstraint("gendo_tani > 0", name="gendo_tani_positive"),
        _period_order(),
        UniqueConstraint("hihokensha_no", "valid_from"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    hihokensha_no: Mapped[str] = _hihokensha_no()  # 被保険者番号
    yokaigo_kubun: Mapped[str] = mapped_column(String(2))  # 要介護状態区分コード the 限度額 is for
    gendo_tani: Mapped[int]  # 支給限度基準額 (単位/月)
    valid_from: Mapped[date]  # 上限管理適用期間 開始年月日
    valid_to: Mapped[date]  # 上限管理適用期間 終了年月日
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class KyotakuKeikaku(Base):
    """居宅サービス計画: who makes the care plan, for one 適用期間.

    A 自己作成 plan has no 事業所; every other kind names one. The 事業所番号 check digit is
    checked on the ORM path (``validates``); bulk loads validate before they insert.
    """

    __tablename__ = "kyotaku_keikaku"
    __table_args__ = (
        CheckConstraint(f"sakusei_kubun IN ({', '.join(repr(c) for c in SAKUSEI_KUBUN)})", name="sakusei_kubun_code"),
        CheckConstraint("(sakusei_kubun = '3') = (jigyosho_no IS NULL)", name="jigyosho_unless_jiko"),
        CheckConstraint("length(jigyosho_no) = 10", name="jigyosho_no_length"),
        _period_order(),
        UniqueConstraint("hihokensha_no", "valid_from"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    hihokensha_no: Mapped[str] = _hihokensha_no()  # 被保険者番号
    sakusei_kubun: Mapped[str] = mapped_column(String(1))  # 居宅サービス計画作成区分コード
    jigyosho_no: Mapped[str | None] = mapped_column(String(10))  # 居宅介護支援事業所番号
    valid_from: Mapped[date]  # 居宅サービス計画適用開始年月日
    valid_to: Mapped[date]  # 居宅サービス計画適用終了年月日
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @validates("jigyosho_no")
    def _check_jigyosho_no(self, _key: str, value: str | None) -> str | None:
        return None if value is None else validate_jigyosho_no(value)


class FutanGendogaku(Base):
    """負担限度額 (特定入所者介護サービス費, 補足給付): daily limits of 食費 and 居住費 (円/日)."""

    __tablename__ = "futan_gendogaku"
    __table_args__ = (
        CheckConstraint(
            "shokuhi >= 0 AND unit_koshitsu >= 0 AND unit_junkoshitsu >= 0 AND juraigata_tokuyo >= 0"
            " AND juraigata_roken >= 0 AND tashoshitsu >= 0",
            name="limits_not_negative",
        ),
        _period_order(),
        UniqueConstraint("hihokensha_no", "valid_from"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    hihokensha_no: Mapped[str] = _hihokensha_no()  # 被保険者番号
    shokuhi: Mapped[int]  # 食費負担限度額
    unit_koshitsu: Mapped[int]  # 居住費（ユニット型個室）負担限度額
    unit_junkoshitsu: Mapped[int]  # 居住費（ユニット型準個室）負担限度額
    juraigata_tokuyo: Mapped[int]  # 居住費（従来型個室（特養等））負担限度額
    juraigata_roken: Mapped[int]  # 居住費（従来型個室（老健、療養等））負担限度額
    tashoshitsu: Mapped[int]  # 居住費（多床室）負担限度額
    valid_from: Mapped[date]  # 負担限度額適用開始年月日
    valid_to: Mapped[date]  # 負担限度額適用終了年月日
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
