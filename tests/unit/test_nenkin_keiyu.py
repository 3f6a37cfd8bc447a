"""The simulated 経由機関 (fixtures/nenkin): its files read by the project's nenkin_frame without a
problem (and each fault with its rule), bytes at the positions of the layout evidence, Z13 answers,
Z14 天引結果 and Z14 answers to a Z1A checked against the inputs as the tests work them out,
determinism by seed, and 停止 kept across 期. The store side (Z11 selection) is
tests/integration/test_nenkin_keiyu_store.py."""

from __future__ import annotations

import io
import itertools
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from fixtures.nenkin import dta, keiyu, z1a
from fixtures.nenkin.dta import Dta, Person, Record, SimulatorError
from fixtures.nenkin.keiyu import Keiyu, Request
from fixtures.nenkin.z12 import Z12Refused
from mappings import nenkin_frame, nenkin_render
from mappings.records import ParsedRecord, RecordError
from tests.unit import nenkin_golden as golden

NENDO = 2026
YAMADA = Person("1234567890", "1150", "001", date(1950, 4, 1), "1", "ﾔﾏﾀﾞ ﾀﾛｳ", "山田　太郎", "1540001", "",
                "東京都世田谷区")
SATO = Person("2234567890", "1350", "001", date(1948, 12, 31), "2", "ｻﾄｳ ﾊﾅｺ", "", "", "", "")


def people(n: int, gimusha: str = "001", first: int = 0) -> list[Person]:
    return [Person(f"{5000000000 + first + i:010d}", "1150", gimusha, date(1950, 1 + i % 12, 1 + i % 28),
                   "12"[i % 2], f"ﾃｽﾄ {i}", "試験　太郎", "1540001", "", "東京都世田谷区") for i in range(n)]


def parsed(raw: bytes) -> list[ParsedRecord | RecordError]:
    return list(nenkin_frame.parse(io.BytesIO(raw), file="Z1100105.DTA"))


def clean(raw: bytes) -> list[ParsedRecord]:
    got = parsed(raw)
    bad = [(e.record_no, e.rules) for e in got if isinstance(e, RecordError)]
    assert bad == []
    return [r for r in got if isinstance(r, ParsedRecord)]


def rules(raw: bytes) -> set[tuple[str | None, str]]:
    return {(p.field, p.rule) for e in parsed(raw) if isinstance(e, RecordError) for p in e.problems}


def data_of(raw: bytes) -> list[dict[str, Any]]:
    return [r.values for r in clean(raw) if r.kind == "data"]


def z11(records: list[Record], **kw: Any) -> Dta:
    return Dta("Z11", "001", "00", date(NENDO, 5, 10), tuple(records), **kw)


def z12(persons: list[Person], k1: int = 9000, k2: int = 8000) -> bytes:
    """The ward's Z12 as the project writes it (nenkin_render.render)."""
    control = {"shichoson_code": "13112", "baitai_tsuban": 1, "sakusei_ymd": date(NENDO, 7, 10),
               "gimusha_code": persons[0].gimusha_code, "tsuchi_naiyo_code": "01", "baitai_code": "6"}
    recs = [{"shichoson_code": "13112", "kiso_nenkin_no": p.kiso_nenkin_no, "nenkin_code": p.nenkin_code,
             "birth_ymd": p.birth, "seibetsu": p.sex, "kana_shimei": p.kana, "kanji_shimei": p.kanji,
             "yubin_no": p.yubin_no, "kana_jusho": p.kana_jusho, "kanji_jusho": p.kanji_jusho,
             "kakushu_kubun": "01", "shori_kekka": "00", "kingaku1": k1 + i, "kingaku2": k2 + i, "kingaku3": 0}
            for i, p in enumerate(persons)]
    return b"".join(nenkin_render.render(control, recs))


# --- the bytes ----------------------------------------------------------------------------------

