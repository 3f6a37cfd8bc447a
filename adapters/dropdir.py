"""The drop-folder transport: a local folder that a partner (or a 伝送 share) picks files from
and leaves files in.

Outgoing, a file appears under its final name only when it is whole: it is written under a
temporary name, flushed to disk, its size and SHA-256 checked against what was meant to be
sent, and then renamed. Delivering the same file again is recognised (same name, same hash)
and is a no-op, so a redelivered message never doubles a file.

Incoming, a file is taken only when the partner has said it is complete (a done-marker
``<name><marker>`` beside it) and its size and modification time held still across two looks.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterable
from pathlib import Path

from queues.errors import PermanentError, TransientError
from queues.files import fsync_dir


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


    def ready(self, marker: str, settle: float = 1.0) -> list[Path]:
        """Files whose done-marker exists and whose size and mtime did not change over ``settle``
        seconds; temporary names and the markers themselves are never offered."""
        if not self.path.is_dir():
            raise TransientError(f"drop folder {self.path} is not available")

        def look() -> dict[Path, tuple[int, int]]:
            found = {}
            for entry in self.path.iterdir():
                if entry.name.startswith(".") or entry.name.endswith((marker, ".part")) or not entry.is_file():
                    continue
                if entry.with_name(entry.name + marker).exists():
                    st = entry.stat()
                    found[entry] = (st.st_size, st.st_mtime_ns)
            return found

        first = look()
        if first and settle > 0:
            time.sleep(settle)
        second = look()
        return sorted(p for p, sig in second.items() if first.get(p) == sig)

    def remove(self, path: Path, marker: str) -> None:
        """A received file and its marker, once its receipt has committed."""
        path.unlink(missing_ok=True)
        path.with_name(path.name + marker).unlink(missing_ok=True)
        fsync_dir(self.path)


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
