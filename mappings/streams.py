"""Byte sources for the parsers: a binary file object or any iterable of byte chunks.

Both are consumed in bounded pieces so that memory stays flat however large the file is.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import BinaryIO

Source = BinaryIO | Iterable[bytes] | bytes
CHUNK = 1 << 16


def chunks(source: Source, size: int = CHUNK) -> Iterator[bytes]:
    if isinstance(source, bytes | bytearray | memoryview):
        yield bytes(source)
        return
    read = getattr(source, "read", None)
    pieces: Iterable[object] = iter(lambda: read(size), b"") if read is not None else source
    for piece in pieces:
        if not isinstance(piece, bytes | bytearray | memoryview):
            raise TypeError(f"a binary stream is needed (open files with 'rb'); got {type(piece).__name__}")
        if piece:
            yield bytes(piece)


def lines(source: Source) -> Iterator[bytes]:
    """Lines split at b"\\n", each keeping its b"\\n" (the last one may have none)."""
    if hasattr(source, "readline") and not isinstance(source, bytes | bytearray):
        for line in source:  # buffered readers split lines in C
            if not isinstance(line, bytes):
                raise TypeError(f"a binary stream is needed (open files with 'rb'); "
                                f"got {type(line).__name__}")
            yield line
        return
    pending = b""
    for chunk in chunks(source):
        parts = (pending + chunk).split(b"\n")
        pending = parts.pop()
        for part in parts:
            yield part + b"\n"
    if pending:
        yield pending


def blocks(source: Source, size: int) -> Iterator[bytes]:
    """Consecutive `size`-byte blocks; a short last block means the stream was truncated."""
    buf = bytearray()
    for chunk in chunks(source):
        buf += chunk
        whole = len(buf) // size * size
        for i in range(0, whole, size):
            yield bytes(buf[i:i + size])
        del buf[:whole]
    if buf:
        yield bytes(buf)
