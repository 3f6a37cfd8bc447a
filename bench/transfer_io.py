"""The print-vendor transports against the stock tools, on the same input and server.

- ``sftp.upload`` / ``sftp.download``: ``adapters.sftp.SftpClient`` with a 100 MiB file against
  OpenSSH ``sftp -b`` put/get of the same file on the same sshd. Both are timed from connect to
  close (the CLI's process start included), rounds interleaved with the order alternating, median.
- ``pgp.encrypt_sign``: ``adapters.pgp.Gpg.encrypt_sign_stream`` of 100 MiB of vendor-CSV-like
  cp932 text (compressible as the real files are) against ``gpg --encrypt --sign`` of the same
  file, same GnuPG home and keys.

Each runs in a child process (``bench.proc``), so its peak RSS is the transport's own. The sshd is
the one ``./dev bench`` exported (``KAIGO_SFTP_*``), or one started in a temporary folder and
purged afterwards.
"""

from __future__ import annotations

import os
import random
import shutil
import statistics
import subprocess
import tempfile
import time
import uuid
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from adapters.pgp import Gpg
from adapters.sftp import SftpClient
from adapters.sftp_connect import SftpEndpoint
from bench.proc import run_child
from bench.report import Row, ratio_at_least, row

if TYPE_CHECKING:
    from bench.lab import Lab

SIZE_MIB = 100
ROUNDS = 3
MB = 1e6  # decimal MB/s, as sftp and SERVICES.md report them
MB_PER_S = "MB/s, higher better"
BLOCK = 1 << 20


# --- measurements (run in a child process) ------------------------------------------------------


@contextmanager
def _sshd() -> Iterator[SftpEndpoint]:
    env = os.environ
    if env.get("KAIGO_SFTP_HOST"):
        yield SftpEndpoint(env["KAIGO_SFTP_HOST"], int(env["KAIGO_SFTP_PORT"]), env["KAIGO_SFTP_USER"],
                           Path(env["KAIGO_SFTP_KEY"]), Path(env["KAIGO_SFTP_KNOWN_HOSTS"]), "/", 60)
        return
    from fixtures.services import SshdServer  # only needed standalone

    folder = Path(tempfile.mkdtemp(prefix="kaigo-bench-sshd-"))
    server = SshdServer(folder / "sshd")
    try:
        server.start()
        yield SftpEndpoint("127.0.0.1", server.port, server.username, server.client_key, server.known_hosts, "/", 60)
    finally:
        server.purge()
        shutil.rmtree(folder, ignore_errors=True)


def _openssh(ep: SftpEndpoint, batch: Path, command: str) -> float:
    batch.write_text(command + "\n")
    started = time.perf_counter()
    subprocess.run(["sftp", "-q", "-b", str(batch), "-i", str(ep.key_file), "-P", str(ep.port),
                    "-o", f"UserKnownHostsFile={ep.known_hosts}", "-o", "StrictHostKeyChecking=yes",
                    "-o", "BatchMode=yes", f"{ep.username}@{ep.host}"], check=True, capture_output=True, timeout=600)
    return time.perf_counter() - started


def sftp_transfer(size_mib: int = SIZE_MIB, rounds: int = ROUNDS) -> dict[str, Any]:
    size = size_mib * BLOCK
    times: dict[str, list[float]] = {"ours_put": [], "ssh_put": [], "ours_get": [], "ssh_get": []}
    with tempfile.TemporaryDirectory(prefix="kaigo-bench-sftp-") as tmp, _sshd() as ep:
        src, back, batch = Path(tmp) / "payload.bin", Path(tmp) / "back.bin", Path(tmp) / "batch"
        with open(src, "wb") as f:
            for _ in range(size_mib):
                f.write(os.urandom(BLOCK))
        names = []

        def ours() -> None:
            name = f"inbox/bench-{uuid.uuid4().hex[:10]}.bin"
            names.append(name)
            started = time.perf_counter()
            with SftpClient(ep) as sftp:
                sftp.upload(src, name, size)
            times["ours_put"].append(time.perf_counter() - started)
            started = time.perf_counter()
            with SftpClient(ep) as sftp:
                got = sftp.download(name, back)
            times["ours_get"].append(time.perf_counter() - started)
            if got != size:
                raise RuntimeError(f"sftp download gave {got} bytes of {size}")

        def openssh() -> None:
            name = f"inbox/bench-{uuid.uuid4().hex[:10]}.bin"
            names.append(name)
            times["ssh_put"].append(_openssh(ep, batch, f"put {src} {name}"))
            times["ssh_get"].append(_openssh(ep, batch, f"get {name} {back}"))

        for i in range(rounds):
            for step in (ours, openssh) if i % 2 == 0 else (openssh, ours):
                step()
        with SftpClient(ep) as sftp:  # every upload whole, then gone
            for name in names:
                if sftp.stat(name).size != size:
                    raise RuntimeError(f"{name}: {sftp.stat(name).size} bytes on the server, {size} sent")
                sftp.remove(name)
    return {key: size / statistics.median(values) / MB for key, values in times.items()}


