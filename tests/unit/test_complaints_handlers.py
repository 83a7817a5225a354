"""Complaints' handlers against the in-memory unit of work: what they store, emit, schedule, cancel.

Time is an argument: each step gets its own unit of work at its own ``now``; the store and the due
items carry over from one step to the next, as the database would keep them. A due item is handed to
its handler as the scheduler would: taken out of the table (the scheduler deletes the fired row), then
handled.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from services.complaints import handlers
from services.complaints.domain import (
    ACKNOWLEDGE,
    ACKNOWLEDGE_DUE,
    ACKNOWLEDGED,
    CLOSED,
    ESCALATION_KINDS,
    FOLLOW_UP,
    IN_PROGRESS,
    INVESTIGATING,
    REGISTERED,
    RESOLVE,
    RESOLVE_DUE,
    RESOLVED,
    WARNING_KINDS,
    WITHDRAWN,
    Policy,
    SlaPolicy,
)
from shared.contract.commands import (
    ComplaintAcknowledge,
    ComplaintAssign,
    ComplaintAwaitCustomer,
    ComplaintClose,
    ComplaintConfirmSatisfaction,
    ComplaintHandover,
    ComplaintInvestigate,
    ComplaintNote,
    ComplaintProposeSolution,
    ComplaintReopen,
    ComplaintResolve,
    ComplaintStartExecution,
    ComplaintWithdraw,
    StaffUpsert,
)
from shared.contract.events import CustomerRef, FeedbackReceived, InquiryReceived

from .complaints_fakes import FakeComplaintsStore
from .fakes import FakeUnitOfWork, Scheduled, command_in, event_in

SLA = SlaPolicy(
    acknowledge_within={
        "critical": timedelta(minutes=30),
        "high": timedelta(hours=1),
        "normal": timedelta(hours=2),
        "low": timedelta(hours=2),
    },
    resolve_within={
        "critical": timedelta(hours=24),
        "high": timedelta(hours=48),
        "normal": timedelta(hours=72),
        "low": timedelta(days=7),
    },
)
POLICY = Policy(sla=SLA)
AT_8 = datetime(2026, 3, 2, 8, 0, 1, tzinfo=UTC)  # 08:00:01
AT_10 = datetime(2026, 3, 2, 10, 0, 1, tzinfo=UTC)  # 10:00:01
ACK_WARNING, RESOLVE_WARNING = WARNING_KINDS[ACKNOWLEDGE], WARNING_KINDS[RESOLVE]
ACK_ESCALATION, RESOLVE_ESCALATION = ESCALATION_KINDS[ACKNOWLEDGE], ESCALATION_KINDS[RESOLVE]

STEPS = {
    "complaint.acknowledge": ComplaintAcknowledge,
    "complaint.assign": ComplaintAssign,
    "complaint.investigate": ComplaintInvestigate,
    "complaint.propose_solution": ComplaintProposeSolution,
    "complaint.start_execution": ComplaintStartExecution,
    "complaint.resolve": ComplaintResolve,
    "complaint.close": ComplaintClose,
    "complaint.reopen": ComplaintReopen,
    "complaint.await_customer": ComplaintAwaitCustomer,
    "complaint.withdraw": ComplaintWithdraw,
    "complaint.confirm_satisfaction": ComplaintConfirmSatisfaction,
    "complaint.note": ComplaintNote,
}
STAFF = [
    {"staff_id": "agent-7", "name": "Wong", "role": "agent", "department": "desk", "supervisor_id": "sup-1"},
    {"staff_id": "sup-1", "name": "Lee", "role": "supervisor", "department": "desk", "supervisor_id": "mgr-1"},
    {"staff_id": "mgr-1", "name": "Chan", "role": "manager", "department": "service"},
]


def inquiry(**kw: Any) -> InquiryReceived:
    fields: dict[str, Any] = {
        "inquiry_id": f"inq-{uuid.uuid4().hex[:8]}",
        "channel": "webform",
        "source_ref": "web-4711",
        "conversation_id": "conv-1",
        "customer": CustomerRef(customer_id="cust-1", name="Chan", email="chan@example.com"),
        "intent": "complaint",
        "language": "en",
        "text": "The projector failed twice during our board meeting.",
        "received_at": AT_8,
        "category": "equipment_failure",
    }
    return InquiryReceived(**{**fields, **kw})


@dataclass
class Desk:
    """The complaints service's state between units of work: its store and its due items."""

    policy: Policy = POLICY
    store: FakeComplaintsStore = field(default_factory=FakeComplaintsStore)
    due: dict[tuple[str, str], Scheduled] = field(default_factory=dict)

    def uow(self, now: datetime) -> FakeUnitOfWork[FakeComplaintsStore]:
        return FakeUnitOfWork(self.store, producer="complaints", now=now, due=self.due)

    async def received(self, data: InquiryReceived, now: datetime) -> FakeUnitOfWork[FakeComplaintsStore]:
        uow = self.uow(now)
        await handlers.inquiry_received(uow, event_in(data), now, self.policy)
        return uow

    async def register(self, now: datetime = AT_8, **kw: Any) -> str:
        uow = await self.received(inquiry(**kw), now)
        (registered,) = uow.events("complaint.registered")
        return str(registered["complaint_id"])

    async def command(
        self, name: str, complaint_id: str, now: datetime, actor: str = "agent-7", **fields: Any
    ) -> tuple[str | None, FakeUnitOfWork[FakeComplaintsStore]]:
        uow = self.uow(now)
        cmd = STEPS[name](command_id=str(uuid.uuid4()), actor=actor, complaint_id=complaint_id, **fields)
        return await handlers.lifecycle(uow, command_in(cmd), now, self.policy), uow

    async def staff(self) -> None:
        for member in STAFF:
            cmd = StaffUpsert(command_id=str(uuid.uuid4()), actor="ops", **member)
            assert await handlers.staff_upsert(self.uow(AT_8), command_in(cmd), AT_8, self.policy) is None

    async def survey(self, complaint_id: str, score: int, now: datetime) -> FakeUnitOfWork[FakeComplaintsStore]:
        uow = self.uow(now)
        data = FeedbackReceived(
            subject_type="complaint", subject_id=complaint_id, score=score, score_100=score * 20, channel="survey"
        )
        await handlers.feedback_received(uow, event_in(data), now, self.policy)
        return uow

    async def fire(self, kind: str, complaint_id: str, now: datetime) -> FakeUnitOfWork[FakeComplaintsStore]:
        """The due item as the scheduler hands it over at ``now`` (the fired row is then gone)."""
        uow = self.uow(now)
        item = uow.due_item(kind, complaint_id)
        del self.due[(kind, complaint_id)]
        await handlers.clock_due(uow, item, now, self.policy)
        return uow

    async def fire_until(self, complaint_id: str, until: datetime) -> list[FakeUnitOfWork[FakeComplaintsStore]]:
        """Fire the complaint's due items in due order, each at its due time, up to ``until``."""
        fired = []
        while True:
            due = sorted((s.due_at, kind) for (kind, key), s in self.due.items() if key == complaint_id)
            if not due or due[0][0] > until:
                return fired
            fired.append(await self.fire(due[0][1], complaint_id, due[0][0]))

    def due_at(self, complaint_id: str) -> dict[str, datetime]:
        return {kind: s.due_at for (kind, key), s in self.due.items() if key == complaint_id}


