"""The report of a refused 国保連 給付実績 (and 突合結果) file, row by row: every row names file, line, record
kind, field and rule; repeats are one row; damage first and alone. The files are typed in by
column position from LAYOUTS-EVIDENCE.md §0–§1 (0-based here; the columns of
tests/unit/test_kokuho_golden_inbound.py), not written by the project's simulator."""

from __future__ import annotations

from adapters.judgement import Verdict, where
from adapters.kokuho import kyufu_check
from adapters.kokuho.context import KokuhoContext
from adapters.kokuho.totsugo_load import TotsugoLoader

WARD = "131128"
KNOWN = {"0000000101"}  # 0000000102 is insured by no one here
MASKED = "<masked 10 chars>"


def line(total: int, **at: str) -> str:
    cols = [""] * total
    for key, value in at.items():
        cols[int(key[1:])] = value
    return ",".join(cols)


def claim(no: int, hiho: str, seikyu: str = "9810") -> list[str]:
    """An H1, a D1 and a T1 of one 給付実績, numbered from ``no`` (the H1's レコード番号)."""
    seiri = f"{no:010d}"  # 整理番号: each claim its own
    common = {"c2": "1116", "c5": WARD, "c6": hiho, "c7": "202610", "c8": "1370000083", "c9": seiri}
    return [
        line(96, c0="2", c1=str(no), c2="1116", c4="H1", c5="1", c6=WARD, c7=hiho, c8="202610", c9="1",
             c10="1370000083", c11=seiri, c20="21", c41="90", c45="1000", c46="9810", c47="1090",
             c69="1000", c70="9810", c71="1090", c94="202611"),
        line(34, c0="2", c1=str(no + 1), c4="D1", **common, c10="15", c11="1121", c12="250", c13="4",
             c17="1000", c22="250", c23="4", c27="1000", c33="202611"),
        line(62, c0="2", c1=str(no + 2), c4="T1", **common, c10="15", c11="4", c17="1000", c18="1090",
             c19="9810", c20="1090", c43="1000", c44=seikyu, c61="202611"),
    ]


def kyufu(*data: str, count: int | None = None, hokensha: str = WARD, eol: str = "\r\n") -> bytes:
    n = len(data)
    control = f"1,1,0,{n if count is None else count},111,0,{hokensha},0,13,1,202611,000001,"
    return eol.join([control, *data, f"3,{n + 2},", ""]).encode("cp932")


def judged(data: bytes) -> Verdict:
    return kyufu_check.check(data, "KYUFU.CSV", WARD, KNOWN)


def row(line_: int | None, kind: str | None, field: str | None, rule: str, detail: str, value: str | None = None,
        count: int = 1, lines: list[int] | None = None) -> dict[str, object]:
    return {"file": "KYUFU.CSV", "line": line_, "kind": kind, "record": line_, "field": field, "rule": rule,
            "detail": detail, "value": value, "count": count, "lines": [line_] if lines is None else lines}


def test_the_hand_written_file_is_good() -> None:
    verdict = judged(kyufu(*claim(2, "0000000101"), *claim(5, "0000000101")))
    assert verdict.ok, verdict.problems
    assert (verdict.records, verdict.groups) == (6, 2)


def test_an_lf_only_file_is_one_row_with_its_count_and_first_lines() -> None:
    data = kyufu(*claim(2, "0000000101"), *claim(5, "0000000101"), eol="\n")  # 8 lines, none with CR
    verdict = judged(data)
    assert verdict.errors == 8 and verdict.withheld == 0
    assert verdict.problems == [row(1, "control/H1/D1/T1/end", None, "line_terminator",
                                    "LF without CR; records end with CRLF", count=8,
                                    lines=[1, 2, 3, 4, 5, 6, 7, 8])]
    assert where(verdict.problems[0]) == "lines 1, 2, 3, 4, 5, 6, 7, 8 (8 times)"


def test_store_and_addressee_rules_name_their_line_and_record_kind() -> None:
    # lines: 1 control, 2–4 a claim whose T1 has a negative 保険請求額, 5–7 a claim of nobody ours
    data = kyufu(*claim(2, "0000000101", seikyu="-9810"), *claim(5, "0000000102"), hokensha="131136")
    assert judged(data).problems == [
        row(1, "control", "hokensha_no", "addressee", "保険者番号 131136 is not this ward's (131128)", "131136"),
        row(4, "T1", "ato_hoken_seikyu", "not_negative", "T1: ato_hoken_seikyu is negative", "-9810"),
        # one problem of the claim, on its H1, naming the lines of all its records
        row(5, "H1", "hihokensha_no", "unknown_hihokensha",
            "被保険者番号 is not insured by this ward (its 給付実績: the H1 and its rows)", MASKED, lines=[5, 6, 7]),
    ]


