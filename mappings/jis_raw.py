"""The codec ``jis_x0208_raw``: JIS X 0208 characters as their bare two-byte codes, no escapes.

年金特徴 files hold kanji between ISO-2022-JP escape sequences that sit in fields of their own
(the シフトコード fields, ESC $ B before and ESC ( B after a kanji field; DOMAIN.md §年金特徴),
so a kanji field itself is just row/cell codes: two bytes 0x21–0x7E each, 山 = 3B 33, padded
with the full-width space 21 21. Python's ``iso2022_jp`` cannot cut such a field on its own (it
needs the escapes inside the text), hence this codec, registered on import for fixed-length
fields that name it (``encoding = "jis_x0208_raw"`` on a field).

The repertoire and the Unicode mapping are cp932's JIS X 0208 part (rows 1–8 and 16–84, the
``jis_x0208`` charset of mappings/charsets.py), reached through the Shift_JIS ↔ JIS arithmetic:
so the same characters are allowed as in a cp932 field of that charset, and 0x2141 is U+FF5E as
in cp932 (Python's iso2022_jp says U+301C; the substitution table maps 〜 to ～ explicitly).
ASCII, half-width kana, NEC/IBM extensions and user-defined characters are not encodable.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Sequence
from functools import cache

NAME = "jis_x0208_raw"
PAD = "\u3000"  # the full-width space: 0x2121


def _jis_rows(lead: int) -> bool:
    """Shift_JIS lead bytes of JIS X 0208 rows 1-8 and 16-84 (not row 13's NEC specials)."""
    return 0x81 <= lead <= 0x84 or 0x88 <= lead <= 0x9F or 0xE0 <= lead <= 0xEA


def _encode_char(char: str) -> bytes | None:
    try:
        raw = char.encode("cp932")
    except UnicodeEncodeError:
        return None
    if len(raw) != 2 or not _jis_rows(raw[0]) or raw.decode("cp932") != char:
        return None
    lead, trail = raw
    # Shift_JIS → JIS (JIS X 0208 Annex 1): two rows share a lead byte; the trail says which.
    row = (lead - (0x70 if lead <= 0x9F else 0xB0)) * 2
    if trail >= 0x9F:
        j1, j2 = row, trail - 0x7E
    else:
        j1, j2 = row - 1, trail - (0x1F if trail < 0x7F else 0x20)
    return bytes((j1, j2))


def _decode_pair(j1: int, j2: int) -> str | None:
    if not (0x21 <= j1 <= 0x7E and 0x21 <= j2 <= 0x7E):
        return None
    lead = (j1 + 1) // 2 + (0x70 if j1 <= 0x5E else 0xB0)
    if j1 % 2:
        trail = j2 + (0x1F if j2 <= 0x5F else 0x20)
    else:
        trail = j2 + 0x7E
    if not _jis_rows(lead):
        return None
    try:
        char = bytes((lead, trail)).decode("cp932")
    except UnicodeDecodeError:
        return None
    return char if _encode_char(char) == bytes((j1, j2)) else None


# Python's euc_jp holds exactly these JIS X 0208 codes (checked code by code in the unit tests):
# a bare code is its EUC-JP pair less 0x80 per byte, so both directions run in C through euc_jp,
# bytes.translate and str.translate. Six codes decode differently in euc_jp (JIS mappings) and
# cp932 (Microsoft's); cp932's reading is this codec's, and euc_jp's reading is not encodable.
_EUC_TO_CP932 = {"\u301c": "\uff5e", "\u2016": "\u2225", "\u2212": "\uff0d", "\u00a2": "\uffe0",
                 "\u00a3": "\uffe1", "\u00ac": "\uffe2"}
_TO_CP932 = str.maketrans(_EUC_TO_CP932)
_TO_EUC = str.maketrans({**{v: k for k, v in _EUC_TO_CP932.items()}, **dict.fromkeys(_EUC_TO_CP932, "\uffff")})
_EUC_ODD = re.compile("[" + "".join(_EUC_TO_CP932) + "".join(_EUC_TO_CP932.values()) + "]")  # str.translate
# looks every character up in its table: only texts holding one of the twelve take that path
_GL = bytes(range(0x21, 0x7F))
_GR = bytes(range(0xA1, 0xFF))
_SET_HIGH = bytes(b | 0x80 for b in range(256))
_CLEAR_HIGH = bytes(b & 0x7F for b in range(256))


def encode(text: str, errors: str = "strict") -> tuple[bytes, int]:
    try:
        raw = (text.translate(_TO_EUC) if _EUC_ODD.search(text) else text).encode("euc_jp")
    except UnicodeEncodeError:
        raw = b""
    if len(raw) == 2 * len(text) and not raw.translate(None, _GR):
        return raw.translate(_CLEAR_HIGH), len(text)
    return _slow_encode(text), len(text)


def decode(data: bytes | bytearray | memoryview, errors: str = "strict") -> tuple[str, int]:
    data = bytes(data)
    if not len(data) % 2 and not data.translate(None, _GL):
        try:
            text = data.translate(_SET_HIGH).decode("euc_jp")
            return (text.translate(_TO_CP932) if _EUC_ODD.search(text) else text), len(data)
        except UnicodeDecodeError:
            pass
    return _slow_decode(data), len(data)


# decode_fields: fields joined by a separator that keeps the two-byte alignment and that no field
# holds (0x0E is not a code byte); as UTF-16 code units each code is one unit, so the padding is
# cut code by code in C, and 0x8E 0xA1 (EUC-JP SS2 + ｡) is the separator after the high bit is set.
_SEP = b"\x0e!"
_SEP_UNIT = _SEP.decode("utf-16-be")
_SEP_TEXT = "\uff61"
# PAD's code 0x2121 as units, then a separator; the literal first unit lets re skip to it in C
_PAD_UNITS = re.compile("\u2121\u2121*+" + _SEP_UNIT)
_EUC_ODD_PAIRS = tuple(_EUC_TO_CP932.items())


def decode_fields(fields: Sequence[bytes], width: int) -> list[str] | None:
    """The texts of many fields of ``width`` bytes each, every one less its trailing padding
    (PAD), in a few C calls whatever their number (the fast path of fixed-length parsing); None
    when one of them is not valid (``decode`` it alone for the error)."""
    if width % 2 or not fields:
        return None
    joined = _SEP.join(fields)
    if len(joined) != len(fields) * (width + 2) - 2:
        return None  # a field of another width
    try:
        units = _PAD_UNITS.sub(_SEP_UNIT, joined.decode("utf-16-be") + _SEP_UNIT)
    except UnicodeDecodeError:
        return None  # a lone surrogate unit: bytes no code has
    codes = units.encode("utf-16-be")
    # Checked after the padding is cut (a quarter of the bytes, often): only the padding's own
    # code went, and a separator byte inside a field would be one separator too many.
    if codes.translate(None, _GL) != _SEP[:1] * len(fields):
        return None  # a byte outside 0x21-0x7E
    try:
        text = codes.translate(_SET_HIGH).decode("euc_jp")
    except UnicodeDecodeError:
        return None
    for euc, cp932 in _EUC_ODD_PAIRS:  # decode's translate, a character at a time: each is a C scan
        if euc in text:
            text = text.replace(euc, cp932)
    parts = text.split(_SEP_TEXT)
    parts.pop()  # after the separator appended above
    return parts


@cache
def repertoire() -> frozenset[str]:
    """Every character this codec decodes to (code by code, the reference path)."""
    return frozenset(c for j1 in range(0x21, 0x7F) for j2 in range(0x21, 0x7F)
                     if (c := _decode_pair(j1, j2)) is not None)


def _slow_encode(text: str) -> bytes:
    """Code by code: the reference the fast path is tested against, and the error it raises."""
    out = bytearray()
    for i, char in enumerate(text):
        code = _encode_char(char)
        if code is None:
            raise UnicodeEncodeError(NAME, text, i, i + 1, "not a JIS X 0208 character")
        out += code
    return bytes(out)


def _slow_decode(data: bytes) -> str:
    chars = []
    for i in range(0, len(data) - 1, 2):
        char = _decode_pair(data[i], data[i + 1])
        if char is None:
            raise UnicodeDecodeError(NAME, data, i, i + 2, "not a JIS X 0208 code")
        chars.append(char)
    if len(data) % 2:
        raise UnicodeDecodeError(NAME, data, len(data) - 1, len(data), "odd byte count: a code is cut")
    return "".join(chars)


def _search(name: str) -> codecs.CodecInfo | None:
    if name != NAME:
        return None
    return codecs.CodecInfo(encode, decode, name=NAME)  # type: ignore[arg-type]


codecs.register(_search)
