"""要介護認定: the generator's 認定, the nintei table's rules, the 要介護状態区分 code table, and the
record sources of the two print flows (結果通知書, 被保険者証) on a small hand-made store.

Expected records are written out by hand from the rows inserted here; generator checks use the
rules as stated (ages by the legal rule, month ends by the calendar), not the generator's code.
"""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from adapters.vendor import hihokenshasho, nintei_kekka
from adapters.vendor.hihokenshasho import NothingToIssue
from adapters.vendor.nintei_kekka import YOKAIGO_TABLE, yokaigo_label
from fixtures.nintei import Nintei as NinteiPlan
from fixtures.nintei import period_end
from fixtures.population import Person, generate, load
from mappings import csv_codec
from mappings.records import ParsedRecord
from mappings.registry import layouts
from queues.outbound import AlreadyRun
from store.models import Atena, ChangeJournal, Nintei, Shikaku, Transfer
from store.models.nintei import YOKAIGO_KUBUN
from store.mynumber import MyNumberCipher

NENDO = 2026
REF = date(NENDO, 4, 1)
LABELS = {"01": "非該当", "12": "要支援1", "13": "要支援2", "21": "要介護1", "22": "要介護2", "23": "要介護3",
          "24": "要介護4", "25": "要介護5"}
ISSUED = date(2026, 5, 1)
IKEN = "医療系サービスの利用を検討されたい。"


# --- generator -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def people() -> list[Person]:
    return list(generate(20_000, seed=2026, nendo=NENDO))


def age_on(birth: date, day: date) -> int:
    d = day + timedelta(days=1)  # 年齢計算ニ関スル法律: a year older from the day before the birthday
    return d.year - birth.year - ((d.month, d.day) < (birth.month, birth.day))


def month_end(day: date) -> bool:
    return (day + timedelta(days=1)).day == 1


def test_same_seed_same_nintei_other_seed_other() -> None:
    a = [p.nintei for p in generate(3000, seed=5, nendo=NENDO)]
    assert a == [p.nintei for p in generate(3000, seed=5, nendo=NENDO)]
    b = [p.nintei for p in generate(3000, seed=6, nendo=NENDO)]
    assert sum(x is not None and x == y for x, y in zip(a, b, strict=True)) < 5
    assert sum(x is not None for x in a) > 300


def test_share_rises_with_age_and_a_few_2go(people: list[Person]) -> None:
    ichigo = [p for p in people if p.hihokensha_kubun == "1"]
    nigo = [p for p in people if p.hihokensha_kubun == "2"]
    share = sum(p.nintei is not None for p in ichigo) / len(ichigo)
    assert 0.15 <= share <= 0.22
    young = [p for p in ichigo if age_on(p.birth_date, REF) < 75]
    old = [p for p in ichigo if age_on(p.birth_date, REF) >= 85]
    assert sum(p.nintei is not None for p in old) / len(old) > 5 * sum(p.nintei is not None for p in young) / len(young)
    assert 0 < sum(p.nintei is not None for p in nigo) < 0.01 * len(nigo)


def test_levels_and_kinds(people: list[Person]) -> None:
    decided = [p.nintei for p in people if p.nintei is not None]
    levels = Counter(n.yokaigo_kubun for n in decided)
    assert set(levels) == set(LABELS)
    assert all(levels[c] > 0.04 * len(decided) for c in LABELS if c != "01")
    assert 0 < levels["01"] < 0.05 * len(decided)
    kinds = Counter(n.shinsei_kubun for n in decided)
    assert set(kinds) == {"1", "2", "3"} and kinds["2"] > kinds["1"] > kinds["3"]
    assert 0.08 < sum(n.shinsakai_iken is not None for n in decided) / len(decided) < 0.22


