"""The ChukanClient a command uses: chukan.toml's [server] (URL, TLS files, timeout, attempts)."""

from __future__ import annotations

from adapters.chukan.client import ChukanClient
from settings.chukan import ChukanConfig


def client_for(chukan: ChukanConfig) -> ChukanClient:
    server = chukan.server
    return ChukanClient(server.url, ca_file=server.ca_file, cert_file=server.cert_file, key_file=server.key_file,
                        timeout=server.timeout, attempts=server.attempts)
