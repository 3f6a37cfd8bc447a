"""The nenkin.parse row's raw baseline makes the values nenkin_frame.parse makes, field by field
(bench/nenkin_parse.same_values, run before the row's clock): filled and blank fields of every
kind of converter, and a baseline that makes another value is caught."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from bench import nenkin_parse
from mappings import nenkin_render


def _records() -> list[dict[str, Any]]:
    """Z11 data records with each optional field both filled and blank."""
    records = list(nenkin_parse.z11_records(40))
    for i, record in enumerate(records):
        if i % 3 == 0:
            record["kanji_shimei"] = None
        if i % 4 == 0:
            record.update(kana_jusho="ﾄｳｷｮｳﾄ ｾﾀｶﾞﾔｸ", koki_ikan_code="1", kakushu_ymd=dt.date(2026, 4, 1),
                          kyosai_shosho_no="A12-3456")
        if i % 5 == 0:
            record["yubin_no"] = None
    return records


def _z11(tmp_path: Path) -> str:
    path = tmp_path / "Z1100003.DTA"
    path.write_bytes(b"".join(nenkin_render.render(nenkin_parse.CONTROL, _records())))
    return str(path)


def test_the_baseline_makes_our_values(tmp_path: Path) -> None:
    got = nenkin_parse.same_values(_z11(tmp_path), nenkin_parse.fields())
    assert got == {"records": 42, "differ": []}  # 40 data records, the header and the trailer


def test_a_baseline_making_other_values_is_caught(tmp_path: Path) -> None:
    table = nenkin_parse.fields()
    # 金額1 left as its digits, a blank 郵便番号 as "" where ours gives an int and None
    table["2"] = [(name, start, end, {"kingaku1": "ascii", "yubin_no": "kana"}.get(name, how))
                  for name, start, end, how in table["2"]]
    differ = nenkin_parse.same_values(_z11(tmp_path), table)["differ"]
    assert "record 4 field kingaku1" in differ
    assert "record 4 field yubin_no" in differ  # the first data record (record 4) has a blank 郵便番号
    assert not [d for d in differ if not d.endswith(("kingaku1", "yubin_no"))]
