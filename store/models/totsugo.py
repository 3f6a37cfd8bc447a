"""受給者台帳突合結果 from the 国保連: where its 受給者 records and ours disagree.

The 国保連 compares the 受給者情報 the ward sent (5311/5361) with its own and returns the records
it found a difference in, with 突合結果区分 and 突合情報区分 (their values are [NF]: kept as
given, up to 20 characters). One row per result record, as the 国保連 holds it (``record``, the
parsed values as JSON) for the operator to compare with the store. The same record delivered
again (in any file of the same 処理対象年月) is one row: ``digest`` is the SHA-256 of its values
without the レコード番号.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from store.models.base import Base, utcnow


class TotsugoKekka(Base):
    __tablename__ = "totsugo_kekka"
    __table_args__ = (
        UniqueConstraint("shori_ym", "digest"),
        Index(None, "hihokensha_no"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    transfer_id: Mapped[str] = mapped_column(String(36), ForeignKey("transfer.id"))  # the file it came in
    shori_ym: Mapped[str] = mapped_column(String(6))  # 処理対象年月 of the file
    hihokensha_no: Mapped[str] = mapped_column(String(10))  # 被保険者番号
    kekka_kubun: Mapped[str | None] = mapped_column(String(20))  # 突合結果区分 [NF]
    joho_kubun: Mapped[str | None] = mapped_column(String(20))  # 突合情報区分 [NF]
    ido_ymd: Mapped[date]  # 異動年月日
    ido_kubun: Mapped[str] = mapped_column(String(1))  # 異動区分コード
    digest: Mapped[str] = mapped_column(String(64))
    record: Mapped[str] = mapped_column(Text)  # the record's values, JSON
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
