"""受給者台帳突合結果 from the 国保連 through a whole installation: received from its own folder of
the share, judged whole, kept as the 国保連 holds it; a second delivery adds nothing; a faulty
file is quarantined whole. Expected rows come from the simulator's results."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from fixtures.kokuho import totsugo
from fixtures.population import load
from store.models import Shikaku, TotsugoKekka
from tests.harness import Home
from tests.integration.test_kokuho_kyufu import WARD, settled

SHORI = "202611"


def share(home: Home) -> tuple[Path, list[totsugo.Result]]:
    home.edit_config("flows.toml", lambda t: t.replace("settle_seconds = 2", "settle_seconds = 0"))
    folder = home.config.partners["kokuho"].path
    assert folder is not None
    folder = folder / home.config.flow("kokuho.totsugo").folder
    folder.mkdir(parents=True, exist_ok=True)
    load(home.bridge.sessions, home.bridge.mynumber, people=100, seed=81, nendo=2026)
    with home.bridge.sessions() as s:
        people = list(s.scalars(select(Shikaku.hihokensha_no).order_by(Shikaku.hihokensha_no).limit(30)))
    return folder, [totsugo.Result(p, "21", f"{i % 3 + 1:02d}", "1") for i, p in enumerate(people)]


def drop(folder: Path, name: str, results: list[totsugo.Result], *faults: str) -> None:
    totsugo.write(folder / name, results, hokensha_no=WARD, shori_ym=SHORI, faults=faults)
    (folder / f"{name}.end").write_bytes(b"")


def rows(home: Home) -> list[tuple[str, str | None, str | None, str]]:
    with home.bridge.sessions() as s:
        return [(r.hihokensha_no, r.kekka_kubun, r.joho_kubun, json.loads(r.record)["yokaigo_jotai_kubun"])
                for r in s.scalars(select(TotsugoKekka).order_by(TotsugoKekka.hihokensha_no))]


def test_results_are_kept_once(home: Home) -> None:
    folder, results = share(home)
    drop(folder, "TOTSUGO1", results)
    home.start_worker("--routes", "kokuho.load")
    first = home.cli_json("receive", "kokuho.totsugo")[0]["transfer"]
    assert settled(home, first) == "applied", home.worker_logs()
    assert rows(home) == sorted((r.hihokensha_no, r.kekka_kubun, r.joho_kubun, r.yokaigo) for r in results)
    assert f"{len(results)} 突合結果 records: {len(results)} stored" in \
        home.cli_json("custody", "show", first)[-1]["detail"]

    drop(folder, "TOTSUGO2", [*results[:5], totsugo.Result(results[0].hihokensha_no, "22", "09", "9")])
    second = home.cli_json("receive", "kokuho.totsugo")[0]["transfer"]
    assert settled(home, second) == "applied", home.worker_logs()
    with home.bridge.sessions() as s:
        assert s.scalar(select(func.count()).select_from(TotsugoKekka)) == len(results) + 1
    assert "6 突合結果 records: 1 stored, 5 already stored" in home.cli_json("custody", "show", second)[-1]["detail"]


@pytest.mark.parametrize(("fault", "found"), [
    ("unknown_person", (2, "hihokensha_no", "unknown_hihokensha")),
    ("duplicate", (3, None, "duplicate_record")),
    ("bad_ido_kubun", (2, "ido_kubun", "code_table")),
    ("other_hokensha", (2, "sho_hokensha_no", "addressee")),
])
def test_a_faulty_file_is_quarantined_whole(home: Home, fault: str, found: tuple[object, ...]) -> None:
    folder, results = share(home)
    drop(folder, "TOTSUGO_BAD", results, fault)
    home.start_worker("--routes", "kokuho.load")
    transfer_id = home.cli_json("receive", "kokuho.totsugo")[0]["transfer"]
    assert settled(home, transfer_id) == "quarantined", home.worker_logs()
    report = home.cli_json("quarantine", "show", transfer_id)
    assert [(p["record"], p["field"], p["rule"]) for p in report] == [found]
    assert rows(home) == []
