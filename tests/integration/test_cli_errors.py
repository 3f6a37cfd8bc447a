"""What an operator sees when a command cannot do its work: the real ``kaigo-bridge`` in a
subprocess, with the broker down (its addresses pointing at a closed port), SFTP down (a partner
on a closed port), a mistyped flow or route, no installation, an unset variable. Every case:
one line on stderr, the README's exit code, no traceback anywhere; ``-v`` adds the traceback."""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bridge.failures import NO, NOT_INITIALISED, OK, REFUSED, UNAVAILABLE, USAGE
from fixtures.activity import change_shikaku
from fixtures.population import load
from fixtures.services.sshd import SftpTree
from settings.partners import with_partner
from tests.harness import Home


def closed_port() -> int:
    """A loopback port nothing listens on (taken from the kernel, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Case:
    args: tuple[str, ...]
    code: int
    says: str  # on stderr; on stdout when the command does its work (OK, or its own "no")
    env: dict[str, str | None] = field(default_factory=dict)  # None: unset
    fresh: bool = False  # run in a state folder that was never initialised


def sftp_partner(home: Home, name: str, kind: str, host: str, port: str) -> None:
    """``name`` reached over SFTP at host:port with a client key of its own and an empty
    known_hosts (nothing is ever accepted: the port is closed, or the variables are unset)."""
    ssh = home.root / "ssh"
    ssh.mkdir(exist_ok=True)
    key = ssh / "id_ed25519"
    if not key.exists():
        key.write_bytes(Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()))
        key.chmod(0o600)
        (ssh / "known_hosts").write_text("", encoding="ascii")
    home.edit_config("partners.toml", lambda t: with_partner(t, name, f"""