def test_dates_are_plausible(people: list[Person]) -> None:
    first, last = date(NENDO - 1, 4, 1), date(NENDO + 1, 3, 31)
    in_nendo = 0
    for p in people:
        n = p.nintei
        if n is None:
            continue
        assert first <= n.nintei_date <= last
        assert 25 <= (n.nintei_date - n.shinsei_date).days <= 40
        assert n.shinsei_date >= p.shutoku_date
        in_nendo += n.nintei_date >= REF
        if n.yokaigo_kubun == "01":
            assert n.valid_from is None and n.valid_to is None and n.shinsei_kubun == "1"
            assert n.nintei_date >= REF  # only the newest decision can be a refusal
            continue
        assert n.valid_from is not None and n.valid_to is not None
        assert n.valid_from < n.valid_to and month_end(n.valid_to)
        if n.shinsei_kubun == "2":  # 更新: from the 1st of the month after the decision
            assert n.valid_from.day == 1 and n.valid_from > n.nintei_date
            assert (n.valid_from - timedelta(days=1)).month == n.nintei_date.month
        else:  # 新規, 区分変更: from the application
            assert n.valid_from == n.shinsei_date
        if n.nintei_date < REF:  # last 年度's decision is still in force on 4/1
            assert n.valid_from <= REF <= n.valid_to
    decided = sum(p.nintei is not None for p in people)
    assert 0.4 < in_nendo / decided < 0.6


def test_period_end_by_hand() -> None:
    assert period_end(date(2026, 4, 1), 12) == date(2027, 3, 31)
    assert period_end(date(2026, 4, 15), 6) == date(2026, 10, 31)  # rest of April + 6 months
    assert period_end(date(2025, 12, 1), 1) == date(2025, 12, 31)
    assert period_end(date(2025, 12, 2), 1) == date(2026, 1, 31)
    assert period_end(date(2023, 8, 31), 6) == date(2024, 2, 29)
    assert period_end(date(2024, 3, 1), 48) == date(2028, 2, 29)


# --- code table and layout -------------------------------------------------------------------


def test_labels_of_every_stored_code() -> None:
    assert set(YOKAIGO_KUBUN) == set(LABELS)
    assert {code: yokaigo_label(code) for code in YOKAIGO_KUBUN} == LABELS
    with pytest.raises(ValueError, match="'11' is not in code table yokaigo_jotai_kubun_09"):
        yokaigo_label("11")


def test_layout_validates_the_code_with_the_same_table() -> None:
    layout = layouts.get("vendor", "nintei-kekka")
    field = next(f for f in layout.kind().fields if f.name == "yokaigo_kubun")
    assert field.converter.params["table"] == YOKAIGO_TABLE
    assert all(field.converter.meaning(code) == LABELS[code] for code in YOKAIGO_KUBUN)  # type: ignore[attr-defined]
    assert layout.encoding == "cp932" and layouts.get("vendor", "hihokenshasho").encoding == "utf-8"


# --- a small store ---------------------------------------------------------------------------


def atena(no: int, name: str, kana: str, **extra: object) -> Atena:
    return Atena(atena_no=f"{no:015d}", setai_no=f"{no:015d}", name_kanji=name, name_kana=kana,
                 birth_date=date(1940, 1, no), sex="2" if no % 2 else "1", postal_code="1540017",
                 address=f"東京都世田谷区世田谷四丁目{no}番", **extra)


def shikaku(no: int, kubun: str = "1", **extra: object) -> Shikaku:
    return Shikaku(hihokensha_no=f"{no:010d}", atena_no=f"{no:015d}", hokensha_no="131128",
                   hihokensha_kubun=kubun, shutoku_date=date(2005, 1, no), shutoku_jiyu="02", **extra)


def nintei(no: int, decided: date, kubun: str, period: tuple[date, date] | None, iken: str | None = None) -> Nintei:
    return Nintei(hihokensha_no=f"{no:010d}", shinsei_date=decided - timedelta(days=30), shinsei_kubun="1",
                  nintei_date=decided, yokaigo_kubun=kubun, valid_from=period[0] if period else None,
                  valid_to=period[1] if period else None, shinsakai_iken=iken)


def people_in(store: sessionmaker[Session]) -> None:
    """1: plain; 2: mail to a registered 送付先; 3: mail returned (返戻); 4: 第2号."""
    with store.begin() as s:
        s.add_all([
            atena(1, "世田谷\u3000一郎", "セタガヤ\u3000イチロウ"),
            atena(2, "髙橋\u3000花子", "タカハシ\u3000ハナコ", sofu_name="髙橋\u3000次郎", sofu_postal_code="1560043",
                  sofu_address="東京都世田谷区松原一丁目２番３号"),
            atena(3, "用賀\u3000三郎", "ヨウガ\u3000サブロウ", sofu_status="returned"),
            atena(4, "砧\u3000四子", "キヌタ\u3000ヨツコ"),
        ])
        s.flush()
        s.add_all([shikaku(1), shikaku(2), shikaku(3), shikaku(4, kubun="2")])


