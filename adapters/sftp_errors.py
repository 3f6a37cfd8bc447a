"""What can go wrong with SFTP, and how paramiko's and the socket's errors map to it.

``SftpError`` (permanent: login refused, missing folder, permission, a size that does not match),
``RemoteNotFoundError`` and ``HostKeyError`` (a host key that is not the pinned one) are not
retried; ``TransientTransportError`` (a connection failed or dropped) goes to the caller's retry
queue. ``ErrorMap`` wraps one SFTP call at a time.
"""

from __future__ import annotations

import errno
from types import TracebackType

import paramiko

from queues.errors import PermanentError, TransientError


class SftpError(PermanentError):
    """Retrying cannot help: refused login, missing folder, permission, a size that does not match."""


class RemoteNotFoundError(SftpError):
    """The remote file or folder does not exist."""


class HostKeyError(SftpError):
    """The server's host key is not the pinned one (unknown or changed): the connection is refused."""


class TransientTransportError(TransientError):
    """The connection failed or dropped: worth retrying later (the caller's retry queue)."""


class ErrorMap:
    """Maps paramiko/socket errors to SftpError (permanent) or TransientTransportError; reusable,
    so that an upload wraps each SFTP call and nothing of the caller's."""

    def __init__(self, where: str) -> None:
        self.where = where

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc is None or isinstance(exc, SftpError | TransientTransportError):
            return
        if isinstance(exc, FileNotFoundError):
            raise RemoteNotFoundError(f"{self.where}: no such file or folder") from None
        if isinstance(exc, PermissionError):
            raise SftpError(f"{self.where}: permission denied") from None
        if isinstance(exc, OSError | EOFError | paramiko.SSHException | paramiko.SFTPError):
            raise TransientTransportError(f"{self.where}: {describe(exc)}") from exc


def describe(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.errno is not None and exc.strerror:
        return f"{exc.strerror} ({errno.errorcode.get(exc.errno, exc.errno)})"
    return str(exc) or type(exc).__name__
