"""The 中間サーバー client: zeep over HTTPS with a client certificate, short retries that resend the
SAME idempotency key, and errors that never carry a value.

One place decides where each function group lives: ``PORTS`` (base URL + "/dbm" …).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

import requests
import zeep
from lxml import etree
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential
from zeep.exceptions import (
    DTDForbidden,
    EntitiesForbidden,
    ExternalReferenceForbidden,
    Fault,
    TransportError,
    ValidationError,
    XMLParseError,
    XMLSyntaxError,
)
from zeep.wsdl import Document
from zeep.wsdl.utils import etree_to_string

from adapters.chukan import dbm, soap
from adapters.chukan.errors import ChukanFault, ChukanProtocolError, ChukanRequestInvalid, ChukanUnavailable
from adapters.chukan.interface import WSDL
from adapters.chukan.messages import (
    Ack,
    ExchangeRecord,
    Item,
    ProvisionRequest,
    Query,
    QueryResult,
    Replica,
    ReplicaKey,
)
from adapters.chukan.transport import ChukanTransport, Transient, check

NS = "urn:kaigo-bridge:chukan:v1"
# function group -> (binding in chukan.wsdl, path under the base URL)
PORTS = {"dbm": "DbmBinding", "ski": "SkiBinding", "tky": "TkyBinding", "tkm": "TkmBinding"}
KEY = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
USER = re.compile(r"[0-9A-Za-z_.\-]{1,20}")
MAX_RETRY_WAIT = 2.0  # seconds: the queue, not this client, waits out a long outage

# zeep logs whole envelopes (item values) at DEBUG from these loggers; ours never emits a body,
# and a DEBUG logging setup must not switch zeep's on either.
for _name in ("zeep.transports", "zeep.wsdl.bindings", "zeep.xsd", "zeep"):
    logging.getLogger(_name).setLevel(logging.WARNING)

T = TypeVar("T")
log = logging.getLogger(__name__)  # operation, attempt, reason and key only: never a body


def _settings() -> zeep.Settings:
    return zeep.Settings(strict=True, forbid_dtd=True, forbid_entities=True, forbid_external=True,
                         xml_huge_tree=False)


@cache
def _document() -> Document:
    """chukan.wsdl parsed once per process, from disk only."""
    loader = ChukanTransport(requests.Session(), timeout=1.0)
    return Document(str(WSDL), loader, settings=_settings())  # type: ignore[arg-type]  # zeep's hint is wrong


class ChukanClient:
    def __init__(self, url: str, *, ca_file: Path, cert_file: Path | None, key_file: Path | None,
                 timeout: float, attempts: int) -> None:
        if attempts < 1:
            raise ValueError(f"attempts must be at least 1, got {attempts}")
        if timeout <= 0:
            raise ValueError(f"timeout must be positive, got {timeout}")
        if (cert_file is None) != (key_file is None):
            raise ValueError("give cert_file and key_file together, or neither")
        if not url.startswith("https://"):
            raise ValueError(f"中間サーバー url must be https://, got {url!r}")
        for name, path in (("ca_file", ca_file), ("cert_file", cert_file), ("key_file", key_file)):
            if path is not None and not Path(path).is_file():
                raise ValueError(f"中間サーバー {name}: no such file {path}")
        self.attempts = attempts
        self._session = requests.Session()
        # trust_env off: REQUESTS_CA_BUNDLE / proxy variables would otherwise override the CA
        # and the route given here (requests lets the environment win over session.verify)
        self._session.trust_env = False
        self._session.verify = str(ca_file)
        if cert_file is not None and key_file is not None:
            self._session.cert = (str(cert_file), str(key_file))
        self._transport = ChukanTransport(self._session, timeout)
        self._zeep = zeep.Client(_document(), transport=self._transport, settings=_settings())
        base = url.rstrip("/")
        self._services = {path: self._zeep.create_service(f"{{{NS}}}{binding}", f"{base}/{path}")
                          for path, binding in PORTS.items()}

    # --- measurement ------------------------------------------------------------------------
    @property
    def wait_seconds(self) -> float:
        """Seconds spent inside HTTP calls (waiting on the service), all calls so far."""
        return self._transport.wait_seconds

    @property
    def http_calls(self) -> int:
        return self._transport.calls

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> ChukanClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # --- DBM 副本登録 (bodies built by adapters/chukan/dbm.py: zeep's builder is too slow for bulk) ---
    def register(self, replicas: Sequence[Replica], *, key: str, by: str) -> Ack:
        self._check_ids("RegisterReplica", key, by)
        body = dbm.replicas_body("RegisterReplica", replicas, key=key, by=by)
        return soap.ack_in(self._send_built("dbm", "RegisterReplica", key, body))

    def replace(self, replicas: Sequence[Replica], *, key: str, by: str) -> Ack:
        self._check_ids("ReplaceReplica", key, by)
        body = dbm.replicas_body("ReplaceReplica", replicas, key=key, by=by)
        return soap.ack_in(self._send_built("dbm", "ReplaceReplica", key, body))

    def delete(self, keys: Sequence[ReplicaKey], *, key: str, by: str) -> Ack:
        self._check_ids("DeleteReplica", key, by)
        return soap.ack_in(self._send_built("dbm", "DeleteReplica", key, dbm.delete_body(keys, key=key, by=by)))

    # --- SKI 情報照会 -------------------------------------------------------------------------
    def submit_query(self, query: Query, *, key: str, by: str) -> Ack:
        return soap.ack_in(self._call("ski", "SubmitQuery", key, by, **soap.query_out(query)))

    def query_status(self, query_id: str, *, key: str, by: str) -> str:
        return str(self._call("ski", "GetQueryStatus", key, by, QueryId=query_id).Status)

    def query_result(self, query_id: str, *, key: str, by: str) -> QueryResult:
        return soap.result_in(self._call("ski", "GetQueryResult", key, by, QueryId=query_id))

    # --- TKY 情報提供 -------------------------------------------------------------------------
    def list_provisions(self, *, key: str, by: str, togo_atena_no: str | None = None) -> list[ProvisionRequest]:
        fields = {} if togo_atena_no is None else {"TogoAtenaNo": togo_atena_no}
        return soap.provisions_in(self._call("tky", "ListProvisionRequests", key, by, **fields))

    def answer_provision(self, request_id: str, version: str, items: Sequence[Item], *, key: str, by: str) -> Ack:
        return soap.ack_in(self._call("tky", "AnswerProvision", key, by, ProvisionRequestId=request_id,
                                      LayoutVersion=version, Item=soap.items_out(items, "AnswerProvision")))

    def refuse_provision(self, request_id: str, reason: str, *, key: str, by: str) -> Ack:
        return soap.ack_in(self._call("tky", "RefuseProvision", key, by, ProvisionRequestId=request_id,
                                      RefusalReason=reason))

    # --- TKM 情報提供等記録 --------------------------------------------------------------------
    def records(self, togo_atena_no: str, start: date, end: date, *, key: str, by: str) -> list[ExchangeRecord]:
        return soap.records_in(self._call("tkm", "GetRecords", key, by, TogoAtenaNo=togo_atena_no,
                                          StartDate=soap.date8(start), EndDate=soap.date8(end)))

    # --- one call ---------------------------------------------------------------------------
    @staticmethod
    def _check_ids(op: str, key: str, by: str) -> None:
        if not isinstance(key, str) or not KEY.fullmatch(key):
            raise ValueError(f"中間サーバー {op}: key must be a lower-case UUID")
        if not isinstance(by, str) or not USER.fullmatch(by):
            raise ValueError(f"中間サーバー {op}: by must be an operator id (1-20 of A-Z a-z 0-9 _ . -)")

    def _call(self, port: str, op: str, key: str, by: str, **fields: Any) -> Any:
        """An operation whose request zeep builds from ``fields``."""
        self._check_ids(op, key, by)
        method: Callable[..., Any] = getattr(self._services[port], op)
        return self._retrying(op, key, lambda: method(IdempotencyKey=key, RequestedBy=by, **fields))

    def _send_built(self, port: str, op: str, key: str, body: etree._Element) -> Any:
        """An operation whose request element is built already; zeep reads the answer."""
        service = self._services[port]
        binding, address = service._binding, service._binding_options["address"]
        operation = binding.get(op)
        envelope = dbm.envelope(body)
        check(envelope)  # once: every attempt sends these same bytes
        message = etree_to_string(envelope)
        headers = {"SOAPAction": f'"{operation.soapaction}"', "Content-Type": "text/xml; charset=utf-8"}
        return self._retrying(op, key, lambda: binding.process_reply(
            self._zeep, operation, self._transport.post(address, message, headers)))

    def _retrying(self, op: str, key: str, send: Callable[[], T]) -> T:
        retrying = Retrying(retry=retry_if_exception_type(Transient), stop=stop_after_attempt(self.attempts),
                            wait=_wait, reraise=True, before_sleep=lambda state: _log_retry(op, key, state))
        try:
            # every attempt sends the SAME key: the service answers a resend as a replay
            return retrying(_once, op, key, send)
        except Transient as failed:
            raise ChukanUnavailable(op, failed.reason, attempts=self.attempts, key=key) from None


def _once(op: str, key: str, send: Callable[[], T]) -> T:
    """One attempt; zeep's errors turned into ours (Transient: worth another attempt)."""
    try:
        return send()
    except Fault as fault:
        raise ChukanFault(op, _fault_code(fault), key=key) from None
    except ValidationError as invalid:  # zeep's own check while building: names and paths, no values
        raise ChukanRequestInvalid(f"中間サーバー {op}: request refused by zeep: {invalid}", operation=op) from None
    except TransportError as failed:  # a 5xx without a fault never gets here: the transport retries it
        raise ChukanProtocolError(f"中間サーバー {op}: HTTP {failed.status_code} with no SOAP answer",
                                  operation=op) from None
    except (XMLSyntaxError, XMLParseError, etree.XMLSyntaxError, DTDForbidden, EntitiesForbidden,
            ExternalReferenceForbidden):
        raise ChukanProtocolError(f"中間サーバー {op}: the answer is not the XML chukan.wsdl promises",
                                  operation=op) from None


def _log_retry(op: str, key: str, state: RetryCallState) -> None:
    failed = state.outcome.exception() if state.outcome is not None else None
    reason = failed.reason if isinstance(failed, Transient) else type(failed).__name__
    log.warning("中間サーバー %s: attempt %d failed (%s); sending again with the same key %s",
                op, state.attempt_number, reason, key)


def _wait(state: RetryCallState) -> float:
    """A small exponential backoff, or the service's Retry-After (capped) when it gave one."""
    backoff = wait_exponential(multiplier=0.05, max=MAX_RETRY_WAIT)(state)
    failed = state.outcome.exception() if state.outcome is not None else None
    if isinstance(failed, Transient) and failed.retry_after is not None:
        return min(max(backoff, failed.retry_after), MAX_RETRY_WAIT)
    return backoff


def _fault_code(fault: Fault) -> str:
    detail = fault.detail
    if detail is not None:
        code = detail.findtext(f".//{{{NS}}}Code")
        if code and re.fullmatch(r"[A-Z]{3}[0-9]{4}", code):
            return code
    return "UNKNOWN"
