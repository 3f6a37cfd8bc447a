"""The 中間サーバー's governance tables: the 提供等記録, the provision requests seen, and the
approvals a 自動応答不可 provision waits for.

Codes only: no item value is ever stored here (values are built from the store when an answer is
sent, and forgotten). Persons are named by 宛名番号 / 団体内統合宛名番号, never 個人番号.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from store.models.base import Base, utcnow

QUERY = "query"
PROVISION = "provision"

# 提供等記録 outcomes. 照会: queried (sent), result (received), refused (not on the list, never sent).
# 提供: held (自動応答不可, waiting), approved / rejected (a second operator's decision), answered
# (sent), refused (refusal sent: not on the list, or rejected).
OUTCOMES = frozenset({"queried", "result", "refused", "held", "approved", "rejected", "answered"})

# What the poller decided for a provision request.
ANSWER = "answer"  # permitted, answered automatically
REFUSE = "refuse"  # not on the list: refused before anything is provided
HOLD = "hold"  # 自動応答不可: waits for a second operator (chukan_approval)

# chukan_approval states: held → approved | rejected → answered | refused.
HELD = "held"
APPROVED = "approved"
REJECTED = "rejected"
ANSWERED = "answered"
REFUSED = "refused"


class TeikyoKiroku(Base):
    """情報提供等記録: one row per query, provision, refusal, hold, decision, answer or result.
    Kept until ``keep_until`` (at + retention.records_years), then purged."""

    __tablename__ = "teikyo_kiroku"
    __table_args__ = (
        CheckConstraint("direction IN ('query', 'provision')", name="direction_code"),
        CheckConstraint("atena_no IS NOT NULL OR togo_atena_no IS NOT NULL", name="person_named"),
        # An entry is either on the list (a basis) or refused with the reason why it is not.
        CheckConstraint("basis IS NOT NULL OR reason IS NOT NULL", name="basis_or_reason"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    direction: Mapped[str] = mapped_column(String(10))
    outcome: Mapped[str] = mapped_column(String(16))
    atena_no: Mapped[str | None] = mapped_column(String(15), index=True)  # 宛名番号, when known
    togo_atena_no: Mapped[str | None] = mapped_column(String(15), index=True)  # 団体内統合宛名番号
    counterpart_kikan: Mapped[str] = mapped_column(String(16))  # 照会先 / 提供先 機関コード
    jimu: Mapped[str | None] = mapped_column(String(16))  # 事務コード (unknown for a request off the list)
    tetsuzuki: Mapped[str] = mapped_column(String(16))  # 事務手続コード
    tm: Mapped[str] = mapped_column(String(16))  # 特定個人情報名コード
    basis: Mapped[str | None] = mapped_column(String(200))  # Permission.basis
    reason: Mapped[str | None] = mapped_column(Text)  # why refused/rejected (codes, never values)
    actor: Mapped[str] = mapped_column(String(128))  # operator or component
    reference: Mapped[str | None] = mapped_column(String(64), index=True)  # 照会番号 / 提供依頼番号 / key
    keep_until: Mapped[datetime] = mapped_column(index=True)


class ChukanProvision(Base):
    """Every provision request (TKY) the poller has seen, once (the list may repeat one), with
    what was decided and the idempotency key of the answer or refusal — fixed before it is sent,
    so a resend after a lost answer is a replay at the 中間サーバー, never a second provision."""

    __tablename__ = "chukan_provision"
    __table_args__ = (
        CheckConstraint("decision IN ('answer', 'refuse', 'hold')", name="decision_code"),
        Index(None, "sent_at"),
    )

    request_id: Mapped[str] = mapped_column(String(40), primary_key=True)  # 提供依頼番号
    togo_atena_no: Mapped[str] = mapped_column(String(15))
    atena_no: Mapped[str | None] = mapped_column(String(15))
    querying_kikan: Mapped[str] = mapped_column(String(16))  # 照会者 = 提供先
    jimu: Mapped[str | None] = mapped_column(String(16))  # from the permission row; None if off the list
    tetsuzuki: Mapped[str] = mapped_column(String(16))
    tm: Mapped[str] = mapped_column(String(16))
    requested_at: Mapped[datetime]
    seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    basis: Mapped[str | None] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(Text)  # why it is refused (off the list)
    decision: Mapped[str] = mapped_column(String(10))
    send_key: Mapped[str | None] = mapped_column(String(36))  # set when the send is decided
    send_action: Mapped[str | None] = mapped_column(String(10))  # answer | refuse, with send_key
    # Fixed with the key: whoever decided (sent as RequestedBy) and the day whose data the answer
    # carries, so a resend by another operator or the worker has the same body — a replay, not a
    # fault for a key reused with another body.
    send_by: Mapped[str | None] = mapped_column(String(128))
    send_on: Mapped[date | None]
    sent_at: Mapped[datetime | None]


class ChukanApproval(Base):
    """A 自動応答不可 provision waiting for, or decided by, a second operator (four eyes)."""

    __tablename__ = "chukan_approval"
    __table_args__ = (
        CheckConstraint("state IN ('held', 'approved', 'rejected', 'answered', 'refused')", name="state_code"),
        # Four eyes in the data too: whoever decides is not whoever held it.
        CheckConstraint("decided_by IS NULL OR decided_by <> held_by", name="four_eyes"),
        {"sqlite_autoincrement": True},  # an id an operator once typed is never another request's
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    request_id: Mapped[str] = mapped_column(String(40), ForeignKey("chukan_provision.request_id"), unique=True)
    state: Mapped[str] = mapped_column(String(10), default=HELD, server_default=HELD, index=True)
    held_by: Mapped[str] = mapped_column(String(128))
    held_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_by: Mapped[str | None] = mapped_column(String(128))
    decided_at: Mapped[datetime | None]
    reason: Mapped[str | None] = mapped_column(Text)
