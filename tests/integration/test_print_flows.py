"""The 要介護認定結果通知書 and 被保険者証 print flows through a whole installation: `kaigo-bridge run`
in its own process, a worker delivering to vendor-a's drop folder, and the delivered file parsed
back with the layout to exactly the records expected.

Expected records are built here from the store's rows with plain Python (the 年度 and 送付先 rules
written out again, labels from a table typed in below, substitutions read from the shipped
config/substitutions.toml), never by the record sources under test.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from adapters.delivery import file_name
from bridge.flows import SOURCES, run_flow
from fixtures.activity import change_shikaku
from fixtures.population import load
from mappings import csv_codec
from mappings.records import ParsedRecord
from mappings.registry import layouts
from store.models import Atena, ChangeJournal, Nintei, Shikaku, Transfer
from tests.harness import REPO, Home, wait_until

NENDO = 2026
LABELS = {"01": "非該当", "12": "要支援1", "13": "要支援2", "21": "要介護1", "22": "要介護2", "23": "要介護3",
          "24": "要介護4", "25": "要介護5"}
with (REPO / "config" / "substitutions.toml").open("rb") as fh:
    SUBSTITUTIONS: dict[str, str] = tomllib.load(fh)["substitutions"]


def in_jis_x_0208(char: str) -> bool:
    try:
        char.encode("iso2022_jp")  # ASCII + JIS X 0208 exactly
    except UnicodeEncodeError:
        return False
    return True


def to_jis(text: str | None) -> str | None:
    """What the cp932 file must carry: characters outside JIS X 0208 by the ward's table."""
    return None if text is None else "".join(c if in_jis_x_0208(c) else SUBSTITUTIONS[c] for c in text)


def delivered(home: Home, summary: dict[str, Any], layout: str) -> list[dict[str, Any]]:
    """The one file of a run, once the worker has put it in the drop folder, parsed back."""
    assert summary["transfers"] == 1 and summary["held"] == 0, summary
    drop = home.config.partners["vendor-a"].path
    assert drop is not None, "vendor-a is reached by a drop folder in the shipped configuration"
    path = drop / delivered_name(home, summary["transfer_ids"][0])
    wait_until(path.exists, 60, f"the delivered file of {summary['batch']}")
    parsed = list(csv_codec.parse(layouts.get("vendor", layout), [path.read_bytes()]))
    assert all(isinstance(p, ParsedRecord) for p in parsed), [p for p in parsed if not isinstance(p, ParsedRecord)]
    return [p.values for p in parsed if isinstance(p, ParsedRecord)]


def delivered_name(home: Home, transfer_id: str) -> str:
    with home.bridge.sessions() as s:
        transfer = s.get(Transfer, transfer_id)
        assert transfer is not None
        return file_name(transfer)


def issued_today(records: list[dict[str, Any]], days: set[date]) -> date:
    """The run's 発行日: one date for the whole file, today (the run may straddle midnight)."""
    issued = {r["issue_date"] for r in records}
    assert len(issued) == 1 and issued <= days, issued
    return issued.pop()


