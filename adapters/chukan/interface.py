"""The 中間サーバー interface written for this project: WSDL + XSD as data (wsdl/README.md).

It lives with the adapter that speaks it; the simulator (fixtures/chukan/sim) imports it from here.
"""

from pathlib import Path

_HERE = Path(__file__).resolve().parent
WSDL: Path = _HERE / "wsdl" / "chukan.wsdl"
XSD: Path = _HERE / "wsdl" / "chukan.xsd"

__all__ = ["WSDL", "XSD"]
