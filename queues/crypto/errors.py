"""Exceptions of the encryption layer.

Messages name files, key ids and the part that failed — never plaintext or key material.
"""

from __future__ import annotations


class IntegrityError(Exception):
    """A sealed blob or payload file failed authentication, or its header is malformed."""


class KeyringError(Exception):
    """The key directory or one of its files is missing, malformed or too widely readable."""


class UnknownKeyError(KeyError):
    """A key id (or named secret) that the keyring does not hold."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what

    def __str__(self) -> str:  # KeyError would repr() the message; keep it readable
        return self.what
