"""要介護認定結果通知書: one notice per 認定 decided in a 年度, as records for the vendor's layout.

A 年度 runs from 4/1 to 3/31 of the next year; a decision belongs to the 年度 of its 認定年月日.
Mail goes to the 送付先 when one is registered, else to the 現住所; people whose mail came back
(返戻) or is stopped are left out, as for the 保険料決定通知書 (adapters/vendor/hokenryo.py).

The 要介護状態区分 travels as its 国保連 code with the name the code table gives it; the layout
validates the code against the same table, so code and name cannot disagree.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any, TypeVarTuple

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from mappings.converters.codes import code_tables
from store.models import Atena, Nintei, Shikaku
from store.models.atena import SOFU_OK

YOKAIGO_TABLE = "yokaigo_jotai_kubun_09"  # the table the layout's yokaigo_kubun field names

Row = TypeVarTuple("Row")


def nendo_range(nendo: int) -> tuple[date, date]:
    """First and last day of a 年度."""
    return date(nendo, 4, 1), date(nendo + 1, 3, 31)


def yokaigo_label(code: str) -> str:
    """The printed name of a 要介護状態区分 code ("21" → "要介護1"); an unknown code is an error."""
    table = code_tables()[YOKAIGO_TABLE]
    if code not in table:
        raise ValueError(f"要介護状態区分 {code!r} is not in code table {YOKAIGO_TABLE} ({', '.join(table)})")
    return table[code]


def _decided_in(query: Select[*Row], nendo: int) -> Select[*Row]:
    first, last = nendo_range(nendo)
    return (query.join(Shikaku, Shikaku.hihokensha_no == Nintei.hihokensha_no)
            .join(Atena, Atena.atena_no == Shikaku.atena_no)
            .where(Nintei.nintei_date.between(first, last), Atena.sofu_status == SOFU_OK))


def notices(session: Session, nendo: int, issue_date: date) -> Iterator[dict[str, Any]]:
    """Records in layout field names, streamed from the store in 認定 id order."""
    query = _decided_in(select(Nintei.id, Nintei.hihokensha_no, Nintei.yokaigo_kubun, Nintei.nintei_date,
                               Nintei.valid_from, Nintei.valid_to, Nintei.shinsakai_iken, Atena.atena_no,
                               Atena.name_kanji, Atena.name_kana, Atena.sofu_name,
                               func.coalesce(Atena.sofu_postal_code, Atena.postal_code).label("postal_code"),
                               func.coalesce(Atena.sofu_address, Atena.address).label("address")),
                        nendo).order_by(Nintei.id)
    for row in session.execute(query.execution_options(yield_per=5000)):
        yield {
            "notice_no": f"{nendo % 100:02d}{row.id:08d}",
            "nendo": nendo,
            "hihokensha_no": row.hihokensha_no,
            "atena_no": row.atena_no,
            "postal_code": row.postal_code,
            "address": row.address,
            "sofu_name": row.sofu_name,
            "name_kanji": row.name_kanji,
            "name_kana": row.name_kana,
            "yokaigo_kubun": row.yokaigo_kubun,
            "yokaigo_label": yokaigo_label(row.yokaigo_kubun),
            "nintei_date": row.nintei_date,
            "valid_from": row.valid_from,
            "valid_to": row.valid_to,
            "shinsakai_iken": row.shinsakai_iken,
            "issue_date": issue_date,
        }


def count(session: Session, nendo: int) -> int:
    return int(session.scalar(_decided_in(select(func.count()).select_from(Nintei), nendo)) or 0)
