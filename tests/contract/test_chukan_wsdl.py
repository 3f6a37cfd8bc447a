"""Contract of the 中間サーバー WSDL/XSD written for this project (fixtures/chukan).

zeep loads the WSDL from disk only (a transport that refuses the network), builds one request per
operation, and lxml validates each against the XSD; malformed codes are refused by the schema; no
name in the contract looks like the national individual number.
"""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest
import zeep
from lxml import etree
from zeep.transports import Transport

from adapters.chukan.interface import WSDL, XSD

NS = "urn:kaigo-bridge:chukan:v1"
KEY = "3f2b8c1e-4d5a-4b6c-9e7f-0a1b2c3d4e5f"
TM = "TM00000000000101"
JM = "JM00000000000012"
JT = "JT00000000000034"
KIKAN = "0000000000131121"
OTHER_KIKAN = "0000000000271004"
ATENA = "000000000012345"
TOGO = "000000000067890"

# Written out by hand from the brief (not read back from the WSDL): group port -> operations.
EXPECTED_OPERATIONS = {
    "DbmPort": {"RegisterReplica", "ReplaceReplica", "DeleteReplica"},
    "SkiPort": {"SubmitQuery", "GetQueryStatus", "GetQueryResult"},
    "TkyPort": {"ListProvisionRequests", "AnswerProvision", "RefuseProvision"},
    "TkmPort": {"GetRecords"},
}


class OfflineTransport(Transport):
    """Loads the WSDL and its imports from local files; any http(s) fetch is an error."""

    def _load_remote_data(self, url: str) -> bytes:
        raise AssertionError(f"the chukan WSDL must load without network, tried {url}")


@pytest.fixture(scope="module")
def client() -> zeep.Client:
    return zeep.Client(wsdl=str(WSDL), transport=OfflineTransport())


@pytest.fixture(scope="module")
def schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(XSD)))


def _replica_key() -> dict[str, str]:
    return {"TokuteiJohoMeiCode": TM, "DataSetCode": "0101", "LayoutVersion": "7",
            "TogoAtenaNo": TOGO}


def _items() -> list[dict[str, str]]:
    return [{"ItemNo": "1", "Value": "1"}, {"ItemNo": "2", "UnsetReason": "NotCovered"}]


def _replica() -> dict[str, Any]:
    return {**_replica_key(), "Item": _items()}


_SUBMIT = {
    "NumberingSystem": "2", "AtenaNo": ATENA, "TogoAtenaNo": TOGO,
    "RequestedAt": "20261126172100123", "DepartmentCode": "KAIGO01", "UserId": "op.sato",
    "QueryingKikanCode": KIKAN, "NonDisclosureCode": "0", "JimuCode": JM,
    "JimuTetsuzukiCode": JT, "ProviderKikanCode": OTHER_KIKAN, "TokuteiJohoMeiCode": TM,
    "ConditionClass": "1", "YearClass": "1", "StartDate": "20250401", "EndDate": "20260331",
}

# (port, operation) -> the operation's own fields (IdempotencyKey/RequestedBy added by _request).
VALID: dict[tuple[str, str], dict[str, Any]] = {
    ("DbmPort", "RegisterReplica"): {"Replica": [_replica()]},
    ("DbmPort", "ReplaceReplica"): {"Replica": [_replica(), _replica()]},
    ("DbmPort", "DeleteReplica"): {"ReplicaKey": [_replica_key()]},
    ("SkiPort", "SubmitQuery"): _SUBMIT,
    ("SkiPort", "GetQueryStatus"): {"QueryId": "Q-000123"},
    ("SkiPort", "GetQueryResult"): {"QueryId": "Q-000123"},
    ("TkyPort", "ListProvisionRequests"): {"TogoAtenaNo": TOGO},
    ("TkyPort", "AnswerProvision"): {"ProvisionRequestId": "P-9", "LayoutVersion": "7",
                                     "Item": _items()},
    ("TkyPort", "RefuseProvision"): {"ProvisionRequestId": "P-9", "RefusalReason": "01"},
    ("TkmPort", "GetRecords"): {"TogoAtenaNo": TOGO, "StartDate": "20200101",
                                "EndDate": "20261126"},
}


