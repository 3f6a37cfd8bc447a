"""Claim-check store: large payloads encrypted at rest, streamed in chunks (memory stays flat).

File format, version 1::

    4   magic b"KBP1"
    4   chunk size (big-endian), plaintext bytes per full chunk
    8   nonce prefix (random)
    ..  key block (key id, wrap nonce, wrapped data key — see queues.crypto.envelope)
    then chunks: ciphertext + 16-byte tag; every chunk but the last holds exactly ``chunk size``
    bytes of plaintext; the last holds 0..chunk size and is marked final.

Chunk ``i`` uses nonce = prefix ‖ i (4 bytes) and associated data binding the immutable header
(magic, chunk size, prefix), the transfer id, the flow, ``i`` and the final flag. So truncation
(the new last chunk was not encrypted as final), reordering, and swapping chunks or files between
transfers all fail authentication. Re-wrapping rewrites the key block only.

A ref is ``<2 hex of sha256(transfer id)>/<transfer id>.kbp``: transfer ids only, no personal data.
One transfer has one payload; writing it again atomically replaces the old file.

A payload is written under ``.<transfer id>.<random>.tmp`` beside its final name and renamed when
whole. The writer holds an exclusive flock on that file while it writes, so a temporary file nobody
holds locked is one whose writer died (kill -9, power cut): ``sweep_orphans`` deletes those once
they are older than a grace period. Files and folders are the owner's only (0600, 0700).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import secrets
import stat
import struct
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from queues.crypto import IntegrityError, KeyBlock, Keyring, parse_key_block
from queues.files import fsync_dir

MAGIC = b"KBP1"
CHUNK_SIZE = 1 << 20
TAG = 16
PREFIX = 8
_FIXED = struct.Struct(">4sI8s")  # magic, chunk size, nonce prefix
_MAX_HEADER = _FIXED.size + 1 + 255 + 12 + 48
TRANSFER_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
REF_RE = re.compile(r"[0-9a-f]{2}/[A-Za-z0-9][A-Za-z0-9._-]{0,127}\.kbp")
# No payload write takes this long; a temporary file older than this and not locked is an orphan.
TMP_GRACE = timedelta(hours=6)


def _open_temp(path: Path) -> int:
    """Create ``path`` 0600 and hold an exclusive lock on it for as long as the fd is open."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # new file: nobody else can hold it
    return fd


@dataclass(frozen=True, slots=True)
class PayloadInfo:
    ref: str
    size: int
    sha256: str  # of the plaintext, hex
    key_id: str


def _chunk_aad(fixed: bytes, transfer_id: str, flow: str, index: int, final: bool) -> bytes:
    tid, fl = transfer_id.encode(), flow.encode()
    return b"".join(
        (
            fixed,
            struct.pack(">H", len(tid)),
            tid,
            struct.pack(">H", len(fl)),
            fl,
            struct.pack(">QB", index, final),
        )
    )


def _nonce(prefix: bytes, index: int) -> bytes:
    if index >= 1 << 32:
        raise ValueError("payload too large: more than 2**32 chunks")
    return prefix + struct.pack(">I", index)


