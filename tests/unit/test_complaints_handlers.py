"""Complaints' handlers against the in-memory unit of work: what they store, emit, schedule, cancel.

Time is an argument: each step gets its own unit of work at its own ``now``; the store and the due
items carry over from one step to the next, as the database would keep them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from services.complaints import handlers
from services.complaints.domain import (
    ACKNOWLEDGE_DUE,
    ACKNOWLEDGED,
    CLOSED,
    IN_PROGRESS,
    INVESTIGATING,
    REGISTERED,
    RESOLVE_DUE,
    RESOLVED,
    SlaPolicy,
)
from shared.contract.commands import (
    ComplaintAcknowledge,
    ComplaintAssign,
    ComplaintClose,
    ComplaintInvestigate,
    ComplaintProposeSolution,
    ComplaintReopen,
    ComplaintResolve,
    ComplaintStartExecution,
)
from shared.contract.events import CustomerRef, InquiryReceived

from .complaints_fakes import FakeComplaintsStore
from .fakes import FakeUnitOfWork, Scheduled, command_in, event_in

POLICY = SlaPolicy(
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
AT_8 = datetime(2026, 3, 2, 8, 0, 1, tzinfo=UTC)  # 08:00:01
AT_10 = datetime(2026, 3, 2, 10, 0, 1, tzinfo=UTC)  # 10:00:01

STEPS = {
    "complaint.acknowledge": ComplaintAcknowledge,
    "complaint.assign": ComplaintAssign,
    "complaint.investigate": ComplaintInvestigate,
    "complaint.propose_solution": ComplaintProposeSolution,
    "complaint.start_execution": ComplaintStartExecution,
    "complaint.resolve": ComplaintResolve,
    "complaint.close": ComplaintClose,
    "complaint.reopen": ComplaintReopen,
}


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

    policy: SlaPolicy = POLICY
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
        self, name: str, complaint_id: str, now: datetime, **fields: Any
    ) -> tuple[str | None, FakeUnitOfWork[FakeComplaintsStore]]:
        uow = self.uow(now)
        cmd = STEPS[name](command_id=str(uuid.uuid4()), actor="agent-7", complaint_id=complaint_id, **fields)
        return await handlers.lifecycle(uow, command_in(cmd), now, self.policy), uow

    async def fire(self, kind: str, complaint_id: str, now: datetime) -> FakeUnitOfWork[FakeComplaintsStore]:
        """The due item as the scheduler hands it over at ``now`` (it is then gone)."""
        uow = self.uow(now)
        item = uow.due_item(kind, complaint_id)
        del self.due[(kind, complaint_id)]
        handler = handlers.acknowledge_due if kind == ACKNOWLEDGE_DUE else handlers.resolve_due
        await handler(uow, item, now, self.policy)
        return uow

    def due_at(self, complaint_id: str) -> dict[str, datetime]:
        return {kind: s.due_at for (kind, key), s in self.due.items() if key == complaint_id}


# -- registration ---------------------------------------------------------------------------------
async def test_a_complaint_inquiry_is_registered_acknowledged_and_its_deadlines_watched() -> None:
    desk = Desk()
    data = inquiry(severity="high", booking_id="bk-1")
    msg = event_in(data)
    uow = desk.uow(AT_8 + timedelta(seconds=2))
    await handlers.inquiry_received(uow, msg, uow.now, POLICY)

    assert uow.types() == ["complaint.registered", "notification.requested"]
    (registered,) = uow.events("complaint.registered")
    cid = registered["complaint_id"]
    assert registered["registered_at"] == "2026-03-02T08:00:01Z"
    assert registered["acknowledge_due_at"] == "2026-03-02T09:00:01Z"
    assert registered["resolve_due_at"] == "2026-03-04T08:00:01Z"
    (ack,) = uow.events("notification.requested")
    assert (ack["channel"], ack["address"], ack["template"]) == ("email", "chan@example.com", "complaint.received")
    assert ack["parameters"]["complaint_id"] == cid
    assert all(e.correlation_id == msg.correlation_id and e.causation_id == msg.event_id for e in uow.emitted)

    state = desk.store.states[cid]
    assert (state.status, state.severity, state.category) == (REGISTERED, "high", "equipment_failure")
    assert desk.store.registered_with[cid] == {
        "inquiry_id": data.inquiry_id,
        "customer_id": "cust-1",
        "channel": "webform",
        "booking_id": "bk-1",
        "text": data.text,
        "correlation_id": str(msg.correlation_id),
    }
    assert desk.store.actions(cid) == ["complaint.registered"]
    assert desk.due_at(cid) == {ACKNOWLEDGE_DUE: AT_8 + timedelta(hours=1), RESOLVE_DUE: AT_8 + timedelta(hours=48)}
    assert {s.correlation_id for s in desk.due.values()} == {str(msg.correlation_id)}


async def test_an_inquiry_that_is_not_a_complaint_changes_nothing() -> None:
    desk = Desk()
    uow = await desk.received(inquiry(intent="booking_request"), AT_8)
    assert uow.emitted == [] and desk.store.states == {} and desk.due == {}


async def test_the_same_inquiry_delivered_again_registers_no_second_complaint() -> None:
    desk = Desk()
    data = inquiry()
    await desk.received(data, AT_8)
    again = await desk.received(data, AT_8 + timedelta(minutes=1))
    assert again.emitted == []
    assert len(desk.store.states) == 1 and len(desk.due) == 2
    (cid,) = desk.store.states
    assert desk.store.actions(cid) == ["complaint.registered"]


async def test_the_deadlines_follow_the_policy_handed_in() -> None:
    quick = SlaPolicy(
        {s: timedelta(minutes=5) for s in POLICY.acknowledge_within},
        {s: timedelta(hours=1) for s in POLICY.resolve_within},
    )
    desk = Desk(policy=quick)
    cid = await desk.register()
    assert desk.due_at(cid) == {ACKNOWLEDGE_DUE: AT_8 + timedelta(minutes=5), RESOLVE_DUE: AT_8 + timedelta(hours=1)}


# -- the acknowledgement deadline -----------------------------------------------------------------
async def test_the_acknowledgement_is_breached_at_10_00_01_for_a_normal_complaint_of_08_00_01_unanswered() -> None:
    """The acknowledgement SLA is breached at 10:00:01 when a normal complaint registered at 08:00:01 is not
    acknowledged."""
    desk = Desk()
    cid = await desk.register(AT_8)
    assert desk.due_at(cid)[ACKNOWLEDGE_DUE] == AT_10
    registration_correlation = desk.due[(ACKNOWLEDGE_DUE, cid)].correlation_id

    uow = await desk.fire(ACKNOWLEDGE_DUE, cid, AT_10)

    assert uow.types() == ["complaint.sla_breached"]
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
    assert desk.store.states[cid].status == REGISTERED
    assert desk.due_at(cid) == {RESOLVE_DUE: AT_8 + timedelta(hours=72)}, "the resolution is still watched"


async def test_acknowledging_cancels_the_acknowledgement_deadline_in_the_same_unit_of_work() -> None:
    desk = Desk()
    cid = await desk.register()
    refusal, uow = await desk.command("complaint.acknowledge", cid, AT_8 + timedelta(minutes=40))
    assert refusal is None
    assert uow.types() == ["complaint.status_changed"]
    assert desk.store.states[cid].status == ACKNOWLEDGED
    assert uow.cancelled == [(ACKNOWLEDGE_DUE, cid)]
    assert desk.due_at(cid) == {RESOLVE_DUE: AT_8 + timedelta(hours=72)}


async def test_a_breach_after_the_complaint_was_acknowledged_emits_nothing() -> None:
    desk = Desk()
    cid = await desk.register()
    item = desk.uow(AT_10).due_item(ACKNOWLEDGE_DUE, cid)  # taken by the scheduler just before the ack
    await desk.command("complaint.acknowledge", cid, AT_10 - timedelta(seconds=1))

    uow = desk.uow(AT_10)
    await handlers.acknowledge_due(uow, item, AT_10, POLICY)

    assert uow.emitted == []
    assert desk.store.actions(cid) == ["complaint.registered", "complaint.acknowledge"]


# -- the resolution deadline ----------------------------------------------------------------------
async def _to(desk: Desk, cid: str, status: str, now: datetime) -> None:
    path = {
        ACKNOWLEDGED: ["complaint.acknowledge"],
        IN_PROGRESS: [
            "complaint.acknowledge",
            "complaint.investigate",
            "complaint.propose_solution",
            "complaint.start_execution",
        ],
    }[status]
    for name in path:
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


async def test_resolving_cancels_the_resolution_deadline_and_a_late_firing_emits_nothing() -> None:
    desk = Desk()
    cid = await desk.register()
    await _to(desk, cid, IN_PROGRESS, AT_8 + timedelta(hours=1))
    item = desk.uow(AT_8).due_item(RESOLVE_DUE, cid)
    refusal, uow = await desk.command("complaint.resolve", cid, AT_8 + timedelta(hours=3), resolution="replaced")
    assert refusal is None
    assert uow.cancelled == [(RESOLVE_DUE, cid)]
    assert desk.due_at(cid) == {}
    late = desk.uow(item.due_at)
    await handlers.resolve_due(late, item, item.due_at, POLICY)
    assert late.emitted == []


async def test_closing_leaves_nothing_watched() -> None:
    desk = Desk()
    cid = await desk.register()
    await _to(desk, cid, IN_PROGRESS, AT_8 + timedelta(hours=1))
    await desk.command("complaint.resolve", cid, AT_8 + timedelta(hours=2))
    refusal, uow = await desk.command("complaint.close", cid, AT_8 + timedelta(hours=3))
    assert refusal is None
    assert uow.types() == ["complaint.status_changed", "complaint.closed"]
    assert (RESOLVE_DUE, cid) in uow.cancelled
    assert desk.due_at(cid) == {} and desk.store.states[cid].status == CLOSED


async def test_reopening_watches_the_resolution_again_from_the_reopening() -> None:
    desk = Desk()
    cid = await desk.register()
    await _to(desk, cid, IN_PROGRESS, AT_8 + timedelta(hours=1))
    await desk.command("complaint.resolve", cid, AT_8 + timedelta(hours=2))
    await desk.command("complaint.close", cid, AT_8 + timedelta(hours=3))
    reopened = AT_8 + timedelta(days=10)
    refusal, uow = await desk.command("complaint.reopen", cid, reopened, reason="the projector failed again")
    assert refusal is None
    assert desk.store.states[cid].status == INVESTIGATING
    assert desk.store.states[cid].resolve_due_at == reopened + timedelta(hours=72)
    assert desk.due_at(cid) == {RESOLVE_DUE: reopened + timedelta(hours=72)}
    assert uow.due[(RESOLVE_DUE, cid)].correlation_id == str(uow.emitted[0].correlation_id)


async def test_raising_the_severity_moves_both_deadlines() -> None:
    desk = Desk()
    cid = await desk.register()
    refusal, uow = await desk.command(
        "complaint.assign", cid, AT_8 + timedelta(minutes=10), agent_id="agent-3", severity="critical"
    )
    assert refusal is None
    assert desk.due_at(cid) == {
        ACKNOWLEDGE_DUE: AT_8 + timedelta(minutes=30),
        RESOLVE_DUE: AT_8 + timedelta(hours=24),
    }
    state = desk.store.states[cid]
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
    assert desk.due_at(cid) == {RESOLVE_DUE: AT_8 + timedelta(days=7)}


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
    before = desk.store.states[cid]
    refusal, uow = await desk.command("complaint.close", cid, AT_10)
    assert refusal == "the complaint is registered; complaint.close needs it to be resolved"
    assert desk.store.states[cid] == before
    assert desk.store.actions(cid) == ["complaint.registered"]
    assert uow.emitted == [] and uow.cancelled == [] and len(desk.due) == 2


async def test_a_command_reads_the_complaint_under_lock_and_records_its_details() -> None:
    desk = Desk()
    cid = await desk.register()
    await _to(desk, cid, ACKNOWLEDGED, AT_8 + timedelta(minutes=1))
    await desk.command("complaint.investigate", cid, AT_8 + timedelta(hours=1), root_cause="bulb", note="checked")
    assert desk.store.locked == [cid, cid]
    entry = desk.store.history[cid][-1]
    assert (entry.action, entry.actor, entry.note, entry.at) == (
        "complaint.investigate",
        "agent-7",
        "checked",
        AT_8 + timedelta(hours=1),
    )
    assert entry.data["root_cause"] == "bulb" and "command_id" in entry.data


async def test_a_deadline_of_a_complaint_that_does_not_exist_emits_nothing() -> None:
    desk = Desk()
    uow = desk.uow(AT_10)
    await uow.schedule(ACKNOWLEDGE_DUE, str(uuid.uuid4()), AT_10)
    (key,) = [k for _, k in uow.due]
    await handlers.acknowledge_due(uow, uow.due_item(ACKNOWLEDGE_DUE, key), AT_10, POLICY)
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
        "complaint.close",
    ):
        now += timedelta(minutes=20)
        refusal, _ = await desk.command(name, cid, now)
        assert refusal is None, (name, refusal)
    assert desk.store.states[cid].status == CLOSED
    assert desk.due == {}
    assert len(desk.store.actions(cid)) == 7
    assert desk.store.states[cid].resolved_at == AT_8 + timedelta(minutes=100)
    assert RESOLVED in [e.to_status for e in desk.store.history[cid]]
