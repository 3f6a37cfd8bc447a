"""The notices a print file carries, taken as its bytes stream to gpg (adapters/vendor/returns.py)."""

from __future__ import annotations

from adapters.vendor.returns import Carried
from mappings.registry import LayoutRegistry

FILE = ("2600000001,2026,000000000000101,0000000101,1540017,東京都世田谷区一丁目,世田谷　一郎\r\n"
        "2600000002,2026,000000000000102,0000000102,1540017,\"東京都世田谷区二丁目,三番\",世田谷　二郎\r\n"
        "2600000003,2026,000000000000103,0000000103,1540017,東京都世田谷区三丁目,髙橋　三郎\r\n")


def carried(data: bytes, size: int, layout: str = "hokenryo-kettei") -> dict[str, str]:
    found = Carried(LayoutRegistry().get("vendor", layout))
    passed = b"".join(found.tap(data[i:i + size] for i in range(0, len(data), size)))
    assert passed == data  # what gpg gets is untouched
    return found.pairs


def test_pairs_whatever_the_chunks_and_with_a_quoted_field_after_them() -> None:
    expected = {"2600000001": "000000000000101", "2600000002": "000000000000102",
                "2600000003": "000000000000103"}
    data = FILE.encode("cp932")
    for size in (1, 7, 64, len(data)):  # lines cut anywhere, 髙 (cp932 FB FC) cut in two
        assert carried(data, size) == expected, size


def test_a_quoted_field_before_ours_is_parsed_as_csv() -> None:
    data = b'"26,9",2026,000000000000109,x\r\n2600000008,2026,000000000000108,y'
    assert carried(data, 10, "hokenryo-kettei-utf8") == {"26,9": "000000000000109",
                                                           "2600000008": "000000000000108"}
