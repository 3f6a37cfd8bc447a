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


_ENC: dict[str, bytes | None] = {}
_DEC: dict[bytes, str | None] = {}


def encode(text: str, errors: str = "strict") -> tuple[bytes, int]:
    out = bytearray()
    for i, char in enumerate(text):
        code = _ENC.get(char, b"")
        if code == b"":
            code = _ENC[char] = _encode_char(char)
        if code is None:
            raise UnicodeEncodeError(NAME, text, i, i + 1, "not a JIS X 0208 character")
        out += code
    return bytes(out), len(text)


def decode(data: bytes | bytearray | memoryview, errors: str = "strict") -> tuple[str, int]:
    data = bytes(data)
    chars = []
    for i in range(0, len(data) - 1, 2):
        pair = data[i:i + 2]
        char = _DEC.get(pair, "")
        if char == "":
            char = _DEC[pair] = _decode_pair(pair[0], pair[1])
        if char is None:
            raise UnicodeDecodeError(NAME, data, i, i + 2, "not a JIS X 0208 code")
        chars.append(char)
    if len(data) % 2:
        raise UnicodeDecodeError(NAME, data, len(data) - 1, len(data), "odd byte count: a code is cut")
    return "".join(chars), len(data)


def _search(name: str) -> codecs.CodecInfo | None:
    if name != NAME:
        return None
    return codecs.CodecInfo(encode, decode, name=NAME)  # type: ignore[arg-type]


codecs.register(_search)
