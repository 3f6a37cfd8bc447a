"""Z11 persons matched to 宛名: one sure match, or unmatched / ambiguous with the reason — never a
guess. The names are written out here in both widths (the file's half-width, the store's full).

Against the store (a real SQLite, migrated) a chunk of persons at a time: only the chunk's
candidates are read, and any chunk size matches as one index of every 宛名 would."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Sequence
from typing import Any

import pytest
from sqlalchemy import Engine, event, insert, select
from sqlalchemy.orm import Session, sessionmaker

from adapters.judgement import Verdict
from adapters.nenkin import taisho_load
from adapters.nenkin.judge import NenkinContext
from adapters.nenkin.match import AMBIGUOUS, MATCHED, UNMATCHED, Atena, AtenaIndex, Person, kana_key
from adapters.nenkin.taisho_load import StoreMatcher
from fixtures.nenkin import dta
from store.models import Atena as AtenaRow
from store.models import Shikaku, TokuchoTaisho, Transfer

BIRTH = dt.date(1950, 4, 2)


def atena(no: str, kiso: str | None, kana: str = "カイゴ　タロウ", birth: dt.date = BIRTH, sex: str = "1",
          dai1go: bool = True) -> Atena:
    return Atena(f"{no:0>15}", kiso, birth, sex, kana, dai1go)


def person(kiso: str = "1234567890", kana: str = "ｶｲｺﾞ ﾀﾛｳ", birth: dt.date = BIRTH, sex: str = "1") -> Person:
    return Person(kiso, birth, sex, kana)


def test_kana_in_either_width_with_voiced_marks_is_the_same_name() -> None:
    assert kana_key("ｶﾞｲｺﾞ ﾀﾛｳ") == kana_key("ガイゴ　タロウ") == "ガイゴタロウ"
    assert kana_key("ｶｲｺﾞ ﾀﾛｳ") != kana_key("ｶｲｺ ﾀﾛｳ")


def test_one_atena_with_the_same_number_birth_and_sex_is_a_match() -> None:
    index = AtenaIndex([atena("1", "1234567890"), atena("2", "1111111111")])
    m = index.match(person())
    assert m.state == MATCHED
    assert m.atena_no == "000000000000001"


def test_kana_breaks_a_tie_between_two_with_the_same_number() -> None:
    index = AtenaIndex([atena("1", "1234567890", "カイゴ　ハナコ"), atena("2", "1234567890")])
    m = index.match(person())
    assert (m.state, m.atena_no) == (MATCHED, "000000000000002")


def test_a_tie_kana_does_not_break_is_ambiguous_with_both_offered() -> None:
    index = AtenaIndex([atena("1", "1234567890"), atena("2", "1234567890")])
    m = index.match(person())
    assert m.state == AMBIGUOUS and m.atena_no is None
    assert m.suggestions == ("000000000000001", "000000000000002")
    none_fits = AtenaIndex([atena("1", "1234567890", "ア"), atena("2", "1234567890", "イ")]).match(person())
    assert none_fits.state == AMBIGUOUS and "none has this カナ氏名" in none_fits.reason


def test_another_birth_or_sex_is_not_matched_even_with_the_number() -> None:
    index = AtenaIndex([atena("1", "1234567890", birth=dt.date(1950, 4, 3))])
    assert index.match(person()).state == UNMATCHED
    index = AtenaIndex([atena("1", "1234567890", sex="2")])
    m = index.match(person())
    assert m.state == UNMATCHED and m.atena_no is None and m.suggestions == ("000000000000001",)


def test_an_unknown_number_is_unmatched_and_look_alikes_are_only_suggested() -> None:
    index = AtenaIndex([atena("7", None), atena("8", "9999999999", birth=dt.date(1949, 1, 1))])
    m = index.match(person())
    assert (m.state, m.atena_no, m.suggestions) == (UNMATCHED, None, ("000000000000007",))


def test_someone_who_is_not_a_dai1go_hihokensha_is_unmatched() -> None:
    m = AtenaIndex([atena("1", "1234567890", dai1go=False)]).match(person())
    assert (m.state, m.atena_no) == (UNMATCHED, None) and "第1号" in m.reason


# --- matching against the store, a chunk at a time (adapters/nenkin/taisho_load.StoreMatcher) ------

def store_atena(session: Session, people: Sequence[Atena]) -> None:
    """The 宛名 into the store as rows, each with a 第1号 資格: lost (喪失) for those not ``dai1go``."""
    session.execute(insert(AtenaRow), [
        {"atena_no": a.atena_no, "setai_no": a.atena_no, "name_kanji": "介護　太郎", "name_kana": a.kana,
         "birth_date": a.birth, "sex": a.sex, "postal_code": "1540017", "address": "東京都世田谷区",
         "kiso_nenkin_no": a.kiso_nenkin_no} for a in people])
    session.execute(insert(Shikaku), [
        {"hihokensha_no": a.atena_no[-10:], "atena_no": a.atena_no, "hokensha_no": "131128", "hihokensha_kubun": "1",
         "shutoku_date": dt.date(2015, 4, 1), "shutoku_jiyu": "02",
         "soshitsu_date": None if a.dai1go else dt.date(2025, 3, 31), "soshitsu_jiyu": None if a.dai1go else "01"}
        for a in people])


def rows_read(engine: Engine) -> Counter[str]:
    """Rows each SELECT on the engine returns, by the table after its FROM: the statement is run
    again as it was sent (a second cursor of the same connection) and its rows counted."""
    read: Counter[str] = Counter()

    @event.listens_for(engine, "after_cursor_execute")
    def count(_conn: Any, cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            table = re.search(r"\bFROM\s+(\w+)", statement, re.IGNORECASE)
            assert table is not None, statement
            read[table[1]] += len(cursor.connection.execute(statement, parameters).fetchall())

    return read


def test_a_ward_much_larger_than_the_file_is_read_only_for_the_chunks_candidates(
        store: sessionmaker[Session]) -> None:
    ward = [atena(str(i), f"{1_000_000_000 + i}", birth=BIRTH + dt.timedelta(days=i), sex="12"[i % 2])
            for i in range(1, 3001)]
    # two 宛名 born on each of three days no one else was born on: one of the same カナ (a suggestion)
    twins = [atena(f"99{k}{j}", None, ("カイゴ　タロウ", "ベツジン　ハナコ")[j], birth=dt.date(1930, 1, k))
             for k in (1, 2, 3) for j in (0, 1)]
    with store.begin() as s:
        store_atena(s, [*ward, *twins])
    known = [person(a.kiso_nenkin_no or "", birth=a.birth, sex=a.sex) for a in ward[::180]]  # 17 of 3,000
    unknown = [person(f"{900_000_000 + k:010d}", birth=dt.date(1930, 1, k)) for k in (1, 2, 3)]
    read = rows_read(store.kw["bind"])
    with store() as s:
        found = list(StoreMatcher(s).match_all([*known, *unknown]))
    assert len(known) == 17
    assert read == {"atena": 17 + 6}  # their 第1号 資格 joined: one row each
    assert [(m.state, m.atena_no) for m in found[:17]] == [(MATCHED, a.atena_no) for a in ward[::180]]
    assert [(m.state, m.suggestions) for m in found[17:]] == [
        (UNMATCHED, ("000000000009910",)), (UNMATCHED, ("000000000009920",)), (UNMATCHED, ("000000000009930",))]


TWO_PENSIONS = atena("1", "1111111111", "ニネン　ヒトリ")
SHARED = [atena("2", "2222222222", "オナジ　バンゴウ"), atena("3", "2222222222", "オナジ　バンゴウ")]
NOT_1GO = atena("4", "4444444444", "ニゴウ　ヒホケン", dai1go=False)
ALIKE = atena("5", "5555555555", "ソックリ　サン", birth=dt.date(1945, 6, 7), sex="2")
ALIKE_NO_NUMBER = atena("6", None, "ソックリ　サン", birth=dt.date(1945, 6, 7), sex="2")
OTHERS = [atena(str(i), f"{7_000_000_000 + i}", birth=dt.date(1946, 1, 1) + dt.timedelta(days=i)) for i in range(7, 40)]
PEOPLE = [TWO_PENSIONS, *SHARED, NOT_1GO, ALIKE, ALIKE_NO_NUMBER, *OTHERS]
# The file: one person's two pensions, a number two 宛名 share, a 第2号, and a number no 宛名 holds
# of someone born as ALIKE — next to ALIKE's own record, so that ALIKE is read both ways.
FILE = [person("1111111111", "ﾆﾈﾝ ﾋﾄﾘ"), person("2222222222", "ｵﾅｼﾞ ﾊﾞﾝｺﾞｳ"), person("1111111111", "ﾆﾈﾝ ﾋﾄﾘ"),
        person("4444444444", "ﾆｺﾞｳ ﾋﾎｹﾝ"), person("5555555555", "ｿｯｸﾘ ｻﾝ", dt.date(1945, 6, 7), "2"),
        person("8888888888", "ｿｯｸﾘ ｻﾝ", dt.date(1945, 6, 7), "2"), person("1111111111", "ﾆﾈﾝ ﾋﾄﾘ")]
EXPECTED = [(MATCHED, "000000000000001", ()), (AMBIGUOUS, None, ("000000000000002", "000000000000003")),
            (MATCHED, "000000000000001", ()), (UNMATCHED, None, ("000000000000004",)),
            (MATCHED, "000000000000005", ()), (UNMATCHED, None, ("000000000000005", "000000000000006")),
            (MATCHED, "000000000000001", ())]


def check_chunks_match_as_one_index(store: sessionmaker[Session]) -> None:
    """Any chunk size gives what one index of every 宛名 gives (the same number in several chunks,
    a 宛名 read both by number and by birth, suggestions sorted and not repeated)."""
    with store.begin() as s:
        store_atena(s, PEOPLE)
        # a second current 第1号 資格 (a fault of the 資格 data): still one 宛名, once a candidate
        s.execute(insert(Shikaku).values(hihokensha_no="9000000001", atena_no=TWO_PENSIONS.atena_no,
                                         hokensha_no="131128", hihokensha_kubun="1", shutoku_date=dt.date(2020, 4, 1),
                                         shutoku_jiyu="01"))
    whole = AtenaIndex(PEOPLE)
    assert [(m.state, m.atena_no, m.suggestions) for m in map(whole.match, FILE)] == EXPECTED
    with store() as s:
        for size in (1, 2, 3, 4, len(FILE)):
            found = list(StoreMatcher(s).match_all(FILE, size=size))
            assert [(m.state, m.atena_no, m.suggestions) for m in found] == EXPECTED, size
            assert found == [whole.match(p) for p in FILE], size  # the reasons too


def test_chunks_of_any_size_match_as_one_index_of_every_atena(store: sessionmaker[Session]) -> None:
    check_chunks_match_as_one_index(store)


def check_kept_a_chunk_at_a_time(store: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch) -> None:
    """A Z11 of FILE applied in chunks of 3, 3 and 1: each row as one index of every 宛名 matches it."""
    monkeypatch.setattr(taisho_load, "CHUNK", 3)
    codes = iter(("1150", "1350", "5350"))  # the person of three pensions
    records = [dta.Record(dta.Person(p.kiso_nenkin_no, next(codes) if p.kiso_nenkin_no == "1111111111" else "1150",
                                     "001", p.birth, p.sex, p.kana), "02", kingaku1=10_000 + i)
               for i, p in enumerate(FILE)]
    raw = dta.render(dta.Dta("Z11", "001", "00", dt.date(2026, 5, 10), tuple(records)))
    with store.begin() as s:
        store_atena(s, PEOPLE)
        s.add(Transfer(id="z11", flow="nenkin.z11", partner="keiyu", direction="in", sha256="0" * 64, size=len(raw),
                       key_id="k", payload_ref="p", state="received"))
    verdict = Verdict("Z1100105.DTA")
    with store.begin() as s:
        counts = taisho_load.apply_taisho(s, "z11", raw, verdict.file, NenkinContext("13112", "Z11", {}), verdict)
    assert verdict.ok and verdict.records == len(FILE)
    assert counts == {MATCHED: 4, AMBIGUOUS: 1, UNMATCHED: 2, "recorded": 7}
    with store() as s:
        kept = [(r.match_state, r.atena_no, r.kingaku1, r.nendo, r.hosoku_month)
                for r in s.scalars(select(TokuchoTaisho).order_by(TokuchoTaisho.kingaku1))]
    assert kept == [(state, no, 10_000 + i, 2026, "04") for i, (state, no, _) in enumerate(EXPECTED)]


def test_a_z11_is_kept_a_chunk_at_a_time_as_one_index_would_match_it(store: sessionmaker[Session],
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    check_kept_a_chunk_at_a_time(store, monkeypatch)
