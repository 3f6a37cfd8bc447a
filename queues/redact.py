"""What a 個人番号 looks like in free text, for the last lines of defence (logs, custody detail,
failure reasons): 12 digits, perhaps 4-4-4 with spaces or hyphens, perhaps full-width.

Identifiers the bridge itself writes into such text — UUIDs and hex digests — can hold a run of
12 decimal digits by chance (a SHA-256 in hex does about one time in five); they are left alone,
or a transfer would be refused for its own id.
"""

from __future__ import annotations

import re

_DIGIT = "[0-9０-９]"
SHAPE = re.compile(rf"(?<!{_DIGIT}){_DIGIT}{{4}}[- ]?{_DIGIT}{{4}}[- ]?({_DIGIT}{{4}})(?!{_DIGIT})")
_OWN_IDS = re.compile(r"(?<![0-9A-Za-z])(?:[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}|[0-9a-fA-F]{32,})"
                      r"(?![0-9A-Za-z])")


def _split(text: str) -> list[tuple[str, bool]]:
    """``text`` in pieces, each marked True when it is one of the bridge's own ids."""
    pieces: list[tuple[str, bool]] = []
    at = 0
    for match in _OWN_IDS.finditer(text):
        pieces += [(text[at:match.start()], False), (match.group(), True)]
        at = match.end()
    return [*pieces, (text[at:], False)]


def looks_like_kojin_bango(text: str) -> bool:
    return any(not own and SHAPE.search(piece) for piece, own in _split(text))


def mask(text: str) -> str:
    """Every 個人番号-shaped run outside the bridge's own ids, masked but its last 4 digits."""
    return "".join(piece if own else SHAPE.sub(r"********\1", piece) for piece, own in _split(text))
