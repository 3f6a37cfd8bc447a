"""Streams to and from gpg: ``feed`` writes the caller's chunks into gpg's stdin from the caller's
thread while python-gnupg runs in another; ``AtomicOutput`` takes gpg's stdout to a 0600 file that
appears whole or not at all. Memory stays flat whatever the size (adapters/pgp.py)."""

from __future__ import annotations

import fcntl
import hashlib
import os
import threading
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO

from adapters.pgp_errors import PgpError
from queues.files import fsync_dir


def feed(chunks: Iterable[bytes], call: Callable[[BinaryIO], Any]) -> tuple[tuple[str, int], Any]:
    """Run ``call(reader)`` (python-gnupg) in a thread while this thread writes ``chunks`` into the
    pipe behind ``reader``. The iterator is consumed here, in the caller's thread, because it may
    hold thread-bound resources (a database cursor, a decrypting payload reader)."""
    read_fd, write_fd = os.pipe()
    grow_pipe(write_fd)
    reader = os.fdopen(read_fd, "rb", buffering=0)
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["result"] = call(reader)
        except BaseException as exc:
            outcome["error"] = exc
        finally:
            reader.close()  # a writer blocked on a full pipe then gets EPIPE instead of hanging

    worker = threading.Thread(target=run, name="gpg-io", daemon=True)
    worker.start()
    digest, size = hashlib.sha256(), 0
    try:
        for chunk in chunks:
            digest.update(chunk)
            size += len(chunk)
            write_all(write_fd, chunk)
    except BrokenPipeError:
        pass  # gpg stopped reading; its own failure is reported from its result
    finally:
        os.close(write_fd)
        worker.join()
    if "error" in outcome:
        raise PgpError(f"gpg failed: {type(outcome['error']).__name__}") from outcome["error"]
    return (digest.hexdigest(), size), outcome["result"]


class AtomicOutput:
    """gpg's stdout, hashed and written to a 0600 temp file next to ``path`` as it arrives, renamed
    to ``path`` on ``commit``; removed on any failure. ``write`` is python-gnupg's ``on_data``
    callback (its reader thread): it never raises, since python-gnupg would then keep every later
    chunk in memory; a failure is kept for ``raise_failure``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.temp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
        self.hash = hashlib.sha256()
        self.size = 0
        self._fd = -1
        self._failure: OSError | None = None
        self._done = False

    def __enter__(self) -> AtomicOutput:
        self._fd = os.open(self.temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        return self

    def write(self, data: bytes) -> bool:
        if data and self._failure is None:
            try:
                write_all(self._fd, data)
                self.hash.update(data)
                self.size += len(data)
            except OSError as exc:
                self._failure = exc
        return False  # python-gnupg must not keep the data

    def raise_failure(self) -> None:
        if self._failure is not None:
            raise PgpError(f"cannot write {self.path}: {self._failure.strerror or self._failure}")

    def commit(self) -> None:
        self.raise_failure()
        os.fsync(self._fd)
        os.close(self._fd)
        self._fd = -1
        os.replace(self.temp, self.path)
        fsync_dir(self.path.parent)
        self._done = True

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._fd >= 0:
            os.close(self._fd)
        if not self._done:
            self.temp.unlink(missing_ok=True)


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def grow_pipe(fd: int) -> None:
    # Fewer wake-ups between this thread and python-gnupg's copier (Linux; 64 KiB otherwise).
    try:
        fcntl.fcntl(fd, getattr(fcntl, "F_SETPIPE_SZ", 1031), 1 << 20)
    except OSError:
        pass