def _breaches(due: dict[str, datetime]) -> dict[str, datetime]:
    """The breach items among the due items (what the acknowledgement/resolution deadlines were)."""
    return {k: v for k, v in due.items() if k in (ACKNOWLEDGE_DUE, RESOLVE_DUE)}


# -- registration ---------------------------------------------------------------------------------
async def test_a_complaint_inquiry_is_registered_its_receipt_sent_and_its_clocks_started() -> None:
    desk = Desk()
    data = inquiry(severity="high", booking_id="bk-1")
    msg = event_in(data)
    uow = desk.uow(AT_8 + timedelta(seconds=2))
    await handlers.inquiry_received(uow, msg, uow.now, POLICY)

    assert uow.types() == ["complaint.registered", "notification.requested", "complaint.clock", "complaint.clock"]
    (registered,) = uow.events("complaint.registered")
    cid = registered["complaint_id"]
    assert registered["registered_at"] == "2026-03-02T08:00:01Z"
    assert registered["acknowledge_due_at"] == "2026-03-02T09:00:01Z"
    assert registered["resolve_due_at"] == "2026-03-04T08:00:01Z"
    (receipt,) = uow.events("notification.requested")
    assert (receipt["channel"], receipt["address"], receipt["template"]) == (
        "email",
        "chan@example.com",
        "complaint.received",
    )
    assert receipt["parameters"]["complaint_id"] == cid
    assert [(c["which"], c["transition"], c["seq"]) for c in uow.events("complaint.clock")] == [
        ("acknowledge", "started", 1),
        ("resolve", "started", 2),
    ]
    assert all(e.correlation_id == msg.correlation_id and e.causation_id == msg.event_id for e in uow.emitted)

    state = desk.store.state(cid)
    assert (state.status, state.severity, state.category) == (REGISTERED, "high", "equipment_failure")
    assert (state.customer_id, state.conversation_id, state.reply_channel, state.language) == (
        "cust-1",
        "conv-1",
        "email",
        "en",
    )
    assert desk.store.registered_with[cid] == {
        "inquiry_id": data.inquiry_id,
        "channel": "webform",
        "text": data.text,
        "correlation_id": str(msg.correlation_id),
    }
    assert (state.booking_id, state.booking_link) == ("bk-1", "given_unknown")
    assert desk.store.actions(cid) == ["complaint.registered"]
    assert desk.store.transitions(cid) == [(ACKNOWLEDGE, "started"), (RESOLVE, "started")]
    assert desk.due_at(cid) == {
        ACK_WARNING: AT_8 + timedelta(minutes=45),
        ACKNOWLEDGE_DUE: AT_8 + timedelta(hours=1),
        RESOLVE_WARNING: AT_8 + timedelta(hours=36),
        RESOLVE_DUE: AT_8 + timedelta(hours=48),
    }
    assert {s.correlation_id for s in desk.due.values()} == {str(msg.correlation_id)}


