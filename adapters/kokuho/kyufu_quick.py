"""The fast judgement of a 給付実績 file: certainly valid (its Verdict), or not sure (None).

A file of a million records judged record by record in Python (kyufu_check) takes half a
minute; nearly every file is valid. This pass reads the same file once more cheaply: it decodes
big pieces at a time and matches each line against one pattern per layout (mappings/linepattern:
the layout's rules, the frame's, and kyufu_check.RULES as narrowings of fields, all in C), and
keeps in Python only what spans records — レコード番号 sequence, レコード件数, claims (H1 and its
rows, same 被保険者番号 and 提供年月), known 被保険者番号, a 給付実績 twice, a T1 twice.

It accepts a subset of what the full judgement accepts: any doubt — a line its patterns do not
take, a character outside them, a frame it cannot vouch for — gives None, and the caller judges
the file on the full path, which names every problem. Tests hold it to that
(tests/unit/test_kyufu_quick.py), on valid and on malformed files.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Container, Iterator
from functools import lru_cache

from adapters.judgement import Verdict
from adapters.kokuho.kyufu_check import DATA_TYPE, RULES
from adapters.kokuho.verdict import hokensha_problem, narrowing
from mappings import kokuho_frame, kokuho_kyufu
from mappings.layout import Layout
from mappings.linepattern import LinePatterns, Narrowing
from mappings.streams import Source, chunks

LAYOUT = ("kyufu-jisseki", "1")  # the layout whose lines the patterns judge
ENCODING = kokuho_frame.ENCODING
CLAIM = ("record_no", "exchange_id", "hihokensha_no", "service_ym")  # captured from every kind
H1_KEY = ("jigyosho_no", "seiri_no", "sakusei_kubun", "shinsa_ym")  # with exchange_id, hihokensha_no,
# service_ym: the 給付実績's natural key (store/models/kyufu.NATURAL_KEY)


class _Patterns:
    """The control and data line patterns of 給付実績 files addressed to one ward."""

    def __init__(self, ward: str) -> None:
        index = kokuho_frame.default_index()
        self.index = index
        entries = [e for e in index.entries if (e.layout, e.version) == LAYOUT]
        self.layout: Layout = index.layout(entries[0])
        self.control = LinePatterns(kokuho_frame.frame_layout(), narrow={"control": {
            "record_no": Narrowing.one_of(["1"]), "data_type": Narrowing.one_of([DATA_TYPE]),
            "hokensha_no": Narrowing.one_of([ward])}}, capture={"control": ("record_count", "shori_ym")})
        narrow: dict[str, dict[str, Narrowing]] = {}
        capture: dict[str, tuple[str, ...]] = {}
        kinds = []
        for kind in self.layout.kinds:
            names = {f.name for f in kind.fields}
            if not {*CLAIM, "sho_hokensha_no"} <= names:
                continue  # the full path judges a kind without them
            kinds.append(kind.name)
            narrow[kind.name] = {**narrowing(RULES.get(kind.name, ())),
                                 "sho_hokensha_no": Narrowing.one_of([ward])}
            extra = H1_KEY if kind.name in kokuho_kyufu.HEADS else ("service_shurui",) if kind.name == "T1" else ()
            capture[kind.name] = CLAIM + extra
        self.data = LinePatterns(self.layout, narrow=narrow, capture=capture, kinds=kinds)


@lru_cache(maxsize=8)
def _patterns(ward: str) -> _Patterns:
    return _Patterns(ward)  # building them takes a tenth of a second (more for non-ASCII files): once per ward


class _Doubt(Exception):
    """Something the fast judgement cannot vouch for: the full path decides."""


def judge(source: Source, file: str, ward: str, known: Container[str]) -> Verdict | None:
    """The Verdict of a file that is certainly valid (no problems, its counts), or None."""
    if hokensha_problem(ward, ward) is not None:
        return None  # our own 保険者番号 is wrong: the full path says so for every record
    p = _patterns(ward)
    try:
        return _judge(p, _texts(source), file, known)
    except _Doubt:
        return None


def _texts(source: Source) -> Iterator[str]:
    """The file decoded a big piece of whole lines at a time (CRLF between them, none at the end);
    _Doubt for bytes that are not cp932, a character the frame refuses, or a last line without
    CRLF. ASCII pieces (most files are ASCII throughout) skip the cp932 codec and the scan."""
    rest = b""
    for chunk in chunks(source):
        piece = rest + chunk
        cut = piece.rfind(b"\r\n")
        if cut < 0:
            rest = piece
            continue
        rest = piece[cut + 2:]
        body = piece[:cut]
        if body.isascii():
            yield body.decode("ascii")  # what cp932 makes of ASCII bytes, much faster
            continue
        try:
            text = body.decode(ENCODING)
        except UnicodeDecodeError:
            raise _Doubt from None
        if kokuho_frame.UNASSIGNED.search(text) is not None:
            raise _Doubt
        yield text
    if rest:
        raise _Doubt


# What a kind is in a claim: it opens one (H1), stands alone (D8, DE), or is a row of the open one.
_HEAD, _ALONE, _ROW, _T1 = range(4)
# A kind's pattern's fullmatch, the kind, the getter of its captured texts, its role.
_Step = tuple[Callable[[str], re.Match[str] | None], str, Callable[[re.Match[str]], tuple[str, ...]], int]


def _judge(p: _Patterns, texts: Iterator[str], file: str, known: Container[str]) -> Verdict | None:
    text = next(texts, None)
    if text is None:
        return None
    lines = text.split("\r\n")
    control = p.control.regexes.get("control")
    m = control.fullmatch(lines[0]) if control is not None else None
    if m is None:
        return None
    declared, shori_ym = m.group(*p.control.groups["control"])
    del lines[0]
    data = p.data
    kind_of = data.kind_of
    roles = {k: _HEAD if k in kokuho_kyufu.HEADS else _ALONE if k in kokuho_kyufu.ALONE else _T1 if k == "T1"
             else _ROW for k in data.groups}
    # Per form of the patterns (ASCII or any text), per kind: (its pattern's fullmatch, the kind,
    # its captured texts, its role); and the step that came after a kind last time, tried first
    # (H1 → D1 → … → T1 → H1): one match instead of a split to find the kind, on most lines.
    steps: dict[int, tuple[dict[str, _Step], dict[str, _Step]]] = {}
    kind = ""
    counts: dict[str, int] = dict.fromkeys(data.groups, 0)
    keys: set[int] = set()
    xids: dict[str, bool] = {}
    shurui: set[str] = set()
    head: tuple[str, str] | None = None  # (被保険者番号, 提供年月) of the open H1 claim
    claims = 0
    expected = 2
    while True:
        following = next(texts, None)
        if following is None:  # the file's last line: the end record
            if not lines:
                return None
            end = lines.pop()
        regexes = data.for_text(text)
        form = steps.get(id(regexes))
        if form is None:
            form = steps[id(regexes)] = ({k: (r.fullmatch, k, data.getters[k], roles[k]) for k, r in regexes.items()},
                                         {})
        by_kind, after = form
        for line in lines:  # data records: every one must match its kind's pattern
            step = after.get(kind)
            if step is None or (m := step[0](line)) is None:
                guess = kind_of(line)
                if guess is None:
                    return None  # a line for the full path
                step = by_kind[guess]
                m = step[0](line)
                if m is None:
                    return None
                after[kind] = step
            _, kind, values, role = step
            got = values(m)
            if int(got[0]) != expected:
                return None
            expected += 1
            xid = got[1]
            ok = xids.get(xid)
            if ok is None:
                ok = xids[xid] = _exchange_ok(p, xid, shori_ym)
            if not ok:
                return None
            counts[kind] += 1
            if role == _HEAD:
                if got[2] not in known:
                    return None
                key = hash(got[1:])  # a collision only sends the file to the full path
                if key in keys:
                    return None
                keys.add(key)
                claims += 1
                head = got[2], got[3]
                shurui.clear()
            elif role == _ALONE:
                claims += 1
                head = None
            else:
                if head != (got[2], got[3]):
                    return None
                if role == _T1:
                    if got[4] in shurui:
                        return None
                    shurui.add(got[4])
        if following is None:
            break
        text, lines = following, following.split("\r\n")
    if end not in (f"3,{expected}", f"3,{expected},"):
        return None
    data_records = expected - 2
    if int(declared) != data_records:
        return None
    return Verdict(file, records=data_records, groups=claims, kinds=Counter({k: n for k, n in counts.items() if n}))


def _exchange_ok(p: _Patterns, xid: str, shori_ym: str) -> bool:
    """The frame would read records of this 交換情報識別番号 with the layout the patterns are of."""
    candidates = p.index.candidates(xid)
    if not candidates or any(c.month != "shori_ym" for c in candidates):
        return False
    entry = p.index.entry(xid, shori_ym)
    return entry is not None and p.index.layout(entry) is p.layout and xid.startswith(DATA_TYPE)
