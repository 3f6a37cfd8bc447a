"""The render fast path (``Field.quick``) against the full path (``to_text``, charset, ``check``).

A quick text may only ever be the text the full path gives without substituting anything; where
they could differ the fast path must decline (None) and leave the value to the full path, with
its errors. Checked on every field of every shipped layout and on converters with edge-case
parameters, with values of every kind a record may carry. A few literal cases show the fast path
is really taken, so these tests cannot pass by the fast path always declining; and 20,000 notices
render to the bytes (and character reports) the code gave before the fast path existed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mappings import bench, csv_codec, layouts
from mappings.charpolicy import CharPolicy
from mappings.charsets import disallowed
from mappings.converters import YearMonth
from mappings.errors import ConversionError, RenderError
from mappings.layout import Field
from mappings.loader import load_layout
from mappings.records import RecordRenderer

FIELDS = [f for partner, name, version in layouts.available()
          for kind in layouts.get(partner, name, version).kinds for f in kind.fields]

_text = st.text(alphabet=st.one_of(
    st.characters(codec="ascii"),  # incl. controls, quotes, spaces
    st.sampled_from("山田太郎髙﨑𠮷〜～ァアヶー・　ｱﾞ①㈱\u2028\ufeff\x85\ue000"),
    st.characters()), max_size=90)
VALUES = st.one_of(
    st.none(), st.just(""), _text,
    st.text(alphabet="0123456789", min_size=1, max_size=20),
    st.text(alphabet="０１２３٣²0123456789-", max_size=12),
    st.integers(-10**12, 10**13), st.booleans(),
    st.decimals(allow_nan=True, allow_infinity=True, places=2), st.decimals(min_value=0, max_value=10**9, places=0),
    st.dates(), st.datetimes(), st.builds(YearMonth, st.integers(-1, 10001), st.integers(0, 13)),
    st.sampled_from(["1", "2", "01", "21", "99", "0", "A"]), st.floats(), st.lists(st.integers(), max_size=2),
)


def full_path(f: Field, value: Any) -> str | None:
    """The full path's text when it substitutes nothing; None when it substitutes or refuses."""
    try:
        text = f.to_text(value)
        if not text.isascii() and disallowed(text, f.converter.allowed, f.converter.refused):
            return None
        f.check(text)
    except ConversionError:
        return None
    return text


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(FIELDS), VALUES)
def test_quick_text_is_the_full_paths_text(f: Field, value: Any) -> None:
    quick = f.quick(value)
    if quick is not None:
        assert quick == full_path(f, value)


@pytest.fixture(scope="module")
def edge_fields(tmp_path_factory: pytest.TempPathFactory) -> list[Field]:
    path = tmp_path_factory.mktemp("layouts") / "edge-v1.toml"
    path.write_text('''
partner = "test"
name = "edge"
version = "1"
source = "test"
encoding = "utf-8"
[csv]
[[records]]
kind = "r"
fields = [
  { name = "t_ascii", label = "a", column = 0, converter = "text", max_bytes = 5, charset = "ascii" },
  { name = "t_fw", label = "b", column = 1, converter = "text", max_bytes = 8, fullwidth_only = true },
  { name = "t_pat", label = "c", column = 2, converter = "text", pattern = "[A-Z]+", required = false },
  { name = "d_range", label = "d", column = 3, converter = "digits", min_width = 2, max_width = 4 },
  { name = "n_signed", label = "e", column = 4, converter = "number", width = 3, signed = true },
  { name = "n_plain", label = "f", column = 5, converter = "number", required = false },
  { name = "amount", label = "g", column = 6, converter = "amount", width = 6 },
  { name = "ym", label = "h", column = 7, converter = "date", format = "YYYYMM" },
  { name = "code", label = "i", column = 8, converter = "code", codes = { "1" = "x", "二" = "y" } },
  { name = "const", label = "j", column = 9, converter = "constant", value = "K" },
  { name = "fill", label = "k", column = 10, converter = "filler", width = 2 },
]
''', encoding="utf-8")
    return list(load_layout(path).fields)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_quick_on_edge_case_converters(edge_fields: list[Field], data: st.DataObject) -> None:
    f = data.draw(st.sampled_from(edge_fields))
    value = data.draw(VALUES)
    quick = f.quick(value)
    if quick is not None:
        assert quick == full_path(f, value)


