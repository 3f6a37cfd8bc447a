"""The project-owned services are real and behave: RabbitMQ, OpenSSH sshd (SFTP), PostgreSQL."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import urllib.request
from base64 import b64decode, b64encode
from collections.abc import Callable, Iterator
from pathlib import Path

import paramiko
import pika
import pytest
from pika.adapters.blocking_connection import BlockingChannel
from pika.exceptions import ChannelClosedByBroker
from sqlalchemy import text

from fixtures.services import (
    PostgresServer,
    RabbitNode,
    ServiceError,
    SshdServer,
    listening_addresses,
)
from store.engine import make_engine

REPO = Path(__file__).resolve().parents[2]
QUORUM = {"x-queue-type": "quorum"}
PERSISTENT = pika.BasicProperties(delivery_mode=pika.DeliveryMode.Persistent, message_id="m-1")


def _channel(url: str) -> tuple[pika.BlockingConnection, BlockingChannel]:
    conn = pika.BlockingConnection(pika.URLParameters(url))
    channel = conn.channel()
    channel.confirm_delivery()
    return conn, channel


def _publish_one(url: str, queue: str, body: bytes) -> None:
    conn, channel = _channel(url)
    try:
        channel.queue_declare(queue, durable=True, arguments=QUORUM)
        # With confirms on, basic_publish raises unless the broker confirmed the message.
        channel.basic_publish("", queue, body, properties=PERSISTENT, mandatory=True)
    finally:
        conn.close()


def _get_one(url: str, queue: str) -> tuple[bytes, pika.BasicProperties]:
    conn, channel = _channel(url)
    try:
        method, props, body = channel.basic_get(queue, auto_ack=False)
        assert method is not None, f"queue {queue} is empty"
        channel.basic_ack(method.delivery_tag)
        return body, props
    finally:
        conn.close()


def _assert_loopback_only(pid: int | None, expected_ports: set[int]) -> None:
    assert pid is not None
    sockets = listening_addresses(pid)
    assert {port for _, port in sockets} >= expected_ports
    assert {addr for addr, _ in sockets} == {"127.0.0.1"}


# --- RabbitMQ -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def second_node(services_dir: Path) -> Iterator[RabbitNode]:
    """A node besides the session one, restarted and killed by the tests below."""
    node = RabbitNode(services_dir / "rabbit-second", management=False)
    try:
        node.start()
        yield node
    finally:
        node.stop()


def test_quorum_queue_publish_and_consume(rabbit: RabbitNode, unique_name: Callable[[str], str]) -> None:
    queue = unique_name("svc")
    _publish_one(rabbit.amqp_url, queue, "受給者 1".encode())

    body, props = _get_one(rabbit.amqp_url, queue)

    assert body.decode() == "受給者 1"
    assert props.message_id == "m-1"
    listed = rabbit.ctl("list_queues", "name", "type", "--no-table-headers").stdout.split()
    assert listed[listed.index(queue) + 1] == "quorum"


def test_rabbit_listens_on_loopback_only(rabbit: RabbitNode) -> None:
    _assert_loopback_only(rabbit.pid, {rabbit.amqp_port, rabbit.dist_port, rabbit.management_port})


def test_management_api_answers_on_loopback(rabbit: RabbitNode) -> None:
    request = urllib.request.Request(
        rabbit.management_url + "api/overview",
        headers={"Authorization": "Basic " + b64encode(b"guest:guest").decode()},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        overview = json.load(response)
    assert overview["node"] == rabbit.nodename


def test_two_nodes_run_side_by_side(
    rabbit: RabbitNode, second_node: RabbitNode, unique_name: Callable[[str], str]
) -> None:
    assert rabbit.nodename != second_node.nodename
    assert rabbit.amqp_port != second_node.amqp_port
    queue = unique_name("only-on-second")
    _publish_one(second_node.amqp_url, queue, b"second")

    conn, channel = _channel(rabbit.amqp_url)
    with pytest.raises(ChannelClosedByBroker) as err:
        channel.queue_declare(queue, passive=True)
    conn.close()

    assert err.value.reply_code == 404
    assert _get_one(second_node.amqp_url, queue)[0] == b"second"


def test_quorum_queue_messages_survive_restart_and_sigkill(
    rabbit: RabbitNode, second_node: RabbitNode, unique_name: Callable[[str], str]
) -> None:
    """A graceful restart keeps the queue and its message; so does a crash, for confirmed messages.

    The crash comes after the restart on purpose: RabbitMQ 3.10 records a new quorum queue's Raft
    member in a DETS table that reaches disk only on a clean stop or its periodic save, and a
    queue declared moments before a SIGKILL comes back leaderless. See ``RabbitNode.kill``.
    """
    queue = unique_name("durable")
    url_before = second_node.amqp_url
    _publish_one(second_node.amqp_url, queue, b"kept over a restart")

    second_node.restart()

    assert second_node.amqp_url == url_before
    body, props = _get_one(second_node.amqp_url, queue)
    assert body == b"kept over a restart"
    assert props.delivery_mode == pika.DeliveryMode.Persistent.value
    assert rabbit.is_running()  # stopping one node leaves the other alone

    _publish_one(second_node.amqp_url, queue, b"confirmed before the crash")
    second_node.kill()
    assert not second_node.is_running()
    second_node.start()

    assert _get_one(second_node.amqp_url, queue)[0] == b"confirmed before the crash"


def test_node_that_cannot_start_raises_with_its_log(services_dir: Path) -> None:
    node = RabbitNode(services_dir / "rabbit-bad", management=False, extra_config={"no_such_key": "1"})

    with pytest.raises(ServiceError) as err:
        node.start(timeout=60)

    assert "no_such_key" in str(err.value)
    assert not node.is_running()


def test_node_name_in_use_is_refused(rabbit: RabbitNode, services_dir: Path) -> None:
    clash = RabbitNode(services_dir / "rabbit-clash", name=rabbit.name, management=False)

    with pytest.raises(ServiceError, match="registered with epmd"):
        clash.start()


# --- sshd / SFTP ----------------------------------------------------------------------------


def _sftp_client(server: SshdServer, port: int, host_key_line: str) -> paramiko.SSHClient:
    client = paramiko.SSHClient()
    key_type, blob = host_key_line.split()[:2]
    pinned = paramiko.PKey.from_type_string(key_type, b64decode(blob))
    client.get_host_keys().add(f"[127.0.0.1]:{port}", key_type, pinned)
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    client.connect(
        "127.0.0.1",
        port=port,
        username=server.username,
        key_filename=str(server.client_key),
        look_for_keys=False,
        allow_agent=False,
        timeout=10,
    )
    return client


def test_paramiko_upload_and_download_with_pinned_host_key(sshd: SshdServer, tmp_path: Path) -> None:
    tree = sshd.tree("vendor-a")
    (tree.outbox / "receipt.csv").write_bytes("受領,1\r\n".encode("cp932"))
    local = tmp_path / "print.csv"
    local.write_bytes(b"x" * 100_000)

    client = _sftp_client(sshd, tree.port, sshd.host_key_public)
    try:
        sftp = client.open_sftp()
        sftp.put(str(local), "/inbox/print.csv")
        sftp.get("/outbox/receipt.csv", str(tmp_path / "receipt.csv"))
        top = sorted(sftp.listdir("/"))
    finally:
        client.close()

    assert (tree.inbox / "print.csv").read_bytes() == local.read_bytes()
    assert (tmp_path / "receipt.csv").read_bytes() == "受領,1\r\n".encode("cp932")
    assert top == ["inbox", "outbox"]


def test_vendor_trees_are_isolated(sshd: SshdServer) -> None:
    a, b = sshd.tree("vendor-a"), sshd.tree("vendor-b")
    (b.outbox / "only-b.txt").write_text("b")

    client = _sftp_client(sshd, a.port, sshd.host_key_public)
    try:
        sftp = client.open_sftp()
        assert "only-b.txt" not in sftp.listdir("/outbox")
        assert sorted(sftp.listdir("/..")) == ["inbox", "outbox"]  # chroot: / is the tree
        with pytest.raises(PermissionError):
            sftp.putfo(io.BytesIO(b"no"), "/at-root.txt")  # tree root is root-owned
    finally:
        client.close()


def test_wrong_or_unknown_host_key_is_refused(sshd: SshdServer, tmp_path: Path) -> None:
    other = tmp_path / "other_host_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    wrong = Path(str(other) + ".pub").read_text()

    with pytest.raises(paramiko.BadHostKeyException):
        _sftp_client(sshd, sshd.port, wrong)

    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    with pytest.raises(paramiko.SSHException, match="not found in known_hosts"):
        client.connect(
            "127.0.0.1",
            port=sshd.port,
            username=sshd.username,
            key_filename=str(sshd.client_key),
            look_for_keys=False,
            allow_agent=False,
        )
    client.close()


def test_openssh_sftp_batch_client(sshd: SshdServer, tmp_path: Path) -> None:
    tree = sshd.tree("default")
    (tmp_path / "up.txt").write_text("upload via sftp -b\n")
    (tree.outbox / "down.txt").write_text("download via sftp -b\n")
    batch = tmp_path / "batch"
    batch.write_text(
        f"put {tmp_path / 'up.txt'} /inbox/up.txt.part\n"
        "rename /inbox/up.txt.part /inbox/up.txt\n"
        f"get /outbox/down.txt {tmp_path / 'down.txt'}\n"
    )

    res = subprocess.run(
        [
            "sftp",
            "-b",
            str(batch),
            "-i",
            str(sshd.client_key),
            "-P",
            str(tree.port),
            "-o",
            f"UserKnownHostsFile={sshd.known_hosts}",
            "-o",
            "GlobalKnownHostsFile=/dev/null",
            "-o",
            "StrictHostKeyChecking=yes",
            "-o",
            "BatchMode=yes",
            "-o",
            "IdentitiesOnly=yes",
            f"{sshd.username}@127.0.0.1",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )

    assert res.returncode == 0, res.stderr
    assert (tree.inbox / "up.txt").read_text() == "upload via sftp -b\n"
    assert not (tree.inbox / "up.txt.part").exists()
    assert (tmp_path / "down.txt").read_text() == "download via sftp -b\n"


def test_sshd_kill_drops_open_sessions_and_start_recovers(sshd: SshdServer) -> None:
    _assert_loopback_only(sshd.pid, {t.port for t in sshd.trees.values()})
    client = _sftp_client(sshd, sshd.port, sshd.host_key_public)
    sftp = client.open_sftp()
    assert "inbox" in sftp.listdir("/")

    sshd.kill()
    with pytest.raises((OSError, EOFError, paramiko.SSHException)):
        sftp.listdir("/")
    client.close()
    assert not sshd.is_running()

    sshd.start()
    again = _sftp_client(sshd, sshd.port, sshd.host_key_public)
    assert "inbox" in again.open_sftp().listdir("/")
    again.close()


# --- PostgreSQL -----------------------------------------------------------------------------


def test_pg_url_is_a_fresh_database(pg_url: str, postgres: PostgresServer) -> None:
    _assert_loopback_only(postgres.pid, {postgres.port})
    engine = make_engine(pg_url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (id int PRIMARY KEY, name text)"))
        conn.execute(text("INSERT INTO t VALUES (1, '世田谷 太郎')"))
    with engine.connect() as conn:
        tables = conn.execute(text("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")).scalar()
        name = conn.execute(text("SELECT name FROM t")).scalar()
    engine.dispose()
    assert tables == 1
    assert name == "世田谷 太郎"


def test_create_database(postgres: PostgresServer) -> None:
    url = postgres.create_database("kaigo Test-db")  # quoted identifier, not string pasting
    try:
        engine = make_engine(url)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT current_database()")).scalar() == "kaigo Test-db"
        engine.dispose()
    finally:
        postgres.drop_database("kaigo Test-db")
    assert not postgres.database_exists("kaigo Test-db")


# --- the CLI that ./dev uses ---------------------------------------------------------------


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fixtures.services", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def test_cli_start_status_stop_from_separate_processes(services_dir: Path) -> None:
    where = str(services_dir / "cli-postgres")
    started = _cli("postgres", "start", "--dir", where)
    assert started.returncode == 0, started.stderr
    env = dict(line.removeprefix("export ").split("=", 1) for line in started.stdout.splitlines())
    assert (Path(where) / "env").read_text() == started.stdout

    running = _cli("postgres", "status", "--dir", where)
    engine = make_engine(env["KAIGO_PG_URL"])
    with engine.connect() as conn:
        assert conn.execute(text("SELECT current_database()")).scalar() == "kaigo"
    engine.dispose()
    stopped = _cli("postgres", "stop", "--dir", where)
    after = _cli("postgres", "status", "--dir", where)

    assert running.returncode == 0
    assert stopped.returncode == 0, stopped.stderr
    assert after.returncode == 3
    assert not PostgresServer(Path(where)).is_running()
