"""The 年金特徴 (特別徴収) file frame: one byte stream, no record separators.

    for item in nenkin_frame.parse(stream, file="Z1100001.DTA"): ParsedRecord | RecordError

(writing one: mappings/nenkin_render.py)

A file is the 48-byte 管理レコード (layouts/nenkin/kanri-v1), the 48-byte ファイル管理レコード
(file-kanri-v1: ファイル格納件数 = the 500-byte records that follow [INF]), then one block per
市町村コード, in rising order: a header (区分 1), its data records (区分 2) and a trailer (区分 3)
whose 合計件数 and 合計金額1/2/3 are the block's count and sums of 金額1/2/3 (tokucho-v1, the
ISO-2022-JP shift-code form, by default; tokucho-cp932-v1 for the plain form). Every data record
and the trailer repeat the header's 市町村コード, 特別徴収義務者コード, 通知内容コード and 制度コード,
and 制度コード is "0" (介護) throughout (DOMAIN.md §年金特徴, LAYOUTS-EVIDENCE.md §4).

Parse streams (RUN records in hand at a time) and never stops at a problem: each record is
yielded parsed or as a RecordError naming file, record number (the 管理レコード is 1), byte
offset, field and rule; frame faults are RecordErrors too: length ((length − 96) mod 500 ≠ 0),
block_structure, block_order, same_as_header, seido_code, trailer_count, trailer_total,
file_count, record_kind. A block's data records are read a run at a time by their columns
(mappings/fixed_columns, bound to the header's shared fields and 制度コード 0) when that path can
vouch for every one of them, else one by one; the items are the same either way
(``by_columns=False``, the reference, in tests/unit/test_nenkin_columns.py and the fuzz target).

Damage (DAMAGE: what adapters/judgement.py reports first and alone): with no separators, a
record is where its byte offset says, so a byte lost or added anywhere moves every record after
it — their 区分 and fields then read as garbage, follow-ons of one cause. Damage is: no bytes
(empty_file); a length that is not 96 + a multiple of 500 (length: found at the end, on the
last, short piece, whose message gives the (length − 96) mod 500 and the first record found
wrong, where the loss most likely is); a ファイル格納件数 other than
the records there (file_count: whole records lost or added). Not damage: a record of unknown
区分 in a file of good length (record_kind), block and trailer rules, encoding (the shift codes
of the ISO-2022-JP form stay inside their field) and every rule on a record's fields.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import chain

from mappings.fixed_codec import plan
from mappings.fixed_columns import RunPlan, parsed, run_plan
from mappings.layout import Layout
from mappings.records import FieldProblem, ParsedRecord, RecordError
from mappings.registry import layouts
from mappings.streams import Source, chunks

KANRI = FILE_KANRI = 48
HEAD = KANRI + FILE_KANRI
RECORD = 500
KAIGO = "0"  # 特別徴収制度コード of 介護保険; the other 制度 (国保, 後期) have files of their own
DAMAGE = frozenset({"empty_file", "length", "file_count"})
SHARED = ("shichoson_code", "gimusha_code", "tsuchi_naiyo_code", "seido_code")
AMOUNTS = ("kingaku1", "kingaku2", "kingaku3")
TOTALS = ("gokei_kingaku1", "gokei_kingaku2", "gokei_kingaku3")
CONTROL = ("shichoson_code", "baitai_tsuban", "sakusei_ymd", "gimusha_code", "tsuchi_naiyo_code", "baitai_code")
SPOOL_IN_MEMORY = 8 << 20
RUN = 256  # records read together: data records of a block by their columns (mappings/fixed_columns)
READ = 1 << 19  # bytes read from a file at a time
_KIND = re.compile(r"(?:^|DE[0-9A-Z]{2})(Z1[1-4A])", re.IGNORECASE)


class NenkinFrameError(ValueError):
    """A caller error the frame cannot report as a record (not a binary stream, bad control)."""


def default_layout() -> Layout:
    return layouts.get("nenkin", "tokucho", "1")


def kanri_layout() -> Layout:
    return layouts.get("nenkin", "kanri", "1")


def file_kanri_layout() -> Layout:
    return layouts.get("nenkin", "file-kanri", "1")


def file_kind(file_name: str) -> str | None:
    """Z11 / Z12 / Z13 / Z14 / Z1A from a file name (Z1100001.DTA, DE01Z12202601.DTA), or None."""
    m = _KIND.match(file_name.rsplit("/", 1)[-1])
    return m.group(1).upper() if m else None


# --- render -------------------------------------------------------------------------------------


# --- parse --------------------------------------------------------------------------------------

def _pieces(source: Source) -> Iterator[bytes]:
    """The 管理 and ファイル管理 records (48 bytes each), then runs of RUN whole 500-byte records
    (fewer at the end); the last piece is short when the stream is."""
    buf = bytearray()
    heads = [KANRI, FILE_KANRI]
    run = RUN * RECORD
    pos = 0
    for chunk in chunks(source, READ):
        buf += chunk
        pos = 0
        with memoryview(buf) as view:  # a piece is copied once, not sliced into a bytearray first
            while heads and len(buf) - pos >= heads[0]:
                size = heads.pop(0)
                yield bytes(view[pos:pos + size])
                pos += size
            while not heads and len(buf) - pos >= run:
                yield bytes(view[pos:pos + run])
                pos += run
        del buf[:pos]
    whole = 0 if heads else len(buf) // RECORD * RECORD
    for pos in range(0, whole, run):
        yield bytes(buf[pos:min(pos + run, whole)])
    if len(buf) > whole:
        yield bytes(buf[whole:])


@dataclass
class _InBlock:
    record_no: int
    city: bytes
    key: bytes  # the bytes of the shared fields (市町村, 義務者, 通知内容, 制度) in the header
    count: int = 0
    sums: list[int] = field(default_factory=lambda: [0, 0, 0])
    sums_known: bool = True  # False once a data record of it could not be parsed
    count_known: bool = True  # False once a record of unknown kind sat in it
    run: RunPlan | None = None  # its data records' columns: the header's shared fields, 制度 0


def _key(rec: bytes) -> bytes:
    return rec[1:11] + rec[12:13]


_SPANS = {"shichoson_code": slice(1, 6), "gimusha_code": slice(6, 9), "tsuchi_naiyo_code": slice(9, 11),
          "seido_code": slice(12, 13)}


def parse(source: Source, *, file: str = "<stream>", layout: Layout | None = None,
          by_columns: bool = True) -> Iterator[ParsedRecord | RecordError]:
    """The 管理 and ファイル管理 records, then every header, data and trailer record in order,
    each parsed or a RecordError; frame faults as RecordErrors (field None or the field concerned).
    Garbage input gives RecordErrors, never another exception. ``by_columns=False`` reads every
    record on its own: the reference the column path is held to (same items, slower)."""
    return _Frame(file, layout or default_layout(), by_columns).parse(source)


class _Frame:
    """One file being read: the record number, the open block and what the trailers and the
    ファイル管理レコード are checked against."""

    def __init__(self, file: str, layout: Layout, by_columns: bool = True) -> None:
        self.file = file
        self.by_columns = by_columns
        self.kinds = {b"1": plan(layout, layout.kind("header")), b"2": plan(layout, layout.kind("data")),
                      b"3": plan(layout, layout.kind("trailer"))}
        self.data = run_plan(layout, layout.kind("data"))
        self.sensitive = layout.kind("data").sensitive_names
        self.no = self.offset = self.records = 0
        self.declared: int | None = None
        self.block: _InBlock | None = None
        self.prev_city: bytes | None = None
        self.first_wrong: int | None = None  # the first record found wrong: where a byte lost may lie

    def parse(self, source: Source) -> Iterator[ParsedRecord | RecordError]:
        # the items come a piece at a time as lists, walked in C by chain (a generator step each
        # would cost as much as a record's values)
        return chain.from_iterable(self._lists(source))

    def _lists(self, source: Source) -> Iterator[list[ParsedRecord | RecordError]]:
        kanri, file_kanri = kanri_layout(), file_kanri_layout()
        try:
            for piece in _pieces(source):
                if self.no >= 2 and len(piece) >= RECORD:
                    yield self._run(piece)
                    continue
                self.no += 1
                at, self.offset = self.offset, self.offset + len(piece)
                expected = KANRI if self.no <= 2 else RECORD
                if len(piece) < expected:
                    # the cause first: the length; a short piece is only where it shows
                    what = ("管理レコード", "ファイル管理レコード")[self.no - 1] if self.no <= 2 else "record"
                    cause = (f"(length − 96) mod 500 = {(self.offset - HEAD) % RECORD}, not 0: bytes lost or "
                             "added, every record after that point is misread" if self.offset >= HEAD
                             else "shorter than the 96-byte head")
                    wrong = f"; the first record found wrong is record {self.first_wrong}" if self.first_wrong else ""
                    yield [RecordError(self.file, self.no, (FieldProblem(
                        None, "length", f"file length {self.offset}: {cause}; the last {what} is {len(piece)} "
                                        f"bytes of {expected}{wrong}"),), offset=at,
                        kind=("kanri", "file_kanri")[self.no - 1] if self.no <= 2 else None)]
                    break
                lay = kanri if self.no == 1 else file_kanri
                got = plan(lay, lay.kinds[0]).parse(piece, file=self.file, record_no=self.no, offset=at)
                if self.no == 2:
                    self.declared = got["file_kensu"] if isinstance(got, ParsedRecord) else None
                yield [got]
        except TypeError as exc:  # not a binary stream: the caller's error
            raise NenkinFrameError(f"{self.file}: {exc}") from None
        yield list(self._finish())

    def _run(self, piece: bytes) -> list[ParsedRecord | RecordError]:
        """Whole records: runs of data records in a block by their columns where all are valid,
        every other record (and every record of a run in doubt) on its own."""
        kinds = piece[::RECORD]
        out: list[ParsedRecord | RecordError] = []
        i, n = 0, len(kinds)
        while i < n:
            block = self.block
            if kinds[i] == 0x32 and block is not None and block.run is not None:
                end = n - len(kinds[i:].lstrip(b"2"))
                got = block.run.values(piece if i == 0 and end == n else piece[i * RECORD:end * RECORD], AMOUNTS)
                if got is not None:
                    values, sums = got
                    count = end - i
                    out += parsed(self.no + 1, "data", values, self.sensitive)
                    self.no += count
                    self.offset += count * RECORD
                    self.records += count
                    block.count += count
                    block.sums = [a + b for a, b in zip(block.sums, sums, strict=True)]
                    i = end
                    continue
                out += map(self._checked, [piece[j * RECORD:(j + 1) * RECORD] for j in range(i, end)])
                i = end
                continue
            out.append(self._checked(piece[i * RECORD:(i + 1) * RECORD]))
            i += 1
        return out

    def _checked(self, rec: bytes) -> ParsedRecord | RecordError:
        got = self._record(rec)
        if self.first_wrong is None and isinstance(got, RecordError):
            self.first_wrong = got.record_no
        return got

    def _record(self, rec: bytes) -> ParsedRecord | RecordError:
        """One 500-byte record on the full path, with the frame's rules."""
        self.no += 1
        no, at = self.no, self.offset
        self.offset += RECORD
        self.records += 1
        file, kinds, block = self.file, self.kinds, self.block
        problems: list[FieldProblem] = []
        kind = rec[:1]
        if rec[12:13] != b"0" and kind in kinds:
            problems.append(FieldProblem("seido_code", "seido_code", "特別徴収制度コード must be 0 (介護)"))
        if kind == b"1":
            if block is not None:
                problems.append(FieldProblem(None, "block_structure", f"a header before the trailer of the block "
                                             f"opened at record {block.record_no}"))
            city = rec[1:6]
            if self.prev_city is not None and city <= self.prev_city:
                problems.append(FieldProblem("shichoson_code", "block_order", "blocks must come in rising "
                                             f"市町村コード order: {city.decode('latin-1')} after "
                                             f"{self.prev_city.decode('latin-1')}"))
            self.prev_city = city
            self.block = _InBlock(no, city, _key(rec), run=self._data_run(rec))
            return kinds[kind].parse(rec, file=file, record_no=no, offset=at, problems=problems)
        if kind == b"2":
            if block is None:
                problems.append(FieldProblem(None, "block_structure", "a data record outside a block (no header)"))
            else:
                block.count += 1
                if _key(rec) != block.key:
                    problems.extend(_differs(rec, block))
            got = kinds[kind].parse(rec, file=file, record_no=no, offset=at, problems=problems)
            if block is not None:
                if isinstance(got, ParsedRecord):
                    values = got.values
                    sums = block.sums
                    sums[0] += values["kingaku1"]
                    sums[1] += values["kingaku2"]
                    sums[2] += values["kingaku3"]
                else:
                    block.sums_known = False
            return got
        if kind == b"3":
            if block is None:
                problems.append(FieldProblem(None, "block_structure", "a trailer outside a block (no header)"))
            elif _key(rec) != block.key:
                problems.extend(_differs(rec, block))
            got = kinds[kind].parse(rec, file=file, record_no=no, offset=at, problems=problems)
            if block is not None and isinstance(got, ParsedRecord):
                totals = _totals(got, block)
                if totals:
                    got = RecordError(file, no, tuple(totals), offset=at, kind="trailer")
            self.block = None
            return got
        if block is not None:
            block.count_known = block.sums_known = False
        problems.append(FieldProblem(None, "record_kind", "レコード区分 must be 1, 2 or 3"))
        return RecordError(file, no, tuple(problems), offset=at)

    def _data_run(self, header: bytes) -> RunPlan | None:
        """The columns of the block's data records: the header's shared fields, 制度コード 0
        (a header with another 制度 leaves every data record to the full path, which reports it)."""
        if header[12:13] != KAIGO.encode() or not self.by_columns:
            return None
        return self.data.narrowed({name: header[span] for name, span in _SPANS.items()})

    def _finish(self) -> Iterator[RecordError]:
        file, last, length, block, declared = self.file, self.no, self.offset, self.block, self.declared
        if last == 0:
            yield RecordError(file, 0, (FieldProblem(None, "empty_file", "no bytes"),))
            return
        if block is not None:
            yield RecordError(file, last, (FieldProblem(None, "block_structure", f"no trailer for the block opened "
                                                        f"at record {block.record_no}"),))
        if declared is not None and length >= HEAD and (length - HEAD) % RECORD == 0 and declared != self.records:
            yield RecordError(file, 2, (FieldProblem("file_kensu", "file_count", f"ファイル格納件数 {declared}, the "
                                                     f"file has {self.records} records of 500 bytes"),),
                              offset=KANRI, kind="file_kanri")


def _differs(rec: bytes, block: _InBlock) -> list[FieldProblem]:
    header = block.key[:10] + b" " + block.key[10:]
    return [FieldProblem(name, "same_as_header", f"differs from the header (record {block.record_no})")
            for name, span in _SPANS.items() if rec[span] != header[span.start - 1:span.stop - 1]]


def _totals(trailer: ParsedRecord, block: _InBlock) -> list[FieldProblem]:
    found = []
    if block.count_known and trailer["gokei_kensu"] != block.count:
        found.append(FieldProblem("gokei_kensu", "trailer_count",
                                  f"trailer says {trailer['gokei_kensu']}, the block has {block.count} data records"))
    if block.count_known and block.sums_known:
        for name, total in zip(TOTALS, block.sums, strict=True):
            if trailer[name] != total:
                found.append(FieldProblem(name, "trailer_total",
                                          f"trailer says {trailer[name]}, the block's 金額 add up to {total}"))
    return found
