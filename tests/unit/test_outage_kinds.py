"""What counts as a store outage (held, never a message's failure) and what does not."""

from __future__ import annotations

import errno
import sqlite3

from sqlalchemy.exc import IntegrityError, OperationalError

from queues.errors import PermanentError, TransientError
from queues.health import cause
from queues.outages import StoreUnavailable, is_store_outage


def _wrapped(inner: BaseException, outer: Exception) -> Exception:
    try:
        raise outer from inner
    except Exception as exc:
        return exc


def test_the_store_s_and_the_disk_s_errors_are_outages() -> None:
    assert is_store_outage(OperationalError("COMMIT", {}, sqlite3.OperationalError("database or disk is full")))
    assert is_store_outage(OSError(errno.ENOSPC, "No space left on device"))
    assert is_store_outage(OSError(errno.EROFS, "Read-only file system"))
    assert is_store_outage(StoreUnavailable("probe failed"))
    # A handler that wraps the disk's error in its own is still held.
    assert is_store_outage(_wrapped(OSError(errno.ENOSPC, "full"), TransientError("payload not written")))


def test_a_message_s_own_errors_are_not_outages() -> None:
    assert not is_store_outage(IntegrityError("INSERT", {}, sqlite3.IntegrityError("NOT NULL")))
    assert not is_store_outage(PermanentError("undecryptable body"))
    assert not is_store_outage(OSError(errno.ENOENT, "no such file"))
    assert not is_store_outage(ValueError("bad record"))


def test_a_cause_names_the_kind_first_and_masks_a_kojin_bango() -> None:
    line = cause(ValueError("row of 1234 5678 9012\nfailed"))
    assert line.startswith("ValueError: ") and "1234 5678" not in line and "\n" not in line
