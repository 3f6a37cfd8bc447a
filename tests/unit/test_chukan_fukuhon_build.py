"""副本 from the store (adapters/chukan/fukuhon.py) and the plan against fukuhon_state
(fukuhon_plan.py), on a migrated SQLite store with a small synthetic population."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from adapters.chukan import fukuhon_plan as fp
from adapters.chukan.fukuhon import LAYOUT, answer_items, build, check_sources, items_hash
from adapters.chukan.messages import Item, ReplicaKey
from fixtures import population
from mappings.errors import LayoutError
from mappings.standard_layout import CHUKAN_DIR, StandardLayouts
from store.models import Atena, FukuhonState, FutanWariai, KyufuJisseki, Nintei, Shikaku
from store.models.tokucho import JushochiTokurei
from store.mynumber import MyNumberCipher

PEOPLE, SEED, NENDO = 40, 5, 2026
DAY = date(2026, 11, 26)
TM, TM_KYUFU = "TM00000000000101", "TM00000000000102"
LAYOUTS = StandardLayouts(CHUKAN_DIR)
V1 = LAYOUTS.get(LAYOUT, "1")


@pytest.fixture
def people(store: sessionmaker[Session]) -> list[population.Person]:
    population.load(store, MyNumberCipher(bytes(range(32)), bytes(range(50, 82))), PEOPLE, seed=SEED, nendo=NENDO)
    return list(population.generate(PEOPLE, SEED, NENDO))


def current(people: list[population.Person]) -> list[population.Person]:
    return [p for p in people if p.shutoku_date <= DAY]


def test_0101_carries_the_current_shikaku(store: sessionmaker[Session], people: list[population.Person]) -> None:
    with store() as s:
        built = build(s, [p.atena_no for p in people], V1, DAY)
    here = current(people)
    assert {k[0] for k in built.replicas if k[2] == "0101"} == {p.togo_atena_no for p in here}
    p = here[0]
    items = built.replicas[(p.togo_atena_no, TM, "0101")].items
    assert items == (Item("1", value=p.hihokensha_no), Item("2", value=p.hokensha_no),
                     Item("3", value=p.hihokensha_kubun), Item("4", value=p.shutoku_date.strftime("%Y%m%d")),
                     Item("5", value=p.shutoku_jiyu), Item("6", unset="NotApplicable"),
                     Item("7", unset="NotApplicable"))
    assert built.version == "1" and built.not_built == {"0400": "総合事業: the store holds no 総合事業 data"}


def test_no_togo_is_listed_and_lost_shikaku_has_no_replica(store: sessionmaker[Session],
                                                           people: list[population.Person]) -> None:
    a, b, c = current(people)[:3]
    with store.begin() as s:
        s.execute(update(Atena).where(Atena.atena_no == a.atena_no).values(togo_atena_no=None))
        s.execute(update(Shikaku).where(Shikaku.atena_no == b.atena_no)
                  .values(soshitsu_date=DAY, soshitsu_jiyu="02"))  # lost today
        s.execute(update(Shikaku).where(Shikaku.atena_no == c.atena_no)
                  .values(soshitsu_date=DAY + timedelta(days=1), soshitsu_jiyu="01"))  # 転出 tomorrow
    with store() as s:
        built = build(s, [a.atena_no, b.atena_no, c.atena_no], V1, DAY)
    assert built.no_togo == [a.atena_no]
    assert built.persons == {b.togo_atena_no, c.togo_atena_no}
    assert not [k for k in built.replicas if k[0] in (a.togo_atena_no, b.togo_atena_no)]
    items = {i.no: i for i in built.replicas[(c.togo_atena_no, TM, "0101")].items}
    assert items["6"] == Item("6", value=(DAY + timedelta(days=1)).strftime("%Y%m%d")) and items["7"].value == "01"


def test_0102_0201_0202_0300_from_their_tables(store: sessionmaker[Session], people: list[population.Person]) -> None:
    p = current(people)[0]
    with store.begin() as s:
        s.execute(update(Nintei).where(Nintei.hihokensha_no == p.hihokensha_no).values(nintei_date=date(2000, 1, 1)))
        s.add(Nintei(hihokensha_no=p.hihokensha_no, shinsei_date=date(2026, 5, 1), shinsei_kubun="1",
                     nintei_date=date(2026, 6, 1), yokaigo_kubun="22", valid_from=date(2026, 6, 1),
                     valid_to=date(2027, 5, 31)))
        s.execute(update(FutanWariai).where(FutanWariai.hihokensha_no == p.hihokensha_no)
                  .values(valid_to=date(2025, 7, 31)))
        s.add(FutanWariai(hihokensha_no=p.hihokensha_no, wariai=2, valid_from=date(2026, 8, 1),
                          valid_to=date(2027, 7, 31)))
        s.add(JushochiTokurei(atena_no=p.atena_no, tekiyo_date=date(2025, 4, 1), tekiyo_jiyu="05",
                              shisetsu_hokensha_no=None))
        common = {"kokan_shikibetsu_no": "1111", "shokisai_hokensha_no": p.hokensha_no,
                  "hihokensha_no": p.hihokensha_no, "jisseki_kubun": "1", "jigyosho_no": "1310000001",
                  "yokaigo_kubun": "22", "received_at": datetime.now(UTC)}
        s.add_all([  # 202609: a claim and its 修正 (counted once, the 修正), a claim then 取消 (out)
            KyufuJisseki(sakusei_kubun="1", service_ym="202609", seiri_no="A", shinsa_ym="202610", tanisu=100,
                         seikyu_gaku=900, riyosha_futan=100, **common),
            KyufuJisseki(sakusei_kubun="2", service_ym="202609", seiri_no="A", shinsa_ym="202611", tanisu=120,
                         seikyu_gaku=1080, riyosha_futan=120, **common),
            KyufuJisseki(sakusei_kubun="1", service_ym="202609", seiri_no="B", shinsa_ym="202610", tanisu=50,
                         seikyu_gaku=450, riyosha_futan=50, **common),
            KyufuJisseki(sakusei_kubun="3", service_ym="202609", seiri_no="B", shinsa_ym="202611", tanisu=50,
                         seikyu_gaku=450, riyosha_futan=50, **common),
            KyufuJisseki(sakusei_kubun="1", service_ym="202608", seiri_no="C", shinsa_ym="202609", tanisu=70,
                         seikyu_gaku=630, riyosha_futan=70, **common),
        ])
    with store() as s:
        built = build(s, [p.atena_no], V1, DAY)
        v2 = build(s, [p.atena_no], LAYOUTS.get(LAYOUT, "2"), DAY)
    got = {k[2]: {i.no: i.value or i.unset for i in r.items} for k, r in built.replicas.items()}
    assert got["0102"] == {"11": p.hihokensha_no, "12": "20250401", "13": "05", "14": "NotApplicable",
                           "15": "NotApplicable", "16": "NotYetDetermined"}
    assert got["0201"] == {"21": p.hihokensha_no, "22": "22", "23": "20260501", "24": "20260601",
                           "25": "20260601", "26": "20270531"}
    assert got["0202"] == {"31": p.hihokensha_no, "32": "2", "33": "20260801", "34": "20270731"}
    assert got["0300"] == {"1": p.hihokensha_no, "2": "202609", "3": "1", "4": "120", "5": "1080", "6": "120"}
    assert {i.no for i in v2.replicas[(p.togo_atena_no, TM, "0201")].items} >= {"27"}


def test_answer_items_covers_every_data_set_of_the_tm(store: sessionmaker[Session],
                                                      people: list[population.Person]) -> None:
    p = current(people)[0]
    with store() as s:
        version, items = answer_items(s, TM, p.togo_atena_no, day=DAY, layouts=LAYOUTS)
        _v, kyufu = answer_items(s, TM_KYUFU, p.togo_atena_no, day=DAY, layouts=LAYOUTS)
        with pytest.raises(LookupError, match="no person"):
            answer_items(s, TM, "999999999999999", day=DAY, layouts=LAYOUTS)
        with pytest.raises(LookupError, match="no data set of TM00000000000201"):
            answer_items(s, "TM00000000000201", p.togo_atena_no, day=DAY, layouts=LAYOUTS)
    assert version == "1"
    numbers = [i.no for i in items]
    assert numbers[:7] == ["1", "2", "3", "4", "5", "6", "7"] and len(numbers) == len(set(numbers)) == 23
    assert {i.unset for i in items if i.no in ("11", "12")} == {"NotApplicable"}  # no 住所地特例
    assert [(i.no, i.unset) for i in kyufu if i.no in ("11", "12", "13")] == [
        ("11", "NotCovered"), ("12", "NotCovered"), ("13", "NotCovered")]  # 0400: not built


def _state(s: Session, key: ReplicaKey, sha: str) -> None:
    s.add(FukuhonState(togo_atena_no=key.togo_atena_no, tm=key.tm, dataset=key.dataset, version=key.version,
                       sha256=sha, transfer_id="t", registered_at=datetime.now(UTC)))


def test_plan_register_replace_delete_nothing_and_version(store: sessionmaker[Session],
                                                          people: list[population.Person]) -> None:
    a, b, c, d = current(people)[:4]
    with store() as s:
        built = build(s, [a.atena_no, b.atena_no, c.atena_no, d.atena_no], V1, DAY)
    rb, rc = (built.replicas[(p.togo_atena_no, TM, "0101")] for p in (b, c))
    with store.begin() as s:
        _state(s, rb.key, items_hash(rb.items))  # b: the same → nothing
        _state(s, rc.key, "0" * 64)  # c: changed → replace
        _state(s, ReplicaKey(TM, "0202", "1", a.togo_atena_no), "1" * 64)  # a: a 0202 it no longer has → delete
        _state(s, ReplicaKey(TM, "0101", "1", "999999999999999"), "2" * 64)  # not looked at: kept
        _state(s, ReplicaKey(TM, "0101", "0", d.togo_atena_no), "3" * 64)  # d: another 版 → delete + register
    with store() as s:
        plan = fp.plan(s, built)
        orphans = list(fp.orphans(s, built.persons))
    slots = {op: [(c.key.togo_atena_no, c.key.dataset, c.key.version) for c in plan[op]] for op in fp.OPS}
    assert (a.togo_atena_no, "0101", "1") in slots["register"] and (d.togo_atena_no, "0101", "1") in slots["register"]
    assert slots["replace"] == [(c.togo_atena_no, "0101", "1")]
    assert sorted(slots["delete"]) == sorted([(a.togo_atena_no, "0202", "1"), (d.togo_atena_no, "0101", "0")])
    assert (b.togo_atena_no, "0101", "1") not in {x for v in slots.values() for x in v}
    assert [(c.op, c.key.togo_atena_no) for c in orphans] == [(fp.DELETE, "999999999999999")]
    assert plan[fp.REPLACE][0].sha256 == items_hash(rc.items)


def test_payload_round_trip_and_one_operation_per_transfer() -> None:
    key = ReplicaKey(TM, "0101", "1", "123456789012345")
    changes = [fp.Change(fp.REGISTER, key, (Item("1", value="a\u3000b"), Item("2", unset="NotApplicable")), "ab")]
    assert fp.parse(fp.render(fp.line(c) for c in changes)) == changes
    deleted = [fp.Change(fp.DELETE, key)]
    assert fp.parse(fp.render(fp.line(c) for c in deleted)) == deleted
    with pytest.raises(ValueError, match="mixes operations"):
        fp.parse(fp.render(fp.line(c) for c in changes + deleted))


def test_a_layout_naming_an_unknown_source_is_refused(tmp_path: Path) -> None:
    text = (CHUKAN_DIR / "kaigo-fukuhon-v1.toml").read_text(encoding="utf-8")
    (tmp_path / "kaigo-fukuhon-v1.toml").write_text(text.replace('source = "tekiyo_jiyu"', 'source = "tekiyo_kubun"'),
                                                     encoding="utf-8")
    with pytest.raises(LayoutError, match=r"data set 0102: item 13: source 'tekiyo_kubun' is not one"):
        check_sources(StandardLayouts(tmp_path).get(LAYOUT, "1"))
    with pytest.raises(LayoutError, match="data set 0102: item 13"):
        with sessionmaker()() as s:
            build(s, [], StandardLayouts(tmp_path).get(LAYOUT, "1"), DAY)
