"""The hand-over register (引渡し・受領記録簿) of outbound transfers to 委託 partners.

One row per transfer handed to a contractor: what was sent (hashes of the plaintext, of the
encrypted file and of the manifest), who started the run and who confirmed the hand-over
(上長確認, never the same person), and the partner's signed answers: 受領証 and 削除証明書.
The custody log keeps the same events hash-chained; this table is the working register that
screens and overdue checks query.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from store.models.base import Base


class Handover(Base):
    __tablename__ = "handover"

    transfer_id: Mapped[str] = mapped_column(String(36), ForeignKey("transfer.id"), primary_key=True)
    partner: Mapped[str] = mapped_column(String(64), index=True)
    file_name: Mapped[str] = mapped_column(String(128))  # <transfer-id>.csv.gpg
    ciphertext_sha256: Mapped[str] = mapped_column(String(64))
    ciphertext_size: Mapped[int] = mapped_column(BigInteger)
    manifest_sha256: Mapped[str] = mapped_column(String(64))
    started_by: Mapped[str] = mapped_column(String(128))  # who ran the batch
    sent_at: Mapped[datetime | None]
    receipt_at: Mapped[datetime | None]  # the vendor's received_at, once the receipt verified
    deleted_at: Mapped[datetime | None]  # the vendor's deleted_at, once the certificate verified
    deletion_method: Mapped[str | None] = mapped_column(String(100))
    returns: Mapped[int] = mapped_column(default=0, server_default="0")  # 返戻 applied
    confirmed_by: Mapped[str | None] = mapped_column(String(128))  # 上長 who confirmed the record
    confirmed_at: Mapped[datetime | None]
    problem: Mapped[str | None] = mapped_column(Text)  # the last rejected answer, for the operator