class PayloadWriter:
    """Encrypts as it is written; ``close()`` publishes the file atomically and returns its info."""

    def __init__(self, store: PayloadStore, transfer_id: str, flow: str) -> None:
        self._store, self._transfer_id, self._flow = store, transfer_id, flow
        self.ref = store.ref_for(transfer_id)
        self._final_path = store.root / self.ref
        self._final_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._tmp = self._final_path.parent / f".{transfer_id}.{secrets.token_hex(6)}.tmp"
        self._file: BinaryIO | None = os.fdopen(_open_temp(self._tmp), "wb")
        dek = AESGCM.generate_key(bit_length=256)
        self._aead = AESGCM(dek)
        self._block = KeyBlock.wrap(store.keyring, dek)
        self._chunk = store.chunk_size
        self._fixed = _FIXED.pack(MAGIC, self._chunk, os.urandom(PREFIX))
        self._prefix = self._fixed[-PREFIX:]
        self._file.write(self._fixed + self._block.encode())
        self._pending = bytearray()
        self._index = 0
        self._size = 0
        self._sha = hashlib.sha256()
        self.info: PayloadInfo | None = None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self._file is None:
            raise ValueError(f"payload writer for {self.ref} is closed")
        view = memoryview(data).cast("B")
        self._sha.update(view)
        self._size += len(view)
        pos = 0
        # A full chunk is flushed only once more data follows it: the last chunk must be
        # encrypted as final, and we cannot know which one is last before close().
        while len(view) - pos > self._chunk - len(self._pending):
            need = self._chunk - len(self._pending)
            self._pending += view[pos : pos + need]
            pos += need
            self._emit(final=False)
        self._pending += view[pos:]

    def _emit(self, final: bool) -> None:
        assert self._file is not None
        aad = _chunk_aad(self._fixed, self._transfer_id, self._flow, self._index, final)
        self._file.write(self._aead.encrypt(_nonce(self._prefix, self._index), bytes(self._pending), aad))
        self._pending.clear()
        self._index += 1

    def close(self) -> PayloadInfo:
        if self.info is not None:
            return self.info
        if self._file is None:
            raise ValueError(f"payload writer for {self.ref} was aborted")
        try:
            self._emit(final=True)
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            self._file = None
            os.replace(self._tmp, self._final_path)
            fsync_dir(self._final_path.parent)
        except BaseException:
            self.abort()
            raise
        self.info = PayloadInfo(self.ref, self._size, self._sha.hexdigest(), self._block.key_id)
        return self.info

    def abort(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        self._tmp.unlink(missing_ok=True)

    def __enter__(self) -> PayloadWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


@dataclass(frozen=True, slots=True)
class _Header:
    fixed: bytes
    chunk_size: int
    prefix: bytes
    block: KeyBlock
    length: int


def _read_header(f: BinaryIO, ref: str) -> _Header:
    raw = f.read(_MAX_HEADER)
    what = f"payload {ref}"
    if len(raw) < _FIXED.size:
        raise IntegrityError(f"{what}: truncated header")
    magic, chunk_size, prefix = _FIXED.unpack_from(raw)
    if magic != MAGIC:
        raise IntegrityError(f"{what}: not a kaigo-bridge payload file (bad magic or version)")
    if not 0 < chunk_size <= 1 << 28:
        raise IntegrityError(f"{what}: implausible chunk size in header")
    block, end = parse_key_block(raw, _FIXED.size, what)
    return _Header(raw[: _FIXED.size], chunk_size, prefix, block, end)


class PayloadStore:
    def __init__(self, root: Path | str, keyring: Keyring, chunk_size: int = CHUNK_SIZE) -> None:
        self.root = Path(root)
        self.keyring = keyring
        self.chunk_size = chunk_size
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)

    @staticmethod
    def ref_for(transfer_id: str) -> str:
        if not TRANSFER_ID_RE.fullmatch(transfer_id):
            raise ValueError(f"transfer id {transfer_id!r} must match {TRANSFER_ID_RE.pattern}")
        shard = hashlib.sha256(transfer_id.encode()).hexdigest()[:2]
        return f"{shard}/{transfer_id}.kbp"

    def _path(self, ref: str) -> Path:
        if not REF_RE.fullmatch(ref):
            raise ValueError(f"payload ref {ref!r} is not of the form xx/<transfer id>.kbp")
        return self.root / ref

    def open_writer(self, transfer_id: str, flow: str) -> PayloadWriter:
        return PayloadWriter(self, transfer_id, flow)

    def exists(self, ref: str) -> bool:
        return self._path(ref).is_file()

    def key_id_of(self, ref: str) -> str:
        with open(self._path(ref), "rb") as f:
            return _read_header(f, ref).block.key_id

    def delete(self, ref: str) -> bool:
        try:
            self._path(ref).unlink()
        except FileNotFoundError:
            return False
        return True

    def read(self, ref: str, transfer_id: str, flow: str) -> Iterator[bytes]:
        """Decrypted chunks in order; every chunk is authenticated before it is yielded.

        The header is checked now (a missing file raises FileNotFoundError naming the ref);
        chunk failures raise IntegrityError during iteration.
        """
        f = open(self._path(ref), "rb")  # handed to the generator, closed there
        try:
            header = _read_header(f, ref)
            aead = AESGCM(header.block.unwrap(self.keyring, f"payload {ref}"))
        except BaseException:
            f.close()
            raise
        return self._chunks(f, header, aead, ref, transfer_id, flow)

    def _chunks(
        self, f: BinaryIO, h: _Header, aead: AESGCM, ref: str, transfer_id: str, flow: str
    ) -> Iterator[bytes]:
        with f:
            f.seek(h.length)
            record = h.chunk_size + TAG
            current = f.read(record)
            index = 0
            while True:
                following = f.read(record) if len(current) == record else b""
                final = not following
                aad = _chunk_aad(h.fixed, transfer_id, flow, index, final)
                try:
                    yield aead.decrypt(_nonce(h.prefix, index), current, aad)
                except InvalidTag:
                    raise IntegrityError(
                        f"payload {ref}: chunk {index} failed authentication "
                        "(changed, reordered, truncated, or read with the wrong transfer id/flow)"
                    ) from None
                if final:
                    return
                current, index = following, index + 1

    # ---- key rotation -------------------------------------------------------------------
    def rewrap(self, ref: str) -> bool:
        """Re-wrap one payload's data key under the active KEK. False if it already was."""
        path = self._path(ref)
        with open(path, "rb") as f:
            header = _read_header(f, ref)
            dek = header.block.unwrap(self.keyring, f"payload {ref}")
            if header.block.key_id == self.keyring.active_id:
                return False
            before = os.fstat(f.fileno())
            tmp = path.parent / f".{path.stem}.{secrets.token_hex(6)}.rewrap.tmp"
            with os.fdopen(_open_temp(tmp), "wb") as out:
                try:
                    out.write(header.fixed + KeyBlock.wrap(self.keyring, dek).encode())
                    f.seek(header.length)
                    while block := f.read(self.chunk_size):
                        out.write(block)
                    out.flush()
                    os.fsync(out.fileno())
                except BaseException:
                    tmp.unlink(missing_ok=True)
                    raise
            try:
                now = os.stat(path)
            except FileNotFoundError:
                now = None
            # Replaced or deleted while we copied: theirs is newer; never resurrect or overwrite it.
            if now is None or (now.st_ino, now.st_mtime_ns) != (before.st_ino, before.st_mtime_ns):
                tmp.unlink(missing_ok=True)
                return False
            os.replace(tmp, path)
        fsync_dir(path.parent)
        return True

    def sweep_orphans(self, grace: timedelta = TMP_GRACE, now: float | None = None) -> list[str]:
        """Delete temporary files left by writers that died: older than ``grace`` (by mtime, against
        ``now``, a POSIX time) and not locked by a live writer. Returns the names deleted."""
        cutoff = (time.time() if now is None else now) - grace.total_seconds()
        swept = []
        for path in sorted(self.root.glob("??/.*.tmp")):
            try:
                if path.lstat().st_mtime > cutoff or not stat.S_ISREG(path.lstat().st_mode):
                    continue
                fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
            except FileNotFoundError:
                continue  # renamed into place or removed meanwhile
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # its writer is alive
            else:
                path.unlink(missing_ok=True)  # under our lock: no writer can take it back
                swept.append(f"{path.parent.name}/{path.name}")
            finally:
                os.close(fd)
        return swept

    def rewrap_all(self) -> int:
        """Re-wrap every payload not under the active key; return how many were re-wrapped."""
        count = 0
        for path in sorted(self.root.glob("??/*.kbp")):
            ref = f"{path.parent.name}/{path.name}"
            if REF_RE.fullmatch(ref) and self.rewrap(ref):
                count += 1
        return count
