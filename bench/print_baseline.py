"""The print run's raw baseline: what a shell user would write with the stock tools, streamed.

``python -m bench.print_baseline ARGS | gpg --encrypt --sign … --output notices.csv.gpg && sftp -b``:
a small script (``sqlite3`` running the project's query on the same store file, ``csv.writer``
writing cp932 with the ward's substitution table applied by ``str.translate``) writes the
notices to its stdout while gpg reads them from the pipe (same keys and compression level as the
project) and writes the OpenPGP file as it goes; OpenSSH ``sftp -b`` puts that file into the
vendor's inbox right after. The upload cannot overlap gpg: the vendor's server is SFTP-only
(``ForceCommand internal-sftp``, so no ``gpg … | ssh host 'cat > f'``) and ``sftp put`` takes
regular files only. Timed from the first process start to sftp's exit. No validation, no
claim-check store, no custody, no queue, one file instead of parts: the floor under the
project's path. ``bench.print_run`` decrypts what it put (untimed) and checks that it is signed by
the ward and byte for byte the project's parts put together, so both did the same work.

This module's imports are the standard library's only: it is also the exporting script, and its
start-up is inside the clock.
"""

from __future__ import annotations

import csv
import json
import sqlite3
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path
from typing import Any

MAX_KI = 10
# The query adapters/vendor/hokenryo.py sends (fuka scanned in id order, a scalar subquery per
# 期), so the baseline's floor is that of the same SQL, not of a slower shape of it.
_KI = ", ".join(f"(select k.amount from fuka_kibetsu k where k.fuka_id = f.id and k.ki = {k})"
                for k in range(1, MAX_KI + 1))
QUERY = f"""
select f.id, f.nendo, f.atena_no, f.hihokensha_no,
       coalesce(a.sofu_postal_code, a.postal_code), coalesce(a.sofu_address, a.address),
       a.name_kanji, a.name_kana, f.dankai, f.nengaku, f.choshu_kubun, {_KI}
from fuka f join atena a on a.atena_no = f.atena_no
where f.nendo + 0 = ? and a.sofu_status = ?
order by f.id
"""


def export(store: str, nendo: int, sofu_ok: str, tokucho: str, issue: str, substitutions_file: str) -> int:
    """The notices as cp932 CSV on stdout; returns how many."""
    table = tomllib.loads(Path(substitutions_file).read_text(encoding="utf-8")).get("substitutions", {})
    subs = {ord(char): replacement for char, replacement in table.items()}
    conn = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    rows = 0
    with open(sys.stdout.fileno(), "w", encoding="cp932", newline="", buffering=1 << 16, closefd=False) as out:
        writer = csv.writer(out, lineterminator="\r\n")
        for (fid, year, atena, hihokensha, postal, address, kanji, kana, dankai, nengaku, choshu,
             *ki) in conn.execute(QUERY, (nendo, sofu_ok)):
            writer.writerow((f"{year % 100:02d}{fid:08d}", f"{year:04d}", atena, hihokensha, postal,
                             address.translate(subs), kanji.translate(subs), kana.translate(subs),
                             f"{dankai:02d}", nengaku, "1" if choshu == tokucho else "2",
                             *("" if k is None else k for k in ki), issue))
            rows += 1
    conn.close()
    return rows


def raw(export_args: dict[str, Any], gpg_home: str, signer: str, recipient: str, compress_level: int,
        endpoint: dict[str, Any], remote_name: str) -> dict[str, Any]:
    """Time export | gpg, then sftp put; return the seconds (and of each stage) and the file's size."""
    # Imported here, not above: the exporting child imports this module, and it needs none of it.
    from adapters.sftp_connect import SftpEndpoint
    from bench.transfer_io import _openssh

    ep = SftpEndpoint(endpoint["host"], int(endpoint["port"]), endpoint["username"], Path(endpoint["key_file"]),
                      Path(endpoint["known_hosts"]), "/", 60)
    with tempfile.TemporaryDirectory(prefix="kaigo-bench-print-") as tmp:
        cipher, batch, gpg_log = Path(tmp) / "notices.csv.gpg", Path(tmp) / "batch", Path(tmp) / "gpg.log"
        with open(gpg_log, "wb") as log:
            started = time.perf_counter()
            exporter = subprocess.Popen([sys.executable, "-m", "bench.print_baseline", json.dumps(export_args)],
                                        stdout=subprocess.PIPE)
            assert exporter.stdout is not None
            gpg = subprocess.Popen(["gpg", "--homedir", gpg_home, "--batch", "--yes", "--pinentry-mode", "loopback",
                                    "--trust-model", "always", "--local-user", signer, "--recipient", recipient,
                                    "--compress-level", str(compress_level), "--output", str(cipher),
                                    "--encrypt", "--sign"], stdin=exporter.stdout, stdout=log, stderr=log)
            exporter.stdout.close()  # gpg holds the read end; the exporter gets EPIPE if gpg dies
            exported, encrypted = exporter.wait(600), gpg.wait(600)
            piped = time.perf_counter()
        if exported or encrypted:
            raise RuntimeError(f"baseline: exporter exited {exported}, gpg {encrypted}: "
                               f"{gpg_log.read_text(errors='replace')[-2000:]}")
        _openssh(ep, batch, f"put {cipher} {remote_name}")
        finished = time.perf_counter()
        return {"seconds": finished - started, "export_gpg_s": piped - started, "sftp_s": finished - piped,
                "cipher_bytes": cipher.stat().st_size}


if __name__ == "__main__":
    export(**json.loads(sys.argv[1]))
