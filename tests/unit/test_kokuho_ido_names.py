"""Delivered file names (adapters/delivery.py): flows.toml's ``file_name`` pattern filled from the
transfer's batch key; the 国保連 flows' shipped names; bad patterns named at start-up."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import settings as config_module
from adapters.delivery import file_name
from queues.errors import PermanentError
from settings import ConfigError
from store.models import Transfer

REPO = Path(__file__).resolve().parents[2]
TID = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"


@pytest.fixture
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(REPO / "config", tmp_path / "config")
    monkeypatch.setenv("KAIGO_VAR", str(tmp_path / "var"))
    return tmp_path / "config"


def transfer(flow: str, batch: str, part_no: int = 1) -> Transfer:
    return Transfer(id=TID, flow=flow, batch=batch, part_no=part_no)


def test_shipped_patterns(config_dir: Path) -> None:
    flows = config_module.load(config_dir).flows
    names = {name: flow.file_name for name, flow in flows.items()}
    ido = transfer("kokuho.ido", "kokuho.ido/202611/0-5")
    assert file_name(ido, names["kokuho.ido"], "131128") == "10_531131128202611_01.csv"
    edition = transfer("kokuho.ido", "kokuho.ido/202611/0-5#2")
    assert file_name(edition, names["kokuho.ido"], "131128") == "10_531131128202611_02.csv"
    teisei = transfer("kokuho.teisei", "kokuho.teisei/202612#3")
    assert file_name(teisei, names["kokuho.teisei"], "131128") == "10_532131128202612_03.csv"
    # The print flows keep today's name: the transfer id.
    hokenryo = transfer("print.hokenryo", "print.hokenryo/2026", part_no=2)
    assert file_name(hokenryo, names["print.hokenryo"], "131128") == f"{TID}.csv"
    assert file_name(hokenryo) == f"{TID}.csv"


def test_placeholders_and_format_specs() -> None:
    t = transfer("print.hokenryo", "print.hokenryo/2026#2", part_no=7)
    assert file_name(t, "{flow}-{period}-{edition}-{part:03d}-{transfer}.csv") == \
        f"print.hokenryo-2026-2-007-{TID}.csv"


def test_a_month_the_batch_does_not_give_is_refused() -> None:
    with pytest.raises(PermanentError, match="needs month"):
        file_name(transfer("print.hokenryo", "print.hokenryo/2026"), "X{month}.csv")


def test_bad_patterns_are_named_with_their_flow(config_dir: Path) -> None:
    flows = config_dir / "flows.toml"
    text = flows.read_text(encoding="utf-8")
    text = text.replace('file_name = "10_531{hokensha_no}{month}_{file_no:02d}.csv"',
                        'file_name = "{tranfser}.csv"')
    text = text.replace('file_name = "10_532{hokensha_no}{month}_{file_no:02d}.csv"',
                        'file_name = "../{transfer}.csv"')
    flows.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        config_module.load(config_dir)
    problems = caught.value.problems
    assert len(problems) == 2
    assert problems[0].startswith("flows.toml: flow.kokuho.ido.file_name: unknown placeholder(s) ['tranfser']")
    assert problems[1].startswith("flows.toml: flow.kokuho.teisei.file_name: '../{transfer}.csv' must give a plain")
