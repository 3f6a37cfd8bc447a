"""`kaigo-bridge config check` refuses what the loader would silently ignore: a key no loader reads
(in every configuration file) and a route whose handler does not exist. The known keys are those
the loader reads, so a key added to a loader is known without a list to keep."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import settings as config_module
from settings import ConfigError

REPO = Path(__file__).resolve().parents[2]

# (file, text after which a line is added, the line, the key named in the report)
TYPOS = [
    ("bridge.toml", "heartbeat = 30\n", "heartbeats = 30\n", "bridge.toml: broker.heartbeats: unknown key"),
    ("bridge.toml", "[paths]\n", "vr = \"elsewhere\"\n", "bridge.toml: paths.vr: unknown key"),
    ("routes.toml", 'handler = "change-journal"\n', "prefech = 10\n", "routes.toml: route[0].prefech: unknown key"),
    ("partners.toml", 'channel = "dropdir"\n', "poll_second = 5\n",
     "partners.toml: partner.vendor-a.poll_second: unknown key"),
    ("flows.toml", 'partner = "vendor-a"\n', "max_byte = 10\n",
     "flows.toml: flow.print.hokenryo.max_byte: unknown key"),
    # (nenkin.toml's loader judged its own keys already, for every command: its message stays)
    ("nenkin.toml", 'title = "特別徴収対象者情報"\n', 'titel = "x"\n', "nenkin.toml: file.Z11.titel: unknown key"),
    ("chukan.toml", "attempts = 3\n", "atempts = 3\n", "chukan.toml: server.atempts: unknown key"),
]


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    shutil.copytree(REPO / "config", tmp_path / "config")
    return tmp_path / "config"


def add_after(path: Path, anchor: str, line: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert anchor in text, f"{anchor!r} not in {path.name}"
    path.write_text(text.replace(anchor, anchor + line, 1), encoding="utf-8")


def check(config_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KAIGO_VAR": str(config_dir.parent / "var")}
    return subprocess.run([sys.executable, "-m", "bridge", "--config", str(config_dir), "config", "check"],
                          capture_output=True, text=True, env=env, check=False, cwd=REPO)


def test_the_shipped_configuration_has_no_unknown_key(config_dir: Path) -> None:
    result = check(config_dir)
    assert result.returncode == 0, result.stderr


def test_an_unknown_key_in_any_file_is_named(config_dir: Path) -> None:
    for file, anchor, line, _ in TYPOS:
        add_after(config_dir / file, anchor, line)
    result = check(config_dir)
    assert result.returncode == 1, result.stderr
    for *_, named in TYPOS:
        assert named in result.stderr, (named, result.stderr)
    assert "Traceback" not in result.stderr
    assert len(result.stderr.splitlines()) == 1 + len(TYPOS), result.stderr  # each once


def test_a_key_the_loader_reads_is_known(config_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Known is what the loader reads, however it reads it (Reader.get, .get, in): a key of a
    flow or partner that a loader reads is accepted with no list to update."""
    monkeypatch.setenv("KAIGO_VAR", str(config_dir.parent / "var"))
    add_after(config_dir / "partners.toml", 'path = "{var}/drop/vendor-a"\n', "receipt_sla_hours = 8\n")
    add_after(config_dir / "flows.toml", 'partner = "vendor-a"\n', 'description2 = "x"\n')
    with pytest.raises(ConfigError) as raised:
        config_module.load(config_dir, strict=True)
    assert raised.value.problems == ["flows.toml: flow.print.hokenryo.description2: unknown key "
                                     "(kaigo-bridge does not read it: a typo?)"]
    assert config_module.load(config_dir).partners["vendor-a"].receipt_sla.total_seconds() == 8 * 3600


def test_an_unknown_handler_is_named(config_dir: Path) -> None:
    path = config_dir / "routes.toml"
    path.write_text(path.read_text(encoding="utf-8").replace('handler = "deliver"', 'handler = "delivr"', 1),
                    encoding="utf-8")
    result = check(config_dir)
    assert result.returncode == 1, result.stderr
    assert "routes.toml: route[1].handler: unknown handler 'delivr' of route print.deliver (known: " in result.stderr


def test_an_sftp_partner_with_unset_variables_is_reported(config_dir: Path) -> None:
    """What no command but the partner's own refuses is still found by config check."""
    path = config_dir / "partners.toml"
    path.write_text(path.read_text(encoding="utf-8").replace(
        'channel = "dropdir"\npath = "{var}/drop/kokuho"',
        'channel = "sftp"\nhost = "${NO_SUCH_HOST_VAR}"\nport = 22\nuser = "kaigo"\n'
        'key_file = "{var}/k"\nknown_hosts = "{var}/kh"', 1), encoding="utf-8")
    result = check(config_dir)
    assert result.returncode == 1, result.stderr
    assert "partners.toml: partner.kokuho.host: environment variable NO_SUCH_HOST_VAR is not set" in result.stderr
