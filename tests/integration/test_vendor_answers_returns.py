"""返戻 checked against the hand-over, on real sshd + stock gpg: a returns list must name (notice
number, 宛名番号) pairs the transfer carried — read here from the delivered files, decrypted with
the vendor's key by stock gpg — or it is refused whole, naming the line; only that transfer's
persons are marked returned, and the returned notices are listed per hand-over."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import func, select

from fixtures.population import load
from fixtures.services.sshd import SftpTree
from fixtures.vendor import VendorRobot
from fixtures.vendor.gpgcli import Gpg as StockGpg
from store.models import Atena, Handover, Transfer
from tests.harness import Home, wait_until
from tests.integration.test_vendor_answers_states import Vendor, poll
from tests.integration.test_vendor_handover import (  # noqa: F401 (fixtures)
    sftp_home,
    tree,
    vendor_home,
)

HEADER = "notice_no,atena_no,reason_code,returned_on\r\n"


def two_sent(home: Home) -> tuple[str, str]:
    """A 保険料決定通知書 transfer and a 認定結果通知書 transfer to vendor-a, both sent."""
    load(home.bridge.sessions, home.bridge.mynumber, people=300, seed=161, nendo=2026)
    first = home.cli_json("run", "print.hokenryo", "--nendo", "2026", "--by", "alice")["transfer_ids"][0]
    second = home.cli_json("run", "print.ninteikekka", "--nendo", "2026", "--by", "alice")["transfer_ids"][0]
    home.start_worker("--routes", "print.deliver")

    def sent() -> bool:
        with home.bridge.sessions() as s:
            return all(s.get(Transfer, t).state == "sent" for t in (first, second))  # type: ignore[union-attr]

    wait_until(sent, 90, "both transfers sent")
    home.stop_all()
    return first, second


def carried(sftp: SftpTree, gnupg: Path, tmp_path: Path, transfer_id: str, encoding: str) -> dict[str, str]:
    """notice_no (column 0) → 宛名番号 (column 2) of the delivered file, as the vendor reads it."""
    plain = tmp_path / f"{transfer_id}.csv"
    assert StockGpg(gnupg).decrypt(sftp.inbox / f"{transfer_id}.csv.gpg", plain).returncode == 0
    rows = list(csv.reader(io.StringIO(plain.read_bytes().decode(encoding), newline="")))
    return {row[0]: row[2] for row in rows}


def returned_count(home: Home) -> int:
    with home.bridge.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(Atena).where(Atena.sofu_status == "returned")) or 0)


def test_returns_naming_another_transfers_notice_or_an_unknown_one_are_refused_whole(
        sftp_home: tuple[Home, Callable[..., VendorRobot]], tree: SftpTree, vendor_home: Path,  # noqa: F811
        tmp_path: Path) -> None:
    home, _robot = sftp_home
    first, second = two_sent(home)
    ours = carried(tree, vendor_home, tmp_path, first, "cp932")
    theirs = carried(tree, vendor_home, tmp_path, second, "cp932")
    vendor = Vendor(home, tree, vendor_home)
    for transfer_id in (first, second):
        vendor.put(f"{transfer_id}.receipt.json", vendor.receipt(transfer_id))
    assert poll(home)[1]["applied"] == {"receipt": 2}

    (a1, p1), (a2, p2) = sorted(ours.items())[:2]
    other = next((n, a) for n, a in sorted(theirs.items()) if ours.get(n) != a)  # not a pair of the first
    name = f"{first}.returns.csv"

    vendor.put(name, (HEADER + f"{a1},{p1},01,2026-12-10\r\n{other[0]},{other[1]},02,2026-12-10\r\n").encode())
    code, polled, _ = poll(home)
    assert code == 1 and polled["refused"] == [name], polled
    ack = vendor.ack(name)
    assert (ack["outcome"], ack["rule"], ack["resend"], ack["handover_state"]) == (
        "refused", "returns_not_in_transfer", False, "receipted")
    assert "line 3" in ack["reason"], ack
    assert returned_count(home) == 0  # refused whole: not even line 2's person

    vendor.put(name, (HEADER + f"9999999999,{p1},03,2026-12-10\r\n").encode())
    code, polled, _ = poll(home)
    assert code == 1 and polled["refused"] == [name], polled
    ack = vendor.ack(name)
    assert ack["rule"] == "returns_not_in_transfer" and "line 2" in ack["reason"], ack
    assert returned_count(home) == 0
    vendor.put(name, (HEADER + f"{a1},{p2},01,2026-12-10\r\n").encode())  # our notice, another person
    code, polled, _ = poll(home)
    assert code == 1 and polled["refused"] == [name], polled
    ack = vendor.ack(name)
    assert ack["rule"] == "returns_not_in_transfer" and "line 2: atena_no" in ack["reason"], ack
    assert returned_count(home) == 0
    problem = home.cli_json("handovers")
    assert [h["problem"] is not None for h in sorted(problem, key=lambda h: h["transfer_id"] != first)] == [
        True, False]

    good = (HEADER + f"{a1},{p1},01,2026-12-10\r\n{a2},{p2},03,2026-12-11\r\n").encode()
    vendor.put(name, good)
    code, polled, _ = poll(home)
    assert code == 0 and polled["applied"] == {"returns": 1}, polled
    assert vendor.ack(name)["outcome"] == "accepted"
    with home.bridge.sessions() as s:
        assert sorted(s.scalars(select(Atena.atena_no).where(Atena.sofu_status == "returned"))) == sorted([p1, p2])
        assert s.get(Handover, first).returns == 2  # type: ignore[union-attr]
        assert s.get(Handover, first).problem is None  # type: ignore[union-attr]
    listed = home.cli_json("handovers", "returns", first)
    assert [(r["notice_no"], r["atena_no"], r["reason_code"], r["reason"], r["returned_on"]) for r in listed] == [
        (a1, p1, "01", "宛所不明", "2026-12-10"), (a2, p2, "03", "転居先不明", "2026-12-11")]
    screen = home.cli("handovers", "returns", first).stdout
    assert "宛所不明" in screen and "転居先不明" in screen and "JST" in screen
    assert home.cli_json("handovers", "returns", second) == []

    vendor.put(name, good)  # the same list again: taken, applied once
    code, polled, _ = poll(home)
    assert code == 0 and polled["duplicate"] == 1 and polled["applied"] == {}, polled
    with home.bridge.sessions() as s:
        assert s.get(Handover, first).returns == 2  # type: ignore[union-attr]
    assert len(home.cli_json("handovers", "returns", first)) == 2
    assert [a["rule"] for a in home.cli_json("vendors", "answers") if a["outcome"] == "refused"] == [
        "returns_not_in_transfer"] * 3
    assert home.cli_json("vendors", "answers", "--refused") == []  # made good by the list taken
    unknown = home.cli("handovers", "returns", "nope", check=False)
    assert unknown.returncode == 1 and unknown.stderr.strip() == "no hand-over of transfer nope", unknown.stderr


def test_a_delivery_retried_after_its_file_was_spooled_still_records_every_notice_it_carries(
        sftp_home: tuple[Home, Callable[..., VendorRobot]], tree: SftpTree, vendor_home: Path,  # noqa: F811
        tmp_path: Path) -> None:
    """The worker stopped between encrypting (the spool) and recording the hand-over: the retry
    reuses the spooled file, so the notices are read back from the stored payload instead."""
    home, _robot = sftp_home
    load(home.bridge.sessions, home.bridge.mynumber, people=200, seed=171, nendo=2026)
    transfer_id = home.cli_json("run", "print.hokenryo", "--nendo", "2026", "--by", "alice")["transfer_ids"][0]
    partner = home.config.partners["vendor-a"]
    with home.bridge.sessions() as s:
        transfer = s.get(Transfer, transfer_id)
        assert transfer is not None
        first = home.bridge.vendor_handover.upload(transfer, partner)  # encrypted now, then "stopped"
        again = home.bridge.vendor_handover.upload(transfer, partner)
    assert first.carried is not None and again.carried is None and again.already
    with home.bridge.sessions.begin() as s:
        transfer = s.get(Transfer, transfer_id)
        assert transfer is not None
        home.bridge.vendor_handover.record_sent(s, transfer, partner, "alice", again)
        count = transfer.record_count
    sent = carried(tree, vendor_home, tmp_path, transfer_id, "cp932")
    assert len(sent) == count and count > 0
    vendor = Vendor(home, tree, vendor_home)
    vendor.put(f"{transfer_id}.receipt.json", vendor.receipt(transfer_id))
    rows = sorted(sent.items())
    lines = "".join(f"{n},{a},01,2026-12-10\r\n" for n, a in (rows[0], rows[-1]))
    vendor.put(f"{transfer_id}.returns.csv", (HEADER + lines).encode())
    code, polled, _ = poll(home)
    assert code == 0 and polled["applied"] == {"receipt": 1, "returns": 1}, polled
    assert returned_count(home) == 2