async def test_an_inquiry_that_is_not_a_complaint_of_a_customer_without_one_changes_nothing() -> None:
    desk = Desk()
    uow = await desk.received(inquiry(intent="booking_request"), AT_8)
    assert uow.emitted == [] and desk.store.states == {} and desk.due == {} and uow.claimed == set()


async def test_the_same_inquiry_delivered_again_registers_no_second_complaint() -> None:
    desk = Desk()
    data = inquiry()
    await desk.received(data, AT_8)
    again = desk.uow(AT_8 + timedelta(minutes=1))
    again.claimed = {f"inquiry:{data.inquiry_id}"}  # the inbox remembers the inquiry
    await handlers.inquiry_received(again, event_in(data), again.now, POLICY)
    assert again.emitted == []
    unclaimed = await desk.received(data, AT_8 + timedelta(minutes=2))  # even if it had been forgotten
    assert unclaimed.emitted == []
    assert len(desk.store.states) == 1 and len(desk.due) == 4
    (cid,) = desk.store.states
    assert desk.store.actions(cid) == ["complaint.registered"]


async def test_the_due_items_follow_the_policy_handed_in() -> None:
    quick = Policy(
        sla=SlaPolicy(
            {s: timedelta(minutes=5) for s in SLA.acknowledge_within},
            {s: timedelta(hours=1) for s in SLA.resolve_within},
        )
    )
    desk = Desk(policy=quick)
    cid = await desk.register()
    assert _breaches(desk.due_at(cid)) == {
        ACKNOWLEDGE_DUE: AT_8 + timedelta(minutes=5),
        RESOLVE_DUE: AT_8 + timedelta(hours=1),
    }


# -- the customer writes again ----------------------------------------------------------------------
async def test_a_message_on_the_conversation_of_an_open_complaint_belongs_to_it() -> None:
    desk = Desk()
    cid = await desk.register()
    later = AT_8 + timedelta(minutes=30)
    uow = await desk.received(inquiry(text="Any news?", received_at=later), later)
    assert uow.events("complaint.registered") == [], "not a second complaint"
    assert len(desk.store.states) == 1
    assert desk.store.actions(cid) == ["complaint.registered", "customer.message"]
    message = desk.store.history[cid][-1]
    assert (message.actor, message.note, message.at) == ("customer", "Any news?", later)


async def test_the_customer_writing_again_resumes_a_waiting_complaint() -> None:
    desk = Desk()
    cid = await desk.register()
    await _to(desk, cid, INVESTIGATING, AT_8 + timedelta(minutes=10))
    paused_at = AT_8 + timedelta(hours=1)
    refusal, uow = await desk.command("complaint.await_customer", cid, paused_at, question="Which room were you in?")
    assert refusal is None
    assert uow.types() == ["complaint.clock", "notification.requested"]
    assert uow.events("notification.requested")[0]["parameters"]["question"] == "Which room were you in?"
    assert set(uow.cancelled) == {(RESOLVE_WARNING, cid), (RESOLVE_DUE, cid)}
    assert desk.due_at(cid) == {}

    written = paused_at + timedelta(hours=20)
    other_conversation = inquiry(conversation_id="conv-2", intent="inquiry", received_at=written)
    uow = await desk.received(other_conversation, written)
    assert [(c["transition"], c["elapsed_seconds"]) for c in uow.events("complaint.clock")] == [("resumed", 3600.0)]
    assert desk.due_at(cid)[RESOLVE_DUE] == AT_8 + timedelta(hours=72) + timedelta(hours=20)
    assert desk.store.actions(cid)[-1] == "customer.message"


async def test_a_new_complaint_on_another_conversation_is_a_complaint_of_its_own() -> None:
    desk = Desk()
    first = await desk.register()
    second = await desk.register(AT_8 + timedelta(hours=1), conversation_id="conv-2", text="And the catering!")
    assert first != second and len(desk.store.states) == 2
    assert desk.store.actions(first) == ["complaint.registered"], "it waits for nothing from the customer"
    assert desk.store.actions(second) == ["complaint.registered"]


