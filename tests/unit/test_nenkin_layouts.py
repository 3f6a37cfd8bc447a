"""年金特徴 layouts and the jis_x0208_raw codec: widths, the per-field encoding in the loader,
the codec against Python's codecs, and Hypothesis round trips of whole files in both forms."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mappings import charsets, jis_raw, layouts, load_layout, nenkin_frame, nenkin_render
from mappings.charsets import cp932_class
from mappings.errors import LayoutError
from mappings.records import ParsedRecord

JIS_FORM, PLAIN = layouts.get("nenkin", "tokucho"), layouts.get("nenkin", "tokucho-cp932")


def test_layout_lengths_and_positions() -> None:
    assert layouts.get("nenkin", "kanri").kinds[0].length == 48
    assert layouts.get("nenkin", "file-kanri").kinds[0].length == 48
    for layout in (JIS_FORM, PLAIN):
        assert [k.length for k in layout.kinds] == [500, 500, 500]
        spans = {f.name: (f.span.start, f.span.width) for f in layout.kind("data").fields if f.span}
        # the check tool's character offsets (0-based, after iso2022_jp decoding) land here
        assert spans["kana_shimei"] == (48, 25) and spans["kanji_shimei"] == (76, 50)
        assert spans["kanji_jusho"] == (219, 160) and spans["kakushu_kubun"] == (382, 2)
        assert spans["kingaku1"] == (395, 11) and spans["kyosai_shosho_no"] == (486, 15)
    assert [f.encoding for f in JIS_FORM.kind("data").fields if f.encoding] == ["jis_x0208_raw"] * 2


def test_codec_agrees_with_pythons_iso2022_jp_and_cp932() -> None:
    n = 0
    for lead in range(0x81, 0xFD):
        for trail in range(0x40, 0xFD):
            try:
                char = bytes((lead, trail)).decode("cp932")
            except UnicodeDecodeError:
                continue
            if cp932_class(char) != "jis_x0208":
                continue
            n += 1
            raw = char.encode(jis_raw.NAME)
            assert raw.decode(jis_raw.NAME) == char
            try:
                assert char.encode("iso2022_jp") == b"\x1b$B" + raw + b"\x1b(B"
            except UnicodeEncodeError:  # cp932's FF5E etc.: iso2022_jp knows the JIS reading only
                assert char in "～∥－￠￡￢"
    assert n > 6800


def test_codec_fast_path_is_the_code_by_code_path() -> None:
    for cp in (*range(0x20, 0x3100), *range(0x4E00, 0xA000), *range(0xFF00, 0x10000)):
        char = chr(cp)
        for text in (char, "山" + char):
            try:
                fast: bytes | None = text.encode(jis_raw.NAME)
            except UnicodeEncodeError:
                fast = None
            try:
                slow: bytes | None = jis_raw._slow_encode(text)
            except UnicodeEncodeError:
                slow = None
            assert fast == slow, hex(cp)
    for a in range(256):
        for b in (0x21, 0x41, 0x7E, 0x7F, 0xA1):
            pair = bytes((a, b))
            try:
                got: str | None = pair.decode(jis_raw.NAME)
            except UnicodeDecodeError:
                got = None
            try:
                ref: str | None = jis_raw._slow_decode(pair)
            except UnicodeDecodeError:
                ref = None
            assert got == ref
    with pytest.raises(UnicodeDecodeError):
        b"\x3b".decode(jis_raw.NAME)  # a code cut in half


def test_the_codecs_repertoire_is_what_survives_encode_then_decode() -> None:
    """charsets takes the codec's characters to be its repertoire (a set lookup): for every BMP
    character, that is the round trip through the codec."""
    in_codec = charsets.allowed_chars(jis_raw.NAME, "any")
    for cp in range(0x10000):
        char = chr(cp)
        try:
            survives = char.encode(jis_raw.NAME).decode(jis_raw.NAME) == char
        except UnicodeError:
            survives = False
        assert in_codec(char) is survives, hex(cp)


FIELD = '{{ name = "a", label = "甲", {loc}, converter = "{conv}", encoding = "{enc}" }}'


def _load(tmp_path: Path, framing: str, loc: str, conv: str = "text", enc: str = "jis_x0208_raw") -> Any:
    length = "length = 4\n" if "fixed" in framing else ""
    text = (f'partner = "test"\nname = "enc"\nversion = "1"\nsource = "t"\nencoding = "cp932"\n{framing}\n'
            f'[[records]]\nkind = "r"\n{length}fields = [{FIELD.format(loc=loc, conv=conv, enc=enc)}]\n')
    path = tmp_path / "enc-v1.toml"
    path.write_text(text, encoding="utf-8")
    return load_layout(path)


def test_loader_rules_for_a_field_encoding(tmp_path: Path) -> None:
    assert _load(tmp_path, "[fixed]", "start = 1, width = 4").fields[0].encoding == "jis_x0208_raw"
    for framing, loc, conv, enc, rule in [
        ("[csv]", "column = 0", "text", "jis_x0208_raw", "fixed-length layouts only"),
        ("[fixed]", "start = 1, width = 4", "digits", "jis_x0208_raw", "only for a text field"),
        ("[fixed]", "start = 1, width = 4", "text", "no-such-codec", "unknown encoding"),
    ]:
        with pytest.raises(LayoutError) as exc:
            _load(tmp_path, framing, loc, conv, enc)
        assert rule in str(exc.value)


JIS_CHARS = "山田太郎花子佐藤鈴木高橋渡辺東京都世田谷区池尻丁目番号ー・アイウヱヴヶ０１２ＡＺ々〆～－"
KANA = [chr(c) for c in range(0xFF66, 0xFFA0)] + list("0123456789 -()")


def _text(chars: Any, max_size: int) -> Any:
    return st.text(chars, min_size=1, max_size=max_size).filter(lambda s: not s.endswith((" ", "　")))


PERSON = st.fixed_dictionaries({
    "kiso_nenkin_no": st.from_regex(r"[0-9]{10}", fullmatch=True),
    "nenkin_code": st.from_regex(r"[0-9]{4}", fullmatch=True),
    "birth_ymd": st.dates(dt.date(1900, 1, 1), dt.date(2010, 12, 31)), "seibetsu": st.sampled_from(["1", "2"]),
    "kana_shimei": _text(st.sampled_from(KANA), 25),
    "kanji_shimei": st.none() | _text(st.sampled_from(JIS_CHARS + "　"), 25),
    "yubin_no": st.none() | st.from_regex(r"[0-9]{7}", fullmatch=True),
    "kana_jusho": st.none() | _text(st.sampled_from(KANA), 80),
    "kanji_jusho": st.none() | _text(st.sampled_from(JIS_CHARS + "　"), 80),
    "kakushu_kubun": st.sampled_from(["00", "01", "02", "03"]), "shori_kekka": st.just("00"),
    "kakushu_ymd": st.none() | st.dates(dt.date(2000, 1, 1), dt.date(2030, 12, 31)),
    "kingaku1": st.integers(0, 10**9), "kingaku2": st.integers(0, 10**9), "kingaku3": st.integers(0, 10**9),
    "kyosai_shosho_no": st.none() | st.from_regex(r"[0-9A-Z]{1,15}", fullmatch=True),
})


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["13101", "13112", "13113"]), PERSON), max_size=6),
       st.sampled_from([JIS_FORM, PLAIN]))
def test_round_trip_full_width_names_and_shift_codes(people: list[tuple[str, dict[str, Any]]], layout: Any) -> None:
    recs = [{"shichoson_code": city, **{k: v for k, v in p.items() if v is not None}}
            for city, p in sorted(people, key=lambda t: t[0])]
    control = {"shichoson_code": "13112", "baitai_tsuban": 7, "sakusei_ymd": dt.date(2026, 10, 1),
               "gimusha_code": "001", "tsuchi_naiyo_code": "31", "baitai_code": "6"}
    data = b"".join(nenkin_render.render(control, recs, layout=layout))
    cities = len({r["shichoson_code"] for r in recs})
    assert len(data) == 96 + 500 * (len(recs) + 2 * cities)
    got = list(nenkin_frame.parse(io.BytesIO(data), layout=layout))
    assert all(isinstance(r, ParsedRecord) for r in got)
    rows = [r for r in got if isinstance(r, ParsedRecord) and r.kind == "data"]
    assert [{k: r.values.get(k) for k in PERSON_KEYS} for r in rows] == [
        {k: rec.get(k) for k in PERSON_KEYS} for rec in recs]
    shift = data[96 + 500 + 72:96 + 500 + 75] if recs else None
    assert shift in (None, b"\x1b$B" if layout is JIS_FORM else b"   ")
    trailers = [r for r in got if isinstance(r, ParsedRecord) and r.kind == "trailer"]
    assert sum(t["gokei_kingaku3"] for t in trailers) == sum(r["kingaku3"] for r in recs)


PERSON_KEYS = ("shichoson_code", "kiso_nenkin_no", "nenkin_code", "birth_ymd", "seibetsu", "kana_shimei",
               "kanji_shimei", "yubin_no", "kana_jusho", "kanji_jusho", "kakushu_kubun", "shori_kekka",
               "kakushu_ymd", "kingaku1", "kingaku2", "kingaku3", "kyosai_shosho_no")
