"""What the 中間サーバー holds of our 副本: one row per 団体内統合宛名番号 + 特定個人情報名 + data set.

A row is written only when the service acknowledged the transfer that carried it (the chukan-dbm
handler, adapters/chukan/fukuhon_send.py): it says which 版 is registered there, the SHA-256 of
the items sent (a refresh compares against it: new → register, changed → replace, gone → delete,
same → nothing) and the transfer whose Ack made it so. The items themselves are not kept here.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from store.models.base import Base


class FukuhonState(Base):
    """One registered 副本 as the 中間サーバー has it."""

    __tablename__ = "fukuhon_state"

    togo_atena_no: Mapped[str] = mapped_column(String(15), primary_key=True)  # 団体内統合宛名番号
    tm: Mapped[str] = mapped_column(String(16), primary_key=True)  # 特定個人情報名コード
    dataset: Mapped[str] = mapped_column(String(4), primary_key=True)  # データセット
    version: Mapped[str] = mapped_column(String(4))  # 版番号 registered
    sha256: Mapped[str] = mapped_column(String(64))  # of the items registered (fukuhon.items_hash)
    transfer_id: Mapped[str] = mapped_column(String(36))  # the transfer the Ack answered
    registered_at: Mapped[datetime]  # when the Ack came

    def __repr__(self) -> str:
        return f"FukuhonState(tm={self.tm!r}, dataset={self.dataset!r}, version={self.version!r})"
