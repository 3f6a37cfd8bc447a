"""Handler names (as used in routes.toml) and how each is built from the wiring."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from adapters.chukan.client import ChukanClient
from adapters.chukan.connect import client_for
from adapters.chukan.fukuhon_send import FukuhonHandler
from adapters.chukan.shokai_apply import ShokaiHandler
from adapters.core.journal import JournalHandler
from adapters.delivery import DeliverHandler
from adapters.load import LoadHandler
from adapters.vendor.handover import VendorHandover
from queues.apply import Handler
from queues.crypto import Keyring
from queues.payloads import PayloadStore
from settings import Config, RouteConfig


class Wiring(Protocol):
    """What a route handler is built from (bridge.app.Bridge is it; named here so this module
    does not import the module that imports it)."""

    config: Config
    actor: str

    @property
    def keyring(self) -> Keyring: ...

    @property
    def payloads(self) -> PayloadStore: ...

    @property
    def sessions(self) -> sessionmaker[Session]: ...

    @property
    def read_sessions(self) -> sessionmaker[Session]: ...

    @property
    def vendor_handover(self) -> VendorHandover: ...


def _journal(bridge: Wiring, _route: RouteConfig) -> Handler:
    return JournalHandler(bridge.keyring, bridge.actor)


def _deliver(bridge: Wiring, _route: RouteConfig) -> Handler:
    return DeliverHandler(bridge.config, bridge.keyring, bridge.payloads, bridge.actor, bridge.read_sessions,
                          lambda: bridge.vendor_handover)


def _load(bridge: Wiring, _route: RouteConfig) -> Handler:
    return LoadHandler(bridge.config, bridge.keyring, bridge.payloads, bridge.actor, bridge.read_sessions)


def _chukan_dbm(bridge: Wiring, _route: RouteConfig) -> Handler:
    client = None

    def connect() -> ChukanClient:  # on first use: a worker without 副本 work never opens TLS
        nonlocal client
        if client is None:
            client = client_for(bridge.config.chukan)
        return client

    return FukuhonHandler(bridge.keyring, bridge.payloads, bridge.actor, bridge.sessions, bridge.read_sessions,
                          connect)


def _chukan_shokai(bridge: Wiring, _route: RouteConfig) -> Handler:
    return ShokaiHandler(bridge.config.chukan, bridge.keyring, bridge.payloads, bridge.actor, bridge.sessions,
                         bridge.read_sessions)


HANDLERS: dict[str, Callable[[Wiring, RouteConfig], Handler]] = {
    "change-journal": _journal,
    "deliver": _deliver,
    "load": _load,
    "chukan-dbm": _chukan_dbm,
    "chukan-shokai": _chukan_shokai,
}
