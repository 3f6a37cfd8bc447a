"""Shared pytest fixtures.

Sections: real services (RabbitMQ, sshd/SFTP, PostgreSQL). Add new sections below, each with a
header comment; keep fixtures that only one test module needs in that module.

Services start lazily: only a test that asks for ``rabbit``, ``sshd`` or ``postgres`` (directly or
through ``rabbit_url``/``pg_url``) starts one, once per session, and a service that cannot start
fails the test with the tail of its log; nothing is ever skipped. Isolation inside the shared
broker is by name: tests declare their own queues with ``unique_name`` rather than using vhosts.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

import settings as config_module
from adapters.chukan.client import ChukanClient
from fixtures.chukan.sim import ChukanSim, Pki, make_pki
from fixtures.services import PostgresServer, RabbitNode, SshdServer
from fixtures.services.sshd import SftpTree
from settings.chukan import ChukanConfig
from store import schema
from store.sessions import open_store

REPO = Path(__file__).resolve().parent.parent

# A whole kaigo-bridge installation per test (config, var, vhost, CLI and worker processes).
pytest_plugins = ["tests.harness"]



@pytest.fixture(autouse=True)
def _umask_kept() -> Iterator[None]:
    """A test that runs the CLI in this process (typer's CliRunner) gets the CLI's umask 077 for
    the rest of the session, and services started later (PostgreSQL, sshd: other users) could no
    longer enter what the session creates. Each test leaves the umask as it found it."""
    before = os.umask(0o022)
    os.umask(before)
    yield
    os.umask(before)


# --- real services ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def services_dir() -> Iterator[Path]:
    """A session directory the service users (rabbitmq, postgres) can enter.

    pytest's own temp root is mode 0700, which the services' own users cannot traverse.
    """
    path = Path(tempfile.mkdtemp(prefix="kaigo-services-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def rabbit(services_dir: Path) -> Iterator[RabbitNode]:
    """One RabbitMQ node for the session (management plugin on, see ``management_url``)."""
    node = RabbitNode(services_dir / "rabbit")
    try:
        node.start()
        yield node
    finally:
        node.stop()


@pytest.fixture(scope="session")
def rabbit_url(rabbit: RabbitNode) -> str:
    return rabbit.amqp_url


@pytest.fixture
def unique_name(request: pytest.FixtureRequest) -> Callable[[str], str]:
    """``unique_name("orders")`` -> ``"orders.<test name>.<8 hex>"``: queue/exchange names per test."""
    test = request.node.name.replace("[", ".").replace("]", "")[:80]

    def make(prefix: str) -> str:
        return f"{prefix}.{test}.{uuid.uuid4().hex[:8]}"

    return make


@pytest.fixture(scope="session")
def sshd(services_dir: Path) -> Iterator[SshdServer]:
    """An SFTP-only sshd; trees ``default``, ``vendor-a`` and ``vendor-b``, each on its own port."""
    server = SshdServer(services_dir / "sshd", trees=("default", "vendor-a", "vendor-b"))
    try:
        server.start()
        yield server
    finally:
        server.purge()


@pytest.fixture
def sftp_tree(sshd: SshdServer) -> Iterator[Callable[[str], SftpTree]]:
    """``sftp_tree("vendor-a")``: a tree of the session's sshd, emptied before and after the test."""
    used: list[SftpTree] = []

    def empty(tree: SftpTree) -> None:
        for path in [*tree.inbox.iterdir(), *tree.outbox.iterdir()]:
            path.unlink()

    def take(name: str) -> SftpTree:
        tree = sshd.tree(name)
        empty(tree)
        used.append(tree)
        return tree

    yield take
    for tree in used:
        empty(tree)


@pytest.fixture(scope="session")
def postgres(services_dir: Path) -> Iterator[PostgresServer]:
    # fsync off: a throwaway cluster; crash-durability is PostgreSQL's, not under test here.
    server = PostgresServer(services_dir / "postgres", fsync=False)
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg_url(postgres: PostgresServer) -> Iterator[str]:
    """SQLAlchemy URL of a fresh, empty database, dropped after the test."""
    name = f"t_{os.getpid()}_{uuid.uuid4().hex[:12]}"
    url = postgres.create_database(name)
    yield url
    postgres.drop_database(name)


@pytest.fixture
def pg_store(pg_url: str) -> Iterator[sessionmaker[Session]]:
    """A core store on a fresh PostgreSQL database, migrated to head, for one test."""
    schema.upgrade(pg_url)
    factory = open_store(pg_url)
    yield factory
    factory.kw["bind"].dispose()


# --- the core store ----------------------------------------------------------------------------


@pytest.fixture
def store(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    """An empty core store (SQLite, migrated to head) for one test."""
    url = f"sqlite:///{tmp_path / 'core.db'}"
    schema.upgrade(url)
    factory = open_store(url)
    yield factory
    factory.kw["bind"].dispose()


# --- the 中間サーバー simulator (issue 6) --------------------------------------------------------


@pytest.fixture(scope="session")
def chukan_pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """A test CA with server and client certificates (EC keys: made in milliseconds)."""
    return make_pki(tmp_path_factory.mktemp("chukan-pki"))


@pytest.fixture
def chukan_sim(chukan_pki: Pki) -> Iterator[ChukanSim]:
    """A fresh simulated 中間サーバー over TLS (client certificate required) for one test."""
    with ChukanSim(chukan_pki) as sim:
        yield sim
        sim.wait_idle(10.0)  # a slow answer still sleeping finishes before the port closes


@pytest.fixture
def chukan_client(chukan_sim: ChukanSim, chukan_pki: Pki) -> Iterator[ChukanClient]:
    """A ChukanClient to ``chukan_sim``: 1.0 s timeout, 3 attempts."""
    client = ChukanClient(chukan_sim.url, ca_file=chukan_pki.ca_cert, cert_file=chukan_pki.client_cert,
                          key_file=chukan_pki.client_key, timeout=1.0, attempts=3)
    yield client
    client.close()


@pytest.fixture(scope="module")
def shipped_chukan(tmp_path_factory: pytest.TempPathFactory) -> ChukanConfig:
    """chukan.toml and permissions.csv as shipped in config/, loaded (state folder: a temporary one)."""
    root = tmp_path_factory.mktemp("config")
    shutil.copytree(REPO / "config", root / "config")
    mp = pytest.MonkeyPatch()
    mp.setenv("KAIGO_VAR", str(root / "var"))
    try:
        return config_module.load(root / "config").chukan
    finally:
        mp.undo()

