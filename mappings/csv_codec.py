"""CSV framing: records ⇄ delimited lines in the layout's encoding, as streams.

One physical line is one record: text fields refuse CR and LF, so a stray quote can never swallow
the rest of a file, and a bad line costs only its own record. Quoting per layout: `minimal`
(quote when a value holds the delimiter or the quote; fields with `quoted = true` always), `all`,
or `none` (a value holding the delimiter or quote cannot be written and is an error).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from functools import cache
from typing import Any

from mappings.charpolicy import CharPolicy
from mappings.charsets import mask
from mappings.errors import RenderError
from mappings.layout import CsvFormat, Layout, RecordKind
from mappings.records import FieldProblem, ParsedRecord, RecordError, RecordRenderer, parse_texts
from mappings.streams import Source, lines

BOM = "\ufeff"


def _fmt(layout: Layout) -> CsvFormat:
    if layout.csv is None:
        raise ValueError(f"layout {layout.id} has no CSV framing")
    return layout.csv


class _Joiner:
    def __init__(self, layout: Layout, fmt: CsvFormat, renderer: RecordRenderer) -> None:
        self.layout, self.fmt, self.renderer = layout, fmt, renderer
        self.d, self.q = fmt.delimiter, fmt.quotechar
        self.forced = {k.name: tuple(f.quoted for f in k.fields) for k in layout.kinds}
        self.any_forced = {name: any(forced) for name, forced in self.forced.items()}

    def quote(self, text: str) -> str:
        return self.q + text.replace(self.q, self.q + self.q) + self.q

    def join(self, kind: RecordKind, texts: list[str], index: int = 0,
             record: Mapping[str, Any] | None = None) -> str:
        d, q, mode = self.d, self.q, self.fmt.quoting
        if mode == "all":
            return d.join(self.quote(t) for t in texts)
        line = d.join(texts)
        if q not in line and line.count(d) == len(texts) - 1 and not self.any_forced[kind.name]:
            return line
        forced = self.forced[kind.name]
        if mode == "none":
            for f, t in zip(kind.fields, texts, strict=True):
                if d in t or q in t:
                    key = self.renderer.key(record) if record is not None else ""
                    raise RenderError(self.layout.id, index, key, f.name, "csv_quoting",
                                      "value holds the delimiter or quote and the layout's quoting is none")
        return d.join(self.quote(t) if (force or d in t or q in t) else t
                      for t, force in zip(texts, forced, strict=True))


def render(layout: Layout, records: Iterable[Mapping[str, Any]], *, chars: CharPolicy | None = None,
           batch: int = 1000) -> Iterator[bytes]:
    """Encoded CSV, a chunk per `batch` records. Records are numbered from 1 in errors/reports.

    Each batch goes column by column first (``RecordRenderer.columns``), the lines of the records
    it takes joined at once; the others (a substitution, an error) and a batch whose values need
    quoting go record by record. Both give the same bytes."""
    fmt = _fmt(layout)
    renderer = RecordRenderer(layout, chars)
    joiner = _Joiner(layout, fmt, renderer)
    term, enc, d, q = fmt.line_terminator, layout.encoding, fmt.delimiter, fmt.quotechar
    buf: list[str] = [BOM] if fmt.bom else []
    if fmt.header:
        kind = layout.kind()
        buf.append(joiner.join(kind, [f.label for f in kind.fields]) + term)
    # Plain lines only (as _Joiner.join's first test): no field always quoted, quoting not "all".
    whole = fmt.quoting != "all" and not any(joiner.any_forced.values()) and d not in term and q not in term
    delimiters = len(layout.kinds[0].fields) - 1
    source, index = iter(records), 0
    while block := list(itertools.islice(source, batch)):
        columns = renderer.columns(block) if whole else None
        lines: Sequence[str | None] = ()  # per record: its line, or None for ``texts``
        if columns is not None:
            texts, slow = columns
            rows = zip(*texts, strict=True)
            if slow:
                lines = [None if i in slow else d.join(row) for i, row in enumerate(rows)]
                taken = [line for line in lines if line is not None]
            else:
                lines = taken = list(map(d.join, rows))
            joined = term.join(taken)
            if q in joined or joined.count(d) != delimiters * len(taken):
                lines = ()  # a value holding the delimiter or the quote: quoted, record by record
            elif not slow:
                buf.append(joined + term)
                index += len(block)
                yield "".join(buf).encode(enc)
                buf.clear()
                continue
        for record, line in zip(block, lines or [None] * len(block), strict=True):
            index += 1
            if line is not None:
                buf.append(line + term)
                continue
            got = renderer.texts(index, record)
            if got is not None:
                buf.append(joiner.join(got[0], got[1], index, record) + term)
        if buf:  # not when every record of the batch was withheld
            yield "".join(buf).encode(enc)
            buf.clear()
    if buf:
        yield "".join(buf).encode(enc)


class CsvSyntaxError(ValueError):
    def __init__(self, column: int, what: str) -> None:
        self.column = column
        super().__init__(f"{what} in column {column}")


@cache
def _field_regex(delimiter: str, quotechar: str) -> re.Pattern[str]:
    d, q = re.escape(delimiter), re.escape(quotechar)
    return re.compile(f"{q}((?:[^{q}]|{q}{q})*){q}|([^{d}{q}]*)")


def _split(text: str, fmt: CsvFormat) -> list[str]:
    """Fields of one line. A quote may only enclose a whole field (RFC 4180): a stray quote inside
    an unquoted field, text after a closing quote, or an unclosed quote is a syntax error."""
    d, q = fmt.delimiter, fmt.quotechar
    if fmt.quoting == "none" or q not in text:
        return text.split(d)
    regex, pair = _field_regex(d, q), q + q
    out, pos, end = [], 0, len(text)
    while True:
        m = regex.match(text, pos)
        assert m is not None  # the second branch matches the empty string
        quoted = m.group(1)
        out.append(quoted.replace(pair, q) if quoted is not None else m.group(2))
        pos = m.end()
        if pos == end:
            return out
        if text[pos] != d:
            if quoted is not None:
                what = "text after a closing quote"
            elif m.group(2) == "":
                what = "unclosed quote"
            else:
                what = "quote inside an unquoted field"
            raise CsvSyntaxError(len(out) - 1, what)
        pos += 1


def _choose_kind(layout: Layout, cols: list[str]) -> RecordKind | None:
    if len(layout.kinds) == 1:
        return layout.kinds[0]
    key = layout.dispatch_key(cols)
    if key is not None:
        kind = layout.dispatch.get(key)
        if kind is not None:
            return kind
    for kind in layout.kinds:
        if all(f.column is not None and f.column.index < len(cols)
               and cols[f.column.index] == getattr(f.converter, "value", None) for f in kind.discriminators):
            return kind
    return None


def parse(layout: Layout, source: Source, *, file: str = "<stream>") -> Iterator[ParsedRecord | RecordError]:
    """Every record of the stream, good or bad, in order; never stops at a bad record."""
    fmt = _fmt(layout)
    enc = layout.encoding
    term = fmt.line_terminator.encode("ascii")
    bom = BOM.encode(enc) if fmt.bom else None
    record_no = 0
    for line_no, raw in enumerate(lines(source), start=1):
        problems: list[FieldProblem] = []
        if raw.endswith(term):
            body = raw[: -len(term)]
        elif raw.endswith(b"\n"):
            body = raw[:-1]
            problems.append(FieldProblem(None, "line_terminator", "LF without CR; records end with CRLF"))
        else:
            body = raw
            problems.append(FieldProblem(None, "line_terminator", "last line has no line terminator"))
        if line_no == 1:
            if bom is not None:
                if body.startswith(bom):
                    body = body[len(bom):]
                else:
                    problems.append(FieldProblem(None, "bom", "the layout requires a byte order mark"))
            elif body.startswith(b"\xef\xbb\xbf"):
                problems.append(FieldProblem(None, "bom", "unexpected byte order mark"))
        if fmt.header and line_no == 1:
            yield from _check_header(layout, fmt, body, problems, file)
            continue
        record_no += 1
        yield parse_line(layout, body, problems, file=file, record_no=record_no, line_no=line_no)


def _check_header(layout: Layout, fmt: CsvFormat, body: bytes, problems: list[FieldProblem],
                  file: str) -> Iterator[RecordError]:
    labels = [f.label for f in layout.kind().fields]
    try:
        got = _split(body.decode(layout.encoding), fmt)
    except (UnicodeDecodeError, CsvSyntaxError):
        got = None
    if got != labels:
        problems.append(FieldProblem(None, "header", "first line is not the layout's label row"))
    if problems:
        yield RecordError(file, 0, tuple(problems), line=1)


def parse_line(layout: Layout, body: bytes, problems: list[FieldProblem], *, file: str, record_no: int,
               line_no: int) -> ParsedRecord | RecordError:
    """One line's bytes (without its terminator) → a record; `problems` the caller already found."""
    try:
        text, undecodable = body.decode(layout.encoding), False
    except UnicodeDecodeError:
        text, undecodable = body.decode(layout.encoding, "surrogateescape"), True
    return parse_text(layout, text, undecodable, problems, file=file, record_no=record_no, line_no=line_no)