def _request(client: zeep.Client, port: str, op: str, fields: dict[str, Any]) -> etree._Element:
    """The SOAP body's request element exactly as zeep serialises it."""
    service = client.bind("ChukanService", port)
    envelope = client.create_message(service, op, IdempotencyKey=KEY, RequestedBy="op.sato",
                                     **fields)
    body = envelope.find("{http://schemas.xmlsoap.org/soap/envelope/}Body")
    assert body is not None and len(body) == 1
    return body[0]


def _errors(schema: etree.XMLSchema, element: etree._Element) -> str:
    ok = schema.validate(etree.ElementTree(copy.deepcopy(element)))
    return "" if ok else str(schema.error_log)


def test_zeep_lists_the_operations_of_each_group(client: zeep.Client) -> None:
    found: dict[str, set[str]] = {}
    for service in client.wsdl.services.values():
        for port in service.ports.values():
            found[port.name] = set(port.binding._operations)
    assert found == EXPECTED_OPERATIONS


def test_bindings_are_soap11_document_literal(client: zeep.Client) -> None:
    for service in client.wsdl.services.values():
        for port in service.ports.values():
            assert type(port.binding).__name__ == "Soap11Binding"
            for operation in port.binding._operations.values():
                assert operation.style == "document"
                assert operation.input.body.qname.namespace == NS


@pytest.mark.parametrize(("port", "op"), sorted(VALID))
def test_zeep_request_validates_against_the_xsd(
    client: zeep.Client, schema: etree.XMLSchema, port: str, op: str
) -> None:
    element = _request(client, port, op, VALID[(port, op)])
    assert element.tag == f"{{{NS}}}{op}Request"
    assert element[0].tag == f"{{{NS}}}IdempotencyKey" and element[0].text == KEY
    assert _errors(schema, element) == ""


def test_every_operation_has_a_valid_example() -> None:
    listed = {(p, o) for p, ops in EXPECTED_OPERATIONS.items() for o in ops}
    assert set(VALID) == listed


def _with(fields: dict[str, Any], path: tuple[Any, ...], value: str) -> dict[str, Any]:
    changed = copy.deepcopy(fields)
    target: Any = changed
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return changed


BAD_CODES = [
    # (port, op, path into the fields, bad value, element named in the refusal)
    ("SkiPort", "SubmitQuery", ("TokuteiJohoMeiCode",), "TM0000000000010", "TokuteiJohoMeiCode"),
    ("SkiPort", "SubmitQuery", ("TokuteiJohoMeiCode",), "JT00000000000101", "TokuteiJohoMeiCode"),
    ("SkiPort", "SubmitQuery", ("JimuCode",), JT, "JimuCode"),
    ("SkiPort", "SubmitQuery", ("JimuTetsuzukiCode",), "jt00000000000034", "JimuTetsuzukiCode"),
    ("SkiPort", "SubmitQuery", ("ProviderKikanCode",), "000000000027100", "ProviderKikanCode"),
    ("SkiPort", "SubmitQuery", ("QueryingKikanCode",), "00000000001311２1", "QueryingKikanCode"),
    ("SkiPort", "SubmitQuery", ("AtenaNo",), "123456789012", "AtenaNo"),
    ("SkiPort", "SubmitQuery", ("TogoAtenaNo",), "0000000000678901", "TogoAtenaNo"),
    ("SkiPort", "SubmitQuery", ("RequestedAt",), "20261326172100123", "RequestedAt"),
    ("SkiPort", "SubmitQuery", ("StartDate",), "2025-04-01", "StartDate"),
    ("SkiPort", "SubmitQuery", ("NonDisclosureCode",), "10", "NonDisclosureCode"),
    ("SkiPort", "SubmitQuery", ("DepartmentCode",), "部署", "DepartmentCode"),
    ("DbmPort", "RegisterReplica", ("Replica", 0, "DataSetCode"), "101", "DataSetCode"),
    ("DbmPort", "RegisterReplica", ("Replica", 0, "LayoutVersion"), "v7", "LayoutVersion"),
    ("DbmPort", "RegisterReplica", ("Replica", 0, "Item", 1, "UnsetReason"), "Unknown",
     "UnsetReason"),
    ("DbmPort", "DeleteReplica", ("ReplicaKey", 0, "TokuteiJohoMeiCode"), "TM1", "TokuteiJohoMeiCode"),
    ("TkyPort", "RefuseProvision", ("RefusalReason",), "1", "RefusalReason"),
    ("TkmPort", "GetRecords", ("EndDate",), "20261132", "EndDate"),
]


