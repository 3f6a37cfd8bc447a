"""Seed inputs for every target: valid files rendered by the codecs from each layout's own fields,
and the hand-written good and malformed examples of the unit tests.

Values are made per converter (the first that the field's own rules accept), so a new layout is
seeded without code here. Seeds are written as `seed-<what>` beside the fuzzer's finds in
fixtures/fuzz/corpus/<target>/ (`python -m tests.fuzz.run --seeds`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from mappings import csv_codec, fixed_codec, kokuho_frame, kokuho_xml, nenkin_render, xml_codec
from mappings.converters import Code, YearMonth
from mappings.errors import ConversionError, RenderError
from mappings.layout import KIND_KEY, Field, Layout, RecordKind
from tests.fuzz import targets as t

GOLDEN_XML = Path(__file__).resolve().parents[1] / "golden" / "kokuho"
CONTROL = {"hokensha_no": "131128", "shori_ym": "202604", "baitai_kubun": "1"}
TEXTS = ("ｶｲｺﾞ ﾀﾛｳ", "カイゴ　タロウ", "東京都世田谷区池尻１－１－１", "A1", "1", "ア", "ｱ", "D1", "531")


def _candidates(f: Field) -> Iterator[Any]:
    conv, name = f.converter, f.converter.name
    if isinstance(conv, Code):
        yield from sorted(conv.codes)
    elif name == "digits":
        width = getattr(conv, "width", None)
        low, high = getattr(conv, "min_width", 1), getattr(conv, "max_width", None)
        n = width if width is not None else min(max(low, 6), high or 6)
        yield f"{17:0{n}d}"[-n:]
    elif name in ("number", "amount"):
        width = getattr(conv, "width", None)
        yield 1 if width is None else 10 ** (width - 1) - 1 or 1
    elif name == "date":
        yield YearMonth(2026, 4) if f.params.get("format") == "YYYYMM" else dt.date(2026, 4, 1)
    yield from TEXTS


def sample_value(f: Field) -> Any:
    """A value the field renders, or None when none of the candidates fits its rules."""
    for value in _candidates(f):
        try:
            f.render(value)
        except ConversionError:
            continue
        return value
    return None


def sample_record(layout: Layout, kind: RecordKind, *, full: bool, **over: Any) -> dict[str, Any]:
    rec: dict[str, Any] = {KIND_KEY: kind.name} if len(layout.kinds) > 1 else {}
    for f in kind.fields:
        if f.converter.always or not (full or f.required):
            continue
        value = over.get(f.name, sample_value(f))
        if value is not None:
            rec[f.name] = value
    return rec


def _rendered(render: Callable[..., Iterator[bytes]], layout: Layout, full: bool) -> bytes:
    recs = [sample_record(layout, k, full=full) for k in layout.kinds]
    return b"".join(render(layout, recs))


def _codec_seeds(layouts: tuple[Layout, ...], render: Callable[..., Iterator[bytes]]) -> dict[str, bytes]:
    out = {}
    for layout in layouts:
        for full in (True, False):
            try:
                out[f"{layout.name}-{'full' if full else 'required'}"] = _rendered(render, layout, full)
            except RenderError as exc:  # a field no candidate value fits: say which, seed the rest
                print(f"seed {layout.id}: {exc}")
    return out


def frame_files(render: Callable[..., Iterator[bytes]] = kokuho_frame.render) -> dict[str, bytes]:
    """Per layout of the index (its first exchange), a file of full and one of required-only
    records of every kind; the fuzzer's dictionary holds the other 識別番号."""
    index = kokuho_frame.default_index()
    out: dict[str, bytes] = {}
    seen: set[tuple[str, str]] = set()
    for entry in index.entries:
        if (entry.layout, entry.version) in seen:
            continue
        seen.add((entry.layout, entry.version))
        layout = index.layout(entry)
        frame_values = {"volume_no": "0", "data_type": entry.id[:3], "fukushi_jimusho_no": "0",
                        "jigyosho_no": "0", "todofuken_no": "0", **CONTROL}
        control = {k: v for k, v in frame_values.items() if k not in entry.control}
        for full in (True, False):
            recs = [sample_record(layout, k, full=full, exchange_id=entry.id) for k in layout.kinds]
            name = f"{entry.id}-{layout.name}-{'full' if full else 'required'}"
            try:
                out[name] = b"".join(render(entry.id, control, recs))
            except RenderError as exc:
                print(f"seed {name}: {exc}")
    return out