def test_unknown_people_of_many_claims_are_one_row_naming_the_first_lines() -> None:
    data = kyufu(*claim(2, "0000000102"), *claim(5, "0000000102"), *claim(8, "0000000102"),
                 *claim(11, "0000000102"))
    verdict = judged(data)
    assert verdict.errors == 4
    assert verdict.problems == [row(2, "H1", "hihokensha_no", "unknown_hihokensha",
                                    "被保険者番号 is not insured by this ward (its 給付実績: the H1 and its rows)",
                                    MASKED, count=4, lines=[2, 3, 4, 5, 6, 7, 8, 9, 10, 11])]


def test_a_record_number_that_is_not_a_number_is_damage_reported_alone() -> None:
    lines = [*claim(2, "0000000101"), *claim(5, "0000000102")]
    lines[1] = lines[1].replace("2,3,", "2,x,", 1)  # the D1 of line 3
    verdict = judged(kyufu(*lines))
    # withheld: the layout's own complaint about that column, and the unknown person of line 5
    assert (verdict.errors, verdict.withheld) == (1, 2)
    assert verdict.problems == [{**row(3, "D1", "record_no", "record_no", "レコード番号 is not a number"),
                                 "withheld": 2}]


def test_a_file_cut_short_reports_the_cut_first_and_alone() -> None:
    data = kyufu(*claim(2, "0000000101"), *claim(5, "0000000102"))
    cut = data[:data.index(b"\r\n2,7,") + 30]  # in the middle of the T1 of line 7, nothing after
    verdict = judged(cut)
    # withheld: the cut T1's column count and the unknown person of line 5
    assert (verdict.errors, verdict.withheld) == (2, 2)
    assert [(p["line"], p["kind"], p["rule"], p["detail"]) for p in verdict.problems] == [
        (7, "T1", "line_terminator", "truncated: last line has no CRLF; records end with CRLF"),
        (7, "file", "end_missing", "no end record")]


def test_a_wrong_count_in_a_whole_file_is_not_damage() -> None:
    # the numbering is whole and the end record there: the control record is what is wrong
    verdict = judged(kyufu(*claim(2, "0000000101"), *claim(5, "0000000102"), count=5))
    # in the order found: the count at the end of the frame, the last claim when it is complete
    assert [(p["line"], p["kind"], p["rule"]) for p in verdict.problems] == [
        (1, "control", "record_count"), (5, "H1", "unknown_hihokensha")]
    assert verdict.withheld == 0


def test_a_file_without_its_control_record_is_damage_reported_alone() -> None:
    data = kyufu(*claim(2, "0000000101"), *claim(5, "0000000102"))
    headless = data[data.index(b"\r\n") + 2:]  # cut at the head: the first line is the H1 numbered 2
    verdict = judged(headless)
    assert [(p["line"], p["kind"], p["field"], p["rule"], p["detail"]) for p in verdict.problems] == [
        (1, "H1", "record_no", "record_no_sequence", "レコード番号 2: expected 1"),
        (1, "H1", None, "control_missing", "the first record is not a control record")]
    assert verdict.withheld == 1  # the unknown person of the second claim


def totsugo(*hihokensha: tuple[str, str]) -> bytes:
    """A 受給者台帳突合結果 (5331: 82 columns, LAYOUTS-EVIDENCE.md §3): one record per
    (証記載保険者番号, 被保険者番号)."""
    data = [line(82, c0="2", c1=str(no), c2="5331", c3="01", c4="1", c5="20261001", c6="2", c7="99", c8=sho,
                 c9=hiho, c17="12345678", c23="22") for no, (sho, hiho) in enumerate(hihokensha, start=2)]
    control = f"1,1,0,{len(data)},533,0,{WARD},0,0,1,202611,000001,"
    return "\r\n".join([control, *data, f"3,{len(data) + 2}", ""]).encode("cp932")


def test_totsugo_rows_name_their_line_and_record_kind() -> None:
    data = totsugo((WARD, "0000000101"), (WARD, "0000000102"), ("131136", "0000000101"))
    verdict = TotsugoLoader().check(lambda: data, "TOTSUGO.CSV", KokuhoContext(WARD, frozenset(KNOWN)))
    assert [(p["file"], p["line"], p["kind"], p["field"], p["rule"], p["value"]) for p in verdict.problems] == [
        ("TOTSUGO.CSV", 3, "data", "hihokensha_no", "unknown_hihokensha", MASKED),
        ("TOTSUGO.CSV", 4, "data", "sho_hokensha_no", "addressee", "131136")]