async def test_under_the_same_customer_id_a_message_reaches_the_complaints_waiting_for_the_customer() -> None:
    desk = Desk()
    waiting = await desk.register()
    busy = await desk.register(conversation_id="conv-2")
    await _to(desk, waiting, INVESTIGATING, AT_8 + timedelta(minutes=5))
    await desk.command("complaint.await_customer", waiting, AT_8 + timedelta(minutes=10))
    written = AT_8 + timedelta(hours=2)
    third = await desk.register(written, conversation_id="conv-3", received_at=written, text="And the catering!")
    assert desk.store.actions(waiting)[-1] == "customer.message"
    assert desk.store.transitions(waiting, RESOLVE)[-1] == (RESOLVE, "resumed")
    assert desk.store.actions(busy) == ["complaint.registered"]
    assert desk.store.actions(third) == ["complaint.registered"]
    assert desk.store.locked[-1:] == [waiting], "only the complaint the message concerns is locked"


async def test_a_message_rearms_the_escalation_of_a_breached_complaint() -> None:
    desk = Desk()
    await desk.staff()
    cid = await desk.register(agent_id="agent-7")
    fired = await desk.fire_until(cid, AT_8 + timedelta(hours=4))
    levels = [e["level"] for uow in fired for e in uow.events("complaint.escalated")]
    assert levels == [1, 2, 3]
    assert ACK_ESCALATION not in desk.due_at(cid)
    written = AT_8 + timedelta(hours=5)
    await desk.received(inquiry(received_at=written, text="Hello??"), written)
    assert desk.due_at(cid)[ACK_ESCALATION] == written
    again = await desk.fire(ACK_ESCALATION, cid, written)
    assert [(e["level"], e["who"]) for e in again.events("complaint.escalated")] == [(3, "mgr-1")]


# -- the formal reply on the clock ------------------------------------------------------------------
async def test_the_formal_reply_is_breached_at_10_00_01_for_a_normal_complaint_of_08_00_01_unanswered() -> None:
    """The acknowledgement SLA is breached at 10:00:01 when a normal complaint registered at 08:00:01 is
    not acknowledged."""
    desk = Desk()
    cid = await desk.register(AT_8)
    assert desk.due_at(cid)[ACKNOWLEDGE_DUE] == AT_10
    registration_correlation = desk.due[(ACKNOWLEDGE_DUE, cid)].correlation_id

    warned = await desk.fire(ACK_WARNING, cid, AT_8 + timedelta(minutes=90))
    assert [(c["transition"], c["at"]) for c in warned.events("complaint.clock")] == [
        ("warning", "2026-03-02T09:30:01Z")
    ]
    uow = await desk.fire(ACKNOWLEDGE_DUE, cid, AT_10)

    assert uow.types() == ["complaint.clock", "complaint.sla_breached"]
    assert uow.events("complaint.sla_breached") == [
        {"complaint_id": cid, "which": "acknowledge", "due_at": "2026-03-02T10:00:01Z"}
    ]
    assert str(uow.emitted[0].correlation_id) == registration_correlation, "one customer message, one correlation"
    assert desk.store.actions(cid) == ["complaint.registered", "complaint.sla_breached"]
    breach = desk.store.history[cid][-1]
    assert (breach.actor, breach.at, breach.from_status, breach.to_status) == (
        "scheduler",
        AT_10,
        REGISTERED,
        REGISTERED,
    )
    assert breach.data == {"which": "acknowledge", "due_at": AT_10.isoformat()}
    assert desk.store.state(cid).status == REGISTERED
    assert _breaches(desk.due_at(cid)) == {RESOLVE_DUE: AT_8 + timedelta(hours=72)}, "the resolution is still watched"
    assert desk.due_at(cid)[ACK_ESCALATION] == AT_10, "and the escalation begins"


async def test_acknowledging_cancels_the_formal_reply_items_in_the_same_unit_of_work() -> None:
    desk = Desk()
    cid = await desk.register()
    refusal, uow = await desk.command("complaint.acknowledge", cid, AT_8 + timedelta(minutes=40))
    assert refusal is None
    assert uow.types() == ["complaint.clock", "notification.requested", "complaint.status_changed"]
    assert uow.events("notification.requested")[0]["template"] == "complaint.acknowledged"
    assert desk.store.state(cid).status == ACKNOWLEDGED
    assert set(uow.cancelled) == {(ACK_WARNING, cid), (ACKNOWLEDGE_DUE, cid)}
    assert _breaches(desk.due_at(cid)) == {RESOLVE_DUE: AT_8 + timedelta(hours=72)}
    assert desk.store.transitions(cid, ACKNOWLEDGE) == [(ACKNOWLEDGE, "started"), (ACKNOWLEDGE, "met")]


