"""Parse speed of nenkin_frame against raw byte slicing of the same 年金特徴 file.

    .venv/bin/python -m mappings.nenkin_bench [records]

The raw baseline reads the same stream in 500-byte records and cuts each into its fields' byte
spans (one C call per record, as the codec does) with no decoding, no checks and no values: the
floor that the frame's rules and conversions cost above. Not a test: machines differ.
"""

from __future__ import annotations

import datetime as dt
import io
import sys
import time
from collections.abc import Callable, Iterator
from operator import itemgetter
from typing import Any

from mappings import nenkin_frame
from mappings.records import ParsedRecord

CONTROL = {"shichoson_code": "13112", "baitai_tsuban": 1, "sakusei_ymd": dt.date(2026, 5, 15),
           "gimusha_code": "001", "tsuchi_naiyo_code": "00", "baitai_code": "6"}
KANA = ["ﾔﾏﾀﾞ ﾀﾛｳ", "ｻﾄｳ ﾊﾅｺ", "ｽｽﾞｷ ｲﾁﾛｳ"]
KANJI = ["山田　太郎", "佐藤　花子", "鈴木　一郎"]


def records(n: int, cities: int = 3) -> Iterator[dict[str, Any]]:
    per = -(-n // cities)
    for i in range(n):
        yield {"shichoson_code": f"{13110 + i // per:05d}", "kiso_nenkin_no": f"{i:010d}", "nenkin_code": "1150",
               "birth_ymd": dt.date(1940 + i % 20, 1 + i % 12, 1 + i % 28), "seibetsu": "12"[i % 2],
               "kana_shimei": KANA[i % 3], "kanji_shimei": KANJI[i % 3], "yubin_no": "1540001",
               "kana_jusho": "ﾄｳｷｮｳﾄ ｾﾀｶﾞﾔｸ", "kanji_jusho": f"東京都世田谷区池尻一丁目{chr(0xFF11 + i % 9)}番",
               "kakushu_kubun": "01", "shori_kekka": "00", "kingaku1": 5000 + i % 700, "kingaku2": 5000, "kingaku3": 0}


def raw_slices(data: bytes) -> int:
    layout = nenkin_frame.default_layout()
    cut = {k.name[0].encode(): itemgetter(*(slice(f.span.offset, f.span.end) for f in k.fields if f.span))
           for k in layout.kinds}
    cut[b"1"], cut[b"2"], cut[b"3"] = cut[b"h"], cut[b"d"], cut[b"t"]
    src, n = io.BytesIO(data), 0
    src.read(96)
    for rec in iter(lambda: src.read(500), b""):
        cut[rec[:1]](rec)
        n += 1
    return n


def frame_parse(data: bytes) -> int:
    return sum(1 for item in nenkin_frame.parse(io.BytesIO(data)) if isinstance(item, ParsedRecord))


def best(fn: Callable[[], Any], runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main(n: int) -> None:
    t0 = time.perf_counter()
    data = b"".join(nenkin_frame.render(CONTROL, records(n)))
    render_s = time.perf_counter() - t0
    total = (len(data) - 96) // 500
    assert frame_parse(data) == total + 2 and raw_slices(data) == total
    parse_s, raw_s = best(lambda: frame_parse(data)), best(lambda: raw_slices(data))
    print(f"{n} data records, {total} records of 500 bytes, {len(data) / 1e6:.0f} MB; best of 3")
    print(f"  render  nenkin_frame.render      {n / render_s:>10,.0f} records/s  ({render_s:.2f} s, once)")
    print(f"  parse   nenkin_frame.parse       {total / parse_s:>10,.0f} records/s  ({parse_s:.2f} s)")
    print(f"  parse   raw byte slicing         {total / raw_s:>10,.0f} records/s  ({raw_s:.2f} s)")
    print(f"  ratio   {raw_s / parse_s:.2f} (goal ≥ 0.4)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 300_000)
