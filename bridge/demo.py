"""``./dev demo``: one full cycle on synthetic data, with a summary at the end.

Fresh state under var/demo/state every time: 20,000 synthetic people are loaded, the
保険料決定通知書 batch runs, 資格 changes flow as events, a worker process hands the print file
to a synthetic print vendor over SFTP with OpenPGP and applies the changes; the vendor robot
(stock gpg, paramiko) answers with a signed receipt, returned mail and a deletion certificate;
a supervisor confirms the hand-over; the custody log is verified. Then a 国保連 month: the
受給者異動連絡票 of the changes goes to the 国保連's share, and the simulated 国保連 sends back a
給付実績 file (applied) and a faulty one (quarantined with its report). Then the 年金特徴 files of
the year's start with the simulated 経由機関 (bridge/demo_nenkin.py), and the 中間サーバー (a
simulator process over TLS, bridge/demo_chukan.py): 副本 refresh, one permitted query with its
result, one refused, one provision held for approval and approved by a second operator.
Needs KAIGO_AMQP_URL, KAIGO_RABBIT_API and KAIGO_SFTP_* (``./dev demo`` starts the services).
"""

from __future__ import annotations

import argparse
import atexit
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select

import settings as config_module
from adapters.vendor import register as ledger
from bridge import demo_chukan, demo_kokuho, demo_nenkin, file_modes
from bridge.app import Bridge, init
from bridge.flows import run_flow
from fixtures import activity, population
from fixtures.vendor import Behaviour, KeyPair, SftpParams, VendorRobot, create_key_pair, import_public
from fixtures.vendor.keys import short_home
from settings.partners import with_partner
from store.models import ChangeJournal, Handover, Transfer

console = Console()
KOKUHO_CHANGES = 300  # 認定 and 負担割合 changes each: the month's 受給者異動


def _step(summary: list[tuple[str, str, float]], name: str, work: Callable[[], str]) -> None:
    console.print(f"[bold cyan]▶[/] {name} …")
    started = time.perf_counter()
    result = work()
    seconds = time.perf_counter() - started
    summary.append((name, result, seconds))
    console.print(f"  [green]✓[/] {result} [dim]({seconds:.1f} s)[/]")


def _reject_quarantined(transfer_ids: list[str]) -> str:
    """What an operator does with a file the judgement refused: reads its report, rejects it with a
    reason (the stored copy is deleted), and asks the partner for a corrected one."""
    for transfer_id in transfer_ids:
        subprocess.run([sys.executable, "-m", "bridge", "quarantine", "reject", transfer_id, "--by", "clerk-1",
                        "--reason", "給付実績に誤り (unknown 被保険者番号, negative amount): 国保連に再送を依頼"],
                       check=True)
    return f"{len(transfer_ids)} file(s) rejected by clerk-1 with a reason; stored copy deleted"


def _healthy() -> str:
    """``status --check``: the screen an operator sees, and the exit code monitoring reads — with the
    worker running and nothing left waiting, every duty is healthy and it exits 0."""
    check = subprocess.run([sys.executable, "-m", "bridge", "status", "--check"], check=False)
    if check.returncode != 0:
        raise SystemExit(f"status --check exited {check.returncode} (its screen is above)")
    return "正常: every duty of the running worker healthy, nothing waiting for an operator (exit 0)"


def _wait(condition: Callable[[], bool], timeout: float, what: str, worker: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if worker.poll() is not None:
            raise SystemExit(f"the worker stopped unexpectedly (exit {worker.returncode}) while waiting for {what}")
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.2)


VENDOR_PARTNER = """
[partner.vendor-a]
kind = "print-vendor"
name = "委託印刷事業者A (synthetic; the vendor robot)"
channel = "sftp"
host = "${KAIGO_SFTP_HOST}"
port = "${KAIGO_SFTP_PORT}"
user = "${KAIGO_SFTP_USER}"
key_file = "${KAIGO_SFTP_KEY}"
known_hosts = "${KAIGO_SFTP_KNOWN_HOSTS}"
openpgp_key = "vendor-a.asc"
openpgp_fingerprint = "%s"
receipt_sla_hours = 24
deletion_sla_days = 30
poll_seconds = 2
"""


