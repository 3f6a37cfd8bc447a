"""Guarded provision against the real simulator: refused off the list, 自動応答不可 held for a second
operator (four eyes), answered otherwise; duplicates in the list, replays after dropped answers,
and every step in the 提供等記録 and the custody log."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from adapters.chukan import approvals, provision
from adapters.chukan.client import ChukanClient
from adapters.chukan.fukuhon import answer_items as build_items
from adapters.chukan.permits import Permits
from fixtures.chukan.sim import ChukanSim
from fixtures.population import Person, generate, load
from settings.chukan import ChukanConfig
from store.models import CustodyPending
from store.models.chukan import ChukanApproval, ChukanProvision, TeikyoKiroku
from store.mynumber import MyNumberCipher

REPO = Path(__file__).resolve().parents[2]
CIPHER = MyNumberCipher(bytes(range(32)), bytes(range(50, 82)))
AUTO = ("2000000000000001", "JT00000000000101", "TM00000000000101")  # 第1項: 被保険者・受給者, auto
FLAGGED = ("2000000000000017", "JT00000000001701", "TM00000000000102")  # 第17項: 給付, 自動応答不可
OFF_LIST = ("2000000000000099", "JT00000000000101", "TM00000000000101")  # no such 提供先


@pytest.fixture
def people(store: sessionmaker[Session]) -> list[Person]:
    load(store, CIPHER, 6, seed=7, nendo=2025)
    return list(generate(6, seed=7, nendo=2025))


class Ward:
    """One test's pieces: poll as ``op-a`` and the rows it left."""

    def __init__(self, store: sessionmaker[Session], sim: ChukanSim, client: ChukanClient,
                 chukan: ChukanConfig) -> None:
        self.store, self.sim, self.client, self.chukan = store, sim, client, chukan
        self.permits = Permits(chukan)

    def poll(self, by: str = "op-a") -> provision.PollReport:
        return provision.poll(self.store, self.client, self.permits, self.chukan, by, build_items)

    def send(self, by: str = "op-b") -> provision.PollReport:
        return provision.send_pending(self.store, self.client, self.permits, self.chukan, by, build_items)

    def kiroku(self) -> list[tuple[str, str | None, str]]:
        with self.store() as s:
            rows = s.scalars(select(TeikyoKiroku).order_by(TeikyoKiroku.id))
            return [(r.outcome, r.reference, r.actor) for r in rows]

    def events(self) -> list[str]:
        with self.store() as s:
            return list(s.scalars(select(CustodyPending.event).order_by(CustodyPending.seq)))

    def approval_id(self, request_id: str) -> int:
        with self.store() as s:
            approval_id = s.scalar(select(ChukanApproval.id).where(ChukanApproval.request_id == request_id))
        assert approval_id is not None
        return approval_id

    def decide(self, request_id: str, by: str, reject: str | None = None) -> None:
        with self.store.begin() as s:
            if reject is None:
                approvals.approve(s, self.approval_id(request_id), by, records_years=self.chukan.records_years)
            else:
                approvals.reject(s, self.approval_id(request_id), by, reject, records_years=self.chukan.records_years)


@pytest.fixture
def ward(store: sessionmaker[Session], chukan_sim: ChukanSim, chukan_client: ChukanClient,
         shipped_chukan: ChukanConfig) -> Iterator[Ward]:
    yield Ward(store, chukan_sim, chukan_client, shipped_chukan)


