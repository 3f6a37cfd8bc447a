"""The report mechanism every partner's report goes through (adapters/judgement.py): repeats are
one row with a count and their first lines, damage comes first and alone, the count stays exact.
Problems are added by hand here; the files that give them are in test_report_kokuho.py and
test_report_nenkin.py."""

from __future__ import annotations

from adapters.judgement import LINES_KEPT, REPORT_LIMIT, Verdict, where


def test_identical_problems_are_one_row_with_a_count_and_the_first_lines() -> None:
    v = Verdict("K.CSV")
    for no in range(1, 144):
        v.add(no, None, "encoding", "bytes not valid cp932", kind="H1" if no % 2 else "D1")
    assert v.errors == 143 and not v.ok
    assert v.problems == [{"file": "K.CSV", "line": 1, "kind": "H1/D1", "record": 1, "field": None,
                           "rule": "encoding", "detail": "bytes not valid cp932", "value": None, "count": 143,
                           "lines": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]}]
    assert where(v.problems[0]) == "lines 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 … (143 times)"


def test_problems_differing_in_rule_field_or_detail_stay_apart() -> None:
    v = Verdict("K.CSV")
    v.add(2, "a", "shape", "x", kind="H1")
    v.add(3, "b", "shape", "x", kind="H1")
    v.add(4, "a", "code", "x", kind="H1")
    v.add(5, "a", "shape", "y", kind="H1")
    v.add(6, "a", "shape", "x", "v6", kind="H1")  # the value is not part of the key: the first is kept
    assert [(p["line"], p["field"], p["rule"], p["detail"], p["count"], p["lines"]) for p in v.problems] == [
        (2, "a", "shape", "x", 2, [2, 6]), (3, "b", "shape", "x", 1, [3]), (4, "a", "code", "x", 1, [4]),
        (5, "a", "shape", "y", 1, [5])]
    assert v.problems[0]["value"] is None
    assert [where(p) for p in v.problems] == ["lines 2, 6 (2 times)", "3", "4", "5"]


def test_damage_found_last_is_reported_first_and_alone() -> None:
    v = Verdict("Z11.DTA")
    for no in range(3, 50):  # the follow-ons of a record cut short: 区分 and fields read as garbage
        v.add(no, None, "record_kind", "レコード区分 must be 1, 2 or 3")
        v.add(no, "birth_ymd", "date", f"not a date {no}")
    v.add(50, None, "length", "file length 24595: (length − 96) mod 500 = 499, not 0")
    v.add(51, None, "block_structure", "no trailer")  # after the damage: still a follow-on
    assert v.damaged and v.errors == 1 and v.withheld == 47 * 2 + 1 and not v.ok
    assert v.problems == [{"file": "Z11.DTA", "line": 50, "kind": "file", "record": 50, "field": None,
                           "rule": "length", "detail": "file length 24595: (length − 96) mod 500 = 499, not 0",
                           "value": None, "count": 1, "lines": [50], "withheld": 95}]


def test_several_damage_findings_are_all_kept_in_their_order() -> None:
    v = Verdict("K.CSV")
    v.add(2, "tekiyo", "encoding", "bytes not valid cp932")
    v.add(3, "record_no", "record_no_sequence", "レコード番号 5: expected 3", line=3)
    v.add(6, None, "end_missing", "no end record", line=6)
    assert [(p["rule"], p["line"]) for p in v.problems] == [("record_no_sequence", 3), ("end_missing", 6)]
    assert v.errors == 2 and v.withheld == 1


def test_the_cap_is_on_distinct_rows_and_the_count_stays_exact() -> None:
    v = Verdict("K.CSV")
    for no in range(2, 1202):
        v.add(no, None, "duplicate_shukei", f"a second T1 in the 給付実績 of record {no}")
    v.add(5000, None, "duplicate_shukei", "a second T1 in the 給付実績 of record 2")  # a repeat of row 1
    assert v.errors == 1201 and len(v.problems) == REPORT_LIMIT == 1000
    assert v.problems[0]["count"] == 2 and v.problems[0]["lines"] == [2, 5000]


def test_a_row_names_at_most_the_first_lines_kept() -> None:
    v = Verdict("K.CSV")
    v.add(2, "hihokensha_no", "unknown_hihokensha", "not insured", kind="H1", lines=range(2, 30))
    assert LINES_KEPT == 10 and v.problems[0]["lines"] == list(range(2, 12))
    assert where(v.problems[0]) == "lines 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 …"


def test_a_problem_of_the_whole_file_has_no_line() -> None:
    v = Verdict("K.CSV")
    v.add(0, None, "empty_file", "no records")
    assert [(p["line"], p["kind"], p["lines"]) for p in v.problems] == [(None, "file", [])]
    assert where(v.problems[0]) == ""
