"""Custody events (what callers append), stored entries, and the canonical hash of an entry."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from queues.redact import looks_like_kojin_bango

TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
HASHED_FIELDS = (
    "seq", "at", "transfer_id", "event", "actor", "partner", "record_count",
    "sha256", "key_id", "basis", "detail", "dedup_key", "prev_hash",
)  # fmt: skip
_DOMAIN = b"kaigo-bridge custody entry v1\n"
_EVENT_RE = re.compile(r"[a-z][a-z_]{1,31}")
_SHA_RE = re.compile(r"[0-9a-f]{64}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_DETAIL_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # detail may hold tabs and newlines
_LIMITS = {"transfer_id": 128, "actor": 128, "partner": 64, "key_id": 64, "basis": 200,
           "detail": 4000, "dedup_key": 200}  # fmt: skip


def now_text() -> str:
    return datetime.now(UTC).strftime(TIME_FORMAT)


def parse_time(text: str) -> datetime:
    return datetime.strptime(text, TIME_FORMAT).replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True, kw_only=True)
class CustodyEvent:
    """One hand-over to record. Never put 個人番号 or names in any field: ids, counts, hashes only."""

    transfer_id: str | None
    event: str
    actor: str
    partner: str | None = None
    record_count: int | None = None
    sha256: str | None = None
    key_id: str | None = None
    basis: str | None = None
    detail: str | None = None
    dedup_key: str | None = None

    def __post_init__(self) -> None:
        # Messages name the field and the rule, never the value: it may be what we refuse to log.
        if not _EVENT_RE.fullmatch(self.event):
            raise ValueError(f"custody event: field event must match {_EVENT_RE.pattern}")
        if not self.actor:
            raise ValueError("custody event: field actor must not be empty")
        for name, limit in _LIMITS.items():
            value = getattr(self, name)
            if value is not None and (type(value) is not str or (name, value) not in _PASSED):
                _check_text(name, value, limit)
        if self.record_count is not None and (
            isinstance(self.record_count, bool)
            or not isinstance(self.record_count, int)
            or self.record_count < 0
        ):
            raise ValueError("custody event: field record_count must be a non-negative integer")
        if self.sha256 is not None and not _SHA_RE.fullmatch(self.sha256):
            raise ValueError("custody event: field sha256 must be 64 lowercase hex digits")

    def fields(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in _EVENT_FIELDS}


# (field, value) pairs that passed _check_text, for the fields entries repeat (the same actor,
# partner and detail on thousands of entries): the check, a 個人番号 scan of the detail above
# all, runs once per value. Ids differ on every entry and are checked each time.
_PASSED: set[tuple[str, str]] = set()
_REPEATING = frozenset({"actor", "partner", "key_id", "basis", "detail"})
_PASSED_MAX = 4096


def _check_text(name: str, value: object, limit: int) -> None:
    if not isinstance(value, str):
        raise ValueError(f"custody event: field {name} must be text")
    if len(value) > limit or (name != "detail" and not value):
        raise ValueError(f"custody event: field {name} must be 1..{limit} characters")
    if (_DETAIL_CONTROL if name == "detail" else _CONTROL).search(value):
        raise ValueError(f"custody event: field {name} contains control characters")
    if name == "detail" and looks_like_kojin_bango(value):
        raise ValueError(
            "custody event: field detail contains a 12-digit number (possibly a 個人番号); mask it first"
        )
    if name in _REPEATING:
        if len(_PASSED) >= _PASSED_MAX:
            _PASSED.clear()
        _PASSED.add((name, value))


_EVENT_FIELDS = ("transfer_id", "event", "actor", "partner", "record_count", "sha256", "key_id", "basis",
                 "detail", "dedup_key")  # fmt: skip


@dataclass(frozen=True, slots=True)
class Entry:
    seq: int
    at: datetime
    transfer_id: str | None
    event: str
    actor: str
    partner: str | None
    record_count: int | None
    sha256: str | None
    key_id: str | None
    basis: str | None
    detail: str | None
    dedup_key: str | None
    prev_hash: str
    hash: str

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Entry:
        values = dict(row)
        values["at"] = parse_time(values["at"])
        return cls(**values)


def entry_hash(fields: Mapping[str, Any]) -> str:
    """SHA-256 over the canonical JSON (sorted keys, no spaces, UTF-8) of the hashed fields."""
    text = _CANONICAL({name: fields[name] for name in HASHED_FIELDS})
    return hashlib.sha256(_DOMAIN + text.encode("utf-8")).hexdigest()


# What json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False) does, with the
# encoder made once instead of once per entry.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode
