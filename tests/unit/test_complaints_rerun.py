"""Re-running the meeting: a ``rerun_meeting`` action asks booking for the meeting again once the customer
agrees to the plan (or the plan is carried out without their answer), once per action, and booking's
answer is recorded in the complaint's history. Rules in plain Python, then the handlers against the
in-memory unit of work."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from services.complaints import domain, handlers
from services.complaints.domain import INVESTIGATING, SOLUTION_PROPOSED, BookingView, Complaint, Outcome
from shared.contract.commands import ComplaintPlanAgreement
from shared.contract.events import BookingConfirmed, BookingRejected, Slot

from .fakes import command_in, event_in
from .test_complaints_domain import LATER, POLICY, complaint
from .test_complaints_handlers import AT_8, Desk, _to
from .test_complaints_plan import _command, act, ok

DAY = timedelta(days=1)
BOOKING = BookingView(
    booking_id="bk-42",
    customer_id="cust-1",
    room_id="harbour",
    name="Board meeting",
    start=datetime(2026, 3, 1, 9, tzinfo=UTC),
    end=datetime(2026, 3, 1, 11, 30, tzinfo=UTC),
    equipment=("projector", "microphone"),
    attendees=12,
)
RERUN_AT = LATER + 3 * DAY


def with_rerun(*extra: dict[str, Any], booking_id: str | None = "bk-42") -> Complaint:
    """A complaint about booking bk-42 whose proposed plan re-runs the meeting (action a1)."""
    state = replace(complaint(INVESTIGATING), booking_id=booking_id)
    plan = [act("rerun_meeting", owner="events-1", due_at=RERUN_AT), *extra]
    return ok(state, "complaint.propose_solution", details={"actions": plan}).state


def decide(state: Complaint, name: str, booking: BookingView | None = BOOKING, **details: Any) -> Outcome:
    out = domain.apply(state, domain.Command(name=name, actor="agent-7", at=LATER, details=details), POLICY, booking)
    assert isinstance(out, Outcome), out
    return out


def requested(out: Outcome) -> list[Any]:
    return [e for e in out.events if e.event_type == "booking.requested"]


def test_proposing_a_rerun_asks_booking_for_nothing_yet() -> None:
    state = replace(complaint(INVESTIGATING), booking_id="bk-42")
    plan = [act("rerun_meeting", owner="events-1", due_at=RERUN_AT)]
    out = domain.apply(
        state,
        domain.Command("complaint.propose_solution", "agent-7", LATER, details={"actions": plan}),
        POLICY,
        BOOKING,
    )
    assert isinstance(out, Outcome) and out.state.status == SOLUTION_PROPOSED
    assert requested(out) == [] and out.state.actions[0].booking_inquiry_id is None


def test_the_customers_agreement_requests_the_meeting_again_as_the_booking_was_at_the_actions_due_time() -> None:
    state = with_rerun(act("apology"))
    out = decide(state, "complaint.plan_agreement", agreed=True)
    (request,) = requested(out)
    assert request.customer_id == "cust-1"
    assert (request.channel, request.language) == ("email", "zh-Hant"), "where they complained, in their language"
    assert request.reply_to is not None and request.reply_to.address == "chan@example.com"
    m = request.meeting
    assert (m.start, m.end) == (RERUN_AT, RERUN_AT + timedelta(hours=2, minutes=30)), "the original's length"
    assert (m.room_id, m.attendees, m.equipment) == ("harbour", 12, ["projector", "microphone"])
    assert m.name == "Re-run: Board meeting"
    rerun_action = out.state.action("a1")
    assert rerun_action is not None and rerun_action.booking_inquiry_id == request.inquiry_id
    assert domain.rerun.parse(request.inquiry_id) == domain.rerun.RerunRef(state.complaint_id, "a1")
    assert out.state.action("a2").booking_inquiry_id is None, "an apology books nothing"  # type: ignore[union-attr]
    entries = [e.action for e in out.entries]
    assert entries == ["complaint.rerun_requested", "complaint.plan_agreement"], "the command's own entry last"
    assert out.entries[0].data["inquiry_id"] == request.inquiry_id


def test_the_rerun_names_the_complaints_handling_agent_so_its_survey_counts_for_them() -> None:
    state = replace(with_rerun(), agent_id="agent-7")
    (request,) = requested(decide(state, "complaint.plan_agreement", agreed=True))
    assert request.agent_id == "agent-7"
    (unassigned,) = requested(decide(replace(with_rerun(), agent_id=None), "complaint.plan_agreement", agreed=True))
    assert unassigned.agent_id is None


def test_the_same_action_is_requested_once_however_often_the_plan_is_agreed_or_carried_out() -> None:
    agreed = decide(with_rerun(), "complaint.plan_agreement", agreed=True)
    again = decide(agreed.state, "complaint.plan_agreement", agreed=True)
    started = decide(again.state, "complaint.start_execution")
    assert len(requested(agreed)) == 1
    assert requested(again) == [] and requested(started) == []


def test_a_plan_carried_out_without_the_customers_answer_requests_the_rerun_then() -> None:
    out = decide(with_rerun(), "complaint.start_execution")
    (request,) = requested(out)
    assert out.state.action("a1").booking_inquiry_id == request.inquiry_id  # type: ignore[union-attr]


def test_a_customer_who_says_no_gets_no_rerun_booked() -> None:
    out = decide(with_rerun(), "complaint.plan_agreement", agreed=False)
    assert requested(out) == [] and out.state.action("a1").booking_inquiry_id is None  # type: ignore[union-attr]


def test_without_a_known_booking_the_history_says_why_no_rerun_was_requested() -> None:
    for state, booking, reason in (
        (with_rerun(booking_id=None), None, "names no booking"),
        (with_rerun(), replace(BOOKING, attendees=None), "time and attendees"),
    ):
        out = decide(state, "complaint.plan_agreement", booking=booking, agreed=True)
        assert requested(out) == []
        (why,) = [e for e in out.entries if e.action == "complaint.rerun_not_requested"]
        assert reason in why.data["reason"]
        assert out.state.action("a1").booking_inquiry_id is None, "asked again once the booking is known"  # type: ignore[union-attr]


def test_an_action_replaced_by_a_revision_is_a_new_inquiry() -> None:
    first = decide(with_rerun(), "complaint.plan_agreement", agreed=True)
    later = act("rerun_meeting", owner="events-1", due_at=RERUN_AT + DAY, action_id="a1")
    revised = domain.apply(
        first.state,
        domain.Command("complaint.plan", "agent-7", LATER + timedelta(minutes=5), details={"actions": [later]}),
        POLICY,
    )
    assert isinstance(revised, Outcome)
    agreed = domain.apply(
        revised.state,
        domain.Command("complaint.plan_agreement", "agent-7", LATER + timedelta(minutes=9), details={"agreed": True}),
        POLICY,
        BOOKING,
    )
    assert isinstance(agreed, Outcome)
    (second,) = requested(agreed)
    (original,) = requested(first)
    assert second.inquiry_id != original.inquiry_id and second.meeting.start == RERUN_AT + DAY


def test_only_a_reruns_inquiry_id_names_a_complaint() -> None:
    cid = str(uuid.uuid4())
    assert domain.rerun.parse(f"complaint:{cid}:a1:1767225600") == domain.rerun.RerunRef(cid, "a1")
    for other in (str(uuid.uuid4()), "complaint:not-a-uuid:a1:1", f"complaint:{cid}:a1:", f"booking:{cid}:a1:1"):
        assert domain.rerun.parse(other) is None, other


def test_bookings_answer_is_recorded_on_the_action_and_in_the_history_once() -> None:
    agreed = decide(with_rerun(), "complaint.plan_agreement", agreed=True)
    inquiry = agreed.state.action("a1").booking_inquiry_id  # type: ignore[union-attr]
    assert inquiry is not None
    details = {"booking_id": "bk-99", "room_id": "harbour"}
    out = domain.rerun_answered(agreed.state, inquiry, "confirmed", details, LATER, POLICY)
    assert out is not None
    (entry,) = out.entries
    assert (entry.action, entry.actor, entry.data["booking_id"]) == ("complaint.rerun_booked", "booking", "bk-99")
    assert out.state.action("a1").booking_id == "bk-99"  # type: ignore[union-attr]
    assert domain.rerun_answered(out.state, inquiry, "confirmed", details, LATER, POLICY) is None, "heard twice"
    assert domain.rerun_answered(out.state, "complaint:x:a9:1", "confirmed", details, LATER, POLICY) is None


# -- the handlers -----------------------------------------------------------------------------------
async def _agreed_rerun(desk: Desk) -> tuple[str, Any]:
    cid = await desk.register(booking_id="bk-42")
    await desk.store.save_booking(BOOKING)
    await _to(desk, cid, INVESTIGATING, AT_8 + timedelta(minutes=5))
    actions = [{"remedy": "rerun_meeting", "owner": "events-1", "due_at": AT_8 + 3 * DAY}]
    assert await _command(desk, "complaint.propose_solution", cid, AT_8 + timedelta(hours=1), actions=actions) is None
    uow = desk.uow(AT_8 + timedelta(hours=2))
    cmd = ComplaintPlanAgreement(command_id=str(uuid.uuid4()), actor="agent-7", complaint_id=cid, agreed=True)
    assert await handlers.lifecycle(uow, command_in(cmd), AT_8 + timedelta(hours=2), desk.policy) is None
    return cid, uow


async def test_the_agreement_publishes_booking_requested_through_the_outbox() -> None:
    desk = Desk()
    cid, uow = await _agreed_rerun(desk)
    (request,) = uow.events("booking.requested")
    assert request["customer_id"] == "cust-1" and request["meeting"]["room_id"] == "harbour"
    assert domain.rerun.parse(request["inquiry_id"]) == domain.rerun.RerunRef(cid, "a1")


async def test_bookings_confirmation_and_rejection_of_the_rerun_reach_the_complaints_history_once() -> None:
    desk = Desk()
    cid, uow = await _agreed_rerun(desk)
    (request,) = uow.events("booking.requested")
    inquiry = request["inquiry_id"]
    now = AT_8 + timedelta(hours=3)
    rejected = BookingRejected(
        inquiry_id=inquiry,
        customer_id="cust-1",
        reason="the room is taken",
        reason_code="room_unavailable",
        alternatives=[Slot(room_id="harbour", start=AT_8 + 4 * DAY, end=AT_8 + 4 * DAY + timedelta(hours=2))],
    )
    await handlers.booking_rejected(desk.uow(now), event_in(rejected), now, desk.policy)
    start = AT_8 + 3 * DAY
    confirmed = BookingConfirmed(
        booking_id="bk-77", inquiry_id=inquiry, room_id="lotus", start=start, end=start + timedelta(hours=2),
        attendees=12, customer_id="cust-1", name="Re-run: Board meeting",
    )  # fmt: skip
    for _ in range(2):  # the same answer twice (another event id): recorded once
        await handlers.booking_news(desk.uow(now), event_in(confirmed), now, desk.policy)
    entries = [e for e in desk.store.history[cid] if e.action.startswith("complaint.rerun_")]
    assert [e.action for e in entries] == [
        "complaint.rerun_requested",
        "complaint.rerun_rejected",
        "complaint.rerun_booked",
    ]
    assert entries[1].data["reason_code"] == "room_unavailable" and entries[1].data["alternatives"]
    assert entries[2].data["booking_id"] == "bk-77"
    assert desk.store.state(cid).action("a1").booking_outcome == "confirmed"  # type: ignore[union-attr]


async def test_a_rejection_of_anyone_elses_request_is_ignored() -> None:
    desk = Desk()
    cid, _ = await _agreed_rerun(desk)
    other = BookingRejected(inquiry_id="inq-1", customer_id="c", reason="no", reason_code="room_unknown")
    uow = desk.uow(AT_8)
    await handlers.booking_rejected(uow, event_in(other), AT_8, desk.policy)
    assert uow.emitted == [] and not any(e.action == "complaint.rerun_rejected" for e in desk.store.history[cid])