def test_nintei_kekka_notices_of_a_nendo(home: Home) -> None:
    load(home.bridge.sessions, home.bridge.mynumber, people=1500, seed=23, nendo=NENDO)
    first, last = date(NENDO, 4, 1), date(NENDO + 1, 3, 31)
    with home.bridge.sessions.begin() as s:
        decided = s.execute(select(Nintei, Atena).join(Shikaku, Shikaku.hihokensha_no == Nintei.hihokensha_no)
                            .join(Atena, Atena.atena_no == Shikaku.atena_no)
                            .where(Nintei.nintei_date.between(first, last)).order_by(Nintei.id)).all()
        # One person's mail came back (no notice); another is written with 髙 (substituted on the way).
        decided[0][1].sofu_status = "returned"
        decided[1][1].name_kanji = "髙" + decided[1][1].name_kanji[1:]
        expected = [{
            "notice_no": f"26{n.id:08d}", "nendo": NENDO, "hihokensha_no": n.hihokensha_no, "atena_no": a.atena_no,
            "postal_code": a.sofu_postal_code or a.postal_code, "address": to_jis(a.sofu_address or a.address),
            "sofu_name": to_jis(a.sofu_name), "name_kanji": to_jis(a.name_kanji), "name_kana": a.name_kana,
            "yokaigo_kubun": n.yokaigo_kubun, "yokaigo_label": LABELS[n.yokaigo_kubun], "nintei_date": n.nintei_date,
            "valid_from": n.valid_from, "valid_to": n.valid_to, "shinsakai_iken": n.shinsakai_iken,
        } for n, a in decided[1:]]
    days = {date.today()}
    summary = home.cli_json("run", "print.ninteikekka", "--nendo", str(NENDO))
    days.add(date.today())
    assert summary["batch"] == "print.ninteikekka/2026" and summary["records"] == len(expected)
    home.start_worker()
    got = delivered(home, summary, "nintei-kekka")
    home.stop_all()

    issued = issued_today(got, days)
    assert got == [e | {"issue_date": issued} for e in expected]
    # The population gives the cases the layout must carry, not only the common one.
    assert len(got) > 80 and got[0]["name_kanji"].startswith("高")
    levels = {r["yokaigo_kubun"] for r in got}
    assert "01" in levels and len(levels) >= 6  # 非該当 (no 有効期間) among them
    assert any(r["sofu_name"] for r in got) and any(r["shinsakai_iken"] for r in got)
    refused = home.cli("run", "print.ninteikekka", "--nendo", str(NENDO), check=False)
    assert refused.returncode == 1 and "already run" in refused.stderr


def journal_count(home: Home) -> int:
    with home.bridge.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(ChangeJournal)) or 0)


def changed_keys(home: Home, events: list[str]) -> list[str]:
    """被保険者番号 of the journal entries of these events (one per event, repeats kept)."""
    with home.bridge.sessions() as s:
        return list(s.scalars(select(ChangeJournal.entity_key).where(ChangeJournal.event_id.in_(events))))


def expected_cards(home: Home, keys: set[str]) -> list[dict[str, Any]]:
    with home.bridge.sessions() as s:
        rows = s.execute(select(Shikaku, Atena).join(Atena, Atena.atena_no == Shikaku.atena_no)
                         .where(Shikaku.hihokensha_no.in_(keys))).all()
    return [{
        "hihokensha_no": k.hihokensha_no, "hokensha_no": k.hokensha_no, "atena_no": a.atena_no,
        "postal_code": a.sofu_postal_code or a.postal_code, "address": a.sofu_address or a.address,
        "sofu_name": a.sofu_name, "name_kanji": a.name_kanji, "name_kana": a.name_kana, "birth_date": a.birth_date,
        "sex": a.sex, "shutoku_date": k.shutoku_date, "hihokensha_kubun": k.hihokensha_kubun,
    } for k, a in sorted(rows, key=lambda row: row[0].hihokensha_no)
        if k.soshitsu_date is None and a.sofu_status == "ok"]