def _write_csv(path: Path, size: int, seed: int = 5) -> None:
    rng = random.Random(seed)
    name = "世田谷　花子".encode("cp932")
    rows = b"".join(b"%010d,%s,%08d,2026-04-01,%d,%s\r\n" % (rng.randrange(10**10), name, rng.randrange(10**8),
                                                             rng.randrange(10**6), b"1" * rng.randrange(40))
                    for _ in range(15_000))
    written = 0
    with open(path, "wb") as f:
        while written < size:
            start = rng.randrange(len(rows) - 65536)
            piece = rows[start:start + min(65536, size - written)]
            f.write(piece)
            written += len(piece)


def _blocks(path: Path) -> Iterator[bytes]:
    with open(path, "rb") as f:
        while block := f.read(256 * 1024):
            yield block


def pgp_encrypt_sign(size_mib: int = SIZE_MIB, rounds: int = ROUNDS) -> dict[str, Any]:
    size = size_mib * BLOCK
    ours: list[float] = []
    cli: list[float] = []
    with tempfile.TemporaryDirectory(prefix="kbpgp-") as tmp:  # short: gpg-agent's socket path
        root = Path(tmp)
        src = root / "print.csv"
        _write_csv(src, size)
        with Gpg(root / "ward") as ward, Gpg(root / "vendor") as vendor:
            signer = ward.generate_key("Ward Bench", "bench@ward.example.invalid")
            recipient = vendor.generate_key("Vendor Bench", "bench@vendor.example.invalid")
            ward.import_key(vendor.export_public(recipient), recipient)
            cmd = ["gpg", "--homedir", str(root / "ward"), "--batch", "--yes", "--pinentry-mode", "loopback",
                   "--trust-model", "always", "--local-user", signer, "--recipient", recipient,
                   "--output", str(root / "cli.gpg"), "--encrypt", "--sign", str(src)]
            for i in range(rounds):
                for step in ("ours", "cli") if i % 2 == 0 else ("cli", "ours"):
                    started = time.perf_counter()
                    if step == "ours":
                        info = ward.encrypt_sign_stream(_blocks(src), root / "ours.gpg", recipient, signer)
                        ours.append(time.perf_counter() - started)
                    else:
                        subprocess.run(cmd, check=True, capture_output=True, timeout=600)
                        cli.append(time.perf_counter() - started)
            if info.plaintext_size != size:
                raise RuntimeError(f"encrypt_sign_stream read {info.plaintext_size} bytes of {size}")
            cipher_bytes = (root / "cli.gpg").stat().st_size
    return {"ours": size / statistics.median(ours) / MB, "cli": size / statistics.median(cli) / MB,
            "ours_cipher_bytes": info.size, "cli_cipher_bytes": cipher_bytes}


# --- rows ---------------------------------------------------------------------------------------

_measured: weakref.WeakKeyDictionary[Lab, dict[str, tuple[dict[str, Any], float]]] = weakref.WeakKeyDictionary()


def _measure(lab: Lab, target: str, what: str) -> tuple[dict[str, Any], float]:
    cache = _measured.setdefault(lab, {})
    if target not in cache:
        lab.log(what)
        cache[target] = run_child(f"bench.transfer_io:{target}",
                                  {"size_mib": lab.sizes.transfer_mib, "rounds": lab.sizes.rounds}, env=lab.home.env)
        lab.log("  " + ", ".join(f"{k} {v:,.0f}" for k, v in cache[target][0].items()))
    return cache[target]


def _sftp(lab: Lab) -> tuple[dict[str, Any], float]:
    return _measure(lab, "sftp_transfer", f"sftp: {lab.sizes.transfer_mib} MiB put+get, SftpClient vs OpenSSH "
                                          f"sftp -b, {lab.sizes.rounds} rounds (MB/s)")


def sftp_upload(lab: Lab) -> Row:
    m, rss = _sftp(lab)
    return row("sftp.upload", m["ours_put"], MB_PER_S,
               f"OpenSSH sftp -b put, same {lab.sizes.transfer_mib} MiB file and sshd",
               m["ssh_put"], ratio_at_least(0.7), rss)


def sftp_download(lab: Lab) -> Row:
    m, rss = _sftp(lab)
    return row("sftp.download", m["ours_get"], MB_PER_S,
               f"OpenSSH sftp -b get, same {lab.sizes.transfer_mib} MiB file and sshd",
               m["ssh_get"], ratio_at_least(0.7), rss)


def pgp_encrypt_sign_row(lab: Lab) -> Row:
    m, rss = _measure(lab, "pgp_encrypt_sign", f"pgp: {lab.sizes.transfer_mib} MiB CSV, encrypt_sign_stream vs gpg "
                                               f"--encrypt --sign, {lab.sizes.rounds} rounds (MB/s)")
    return row("pgp.encrypt_sign", m["ours"], MB_PER_S,
               f"gpg --encrypt --sign, same {lab.sizes.transfer_mib} MiB file and keys",
               m["cli"], ratio_at_least(0.9), rss)
