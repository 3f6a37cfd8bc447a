"""Our own files read back from real encrypted payloads (adapters/readback.py): every record, in
order; a payload that does not parse is an error naming the transfer, never skipped."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from adapters.readback import read_back
from mappings import nenkin_frame, nenkin_render
from queues.crypto import Keyring
from queues.payloads import PayloadStore
from store.models import Transfer

CONTROL = {"shichoson_code": "13112", "baitai_tsuban": 1, "sakusei_ymd": dt.date(2026, 7, 3),
           "gimusha_code": "001", "tsuchi_naiyo_code": "01", "baitai_code": "6"}


def record(kiso: str) -> dict[str, object]:
    return {"shichoson_code": "13112", "kiso_nenkin_no": kiso, "nenkin_code": "1150",
            "birth_ymd": dt.date(1950, 4, 1), "seibetsu": "1", "kana_shimei": "ｱ", "kanji_shimei": None,
            "yubin_no": None, "kana_jusho": None, "kanji_jusho": None, "kakushu_kubun": "01", "shori_kekka": "00",
            "koki_ikan_code": None, "kakushu_ymd": None, "kingaku1": 1, "kingaku2": 1, "kingaku3": 0,
            "kyosai_shosho_no": None}


def stored(tmp_path: Path, raw: bytes) -> tuple[PayloadStore, Transfer]:
    payloads = PayloadStore(tmp_path / "payloads", Keyring.create(tmp_path / "keys"))
    with payloads.open_writer("t-1", "nenkin.z12") as w:
        w.write(raw)
    info = w.close()
    return payloads, Transfer(id="t-1", flow="nenkin.z12", payload_ref=info.ref)


def test_every_record_in_order(tmp_path: Path) -> None:
    raw = b"".join(nenkin_render.render(CONTROL, [record("1000000001"), record("2000000002")]))
    payloads, transfer = stored(tmp_path, raw)
    got = [(p.kind, p.values.get("kiso_nenkin_no")) for p in read_back(payloads, transfer, nenkin_frame.parse)]
    assert got == [("kanri", None), ("file_kanri", None), ("header", None), ("data", "1000000001"),
                   ("data", "2000000002"), ("trailer", None)]


def test_a_payload_that_does_not_parse_is_an_error(tmp_path: Path) -> None:
    raw = b"".join(nenkin_render.render(CONTROL, [record("1000000001")]))
    payloads, transfer = stored(tmp_path, raw[:-10])  # truncated
    with pytest.raises(ValueError, match=r"transfer t-1: the stored nenkin\.z12 file does not parse back"):
        list(read_back(payloads, transfer, nenkin_frame.parse))
