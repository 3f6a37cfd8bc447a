"""adapters.sftp against the real OpenSSH sshd of the session (tree ``vendor-a``): round trips,
pinned host keys, a server killed mid-upload, size-stable listings. What the server holds is
checked on its own file system (the tree under /srv/kaigo-sftp), not through the client."""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from adapters.sftp import SftpClient
from adapters.sftp_connect import SftpEndpoint
from adapters.sftp_errors import HostKeyError, RemoteNotFoundError, SftpError, TransientTransportError
from fixtures.services import SshdServer, free_port
from fixtures.services.sshd import SftpTree
from queues.errors import PermanentError, TransientError

MIB = 1 << 20
TREE = "vendor-a"


def endpoint(sshd: SshdServer, known_hosts: Path | None = None, port: int | None = None) -> SftpEndpoint:
    return SftpEndpoint(host="127.0.0.1", port=port or sshd.tree(TREE).port, username=sshd.username,
                        key_file=sshd.client_key, known_hosts=known_hosts or sshd.known_hosts, root="/", timeout=10)


def server_fingerprint(sshd: SshdServer) -> str:
    """SHA256:… of the server's host key, as ssh-keygen -l prints it."""
    blob = base64.b64decode(sshd.host_key_public.split()[1])
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def tree(sshd: SshdServer) -> SftpTree:
    return sshd.tree(TREE)


@pytest.fixture
def name(sshd: SshdServer) -> Iterator[str]:
    """A file name of this test's own in the shared tree; whatever it left is removed after."""
    value = f"t-{uuid.uuid4().hex[:12]}.csv.gpg"
    yield value
    tree = sshd.tree(TREE)
    for folder in (tree.inbox, tree.outbox):
        for path in folder.glob(f"*{value}*"):
            path.unlink()


# --- round trips ----------------------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 1, 5 * MIB + 3])
@pytest.mark.parametrize("source", ["file", "chunks"])
def test_upload_download_round_trip(sshd: SshdServer, tree: SftpTree, name: str, tmp_path: Path,
                                    size: int, source: str) -> None:
    data = os.urandom(size)
    local = tmp_path / "src.bin"
    local.write_bytes(data)
    want = hashlib.sha256(data).hexdigest()
    with SftpClient(endpoint(sshd)) as sftp:
        if source == "file":
            sftp.upload(local, f"inbox/{name}", size, expected_sha256=want)
        else:  # small uneven chunks, as a renderer yields rows
            sftp.upload((data[i:i + 999] for i in range(0, size, 999)), f"inbox/{name}", size)
        assert sha256_file(tree.inbox / name) == want
        assert not (tree.inbox / f".{name}.part").exists()
        assert sftp.stat(f"inbox/{name}").size == size

        back = tmp_path / "back" / name
        back.parent.mkdir()
        assert sftp.download(f"inbox/{name}", back) == size
    assert sha256_file(back) == want
    assert back.stat().st_mode & 0o777 == 0o600
    assert os.listdir(back.parent) == [name]


def test_second_upload_of_a_name_replaces_it_whole(sshd: SshdServer, tree: SftpTree, name: str) -> None:
    with SftpClient(endpoint(sshd)) as sftp:
        sftp.upload(iter([b"first version"]), f"inbox/{name}", 13)
        sftp.upload(iter([b"second"]), f"inbox/{name}", 6)
    assert (tree.inbox / name).read_bytes() == b"second"


def test_small_files_exists_read_bytes_remove(sshd: SshdServer, tree: SftpTree, name: str) -> None:
    receipt = '{"transfer_id": "t-1", "受領": true}'.encode()
    (tree.outbox / name).write_bytes(receipt)
    with SftpClient(endpoint(sshd)) as sftp:
        assert sftp.exists(f"outbox/{name}")
        assert sftp.read_bytes(f"outbox/{name}", max_bytes=1024) == receipt
        with pytest.raises(SftpError, match="more than the 10 allowed"):
            sftp.read_bytes(f"outbox/{name}", max_bytes=10)
        assert name in [f.name for f in sftp.listdir_attr("outbox")]
        sftp.remove(f"outbox/{name}")
        assert not (tree.outbox / name).exists()
        assert not sftp.exists(f"outbox/{name}")
        with pytest.raises(RemoteNotFoundError, match=f"outbox/{name}: no such file"):
            sftp.read_bytes(f"outbox/{name}", max_bytes=1024)
        with pytest.raises(ValueError, match="relative"):
            sftp.stat("../etc/passwd")
        with pytest.raises(ValueError, match="reserved"):
            sftp.upload(iter([b"x"]), "inbox/.hidden", 1)