def vendor_setup(state: Path) -> KeyPair:
    """The demo's own configuration: vendor-a becomes the robot, reached by SFTP with its key."""
    config_dir = state / "config"
    shutil.copytree(config_module.default_config_dir(), config_dir)
    vendor = create_key_pair(short_home(), "vendor-a <print@vendor-a.invalid>")
    (config_dir / "vendor-a.asc").write_bytes(vendor.public_armored)
    partners = config_dir / "partners.toml"
    partners.write_text(with_partner(partners.read_text(encoding="utf-8"), "vendor-a",
                                     VENDOR_PARTNER % vendor.fingerprint), encoding="utf-8")
    os.environ["KAIGO_CONFIG"] = str(config_dir)
    tree = Path(os.environ["KAIGO_SFTP_ROOT"])
    for leftover in [*(tree / "inbox").glob("*"), *(tree / "outbox").glob("*")]:
        leftover.unlink()
    return vendor


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="./dev demo", description=__doc__)
    parser.add_argument("--people", type=int, default=20_000)
    parser.add_argument("--changes", type=int, default=5_000)
    parser.add_argument("--nendo", type=int, default=2026)
    args = parser.parse_args(argv)
    file_modes.private_process()

    state = Path("var/demo/state").resolve()
    shutil.rmtree(state, ignore_errors=True)
    os.environ["KAIGO_VAR"] = str(state)
    vendor = vendor_setup(state)
    sim = demo_chukan.start(state, state / "config")
    atexit.register(sim.stop)  # whatever step fails, the simulator process goes with the demo
    config = config_module.load()
    bridge = Bridge(config, actor="operator:clerk-1")
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
        nintei = activity.change_nintei(bridge.sessions, bridge.keyring, KOKUHO_CHANGES, seed=3)
        wariai = activity.change_futan_wariai(bridge.sessions, bridge.keyring, KOKUHO_CHANGES, seed=4)
        facts["events"] = len(events) + len(nintei) + len(wariai)
        return (f"{len(events):,} 資格, {len(nintei):,} 認定 and {len(wariai):,} 負担割合 change events "
                "in the outbox")

    _step(summary, "core-system activity", changes)

    import_public(vendor.home, bridge.gpg.export_public(bridge.ward_fingerprint).encode())
    robot = VendorRobot("vendor-a", SftpParams.from_env(), vendor.home, bridge.ward_fingerprint,
                        work_dir=state / "vendor-robot", behaviour=Behaviour(returns=5))
    stop = threading.Event()
    robot_thread = threading.Thread(target=robot.run, args=(stop, 1.0), daemon=True)
    log = open(state / "worker.log", "wb")
    worker = subprocess.Popen([sys.executable, "-m", "bridge", "worker"], stdout=log, stderr=subprocess.STDOUT)
    robot_thread.start()
    try:
        def deliver() -> str:
            expected = facts["run"]["transfers"] - facts["run"]["held"]

            def done() -> bool:
                with bridge.sessions() as s:
                    closed = s.scalar(select(func.count()).select_from(Transfer).where(Transfer.state == "closed"))
                    applied = s.scalar(select(func.count()).select_from(ChangeJournal))
                return closed == expected and applied == facts["events"]

            _wait(done, 300, "hand-overs closed and change events applied", worker)
            with bridge.sessions() as s:
                returned = s.scalar(select(func.sum(Handover.returns))) or 0
            return (f"{expected} hand-over(s) sent by SFTP + OpenPGP, receipted, {returned} returned notice(s), "
                    f"deletion certified; {facts['events']:,} changes applied")

        _step(summary, "worker + vendor robot: hand-over to deletion", deliver)
        _step(summary, "国保連 month: 受給者異動連絡票 out (kokuho.ido)",
              lambda: demo_kokuho.ido_out(bridge, facts, lambda c, w: _wait(c, 300, w, worker)))
        _step(summary, "国保連 month: 給付実績 in (kokuho.kyufu)",
              lambda: demo_kokuho.kyufu_in(bridge, facts, lambda c, w: _wait(c, 300, w, worker)))
        _step(summary, "給付実績: the quarantined file rejected by an operator (the 国保連 is asked to resend)",
              lambda: _reject_quarantined(facts["kyufu"]["held_ids"]))
        _step(summary, "年金特徴 May: Z11 特別徴収対象者 in (nenkin.z11)",
              lambda: demo_nenkin.z11_in(bridge, args.nendo, facts, lambda c, w: _wait(c, 300, w, worker)))
        _step(summary, "年金特徴 May: Z14 April 仮徴収 results in (nenkin.z14)",
              lambda: demo_nenkin.z14_kari_in(bridge, args.nendo, facts, lambda c, w: _wait(c, 300, w, worker)))
        _step(summary, "年金特徴 July: Z12 特別徴収依頼 out (nenkin.z12)",
              lambda: demo_nenkin.z12_out(bridge, args.nendo, lambda c, w: _wait(c, 300, w, worker)))
        _step(summary, "中間サーバー: 副本 refresh (chukan refresh --all)",
              lambda: demo_chukan.fukuhon(bridge, sim, lambda c, w: _wait(c, 300, w, worker)))
        _step(summary, "中間サーバー: 転入者 income query (permitted)",
              lambda: demo_chukan.income_query(bridge, sim, facts, lambda c, w: _wait(c, 120, w, worker)))
        _step(summary, "中間サーバー: a query not on the permission list",
              lambda: demo_chukan.refused_query(facts, sim))
        _step(summary, "中間サーバー: provision held (自動応答不可), approved by a second operator",
              lambda: demo_chukan.provision(bridge, sim, facts))
        _step(summary, "status --check while the worker runs", _healthy)
    finally:
        stop.set()
        robot_thread.join(timeout=30)
        robot.close()
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=60)
        log.close()

    def confirm() -> str:
        with bridge.sessions.begin() as s:
            ids = [e.transfer_id for e in ledger.entries(s, config.partners) if e.confirmed_by is None]
            for transfer_id in ids:
                ledger.confirm(s, transfer_id, "supervisor-1")
        return f"{len(ids)} hand-over record(s) confirmed by supervisor-1 (not the clerk who ran the batch)"

    _step(summary, "上長確認 of the hand-over register", confirm)

    def verify() -> str:
        bridge.flush_custody()
        bridge.custody.checkpoint()
        report = bridge.custody.verify()
        facts["custody"] = report
        return f"{'intact' if report.ok else 'BROKEN: ' + report.reason}: {report.entries:,} entries, " \
               f"{report.checkpoints} signed checkpoints"

    _step(summary, "custody verify", verify)

    subprocess.run([sys.executable, "-m", "bridge", "handovers"], check=True)
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