async def test_a_breach_item_after_the_complaint_was_acknowledged_in_time_emits_nothing() -> None:
    desk = Desk()
    cid = await desk.register()
    item = desk.uow(AT_10).due_item(ACKNOWLEDGE_DUE, cid)  # taken by the scheduler just before the ack
    await desk.command("complaint.acknowledge", cid, AT_10 - timedelta(seconds=1))

    uow = desk.uow(AT_10)
    await handlers.clock_due(uow, item, AT_10, POLICY)

    assert uow.emitted == []
    assert desk.store.actions(cid) == ["complaint.registered", "complaint.acknowledge"]


async def test_an_item_that_fires_before_its_time_is_kept_as_a_new_row() -> None:
    desk = Desk()
    cid = await desk.register()
    uow = await desk.fire(ACKNOWLEDGE_DUE, cid, AT_10 - timedelta(minutes=5))  # e.g. a clock moved back
    assert uow.events("complaint.sla_breached") == []
    assert (ACKNOWLEDGE_DUE, cid) in uow.cancelled, "the fired row goes ..."
    assert desk.due_at(cid)[ACKNOWLEDGE_DUE] == AT_10, "... and a new one stands for it"


# -- escalation -----------------------------------------------------------------------------------
async def test_the_breach_escalates_to_the_agent_the_supervisor_and_the_manager_each_step_a_new_item() -> None:
    desk = Desk()
    await desk.staff()
    cid = await desk.register(agent_id="agent-7")
    await desk.fire(ACK_WARNING, cid, AT_8 + timedelta(minutes=90))
    await desk.fire(ACKNOWLEDGE_DUE, cid, AT_10)
    steps = []
    for when in (AT_10, AT_10 + timedelta(minutes=30), AT_10 + timedelta(minutes=90)):
        assert desk.due_at(cid)[ACK_ESCALATION] == when
        uow = await desk.fire(ACK_ESCALATION, cid, when)
        (escalated,) = uow.events("complaint.escalated")
        steps.append((escalated["level"], escalated["role"], escalated["who"]))
        assert escalated["which"] == "acknowledge" and escalated["due_at"] == "2026-03-02T10:00:01Z"
    assert steps == [(1, "agent", "agent-7"), (2, "supervisor", "sup-1"), (3, "manager", "mgr-1")]
    assert ACK_ESCALATION not in desk.due_at(cid)
    assert desk.store.actions(cid).count("complaint.escalated") == 3
    assert [e.level for e in desk.store.clocks[cid] if e.transition == "escalated"] == [1, 2, 3]


async def test_escalation_without_a_directory_still_names_the_level() -> None:
    desk = Desk()
    cid = await desk.register()
    fired = await desk.fire_until(cid, AT_10 + timedelta(hours=2))
    escalations = [e for uow in fired for e in uow.events("complaint.escalated")]
    assert [(e["level"], e["role"], e["who"]) for e in escalations] == [
        (1, "agent", None),
        (2, "supervisor", None),
        (3, "manager", None),
    ]


# -- the resolution ---------------------------------------------------------------------------------
async def _to(desk: Desk, cid: str, status: str, now: datetime) -> None:
    path = [
        "complaint.acknowledge",
        "complaint.investigate",
        "complaint.propose_solution",
        "complaint.start_execution",
        "complaint.resolve",
    ]
    order = [ACKNOWLEDGED, INVESTIGATING, "solution_proposed", IN_PROGRESS, RESOLVED]
    for name in path[: order.index(status) + 1]:
        refusal, _ = await desk.command(name, cid, now)
        assert refusal is None, refusal


async def test_an_unresolved_complaint_breaches_its_resolution_deadline() -> None:
    desk = Desk()
    cid = await desk.register()
    await _to(desk, cid, IN_PROGRESS, AT_8 + timedelta(hours=1))
    due = AT_8 + timedelta(hours=72)
    uow = await desk.fire(RESOLVE_DUE, cid, due + timedelta(seconds=3))
    assert uow.events("complaint.sla_breached") == [
        {"complaint_id": cid, "which": "resolve", "due_at": "2026-03-05T08:00:01Z"}
    ]
    assert desk.store.history[cid][-1].to_status == IN_PROGRESS