def hokenryo_field(name: str) -> Field:
    return layouts.get("vendor", "hokenryo-kettei").kind().by_name[name]


@pytest.mark.parametrize(("name", "value", "text"), [
    ("notice_no", "2600000001", "2600000001"),
    ("nendo", 2026, "2026"),
    ("dankai", 3, "03"),
    ("nengaku", 72000, "72000"),
    ("ki03", None, ""),
    ("choshu_kubun", "1", "1"),
    ("name_kanji", "山田　太郎", "山田　太郎"),
    ("name_kana", "ヤマダ　タロウ", "ヤマダ　タロウ"),
    ("address", "東京都世田谷区池尻一丁目1番1号", "東京都世田谷区池尻一丁目1番1号"),
    ("issue_date", dt.date(2026, 7, 10), "20260710"),
])
def test_the_fast_path_is_taken_for_ordinary_values(name: str, value: Any, text: str) -> None:
    assert hokenryo_field(name).quick(value) == text


@pytest.mark.parametrize(("name", "value"), [
    ("name_kanji", "髙橋　一郎"),  # needs a substitution: the CharPolicy must see it
    ("name_kana", "ﾔﾏﾀﾞ"),  # half-width: the full path names the rule
    ("nengaku", Decimal("72000")),  # right, but not the plain int the fast path takes
    ("nengaku", -1),
    ("nendo", True),
    ("nendo", 20260),
    ("notice_no", "２６00000001"),
    ("issue_date", dt.datetime(2026, 7, 10, 9, 0)),
    ("ki03", ""),
    ("notice_no", None),
])
def test_the_fast_path_declines_what_needs_the_full_path(name: str, value: Any) -> None:
    assert hokenryo_field(name).quick(value) is None


def test_a_declined_value_still_gets_the_full_paths_substitution_and_error() -> None:
    layout = layouts.get("vendor", "hokenryo-kettei")
    record = {"notice_no": "2600000001", "nendo": 2026, "atena_no": "000000000000001", "hihokensha_no": "0000000001",
              "postal_code": "1540001", "address": "東京都世田谷区", "name_kanji": "髙橋　一郎",
              "name_kana": "タカハシ　イチロウ", "dankai": 3, "nengaku": Decimal("72000"), "choshu_kubun": "2",
              **{f"ki{k:02d}": 7200 for k in range(1, 11)}, "issue_date": dt.date(2026, 7, 10)}
    policy = CharPolicy({"髙": "高"})
    data = b"".join(csv_codec.render(layout, [record], chars=policy))
    assert "高橋　一郎".encode("cp932") in data and b",72000," in data
    assert [(s.char, s.replacement) for s in policy.substitutions] == [("髙", "高")]
    with pytest.raises(RenderError, match="dankai"):
        b"".join(csv_codec.render(layout, [{**record, "dankai": 123}], chars=CharPolicy({"髙": "高"})))


def _spoiled(n: int) -> Any:
    """mappings.bench's synthetic notices with, now and then, a character to substitute, one with
    no substitution (the record is withheld), a Decimal amount and a ・ in the kana."""
    for i, r in enumerate(bench.records(n)):
        if i % 97 == 0:
            r["name_kanji"] += "𩸽"
        if i % 89 == 0:
            r["address"] += "髙〜"
        if i % 83 == 0:
            r["nengaku"] = Decimal(r["nengaku"])
        if i % 79 == 0:
            r["name_kana"] = r["name_kana"].replace("　", "・")
        yield r


# sha256, bytes, withheld, substitutions of 20,000 such records, rendered by the code before the
# fast path existed (commit 69feaf6): the fast path must not change a byte or a report.
GOLDEN = {
    "hokenryo-kettei": ("8aa97c14e793fa719e0f2c7aa46891ca224192ea9db1c7e18e3cbc0b5b080cb3", 3487923, 207, 444),
    "hokenryo-kettei-utf8": ("e167ed711d4496ff8e9b3cf521fc2cd8c9ffdbef230c38ca7ab88572639a2c6b", 4049682, 0, 0),
}


@pytest.mark.parametrize("name", GOLDEN)
def test_twenty_thousand_notices_render_as_before_the_fast_path(name: str) -> None:
    policy = CharPolicy({"髙": "高", "〜": "～"}, on_unmapped="withhold")
    data = b"".join(csv_codec.render(layouts.get("vendor", name), _spoiled(20_000), chars=policy))
    assert (hashlib.sha256(data).hexdigest(), len(data), len(policy.withheld), len(policy.substitutions)) == \
        GOLDEN[name]


