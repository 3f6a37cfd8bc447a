"""One supervisor for every background duty of a process (relay, inbound polls, partner answers,
中間サーバー duties, custody checkpoints and housekeeping).

A duty is a body the supervisor calls: a *round* (done every ``every`` seconds) or a *loop*
(runs until ``stop``, like the relay). Whatever a body raises is caught here, at its edge: the
cause is logged masked (``health.cause``: never a 個人番号, a file name or a database's SQL), the
failure counted on the process's heartbeat board, and the duty called again after a backoff
(0.5 s doubling to a minute, never later than its next regular round). The body builds its own
connections inside (an SFTP session per round, a new relay and publisher per loop), so the call
after a failure starts from fresh ones. Nothing a duty does can end its thread: before this, the
first error a loop did not expect (pika's ``ValueError: Timeout closed before call`` in the relay,
a ValueError in an inbound poll, an SftpError in the answer poll) ended it quietly for good.

Rounds that must not overlap (the 中間サーバー's three duties share a client and the store's
writer) share a *lane*: one thread runs them one after another as each falls due.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass

from queues.health import TICK, Board, cause

log = logging.getLogger(__name__)

BACKOFF_FIRST = 0.5
BACKOFF_MAX = 60.0
# A loop that has run this long since its (re)start without raising counts as a success: its
# failures in a row are reset and its heartbeat says it is working.
STEADY = 2.0


@dataclass(frozen=True)
class Duty:
    name: str
    body: Callable[[threading.Event], None]  # one round; a loop: runs until the event is set
    every: float = TICK  # seconds between rounds (a loop: how often its heartbeat is renewed)
    loop: bool = False
    first: float | None = None  # seconds before the first round (default: ``every``)
    final: bool = False  # one more round when stopping (e.g. move what custody entries are left)
    lane: str | None = None  # duties of one lane run in one thread, one at a time (default: own lane)
    # A loop that rides out failures itself (the relay reconnects on its own) says how it is doing:
    # None while its last turn went well, else the masked cause of the failure it is riding out.
    probe: Callable[[], str | None] | None = None


def backoff(failures: int, every: float) -> float:
    return min(BACKOFF_FIRST * 2 ** max(failures - 1, 0), BACKOFF_MAX, max(every, BACKOFF_FIRST))


class Supervisor:
    """Runs ``duties`` in threads of their own (a lane each, a loop each) and a heartbeat thread;
    ``board`` is where their heartbeats go (queues/health.py)."""

    def __init__(self, duties: list[Duty], board: Board) -> None:
        self.duties = duties
        self.board = board
        self._threads: list[threading.Thread] = []
        self._loop_since: dict[str, float] = {}  # a running loop's start (monotonic)
        self._lock = threading.Lock()
        for duty in duties:
            board.add(duty.name, duty.every)

    def start(self, stop: threading.Event) -> None:
        self.board.sweep()
        self.board.write()
        lanes: dict[str, list[Duty]] = {}
        for duty in self.duties:
            if duty.loop:
                self._spawn(duty.name, self._run_loop, duty, stop)
            else:
                lanes.setdefault(duty.lane or duty.name, []).append(duty)
        for lane, duties in lanes.items():
            self._spawn(lane, self._run_lane, duties, stop)
        self._spawn("heartbeat", self._tick, stop)

    def join(self, timeout: float = 30.0) -> None:
        for thread in self._threads:
            thread.join(timeout=timeout)
        self.board.close()

    def run(self, stop: threading.Event) -> None:
        """Start, wait for ``stop``, let every duty end (a command that only supervises)."""
        self.start(stop)
        stop.wait()
        self.join()

    def _spawn(self, name: str, target: Callable[..., None], *args: object) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def _attempt(self, duty: Duty, stop: threading.Event) -> str | None:
        """Call the body once; None when it returned, else its failure's masked cause."""
        try:
            duty.body(stop)
        except Exception as exc:  # the duty's edge: whatever it is, the duty goes on
            return self._failed(duty, exc)
        return None

    def _failed(self, duty: Duty, exc: Exception) -> str:
        why = cause(exc)
        # Code locations only: an exception's message may hold what must not be logged.
        log.debug("%s failed at:\n%s", duty.name, "".join(traceback.format_tb(exc.__traceback__)))
        return why

    def _run_lane(self, duties: list[Duty], stop: threading.Event) -> None:
        start = time.monotonic()
        due = {d.name: start + (d.every if d.first is None else d.first) for d in duties}
        failures = dict.fromkeys(due, 0)
        by_name = {d.name: d for d in duties}
        while True:
            name = min(due, key=lambda n: due[n])
            if stop.wait(max(0.0, due[name] - time.monotonic())):
                break
            duty = by_name[name]
            error = self._attempt(duty, stop)
            self._record(duty, error)
            failures[name] = 0 if error is None else failures[name] + 1
            delay = duty.every if error is None else backoff(failures[name], duty.every)
            if error is not None:
                log.warning("%s: %s (%d in a row); again in %.1f s", name, error, failures[name], delay)
            due[name] = time.monotonic() + delay
        for duty in duties:
            if duty.final:
                self._record(duty, self._attempt(duty, stop))

    def _run_loop(self, duty: Duty, stop: threading.Event) -> None:
        failures = 0
        while not stop.is_set():
            started = time.monotonic()
            with self._lock:
                self._loop_since[duty.name] = started
            self.board.running(duty.name, True)
            error = self._attempt(duty, stop)
            with self._lock:
                self._loop_since.pop(duty.name, None)
            self.board.running(duty.name, False)
            if stop.is_set() and error is None:
                break
            if error is None:  # a loop returns only when stopped: ending early is a failure too
                error = "ended on its own"
            failures = 1 if time.monotonic() - started >= STEADY else failures + 1
            self._record(duty, error)
            delay = backoff(failures, BACKOFF_MAX)
            log.warning("%s: %s (%d in a row); restarting in %.1f s", duty.name, error, failures, delay)
            stop.wait(delay)

    def _record(self, duty: Duty, error: str | None) -> None:
        self.board.ran(duty.name, error)

    def _tick(self, stop: threading.Event) -> None:
        """Renew the heartbeat: a loop running steadily is working; the file shows the process lives."""
        loops = {d.name: d for d in self.duties if d.loop}
        while not stop.wait(self.board.tick):
            now = time.monotonic()
            with self._lock:
                steady = [name for name, since in self._loop_since.items() if now - since >= STEADY]
            for name in steady:
                probe = loops[name].probe
                self.board.ran(name, self._ask(probe) if probe is not None else None)
            self.board.write()

    @staticmethod
    def _ask(probe: Callable[[], str | None]) -> str | None:
        try:
            return probe()
        except Exception as exc:  # a probe must not end the heartbeat either
            return cause(exc)
