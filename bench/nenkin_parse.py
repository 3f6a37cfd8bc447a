"""年金特徴: a 300,000-record Z11 rendered and parsed, parse against raw byte slicing of the same file.

A Z11-shaped file (通知内容コード 00, one block for the ward, 特別徴収義務者 001) is made of the
people of a synthetic population who have a pension (fixtures/population: カナ氏名 half-width,
漢字氏名 and 漢字住所 as JIS X 0208 codes, a twelfth of the 年金額 in 金額1), each step in a process
of its own so its peak RSS is its own:

- ``render``: ``nenkin_frame.render`` of the records to the file (the time spent making the
  records taken out), information;
- ``parse``: ``nenkin_frame.parse`` over the file, every record to its values with every rule of
  the layout and the frame, best of 3 runs;
- ``raw``: the same bytes read 500 at a time and cut into their fields' byte spans (one C call a
  record, no decoding, no checks, no values): the floor the rules and conversions cost above,
  best of 3 runs. The issue's goal: parse ≥ 0.4 × raw.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator
from functools import cached_property
from operator import itemgetter
from pathlib import Path
from typing import Any

from adapters.kokuho.ido_kana import to_halfwidth_kana
from bench.proc import run_child
from bench.report import Row, ratio_at_least, row
from fixtures.population import generate
from mappings import nenkin_frame
from mappings.records import ParsedRecord

WARD = "13112"
CONTROL = {"shichoson_code": WARD, "baitai_tsuban": 1, "sakusei_ymd": dt.date(2026, 5, 10), "gimusha_code": "001",
           "tsuchi_naiyo_code": "00", "baitai_code": "6"}
RUNS = 3
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
        if person.kiso_nenkin_no is None or person.nenkin_code is None or (person.nenkin_nengaku or 0) < 180_000:
            continue
        made += 1
        yield {"shichoson_code": WARD, "kiso_nenkin_no": person.kiso_nenkin_no, "nenkin_code": person.nenkin_code,
               "birth_ymd": person.birth_date, "seibetsu": person.sex,
               "kana_shimei": to_halfwidth_kana(person.name_kana)[:25].rstrip(" "),
               "kanji_shimei": _jis(person.name_kanji, 25), "yubin_no": person.postal_code,
               "kanji_jusho": _jis(person.address, 80), "kakushu_kubun": "02" if made % 9 else "01",
               "shori_kekka": "00", "kingaku1": person.nenkin_nengaku // 12, "kingaku2": 0, "kingaku3": 0}
    if made < count:
        raise RuntimeError(f"the population gave {made} pensioners of {count}")


def render(path: str, records: int) -> dict[str, Any]:
    """The file, written by nenkin_frame.render; the time spent making the records is taken out."""
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
        for chunk in nenkin_frame.render(CONTROL, timed()):
            f.write(chunk)
            size += len(chunk)
    return {"seconds": time.perf_counter() - started - making, "records": records, "bytes": size}


def _best(measure: Callable[[], int], runs: int) -> tuple[float, int]:
    times, counted = [], 0
    for _ in range(runs):
        started = time.perf_counter()
        counted = measure()
        times.append(time.perf_counter() - started)
    return min(times), counted


def parse(path: str, runs: int = RUNS) -> dict[str, Any]:
    def once() -> int:
        parsed = errors = 0
        with open(path, "rb") as f:
            for item in nenkin_frame.parse(f, file=Path(path).name):
                if type(item) is ParsedRecord:
                    parsed += 1
                else:
                    errors += 1
        if errors:
            raise RuntimeError(f"the Z11 has {errors} records with problems")
        return parsed - 2  # the 管理 and ファイル管理 records: 48 bytes each, not counted

    seconds, records = _best(once, runs)
    return {"seconds": seconds, "records": records}


def raw(path: str, runs: int = RUNS) -> dict[str, Any]:
    layout = nenkin_frame.default_layout()
    cut = {kind.name: itemgetter(*(slice(f.span.offset, f.span.end) for f in kind.fields if f.span))
           for kind in layout.kinds}
    by_kubun = {b"1": cut["header"], b"2": cut["data"], b"3": cut["trailer"]}

    def once() -> int:
        records = 0
        with open(path, "rb") as f:
            f.read(nenkin_frame.HEAD)
            for rec in iter(lambda: f.read(nenkin_frame.RECORD), b""):
                by_kubun[rec[:1]](rec)
                records += 1
        return records

    seconds, records = _best(once, runs)
    return {"seconds": seconds, "records": records}


class NenkinBench:
    """The measurements, each taken once and shared by the rows that need them."""

    def __init__(self, root: Path, env: dict[str, str], records: int, log: Callable[[str], None],
                 runs: int = RUNS) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.path, self.records, self.env, self.log, self.runs = root / "Z1100001.DTA", records, env, log, runs

    def _child(self, name: str, **kwargs: Any) -> tuple[dict[str, Any], float]:
        return run_child(f"bench.nenkin_parse:{name}", kwargs, env=self.env, timeout=1800)

    @cached_property
    def render(self) -> tuple[dict[str, Any], float]:
        self.log(f"年金特徴: nenkin_frame.render of a Z11 of {self.records:,} records")
        result, rss = self._child("render", path=str(self.path), records=self.records)
        self.log(f"  {result['seconds']:.1f} s, {result['bytes'] / 1e6:.0f} MB")
        return result, rss

    @cached_property
    def parse(self) -> tuple[dict[str, Any], float]:
        _ = self.render  # the file
        self.log(f"年金特徴: nenkin_frame.parse of the Z11, best of {self.runs}")
        return self._child("parse", path=str(self.path), runs=self.runs)

    @cached_property
    def raw(self) -> dict[str, Any]:
        _ = self.render
        self.log(f"baseline: raw byte slicing of the same Z11, best of {self.runs}")
        return self._child("raw", path=str(self.path), runs=self.runs)[0]


def parse_row(bench: NenkinBench) -> Row:
    ours, rss = bench.parse
    raw_run = bench.raw
    if ours["records"] != raw_run["records"]:
        raise RuntimeError(f"parse read {ours['records']} records, the raw baseline {raw_run['records']}")
    return row("nenkin.parse", ours["records"] / ours["seconds"], RATE,
               "raw byte slicing, same bytes, 500-byte records cut into field spans",
               raw_run["records"] / raw_run["seconds"], ratio_at_least(0.5), rss)


def render_row(bench: NenkinBench) -> Row:
    ours, rss = bench.render
    return row("nenkin.render", ours["records"] / ours["seconds"], RATE + f"; Z11 of {bench.records:,} records",
               "none", None, None, rss)
