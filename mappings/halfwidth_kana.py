"""カナ氏名 for the partners' fixed files: the store keeps 全角カタカナ, the 国保連's 5311 column and
the 年金特徴 カナ氏名 take half-width kana.

The conversion is the JIS X 0201 one (ガ → ｶﾞ, ー → ｰ, 全角空白 → space). A character with no
half-width form (ヰ, ヱ, ヵ, a kanji in the kana field …) is left as it is: the layout's charset
check then reports it and the record is held, never replaced by a guess.
"""

from __future__ import annotations

import unicodedata
from functools import cache

_DAKUTEN = {"\u3099": "\uff9e", "\u309a": "\uff9f"}  # combining (semi-)voiced marks → ﾞ ﾟ


@cache
def _table() -> dict[str, str]:
    table = {unicodedata.normalize("NFKC", chr(c)): chr(c) for c in range(0xFF61, 0xFFA0)}
    table.pop("\u3099", None)
    table.pop("\u309a", None)
    table["\u3000"] = " "
    table["\u309b"] = "\uff9e"  # ゛ spacing marks
    table["\u309c"] = "\uff9f"
    return table


def _convert(char: str) -> str:
    table = _table()
    if char.isascii():
        return char
    if char in table:
        return table[char]
    decomposed = unicodedata.normalize("NFD", char)
    if len(decomposed) == 2 and decomposed[0] in table and decomposed[1] in _DAKUTEN:
        return table[decomposed[0]] + _DAKUTEN[decomposed[1]]
    folded = unicodedata.normalize("NFKC", char)
    return folded if folded.isascii() and folded.isprintable() and len(folded) == 1 else char


class _Memo(dict[int, str]):
    """Each character's conversion, worked out the first time it is met: ``str.translate`` then
    converts a name in one C call (a Z12 converts a name per person, 300,000 a run)."""

    def __missing__(self, code: int) -> str:
        self[code] = converted = _convert(chr(code))
        return converted


_MEMO = _Memo()


def to_halfwidth_kana(text: str) -> str:
    return text.translate(_MEMO)
