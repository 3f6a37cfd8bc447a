"""What an operator reads of a refused 国保連 or 年金 file, through a whole installation: the file,
typed in by hand (tests/unit/test_report_kokuho.py, test_report_nenkin.py), dropped on the share,
received, judged by a worker and quarantined; `quarantine show` gives the same rows as JSON and
as text — repeats one row with their count and first lines, damage first and alone."""

from __future__ import annotations

import subprocess

from sqlalchemy import func, select

from store.models import KyufuJisseki, TokuchoTaisho
from tests.harness import CLI, Home, wait_until
from tests.integration.test_quarantine import hold as old_hold
from tests.integration.test_quarantine import received as old_received
from tests.unit.test_report_kokuho import claim, kyufu
from tests.unit.test_report_nenkin import z11


def received(home: Home, flow: str, name: str, data: bytes) -> str:
    home.edit_config("flows.toml", lambda t: t.replace("settle_seconds = 2", "settle_seconds = 0"))
    partner = home.config.flow(flow).partner
    folder = home.config.var / "drop" / partner / home.config.flow(flow).folder
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)
    (folder / f"{name}.end").write_bytes(b"")
    (taken,) = home.cli_json("receive", flow)
    transfer_id = str(taken["transfer"])
    wait_until(lambda: home.transfer_state(transfer_id) != "received", 90, f"transfer {transfer_id} judged")
    assert home.transfer_state(transfer_id) == "quarantined", home.worker_logs()
    return transfer_id


def shown(home: Home, transfer_id: str) -> str:
    """`quarantine show` as text, on a screen wide enough for a row on one line, words only."""
    result = subprocess.run([*CLI, "quarantine", "show", transfer_id], env={**home.env, "COLUMNS": "400"},
                            capture_output=True, text=True, timeout=120, cwd=home.root, check=True)
    cells = "".join(" " if "\u2500" <= c <= "\u257f" else c for c in result.stdout)  # the table's rules
    return " ".join(cells.split())


def test_an_lf_only_kyufu_file_is_one_row_counted_per_line(home: Home) -> None:
    home.start_worker("--routes", "kokuho.load")
    data = kyufu(*claim(2, "0000000101"), *claim(5, "0000000102"), eol="\n")  # 8 lines, no CR
    transfer_id = received(home, "kokuho.kyufu", "KYUFU_LF", data)
    assert home.cli_json("quarantine", "show", transfer_id) == [{
        "file": "KYUFU_LF", "line": 1, "kind": "control/H1/D1/T1/end", "record": 1, "field": None,
        "rule": "line_terminator", "detail": "LF without CR; records end with CRLF", "value": None, "count": 8,
        "lines": [1, 2, 3, 4, 5, 6, 7, 8]}]
    assert [(q["file"], q["errors"]) for q in home.cli_json("quarantine", "list")] == [("KYUFU_LF", 8)]
    text = shown(home, transfer_id)
    assert "KYUFU_LF: 8 problem(s), held; the file is damaged, ask its sender to send it again" in text
    assert "lines 1, 2, 3, 4, 5, 6, 7, 8 (8 times) control/H1/D1/T1/end 1 line_terminator" in text
    with home.bridge.read_sessions() as s:
        assert s.scalar(select(func.count()).select_from(KyufuJisseki)) == 0  # nothing applied


def test_a_z11_one_byte_short_shows_its_length_alone(home: Home) -> None:
    home.start_worker("--routes", "nenkin.load")
    data = z11(40)
    cut = 96 + 20 * 500
    transfer_id = received(home, "nenkin.z11", "Z1100101.DTA", data[:cut - 1] + data[cut:])
    (row,) = home.cli_json("quarantine", "show", transfer_id)
    assert {k: v for k, v in row.items() if k != "withheld"} == {
        "file": "Z1100101.DTA", "line": 44, "kind": "file", "record": 44, "field": None, "rule": "length",
        "detail": "file length 21095: (length − 96) mod 500 = 499, not 0: bytes lost or added, every record "
                  "after that point is misread; the last record is 499 bytes of 500; the first record found "
                  "wrong is record 23",
        "value": None, "count": 1, "lines": [44]}
    assert row["withheld"] >= 20  # the records after the cut, each misread
    assert [q["errors"] for q in home.cli_json("quarantine", "list")] == [1]
    text = shown(home, transfer_id)
    assert (f"Z1100101.DTA: 1 problem(s), held; the file is damaged, ask its sender to send it again "
            f"({row['withheld']} follow-on finding(s) not listed)") in text
    assert "44 file 44 length file length 21095: (length − 96) mod 500 = 499" in text
    with home.bridge.read_sessions() as s:
        assert s.scalar(select(func.count()).select_from(TokuchoTaisho)) == 0


def test_a_report_kept_before_rows_had_lines_still_shows(home: Home) -> None:
    # tests/integration/test_quarantine.py holds rows of the old shape (no lines, kind, count)
    transfer_id = old_received(home)
    old_hold(home, transfer_id)
    text = shown(home, transfer_id)
    assert "KYUFU009: 2 problem(s), held" in text and "damaged" not in text
    assert "2 hihokensha_no unknown 被保険者番号" in text
