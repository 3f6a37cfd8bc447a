"""全角カタカナ → half-width kana (mappings/halfwidth_kana.py), expected values typed by hand."""

from __future__ import annotations

import pytest

from mappings.halfwidth_kana import to_halfwidth_kana


@pytest.mark.parametrize(("text", "half"), [
    ("ヤマダ　タロウ", "ﾔﾏﾀﾞ ﾀﾛｳ"),  # 全角空白 → space
    ("ガギグゲゴ", "ｶﾞｷﾞｸﾞｹﾞｺﾞ"),
    ("パピプペポ", "ﾊﾟﾋﾟﾌﾟﾍﾟﾎﾟ"),
    ("ヴ", "ｳﾞ"),  # no half-width ヴ: ｳ + ﾞ
    ("ー・「」。、", "ｰ･｢｣｡､"),
    ("ァィゥェォッャュョ", "ｧｨｩｪｫｯｬｭｮ"),
    ("カ\u3099", "ｶ\u3099"),  # a lone combining mark is no kana: left for the charset check
    ("゛゜", "ﾞﾟ"),  # spacing marks
    ("ＡＢＣ１２３", "ABC123"),  # full-width ASCII folds
    ("ABC ｱｲｳ", "ABC ｱｲｳ"),  # already half-width: unchanged
    ("ヰヱヵヶ", "ヰヱヵヶ"),  # no half-width form: left for the charset check to report
    ("山田", "山田"),
    ("", ""),
])
def test_halfwidth(text: str, half: str) -> None:
    assert to_halfwidth_kana(text) == half


def test_the_same_character_converts_the_same_every_time() -> None:
    # The conversion is memoised per character: a second pass must agree with the first.
    text = "ガ　ヰＡゞ\u3099"
    assert to_halfwidth_kana(text) == to_halfwidth_kana(text) == "ｶﾞ ヰAゞ\u3099"
