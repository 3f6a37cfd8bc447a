"""年金特徴: a 300,000-record Z11 rendered and parsed, parse against a raw struct-and-decode reader of the same file.

Both sides turn every field of every record of the same file into its value (text decoded —
half-width kana from cp932, kanji from bare JIS X 0208 —, numbers to int, dates to date, blanks
to None); ours also checks every rule of the layout and the frame and gives each record as a
ParsedRecord (a dict of values) or a RecordError, where the baseline checks nothing and gives a
tuple of values a record.

A Z11-shaped file (通知内容コード 00, one block for the ward, 特別徴収義務者 001) is made of the
people of a synthetic population who have a pension (fixtures/population: カナ氏名 half-width,
漢字氏名 and 漢字住所 as JIS X 0208 codes, a twelfth of the 年金額 in 金額1), each step in a process
of its own so its peak RSS is its own:

- ``render``: ``nenkin_render.render`` of the records to the file (the time spent making the
  records taken out), information;
- ``parse``: ``nenkin_frame.parse`` over the file, every record to its values with every rule of
  the layout and the frame;
- ``raw``: the same bytes read a megabyte at a time, every field of every record cut by
  ``struct`` (one ``iter_unpack`` for a block of data records) and turned into its value by a
  converter chosen once per field, mapped down the block's column of that field (``int``,
  ``date.fromisoformat``, ``decode`` and ``rstrip``; kanji as their EUC-JP codes, the JIS code
  with the high bit set, ``bytes.translate`` then ``decode("euc_jp")``), the rows zipped from
  the columns: what a competent raw user writes for the values, with no checks. Its table of
  fields (span, converter) is in the baseline's own code as a raw user writes it (taken from
  the layout by the harness, untimed).

Before the clock, ``same_values`` reads a small file of the same population both ways and
fails the row unless every field of every record has the same value on both sides.

Both are timed alike, each run in a fresh process (nothing warm from an earlier run): the
set-up — the first file the process reads, a one-record Z11, with whatever it loads or builds
first: ours the layouts and their plans, the baseline its cutters and converters — then the big
file; the figure counts both, best of 3 processes (module imports are not timed, on either
side: a worker imports once when it starts). The goal: parse ≥ 0.5 × raw.
"""

from __future__ import annotations

import datetime as dt
import struct
import time
from collections.abc import Callable, Iterator
from functools import cached_property
from pathlib import Path
from typing import Any

from bench.proc import run_child
from bench.report import Row, ratio_at_least, row
from fixtures.population import generate
from mappings import nenkin_frame, nenkin_render
from mappings.halfwidth_kana import to_halfwidth_kana
from mappings.records import ParsedRecord

WARD = "13112"
CONTROL = {"shichoson_code": WARD, "baitai_tsuban": 1, "sakusei_ymd": dt.date(2026, 5, 10), "gimusha_code": "001",
           "tsuchi_naiyo_code": "00", "baitai_code": "6"}
RUNS = 3
CHECK = 3000  # records both sides read before the clock, compared value by value (~30 blank 漢字氏名)
BLOCK = 2048 * nenkin_frame.RECORD  # bytes the baseline reads at a time: whole records, ~1 MB
RATE = "records/s, higher better"


def _jis(text: str, chars: int) -> str | None:
    """The text when JIS X 0208 holds it in ``chars`` characters, else blank (as the 年金保険者 send it)."""
    try:
        text.encode("jis_x0208_raw")
    except UnicodeEncodeError:
        return None
    return text if len(text) <= chars else None