@pytest.mark.parametrize(("port", "op", "path", "bad", "named"), BAD_CODES)
def test_schema_refuses_a_malformed_code(
    client: zeep.Client, schema: etree.XMLSchema,
    port: str, op: str, path: tuple[Any, ...], bad: str, named: str,
) -> None:
    element = _request(client, port, op, _with(VALID[(port, op)], path, bad))
    errors = _errors(schema, element)
    assert f"{{{NS}}}{named}'" in errors
    assert "pattern" in errors or "enumeration" in errors


@pytest.mark.parametrize("key", ["3F2B8C1E-4D5A-4B6C-9E7F-0A1B2C3D4E5F", "not-a-uuid", ""])
def test_schema_refuses_a_bad_idempotency_key(
    client: zeep.Client, schema: etree.XMLSchema, key: str
) -> None:
    element = _request(client, "SkiPort", "GetQueryStatus", {"QueryId": "Q-1"})
    element[0].text = key
    assert "IdempotencyKey" in _errors(schema, element)


def test_schema_refuses_a_request_without_requested_by(
    client: zeep.Client, schema: etree.XMLSchema
) -> None:
    element = _request(client, "SkiPort", "GetQueryStatus", {"QueryId": "Q-1"})
    element.remove(element[1])
    errors = _errors(schema, element)
    assert "QueryId" in errors and "RequestedBy" in errors  # QueryId found where it was expected


def test_schema_refuses_an_item_with_both_value_and_unset_reason(
    client: zeep.Client, schema: etree.XMLSchema
) -> None:
    element = _request(client, "TkyPort", "AnswerProvision", VALID[("TkyPort", "AnswerProvision")])
    item = element.find(f"{{{NS}}}Item")
    assert item is not None
    etree.SubElement(item, f"{{{NS}}}UnsetReason").text = "NotCovered"
    assert "UnsetReason" in _errors(schema, element)


@pytest.mark.parametrize("name", ["KojinBango", "MyNumber", "IndividualNumber"])
def test_schema_refuses_an_extra_element_carrying_a_person_number(
    client: zeep.Client, schema: etree.XMLSchema, name: str
) -> None:
    element = _request(client, "SkiPort", "SubmitQuery", _SUBMIT)
    element.insert(4, etree.Element(f"{{{NS}}}{name}"))
    element[4].text = "123456789018"
    assert name in _errors(schema, element)


PERSON_NUMBER = re.compile(
    r"kojin.?ban|kojin.?no|my.?number|individual.?number|personal.?number|個人番号|マイナンバー",
    re.IGNORECASE,
)


def _names(path: str) -> list[str]:
    tree = etree.parse(path)
    named = tree.xpath("//*[@name]/@name")
    return [str(n) for n in named]


def test_scan_guards_catch_a_person_number_name() -> None:
    for bad in ["KojinBango", "kojin_bango", "MyNumber", "my_number", "個人番号", "KojinNo"]:
        assert PERSON_NUMBER.search(bad), bad


@pytest.mark.parametrize("path", [XSD, WSDL], ids=["xsd", "wsdl"])
def test_no_name_in_the_contract_looks_like_a_person_number(path: Any) -> None:
    names = _names(str(path))
    assert len(names) > 10  # the scan really read the names
    assert [n for n in names if PERSON_NUMBER.search(n)] == []
