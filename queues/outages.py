"""Outages of the store and the broker: how to tell one, and the backoff every loop rides it out with
(the failure's masked one-line cause for logs and status: queues/health.py ``cause``).

A store outage (unreachable, disk full, read-only, locked past its timeout) is nobody's message's
fault: a worker that counted it as a message failure would spend every message's retry budget
and park them all in ``.dead`` within minutes. So a store error is told apart from a handler's
own by its kind: the DBAPI's OperationalError and InterfaceError ("errors related to the
database's operation, not under the programmer's control") and the operating system's disk
errors. A broker outage needs no telling apart: whatever a connection raises, the answer is a
fresh connection after a pause.
"""

from __future__ import annotations

import errno
import threading

from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError

# A full or read-only disk under the store or the payload folder.
_DISK_ERRNOS = {errno.ENOSPC, errno.EROFS, errno.EDQUOT, errno.EIO}


class StoreUnavailable(Exception):
    """The store cannot take a write now; the work is to be held and tried again, not failed."""


def is_store_outage(exc: BaseException) -> bool:
    """True when ``exc`` (or an exception it was raised from) is the store's or the disk's."""
    seen: BaseException | None = exc
    for _ in range(5):  # a handler may wrap the store's error in its own
        if seen is None:
            return False
        if isinstance(seen, StoreUnavailable | OperationalError | InterfaceError | DisconnectionError):
            return True
        if isinstance(seen, OSError) and seen.errno in _DISK_ERRNOS:
            return True
        seen = seen.__cause__
    return False


class Backoff:
    """Waits that double from ``first`` up to ``most`` seconds; ``reset`` after a success."""

    def __init__(self, first: float = 0.5, most: float = 10.0) -> None:
        self.first = first
        self.most = most
        self.delay = first

    def wait(self, stop: threading.Event) -> None:
        """Wait the current delay (or until ``stop`` is set), then double it."""
        stop.wait(self.delay)
        self.delay = min(self.delay * 2, self.most)

    def reset(self) -> None:
        self.delay = self.first
