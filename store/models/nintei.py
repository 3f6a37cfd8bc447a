"""要介護認定: one decided certification of a 被保険者 (the result of one 申請).

Holds what the result notice (要介護認定結果通知書) prints and what the 国保連 受給者異動連絡票
(5311) will take from a decision: 申請種別, 申請年月日, 要介護状態区分, 認定有効期間. Applications
still pending (変更申請中区分, みなし要介護) belong to the 申請 and are not modelled here.

Codes are the 国保連 interface values as strings (LAYOUTS-EVIDENCE.md §5 [CODE]): the same code
tables the partner layouts use (mappings/codes/kaigo.toml), so no translation happens on the way out.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from store.models.base import Base, utcnow

# 申請種別コード (受給者IF, JukyushaIF_ShinseiShubetsuCode) [CODE]
SHINSEI_SHINKI = "1"  # 新規申請
SHINSEI_KOSHIN = "2"  # 更新申請
SHINSEI_HENKO = "3"  # 区分変更申請
SHINSEI_SHOKKEN = "4"  # 職権
SHINSEI_KUBUN = (SHINSEI_SHINKI, SHINSEI_KOSHIN, SHINSEI_HENKO, SHINSEI_SHOKKEN)

# 要介護状態区分コード (2009, YokaigoJotaiKubun09) [CODE]: the outcomes a decision can have. The
# table's other values (31 再調査, 88 取消, 99 なし) describe states of an application or a
# record, not a decided 認定, and are refused here.
HIGAITO = "01"  # 非該当: no 有効期間
YOSHIEN = ("12", "13")  # 要支援1, 要支援2
YOKAIGO = ("21", "22", "23", "24", "25")  # 要介護1..5
YOKAIGO_KUBUN = (HIGAITO, *YOSHIEN, *YOKAIGO)


def _in(column: str, codes: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(c) for c in codes)})"


class Nintei(Base):
    """認定: one decision. A person has one row per decision (新規, then each 更新 or 区分変更)."""

    __tablename__ = "nintei"
    __table_args__ = (
        CheckConstraint(_in("shinsei_kubun", SHINSEI_KUBUN), name="shinsei_kubun_code"),
        CheckConstraint(_in("yokaigo_kubun", YOKAIGO_KUBUN), name="yokaigo_kubun_code"),
        CheckConstraint("shinsei_date <= nintei_date", name="decided_after_application"),
        # 非該当 has no 有効期間; every other outcome has both ends, in order.
        CheckConstraint("(valid_from IS NULL) = (valid_to IS NULL)", name="valid_period_pair"),
        CheckConstraint("(yokaigo_kubun = '01') = (valid_from IS NULL)", name="valid_period_unless_higaito"),
        CheckConstraint("valid_from <= valid_to", name="valid_period_order"),
        # One decision per person and day; also the index for "this person's decisions".
        UniqueConstraint("hihokensha_no", "nintei_date"),
        Index(None, "nintei_date"),  # result notices of a 年度 select by 認定年月日
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    hihokensha_no: Mapped[str] = mapped_column(  # 被保険者番号
        String(10), ForeignKey("shikaku.hihokensha_no")
    )
    shinsei_date: Mapped[date]  # 申請年月日
    shinsei_kubun: Mapped[str] = mapped_column(String(1))  # 申請種別コード
    nintei_date: Mapped[date]  # 認定年月日
    yokaigo_kubun: Mapped[str] = mapped_column(String(2))  # 要介護状態区分コード
    valid_from: Mapped[date | None]  # 認定有効期間 開始年月日 (None for 非該当)
    valid_to: Mapped[date | None]  # 認定有効期間 終了年月日
    shinsakai_iken: Mapped[str | None] = mapped_column(Text)  # 介護認定審査会の意見
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        return f"Nintei(id={self.id!r}, yokaigo_kubun={self.yokaigo_kubun!r})"
