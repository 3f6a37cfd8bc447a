"""The simulated 経由機関's Z11 from a real store (fixtures/population.load on SQLite): whom it
announces, worked out here from the generated people rather than by the simulator's query; what
it says of them; the mismatches on demand as the project's matcher sees them; 追加候補者."""

from __future__ import annotations

import io
import unicodedata
from collections import Counter
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from adapters.nenkin import match
from fixtures import population
from fixtures.nenkin import dta, taisho
from fixtures.nenkin.dta import SimulatorError
from fixtures.nenkin.keiyu import Keiyu, Request, requests_from_z12
from mappings import nenkin_frame, nenkin_render
from mappings.records import ParsedRecord, RecordError
from store.models import Atena, Shikaku
from store.models.atena import SOSHITSU_SHIBO, SOSHITSU_TENSHUTSU
from store.models.tokucho import MATCHED, UNMATCHED
from store.mynumber import MyNumberCipher

NENDO, SEED, PEOPLE = 2026, 23, 700
CIPHER = MyNumberCipher(bytes(range(32)), bytes(range(50, 82)))


@pytest.fixture
def loaded(store: sessionmaker[Session]) -> tuple[sessionmaker[Session], dict[str, population.Person]]:
    population.load(store, CIPHER, PEOPLE, seed=SEED, nendo=NENDO, batch=300)
    return store, {p.atena_no: p for p in population.generate(PEOPLE, SEED, NENDO)}


