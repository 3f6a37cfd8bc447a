"""nenkin.toml: the yearly calendar of 年金特徴 (特別徴収) files, as data.

Per month of the 年度 (4月 … 3月): whether pensions are deducted that month (仮徴収 or 本徴収,
and which 期), and which files go out or are expected in, by which day. The files name the flows
that carry them; ``kaigo-bridge nenkin calendar`` judges each month against the store's
transfers of those flows (bridge/commands/nenkin.py). A file may be expected twice in a month
when each entry names the 通知内容コード it carries (``codes``): a Z14 holds 天引結果 (22) or the
answers to a Z1A (32/42/62/82), one code a file (mappings/codes/nenkin.toml ``files``).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from mappings.converters.codes import table_entry
from settings.reader import Reader, each
from store.models.tokucho import KEKKA_FILES

FILE = "nenkin.toml"
NENDO_MONTHS = (4, 5, 6, 7, 8, 9, 10, 11, 12, 1, 2, 3)  # a 年度 runs from April to March
COLLECTIONS = {"kari": "仮徴収", "hon": "本徴収"}
# 期 of each kind: 仮徴収 1–3, 本徴収 4–6 [DOC: six deductions a year, 4/6/8 and 10/12/2].
KI_OF = {"kari": (1, 2, 3), "hon": (4, 5, 6)}
ALWAYS, CHANGES, ANSWER = "always", "changes", "answer"
WHEN = (ALWAYS, CHANGES, ANSWER)
FILE_KIND = re.compile(r"Z[0-9A-Z]{2}")  # the .DTA name prefix: Z11, Z12, Z1A … [CODE]
DIRECTIONS = ("in", "out")
FILE_KEYS = {"title", "flow", "direction"}
MONTH_KEYS = {"collection", "ki", "expect"}
EXPECT_KEYS = {"file", "due_day", "when", "answers", "codes", "note"}
TSUCHI_TABLE = "nenkin_tsuchi_naiyo"  # its ``files``: 通知内容コード → the file kind carrying it


@dataclass(frozen=True)
class NenkinFile:
    kind: str  # "Z11"
    title: str  # 特別徴収対象者情報
    flow: str  # the flow carrying it, e.g. "nenkin.z11"
    direction: str  # "in" / "out", seen from the ward


@dataclass(frozen=True)
class Expected:
    """One file a month of the calendar expects."""

    file: str  # a NenkinFile kind
    due_day: int  # the last day of the month it may be done on
    when: str  # ALWAYS / CHANGES (only when there is something to send) / ANSWER
    answers: tuple[str, ...]  # ANSWER: expected when one of these was done the month before
    note: str
    # 通知内容コード of the records that make it (empty: any file of the kind does); how two
    # entries of one file in a month are told apart.
    codes: tuple[str, ...] = ()


@dataclass(frozen=True)
class CalendarMonth:
    month: int  # 1–12
    collection: str | None  # "kari" / "hon": pensions are deducted this month
    ki: int | None  # the 期 collected (1–6)
    expect: tuple[Expected, ...]

    def year(self, nendo: int) -> int:
        """The calendar year of this month in 年度 ``nendo`` (January–March are the next year)."""
        return nendo if self.month >= 4 else nendo + 1

    def due(self, nendo: int, expected: Expected) -> date:
        return date(self.year(nendo), self.month, expected.due_day)


@dataclass(frozen=True)
class NenkinCalendar:
    files: dict[str, NenkinFile]
    months: tuple[CalendarMonth, ...]  # in 年度 order, April first

    @property
    def flows(self) -> tuple[str, ...]:
        return tuple(f.flow for f in self.files.values())


def nenkin_calendar(r: Reader, raw: dict[str, Any], flow_directions: dict[str, str]) -> NenkinCalendar:
    """Build the calendar from parsed nenkin.toml; every problem goes to ``r``. A flow already in
    flows.toml (``flow_directions``: name → direction) must run the file's way."""
    files: dict[str, NenkinFile] = {}
    _unknown_keys(r, raw, {"file", "month"}, "")

    def build_file(kind: str, t: dict[str, Any]) -> None:
        w = f"file.{kind}."
        _unknown_keys(r, t, FILE_KEYS, w)
        r.check(bool(FILE_KIND.fullmatch(kind)), FILE, f"file.{kind}", "must be a file name prefix like Z11 or Z1A")
        nf = NenkinFile(kind=kind, title=r.get(t, FILE, "title", str, where=w),
                        flow=r.get(t, FILE, "flow", str, where=w), direction=r.get(t, FILE, "direction", str, where=w))
        r.check(bool(nf.flow.strip()), FILE, f"{w}flow", "must name a flow")
        r.check(nf.direction in DIRECTIONS, FILE, f"{w}direction", "must be 'in' or 'out'")
        other = next((f.kind for f in files.values() if f.flow == nf.flow), None)
        r.check(other is None, FILE, f"{w}flow", f"flow {nf.flow!r} already carries file {other}")
        known = flow_directions.get(nf.flow)
        r.check(known is None or known == nf.direction, FILE, f"{w}direction",
                f"flow {nf.flow!r} is {known!r} in flows.toml")
        files[kind] = nf

    each(r, raw.get("file", {}), FILE, "file", build_file)
    r.check(bool(files), FILE, "file", "no files declared")
    months = _months(r, raw.get("month", {}), files)
    return NenkinCalendar(files=files, months=months)


