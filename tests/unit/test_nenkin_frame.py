"""nenkin_frame: hand-written golden files both ways, the malformed corpus (each fault rejected
with its rule), render errors and the CharPolicy, and streaming."""

from __future__ import annotations

import io
import tracemalloc
from typing import Any

import pytest

from mappings import layouts, nenkin_frame, nenkin_render
from mappings.charpolicy import CharPolicy
from mappings.errors import EncodingError, RenderError
from mappings.records import ParsedRecord, RecordError
from tests.unit import nenkin_golden as g

JIS, CP932 = g.z12(jis=True), g.z12(jis=False)
PLAIN = layouts.get("nenkin", "tokucho-cp932")


def parse(data: bytes, **kw: Any) -> list[ParsedRecord | RecordError]:
    return list(nenkin_frame.parse(io.BytesIO(data), file="DE01Z12202601.DTA", **kw))


def render(recs: list[dict[str, Any]], **kw: Any) -> bytes:
    return b"".join(nenkin_render.render(g.CONTROL, recs, **kw))


def errors(items: list[ParsedRecord | RecordError]) -> list[tuple[int, str | None, str]]:
    return [(e.record_no, p.field, p.rule) for e in items if isinstance(e, RecordError) for p in e.problems]


def test_hand_written_pieces_agree_with_pythons_codecs() -> None:
    for name, (kana, kanji) in g.TEXT.items():
        assert kanji.encode("iso2022_jp") == g.ESC_KANJI + g.JIS[name] + g.ESC_ASCII
        assert (kanji.encode("cp932"), kana.encode("cp932")) == (g.SJIS[name], g.KANA[name])
    assert len(JIS) == len(CP932) == 96 + 7 * 500


def test_golden_files_are_the_hand_written_bytes() -> None:
    assert (g.GOLDEN / "z12-jis.dta").read_bytes() == JIS
    assert (g.GOLDEN / "z12-cp932.dta").read_bytes() == CP932


@pytest.mark.parametrize(("data", "layout"), [(JIS, None), (CP932, PLAIN)], ids=["iso2022jp", "cp932"])
def test_render_gives_the_golden_bytes(data: bytes, layout: Any) -> None:
    assert render(g.records(), layout=layout) == data


@pytest.mark.parametrize(("data", "layout"), [(JIS, None), (CP932, PLAIN)], ids=["iso2022jp", "cp932"])
def test_parse_golden(data: bytes, layout: Any) -> None:
    got = parse(data, layout=layout)
    assert all(isinstance(r, ParsedRecord) for r in got), errors(got)
    assert [(r.kind, r.record_no) for r in got] == [
        ("kanri", 1), ("file_kanri", 2), ("header", 3), ("data", 4), ("data", 5), ("trailer", 6), ("header", 7),
        ("data", 8), ("trailer", 9)]
    data_values = [r.values for r in got if r.kind == "data"]
    shared = {"record_kubun": "2", "gimusha_code": "001", "tsuchi_naiyo_code": "01", "seido_code": "0",
              "sakusei_ymd": g.CONTROL["sakusei_ymd"], "koki_ikan_code": None, "kakushu_ymd": None,
              "kyosai_shosho_no": None}
    shifts = {"shift1": "\x1b$B", "shift2": "\x1b(B", "shift3": "\x1b$B", "shift4": "\x1b(B"} if layout is None else {}
    assert data_values == [{**shared, **shifts, **rec} for rec in g.records()]
    assert got[0].values == {"shichoson_code": "13112", "baitai_tsuban": 1, "sakusei_ymd": g.CONTROL["sakusei_ymd"]}
    assert got[1]["file_kensu"] == 7 and got[5]["gokei_kingaku1"] == 20345 and got[5]["gokei_kensu"] == 2


def test_the_jis_form_decodes_with_pythons_iso2022_jp_outside_the_kana() -> None:
    rec = JIS[96 + 500:96 + 1000]
    text = rec[72:381].decode("iso2022_jp", "replace")  # 氏名 from its シフトコード to 住所's last
    assert "山田　太郎" in text and "東京都世田谷区" in text


def _at(record: int, pos: int, new: bytes, data: bytes = JIS) -> bytes:
    """`data` with bytes `new` at 1-based position `pos` of 500-byte record `record` (3 = first)."""
    start = 96 + (record - 3) * 500 + pos - 1
    return data[:start] + new + data[start + len(new):]


def _records(data: bytes, *order: int) -> bytes:
    return data[:96] + b"".join(data[96 + (n - 3) * 500:96 + (n - 2) * 500] for n in order)


