"""What an operator sees when a command fails: one line, its cause first, and an exit code from
the README's table — never a Python traceback (``kaigo-bridge -v …`` adds one, for a developer).

The codes let a script or systemd tell "the answer is no" from "fix the configuration" from
"a service is down, try again later" without reading the text.
"""

from __future__ import annotations

import errno
import socket
import sys
import traceback
import urllib.error
from dataclasses import dataclass

from queues.redact import mask
from settings import ConfigError

OK = 0
NO = 1  # the command's own answer is no: findings (config check, custody verify), a refused step
USAGE = 2  # a wrong option, flow or route; an invalid configuration; an unset environment variable
UNAVAILABLE = 3  # a service is unreachable or unusable: broker, SFTP, store, 中間サーバー, a full disk
NOT_INITIALISED = 4  # no installation in this state folder: `kaigo-bridge init` first
REFUSED = 5  # refused by a guard: file permissions, a key readable by others, a host key not pinned
INTERRUPTED = 130  # Ctrl-C (128 + SIGINT), as a shell reports it
INTERNAL = 70  # anything else is a bug (EX_SOFTWARE): the line names it, -v shows the traceback

_DISK = {errno.ENOSPC: "the disk is full", errno.EROFS: "the file system is read-only",
         errno.EDQUOT: "the disk quota is exceeded", errno.EIO: "an I/O error"}


class NotInitialised(Exception):
    """The state folder holds no installation, and the command would have created one by using it."""


@dataclass(frozen=True)
class Failure:
    code: int
    line: str


def classify(exc: BaseException) -> Failure:
    """The exit code and the operator's line for ``exc`` (cause first, masked, one line)."""
    # Imported on failure only: paramiko, pika and the rest are not every command's start-up cost.
    from pika.adapters.utils.connection_workflow import AMQPConnectorException
    from pika.exceptions import AMQPError
    from sqlalchemy.exc import DBAPIError

    from adapters.chukan.errors import ChukanError, ChukanFault
    from adapters.sftp_errors import HostKeyError, SftpError, TransientTransportError
    from queues.crypto.errors import KeyringError
    from queues.custody.signing import SigningKeyError
    from queues.errors import PermanentError, TransientError
    from queues.outages import StoreUnavailable
    from queues.publisher import PublishError

    if isinstance(exc, KeyboardInterrupt):
        return Failure(INTERRUPTED, "interrupted")
    if isinstance(exc, NotInitialised):
        return Failure(NOT_INITIALISED, f"not initialised: {exc}; run kaigo-bridge init")
    if isinstance(exc, ConfigError):
        first, more = exc.problems[0] if exc.problems else "", len(exc.problems) - 1
        extra = f" (and {more} more: kaigo-bridge config check lists them)" if more > 0 else ""
        return Failure(USAGE, f"configuration: {first}{extra}")
    if isinstance(exc, DBAPIError):
        why = _text(exc.orig) if exc.orig is not None else type(exc).__name__  # never the SQL's parameters
        if "no such table" in why or "does not exist" in why:
            return Failure(NOT_INITIALISED, f"not initialised: the database has no schema ({why}); "
                                            "run kaigo-bridge init")
        return Failure(UNAVAILABLE, f"the store is unavailable: {why}")
    if isinstance(exc, StoreUnavailable):
        return Failure(UNAVAILABLE, f"the store is unavailable: {_text(exc)}")
    if isinstance(exc, AMQPError | AMQPConnectorException):
        return Failure(UNAVAILABLE, f"the broker (RabbitMQ) is unreachable: {_innermost(exc)}")
    if isinstance(exc, PublishError):
        return Failure(UNAVAILABLE, f"the broker did not accept the messages: {_text(exc)}")
    if isinstance(exc, urllib.error.URLError):
        return Failure(UNAVAILABLE, f"the broker's management API is unreachable: {_text(exc.reason)}")
    if isinstance(exc, HostKeyError):
        return Failure(REFUSED, f"refused: {_text(exc)}")
    if isinstance(exc, SftpError | TransientTransportError):
        return Failure(UNAVAILABLE, f"SFTP: {_text(exc)}")
    if isinstance(exc, ChukanError):  # its message starts with 中間サーバー and the operation
        return Failure(REFUSED if isinstance(exc, ChukanFault) else UNAVAILABLE, _text(exc))
    if isinstance(exc, KeyringError) and ("does not exist" in str(exc) or "is missing" in str(exc)):
        return Failure(NOT_INITIALISED, f"not initialised: {_text(exc)}; run kaigo-bridge init")
    if isinstance(exc, KeyringError | SigningKeyError | PermissionError):
        return Failure(REFUSED, f"refused: {_text(exc)}")
    if isinstance(exc, OSError) and exc.errno in _DISK:
        return Failure(UNAVAILABLE, f"{_DISK[exc.errno]}: {_text(exc)}")
    if isinstance(exc, ConnectionError | TimeoutError | socket.gaierror):
        return Failure(UNAVAILABLE, f"a service is unreachable: {_text(exc)}")
    if isinstance(exc, TransientError):
        return Failure(UNAVAILABLE, f"a partner is unavailable: {_text(exc)}")
    if isinstance(exc, PermanentError):
        return Failure(NO, f"failed: {_text(exc)}")
    return Failure(INTERNAL, f"internal error ({type(exc).__name__}: {_text(exc)}); "
                             "kaigo-bridge -v … shows the traceback")


def report(exc: BaseException, verbose: bool) -> int:
    """Print ``exc`` for the operator on stderr (the traceback first with ``verbose``); its exit code."""
    failure = classify(exc)
    if verbose:
        sys.stderr.write(mask("".join(traceback.format_exception(exc))))
    sys.stderr.write(f"kaigo-bridge: {failure.line}\n")
    sys.stderr.flush()
    return failure.code


def _innermost(exc: BaseException) -> str:
    """pika nests the reason (AMQPConnectionError of AMQPConnectorSocketConnectError of
    ConnectionRefusedError …): the deepest exception in its args says it best."""
    seen: BaseException = exc
    for _ in range(5):
        wrapped = getattr(seen, "exception", None)  # pika's connector phases keep it there
        inner = wrapped if isinstance(wrapped, BaseException) else next(
            (a for a in seen.args if isinstance(a, BaseException)), None)
        if inner is None:
            break
        seen = inner
    return _text(seen) or type(seen).__name__


def _text(value: object) -> str:
    """One masked line of at most 300 characters."""
    text = " ".join(str(value).split())
    if isinstance(value, BaseException) and not text:
        text = type(value).__name__
    return mask(text[:300])
