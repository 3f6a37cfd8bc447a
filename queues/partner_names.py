"""How a file name a partner chose is shown in custody entries, logs and operator screens.

A partner's name is data we do not control: it may hold a 12-digit run (a YYYYMMDDhhmm stamp
looks exactly like a 個人番号, and the custody log refuses one), control characters that would
forge a log line, or be thousands of characters long. ``shown`` keeps a name that has none of
these as it is, so an operator finds ``KYUFU001`` under its own name; any other name is shown by
a safe shape (個人番号-shaped runs masked but their last 4 digits, unprintable characters as
``?``, cut at ``SHAPE_MAX``) and a short hash of the raw name to tell two such names apart.
"""

from __future__ import annotations

import hashlib
import re

from queues.redact import looks_like_kojin_bango, mask

SHAPE_MAX = 64
_DIGITS = re.compile(r"[0-9０-９]")


def shown(name: str) -> str:
    if len(name) <= SHAPE_MAX and name.isprintable() and not looks_like_kojin_bango(name):
        return name
    shape = mask("".join(c if c.isprintable() else "?" for c in name))
    if looks_like_kojin_bango(shape):  # masking alone did not do (never seen; a last line of defence)
        shape = _DIGITS.sub("#", shape)
    if len(shape) > SHAPE_MAX:
        shape = shape[:SHAPE_MAX - 1] + "…"
    # 10 hex digits: never a 12-digit run of their own, and the brackets keep them apart from the shape.
    digest = hashlib.sha256(name.encode("utf-8", "surrogateescape")).hexdigest()[:10]
    return f"{shape} [#{digest}]"
