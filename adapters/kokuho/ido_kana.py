"""カナ氏名 for the 国保連: the store keeps 全角カタカナ, the 5311 column takes half-width kana.

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


def to_halfwidth_kana(text: str) -> str:
    table = _table()
    out: list[str] = []
    for char in text:
        if char.isascii():
            out.append(char)
            continue
        if char in table:
            out.append(table[char])
            continue
        decomposed = unicodedata.normalize("NFD", char)
        if len(decomposed) == 2 and decomposed[0] in table and decomposed[1] in _DAKUTEN:
            out.append(table[decomposed[0]] + _DAKUTEN[decomposed[1]])
            continue
        folded = unicodedata.normalize("NFKC", char)
        out.append(folded if folded.isascii() and folded.isprintable() and len(folded) == 1 else char)
    return "".join(out)
