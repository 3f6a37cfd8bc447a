"""Ed25519 keys that sign custody checkpoints, and the exact bytes a checkpoint signature covers."""

from __future__ import annotations

import hashlib
import stat
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from queues.files import write_private


class SigningKeyError(Exception):
    """A signing or public key file is missing, malformed or too widely readable."""


def create_signing_key(path: Path | str) -> Path:
    """Write a new private key (PEM, mode 0600) at ``path`` and its public key at ``path.pub``."""
    path = Path(path)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    write_private(path, pem)
    pub_path = path.with_name(path.name + ".pub")
    pub_path.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return pub_path


def load_private_key(path: Path | str) -> Ed25519PrivateKey:
    path = Path(path)
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        raise SigningKeyError(f"custody signing key {path} does not exist") from None
    if mode & 0o077:
        raise SigningKeyError(f"custody signing key {path} has mode {mode:04o}; it must be 0600")
    data = path.read_bytes()
    try:
        key = (
            Ed25519PrivateKey.from_private_bytes(data)
            if len(data) == 32
            else serialization.load_pem_private_key(data, password=None)
        )
    except (ValueError, TypeError):
        raise SigningKeyError(f"custody signing key {path} is not a raw or PEM Ed25519 private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(f"custody signing key {path} is not an Ed25519 key")
    return key


def load_public_key(path: Path | str) -> Ed25519PublicKey:
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise SigningKeyError(f"custody public key {path} does not exist") from None
    try:
        key = (
            Ed25519PublicKey.from_public_bytes(data)
            if len(data) == 32
            else serialization.load_pem_public_key(data)
        )
    except (ValueError, TypeError):
        raise SigningKeyError(f"custody public key {path} is not a raw or PEM Ed25519 public key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise SigningKeyError(f"custody public key {path} is not an Ed25519 key")
    return key


def signer_id(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "ed25519:" + hashlib.sha256(raw).hexdigest()[:16]


def checkpoint_message(seq: int, hash_: str, at: str) -> bytes:
    return f"kaigo-bridge custody checkpoint v1\n{seq}\n{hash_}\n{at}".encode("ascii")
