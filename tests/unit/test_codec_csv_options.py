"""CSV framing options: quoting rules, forced quotes, header row, BOM, LF lines, sensitive keys."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path
from typing import Any

import pytest

from mappings import CharPolicy, Layout, ParsedRecord, RecordError, RenderError, csv_codec, load_layout

BASE = """
partner = "test"
name = "opts"
version = "1"
source = "unit test"
encoding = "{encoding}"
key = ["no"]
[csv]
{csv}
[[records]]
kind = "row"
fields = [
  {{ name = "no", label = "番号", column = 0, converter = "digits", width = 3, sensitive = {sensitive} }},
  {{ name = "memo", label = "備考", column = 1, converter = "text", required = false, quoted = {quoted} }},
  {{ name = "n", label = "数", column = 2, converter = "number" }},
]
"""


def layout(csv: str = "", encoding: str = "cp932", sensitive: bool = False, quoted: bool = False) -> Layout:
    text = BASE.format(encoding=encoding, csv=csv, sensitive=str(sensitive).lower(), quoted=str(quoted).lower())
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "opts-v1.toml"
        path.write_text(text, encoding="utf-8")
        return load_layout(path)


def render(lay: Layout, recs: list[dict[str, Any]], chars: CharPolicy | None = None) -> bytes:
    return b"".join(csv_codec.render(lay, recs, chars=chars))


def parse(lay: Layout, data: bytes) -> list[Any]:
    return list(csv_codec.parse(lay, io.BytesIO(data), file="o.csv"))


ROWS: list[dict[str, Any]] = [{"no": "001", "memo": 'a,"b"', "n": 5}, {"no": "002", "memo": None, "n": 0}]


@pytest.mark.parametrize(("csv", "quoted", "expected"), [
    ('quoting = "minimal"', False, b'001,"a,""b""",5\r\n002,,0\r\n'),
    ('quoting = "all"', False, b'"001","a,""b""","5"\r\n"002","","0"\r\n'),
    ('quoting = "minimal"', True, b'001,"a,""b""",5\r\n002,"",0\r\n'),
    ('quoting = "minimal"\nline_terminator = "LF"\ndelimiter = ";"', False, b'001;"a,""b""";5\n002;;0\n'),
])
def test_quoting_rules_byte_exact_and_back(csv: str, quoted: bool, expected: bytes) -> None:
    lay = layout(csv, quoted=quoted)
    assert render(lay, ROWS) == expected
    assert [p.values for p in parse(lay, expected)] == ROWS


def test_quoting_none_refuses_values_it_cannot_write() -> None:
    lay = layout('quoting = "none"')
    assert render(lay, [{"no": "001", "memo": "plain", "n": 1}]) == b"001,plain,1\r\n"
    with pytest.raises(RenderError) as exc:
        render(lay, ROWS)
    assert (exc.value.field, exc.value.rule, exc.value.record_key) == ("memo", "csv_quoting", "no=001")
    [got] = parse(lay, b'001,say "hi",1\r\n')  # quotes are plain characters under quoting none
    assert isinstance(got, ParsedRecord) and got["memo"] == 'say "hi"'


def test_header_row_written_and_checked() -> None:
    lay = layout("header = true")
    data = render(lay, ROWS[1:])
    assert data == "番号,備考,数\r\n002,,0\r\n".encode("cp932")
    [got] = parse(lay, data)
    assert isinstance(got, ParsedRecord) and got.record_no == 1
    bad = parse(lay, "番号,メモ,数\r\n002,,0\r\n".encode("cp932"))
    assert isinstance(bad[0], RecordError) and bad[0].rules == ("header",) and bad[0].record_no == 0
    assert isinstance(bad[1], ParsedRecord) and bad[1].record_no == 1


def test_bom_for_utf8() -> None:
    lay = layout("bom = true", encoding="utf-8")
    data = render(lay, ROWS[1:])
    assert data == b"\xef\xbb\xbf002,,0\r\n"
    assert isinstance(parse(lay, data)[0], ParsedRecord)
    [err] = parse(lay, b"002,,0\r\n")
    assert isinstance(err, RecordError) and err.rules == ("bom",)
    [err] = parse(layout(encoding="utf-8"), data)
    assert isinstance(err, RecordError) and "unexpected byte order mark" in str(err)


def test_bom_only_with_utf8() -> None:
    with pytest.raises(ValueError, match="bom = true only with utf-8"):
        layout("bom = true")


def test_sensitive_key_is_masked_in_reports() -> None:
    lay = layout(sensitive=True)
    policy = CharPolicy(on_unmapped="withhold")
    render(lay, [{"no": "123", "memo": "𠮷", "n": 1}], policy)
    assert policy.issues[0].record_key == "no=<masked 3 chars>"
    with pytest.raises(RenderError) as exc:
        render(lay, [{"no": "123", "memo": "x", "n": -1}])
    assert "123" not in str(exc.value)
