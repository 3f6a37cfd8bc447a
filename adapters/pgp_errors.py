"""What gpg could not do, as errors that never carry plaintext (adapters/pgp.py)."""

from __future__ import annotations

from queues.errors import PermanentError


class PgpError(PermanentError):
    """gpg could not do what was asked (missing key, unusable key, undecryptable data)."""


class SignatureError(PgpError):
    """A signature is not good or not by the expected key. ``reason`` is one of: bad, unknown-key,
    wrong-signer, expired, revoked, missing, error."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