async def test_resolving_asks_for_satisfaction_and_a_late_breach_item_emits_nothing() -> None:
    desk = Desk()
    cid = await desk.register()
    await _to(desk, cid, IN_PROGRESS, AT_8 + timedelta(hours=1))
    item = desk.uow(AT_8).due_item(RESOLVE_DUE, cid)
    resolved_at = AT_8 + timedelta(hours=3)
    refusal, uow = await desk.command("complaint.resolve", cid, resolved_at, resolution="replaced")
    assert refusal is None
    assert set(uow.cancelled) == {(RESOLVE_WARNING, cid), (RESOLVE_DUE, cid)}
    assert desk.due_at(cid) == {FOLLOW_UP: resolved_at + timedelta(hours=24)}
    (ask,) = uow.events("notification.requested")
    assert ask["template"] == "complaint.satisfaction"
    assert ask["parameters"]["survey"] == {"type": "complaint", "id": cid, "agent_id": None}
    assert uow.events("complaint.satisfaction_requested")[0]["attempt"] == 1
    late = desk.uow(item.due_at)
    await handlers.clock_due(late, item, item.due_at, POLICY)
    assert late.emitted == []


async def test_a_survey_score_of_2_reopens_and_4_lets_it_close() -> None:
    desk = Desk()
    cid = await desk.register()
    await _to(desk, cid, RESOLVED, AT_8 + timedelta(hours=1))
    refusal, _ = await desk.command("complaint.close", cid, AT_8 + timedelta(hours=2))
    assert refusal is not None and "needs the customer's satisfaction" in refusal

    unhappy = await desk.survey(cid, 2, AT_8 + timedelta(hours=3))
    assert desk.store.state(cid).status == INVESTIGATING
    assert unhappy.types() == [
        "complaint.satisfaction_recorded",
        "complaint.clock",
        "notification.requested",
        "complaint.status_changed",
    ]
    assert (FOLLOW_UP, cid) in unhappy.cancelled
    assert _breaches(desk.due_at(cid)) == {RESOLVE_DUE: AT_8 + timedelta(hours=3) + timedelta(hours=72)}

    for name in ("complaint.propose_solution", "complaint.start_execution", "complaint.resolve"):
        refusal, _ = await desk.command(name, cid, AT_8 + timedelta(hours=5))
        assert refusal is None
    happy = await desk.survey(cid, 4, AT_8 + timedelta(hours=6))
    assert happy.events("complaint.satisfaction_recorded")[0]["satisfied"] is True
    refusal, uow = await desk.command("complaint.close", cid, AT_8 + timedelta(hours=7))
    assert refusal is None
    assert uow.types() == ["notification.requested", "complaint.status_changed", "complaint.closed"]
    assert desk.store.state(cid).status == CLOSED and desk.due == {}


async def test_a_survey_about_something_else_or_an_unknown_complaint_changes_nothing() -> None:
    desk = Desk()
    for subject_id in (str(uuid.uuid4()), "not-a-uuid"):
        assert (await desk.survey(subject_id, 1, AT_10)).emitted == []
    uow = desk.uow(AT_10)
    booking = FeedbackReceived(subject_type="booking", subject_id="b-1", score=1, score_100=20, channel="survey")
    await handlers.feedback_received(uow, event_in(booking), AT_10, POLICY)
    assert uow.emitted == []


async def test_a_supervisor_in_the_directory_may_close_without_satisfaction_with_a_reason() -> None:
    desk = Desk()
    await desk.staff()
    cid = await desk.register()
    await _to(desk, cid, RESOLVED, AT_8 + timedelta(hours=1))
    reason = "customer unreachable after the follow-ups"
    refusal, _ = await desk.command("complaint.close", cid, AT_10, actor="agent-7", override_reason=reason)
    assert refusal == (
        "only a supervisor or manager may close without the customer's satisfaction; agent-7 is listed as agent"
    )
    refusal, uow = await desk.command("complaint.close", cid, AT_10, actor="sup-1", override_reason=reason)
    assert refusal is None
    assert uow.events("complaint.closed")[0]["override_reason"] == reason


async def test_follow_ups_remind_the_customer_then_leave_it_to_an_agent_and_never_close() -> None:
    desk = Desk()
    cid = await desk.register()
    await _to(desk, cid, RESOLVED, AT_8 + timedelta(hours=1))
    fired = await desk.fire_until(cid, AT_8 + timedelta(days=10))
    assert [uow.types() for uow in fired] == [
        ["notification.requested", "complaint.satisfaction_requested"],
        ["notification.requested", "complaint.satisfaction_requested"],
        ["complaint.satisfaction_unanswered"],
    ]
    assert [uow.events("notification.requested")[0]["template"] for uow in fired[:2]] == [
        "complaint.satisfaction_reminder"
    ] * 2
    assert desk.due == {} and desk.store.state(cid).status == RESOLVED
    refusal, _ = await desk.command("complaint.confirm_satisfaction", cid, AT_8 + timedelta(days=11), note="called")
    assert refusal is None
    assert (await desk.command("complaint.close", cid, AT_8 + timedelta(days=11)))[0] is None


