"""The access log through the real CLI: `access report` (text and --json, JST) on a seeded log,
`access verify` catching a row edited in SQLite, and `transfers show` / `nenkin list` leaving a
``viewed`` event that names the record, the count and the persons — never a 個人番号 (the access
database is searched for every synthetic person's number, as tests/integration/test_privacy.py does)."""

from __future__ import annotations

import getpass
import json
import re
import sqlite3
import stat
from datetime import UTC, datetime
from pathlib import Path

from bridge.staff.access_log import AccessLog
from fixtures.population import generate, load
from store.models import TokuchoIrai, Transfer
from store.models.tokucho import IRAI_STOPPED
from tests.harness import Home
from tests.unit.test_access_report import seed

PEOPLE, SEED, NENDO = 60, 171, 2026


def access_db(home: Home) -> Path:
    return home.config.var / "access.db"


def seeded(home: Home) -> None:
    log = AccessLog.of(home.config)
    seed(log)
    log.dispose()


def test_init_makes_the_access_log_and_keeps_it_its_users_only(home: Home) -> None:
    db = access_db(home)
    db.chmod(0o644)  # the harness's init ran in this process (umask 022), like an older installation
    out = home.cli("init").stdout.replace("\n", "").replace(" ", "")  # the terminal's wrapping undone
    assert f"{db}was0644,now0600" in out and "accesslogschemaready" in out, out
    db.unlink()  # an installation from before the access log
    home.cli("init")
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    assert home.cli_json("access", "verify")["entries"] == 0


def test_report_json_and_text_in_jst(home: Home) -> None:
    seeded(home)
    report = home.cli_json("access", "report", "--from", "2026-12-08", "--to", "2026-12-08")
    assert report["timezone"] == "JST" and report["events"] == 114
    assert [(f["rule"], f["actor"], f["at"]) for f in report["flags"]] == [
        ("bulk_read", "clerk-x", "2026-12-08 08:30:00"),  # 2026-12-07 23:30 UTC: Tuesday in Japan
        ("failed_logins", "clerk-f", "2026-12-08 09:00:00"),
        ("locked", "clerk-g", "2026-12-08 09:30:00"),
        ("bulk_read", "clerk-a", "2026-12-08 10:00:00"),
        ("bulk_read", "clerk-d", "2026-12-08 11:00:00"),
        ("disabled_use", "clerk-h", "2026-12-08 12:30:00"),
        ("repeated_lookup", "clerk-a", "2026-12-08 13:00:00"),
        ("off_hours", "clerk-c", "2026-12-08 22:10:00"),
    ]
    clerk_c = next(o for o in report["operators"] if o["actor"] == "clerk-c")
    assert clerk_c["sessions"] == [{"login": "2026-12-08 22:10:00", "logout": "2026-12-08 22:30:00"}]

    text = home.cli("access", "report", "--from", "2026-12-08", "--to", "2026-12-08").stdout
    assert "アクセスログ 2026-12-08 〜 2026-12-08 (JST): 114 件" in text
    assert ("[時間外] clerk-c 2026-12-08 22:10:00 JST: 3 event(s) outside 08:00–19:00 JST or on a weekend, "
            "2026-12-08 22:10:00–2026-12-08 22:30:00 (login, logout, transfers show) — 次の手順: ") in text
    for line in ("[大量参照] clerk-x 2026-12-08 08:30:00 JST", "[ログイン失敗] clerk-f 2026-12-08 09:00:00 JST",
                 "[ロックアウト] clerk-g 2026-12-08 09:30:00 JST",
                 "[無効アカウントの使用] clerk-h 2026-12-08 12:30:00 JST",
                 "[同一人物の反復参照] clerk-a 2026-12-08 13:00:00 JST"):
        assert line in text, line
    normal = home.cli("access", "report", "--from", "2026-12-07", "--to", "2026-12-07")
    assert "要確認事項なし" in normal.stdout and "[" not in normal.stdout.split("要確認事項なし")[1]
    assert home.cli_json("access", "report", "--from", "2026-12-07", "--to", "2026-12-07")["flags"] == []


