"""What the 国保連 was told: the 受給者異動連絡票 (5311) records sent, so that 新規 vs 変更 is
decided from what the partner has, never guessed, and a run never reports the same 異動 twice.

Rows are written from the sent file itself (its stored payload parsed back), not from what the
builder meant to send: a record withheld for a character the file cannot carry is not in the
file and so is not "reported". ``kokuho_ido_file`` marks a transfer as recorded (also when it
held no data record), so a crash between the transfer and its rows is repaired by the next run.

A 訂正 (correction of a 異動 already sent) travels in its own exchange (受給者訂正連絡票, 5321):
a decided 訂正 is kept here ``pending`` with no transfer until the kokuho.teisei flow sends it;
then it is ``reported`` in that 5321 file (``teisei_kubun`` set), like a 5311 record, and
``kokuho_ido_file`` marks the 5321 file recorded too (adapters/kokuho/ido_teisei.py).

No name, 生年月日 or 個人番号 is kept: ``ido_values`` holds the record's other columns (codes,
dates, amounts) as the file carried them, to compare the next state with.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from store.models.base import Base, utcnow

REPORTED = "reported"  # in a 5311 (or, a 訂正, 5321) file handed to the delivery route
PENDING = "pending"  # a decided 訂正 waiting for its exchange (5321)


class KokuhoIdoFile(Base):
    """One 5311 or 5321 file (transfer) whose records are in ``kokuho_ido``."""

    __tablename__ = "kokuho_ido_file"

    transfer_id: Mapped[str] = mapped_column(String(36), ForeignKey("transfer.id"), primary_key=True)
    shori_ym: Mapped[str] = mapped_column(String(6), index=True)  # 処理対象年月 of the control record
    file_no: Mapped[int]  # ファイル管理番号
    records: Mapped[int]  # data records in the file
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)


class KokuhoIdo(Base):
    """One 異動 sent to the 国保連 (or a 訂正 decided and waiting)."""

    __tablename__ = "kokuho_ido"
    __table_args__ = (
        CheckConstraint("ido_kubun IN ('1', '2', '3')", name="ido_kubun_code"),
        CheckConstraint("teisei_kubun IN ('2', '3')", name="teisei_kubun_code"),
        CheckConstraint("state IN ('reported', 'pending')", name="state_code"),
        CheckConstraint("(state = 'reported') = (transfer_id IS NOT NULL)", name="reported_in_a_transfer"),
        UniqueConstraint("transfer_id", "record_no"),
        Index(None, "hihokensha_no", "id"),  # a person's history, in the order it was sent
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    hihokensha_no: Mapped[str] = mapped_column(String(10))  # 被保険者番号
    shori_ym: Mapped[str] = mapped_column(String(6))  # 処理対象年月 of the run that decided it
    transfer_id: Mapped[str | None] = mapped_column(String(36), ForeignKey("transfer.id"))
    record_no: Mapped[int | None]  # レコード番号 in that file
    ido_ymd: Mapped[date]  # 異動年月日
    ido_kubun: Mapped[str] = mapped_column(String(1))  # 異動区分コード 1 新規 / 2 変更 / 3 終了
    teisei_kubun: Mapped[str | None] = mapped_column(String(1))  # 訂正区分コード 2 修正 / 3 削除
    state: Mapped[str] = mapped_column(String(10))
    nintei_end_ymd: Mapped[date | None]  # 認定有効期間 終了: finds 認定 that run out unrenewed
    ido_values: Mapped[str] = mapped_column(Text)  # JSON {field: text} of the non-personal columns
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"KokuhoIdo(id={self.id!r}, ido_kubun={self.ido_kubun!r}, state={self.state!r})"
