"""The fast judgement of 給付実績 files: it vouches for good files with the full judgement's own
counts, is never sure of a file the full judgement refuses, and leaves what it cannot vouch for
(valid or not) to the full judgement, which the loader then runs."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.judgement import Verdict
from adapters.kokuho import kyufu_check, kyufu_quick
from adapters.kokuho.context import KokuhoContext
from adapters.kokuho.kyufu_load import KyufuLoader
from fixtures.kokuho import kyufu
from tests.fuzz.targets import TARGETS
from tests.unit.test_kyufu_check import CLAIMS, KNOWN, PEOPLE, WARD, file  # the same simulated month


def quick(data: bytes, known: set[str] = KNOWN) -> Verdict | None:
    return kyufu_quick.judge(data, "KYUFU.CSV", WARD, known)


def full(data: bytes, known: set[str] = KNOWN) -> Verdict:
    return kyufu_check.check(data, "KYUFU.CSV", WARD, known)


def loader_check(data: bytes) -> Verdict:
    context = KokuhoContext(WARD, frozenset(KNOWN))
    return KyufuLoader().check(lambda: iter([data[:777], data[777:]]), "KYUFU.CSV", context)


def test_a_good_file_is_vouched_for_with_the_full_judgements_counts() -> None:
    data = file()
    got = quick(data)
    assert got is not None and got.ok
    assert got == full(data)
    assert (got.records, got.groups, dict(got.kinds)) == (sum(c.records for c in CLAIMS), 5,
                                                        {"H1": 5, "D1": 10, "T1": got.kinds["T1"]})


def test_a_large_good_file_read_in_odd_pieces_is_vouched_for() -> None:
    many = list(kyufu.claims(PEOPLE, "202610", seed=4, per_person=40, lines=3))
    data = file(claims=many)
    pieces = [data[i:i + 4099] for i in range(0, len(data), 4099)]  # cuts CRLF pairs and lines
    got = kyufu_quick.judge(iter(pieces), "KYUFU.CSV", WARD, KNOWN)
    assert got is not None and got == full(data) and got.groups == len(many)


@pytest.mark.parametrize("fault", sorted(kyufu.FAULTS))
def test_a_faulty_file_is_left_to_the_full_judgement_which_names_the_fault(fault: str) -> None:
    data = file(fault)
    assert quick(data) is None
    verdict = loader_check(data)
    assert not verdict.ok and verdict == full(data)


@pytest.mark.parametrize(("what", "edit"), [
    ("the same 給付実績 twice", lambda d: file(claims=[*CLAIMS, CLAIMS[0]])),
    ("a T1 twice in one claim", lambda d: _dup_t1(d)),
    ("a D1 of another person", lambda d: d.replace(b",0000000101,202610,", b",0000000102,202610,", 2)
     .replace(b"H1,1,131128,0000000102", b"H1,1,131128,0000000101", 1)),
    ("a line after the end record", lambda d: d + d.split(b"\r\n")[1] + b"\r\n"),
    ("another file's データ種別", lambda d: d.replace(b",111,", b",531,", 1)),
    ("the end record's number", lambda d: d.replace(d.split(b"\r\n")[-2], b"3,99", 1)),
    ("a blank line", lambda d: d.replace(b"\r\n", b"\r\n\r\n", 2)),
    ("LF alone", lambda d: d.replace(b"\r\n", b"\n", 3)),
])
def test_a_file_the_full_judgement_refuses_is_never_vouched_for(what: str, edit: object) -> None:
    data = edit(file())  # type: ignore[operator]
    assert not full(data).ok, what
    assert quick(data) is None, what


def _dup_t1(data: bytes) -> bytes:
    """The first T1 twice in its claim, every レコード番号 and the レコード件数 made right again."""
    lines = data.split(b"\r\n")[:-1]
    t1 = next(i for i, line in enumerate(lines) if b",T1," in line)
    lines.insert(t1 + 1, lines[t1])
    rows = [line.split(b",") for line in lines[:-1]]
    for n, cols in enumerate(rows[1:], start=2):
        cols[1] = str(n).encode()
    rows[0][3] = str(len(rows) - 1).encode()
    return b"\r\n".join([*(b",".join(c) for c in rows), f"3,{len(rows) + 1}".encode(), b""])


def test_someone_the_ward_does_not_insure_is_left_to_the_full_judgement() -> None:
    data = file()
    assert quick(data, KNOWN - {"0000000103"}) is None
    assert not full(data, KNOWN - {"0000000103"}).ok


def _edit_line(data: bytes, kind: bytes, column: int, value: bytes) -> bytes:
    lines = data.split(b"\r\n")
    i = next(i for i, line in enumerate(lines) if line.split(b",")[4:5] == [kind])
    cols = lines[i].split(b",")
    cols[column] = value
    lines[i] = b",".join(cols)
    return b"\r\n".join(lines)


@pytest.mark.parametrize(("what", "kind", "column", "value"), [
    ("a value quoted though it need not be", b"H1", 11, b'"0000000001"'),
    ("29 February of a leap year", b"H1", 18, b"19520229"),
    ("a quoted value holding the delimiter", b"T1", 3, b'"a,b"'),
])
def test_a_valid_file_the_patterns_do_not_cover_is_judged_in_full_and_passes(
        what: str, kind: bytes, column: int, value: bytes) -> None:
    data = _edit_line(file(), kind, column, value)
    assert quick(data) is None, what
    verdict = loader_check(data)
    assert verdict.ok and verdict == full(data), what


def test_a_kanji_tekiyo_is_within_the_patterns() -> None:
    data = _edit_line(file(), b"D1", 21, "通院等乗降介助".encode("cp932"))
    got = quick(data)
    assert got is not None and got == full(data)


@pytest.mark.parametrize("tekiyo", ["通院等乗降介助", "ｶﾅ", "①"])
def test_pieces_of_ascii_and_of_kanji_in_one_file_are_judged_alike(tekiyo: str) -> None:
    """ASCII pieces are matched by the patterns' ASCII form, the others by the whole one: a file
    mixing them is vouched for with the full judgement's counts."""
    many = list(kyufu.claims(PEOPLE, "202610", seed=4, per_person=40, lines=3))
    lines = file(claims=many).split(b"\r\n")
    d1 = [i for i, line in enumerate(lines) if line.split(b",")[4:5] == [b"D1"]]
    for i in (d1[len(d1) // 2], d1[-1]):
        cols = lines[i].split(b",")
        cols[21] = tekiyo.encode("cp932")
        lines[i] = b",".join(cols)
    data = b"\r\n".join(lines)
    pieces = [data[i:i + 4099] for i in range(0, len(data), 4099)]
    got = kyufu_quick.judge(iter(pieces), "KYUFU.CSV", WARD, KNOWN)
    assert got is not None and got == full(data)  # 摘要 is any cp932 text


VALUES = st.sampled_from([
    b"", b"0", b"1", b"-1", b"-", b"9" * 19, b"0000000101", b"1311280", b"131128", b"131129", b"202610",
    b"202613", b"20240229", b"20230229", b"20260431", b"H1", b"D1", b"T1", b"1116", b"1121", b"9",
    b" ", b"a b", b'"', b'""', b'"x"', b"x,y", b"\x81", b"\x82\xa0", b"\xb1", b"\x00", b"\x7f", b"\x80",
    "摘要".encode("cp932"), "①".encode("cp932"), "\u3000".encode("cp932"), b"A" * 41, b"Z1", b"1a",
])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edits=st.lists(st.tuples(st.integers(0, 1 << 16), st.integers(0, 120), VALUES), min_size=1, max_size=3))
def test_field_edits_never_make_the_fast_judgement_contradict_the_full_one(
        edits: list[tuple[int, int, bytes]]) -> None:
    lines = file().split(b"\r\n")
    for which, column, value in edits:
        i = which % (len(lines) - 1)
        cols = lines[i].split(b",")
        cols[column % len(cols)] = value
        lines[i] = b",".join(cols)
    # the fuzz target checks the contract (quick None, or the full verdict with no problem)
    TARGETS["kyufu_quick"](b"\r\n".join(lines))


EDGES = (b"", b"-1", b"9" * 19, b"202613", b"20230229", b"x,y", b'"', b"\x81", "①".encode("cp932"), b"A" * 41,
         b"1a", b"131129", b"0000000109", b"H1", b" ")


@pytest.mark.parametrize("kind", [b"H1", b"D1", b"T1"])
def test_every_column_of_every_kind_edited_to_each_edge_value(kind: bytes) -> None:
    """Exhaustive where the property test samples: one claim, each column of one record set to
    each edge value in turn — the fast judgement never contradicts the full one."""
    good = file(claims=CLAIMS[:1])
    line = next(x for x in good.split(b"\r\n") if x.split(b",")[4:5] == [kind])
    vouched = 0
    for column in range(line.count(b",") + 1):
        for value in EDGES:
            TARGETS["kyufu_quick"](_edit_line(good, kind, column, value))
            vouched += quick(_edit_line(good, kind, column, value)) is not None
    assert vouched > 0  # some edits keep the file valid (an optional column emptied …)


def test_the_agreement_target_sees_a_contradiction(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fuzz target would report a fast judgement that vouched for a refused file."""
    target = TARGETS["kyufu_quick"]
    assert target(file()) > 0
    monkeypatch.setattr(kyufu_quick, "judge", lambda *a: Verdict("fuzz.dat"))
    with pytest.raises(AssertionError, match="vouched for a file"):
        target(file("negative"))
