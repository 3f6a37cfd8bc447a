"""The 受給者異動連絡票 flow (kokuho.ido) through a whole installation: changes announced through
the outbox and journaled by a worker, `kaigo-bridge run kokuho.ido --month` in its own process,
the worker delivering to the 国保連 drop folder, and the file parsed back with the 国保連 frame.

Expected records are written here from the store's rows with plain Python (the 5311 columns
typed out again, カナ by a table below), never by the builder under test.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import func, select

from adapters.delivery import file_name
from fixtures.activity import correct_nintei, decide_nintei, lose_shikaku, set_futan_wariai
from fixtures.population import load
from mappings import kokuho_frame
from mappings.records import ParsedRecord
from queues.outbound import characters_ref
from store.models import (
    Atena,
    ChangeJournal,
    FutanGendogaku,
    FutanWariai,
    KokuhoIdo,
    KyotakuKeikaku,
    Nintei,
    Shikaku,
    ShikyuGendogaku,
    Transfer,
)
from tests.harness import Home, wait_until

NENDO = 2026
JST = timezone(timedelta(hours=9))
FIELDS = 79  # the 5311 layout's columns but the trailing ブランク
KANA = dict(zip("アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワヲン"
                "ャュョッー",
                "ｱｲｳｴｵｶｷｸｹｺｻｼｽｾｿﾀﾁﾂﾃﾄﾅﾆﾇﾈﾉﾊﾋﾌﾍﾎﾏﾐﾑﾒﾓﾔﾕﾖﾗﾘﾙﾚﾛﾜｦﾝｬｭｮｯｰ", strict=True))
VOICED = dict(zip("ガギグゲゴザジズゼゾダヂヅデドバビブベボ", "カキクケコサシスセソタチツテトハヒフヘホ", strict=True))


def halfwidth(kana: str) -> str:
    out = []
    for c in kana:
        if c == "\u3000":
            out.append(" ")
        elif c in VOICED:
            out.append(KANA[VOICED[c]] + "ﾞ")
        elif c in "パピプペポ":
            out.append(KANA["ハヒフヘホ"["パピプペポ".index(c)]] + "ﾟ")
        else:
            out.append(KANA[c])
    return "".join(out)


def journal_count(home: Home) -> int:
    with home.bridge.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(ChangeJournal)) or 0)


def with_level(home: Home, n: int) -> list[str]:
    """被保険者番号 of ``n`` people whose only 認定 has a level into 2027 (and who have 受給者 rows)."""
    with home.bridge.sessions() as s:
        keys = s.scalars(select(Nintei.hihokensha_no).where(Nintei.yokaigo_kubun != "01",
                                                            Nintei.valid_to >= date(2027, 1, 1))
                         .where(Nintei.hihokensha_no.in_(select(FutanWariai.hihokensha_no)))
                         .order_by(Nintei.hihokensha_no)).all()
    assert len(keys) >= n
    return list(keys[:n])


def expected(home: Home, key: str, kubun: str, ymd: date, jiyu: str, record_no: int) -> dict[str, Any]:
    """The 5311 record of ``key`` as the store has them now, written out column by column."""
    rec: dict[str, Any] = dict.fromkeys(FIELD_NAMES)
    with home.bridge.sessions() as s:
        k, a = s.execute(select(Shikaku, Atena).join(Atena, Atena.atena_no == Shikaku.atena_no)
                         .where(Shikaku.hihokensha_no == key)).one()
        n = s.scalars(select(Nintei).where(Nintei.hihokensha_no == key, Nintei.yokaigo_kubun != "01")
                      .order_by(Nintei.valid_from.desc())).first()
        w = s.scalars(select(FutanWariai).where(FutanWariai.hihokensha_no == key)
                      .order_by(FutanWariai.valid_from.desc())).first()
        g = s.scalars(select(ShikyuGendogaku).where(ShikyuGendogaku.hihokensha_no == key)
                      .order_by(ShikyuGendogaku.valid_from.desc())).first()
        p = s.scalars(select(KyotakuKeikaku).where(KyotakuKeikaku.hihokensha_no == key)
                      .order_by(KyotakuKeikaku.valid_from.desc())).first()
        t = s.scalars(select(FutanGendogaku).where(FutanGendogaku.hihokensha_no == key)
                      .order_by(FutanGendogaku.valid_from.desc())).first()
    assert n is not None and g is not None and w is not None
    rec |= {"record_type": "2", "record_no": record_no, "exchange_id": "5311", "ido_ymd": ymd, "ido_kubun": kubun,
            "ido_jiyu": jiyu, "sho_hokensha_no": "131128", "hihokensha_no": key, "name_kana": halfwidth(a.name_kana),
            "birth_ymd": a.birth_date, "seibetsu": a.sex, "shikaku_shutoku_ymd": k.shutoku_date,
            "shikaku_soshitsu_ymd": k.soshitsu_date, "shinsei_shubetsu": n.shinsei_kubun,
            "shinsei_ymd": n.shinsei_date, "yokaigo_jotai_kubun": n.yokaigo_kubun, "nintei_start_ymd": n.valid_from,
            "nintei_end_ymd": n.valid_to, "homon_gendo_gaku": g.gendo_tani, "homon_kanri_start_ymd": g.valid_from,
            "homon_kanri_end_ymd": g.valid_to}
    if p is not None:
        rec |= {"keikaku_sakusei_kubun": p.sakusei_kubun, "kyotaku_shien_jigyosho_no": p.jigyosho_no,
                "keikaku_start_ymd": p.valid_from, "keikaku_end_ymd": p.valid_to}
    if t is not None:
        rec |= {"shokuhi_gendo_gaku": t.shokuhi, "kyojuhi_unit_koshitsu": t.unit_koshitsu,
                "kyojuhi_unit_junkoshitsu": t.unit_junkoshitsu, "kyojuhi_jurai_koshitsu_tokuyo": t.juraigata_tokuyo,
                "kyojuhi_jurai_koshitsu_roken": t.juraigata_roken, "kyojuhi_tashoshitsu": t.tashoshitsu,
                "tokutei_start_ymd": t.valid_from, "tokutei_end_ymd": t.valid_to}
    if w.wariai == 2:
        rec |= {"niwari_start_ymd": w.valid_from, "niwari_end_ymd": w.valid_to}
    return rec


FIELD_NAMES = [f.name for f in kokuho_frame.default_index().layout(
    kokuho_frame.default_index().entry("5311") or kokuho_frame.Exchange("", "", "")).kinds[0].fields][:FIELDS]


def jukyu_from(home: Home, key: str) -> date:
    with home.bridge.sessions() as s:
        start = s.scalars(select(Nintei.valid_from).where(Nintei.hihokensha_no == key)).one()
        shutoku = s.scalars(select(Shikaku.shutoku_date).where(Shikaku.hihokensha_no == key)).one()
    assert start is not None
    return max(start, shutoku)


def delivered_name(home: Home, transfer_id: str) -> str:
    with home.bridge.sessions() as s:
        transfer = s.get(Transfer, transfer_id)
        assert transfer is not None
        return file_name(transfer, home.config.flow(transfer.flow).file_name, home.config.hokensha_no)


def delivered(home: Home, transfer_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The control record and data records of a delivered file, with its frame checked."""
    drop = home.config.partners["kokuho"].path
    assert drop is not None
    path = drop / delivered_name(home, transfer_id)
    wait_until(path.exists, 60, f"the delivered file of {transfer_id}")
    parsed = list(kokuho_frame.parse(path.read_bytes(), file=path.name))
    assert all(isinstance(p, ParsedRecord) for p in parsed), [p for p in parsed if not isinstance(p, ParsedRecord)]
    control, *rows = [p.values for p in parsed if isinstance(p, ParsedRecord)]
    return control, rows


