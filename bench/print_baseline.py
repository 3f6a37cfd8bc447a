"""The print run's raw baseline: the same notices through the stock pieces, one after the other.

``sqlite3`` runs the project's query on the same store file, ``csv.writer`` writes the notices
to one cp932 file (the ward's substitution table applied with ``str.translate``), the ``gpg``
CLI encrypts and signs it (``--encrypt --sign``, the same keys and compression level as the
project), and OpenSSH ``sftp -b`` puts it into the vendor's inbox. Timed end to end, process
starts included. No validation, no claim-check store, no custody, no queue: the floor under the
project's path. The bytes it writes must equal the project's parts put together (checked by
``bench.print_run``), so both did the same work.
"""

from __future__ import annotations

import csv
import hashlib
import sqlite3
import subprocess
import tempfile
import time
import tomllib
from pathlib import Path
from typing import Any

from adapters.sftp import SftpEndpoint
from bench.transfer_io import _openssh

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


def _write_csv(store: str, out: Path, nendo: int, sofu_ok: str, tokucho: str, issue: str,
               substitutions: dict[int, str]) -> int:
    conn = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    rows = 0
    with open(out, "w", encoding="cp932", newline="") as f:
        writer = csv.writer(f, lineterminator="\r\n")
        for (fid, year, atena, hihokensha, postal, address, kanji, kana, dankai, nengaku, choshu,
             *ki) in conn.execute(QUERY, (nendo, sofu_ok)):
            writer.writerow((f"{year % 100:02d}{fid:08d}", f"{year:04d}", atena, hihokensha, postal,
                             address.translate(substitutions), kanji.translate(substitutions),
                             kana.translate(substitutions), f"{dankai:02d}", nengaku,
                             "1" if choshu == tokucho else "2", *("" if k is None else k for k in ki), issue))
            rows += 1
    conn.close()
    return rows


def raw(store: str, nendo: int, sofu_ok: str, tokucho: str, issue: str, substitutions_file: str, gpg_home: str,
        signer: str, recipient: str, compress_level: int, endpoint: dict[str, Any], remote_name: str) -> dict[str, Any]:
    """Time the four stock steps; return seconds per step, rows, and the CSV's SHA-256 and size."""
    table = tomllib.loads(Path(substitutions_file).read_text(encoding="utf-8")).get("substitutions", {})
    subs = {ord(char): replacement for char, replacement in table.items()}
    ep = SftpEndpoint(endpoint["host"], int(endpoint["port"]), endpoint["username"], Path(endpoint["key_file"]),
                      Path(endpoint["known_hosts"]), "/", 60)
    with tempfile.TemporaryDirectory(prefix="kaigo-bench-print-") as tmp:
        plain, cipher, batch = Path(tmp) / "notices.csv", Path(tmp) / "notices.csv.gpg", Path(tmp) / "batch"
        started = time.perf_counter()
        rows = _write_csv(store, plain, nendo, sofu_ok, tokucho, issue, subs)
        extracted = time.perf_counter()
        subprocess.run(["gpg", "--homedir", gpg_home, "--batch", "--yes", "--pinentry-mode", "loopback",
                        "--trust-model", "always", "--local-user", signer, "--recipient", recipient,
                        "--compress-level", str(compress_level), "--output", str(cipher), "--encrypt", "--sign",
                        str(plain)], check=True, capture_output=True, timeout=600)
        encrypted = time.perf_counter()
        _openssh(ep, batch, f"put {cipher} {remote_name}")
        finished = time.perf_counter()
        digest = hashlib.sha256()
        with open(plain, "rb") as f:
            while block := f.read(1 << 20):
                digest.update(block)
        return {"seconds": finished - started, "extract_render_s": extracted - started,
                "gpg_s": encrypted - extracted, "sftp_s": finished - encrypted, "rows": rows,
                "csv_sha256": digest.hexdigest(), "csv_bytes": plain.stat().st_size,
                "cipher_bytes": cipher.stat().st_size}
