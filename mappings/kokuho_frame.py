"""The common 国保連 exchange-file frame: control record, data records, end record.

    for item in kokuho_frame.parse(stream, file="JK531.CSV"): ParsedRecord | RecordError
    chunks = kokuho_frame.render("5311", {"hokensha_no": "131128", "shori_ym": "202604",
                                          "baitai_kubun": "1"}, records, file_no=1)

A file is one control record ("1"), data records ("2") and one end record ("3"), cp932, CRLF
(DOMAIN.md, LAYOUTS-EVIDENCE.md §0). Render numbers every record 1..n across the file and writes
レコード件数 = the number of data records ([INF]: checked on read for the same reason) and
ファイル管理番号 from the caller's sequence. Parse streams: it checks the frame as it goes and
yields the control record, then each data record parsed with the layout chosen by
(交換情報識別番号, month) in layouts/kokuho/index/exchanges.toml, or a RecordError; frame faults
(count, sequence, missing/extra records) are RecordErrors too, so one pass reports everything.

Damage (DAMAGE: what adapters/judgement.py reports first and alone, every other finding being a
follow-on): a finding that the file is not what the 国保連 wrote, so that which line is which
record can no longer be trusted — no bytes (empty_file); a line not ended by CRLF (line_terminator:
an LF-only file was converted in transit, a last line without one was cut); no end record
(end_missing: the file was cut at a line boundary); a line after the end record (after_end); a
file that does not begin with its control record, or a second one (control_missing,
control_position: cut at the head, or files run together); a line that is no record of the frame
(record_type: an empty or split line), or whose レコード番号 is not a number (record_no) or out
of sequence (record_no_sequence: lines lost, repeated or moved); in the XML form, a document
that breaks off or is not well-formed (xml_syntax). Not damage: bytes that are not cp932
(encoding: cp932 trail bytes are never CR, LF, comma or quote, so the lines and columns stand),
a wrong レコード件数 when the numbering is whole (the control record is wrong, nothing was lost),
and every rule on a record's fields.
"""

from __future__ import annotations

import re
import tempfile
import tomllib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mappings import csv_codec
from mappings.charpolicy import CharPolicy
from mappings.converters.numbers import MAX_DIGITS
from mappings.layout import Layout
from mappings.records import FieldProblem, ParsedRecord, RecordError
from mappings.registry import LayoutRegistry, layouts
from mappings.streams import Source, lines

ENCODING = "cp932"
INDEX_PATH = Path(__file__).resolve().parent / "layouts" / "kokuho" / "index" / "exchanges.toml"
SPOOL_IN_MEMORY = 8 << 20
COMPUTED = ("record_type", "record_no", "record_count", "file_kanri_no", "blank")
DAMAGE = frozenset({"empty_file", "line_terminator", "end_missing", "after_end", "control_missing",
                    "control_position", "record_type", "record_no", "record_no_sequence", "xml_syntax"})


class KokuhoFrameError(ValueError):
    """A caller error the frame cannot report as a record (not binary input, unknown exchange)."""


@dataclass(frozen=True)
class Exchange:
    id: str  # 交換情報識別番号
    layout: str
    version: str
    month: str | int = "shori_ym"  # "shori_ym" or the data column holding a YYYYMM
    valid_from: str | None = None
    valid_until: str | None = None
    control: Mapping[str, str] = field(default_factory=dict)

    def covers(self, month: str | None) -> bool:
        if month is None or month == "000000":  # unknown month: the 識別番号 alone decides
            return True
        return (self.valid_from is None or month >= self.valid_from) and (
            self.valid_until is None or month <= self.valid_until)