def test_poll_answers_refuses_and_holds(ward: Ward, people: list[Person]) -> None:
    auto = ward.sim.hold_provision(people[0].togo_atena_no, *AUTO)
    off = ward.sim.hold_provision(people[1].togo_atena_no, *OFF_LIST)
    flagged = ward.sim.hold_provision(people[2].togo_atena_no, *FLAGGED)
    report = ward.poll()
    assert (report.listed, report.new, report.held, report.sent, report.failed) == (
        3, 3, 1, {"answer": 1, "refuse": 1}, [])
    answered = ward.sim.provision(auto.id)
    assert answered.state == "answered"
    with ward.store() as s:  # what the 副本 builder makes of the store, sent as it is
        assert (answered.version, answered.items) == build_items(s, AUTO[2], people[0].togo_atena_no)
    # データ標準レイアウト 0101 item 1 is the 被保険者番号 (kaigo-fukuhon-v1.toml)
    assert (answered.items[0].no, answered.items[0].value) == ("1", people[0].hihokensha_no)
    assert (ward.sim.provision(off.id).state, ward.sim.provision(off.id).reason) == ("refused", "01")
    assert ward.sim.provision(flagged.id).state == "held"
    with ward.store() as s:
        rows = {r.reference: r for r in s.scalars(select(TeikyoKiroku))}
        approval = s.scalars(select(ChukanApproval)).one()
    assert sorted((r.outcome, r.reference) for r in rows.values()) == sorted(
        [("answered", auto.id), ("refused", off.id), ("held", flagged.id)])
    assert rows[auto.id].atena_no == people[0].atena_no and "旧別表第2 第1項" in (rows[auto.id].basis or "")
    assert rows[off.id].basis is None and "2000000000000099" in (rows[off.id].reason or "")
    assert rows[flagged.id].jimu == "JM00000000000017" and rows[flagged.id].actor == "op-a"
    assert (approval.request_id, approval.state, approval.held_by) == (flagged.id, "held", "op-a")
    assert sorted(ward.events()) == ["held", "provided", "refused"]
    # A second poll: nothing new listed, nothing sent again.
    again = ward.poll()
    assert (again.listed, again.new, again.sent) == (1, 0, {"answer": 0, "refuse": 0})
    assert ward.sim.effects["AnswerProvision"] == 1 and ward.sim.effects["RefuseProvision"] == 1


def test_four_eyes_then_approval_answers_and_rejection_refuses(ward: Ward, people: list[Person]) -> None:
    one = ward.sim.hold_provision(people[0].togo_atena_no, *FLAGGED)
    two = ward.sim.hold_provision(people[1].togo_atena_no, *FLAGGED)
    ward.poll("op-a")
    with pytest.raises(approvals.FourEyesError, match="op-a held this request and may not decide it"):
        ward.decide(one.id, "op-a")
    with pytest.raises(approvals.ApprovalError, match="needs a reason"):
        ward.decide(two.id, "op-b", reject=" ")
    # The table refuses it too, whatever code writes it.
    with pytest.raises(IntegrityError), ward.store.begin() as s:
        s.execute(update(ChukanApproval).where(ChukanApproval.request_id == one.id)
                  .values(state="approved", decided_by="op-a"))
    assert ward.send().sent == {"answer": 0, "refuse": 0}
    assert ward.sim.provision(one.id).state == "held" and ward.sim.provision(two.id).state == "held"

    ward.decide(one.id, "op-b")
    ward.decide(two.id, "op-c", reject="照会者の事務の範囲外")
    with pytest.raises(approvals.ApprovalError, match="already approved by op-b"):
        ward.decide(one.id, "op-c", reject="too late")
    report = ward.send("op-b")
    assert report.sent == {"answer": 1, "refuse": 1} and report.failed == []
    assert ward.sim.provision(one.id).state == "answered"
    with ward.store() as s:  # built when sent: 0300 給付, NotApplicable for a person with no 給付実績
        assert (ward.sim.provision(one.id).version, ward.sim.provision(one.id).items) == build_items(
            s, FLAGGED[2], people[0].togo_atena_no)
    assert (ward.sim.provision(two.id).state, ward.sim.provision(two.id).reason) == ("refused", "01")
    with ward.store() as s:
        states = {r: st for r, st in s.execute(select(ChukanApproval.request_id, ChukanApproval.state))}
        refused = s.scalar(select(TeikyoKiroku).where(TeikyoKiroku.outcome == "refused"))
    assert states == {one.id: "answered", two.id: "refused"}
    assert refused is not None and "rejected by op-c: 照会者の事務の範囲外" in (refused.reason or "")
    assert ward.kiroku() == [("held", one.id, "op-a"), ("held", two.id, "op-a"), ("approved", one.id, "op-b"),
                             ("rejected", two.id, "op-c"), ("answered", one.id, "op-b"), ("refused", two.id, "op-c")]
    assert ward.events() == ["held", "held", "approved", "denied", "provided", "refused"]