def test_a_z11_at_the_positions_of_the_evidence() -> None:
    raw = dta.render(z11([Record(YAMADA, "02", kingaku1=1_234_567), Record(SATO, "01", kingaku1=180_000)]))
    assert len(raw) == 96 + 4 * 500
    assert raw[:48] == b"13112 00120260510" + b" " * 31
    assert raw[48:96] == b"000004" + b" " * 42
    head, first, second, tail = (raw[96 + 500 * i:96 + 500 * (i + 1)] for i in range(4))
    assert head == b"1131120010060" + b"20260510" + b" " * 479
    assert first[:47] == b"21311200100 020260510" + b"1234567890" + b"1150" + b"   " + b"19500401" + b"1"
    assert first[47:72] == "ﾔﾏﾀﾞ ﾀﾛｳ".encode("cp932").ljust(25)
    assert first[72:128] == b"\x1b$B" + golden.JIS["yamada"] + b"\x21\x21" * 20 + b"\x1b(B"
    assert first[128:135] == b"1540001" and first[135:215] == b" " * 80
    assert first[215:381] == b"\x1b$B" + golden.JIS["tokyo"] + b"\x21\x21" * 73 + b"\x1b(B"
    assert first[381:427] == b"02" + b"00" + b" " + b" " * 8 + b"00001234567" + b"0" * 22
    assert first[427:] == b" " * 73
    assert second[72:128] == b"\x1b$B" + b"\x21\x21" * 25 + b"\x1b(B"  # 漢字氏名 blank
    assert tail == b"31311200100 020260510" + b"000000002" + b"00001414567" + b"0" * 22 + b" " * 437


def test_the_project_reads_a_z11_as_written() -> None:
    got = clean(dta.render(z11([Record(YAMADA, "02", kingaku1=1_234_567), Record(SATO, "01", kingaku1=180_000)])))
    assert [r.kind for r in got] == ["kanri", "file_kanri", "header", "data", "data", "trailer"]
    first, second = (r.values for r in got[3:5])
    assert (first["kiso_nenkin_no"], first["kana_shimei"], first["kanji_shimei"], first["kanji_jusho"]) == (
        "1234567890", "ﾔﾏﾀﾞ ﾀﾛｳ", "山田　太郎", "東京都世田谷区")
    assert (second["birth_ymd"], second["seibetsu"], second["kanji_shimei"], second["yubin_no"]) == (
        date(1948, 12, 31), "2", None, None)
    assert got[5]["gokei_kensu"] == 2 and got[5]["gokei_kingaku1"] == 1_414_567


def test_names_and_writing() -> None:
    file = z11([Record(YAMADA, "02")])
    assert file.name == "Z1100105.DTA" and dta.file_name("Z14", "002", 11) == "Z1400211.DTA"
    stream = io.BytesIO()
    assert dta.write(stream, file) == len(stream.getvalue()) == 96 + 3 * 500


def test_write_to_a_directory_or_a_path(tmp_path: Path) -> None:
    file = z11([Record(YAMADA, "02")])
    assert dta.write_all(tmp_path, [file]) == [tmp_path / "Z1100105.DTA"]
    dta.write(tmp_path / "other.dta", file)
    assert (tmp_path / "other.dta").read_bytes() == (tmp_path / "Z1100105.DTA").read_bytes() == dta.render(file)


def test_what_a_file_cannot_hold_is_refused_by_name() -> None:
    with pytest.raises(SimulatorError, match="data record 1 漢字氏名: a character outside JIS X 0208"):
        dta.render(z11([Record(Person(*YAMADA.key, "001", YAMADA.birth, "1", "ｱ", "𠮷田"), "01")]))
    with pytest.raises(SimulatorError, match="金額1"):
        dta.render(z11([Record(YAMADA, "01", kingaku1=10**11)]))
    with pytest.raises(SimulatorError, match="unknown faults"):
        dta.render(z11([Record(YAMADA, "01")]).with_faults("nonsense"))
    with pytest.raises(SimulatorError, match="義務者コード 002 in a file of 001"):
        dta.render(z11([Record(people(1, "002")[0], "01")]))
    assert dta.jis_codes("〜") is None and dta.jis_codes("ｱ") is None and dta.jis_codes("山") == b"\x3b\x33"


# --- faults -------------------------------------------------------------------------------------

