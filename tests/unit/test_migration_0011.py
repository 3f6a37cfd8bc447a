"""Migration 0011 with rows in the way: tokucho_kekka rows under the 0010 key survive the upgrade
with 各種区分 "", two answers differing only in 各種区分 go back to one on a downgrade, and the
upgrade runs again."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from store import schema
from store.engine import make_engine

KEKKA = ("INSERT INTO tokucho_kekka (nendo, ki, kiso_nenkin_no, nenkin_code, file_kind, tsuchi_naiyo_code, "
         "shori_kekka, transfer_id, received_at{extra}) VALUES (2026, 5, '9000000001', '1150', 'Z14', :naiyo, '00', "
         "'t-1', '2026-12-10 00:00:00'{values})")


def rows(url: str) -> list[tuple[str, str]]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return [(str(a), str(b)) for a, b in conn.execute(text(
                "SELECT tsuchi_naiyo_code, kakushu_kubun FROM tokucho_kekka ORDER BY id"))]
    finally:
        engine.dispose()


def test_0011_keeps_the_results_and_goes_back_to_one_per_old_key(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'core.db'}"
    schema.upgrade(url, "0010")
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO transfer (id, flow, partner, direction, sha256, size, key_id, payload_ref, "
                          "state, created_at, updated_at) VALUES ('t-1', 'nenkin.z14', 'keiyu', 'in', "
                          "'0', 1, 'k', 'p', 'applied', '2026-12-10 00:00:00', '2026-12-10 00:00:00')"))
        conn.execute(text(KEKKA.format(extra="", values="")), {"naiyo": "22"})
    engine.dispose()
    schema.upgrade(url)
    assert rows(url) == [("22", "")]
    engine = make_engine(url)
    with engine.begin() as conn:
        for kubun in ("01", "02"):  # a 該当 and its 解除 answered in one 期
            conn.execute(text(KEKKA.format(extra=", kakushu_kubun", values=", :kubun")),
                         {"naiyo": "82", "kubun": kubun})
    engine.dispose()
    assert rows(url) == [("22", ""), ("82", "01"), ("82", "02")]
    schema.downgrade(url, "0010")
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            kept = conn.execute(text("SELECT tsuchi_naiyo_code FROM tokucho_kekka ORDER BY id")).scalars().all()
    finally:
        engine.dispose()
    assert kept == ["22", "82"]
    schema.upgrade(url)
    assert rows(url) == [("22", ""), ("82", "")]
