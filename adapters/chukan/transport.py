"""zeep's HTTP transport for the 中間サーバー: every request checked against chukan.xsd (and for
anything shaped like a 個人番号) before it leaves, a (connect, read) timeout on every call,
transient failures told apart from SOAP faults, and the seconds spent waiting on the service
counted.

zeep's own Transport.post logs whole bodies at DEBUG; this one logs nothing of a body.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import requests
from lxml import etree
from zeep.transports import Transport
from zeep.wsdl.utils import etree_to_string

from adapters.chukan.errors import ChukanRequestInvalid
from adapters.chukan.interface import XSD
from queues.redact import SHAPE
from store.identifiers import is_valid_kojin_bango

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
RETRY_STATUSES = frozenset({500, 502, 503, 504})
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
_SCHEMA = etree.XMLSchema(etree.parse(str(XSD), parser=_PARSER))
_SCHEMA_LOCK = threading.Lock()  # one XMLSchema's error log is not for two threads at once


class Transient(Exception):
    """A failure worth a short retry with the same key: transport, timeout, HTTP 5xx."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class ChukanTransport(Transport):
    def __init__(self, session: requests.Session, timeout: float) -> None:
        super().__init__(session=session, timeout=timeout, operation_timeout=timeout)
        self.timeouts = (timeout, timeout)  # (connect, read)
        self.wait_seconds = 0.0
        self.calls = 0
        self._lock = threading.Lock()

    def load(self, url: str) -> bytes:
        # The WSDL and XSD are local files; nothing is ever fetched over the network.
        if "://" in url and not url.startswith("file://"):
            raise ChukanRequestInvalid(f"the chukan WSDL must load offline, not from {url}", operation="load")
        return bytes(super().load(url))

    def post_xml(self, address: str, envelope: etree._Element, headers: dict[str, str]) -> Any:
        check(envelope)
        return self.post(address, etree_to_string(envelope), headers)

    def post(self, address: str, message: bytes, headers: dict[str, str]) -> requests.Response:
        started = time.perf_counter()
        try:
            response = self.session.post(address, data=message, headers=headers, timeout=self.timeouts)
        except requests.Timeout:
            raise Transient("timeout") from None
        except requests.ConnectionError as exc:
            raise Transient(f"connection failed ({_kind(exc)})") from None
        finally:
            elapsed = time.perf_counter() - started
            with self._lock:
                self.wait_seconds += elapsed
                self.calls += 1
        if response.status_code in RETRY_STATUSES and not _is_fault(response):
            raise Transient(f"HTTP {response.status_code}", _retry_after(response))
        return response


def check(envelope: etree._Element) -> None:
    """Refuse a request that chukan.xsd would refuse, before it is sent."""
    body = envelope.find(f"{{{SOAP_ENV}}}Body")
    if body is None or len(body) != 1:
        raise ChukanRequestInvalid("a SOAP body with one request element", operation="?")
    element = body[0]
    op = etree.QName(element).localname.removesuffix("Request")
    with _SCHEMA_LOCK:
        valid = _SCHEMA.validate(element)  # lxml validates the element as the root of its own
        error = _SCHEMA.error_log.last_error
        # path and rule only: lxml's message quotes the refused value
        where = f"{error.path}: {error.type_name}" if error is not None else "unknown"
    if not valid:
        raise ChukanRequestInvalid(f"中間サーバー {op}: request refused by chukan.xsd at {where}", operation=op)
    # the free texts in one string, one scan: a 副本 batch has thousands of values; the line
    # break between texts is no digit and no separator, so no run spans two
    if not _carries_kojin_bango("\n".join([node.text for node in element.iter(*_FREE_TEXT) if node.text])):
        return
    for node in element.iter(*_FREE_TEXT):  # which one: for the message
        if node.text and _carries_kojin_bango(node.text):
            raise ChukanRequestInvalid(f"中間サーバー {op}: {etree.QName(node).localname} holds what looks like "
                                       "a 個人番号; the 中間サーバー never gets one", operation=op)


# Elements whose pattern lets 12 digits through and whose text is ours. Idempotency keys (a UUID
# can hold 4-4-4 digits by chance) and the server's own ids (QueryId, …: echoed back) are left out.
_FREE_TEXT = tuple(f"{{urn:kaigo-bridge:chukan:v1}}{name}" for name in ("Value", "DepartmentCode", "UserId",
                                                                         "RequestedBy"))
_WIDE = str.maketrans("０１２３４５６７８９", "0123456789", "- ")


def _carries_kojin_bango(text: str) -> bool:
    """A 12-digit run (perhaps 4-4-4, perhaps full-width) whose check digit is a 個人番号's."""
    return any(is_valid_kojin_bango(m.group().translate(_WIDE)) for m in SHAPE.finditer(text))


def _is_fault(response: requests.Response) -> bool:
    """A SOAP Fault rides on HTTP 500; such an answer is the service's word, not a transient."""
    if "xml" not in response.headers.get("Content-Type", ""):
        return False
    try:
        root = etree.fromstring(response.content, _PARSER)
    except etree.XMLSyntaxError:
        return False
    return root.find(f"{{{SOAP_ENV}}}Body/{{{SOAP_ENV}}}Fault") is not None


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    return float(value) if value.isdigit() else None


def _kind(exc: BaseException) -> str:
    # the innermost cause's class name says enough (RemoteDisconnected, SSLError, …)
    for _ in range(10):  # bounded: a cause chain can loop
        inner = exc.__cause__ or (None if exc.__suppress_context__ else exc.__context__)
        if inner is None:
            break
        exc = inner
    return type(exc).__name__