def z11_records(count: int, seed: int = 5) -> Iterator[dict[str, Any]]:
    """Z11 data records of the first ``count`` pensioners of a synthetic population. 金額1 is a
    twelfth of the 年金額: 300,000 年金額 add up past the trailer's 11-digit 合計金額1."""
    made = 0
    for person in generate(10 * count, seed=seed, nendo=2026, out_of_jis_rate=0.01):
        if made == count:
            return
        nengaku = person.nenkin_nengaku or 0
        if person.kiso_nenkin_no is None or person.nenkin_code is None or nengaku < 180_000:
            continue
        made += 1
        yield {"shichoson_code": WARD, "kiso_nenkin_no": person.kiso_nenkin_no, "nenkin_code": person.nenkin_code,
               "birth_ymd": person.birth_date, "seibetsu": person.sex,
               "kana_shimei": to_halfwidth_kana(person.name_kana)[:25].rstrip(" "),
               "kanji_shimei": _jis(person.name_kanji, 25), "yubin_no": person.postal_code,
               "kanji_jusho": _jis(person.address, 80), "kakushu_kubun": "02" if made % 9 else "01",
               "shori_kekka": "00", "kingaku1": nengaku // 12, "kingaku2": 0, "kingaku3": 0}
    if made < count:
        raise RuntimeError(f"the population gave {made} pensioners of {count}")


def render(path: str, records: int, small: str, check: str) -> dict[str, Any]:
    """The file, written by nenkin_render.render; the time spent making the records is taken out.
    Then (untimed) the one-record Z11 the parse steps read first, as their set-up, and the Z11 of
    the first CHECK records ``same_values`` reads."""
    making = 0.0
    source = z11_records(records)

    def timed() -> Iterator[dict[str, Any]]:
        nonlocal making
        while True:
            started = time.perf_counter()
            record = next(source, None)
            making += time.perf_counter() - started
            if record is None:
                return
            yield record

    started = time.perf_counter()
    size = 0
    with open(path, "wb") as f:
        for chunk in nenkin_render.render(CONTROL, timed()):
            f.write(chunk)
            size += len(chunk)
    seconds = time.perf_counter() - started - making
    Path(small).write_bytes(b"".join(nenkin_render.render(CONTROL, z11_records(1))))
    Path(check).write_bytes(b"".join(nenkin_render.render(CONTROL, z11_records(min(records, CHECK)))))
    return {"seconds": seconds, "records": records, "bytes": size}


def _timed(set_up: Callable[[], object], measure: Callable[[], int]) -> dict[str, Any]:
    """Set-up, then the big file, each timed: what the row counts is their sum."""
    started = time.perf_counter()
    set_up()
    set_up_s = time.perf_counter() - started
    started = time.perf_counter()
    counted = measure()
    return {"set_up_s": set_up_s, "seconds": time.perf_counter() - started, "records": counted}


def _parse_file(path: str) -> int:
    """Data, header and trailer records parsed (the two 48-byte 管理 records are not counted)."""
    parsed = errors = 0
    with open(path, "rb") as f:
        for item in nenkin_frame.parse(f, file=Path(path).name):
            if type(item) is ParsedRecord:
                parsed += 1
            else:
                errors += 1
    if errors:
        raise RuntimeError(f"the Z11 has {errors} records with problems")
    return parsed - 2


def parse(path: str, small: str) -> dict[str, Any]:
    return _timed(lambda: _parse_file(small), lambda: _parse_file(path))


def fields() -> dict[str, list[tuple[str, int, int, str]]]:
    """Each レコード区分's fields as a raw user would write them in code: name, byte span and how
    its value is made (``CONVERT``'s keys; ``?`` when a blank field is None). Fillers are skipped."""
    layout = nenkin_frame.default_layout()
    kubun = {"header": "1", "data": "2", "trailer": "3"}
    table: dict[str, list[tuple[str, int, int, str]]] = {}
    for kind in layout.kinds:
        table[kubun[kind.name]] = cuts = []
        for f in kind.fields:
            conv = f.converter
            if conv.name == "filler" or f.span is None:
                continue
            how = ("int" if conv.name in ("number", "amount") else "date" if conv.name == "date"
                   else "kanji" if f.encoding == "jis_x0208_raw"
                   else "kana" if getattr(conv, "charset", None) == "halfwidth_kana" else "ascii")
            cuts.append((f.name, f.span.offset, f.span.end, how if f.required else how + "?"))
    return table


_EUC = bytes(b | 0x80 for b in range(256))  # a JIS X 0208 code with the high bit set is its EUC-JP code


def _date(raw: bytes) -> dt.date:
    return dt.date.fromisoformat(raw.decode())


def _kana(raw: bytes) -> str:
    return raw.decode("cp932").rstrip(" ")


def _kanji(raw: bytes) -> str | None:
    return raw.translate(_EUC).decode("euc_jp").rstrip("\u3000") or None


# The baseline's converters: one per field, chosen once.
CONVERT: dict[str, Callable[[bytes], Any]] = {
    "ascii": bytes.decode, "int": int, "date": _date, "kana": _kana, "kanji": _kanji,
    "ascii?": lambda raw: raw.decode().rstrip() or None, "kana?": lambda raw: _kana(raw) or None,
    "date?": lambda raw: None if raw.isspace() else _date(raw), "kanji?": _kanji, "int?": int,
}


def cutter(cuts: list[tuple[str, int, int, str]]) -> struct.Struct:
    """A record kind's fields as one struct: each span an ``Ns``, a gap between spans skipped."""
    fmt, at = [], 0
    for _, start, end, _how in cuts:
        if start > at:
            fmt.append(f"{start - at}x")
        fmt.append(f"{end - start}s")
        at = end
    if at < nenkin_frame.RECORD:
        fmt.append(f"{nenkin_frame.RECORD - at}x")
    return struct.Struct("".join(fmt))


Plan = dict[int, tuple[struct.Struct, list[Callable[[bytes], Any]]]]


def raw_plan(table: dict[str, list[tuple[str, int, int, str]]]) -> Plan:
    """Per レコード区分 byte: its cutter and its fields' converters."""
    return {ord(k): (cutter(cuts), [CONVERT[how] for *_, how in cuts]) for k, cuts in table.items()}


def raw_rows(file: str, plan: Plan) -> Iterator[list[tuple[Any, ...]]]:
    """Big blocks of whole records read after the two heads, each block's rows of values: a block
    of data records only (all but the few holding a header or trailer) cut by one ``iter_unpack``
    and converted column by column, the others record by record by their レコード区分's plan."""
    data, converters = plan[ord("2")]
    record = nenkin_frame.RECORD
    with open(file, "rb", buffering=0) as f:
        f.read(nenkin_frame.HEAD)
        while block := f.read(BLOCK):
            kinds = block[::record]
            if kinds.count(b"2") == len(kinds):
                yield list(zip(*map(map, converters, zip(*data.iter_unpack(block), strict=True)), strict=True))
            else:
                yield [tuple(map(_call, plan[kind][1], plan[kind][0].unpack_from(block, at)))
                       for at, kind in zip(range(0, len(block), record), kinds, strict=True)]


def _call(convert: Callable[[bytes], Any], raw: bytes) -> Any:
    return convert(raw)


def raw(path: str, small: str, table: dict[str, list[tuple[str, int, int, str]]]) -> dict[str, Any]:
    """The baseline: its plan built and the small file read (set-up), then the big file."""
    plan: Plan = {}

    def values(file: str) -> int:
        return sum(map(len, raw_rows(file, plan)))

    def set_up() -> int:
        plan.update(raw_plan(table))
        return values(small)

    return _timed(set_up, lambda: values(path))


def same_values(path: str, table: dict[str, list[tuple[str, int, int, str]]]) -> dict[str, Any]:
    """Every field of every record of ``path`` read both ways, compared (untimed): the field
    names and record numbers that differ, none when the baseline makes the values ours does."""
    with open(path, "rb") as f:
        ours = [item for item in nenkin_frame.parse(f, file=Path(path).name)][2:]  # the 管理 records: not cut by raw
    names = {ord(k): [name for name, *_ in cuts] for k, cuts in table.items()}
    theirs = [row for rows in raw_rows(path, raw_plan(table)) for row in rows]
    differ: list[str] = []
    if len(ours) != len(theirs):
        differ.append(f"{len(ours)} records parsed, {len(theirs)} cut")
    kubun = {"header": ord("1"), "data": ord("2"), "trailer": ord("3")}
    for item, cut in zip(ours, theirs, strict=False):
        if type(item) is not ParsedRecord:
            differ.append(f"record {item.record_no}: ours did not parse it")
            continue
        fields = names[kubun[item.kind]]
        if list(item.values) != fields:
            differ.append(f"record {item.record_no}: fields {list(item.values)} against {fields}")
            continue
        # names only: the values are of people (synthetic, but sensitive fields all the same)
        differ += [f"record {item.record_no} field {name}" for name, value in zip(fields, cut, strict=True)
                   if item.values[name] != value or type(item.values[name]) is not type(value)]
    return {"records": len(ours), "differ": differ[:20]}


class NenkinBench:
    """The measurements, each taken once and shared by the rows that need them."""

    def __init__(self, root: Path, env: dict[str, str], records: int, log: Callable[[str], None],
                 runs: int = RUNS) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.path, self.small, self.check = root / "Z1100001.DTA", root / "Z1100002.DTA", root / "Z1100003.DTA"
        self.records, self.env, self.log, self.runs = records, env, log, runs

    def _child(self, name: str, **kwargs: Any) -> tuple[dict[str, Any], float]:
        return run_child(f"bench.nenkin_parse:{name}", kwargs, env=self.env, timeout=1800)

    def _best(self, name: str, **kwargs: Any) -> tuple[dict[str, Any], float]:
        """The fastest of ``runs`` fresh processes (set-up + file), and the highest peak RSS."""
        results = [self._child(name, **kwargs) for _ in range(self.runs)]
        best = min((r for r, _ in results), key=lambda r: float(r["set_up_s"] + r["seconds"]))
        self.log(f"  set-up {best['set_up_s']:.3f} s + {best['seconds']:.3f} s (best of {self.runs})")
        return best, max(rss for _, rss in results)

    @cached_property
    def render(self) -> tuple[dict[str, Any], float]:
        self.log(f"年金特徴: nenkin_render.render of a Z11 of {self.records:,} records")
        result, rss = self._child("render", path=str(self.path), records=self.records, small=str(self.small),
                                  check=str(self.check))
        self.log(f"  {result['seconds']:.1f} s, {result['bytes'] / 1e6:.0f} MB")
        return result, rss

    @cached_property
    def parse(self) -> tuple[dict[str, Any], float]:
        _ = self.render  # the files
        self.log("年金特徴: nenkin_frame.parse of the Z11, set-up counted")
        return self._best("parse", path=str(self.path), small=str(self.small))

    @cached_property
    def raw(self) -> dict[str, Any]:
        _ = self.render
        table = fields()
        same, _rss = self._child("same_values", path=str(self.check), table=table)
        if same["differ"]:
            raise RuntimeError(f"the baseline's values differ from ours on {self.check.name}: {same['differ']}")
        self.log(f"baseline: the same values as ours, field by field, in {same['records']:,} records; "
                 "raw struct.iter_unpack and per-field converters over the Z11, set-up counted")
        return self._best("raw", path=str(self.path), small=str(self.small), table=table)[0]


def _rate(result: dict[str, Any]) -> float:
    return float(result["records"]) / (result["set_up_s"] + result["seconds"])


def parse_row(bench: NenkinBench) -> Row:
    ours, rss = bench.parse
    raw_run = bench.raw
    if ours["records"] != raw_run["records"]:
        raise RuntimeError(f"parse read {ours['records']} records, the raw baseline {raw_run['records']}")
    return row("nenkin.parse", _rate(ours), RATE + "; set-up counted",
               "raw struct.iter_unpack over 1 MB blocks and a converter per field mapped down each column "
               "(int, date, cp932 / EUC-JP decode, blank None): the same values, no checks; set-up counted",
               _rate(raw_run), ratio_at_least(0.5), rss)


def render_row(bench: NenkinBench) -> Row:
    ours, rss = bench.render
    return row("nenkin.render", ours["records"] / ours["seconds"], RATE + f"; Z11 of {bench.records:,} records",
               "none", None, None, rss)