FAULT_RULES: dict[str, set[tuple[str | None, str]]] = {
    "seido_1": {("seido_code", "seido_code")},
    "naiyo_differs": {("tsuchi_naiyo_code", "same_as_header")},
    "trailer_total": {("gokei_kingaku1", "trailer_total")},
    "trailer_count": {("gokei_kensu", "trailer_count")},
    "length": {(None, "length")},
    "bad_encoding": {("kanji_shimei", "encoding")},
    "truncated": {(None, "length"), (None, "block_structure")},
}


@pytest.mark.parametrize("fault", sorted(FAULT_RULES))
def test_each_fault_is_found_by_its_rule(fault: str) -> None:
    file = z11([Record(p, "02", kingaku1=200_000 + i) for i, p in enumerate(people(3))])
    assert rules(dta.render(file.with_faults(fault))) == FAULT_RULES[fault]


def test_faults_the_frame_cannot_see_are_in_the_values() -> None:
    file = z11([Record(p, "02", kingaku1=200_000) for p in people(2)])
    other = clean(dta.render(file.with_faults("other_city")))
    assert {r["shichoson_code"] for r in other if r.kind != "file_kanri"} == {"13113"}
    early = clean(dta.render(file.with_faults("wrong_month")))
    assert {r["sakusei_ymd"] for r in early if r.kind != "file_kanri"} == {date(NENDO, 4, 10)}


def test_every_fault_is_tested() -> None:
    assert set(FAULT_RULES) | {"other_city", "wrong_month"} == dta.FAULTS


def test_faults_on_records_need_a_record() -> None:
    with pytest.raises(SimulatorError, match="need a data record"):
        dta.render(z11([]).with_faults("truncated"))


# --- Z13: the answer to a Z12 ---------------------------------------------------------------------

def test_z13_echoes_every_request_and_refuses_the_named() -> None:
    persons = people(20)
    refused = persons[3].kiso_nenkin_no
    answer = Keiyu(NENDO).answer_z12(z12(persons), refuse=[refused])
    assert (answer.name, answer.sakusei, answer.tsuchi_naiyo_code) == ("Z1300108.DTA", date(NENDO, 8, 10), "02")
    got = clean(dta.render(answer))
    recs = [r.values for r in got if r.kind == "data"]
    assert [(r["kiso_nenkin_no"], r["kingaku1"], r["kingaku2"], r["kingaku3"]) for r in recs] == [
        (p.kiso_nenkin_no, 9000 + i, 8000 + i, 0) for i, p in enumerate(persons)]
    assert [r["shori_kekka"] for r in recs] == ["01" if p.kiso_nenkin_no == refused else "00" for p in persons]
    assert {(r["kakushu_kubun"], r["tsuchi_naiyo_code"], r["kakushu_ymd"]) for r in recs} == {("01", "02", None)}
    assert [(r["birth_ymd"], r["seibetsu"], r["kana_shimei"], r["kanji_shimei"]) for r in recs] == [
        (p.birth, p.sex, p.kana, p.kanji) for p in persons]
    trailer = got[-1]
    assert (trailer["gokei_kensu"], trailer["gokei_kingaku1"], trailer["gokei_kingaku2"]) == (
        20, sum(9000 + i for i in range(20)), sum(8000 + i for i in range(20)))


def test_drawn_refusals_depend_on_the_seed_only() -> None:
    request = z12(people(200))

    def refused(seed: int) -> list[str]:
        answer = Keiyu(NENDO, seed=seed, refuse_rate=0.25).answer_z12(request)
        return [r.person.kiso_nenkin_no for r in answer.records if r.shori_kekka != "00"]

    first = refused(1)
    assert refused(1) == first and refused(2) != first
    assert 20 <= len(first) <= 80  # 25 % of 200, loosely
    twice = [Keiyu(NENDO, seed=1, refuse_rate=0.25).answer_z12(request) for _ in range(2)]
    assert dta.render(twice[0]) == dta.render(twice[1])
    assert {r.shori_kekka for r in twice[0].records} == {"00", "01", "02"}