def test_duplicates_in_the_list_are_decided_and_sent_once(ward: Ward, people: list[Person]) -> None:
    auto = ward.sim.hold_provision(people[0].togo_atena_no, *AUTO)
    flagged = ward.sim.hold_provision(people[1].togo_atena_no, *FLAGGED)
    ward.sim.misbehave("ListProvisionRequests", "duplicate")
    report = ward.poll()
    # The client lists each request once; the held one is listed again by the next polls.
    assert (report.listed, report.new, report.held, report.sent["answer"]) == (2, 2, 1, 1)
    ward.sim.misbehave("ListProvisionRequests", "duplicate", times=2)
    for _ in range(2):
        again = ward.poll()
        assert (again.listed, again.new, again.held, again.sent["answer"]) == (1, 0, 0, 0)
    assert ward.sim.effects["AnswerProvision"] == 1
    assert ward.sim.requests_for(provision.send_key(auto.id, "answer")) == 1
    with ward.store() as s:
        assert s.scalar(select(ChukanApproval.request_id)) == flagged.id
    assert sorted(o for o, _, _ in ward.kiroku()) == ["answered", "held"]


def test_answer_lost_after_it_was_applied_is_replayed_not_doubled(ward: Ward, people: list[Person]) -> None:
    auto = ward.sim.hold_provision(people[0].togo_atena_no, *AUTO)
    # Every attempt of this poll is applied-then-dropped: the first applies, the others are replays.
    ward.sim.misbehave("AnswerProvision", "drop_after", times=ward.client.attempts)
    report = ward.poll()
    assert report.sent["answer"] == 0 and len(report.failed) == 1 and report.failed[0].startswith(auto.id)
    assert ward.sim.provision(auto.id).state == "answered"  # applied at the service, not known here
    assert ward.kiroku() == []
    with ward.store() as s:
        row = s.get(ChukanProvision, auto.id)
        assert row is not None and row.sent_at is None
    # The request is no longer listed; `send` resends it with the key fixed before the first try —
    # by another operator (the worker, or whoever runs `approvals send`): the body is the one decided
    # (RequestedBy op-a, the data of that day), so the service replays instead of refusing a key
    # reused with another body.
    again = ward.send("op-z")
    assert again.sent["answer"] == 1 and again.failed == []
    assert ward.sim.effects["AnswerProvision"] == 1
    assert ward.sim.requests_for(provision.send_key(auto.id, "answer")) == ward.client.attempts + 1
    assert ward.kiroku() == [("answered", auto.id, "op-a")]
    assert ward.send("op-y").sent == {"answer": 0, "refuse": 0}  # sent and recorded once


def test_an_answer_without_approval_never_leaves(ward: Ward, people: list[Person]) -> None:
    flagged = ward.sim.hold_provision(people[0].togo_atena_no, *FLAGGED)
    ward.poll()
    # A bug (or a hand-edited row) marks the held request for sending: the last gate still holds.
    with ward.store.begin() as s:
        s.execute(update(ChukanProvision).where(ChukanProvision.request_id == flagged.id)
                  .values(send_key=provision.send_key(flagged.id, "answer"), send_action="answer"))
    report = ward.send()
    assert report.sent["answer"] == 0 and "no approval by a second operator" in report.failed[0]
    assert ward.sim.provision(flagged.id).state == "held" and ward.sim.effects["AnswerProvision"] == 0


def test_every_row_of_the_list_and_off_it(ward: Ward, people: list[Person],
                                          shipped_chukan: ChukanConfig) -> None:
    """Exhaustive over the permission list's 提供 rows, each with a 機関 not its own: no flagged
    特定個人情報名 answered, every one held; nothing off the list answered."""
    rows = [p for p in shipped_chukan.permissions if p.direction == "provision"]
    held = {}
    for i, p in enumerate(rows):
        person = people[i % len(people)]
        held[ward.sim.hold_provision(person.togo_atena_no, p.kikan, p.tetsuzuki, p.tm).id] = ("on", p.tm)
        held[ward.sim.hold_provision(person.togo_atena_no, "2999999999999999", p.tetsuzuki, p.tm).id] = ("off", p.tm)
    report = ward.poll()
    assert report.failed == [] and report.new == len(held)
    flagged = shipped_chukan.no_auto_answer
    for request_id, (where, tm) in held.items():
        state = ward.sim.provision(request_id).state
        expected = "refused" if where == "off" else "held" if tm in flagged else "answered"
        assert state == expected, (request_id, where, tm)
    with ward.store() as s:
        waiting = set(s.scalars(select(ChukanApproval.request_id)))
    assert waiting == {r for r, (where, tm) in held.items() if where == "on" and tm in flagged}
    assert len(waiting) == sum(1 for p in rows if p.tm in flagged) == 4
