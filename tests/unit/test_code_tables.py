"""Named code tables (mappings/codes/*.toml): values, and the other entries a table may carry."""

from __future__ import annotations

from pathlib import Path

import pytest

from mappings.converters.codes import code_tables, table_entry


def write(folder: Path, text: str) -> Path:
    folder.mkdir()
    (folder / "a.toml").write_text(text, encoding="utf-8")
    return folder


def test_values_and_other_entries(tmp_path: Path) -> None:
    folder = write(tmp_path / "codes", '[kind]\nsource = "here"\nvalues = { "01" = "one", "02" = "two" }\n'
                                       'files = { "01" = "Z11", "02" = "Z12" }\n')
    assert code_tables(folder) == {"kind": {"01": "one", "02": "two"}}
    assert table_entry("kind", "files", folder) == {"01": "Z11", "02": "Z12"}
    with pytest.raises(KeyError, match="'kind' has no 'confidence'"):
        table_entry("kind", "confidence", folder)


def test_a_table_without_values_is_refused(tmp_path: Path) -> None:
    folder = write(tmp_path / "codes", '[kind]\nfiles = { "01" = "Z11" }\n')
    with pytest.raises(ValueError, match="needs values"):
        code_tables(folder)


def test_the_shipped_nenkin_files_name_a_kind_for_every_tsuchi_naiyo_code() -> None:
    files = table_entry("nenkin_tsuchi_naiyo", "files")
    assert set(files) == set(code_tables()["nenkin_tsuchi_naiyo"])
    assert {files["00"], files["01"], files["02"], files["22"]} == {"Z11", "Z12", "Z13", "Z14"}