async def test_closing_leaves_nothing_watched() -> None:
    desk = Desk()
    cid = await desk.register()
    await _to(desk, cid, RESOLVED, AT_8 + timedelta(hours=1))
    await desk.command("complaint.confirm_satisfaction", cid, AT_8 + timedelta(hours=2), score=5)
    refusal, uow = await desk.command("complaint.close", cid, AT_8 + timedelta(hours=3))
    assert refusal is None
    assert uow.types() == ["notification.requested", "complaint.status_changed", "complaint.closed"]
    assert desk.due_at(cid) == {} and desk.store.state(cid).status == CLOSED


async def test_reopening_watches_the_resolution_again_from_the_reopening() -> None:
    desk = Desk()
    cid = await desk.register()
    await _to(desk, cid, RESOLVED, AT_8 + timedelta(hours=1))
    await desk.command("complaint.confirm_satisfaction", cid, AT_8 + timedelta(hours=2))
    await desk.command("complaint.close", cid, AT_8 + timedelta(hours=3))
    reopened = AT_8 + timedelta(days=10)
    refusal, uow = await desk.command("complaint.reopen", cid, reopened, reason="the projector failed again")
    assert refusal is None
    state = desk.store.state(cid)
    assert state.status == INVESTIGATING and state.resolve_due_at == reopened + timedelta(hours=72)
    assert _breaches(desk.due_at(cid)) == {RESOLVE_DUE: reopened + timedelta(hours=72)}
    assert uow.due[(RESOLVE_DUE, cid)].correlation_id == str(uow.emitted[0].correlation_id)
    assert [(c["transition"], c["cycle"]) for c in uow.events("complaint.clock")] == [("started", 2)]


async def test_raising_the_severity_moves_both_deadlines() -> None:
    desk = Desk()
    cid = await desk.register()
    refusal, uow = await desk.command(
        "complaint.assign", cid, AT_8 + timedelta(minutes=10), agent_id="agent-3", severity="critical"
    )
    assert refusal is None
    assert _breaches(desk.due_at(cid)) == {
        ACKNOWLEDGE_DUE: AT_8 + timedelta(minutes=30),
        RESOLVE_DUE: AT_8 + timedelta(hours=24),
    }
    state = desk.store.state(cid)
    assert (state.severity, state.acknowledge_due_at, state.agent_id) == (
        "critical",
        AT_8 + timedelta(minutes=30),
        "agent-3",
    )
    assert uow.types() == ["complaint.status_changed"]


async def test_a_new_severity_after_the_acknowledgement_moves_only_the_resolution_deadline() -> None:
    desk = Desk()
    cid = await desk.register()
    await desk.command("complaint.acknowledge", cid, AT_8 + timedelta(minutes=5))
    await desk.command("complaint.assign", cid, AT_8 + timedelta(minutes=10), agent_id="agent-3", severity="low")
    assert _breaches(desk.due_at(cid)) == {RESOLVE_DUE: AT_8 + timedelta(days=7)}


# -- withdrawal, first contact, notes, handover -------------------------------------------------------
async def test_a_withdrawn_complaint_is_no_longer_watched() -> None:
    desk = Desk()
    cid = await desk.register()
    refusal, uow = await desk.command("complaint.withdraw", cid, AT_8 + timedelta(minutes=20), reason="settled")
    assert refusal is None
    assert desk.store.state(cid).status == WITHDRAWN and desk.due_at(cid) == {}
    assert [c["transition"] for c in uow.events("complaint.clock")] == ["stopped", "stopped"]


async def test_a_complaint_resolved_in_its_first_contact() -> None:
    desk = Desk()
    cid = await desk.register(channel="phone", agent_id="agent-7")
    refusal, uow = await desk.command(
        "complaint.resolve", cid, AT_8 + timedelta(minutes=4), first_contact=True, resolution="Rebooked the room"
    )
    assert refusal is None
    (changed,) = uow.events("complaint.status_changed")
    assert (changed["from"], changed["to"], changed["first_contact"]) == (REGISTERED, RESOLVED, True)
    assert desk.store.state(cid).first_contact
    assert desk.due_at(cid) == {FOLLOW_UP: AT_8 + timedelta(minutes=4, hours=24)}


async def test_a_note_is_recorded_and_nothing_else_happens() -> None:
    desk = Desk()
    cid = await desk.register()
    due = dict(desk.due)
    refusal, uow = await desk.command(
        "complaint.note", cid, AT_8 + timedelta(minutes=3), kind="call", direction="outbound", reached=False
    )
    assert refusal is None and uow.emitted == [] and desk.due == due
    entry = desk.store.history[cid][-1]
    assert (entry.action, entry.data["kind"], entry.data["reached"]) == ("complaint.note", "call", False)


