"""Custody log: appends, dedup, concurrency, checkpoints, and verification against raw-SQL tampering.

Every test takes ``custody_url``; tests/integration/test_custody_postgres.py runs the same tests on
PostgreSQL by overriding that fixture. Tampering is done with plain SQL, as an attacker would.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import Engine, text

from queues.custody import CustodyError, CustodyEvent, CustodyLog, CustodyTamperError, SigningKeyError
from store.engine import make_engine

ZEROS = "0" * 64
COLUMNS = ("at", "transfer_id", "event", "actor", "partner", "record_count", "sha256", "key_id", "basis",
           "detail", "dedup_key", "prev_hash", "hash")  # fmt: skip


@pytest.fixture
def custody_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'custody.db'}"


@pytest.fixture
def key_path(tmp_path: Path) -> Path:
    path = tmp_path / "custody-signing.pem"
    CustodyLog.create_signing_key(path)
    return path


@pytest.fixture
def log(custody_url: str, key_path: Path) -> Iterator[CustodyLog]:
    custody = CustodyLog(custody_url, signing_key_path=key_path)
    custody.create_schema()
    yield custody
    custody.dispose()


@pytest.fixture
def raw(log: CustodyLog) -> Iterator[Engine]:
    engine = make_engine(log.url)
    yield engine
    engine.dispose()


def _event(i: int, **kw: Any) -> CustodyEvent:
    fields: dict[str, Any] = {
        "transfer_id": f"T-{i % 3}",
        "event": "queued",
        "actor": "relay",
        "partner": "kokuho",
        "record_count": i,
        "sha256": hashlib.sha256(b"%d" % i).hexdigest(),
        "key_id": "kek-20250401-0a1b",
        "basis": "番号法第19条第8号",
        "detail": f"batch {i}",
    }
    return CustodyEvent(**(fields | kw))


def _fill(log: CustodyLog, n: int, start: int = 1) -> None:
    log.append([_event(i) for i in range(start, start + n)])


def _row(raw: Engine, seq: int) -> dict[str, Any]:
    with raw.begin() as conn:
        return dict(
            conn.execute(text("SELECT * FROM custody_entries WHERE seq = :s"), {"s": seq}).mappings().one()
        )


def _sql(raw: Engine, sql: str, **params: Any) -> None:
    with raw.begin() as conn:
        conn.execute(text(sql), params)


def _attacker_hash(row: dict[str, Any]) -> str:
    # Written from the documented format, independently of the code under test.
    fields = ("seq", "at", "transfer_id", "event", "actor", "partner", "record_count", "sha256", "key_id",
              "basis", "detail", "dedup_key", "prev_hash")  # fmt: skip
    doc = json.dumps({f: row[f] for f in fields}, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(b"kaigo-bridge custody entry v1\n" + doc.encode()).hexdigest()


# ---- appending and reading ------------------------------------------------------------------


def test_append_and_chain(log: CustodyLog, raw: Engine) -> None:
    assert log.append([]) == []
    assert log.append([_event(1, transfer_id="T-A", event="extracted")]) == [1]
    assert log.append([_event(2, transfer_id="T-B"), _event(3, transfer_id="T-A", event="sent")]) == [2, 3]
    assert log.append_one(_event(4, transfer_id="T-A", event="receipt", detail=None)) == 4
    chain = log.chain("T-A")
    assert [(e.seq, e.event) for e in chain] == [(1, "extracted"), (3, "sent"), (4, "receipt")]
    assert chain[0].prev_hash == ZEROS and chain[0].at.tzinfo is not None
    assert chain[0].basis == "番号法第19条第8号" and chain[0].record_count == 1
    assert log.chain("T-none") == []
    assert log.count_by_event() == {"extracted": 1, "queued": 1, "receipt": 1, "sent": 1}
    rows = [_row(raw, s) for s in (1, 2, 3, 4)]
    assert all(r["hash"] == _attacker_hash(r) for r in rows)
    assert [r["prev_hash"] for r in rows[1:]] == [r["hash"] for r in rows[:-1]]
    assert log.head() == (4, rows[-1]["hash"])
    report = log.verify()
    assert (report.ok, report.entries, report.first_bad_seq) == (True, 4, None)


def test_dedup_key_is_idempotent(log: CustodyLog) -> None:
    first = log.append([_event(1, dedup_key="msg-1"), _event(2, dedup_key="msg-2")])
    assert first == [1, 2]
    again = log.append(
        [_event(3, dedup_key="msg-2"), _event(4, dedup_key="msg-3"), _event(5, dedup_key="msg-3")]
    )
    assert again == [2, 3, 3]
    assert log.append([_event(9, dedup_key="msg-1")]) == [1]
    assert log.head()[0] == 3
    assert log.verify().ok


def test_event_validation_never_echoes_the_value() -> None:
    for detail in ("個人番号 123456789012 を含む", "1234-5678-9012", "１２３４５６７８９０１２"):
        with pytest.raises(ValueError, match="12-digit") as info:
            _event(1, detail=detail)
        assert "5678" not in str(info.value) and "５６７８" not in str(info.value)
    assert _event(1, detail="20250401123456 is 14 digits; 12345678901 is 11").detail
    for bad in ({"event": "Sent!"}, {"actor": ""}, {"record_count": -1}, {"sha256": "abc"},
                {"transfer_id": "T\n1"}, {"partner": "x" * 65}):  # fmt: skip
        with pytest.raises(ValueError, match="custody event: field " + next(iter(bad))):
            _event(1, **bad)


def test_a_refused_value_is_refused_every_time() -> None:
    # The check is remembered for values that passed (an actor, a detail repeat on thousands of
    # entries), never for one that was refused.
    for _ in range(3):
        with pytest.raises(ValueError, match="12-digit"):
            _event(1, detail="番号 123456789012")
        with pytest.raises(ValueError, match="field partner"):
            _event(1, partner="x" * 65)
        with pytest.raises(ValueError, match="field detail must be text"):
            _event(1, detail=["not", "text"])  # type: ignore[arg-type]
        assert _event(1, detail="applied -> change journal").detail == "applied -> change journal"


def test_schema_and_head_are_required(custody_url: str, key_path: Path, raw: Engine, log: CustodyLog) -> None:
    _fill(log, 3)
    _sql(raw, "DELETE FROM custody_head")
    with pytest.raises(CustodyError, match="custody_head row is missing"):
        log.append([_event(4)])


def _append_worker(url: str, name: str, count: int, seed: int, out: Any) -> None:
    log = CustodyLog(url)
    rng = random.Random(seed)
    seqs: list[int] = []
    done = 0
    while done < count:
        n = min(rng.randint(1, 40), count - done)
        batch = [
            CustodyEvent(
                transfer_id=f"{name}-{done + i}",
                event="queued",
                actor=name,
                record_count=done + i,
                dedup_key=f"{name}-{done + i}",
            )
            for i in range(n)
        ]
        seqs += log.append(batch)
        done += n
    log.dispose()
    out.put((name, seqs))


def test_concurrent_appenders_keep_seq_gap_free(log: CustodyLog) -> None:
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    procs = [ctx.Process(target=_append_worker, args=(log.url, f"w{i}", 2000, i, out)) for i in range(2)]
    for p in procs:
        p.start()
    signed = 0
    while any(p.is_alive() for p in procs):  # checkpoint while they append
        signed += log.checkpoint() is not None
    results = dict(out.get(timeout=120) for _ in procs)
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    all_seqs = results["w0"] + results["w1"]
    assert sorted(all_seqs) == list(range(1, 4001))
    assert all(r == sorted(r) for r in results.values())
    assert log.head()[0] == 4000
    assert [e.record_count for e in log.chain("w1-1999")] == [1999]
    log.checkpoint()
    report = log.verify(page=997)
    assert (report.ok, report.entries, report.first_bad_seq) == (True, 4000, None), report.reason
    assert report.checkpoints >= 1


# ---- checkpoints ----------------------------------------------------------------------------


def test_checkpoint_signs_head_once(log: CustodyLog, key_path: Path, custody_url: str) -> None:
    assert log.checkpoint() is None  # empty log
    _fill(log, 5)
    cp = log.checkpoint()
    assert cp is not None and (cp.seq, cp.hash) == log.head()
    assert log.checkpoint() is None
    _fill(log, 2, start=6)
    assert log.checkpoint(min_new=3) is None
    assert log.checkpoint() is not None
    assert log.last_checkpoint() is not None and log.last_checkpoint().seq == 7  # type: ignore[union-attr]
    verifier = CustodyLog(custody_url, public_key_path=Path(str(key_path) + ".pub"))
    report = verifier.verify()
    assert (report.ok, report.entries, report.checkpoints) == (True, 7, 2)
    with pytest.raises(CustodyError, match="no custody signing key"):
        verifier.checkpoint()
    with pytest.raises(CustodyError, match="public key"):
        CustodyLog(custody_url).verify()
    verifier.dispose()


def test_signing_key_must_be_private(tmp_path: Path, custody_url: str) -> None:
    path = tmp_path / "k.pem"
    CustodyLog.create_signing_key(path)
    assert path.stat().st_mode & 0o777 == 0o600
    os.chmod(path, 0o644)
    with pytest.raises(SigningKeyError, match=r"k\.pem has mode 0644"):
        CustodyLog(custody_url, signing_key_path=path)


# ---- verification against tampering ---------------------------------------------------------


def _bad(log: CustodyLog) -> tuple[bool, int | None, str]:
    report = log.verify(page=7)  # small pages: exercise page boundaries
    return report.ok, report.first_bad_seq, report.reason


def test_updated_field_is_detected(log: CustodyLog, raw: Engine) -> None:
    _fill(log, 30)
    log.checkpoint()
    _sql(raw, "UPDATE custody_entries SET record_count = 999 WHERE seq = 17")
    ok, seq, reason = _bad(log)
    assert (ok, seq) == (False, 17) and "edited" in reason


def test_deleted_middle_row_is_detected(log: CustodyLog, raw: Engine) -> None:
    _fill(log, 30)
    _sql(raw, "DELETE FROM custody_entries WHERE seq = 12")
    ok, seq, reason = _bad(log)
    assert (ok, seq) == (False, 12) and "missing" in reason
    with pytest.raises(CustodyTamperError):
        log.checkpoint()


def test_swapped_rows_are_detected(log: CustodyLog, raw: Engine) -> None:
    _fill(log, 30)
    a, b = _row(raw, 9), _row(raw, 21)
    sets = ", ".join(f"{c} = :{c}" for c in COLUMNS)
    _sql(raw, f"UPDATE custody_entries SET {sets} WHERE seq = 9", **{c: b[c] for c in COLUMNS})
    _sql(raw, f"UPDATE custody_entries SET {sets} WHERE seq = 21", **{c: a[c] for c in COLUMNS})
    ok, seq, _ = _bad(log)
    assert (ok, seq) == (False, 9)


def test_edited_head_row_is_detected(log: CustodyLog, raw: Engine) -> None:
    _fill(log, 30)
    _sql(raw, "UPDATE custody_head SET hash = :h", h="f" * 64)
    ok, seq, reason = _bad(log)
    assert (ok, seq) == (False, 30) and "custody_head" in reason
    with pytest.raises(CustodyTamperError):
        log.append([_event(31)])


def test_truncation_behind_checkpoint_is_detected(log: CustodyLog, raw: Engine) -> None:
    _fill(log, 30)
    log.checkpoint()
    _sql(raw, "DELETE FROM custody_entries WHERE seq > 25")
    ok, seq, _ = _bad(log)
    assert (ok, seq) == (False, 26)
    # a careful attacker also moves the head back to the new last entry: the checkpoint still tells
    _sql(raw, "UPDATE custody_head SET seq = 25, hash = :h", h=_row(raw, 25)["hash"])
    ok, seq, reason = _bad(log)
    assert (ok, seq) == (False, 26) and "truncation" in reason


def test_truncation_without_checkpoint_is_caught_by_head(log: CustodyLog, raw: Engine) -> None:
    _fill(log, 30)
    _sql(raw, "DELETE FROM custody_entries WHERE seq > 27")
    ok, seq, reason = _bad(log)
    assert (ok, seq) == (False, 28) and "custody_head" in reason


def _rewrite_from(raw: Engine, seq: int, last: int) -> None:
    """The attacker's full rewrite: edit entry ``seq`` and recompute every later hash and the head."""
    _sql(raw, "UPDATE custody_entries SET record_count = 0, detail = 'nothing here' WHERE seq = :s", s=seq)
    prev = _row(raw, seq - 1)["hash"]
    for s in range(seq, last + 1):
        row = _row(raw, s) | {"prev_hash": prev}
        prev = _attacker_hash(row)
        _sql(
            raw,
            "UPDATE custody_entries SET prev_hash = :p, hash = :h WHERE seq = :s",
            p=row["prev_hash"],
            h=prev,
            s=s,
        )
    _sql(raw, "UPDATE custody_head SET hash = :h", h=prev)


