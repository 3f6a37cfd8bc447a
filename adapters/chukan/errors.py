"""What can go wrong talking to the 中間サーバー. Messages name the operation, the fault code or the
kind of failure, and the idempotency key — never a value sent or received."""

from __future__ import annotations


class ChukanError(Exception):
    """Base of every 中間サーバー error."""

    def __init__(self, message: str, *, operation: str) -> None:
        super().__init__(message)
        self.operation = operation


class ChukanFault(ChukanError):
    """The service answered with a SOAP Fault. Never retried: the same request would fail again."""

    def __init__(self, operation: str, code: str, *, key: str | None = None) -> None:
        super().__init__(f"中間サーバー {operation}: fault {code}" + (f" (key {key})" if key else ""),
                         operation=operation)
        self.code = code
        self.key = key


class ChukanUnavailable(ChukanError):
    """No answer after the short retries (transport error, timeout, HTTP 5xx). The caller's queue
    retries later with the SAME idempotency key, so the service recognises the resend."""

    def __init__(self, operation: str, reason: str, *, attempts: int, key: str) -> None:
        super().__init__(f"中間サーバー {operation}: unavailable after {attempts} attempt(s): {reason} "
                         f"(key {key})", operation=operation)
        self.reason = reason
        self.attempts = attempts
        self.key = key


class ChukanRequestInvalid(ChukanError, ValueError):
    """A request that does not fit chukan.xsd, refused before it is sent (names the element path
    and the schema rule, not the value)."""


class ChukanProtocolError(ChukanError):
    """An answer that is not what chukan.wsdl promises (not XML, wrong element)."""
