"""A stand-in for adapters.chukan.fukuhon.answer_items (same signature) until the 副本 part lands:
it reads the store as that will — the person's 被保険者番号 and one item with a 未設定事由."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from adapters.chukan.messages import Item
from adapters.core.models import Atena, Shikaku


def answer_items(s: Session, tm: str, togo: str) -> tuple[str, tuple[Item, ...]]:
    number = s.scalar(select(Shikaku.hihokensha_no).join(Atena, Atena.atena_no == Shikaku.atena_no)
                      .where(Atena.togo_atena_no == togo))
    if number is None:
        raise LookupError(f"{togo}: no 資格")
    return "1", (Item("1", number), Item("2", unset="NotCovered"))