def test_upload_that_does_not_match_the_transfer_is_not_renamed(sshd: SshdServer, tree: SftpTree, name: str) -> None:
    with SftpClient(endpoint(sshd)) as sftp:
        with pytest.raises(SftpError, match="gave 5 bytes, expected 6"):
            sftp.upload(iter([b"12345"]), f"inbox/{name}", 6)
        with pytest.raises(SftpError, match="more than the 4 bytes"):
            sftp.upload(iter([b"123", b"45"]), f"inbox/{name}", 4)
        with pytest.raises(SftpError, match="SHA-256"):
            sftp.upload(iter([b"12345"]), f"inbox/{name}", 5, expected_sha256="0" * 64)
        with pytest.raises(RemoteNotFoundError):
            sftp.upload(iter([b"12345"]), f"no-such-folder/{name}", 5)
    assert not (tree.inbox / name).exists()
    assert not (tree.inbox / f".{name}.part").exists()  # removed on failure


def test_errors_of_the_source_reach_the_caller_unchanged(sshd: SshdServer, tree: SftpTree, name: str,
                                                          tmp_path: Path) -> None:
    def payload() -> Iterator[bytes]:
        yield b"x" * 1000
        raise OSError(5, "payload store unreadable")

    with SftpClient(endpoint(sshd)) as sftp:
        with pytest.raises(OSError, match="payload store unreadable") as caught:
            sftp.upload(payload(), f"inbox/{name}", 2000)
        assert not isinstance(caught.value, TransientTransportError | SftpError)  # not blamed on the server
        with pytest.raises(FileNotFoundError) as missing:
            sftp.upload(tmp_path / "no-such-file", f"inbox/{name}", 1)
        assert str(tmp_path) in str(missing.value)  # the local file, not a remote one
        assert {f.name for f in sftp.listdir_attr("")} == {"inbox", "outbox"}  # the connection still works
    assert not (tree.inbox / name).exists() and not (tree.inbox / f".{name}.part").exists()


# --- host keys ------------------------------------------------------------------------------


def _log_connections(sshd: SshdServer, port: int) -> int:
    return sshd.log_file.read_text(errors="replace").count(f"on 127.0.0.1 port {port}")


def test_pinned_host_key_is_accepted(sshd: SshdServer) -> None:
    lines = sshd.known_hosts.read_text().splitlines()
    assert f"[127.0.0.1]:{sshd.tree(TREE).port} {sshd.host_key_public}" in lines
    with SftpClient(endpoint(sshd)) as sftp:
        assert {f.name for f in sftp.listdir_attr("")} == {"inbox", "outbox"}


def test_changed_host_key_is_refused_once_and_nothing_is_sent(sshd: SshdServer, tree: SftpTree, name: str,
                                                              tmp_path: Path) -> None:
    other = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.OpenSSH, PublicFormat.OpenSSH).decode()
    known = tmp_path / "known_hosts"
    known.write_text(f"[127.0.0.1]:{tree.port} {other}\n")
    before = _log_connections(sshd, tree.port)
    client = SftpClient(endpoint(sshd, known_hosts=known))
    with pytest.raises(HostKeyError) as caught:
        with client as sftp:
            sftp.upload(iter([b"never"]), f"inbox/{name}", 5)
    message = str(caught.value)
    assert f"127.0.0.1:{tree.port}" in message and "changed" in message
    assert server_fingerprint(sshd) in message
    assert isinstance(caught.value, PermanentError) and not isinstance(caught.value, TransientError)
    assert not (tree.inbox / name).exists() and not (tree.inbox / f".{name}.part").exists()
    assert known.read_text() == f"[127.0.0.1]:{tree.port} {other}\n"  # nothing learnt
    deadline = time.monotonic() + 5  # sshd logs the connection as it accepts it; give the line time to land
    while _log_connections(sshd, tree.port) == before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _log_connections(sshd, tree.port) == before + 1  # one attempt: never retried


