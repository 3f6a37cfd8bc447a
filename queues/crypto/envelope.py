"""Envelope encryption of small blobs (message bodies) with AES-256-GCM.

Blob format, version 1 (all lengths in bytes)::

    1   version (0x01)
    1   key id length L
    L   key id (ASCII, kek-YYYYMMDD-xxxx)
    12  nonce used to wrap the data key
    48  data key wrapped by the KEK (32 + 16 tag), associated data = key id
    12  payload nonce
    n+16 payload ciphertext + tag, associated data = caller's aad (e.g. b"transfer-id|flow")

Each blob has its own random data key (DEK). Re-wrapping replaces only the key block, so the
payload ciphertext never has to be decrypted to rotate keys.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .errors import IntegrityError, UnknownKeyError
from .keyring import KEY_BYTES, KEY_ID_RE, Keyring

VERSION = 1
NONCE_BYTES = 12
TAG_BYTES = 16
WRAPPED_BYTES = KEY_BYTES + TAG_BYTES
_WRAP_AAD = b"kaigo-bridge dek v1|"
_SEAL_AAD = b"kaigo-bridge seal v1|"


@dataclass(frozen=True, slots=True)
class KeyBlock:
    """The wrapped data key as it sits in a header: which KEK, the wrap nonce and the wrapped key."""

    key_id: str
    nonce: bytes
    wrapped: bytes

    def encode(self) -> bytes:
        kid = self.key_id.encode("ascii")
        return bytes([len(kid)]) + kid + self.nonce + self.wrapped

    @classmethod
    def wrap(cls, keyring: Keyring, dek: bytes) -> KeyBlock:
        key_id = keyring.active_id
        nonce = os.urandom(NONCE_BYTES)
        wrapped = keyring.aead(key_id).encrypt(nonce, dek, _WRAP_AAD + key_id.encode("ascii"))
        return cls(key_id, nonce, wrapped)

    def unwrap(self, keyring: Keyring, what: str) -> bytes:
        try:
            aead = keyring.aead(self.key_id)
        except UnknownKeyError:
            raise IntegrityError(
                f"{what}: key id {self.key_id!r} is not in the keyring (key missing or header tampered)"
            ) from None
        try:
            return aead.decrypt(self.nonce, self.wrapped, _WRAP_AAD + self.key_id.encode("ascii"))
        except InvalidTag:
            raise IntegrityError(
                f"{what}: key unwrap failed under {self.key_id!r} (wrapped key, its nonce or key id changed)"
            ) from None


def parse_key_block(buf: bytes | memoryview, offset: int, what: str) -> tuple[KeyBlock, int]:
    """Read a key block at ``offset``; return it and the offset just after it."""
    if offset >= len(buf):
        raise IntegrityError(f"{what}: truncated header (no key id)")
    kid_len = buf[offset]
    end = offset + 1 + kid_len + NONCE_BYTES + WRAPPED_BYTES
    if end > len(buf):
        raise IntegrityError(f"{what}: truncated header (key block)")
    raw_id = bytes(buf[offset + 1 : offset + 1 + kid_len])
    try:
        key_id = raw_id.decode("ascii")
    except UnicodeDecodeError:
        key_id = ""
    if not KEY_ID_RE.fullmatch(key_id):
        raise IntegrityError(f"{what}: malformed key id in header")
    pos = offset + 1 + kid_len
    nonce = bytes(buf[pos : pos + NONCE_BYTES])
    wrapped = bytes(buf[pos + NONCE_BYTES : end])
    return KeyBlock(key_id, nonce, wrapped), end


def seal(keyring: Keyring, plaintext: bytes, aad: bytes) -> bytes:
    dek = AESGCM.generate_key(bit_length=256)
    block = KeyBlock.wrap(keyring, dek)
    nonce = os.urandom(NONCE_BYTES)
    ct = AESGCM(dek).encrypt(nonce, plaintext, _SEAL_AAD + aad)
    return bytes([VERSION]) + block.encode() + nonce + ct


def unseal(keyring: Keyring, blob: bytes, aad: bytes) -> bytes:
    block, pos = _parse(blob)
    dek = block.unwrap(keyring, "sealed blob")
    nonce = blob[pos : pos + NONCE_BYTES]
    try:
        return AESGCM(dek).decrypt(nonce, blob[pos + NONCE_BYTES :], _SEAL_AAD + aad)
    except InvalidTag:
        raise IntegrityError(
            "sealed blob: payload authentication failed (ciphertext, nonce, tag or associated data changed)"
        ) from None


def rewrap(keyring: Keyring, blob: bytes) -> bytes:
    """Re-wrap the blob's data key under the active KEK; the payload bytes are untouched.

    The old wrap is authenticated first. A blob already under the active key comes back unchanged.
    """
    block, pos = _parse(blob)
    dek = block.unwrap(keyring, "sealed blob")
    if block.key_id == keyring.active_id:
        return blob
    return bytes([VERSION]) + KeyBlock.wrap(keyring, dek).encode() + blob[pos:]


def key_id_of(blob: bytes) -> str:
    return _parse(blob)[0].key_id


def _parse(blob: bytes) -> tuple[KeyBlock, int]:
    if not blob:
        raise IntegrityError("sealed blob: empty")
    if blob[0] != VERSION:
        raise IntegrityError(f"sealed blob: unsupported format version {blob[0]}")
    block, pos = parse_key_block(blob, 1, "sealed blob")
    if len(blob) < pos + NONCE_BYTES + TAG_BYTES:
        raise IntegrityError("sealed blob: truncated (no room for nonce and tag)")
    return block, pos