def test_rewrite_with_recomputed_hashes_is_caught_by_checkpoint(log: CustodyLog, raw: Engine) -> None:
    _fill(log, 10)
    log.checkpoint()
    _fill(log, 10, start=11)
    log.checkpoint()
    _fill(log, 5, start=21)
    _rewrite_from(raw, 15, 25)
    ok, seq, reason = _bad(log)
    assert (ok, seq) == (False, 11) and "checkpoint at seq 20" in reason


def test_rewrite_after_last_checkpoint_is_not_signed_over(log: CustodyLog, raw: Engine) -> None:
    _fill(log, 10)
    log.checkpoint()
    _fill(log, 10, start=11)
    _sql(raw, "UPDATE custody_entries SET actor = 'someone' WHERE seq = 14")
    with pytest.raises(CustodyTamperError) as info:
        log.checkpoint()
    assert info.value.first_bad_seq == 14


def test_forged_checkpoint_signature_is_detected(log: CustodyLog, raw: Engine) -> None:
    _fill(log, 10)
    log.checkpoint()
    _fill(log, 10, start=11)
    cp = log.checkpoint()
    assert cp is not None
    forged = bytes.fromhex(cp.signature)
    forged = bytes([forged[0] ^ 1]) + forged[1:]
    _sql(raw, "UPDATE custody_checkpoints SET signature = :s WHERE seq = 20", s=forged.hex())
    ok, seq, reason = _bad(log)
    assert (ok, seq) == (False, 20) and "signature does not verify" in reason


def test_rewrite_resigned_with_attacker_key_is_detected(log: CustodyLog, raw: Engine) -> None:
    _fill(log, 10)
    log.checkpoint()
    _fill(log, 10, start=11)
    log.checkpoint()
    _rewrite_from(raw, 5, 20)
    attacker = Ed25519PrivateKey.generate()
    for cp_seq in (10, 20):
        with raw.begin() as conn:
            at = conn.execute(
                text("SELECT at FROM custody_checkpoints WHERE seq = :s"), {"s": cp_seq}
            ).scalar_one()
        h = _row(raw, cp_seq)["hash"]
        sig = attacker.sign(f"kaigo-bridge custody checkpoint v1\n{cp_seq}\n{h}\n{at}".encode()).hex()
        _sql(
            raw,
            "UPDATE custody_checkpoints SET hash = :h, signature = :g WHERE seq = :s",
            h=h,
            g=sig,
            s=cp_seq,
        )
    ok, seq, reason = _bad(log)
    assert (ok, seq) == (False, 10) and "signature does not verify" in reason
