"""Writing change events to the outbox, as the core system does: each batch of 資格 changes and
their events in one transaction (``fixtures.activity.change_shikaku``), against raw sqlite3 inserting
rows of the same shape and size, the same number per transaction, with the store's pragmas."""

from __future__ import annotations

import os
import sqlite3
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from adapters.core.models import Outbox
from bridge import config as config_module
from bridge.app import Bridge
from fixtures.activity import change_shikaku

BATCH = 1000  # change_shikaku's default: events per transaction


def write_events(config_dir: str, events: int, seed: int = 11) -> dict[str, Any]:
    """Time ``change_shikaku`` writing ``events`` outbox rows; the population must be loaded."""
    bridge = Bridge(config_module.load(Path(config_dir)), actor="bench")
    started = time.perf_counter()
    ids = change_shikaku(bridge.sessions, bridge.keyring, events, seed=seed, batch=BATCH)
    finished = time.perf_counter()
    with bridge.sessions() as s:
        body_bytes = s.scalar(select(func.avg(func.length(Outbox.body))))
    return {"seconds": finished - started, "written": len(ids), "body_bytes": float(body_bytes or 0)}


def sqlite_baseline(path: str, events: int, body_bytes: int) -> dict[str, Any]:
    """Plain sqlite3, WAL, ``executemany`` of outbox-shaped rows with random bodies, BATCH per
    transaction: the floor under any ORM, encryption and business update."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("CREATE TABLE outbox (id TEXT PRIMARY KEY, route TEXT, kind TEXT, key TEXT, body BLOB, "
                 "created_at TEXT, status TEXT, attempts INTEGER)")
    conn.execute("CREATE INDEX outbox_status ON outbox (status, id)")
    started = time.perf_counter()
    written = 0
    while written < events:
        n = min(BATCH, events - written)
        now = time.strftime("%Y-%m-%d %H:%M:%S")
        rows = [(str(uuid.uuid4()), "core.changes", "shikaku.changed", f"{written + i:010d}",
                 os.urandom(body_bytes), now, "pending", 0) for i in range(n)]
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany("INSERT INTO outbox VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
        conn.execute("COMMIT")
        written += n
    finished = time.perf_counter()
    conn.close()
    return {"seconds": finished - started, "written": written}