class ExchangeIndex:
    """交換情報識別番号 + month → data layout, from a TOML index (data, not code)."""

    def __init__(self, path: Path = INDEX_PATH, registry: LayoutRegistry = layouts) -> None:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
        self.registry = registry
        self._layouts: dict[tuple[str, str], Layout] = {}
        self._entries: dict[tuple[str, str | None], Exchange | None] = {}
        self._candidates: dict[str, tuple[Exchange, ...]] = {}
        try:
            self.entries = tuple(Exchange(**e) for e in data.get("exchange", []))
        except TypeError as exc:  # an unknown or missing key in an [[exchange]] table
            raise KokuhoFrameError(f"{path}: {exc}") from None

    def entry(self, exchange_id: str, month: str | None = None) -> Exchange | None:
        key = (exchange_id, month)
        if key in self._entries:  # every record of a file asks the same few questions
            return self._entries[key]
        found = [e for e in self.entries if e.id == exchange_id and e.covers(month)]
        chosen = max(found, key=lambda e: e.valid_from or "") if found else None
        if len(self._entries) < 10_000:  # garbage input asks garbage questions: bounded
            self._entries[key] = chosen
        return chosen

    def candidates(self, exchange_id: str) -> tuple[Exchange, ...]:
        """Every entry of a 交換情報識別番号, whatever its month."""
        found = self._candidates.get(exchange_id)
        if found is None:
            found = tuple(e for e in self.entries if e.id == exchange_id)
            if len(self._candidates) < 10_000:
                self._candidates[exchange_id] = found
        return found

    def layout(self, entry: Exchange) -> Layout:
        found = self._layouts.get((entry.layout, entry.version))
        if found is None:  # looked up once: a file asks for every record
            found = self._layouts[(entry.layout, entry.version)] = self.registry.get("kokuho", entry.layout,
                                                                                      entry.version)
        return found


_index: ExchangeIndex | None = None


def default_index() -> ExchangeIndex:
    global _index
    if _index is None:
        _index = ExchangeIndex()
    return _index


def frame_layout() -> Layout:
    return layouts.get("kokuho", "frame", "1")


def _end_has_blank(layout: Layout) -> bool:
    # [INF] the vendor's 5311 end entity has a trailing ブランク and its data record ends with one;
    # files whose data records have none (5361, 突合結果) end with レコード種別, レコード番号 only.
    last = layout.kinds[0].fields[-1]
    return last.converter.name == "filler"


# --- render -------------------------------------------------------------------------------------

def render(exchange_id: str, control: Mapping[str, Any], records: Iterable[Mapping[str, Any]], *,
           file_no: int = 1, chars: CharPolicy | None = None, index: ExchangeIndex | None = None,
           file_no_width: int = 6) -> Iterator[bytes]:
    """One whole file. `control` gives the per-file values (保険者番号, 処理対象年月, 媒体区分 …)
    over the exchange's fixed ones; レコード番号, レコード件数 and ファイル管理番号 are computed.
    Records withheld by the CharPolicy are left out and not counted. RenderError on bad data."""
    index = index or default_index()
    month = control.get("shori_ym")
    entry = index.entry(exchange_id, str(month) if month is not None else None)
    if entry is None:
        raise KokuhoFrameError(f"no layout for 交換情報識別番号 {exchange_id} in month {month}")
    layout = index.layout(entry)
    bad = set(control) & set(COMPUTED)
    if bad:
        raise KokuhoFrameError(f"control values {sorted(bad)} are computed by the frame, not given")
    # The control record needs the count, so data lines are rendered first (one record at a time,
    # so that a withheld record does not take a レコード番号) into a spool that moves to disk past
    # a few MB: a file of a million records is not held in memory.
    count = 0
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY) as spool:
        for record in records:
            out = b"".join(csv_codec.render(layout, [{**record, "record_no": count + 2}], chars=chars))
            if out:
                spool.write(out)
                count += 1
        ctl = {**entry.control, **control, "record_no": 1, "record_count": count,
               "file_kanri_no": f"{file_no:0{file_no_width}d}"}
        head = b"".join(csv_codec.render(frame_layout(), [ctl], chars=chars))
        yield _requote(head, layout)
        spool.seek(0)
        yield from iter(lambda: spool.read(1 << 16), b"")
    end = f"3,{count + 2}" + ("," if _end_has_blank(layout) else "")
    yield _requote(end.encode(ENCODING) + b"\r\n", layout)