def run(home: Home, month: int, *more: str) -> dict[str, Any]:
    return dict(home.cli_json("run", "kokuho.ido", "--month", str(month), *more))


def test_monthly_ido_new_refused_edition_then_changes_and_ends(home: Home) -> None:
    load(home.bridge.sessions, home.bridge.mynumber, people=400, seed=41, nendo=NENDO)
    p1, p2, p3, p4 = with_level(home, 4)
    home.start_worker("--routes", "core.changes,kokuho.deliver")
    sessions, keyring = home.bridge.sessions, home.bridge.keyring
    set_futan_wariai(sessions, keyring, p1, 2, date(2026, 8, 1), date(2027, 7, 31))
    decide_nintei(sessions, keyring, p2, shinsei_date=date(2026, 9, 1), shinsei_kubun="3",
                  nintei_date=date(2026, 10, 1), yokaigo_kubun="25", valid_from=date(2026, 9, 1),
                  valid_to=date(2027, 3, 31))
    lose_shikaku(sessions, keyring, p3, date(2026, 10, 20))  # never reported: nothing to end
    set_futan_wariai(sessions, keyring, p4, 1, date(2027, 8, 1), date(2028, 7, 31))
    wait_until(lambda: journal_count(home) == 5, 60, "5 journal rows")

    first = run(home, 202611)
    assert first["batch"] == "kokuho.ido/202611/0-5" and first["records"] == 3 and first["held"] == 0
    control, rows = delivered(home, first["transfer_ids"][0])
    assert control | {"record_count": None} == {
        "record_type": "1", "record_no": 1, "volume_no": "0", "record_count": None, "data_type": "531",
        "fukushi_jimusho_no": "0", "hokensha_no": "131128", "jigyosho_no": "0", "todofuken_no": "0",
        "baitai_kubun": "1", "shori_ym": "202611", "file_kanri_no": "000001"}
    assert control["record_count"] == 3
    want = sorted([expected(home, p1, "1", jukyu_from(home, p1), "01", 0),
                   expected(home, p2, "1", date(2026, 9, 1), "01", 0),
                   expected(home, p4, "1", jukyu_from(home, p4), "01", 0)], key=lambda r: r["hihokensha_no"])
    assert rows == [r | {"record_no": i + 2} for i, r in enumerate(want)]

    # The custody log has the file's count and hash, from extraction to the drop folder.
    tid = first["transfer_ids"][0]
    wait_until(lambda: "sent" in [e["event"] for e in home.cli_json("custody", "show", tid)], 60, "sent")
    chain = {e["event"]: e for e in home.cli_json("custody", "show", tid)}
    with home.bridge.sessions() as s:
        transfer = s.get(Transfer, tid)
        assert transfer is not None and transfer.state == "sent"
        sha = transfer.sha256
    for event in ("extracted", "encrypted", "queued", "sent"):
        assert (chain[event]["records"], chain[event]["sha256"], chain[event]["partner"]) == (3, sha, "kokuho")
    drop = home.config.partners["kokuho"].path
    # Named by flows.toml's pattern: 10_531 + 保険者番号 + 処理対象年月 + _ファイル管理番号.
    assert drop is not None and hashlib.sha256((drop / "10_531131128202611_01.csv").read_bytes()).hexdigest() == sha
    assert chain["sent"]["detail"] == "dropdir 10_531131128202611_01.csv"

    # The same month again: refused; an edition re-sends it as ファイル管理番号 2.
    refused = home.cli("run", "kokuho.ido", "--month", "202611", check=False)
    assert refused.returncode == 1 and "202611 was already run" in refused.stderr
    edition = run(home, 202611, "--edition", "2")
    assert edition["batch"] == "kokuho.ido/202611/0-5#2"
    control2, rows2 = delivered(home, edition["transfer_ids"][0])
    assert control2["file_kanri_no"] == "000002" and rows2 == rows
    assert delivered_name(home, edition["transfer_ids"][0]) == "10_531131128202611_02.csv"

    # Nothing new: refused, the position stays.
    nothing = home.cli("run", "kokuho.ido", "--month", "202612", check=False)
    assert nothing.returncode == 1 and "nothing to send for 処理対象年月 202612" in nothing.stderr

    # Changes after the run: next month they are 変更 and 終了 of what the partner has, and a
    # level corrected for the period already sent is a 訂正 (修正), kept until its exchange exists.
    set_futan_wariai(sessions, keyring, p1, 2, date(2027, 8, 1), date(2028, 7, 31))
    lose_shikaku(sessions, keyring, p2, date(2026, 12, 5))
    with home.bridge.sessions() as s:
        level = s.scalars(select(Nintei.yokaigo_kubun).where(Nintei.hihokensha_no == p4)).one()
    correct_nintei(sessions, keyring, p4, "21" if level != "21" else "22")
    wait_until(lambda: journal_count(home) == 9, 60, "9 journal rows")  # 認定 and its 限度額 corrected
    second = run(home, 202612)
    assert second["batch"] == "kokuho.ido/202612/5-9" and second["records"] == 2
    assert second["teisei_pending"] == 1
    control3, rows3 = delivered(home, second["transfer_ids"][0])
    home.stop_all()
    assert control3["shori_ym"] == "202612" and control3["file_kanri_no"] == "000001"
    want = sorted([expected(home, p1, "2", date(2027, 8, 1), "99", 0),
                   expected(home, p2, "3", date(2026, 12, 5), "02", 0)], key=lambda r: r["hihokensha_no"])
    assert rows3 == [r | {"record_no": i + 2} for i, r in enumerate(want)]
    with home.bridge.sessions() as s:
        kept = s.execute(select(KokuhoIdo.shori_ym, KokuhoIdo.ido_kubun, KokuhoIdo.hihokensha_no)
                         .where(KokuhoIdo.state == "reported").order_by(KokuhoIdo.id)).all()
    assert len(kept) == 8 and {(m, k) for m, k, _ in kept} == {("202611", "1"), ("202612", "2"), ("202612", "3")}
    with home.bridge.sessions() as s:
        pending = s.scalars(select(KokuhoIdo).where(KokuhoIdo.state == "pending")).one()
    assert (pending.hihokensha_no, pending.ido_kubun, pending.ido_ymd, pending.teisei_kubun, pending.transfer_id) == (
        p4, "1", jukyu_from(home, p4), "2", None)
    assert json.loads(pending.ido_values)["yokaigo_jotai_kubun"] == ("21" if level != "21" else "22")

    # The 訂正 goes in its own exchange (5321) for the month; then it is what the partner has.
    home.start_worker("--routes", "kokuho.deliver")
    before = datetime.now(JST).date()
    teisei = dict(home.cli_json("run", "kokuho.teisei", "--month", "202612"))
    after = datetime.now(JST).date()
    assert teisei["batch"] == "kokuho.teisei/202612" and teisei["records"] == 1 and teisei["teisei_pending"] == 0
    assert delivered_name(home, teisei["transfer_ids"][0]) == "10_532131128202612_01.csv"
    control4, rows4 = delivered(home, teisei["transfer_ids"][0])
    home.stop_all()
    assert (control4["data_type"], control4["shori_ym"], control4["file_kanri_no"], control4["record_count"]) == (
        "532", "202612", "000001", 1)
    assert len(rows4) == 1 and rows4[0]["teisei_ymd"] in (before, after)
    shinki = expected(home, p4, "1", jukyu_from(home, p4), "01", 2)
    want4 = {k: v for k, v in shinki.items() if k not in ("ido_kubun", "koiki_hokensha_no")}
    assert rows4[0] == want4 | {"exchange_id": "5321", "record_code": "H1", "teisei_kubun": "2",
                                "teisei_ymd": rows4[0]["teisei_ymd"]}
    with home.bridge.sessions() as s:
        sent = s.get(KokuhoIdo, pending.id)
        assert sent is not None
    assert (sent.state, sent.transfer_id, sent.record_no, sent.shori_ym) == (
        "reported", teisei["transfer_ids"][0], 2, "202612")
    again = home.cli("run", "kokuho.teisei", "--month", "202612", check=False)
    assert again.returncode == 1 and "202612 was already run" in again.stderr
    # Next month: the corrected record is what the partner has; nothing to send, nothing pending.
    quiet = home.cli("run", "kokuho.ido", "--month", "202701", check=False)
    assert quiet.returncode == 1 and "nothing to send for 処理対象年月 202701" in quiet.stderr
    assert "訂正" not in quiet.stderr
    none = home.cli("run", "kokuho.teisei", "--month", "202701", check=False)
    assert none.returncode == 1 and "no 訂正 pending" in none.stderr


