"""Key-encryption keys (KEKs) and named secrets kept as owner-only files in one directory.

Layout of the key directory (mode 0700)::

    kek-20250101-1a2b.key   32 raw bytes, mode 0600, one per KEK (never deleted by rotation)
    ACTIVE                  the id of the KEK that wraps new data keys
    <name>.secret           32 raw bytes, mode 0600, other secrets (e.g. the blind-index HMAC key)

Rotation adds a key and moves ACTIVE; old keys stay so every existing blob remains readable
until it is re-wrapped. A process that meets a key id it has not loaded yet (rotated by another
process) reads that key file on demand.
"""

from __future__ import annotations

import os
import re
import secrets
import stat
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from queues.files import fsync_dir, write_private

from .errors import KeyringError, UnknownKeyError

KEY_BYTES = 32
ACTIVE_FILE = "ACTIVE"
KEY_ID_RE = re.compile(r"kek-\d{8}-[0-9a-f]{4}")
SECRET_NAME_RE = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")


class Keyring:
    def __init__(self, directory: Path, active_id: str, keys: dict[str, bytes]) -> None:
        self.directory = directory
        self._active_id = active_id
        self._keys = dict(keys)
        self._aeads: dict[str, AESGCM] = {}

    # ---- construction -------------------------------------------------------------------
    @classmethod
    def create(cls, directory: Path | str, secret_names: tuple[str, ...] = ()) -> Keyring:
        """Make a new key directory holding one KEK (active) and the named secrets."""
        directory = Path(directory)
        if directory.exists() and any(directory.iterdir()):
            raise KeyringError(f"key directory {directory} already exists and is not empty")
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(directory, 0o700)  # mkdir's mode is filtered by the umask
        key_id = _new_key_id(directory)
        write_private(directory / f"{key_id}.key", os.urandom(KEY_BYTES))
        _write_active(directory, key_id)
        ring = cls.load(directory)
        for name in secret_names:
            ring.ensure_secret(name)
        return ring

    @classmethod
    def load(cls, directory: Path | str) -> Keyring:
        directory = Path(directory)
        if not directory.is_dir():
            raise KeyringError(f"key directory {directory} does not exist")
        active_path = directory / ACTIVE_FILE
        try:
            active_id = active_path.read_text(encoding="ascii").strip()
        except FileNotFoundError:
            raise KeyringError(f"{active_path} is missing: no active key id recorded") from None
        if not KEY_ID_RE.fullmatch(active_id):
            raise KeyringError(f"{active_path} does not hold a key id of the form kek-YYYYMMDD-xxxx")
        keys = {p.stem: _read_private(p) for p in sorted(directory.glob("*.key"))}
        for key_id in keys:
            if not KEY_ID_RE.fullmatch(key_id):
                raise KeyringError(f"{directory / (key_id + '.key')}: file name is not a key id")
        if active_id not in keys:
            raise KeyringError(f"{active_path} names {active_id}, but {active_id}.key is missing")
        return cls(directory, active_id, keys)

    # ---- KEKs ---------------------------------------------------------------------------
    @property
    def active_id(self) -> str:
        return self._active_id

    @property
    def key_ids(self) -> list[str]:
        return sorted(self._keys)

    def kek(self, key_id: str) -> bytes:
        key = self._keys.get(key_id)
        if key is None:
            key = self._load_late(key_id)
        return key

    def aead(self, key_id: str) -> AESGCM:
        """The AES-GCM cipher of one KEK, cached (wrap/unwrap happen once per blob)."""
        aead = self._aeads.get(key_id)
        if aead is None:
            aead = self._aeads[key_id] = AESGCM(self.kek(key_id))
        return aead

    def rotate(self) -> str:
        """Add a new KEK and make it active; return its id. Old keys are kept."""
        key_id = _new_key_id(self.directory)
        key = os.urandom(KEY_BYTES)
        write_private(self.directory / f"{key_id}.key", key)
        _write_active(self.directory, key_id)
        self._keys[key_id] = key
        self._active_id = key_id
        return key_id

    def _load_late(self, key_id: str) -> bytes:
        # Another process may have rotated since we loaded; the id is checked against the
        # pattern first so a tampered header cannot steer us to an arbitrary path.
        if KEY_ID_RE.fullmatch(key_id):
            path = self.directory / f"{key_id}.key"
            if path.exists():
                key = _read_private(path)
                self._keys[key_id] = key
                return key
        raise UnknownKeyError(f"key id {key_id!r} is not in the keyring at {self.directory}")

    # ---- named secrets ------------------------------------------------------------------
    def secret(self, name: str) -> bytes:
        path = self._secret_path(name)
        if not path.exists():
            raise UnknownKeyError(f"secret {name!r} does not exist in {self.directory}")
        return _read_private(path)

    def ensure_secret(self, name: str) -> bytes:
        path = self._secret_path(name)
        if not path.exists():
            try:
                write_private(path, os.urandom(KEY_BYTES))
            except FileExistsError:
                pass  # created meanwhile by another process: use theirs
        return _read_private(path)

    def _secret_path(self, name: str) -> Path:
        if not SECRET_NAME_RE.fullmatch(name):
            raise ValueError(f"secret name {name!r} must match {SECRET_NAME_RE.pattern}")
        return self.directory / f"{name}.secret"


def _new_key_id(directory: Path) -> str:
    day = datetime.now(UTC).strftime("%Y%m%d")
    while True:
        key_id = f"kek-{day}-{secrets.token_hex(2)}"
        if not (directory / f"{key_id}.key").exists():
            return key_id


def _read_private(path: Path) -> bytes:
    try:
        st = path.stat()
    except FileNotFoundError:
        raise KeyringError(f"{path} is missing") from None
    if stat.S_IMODE(st.st_mode) & 0o077:
        raise KeyringError(
            f"{path} has mode {stat.S_IMODE(st.st_mode):04o}; key files must be mode 0600 "
            "(not readable by group or others)"
        )
    data = path.read_bytes()
    if len(data) != KEY_BYTES:
        raise KeyringError(f"{path} holds {len(data)} bytes; a key must be exactly {KEY_BYTES}")
    return data




def _write_active(directory: Path, key_id: str) -> None:
    tmp = directory / f".{ACTIVE_FILE}.{secrets.token_hex(4)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, key_id.encode("ascii") + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, directory / ACTIVE_FILE)
    fsync_dir(directory)
