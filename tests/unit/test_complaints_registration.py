"""What registration records: the service step concerned, a severity estimated from the text when none is
given (with the reason), and the booking — checked against complaints' own view of the bookings, kept
from booking's events, or found as the customer's meeting at the time (plain Python, then the handlers)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any, get_args

import pytest

from services.complaints import domain, handlers
from services.complaints.domain import BookingView, link_booking
from shared.contract.commands import ComplaintAssign, ServiceStep
from shared.contract.events import BookingCancelled, BookingConfirmed, BookingRescheduled, BookingUpdated

from .fakes import command_in, event_in
from .test_complaints_domain import POLICY, T0, cmd, fresh, register
from .test_complaints_handlers import AT_8, Desk


# -- severity from the text -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "signal"),
    [
        ("A guest was injured when the projector stand fell", "injury: injured"),
        ("現場有人受傷,需要救護車", "injury: 受傷, 救護車"),
        ("There was smoke coming from the socket", "fire: smoke"),
        ("火警鐘響了但沒有人指示疏散", "fire: 火警"),
        ("The cables across the aisle are a safety hazard", "safety: safety, hazard"),
        ("冷气坏了,会议无法举行", "meeting not held: 无法举行"),
        ("Our board meeting could not take place because the room was locked", "meeting not held: could not take"),
    ],
)
def test_a_complaint_without_a_severity_speaking_of_harm_or_a_meeting_not_held_is_urgent(
    text: str, signal: str
) -> None:
    estimate = domain.estimate_severity(None, text, "normal")
    assert (estimate.value, estimate.source) == ("critical", "estimated")
    assert signal in estimate.reason


@pytest.mark.parametrize(
    "text",
    [
        "No one was injured, but the projector failed",
        "沒有人受傷,只是咪壞了",
        "We fired the caterer",
        "The tea was cold",
    ],
)
def test_harm_denied_or_absent_leaves_the_default_severity(text: str) -> None:
    assert domain.estimate_severity(None, text, "normal").value == "normal"


def test_a_severity_given_with_the_complaint_is_kept_whatever_the_text_says() -> None:
    estimate = domain.estimate_severity("low", "the fire alarm went off", "normal")
    assert (estimate.value, estimate.source) == ("low", "given")


def test_registration_records_the_estimated_severity_and_its_reason() -> None:
    out = register(text="有人受傷", severity=None)
    assert out.state.severity == "critical" and out.state.severity_reason == "estimated from the text (injury: 受傷)"
    assert out.events[0].severity_source == "estimated"  # type: ignore[attr-defined]
    assert out.entry.data["severity"] == {
        "value": "critical",
        "source": "estimated",
        "reason": out.state.severity_reason,
    }
    assert out.state.acknowledge_due_at == T0 + timedelta(minutes=30)  # the critical target


# -- the service step -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "category", "step"),
    [
        ("The projector and the microphone failed", None, "av"),
        ("茶點遲了半小時", None, "catering"),
        ("The room was not ready, the setup was wrong", None, "preparation"),
        ("我們的預訂被重複了", None, "booking"),
        ("The invoice charged us twice", None, "after_meeting"),
        ("前台接待態度很差", None, "on_site"),
        ("Nobody cared", "equipment_failure", "av"),
        ("Nobody cared", None, "other"),
    ],
)
def test_the_service_step_is_estimated_from_the_words_then_the_category(
    text: str, category: str | None, step: str
) -> None:
    assert domain.estimate_service_step(text, category).value == step
    assert step in get_args(ServiceStep)


def test_an_agent_corrects_the_service_step_and_the_history_keeps_both() -> None:
    state = register(text="冷氣壞了").state
    out = domain.apply(
        state, cmd("complaint.assign", agent_id="agent-7", details={"service_step": "preparation"}), POLICY
    )
    assert isinstance(out, domain.Outcome)
    assert out.state.service_step == "preparation"
    assert out.entry.data["service_step"] == {"from": "on_site", "to": "preparation"}
    refused = domain.apply(fresh(), cmd("complaint.assign", agent_id="agent-7", details={"service_step": "x"}), POLICY)
    assert isinstance(refused, domain.Refusal) and "unknown service step" in refused.reason


# -- the booking ----------------------------------------------------------------------------------
MEETING = BookingView(
    "bk-1", "cust-1", "R-301", "Board", T0 - timedelta(hours=1), T0 + timedelta(hours=1), ("projector",)
)


def test_a_named_booking_known_for_the_same_customer_is_linked_with_its_room() -> None:
    link = link_booking("bk-1", "cust-1", T0, MEETING, [])
    assert (link.how, link.booking) == ("given", MEETING)


def test_a_named_booking_of_another_customer_is_flagged() -> None:
    assert link_booking("bk-1", "cust-2", T0, MEETING, []).how == "given_other_customer"


def test_a_named_booking_not_yet_known_is_kept_unchecked() -> None:
    link = link_booking("bk-7", "cust-1", T0, None, [])
    assert (link.booking_id, link.how, link.booking) == ("bk-7", "given_unknown", None)


def test_a_complaint_naming_no_booking_is_linked_to_the_customers_one_meeting_at_the_time() -> None:
    link = link_booking(None, "cust-1", T0 + timedelta(hours=3), None, [MEETING])
    assert (link.booking_id, link.how) == ("bk-1", "inferred")
    other = BookingView("bk-2", "cust-1", "R-302", "Lunch", T0, T0 + timedelta(hours=2))
    assert link_booking(None, "cust-1", T0, None, [MEETING, other]).booking_id is None, "two meetings: no guess"
    cancelled = BookingView("bk-3", "cust-1", "R-303", "x", T0, T0 + timedelta(hours=1), status="cancelled")
    assert link_booking(None, "cust-1", T0, None, [cancelled]).booking_id is None


def test_the_view_of_a_booking_follows_its_events_and_a_cancellation_is_final() -> None:
    confirmed = BookingConfirmed(
        booking_id="bk-1",
        inquiry_id="i",
        room_id="R-1",
        start=T0,
        end=T0 + timedelta(hours=1),
        attendees=5,
        customer_id="c",
        name="Board",
        equipment=["projector"],
    )
    view = domain.booking_news(None, "booking.confirmed", confirmed.model_dump())
    assert (view.room_id, view.equipment, view.status) == ("R-1", ("projector",), "confirmed")
    updated = BookingUpdated(booking_id="bk-1", customer_id="c", room_id="R-2", attendees=5, equipment=[], actor="a")
    view = domain.booking_news(view, "booking.updated", updated.model_dump())
    assert (view.room_id, view.equipment, view.name) == ("R-2", (), "Board")
    cancelled = BookingCancelled(
        booking_id="bk-1", customer_id="c", room_id="R-2", start=T0, end=T0 + timedelta(hours=1), actor="a"
    )
    view = domain.booking_news(view, "booking.cancelled", cancelled.model_dump())
    moved = BookingRescheduled(
        booking_id="bk-1",
        customer_id="c",
        room_id="R-2",
        previous={"room_id": "R-2", "start": T0, "end": T0 + timedelta(hours=1)},
        start=T0 + timedelta(days=1),
        end=T0 + timedelta(days=1, hours=1),
        actor="a",
    )
    assert domain.booking_news(view, "booking.rescheduled", moved.model_dump()).status == "cancelled"


# -- through the handlers -------------------------------------------------------------------------
def _confirmed(booking_id: str, start: datetime, **kw: Any) -> BookingConfirmed:
    fields: dict[str, Any] = {
        "booking_id": booking_id,
        "inquiry_id": f"inq-{booking_id}",
        "room_id": "R-301",
        "start": start,
        "end": start + timedelta(hours=2),
        "attendees": 12,
        "customer_id": "cust-1",
        "name": "Quarterly review",
        "equipment": ["projector", "microphone"],
    }
    return BookingConfirmed(**{**fields, **kw})


async def test_a_complaint_naming_no_booking_gets_the_customers_meeting_its_room_and_equipment() -> None:
    desk = Desk()
    await handlers.booking_news(desk.uow(AT_8), event_in(_confirmed("bk-5", AT_8 - timedelta(hours=1))), AT_8, POLICY)
    cid = await desk.register(AT_8 + timedelta(minutes=5), text="The projector failed twice.")
    state = desk.store.state(cid)
    assert (state.booking_id, state.booking_link, state.room_id, state.equipment, state.service_step) == (
        "bk-5",
        "inferred",
        "R-301",
        ("projector", "microphone"),
        "av",
    )
    booking = desk.store.history[cid][0].data["booking"]
    assert (booking["how"], booking["name"]) == ("inferred", "Quarterly review")


async def test_a_booking_confirmed_after_the_complaint_named_it_checks_the_link_and_gives_the_room() -> None:
    desk = Desk()
    cid = await desk.register(AT_8, booking_id="bk-8")
    assert desk.store.state(cid).booking_link == "given_unknown"
    uow = desk.uow(AT_8 + timedelta(minutes=1))
    await handlers.booking_news(uow, event_in(_confirmed("bk-8", AT_8)), uow.now, POLICY)
    state = desk.store.state(cid)
    assert (state.booking_link, state.room_id) == ("given", "R-301")
    entry = desk.store.history[cid][-1]
    assert (entry.action, entry.actor, entry.data["room_id"]) == (
        "complaint.booking_updated",
        "booking",
        {"from": None, "to": "R-301"},
    )
    again = desk.uow(AT_8 + timedelta(minutes=2))  # the same news again changes nothing
    await handlers.booking_news(again, event_in(_confirmed("bk-8", AT_8)), again.now, POLICY)
    assert len(desk.store.history[cid]) == 2 and again.emitted == []


async def test_the_service_step_is_corrected_with_assign() -> None:
    desk = Desk()
    cid = await desk.register(AT_8)
    command = ComplaintAssign(
        command_id=str(uuid.uuid4()), actor="agent-7", complaint_id=cid, agent_id="agent-7", service_step="catering"
    )
    assert await handlers.lifecycle(desk.uow(AT_8), command_in(command), AT_8, POLICY) is None
    assert desk.store.state(cid).service_step == "catering"
