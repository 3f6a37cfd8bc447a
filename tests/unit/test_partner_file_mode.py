"""partners.toml file_mode: the permission bits of files delivered to a partner."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import settings as config_module
from settings import ConfigError

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(REPO / "config", tmp_path / "config")
    monkeypatch.setenv("KAIGO_VAR", str(tmp_path / "var"))
    return tmp_path / "config"


def set_mode(config_dir: Path, value: str) -> None:
    path = config_dir / "partners.toml"
    old = 'path = "{var}/drop/kokuho"'
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, f"{old}\nfile_mode = {value}"), encoding="utf-8")


def test_default_is_0640_and_a_partner_can_set_its_own(config_dir: Path) -> None:
    config = config_module.load(config_dir)
    assert {p.file_mode for p in config.partners.values()} == {0o640}
    assert config.quarantine_days == 90
    set_mode(config_dir, "0o600")
    assert config_module.load(config_dir).partners["kokuho"].file_mode == 0o600


@pytest.mark.parametrize("value", ["0o755", "0o4640", '"0640"'])
def test_execute_bits_or_a_string_are_refused(config_dir: Path, value: str) -> None:
    set_mode(config_dir, value)
    with pytest.raises(ConfigError) as raised:
        config_module.load(config_dir)
    assert "partner.kokuho.file_mode" in str(raised.value)
