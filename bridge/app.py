"""Wiring: from a loaded Config to the stores, keys, broker connections and route appliers.

Everything is built on first use, so a command touches only what it needs (``custody verify``
never opens the broker; ``status`` never loads keys). The modules behind each piece are imported
where it is built, for the same reason at start-up: ``run print.hokenryo`` then loads neither
alembic, the SFTP client (paramiko) nor the handlers of every route (zeep …), about 0.3 s of
every command's start measured with ``python -X importtime``.
"""

from __future__ import annotations

import logging
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from settings import Config, ConfigError, FlowConfig, RouteConfig

if TYPE_CHECKING:
    from adapters.inbox import Inbox
    from adapters.pgp import Gpg
    from adapters.vendor.answers import AnswerReader
    from adapters.vendor.handover import VendorHandover
    from queues.apply import Applier
    from queues.crypto import Keyring
    from queues.custody import CustodyLog
    from queues.message import Message
    from queues.payloads import PayloadStore
    from queues.publisher import Publisher
    from queues.relay import Relay
    from store.models import Transfer
    from store.mynumber import MyNumberCipher

log = logging.getLogger(__name__)

MYNUMBER_ENC = "kojin-bango-enc"
MYNUMBER_INDEX = "kojin-bango-index"


class Bridge:
    def __init__(self, config: Config, actor: str = "kaigo-bridge") -> None:
        self.config = config
        self.actor = actor

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        from store.sessions import open_store

        return open_store(self.config.store_url)

    @cached_property
    def read_sessions(self) -> sessionmaker[Session]:
        """For long streamed reads that must not hold the store's write lock."""
        from store.engine import read_only

        return sessionmaker(bind=read_only(self.sessions.kw["bind"]), expire_on_commit=False)

    @cached_property
    def keyring(self) -> Keyring:
        from queues.crypto import Keyring

        return Keyring.load(self.config.keys_dir)

    @cached_property
    def mynumber(self) -> MyNumberCipher:
        from store.mynumber import MyNumberCipher

        return MyNumberCipher(self.keyring.secret(MYNUMBER_ENC), self.keyring.secret(MYNUMBER_INDEX))

    @cached_property
    def payloads(self) -> PayloadStore:
        from queues.payloads import PayloadStore

        return PayloadStore(self.config.payloads_dir, self.keyring)

    @cached_property
    def gpg(self) -> Gpg:
        """The ward's GnuPG home, with every configured partner key imported and pinned."""
        from adapters.pgp import Gpg

        gpg = Gpg(self.config.openpgp_home, self.config.openpgp_passphrase_env)
        for partner in self.config.partners.values():
            if partner.openpgp_key is not None:
                gpg.import_key(partner.openpgp_key.read_text(encoding="ascii"), partner.openpgp_fingerprint)
        return gpg

    @cached_property
    def ward_fingerprint(self) -> str:
        return ward_fingerprint_file(self.config).read_text(encoding="ascii").strip()

    @cached_property
    def vendor_handover(self) -> VendorHandover:
        from adapters.vendor.handover import VendorHandover

        return VendorHandover(self.gpg, self.ward_fingerprint, self.payloads, self.config.spool_dir, self.actor)

    @cached_property
    def answers(self) -> AnswerReader:
        from adapters.vendor.answers import AnswerReader
        from queues.quarantine import AnswerQuarantine

        return AnswerReader(self.sessions, self.gpg, AnswerQuarantine.of(self.config, self.payloads), self.actor,
                            self.close_handover, self.ward_fingerprint)

    def close_handover(self, transfer: Transfer) -> None:
        """The partner certified deletion: delete what the ward still holds (spool, payload)."""
        from queues import handover_log
        from queues.custody import CustodyEvent
        from queues.outbound import characters_ref

        spooled = self.vendor_handover.purge(transfer.id)
        payload = self.payloads.delete(transfer.payload_ref)
        self.payloads.delete(self.payloads.ref_for(characters_ref(transfer.id)))
        with self.sessions.begin() as s:
            handover_log.record(s, CustodyEvent(
                transfer_id=transfer.id, event="purged", actor=self.actor, partner=transfer.partner,
                detail=f"ward copies deleted: {spooled} spool file(s), payload {'deleted' if payload else 'absent'}",
                dedup_key=f"{transfer.id}:purged"))
        self.flush_custody()

    def receive(self, flow_name: str) -> list[tuple[str, str, bool]]:
        """Take the complete files waiting for an inbound flow: (file, transfer id, new?)."""
        from adapters.inbox import DropInbox, SftpInbox
        from adapters.sftp import SftpClient
        from adapters.sftp_connect import endpoint

        flow = self.config.flow(flow_name)
        partner = self.config.partners[flow.partner]
        if flow.direction != "in":
            raise ConfigError([f"flows.toml: flow.{flow_name}: not an inbound flow"])
        if partner.sftp is not None:
            with SftpClient(endpoint(partner)) as client:
                return self._receive(flow, SftpInbox(client, flow.folder, flow.max_bytes))
        assert partner.path is not None  # a dropdir partner has its path (config checks it)
        return self._receive(flow, DropInbox(partner.path / flow.folder, flow.max_bytes))

    def _receive(self, flow: FlowConfig, box: Inbox) -> list[tuple[str, str, bool]]:
        from queues import inbound
        from queues.partner_names import shown

        taken = []
        for name in box.ready(flow.done_marker, flow.settle_seconds):
            transfer_id, new = inbound.receive(self.sessions, self.keyring, self.payloads, flow, name,
                                               box.chunks(name), self.actor)
            self.flush_custody()
            box.remove(name, flow.done_marker)  # only once its receipt has committed
            taken.append((shown(name), transfer_id, new))  # the partner's name, never raw
        if taken:
            self.publish_pending()
        return taken

    def receive_round(self, flow_name: str) -> None:
        """A worker's round for one inbound flow (a duty of the supervisor, which catches and
        counts whatever it raises). The partner's file names stay out of the log."""
        for _name, transfer_id, new in self.receive(flow_name):
            log.info("received a file for %s: transfer %s%s", flow_name, transfer_id,
                     "" if new else " (already received)")

    def answers_round(self, partner_name: str) -> None:
        """A worker's round for one SFTP partner: read its answers (a duty of the supervisor)."""
        self.answers.poll(self.config.partners[partner_name])
        self.flush_custody()

    @cached_property
    def custody(self) -> CustodyLog:
        from queues.custody import CustodyLog

        return CustodyLog(self.config.custody_url, signing_key_path=self.config.custody_signing_key,
                          public_key_path=public_key_path(self.config.custody_signing_key))

    def publisher(self) -> Publisher:
        """A confirming publisher; on connecting it declares the topology (idempotent), so events
        can go out before any worker has started."""
        from queues import topology
        from queues.publisher import Publisher

        broker = self.config.broker
        routes = list(self.config.routes.values())
        return Publisher(broker.url(), broker.exchange, broker.heartbeat,
                         setup=lambda channel: topology.declare(channel, broker.exchange, routes))

    def relay(self) -> Relay:
        from queues.relay import Relay

        return Relay(self.sessions, self.publisher)

    def publish_pending(self) -> int:
        """Relay what is in the outbox now (a command's own events go out before it exits)."""
        relay = self.relay()
        try:
            return relay.drain()
        finally:
            relay.close()

    def flush_custody(self) -> int:
        from queues import handover_log

        return handover_log.flush(self.sessions, self.custody)

    def housekeep(self) -> None:
        """A worker's round: move custody entries left pending by a crash, sign a checkpoint."""
        from queues.tidy import tidy_files

        tidy_files(self)  # orphan temporary payloads, quarantined answers past retention
        self.flush_custody()
        self.custody.checkpoint(min_new=1)

    def record_operator_action(self, message: Message, event: str, operator: str, detail: str) -> None:
        """Custody entry for an operator acting on a message (replay, drop). A dropped message's
        transfer, if it was still on its way (queued out, received in), is ``dropped``: nothing
        will move it any more, and whatever waits for it (e.g. one 副本 refresh at a time) must
        not wait for ever."""
        from queues import handover_log
        from queues.custody import CustodyEvent
        from queues.dead import DROPPED
        from queues.inbound import RECEIVED
        from queues.outbound import QUEUED
        from store.models import Transfer

        with self.sessions.begin() as s:
            handover_log.record(s, CustodyEvent(transfer_id=message.transfer, event=event, actor=f"operator:{operator}",
                                                detail=f"{detail} (message {message.id})"))
            if event == "dropped":
                s.execute(update(Transfer).where(Transfer.id == message.transfer,
                                                 Transfer.state.in_((QUEUED, RECEIVED)))
                          .values(state=DROPPED, last_error=f"dead letter dropped by {operator}"[:500]))

    def rotate_keys(self) -> dict[str, object]:
        """A new key-encryption key becomes active; stored payloads and pending outbox bodies are
        re-wrapped under it. Old keys stay in the keyring: messages already in the broker were
        sealed under them and must still open."""
        from queues.crypto import rewrap
        from store.models import Outbox

        new_id = self.keyring.rotate()
        payloads = self.payloads.rewrap_all()
        with self.sessions.begin() as s:
            pending = s.scalars(select(Outbox).where(Outbox.status == "pending")).all()
            for row in pending:
                row.body = rewrap(self.keyring, row.body)
        return {"active_key": new_id, "payloads_rewrapped": payloads, "outbox_rewrapped": len(pending)}

    def applier(self, route: RouteConfig) -> Applier:
        from bridge.handlers import HANDLERS
        from queues.apply import Applier

        try:
            factory = HANDLERS[route.handler]
        except KeyError:
            raise ConfigError([f"routes.toml: route {route.name}: unknown handler {route.handler!r} "
                               f"(known: {', '.join(sorted(HANDLERS))})"]) from None
        handler = factory(self, route)
        return Applier(route.name, self.sessions, handler, self.actor, after_commit=self.flush_custody)


