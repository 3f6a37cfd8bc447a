"""What judging an inbound 国保連 file needs: the ward's 保険者番号 and who it insures."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from settings import Config
from store.models import Shikaku, Transfer


@dataclass(frozen=True)
class KokuhoContext:
    ward: str  # 保険者番号 ([ward] hokensha_no)
    known: frozenset[str]  # every 被保険者番号 the ward insures (or did)


def known_hihokensha(session: Session) -> frozenset[str]:
    return frozenset(session.scalars(select(Shikaku.hihokensha_no)))


def kokuho_context(session: Session, config: Config, _transfer: Transfer) -> KokuhoContext:
    return KokuhoContext(config.hokensha_no, known_hihokensha(session))
