"""The fixed-length render fast path (mappings/fixed_fast.py) against the field-by-field path it
stands in for (``FixedRenderer(fast=False)``, the code that rendered every record before it): the
same bytes, the same CharPolicy reports in the same order, the same RenderError, for every field of
the 年金特徴 layouts set to edge values, for runs mixing plain and odd records, for random records
(hypothesis), and through nenkin_render.render, whose data records now go RUN at a time."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mappings import fixed_codec, jis_raw, layouts, nenkin_frame, nenkin_render
from mappings.charpolicy import CharPolicy
from mappings.errors import EncodingError, RenderError
from mappings.fixed_codec import FixedRenderer, plan
from mappings.fixed_fast import _ONE_BYTE
from mappings.layout import KIND_KEY, Layout, RecordKind
from tests.unit import nenkin_golden as g
from tests.unit.test_codec_fixed import FRAMED_LAYOUT, SJIS, UTF8, person

JIS_FORM = layouts.get("nenkin", "tokucho", "1")
CP932_FORM = layouts.get("nenkin", "tokucho-cp932", "1")
NENKIN = [JIS_FORM, CP932_FORM, layouts.get("nenkin", "kanri", "1"), layouts.get("nenkin", "file-kanri", "1")]
OTHERS = [SJIS, UTF8, FRAMED_LAYOUT]  # cp932 / UTF-8 / CRLF-separated layouts of tests/unit/test_codec_fixed.py
TABLE = {"髙": "高", "﨑": "崎", "𠮷": "吉", "〜": "～"}  # 𠮷's replacement 吉 is in JIS X 0208
POLICIES: list[dict[str, Any]] = [{}, {"table": TABLE}, {"table": TABLE, "on_unmapped": "withhold"},
                                  {"on_unmapped": "withhold"}]

# Edge values for any field: empty, characters of each kind (half-width kana, JIS X 0208 kanji,
# ones cp932 lacks, IBM/NEC extensions JIS X 0208 lacks), trailing spaces, wrong types.
EDGES: list[Any] = [None, "", " ", "ｱｲｳ", "山田", "髙橋", "𠮷田", "﨑", "①", "é", "〜", "山田\u3000", "ﾀﾛｳ ",
                    "\u3000", "A\x01", 0, -1, 7, True, 1.5, Decimal("12"), Decimal("1.5"), dt.date(2026, 2, 28),
                    dt.datetime(2026, 2, 28, 12, 0), "20260228", [1]]


class Sneaky(str):
    """A str subclass that equals its value but renders another (the full path calls str())."""

    def __str__(self) -> str:
        return "2"


def sized(f: Any) -> list[Any]:
    """Values at the field's width and one over, in each kind of character it might take."""
    assert f.span is not None
    w = f.span.width
    return ["1" * w, "1" * (w + 1), "A" * w, "A" * (w + 1), "ｱ" * w, "ｱ" * (w + 1), "山" * (w // 2),
            "山" * (w // 2 + 1), "山" * (w // 2 - 1) + "ｱ", 10**w - 1, 10**w, "9" * (w - 1)]


def plain(layout: Layout, kind: RecordKind) -> dict[str, Any]:
    """A record every field of which takes the quick path (from the golden file's values)."""
    rec = {KIND_KEY: kind.name} if len(layout.kinds) > 1 else {}
    if layout in (SJIS, UTF8):
        return person(kana="ﾀｶﾊ")
    if layout is FRAMED_LAYOUT:
        values: dict[str, dict[str, Any]] = {"header": {"city": "13112", "created": dt.date(2026, 7, 1)},
                                             "data": {"seq": 1, "amount": 100}, "trailer": {"count": 1}}
        return {**rec, **values[kind.name]}
    if layout.name == "kanri":
        return {**rec, "shichoson_code": "13112", "baitai_tsuban": 1, "sakusei_ymd": dt.date(2026, 7, 1)}
    if layout.name == "file-kanri":
        return {**rec, "file_kensu": 7}
    shared = {"shichoson_code": "13112", "gimusha_code": "001", "tsuchi_naiyo_code": "01", "seido_code": "0",
              "sakusei_ymd": dt.date(2026, 7, 1)}
    if kind.name == "header":
        return {**rec, **shared, "baitai_code": "6"}
    if kind.name == "trailer":
        return {**rec, **shared, "gokei_kensu": 2, "gokei_kingaku1": 20345, "gokei_kingaku2": 12000,
                "gokei_kingaku3": 0}
    return {**rec, **shared, **g.records()[0]}


def layouts_kinds() -> list[tuple[Layout, RecordKind]]:
    return [(lay, kind) for lay in NENKIN + OTHERS for kind in lay.kinds]


def outcome(layout: Layout, records: Sequence[Mapping[str, Any]], policy: Mapping[str, Any], how: str,
            first: int = 7) -> tuple[Any, ...]:
    """Bytes (and which records were kept), or the RenderError; and the CharPolicy's reports:
    record by record field by field (the reference), by FixedRenderer.run, or by fixed_codec.render
    in chunks of 4 (records numbered from 1; which were kept is not told)."""
    chars = CharPolicy(**policy)
    renderer = FixedRenderer(layout, chars, fast=how != "record")
    try:
        if how == "run":
            raw, kept = renderer.run(first, records)
            got: Any = (raw, [any(k is r for k in kept) for r in records])
        elif how == "stream":
            got = (b"".join(fixed_codec.render(layout, records, chars=chars, batch=4)), None)
        else:
            each = [renderer.record(first + i, r) for i, r in enumerate(records)]
            got = (b"".join(b for b in each if b is not None), [b is not None for b in each])
    except RenderError as exc:
        got = (type(exc), exc.layout, exc.record_index, exc.record_key, exc.field, exc.rule, exc.detail, str(exc))
    return got, chars.substitutions, chars.issues, chars.withheld


def assert_same(layout: Layout, records: Sequence[Mapping[str, Any]], policy: Mapping[str, Any]) -> Any:
    reference = outcome(layout, records, policy, "record")
    assert outcome(layout, records, policy, "run") == reference
    from_one = outcome(layout, records, policy, "record", first=1)
    if len(from_one[0]) == 2:
        from_one = ((from_one[0][0], None), *from_one[1:])
    assert outcome(layout, records, policy, "stream") == from_one
    return reference


def test_the_assumptions_of_the_fast_path() -> None:
    ascii_ = "".join(map(chr, range(128)))
    for enc in _ONE_BYTE:  # written as itself: templates and foreign fields' codes are spliced as ASCII
        assert ascii_.encode(enc) == ascii_.encode("ascii")
    assert all(len(c.encode(jis_raw.NAME)) == 2 for c in jis_raw.repertoire())


@pytest.mark.parametrize(("layout", "kind"), [(lay, k) for lay in NENKIN + OTHERS for k in lay.kinds],
                         ids=lambda x: getattr(x, "id", None) or x.name)
def test_every_kind_has_a_fast_path_that_takes_plain_records(layout: Layout, kind: RecordKind) -> None:
    fast = plan(layout, kind).fast
    assert fast is not None
    rec = plain(layout, kind)  # in the person layouts, kanji of 2 and 3 bytes (cp932, UTF-8)
    assert isinstance(fast.render([rec, rec]), bytes)  # vouched for: not left to the full path
    assert isinstance(fast.render([rec, {**rec, "no_such_field": 1}, rec]), list)
    assert_same(layout, [rec, {**rec, "no_such_field": 1}, rec], {})


@pytest.mark.parametrize(("layout", "kind"), layouts_kinds(), ids=lambda x: getattr(x, "id", None) or x.name)
def test_every_field_at_its_edges(layout: Layout, kind: RecordKind) -> None:
    base = plain(layout, kind)
    assert_same(layout, [base], {})[0][0] != b""
    records = [{**base, f.name: v} for f in kind.fields for v in [*EDGES, *sized(f)]]
    records += [{k: v for k, v in base.items() if k != f.name} for f in kind.fields]  # each field absent
    results = {"ok": 0, "error": 0}
    for policy in POLICIES:
        for rec in records:
            got = assert_same(layout, [rec], policy)[0]
            results["ok" if len(got) == 2 else "error"] += 1
    assert results["ok"] > len(POLICIES) and results["error"] > len(POLICIES)  # both kinds of outcome were seen


@pytest.mark.parametrize("layout", [JIS_FORM, CP932_FORM], ids=["jis", "cp932"])
@pytest.mark.parametrize("policy", POLICIES[1:], ids=["table", "withhold-table", "withhold"])
def test_runs_mixing_plain_and_odd_records(layout: Layout, policy: dict[str, Any]) -> None:
    base = plain(layout, layout.kind("data"))
    odd = [{**base, "kanji_shimei": "髙田"}, {**base, "kanji_shimei": "𠮷田"}, {**base, "kana_shimei": "ﾀﾛｳ①"},
           {**base, "kanji_jusho": "東京都\u3000区"}, {**base, "kanji_jusho": "山" * 80}, {**base, "yubin_no": None},
           {**base, "kanji_shimei": "山田〜"}, {**base, "kyosai_shosho_no": "AB-1"},
           # equal to the values around them in their column, but not the same: each on its own
           {**base, "kingaku3": Decimal(0)}, {**base, "seibetsu": Sneaky("1")}]
    records = [base] * 5 + [r for o in odd for r in (o, base, base)]
    got = assert_same(layout, records, policy)[0]
    if policy.get("on_unmapped") == "withhold":
        raw, kept = got
        assert len(raw) == 500 * sum(kept) and len(odd) > len(records) - sum(kept) > 0
    else:
        assert got[0] is EncodingError and got[2] == 7 + 5 + 2 * 3  # the ① nothing maps
    header = plain(layout, layout.kind("header"))
    assert_same(layout, [header, *records[:6]], policy)  # kinds mixed: record by record
    for bad, rule in [({**base, "kingaku1": -5}, "sign"), ({**base, "kanji_jusho": "東京都\u3000"}, "trailing_space"),
                      ({**base, "kingaku3": False}, "type")]:  # False == 0, the kingaku3 of the others
        got = assert_same(layout, [*records[:9], bad, *records], policy)[0]
        if layout is JIS_FORM or rule == "sign":  # the cp932 form pads with ASCII spaces: U+3000 is text
            assert got[0] is RenderError and got[2] == 7 + 9 and got[5] == rule


@pytest.mark.parametrize("layout", [JIS_FORM, CP932_FORM], ids=["jis", "cp932"])
@pytest.mark.parametrize("same", [{KIND_KEY: "data", "gimusha_code": "002", "sakusei_ymd": dt.date(2026, 8, 1)},
                                  {"gimusha_code": "002"}, {KIND_KEY: "data", "record_kubun": "2"},
                                  {KIND_KEY: "data", "seibetsu": "3"}, {KIND_KEY: "header"}],
                         ids=["shared", "no-kind", "a-constant", "bad-code", "other-kind"])
def test_runs_with_values_every_record_takes(layout: Layout, same: dict[str, Any]) -> None:
    """``run(..., same)`` is ``run`` of ``{**record, **same}``: a record's own value given too,
    equal or not (the frame checks that), a record without it, a KIND_KEY only in ``same``."""
    base = plain(layout, layout.kind("data"))
    records = [base, {k: v for k, v in base.items() if k not in ("gimusha_code", KIND_KEY)}, base,
               {**base, "kanji_shimei": "髙田"}, {**base, "sakusei_ymd": None}, base]
    policy: dict[str, Any] = {"table": TABLE, "on_unmapped": "withhold"}
    reference = outcome(layout, [{**r, **same} for r in records], policy, "record")
    chars = CharPolicy(**policy)
    try:
        raw, kept = FixedRenderer(layout, chars).run(7, records, same)
        got: Any = (raw, [any(k is r for k in kept) for r in records])
    except RenderError as exc:
        got = (type(exc), exc.layout, exc.record_index, exc.record_key, exc.field, exc.rule, exc.detail, str(exc))
    assert (got, chars.substitutions, chars.issues, chars.withheld) == reference
    if "sakusei_ymd" in same:  # the plain records, with and without the value: the fast path's
        fast = plan(layout, layout.kind("data")).fast
        assert fast is not None and isinstance(fast.render([base, records[1]], "", same), bytes)


def record_values(kind: RecordKind) -> st.SearchStrategy[dict[str, Any]]:
    """Records of the kind: each field absent, an edge value, or one its converter takes."""
    def value(f: Any) -> st.SearchStrategy[Any]:
        assert f.span is not None
        w, conv = f.span.width, f.converter
        chars = st.sampled_from("ｱｲｳﾀﾛ 1A山田髙𠮷﨑\u3000〜é")
        typed: list[st.SearchStrategy[Any]] = [st.sampled_from(EDGES), st.text(chars, max_size=w // 2 + 2)]
        if conv.name in ("digits", "code"):
            codes = sorted(getattr(conv, "codes", {})) or ["0" * w]
            typed += [st.text("0123456789", min_size=w, max_size=w), st.sampled_from(codes)]
        if conv.name in ("number", "amount"):
            typed.append(st.integers(0, 10**w))
        if conv.name == "date":
            typed.append(st.dates(dt.date(1900, 1, 1), dt.date(2100, 12, 31)))
        return st.one_of(*typed)
    fields = {f.name: value(f) for f in kind.fields if not f.converter.always}
    return st.fixed_dictionaries({}, optional=fields)


@settings(max_examples=150, deadline=None)
@given(data=st.data(), which=st.sampled_from([JIS_FORM, CP932_FORM]), policy=st.sampled_from(POLICIES))
def test_random_records(data: st.DataObject, which: Layout, policy: dict[str, Any]) -> None:
    kind = which.kind("data")
    base = plain(which, kind)
    changes = data.draw(st.lists(record_values(kind), min_size=1, max_size=6))
    records = [{**base, **c, KIND_KEY: "data"} for c in changes]
    assert_same(which, records, policy)


# --- through nenkin_render.render: runs of RUN records ------------------------------------------------------

def reference_file(layout: Layout, records: list[dict[str, Any]], chars: CharPolicy) -> bytes:
    """One block, record by record on the field-by-field path, as the frame's docstring says."""
    r = FixedRenderer(layout, chars, fast=False)
    shared = {k: g.CONTROL[k] for k in ("gimusha_code", "tsuchi_naiyo_code", "sakusei_ymd")} | {"seido_code": "0"}
    head = r.record(1, {KIND_KEY: "header", "shichoson_code": "13112", "baitai_code": "6", **shared})
    each = [(rec, r.record(i, {**rec, **shared, KIND_KEY: "data"})) for i, rec in enumerate(records, start=1)]
    kept = [(rec, raw) for rec, raw in each if raw is not None]
    sums = {f"gokei_kingaku{n}": sum(rec[f"kingaku{n}"] for rec, _ in kept) for n in (1, 2, 3)}
    tail = r.record(0, {KIND_KEY: "trailer", "shichoson_code": "13112", **shared, "gokei_kensu": len(kept), **sums})
    kanri = FixedRenderer(nenkin_frame.kanri_layout(), fast=False).record(0, {
        "shichoson_code": "13112", "baitai_tsuban": 1, "sakusei_ymd": g.CONTROL["sakusei_ymd"]})
    count = FixedRenderer(nenkin_frame.file_kanri_layout(), fast=False).record(0, {"file_kensu": len(kept) + 2})
    assert head and tail and kanri and count
    return kanri + count + head + b"".join(raw for _, raw in kept) + tail


def people(n: int) -> list[dict[str, Any]]:
    """n data records, every 37th with a kanji JIS X 0208 lacks (substituted, or withheld without
    the table), every 53rd with one nothing maps (withheld)."""
    base = g.records()[0]
    out = []
    for i in range(n):
        kanji = "①田" if i % 53 == 5 else "髙橋" if i % 37 == 3 else "山田　太郎"
        out.append({**base, "kiso_nenkin_no": f"{i:010d}", "kanji_shimei": kanji, "kingaku1": i})
    return out


@pytest.mark.parametrize("layout", [JIS_FORM, CP932_FORM], ids=["jis", "cp932"])
def test_file_over_several_runs_with_substitutions_and_withheld_records(layout: Layout) -> None:
    records = people(3 * nenkin_frame.RUN + 11)
    ours, theirs = CharPolicy(TABLE, "withhold"), CharPolicy(TABLE, "withhold")
    data = b"".join(nenkin_render.render(g.CONTROL, records, layout=layout, chars=ours))
    assert data == reference_file(layout, records, theirs)
    assert (ours.substitutions, ours.issues, ours.withheld) == (theirs.substitutions, theirs.issues, theirs.withheld)
    assert ours.withheld and ours.substitutions


def test_frame_errors_come_in_record_order() -> None:
    records = people(40)
    records[20] = {**records[20], "kingaku2": -1}  # its own error, while it waits in the run
    records[30] = {**records[30], "gimusha_code": "999"}  # the frame's error, found when read
    chars = CharPolicy(TABLE, "withhold")
    with pytest.raises(RenderError) as exc:
        b"".join(nenkin_render.render(g.CONTROL, records, chars=chars))
    assert (exc.value.record_index, exc.value.field, exc.value.rule) == (21, "kingaku2", "sign")
    assert chars.withheld == [6] and [s.record_index for s in chars.substitutions] == [4]
    del records[20]
    with pytest.raises(RenderError) as exc:
        b"".join(nenkin_render.render(g.CONTROL, records, chars=CharPolicy(TABLE, "withhold")))
    assert (exc.value.record_index, exc.value.field, exc.value.rule) == (30, "gimusha_code", "same_as_header")


def test_a_record_read_before_the_source_fails_is_rendered_first() -> None:
    def source(bad: bool) -> Iterator[dict[str, Any]]:
        records = people(10)
        records[9] = {**records[9], "kanji_shimei": "髙田"}  # substituted: the last read, rendered on the fault
        if bad:
            records[2] = {**records[2], "nenkin_code": "12"}
        yield from records
        raise OSError("the database went away")

    with pytest.raises(RenderError) as exc:
        b"".join(nenkin_render.render(g.CONTROL, source(bad=True)))
    assert (exc.value.record_index, exc.value.field, exc.value.rule) == (3, "nenkin_code", "width")
    chars = CharPolicy(TABLE, "withhold")
    with pytest.raises(OSError, match="went away"):
        b"".join(nenkin_render.render(g.CONTROL, source(bad=False), chars=chars))
    assert [s.record_index for s in chars.substitutions] == [4, 10] and chars.withheld == [6]


# --- fixed_codec.render: chunks of `batch` records, read ahead to the chunk's end ----------------------

def data_records(n: int) -> list[dict[str, Any]]:
    return [{**rec, KIND_KEY: "data", **plain(JIS_FORM, JIS_FORM.kind("data"))} | {
        "kiso_nenkin_no": rec["kiso_nenkin_no"], "kanji_shimei": rec["kanji_shimei"]} for rec in people(n)]


@pytest.mark.parametrize(("batch", "sizes"), [(3, [3, 3, 3, 3, 2]), (1, [1] * 14), (0, [1] * 14), (1000, [14])])
def test_stream_chunks_hold_batch_records_kept(batch: int, sizes: list[int]) -> None:
    records = data_records(16)  # the 6th (①) and the 16th withheld (every 53rd: i = 5; and i = 15 below)
    records[15] = {**records[15], "kanji_shimei": "①"}
    chars = CharPolicy(TABLE, "withhold")
    chunks = list(fixed_codec.render(JIS_FORM, records, chars=chars, batch=batch))
    assert [len(c) // 500 for c in chunks] == sizes and chars.withheld == [6, 16]
    assert b"".join(chunks) == outcome(JIS_FORM, records, {"table": TABLE, "on_unmapped": "withhold"}, "record")[0][0]


def test_stream_renders_what_it_read_before_the_source_failed() -> None:
    def source(bad: bool) -> Iterator[dict[str, Any]]:
        records = data_records(8)
        records[7] = {**records[7], "kanji_shimei": "髙田"}  # substituted: the last read, rendered on the fault
        if bad:
            records[2] = {**records[2], "kingaku1": "12"}
        yield from records
        raise OSError("the database went away")

    with pytest.raises(RenderError) as exc:
        b"".join(fixed_codec.render(JIS_FORM, source(bad=True), chars=CharPolicy(TABLE, "withhold")))
    assert (exc.value.record_index, exc.value.field, exc.value.rule) == (3, "kingaku1", "type")
    chars = CharPolicy(TABLE, "withhold")
    got = fixed_codec.render(JIS_FORM, source(bad=False), chars=chars, batch=2)
    assert len(next(got)) == len(next(got)) == 1000 and chars.withheld == []  # records 1-4: chunks as they fill
    assert len(next(got)) == 1000 and chars.withheld == [6]  # records 5 and 7
    with pytest.raises(OSError, match="went away"):
        next(got)  # record 8 rendered, its chunk not full when the source fails
    assert [s.record_index for s in chars.substitutions] == [4, 8] and chars.withheld == [6]


def test_a_source_that_hands_out_one_dict_changed_each_time() -> None:
    """Records are rendered a run after they are read: what was read is what is rendered."""
    def reused(records: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        one: dict[str, Any] = {}
        for rec in records:
            one.clear()
            one.update(rec)
            yield one

    records = people(300)
    assert b"".join(nenkin_render.render(g.CONTROL, reused(records), chars=CharPolicy(TABLE, "withhold"))) \
        == reference_file(JIS_FORM, records, CharPolicy(TABLE, "withhold"))
    rows = data_records(9)
    assert b"".join(fixed_codec.render(JIS_FORM, reused(rows), chars=CharPolicy(TABLE, "withhold"))) \
        == outcome(JIS_FORM, rows, {"table": TABLE, "on_unmapped": "withhold"}, "record")[0][0]
