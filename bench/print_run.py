"""The annual 保険料決定通知書 print run, from the store to signed, encrypted, uploaded files.

A throw-away installation gets vendor-a as an SFTP print vendor with an OpenPGP key of its own
(the sshd ``./dev bench`` exported, or one started here) and a synthetic population (not timed).
A worker (``python -m bridge worker --routes print.deliver``, relay included) is started and
allowed to connect first. The clock starts when ``kaigo-bridge run print.hokenryo`` is started
(process start included, as an operator runs it) and stops when every part's transfer is
``sent``, i.e. its OpenPGP file, signed manifest and signature are renamed into the vendor's
inbox. Peak RSS is each process's own (``VmHWM``).

The raw baseline (``bench.print_baseline``) is the shell pipeline a user would write on the same
store: ``sqlite3`` + ``csv.writer`` piped into ``gpg --encrypt --sign``, then ``sftp -b put``.

The run is then checked, untimed: each part's three files are in the inbox at the recorded size,
each data file decrypts with the vendor's key, is signed by the ward's key and has the plaintext
hash recorded at extraction, and the parts put together are byte for byte what the baseline's
uploaded file decrypts to (also signed by the ward), so both did the same work.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tempfile
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from adapters.sftp import SftpClient
from adapters.sftp_connect import SftpEndpoint
from adapters.vendor import exchange
from adapters.vendor.handover import COMPRESS_LEVEL
from bench.broker import Broker
from bench.install import Installation, installation
from bench.message_path import _stop, _wait, queue_state
from bench.proc import peak_rss_mb, run_child
from bench.report import Row, at_most, ratio_at_most, row, size_tag
from bench.transfer_io import _sshd
from fixtures.population import load
from fixtures.vendor import create_key_pair, import_public
from fixtures.vendor.gpgcli import Gpg as GpgCli
from fixtures.vendor.keys import short_home, stop_agent
from settings.partners import with_partner
from store.models import TOKUCHO, Handover, Transfer
from store.models.atena import SOFU_OK

if TYPE_CHECKING:
    from bench.lab import Lab

FLOW = "print.hokenryo"
ROUTE = "print.deliver"
NENDO = 2026
SEED = 31
POLL = 0.05  # seconds between transfer-state reads: the clock's resolution
BASELINE_FILE = f"{exchange.INBOX}/bench-baseline.csv.gpg"
BASELINE = f"sqlite3 + csv.writer | gpg -es -z{COMPRESS_LEVEL}, then sftp -b put"

PARTNER = """
[partner.vendor-a]
kind = "print-vendor"
name = "委託印刷事業者A (synthetic; bench)"
channel = "sftp"
host = "{host}"
port = {port}
user = "{user}"
key_file = "{key_file}"
known_hosts = "{known_hosts}"
openpgp_key = "vendor-a.asc"
openpgp_fingerprint = "{fingerprint}"
receipt_sla_hours = 24
deletion_sla_days = 30
"""


@dataclass
class PrintHome:
    home: Installation
    endpoint: SftpEndpoint
    vendor_home: Path
    notices: int


@contextmanager
def print_home(broker: Broker, people: int, log: Callable[[str], None]) -> Iterator[PrintHome]:
    """A fresh installation with vendor-a on SFTP + OpenPGP and ``people`` synthetic people."""
    with ExitStack() as stack:
        home = stack.enter_context(installation(broker))
        ep = stack.enter_context(_sshd())
        vendor_home = short_home("kbb-")
        stack.callback(shutil.rmtree, vendor_home, True)
        stack.callback(stop_agent, vendor_home)
        vendor = create_key_pair(vendor_home, "vendor-a <print@vendor-a.invalid>")
        (home.config_dir / "vendor-a.asc").write_bytes(vendor.public_armored)
        partners = home.config_dir / "partners.toml"
        partners.write_text(with_partner(partners.read_text(encoding="utf-8"), "vendor-a", PARTNER.format(
            host=ep.host, port=ep.port, user=ep.username, key_file=ep.key_file, known_hosts=ep.known_hosts,
            fingerprint=vendor.fingerprint)), encoding="utf-8")
        home.__dict__.pop("config", None)  # init read the dropdir partner; the children read this one
        bridge = home.bridge
        stack.callback(bridge.gpg.close)  # its gpg-agent, started by the key import below
        import_public(vendor_home, bridge.gpg.export_public(bridge.ward_fingerprint).encode())
        _clear_inbox(ep)
        stack.callback(_clear_inbox, ep)
        log(f"loading {people:,} synthetic people (not timed)")
        started = time.perf_counter()
        counts = load(bridge.sessions, bridge.mynumber, people=people, seed=SEED, nendo=NENDO)
        log(f"  {counts.fuka:,} 賦課 in {time.perf_counter() - started:.0f} s")
        yield PrintHome(home, ep, vendor_home, counts.fuka)


def _clear_inbox(ep: SftpEndpoint) -> None:
    with SftpClient(ep) as sftp:
        for f in sftp.listdir_attr(exchange.INBOX):
            sftp.remove(f"{exchange.INBOX}/{f.name}")


def _states(home: Installation, batch: str) -> list[str]:
    with home.bridge.read_sessions() as s:
        return list(s.scalars(select(Transfer.state).where(Transfer.batch == batch)))


def run_ours(ph: PrintHome, log: Callable[[str], None], timeout: float = 600) -> dict[str, Any]:
    home, batch = ph.home, f"{FLOW}/{NENDO}"
    worker_log = home.root / "print-worker.log"
    with worker_log.open("wb") as out:
        worker = subprocess.Popen([sys.executable, "-m", "bridge", "worker", "--routes", ROUTE], env=home.env,
                                  cwd=home.root, stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait(lambda: (queue_state(home, ROUTE) or (0, 0))[1] >= 1, worker, worker_log, 60, "the worker")
        log(f"worker {worker.pid} consuming {ROUTE}; kaigo-bridge run {FLOW} --nendo {NENDO}")
        started = time.perf_counter()
        # In a bench.proc child, which reads the run's own peak RSS (VmHWM) before it exits: a
        # process's ru_maxrss from wait4 also counts the parent's peak at the spawn (Linux).
        _, run_rss = run_child("bridge.cli:app", {"args": ["run", FLOW, "--nendo", str(NENDO), "--json"],
                                                  "prog_name": "kaigo-bridge", "standalone_mode": False},
                               env=home.env, timeout=timeout)
        rendered = time.perf_counter()
        _wait(lambda: (s := _states(home, batch)) != [] and all(x == "sent" for x in s), worker, worker_log,
              timeout, "every part sent", POLL)
        finished = time.perf_counter()
        worker_rss = peak_rss_mb(worker.pid)
    finally:
        _stop(worker)
    return {"seconds": finished - started, "run_s": rendered - started, "run_rss_mb": run_rss,
            "worker_rss_mb": worker_rss, "parts": len(_states(home, batch)), "worker_log": str(worker_log)}


def run_baseline(ph: PrintHome, issue: date) -> dict[str, Any]:
    bridge, ep = ph.home.bridge, ph.endpoint
    flow = bridge.config.flow(FLOW)
    store = bridge.sessions.kw["bind"].url.database
    result, _ = run_child("bench.print_baseline:raw", {
        "export_args": {"store": store, "nendo": NENDO, "sofu_ok": SOFU_OK, "tokucho": TOKUCHO,
                        "issue": issue.strftime("%Y%m%d"), "substitutions_file": str(flow.substitutions)},
        "gpg_home": str(bridge.config.openpgp_home), "signer": bridge.ward_fingerprint,
        "recipient": bridge.config.partners["vendor-a"].openpgp_fingerprint,
        "compress_level": COMPRESS_LEVEL, "remote_name": BASELINE_FILE,
        "endpoint": {"host": ep.host, "port": ep.port, "username": ep.username, "key_file": str(ep.key_file),
                     "known_hosts": str(ep.known_hosts)}}, env=ph.home.env)
    return result


def check(ph: PrintHome, baseline: bool) -> None:
    """What arrived is what was extracted, signed by the ward, and (with ``baseline``) byte for
    byte what the raw baseline put."""
    bridge, problems = ph.home.bridge, []
    with bridge.read_sessions() as s:
        transfers = list(s.scalars(select(Transfer).where(Transfer.batch == f"{FLOW}/{NENDO}")
                                   .order_by(Transfer.part_no)))
        handovers = {h.transfer_id: h for h in s.scalars(select(Handover))}
    if sum(t.record_count or 0 for t in transfers) != ph.notices:
        problems.append(f"{sum(t.record_count or 0 for t in transfers)} records in the parts, {ph.notices} 賦課")
    whole = hashlib.sha256()
    with tempfile.TemporaryDirectory(prefix="kaigo-bench-check-") as tmp, SftpClient(ph.endpoint) as sftp:
        inbox = {f.name: f.size for f in sftp.listdir_attr(exchange.INBOX)}

        def plaintext(remote: str, what: str) -> bytes:
            cipher, plain = Path(tmp) / "cipher", Path(tmp) / "plain"
            sftp.download(remote, cipher)
            status = GpgCli(ph.vendor_home).decrypt(cipher, plain)
            if status.valid_signers() != [bridge.ward_fingerprint] or status.problems():
                problems.append(f"{what}: signers {status.valid_signers()}, {status.problems()}")
            return plain.read_bytes()

        for t in transfers:
            data, manifest = exchange.data_name(t.id), exchange.manifest_name(t.id)
            missing = [n for n in (data, manifest, f"{manifest}.asc") if n not in inbox]
            h = handovers.get(t.id)
            if missing or h is None or inbox[data] != h.ciphertext_size:
                problems.append(f"part {t.part_no}: missing {missing} or size differs from the hand-over")
                continue
            body = plaintext(f"{exchange.INBOX}/{data}", f"part {t.part_no}")
            whole.update(body)
            if hashlib.sha256(body).hexdigest() != t.sha256:
                problems.append(f"part {t.part_no}: decrypted bytes differ from the extraction hash")
        if baseline and hashlib.sha256(plaintext(BASELINE_FILE, "baseline")).hexdigest() != whole.hexdigest():
            problems.append("the parts put together differ from the raw baseline's CSV")
    if problems:
        raise RuntimeError("print run is not correct:\n  " + "\n  ".join(problems))


# --- rows ---------------------------------------------------------------------------------------

_measured: weakref.WeakKeyDictionary[Lab, dict[int, dict[str, Any]]] = weakref.WeakKeyDictionary()


def measure(lab: Lab, people: int, baseline: bool) -> dict[str, Any]:
    """One print run of ``people`` (and the raw baseline on the same store), checked; once per run."""
    cache = _measured.setdefault(lab, {})
    if people not in cache:
        lab.log(f"print run: {people:,} people, store → OpenPGP files in the SFTP inbox")
        with print_home(lab.broker, people, lab.log) as ph:
            ours = run_ours(ph, lab.log, timeout=120 + people / 2000)  # a hang fails in minutes
            lab.log(f"  {ours['seconds']:.1f} s ({ours['parts']} parts; run exited after {ours['run_s']:.1f} s); "
                    f"peak RSS run {ours['run_rss_mb']:.0f} MB, worker {ours['worker_rss_mb']:.0f} MB")
            raw = None
            if baseline:
                lab.log(f"baseline: {BASELINE}")
                raw = run_baseline(ph, date.today())
                lab.log(f"  {raw['seconds']:.1f} s (export | gpg {raw['export_gpg_s']:.1f} s, "
                        f"then sftp {raw['sftp_s']:.1f} s)")
            check(ph, baseline)
            cache[people] = {**ours, "notices": ph.notices, "baseline": raw}
    return cache[people]


def print_run_row(lab: Lab) -> Row:
    """Ours: ``kaigo-bridge run print.hokenryo`` + the deliver worker, store to signed, encrypted
    parts with signed manifests in the SFTP inbox (validation, encrypted claim-check store,
    custody, queue); baseline: ``sqlite3`` + ``csv.writer | gpg --encrypt --sign``, then
    ``sftp -b put`` of one file; both from the first process start to the last file in place."""
    m = measure(lab, lab.people, baseline=True)
    run_rss, worker_rss = m["run_rss_mb"], m["worker_rss_mb"]
    return row(f"print_run.{size_tag(lab.people)}", m["seconds"],
               f"s, lower better; RSS run/worker {run_rss:.0f}/{worker_rss:.0f}",
               f"{m['notices']:,} notices: {BASELINE}",
               m["baseline"]["seconds"], ratio_at_most(1.0), max(run_rss, worker_rss))


def rss_flatness_row(lab: Lab) -> Row:
    """Peak RSS of the ``run`` process at the full population against the same run at a tenth of
    it: flat means the run streams, whatever the population."""
    small = max(1, lab.people // 10)
    big, little = measure(lab, lab.people, baseline=True), measure(lab, small, baseline=False)
    return row("print_run.rss_flatness", big["run_rss_mb"], f"MB, run, {lab.people:,} people",
               f"run at {small:,} people (worker {little['worker_rss_mb']:.0f} MB there, "
               f"{big['worker_rss_mb']:.0f} MB at {lab.people:,})", little["run_rss_mb"],
               (at_most(300, "MB"), ratio_at_most(1.5)), big["run_rss_mb"])
