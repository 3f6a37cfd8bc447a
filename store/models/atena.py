"""宛名 (the person and household) and 資格 (insured status): a first subset of the PIA's 別添2
記録項目 (<宛名情報>, <資格情報>). ASCII identifiers; the Japanese item names are in comments.

Code values are strings as the partner files carry them ("1"/"2"), never Python enums, so a
new code from a partner is stored, and refused by the layout that does not know it, not here.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from store.models.base import Base, utcnow

SEX_MALE = "1"  # 性別コード 男
SEX_FEMALE = "2"  # 性別コード 女

HIHOKENSHA_KUBUN_1GO = "1"  # 第1号被保険者 (65歳以上)
HIHOKENSHA_KUBUN_2GO = "2"  # 第2号被保険者 (40〜64歳の医療保険加入者)

# 資格取得事由 / 喪失事由: the national code table is not public [NF]; these are our own codes,
# kept as two-character strings so a real table can replace them.
SHUTOKU_TENNYU = "01"  # 転入
SHUTOKU_NENREI = "02"  # 年齢到達 (65歳 / 40歳)
SOSHITSU_TENSHUTSU = "01"  # 転出
SOSHITSU_SHIBO = "02"  # 死亡

SOFU_OK = "ok"  # 送付先 usable
SOFU_RETURNED = "returned"  # 返戻: mail came back (宛所不明); hold prints until corrected
SOFU_HELD = "held"  # 送付停止 by the office


class Atena(Base):
    """宛名: one resident known to 介護保険事務."""

    __tablename__ = "atena"
    __table_args__ = (
        CheckConstraint("sex IN ('1', '2')", name="sex_code"),
        # Encrypted number and blind index go together: a row has both or neither (a person
        # whose 個人番号 is not yet known, e.g. 住所地特例 from another city).
        CheckConstraint("(kojin_bango_enc IS NULL) = (kojin_bango_index IS NULL)", name="kojin_bango_pair"),
        # 年金特徴 matching looks people up by birth and sex for an operator's suggestions (0010),
        # and by 基礎年金番号, reading only what the index holds (0019).
        Index(None, "birth_date", "sex"),
        Index(None, "kiso_nenkin_no", "atena_no", "birth_date", "sex", "name_kana"),
    )

    atena_no: Mapped[str] = mapped_column(String(15), primary_key=True)  # 宛名番号
    setai_no: Mapped[str] = mapped_column(String(15), index=True)  # 世帯番号
    name_kanji: Mapped[str] = mapped_column(String(60))  # 氏名 (Unicode, MJ characters allowed)
    name_kana: Mapped[str] = mapped_column(String(120))  # 氏名カナ (全角カタカナ)
    birth_date: Mapped[date]  # 生年月日
    sex: Mapped[str] = mapped_column(String(1))  # 性別コード
    postal_code: Mapped[str] = mapped_column(String(7))  # 郵便番号 (7 digits, no hyphen)
    address: Mapped[str] = mapped_column(String(200))  # 現住所
    # 送付先情報: where mail goes when it is not the 現住所 (family, 施設, 代理人).
    sofu_name: Mapped[str | None] = mapped_column(String(60))  # 送付先氏名
    sofu_postal_code: Mapped[str | None] = mapped_column(String(7))  # 送付先郵便番号
    sofu_address: Mapped[str | None] = mapped_column(String(200))  # 送付先住所
    sofu_status: Mapped[str] = mapped_column(  # 送付状態: SOFU_OK / SOFU_RETURNED / SOFU_HELD
        String(10), default=SOFU_OK, server_default=SOFU_OK
    )
    kiso_nenkin_no: Mapped[str | None] = mapped_column(String(10))  # 基礎年金番号
    nenkin_code: Mapped[str | None] = mapped_column(String(4))  # 年金コード
    kojin_bango_enc: Mapped[bytes | None]  # 個人番号, AES-256-GCM (see mynumber.py)
    kojin_bango_index: Mapped[str | None] = mapped_column(String(64), unique=True)  # blind index
    # 団体内統合宛名番号: how the 中間サーバー knows the person (through the 団体内統合宛名機能);
    # None until the 統合宛名 is assigned. Never 個人番号.
    togo_atena_no: Mapped[str | None] = mapped_column(String(15), unique=True)
    # 転入前住所地の機関コード: the municipality a 転入者 came from (whom the income query asks).
    zenjusho_kikan_code: Mapped[str | None] = mapped_column(String(16))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:  # names and numbers stay out of logs
        return f"Atena(atena_no={self.atena_no!r})"


class Shikaku(Base):
    """資格: one 被保険者 period of a person."""

    __tablename__ = "shikaku"
    __table_args__ = (
        CheckConstraint("hihokensha_kubun IN ('1', '2')", name="hihokensha_kubun_code"),
        # By 宛名番号, holding what 年金特徴 matching asks of a 資格 (0019).
        Index(None, "atena_no", "hihokensha_kubun", "soshitsu_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    hihokensha_no: Mapped[str] = mapped_column(String(10), unique=True)  # 被保険者番号
    atena_no: Mapped[str] = mapped_column(String(15), ForeignKey("atena.atena_no"))  # 宛名番号
    hokensha_no: Mapped[str] = mapped_column(String(6))  # 保険者番号 (131128 世田谷区)
    hihokensha_kubun: Mapped[str] = mapped_column(String(1))  # 被保険者区分 1号/2号
    shutoku_date: Mapped[date]  # 資格取得年月日
    shutoku_jiyu: Mapped[str] = mapped_column(String(2))  # 資格取得事由
    soshitsu_date: Mapped[date | None]  # 資格喪失年月日
    soshitsu_jiyu: Mapped[str | None] = mapped_column(String(2))  # 資格喪失事由
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        return f"Shikaku(id={self.id!r}, hihokensha_no={self.hihokensha_no!r})"