def _replace(raw: bytes, at: int, new: bytes) -> bytes:
    return raw[:at] + new + raw[at + len(new):]


def _everywhere(raw: bytes, at: int, new: bytes) -> bytes:
    for start in range(96, len(raw), 500):
        raw = _replace(raw, start + at, new)
    return raw


@pytest.mark.parametrize(("name", "match"), [
    ("two-blocks", "record 6 レコード区分: b'3', 2 wanted"),
    ("naiyo", "通知内容コード: b'00', 01 wanted"),
    ("trailer", "合計件数/合計金額"),
    ("length", "mod 500"),
    ("file-count", "ファイル格納件数"),
    ("record-kind", "レコード区分"),
    ("shared", "must be the header's"),
    ("kiso", "基礎年金番号: digits wanted"),
])
def test_a_z12_the_keiyu_will_not_take(name: str, match: str) -> None:
    good = z12(people(3))
    bad = {
        "two-blocks": golden.z12(jis=True),
        "naiyo": _everywhere(good, 9, b"00"),
        "trailer": _replace(good, 96 + 4 * 500 + 40, b"9"),
        "length": good + b" ",
        "file-count": _replace(good, 48, b"000009"),
        "record-kind": _replace(good, 96 + 500, b"4"),
        "shared": _replace(good, 96 + 1000 + 6, b"002"),
        "kiso": _replace(good, 96 + 500 + 21, b"12345X"),
    }[name]
    with pytest.raises(Z12Refused, match=match):
        Keiyu(NENDO).answer_z12(bad)


def test_requests_from_a_z12() -> None:
    persons = people(2)
    got = keiyu.requests_from_z12(z12(persons, k1=7000, k2=6000))
    assert [(r.person, dict(r.amounts)) for r in got] == [
        (persons[0], {4: 7000, 5: 6000, 6: 6000}), (persons[1], {4: 7001, 5: 6001, 6: 6001})]


# --- Z14: 天引結果 per 期 -------------------------------------------------------------------------

def asks(persons: list[Person]) -> list[Request]:
    return [Request(p, {ki: 1000 * ki + i for ki in range(1, 7)}) for i, p in enumerate(persons)]


def test_z14_deducts_what_was_asked_one_file_per_gimusha() -> None:
    persons = people(12) + people(5, "002", first=100)
    files = Keiyu(NENDO).tenbiki(asks(persons), 1)
    assert [(f.name, f.gimusha_code, f.sakusei, f.tsuchi_naiyo_code) for f in files] == [
        ("Z1400105.DTA", "001", date(NENDO, 5, 10), "22"), ("Z1400205.DTA", "002", date(NENDO, 5, 10), "22")]
    for file, group, offset in ((files[0], persons[:12], 0), (files[1], persons[12:], 12)):
        recs = data_of(dta.render(file))
        assert [(r["kiso_nenkin_no"], r["kakushu_kubun"], r["shori_kekka"], r["kingaku1"], r["kakushu_ymd"])
                for r in recs] == [(p.kiso_nenkin_no, "00", "00", 1000 + offset + i, date(NENDO, 4, 15))
                                   for i, p in enumerate(group)]
        assert {(r["kingaku2"], r["kingaku3"], r["gimusha_code"]) for r in recs} == {(0, 0, file.gimusha_code)}


def test_the_sixth_ki_is_collected_in_february_of_the_next_year() -> None:
    [file] = Keiyu(NENDO).tenbiki(asks(people(2)), 6)
    assert file.sakusei == date(NENDO + 1, 3, 10)
    assert {r.kakushu_ymd for r in file.records} == {date(NENDO + 1, 2, 15)}


def year(sim: Keiyu, requests: list[Request], **per_ki: dict[str, Any]) -> dict[int, list[dict[str, Any]]]:
    """Z14 data records of 期1–6 as the project reads them; per_ki: k1={"stop": …}."""
    out = {}
    for ki in range(1, 7):
        out[ki] = [r for f in sim.tenbiki(requests, ki, **per_ki.get(f"k{ki}", {})) for r in data_of(dta.render(f))]
    return out


