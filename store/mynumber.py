"""個人番号 protection in the core store: AES-256-GCM at rest plus a keyed blind index.

Stored form (``kojin_bango_enc``): ``key_id (1 byte) | nonce (12 bytes) | ciphertext+tag``.
The key id names the encryption key so that rotation can re-encrypt row by row and resume
(rows whose key id is already the new one are done). The associated data ``b"kojin-bango"``
keeps a blob encrypted for another purpose under the same key from passing as a 個人番号.

The blind index (``kojin_bango_index``) is HMAC-SHA256 over the number with a separate key, in
hex: equal numbers give equal indexes, so look-up and uniqueness work without decrypting, and
without the index key nobody can test guesses (12 digits with a check digit are only 10^11
candidates: a plain hash would be brute-forced in minutes).

Keys are passed in; the lead wires them from the keyring. Nothing here logs, and no exception
message carries the number.
"""

from __future__ import annotations

import hashlib
import hmac
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from store.identifiers import validate_kojin_bango

AAD = b"kojin-bango"
NONCE_SIZE = 12
_HEADER = 1 + NONCE_SIZE
_TAG = 16


class KojinBangoDecryptError(ValueError):
    """A stored 個人番号 could not be decrypted (wrong key, other key id, or altered data)."""


class MyNumberCipher:
    def __init__(self, enc_key: bytes, index_key: bytes, key_id: int = 1) -> None:
        if len(enc_key) != 32:
            raise ValueError(f"enc_key must be 32 bytes for AES-256 (got {len(enc_key)})")
        if len(index_key) < 32:
            raise ValueError(f"index_key must be at least 32 bytes (got {len(index_key)})")
        if hmac.compare_digest(enc_key, index_key):
            raise ValueError("enc_key and index_key must differ: one key, one purpose")
        if not 0 <= key_id <= 255:
            raise ValueError(f"key_id must fit in one byte (0..255), got {key_id}")
        self._aead = AESGCM(enc_key)
        self._index_key = bytes(index_key)
        self.key_id = key_id

    def __repr__(self) -> str:
        return f"MyNumberCipher(key_id={self.key_id})"

    def encrypt(self, number: str) -> bytes:
        """Validate (check digit) and encrypt; a fresh random nonce every call."""
        validate_kojin_bango(number)
        nonce = os.urandom(NONCE_SIZE)
        return bytes([self.key_id]) + nonce + self._aead.encrypt(nonce, number.encode("ascii"), AAD)

    def decrypt(self, blob: bytes) -> str:
        if len(blob) < _HEADER + _TAG:
            raise KojinBangoDecryptError(f"stored 個人番号 is too short ({len(blob)} bytes)")
        blob_key = blob[0]
        if blob_key != self.key_id:
            raise KojinBangoDecryptError(
                f"stored 個人番号 was encrypted under key id {blob_key}, this cipher holds key id "
                f"{self.key_id}"
            )
        try:
            plain = self._aead.decrypt(blob[1:_HEADER], blob[_HEADER:], AAD)
        except InvalidTag:
            raise KojinBangoDecryptError(
                f"stored 個人番号 failed authentication under key id {self.key_id} "
                "(wrong key or altered data)"
            ) from None
        return plain.decode("ascii")

    def blind_index(self, number: str) -> str:
        """HMAC-SHA256(index_key, number) in hex (64 chars); validates the check digit first."""
        validate_kojin_bango(number)
        return hmac.new(self._index_key, number.encode("ascii"), hashlib.sha256).hexdigest()

    def seal(self, number: str) -> tuple[bytes, str]:
        """Both stored columns at once: (kojin_bango_enc, kojin_bango_index)."""
        return self.encrypt(number), self.blind_index(number)

    def reencrypt(self, blob: bytes, new_cipher: MyNumberCipher) -> bytes:
        """Decrypt with this cipher's key and encrypt under ``new_cipher`` (key rotation).

        The blind index depends on the index key only, so it stays valid.
        """
        return new_cipher.encrypt(self.decrypt(blob))

    @staticmethod
    def key_id_of(blob: bytes) -> int:
        """Key id a stored blob was encrypted under (its first byte)."""
        if not blob:
            raise KojinBangoDecryptError("stored 個人番号 is empty")
        return blob[0]