def read(files: list[dta.Dta]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for file in files:
        items = list(nenkin_frame.parse(io.BytesIO(dta.render(file)), file=file.name))
        assert [e.rules for e in items if isinstance(e, RecordError)] == []
        out.extend(r.values for r in items if isinstance(r, ParsedRecord) and r.kind == "data")
    return out


def announced(people: dict[str, population.Person]) -> dict[tuple[str, str], population.Person]:
    return {(p.kiso_nenkin_no, p.nenkin_code): p for p in people.values()
            if p.hihokensha_kubun == "1" and p.kiso_nenkin_no and p.nenkin_code
            and (p.nenkin_nengaku or 0) >= 180_000}


def test_the_yearly_z11_announces_the_pensioners_of_180000_and_more(loaded: Any) -> None:
    store, people = loaded
    expected = announced(people)
    with store() as s:
        files = taisho.z11(taisho.pensioners(s, NENDO, seed=SEED), NENDO)
    assert [(f.name, f.tsuchi_naiyo_code, f.sakusei) for f in files] == [
        ("Z1100105.DTA", "00", date(NENDO, 5, 10)), ("Z1100205.DTA", "00", date(NENDO, 5, 10))]
    recs = read(files)
    assert {(r["kiso_nenkin_no"], r["nenkin_code"]) for r in recs} == set(expected) and len(recs) == len(expected)
    assert sum(r["kingaku1"] for r in recs) == sum((p.nenkin_nengaku or 0) // 6 for p in expected.values())
    kyosai = sum(r["gimusha_code"] == "002" for r in recs)
    assert 0.05 * len(recs) <= kyosai <= 0.15 * len(recs)
    for r in recs:
        p = expected[(r["kiso_nenkin_no"], r["nenkin_code"])]
        assert (r["birth_ymd"], r["seibetsu"], r["yubin_no"], r["kana_jusho"]) == (p.birth_date, p.sex,
                                                                                   p.postal_code, None)
        assert unicodedata.normalize("NFKC", r["kana_shimei"]) == unicodedata.normalize("NFKC", p.name_kana)
        assert r["kanji_shimei"] == (None if p.out_of_jis else p.name_kanji)
        assert r["kanji_jusho"] == p.address
        assert r["kakushu_kubun"] == ("01" if p.shutoku_date > date(NENDO - 1, 4, 1) else "02")
        assert (r["shori_kekka"], r["kakushu_ymd"], r["kingaku2"], r["kingaku3"]) == ("00", None, 0, 0)
    assert {"01", "02"} == {r["kakushu_kubun"] for r in recs}
    assert any(p.out_of_jis for p in expected.values())  # the blank 漢字氏名 was exercised


def test_lost_qualification_and_death_before_the_file(loaded: Any) -> None:
    store, people = loaded
    first, second, third = sorted(p.atena_no for p in announced(people).values())[:3]
    with store.begin() as s:
        for atena_no, day, jiyu in ((first, date(NENDO, 3, 31), SOSHITSU_TENSHUTSU),
                                    (second, date(NENDO, 4, 20), SOSHITSU_SHIBO),
                                    (third, date(NENDO, 5, 20), SOSHITSU_SHIBO)):
            s.execute(update(Shikaku).where(Shikaku.atena_no == atena_no)
                      .values(soshitsu_date=day, soshitsu_jiyu=jiyu))
    with store() as s:
        got = {p.atena_no for p in taisho.pensioners(s, NENDO, seed=SEED)}
    assert first not in got and second not in got and third in got  # died after 5/10: still announced
    assert len(got) == len(announced(people)) - 2


def test_mismatches_on_demand_as_the_matcher_sees_them(loaded: Any) -> None:
    store, people = loaded
    twists = {"other_birth": 2, "unknown_kiso": 1, "shared_kiso": 1}
    with store() as s:
        plain = taisho.pensioners(s, NENDO, seed=SEED)
        twisted = taisho.pensioners(s, NENDO, seed=SEED, twists=twists)
        assert taisho.pensioners(s, NENDO, seed=SEED, twists=twists) == twisted
        assert taisho.pensioners(s, NENDO, seed=SEED + 1, twists=twists) != twisted
        index = match.AtenaIndex(match.Atena(a.atena_no, a.kiso_nenkin_no, a.birth_date, a.sex, a.name_kana, True)
                                 for a in s.scalars(select(Atena)))
        held = set(s.scalars(select(Atena.kiso_nenkin_no)))
    assert Counter(p.twist for p in twisted) == Counter({None: len(plain) - 4, "other_birth": 2, "unknown_kiso": 1,
                                                        "shared_kiso": 1})
    before = {p.atena_no: p.person for p in plain}
    recs = read(taisho.z11(twisted, NENDO))
    assert len(recs) == len(plain) and len({(r["kiso_nenkin_no"], r["nenkin_code"]) for r in recs}) == len(plain)
    for p in twisted:
        own = people[p.atena_no]
        got = index.match(match.Person(p.person.kiso_nenkin_no, p.person.birth, p.person.sex, p.person.kana))
        if p.twist is None:
            assert (got.state, got.atena_no) == (MATCHED, p.atena_no)
            assert p.person == before[p.atena_no]
        elif p.twist == "other_birth":
            assert got.state == UNMATCHED and p.person.birth == own.birth_date - timedelta(days=1)
        elif p.twist == "unknown_kiso":
            assert got.state == UNMATCHED and p.person.kiso_nenkin_no not in held
        else:
            sharing = [q for q in twisted if q.person.kiso_nenkin_no == p.person.kiso_nenkin_no]
            assert len(sharing) == 2 and got.atena_no != p.atena_no
            assert len({q.person.nenkin_code for q in sharing}) == 2


def test_twists_need_people(loaded: Any) -> None:
    store, _ = loaded
    with store() as s, pytest.raises(SimulatorError, match="twists"):
        taisho.pensioners(s, NENDO, twists={"other_birth": 10_000})
    with store() as s, pytest.raises(SimulatorError, match="twists"):
        taisho.pensioners(s, NENDO, twists={"nonsense": 1})


def test_tsuika_named_and_by_the_date_the_qualification_began(loaded: Any) -> None:
    store, people = loaded
    some = sorted(announced(people).values(), key=lambda p: p.atena_no)[:3]
    with store() as s:
        named, files = taisho.tsuika(s, NENDO, 8, seed=SEED, atena_nos=[p.atena_no for p in some])
    assert [(f.name, f.tsuchi_naiyo_code, f.sakusei) for f in files] == [("Z1100109.DTA", "30", date(NENDO, 9, 10))]
    assert [p.atena_no for p in named] == [p.atena_no for p in some]
    recs = read(files)
    assert sorted(r["kiso_nenkin_no"] for r in recs) == sorted(str(p.kiso_nenkin_no) for p in some)
    assert {r["kakushu_kubun"] for r in recs} == {"01"}
    assert sum(r["kingaku1"] for r in recs) == sum((p.nenkin_nengaku or 0) // 6 for p in some)
    late = some[0].atena_no
    with store.begin() as s:
        s.execute(update(Shikaku).where(Shikaku.atena_no == late).values(shutoku_date=date(NENDO, 5, 20)))
    with store() as s:
        in_june, _ = taisho.tsuika(s, NENDO, 6, seed=SEED)
        in_august, none = taisho.tsuika(s, NENDO, 8, seed=SEED)
        yearly = {p.atena_no for p in taisho.pensioners(s, NENDO, seed=SEED)}
    assert [p.atena_no for p in in_june] == [late] and in_august == [] and none == []
    assert late not in yearly


def test_tsuika_refuses_whom_it_cannot_announce(loaded: Any) -> None:
    store, people = loaded
    no_pension = next(p.atena_no for p in people.values() if p.hihokensha_kubun == "1" and not p.kiso_nenkin_no)
    with store() as s, pytest.raises(SimulatorError, match="no 第1号 資格 with a 基礎年金番号"):
        taisho.tsuika(s, NENDO, 6, atena_nos=[no_pension])
    with store() as s, pytest.raises(SimulatorError, match="捕捉月 5"):
        taisho.tsuika(s, NENDO, 5)
    assert [taisho.tsuika_date(NENDO, m) for m in (6, 12, 2)] == [
        date(NENDO, 7, 10), date(NENDO + 1, 1, 10), date(NENDO + 1, 3, 10)]


def z12_of(group: list[taisho.Pensioner], kibetsu: dict[str, tuple[int, ...]]) -> bytes:
    """The ward's Z12 for one 義務者, as the project writes it: 金額1 = 期4, 金額2 = 期5."""
    control = {"shichoson_code": "13112", "baitai_tsuban": 1, "sakusei_ymd": date(NENDO, 7, 10),
               "gimusha_code": group[0].person.gimusha_code, "tsuchi_naiyo_code": "01", "baitai_code": "6"}
    recs = [{"shichoson_code": "13112", "kiso_nenkin_no": p.person.kiso_nenkin_no, "nenkin_code": p.person.nenkin_code,
             "birth_ymd": p.person.birth, "seibetsu": p.person.sex, "kana_shimei": p.person.kana,
             "kanji_shimei": p.person.kanji, "yubin_no": p.person.yubin_no, "kanji_jusho": p.person.kanji_jusho,
             "kakushu_kubun": "01", "shori_kekka": "00", "kingaku1": kibetsu[p.atena_no][3],
             "kingaku2": kibetsu[p.atena_no][4], "kingaku3": 0} for p in group]
    return b"".join(nenkin_render.render(control, recs))


def test_a_year_of_answers_reconciles_with_the_premiums(loaded: Any) -> None:
    store, people = loaded
    with store() as s:
        pensioners = taisho.pensioners(s, NENDO, seed=SEED)
    kibetsu = {p.atena_no: people[p.atena_no].premium.kibetsu for p in pensioners}
    assert {len(k) for k in kibetsu.values()} == {6}  # 特別徴収: 6 期
    sim = Keiyu(NENDO, seed=SEED, refuse_rate=0.03, stop_rate=0.02, death_rate=0.01)
    z14: dict[int, list[dict[str, Any]]] = {}
    kari = [Request(p.person, {ki: kibetsu[p.atena_no][ki - 1] for ki in (1, 2, 3)}) for p in pensioners]
    for ki in (1, 2, 3):
        z14[ki] = read(sim.tenbiki(kari, ki))
    by_gimusha: dict[str, list[taisho.Pensioner]] = {}
    for p in sorted(pensioners, key=lambda p: p.person.key):
        by_gimusha.setdefault(p.person.gimusha_code, []).append(p)
    z12s = [z12_of(group, kibetsu) for group in by_gimusha.values()]
    z13 = read([sim.answer_z12(raw) for raw in z12s])
    honcho = [r for raw in z12s for r in requests_from_z12(raw)]
    for ki in (4, 5, 6):
        z14[ki] = read(sim.tenbiki(honcho, ki))

    refused = {r["kiso_nenkin_no"] for r in z13 if r["shori_kekka"] != "00"}
    assert len(z13) == len(pensioners) and 0 < len(refused) < 0.1 * len(pensioners)
    stopped_at: dict[str, int] = {}
    for ki in range(1, 7):
        for r in z14[ki]:
            if r["kakushu_kubun"] != "00":
                stopped_at.setdefault(r["kiso_nenkin_no"], ki)
    assert stopped_at and len(stopped_at) < 0.4 * len(pensioners)
    expected = 0
    for p in pensioners:
        kiso, stop = p.person.kiso_nenkin_no, stopped_at.get(p.person.kiso_nenkin_no, 7)
        expected += sum(kibetsu[p.atena_no][ki - 1] for ki in range(1, stop) if ki < 4 or kiso not in refused)
    assert sum(r["kingaku1"] for recs in z14.values() for r in recs) == expected
    for ki in range(4, 7):
        assert not refused & {r["kiso_nenkin_no"] for r in z14[ki]}
