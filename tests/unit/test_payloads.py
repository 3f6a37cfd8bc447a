"""Claim-check payload store: streamed chunked encryption, tamper detection, rotation."""

from __future__ import annotations

import hashlib
import os
import tracemalloc
from pathlib import Path

import pytest

from queues.crypto import IntegrityError, Keyring
from queues.payloads import PayloadStore

CHUNK = 1024
HEADER_FIXED = 16  # magic 4 + chunk size 4 + nonce prefix 8


@pytest.fixture
def ring(tmp_path: Path) -> Keyring:
    return Keyring.create(tmp_path / "keys")


@pytest.fixture
def store(tmp_path: Path, ring: Keyring) -> PayloadStore:
    return PayloadStore(tmp_path / "payloads", ring, chunk_size=CHUNK)


def _put(
    store: PayloadStore, transfer_id: str, data: bytes, flow: str = "vendor.print", piece: int = 333
) -> str:
    with store.open_writer(transfer_id, flow) as w:
        for i in range(0, len(data), piece):
            w.write(data[i : i + piece])
    assert w.info is not None
    return w.info.ref


def _get(store: PayloadStore, ref: str, transfer_id: str, flow: str = "vendor.print") -> bytes:
    return b"".join(store.read(ref, transfer_id, flow))


def _header_len(store: PayloadStore) -> int:
    return HEADER_FIXED + 1 + len(store.keyring.active_id) + 12 + 48


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 5 * CHUNK + 7])
def test_round_trip_sizes(store: PayloadStore, size: int) -> None:
    data = os.urandom(size)
    with store.open_writer("T-1", "vendor.print") as w:
        w.write(data[:10])
        w.write(data[10:])
    info = w.info
    assert info is not None
    assert (info.size, info.sha256, info.key_id) == (
        size,
        hashlib.sha256(data).hexdigest(),
        store.keyring.active_id,
    )
    assert info.ref.endswith("/T-1.kbp") and "/" in info.ref
    assert _get(store, info.ref, "T-1") == data
    chunks = list(store.read(info.ref, "T-1", "vendor.print"))
    assert all(len(c) == CHUNK for c in chunks[:-1]) and len(chunks[-1]) <= CHUNK
    on_disk = (store.root / info.ref).stat().st_size
    assert on_disk == _header_len(store) + size + 16 * max(1, -(-size // CHUNK))


def test_default_chunk_size_and_single_big_write(tmp_path: Path, ring: Keyring) -> None:
    store = PayloadStore(tmp_path / "big", ring)
    data = os.urandom(3 * (1 << 20) + 7)
    with store.open_writer("T-big", "kokuho.kyufu") as w:
        w.write(data)
    assert w.info is not None and w.info.sha256 == hashlib.sha256(data).hexdigest()
    assert [len(c) for c in store.read(w.info.ref, "T-big", "kokuho.kyufu")] == [1 << 20] * 3 + [7]


def test_memory_stays_flat(tmp_path: Path, ring: Keyring) -> None:
    store = PayloadStore(tmp_path / "flat", ring)
    piece = os.urandom(256 * 1024)
    tracemalloc.start()
    try:
        with store.open_writer("T-flat", "kokuho.kyufu") as w:
            for _ in range(128):  # 32 MiB
                w.write(piece)
        assert w.info is not None
        total = sum(len(c) for c in store.read(w.info.ref, "T-flat", "kokuho.kyufu"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total == 32 * (1 << 20)
    assert peak < 8 * (1 << 20)


def test_file_is_private_and_holds_no_plaintext(store: PayloadStore) -> None:
    data = b"\xe4\xbb\x8b\xe8\xad\xb7 123456789012 " * 100
    ref = _put(store, "T-2", data)
    path = store.root / ref
    assert path.stat().st_mode & 0o077 == 0
    assert b"123456789012" not in path.read_bytes()


def _tamper(path: Path, offset: int) -> None:
    raw = bytearray(path.read_bytes())
    raw[offset] ^= 0x01
    path.write_bytes(bytes(raw))


def test_flipped_byte_anywhere_is_detected(store: PayloadStore) -> None:
    data = os.urandom(3 * CHUNK + 100)
    ref = _put(store, "T-3", data)
    path = store.root / ref
    original = path.read_bytes()
    hl = _header_len(store)
    offsets = {
        "magic": 0,
        "chunk size": 5,
        "nonce prefix": 10,
        "key id length": HEADER_FIXED,
        "key id": HEADER_FIXED + 3,
        "wrap nonce": hl - 55,
        "wrapped key": hl - 20,
        "chunk 0": hl,
        "chunk 1 tag": hl + 2 * (CHUNK + 16) - 1,
        "last chunk": len(original) - 1,
    }
    for name, offset in offsets.items():
        path.write_bytes(original)
        _tamper(path, offset)
        with pytest.raises(IntegrityError):
            _get(store, ref, "T-3")
            pytest.fail(f"flipped byte in {name} went unnoticed")


@pytest.mark.parametrize("cut", ["last chunk", "mid chunk", "header only", "inside header"])
def test_truncation_is_detected(store: PayloadStore, cut: str) -> None:
    ref = _put(store, "T-4", os.urandom(3 * CHUNK + 10))
    path = store.root / ref
    raw = path.read_bytes()
    hl = _header_len(store)
    keep = {
        "last chunk": len(raw) - 26,
        "mid chunk": hl + CHUNK + 16 + 100,
        "header only": hl,
        "inside header": hl - 10,
    }[cut]
    path.write_bytes(raw[:keep])
    with pytest.raises(IntegrityError):
        _get(store, ref, "T-4")


def test_appended_chunk_is_detected(store: PayloadStore) -> None:
    ref = _put(store, "T-5", os.urandom(2 * CHUNK + 10))
    path = store.root / ref
    raw = path.read_bytes()
    hl = _header_len(store)
    path.write_bytes(raw + raw[hl : hl + CHUNK + 16])
    with pytest.raises(IntegrityError):
        _get(store, ref, "T-5")


def test_reordered_chunks_are_detected(store: PayloadStore) -> None:
    ref = _put(store, "T-6", os.urandom(4 * CHUNK + 10))
    path = store.root / ref
    raw = path.read_bytes()
    hl, rec = _header_len(store), CHUNK + 16
    c = [raw[hl + i * rec : hl + (i + 1) * rec] for i in range(4)]
    path.write_bytes(raw[:hl] + c[0] + c[2] + c[1] + c[3] + raw[hl + 4 * rec :])
    with pytest.raises(IntegrityError, match="chunk 1"):
        _get(store, ref, "T-6")


def test_chunk_swapped_in_from_another_payload_is_detected(store: PayloadStore) -> None:
    ref_a = _put(store, "T-A", os.urandom(3 * CHUNK))
    ref_b = _put(store, "T-B", os.urandom(3 * CHUNK))
    hl, rec = _header_len(store), CHUNK + 16
    raw_a = (store.root / ref_a).read_bytes()
    raw_b = (store.root / ref_b).read_bytes()
    (store.root / ref_a).write_bytes(
        raw_a[: hl + rec] + raw_b[hl + rec : hl + 2 * rec] + raw_a[hl + 2 * rec :]
    )
    with pytest.raises(IntegrityError, match="chunk 1"):
        _get(store, ref_a, "T-A")


def test_payload_of_transfer_a_read_as_b_fails(store: PayloadStore) -> None:
    ref_a = _put(store, "T-A", b"payload of A")
    ref_b = store.ref_for("T-B")
    (store.root / ref_b).parent.mkdir(parents=True, exist_ok=True)
    (store.root / ref_b).write_bytes((store.root / ref_a).read_bytes())
    with pytest.raises(IntegrityError, match="chunk 0"):
        _get(store, ref_b, "T-B")
    with pytest.raises(IntegrityError):
        _get(store, ref_a, "T-A", flow="other.flow")
    assert _get(store, ref_a, "T-A") == b"payload of A"


def test_rotate_and_rewrap_all_keeps_content(store: PayloadStore, ring: Keyring) -> None:
    contents = {f"T-{i}": os.urandom(i * 700) for i in range(4)}
    refs = {t: _put(store, t, d) for t, d in contents.items()}
    old_id = ring.active_id
    new_id = ring.rotate()
    assert all(_get(store, r, t) == contents[t] for t, r in refs.items())
    assert all(store.key_id_of(r) == old_id for r in refs.values())
    body_before = {t: (store.root / r).read_bytes()[_header_len(store) :] for t, r in refs.items()}
    assert store.rewrap_all() == 4
    assert store.rewrap_all() == 0
    for t, r in refs.items():
        assert store.key_id_of(r) == new_id
        assert _get(store, r, t) == contents[t]
        assert (store.root / r).read_bytes()[_header_len(store) :] == body_before[t]
    assert not list(store.root.rglob("*.tmp"))


def test_rewrap_one_and_read_with_reloaded_keyring(
    store: PayloadStore, ring: Keyring, tmp_path: Path
) -> None:
    ref = _put(store, "T-7", b"x" * 3000)
    ring.rotate()
    assert store.rewrap(ref) is True
    assert store.rewrap(ref) is False
    reloaded = PayloadStore(store.root, Keyring.load(tmp_path / "keys"), chunk_size=CHUNK)
    assert _get(reloaded, ref, "T-7") == b"x" * 3000


def test_writer_exception_leaves_no_file(store: PayloadStore) -> None:
    with pytest.raises(RuntimeError, match="builder failed"), store.open_writer("T-8", "vendor.print") as w:
        w.write(os.urandom(5 * CHUNK))
        raise RuntimeError("builder failed")
    assert not store.exists(w.ref)
    assert [p for p in store.root.rglob("*") if p.is_file()] == []


def test_rewrite_replaces_atomically(store: PayloadStore) -> None:
    ref = _put(store, "T-9", b"first")
    assert _put(store, "T-9", b"second") == ref
    assert _get(store, ref, "T-9") == b"second"


def test_exists_delete_and_bad_names(store: PayloadStore) -> None:
    ref = _put(store, "T-10", b"data")
    assert store.exists(ref)
    assert store.delete(ref) is True
    assert store.delete(ref) is False
    assert not store.exists(ref)
    with pytest.raises(FileNotFoundError):
        store.read(ref, "T-10", "vendor.print")
    for bad in ("../etc", "a/b", "", "x" * 200, "山田"):
        with pytest.raises(ValueError, match="transfer id"):
            store.open_writer(bad, "vendor.print")
    with pytest.raises(ValueError, match="payload ref"):
        store.exists("../../keys/ACTIVE")
