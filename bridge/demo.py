"""``./dev demo``: one full cycle on synthetic data, with a summary at the end.

Fresh state under var/demo/state every time: 20,000 synthetic people are loaded, the
保険料決定通知書 batch runs, 資格 changes flow as events, a worker process delivers and applies
everything, the custody log is verified, and the operator's status screen is shown.
Needs KAIGO_AMQP_URL and KAIGO_RABBIT_API (``./dev demo`` starts a broker and sets both).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select

from adapters.core.models import ChangeJournal, Transfer
from bridge import config as config_module
from bridge.app import Bridge, init
from bridge.flows import run_flow
from fixtures import activity, population

console = Console()


def _step(summary: list[tuple[str, str, float]], name: str, work: Callable[[], str]) -> None:
    console.print(f"[bold cyan]▶[/] {name} …")
    started = time.perf_counter()
    result = work()
    seconds = time.perf_counter() - started
    summary.append((name, result, seconds))
    console.print(f"  [green]✓[/] {result} [dim]({seconds:.1f} s)[/]")


def _wait(condition: Callable[[], bool], timeout: float, what: str, worker: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if worker.poll() is not None:
            raise SystemExit(f"the worker stopped unexpectedly (exit {worker.returncode}) while waiting for {what}")
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.2)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="./dev demo", description=__doc__)
    parser.add_argument("--people", type=int, default=20_000)
    parser.add_argument("--changes", type=int, default=5_000)
    parser.add_argument("--nendo", type=int, default=2026)
    args = parser.parse_args(argv)

    state = Path("var/demo/state").resolve()
    shutil.rmtree(state, ignore_errors=True)
    os.environ["KAIGO_VAR"] = str(state)
    config = config_module.load()
    bridge = Bridge(config, actor="demo")
    summary: list[tuple[str, str, float]] = []
    facts: dict[str, Any] = {}

    _step(summary, "initialise keys, store and custody log", lambda: f"{len(init(config))} set-up steps")

    def load() -> str:
        counts = population.load(bridge.sessions, bridge.mynumber, people=args.people, seed=1, nendo=args.nendo)
        return f"{counts.atena:,} people, {counts.fuka:,} 賦課 rows"

    _step(summary, "load synthetic population", load)

    def run() -> str:
        facts["run"] = result = run_flow(bridge, "print.hokenryo", nendo=args.nendo, progress=True)
        return (f"{result['records']:,} notices in {result['transfers']} transfer(s), {result['held']} held, "
                f"{result['bytes']:,} bytes encrypted and queued")

    _step(summary, "batch 保険料決定通知書 (print.hokenryo)", run)

    def changes() -> str:
        events = activity.change_shikaku(bridge.sessions, bridge.keyring, args.changes, seed=2)
        return f"{len(events):,} 資格 change events in the outbox"

    _step(summary, "core-system activity", changes)

    log = open(state / "worker.log", "wb")
    worker = subprocess.Popen([sys.executable, "-m", "bridge", "worker"], stdout=log, stderr=subprocess.STDOUT)
    try:
        def deliver() -> str:
            queued = set(facts["run"]["transfer_ids"])

            def done() -> bool:
                with bridge.sessions() as s:
                    sent = s.scalar(select(func.count()).select_from(Transfer).where(Transfer.state == "sent"))
                    applied = s.scalar(select(func.count()).select_from(ChangeJournal))
                return sent == len(queued) - facts["run"]["held"] and applied == args.changes

            _wait(done, 300, "deliveries and change events", worker)
            drop = config.partners["vendor-a"].path
            assert drop is not None
            files = sorted(drop.glob("*.csv"))
            facts["files"] = files
            return f"{len(files)} file(s) in {drop}, {args.changes:,} changes applied"

        _step(summary, "worker: relay, deliver, apply", deliver)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=60)
        log.close()

    def verify() -> str:
        bridge.flush_custody()
        bridge.custody.checkpoint()
        report = bridge.custody.verify()
        facts["custody"] = report
        return f"{'intact' if report.ok else 'BROKEN: ' + report.reason}: {report.entries:,} entries, " \
               f"{report.checkpoints} signed checkpoints"

    _step(summary, "custody verify", verify)

    subprocess.run([sys.executable, "-m", "bridge", "status"], check=True)
    first = facts["run"]["transfer_ids"][0]
    subprocess.run([sys.executable, "-m", "bridge", "custody", "show", first], check=True)

    table = Table(title="kaigo-bridge demo — summary")
    for column in ("step", "result", "seconds"):
        table.add_column(column)
    for name, result, seconds in summary:
        table.add_row(name, result, f"{seconds:.1f}")
    console.print(table)
    ok = facts["custody"].ok
    console.print(f"[bold]{facts['run']['records']:,} records[/], {facts['run']['transfers']} transfer(s), "
                  f"{sum(s for _, _, s in summary):.1f} s, custody: "
                  + ("[green]intact[/]" if ok else "[red]FAILED[/]"))
    console.print(f"state kept in {state} (worker log: {state / 'worker.log'})")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
