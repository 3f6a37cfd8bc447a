"""Throughput of the CSV codec on the 保険料決定通知書 layout against raw csv.writer/csv.reader.

    .venv/bin/python -m mappings.bench [records]

The raw baseline gets the same values already formatted as strings and does no validation, no
character checks and no conversion back to values: it is the floor the codec's rules cost above.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

from mappings import csv_codec, layouts
from mappings.records import ParsedRecord

NAMES = ["山田　太郎", "佐藤　花子", "鈴木　一郎", "高橋　美咲", "渡辺　健"]
KANA = ["ヤマダ　タロウ", "サトウ　ハナコ", "スズキ　イチロウ", "タカハシ　ミサキ", "ワタナベ　ケン"]


def records(n: int) -> Iterator[dict[str, Any]]:
    for i in range(n):
        yield {
            "notice_no": f"24{i:08d}", "nendo": 2024, "atena_no": f"{i:015d}", "hihokensha_no": f"{i:010d}",
            "postal_code": "1540001", "address": f"東京都世田谷区池尻一丁目{i % 40 + 1}番{i % 9 + 1}号",
            "name_kanji": NAMES[i % 5], "name_kana": KANA[i % 5], "dankai": i % 13 + 1, "nengaku": 72000 + i % 5000,
            "choshu_kubun": "1" if i % 3 else "2",
            **{f"ki{k:02d}": (7200 if k <= 10 - i % 3 else None) for k in range(1, 11)},
            "issue_date": dt.date(2024, 7, 10),
        }


def _row(r: dict[str, Any]) -> list[str]:
    return [r["notice_no"], str(r["nendo"]), r["atena_no"], r["hihokensha_no"], r["postal_code"], r["address"],
            r["name_kanji"], r["name_kana"], f"{r['dankai']:02d}", str(r["nengaku"]), r["choshu_kubun"],
            *("" if r[f"ki{k:02d}"] is None else str(r[f"ki{k:02d}"]) for k in range(1, 11)),
            r["issue_date"].strftime("%Y%m%d")]


def raw_render(recs: list[dict[str, Any]]) -> bytes:
    out, buf = [], io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    for i, r in enumerate(recs, 1):
        writer.writerow(_row(r))
        if i % 1000 == 0:
            out.append(buf.getvalue().encode("cp932"))
            buf.seek(0)
            buf.truncate()
    out.append(buf.getvalue().encode("cp932"))
    return b"".join(out)


def raw_parse(data: bytes) -> int:
    return sum(1 for _ in csv.reader(io.TextIOWrapper(io.BytesIO(data), encoding="cp932", newline="")))


def best(fn: Callable[[], Any], runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main(n: int) -> None:
    layout = layouts.get("vendor", "hokenryo-kettei")
    recs = list(records(n))
    data = b"".join(csv_codec.render(layout, recs))
    assert data == raw_render(recs), "the baseline must write the same bytes"
    parsed = [p for p in csv_codec.parse(layout, io.BytesIO(data)) if isinstance(p, ParsedRecord)]
    assert len(parsed) == n and raw_parse(data) == n
    rows = [
        ("render  kaigo-bridge csv_codec", best(lambda: sum(map(len, csv_codec.render(layout, recs))))),
        ("render  raw csv.writer", best(lambda: raw_render(recs))),
        ("parse   kaigo-bridge csv_codec", best(lambda: sum(1 for _ in csv_codec.parse(layout, io.BytesIO(data))))),
        ("parse   raw csv.reader", best(lambda: raw_parse(data))),
    ]
    print(f"{n} records, {len(data) / 1e6:.1f} MB cp932, 22 fields each; best of 3")
    for label, secs in rows:
        print(f"  {label:34s} {n / secs:>10,.0f} rows/s  ({secs:.2f} s)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
