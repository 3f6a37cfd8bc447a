"""Writing change events to the outbox, as the core system does, against raw sqlite3 doing the
same: both, per batch of 1000 in one transaction committed inside the clock, UPDATE the chosen
資格 rows' ``updated_at`` and insert one outbox row per change with its body sealed by the same
keyring (the same rows: same 資格 chosen, same columns, same body sizes); ours goes through
``fixtures.activity.change_shikaku`` as the core system's writers do (a SQLAlchemy UPDATE in a
session, then ``announce_many``: the batch's sealed rows as plain tuples in one executemany),
raw sqlite3 through one UPDATE and one ``executemany`` on a copy of the same store taken before
ours wrote; they differ only in what SQLAlchemy and the event objects add."""

from __future__ import annotations

import random
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, make_url, select

import settings as config_module
from adapters.core.journal import ROUTE
from bridge.app import Bridge
from fixtures.activity import change_shikaku
from queues.crypto import Keyring
from queues.message import new_id, seal_body
from store.models import Outbox

BATCH = 1000  # change_shikaku's default: events per transaction
SEED = 11


def snapshot(store_url: str, copy: Path) -> None:
    """Copy the SQLite store (schema, indexes, the loaded population) for the baseline."""
    source, target = sqlite3.connect(make_url(store_url).database or ""), sqlite3.connect(copy)
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()


def write_events(config_dir: str, events: int, seed: int = SEED) -> dict[str, Any]:
    """Time ``change_shikaku`` writing ``events`` outbox rows; the population must be loaded."""
    bridge = Bridge(config_module.load(Path(config_dir)), actor="bench")
    started = time.perf_counter()
    ids = change_shikaku(bridge.sessions, bridge.keyring, events, seed=seed, batch=BATCH)
    finished = time.perf_counter()
    with bridge.sessions() as s:
        body_bytes = s.scalar(select(func.avg(func.length(Outbox.body))))
    return {"seconds": finished - started, "written": len(ids), "body_bytes": float(body_bytes or 0)}


def sqlite_baseline(config_dir: str, path: str, events: int, seed: int = SEED) -> dict[str, Any]:
    """Plain sqlite3 with the store's pragmas on the copy: the same 資格 chosen the same way, the
    same UPDATE, the same outbox rows (bodies sealed as ``announce`` seals them), BATCH per
    transaction."""
    keyring = Keyring.load(config_module.load(Path(config_dir)).keys_dir)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA wal_autocheckpoint=16384")
    conn.execute("PRAGMA foreign_keys=ON")
    started = time.perf_counter()
    keys = [k for (k,) in conn.execute("SELECT hihokensha_no FROM shikaku ORDER BY hihokensha_no")]
    rng = random.Random(seed)
    written = 0
    while written < events:
        n = min(BATCH, events - written)
        chosen = [keys[rng.randrange(len(keys))] for _ in range(n)]
        now = datetime.now(UTC)
        stamp = now.replace(tzinfo=None).isoformat(" ")  # how the store keeps a datetime
        rows = []
        for key in chosen:
            message_id = new_id()  # the same kind of id as ours (time-ordered)
            content = {"entity": "shikaku", "entity_key": key, "kind": "changed",
                       "occurred_at": datetime.now(UTC).isoformat()}
            rows.append((message_id, ROUTE, "shikaku.changed", key, seal_body(keyring, message_id, ROUTE, content),
                         stamp))
        unique = sorted(set(chosen))
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(f"UPDATE shikaku SET updated_at = ? WHERE hihokensha_no IN ({','.join('?' * len(unique))})",
                     [stamp, *unique])
        conn.executemany("INSERT INTO outbox (id, route, kind, key, transfer_id, body, created_at, status, attempts) "
                         "VALUES (?, ?, ?, ?, NULL, ?, ?, 'pending', 0)", rows)
        conn.execute("COMMIT")
        written += n
    finished = time.perf_counter()
    (count,) = conn.execute("SELECT count(*) FROM outbox").fetchone()
    conn.close()
    return {"seconds": finished - started, "written": int(count)}