# --- the column fast path (Field.quick_column, RecordRenderer.columns) ------------------------


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_quick_column_is_quick_value_by_value(edge_fields: list[Field], data: st.DataObject) -> None:
    """On any values, and on only the values ``quick`` takes: the column's texts are exactly
    ``quick``'s, and it declines exactly when ``quick`` declines one of them."""
    f = data.draw(st.sampled_from(FIELDS + edge_fields))
    pool = data.draw(st.lists(VALUES, min_size=1, max_size=30))
    taken = [v for v in pool if f.quick(v) is not None]
    for values in (pool, taken, taken + pool[:1]):
        if values:
            texts = [f.quick(v) for v in values]
            got = f.quick_column(tuple(values))
            assert (None if got is None else list(got)) == (None if None in texts else texts)


def test_ordinary_notices_take_the_column_path_and_write_what_csv_writer_writes() -> None:
    layout = layouts.get("vendor", "hokenryo-kettei")
    records = list(bench.records(3_000))
    assert RecordRenderer(layout, None).columns(records[:1000]) is not None
    assert b"".join(csv_codec.render(layout, records)) == bench.raw_render(records)


def test_only_the_records_the_columns_cannot_take_go_record_by_record() -> None:
    layout = layouts.get("vendor", "hokenryo-kettei")
    records = list(bench.records(3))
    renderer = RecordRenderer(layout, None)
    got = renderer.columns(records)
    assert got is not None and got[1] == set()
    for spoiled in ({**records[1], "name_kanji": "髙橋"}, {**records[1], "ki03": Decimal(7200)}):
        got = renderer.columns([records[0], spoiled, records[2]])
        assert got is not None and got[1] == {1}
    for spoiled in ({**records[1], "extra": 1}, {k: v for k, v in records[1].items() if k != "ki10"}):
        assert renderer.columns([records[0], spoiled, records[2]]) is None  # the whole block
    quoted = [*records[:2], {**records[2], "address": '東京都,世田谷区"池尻"'}]  # the columns take it; quoting
    assert b"".join(csv_codec.render(layout, quoted)) == bench.raw_render(quoted)


def _partly(n: int) -> Any:
    """Ordinary notices with a character to substitute in the third block of 1,000 and one with
    no substitution (withheld) in the fourth: those two go record by record, the rest by column."""
    for i, r in enumerate(bench.records(n)):
        if i == 2500:
            r["name_kanji"] += "髙"
        if i == 3700:
            r["address"] += "𩸽"
        yield r


# sha256 and bytes, withheld and substitutions (record, char) rendered by the code before the
# column path existed (commit 1be1a74): it must not change a byte, a record number or a report.
GOLDEN_BLOCKS = {
    ("hokenryo-kettei", "plain"): ("87ccbf2299025a44471c80f677769599977308ee83d1320d027d1815a567d515", 3523504, [], []),
    ("hokenryo-kettei", "partly"): ("e64768e263cd29ba6a1dd0e5b18e561c6707aaa6bf8155f9c2472b25d869c903", 880705,
                                    [3701], [(2501, "髙")]),
    ("hokenryo-kettei-utf8", "plain"): ("964603422b972c8a6c2df34af2223982653dd31cd0e3a3c966050a08b5ab41e2", 4047504,
                                        [], []),
    ("hokenryo-kettei-utf8", "partly"): ("5224d246f74599ac15fbd6ccd034ef6f859f8a8aa144e582ccc1cbe5fa8f156e", 1011886,
                                         [], []),
}


@pytest.mark.parametrize(("name", "records"), GOLDEN_BLOCKS)
def test_notices_render_as_before_the_column_path(name: str, records: str) -> None:
    policy = CharPolicy({"髙": "高", "〜": "～"}, on_unmapped="withhold")
    source = bench.records(20_000) if records == "plain" else _partly(5_000)
    data = b"".join(csv_codec.render(layouts.get("vendor", name), source, chars=policy))
    assert (hashlib.sha256(data).hexdigest(), len(data), policy.withheld,
            [(s.record_index, s.char) for s in policy.substitutions]) == GOLDEN_BLOCKS[name, records]
