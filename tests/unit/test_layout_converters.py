"""Converters: each round-trips its values and rejects what breaks its rule, naming the rule."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from mappings.converters import CONVERTERS, Converter, FieldContext, YearMonth
from mappings.errors import ConversionError, ParamError


def conv(name: str, encoding: str = "cp932", span: int | None = None, **params: Any) -> Converter:
    return CONVERTERS[name](params, FieldContext(encoding, span))


def rule_of(c: Converter, *, render: Any = None, parse: str | None = None) -> str:
    with pytest.raises(ConversionError) as exc:
        if parse is not None:
            c.parse(parse)
        else:
            c.render(render)
    return exc.value.rule


# --- round trips ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "params", "value", "text"), [
    ("text", {"max_bytes": 10, "charset": "jis_x0208"}, "山田　太郎", "山田　太郎"),
    ("text", {"charset": "halfwidth_kana"}, "ﾔﾏﾀﾞ ﾀﾛｳ", "ﾔﾏﾀﾞ ﾀﾛｳ"),
    ("text", {"charset": "ascii"}, 'a,"b"', 'a,"b"'),
    ("digits", {"width": 10}, "0012345678", "0012345678"),
    ("number", {"width": 4}, 7, "0007"),
    ("number", {}, 1234567, "1234567"),
    ("number", {"width": 5, "signed": True}, -12, "-0012"),
    ("amount", {}, 72000, "72000"),
    ("amount", {"width": 11}, Decimal("3000"), "00000003000"),
    ("date", {}, dt.date(2024, 2, 29), "20240229"),
    ("date", {"format": "YYYYMM"}, YearMonth(2024, 4), "202404"),
    ("code", {"codes": {"1": "特別徴収", "2": "普通徴収"}}, "2", "2"),
    ("code", {"table": "seibetsu"}, "1", "1"),
    ("constant", {"value": "5311"}, None, "5311"),
    ("filler", {"width": 3}, None, "   "),
    ("filler", {"width": 2, "fill": "zero"}, None, "00"),
])
def test_round_trip(name: str, params: dict[str, Any], value: Any, text: str) -> None:
    c = conv(name, **params)
    assert c.render(value) == text
    parsed = c.parse(text)
    if name == "filler":
        assert parsed is None
    elif name == "constant":
        assert parsed == text
    else:
        assert parsed == value


def test_yyyymm_accepts_a_date_on_render() -> None:
    assert conv("date", format="YYYYMM").render(dt.date(2024, 4, 15)) == "202404"


# --- rejections ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "params", "text", "rule"), [
    ("number", {"width": 4}, "12a4", "digits"),
    ("number", {"width": 4}, "１２３４", "digits"),  # full-width digits are not ASCII digits
    ("number", {"width": 4}, "123", "width"),
    ("number", {}, "-5", "digits"),
    ("amount", {}, "1,000", "digits"),
    ("digits", {"width": 10}, "12345", "width"),
    ("digits", {"width": 3}, "1 2", "digits"),
    ("date", {}, "20230230", "date"),
    ("date", {}, "20231301", "date"),
    ("date", {}, "2023-02-01", "date"),
    ("date", {"format": "YYYYMM"}, "202313", "date"),
    ("text", {"max_bytes": 4}, "山田太", "max_bytes"),  # 6 bytes in cp932
    ("text", {"charset": "jis_x0208"}, "髙橋", "charset"),  # IBM extension, not JIS X 0208
    ("text", {"charset": "jis_x0208"}, "ﾀﾛｳ", "charset"),  # half-width kana
    ("text", {"charset": "halfwidth_kana"}, "タロウ", "charset"),
    ("text", {"charset": "ascii"}, "é", "charset"),
    ("text", {}, "\ue000", "charset"),  # cp932 user-defined area (外字)
    ("text", {}, "\uf8f0", "charset"),  # Python's cp932 maps byte 0xA0 here (PUA): not carried
    ("text", {}, "a\r\nb", "control_char"),
    ("text", {"fullwidth_only": True, "charset": "jis_x0208"}, "ヤマダ タロウ", "fullwidth"),
    ("text", {"pattern": "[ァ-ヶー　]+"}, "やまだ", "pattern"),
    ("code", {"codes": {"1": "a", "2": "b"}}, "3", "code_table"),
    ("constant", {"value": "2"}, "1", "constant"),
    ("filler", {"width": 3}, " x ", "filler"),
    ("filler", {"width": 2, "fill": "zero"}, "  ", "filler"),
])
def test_parse_rejects(name: str, params: dict[str, Any], text: str, rule: str) -> None:
    assert rule_of(conv(name, **params), parse=text) == rule


@pytest.mark.parametrize(("name", "params", "value", "rule"), [
    ("number", {"width": 3}, 1000, "width"),
    ("number", {}, -1, "sign"),
    ("number", {}, "12", "type"),
    ("number", {}, True, "type"),
    ("number", {}, 1.5, "type"),
    ("amount", {}, Decimal("10.5"), "whole_yen"),
    ("date", {}, dt.datetime(2024, 1, 1, 12, 0), "type"),
    ("date", {}, "20240101", "type"),
    ("text", {"max_bytes": 3}, "ab", None),  # fits: no error expected
    ("text", {"max_bytes": 3}, "あい", "max_bytes"),
    ("text", {}, 12, "type"),
    ("code", {"codes": {"1": "a"}}, "9", "code_table"),
    ("constant", {"value": "1"}, "2", "constant"),
    ("filler", {"width": 2}, "xx", "filler"),
])
def test_render_rejects(name: str, params: dict[str, Any], value: Any, rule: str | None) -> None:
    c = conv(name, **params)
    if rule is None:
        c.render(value)
    else:
        assert rule_of(c, render=value) == rule


def test_max_bytes_counts_bytes_in_the_layout_encoding() -> None:
    # 3 kanji: 6 bytes in cp932, 9 in UTF-8
    conv("text", "cp932", max_bytes=6).render("山田太")
    assert rule_of(conv("text", "utf-8", max_bytes=6), render="山田太") == "max_bytes"


def test_cp932_one_way_codec_mappings_are_not_accepted_as_encodable() -> None:
    # Python's cp932 would write U+301C WAVE DASH as 0x8160, which reads back as U+FF5E.
    assert rule_of(conv("text", "cp932"), render="1〜2") == "charset"
    conv("text", "cp932").render("1～2")


def test_fixed_text_defaults_max_to_span_and_refuses_trailing_spaces() -> None:
    c = conv("text", span=4)
    assert rule_of(c, render="山田太") == "max_bytes"
    assert rule_of(c, render="ab ") == "trailing_space"


def test_error_detail_does_not_carry_the_value() -> None:
    with pytest.raises(ConversionError) as exc:
        conv("digits", width=10).parse("98765X3210")
    assert "98765X3210" not in str(exc.value)


# --- params --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "params", "param", "fragment"), [
    ("number", {"widht": 3}, "widht", "unknown for converter 'number'"),
    ("number", {"width": "3"}, "width", "must be int"),
    ("number", {"signed": 1}, "signed", "must be bool"),
    ("text", {"charset": "latin1"}, "charset", "must be one of"),
    ("text", {"pattern": "["}, "pattern", "not a regular expression"),
    ("code", {}, "codes", "exactly one"),
    ("code", {"table": "no_such_table"}, "table", "no code table"),
    ("constant", {}, "value", "required"),
    ("date", {"format": "YYMMDD"}, "format", "must be one of"),
])
def test_bad_params_are_named(name: str, params: dict[str, Any], param: str, fragment: str) -> None:
    with pytest.raises(ParamError) as exc:
        conv(name, **params)
    assert exc.value.param == param
    assert fragment in str(exc.value)


def test_param_width_must_agree_with_fixed_span() -> None:
    with pytest.raises(ParamError, match="disagrees with the field's byte width 5"):
        conv("number", span=5, width=4)


def test_registering_a_converter_is_adding_a_class() -> None:
    from mappings.converters import register
    from mappings.converters.base import Converter as Base

    class Upper(Base):
        name = "test_upper"

        def to_text(self, value: Any) -> str:
            return str(value).upper()

        def from_text(self, text: str) -> Any:
            return text.lower()

    register(Upper)
    try:
        c = conv("test_upper")
        assert c.render("abc") == "ABC"
        assert c.parse("ABC") == "abc"
        with pytest.raises(ValueError, match="registered twice"):
            register(Upper)
    finally:
        del CONVERTERS["test_upper"]