def nenkin_files() -> dict[str, bytes]:
    """A 年金特徴 file per form: two blocks, records of every field (full) or required ones only."""
    control = {"shichoson_code": "13112", "baitai_tsuban": 1, "sakusei_ymd": dt.date(2026, 7, 1),
               "gimusha_code": "001", "tsuchi_naiyo_code": "01", "baitai_code": "6"}
    out = {}
    for layout in t.nenkin_layouts():
        kind = layout.kind("data")
        for full in (True, False):
            recs = [sample_record(layout, kind, full=full, shichoson_code=city, tsuchi_naiyo_code="01")
                    for city in ("13112", "13112", "13113")]
            for rec in recs:
                rec.pop("_kind", None)
                for name in ("gimusha_code", "seido_code", "sakusei_ymd"):
                    rec.pop(name, None)
            out[f"{layout.name}-{'full' if full else 'required'}"] = b"".join(
                nenkin_render.render(control, recs, layout=layout))
    return out


def nenkin_runs() -> dict[str, bytes]:
    """年金特徴 files whose blocks hold runs of data records that differ field by field (the column
    path reads such runs whole), from the hand-written golden records, both forms."""
    from tests.unit import nenkin_golden as g

    base = g.records()
    kana, kanji = ["ﾔﾏﾀﾞ ﾀﾛｳ", "ｻﾄｳ ﾊﾅｺ", "ｱ", "ﾄｳｷｮｳﾄ ｾﾀｶﾞﾔｸ"], ["山田　太郎", "佐藤　花子", "亜", "～"]
    recs = [{**base[i % 2], "kiso_nenkin_no": f"{i:010d}", "kingaku1": 1000 * i, "kana_shimei": kana[i % 4],
             "kanji_shimei": kanji[i % 4], "birth_ymd": dt.date(1940 + i, 1 + i, 2 * i + 1)} for i in range(6)]
    recs.append(base[2])
    return {f"runs-{layout.name}": b"".join(nenkin_render.render(g.CONTROL, recs, layout=layout))
            for layout in t.nenkin_layouts()}