def _requote(line: bytes, layout: Layout) -> bytes:
    """Control/end values are plain ASCII; enclose them as the data layout encloses its values."""
    if layout.csv is None or layout.csv.quoting != "all":
        return line
    cols = line[:-2].split(b",")
    return b",".join(b'"' + c + b'"' for c in cols) + b"\r\n"


# --- parse --------------------------------------------------------------------------------------

def _cols(text: str, upto: int = 3) -> list[str]:
    """The leading columns for dispatch only (quotes dropped); the layouts parse the line properly."""
    head = text.split(",", upto)
    return [c[1:-1] if len(c) >= 2 and c[0] == c[-1] == '"' else c for c in head[:upto]]


def parse(source: Source, *, file: str = "<stream>", index: ExchangeIndex | None = None,
          file_no: int | None = None) -> Iterator[ParsedRecord | RecordError]:
    """Control record (kind "control"), then every data record or its RecordError, in order;
    frame faults come as RecordErrors with field None (or the control field concerned). Never
    stops at a bad record; garbage input gives RecordErrors, never another exception."""
    try:
        yield from _parse(source, file, index or default_index(), file_no)
    except TypeError as exc:  # not a binary stream: the caller's error, reported as ours
        raise KokuhoFrameError(f"{file}: {exc}") from None


def _parse(source: Source, file: str, index: ExchangeIndex,
           file_no: int | None) -> Iterator[ParsedRecord | RecordError]:
    control: ParsedRecord | None = None
    pos = offset = data_count = 0
    expected = 1
    prev: int | None = None
    end_at: int | None = None
    for raw in lines(source):
        pos += 1
        at, offset = offset, offset + len(raw)
        problems: list[FieldProblem] = []
        if raw.endswith(b"\r\n"):
            body = raw[:-2]
        else:
            body = raw.rstrip(b"\n")
            what = "LF without CR" if raw.endswith(b"\n") else "truncated: last line has no CRLF"
            problems.append(FieldProblem(None, "line_terminator", f"{what}; records end with CRLF"))
        try:
            text, undecodable = body.decode(ENCODING), False
        except UnicodeDecodeError as exc:
            problems.append(FieldProblem(None, "encoding",
                                         f"bytes not valid {ENCODING} at byte offset {at + exc.start}"))
            text, undecodable = body.decode(ENCODING, "surrogateescape"), True
        if not text.isascii() and UNASSIGNED.search(text) is not None:  # isascii: a flag, no scan
            problems.extend(_outside_jis(text, at))
        cols = _cols(text)
        kind = cols[0]
        declared = int(cols[1]) if len(cols) > 1 and cols[1].isascii() and cols[1].isdigit() \
            and len(cols[1]) <= MAX_DIGITS else None
        no = declared if declared is not None else pos
        if end_at is not None:
            problems.append(FieldProblem(None, "after_end", f"record after the end record (line {end_at})"))
            yield RecordError(file, no, tuple(problems), line=pos, offset=at)
            continue
        if declared is None:
            problems.append(FieldProblem("record_no", "record_no", "レコード番号 is not a number"))
        elif declared != expected:
            rule = "duplicate" if declared == prev else f"expected {expected}"
            problems.append(FieldProblem("record_no", "record_no_sequence", f"レコード番号 {declared}: {rule}"))
        prev, expected = declared, (declared if declared is not None else expected) + 1
        if pos == 1 and kind != "1":
            problems.append(FieldProblem(None, "control_missing", "the first record is not a control record"))
        if kind == "1":
            if pos != 1:
                problems.append(FieldProblem(None, "control_position", "a control record after the first"))
            got = _one(frame_layout(), text, undecodable, file, no, pos, at, problems)
            if isinstance(got, ParsedRecord) and pos == 1:
                control = got
                if file_no is not None and got["file_kanri_no"] != f"{file_no:06d}":
                    got = RecordError(file, no, (FieldProblem("file_kanri_no", "file_kanri_no",
                                                              f"expected ファイル管理番号 {file_no:06d}"),),
                                      line=pos, offset=at, kind="control")
            yield got
        elif kind == "3":
            end_at = pos
            whole = _cols(text, 4)
            if not (2 <= len(whole) <= 3 and (len(whole) == 2 or whole[2] == "")):
                problems.append(FieldProblem(None, "end_record",
                                             "end record is レコード種別, レコード番号[, ブランク]"))
            if problems:
                yield RecordError(file, no, tuple(problems), line=pos, offset=at, kind="end")
        elif kind == "2":
            data_count += 1
            yield _data(cols, text, undecodable, control, index, file, no, pos, at, problems)
        else:
            problems.append(FieldProblem(None, "record_type", "レコード種別 must be 1, 2 or 3"))
            yield RecordError(file, no, tuple(problems), line=pos, offset=at)
    yield from _finish(file, pos, end_at, control, data_count)


