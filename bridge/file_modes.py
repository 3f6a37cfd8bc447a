"""Who may read the bridge's state on disk: its own user, nobody else.

Every kaigo-bridge process (the CLI and so every worker and relay, the demo) starts with umask
077, so whatever it or a library creates under ``var/`` (SQLite's -wal and -shm, GnuPG's files,
the spool) is 0600 and every folder 0700; the stores that matter also set their modes themselves
(store/engine.py, queues/payloads.py, queues/files.py), whatever the umask. ``repair`` brings an
older installation there and says what it changed.

The partners' drop folders are not repaired: they are the exchange with a partner (a mounted 伝送
share), and a delivered file there has the partner's ``file_mode`` (partners.toml) on purpose.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from settings import Config

PRIVATE_UMASK = 0o077
FOLDER_MODE = 0o700
FILE_MODE = 0o600


def private_process() -> None:
    """From now on, what this process creates is its user's only."""
    os.umask(PRIVATE_UMASK)


def _sqlite_files(url: str) -> list[Path]:
    if not url.startswith("sqlite:///"):
        return []
    database = Path(url.removeprefix("sqlite:///"))
    return [database.with_name(database.name + suffix) for suffix in ("", "-wal", "-shm", "-journal")]


def private_paths(config: Config) -> list[Path]:
    """What the bridge keeps under ``var``: the stores, keys, payloads, GnuPG home, spool and
    quarantine. Nothing else there is walked: the partners' drop folders are the exchange with a
    partner, and a development ``var/`` also holds the services' own data (var/services)."""
    return [config.var, *_sqlite_files(config.store_url), *_sqlite_files(config.custody_url),
            *_sqlite_files(config.access_url), config.keys_dir,
            config.payloads_dir, config.custody_signing_key.parent, config.openpgp_home, config.spool_dir,
            config.var / "quarantine"]


def repair(config: Config) -> list[str]:
    """The bridge's folders to 0700 and files to 0600 (links and sockets untouched); one line per
    change, naming the path and the mode it had."""
    changed: list[str] = []

    def fix(path: Path) -> None:
        try:
            mode = path.lstat().st_mode
        except FileNotFoundError:
            return
        want = FOLDER_MODE if stat.S_ISDIR(mode) else FILE_MODE if stat.S_ISREG(mode) else None
        if want is not None and stat.S_IMODE(mode) != want:
            os.chmod(path, want, follow_symlinks=False)
            changed.append(f"{path} was {stat.S_IMODE(mode):04o}, now {want:04o}")

    var, *inside = private_paths(config)
    fix(var)  # the folder only: what else lives there is not all ours
    for top in inside:
        fix(top)
        if top.is_dir() and not top.is_symlink():
            for root, folders, files in os.walk(top):
                for name in (*folders, *files):
                    fix(Path(root) / name)
    return changed
