"""返戻 against the hand-over: the notices a vendor transfer carried, and returned mail checked
against them.

When a transfer is encrypted for the vendor its plaintext passes through ``Carried.tap`` on the
way to gpg (no second read, no second decryption): the layout's ``[returns]`` columns give each
line's (notice number, 宛名番号), stored with the hand-over in one bulk insert. A returns list is
then taken only when every line names a pair of that transfer; the first that does not refuses
the whole list with rule ``returns_not_in_transfer`` and its line. Only the persons of that
transfer get their 送付先 marked returned, and each returned notice is kept once per hand-over.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import CursorResult, Table, insert, select, update
from sqlalchemy.orm import Session

from adapters.vendor.exchange import AnswerError, Returned
from mappings.layout import Layout
from store.models import Atena, HandoverNotice, HandoverReturn
from store.models.atena import SOFU_OK, SOFU_RETURNED

NOT_IN_TRANSFER = "returns_not_in_transfer"
_BATCH = 500  # bound parameters per look-up (SQLite allows 999 in old builds)


class Carried:
    """The (notice number, 宛名番号) pairs of a print file, read as its bytes stream past.

    On the print run's path (bench print_run.200k), beside gpg's compression: lines are split on
    the encoded bytes (a delimiter or line feed byte is never part of a cp932 or UTF-8
    character) and only the two fields are decoded; a block holding the quote character is
    parsed with the csv module instead (≈ 0.5 s for 200,000 lines either way)."""

    def __init__(self, layout: Layout) -> None:
        fmt, columns = layout.csv, layout.returns
        self.active = fmt is not None and columns is not None
        self.encoding = layout.encoding
        self.delimiter = fmt.delimiter if fmt else ","
        self.quote = fmt.quotechar if fmt else '"'
        self.notice_col, self.atena_col = (columns.notice_no, columns.atena_no) if columns else (0, 0)
        self.last = max(self.notice_col, self.atena_col)
        self.pairs: dict[str, str] = {}

    def tap(self, chunks: Iterable[bytes]) -> Iterator[bytes]:
        rest = b""
        for chunk in chunks:
            yield chunk
            if self.active:
                head, _, rest = (rest + chunk).rpartition(b"\n")
                self._lines(head)
        if self.active:
            self._lines(rest)

    def _lines(self, data: bytes) -> None:
        enc, last, n, a, pairs = self.encoding, self.last, self.notice_col, self.atena_col, self.pairs
        if self.quote.encode() in data:  # a quoted field somewhere: parse the block properly
            rows = csv.reader(io.StringIO(data.decode(enc), newline=""), delimiter=self.delimiter,
                              quotechar=self.quote)
            for row in rows:
                if len(row) > last:
                    pairs.setdefault(row[n], row[a])
            return
        delimiter = self.delimiter.encode()
        for line in data.split(b"\n"):
            fields = line.split(delimiter, last + 1)
            if len(fields) > last:
                pairs.setdefault(fields[n].decode(enc), fields[a].rstrip(b"\r").decode(enc))

    def store(self, session: Session, transfer_id: str) -> None:
        if self.pairs:
            # Core executemany, not the ORM's bulk insert: 1.2 s instead of 2.7 s for 200,000 on SQLite.
            rows = [{"transfer_id": transfer_id, "notice_no": n, "atena_no": a} for n, a in self.pairs.items()]
            session.execute(cast(Table, HandoverNotice.__table__).insert(), rows)


def check(session: Session, name: str, transfer_id: str, returned: list[Returned]) -> None:
    """AnswerError (rule returns_not_in_transfer, the line named) unless every returned notice is
    a (notice number, 宛名番号) pair the transfer carried."""
    carried: dict[str, str] = {}
    numbers = sorted({r.notice_no for r in returned})
    for i in range(0, len(numbers), _BATCH):
        rows = session.execute(
            select(HandoverNotice.notice_no, HandoverNotice.atena_no)
            .where(HandoverNotice.transfer_id == transfer_id, HandoverNotice.notice_no.in_(numbers[i:i + _BATCH])))
        carried.update((notice_no, atena_no) for notice_no, atena_no in rows)
    for line, r in enumerate(returned, start=2):  # line 1 is the header
        if r.notice_no not in carried:
            raise AnswerError(f"{name}: line {line}: notice_no is not a notice of transfer {transfer_id}",
                              NOT_IN_TRANSFER)
        if carried[r.notice_no] != r.atena_no:
            raise AnswerError(f"{name}: line {line}: atena_no is not the one notice_no was sent to in transfer "
                              f"{transfer_id}", NOT_IN_TRANSFER)


def apply(session: Session, transfer_id: str, returned: list[Returned]) -> tuple[int, int]:
    """Record the returned notices not yet recorded for this hand-over and mark their persons'
    送付先 returned: (notices recorded now, 送付先 marked now)."""
    now = datetime.now(UTC)
    known = set(session.scalars(select(HandoverReturn.notice_no).where(HandoverReturn.transfer_id == transfer_id)))
    new: dict[str, Returned] = {}
    for r in returned:
        if r.notice_no not in known:
            new.setdefault(r.notice_no, r)
    if not new:
        return 0, 0
    rows: list[dict[str, Any]] = [{"transfer_id": transfer_id, "notice_no": r.notice_no, "atena_no": r.atena_no,
                                   "reason_code": r.reason_code, "returned_on": r.returned_on, "recorded_at": now}
                                  for r in new.values()]
    session.execute(insert(HandoverReturn), rows)
    marked = 0
    atena = sorted({r.atena_no for r in new.values()})
    for i in range(0, len(atena), _BATCH):
        result = cast(CursorResult[Any], session.execute(
            update(Atena).where(Atena.atena_no.in_(atena[i:i + _BATCH]), Atena.sofu_status == SOFU_OK)
            .values(sofu_status=SOFU_RETURNED, updated_at=now)))
        marked += result.rowcount
    return len(new), marked
