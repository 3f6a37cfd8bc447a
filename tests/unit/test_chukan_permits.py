"""The permission list as a decision: permitted iff a row matches, nothing outside the list ever
permitted, every 自動応答不可 特定個人情報名 never auto-answered."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.chukan.permits import NotPermitted, Permits
from settings.chukan import ChukanConfig, Permission

REPO = Path(__file__).resolve().parents[2]

# Small pools so that random requests often hit a row and often miss by exactly one key.
JIMU = ["JM00000000000001", "JM00000000000002", "JM00000000000003"]
TETSUZUKI = ["JT00000000000101", "JT00000000000102", "JT00000000000201"]
TM = ["TM00000000000101", "TM00000000000102", "TM00000000000201"]
KIKAN = ["2000000000000001", "2000000000000002", "0000000000010001"]


def row(direction: str, jimu: str, tetsuzuki: str, tm: str, kikan: str, line: int = 2) -> Permission:
    return Permission(line=line, direction=direction, jimu=jimu, jimu_name="事務", tetsuzuki=tetsuzuki,
                      tetsuzuki_name="手続", tm=tm, tm_name="情報", kikan=kikan, kikan_name="機関",
                      law="番号法第19条第8号", ordinance_item="第2条の表第1項", beppyo2="1")


rows_strategy = st.lists(
    st.tuples(st.sampled_from(["query", "provision"]), st.sampled_from(JIMU), st.sampled_from(TETSUZUKI),
              st.sampled_from(TM), st.sampled_from([*KIKAN, "*"])),
    max_size=8, unique=True)
request_strategy = st.tuples(st.sampled_from(["query", "provision"]), st.sampled_from(JIMU),
                             st.sampled_from(TETSUZUKI), st.sampled_from(TM), st.sampled_from(KIKAN))


@settings(max_examples=300, deadline=None)
@given(rows=rows_strategy, request=request_strategy, flagged=st.sets(st.sampled_from(TM)))
def test_permitted_iff_a_row_matches(shipped_chukan: ChukanConfig, rows: list[tuple[str, str, str, str, str]],
                                     request: tuple[str, str, str, str, str], flagged: set[str]) -> None:
    permissions = tuple(row(*r, line=i + 2) for i, r in enumerate(rows))
    permits = Permits(replace(shipped_chukan, permissions=permissions, no_auto_answer=frozenset(flagged)))
    direction, jimu, tetsuzuki, tm, kikan = request
    # The oracle, written from the rule and not from the code: same direction and codes, and the
    # row's 機関 is the request's or "*". A provision request names no 事務.
    matching = [r for r in rows if r[0] == direction and r[2:4] == (tetsuzuki, tm) and r[4] in (kikan, "*")
                and (direction == "provision" or r[1] == jimu)]
    try:
        found = (permits.query(jimu, tetsuzuki, tm, kikan) if direction == "query"
                 else permits.provision(tetsuzuki, tm, kikan))
    except NotPermitted as refused:
        assert not matching, f"refused although rows {matching} match"
        assert tetsuzuki in str(refused) and tm in str(refused) and kikan in str(refused)
    else:
        assert matching, "permitted although no row matches"
        assert (found.direction, found.tetsuzuki, found.tm) == (direction, tetsuzuki, tm)
        assert found.kikan in (kikan, "*")
        # An exact 機関 row wins over "*" when both exist.
        if any(r[4] == kikan for r in matching):
            assert found.kikan == kikan
    for tm_code in TM:
        assert permits.auto_answer(tm_code) is (tm_code not in flagged)


def test_every_shipped_row_is_permitted_and_nothing_else_of_its_shape(shipped_chukan: ChukanConfig) -> None:
    permits = Permits(shipped_chukan)
    for p in shipped_chukan.permissions:
        kikan = "1311200000000099" if p.kikan == "*" else p.kikan
        found = permits.query(p.jimu, p.tetsuzuki, p.tm, kikan) if p.direction == "query" else \
            permits.provision(p.tetsuzuki, p.tm, kikan)
        assert found == p
        assert "番号法第19条第8号" in found.basis and f"第{p.beppyo2}項" in found.basis
    # A 提供 row is no 照会 permission, and a 照会 row none for 提供.
    first_provision = next(p for p in shipped_chukan.permissions if p.direction == "provision")
    with pytest.raises(NotPermitted):
        permits.query(first_provision.jimu, first_provision.tetsuzuki, first_provision.tm, first_provision.kikan)
    income = shipped_chukan.queries["income"]
    with pytest.raises(NotPermitted):
        permits.provision(income.tetsuzuki, income.tm, "1311200000000099")


def test_flagged_tm_of_the_shipped_config_is_not_auto_answered(shipped_chukan: ChukanConfig) -> None:
    permits = Permits(shipped_chukan)
    assert shipped_chukan.no_auto_answer == {"TM00000000000102"}
    assert permits.auto_answer("TM00000000000102") is False
    assert permits.auto_answer("TM00000000000101") is True


@pytest.mark.parametrize(("request_codes", "key"), [
    (("JM00000000009399", "JT00000000930101", "TM00000000000201", "1311200000000099"), "事務"),
    (("JM00000000009301", "JT00000000930199", "TM00000000000201", "1311200000000099"), "事務手続"),
    (("JM00000000009301", "JT00000000930101", "TM00000000000202", "1311200000000099"), "特定個人情報名"),
    (("JM00000000009302", "JT00000000930201", "TM00000000000202", "1311200000000099"), "機関"),
    (("JM00000000009301", "JT00000000930101", "TM00000000000201", "*"), "機関"),
])
def test_a_refusal_names_the_codes_and_the_key_that_matched_no_row(
        shipped_chukan: ChukanConfig, request_codes: tuple[str, str, str, str], key: str) -> None:
    with pytest.raises(NotPermitted) as caught:
        Permits(shipped_chukan).query(*request_codes)
    message = str(caught.value)
    assert caught.value.key == key and caught.value.direction == "query"
    assert all(code in message for code in request_codes)
    assert f"has this {key}" in message and "permissions.csv" in message


def test_a_provision_to_a_body_not_on_the_list_names_the_kikan(shipped_chukan: ChukanConfig) -> None:
    with pytest.raises(NotPermitted) as caught:
        Permits(shipped_chukan).provision("JT00000000000101", "TM00000000000101", "2000000000000002")
    assert caught.value.key == "機関"
    assert "提供 not on the permission list" in str(caught.value)
    assert "among the rows matching its 事務手続/特定個人情報名" in str(caught.value)