async def test_a_handover_moves_every_open_complaint_of_one_agent_to_another() -> None:
    desk = Desk()
    mine = [await desk.register(agent_id="agent-7", conversation_id=f"conv-{n}") for n in range(3)]
    other = await desk.register(agent_id="agent-2", conversation_id="conv-9")
    uow = desk.uow(AT_10)
    cmd = ComplaintHandover(command_id="h-1", actor="sup-1", from_agent="agent-7", to_agent="agent-3", reason="leave")
    assert await handlers.handover(uow, command_in(cmd), AT_10, POLICY) is None
    assert sorted(e["complaint_id"] for e in uow.events("complaint.status_changed")) == sorted(mine)
    assert all(desk.store.state(cid).agent_id == "agent-3" for cid in mine)
    assert desk.store.state(other).agent_id == "agent-2"
    assert all(desk.store.actions(cid)[-1] == "complaint.handover" for cid in mine)
    again = desk.uow(AT_10)
    refused = await handlers.handover(again, command_in(cmd), AT_10, POLICY)
    assert refused == "agent-7 has no open complaints"


async def test_staff_upsert_keeps_the_directory() -> None:
    desk = Desk()
    await desk.staff()
    assert desk.store.members["sup-1"].supervisor_id == "mgr-1"
    own = StaffUpsert(command_id="s-9", actor="ops", staff_id="x", name="X", role="agent", supervisor_id="x")
    assert await handlers.staff_upsert(desk.uow(AT_8), command_in(own), AT_8, POLICY) == (
        "a staff member cannot be their own supervisor"
    )


# -- refusals -------------------------------------------------------------------------------------
async def test_a_command_for_an_unknown_complaint_is_refused() -> None:
    desk = Desk()
    for cid in (str(uuid.uuid4()), "not-a-uuid"):
        refusal, uow = await desk.command("complaint.acknowledge", cid, AT_10)
        assert refusal == f"no complaint {cid!r}"
        assert uow.emitted == [] and uow.cancelled == []


async def test_a_command_that_does_not_fit_the_status_is_refused_and_changes_nothing() -> None:
    desk = Desk()
    cid = await desk.register()
    before = desk.store.state(cid)
    refusal, uow = await desk.command("complaint.close", cid, AT_10)
    assert refusal == "the complaint is registered; complaint.close needs it to be resolved"
    assert desk.store.state(cid) == before
    assert desk.store.actions(cid) == ["complaint.registered"]
    assert uow.emitted == [] and uow.cancelled == [] and len(desk.due) == 4


async def test_a_command_reads_the_complaint_under_lock_and_records_its_details() -> None:
    desk = Desk()
    cid = await desk.register()
    await _to(desk, cid, ACKNOWLEDGED, AT_8 + timedelta(minutes=1))
    await desk.command(
        "complaint.investigate", cid, AT_8 + timedelta(hours=1), root_cause="equipment_failure", note="checked"
    )
    assert desk.store.locked == [cid, cid]
    entry = desk.store.history[cid][-1]
    assert (entry.action, entry.actor, entry.note, entry.at) == (
        "complaint.investigate",
        "agent-7",
        "checked",
        AT_8 + timedelta(hours=1),
    )
    assert entry.data["root_cause"] == "equipment_failure" and "command_id" in entry.data


async def test_a_due_item_of_a_complaint_that_does_not_exist_emits_nothing() -> None:
    desk = Desk()
    uow = desk.uow(AT_10)
    key = str(uuid.uuid4())
    await uow.schedule(ACKNOWLEDGE_DUE, key, AT_10)
    await handlers.clock_due(uow, uow.due_item(ACKNOWLEDGE_DUE, key), AT_10, POLICY)
    assert uow.emitted == []


async def test_a_whole_lifecycle_ends_with_nothing_watched_and_every_step_in_the_history() -> None:
    desk = Desk()
    cid = await desk.register()
    now = AT_8
    for name in (
        "complaint.acknowledge",
        "complaint.investigate",
        "complaint.propose_solution",
        "complaint.start_execution",
        "complaint.resolve",
        "complaint.confirm_satisfaction",
        "complaint.close",
    ):
        now += timedelta(minutes=20)
        refusal, _ = await desk.command(name, cid, now)
        assert refusal is None, (name, refusal)
    state = desk.store.state(cid)
    assert state.status == CLOSED
    assert desk.due == {}
    assert len(desk.store.actions(cid)) == 8
    assert state.resolved_at == AT_8 + timedelta(minutes=100)
    assert RESOLVED in [e.to_status for e in desk.store.history[cid]]
    assert desk.store.transitions(cid) == [
        (ACKNOWLEDGE, "started"),
        (RESOLVE, "started"),
        (ACKNOWLEDGE, "met"),
        (RESOLVE, "met"),
    ]
