"""Hand-written 年金特徴 files, byte by byte from the layout evidence (not from the code under
test): a Z12 依頼 file with two 市町村 blocks, in the ISO-2022-JP shift-code form and in the plain
cp932 form. The kanji codes are typed in and checked against Python's own iso2022_jp / cp932
codecs (tests/unit/test_nenkin_frame.py); tests/golden/nenkin/*.dta are these bytes."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "nenkin"
ESC_KANJI, ESC_ASCII = b"\x1b$B", b"\x1b(B"
SP = b" "

# Half-width kana (JIS X 0201, 8 bits): ﾔ D4 ﾏ CF ﾀ C0 ﾞ DE ﾛ DB ｳ B3 ｻ BB ﾄ C4 ﾊ CA ﾅ C5 ｺ BA ｷ B7 ｮ AE
KANA = {"yamada": b"\xd4\xcf\xc0\xde \xc0\xdb\xb3", "sato": b"\xbb\xc4\xb3 \xca\xc5\xba",
        "tokyo": b"\xc4\xb3\xb7\xae\xb3\xc4"}
# JIS X 0208 row/cell: 山 3B33 田 4544 　 2121 太 4240 郎 4F3A 佐 3A34 藤 4623 花 3256 子 3B52
#                      東 456C 京 357E 都 4554 世 4024 谷 432B 区 3668
JIS = {"yamada": b"\x3b\x33\x45\x44\x21\x21\x42\x40\x4f\x3a", "sato": b"\x3a\x34\x46\x23\x21\x21\x32\x56\x3b\x52",
       "tokyo": b"\x45\x6c\x35\x7e\x45\x54\x40\x24\x45\x44\x43\x2b\x36\x68"}
# The same in cp932: 山 8E52 田 9363 　 8140 太 91BE 郎 9859 佐 8DB2 藤 93A1 花 89D4 子 8E71
#                    東 938C 京 8B9E 都 9373 世 90A2 田 9363 谷 924A 区 8BE6
SJIS = {"yamada": b"\x8e\x52\x93\x63\x81\x40\x91\xbe\x98\x59", "sato": b"\x8d\xb2\x93\xa1\x81\x40\x89\xd4\x8e\x71",
        "tokyo": b"\x93\x8c\x8b\x9e\x93\x73\x90\xa2\x93\x63\x92\x4a\x8b\xe6"}
TEXT = {"yamada": ("ﾔﾏﾀﾞ ﾀﾛｳ", "山田　太郎"), "sato": ("ｻﾄｳ ﾊﾅｺ", "佐藤　花子"), "tokyo": ("ﾄｳｷｮｳﾄ", "東京都世田谷区")}

DATE = b"20260701"
PEOPLE = [  # 市町村, 基礎年金番号, person, 金額1, 金額2
    (b"13112", b"1234567890", "yamada", b"00000012345", b"00000012000"),
    (b"13112", b"2234567890", "sato", b"00000008000", b"00000000000"),
    (b"13113", b"3234567890", "yamada", b"00000100000", b"00000090000"),
]


def kanji(name: str, width: int, jis: bool) -> bytes:
    raw = (JIS if jis else SJIS)[name]
    return raw + ((b"\x21\x21" * ((width - len(raw)) // 2)) if jis else SP * (width - len(raw)))


def data(city: bytes, kiso: bytes, who: str, k1: bytes, k2: bytes, jis: bool) -> bytes:
    on, off = (ESC_KANJI, ESC_ASCII) if jis else (SP * 3, SP * 3)
    return (b"2" + city + b"001" + b"01" + SP + b"0" + DATE + kiso + b"1150" + SP * 3 + b"19500401" + b"1"
            + KANA[who].ljust(25) + on + kanji(who, 50, jis) + off + b"1540001"
            + KANA["tokyo"].ljust(80) + on + kanji("tokyo", 160, jis) + off
            + b"01" + b"00" + SP + SP * 8 + k1 + k2 + b"00000000000" + SP * 58 + SP * 15)


def header(city: bytes) -> bytes:
    return b"1" + city + b"001" + b"01" + b"6" + b"0" + DATE + SP * 479


def trailer(city: bytes, count: bytes, t1: bytes, t2: bytes) -> bytes:
    return b"3" + city + b"001" + b"01" + SP + b"0" + DATE + count + t1 + t2 + b"00000000000" + SP * 437


def z12(jis: bool) -> bytes:
    recs = [data(*p, jis=jis) for p in PEOPLE]
    return (b"13112" + SP + b"001" + DATE + SP * 31 + b"000007" + SP * 42
            + header(b"13112") + recs[0] + recs[1] + trailer(b"13112", b"000000002", b"00000020345", b"00000012000")
            + header(b"13113") + recs[2] + trailer(b"13113", b"000000001", b"00000100000", b"00000090000"))


CONTROL: dict[str, Any] = {"shichoson_code": "13112", "baitai_tsuban": 1, "sakusei_ymd": dt.date(2026, 7, 1),
                           "gimusha_code": "001", "tsuchi_naiyo_code": "01", "baitai_code": "6"}


def records() -> list[dict[str, Any]]:
    """The data records' values, as a caller of render gives them."""
    out = []
    for city, kiso, who, k1, k2 in PEOPLE:
        kana, kanji_name = TEXT[who]
        out.append({"shichoson_code": city.decode(), "kiso_nenkin_no": kiso.decode(), "nenkin_code": "1150",
                    "birth_ymd": dt.date(1950, 4, 1), "seibetsu": "1", "kana_shimei": kana,
                    "kanji_shimei": kanji_name, "yubin_no": "1540001", "kana_jusho": TEXT["tokyo"][0],
                    "kanji_jusho": TEXT["tokyo"][1], "kakushu_kubun": "01", "shori_kekka": "00",
                    "kingaku1": int(k1), "kingaku2": int(k2), "kingaku3": 0})
    return out


if __name__ == "__main__":  # (re)write the golden files from the pieces above
    (GOLDEN / "z12-jis.dta").write_bytes(z12(jis=True))
    (GOLDEN / "z12-cp932.dta").write_bytes(z12(jis=False))