def _unknown_keys(r: Reader, t: dict[str, Any], known: set[str], where: str) -> None:
    for key in sorted(set(t) - known):
        r.problems.append(f"{FILE}: {where}{key}: unknown key (known: {', '.join(sorted(known))})")


def _months(r: Reader, raw: Any, files: dict[str, NenkinFile]) -> tuple[CalendarMonth, ...]:
    if not isinstance(raw, dict):
        r.problems.append(f"{FILE}: month: expected a table")
        return ()
    by_month: dict[int, CalendarMonth] = {}
    for key, t in raw.items():
        if key not in {str(m) for m in NENDO_MONTHS}:
            r.problems.append(f"{FILE}: month.{key}: not a month (1–12, without a leading zero)")
        elif not isinstance(t, dict):
            r.problems.append(f"{FILE}: month.{key}: expected a table")
        else:
            by_month[int(key)] = _month(r, int(key), t, files)
    for m in NENDO_MONTHS:
        r.check(m in by_month or str(m) in raw, FILE, f"month.{m}", "missing (every month of the 年度 has a table)")
    months = tuple(by_month[m] for m in NENDO_MONTHS if m in by_month)
    if not any(f"{FILE}: month." in p and (".ki:" in p or ".collection:" in p) for p in r.problems):
        _check_ki(r, months)  # a month's own bad 期 is reported once, not again as a gap in the year
    return months


def _month(r: Reader, month: int, t: dict[str, Any], files: dict[str, NenkinFile]) -> CalendarMonth:
    w = f"month.{month}."
    _unknown_keys(r, t, MONTH_KEYS, w)
    collection = t.get("collection")
    ki = t.get("ki")
    kind = collection if isinstance(collection, str) and collection in COLLECTIONS else None
    if collection is not None:
        r.check(kind is not None, FILE, f"{w}collection",
                f"must be {' or '.join(repr(c) for c in COLLECTIONS)}, got {collection!r}")
        r.check(ki is not None, FILE, f"{w}ki", "missing (a month with a collection names its 期)")
    if ki is not None:
        r.check(collection is not None, FILE, f"{w}ki", "a 期 without a collection")
        allowed = KI_OF[kind] if kind is not None else (1, 2, 3, 4, 5, 6)
        ok = isinstance(ki, int) and not isinstance(ki, bool) and ki in allowed
        r.check(ok, FILE, f"{w}ki", f"must be one of {', '.join(map(str, allowed))}, got {ki!r}")
        ki = ki if ok else None
    raw_expect = t.get("expect", [])
    expect: list[Expected] = []
    if not isinstance(raw_expect, list):
        r.problems.append(f"{FILE}: {w}expect: expected a list of tables")
        raw_expect = []
    for i, e in enumerate(raw_expect):
        if not isinstance(e, dict):
            r.problems.append(f"{FILE}: {w}expect[{i}]: expected a table")
            continue
        expected = _expected(r, month, f"{w}expect[{i}].", e, files)
        r.check(all(_apart(x, expected) for x in expect if x.file == expected.file), FILE, f"{w}expect[{i}].file",
                f"{expected.file} is expected twice in the month (allowed only when each entry names its "
                "通知内容コード in codes, none shared)")
        expect.append(expected)
    return CalendarMonth(month=month, collection=kind,
                         ki=ki, expect=tuple(expect))


