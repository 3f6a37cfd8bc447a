"""Connecting to a partner's SFTP server: pinned host keys, short blips retried.

- Host keys are pinned: only ``known_hosts`` (from config) is loaded, never the user's or the
  system's, and the missing-host-key policy is a ``RejectPolicy``. An unknown or changed key is a
  ``HostKeyError`` naming host:port and the offered key's SHA256 fingerprint; it is permanent and
  never retried (a changed key needs a person, not a retry).
- Short blips while connecting (refused/reset, banner timeout) are retried with tenacity for a
  few seconds; anything else at connection level is a ``TransientTransportError`` so that the
  caller's retry queue takes over. ``SftpError`` is for what retrying cannot fix (the errors and
  their mapping: adapters/sftp_errors.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import paramiko
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, stop_after_delay, wait_exponential

from adapters.sftp_errors import HostKeyError, SftpError, TransientTransportError, describe
from queues.errors import PermanentError

if TYPE_CHECKING:
    from settings import PartnerConfig

# AES-GCM first (AEAD: no HMAC per packet driven from Python): ~1.4x faster uploads here than
# paramiko's first choice, aes128-ctr; the rest of its list stays as fallback.
PREFERRED_CIPHERS = ("aes128-gcm@openssh.com", "aes256-gcm@openssh.com")
CONNECT_ATTEMPTS = 4
CONNECT_BUDGET_S = 8.0


@dataclass(frozen=True)
class SftpEndpoint:
    host: str
    port: int
    username: str
    key_file: Path
    known_hosts: Path
    root: str = "/"  # remote folder every remote path is relative to
    timeout: float = 30.0  # seconds: TCP connect, banner, auth, and each SFTP request

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


def endpoint(partner: PartnerConfig) -> SftpEndpoint:
    if partner.sftp is None:
        raise PermanentError(f"partner {partner.name} has no sftp channel")
    s = partner.require().sftp  # its settings are checked where they are used (ConfigError)
    assert s is not None
    return SftpEndpoint(host=s.host, port=s.port, username=s.user, key_file=s.key_file, known_hosts=s.known_hosts,
                        root=s.root or "/")


def connect(ep: SftpEndpoint) -> tuple[paramiko.SSHClient, paramiko.SFTPClient]:
    """An SSH connection and its SFTP session to ``ep``, short blips retried (see above)."""
    key = _load_key(ep)
    retrying = Retrying(retry=retry_if_exception_type(TransientTransportError), reraise=True,
                        stop=stop_after_attempt(CONNECT_ATTEMPTS) | stop_after_delay(CONNECT_BUDGET_S),
                        wait=wait_exponential(multiplier=0.25, max=2.0))
    for attempt in retrying:
        with attempt:
            return _connect_once(ep, key)
    raise AssertionError("unreachable: tenacity reraises the last error")


def _load_key(ep: SftpEndpoint) -> paramiko.PKey:
    try:
        return paramiko.PKey.from_path(ep.key_file)
    except (OSError, paramiko.SSHException, ValueError) as exc:
        raise SftpError(f"sftp {ep.address}: cannot load client key {ep.key_file}: "
                        f"{getattr(exc, 'strerror', None) or exc}") from None


def _connect_once(ep: SftpEndpoint, key: paramiko.PKey) -> tuple[paramiko.SSHClient, paramiko.SFTPClient]:
    ssh = paramiko.SSHClient()
    try:
        ssh.load_host_keys(str(ep.known_hosts))
    except OSError as exc:
        raise HostKeyError(f"sftp {ep.address}: cannot read known_hosts {ep.known_hosts}: "
                           f"{exc.strerror or exc}; refusing to connect") from None
    ssh.set_missing_host_key_policy(_RefuseUnknownHost(ep))  # raises HostKeyError, passed on as is
    try:
        try:
            ssh.connect(ep.host, ep.port, username=ep.username, pkey=key, timeout=ep.timeout,
                        banner_timeout=ep.timeout, auth_timeout=ep.timeout, channel_timeout=ep.timeout,
                        allow_agent=False, look_for_keys=False, transport_factory=_transport)
            sftp = ssh.open_sftp()
            sftp.get_channel().settimeout(ep.timeout)
        except BaseException:
            ssh.close()
            raise
    except paramiko.BadHostKeyException as exc:
        raise HostKeyError(
            f"sftp {ep.address}: host key changed: offered {exc.key.get_name()} {exc.key.fingerprint}, "
            f"pinned {exc.expected_key.get_name()} {exc.expected_key.fingerprint} in {ep.known_hosts}; "
            "refusing to connect") from None
    except paramiko.AuthenticationException:
        raise SftpError(f"sftp {ep.address}: user {ep.username!r} with key {ep.key_file} was refused") from None
    except (OSError, EOFError, paramiko.SSHException) as exc:
        raise TransientTransportError(f"sftp {ep.address}: cannot connect: {describe(exc)}") from exc
    return ssh, sftp


class _RefuseUnknownHost(paramiko.RejectPolicy):
    """RejectPolicy, with an error that says which host and which key was refused."""

    def __init__(self, endpoint: SftpEndpoint) -> None:
        self.endpoint = endpoint

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey) -> None:
        raise HostKeyError(
            f"sftp {self.endpoint.address}: host key {key.get_name()} {key.fingerprint} is not pinned in "
            f"{self.endpoint.known_hosts}; refusing to connect (pin it only after checking it with the partner)")


def _transport(sock: object, **kwargs: object) -> paramiko.Transport:
    transport = paramiko.Transport(sock, **kwargs)
    options = transport.get_security_options()
    options.ciphers = PREFERRED_CIPHERS + tuple(c for c in options.ciphers if c not in PREFERRED_CIPHERS)
    return transport
