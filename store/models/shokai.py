"""情報照会 made through the 中間サーバー (shokai) and the income applied for 賦課 (shotoku).

A ``shokai`` row is one 情報照会, made before anything is sent: its idempotency key is fixed then,
so a resend after a timeout or a crash is a replay the service recognises, never a second query.
The result itself is never kept in a column: it lives encrypted in the payload store
(``result_ref``) until retention purges it (the PIA: 情報照会結果 … 一定期間経過後に自動で削除).

``shotoku`` holds what 賦課 needs from a 地方税関係情報 result, with the shokai it came from. It is
business data (the basis of a 保険料 decision), not the query result: see
adapters/chukan/retention.py for why it is kept when the result is purged.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from store.models.base import Base, utcnow

REFUSED = "refused"  # not on the permission list: nothing was sent
PENDING = "pending"  # decided, not yet accepted by the service (send again with the same key)
SUBMITTED = "submitted"  # the service gave a 照会番号; waiting for its status to be Completed
COMPLETED = "completed"  # result fetched and stored encrypted, not yet applied
FAILED = "failed"  # the service answered Failed, or refused the query with a fault
APPLIED = "applied"  # result applied to the store (shotoku)
PURGED = "purged"  # result deleted everywhere after the retention period
STATES = (REFUSED, PENDING, SUBMITTED, COMPLETED, FAILED, APPLIED, PURGED)

KIND_INCOME = "income"  # the 転入者 income query (config.chukan.queries["income"])
KIND_ADHOC = "adhoc"  # one asked by an operator (`kaigo-bridge queries ask`)


class Shokai(Base):
    """One 情報照会: what was asked, of whom, on what basis, and where it stands."""

    __tablename__ = "shokai"
    __table_args__ = (
        CheckConstraint(f"state IN ({', '.join(repr(s) for s in STATES)})", name="state_code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # KIND_INCOME / KIND_ADHOC
    nendo: Mapped[int]  # 年度 the result is for (賦課年度)
    atena_no: Mapped[str] = mapped_column(String(15), ForeignKey("atena.atena_no"), index=True)  # 宛名番号
    togo_atena_no: Mapped[str] = mapped_column(String(15))  # 団体内統合宛名番号 sent to the service
    provider_kikan: Mapped[str] = mapped_column(String(16))  # 提供者機関コード (照会先)
    jimu: Mapped[str] = mapped_column(String(16))  # 事務コード
    tetsuzuki: Mapped[str] = mapped_column(String(16))  # 事務手続コード
    tm: Mapped[str] = mapped_column(String(16))  # 特定個人情報名コード
    basis: Mapped[str | None] = mapped_column(String(200))  # Permission.basis; None when refused
    idem_key: Mapped[str] = mapped_column(String(36), unique=True)  # uuid, fixed when the row is made
    query_id: Mapped[str | None] = mapped_column(String(40))  # 照会番号 the service gave
    state: Mapped[str] = mapped_column(String(10), index=True)
    reason: Mapped[str | None] = mapped_column(Text)  # why refused/failed: codes only, never values
    requested_by: Mapped[str] = mapped_column(String(128))  # operator who ran or asked it
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    submitted_at: Mapped[datetime | None]
    result_at: Mapped[datetime | None]  # when the result was fetched (the retention period runs from here)
    result_ref: Mapped[str | None] = mapped_column(String(200))  # payload store ref (encrypted result)
    result_sha256: Mapped[str | None] = mapped_column(String(64))
    result_version: Mapped[str | None] = mapped_column(String(4))  # 版番号 of the result's layout
    applied_at: Mapped[datetime | None]
    purge_after: Mapped[datetime | None]  # result_at + the period configured when it was fetched
    purged_at: Mapped[datetime | None]
    purged_by: Mapped[str | None] = mapped_column(String(128))

    def __repr__(self) -> str:
        return f"Shokai(id={self.id!r}, kind={self.kind!r}, state={self.state!r})"


class Shotoku(Base):
    """所得: the income of one person for one 年度's 賦課, as a 地方税関係情報 result gave it.

    One row per (年度, 宛名番号): a later result for the same year replaces the values and names
    its own shokai. Amounts are whole yen; None where the result had a 未設定事由.
    """

    __tablename__ = "shotoku"
    __table_args__ = (UniqueConstraint("nendo", "atena_no"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    nendo: Mapped[int]  # 年度
    atena_no: Mapped[str] = mapped_column(String(15), ForeignKey("atena.atena_no"))  # 宛名番号
    kazei_kubun: Mapped[str | None] = mapped_column(String(1))  # 課税区分 (本人課税 …)
    gokei_shotoku: Mapped[int | None] = mapped_column(BigInteger)  # 合計所得金額
    nenkin_shunyu: Mapped[int | None] = mapped_column(BigInteger)  # 公的年金等収入額
    shokai_id: Mapped[int] = mapped_column(ForeignKey("shokai.id"), index=True)  # the result it came from
    applied_at: Mapped[datetime] = mapped_column(default=utcnow)
    applied_by: Mapped[str] = mapped_column(String(128))

    def __repr__(self) -> str:  # amounts stay out of logs
        return f"Shotoku(id={self.id!r}, nendo={self.nendo!r}, shokai_id={self.shokai_id!r})"