def _unit_test_examples() -> dict[str, dict[str, bytes]]:
    """The hand-written examples of the unit tests (imported, so they stay the tests' own)."""
    from tests.unit import test_codec_csv as tc
    from tests.unit import test_codec_fixed as tf
    from tests.unit import test_codec_xml as tx
    from tests.unit import test_kokuho_frame as tk
    from tests.unit import test_kokuho_layouts as tl
    from tests.unit import test_kokuho_xml_faults as tkx
    from tests.unit import test_nenkin_frame as tn

    frame = {"golden-5311": tk.GOLDEN, **{f"malformed-{k}": v[0] for k, v in tk.CORPUS.items()},
             "garbage-mixed": b"\x00\xff\x81\x20garbage\n\r\n,,,,", "garbage-lead-byte": b"\x81",
             "garbage-quotes": b'"""\r\n2,\r\n', "garbage-control-only": b"1,1\r\n",
             "unassigned-byte": tk.GOLDEN.replace(b'"01","131128"', b'"0\xff","131128"', 1)}
    kyufu = {
        "hand-h1-d1-t1": tl._kyufu_file([tl._h1(2, "0000000017"), tl._d1(3, "0000000017"),
                                         tl._t1(4, "0000000017"), tl._h1(5, "0000000025"), tl._d1(6, "0000000025")]),
        "hand-orphan-and-other-person": tl._kyufu_file([tl._d1(2, "0000000017"), tl._h1(3, "0000000017"),
                                                        tl._d1(4, "0000000099")]),
    }
    lines = "".join(tc.hand_line(n) for n in range(1, 4))
    vendor = {"hand-hokenryo": lines.encode("cp932"),
              "hand-hokenryo-bad-fields": lines.replace(",20240710", ",20240732").replace('東京都', '"東京都')
              .encode("cp932"),
              "hand-hokenryo-lf": lines.replace("\r\n", "\n").encode("cp932")}
    fixed = {"golden-person-sjis": tf.GOLDEN_SJIS, "golden-person-utf8": tf.GOLDEN_UTF8, "golden-framed": tf.FRAMED,
             "malformed-person": (tf.GOLDEN_SJIS + tf.GOLDEN_SJIS.replace(b"19500401", b"19500231")
                                  + tf.GOLDEN_SJIS.replace(b"2", b"9", 1) + tf.GOLDEN_SJIS[:30])}
    doc = tx.GOLDEN.decode()
    one = doc.split("\n")[2]
    xml = {"golden-twin": tx.GOLDEN,
           "malformed-twin-records": "\n".join([*doc.split("\n")[:2], one.replace("19500401", "19500231"),
                                                one.replace("<shimei>", "<extra>1</extra><shimei>"),
                                                "</jukyushaList>"]).encode(),
           "broken-twin": tx.GOLDEN.replace(b"</jukyusha>\n</jukyushaList>",
                                            b"</jukyusha>\n<jukyusha><hihokenshaNo>1</jukyushaList>"),
           "doctype-entities": (b'<?xml version="1.0"?><!DOCTYPE jukyushaList [<!ENTITY a "aaaaaaaaaa">]>'
                                b'<jukyushaList xmlns="urn:kaigo-bridge:test"><jukyusha shubetsu="2">'
                                b'<hihokenshaNo>&a;</hihokenshaNo></jukyusha></jukyushaList>'),
           "shift-jis-declared": tx.GOLDEN.replace(b'encoding="UTF-8"', b'encoding="Shift_JIS"')}
    kokuho_xml_examples = {**{f"golden-{p.stem}": p.read_bytes() for p in sorted(GOLDEN_XML.glob("*.xml"))},
                           **{f"malformed-{k}": v[0] for k, v in tkx.CORPUS.items()}}
    nenkin = {"golden-z12-jis": tn.JIS, "golden-z12-cp932": tn.CP932,
              **{f"malformed-{k}": v[0] for k, v in tn.CORPUS.items() if v[0]}}
    return {"nenkin_frame": nenkin, "nenkin_columns": dict(nenkin),
            "kokuho_frame": frame, "kokuho_kyufu": kyufu, "csv_vendor": vendor,
            "fixed": fixed, "xml": xml, "kokuho_xml": kokuho_xml_examples,
            "kyufu_quick": {**kyufu, **_simulated_kyufu()}}


def _simulated_kyufu() -> dict[str, bytes]:
    """Small 給付実績 files of the simulated 国保連: good ones (which the fast judgement vouches
    for, so mutations probe its edge) and one per fault the simulator makes."""
    import io

    from fixtures.kokuho import kyufu

    people = [(f"{i:010d}", level) for i, level in ((101, "21"), (102, "12"), (108, "25"))]
    out = {}
    for name, faults, lines in (("good", (), 1), ("good-two-lines", (), 2),
                                *((f"fault-{f}", (f,), 1) for f in sorted(kyufu.FAULTS))):
        buf = io.BytesIO()
        kyufu.write(buf, kyufu.claims(people, "202610", seed=5, lines=lines), hokensha_no=CONTROL["hokensha_no"],
                    shori_ym="202611", faults=faults)
        out[name] = buf.getvalue()
    return out


def seeds() -> dict[str, dict[str, bytes]]:
    """target name → seed name → bytes."""
    frames = frame_files()
    out: dict[str, dict[str, bytes]] = {
        "kokuho_frame": dict(frames),
        "kokuho_kyufu": {k: v for k, v in frames.items() if "kyufu-jisseki" in k},
        "csv_vendor": _codec_seeds(t.csv_vendor_layouts(), csv_codec.render),
        # the data lines alone: csv_kokuho parses a layout's records without the frame
        "csv_kokuho": {k: b"\r\n".join(v.split(b"\r\n")[1:-2]) + b"\r\n" for k, v in frames.items()},
        "csv_options": _codec_seeds(t.csv_options_layouts(), csv_codec.render),
        "fixed": _codec_seeds(t.fixed_layouts(), fixed_codec.render),
        "xml": _codec_seeds(t.xml_layouts(), xml_codec.render),
        "kokuho_xml": frame_files(kokuho_xml.render),
        "kyufu_quick": {k: v for k, v in frames.items() if "kyufu-jisseki" in k},
        "nenkin_frame": nenkin_files(),
        "nenkin_columns": {**nenkin_files(), **nenkin_runs()},
    }
    for target, examples in _unit_test_examples().items():
        out[target].update(examples)
    return out
