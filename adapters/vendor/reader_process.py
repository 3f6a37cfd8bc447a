"""A print run's read query run by a helper process, so that SQLite works on another core.

SQLite executes a query inside the process that asks, and the 保険料決定通知書 query (a scan with
ten 期別 look-ups per row) costs as much CPU as rendering its records, while Python threads would
take turns (sqlite3 gives the GIL up for each row's step only). ``Rows`` therefore runs the same
compiled SQL in a child (``python -m adapters.vendor.reader_process``: standard library only, a
``query_only`` connection, one read transaction) that streams the rows back as marshal blocks
through a pipe, so this process renders one block while the child reads the next; the pipe's
size bounds what is in flight, so memory stays flat.

Measured (bench print_run, 170,186 notices, run + worker, four pairs alternated on the shared
2-core machine): with the helper 2.59 / 4.31 / 3.09 / 4.15 s to the last part sent, the query in
the run's own process 3.40 / 4.36 / 3.20 / 4.19 s, for about 0.1 s more CPU (the child's start,
marshal). It pays for itself, the more the freer the second core; since the render got faster
(mappings/csv_codec.py, by column) the query is the longer of the two, so the run waits on it.

The child counts the rows first, in the same read transaction, so the count a run splits its
parts by is that of the rows it gets. A store that is not a SQLite file (PostgreSQL runs the
query in its own server process already) is read in this process, from the caller's session.
"""

from __future__ import annotations

import json
import marshal
import sqlite3
import struct
import subprocess
import sys
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, BinaryIO, TypeVarTuple

if TYPE_CHECKING:  # not imported at run time: the child imports this module and needs only the stdlib
    from sqlalchemy import Connection, CursorResult, Select
    from sqlalchemy.orm import Session

Row = TypeVarTuple("Row")
BLOCK = 5000  # rows per block (as the in-process path's yield_per)
_LEN = struct.Struct(">I")


class ReaderError(RuntimeError):
    """The helper process failed (its exit status and last line of stderr; never row data)."""


class Rows:
    """``query``'s rows, in order, and how many there are (``count``), from one snapshot: a helper
    process's on a SQLite file, else ``session``'s (its transaction holds the snapshot). Iterate
    once; ``close`` (or the end of the rows) ends the helper process."""

    def __init__(self, session: Session, query: Select[*Row], count: Select[int]) -> None:
        connection = session.connection()
        database = connection.engine.url.database
        self._child: subprocess.Popen[bytes] | None = None
        self._result: CursorResult[*Row] | None = None
        if connection.dialect.name != "sqlite" or not database or database == ":memory:":
            self.count = int(session.scalar(count) or 0)
            self._result = connection.execute(query.execution_options(yield_per=BLOCK))
            self._rows: Iterator[Sequence[Any]] = iter(self._result)
            return
        job = {"database": database, "query": _compiled(query, connection), "count": _compiled(count, connection)}
        self._child = subprocess.Popen([sys.executable, "-m", __name__], stdin=subprocess.PIPE,
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            assert self._child.stdin is not None
            self._child.stdin.write(json.dumps(job).encode())
            self._child.stdin.close()
            self.count = int(_frame(self._child))
        except BaseException:
            self.close()
            raise
        self._rows = self._blocks(self._child)

    def __iter__(self) -> Iterator[Sequence[Any]]:
        return self._rows

    def _blocks(self, child: subprocess.Popen[bytes]) -> Iterator[Sequence[Any]]:
        try:
            while (block := _frame(child)) is not None:
                yield from block
            if child.wait() != 0:
                raise _failed(child)
        finally:
            self.close()

    def close(self) -> None:
        if self._result is not None:
            self._result.close()
        child, self._child = self._child, None
        if child is None:
            return
        if child.poll() is None:
            child.kill()
        child.wait()
        for pipe in (child.stdout, child.stderr):
            if pipe is not None:
                pipe.close()

    def __enter__(self) -> Rows:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def _compiled(statement: Select[*Row] | Select[int], connection: Connection) -> dict[str, Any]:
    compiled = statement.compile(dialect=connection.dialect, compile_kwargs={"render_postcompile": True})
    return {"sql": compiled.string, "params": [compiled.params[name] for name in compiled.positiontup or ()]}


def _frame(child: subprocess.Popen[bytes]) -> Any:
    """The next marshalled object from the child (None: the end, an empty frame)."""
    assert child.stdout is not None
    head = child.stdout.read(_LEN.size)
    if len(head) < _LEN.size:
        child.wait()
        raise _failed(child)
    size = _LEN.unpack(head)[0]
    if size == 0:
        return None
    body = child.stdout.read(size)
    if len(body) < size:
        child.wait()
        raise _failed(child)
    return marshal.loads(body)  # noqa: S302 - from our own child, through a pipe only we hold


def _failed(child: subprocess.Popen[bytes]) -> ReaderError:
    lines = (child.stderr.read() if child.stderr else b"").decode(errors="replace").strip().splitlines()
    return ReaderError(f"store reader process exited {child.returncode} before the end of its rows"
                       + (f": {lines[-1][:300]}" if lines else ""))


def _send(out: BinaryIO, value: Any) -> None:
    body = marshal.dumps(value) if value is not None else b""
    out.write(_LEN.pack(len(body)) + body)


def _main() -> None:
    job = json.load(sys.stdin)
    conn = sqlite3.connect(job["database"], timeout=60, isolation_level=None)
    conn.execute("PRAGMA query_only = 1")
    conn.execute("BEGIN")  # one snapshot for the count and the rows
    out = sys.stdout.buffer
    _send(out, conn.execute(job["count"]["sql"], job["count"]["params"]).fetchone()[0])
    cursor = conn.execute(job["query"]["sql"], job["query"]["params"])
    while block := cursor.fetchmany(BLOCK):
        _send(out, block)
    _send(out, None)
    out.flush()
    conn.execute("COMMIT")
    conn.close()


if __name__ == "__main__":
    _main()
