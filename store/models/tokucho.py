"""特別徴収 (premiums deducted from pensions) with the 年金保険者 through the 経由機関, and the
収納 (payments) the deductions become.

- ``tokucho_taisho``: the 特別徴収対象者 a Z11 file announced, as received, and the 宛名 it was
  matched to (by 基礎年金番号 + 生年月日 + 性別, カナ氏名 as a tie-breaker), or why not.
- ``tokucho_irai``: what the ward asks the 年金保険者 to deduct, per person and 期 (Z12/Z1A).
- ``tokucho_kekka``: what came back for a person and 期 (Z13 依頼処理結果, Z14 天引結果 /
  異動処理結果).
- ``tokucho_tsuchi``: the Z1A notices that ask no amount (41 資格喪失等, 81 住所地特例), one row
  per pension a file told, and what the 年金保険者 answered (Z14 42/82).
- ``jushochi_tokurei``: 住所地特例 periods of our 被保険者 (a 資格 fact; here because only the
  年金特徴 uses it so far: the Z1A's 81 and the 各種区分 02 of a 追加依頼).
- ``shuno``: payments, one row per collected amount, whatever its source.

期 of 特別徴収: 1–3 仮徴収 (4, 6, 8月), 4–6 本徴収 (10, 12, 2月) (DOMAIN.md [DOC]).
No 個人番号 anywhere here. Codes are kept as the files carry them (strings); which values a
file may hold is the layout's business, not these tables'.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from store.models.base import Base, utcnow

# 捕捉月 of a Z11 record: "04" the yearly 対象者 (通知内容コード 00), the others 追加候補者 (30)
# (LAYOUTS-EVIDENCE.md §4 [CODE]).
HOSOKU_MONTHS = ("04", "06", "08", "10", "12", "02")

MATCHED = "matched"  # one 宛名 fits
UNMATCHED = "unmatched"  # none fits: listed for an operator
AMBIGUOUS = "ambiguous"  # more than one fits even with the カナ氏名: listed, never guessed
MATCH_STATES = (MATCHED, UNMATCHED, AMBIGUOUS)

IRAI_PENDING = "pending"  # decided, not yet in a file
IRAI_SENT = "sent"  # in a Z12/Z1A file handed over
IRAI_ACCEPTED = "accepted"  # Z13: the 年金保険者 took the request
IRAI_REJECTED = "rejected"  # Z13: refused (the person pays by 普通徴収 for the 期)
IRAI_DEDUCTED = "deducted"  # Z14: the amount was deducted
IRAI_STOPPED = "stopped"  # Z14 or our Z1A: deduction stopped (death, move, pension lost …)
IRAI_STATES = (IRAI_PENDING, IRAI_SENT, IRAI_ACCEPTED, IRAI_REJECTED, IRAI_DEDUCTED, IRAI_STOPPED)

KEKKA_FILES = ("Z13", "Z14")

TSUCHI_SENT = "sent"  # in a Z1A file handed over
TSUCHI_ACCEPTED = "accepted"  # Z14 42/82 処理結果 00
TSUCHI_REJECTED = "rejected"  # Z14 42/82 anything else: listed for an operator
TSUCHI_STATES = (TSUCHI_SENT, TSUCHI_ACCEPTED, TSUCHI_REJECTED)

SHUNO_TOKUCHO = "tokucho"  # the same readable codes as fuka.choshu_kubun
SHUNO_FUTSUCHO = "futsucho"


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class TokuchoTaisho(Base):
    """One 特別徴収対象者 record of a Z11 file (a 年金 of one person, at one 捕捉月)."""

    __tablename__ = "tokucho_taisho"
    __table_args__ = (
        # The same record in a file received again is the same row: nothing changes.
        UniqueConstraint("nendo", "kiso_nenkin_no", "nenkin_code", "hosoku_month"),
        CheckConstraint(_in("hosoku_month", HOSOKU_MONTHS), name="hosoku_month_code"),
        CheckConstraint("sex IN ('1', '2')", name="sex_code"),
        CheckConstraint(_in("match_state", MATCH_STATES), name="match_state_code"),
        CheckConstraint("(match_state = 'matched') = (atena_no IS NOT NULL)", name="matched_has_atena"),
        CheckConstraint("kingaku1 >= 0 AND kingaku2 >= 0 AND kingaku3 >= 0", name="kingaku_not_negative"),
        Index(None, "match_state", "nendo"),  # the operator's list of unmatched / ambiguous
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    nendo: Mapped[int]  # 年度 the file is for
    hosoku_month: Mapped[str] = mapped_column(String(2))  # 捕捉月
    tsuchi_naiyo_code: Mapped[str] = mapped_column(String(2))  # 通知内容コード of the record
    gimusha_code: Mapped[str] = mapped_column(String(3))  # 特別徴収義務者コード (which 年金保険者)
    kiso_nenkin_no: Mapped[str] = mapped_column(String(10))  # 基礎年金番号
    nenkin_code: Mapped[str] = mapped_column(String(4))  # 年金コード
    birth_date: Mapped[date]  # 生年月日
    sex: Mapped[str] = mapped_column(String(1))  # 性別コード
    name_kana: Mapped[str] = mapped_column(String(120))  # カナ氏名 as received (half-width)
    kingaku1: Mapped[int]  # 金額1..3 as received (whole yen)
    kingaku2: Mapped[int]
    kingaku3: Mapped[int]
    atena_no: Mapped[str | None] = mapped_column(String(15), ForeignKey("atena.atena_no"), index=True)
    match_state: Mapped[str] = mapped_column(String(10))
    transfer_id: Mapped[str] = mapped_column(String(36), ForeignKey("transfer.id"))  # the file it came in
    received_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:  # numbers and names stay out of logs
        return f"TokuchoTaisho(id={self.id!r}, match_state={self.match_state!r})"


class TokuchoIrai(Base):
    """特別徴収依頼: the amount asked for one person and 期, and where the request stands."""

    __tablename__ = "tokucho_irai"
    __table_args__ = (
        UniqueConstraint("nendo", "ki", "atena_no"),
        CheckConstraint("ki >= 1 AND ki <= 6", name="ki_range"),
        CheckConstraint("irai_amount >= 0", name="irai_amount_not_negative"),
        CheckConstraint(_in("status", IRAI_STATES), name="status_code"),
        # Anything past pending went out in a file.
        CheckConstraint("status = 'pending' OR transfer_id IS NOT NULL", name="sent_in_a_transfer"),
        Index(None, "kiso_nenkin_no", "nenkin_code", "nendo"),  # results are keyed by the pension
        # No index by status or 被保険者番号: no query starts from them (0012).
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    nendo: Mapped[int]  # 年度
    ki: Mapped[int]  # 期 1–6
    atena_no: Mapped[str] = mapped_column(String(15), ForeignKey("atena.atena_no"))  # 宛名番号
    hihokensha_no: Mapped[str] = mapped_column(String(10))  # 被保険者番号
    gimusha_code: Mapped[str] = mapped_column(String(3))  # 特別徴収義務者コード
    kiso_nenkin_no: Mapped[str] = mapped_column(String(10))  # 基礎年金番号
    nenkin_code: Mapped[str] = mapped_column(String(4))  # 年金コード
    irai_amount: Mapped[int]  # 依頼額 (yen)
    tsuchi_naiyo_code: Mapped[str] = mapped_column(String(2))  # 通知内容コード it went out with
    status: Mapped[str] = mapped_column(String(10), default=IRAI_PENDING, server_default=IRAI_PENDING)
    transfer_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("transfer.id"))  # outbound file
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        return f"TokuchoIrai(id={self.id!r}, nendo={self.nendo!r}, ki={self.ki!r}, status={self.status!r})"


class TokuchoKekka(Base):
    """A result for one pension and 期 from a Z13 (依頼処理結果) or Z14 (天引結果, 異動処理結果)
    record. Unique per notice kind (通知内容コード): the same file applied twice is one row.

    An answer to a Z1A (32/62: to 依頼 of 31/61; 42/82: to notices of 41/81) points at what it
    answers: ``irai_id`` or ``tsuchi_id``, none when nothing sent matches (listed, never guessed).
    """

    __tablename__ = "tokucho_kekka"
    __table_args__ = (
        # Named by hand: the convention's name would pass PostgreSQL's 63 characters.
        # 各種区分 in the key: a 住所地特例 該当 (82-01) and its 解除 (82-02) can fall in one 期.
        UniqueConstraint("nendo", "ki", "kiso_nenkin_no", "nenkin_code", "tsuchi_naiyo_code", "kakushu_kubun",
                         name="uq_tokucho_kekka_per_notice"),
        CheckConstraint("ki >= 1 AND ki <= 6", name="ki_range"),
        CheckConstraint(_in("file_kind", KEKKA_FILES), name="file_kind_code"),
        CheckConstraint("tenbiki_amount >= 0", name="tenbiki_amount_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    nendo: Mapped[int]
    ki: Mapped[int]  # 期 1–6
    kiso_nenkin_no: Mapped[str] = mapped_column(String(10))  # 基礎年金番号
    nenkin_code: Mapped[str] = mapped_column(String(4))  # 年金コード
    # The 依頼 it answers; None when none is found (listed for an operator, never guessed).
    irai_id: Mapped[int | None] = mapped_column(ForeignKey("tokucho_irai.id"), index=True)
    # The 41/81 notice a 42/82 answers (None: none found).
    tsuchi_id: Mapped[int | None] = mapped_column(ForeignKey("tokucho_tsuchi.id"), index=True)
    file_kind: Mapped[str] = mapped_column(String(3))  # "Z13" / "Z14"
    tsuchi_naiyo_code: Mapped[str] = mapped_column(String(2))  # 通知内容コード
    # 各種区分 a Z1A answer echoes; "" for Z13 and 天引結果 (whose 各種区分 is teishi_jiyu).
    kakushu_kubun: Mapped[str] = mapped_column(String(2), default="", server_default=text("''"))
    shori_kekka: Mapped[str] = mapped_column(String(2))  # 処理結果 as received (the table is [NF])
    tenbiki_amount: Mapped[int | None]  # 天引額 (yen), Z14 天引結果 only
    teishi_jiyu: Mapped[str | None] = mapped_column(String(4))  # 停止事由 (e.g. "T6")
    teishi_date: Mapped[date | None]  # 停止日 / 喪失日 (各種年月日)
    transfer_id: Mapped[str] = mapped_column(String(36), ForeignKey("transfer.id"))  # the file it came in
    received_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"TokuchoKekka(id={self.id!r}, file_kind={self.file_kind!r}, ki={self.ki!r})"


class TokuchoTsuchi(Base):
    """One pension told in a Z1A notice that asks no amount: 41 資格喪失等 or 81 住所地特例,
    recorded from the stored file (adapters/nenkin/z1a_sent.py), and its answer's outcome."""

    __tablename__ = "tokucho_tsuchi"
    __table_args__ = (
        UniqueConstraint("transfer_id", "kiso_nenkin_no", "nenkin_code"),
        CheckConstraint("tsuchi_naiyo_code IN ('41', '81')", name="tsuchi_naiyo_code_code"),
        CheckConstraint(_in("status", TSUCHI_STATES), name="status_code"),
        Index(None, "kiso_nenkin_no", "nenkin_code"),  # answers are keyed by the pension
        Index(None, "tsuchi_naiyo_code", "nendo"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    nendo: Mapped[int]  # 年度 of the run that sent it
    tsuchi_naiyo_code: Mapped[str] = mapped_column(String(2))  # "41" / "81"
    gimusha_code: Mapped[str] = mapped_column(String(3))  # 特別徴収義務者コード
    kiso_nenkin_no: Mapped[str] = mapped_column(String(10))  # 基礎年金番号
    nenkin_code: Mapped[str] = mapped_column(String(4))  # 年金コード
    # Whose pension: the 依頼, 対象者 or 宛名 holding it when recorded (None: none found).
    atena_no: Mapped[str | None] = mapped_column(String(15), ForeignKey("atena.atena_no"), index=True)
    kakushu_kubun: Mapped[str] = mapped_column(String(2))  # 各種区分 as sent
    kakushu_date: Mapped[date | None]  # 各種年月日 as sent (喪失日, 適用日 / 解除日)
    status: Mapped[str] = mapped_column(String(10), default=TSUCHI_SENT, server_default=TSUCHI_SENT)
    transfer_id: Mapped[str] = mapped_column(String(36), ForeignKey("transfer.id"))  # the Z1A
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        return f"TokuchoTsuchi(id={self.id!r}, tsuchi_naiyo_code={self.tsuchi_naiyo_code!r}, status={self.status!r})"


class JushochiTokurei(Base):
    """住所地特例: a period in which a 被保険者 of ours lives in a 施設 in another 市町村 and stays
    insured here (介護保険法第13条). Dates as the 資格 system registered them; the 事由 are its
    codes (LAYOUTS-EVIDENCE.md §5: 適用 05 自特例適用 / 71 自特例転入, 解除 72 自特例解除 [CODE])."""

    __tablename__ = "jushochi_tokurei"
    __table_args__ = (
        UniqueConstraint("atena_no", "tekiyo_date"),
        CheckConstraint("kaijo_date IS NULL OR kaijo_date >= tekiyo_date", name="kaijo_after_tekiyo"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    atena_no: Mapped[str] = mapped_column(String(15), ForeignKey("atena.atena_no"), index=True)  # 宛名番号
    tekiyo_date: Mapped[date]  # 住所地特例適用年月日
    tekiyo_jiyu: Mapped[str] = mapped_column(String(2))  # 適用事由
    kaijo_date: Mapped[date | None]  # 解除年月日 (None: still 住所地特例)
    kaijo_jiyu: Mapped[str | None] = mapped_column(String(2))  # 解除事由
    shisetsu_hokensha_no: Mapped[str | None] = mapped_column(String(6))  # 施設所在保険者番号
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        return f"JushochiTokurei(id={self.id!r})"


class Shuno(Base):
    """収納: one amount collected for a 被保険者's 年度 and 期.

    ``source_key`` names what produced it (for 特別徴収, the 天引結果 it came from), unique, so
    each deducted amount becomes exactly one 収納 however often its file is applied.
    """

    __tablename__ = "shuno"
    __table_args__ = (
        CheckConstraint("ki >= 1 AND ki <= 12", name="ki_range"),  # 普通徴収 has more 期 than 6
        CheckConstraint("amount >= 0", name="amount_not_negative"),
        CheckConstraint(_in("source", (SHUNO_TOKUCHO, SHUNO_FUTSUCHO)), name="source_code"),
        Index(None, "hihokensha_no", "nendo", "ki"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    hihokensha_no: Mapped[str] = mapped_column(String(10))  # 被保険者番号
    nendo: Mapped[int]  # 賦課年度 the payment is for
    ki: Mapped[int]  # 期
    amount: Mapped[int]  # 収納額 (yen)
    shuno_date: Mapped[date]  # 収納日
    source: Mapped[str] = mapped_column(String(8))  # SHUNO_TOKUCHO / SHUNO_FUTSUCHO
    source_key: Mapped[str] = mapped_column(String(100), unique=True)
    transfer_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("transfer.id"))  # the file, if any
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"Shuno(id={self.id!r}, nendo={self.nendo!r}, ki={self.ki!r}, source={self.source!r})"