def test_a_stop_and_a_death_stay_for_the_later_ki() -> None:
    persons = people(10)
    stopped, dead = persons[2].kiso_nenkin_no, persons[7].kiso_nenkin_no
    died = date(NENDO, 8, 3)
    got = year(Keiyu(NENDO), asks(persons), k2={"stop": {stopped: "02"}}, k3={"die": {dead: died}})
    by = {ki: {r["kiso_nenkin_no"]: r for r in recs} for ki, recs in got.items()}
    assert all(len(recs) == 10 for recs in got.values())
    stop_day = by[2][stopped]["kakushu_ymd"]
    assert stop_day.year == NENDO and stop_day.month == 6 and 1 <= stop_day.day <= 14
    for ki in range(2, 7):
        assert (by[ki][stopped]["kakushu_kubun"], by[ki][stopped]["kingaku1"], by[ki][stopped]["kakushu_ymd"]) == (
            "02", 0, stop_day)
    for ki in range(3, 7):
        assert (by[ki][dead]["kakushu_kubun"], by[ki][dead]["kingaku1"], by[ki][dead]["kakushu_ymd"]) == ("01", 0, died)
    deducted = sum(r["kingaku1"] for recs in got.values() for r in recs)
    asked = sum(1000 * ki + i for ki in range(1, 7) for i in range(10))
    lost = sum(1000 * ki + 2 for ki in range(2, 7)) + sum(1000 * ki + 7 for ki in range(3, 7))
    assert deducted == asked - lost


def test_after_a_stop_the_person_may_be_left_out() -> None:
    persons = people(4)
    got = year(Keiyu(NENDO, after_stop="omit"), asks(persons), k1={"stop": {persons[0].kiso_nenkin_no: "03"}})
    assert [len(got[ki]) for ki in range(1, 7)] == [4, 3, 3, 3, 3, 3]
    assert got[1][0]["kakushu_kubun"] == "03"


def test_drawn_stops_only_grow_and_follow_the_seed() -> None:
    requests = asks(people(300))

    def stops(seed: int) -> list[set[str]]:
        got = year(Keiyu(NENDO, seed=seed, stop_rate=0.03, death_rate=0.01), requests)
        return [{r["kiso_nenkin_no"] for r in got[ki] if r["kakushu_kubun"] != "00"} for ki in range(1, 7)]

    first = stops(4)
    assert all(a <= b for a, b in itertools.pairwise(first))
    assert 40 <= len(first[-1]) <= 95  # 1 − 0.96^6 ≈ 22 % of 300 (65), loosely
    assert stops(4) == first and stops(5) != first


def test_refused_in_z13_is_not_deducted_in_honcho() -> None:
    persons = people(5)
    sim = Keiyu(NENDO)
    sim.answer_z12(z12(persons), refuse=[persons[1].kiso_nenkin_no])
    requests = asks(persons)
    assert len([r for f in sim.tenbiki(requests, 3) for r in f.records]) == 5
    for ki in (4, 5, 6):
        got = [r.person.kiso_nenkin_no for f in sim.tenbiki(requests, ki) for r in f.records]
        assert got == [p.kiso_nenkin_no for p in persons if p != persons[1]]


def test_a_ki_asked_again_gives_the_same_file() -> None:
    requests = asks(people(50))
    sim = Keiyu(NENDO, seed=9, stop_rate=0.1)
    first = [dta.render(f) for f in sim.tenbiki(requests, 2)]
    assert [dta.render(f) for f in sim.tenbiki(requests, 2)] == first


def test_bad_calls() -> None:
    sim = Keiyu(NENDO)
    with pytest.raises(SimulatorError, match="two requests"):
        sim.tenbiki(asks(people(1)) * 2, 1)
    with pytest.raises(SimulatorError, match="各種区分 of a 停止"):
        sim.tenbiki(asks(people(1)), 1, stop={"5000000000": "00"})
    with pytest.raises(SimulatorError, match="期 7"):
        sim.tenbiki(asks(people(1)), 7)
    with pytest.raises(SimulatorError, match="stop_rate"):
        Keiyu(NENDO, stop_rate=1.5)