def parse_text(layout: Layout, text: str, undecodable: bool, problems: list[FieldProblem], *, file: str,
               record_no: int, line_no: int) -> ParsedRecord | RecordError:
    """A line already decoded (undecodable bytes as surrogates, `undecodable` True) → a record."""
    enc, fmt = layout.encoding, _fmt(layout)
    try:
        cols = _split(text, fmt)
    except CsvSyntaxError as exc:
        fields = layout.kinds[0].fields if len(layout.kinds) == 1 else ()
        name = fields[exc.column].name if exc.column < len(fields) else None
        problems.append(FieldProblem(name, "csv_syntax", str(exc)))
        return RecordError(file, record_no, tuple(problems), line=line_no)
    kind = _choose_kind(layout, cols)
    if kind is None:
        problems.append(FieldProblem(None, "record_kind", "no record kind's constant fields match"))
        return RecordError(file, record_no, tuple(problems), line=line_no)
    if len(cols) != len(kind.fields):
        problems.append(FieldProblem(None, "column_count", f"{len(cols)} columns, record {kind.name} has "
                                     f"{len(kind.fields)}"))
        return RecordError(file, record_no, tuple(problems), line=line_no, kind=kind.name)
    texts: list[str | None] = cols  # type: ignore[assignment]  # a fresh list; None marks a bad field
    if undecodable:
        for i, (f, col) in enumerate(zip(kind.fields, cols, strict=True)):
            if any("\udc80" <= c <= "\udcff" for c in col):
                shown = col.encode(enc, "surrogateescape").hex(" ")
                problems.append(FieldProblem(f.name, "encoding", f"bytes not valid {enc}",
                                             mask(col) if f.sensitive else shown))
                texts[i] = None
    return parse_texts(kind, texts, file=file, record_no=record_no, line=line_no, problems=problems)
