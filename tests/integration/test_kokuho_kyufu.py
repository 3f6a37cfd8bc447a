"""給付実績 from the 国保連 through a whole installation: the simulated 国保連 drops a file on the
share, `kaigo-bridge receive` takes it, a worker judges the whole file and applies it, or
quarantines it whole with a report. Expected rows come from the simulator's own claims (its
arithmetic, its column positions typed in from the evidence), never from the loader."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from fixtures.kokuho import kyufu
from fixtures.population import load
from store.models import KyufuJisseki, KyufuMeisai, KyufuShukei, Transfer
from tests.harness import Home, wait_until
from tests.integration.test_inbound import inbound_flow

WARD = "131128"
MONTH, SHORI = "202610", "202611"


def drop(folder: Path, name: str, claims: list[kyufu.Claim], **kw: Any) -> kyufu.Written:
    written = kyufu.write(folder / name, claims, hokensha_no=WARD, shori_ym=SHORI, **kw)
    (folder / f"{name}.end").write_bytes(b"")
    return written


def setup(home: Home, people: int = 400, seed: int = 41) -> tuple[Path, list[kyufu.Claim]]:
    folder = inbound_flow(home)
    load(home.bridge.sessions, home.bridge.mynumber, people=people, seed=seed, nendo=2026)
    with home.bridge.sessions() as s:
        cared = kyufu.people_in_care(s, MONTH)
    assert len(cared) >= 10, "the population has people in care this month"
    return folder, list(kyufu.claims(cared, MONTH, seed=seed, lines=2))


def settled(home: Home, transfer_id: str) -> str:
    wait_until(lambda: home.transfer_state(transfer_id) != "received", 90, f"transfer {transfer_id} loaded")
    return home.transfer_state(transfer_id)


def stored(home: Home) -> dict[tuple[str, str, str], tuple[Any, ...]]:
    """Every stored 給付実績 by (被保険者番号, 事業所番号, 整理番号): totals, lines and sums."""
    out: dict[tuple[str, str, str], tuple[Any, ...]] = {}
    with home.bridge.sessions() as s:
        for j in s.scalars(select(KyufuJisseki)):
            lines = s.execute(select(KyufuMeisai.service_shurui, KyufuMeisai.service_komoku, KyufuMeisai.tanisu,
                                     KyufuMeisai.kaisu, KyufuMeisai.service_tanisu)
                              .where(KyufuMeisai.jisseki_id == j.id).order_by(KyufuMeisai.line_no)).all()
            sums = s.execute(select(KyufuShukei.service_shurui, KyufuShukei.tanisu_total, KyufuShukei.seikyu_gaku,
                                    KyufuShukei.riyosha_futan)
                             .where(KyufuShukei.jisseki_id == j.id).order_by(KyufuShukei.service_shurui)).all()
            out[(j.hihokensha_no, j.jigyosho_no, j.seiri_no)] = (
                j.service_ym, j.shinsa_ym, j.sakusei_kubun, j.yokaigo_kubun, j.tanisu, j.seikyu_gaku,
                j.riyosha_futan, [tuple(r) for r in lines], [tuple(r) for r in sums])
    return out


def expected(claims: list[kyufu.Claim]) -> dict[tuple[str, str, str], tuple[Any, ...]]:
    out = {}
    for c in claims:
        seikyu, futan = kyufu.Claim.amounts(c.tanisu)
        sums = []
        for shurui, lines in sorted(c.per_shurui().items()):
            tanisu = sum(line.service_tanisu for line in lines)
            sums.append((shurui, tanisu, *kyufu.Claim.amounts(tanisu)))
        out[(c.hihokensha_no, c.jigyosho_no, c.seiri_no)] = (
            c.service_ym, c.shinsa_ym, "1", c.yokaigo, c.tanisu, seikyu, futan,
            [(x.shurui, x.komoku, x.tanisu, x.kaisu, x.service_tanisu) for x in c.lines], sums)
    return out


def test_a_valid_file_is_applied_and_a_second_delivery_changes_nothing(home: Home) -> None:
    folder, claims = setup(home)
    written = drop(folder, "KYUFU_202611_1", claims)
    home.start_worker()
    taken = home.cli_json("receive", "kokuho.kyufu")
    assert [t["new"] for t in taken] == [True]
    transfer_id = taken[0]["transfer"]
    assert settled(home, transfer_id) == "applied", home.worker_logs()
    assert stored(home) == expected(claims)
    with home.bridge.sessions() as s:
        transfer = s.get(Transfer, transfer_id)
        assert transfer is not None and transfer.record_count == written.records
    chain = home.cli_json("custody", "show", transfer_id)
    assert [e["event"] for e in chain] == ["received", "applied"]
    assert f"{len(claims)} 給付実績: {len(claims)} applied, 0 already stored" in chain[1]["detail"]

    # The 国保連 sends the same 給付実績 again in another file (another ファイル管理番号).
    drop(folder, "KYUFU_202611_2", claims[:10], file_no=2)
    again = home.cli_json("receive", "kokuho.kyufu")[0]["transfer"]
    assert settled(home, again) == "applied", home.worker_logs()
    assert stored(home) == expected(claims)
    detail = home.cli_json("custody", "show", again)[-1]["detail"]
    assert "10 給付実績: 0 applied, 10 already stored" in detail


def test_a_file_with_errors_is_quarantined_whole_with_a_masked_report(home: Home) -> None:
    folder, claims = setup(home, people=200, seed=43)
    drop(folder, "KYUFU_BAD", claims, faults=("unknown_person", "negative", "bad_cp932"))
    home.start_worker()
    transfer_id = home.cli_json("receive", "kokuho.kyufu")[0]["transfer"]
    assert settled(home, transfer_id) == "quarantined", home.worker_logs()
    with home.bridge.sessions() as s:
        assert s.scalar(select(func.count()).select_from(KyufuJisseki)) == 0  # nothing applied
    report = home.cli_json("quarantine", "show", transfer_id)
    found = {(p["record"], p["field"], p["rule"]) for p in report}
    # The first claim has two lines: H1 (record 2), D1 (3, with the bad byte), D1 (4), T1 (5).
    assert found == {(2, "hihokensha_no", "unknown_hihokensha"), (3, None, "encoding"), (3, "tekiyo", "encoding"),
                     (5, "ato_hoken_seikyu", "not_negative")}
    offset = next(p["detail"] for p in report if p["field"] is None)
    assert "byte offset" in offset
    assert all(p["file"] == "KYUFU_BAD" for p in report)
    assert home.cli_json("status")["quarantine"] == {"held": 1}
    shown = home.cli("quarantine", "show", transfer_id).stdout
    assert claims[0].hihokensha_no not in shown


def test_an_unknown_person_holds_the_file_until_released(home: Home) -> None:
    folder, claims = setup(home, people=200, seed=47)
    drop(folder, "KYUFU_WHO", claims, faults=("unknown_person",))
    home.start_worker()
    transfer_id = home.cli_json("receive", "kokuho.kyufu")[0]["transfer"]
    assert settled(home, transfer_id) == "quarantined", home.worker_logs()
    report = home.cli_json("quarantine", "show", transfer_id)
    assert [(p["record"], p["field"], p["rule"], p["value"]) for p in report] == [
        (2, "hihokensha_no", "unknown_hihokensha", "<masked 10 chars>")]
    # Released without a fix, it is judged again and held again: nothing is ever half applied.
    home.cli("quarantine", "release", transfer_id, "--by", "op-1", "--reason", "asked the 国保連")
    wait_until(lambda: [e["event"] for e in home.cli_json("custody", "show", transfer_id)][-1] == "quarantined",
               90, "held again")
    with home.bridge.sessions() as s:
        assert s.scalar(select(func.count()).select_from(KyufuJisseki)) == 0


def test_a_worker_takes_and_loads_what_arrives_without_anyone_asking(home: Home) -> None:
    folder, claims = setup(home, people=200, seed=53)
    home.edit_config("partners.toml", lambda t: t.replace('path = "{var}/drop/kokuho"',
                                                          'path = "{var}/drop/kokuho"\npoll_seconds = 1'))
    home.start_worker()
    drop(folder, "KYUFU_AUTO", claims)

    def applied() -> bool:
        with home.bridge.sessions() as s:
            return s.scalar(select(func.count()).select_from(Transfer).where(Transfer.state == "applied")) == 1

    wait_until(applied, 90, "the worker to receive and apply the file")
    assert stored(home) == expected(claims)
    assert not (folder / "KYUFU_AUTO").exists()