def test_load_stores_the_generated_nintei(store: sessionmaker[Session]) -> None:
    counts = load(store, MyNumberCipher(bytes(range(32)), bytes(range(50, 82))), 600, seed=9, nendo=NENDO, batch=250)
    expected = {p.hihokensha_no: p.nintei for p in generate(600, seed=9, nendo=NENDO) if p.nintei}
    assert counts.nintei == len(expected) > 50
    with store() as s:
        stored = {n.hihokensha_no: NinteiPlan(n.shinsei_date, n.shinsei_kubun, n.nintei_date, n.yokaigo_kubun,
                                              n.valid_from, n.valid_to, n.shinsakai_iken)
                  for n in s.scalars(select(Nintei))}
    assert stored == expected


def test_store_refuses_what_a_decision_cannot_be(store: sessionmaker[Session]) -> None:
    people_in(store)
    year = (date(2026, 5, 1), date(2027, 4, 30))
    bad = [
        nintei(1, date(2026, 4, 20), "31", year),  # 再調査 is not a decision
        nintei(1, date(2026, 4, 20), "11", year),  # 経過的要介護 (2006 table), not in the 2009 set
        nintei(1, date(2026, 4, 20), "01", year),  # 非該当 with a period
        nintei(1, date(2026, 4, 20), "21", None),  # a level without a period
        nintei(1, date(2026, 4, 20), "21", (year[1], year[0])),  # period backwards
        Nintei(hihokensha_no="0000000001", shinsei_date=date(2026, 5, 1), shinsei_kubun="1",
               nintei_date=date(2026, 4, 1), yokaigo_kubun="01"),  # decided before applied
        Nintei(hihokensha_no="0000000001", shinsei_date=date(2026, 4, 1), shinsei_kubun="5",
               nintei_date=date(2026, 5, 1), yokaigo_kubun="01"),  # no such 申請種別
        nintei(9, date(2026, 4, 20), "01", None),  # no such 被保険者
    ]
    for row in bad:
        with pytest.raises(IntegrityError), store.begin() as s:
            s.add(row)
    with store.begin() as s:
        s.add(nintei(1, date(2026, 4, 20), "21", year))
    with pytest.raises(IntegrityError), store.begin() as s:
        s.add(nintei(1, date(2026, 4, 20), "22", year))  # same person and day twice


def test_result_notices_of_a_nendo(store: sessionmaker[Session]) -> None:
    people_in(store)
    with store.begin() as s:
        s.add_all([
            nintei(1, date(2026, 4, 1), "22", (date(2026, 3, 2), date(2027, 3, 31)), IKEN),
            nintei(2, date(2027, 3, 31), "01", None),
            nintei(3, date(2026, 6, 1), "12", (date(2026, 5, 2), date(2027, 5, 31))),  # mail returned: left out
            nintei(4, date(2026, 3, 31), "25", (date(2026, 3, 1), date(2027, 2, 28))),  # 年度 2025
        ])
    with store() as s:
        got = list(nintei_kekka.notices(s, NENDO, ISSUED))
        assert nintei_kekka.count(s, NENDO) == 2
        earlier = list(nintei_kekka.notices(s, NENDO - 1, ISSUED))
        assert nintei_kekka.count(s, NENDO - 1) == 1
    assert got == [
        {"notice_no": "2600000001", "nendo": 2026, "hihokensha_no": "0000000001", "atena_no": "000000000000001",
         "postal_code": "1540017", "address": "東京都世田谷区世田谷四丁目1番", "sofu_name": None,
         "name_kanji": "世田谷\u3000一郎", "name_kana": "セタガヤ\u3000イチロウ", "yokaigo_kubun": "22",
         "yokaigo_label": "要介護2", "nintei_date": date(2026, 4, 1), "valid_from": date(2026, 3, 2),
         "valid_to": date(2027, 3, 31), "shinsakai_iken": IKEN, "issue_date": ISSUED},
        {"notice_no": "2600000002", "nendo": 2026, "hihokensha_no": "0000000002", "atena_no": "000000000000002",
         "postal_code": "1560043", "address": "東京都世田谷区松原一丁目２番３号", "sofu_name": "髙橋\u3000次郎",
         "name_kanji": "髙橋\u3000花子", "name_kana": "タカハシ\u3000ハナコ", "yokaigo_kubun": "01",
         "yokaigo_label": "非該当", "nintei_date": date(2027, 3, 31), "valid_from": None, "valid_to": None,
         "shinsakai_iken": None, "issue_date": ISSUED},
    ]
    assert [(r["notice_no"], r["hihokensha_no"], r["yokaigo_label"]) for r in earlier] == [
        ("2500000004", "0000000004", "要介護5")]
    # The cp932 layout takes the records once 髙 is substituted by the ward's table.
    layout = layouts.get("vendor", "nintei-kekka")
    jis = [r | {k: r[k].replace("髙", "高") for k in ("name_kanji", "sofu_name") if r[k]} for r in got]
    parsed = list(csv_codec.parse(layout, [b"".join(csv_codec.render(layout, jis))]))
    assert all(isinstance(p, ParsedRecord) for p in parsed)
    assert [p.values for p in parsed if isinstance(p, ParsedRecord)] == jis



