"""The report of a refused 年金特徴 Z11 (特別徴収対象者), row by row: a file damaged by one short
record reports its length first and alone; the ward's rules name their record (the fixed-length
file has no lines: a row's line is the record's ordinal, the 管理レコード is 1) and record kind.
The files are the hand-typed bytes of tests/unit/nenkin_golden.py (LAYOUTS-EVIDENCE.md §4), made a
Z11 of May: 通知内容コード 00 at bytes 10–11 and 作成年月日 at bytes 14–21 of every record."""

from __future__ import annotations

from adapters.judgement import Verdict
from adapters.nenkin import judge
from tests.unit import nenkin_golden as g

WARD = "13112"
MAY = b"20260501"
CTX = judge.NenkinContext(WARD, "Z11", {4: 1, 6: 2, 8: 3, 10: 4, 12: 5, 2: 6})


def z11(people: int, city: bytes = b"13112", made: bytes = MAY) -> bytes:
    """One block of ``people`` 対象者: 管理, ファイル管理, header, data …, trailer."""
    def z(rec: bytes) -> bytes:
        return rec[:9] + b"00" + rec[11:13] + made + rec[21:]

    person = g.PEOPLE[0]
    data = [z(g.data(city, b"%010d" % (1234567000 + i), *person[2:], jis=True)) for i in range(people)]
    trailer = z(g.trailer(city, b"%09d" % people, b"%011d" % (12345 * people), b"%011d" % (12000 * people)))
    kanri = city + g.SP + b"001" + made + g.SP * 31 + b"%06d" % (people + 2) + g.SP * 42
    return kanri + z(g.header(city)) + b"".join(data) + trailer


def judged(data: bytes) -> Verdict:
    verdict = Verdict("Z1100001.DTA")
    for _ in judge.records(data, "Z1100001.DTA", CTX, verdict):
        pass
    return verdict


def test_the_hand_written_z11_is_good() -> None:
    data = z11(40)
    assert len(data) == 96 + 42 * 500
    verdict = judged(data)
    assert verdict.ok, verdict.problems
    assert verdict.records == 40


def test_one_record_a_byte_short_reports_the_length_first_and_alone() -> None:
    data = z11(40)
    cut = 96 + 20 * 500  # the last byte of the 20th data record (record 23) is lost
    verdict = judged(data[:cut - 1] + data[cut:])
    assert verdict.errors == 1
    # the 20 records after the cut are each misread (区分, fields): follow-ons, counted, not listed
    assert verdict.withheld >= 20
    assert verdict.problems == [{
        "file": "Z1100001.DTA", "line": 44, "kind": "file", "record": 44, "field": None, "rule": "length",
        "detail": "file length 21095: (length − 96) mod 500 = 499, not 0: bytes lost or added, every record "
                  "after that point is misread; the last record is 499 bytes of 500; the first record found "
                  "wrong is record 23",
        "value": None, "count": 1, "lines": [44], "withheld": verdict.withheld}]


def test_a_file_cut_in_its_head_reports_only_that() -> None:
    verdict = judged(z11(3)[:30])
    assert [(p["line"], p["kind"], p["rule"], p["detail"]) for p in verdict.problems] == [
        (1, "kanri", "length",
         "file length 30: shorter than the 96-byte head; the last 管理レコード is 30 bytes of 48")]


def test_whole_records_lost_are_damage_over_the_trailer_they_upset() -> None:
    data = z11(5)
    lost = data[:96 + 500] + data[96 + 3 * 500:]  # data records 1 and 2 gone, the length still good
    verdict = judged(lost)
    assert [(p["line"], p["kind"], p["field"], p["rule"]) for p in verdict.problems] == [
        (2, "file_kanri", "file_kensu", "file_count")]
    assert verdict.withheld == 3  # the trailer's 合計件数, 合計金額1 and 2 (金額3 is 0 throughout)


def test_the_wards_rules_name_the_record_and_its_kind() -> None:
    verdict = judged(z11(2, city=b"13113", made=b"20260701"))  # another ward's, and of July
    assert [(p["line"], p["record"], p["kind"], p["field"], p["rule"], p["detail"]) for p in verdict.problems] == [
        (1, 1, "kanri", "shichoson_code", "addressee", "管理市町村コード 13113 is not this ward's (13112)"),
        (3, 3, "header", "shichoson_code", "addressee", "市町村コード 13113 is not this ward's (13112)"),
        (3, 3, "header", "sakusei_ymd", "month", "the yearly 対象者 (00) comes in April–June, not month 7")]