# --- Z14: answers to a Z1A ------------------------------------------------------------------------

def z1a_file(persons: list[Person], naiyo: str, seq: int = 3) -> bytes:
    """The ward's Z1A as the project writes it (nenkin_render.render), 31/41/61/81 records."""
    control = {"shichoson_code": "13112", "baitai_tsuban": seq, "sakusei_ymd": date(NENDO, 11, 5),
               "gimusha_code": persons[0].gimusha_code, "tsuchi_naiyo_code": naiyo, "baitai_code": "6"}
    values = {"31": ("01", None, 7000), "41": ("01", date(NENDO, 10, 20), 0), "61": ("00", None, 6500),
              "81": ("02", date(NENDO, 10, 1), 0)}[naiyo]
    recs = [{"shichoson_code": "13112", "kiso_nenkin_no": p.kiso_nenkin_no, "nenkin_code": p.nenkin_code,
             "birth_ymd": p.birth, "seibetsu": p.sex, "kana_shimei": p.kana, "kanji_shimei": p.kanji,
             "yubin_no": p.yubin_no, "kana_jusho": p.kana_jusho, "kanji_jusho": p.kanji_jusho,
             "kakushu_kubun": values[0], "shori_kekka": "00", "kakushu_ymd": values[1], "kingaku1": values[2],
             "kingaku2": 0, "kingaku3": 0} for p in persons]
    return b"".join(nenkin_render.render(control, recs))


@pytest.mark.parametrize(("naiyo", "answer", "name"), [
    ("31", "32", "Z1400133.DTA"), ("41", "42", "Z1400143.DTA"), ("61", "62", "Z1400163.DTA"),
    ("81", "82", "Z1400183.DTA")])
def test_a_z1a_answered_record_by_record(naiyo: str, answer: str, name: str) -> None:
    persons = people(6)
    refused = persons[2].kiso_nenkin_no
    got = Keiyu(NENDO).answer_z1a(z1a_file(persons, naiyo), refuse=[refused])
    assert (got.kind, got.name, got.tsuchi_naiyo_code, got.sakusei) == ("Z14", name, answer, date(NENDO, 12, 10))
    sent = data_of(z1a_file(persons, naiyo))
    recs = data_of(dta.render(got))
    keys = ("kiso_nenkin_no", "nenkin_code", "birth_ymd", "kana_shimei", "kakushu_kubun", "kakushu_ymd", "kingaku1",
            "kingaku2", "kingaku3")
    assert [tuple(r[k] for k in keys) for r in recs] == [tuple(s[k] for k in keys) for s in sent]
    assert [r["shori_kekka"] for r in recs] == ["01" if p.kiso_nenkin_no == refused else "00" for p in persons]
    assert {r["tsuchi_naiyo_code"] for r in recs} == {answer}


def test_a_refused_tsuika_is_deducted_nothing_after_and_a_bad_z1a_is_refused() -> None:
    persons = people(3)
    sim = Keiyu(NENDO)
    sim.answer_z1a(z1a_file(persons, "31"), refuse=[persons[0].kiso_nenkin_no])
    asked = [Request(p, {4: 7000, 5: 7000, 6: 7000}) for p in persons]
    deducted = {ki: [r["kiso_nenkin_no"] for f in sim.tenbiki(asked, ki) for r in data_of(dta.render(f))]
                for ki in (4, 5)}
    # The refusal was answered on 12月10日: 期4 (10月) had been deducted, 期5 (12月15日) is not.
    assert deducted == {4: [p.kiso_nenkin_no for p in persons], 5: [p.kiso_nenkin_no for p in persons[1:]]}
    drawn = Keiyu(NENDO, seed=4, refuse_rate=0.5).answer_z1a(z1a_file(people(40), "41"))
    assert {r.shori_kekka for r in drawn.records} == {"00", "01", "02"}
    with pytest.raises(z1a.Z1ARefused, match="通知内容コード: '22'"):
        sim.answer_z1a(z1a_file(persons, "31").replace(b"13112001316", b"13112001226"))