def public_key_path(signing_key: Path) -> Path:
    return signing_key.with_name(signing_key.name + ".pub")


def ward_fingerprint_file(config: Config) -> Path:
    return config.openpgp_home / "ward.fpr"


def check_keys(config: Config) -> None:
    """The key files named by the configuration load (present, private, well-formed), if created."""
    from queues.crypto import Keyring, KeyringError
    from queues.custody import SigningKeyError
    from queues.custody.signing import load_private_key

    problems = []
    if config.keys_dir.exists():
        try:
            Keyring.load(config.keys_dir)
        except (KeyringError, OSError) as exc:
            problems.append(f"bridge.toml: keys.dir: {exc}")
    if config.custody_signing_key.exists():
        try:
            load_private_key(config.custody_signing_key)
        except (SigningKeyError, OSError) as exc:
            problems.append(f"bridge.toml: custody.signing_key: {exc}")
    if problems:
        raise ConfigError(problems)


def init(config: Config) -> list[str]:
    """Create what a fresh installation needs; idempotent. Returns what was done."""
    from adapters.pgp import Gpg
    from queues.crypto import Keyring
    from queues.custody import CustodyLog
    from store import schema

    done: list[str] = []
    for folder in (config.var, config.payloads_dir):
        folder.mkdir(parents=True, exist_ok=True)
    if not (config.keys_dir / "ACTIVE").exists():
        Keyring.create(config.keys_dir, secret_names=(MYNUMBER_ENC, MYNUMBER_INDEX))
        done.append(f"created keyring in {config.keys_dir}")
    if not config.custody_signing_key.exists():
        config.custody_signing_key.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        CustodyLog.create_signing_key(config.custody_signing_key)
        done.append(f"created custody signing key {config.custody_signing_key}")
    for partner in config.partners.values():
        if partner.path is not None:
            partner.path.mkdir(parents=True, exist_ok=True)
    for flow in config.flows.values():  # where each inbound flow's files arrive in a drop folder
        partner_path = config.partners[flow.partner].path
        if flow.direction == "in" and partner_path is not None:
            (partner_path / flow.folder).mkdir(parents=True, exist_ok=True)
    if not ward_fingerprint_file(config).exists():
        with Gpg(config.openpgp_home, config.openpgp_passphrase_env) as gpg:
            fingerprint = gpg.generate_key("kaigo-bridge ward key", "kaigo-bridge@ward.invalid")
        ward_fingerprint_file(config).write_text(fingerprint + "\n", encoding="ascii")
        done.append(f"created the ward OpenPGP key {fingerprint}")
    schema.upgrade(config.store_url)
    done.append("core store schema at head")
    bridge = Bridge(config)
    bridge.custody.create_schema()
    done.append("custody log schema ready")
    access = CustodyLog(config.access_url)  # the access log's chain (bridge/staff/access_log.py)
    access.create_schema()
    access.dispose()
    done.append("access log schema ready")
    return done
