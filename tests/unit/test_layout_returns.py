"""A print layout's [returns] table: the columns a vendor's 返戻 names a notice by."""

from __future__ import annotations

from pathlib import Path

import pytest

from mappings.errors import LayoutError
from mappings.layout import ReturnsColumns
from mappings.loader import load_layout
from mappings.registry import LayoutRegistry

LAYOUT = """
partner = "test"
name = "pr"
version = "1"
source = "unit test"
encoding = "utf-8"
{returns}
[csv]
[[records]]
kind = "notice"
fields = [
  {{ name = "card_no", label = "番号", column = 0, converter = "digits", width = 10 }},
  {{ name = "nendo", label = "年度", column = 1, converter = "number", width = 4 }},
  {{ name = "atena_no", label = "宛名番号", column = 2, converter = "digits", width = 15 }},
]
"""


def write(tmp_path: Path, returns: str) -> Path:
    path = tmp_path / "pr-v1.toml"
    path.write_text(LAYOUT.format(returns=returns), encoding="utf-8")
    return path


def test_returns_names_fields_and_gives_their_columns(tmp_path: Path) -> None:
    layout = load_layout(write(tmp_path, '[returns]\nnotice_no = "card_no"\natena_no = "atena_no"\n'))
    assert layout.returns == ReturnsColumns(notice_no=0, atena_no=2)


def test_returns_naming_no_field_is_refused_with_the_key(tmp_path: Path) -> None:
    with pytest.raises(LayoutError) as err:
        load_layout(write(tmp_path, '[returns]\nnotice_no = "notice_no"\natena_no = "atena_no"\n'))
    assert "returns: notice_no: the name of a CSV field of this layout, not 'notice_no'" in str(err.value)


def test_every_shipped_print_layout_says_its_returns_columns() -> None:
    registry = LayoutRegistry()
    for name in ("hokenryo-kettei", "hokenryo-kettei-utf8", "nintei-kekka", "hihokenshasho"):
        assert registry.get("vendor", name).returns == ReturnsColumns(notice_no=0, atena_no=2), name