[partner.{name}]
kind = "{kind}"
channel = "sftp"
host = "{host}"
port = "{port}"
user = "kaigo"
key_file = "{key}"
known_hosts = "{ssh / 'known_hosts'}"
"""))


BROKER_DOWN = "broker_down"
SFTP_DOWN = "sftp_down"
UNSET = "unset_sftp"

CASES: dict[str, Case] = {
    # the broker down: its AMQP and management addresses point at a closed port
    # status reports the broker's absence itself (its verdict 異常; --check exits 1 for it)
    "status/broker down": Case(("status",), OK, "異常", {BROKER_DOWN: ""}),
    "status --check/broker down": Case(("status", "--check"), NO, "異常", {BROKER_DOWN: ""}),
    "dead list/broker down": Case(("dead", "list", "core.changes"), UNAVAILABLE,
                                  "the broker (RabbitMQ) is unreachable: [Errno 111] Connection refused",
                                  {BROKER_DOWN: ""}),
    "dead replay/broker down": Case(("dead", "replay", "core.changes", "--by", "op1"), UNAVAILABLE,
                                    "the broker (RabbitMQ) is unreachable", {BROKER_DOWN: ""}),
    "dead drop/broker down": Case(("dead", "drop", "core.changes", "--by", "op1", "--id", "x", "--reason", "r"),
                                  UNAVAILABLE, "the broker (RabbitMQ) is unreachable", {BROKER_DOWN: ""}),
    "run/broker down": Case(("run", "print.hokenryo", "--nendo", "2026", "--json"), UNAVAILABLE,
                            "the broker (RabbitMQ) is unreachable", {BROKER_DOWN: ""}),
    "relay/broker down": Case(("relay", "--once"), UNAVAILABLE, "the broker (RabbitMQ) is unreachable",
                              {BROKER_DOWN: ""}),
    # SFTP down: the partner's server is not there
    "vendors poll/sftp down": Case(("vendors", "poll"), UNAVAILABLE, "SFTP: ", {SFTP_DOWN: ""}),
    "receive/sftp down": Case(("receive", "kokuho.kyufu"), UNAVAILABLE, "SFTP: ", {SFTP_DOWN: ""}),
    # a mistyped flow or route
    "run/typo": Case(("run", "print.hokenryou"), USAGE,
                     "configuration: flows.toml: no flow named 'print.hokenryou'"),
    "receive/typo": Case(("receive", "kokuho.kyuhu"), USAGE, "no flow named 'kokuho.kyuhu'"),
    "dead list/typo": Case(("dead", "list", "core.change"), USAGE,
                           "configuration: routes.toml: no route named 'core.change'"),
    "dead replay/typo": Case(("dead", "replay", "core.change", "--by", "op1"), USAGE, "no route named"),
    "worker/typo": Case(("worker", "--routes", "core.change"), USAGE, "no route named 'core.change'"),
    "transfers show/unknown": Case(("transfers", "show", "nope"), 1, "no transfer nope"),
    # a wrong command line: one line too, naming the help to read
    "run/no flow": Case(("run",), USAGE, "kaigo-bridge: usage: Missing argument 'flow'. (see kaigo-bridge run --help)"),
    "dead list/unknown option": Case(("dead", "list", "core.changes", "--bogus"), USAGE,
                                     "usage: No such option: --bogus (see kaigo-bridge dead list --help)"),
    "unknown command": Case(("nosuch",), USAGE, "usage: No such command 'nosuch'."),
    # no installation in the state folder: refused, nothing created
    "transfers list/fresh": Case(("transfers", "list"), NOT_INITIALISED, "not initialised: the store", fresh=True),
    "status/fresh": Case(("status",), NOT_INITIALISED, "run kaigo-bridge init", fresh=True),
    "custody verify/fresh": Case(("custody", "verify"), NOT_INITIALISED, "not initialised", fresh=True),
    "run/fresh": Case(("run", "print.hokenryo", "--nendo", "2026"), NOT_INITIALISED, "not initialised",
                      fresh=True),
    "relay/fresh": Case(("relay", "--once"), NOT_INITIALISED, "not initialised", fresh=True),
    "vendors poll/fresh": Case(("vendors", "poll"), NOT_INITIALISED, "not initialised", fresh=True),
    "handovers/fresh": Case(("handovers",), NOT_INITIALISED, "not initialised", fresh=True),
    "dead replay/fresh": Case(("dead", "replay", "core.changes", "--by", "op1"), NOT_INITIALISED,
                              "not initialised", fresh=True),
    "fixtures/fresh": Case(("fixtures", "population", "--people", "1"), NOT_INITIALISED, "not initialised",
                           fresh=True),
    "approvals list/fresh": Case(("approvals", "list"), NOT_INITIALISED, "not initialised", fresh=True),
    "nenkin calendar/fresh": Case(("nenkin", "calendar"), NOT_INITIALISED, "not initialised", fresh=True),
    "worker/fresh": Case(("worker",), NOT_INITIALISED, "not initialised", fresh=True),
    "keys rotate/fresh": Case(("keys", "rotate"), NOT_INITIALISED, "not initialised", fresh=True),
    "receive/fresh": Case(("receive", "kokuho.kyufu"), NOT_INITIALISED, "not initialised", fresh=True),
    "quarantine list/fresh": Case(("quarantine", "list"), NOT_INITIALISED, "not initialised", fresh=True),
    "queries list/fresh": Case(("queries", "list"), NOT_INITIALISED, "not initialised", fresh=True),
    "records person/fresh": Case(("records", "person", "000000000000001"), NOT_INITIALISED, "not initialised",
                                 fresh=True),
    "retention run/fresh": Case(("retention", "run", "--by", "op1", "--dry-run"), NOT_INITIALISED,
                                "not initialised", fresh=True),
    "chukan refresh/fresh": Case(("chukan", "refresh", "--by", "op1"), NOT_INITIALISED, "not initialised",
                                 fresh=True),
    "custody checkpoint/fresh": Case(("custody", "checkpoint"), NOT_INITIALISED, "not initialised", fresh=True),
    "vendor-kit/fresh": Case(("vendor-kit", "fresh/kit"), NOT_INITIALISED, "not initialised", fresh=True),
    # an unset variable: refused by the commands that need it, and only by them
    "dead list/no broker variable": Case(("dead", "list", "core.changes"), USAGE,
                                         "configuration: bridge.toml: broker.url_env: environment variable "
                                         "KAIGO_AMQP_URL is not set", {"KAIGO_AMQP_URL": None}),
    "status/no API variable": Case(("status", "--json"), OK, "KAIGO_RABBIT_API",
                                   {"KAIGO_RABBIT_API": None}),
    "vendors poll/no SFTP variable": Case(("vendors", "poll"), USAGE,
                                          "configuration: partners.toml: partner.vendor-a.host: environment "
                                          "variable TEST_SFTP_HOST is not set (and 2 more: kaigo-bridge config "
                                          "check lists them)", {UNSET: ""}),
    "custody verify/no SFTP variable": Case(("custody", "verify"), OK, "custody log intact", {UNSET: ""}),
    "transfers list/no SFTP variable": Case(("transfers", "list"), OK, "transfers", {UNSET: ""}),
    "relay/no SFTP variable": Case(("relay", "--once"), OK, "published 0 event(s)", {UNSET: ""}),
}




def prepare(home: Home, case: Case) -> dict[str, str]:
    env = dict(home.env)
    if BROKER_DOWN in case.env:
        port = closed_port()
        env["KAIGO_AMQP_URL"] = f"amqp://guest:guest@127.0.0.1:{port}/{home.vhost}"
        env["KAIGO_RABBIT_API"] = f"http://guest:guest@127.0.0.1:{port}/"
        load(home.bridge.sessions, home.bridge.mynumber, 3, seed=5, nendo=2026)
        if case.args[0] == "relay":  # something pending to publish
            change_shikaku(home.bridge.sessions, home.bridge.keyring, 2, seed=5)
    if SFTP_DOWN in case.env:
        sftp_partner(home, "vendor-a", "print-vendor", "127.0.0.1", str(closed_port()))
        sftp_partner(home, "kokuho", "kokuhoren", "127.0.0.1", str(closed_port()))
    if UNSET in case.env:
        sftp_partner(home, "vendor-a", "print-vendor", "${TEST_SFTP_HOST}", "${TEST_SFTP_PORT}")
        env.pop("TEST_SFTP_HOST", None)
        env.pop("TEST_SFTP_PORT", None)
    for name, value in case.env.items():
        if value is None:
            env.pop(name, None)
    if case.fresh:
        env["KAIGO_VAR"] = str(home.root / "fresh")
        (home.root / "fresh").mkdir()
    return env


@pytest.mark.parametrize("name", sorted(CASES))
def test_one_line_an_exit_code_and_no_traceback(home: Home, name: str) -> None:
    case = CASES[name]
    home.env = prepare(home, case)
    result = home.cli(*case.args, check=False)
    shown = result.stdout + result.stderr
    assert "Traceback" not in shown, shown
    assert result.returncode == case.code, shown
    if case.code == OK or (case.code == NO and not result.stderr):
        assert result.stderr == "" and case.says in result.stdout, shown
        return
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert case.says in lines[0], lines[0]
    if case.fresh:  # refused before anything was made
        assert list((home.root / "fresh").iterdir()) == []


def test_verbose_shows_the_traceback(home: Home) -> None:
    port = closed_port()
    home.env["KAIGO_AMQP_URL"] = f"amqp://guest:guest@127.0.0.1:{port}/{home.vhost}"
    quiet = home.cli("dead", "list", "core.changes", check=False)
    loud = home.cli("-v", "dead", "list", "core.changes", check=False)
    assert quiet.returncode == loud.returncode == UNAVAILABLE
    assert "Traceback" not in quiet.stderr and "Traceback (most recent call last)" in loud.stderr
    assert loud.stderr.splitlines()[-1] == quiet.stderr.strip()


def test_transfers_list_in_a_folder_never_initialised_leaves_it_empty(tmp_path: Path) -> None:
    """No configuration given and none in the folder: the state folder stays as it was."""
    import shutil
    import subprocess

    from tests.harness import CLI, REPO

    shutil.copytree(REPO / "config", tmp_path / "config")
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    result = subprocess.run([*CLI, "transfers", "list"], cwd=tmp_path, capture_output=True, text=True,
                            env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)}, check=False)
    assert result.returncode == NOT_INITIALISED, result.stderr
    assert result.stderr.strip() == (f"kaigo-bridge: not initialised: the store {tmp_path / 'var' / 'store.db'} "
                                     "does not exist; run kaigo-bridge init")
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before


def test_a_host_key_that_is_not_pinned_is_refused(home: Home, sftp_tree: Callable[[str], SftpTree]) -> None:
    """A real sshd whose host key the partner's known_hosts does not hold: a guard's refusal (5)."""
    tree = sftp_tree("default")
    sftp_partner(home, "vendor-a", "print-vendor", "127.0.0.1", str(tree.port))  # known_hosts: empty
    result = home.cli("vendors", "poll", check=False)
    assert "Traceback" not in result.stdout + result.stderr
    assert result.returncode == REFUSED, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    line = lines[0]
    assert line.startswith("kaigo-bridge: refused: ") and "host key" in line, line
