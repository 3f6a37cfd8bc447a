"""Heartbeats of the supervised duties, where ``status`` reads them from another process.

Each process that runs duties (a worker, the standalone relay) keeps one small JSON file,
``var/health/<host>-<pid>.json``, rewritten whole (temporary file + rename, so a reader never
sees half of one) after every round of a duty and every ``TICK`` seconds. Files, not a store
table, because what they report on includes the store: a full disk or a locked SQLite file must
not stop the heartbeat of the duty that is failing on it, and a heartbeat every few seconds per
duty would contend for SQLite's one writer with the work itself. The folder is 0700 and the
files 0600 (they name duties and masked causes, nothing personal, but nothing under var/ is for
other users). A process that stops cleanly removes its file; one that died leaves it behind, and
``status`` shows it stopped until a process started on the same host sweeps it.

Nothing here may ever raise into a duty: a heartbeat that cannot be written is logged and the
work goes on.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import socket
import tempfile
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from queues.redact import mask

log = logging.getLogger(__name__)

TICK = 5.0  # seconds between heartbeats of a process whose duties are all waiting
FAILURE_LIMIT = 3  # failures in a row that make a duty unhealthy
LATE_INTERVALS = 3  # a duty without a success for this many of its intervals is unhealthy
GRACE = 30.0  # seconds added to LATE_INTERVALS × interval (a round may take a while)
SILENT_TICKS = 6  # a process whose file has not been rewritten for this many ticks is stopped (hung or dead)

# A token that looks like a file name or a path (partner file names are the partner's, and may
# say more than they should): replaced by a short hash, the same name the same hash, so an
# operator can still tell one file from another in the logs. A path has a slash; a file name an
# extension and a digit, a capital or an underscore (a 12-digit stamp …) — dotted names of our
# own (kokuho.kyufu, chukan.refresh) stay readable.
_TOKEN = re.compile(r"[^\s'\"():,\[\]<>]+")
_NAMEISH = re.compile(r"/|^(?=.*[0-9A-Z_]).*\.[A-Za-z][A-Za-z0-9]{0,7}$")


def _hide_names(text: str) -> str:
    def one(m: re.Match[str]) -> str:
        token = m.group()
        if not _NAMEISH.search(token.rstrip(".")):
            return token
        return "file#" + hashlib.sha256(token.encode()).hexdigest()[:8]

    return _TOKEN.sub(one, text)


def cause(exc: BaseException) -> str:
    """``Type: first line of the message``, masked: never a 個人番号, never a file name or path as
    written, never a database error's SQL and parameters (SQLAlchemy appends them; only the
    driver's own first line is kept)."""
    inner = getattr(exc, "orig", None)  # SQLAlchemy's DBAPIError wraps the driver's exception
    text = str(inner if isinstance(inner, BaseException) else exc)
    if inner is None and "[SQL:" in text:
        text = text.split("[SQL:", 1)[0]
    first = text.strip().splitlines()[0] if text.strip() else ""
    first = _hide_names(first)
    first = mask(first)[:300]
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class DutyBeat:
    """What one duty has done lately (times as ISO-8601 UTC)."""

    every: float  # its interval in seconds (a loop duty: TICK)
    last_run: str | None = None
    last_success: str | None = None
    last_error: str | None = None  # masked, see ``cause``
    last_error_at: str | None = None
    failures: int = 0  # in a row; a success resets it
    total_failures: int = 0
    running: bool = False  # a loop duty between its start and its end


def health_dir(var: Path) -> Path:
    return var / "health"


class Board:
    """The heartbeat file of this process; every method is safe to call from any duty's thread."""

    def __init__(self, var: Path, role: str, tick: float = TICK) -> None:
        self.folder = health_dir(var)
        self.role = role
        self.tick = tick
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self.path = self.folder / f"{self.host}-{self.pid}.json"
        self.started = now_iso()
        self.duties: dict[str, DutyBeat] = {}
        self._lock = threading.Lock()
        self._warned = False

    def add(self, name: str, every: float) -> None:
        with self._lock:
            self.duties[name] = DutyBeat(every=every)

    def ran(self, name: str, error: str | None = None) -> None:
        """A round of ``name`` ended: a success, or a failure with its (masked) cause."""
        with self._lock:
            beat = self.duties[name]
            beat.last_run = now_iso()
            if error is None:
                beat.last_success, beat.failures = beat.last_run, 0
            else:
                beat.last_error, beat.last_error_at = error, beat.last_run
                beat.failures += 1
                beat.total_failures += 1
        self.write()

    def running(self, name: str, running: bool) -> None:
        with self._lock:
            self.duties[name].running = running
        self.write()

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {"role": self.role, "host": self.host, "pid": self.pid, "started": self.started,
                    "updated": now_iso(), "tick": self.tick,
                    "duties": {name: vars(beat).copy() for name, beat in self.duties.items()}}

    def write(self) -> None:
        """Rewrite the file atomically; a failure (full disk …) is logged once and ignored."""
        try:
            self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".beat-", suffix=".tmp")  # mkstemp: 0600
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as out:
                    json.dump(self.snapshot(), out, ensure_ascii=False)
                os.replace(tmp, self.path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
            self._warned = False
        except OSError as exc:
            if not self._warned:
                log.warning("heartbeat not written: %s", cause(exc))
                self._warned = True

    def sweep(self) -> int:
        """Remove the files of processes on this host that are gone (a restart after a crash)."""
        removed = 0
        for beat in read_all(self.folder.parent):
            if beat.get("host") == self.host and beat.get("pid") != self.pid and not _alive(int(beat["pid"])):
                with contextlib.suppress(OSError):
                    (self.folder / f"{self.host}-{beat['pid']}.json").unlink()
                    removed += 1
        return removed

    def close(self) -> None:
        """A clean stop: this process no longer claims to be running anything."""
        with contextlib.suppress(OSError):
            self.path.unlink()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_all(var: Path) -> list[dict[str, Any]]:
    """Every heartbeat file under ``var`` (unreadable or half-written ones are skipped)."""
    folder = health_dir(var)
    out = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            out.append(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            continue
    return out


@dataclass(frozen=True)
class Verdict:
    healthy: bool
    reason: str = ""  # Japanese, for the operator: why not
    detail: dict[str, Any] = field(default_factory=dict)


def _age(iso: str | None, now: datetime) -> float | None:
    return None if iso is None else (now - datetime.fromisoformat(iso)).total_seconds()


def judge_process(beat: dict[str, Any], now: datetime) -> Verdict:
    """Stopped when its pid is gone (this host) or its file went silent (hung, or another host)."""
    if beat.get("host") == socket.gethostname() and not _alive(int(beat["pid"])):
        return Verdict(False, "プロセスが停止しています (異常終了)")
    silent = _age(beat.get("updated"), now) or 0.0
    if silent > SILENT_TICKS * float(beat.get("tick", TICK)):
        return Verdict(False, f"ハートビートが {int(silent)} 秒途絶えています (応答なし)")
    return Verdict(True)


def judge_duty(duty: dict[str, Any], started: str, now: datetime) -> Verdict:
    if duty.get("failures", 0) >= FAILURE_LIMIT:
        return Verdict(False, f"{duty['failures']} 回連続で失敗しています")
    since = _age(duty.get("last_success") or started, now) or 0.0
    if since > LATE_INTERVALS * float(duty["every"]) + GRACE:
        return Verdict(False, f"{int(since)} 秒間成功していません")
    return Verdict(True)