@pytest.mark.parametrize("known_hosts", ["empty", "missing"])
def test_unknown_host_is_refused(sshd: SshdServer, tree: SftpTree, tmp_path: Path, known_hosts: str) -> None:
    known = tmp_path / "known_hosts"
    if known_hosts == "empty":
        known.write_text("")
    with pytest.raises(HostKeyError) as caught:
        with SftpClient(endpoint(sshd, known_hosts=known)):
            pass
    message = str(caught.value)
    assert f"127.0.0.1:{tree.port}" in message
    if known_hosts == "empty":
        assert "not pinned" in message and server_fingerprint(sshd) in message
        assert known.read_text() == ""
    else:
        assert "cannot read known_hosts" in message


def test_nothing_listening_is_transient(sshd: SshdServer) -> None:
    with pytest.raises(TransientTransportError, match="cannot connect"):
        with SftpClient(endpoint(sshd, port=free_port())):
            pass


# --- the server dies mid-upload ---------------------------------------------------------------


def test_server_killed_mid_upload_leaves_no_final_file_and_a_retry_succeeds(
        sshd: SshdServer, name: str) -> None:
    total = 200 * MIB
    block = os.urandom(MIB)
    sending = threading.Event()
    killed = threading.Event()

    def chunks() -> Iterator[bytes]:
        for i in range(total // MIB):
            if i == 8:  # hold here until the server is dead: the upload is surely mid-way
                sending.set()
                killed.wait(60)
            yield block

    errors: list[BaseException] = []

    def upload() -> None:
        try:
            with SftpClient(endpoint(sshd)) as sftp:
                sftp.upload(chunks(), f"inbox/{name}", total)
        except BaseException as exc:
            errors.append(exc)

    part = sshd.tree(TREE).inbox / f".{name}.part"
    worker = threading.Thread(target=upload)
    worker.start()
    try:
        assert sending.wait(60)
        deadline = time.monotonic() + 30
        while not (part.exists() and part.stat().st_size > 0) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert part.exists() and part.stat().st_size > 0  # bytes were on the server
        sshd.kill()
        killed.set()
        worker.join(60)
        assert not worker.is_alive()
    finally:
        killed.set()
        if not sshd.is_running():
            sshd.start()
    assert len(errors) == 1 and isinstance(errors[0], TransientTransportError), errors
    tree = sshd.tree(TREE)  # the restarted server may listen on another port
    assert not (tree.inbox / name).exists()

    expected = hashlib.sha256()
    for _ in range(total // MIB):
        expected.update(block)
    with SftpClient(endpoint(sshd)) as sftp:
        sftp.upload((block for _ in range(total // MIB)), f"inbox/{name}", total)
    assert (tree.inbox / name).stat().st_size == total
    assert sha256_file(tree.inbox / name) == expected.hexdigest()
    assert not (tree.inbox / f".{name}.part").exists()


# --- size-stable listing --------------------------------------------------------------------


def test_stable_listing_skips_growing_files_temp_names_and_folders(sshd: SshdServer, tree: SftpTree) -> None:
    folder = f"stable-{uuid.uuid4().hex[:8]}"
    local = tree.outbox / folder
    local.mkdir(mode=0o755)
    local.chmod(0o755)
    try:
        (local / "t-1.receipt.json").write_text("{}")
        (local / "t-1.receipt.json.asc").write_text("sig")
        (local / ".t-2.receipt.json.part").write_text("uploading")
        (local / "t-3.returns.csv.part").write_text("uploading")
        (local / "sub").mkdir()
        growing = local / "t-4.returns.csv"
        growing.write_text("notice_no,atena_no,reason_code,returned_on\n")
        stop = threading.Event()

        def grow() -> None:  # the vendor still writing: a row every 20 ms
            with open(growing, "a") as f:
                while not stop.wait(0.02):
                    f.write("1,2,01,2026-04-01\n")
                    f.flush()

        writer = threading.Thread(target=grow)
        writer.start()
        try:
            with SftpClient(endpoint(sshd)) as sftp:
                stable = sftp.stable_listing(f"outbox/{folder}", wait=0.5)
        finally:
            stop.set()
            writer.join()
        assert [f.name for f in stable] == ["t-1.receipt.json", "t-1.receipt.json.asc"]
        assert [f.size for f in stable] == [2, 3]

        with SftpClient(endpoint(sshd)) as sftp:  # once it stops growing, it is picked up
            names = [f.name for f in sftp.stable_listing(f"outbox/{folder}", wait=0.2)]
        assert names == ["t-1.receipt.json", "t-1.receipt.json.asc", "t-4.returns.csv"]
    finally:
        shutil.rmtree(local)
