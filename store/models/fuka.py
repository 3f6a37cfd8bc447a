"""賦課 (the yearly premium assessment of a 第1号被保険者) and its 期別額 (instalments).

第2号被保険者 have no 賦課 here: their premium is collected by their 医療保険者 with the health
insurance contribution, not by the municipality.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from store.models.base import Base, utcnow

# 徴収区分: readable codes (the partner layouts map them to their own code values).
TOKUCHO = "tokucho"  # 特別徴収: deducted from the pension by the 年金保険者 (年額18万円以上)
FUTSUCHO = "futsucho"  # 普通徴収: paid by the person (納付書 / 口座振替)


class Fuka(Base):
    """賦課: one person's premium for one 年度."""

    __tablename__ = "fuka"
    __table_args__ = (
        UniqueConstraint("nendo", "atena_no"),
        CheckConstraint("choshu_kubun IN ('tokucho', 'futsucho')", name="choshu_kubun_code"),
        CheckConstraint("dankai >= 1", name="dankai_positive"),
        CheckConstraint("nengaku >= 0", name="nengaku_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    nendo: Mapped[int]  # 賦課年度
    atena_no: Mapped[str] = mapped_column(  # 宛名番号
        String(15), ForeignKey("atena.atena_no"), index=True
    )
    hihokensha_no: Mapped[str] = mapped_column(String(10), index=True)  # 被保険者番号
    dankai: Mapped[int]  # 保険料段階 (1..; the table of ratios is per 期 and per 保険者)
    nengaku: Mapped[int]  # 年額保険料 (yen)
    choshu_kubun: Mapped[str] = mapped_column(String(8))  # 徴収区分 TOKUCHO / FUTSUCHO
    # 年金額 (年額, yen) the 特別徴収 decision was taken on; None when no pension is known.
    nenkin_nengaku: Mapped[int | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        return f"Fuka(id={self.id!r}, nendo={self.nendo!r})"


class FukaKibetsu(Base):
    """期別額: the instalment of one 期 (特別徴収 6 期, 普通徴収 10 期 in 世田谷区)."""

    __tablename__ = "fuka_kibetsu"
    __table_args__ = (
        CheckConstraint("ki >= 1 AND ki <= 12", name="ki_range"),
        CheckConstraint("amount >= 0", name="amount_not_negative"),
    )

    fuka_id: Mapped[int] = mapped_column(Integer, ForeignKey("fuka.id"), primary_key=True)
    ki: Mapped[int] = mapped_column(primary_key=True)  # 期
    amount: Mapped[int]  # 期別額 (yen)