def test_bad_days_are_refused_naming_the_option(home: Home) -> None:
    for args, line in ((("--from", "2026-13-01", "--to", "2026-12-08"),
                        "--from: a day is YYYY-MM-DD (JST), got '2026-13-01'"),
                       (("--from", "2026-12-08", "--to", "8.12.2026"),
                        "--to: a day is YYYY-MM-DD (JST), got '8.12.2026'"),
                       (("--from", "2026-12-08", "--to", "2026-12-07"), "--to 2026-12-07 is before --from 2026-12-08")):
        result = home.cli("access", "report", *args, check=False)
        assert (result.returncode, result.stderr.strip(), result.stdout) == (2, line, "")


def test_verify_names_the_first_edited_row(home: Home) -> None:
    seeded(home)
    home.cli("access", "checkpoint")
    intact = home.cli_json("access", "verify")
    assert (intact["ok"], intact["entries"], intact["checkpoints"]) == (True, 226, 1)
    with sqlite3.connect(access_db(home)) as db:  # clerk-a's 100-row read becomes 10 rows
        assert db.execute("UPDATE custody_entries SET record_count = 10 WHERE seq = 17").rowcount == 1
    result = home.cli("access", "verify", check=False)
    assert result.returncode == 1
    assert ("access log FAILED verification at seq 17: entry 17: content does not match its hash (entry edited)"
            in result.stdout)
    as_json = json.loads(home.cli("access", "verify", "--json", check=False).stdout)
    assert (as_json["ok"], as_json["first_bad_seq"]) == (False, 17)


def test_views_name_record_count_and_persons_never_a_kojin_bango(home: Home) -> None:
    people = [p for p in generate(PEOPLE, SEED, NENDO) if p.kiso_nenkin_no is not None][:3]
    assert len(people) == 3
    load(home.bridge.sessions, home.bridge.mynumber, people=PEOPLE, seed=SEED, nendo=NENDO)
    with home.bridge.sessions.begin() as s:
        s.add(Transfer(id="t-z12", flow="nenkin.z12", partner="keiyu", direction="out", sha256="0" * 64, size=1,
                       key_id="k", payload_ref="p", state="sent", record_count=3))
        s.flush()
        s.add_all(TokuchoIrai(nendo=NENDO, ki=4, atena_no=p.atena_no, hihokensha_no=p.hihokensha_no,
                              gimusha_code="001", kiso_nenkin_no=p.kiso_nenkin_no, nenkin_code="1150",
                              irai_amount=5000, tsuchi_naiyo_code="01", status=IRAI_STOPPED, transfer_id="t-z12")
                  for p in people)
    assert len(home.cli_json("nenkin", "list", "stopped", "--nendo", str(NENDO))) == 3
    home.cli("nenkin", "list", "stopped", "--nendo", str(NENDO))
    home.cli("transfers", "show", "t-z12")
    home.cli("transfers", "show", "t-z12", "--json")

    log = AccessLog.of(home.config)
    events = log.events(datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))
    log.dispose()
    me = f"os:{getpass.getuser()}"
    atenas = tuple(sorted(p.atena_no for p in people))
    assert [(e.kind, e.actor, e.command, e.record, e.count, e.subjects) for e in events] == [
        ("viewed", me, "nenkin list stopped", f"nenkin stopped {NENDO}", 3, atenas),
        ("viewed", me, "nenkin list stopped", f"nenkin stopped {NENDO}", 3, atenas),
        ("viewed", me, "transfers show", "t-z12", 3, ()),
        ("viewed", me, "transfers show", "t-z12", 3, ()),
    ]

    secret = {p.kojin_bango.encode() for p in generate(PEOPLE, SEED, NENDO)}
    assert len(secret) == PEOPLE
    twelve = re.compile(rb"(?<!\d)\d{12}(?!\d)")
    files = [f for f in home.config.var.glob("access.db*") if f.is_file()]
    assert files
    for path in files:
        assert not set(twelve.findall(path.read_bytes())) & secret, path
    planted = b"xx" + next(iter(secret)) + b"yy"  # control: the search finds one where it is
    assert set(twelve.findall(planted)) & secret
