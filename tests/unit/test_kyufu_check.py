"""Judging a whole 給付実績 file: each way the simulated 国保連 can get a file wrong is found, named
(record, field, rule) and counted; a good file gives the groups the store takes, with the
simulator's own arithmetic."""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.judgement import REPORT_LIMIT, Verdict
from adapters.kokuho import kyufu_check
from fixtures.kokuho import kyufu
from mappings import kokuho_frame, kokuho_xml
from mappings.layout import KIND_KEY
from mappings.records import ParsedRecord

WARD = "131128"
PEOPLE = [(f"{i:010d}", level) for i, level in zip(range(101, 106), ("21", "12", "25", "13", "22"), strict=True)]
KNOWN = {p for p, _ in PEOPLE}
CLAIMS = list(kyufu.claims(PEOPLE, "202610", seed=3, lines=2))


def file(*faults: str, claims: list[kyufu.Claim] = CLAIMS) -> bytes:
    buf = io.BytesIO()
    kyufu.write(buf, claims, hokensha_no=WARD, shori_ym="202611", faults=faults)
    return buf.getvalue()


def judged(data: bytes) -> Verdict:
    return kyufu_check.check(data, "KYUFU.CSV", WARD, KNOWN)


def test_a_good_file_has_no_problems_and_gives_the_simulators_groups() -> None:
    data = file()
    verdict = judged(data)
    assert verdict.ok and verdict.groups == 5 and verdict.records == sum(c.records for c in CLAIMS)
    again = Verdict("KYUFU.CSV")
    groups = list(kyufu_check.groups(data, "KYUFU.CSV", WARD, KNOWN, again))
    assert again.ok and len(groups) == 5
    for claim, group in zip(CLAIMS, groups, strict=True):
        seikyu, futan = kyufu.Claim.amounts(claim.tanisu)
        assert (group["hihokensha_no"], group["jigyosho_no"], group["seiri_no"]) == (
            claim.hihokensha_no, claim.jigyosho_no, claim.seiri_no)
        assert (group["service_ym"], group["shinsa_ym"], group["kokan_shikibetsu_no"]) == ("202610", "202611", "1116")
        assert (group["tanisu"], group["seikyu_gaku"], group["riyosha_futan"]) == (claim.tanisu, seikyu, futan)
        assert [(m["service_komoku"], m["kaisu"], m["service_tanisu"]) for m in group["meisai"]] == [
            (line.komoku, line.kaisu, line.service_tanisu) for line in claim.lines]
        assert sorted(t["service_shurui"] for t in group["shukei"]) == sorted(claim.per_shurui())


CASES = {
    # fault: the (record, field, rule) found — record numbers count from the control record (1)
    "bad_count": {(1, "record_count", "record_count")},
    "bad_check_digit": {(1, "hokensha_no", "check_digit")},
    "other_hokensha": {(1, "hokensha_no", "addressee")},
    "no_end": {(None, None, "end_missing")},
    "duplicate_no": {(2, "record_no", "record_no_sequence"), (4, "record_no", "record_no_sequence")},
    "bad_cp932": {(3, None, "encoding"), (3, "tekiyo", "encoding")},
    "unknown_person": {(2, "hihokensha_no", "unknown_hihokensha")},
    "bad_date": {(2, "service_ym", "date")},
    "too_wide": {(2, "jigyosho_no", "width")},
    "bad_code": {(2, "sakusei_kubun", "code_table")},
    "negative": {(5, "ato_hoken_seikyu", "not_negative")},
}


@pytest.mark.parametrize("fault", sorted(CASES))
def test_each_fault_is_found_and_named(fault: str) -> None:
    verdict = judged(file(fault))
    found = {(None if p["rule"] == "end_missing" else p["record"], p["field"], p["rule"]) for p in verdict.problems}
    assert found == CASES[fault]
    assert verdict.errors == len(verdict.problems) and not verdict.ok
    assert all(p["file"] == "KYUFU.CSV" for p in verdict.problems)


def test_a_truncated_last_line_is_found() -> None:
    rules = {p["rule"] for p in judged(file("truncated")).problems}
    assert {"line_terminator", "end_missing"} <= rules


def test_personal_values_are_masked_in_the_report() -> None:
    verdict = judged(file("unknown_person"))
    assert verdict.problems[0]["value"] == "<masked 10 chars>"
    assert "9999999999" not in repr(verdict.problems)


def test_the_same_kyufu_twice_in_one_file_is_refused() -> None:
    verdict = judged(file(claims=[*CLAIMS, CLAIMS[0]]))
    assert [(p["field"], p["rule"]) for p in verdict.problems] == [(None, "duplicate_kyufu")]


def test_rows_of_a_rejected_h1_are_not_reported_again() -> None:
    verdict = judged(file("bad_code"))
    assert "claim_head" not in {p["rule"] for p in verdict.problems}


def test_repeats_are_one_row_but_the_count_is_exact() -> None:
    many = list(kyufu.claims([("0000000001", "21")] * 1, "202610", per_person=1200))
    verdict = kyufu_check.check(file(claims=many), "K", WARD, set())  # nobody known
    # one row for the 1200 claims (adapters/judgement.py; the cap is on distinct rows:
    # tests/unit/test_report_verdict.py), naming the lines of the first claims' records
    assert verdict.errors == 1200 and len(verdict.problems) == 1 < REPORT_LIMIT
    assert verdict.problems[0]["count"] == 1200 and verdict.problems[0]["lines"][:4] == [2, 3, 4, 5]


def test_a_file_of_another_kind_is_refused() -> None:
    data = file().replace(b",111,", b",531,", 1)
    rules = {p["rule"] for p in judged(data).problems}
    assert "data_type" in rules


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=400), st.integers(min_value=0, max_value=2000))
def test_garbage_spliced_anywhere_gives_problems_not_exceptions(junk: bytes, at: int) -> None:
    data = file()
    at = at % len(data)
    verdict = judged(data[:at] + junk + data[at:])
    assert verdict.errors >= len(verdict.problems)
    if b"\n" in junk:  # a line split or added is never a good file
        assert not verdict.ok


def test_the_xml_form_of_the_same_file_gives_the_same_groups() -> None:
    data = file()
    parsed = [p for p in kokuho_frame.parse(data) if isinstance(p, ParsedRecord)]
    control, records = parsed[0].values, [p.values | {KIND_KEY: p.kind} for p in parsed[1:]]
    given = {k: control[k] for k in ("volume_no", "data_type", "fukushi_jimusho_no", "hokensha_no", "jigyosho_no",
                                     "todofuken_no", "baitai_kubun", "shori_ym")}
    xml = b"".join(kokuho_xml.render("1116", given, records))
    assert xml.startswith(b"<?xml")
    verdict = judged(xml)
    assert verdict.ok and verdict.records == judged(data).records
    from_xml = list(kyufu_check.groups(xml, "K", WARD, KNOWN, Verdict("K")))
    from_csv = list(kyufu_check.groups(data, "K", WARD, KNOWN, Verdict("K")))
    assert from_xml == from_csv and len(from_csv) == len(CLAIMS)
    bad = xml.replace(CLAIMS[0].hihokensha_no.encode(), b"9999999999")  # its H1, D1 and T1 rows
    assert [p["rule"] for p in judged(bad).problems] == ["unknown_hihokensha"]