# Python's cp932 decodes the unassigned single bytes 0x80, 0xA0, 0xFD-0xFF to U+0080 / private-use
# characters instead of failing; no partner text holds them, so they are encoding errors too.
UNASSIGNED = re.compile("[\x80\uf8f0-\uf8f3]")


def _outside_jis(text: str, at: int) -> list[FieldProblem]:
    found = []
    for m in UNASSIGNED.finditer(text):
        where = at + len(text[: m.start()].encode(ENCODING, "surrogateescape"))
        found.append(FieldProblem(None, "encoding", f"byte unassigned in {ENCODING} at byte offset {where}"))
    return found


def _finish(file: str, pos: int, end_at: int | None, control: ParsedRecord | None,
            data_count: int) -> Iterator[RecordError]:
    if pos == 0:
        yield RecordError(file, 0, (FieldProblem(None, "empty_file", "no records"),))
        return
    if end_at is None:
        yield RecordError(file, pos, (FieldProblem(None, "end_missing", "no end record"),), line=pos)
    if control is not None and control["record_count"] != data_count:
        yield RecordError(file, 1, (FieldProblem("record_count", "record_count",
                                                 f"control says {control['record_count']}, "
                                                 f"the file has {data_count} data records"),),
                          line=1, kind="control")


def _data(cols: list[str], text: str, undecodable: bool, control: ParsedRecord | None, index: ExchangeIndex,
          file: str, no: int, pos: int, at: int, problems: list[FieldProblem]) -> ParsedRecord | RecordError:
    exchange_id = cols[2] if len(cols) > 2 else ""
    candidates = index.candidates(exchange_id)
    month: str | None = None
    if candidates:
        where = candidates[0].month
        if isinstance(where, int):
            upto = _cols(text, where + 1)
            month = upto[where] if len(upto) > where else None
        elif control is not None:
            month = control["shori_ym"]
    entry = index.entry(exchange_id, month)
    if entry is None:
        why = "unknown" if not candidates else f"has no layout for month {month}"
        shown = exchange_id if exchange_id.isascii() and len(exchange_id) <= 8 else "?"
        problems.append(FieldProblem("exchange_id", "exchange_id", f"交換情報識別番号 {shown}: {why}"))
        return RecordError(file, no, tuple(problems), line=pos, offset=at)
    if control is not None and not exchange_id.startswith(control["data_type"]):
        problems.append(FieldProblem("exchange_id", "data_type",
                                     f"交換情報識別番号 {exchange_id} is not of データ種別 {control['data_type']}"))
    return _one(index.layout(entry), text, undecodable, file, no, pos, at, problems)


def _one(layout: Layout, text: str, undecodable: bool, file: str, no: int, pos: int, at: int,
         problems: list[FieldProblem]) -> ParsedRecord | RecordError:
    """One line through the layout's CSV rules, merged with the frame's problems."""
    got = csv_codec.parse_text(layout, text, undecodable, [], file=file, record_no=no, line_no=pos)
    if isinstance(got, ParsedRecord):
        if not problems:
            return got
        return RecordError(file, no, tuple(problems), line=pos, offset=at, kind=got.kind)
    return RecordError(file, no, tuple(problems) + got.problems, line=pos, offset=at, kind=got.kind)
