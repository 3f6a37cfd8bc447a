"""Temporary payload files: an orphan of a killed writer is swept once past the grace period, a
live writer's never; and the store's files are the owner's only whatever the umask."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import textwrap
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import text

from queues.crypto import Keyring
from queues.payloads import TMP_GRACE, PayloadStore
from store.engine import make_engine

REPO = Path(__file__).resolve().parents[2]
LATER = TMP_GRACE + timedelta(minutes=1)  # "now" past the grace period of a file written now


def temporaries(store: PayloadStore) -> list[Path]:
    return sorted(store.root.glob("??/.*.tmp"))


def killed_writer(keys: Path, root: Path) -> None:
    """A writer in another process, killed (SIGKILL) half-way through a payload."""
    script = textwrap.dedent(f"""
        from queues.crypto import Keyring
        from queues.payloads import PayloadStore
        store = PayloadStore({str(root)!r}, Keyring.load({str(keys)!r}), chunk_size=1024)
        writer = store.open_writer("killed-transfer", "print.hokenryo")
        writer.write(b"x" * 10_000)
        print("writing", flush=True)
        import time
        time.sleep(600)
    """)
    child = subprocess.Popen([sys.executable, "-c", script], cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "writing"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()


def test_an_orphan_is_swept_after_the_grace_period_and_a_live_writer_is_not(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    store = PayloadStore(tmp_path / "payloads", Keyring.create(keys), chunk_size=1024)
    killed_writer(keys, store.root)
    [orphan] = temporaries(store)
    live = store.open_writer("live-transfer", "print.hokenryo")
    live.write(b"y" * 5_000)
    assert len(temporaries(store)) == 2

    assert store.sweep_orphans() == []  # within the grace period: both kept
    assert len(temporaries(store)) == 2

    swept = store.sweep_orphans(now=time.time() + LATER.total_seconds())
    assert swept == [f"{orphan.parent.name}/{orphan.name}"]  # the killed writer's only
    assert not orphan.exists()
    info = live.close()  # the live writer was not disturbed
    assert b"".join(store.read(info.ref, "live-transfer", "print.hokenryo")) == b"y" * 5_000
    assert temporaries(store) == []
    assert store.sweep_orphans(now=time.time() + LATER.total_seconds()) == []


def test_an_old_temporary_file_held_by_a_live_writer_is_kept(tmp_path: Path) -> None:
    store = PayloadStore(tmp_path / "payloads", Keyring.create(tmp_path / "keys"))
    writer = store.open_writer("slow-transfer", "print.hokenryo")
    writer.write(b"z" * 100)
    [temp] = temporaries(store)
    old = time.time() - 2 * LATER.total_seconds()
    os.utime(temp, (old, old))  # a writer stalled past the grace period is still alive
    assert store.sweep_orphans() == []
    writer.close()
    assert temporaries(store) == []


def test_payloads_and_sqlite_files_are_the_owners_only_whatever_the_umask(tmp_path: Path) -> None:
    before = os.umask(0o022)  # what a process that did not restrict it has
    try:
        store = PayloadStore(tmp_path / "payloads", Keyring.create(tmp_path / "keys"))
        with store.open_writer("t-1", "print.hokenryo") as writer:
            writer.write(b"payload")
        engine = make_engine(f"sqlite:///{tmp_path}/store.db")
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE t (a INTEGER)"))
            conn.execute(text("INSERT INTO t VALUES (1)"))
        files = {p.name: stat.S_IMODE(p.stat().st_mode) for p in tmp_path.rglob("*") if p.is_file()}
        folders = {p.name: stat.S_IMODE(p.stat().st_mode) for p in tmp_path.rglob("*") if p.is_dir()}
        engine.dispose()
    finally:
        os.umask(before)
    assert {"store.db", "store.db-wal", "store.db-shm", "t-1.kbp"} <= set(files), files
    assert set(files.values()) == {0o600}, files
    assert set(folders.values()) == {0o700}, folders
