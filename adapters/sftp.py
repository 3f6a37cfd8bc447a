"""SFTP to a partner's server (print vendors): uploads that appear whole or not at all, listings
that pick up only files that have stopped growing. Connecting (pinned host keys, retried blips) is
adapters/sftp_connect.py; the errors and their mapping, adapters/sftp_errors.py.

- An upload goes to ``.<name>.part`` in the same folder, its size is checked with ``stat``, and
  only then is it renamed to its final name, so a partial file never carries the final name.

A client is one SSH connection and is not thread-safe: use one per thread.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import stat as stat_mode
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import paramiko

from adapters.sftp_connect import SftpEndpoint, connect
from adapters.sftp_errors import (
    ErrorMap,
    RemoteNotFoundError,
    SftpError,
    TransientTransportError,
)
from queues.files import fsync_dir

# paramiko sends SSH packets of at most the peer's maximum less 64 bytes (32704 with OpenSSH), so
# its default 32768-byte SFTP write plus header goes out as two packets. 32256 fits one packet for
# any handle SFTP allows (<= 256 bytes): ~1.3x the throughput here (bench/transfer_io.py). The
# write buffer, a whole number of requests, coalesces small chunks (CSV rows) into full requests.
WRITE_REQUEST = 32 * 1024 - 512
WRITE_BUFFER = 8 * WRITE_REQUEST


@dataclass(frozen=True)
class RemoteFile:
    name: str
    size: int
    mtime: int  # seconds (SFTP v3 has no finer resolution)
    is_file: bool


def is_temp_name(name: str) -> bool:
    """Names that are never picked up: dot files (``.<name>.part`` uploads) and ``*.part``."""
    return name.startswith(".") or name.endswith(".part")


class SftpClient:
    def __init__(self, endpoint: SftpEndpoint) -> None:
        self.endpoint = endpoint
        self._ssh: paramiko.SSHClient | None = None
        self._sftp: paramiko.SFTPClient | None = None

    # --- connection ---------------------------------------------------------------------------

    def __enter__(self) -> SftpClient:
        self.connect()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def connect(self) -> None:
        if self._sftp is not None:
            return
        self._ssh, self._sftp = connect(self.endpoint)

    def close(self) -> None:
        sftp, ssh, self._sftp, self._ssh = self._sftp, self._ssh, None, None
        with suppress(Exception):  # closing a dead connection must not hide the error that killed it
            if sftp is not None:
                sftp.close()
        with suppress(Exception):
            if ssh is not None:
                ssh.close()

    @property
    def sftp(self) -> paramiko.SFTPClient:
        if self._sftp is None:
            raise SftpError(f"sftp {self.endpoint.address}: not connected (use the client as a context manager)")
        return self._sftp

    # --- files ----------------------------------------------------------------------------------

    def upload(self, source: Path | Iterable[bytes], remote_name: str, expected_size: int, *,
               expected_sha256: str | None = None, mode: int | None = None) -> None:
        """Write ``source`` (a local file or chunks) to ``remote_name`` (relative to the root),
        through ``.<name>.part``; rename only once ``expected_size`` bytes (and, if given, that
        SHA-256) were sent and ``stat`` shows the same size. On any error the temp file is removed
        if the connection still allows it; the final name never holds a partial file. ``mode``: the
        file's permission bits on the server (else the server's umask decides)."""
        final = self._path(remote_name)
        folder, name = posixpath.split(final)
        if name.startswith("."):
            raise ValueError(f"sftp upload: {remote_name!r}: dot names are reserved for temporary files")
        temp = posixpath.join(folder, f".{name}.part")
        chunks = _file_blocks(source) if isinstance(source, Path) else iter(source)
        errors = self._errors("upload", remote_name)  # wraps the SFTP calls only: the source's own
        try:                                           # errors reach the caller as they are
            with errors:
                # What putfo does (open, pipelined writes), but fed from chunks as well as files.
                remote = self.sftp.open(temp, "wb", bufsize=WRITE_BUFFER)
            try:
                remote.MAX_REQUEST_SIZE = WRITE_REQUEST  # instance override of paramiko's class constant
                remote.set_pipelined(True)  # don't wait for each write's status; close() collects them
                digest, sent = hashlib.sha256(), 0
                for chunk in chunks:
                    sent += len(chunk)
                    if sent > expected_size:  # stop early: the source is not what the transfer records
                        raise SftpError(f"sftp upload {remote_name}: source gave more than the {expected_size} "
                                        "bytes expected")
                    digest.update(chunk)
                    with errors:
                        remote.write(chunk)
                with errors:
                    remote.close()
            except BaseException:
                _abandon(remote)
                raise
            if sent != expected_size:
                raise SftpError(f"sftp upload {remote_name}: source gave {sent} bytes, expected {expected_size}")
            if expected_sha256 is not None and digest.hexdigest() != expected_sha256.lower():
                raise SftpError(f"sftp upload {remote_name}: SHA-256 of the bytes sent is {digest.hexdigest()}, "
                                f"expected {expected_sha256}")
            with errors:
                on_server = self.sftp.stat(temp).st_size
                if on_server != expected_size:
                    raise TransientTransportError(f"sftp {self.endpoint.address}: upload {remote_name}: server "
                                                  f"has {on_server} bytes, {expected_size} were sent")
                if mode is not None:  # before the rename: the final name never has other bits
                    self.sftp.chmod(temp, mode)
                self._rename_into_place(temp, final)
        except BaseException:
            self._discard(temp)
            raise

    def _rename_into_place(self, temp: str, final: str) -> None:
        # posix-rename@openssh.com is rename(2) on the server: atomic, and it replaces an earlier
        # upload of the same name. Plain SFTP RENAME refuses an existing target (OpenSSH does
        # link+unlink), so without the extension the old file is removed first; the final name is
        # then briefly absent between the two requests, but never partial.
        try:
            self.sftp.posix_rename(temp, final)
            return
        except OSError as exc:
            if "unsupported" not in str(exc).lower():
                raise
        with suppress(FileNotFoundError):
            self.sftp.remove(final)
        self.sftp.rename(temp, final)

    def _discard(self, temp: str) -> None:
        with suppress(Exception):  # the connection may be gone: then the .part stays, never the final name
            if self._sftp is not None:
                self._sftp.remove(temp)

    def download(self, remote: str, local_path: Path) -> int:
        """Copy ``remote`` to ``local_path`` (mode 0600) atomically; returns the byte count."""
        path = self._path(remote)
        local_path = Path(local_path)
        temp = local_path.with_name(f".{local_path.name}.{uuid.uuid4().hex[:8]}.part")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as out, self._errors("download", remote):
                expected = self.sftp.stat(path).st_size
                # paramiko's unlimited prefetch: with max_concurrent_prefetch_requests set, 5.1.0 crawls
                # (~5 MB/s here, paramiko#2455); memory stays flat anyway, as the SSH window (2 MiB)
                # holds the server back until this thread has read what arrived.
                got = self.sftp.getfo(path, out)
                out.flush()
                os.fsync(out.fileno())
            if got != expected:
                raise TransientTransportError(f"sftp {self.endpoint.address}: download {remote}: got {got} bytes, "
                                              f"stat said {expected}")
            os.replace(temp, local_path)
            fsync_dir(local_path.parent)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        return got

    def read_chunks(self, remote: str, size: int = 1 << 16) -> Iterator[bytes]:
        """A remote file streamed in pieces (a large inbound file never sits whole in memory);
        fewer bytes than its size said at opening is a transient error, read again next time."""
        path = self._path(remote)
        got = 0
        with self._errors("read", remote):
            expected = self.sftp.stat(path).st_size or 0
            with self.sftp.open(path, "rb") as f:
                f.prefetch(expected)
                while chunk := f.read(size):
                    got += len(chunk)
                    yield bytes(chunk)
        if got != expected:
            raise TransientTransportError(f"sftp {self.endpoint.address}: read {remote}: got {got} bytes, "
                                          f"stat said {expected}")

    def read_bytes(self, remote: str, max_bytes: int) -> bytes:
        """A small remote file (a receipt, a manifest) in memory; larger than ``max_bytes`` is refused."""
        path = self._path(remote)
        with self._errors("read", remote):
            size = self.sftp.stat(path).st_size or 0
            if size > max_bytes:
                raise SftpError(f"sftp read {remote}: {size} bytes is more than the {max_bytes} allowed")
            with self.sftp.open(path, "rb") as f:
                f.prefetch(size)
                data = f.read(max_bytes + 1)
        if len(data) > max_bytes:
            raise SftpError(f"sftp read {remote}: grew past the {max_bytes} bytes allowed while being read")
        return bytes(data)

    def exists(self, remote: str) -> bool:
        try:
            self.stat(remote)
        except RemoteNotFoundError:
            return False
        return True

    def stat(self, remote: str) -> RemoteFile:
        path = self._path(remote)
        with self._errors("stat", remote):
            return _remote_file(posixpath.basename(path), self.sftp.stat(path))

    def remove(self, remote: str) -> None:
        with self._errors("remove", remote):
            self.sftp.remove(self._path(remote))

    def listdir_attr(self, folder: str) -> list[RemoteFile]:
        with self._errors("list", folder):
            entries = self.sftp.listdir_attr(self._path(folder, folder=True))
        return sorted((_remote_file(e.filename, e) for e in entries), key=lambda f: f.name)

    def stable_listing(self, folder: str, wait: float) -> list[RemoteFile]:
        """Regular, non-temporary files whose size and mtime are the same in two listings taken
        ``wait`` seconds apart: a file still being written by the partner is left for next time."""
        def files() -> dict[str, RemoteFile]:
            return {f.name: f for f in self.listdir_attr(folder) if f.is_file and not is_temp_name(f.name)}

        first = files()
        time.sleep(wait)
        second = files()
        return [f for name, f in sorted(second.items()) if first.get(name) == f]

    # --- helpers --------------------------------------------------------------------------------

    def _path(self, remote: str, folder: bool = False) -> str:
        if folder and remote in ("", "."):
            return self.endpoint.root
        parts = remote.split("/")
        if not remote or remote.startswith("/") or any(p in ("", ".", "..") for p in parts):
            raise ValueError(f"sftp: remote path {remote!r} must be relative to the root, without '.', '..' "
                             "or empty parts")
        return posixpath.join(self.endpoint.root, remote)

    def _errors(self, op: str, remote: str) -> ErrorMap:
        return ErrorMap(f"sftp {self.endpoint.address}: {op} {remote}")


def _file_blocks(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as f:
        while block := f.read(WRITE_BUFFER):
            yield block


def _abandon(remote: paramiko.SFTPFile) -> None:
    try:
        remote.close()
    except Exception:
        # The connection is gone. paramiko would retry the close from __del__ and report the same
        # error again as "ignored"; the server drops the handle with the session anyway.
        remote._closed = True


def _remote_file(name: str, attrs: paramiko.SFTPAttributes) -> RemoteFile:
    return RemoteFile(name=name, size=attrs.st_size or 0, mtime=int(attrs.st_mtime or 0),
                      is_file=stat_mode.S_ISREG(attrs.st_mode or 0))