CORPUS: dict[str, tuple[bytes, list[tuple[int, str | None, str]]]] = {
    "length-not-multiple": (JIS + b"2", [(10, None, "length")]),
    "truncated": (JIS[:-120], [(9, None, "length"), (9, None, "block_structure")]),
    "trailer-total": (_at(6, 31, b"00000020346"), [(6, "gokei_kingaku1", "trailer_total")]),
    "trailer-count": (_at(9, 22, b"000000002"), [(9, "gokei_kensu", "trailer_count")]),
    "seido-code": (_at(9, 13, b"1", _at(8, 13, b"1", _at(7, 13, b"1"))),
                   [(7, "seido_code", "seido_code"), (8, "seido_code", "seido_code"), (9, "seido_code", "seido_code")]),
    "tsuchi-naiyo-differs": (_at(5, 10, b"31"), [(5, "tsuchi_naiyo_code", "same_as_header")]),
    "gimusha-differs-in-trailer": (_at(6, 7, b"002"), [(6, "gimusha_code", "same_as_header")]),
    "bad-encoding-mid-record": (_at(4, 80, b"\x7f\x21"), [(4, "kanji_shimei", "encoding")]),
    "bad-kana-byte": (_at(4, 50, b"\x81"), [(4, "kana_shimei", "charset")]),
    "block-out-of-order": (_records(JIS, 7, 8, 9, 3, 4, 5, 6), [(6, "shichoson_code", "block_order")]),
    "same-city-twice": (_records(JIS, 3, 4, 5, 6, 3, 4, 5, 6), [(7, "shichoson_code", "block_order"),
                                                               (2, "file_kensu", "file_count")]),
    "trailer-missing": (_records(JIS, 3, 4, 5, 7, 8, 9), [(6, None, "block_structure"),
                                                         (2, "file_kensu", "file_count")]),
    "data-outside-block": (_records(JIS, 4, 3, 5, 6, 7, 8, 9), [
        (3, None, "block_structure"), (6, "gokei_kensu", "trailer_count"), (6, "gokei_kingaku1", "trailer_total"),
        (6, "gokei_kingaku2", "trailer_total")]),
    "record-kind": (_at(5, 1, b"9"), [(5, None, "record_kind")]),
    "file-count": (JIS[:48] + b"000006" + JIS[54:], [(2, "file_kensu", "file_count")]),
    "empty": (b"", [(0, None, "empty_file")]),
    "short-kanri": (JIS[:30], [(1, None, "length")]),
}


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_malformed_corpus_each_fault_has_its_rule(name: str) -> None:
    data, expected = CORPUS[name]
    assert errors(parse(data)) == expected


def test_a_bad_cp932_byte_in_the_plain_form() -> None:
    bad = _at(4, 80, b"\x81\x20", CP932)
    assert errors(parse(bad, layout=PLAIN)) == [(4, "kanji_shimei", "encoding")]


def test_errors_carry_the_byte_offset_and_mask_personal_values() -> None:
    [err] = [e for e in parse(_at(4, 80, b"\x7f\x21")) if isinstance(e, RecordError)]
    assert err.offset == 96 + 500 and err.file == "DE01Z12202601.DTA"
    assert err.problems[0].raw is not None and err.problems[0].raw.startswith("<masked")


def test_render_refuses_unsorted_cities_and_a_record_off_the_header() -> None:
    recs = g.records()
    with pytest.raises(RenderError) as exc:
        render([recs[2], recs[0]])
    assert (exc.value.field, exc.value.rule) == ("shichoson_code", "block_order")
    with pytest.raises(RenderError) as exc:
        render([{**recs[0], "tsuchi_naiyo_code": "31"}])
    assert (exc.value.field, exc.value.rule) == ("tsuchi_naiyo_code", "same_as_header")
    with pytest.raises(nenkin_frame.NenkinFrameError):
        b"".join(nenkin_render.render({**g.CONTROL, "seido_code": "1"}, recs))


def test_half_width_text_in_a_kanji_field_is_reported_and_held() -> None:
    recs = g.records()
    recs[1]["kanji_shimei"] = "SATO HANAKO"  # ASCII: no JIS X 0208 code
    with pytest.raises(EncodingError) as exc:
        render(recs)
    assert (exc.value.field, exc.value.rule) == ("kanji_shimei", "unencodable")
    chars = CharPolicy(on_unmapped="withhold")
    data = render(recs, chars=chars)
    assert chars.withheld == [2] and {i.char for i in chars.issues} == set("SATOHNK ")
    got = parse(data)
    assert errors(got) == [] and [r["kiso_nenkin_no"] for r in got if r.kind == "data"] == ["1234567890", "3234567890"]
    assert got[4]["gokei_kensu"] == 1 and got[4]["gokei_kingaku1"] == 12345 and got[1]["file_kensu"] == 6


def test_trailing_full_width_space_would_not_survive_and_is_refused() -> None:
    with pytest.raises(RenderError) as exc:
        render([{**g.records()[0], "kanji_shimei": "山田　"}])
    assert (exc.value.field, exc.value.rule) == ("kanji_shimei", "trailing_space")


def test_file_kind_from_the_name() -> None:
    assert [nenkin_frame.file_kind(n) for n in ("Z1100001.DTA", "DE01Z12202601.DTA", "z1a00012.dta",
                                                "/in/Z14_x.DTA", "Z2100001.DTA", "X.DTA")] == [
        "Z11", "Z12", "Z1A", "Z14", None, None]


def test_stream_memory_stays_flat() -> None:
    recs = g.records()

    def source():  # 20,000 data records of one block, never the whole file in memory
        yield JIS[:48] + b"020002" + JIS[54:96] + JIS[96:596]
        one = JIS[596:1096]
        for _ in range(20_000):
            yield one
        yield JIS[1596:1596 + 21] + b"000020000" + b"%011d" % (12345 * 20_000) + b"%011d" % (12000 * 20_000) \
            + JIS[1596 + 52:2096]

    tracemalloc.start()
    try:
        items = list(e for e in nenkin_frame.parse(source()) if isinstance(e, RecordError))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert items == [] and recs
    assert peak < 2_000_000, peak  # the stream is 10 MB