# --- 被保険者証: journal windows -------------------------------------------------------------


def journal(s: Session, *entries: tuple[str, int, str]) -> None:
    """(entity, 被保険者 no, kind) in order: ids 1, 2, … in a fresh store."""
    now = datetime.now(UTC)
    for n, (entity, no, kind) in enumerate(entries):
        s.add(ChangeJournal(event_id=f"e{n}-{uuid.uuid4().hex[:8]}", entity=entity, entity_key=f"{no:010d}",
                            kind=kind, occurred_at=now, applied_at=now))
        s.flush()


def card(no: int, name: str, kana: str, kubun: str = "1",
         sofu: tuple[str, str, str] | None = None) -> dict[str, object]:
    postal, address, sofu_name = sofu or ("1540017", f"東京都世田谷区世田谷四丁目{no}番", None)
    return {"hihokensha_no": f"{no:010d}", "hokensha_no": "131128", "atena_no": f"{no:015d}", "postal_code": postal,
            "address": address, "sofu_name": sofu_name, "name_kanji": name, "name_kana": kana,
            "birth_date": date(1940, 1, no), "sex": "2" if no % 2 else "1", "shutoku_date": date(2005, 1, no),
            "hihokensha_kubun": kubun, "issue_date": ISSUED}


def test_one_card_per_changed_person_in_the_window(store: sessionmaker[Session]) -> None:
    people_in(store)
    with store.begin() as s:
        s.add_all([atena(5, "岡本\u3000五郎", "オカモト\u3000ゴロウ"), atena(6, "野毛\u3000六子", "ノゲ\u3000ロクコ")])
        s.flush()
        s.add_all([shikaku(5, soshitsu_date=date(2026, 4, 10), soshitsu_jiyu="02"), shikaku(6)])
        journal(s, ("shikaku", 2, "changed"),  # 1
                ("shikaku", 1, "created"),  # 2
                ("shikaku", 2, "changed"),  # 3: person 2 again: still one card
                ("shikaku", 3, "changed"),  # 4: mail returned: no card
                ("shikaku", 5, "changed"),  # 5: 資格 lost: no card
                ("fuka", 6, "changed"),  # 6: another entity
                ("shikaku", 6, "ended"),  # 7: an end is not a card
                ("shikaku", 4, "changed"))  # 8: outside the window below
    window = hihokenshasho.Window(0, 7)
    with store() as s:
        got = list(hihokenshasho.cards(s, window, ISSUED))
        assert hihokenshasho.count(s, window) == 2
        later = list(hihokenshasho.cards(s, hihokenshasho.Window(7, 8), ISSUED))
        # Bounds: start excluded, end included.
        assert [c["hihokensha_no"] for c in hihokenshasho.cards(s, hihokenshasho.Window(3, 7), ISSUED)] == []
        assert [c["hihokensha_no"] for c in hihokenshasho.cards(s, hihokenshasho.Window(0, 1), ISSUED)] == [
            "0000000002"]
    assert got == [
        card(1, "世田谷\u3000一郎", "セタガヤ\u3000イチロウ"),
        card(2, "髙橋\u3000花子", "タカハシ\u3000ハナコ",
             sofu=("1560043", "東京都世田谷区松原一丁目２番３号", "髙橋\u3000次郎")),
    ]
    assert later == [card(4, "砧\u3000四子", "キヌタ\u3000ヨツコ", kubun="2")]
    # The UTF-8 layout takes 髙 as it is.
    layout = layouts.get("vendor", "hihokenshasho")
    parsed = list(csv_codec.parse(layout, [b"".join(csv_codec.render(layout, got))]))
    assert [p.values for p in parsed if isinstance(p, ParsedRecord)] == got


