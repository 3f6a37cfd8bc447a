"""保険料決定通知書: one notice per 賦課 of a 年度, as records for the vendor's print layout.

Mail goes to the 送付先 when one is registered, else to the 現住所. People whose mail came back
(返戻) or whose mail is stopped are left out of the print run: a notice to a known-bad address
would only come back again.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from adapters.core.models import TOKUCHO, Atena, Fuka, FukaKibetsu
from adapters.core.models.atena import SOFU_OK

MAX_KI = 10
CHOSHU_CODE = {TOKUCHO: "1"}  # 特別徴収 "1", otherwise 普通徴収 "2" (layout code table)


def notices(session: Session, nendo: int, issue_date: date) -> Iterator[dict[str, Any]]:
    """Records in layout field names, streamed from the store."""
    kibetsu = [func.max(case((FukaKibetsu.ki == k, FukaKibetsu.amount))).label(f"ki{k:02d}")
               for k in range(1, MAX_KI + 1)]
    query = (select(Fuka.id, Fuka.nendo, Fuka.atena_no, Fuka.hihokensha_no, Fuka.dankai, Fuka.nengaku,
                   Fuka.choshu_kubun, Atena.name_kanji, Atena.name_kana,
                   func.coalesce(Atena.sofu_postal_code, Atena.postal_code).label("postal_code"),
                   func.coalesce(Atena.sofu_address, Atena.address).label("address"),
                   *kibetsu)
            .join(Atena, Atena.atena_no == Fuka.atena_no)
            .outerjoin(FukaKibetsu, FukaKibetsu.fuka_id == Fuka.id)
            .where(Fuka.nendo == nendo, Atena.sofu_status == SOFU_OK)
            .group_by(Fuka.id, Atena.atena_no)
            .order_by(Fuka.id))
    for row in session.execute(query.execution_options(yield_per=5000)):
        yield {
            "notice_no": f"{nendo % 100:02d}{row.id:08d}",
            "nendo": row.nendo,
            "atena_no": row.atena_no,
            "hihokensha_no": row.hihokensha_no,
            "postal_code": row.postal_code,
            "address": row.address,
            "name_kanji": row.name_kanji,
            "name_kana": row.name_kana,
            "dankai": row.dankai,
            "nengaku": row.nengaku,
            "choshu_kubun": CHOSHU_CODE.get(row.choshu_kubun, "2"),
            **{f"ki{k:02d}": getattr(row, f"ki{k:02d}") for k in range(1, MAX_KI + 1)},
            "issue_date": issue_date,
        }


def count(session: Session, nendo: int) -> int:
    return int(session.scalar(select(func.count()).select_from(Fuka).join(Atena, Atena.atena_no == Fuka.atena_no)
                              .where(Fuka.nendo == nendo, Atena.sofu_status == SOFU_OK)) or 0)

