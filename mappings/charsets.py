"""Character repertoires: what an encoding can carry faithfully and what a field's charset allows.

Python's cp932 codec encodes some characters one way only (U+301C WAVE DASH becomes 0x8160, which
decodes to U+FF5E; likewise U+2212, U+2016, U+00A2, U+00A3, U+00AC). Counting those as encodable
would substitute silently, so a character belongs to an encoding only if it survives
encode→decode unchanged. For cp932 the user-defined area (0xF040–0xF9FC, Unicode PUA) is also
excluded: those are 外字 that only the sender's fonts know.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from collections.abc import Callable, Iterable
from functools import cache

from mappings import jis_raw

CHARSETS = ("ascii", "halfwidth_kana", "jis_x0208", "any")

# Characters never allowed in a text field, whatever the charset: C0/C1 controls, DEL, line and
# paragraph separators, BOM. They break records (CR/LF) or hide content.
_FORBIDDEN = FORBIDDEN = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ufeff]")


def forbidden_char(text: str) -> str | None:
    m = _FORBIDDEN.search(text)
    return m.group() if m else None


def codepoint(char: str) -> str:
    return f"U+{ord(char):04X}"


def describe(char: str) -> str:
    name = unicodedata.name(char, "")
    return f"{char!r} {codepoint(char)}" + (f" {name}" if name else "")


def mask(raw: str | None) -> str:
    """What error reports show instead of the value of a sensitive field: its length only."""
    if raw is None:
        return ""
    return f"<masked {len(raw)} chars>"


def cp932_class(char: str) -> str | None:
    """Which part of the cp932 repertoire a character sits in, or None if cp932 cannot carry it."""
    try:
        raw = char.encode("cp932")
    except UnicodeEncodeError:
        return None
    if raw.decode("cp932") != char:
        return None  # one-way mapping in the codec: would change the character
    if len(raw) == 1:
        if raw[0] < 0x80:
            return "ascii"
        # 0xA1-0xDF: JIS X 0201 kana; 0x80, 0xA0, 0xFD-0xFF: Microsoft's one-byte oddities (PUA)
        return "halfwidth_kana" if 0xA1 <= raw[0] <= 0xDF else "vendor_single_byte"
    lead = raw[0]
    if 0x81 <= lead <= 0x84 or 0x88 <= lead <= 0x9F or 0xE0 <= lead <= 0xEA:
        return "jis_x0208"  # rows 1-8 and 16-84
    if lead == 0x87:
        return "nec_special"  # row 13: ①, ㈱, Ⅰ …
    if lead in (0xED, 0xEE):
        return "nec_selected_ibm"
    if 0xFA <= lead <= 0xFC:
        return "ibm_extension"
    if 0xF0 <= lead <= 0xF9:
        return "user_defined"
    return "other"


def check_encoding(encoding: str) -> str:
    """The canonical codec name, or ValueError if unknown or not ASCII-compatible."""
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        raise ValueError(f"unknown encoding {encoding!r}") from None
    probe = ' ,"\r\n09AZaz'
    try:
        ok = probe.encode(name) == probe.encode("ascii")
    except UnicodeEncodeError:
        ok = False
    if not ok:
        raise ValueError(f"encoding {encoding!r} is not ASCII-compatible (padding and framing are ASCII)")
    return name


def _in_encoding(encoding: str) -> Callable[[str], bool]:
    if encoding == "cp932":
        return lambda c: cp932_class(c) not in (None, "user_defined", "vendor_single_byte")
    if encoding == "utf-8":
        return lambda c: not 0xD800 <= ord(c) <= 0xDFFF
    if encoding == jis_raw.NAME:
        # what its codes decode to is what survives encode→decode (tested character by character),
        # and a set lookup, not the codec called twice, for each of cp932's thousands of characters
        return jis_raw.repertoire().__contains__

    def faithful(c: str) -> bool:
        try:
            return c.encode(encoding).decode(encoding) == c
        except UnicodeError:
            return False
    return faithful


def _in_charset(charset: str) -> Callable[[str], bool]:
    if charset == "ascii":
        return lambda c: " " <= c <= "~"
    if charset == "halfwidth_kana":
        return lambda c: " " <= c <= "~" or "\uff61" <= c <= "\uff9f"
    if charset == "jis_x0208":
        # JIS X 0208 as cp932 places it, plus printable ASCII (JIS X 0201 Roman); no half-width
        # kana, no NEC/IBM extensions.
        return lambda c: " " <= c <= "~" or cp932_class(c) == "jis_x0208"
    if charset == "any":
        return lambda c: True
    raise ValueError(f"unknown charset {charset!r} (one of {', '.join(CHARSETS)})")


@cache
def allowed_chars(encoding: str, charset: str) -> Callable[[str], bool]:
    """A memoised predicate: may a text field in `encoding` with `charset` hold this character?"""
    in_enc, in_set = _in_encoding(encoding), _in_charset(charset)
    memo: dict[str, bool] = {}

    def allowed(c: str) -> bool:
        ok = memo.get(c)
        if ok is None:
            ok = memo[c] = in_set(c) and in_enc(c)
        return ok
    return allowed


def _cp932_repertoire() -> list[str]:
    chars = [chr(c) for c in range(0x20, 0x7F)] + [chr(c) for c in range(0xFF61, 0xFFA0)]
    for lead in (*range(0x81, 0xA0), *range(0xE0, 0xFD)):
        for trail in (*range(0x40, 0x7F), *range(0x80, 0xFD)):
            try:
                chars.append(bytes((lead, trail)).decode("cp932"))
            except UnicodeDecodeError:
                continue
    return chars


def _class_body(chars: Iterable[str]) -> str:
    """The inside of a regex character class holding exactly ``chars``, as ranges."""
    points = sorted({ord(c) for c in chars})
    ranges, start = [], None
    for i, p in enumerate(points):
        if start is None:
            start = p
        if i + 1 == len(points) or points[i + 1] != p + 1:
            ranges.append(re.escape(chr(start)) + ("-" + re.escape(chr(p)) if p != start else ""))
            start = None
    return "".join(ranges)


def _negated_class(chars: Iterable[str]) -> re.Pattern[str]:
    return re.compile("[^" + _class_body(chars) + "]")


def _candidates(encoding: str, charset: str) -> list[str] | None:
    """Every character that may be allowed, when they can be enumerated."""
    if charset in ("ascii", "halfwidth_kana"):
        return [chr(c) for c in range(0x20, 0x7F)] + [chr(c) for c in range(0xFF61, 0xFFA0)]
    if encoding == "cp932" or charset == "jis_x0208":
        return _cp932_repertoire()
    return None


@cache
def plain_class(encoding: str, charset: str) -> str:
    """A regex character class of the characters a text field may hold (`encoding` ∩ `charset`)
    that need no quoting in a CSV file: printable, neither the delimiter ',' nor the quote '"'.
    Printable ASCII alone when the characters cannot be enumerated."""
    allowed = allowed_chars(encoding, charset)
    found = _candidates(encoding, charset) or [chr(c) for c in range(0x20, 0x7F)]
    return "[" + _class_body(c for c in found if c not in ',"' and not _FORBIDDEN.match(c) and allowed(c)) + "]"


@cache
def refused_pattern(encoding: str, charset: str) -> re.Pattern[str] | None:
    """A regex matching any character outside `encoding` ∩ `charset`, when that set can be
    enumerated (cp932, or a narrow charset); None means: test character by character."""
    allowed = allowed_chars(encoding, charset)
    if encoding == "utf-8" and charset not in ("ascii", "halfwidth_kana", "jis_x0208"):
        return re.compile("[\ud800-\udfff]")
    candidates = _candidates(encoding, charset)
    if candidates is None:
        return None
    return _negated_class(c for c in candidates if allowed(c))


def disallowed(text: str, allowed: Callable[[str], bool], refused: re.Pattern[str] | None = None) -> list[str]:
    """The distinct characters of `text` that `allowed` refuses, in order of appearance.

    Control characters are left out: text converters refuse them outright, no substitution.
    """
    if text.isascii():
        return []  # every charset and every ASCII-compatible encoding holds printable ASCII
    if refused is not None:
        if refused.search(text) is None:
            return []
        found = refused.findall(text)
    else:
        found = [c for c in text if not allowed(c)]
    seen: list[str] = []
    for c in found:
        if c not in seen and not _FORBIDDEN.match(c):
            seen.append(c)
    return seen