def _expected(r: Reader, month: int, w: str, e: dict[str, Any], files: dict[str, NenkinFile]) -> Expected:
    _unknown_keys(r, e, EXPECT_KEYS, w)
    kind = r.get(e, FILE, "file", str, where=w)
    r.check(kind in files, FILE, f"{w}file", f"no file {kind!r} under [file] (known: {', '.join(files)})")
    due_day = r.get(e, FILE, "due_day", int, where=w)
    # The shortest length the month has in any year: a due day must exist every year.
    last = 28 if month == 2 else calendar.monthrange(2001, month)[1]
    r.check(1 <= due_day <= last, FILE, f"{w}due_day", f"must be a day of the month from 1 to {last}")
    when = r.get(e, FILE, "when", str, where=w)
    r.check(when in WHEN, FILE, f"{w}when", f"must be one of {', '.join(WHEN)}, got {when!r}")
    raw_answers = e.get("answers", [])
    answers = tuple(a for a in raw_answers if isinstance(a, str)) if isinstance(raw_answers, list) else ()
    r.check(isinstance(raw_answers, list) and len(answers) == len(raw_answers), FILE, f"{w}answers",
            "must be a list of file names")
    if when == ANSWER:
        r.check(bool(answers), FILE, f"{w}answers", "missing (an answer names the files it answers)")
    else:
        r.check(not answers, FILE, f"{w}answers", f"only for when = {ANSWER!r}")
    for a in answers:
        r.check(a in files and files[a].direction == "out", FILE, f"{w}answers",
                f"{a!r} is not an outbound file under [file]")
    note = e.get("note", "")
    r.check(isinstance(note, str), FILE, f"{w}note", "must be text")
    return Expected(file=kind, due_day=due_day, when=when, answers=answers, note=note if isinstance(note, str) else "",
                    codes=_codes(r, w, kind, e.get("codes", [])))


def _codes(r: Reader, w: str, kind: str, raw: Any) -> tuple[str, ...]:
    """The entry's 通知内容コード: each one the code table says the file carries."""
    codes = tuple(dict.fromkeys(c for c in raw if isinstance(c, str))) if isinstance(raw, list) else ()
    ok = isinstance(raw, list) and len(codes) == len(raw)
    r.check(ok, FILE, f"{w}codes", "must be a list of distinct 通知内容コード (text, e.g. \"22\")")
    # The calendar tells a file's codes by the result rows (tokucho_kekka) it applied.
    r.check(not codes or kind in KEKKA_FILES, FILE, f"{w}codes",
            f"only for a file whose records are kept as results ({', '.join(KEKKA_FILES)})")
    carried: dict[str, str] = table_entry(TSUCHI_TABLE, "files")
    wrong = [c for c in codes if carried.get(c) != kind]
    r.check(not wrong, FILE, f"{w}codes", f"not carried by {kind} (mappings/codes/nenkin.toml {TSUCHI_TABLE} "
            f"files): {', '.join(wrong)}")
    return codes


def _apart(a: Expected, b: Expected) -> bool:
    """Two entries of one file in a month can be told apart: both name codes, none shared."""
    return bool(a.codes) and bool(b.codes) and not set(a.codes) & set(b.codes)


def _check_ki(r: Reader, months: tuple[CalendarMonth, ...]) -> None:
    """Each 期 1–6 once, in the order of the 年度 [DOC: six deductions a year]. Appended, not
    checked per key: several 期 can be wrong at once and each is its own problem."""
    kis = [m.ki for m in months if m.ki is not None]
    for ki in range(1, 7):
        where = [str(m.month) for m in months if m.ki == ki]
        if len(where) > 1:
            r.problems.append(f"{FILE}: month: 期 {ki} is collected in more than one month ({', '.join(where)})")
        if not where:
            r.problems.append(f"{FILE}: month: 期 {ki} is collected in no month (6 期 a year)")
    if kis != sorted(kis):
        r.problems.append(f"{FILE}: month: 期 must follow the order of the 年度 (4月 first), got {kis}")
