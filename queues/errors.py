"""How a handler says what went wrong, so the worker knows where the message goes next."""


class TransientError(Exception):
    """Worth retrying later (a partner or folder briefly unavailable): goes to a retry queue."""


class PermanentError(Exception):
    """Retrying cannot help (undecryptable body, broken payload): parked in ``.dead`` at once."""
