"""年金特徴: a 300,000-record Z11 rendered and parsed, parse against raw struct cutting of the same file.

A Z11-shaped file (通知内容コード 00, one block for the ward, 特別徴収義務者 001) is made of the
people of a synthetic population who have a pension (fixtures/population: カナ氏名 half-width,
漢字氏名 and 漢字住所 as JIS X 0208 codes, a twelfth of the 年金額 in 金額1), each step in a process
of its own so its peak RSS is its own:

- ``render``: ``nenkin_render.render`` of the records to the file (the time spent making the
  records taken out), information;
- ``parse``: ``nenkin_frame.parse`` over the file, every record to its values with every rule of
  the layout and the frame;
- ``raw``: the same bytes read a megabyte at a time and every field of every record cut by
  ``struct`` (one ``iter_unpack`` for a block of data records, no decoding, no checks, no values):
  the floor the rules and conversions cost above, as a competent raw user writes it.
  Its spans are a table in the baseline's own code (what a raw user writes; taken from the layout
  by the harness, untimed) and it builds its cutters from them.

Both are timed alike, each run in a fresh process (nothing warm from an earlier run): the
set-up — the first file the process reads, a one-record Z11, with whatever it loads or builds
first: ours the layouts and their plans, the baseline its cutters — then the big file; the
figure counts both, best of 3 processes (module imports are not timed, on either side: a worker
imports once when it starts). The goal: parse ≥ 0.5 × raw.
"""

from __future__ import annotations

import datetime as dt
import struct
import time
from collections import deque
from collections.abc import Callable, Iterator
from functools import cached_property
from pathlib import Path
from typing import Any

from adapters.kokuho.ido_kana import to_halfwidth_kana
from bench.proc import run_child
from bench.report import Row, ratio_at_least, row
from fixtures.population import generate
from mappings import nenkin_frame, nenkin_render
from mappings.records import ParsedRecord

WARD = "13112"
CONTROL = {"shichoson_code": WARD, "baitai_tsuban": 1, "sakusei_ymd": dt.date(2026, 5, 10), "gimusha_code": "001",
           "tsuchi_naiyo_code": "00", "baitai_code": "6"}
RUNS = 3
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


def render(path: str, records: int, small: str) -> dict[str, Any]:
    """The file, written by nenkin_render.render; the time spent making the records is taken out.
    Then (untimed) the one-record Z11 the parse steps read first, as their set-up."""
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


def spans() -> dict[str, list[tuple[int, int]]]:
    """The byte spans of each レコード区分's fields: the table a raw user would write in code."""
    layout = nenkin_frame.default_layout()
    kubun = {"header": "1", "data": "2", "trailer": "3"}
    return {kubun[kind.name]: [(f.span.offset, f.span.end) for f in kind.fields if f.span] for kind in layout.kinds}


def cutter(cuts: list[tuple[int, int]]) -> struct.Struct:
    """A record kind's fields as one struct: each span an ``Ns``, a gap between spans skipped."""
    fmt, at = [], 0
    for start, end in cuts:
        if start > at:
            fmt.append(f"{start - at}x")
        fmt.append(f"{end - start}s")
        at = end
    if at < nenkin_frame.RECORD:
        fmt.append(f"{nenkin_frame.RECORD - at}x")
    return struct.Struct("".join(fmt))


def raw(path: str, small: str, table: dict[str, list[tuple[int, int]]]) -> dict[str, Any]:
    """Big blocks of whole records read after the two heads; a block of data records only (all
    but the few holding a header or trailer) cut by one ``iter_unpack`` of the data struct, the
    others record by record by their レコード区分's struct: every field of every record cut."""
    by_kubun: dict[int, struct.Struct] = {}

    def set_up() -> int:
        by_kubun.update({ord(k): cutter(cuts) for k, cuts in table.items()})
        return cut(small)

    def cut(file: str) -> int:
        records = 0
        data, record = by_kubun[ord("2")], nenkin_frame.RECORD
        with open(file, "rb", buffering=0) as f:
            f.read(nenkin_frame.HEAD)
            while block := f.read(BLOCK):
                kinds = block[::record]
                if kinds.count(b"2") == len(kinds):
                    deque(data.iter_unpack(block), maxlen=0)
                else:
                    for at, kind in zip(range(0, len(block), record), kinds, strict=True):
                        by_kubun[kind].unpack_from(block, at)
                records += len(kinds)
        return records

    return _timed(set_up, lambda: cut(path))


class NenkinBench:
    """The measurements, each taken once and shared by the rows that need them."""

    def __init__(self, root: Path, env: dict[str, str], records: int, log: Callable[[str], None],
                 runs: int = RUNS) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.path, self.small = root / "Z1100001.DTA", root / "Z1100002.DTA"
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
        result, rss = self._child("render", path=str(self.path), records=self.records, small=str(self.small))
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
        self.log("baseline: raw struct.iter_unpack of the same Z11, set-up counted")
        return self._best("raw", path=str(self.path), small=str(self.small), table=spans())[0]


def _rate(result: dict[str, Any]) -> float:
    return float(result["records"]) / (result["set_up_s"] + result["seconds"])


def parse_row(bench: NenkinBench) -> Row:
    ours, rss = bench.parse
    raw_run = bench.raw
    if ours["records"] != raw_run["records"]:
        raise RuntimeError(f"parse read {ours['records']} records, the raw baseline {raw_run['records']}")
    return row("nenkin.parse", _rate(ours), RATE + "; set-up counted",
               "raw struct.iter_unpack over 1 MB blocks, same bytes, every field of every record cut; set-up counted",
               _rate(raw_run), ratio_at_least(0.5), rss)


def render_row(bench: NenkinBench) -> Row:
    ours, rss = bench.render
    return row("nenkin.render", ours["records"] / ours["seconds"], RATE + f"; Z11 of {bench.records:,} records",
               "none", None, None, rss)
