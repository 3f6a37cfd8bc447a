"""Configuration loading: every problem reported at once, with file, key and reason."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import settings as config_module
from bridge.app import init
from settings import ConfigError
from settings.partners import with_partner

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(REPO / "config", tmp_path / "config")
    monkeypatch.setenv("KAIGO_VAR", str(tmp_path / "var"))
    return tmp_path / "config"


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")  # the first occurrence: one flow, one route


def test_shipped_configuration_loads(config_dir: Path) -> None:
    cfg = config_module.load(config_dir)
    assert {"core.changes", "print.deliver", "kokuho.load"} <= set(cfg.routes)
    assert cfg.flows["kokuho.kyufu"].direction == "in" and cfg.hokensha_no == "131128"
    assert cfg.flows["print.hokenryo"].partner == "vendor-a"
    assert cfg.partners["vendor-a"].path == config_dir.parent / "var" / "drop" / "vendor-a"
    assert cfg.store_url != cfg.custody_url


def test_every_problem_is_reported_at_once(config_dir: Path) -> None:
    edit(config_dir / "bridge.toml", 'exchange = "kaigo"', "exchange = 7")
    edit(config_dir / "routes.toml", "retry_delays = [1, 5, 30, 120]", "retry_delays = [1, -5]")
    edit(config_dir / "flows.toml", 'partner = "vendor-a"', 'partner = "vendor-x"')
    edit(config_dir / "flows.toml", 'substitutions = "substitutions.toml"', 'substitutions = "missing.toml"')
    edit(config_dir / "partners.toml", 'channel = "dropdir"', 'channel = "carrier-pigeon"')
    with pytest.raises(ConfigError) as raised:
        config_module.load(config_dir)
    problems = raised.value.problems
    assert len(problems) == 5, problems
    text = "\n".join(problems)
    assert "bridge.toml: broker.exchange: expected str, got int" in text
    assert "routes.toml: route[0].retry_delays: must be a non-empty list of positive whole seconds" in text
    assert "flows.toml: flow.print.hokenryo.partner: no partner named 'vendor-x'" in text
    assert "flows.toml: flow.print.hokenryo.substitutions: file" in text and "missing.toml does not exist" in text
    assert "partners.toml: partner.vendor-a.channel: unknown channel 'carrier-pigeon'" in text


def test_the_ward_hokensha_no_must_have_its_check_digit(config_dir: Path) -> None:
    edit(config_dir / "bridge.toml", 'hokensha_no = "131128"', 'hokensha_no = "131129"')
    with pytest.raises(ConfigError, match=r"bridge\.toml: ward\.hokensha_no: .*check digit does not match"):
        config_module.load(config_dir)


def test_missing_file_and_bad_toml_are_named(config_dir: Path) -> None:
    (config_dir / "partners.toml").unlink()
    (config_dir / "routes.toml").write_text("[[route]\nname=", encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        config_module.load(config_dir)
    text = "\n".join(raised.value.problems)
    assert "partners.toml: file not found" in text
    assert "routes.toml: not valid TOML" in text


def test_custody_must_be_a_separate_database(config_dir: Path) -> None:
    edit(config_dir / "bridge.toml", 'url = "sqlite:///{var}/custody.db"', 'url = "sqlite:///{var}/store.db"')
    with pytest.raises(ConfigError, match=r"custody\.url: must differ from store\.url"):
        config_module.load(config_dir)


def test_secret_comes_from_the_environment_only(config_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KAIGO_AMQP_URL", raising=False)
    cfg = config_module.load(config_dir)
    with pytest.raises(ConfigError, match="environment variable KAIGO_AMQP_URL is not set"):
        cfg.broker.url()


def test_config_check_exits_non_zero_and_lists_problems(config_dir: Path) -> None:
    edit(config_dir / "flows.toml", 'route = "print.deliver"', 'route = "nowhere"')
    result = subprocess.run([sys.executable, "-m", "bridge", "--config", str(config_dir), "config", "check"],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 1
    assert "flows.toml: flow.print.hokenryo.route: no route named 'nowhere'" in result.stderr
    ok = subprocess.run([sys.executable, "-m", "bridge", "--config", str(REPO / "config"), "config", "check"],
                        capture_output=True, text=True, check=False)
    assert ok.returncode == 0, ok.stderr


def test_config_check_refuses_a_key_file_others_can_read(config_dir: Path) -> None:
    init(config_module.load(config_dir))
    key = next((config_dir.parent / "var" / "keys").glob("*.key"))
    key.chmod(0o644)
    result = subprocess.run([sys.executable, "-m", "bridge", "--config", str(config_dir), "config", "check"],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 1
    assert "keys.dir" in result.stderr and key.name in result.stderr


SFTP_PARTNER = """
[partner.vendor-b]
kind = "print-vendor"
channel = "sftp"
host = "${TEST_SFTP_HOST}"
port = "${TEST_SFTP_PORT}"
user = "kaigo"
key_file = "{var}/ssh/id_ed25519"
known_hosts = "{var}/ssh/known_hosts"
openpgp_key = "vendor-b.asc"
openpgp_fingerprint = "0123 4567 89AB CDEF 0123  4567 89AB CDEF 0123 4567"
receipt_sla_hours = 8
"""


def test_sftp_partner_with_environment_references(config_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (config_dir / "vendor-b.asc").write_text("-----BEGIN PGP PUBLIC KEY BLOCK-----\n", encoding="utf-8")
    (config_dir / "partners.toml").write_text((config_dir / "partners.toml").read_text() + SFTP_PARTNER)
    monkeypatch.setenv("TEST_SFTP_HOST", "127.0.0.1")
    monkeypatch.setenv("TEST_SFTP_PORT", "2222")
    partner = config_module.load(config_dir).partners["vendor-b"]
    assert partner.sftp is not None and partner.path is None
    assert (partner.sftp.host, partner.sftp.port, partner.sftp.user) == ("127.0.0.1", 2222, "kaigo")
    assert partner.sftp.known_hosts == config_dir.parent / "var" / "ssh" / "known_hosts"
    assert partner.openpgp_fingerprint == "0123456789ABCDEF0123456789ABCDEF01234567"
    assert partner.receipt_sla.total_seconds() == 8 * 3600

    # An unset variable refuses only what talks to that partner (require), and `config check` (strict).
    monkeypatch.delenv("TEST_SFTP_PORT")
    unset = ["partners.toml: partner.vendor-b.port: environment variable TEST_SFTP_PORT is not set",
             "partners.toml: partner.vendor-b.port: expected int, got str"]
    cfg = config_module.load(config_dir)
    assert cfg.partners["vendor-a"].require() is cfg.partners["vendor-a"]
    with pytest.raises(ConfigError) as raised:
        cfg.partners["vendor-b"].require()
    assert raised.value.problems == unset
    with pytest.raises(ConfigError) as raised:
        config_module.load(config_dir, strict=True)
    assert raised.value.problems == unset


def test_one_partner_is_replaced_and_the_others_stay(config_dir: Path) -> None:
    path = config_dir / "partners.toml"
    text = path.read_text(encoding="utf-8")
    path.write_text(with_partner(text, "vendor-a", '[partner.vendor-a]\nkind = "print-vendor"\nname = "B"\n'
                                 'channel = "dropdir"\npath = "/srv/b"\n'), encoding="utf-8")
    cfg = config_module.load(config_dir)
    assert cfg.partners["vendor-a"].title == "B" and cfg.partners["vendor-a"].path == Path("/srv/b")
    assert cfg.partners["kokuho"].kind == "kokuhoren"
    assert "# The 国保連 伝送 share." in path.read_text(encoding="utf-8")  # its comment stays with it
    with pytest.raises(KeyError, match=r"no \[partner\.nobody\] table"):
        with_partner(text, "nobody", "")