FLOW = "print.hihokenshasho"


def transfer(batch: str, part_no: int, part_count: int) -> Transfer:
    now = datetime.now(UTC)
    return Transfer(id=str(uuid.uuid4()), flow=FLOW, batch=batch, partner="vendor-a", direction="out",
                    sha256="0" * 64, size=1, key_id="k", payload_ref="ref", state="queued", part_no=part_no,
                    part_count=part_count, created_at=now, updated_at=now)


def scope(store: sessionmaker[Session], edition: int = 1) -> tuple[str, hihokenshasho.Window]:
    with store() as s:
        return hihokenshasho.scope(s, FLOW, NENDO, edition)


def test_window_is_derived_from_the_batches_made(store: sessionmaker[Session]) -> None:
    people_in(store)
    with pytest.raises(NothingToIssue, match=r"no 資格 change journaled after position 0 \(no run yet\)"):
        scope(store)
    with store.begin() as s:
        journal(s, *[("shikaku", 1 + n % 4, "changed") for n in range(5)])
    assert scope(store) == ("print.hihokenshasho/0-5", hihokenshasho.Window(0, 5))
    with store.begin() as s:  # while 1, 2 and 4 cannot be mailed (3's mail is returned already)
        for no in (1, 2, 4):
            s.get(Atena, f"{no:015d}").sofu_status = "held"  # type: ignore[union-attr]
    with pytest.raises(NothingToIssue, match=r"changes journaled in \(0, 5\] are all of people whose"):
        scope(store)
    with store.begin() as s:
        for no in (1, 2, 4):
            s.get(Atena, f"{no:015d}").sofu_status = "ok"  # type: ignore[union-attr]
    with store.begin() as s:
        s.add(transfer("print.hihokenshasho/0-5", 1, 1))
        journal(s, ("shikaku", 1, "changed"), ("fuka", 2, "changed"), ("shikaku", 3, "changed"))  # 6, 7, 8
    assert scope(store) == ("print.hihokenshasho/5-8", hihokenshasho.Window(5, 8))
    # An interrupted run (1 of 2 parts) is resumed as it was, whatever came since.
    with store.begin() as s:
        s.add(transfer("print.hihokenshasho/5-8", 1, 2))
        journal(s, ("shikaku", 4, "changed"))  # 9
    assert scope(store) == ("print.hihokenshasho/5-8", hihokenshasho.Window(5, 8))
    # An edition of the latest window re-issues it; once complete the window counts as issued.
    assert scope(store, edition=2) == ("print.hihokenshasho/5-8#2", hihokenshasho.Window(5, 8))
    with store.begin() as s:
        s.add(transfer("print.hihokenshasho/5-8#2", 1, 1))
    assert scope(store) == ("print.hihokenshasho/8-9", hihokenshasho.Window(8, 9))
    with store.begin() as s:
        s.add(transfer("print.hihokenshasho/8-9", 1, 1))
    with pytest.raises(NothingToIssue) as refused:
        scope(store)
    assert str(refused.value) == ("print.hihokenshasho: nothing to issue: no 資格 change journaled after "
                                  "position 9 (last run print.hihokenshasho/8-9)")
    assert isinstance(refused.value, AlreadyRun)  # the CLI refuses it like a finished batch


def test_a_batch_key_that_names_no_window_is_an_error(store: sessionmaker[Session]) -> None:
    with store.begin() as s:
        s.add(transfer("print.hihokenshasho/2026", 1, 1))
    with pytest.raises(ValueError, match=r"batch key 'print.hihokenshasho/2026' does not name a journal window"):
        scope(store)