def test_hihokenshasho_cards_for_what_changed_since_the_last_run(home: Home) -> None:
    load(home.bridge.sessions, home.bridge.mynumber, people=300, seed=29, nendo=NENDO)
    home.start_worker()
    first = change_shikaku(home.bridge.sessions, home.bridge.keyring, 40, seed=4)
    wait_until(lambda: journal_count(home) == 40, 60, "40 journal rows")
    keys = changed_keys(home, first)
    assert len(set(keys)) < len(keys), "the seed must change someone twice: one card each is under test"
    returned, lost = sorted(set(keys))[:2]
    with home.bridge.sessions.begin() as s:  # left out: mail returned (返戻), 資格 lost (喪失)
        s.execute(select(Shikaku).where(Shikaku.hihokensha_no == lost)).scalar_one().soshitsu_date = date(2026, 5, 1)
        person = s.execute(select(Atena).join(Shikaku).where(Shikaku.hihokensha_no == returned)).scalar_one()
        person.sofu_status = "returned"
    expected = expected_cards(home, set(keys))
    assert len(expected) == len(set(keys)) - 2

    days = {date.today()}
    summary = home.cli_json("run", "print.hihokenshasho", "--nendo", str(NENDO))
    days.add(date.today())
    assert summary["batch"] == "print.hihokenshasho/0-40" and summary["records"] == len(expected)
    got = delivered(home, summary, "hihokenshasho")
    assert got == [e | {"issue_date": issued_today(got, days)} for e in expected]

    # Nothing changed since: refused, naming the position and the last run; no empty file.
    refused = home.cli("run", "print.hihokenshasho", "--nendo", str(NENDO), check=False)
    assert refused.returncode == 1
    assert ("nothing to issue: no 資格 change journaled after position 40 (last run print.hihokenshasho/0-40)"
            in refused.stderr)

    second = change_shikaku(home.bridge.sessions, home.bridge.keyring, 15, seed=5)
    wait_until(lambda: journal_count(home) == 55, 60, "55 journal rows")
    again = set(changed_keys(home, second))
    assert again & set(keys) and again - set(keys), "the seed must change old and new people alike"
    summary = home.cli_json("run", "print.hihokenshasho", "--nendo", str(NENDO))
    days.add(date.today())
    assert summary["batch"] == "print.hihokenshasho/40-55"
    got = delivered(home, summary, "hihokenshasho")
    home.stop_all()
    assert got == [e | {"issue_date": issued_today(got, days)} for e in expected_cards(home, again)]
    assert len(got) > 10


def test_hihokenshasho_interrupted_run_resumes_its_window(home: Home, monkeypatch: pytest.MonkeyPatch) -> None:
    home.edit_config("flows.toml", lambda t: t.replace("part_size = 50000", "part_size = 10"))
    load(home.bridge.sessions, home.bridge.mynumber, people=300, seed=31, nendo=NENDO)
    home.start_worker()
    first = change_shikaku(home.bridge.sessions, home.bridge.keyring, 60, seed=6)
    wait_until(lambda: journal_count(home) == 60, 60, "60 journal rows")
    expected = [card["hihokensha_no"] for card in expected_cards(home, set(changed_keys(home, first)))]

    batch = "print.hihokenshasho/0-60"
    # The run dies while rendering its third part (after 25 cards): parts 1 and 2 are made.
    source = SOURCES["print.hihokenshasho"]

    def dying(session: Session, window: Any) -> Iterator[dict[str, Any]]:
        for n, record in enumerate(source.records(session, window)):
            if n == 25:
                raise RuntimeError("the run dies here")
            yield record

    monkeypatch.setitem(SOURCES, "print.hihokenshasho", replace(source, records=dying))
    with pytest.raises(RuntimeError, match="dies here"):
        run_flow(home.bridge, "print.hihokenshasho", NENDO, progress=False)
    monkeypatch.undo()
    with home.bridge.sessions() as s:
        made = sorted(n or 0 for n in s.scalars(select(Transfer.part_no).where(Transfer.batch == batch)))
    assert made == [1, 2]

    # More changes meanwhile: the next run still finishes the interrupted window, and only then
    # does a run take the changes made since.
    change_shikaku(home.bridge.sessions, home.bridge.keyring, 10, seed=7)
    wait_until(lambda: journal_count(home) == 70, 60, "70 journal rows")
    summary = home.cli_json("run", "print.hihokenshasho", "--nendo", str(NENDO))
    assert summary["batch"] == batch and summary["resumed"] == 2
    assert summary["transfers"] == len(set(summary["transfer_ids"])) > 3
    following = home.cli_json("run", "print.hihokenshasho", "--nendo", str(NENDO))
    assert following["batch"] == "print.hihokenshasho/60-70"

    # The window's parts, delivered, hold each card once, in order, none missing.
    drop = home.config.partners["vendor-a"].path
    assert drop is not None
    names = [delivered_name(home, tid) for tid in summary["transfer_ids"]]  # in part order
    wait_until(lambda: all((drop / name).exists() for name in names), 60, "every part delivered")
    home.stop_all()
    layout = layouts.get("vendor", "hihokenshasho")
    cards = [p for name in names for p in csv_codec.parse(layout, [(drop / name).read_bytes()])]
    assert [p["hihokensha_no"] for p in cards if isinstance(p, ParsedRecord)] == expected
    assert len(cards) == len(expected) > 40
