"""A 仮徴収 停止 ends special collection for the 年度: the rule of adapters/nenkin/stops.py through a
whole installation. The May Z14 (the April 仮徴収 results) is built here byte by byte from
DOMAIN.md §年金特徴 and LAYOUTS-EVIDENCE.md §4 (管理 48, ファイル管理 48, 500-byte header / data /
trailer) — not by the project's writer nor the simulator — dropped on the 経由機関's share,
received and loaded by a worker; then `kaigo-bridge run nenkin.z12` makes the July Z12, the worker
delivers it, and the delivered bytes are read here by position.

Expected: the person stopped in April is listed by `nenkin list stopped` (期1–6, the 賦課's
期別額 as the amount 普通徴収 must collect) and is not in the Z12; the person deducted normally is;
a person stopped in the 年度 before (a March Z14, 期6 of 2025) is asked again in 2026.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import func, select

from adapters.nenkin.irai import decide_honcho
from fixtures.nenkin import taisho
from store.models import Fuka, FukaKibetsu, TokuchoIrai, TokuchoKekka
from store.models.fuka import TOKUCHO
from tests.harness import Home, wait_until
from tests.integration.test_nenkin_load import settled, share
from tests.integration.test_nenkin_z12 import NENDO, announce

WARD = b"13112"  # the test installation's 市町村コード (config/settings.toml)
ESC_KANJI, ESC_ASCII = b"\x1b$B", b"\x1b(B"
KANJI_BLANK = b"\x21\x21"  # JIS X 0208 full-width space


def ymd(day: date | None) -> bytes:
    return b" " * 8 if day is None else day.strftime("%Y%m%d").encode()


def data_record(gimusha: bytes, made: date, p: taisho.Pensioner, kubun: bytes, amount: int,
                stop_day: date | None) -> bytes:
    """One 天引結果 (22) data record: positions of LAYOUTS-EVIDENCE §4 with the 25/50/80/160 name
    and address widths; blank name and address (the record is found by its pension)."""
    rec = (b"2" + WARD + gimusha + b"22" + b" " + b"0" + ymd(made)
           + p.person.kiso_nenkin_no.encode() + p.person.nenkin_code.encode() + b"   "
           + ymd(p.person.birth) + p.person.sex.encode()
           + "ﾃｽﾄ".encode("cp932").ljust(25) + ESC_KANJI + KANJI_BLANK * 25 + ESC_ASCII
           + b" " * 7 + b" " * 80 + ESC_KANJI + KANJI_BLANK * 80 + ESC_ASCII
           + kubun + b"00" + b" " + ymd(stop_day) + f"{amount:011d}".encode() + b"0" * 22 + b" " * 58 + b" " * 15)
    assert len(rec) == 500
    return rec


def z14(gimusha: bytes, made: date, rows: list[tuple[taisho.Pensioner, bytes, int, date | None]]) -> bytes:
    """A whole Z14 of 天引結果 for one 義務者: 管理, ファイル管理, header, data, trailer."""
    header = b"1" + WARD + gimusha + b"22" + b"6" + b"0" + ymd(made) + b" " * 479
    data = [data_record(gimusha, made, p, kubun, amount, day) for p, kubun, amount, day in rows]
    total = sum(amount for _p, _k, amount, _d in rows)
    trailer = (b"3" + WARD + gimusha + b"22" + b" " + b"0" + ymd(made) + f"{len(rows):09d}".encode()
               + f"{total:011d}".encode() + b"0" * 22 + b" " * 437)
    body = [header, *data, trailer]
    assert {len(r) for r in body} == {500}
    kanri = WARD + b" " + b"001" + ymd(made) + b" " * 31
    return kanri + f"{len(body):06d}".encode() + b" " * 42 + b"".join(body)


def drop_z14(home: Home, name: str, raw: bytes) -> None:
    folder: Path = share(home, "Z14")
    (folder / name).write_bytes(raw)
    (folder / f"{name}.end").write_bytes(b"")
    taken = home.cli_json("receive", "nenkin.z14")
    assert len(taken) == 1 and settled(home, str(taken[0]["transfer"])) == "applied", home.worker_logs()[-2000:]


def kibetsu(home: Home, atena_no: str) -> dict[int, int]:
    with home.bridge.read_sessions() as s:
        return {ki: amount for ki, amount in s.execute(
            select(FukaKibetsu.ki, FukaKibetsu.amount).join(Fuka, Fuka.id == FukaKibetsu.fuka_id)
            .where(Fuka.atena_no == atena_no, Fuka.nendo == NENDO, Fuka.choshu_kubun == TOKUCHO))}


def z12_pensions(home: Home, transfers: int) -> set[str]:
    """基礎年金番号 of every data record of the delivered Z12 files, read by position."""
    drop = home.config.partners["keiyu"].path
    assert drop is not None
    wait_until(lambda: len(list(drop.glob("Z12*.DTA"))) == transfers, 90, "the Z12 files delivered")
    out: set[str] = set()
    for path in drop.glob("Z12*.DTA"):
        raw = path.read_bytes()
        assert (len(raw) - 96) % 500 == 0
        for i in range(96, len(raw), 500):
            if raw[i:i + 1] == b"2":
                assert raw[i + 9:i + 11] == b"01", "通知内容コード 01 特別徴収依頼"
                out.add(raw[i + 21:i + 31].decode())
    return out


def test_a_stop_in_april_leaves_the_person_out_of_the_july_z12_and_lists_them(home: Home) -> None:
    people = announce(home)
    # Three pensioners of 義務者 001 whose 賦課 a Z12 can carry (期5 = 期6).
    plain = [p for a, p in sorted(people.items()) if p.person.gimusha_code == "001"
             and (k := kibetsu(home, a)) and k[5] == k[6]]
    stopped, kept, last_year, kept_10 = plain[:4]
    home.start_worker("--routes", "nenkin.load,nenkin.deliver")

    # 期6 of 2025 (February), reported in March 2026: a stop of the 年度 before.
    drop_z14(home, "Z1400103.DTA", z14(b"001", date(NENDO, 3, 10), [(last_year, b"01", 0, date(NENDO, 2, 3))]))
    # The April 仮徴収 (期1), reported in May: one 失権 on 4月20日, one deducted.
    drop_z14(home, "Z1400105.DTA", z14(b"001", date(NENDO, 5, 12), [
        (stopped, b"01", 0, date(NENDO, 4, 20)),
        (kept, b"00", kibetsu(home, kept.atena_no)[1], None),
        # 22-10 正常（75歳以上で国保特別徴収中）: deducted too, not a stop
        (kept_10, b"10", kibetsu(home, kept_10.atena_no)[1], None),
    ]))

    listed = home.cli_json("nenkin", "list", "stopped", "--nendo", str(NENDO))
    assert [x["atena_no"] for x in listed] == [stopped.atena_no]
    (entry,) = listed
    want = kibetsu(home, stopped.atena_no)
    assert entry["ki"] == [1, 2, 3, 4, 5, 6]
    assert entry["futsucho_amount"] == sum(want[k] for k in range(1, 7))
    assert entry["reason"] == "Z14 天引結果 1期: 01 失権" and entry["date"] == f"{NENDO}-04-20"
    assert entry["kiso_nenkin_no"] == "******" + stopped.person.kiso_nenkin_no[-4:]
    shown = home.cli("nenkin", "list", "stopped", "--nendo", str(NENDO)).stdout
    assert stopped.person.kiso_nenkin_no not in shown and "01 失権" in shown
    # The 年度 before has its own stop, listed there only.
    before = home.cli_json("nenkin", "list", "stopped", "--nendo", str(NENDO - 1))
    assert [x["atena_no"] for x in before] == [last_year.atena_no]

    run = home.cli_json("run", "nenkin.z12", "--nendo", str(NENDO))
    reasons = {x["atena_no"]: x["reason"] for x in run["listed"]}
    assert reasons[stopped.atena_no] == ("特別徴収 stopped in the 年度 (Z14 天引結果 1期: 01 失権): "
                                         "普通徴収 for the rest of the 年度")
    assert kept.atena_no not in reasons and last_year.atena_no not in reasons and kept_10.atena_no not in reasons
    asked = z12_pensions(home, run["transfers"])
    assert stopped.person.kiso_nenkin_no not in asked
    assert {kept.person.kiso_nenkin_no, last_year.person.kiso_nenkin_no, kept_10.person.kiso_nenkin_no} <= asked
    # Everyone else announced and carried is asked: the stop took out one person, no more.
    carried = {p.person.kiso_nenkin_no for a, p in people.items()
               if (k := kibetsu(home, a)) and k[5] == k[6] and len(k) >= 6}
    assert asked == carried - {stopped.person.kiso_nenkin_no}
    # Still listed after the run, with what 普通徴収 must collect.
    assert home.cli_json("nenkin", "list", "stopped", "--nendo", str(NENDO)) == listed


def test_a_stop_after_the_decision_withdraws_the_unsent_irai(home: Home) -> None:
    """依頼 decided (a run cut short, or its file held) and a stop coming before they went out: the
    Z14 loads whole, the pending 依頼 stay unsent, and the next run withdraws them."""
    people = announce(home)
    stopped, kept = [p for a, p in sorted(people.items()) if p.person.gimusha_code == "001"
                     and (k := kibetsu(home, a)) and k[5] == k[6]][:2]
    with home.bridge.sessions.begin() as s:
        decided = decide_honcho(s, NENDO)
    assert decided.created > 0 and decided.withdrawn == 0
    home.start_worker("--routes", "nenkin.load,nenkin.deliver")
    drop_z14(home, "Z1400105.DTA", z14(b"001", date(NENDO, 5, 12), [
        (stopped, b"02", 0, date(NENDO, 4, 15)),
        (kept, b"00", kibetsu(home, kept.atena_no)[1], None),
    ]))
    with home.bridge.read_sessions() as s:
        kekka = {(k.kiso_nenkin_no, k.ki): (k.teishi_jiyu, k.tenbiki_amount) for k in s.scalars(select(TokuchoKekka))}
        pending = {(i.atena_no, i.status) for i in s.scalars(select(TokuchoIrai).where(TokuchoIrai.atena_no.in_(
            (stopped.atena_no, kept.atena_no))))}
    assert kekka == {(stopped.person.kiso_nenkin_no, 1): ("02", 0),
                     (kept.person.kiso_nenkin_no, 1): (None, kibetsu(home, kept.atena_no)[1])}
    assert pending == {(stopped.atena_no, "pending"), (kept.atena_no, "pending")}

    run = home.cli_json("run", "nenkin.z12", "--nendo", str(NENDO))
    assert run["withdrawn"] == 3 and run["decided"] == 0
    asked = z12_pensions(home, run["transfers"])
    assert stopped.person.kiso_nenkin_no not in asked and kept.person.kiso_nenkin_no in asked
    assert run["records"] == decided.created // 3 - 1
    with home.bridge.read_sessions() as s:
        left = s.scalar(select(func.count()).select_from(TokuchoIrai).where(TokuchoIrai.atena_no == stopped.atena_no))
    assert left == 0
    assert [x["atena_no"] for x in home.cli_json("nenkin", "list", "stopped", "--nendo", str(NENDO))] == [
        stopped.atena_no]
