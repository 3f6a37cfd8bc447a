"""Structure-aware mutations of partner files, shared by the atheris run and the Hypothesis test.

libFuzzer's own byte mutations seldom build what breaks record parsers: a field of 5,000
digits, a CRLF split in two, a quote beside a delimiter, a double-byte lead byte at a line end, a
line repeated a thousand times. These operations do, on whole files taken from the corpus.
An operation is a plain tuple so that Hypothesis can draw it and shrink it, and a seeded
random.Random can make one in the atheris custom mutator.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

# What the parsers split, quote, decode or refuse: delimiters, quotes, line ends, NUL, bytes
# cp932/UTF-8 leave unassigned or only lead with, BOMs, markup, record-type and sign characters.
TOKENS: tuple[bytes, ...] = (
    b",", b";", b'"', b'""', b'",', b',"', b"\r", b"\n", b"\r\n", b"\n\r", b"\x00", b"\t", b" ", b"\x7f",
    b"\x80", b"\xa0", b"\xfd", b"\xfe", b"\xff", b"\x81", b"\x9f", b"\xe0", b"\xef", b"\x81\x40", b"\x82\xa0",
    b"\x87\x40", b"\xed\x40", b"\xfa\x40", b"\xb1", b"\xdf", b"\xef\xbb\xbf", b"\xff\xfe", b"\xe3\x81",
    b"\xe3\x81\x82", b"\xf0\x9f\x98", b"\xed\xa0\x80", b"\xc0\x80", b"1", b"2", b"3", b"0", b"9", b"-", b"+",
    b"H1", b"D1", b"D8", b"T1", b"5311", b"1116", b"000000", b"999999", b"20260229", b"20250229", b"99999999",
    b"<", b">", b"&", b"&amp;", b"&#0;", b"&#x1F;", b"&#xFFFE;", b"&a;", b"]]>", b"<![CDATA[", b"<!--", b"-->",
    b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>", b"<!DOCTYPE r [<!ENTITY a \"x\">]>", b"xmlns=\"\"",
    b"xmlns:a=\"urn:a\"", b"<a:b>", b"/>", b"</", b"='", b"\"",
)

Op = tuple[str, int, int, int]  # (name, position, amount, which); ints are reduced modulo sizes
OPS = ("flip", "truncate", "insert", "delete", "splice", "huge", "repeat_line", "swap_lines", "dup_range")
WEIGHTS = (3, 1, 6, 2, 2, 2, 1, 1, 1)  # random_ops: mostly small edits; big ones cost parse time
HUGE = 5_000  # past Python's 4,300-digit int() limit and any field width
FILLS = (b"0", b"1", b"9", b"0", b"1", b"A", b" ", b",", b'"', b"\xb1", b"\x82\xa0", b"\xe3\x81\x82", b"<a>",
         b"\r\n", b"-")


def _lines(data: bytes) -> list[bytes]:
    out = data.splitlines(keepends=True)
    return out or [b""]


def apply(data: bytes, ops: Sequence[Op], others: Sequence[bytes] = (), limit: int = 1 << 16) -> bytes:
    """The mutated data, at most `limit` bytes. `others` are files to splice from."""
    for name, pos, amount, which in ops:
        n = len(data)
        at = pos % (n + 1)
        if name == "flip" and n:
            i = pos % n
            data = data[:i] + bytes([data[i] ^ (1 << (amount % 8))]) + data[i + 1:]
        elif name == "truncate":
            data = data[:at]
        elif name == "insert":
            data = data[:at] + TOKENS[which % len(TOKENS)] * (1 + amount % 3) + data[at:]
        elif name == "delete":
            data = data[:at] + data[at + 1 + amount % 64:]
        elif name == "splice" and others:
            other = others[which % len(others)]
            start = amount % (len(other) + 1)
            data = data[:at] + other[start:start + 1 + (pos % 512)]
        elif name == "huge":  # a field start (after a delimiter, quote or tag) grown past every limit
            starts = [i + 1 for i, b in enumerate(data) if b in b',">;']
            at = starts[pos % len(starts)] if starts else at
            unit = FILLS[which % len(FILLS)]
            data = data[:at] + unit * (HUGE + amount % 64) + data[at:]
        elif name == "repeat_line":
            lines = _lines(data)
            i = pos % len(lines)
            lines[i:i + 1] = [lines[i]] * (2 + amount % 10)
            data = b"".join(lines)
        elif name == "swap_lines":
            lines = _lines(data)
            i, j = pos % len(lines), amount % len(lines)
            lines[i], lines[j] = lines[j], lines[i]
            data = b"".join(lines)
        elif name == "dup_range" and n:
            i = pos % n
            data = data[:i] + data[i:i + 1 + amount % 256] * 2 + data[i:]
        data = data[:limit]
    return data


def random_ops(rng: random.Random, count: int | None = None) -> list[Op]:
    k = count if count is not None else rng.choice((1, 1, 1, 2, 3))
    names = rng.choices(OPS, WEIGHTS, k=k)
    return [(name, rng.randrange(1 << 20), rng.randrange(1 << 12), rng.randrange(1 << 10)) for name in names]