def test_a_kana_name_the_file_cannot_carry_holds_the_file_with_its_report(home: Home) -> None:
    load(home.bridge.sessions, home.bridge.mynumber, people=300, seed=43, nendo=NENDO)
    good, bad = with_level(home, 2)
    with home.bridge.sessions.begin() as s:
        s.execute(select(Atena).join(Shikaku).where(Shikaku.hihokensha_no == bad)).scalar_one().name_kana = "ヰノウエ"
    home.start_worker("--routes", "core.changes,kokuho.deliver")
    for key in (good, bad):
        set_futan_wariai(home.bridge.sessions, home.bridge.keyring, key, 1, date(2027, 8, 1), date(2028, 7, 31))
    wait_until(lambda: journal_count(home) == 2, 60, "2 journal rows")
    summary = run(home, 202611)
    home.stop_all()
    assert summary["records"] == 2 and summary["held"] == 1
    tid = summary["transfer_ids"][0]
    with home.bridge.sessions() as s:
        transfer = s.get(Transfer, tid)
        assert transfer is not None and transfer.state == "held" and transfer.record_count == 2
        assert "ヰ" in (transfer.last_error or "") and "name_kana" in (transfer.last_error or "")
    report = b"".join(home.bridge.payloads.read(home.bridge.payloads.ref_for(characters_ref(tid)), characters_ref(tid),
                                                "kokuho.ido"))
    lines = [json.loads(line) for line in report.decode().splitlines()]
    assert [(x["field"], x["char"], x["codepoint"], x["replacement"]) for x in lines] == [
        ("name_kana", "ヰ", "U+30F0", None)]
    drop = home.config.partners["kokuho"].path
    assert drop is not None and not any(p.is_file() for p in drop.iterdir()), "a held file is not delivered"
    # The file holds only the good record; the partner has none of it while it is held, so the
    # next month looks at both people again.
    _control, rows = kokuho_rows(home, tid)
    assert [r["hihokensha_no"] for r in rows] == [good]
    with home.bridge.sessions.begin() as s:
        s.execute(select(Atena).join(Shikaku).where(Shikaku.hihokensha_no == bad)).scalar_one().name_kana = "イノウエ"
    again = run(home, 202612)
    assert again["records"] == 2 and again["held"] == 0 and again["batch"] == "kokuho.ido/202612/0-2"


def kokuho_rows(home: Home, transfer_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    with home.bridge.sessions() as s:
        transfer = s.get(Transfer, transfer_id)
        assert transfer is not None
        data = b"".join(home.bridge.payloads.read(transfer.payload_ref, transfer.id, transfer.flow))
    parsed = [p.values for p in kokuho_frame.parse(data) if isinstance(p, ParsedRecord)]
    return parsed[0], parsed[1:]
