"""``[access] url`` in bridge.toml: its own database, default var/access.db when the key is absent."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import settings as config_module
from settings import ConfigError

REPO = Path(__file__).resolve().parents[2]
SHIPPED = 'url = "sqlite:///{var}/access.db"'


@pytest.fixture
def bridge_toml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(REPO / "config", tmp_path / "config")
    monkeypatch.setenv("KAIGO_VAR", str(tmp_path / "var"))
    return tmp_path / "config" / "bridge.toml"


def test_the_shipped_and_the_default_url(bridge_toml: Path, tmp_path: Path) -> None:
    assert config_module.load(bridge_toml.parent).access_url == f"sqlite:///{tmp_path}/var/access.db"
    text = bridge_toml.read_text(encoding="utf-8")
    bridge_toml.write_text(text.replace(SHIPPED, ""), encoding="utf-8")  # [access] left empty
    assert config_module.load(bridge_toml.parent).access_url == f"sqlite:///{tmp_path}/var/access.db"


@pytest.mark.parametrize("other", ["store.db", "custody.db"])
def test_the_access_log_is_a_database_of_its_own(bridge_toml: Path, other: str) -> None:
    text = bridge_toml.read_text(encoding="utf-8")
    assert text.count(SHIPPED) == 1
    bridge_toml.write_text(text.replace(SHIPPED, f'url = "sqlite:///{{var}}/{other}"'), encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        config_module.load(bridge_toml.parent)
    assert refused.value.problems == ["bridge.toml: access.url: must differ from store.url and custody.url "
                                      "(the access log is a separate database)"]
