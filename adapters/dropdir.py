"""The drop-folder transport: a local folder that a partner (or a 伝送 share) picks files from
and leaves files in.

Outgoing, a file appears under its final name only when it is whole: it is written under a
temporary name, flushed to disk, its size and SHA-256 checked against what was meant to be
sent, and then renamed. Delivering the same file again is recognised (same name, same hash)
and is a no-op, so a redelivered message never doubles a file.

Incoming, a file is taken only when the partner has said it is complete (a done-marker
``<name><marker>`` beside it) and its size and modification time held still across two looks.
A partner can put anything in the folder, so links are never followed (``lstat``, ``O_NOFOLLOW``:
a link to the key-encryption key must not be read) and only regular files up to the flow's
``max_bytes`` are taken; anything else with a done-marker is refused: moved with its marker into
``.refused/`` of the folder (where the partner and the operator see it, and no poll meets it
again) and logged as an error, its name shown masked.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import stat
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from queues.errors import PermanentError, TransientError
from queues.files import fsync_dir
from queues.partner_names import shown

log = logging.getLogger(__name__)

REFUSED = ".refused"  # a dot name: never offered, never listed as a file of the flow


class FileRefused(PermanentError):
    """A partner's file that is not taken: not a regular file, or larger than the flow allows."""


class DropFolder:
    def __init__(self, path: Path) -> None:
        self.path = path

    def deliver(self, name: str, chunks: Iterable[bytes], sha256: str, size: int, mode: int = 0o640) -> bool:
        """Place ``name`` in the folder with permission bits ``mode`` (the partner's file_mode, set
        before the rename, whatever the umask); True if written now, False if it was already there whole."""
        if "/" in name or name.startswith("."):
            raise PermanentError(f"drop folder: refusing file name {name!r}")
        if not self.path.is_dir():
            raise TransientError(f"drop folder {self.path} is not available")
        final = self.path / name
        if final.exists():
            if _sha256_of(final) == sha256:
                return False
            raise PermanentError(f"drop folder: {name} already exists with different content")
        temp = self.path / f".{name}.part"
        digest = hashlib.sha256()
        written = 0
        try:
            with os.fdopen(os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as f:
                os.fchmod(f.fileno(), mode)
                for chunk in chunks:
                    f.write(chunk)
                    digest.update(chunk)
                    written += len(chunk)
                f.flush()
                os.fsync(f.fileno())
            if written != size or digest.hexdigest() != sha256:
                raise PermanentError(f"drop folder: {name}: wrote {written} bytes with a different hash "
                                     f"than the transfer records ({size} bytes)")
            os.replace(temp, final)
            fsync_dir(self.path)
        except OSError as exc:
            raise TransientError(f"drop folder {self.path}: {exc.strerror or exc}") from exc
        finally:
            if temp.exists():
                temp.unlink()
        return True


    def ready(self, marker: str, settle: float = 1.0, max_bytes: int | None = None) -> list[Path]:
        """Files whose done-marker exists and whose size and mtime did not change over ``settle``
        seconds; temporary names and the markers themselves are never offered. A marked entry
        that is no regular file, or larger than ``max_bytes``, is refused (``refuse``)."""
        if not self.path.is_dir():
            raise TransientError(f"drop folder {self.path} is not available")

        def look() -> dict[Path, tuple[int, int]]:
            found = {}
            for entry in self.path.iterdir():
                if entry.name.startswith(".") or entry.name.endswith((marker, ".part")):
                    continue
                if not os.path.lexists(entry.with_name(entry.name + marker)):
                    continue  # not complete yet (whatever it is, it is not ours to judge before)
                try:
                    st = entry.lstat()
                except FileNotFoundError:
                    continue  # removed since the listing
                problem = _problem(st, max_bytes)
                if problem is not None:
                    self.refuse(entry, marker, problem)
                    continue
                found[entry] = (st.st_size, st.st_mtime_ns)
            return found

        first = look()
        if first and settle > 0:
            time.sleep(settle)
        second = look()
        return sorted(p for p, sig in second.items() if first.get(p) == sig)

    def read(self, path: Path, max_bytes: int | None = None) -> Iterator[bytes]:
        """A received file's bytes, opened without following a link; a file that is no longer a
        regular file, or grows past ``max_bytes``, is refused (FileRefused) part-way."""
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise FileRefused(f"drop folder {self.path}: {shown(path.name)} is a link, not taken") from None
            raise
        with os.fdopen(fd, "rb") as f:
            problem = _problem(os.fstat(fd), max_bytes)
            if problem is not None:
                raise FileRefused(f"drop folder {self.path}: {shown(path.name)} {problem}")
            got = 0
            while chunk := f.read(1 << 20):
                got += len(chunk)
                if max_bytes is not None and got > max_bytes:
                    raise FileRefused(f"drop folder {self.path}: {shown(path.name)} grew past the "
                                      f"{max_bytes} bytes allowed while being read")
                yield chunk

    def refuse(self, path: Path, marker: str, reason: str) -> None:
        """Move an entry the flow does not take, and its marker, into ``.refused/``, and say so.
        A rename moves a link itself, never what it points to; another poller that moved it
        first is no error."""
        aside = self.path / REFUSED
        aside.mkdir(mode=0o700, exist_ok=True)
        stamp = f"{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}"
        try:
            os.rename(path, aside / f"{stamp}-{path.name}")
        except FileNotFoundError:
            return
        try:
            os.rename(path.with_name(path.name + marker), aside / f"{stamp}-{path.name}{marker}")
        except FileNotFoundError:
            pass
        fsync_dir(self.path)
        log.error("drop folder %s: %s refused, moved to %s/: %s", self.path, shown(path.name), REFUSED, reason)

    def remove(self, path: Path, marker: str) -> None:
        """A received file and its marker, once its receipt has committed."""
        path.unlink(missing_ok=True)
        path.with_name(path.name + marker).unlink(missing_ok=True)
        fsync_dir(self.path)


def _problem(st: os.stat_result, max_bytes: int | None) -> str | None:
    """Why an entry is not taken, or None."""
    if stat.S_ISLNK(st.st_mode):
        return "is a symbolic link (links are never followed)"
    if not stat.S_ISREG(st.st_mode):
        return "is not a regular file"
    if max_bytes is not None and st.st_size > max_bytes:
        return f"is {st.st_size} bytes, more than the flow's max_bytes ({max_bytes})"
    return None


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
