"""A real small disk for store-outage tests: a tmpfs mounted on a folder, which a test fills to
the last byte (SQLite then fails its next commit with "database or disk is full", as on a
production disk) and frees again. chmod cannot stand in for it: SQLite keeps the database and
its WAL open, and an open file stays writable whatever its mode becomes."""

from __future__ import annotations

import errno
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class SmallDisk:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._filler = path / "filler"

    def fill(self) -> None:
        """Write a file until the disk refuses another byte."""
        chunk = b"\0" * (1 << 20)
        with open(self._filler, "ab", buffering=0) as out:
            for size in (1 << 20, 1 << 12, 1):
                try:
                    while True:
                        out.write(chunk[:size])
                except OSError as exc:
                    if exc.errno != errno.ENOSPC:
                        raise

    def free(self) -> None:
        self._filler.unlink(missing_ok=True)


@contextmanager
def small_disk(path: Path, size: str = "128m") -> Iterator[SmallDisk]:
    """``path`` (created) as a tmpfs of ``size``, unmounted afterwards."""
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(path)], check=True)
    try:
        yield SmallDisk(path)
    finally:
        subprocess.run(["umount", "--lazy", str(path)], check=True)
