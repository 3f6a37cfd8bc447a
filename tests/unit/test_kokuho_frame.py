"""The 国保連 file frame: hand-written golden bytes, and a malformed corpus that must give the right
RecordError (never another exception)."""

from __future__ import annotations

import datetime as dt

import pytest

from mappings import kokuho_frame as kf
from mappings.records import ParsedRecord, RecordError

CONTROL = {"hokensha_no": "131128", "shori_ym": "202604", "baitai_kubun": "1"}
RECORDS = [
    {"ido_ymd": dt.date(2026, 4, 1), "ido_kubun": "1", "ido_jiyu": "01", "sho_hokensha_no": "131128",
     "hihokensha_no": "0000000017", "kokuho_kojin_no": "123456789018"},
    {"ido_ymd": dt.date(2026, 4, 2), "ido_kubun": "2", "ido_jiyu": "99", "sho_hokensha_no": "131128",
     "hihokensha_no": "0000000025", "yokaigo_jotai_kubun": "21"},
]


def _q(*cols: str) -> str:
    return ",".join(f'"{c}"' for c in cols)


# Written by hand from LAYOUTS-EVIDENCE.md §0/§3: 13 control columns, 80 data columns, end + blank.
E = [""]
GOLDEN = (
    _q("1", "1", "0", "2", "531", "0", "131128", "0", "0", "1", "202604", "000001", "") + "\r\n"
    + _q("2", "2", "5311", "20260401", "1", "01", "131128", "0000000017", *E * 58, "123456789018", *E * 13)
    + "\r\n"
    + _q("2", "3", "5311", "20260402", "2", "99", "131128", "0000000025", *E * 12, "21", *E * 59) + "\r\n"
    + _q("3", "4", "") + "\r\n"
).encode("cp932")


def _all(data: bytes) -> list[ParsedRecord | RecordError]:
    return list(kf.parse(data, file="JK531.CSV"))


def _errors(data: bytes) -> list[RecordError]:
    return [x for x in _all(data) if isinstance(x, RecordError)]


def test_golden_columns_are_what_the_evidence_lists() -> None:
    lines = GOLDEN.split(b"\r\n")
    assert [len(line.split(b",")) for line in lines[:4]] == [13, 80, 80, 3]


def test_render_gives_the_hand_written_bytes() -> None:
    assert b"".join(kf.render("5311", CONTROL, RECORDS)) == GOLDEN


def test_parse_golden() -> None:
    got = [x for x in _all(GOLDEN) if isinstance(x, ParsedRecord)]
    assert len(got) == 3 == len(_all(GOLDEN))
    control, first, second = got
    assert control.kind == "control" and control["record_count"] == 2 and control["shori_ym"] == "202604"
    assert (first.record_no, first["hihokensha_no"], first["kokuho_kojin_no"]) == (2, "0000000017", "123456789018")
    assert (second.record_no, second["yokaigo_jotai_kubun"], second["ido_ymd"]) == (3, "21", dt.date(2026, 4, 2))


def test_kojin_no_never_shown() -> None:
    assert "123456789018" not in repr(_all(GOLDEN)[1])
    bad = GOLDEN.replace(b'"123456789018"', b'"12345678901X"')
    (err,) = _errors(bad)
    assert err.fields == ("kokuho_kojin_no",) and "12345678901X" not in str(err)


def _swap(old: bytes, new: bytes) -> bytes:
    assert old in GOLDEN
    return GOLDEN.replace(old, new, 1)


CORPUS = {
    "bad_count": (_swap(b'"0","2","531"', b'"0","3","531"'), 1, "record_count", "record_count"),
    "truncated_last_line": (GOLDEN[:-2], 4, None, "line_terminator"),
    "wrong_encoding_byte": (_swap(b'"01","131128"', b'"0\x85\x40","131128"'), 2, None, "encoding"),
    "unknown_code": (_swap(b'"99"', b'"77"'), 3, "ido_jiyu", "code_table"),
    "field_too_wide": (_swap(b'"0000000025"', b'"00000000251"'), 3, "hihokensha_no", "width"),
    "missing_end": (GOLDEN[: GOLDEN.index(b'"3","4"')], 3, None, "end_missing"),
    "duplicate_record_no": (_swap(b'"2","3","5311"', b'"2","2","5311"'), 2, "record_no", "record_no_sequence"),
    "after_end": (GOLDEN + b'"2","5","5311"\r\n', 5, None, "after_end"),
    "unknown_exchange": (_swap(b'"3","5311"', b'"3","9999"'), 3, "exchange_id", "exchange_id"),
    "no_control": (GOLDEN[GOLDEN.index(b"\r\n") + 2:], 2, None, "control_missing"),
}


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_malformed_corpus(name: str) -> None:
    data, record_no, field, rule = CORPUS[name]
    errors = _errors(data)
    hits = [(e.record_no, p.field, p.rule) for e in errors for p in e.problems]
    assert (record_no, field, rule) in hits, hits


def test_encoding_error_names_the_byte_offset() -> None:
    data = CORPUS["wrong_encoding_byte"][0]
    (err,) = _errors(data)
    where = data.index(b"\x85\x40")
    assert any(p.rule == "encoding" and f"byte offset {where}" in p.detail for p in err.problems)


def test_bytes_python_decodes_but_cp932_leaves_unassigned_are_errors() -> None:
    data = _swap(b'"01","131128"', b'"0\xff","131128"')
    (err,) = _errors(data)
    where = data.index(b"\xff")
    assert f"byte offset {where}" in str(err)


def test_parsing_goes_on_after_a_bad_record() -> None:
    got = _all(CORPUS["unknown_code"][0].replace(b'"01","131128"', b'"55","131128"'))
    assert [type(x).__name__ for x in got] == ["ParsedRecord", "RecordError", "RecordError"]


@pytest.mark.parametrize("data", [b"", b"\x00\xff\x81\x20garbage\n\r\n,,,,", b"\x81", b"3", b"1,1\r\n",
                                  b'"""\r\n2,\r\n', bytes(range(256)) * 3])
def test_garbage_gives_record_errors_only(data: bytes) -> None:
    got = _all(data)
    assert got and all(isinstance(x, RecordError) for x in got)


def test_file_no_checked_when_expected() -> None:
    got = list(kf.parse(GOLDEN, file="f", file_no=2))
    assert isinstance(got[0], RecordError) and got[0].fields == ("file_kanri_no",)


def test_computed_control_values_are_refused() -> None:
    with pytest.raises(kf.KokuhoFrameError):
        list(kf.render("5311", {**CONTROL, "record_count": 9}, RECORDS))
