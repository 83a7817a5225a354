"""The meeting's life on the in-memory unit of work: the preparation asked with each confirmation and
its deadlines, the customer's confirmation the day before, check-in and the no-show release, the end
of the meeting and its survey, the waitlist — each due item fired the way the scheduler would, at the
time it falls due, and nothing at all for a booking cancelled meanwhile."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from services.booking import domain, handlers
from shared.contract.commands import (
    BookingAcceptAlternative,
    BookingCancel,
    BookingChange,
    BookingCheckIn,
    BookingConfirmAttendance,
    BookingPreparationDone,
    BookingReschedule,
    BookingWaitlistAccept,
)
from shared.contract.common import Recurrence
from shared.contract.events import BookingDetails, BookingRequested, ReplyRoute

from .booking_fakes import FakeBookingStore
from .fakes import FakeUnitOfWork, command_in, event_in

HK = ZoneInfo("Asia/Hong_Kong")
POLICY = domain.Policy()


def hk(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=HK)


NOW = hk(1, 9)
MEDIUM = domain.Room("R-M", "Medium room", 20, frozenset({"projector", "audio", "microphone"}), location="3/F")
LARGE = domain.Room("R-L", "Hall", 50, frozenset({"projector", "audio", "microphone"}))
EMAIL = ReplyRoute(channel="email", address="chan@example.com", language="en")
WECHAT = ReplyRoute(channel="wechat", address="wechat:o-waiter", language="zh-Hans")


def store() -> FakeBookingStore:
    return FakeBookingStore([MEDIUM, LARGE])


def uow_for(s: FakeBookingStore, now: datetime = NOW, *, after: FakeUnitOfWork[Any] | None = None) -> FakeUnitOfWork:
    """A unit of work on ``s``; ``after``: the one before, whose due items are still pending."""
    uow = FakeUnitOfWork(s, producer="booking", now=now)
    if after is not None:
        uow.due = after.due
    return uow


def requested(
    start: datetime = hk(3, 14),
    *,
    room_id: str | None = "R-M",
    inquiry_id: str = "inq-1",
    reply_to: ReplyRoute | None = EMAIL,
    wait: bool = False,
    equipment: tuple[str, ...] = ("projector",),
    catering: str | None = "tea",
    customer_id: str = "cust-1",
    agent_id: str | None = None,
    recurrence: Recurrence | None = None,
) -> Any:
    return event_in(
        BookingRequested(
            inquiry_id=inquiry_id,
            customer_id=customer_id,
            channel="email",
            language="en",
            meeting=BookingDetails(
                name="Board meeting",
                start=start,
                end=start + timedelta(hours=2),
                attendees=12,
                room_id=room_id,
                equipment=list(equipment),
                catering=catering,
                materials="annual report",
                recurrence=recurrence,
            ),
            reply_to=reply_to,
            wait_if_taken=wait,
            agent_id=agent_id,
        )
    )


async def book(s: FakeBookingStore, now: datetime = NOW, **kw: Any) -> tuple[FakeUnitOfWork, str]:
    """Book through the handler; its unit of work and the booking id."""
    uow = uow_for(s, now)
    await handlers.booking_requested(uow, requested(**kw), now, POLICY)
    (confirmed,) = uow.events("booking.confirmed")
    return uow, confirmed["booking_id"]


def cmd(model: type, **fields: Any) -> Any:
    return command_in(model(command_id=str(uuid.uuid4()), actor=fields.pop("actor", "agent-7"), **fields))


async def fire(
    kind: str, booked: FakeUnitOfWork, s: FakeBookingStore, key: str, at: datetime | None = None
) -> FakeUnitOfWork:
    """Fire the due item ``kind``/``key`` as the scheduler would: at its due time (or ``at``)."""
    item = booked.due_item(kind, key)
    at = at or item.due_at
    uow = uow_for(s, at, after=booked)
    del uow.due[(kind, key)]  # the scheduler deletes it as it fires (a handler may schedule it again)
    handler = {
        domain.REMINDER: handlers.reminder_due,
        domain.PREPARATION: handlers.preparation_due,
        domain.NO_SHOW: handlers.no_show_due,
        domain.COMPLETION: handlers.completion_due,
        domain.WAITLIST_OFFER: handlers.waitlist_offer_due,
    }[kind]
    await handler(uow, item, at, POLICY)
    return uow


# -- preparation ------------------------------------------------------------------------------------
async def test_a_confirmation_asks_each_department_and_schedules_the_meetings_day() -> None:
    s = store()
    msg = requested()
    uow = uow_for(s)
    await handlers.booking_requested(uow, msg, NOW, POLICY)

    assert uow.types() == ["booking.confirmed"] + ["booking.preparation_requested"] * 3 + ["notification.requested"]
    booking_id = uow.events("booking.confirmed")[0]["booking_id"]
    asked = {e["department"]: e for e in uow.events("booking.preparation_requested")}
    assert {d: datetime.fromisoformat(e["due_by"]) for d, e in asked.items()} == {
        "equipment": hk(3, 12),
        "catering": hk(2, 14),
        "setup": hk(3, 13),
    }
    assert all(e["booking_id"] == booking_id and e["room_id"] == "R-M" for e in asked.values())
    assert asked["catering"]["details"]["catering"] == "tea"
    assert all(e.correlation_id == msg.correlation_id for e in uow.emitted), "one correlation id for the request"
    assert set(s.tasks_of(booking_id)) == {"equipment", "catering", "setup"}, "what was asked is kept"
    assert {kind: item.due_at for (kind, key), item in uow.due.items() if key == booking_id} == {
        domain.REMINDER: hk(2, 14),
        domain.PREPARATION: hk(2, 14),
        domain.NO_SHOW: hk(3, 14, 20),
        domain.COMPLETION: hk(3, 16),
    }
    assert {item.correlation_id for item in uow.due.values()} == {str(msg.correlation_id)}


async def test_a_task_not_done_by_its_deadline_is_raised_once_and_the_item_moves_on() -> None:
    s = store()
    booked, booking_id = await book(s)
    done = uow_for(s, hk(2, 10), after=booked)  # the catering is ordered; nothing else yet
    assert (
        await handlers.booking_preparation_done(
            done,
            cmd(BookingPreparationDone, booking_id=booking_id, department="catering", actor="kitchen"),
            hk(2, 10),
            POLICY,
        )
        is None
    )
    assert done.types() == ["booking.prepared"]
    assert done.events("booking.prepared")[0] == {
        "booking_id": booking_id,
        "department": "catering",
        "actor": "kitchen",
        "note": None,
    }
    assert booked.due[(domain.PREPARATION, booking_id)].due_at == hk(3, 12), "the next deadline: the equipment's"

    at_12 = await fire(domain.PREPARATION, booked, s, booking_id)
    assert at_12.types() == ["booking.preparation_overdue"]
    (overdue,) = at_12.events("booking.preparation_overdue")
    assert (overdue["department"], datetime.fromisoformat(overdue["due_by"])) == ("equipment", hk(3, 12))
    assert s.tasks_of(booking_id)["equipment"].overdue_at == hk(3, 12)
    assert booked.due[(domain.PREPARATION, booking_id)].due_at == hk(3, 13), "on to the setup's deadline"

    at_13 = await fire(domain.PREPARATION, booked, s, booking_id)
    assert [e["department"] for e in at_13.events("booking.preparation_overdue")] == ["setup"]
    assert (domain.PREPARATION, booking_id) not in booked.due, "no deadline left"


async def test_a_department_reporting_twice_or_what_was_not_asked_is_refused() -> None:
    s = store()
    booked, booking_id = await book(s, equipment=(), catering=None)
    setup = cmd(BookingPreparationDone, booking_id=booking_id, department="setup", note="chairs for 12")
    assert await handlers.booking_preparation_done(uow_for(s, after=booked), setup, NOW, POLICY) is None
    assert s.tasks_of(booking_id)["setup"].note == "chairs for 12"
    assert (domain.PREPARATION, booking_id) not in booked.due, "nothing left to watch"
    again = cmd(BookingPreparationDone, booking_id=booking_id, department="setup")
    assert (
        await handlers.booking_preparation_done(uow_for(s, after=booked), again, NOW, POLICY)
        == "the setup preparation was already reported done"
    )
    av = cmd(BookingPreparationDone, booking_id=booking_id, department="equipment")
    assert (
        await handlers.booking_preparation_done(uow_for(s, after=booked), av, NOW, POLICY)
        == "no equipment preparation was asked for this booking"
    )


async def test_changing_the_equipment_asks_the_departments_anew() -> None:
    s = store()
    booked, booking_id = await book(s)
    uow = uow_for(s, after=booked)
    change = cmd(BookingChange, booking_id=booking_id, equipment=["microphone", "audio"])
    assert await handlers.booking_change(uow, change, NOW, POLICY) is None
    assert uow.types() == ["booking.updated"] + ["booking.preparation_requested"] * 3
    (equipment,) = [e for e in uow.events("booking.preparation_requested") if e["department"] == "equipment"]
    assert equipment["details"]["equipment"] == ["audio", "microphone"]
    assert s.tasks_of(booking_id)["equipment"].details["equipment"] == ["audio", "microphone"]


async def test_a_moved_meeting_is_prepared_for_and_falls_due_at_its_new_time() -> None:
    s = store()
    booked, booking_id = await book(s)
    uow = uow_for(s, after=booked)
    move = cmd(BookingReschedule, booking_id=booking_id, start=hk(5, 10), end=hk(5, 12))
    assert await handlers.booking_reschedule(uow, move, NOW, POLICY) is None
    assert uow.types() == ["booking.rescheduled"] + ["booking.preparation_requested"] * 3 + ["notification.requested"]
    (told,) = uow.events("notification.requested")
    assert told["template"] == "booking.rescheduled" and told["parameters"]["booking_ids"] == [booking_id]
    assert "moved" in told["parameters"]["text"] and "reference" in told["parameters"]["text"]
    assert {kind: item.due_at for (kind, key), item in booked.due.items() if key == booking_id} == {
        domain.REMINDER: hk(4, 10),
        domain.PREPARATION: hk(4, 10),
        domain.NO_SHOW: hk(5, 10, 20),
        domain.COMPLETION: hk(5, 12),
    }
    assert s.tasks_of(booking_id)["setup"].due_by == hk(5, 9)


# -- the day before: the customer confirms ----------------------------------------------------------
async def test_the_customer_confirming_attendance_is_recorded_and_thanked_on_their_route() -> None:
    s = store()
    booked, booking_id = await book(s)
    uow = uow_for(s, hk(2, 15), after=booked)
    answer = cmd(BookingConfirmAttendance, booking_id=booking_id, actor="customer")
    assert await handlers.booking_confirm_attendance(uow, answer, hk(2, 15), POLICY) is None
    assert uow.types() == ["booking.attendance_confirmed", "notification.requested"]
    confirmed, notice = uow.emitted
    assert confirmed.data == {"booking_id": booking_id, "customer_id": "cust-1", "actor": "customer"}
    assert confirmed.correlation_id == answer.correlation_id
    assert (notice.data["template"], notice.data["address"]) == ("booking.attendance_confirmed", "chan@example.com")
    assert s.bookings[uuid.UUID(booking_id)].attendance_confirmed_at == hk(2, 15)
    assert uuid.UUID(booking_id) in s.locked
    twice = cmd(BookingConfirmAttendance, booking_id=booking_id, actor="customer")
    assert (
        await handlers.booking_confirm_attendance(uow_for(s, after=booked), twice, hk(2, 16), POLICY)
        == "attendance was already confirmed"
    )


async def test_confirming_attendance_of_a_cancelled_or_unknown_booking_is_refused() -> None:
    s = store()
    booked, booking_id = await book(s)
    await handlers.booking_cancel(uow_for(s, after=booked), cmd(BookingCancel, booking_id=booking_id), NOW, POLICY)
    for ref, reason in [(booking_id, "the booking is already cancelled"), ("nope", "no booking 'nope'")]:
        answer = cmd(BookingConfirmAttendance, booking_id=ref, actor="customer")
        assert await handlers.booking_confirm_attendance(uow_for(s), answer, hk(2, 15), POLICY) == reason


# -- check-in and the no-show release ---------------------------------------------------------------
async def test_a_checked_in_meeting_is_not_released_and_completes_with_a_survey() -> None:
    s = store()
    booked, booking_id = await book(s)
    uow = uow_for(s, hk(3, 13, 50), after=booked)
    assert (
        await handlers.booking_check_in(uow, cmd(BookingCheckIn, booking_id=booking_id), hk(3, 13, 50), POLICY) is None
    )
    (checked,) = uow.events("booking.checked_in")
    assert (checked["room_id"], datetime.fromisoformat(checked["at"])) == ("R-M", hk(3, 13, 50))
    assert (domain.NO_SHOW, booking_id) in uow.cancelled and (domain.NO_SHOW, booking_id) not in booked.due

    ended = await fire(domain.COMPLETION, booked, s, booking_id)
    assert ended.types() == ["booking.completed", "notification.requested"]
    completed, survey = ended.events("booking.completed")[0], ended.events("notification.requested")[0]
    assert (completed["checked_in"], completed["room_id"]) == (True, "R-M")
    assert survey["template"] == "booking.survey" and survey["address"] == "chan@example.com"
    assert survey["parameters"]["survey"] == {"type": "booking", "id": booking_id, "room_id": "R-M", "agent_id": None}
    assert s.bookings[uuid.UUID(booking_id)].status == domain.COMPLETED
    assert ended.emitted[0].correlation_id == booked.emitted[0].correlation_id, "the booking's correlation id"


async def test_the_survey_of_a_meeting_an_agent_booked_names_that_agent() -> None:
    s = store()
    booked, booking_id = await book(s, agent_id="agent-7")
    assert s.bookings[uuid.UUID(booking_id)].agent_id == "agent-7"
    assert s.requests["inq-1"].agent_id == "agent-7"
    at = hk(3, 13, 50)
    await handlers.booking_check_in(
        uow_for(s, at, after=booked), cmd(BookingCheckIn, booking_id=booking_id), at, POLICY
    )
    ended = await fire(domain.COMPLETION, booked, s, booking_id)
    survey = ended.events("notification.requested")[0]["parameters"]["survey"]
    assert survey == {"type": "booking", "id": booking_id, "room_id": "R-M", "agent_id": "agent-7"}


async def test_a_waiter_an_agent_put_on_the_waitlist_keeps_that_agent_when_it_takes_the_offer() -> None:
    s = store()
    booked, booking_id = await book(s)
    wait = uow_for(s)
    await handlers.booking_requested(wait, requested(inquiry_id="inq-w1", wait=True, agent_id="agent-9"), NOW, POLICY)
    cancel = uow_for(s, hk(1, 10), after=booked)
    await handlers.booking_cancel(cancel, cmd(BookingCancel, booking_id=booking_id), hk(1, 10), POLICY)
    take = uow_for(s, hk(1, 11), after=cancel)
    accept = cmd(BookingWaitlistAccept, inquiry_id="inq-w1", actor="customer")
    assert await handlers.booking_waitlist_accept(take, accept, hk(1, 11), POLICY) is None
    (confirmed,) = take.events("booking.confirmed")
    assert s.bookings[uuid.UUID(confirmed["booking_id"])].agent_id == "agent-9"


async def test_nobody_checked_in_releases_the_room_tells_the_customer_and_nothing_else_falls_due() -> None:
    s = store()
    booked, booking_id = await book(s)
    released = await fire(domain.NO_SHOW, booked, s, booking_id)
    assert released.types() == ["booking.released", "notification.requested"]
    event = released.events("booking.released")[0]
    assert (event["reason"], event["customer_id"], event["room_id"]) == ("no_show", "cust-1", "R-M")
    assert released.events("notification.requested")[0]["template"] == "booking.released"
    assert s.bookings[uuid.UUID(booking_id)].status == domain.RELEASED
    assert all(key != booking_id for _, key in booked.due), "no reminder, deadline or survey is left"
    # the room is free again: a request for the rest of the meeting gets it
    later = uow_for(s, hk(3, 14, 20))
    await handlers.booking_requested(later, requested(hk(3, 14, 30), inquiry_id="inq-2"), hk(3, 14, 20), POLICY)
    assert later.events("booking.confirmed")[0]["room_id"] == "R-M"
    # and a check-in that comes too late is refused with the reason
    late = cmd(BookingCheckIn, booking_id=booking_id)
    assert (
        await handlers.booking_check_in(uow_for(s), late, hk(3, 14, 25), POLICY)
        == "the booking was released: nobody checked in"
    )


async def test_a_meeting_nobody_checked_in_for_is_not_completed_or_surveyed() -> None:
    s = store()
    booked, booking_id = await book(s)
    ended = await fire(domain.COMPLETION, booked, s, booking_id)
    assert ended.emitted == []
    assert s.bookings[uuid.UUID(booking_id)].status == domain.CONFIRMED, "left to the no-show rule"


@pytest.mark.parametrize("kind", domain.BOOKING_DUE)
async def test_nothing_falls_due_for_a_booking_cancelled_after_its_item_was_taken(kind: str) -> None:
    s = store()
    booked, booking_id = await book(s)
    item = booked.due_item(kind, booking_id)  # taken by the scheduler, then the booking is cancelled
    cancel = uow_for(s, after=booked)
    await handlers.booking_cancel(cancel, cmd(BookingCancel, booking_id=booking_id), NOW, POLICY)
    assert all(key != booking_id for _, key in booked.due), "the cancellation took every due item with it"
    uow = uow_for(s, item.due_at)
    await {
        domain.REMINDER: handlers.reminder_due,
        domain.PREPARATION: handlers.preparation_due,
        domain.NO_SHOW: handlers.no_show_due,
        domain.COMPLETION: handlers.completion_due,
    }[kind](uow, item, item.due_at, POLICY)
    assert uow.emitted == [] and uow.due == {}


async def test_a_cancellation_is_told_to_the_customer() -> None:
    s = store()
    booked, booking_id = await book(s)
    uow = uow_for(s, after=booked)
    answer = cmd(BookingCancel, booking_id=booking_id, actor="customer", reason="plans changed")
    await handlers.booking_cancel(uow, answer, NOW, POLICY)
    assert uow.types() == ["booking.cancelled", "notification.requested"]
    notice = uow.events("notification.requested")[0]
    assert (notice["template"], notice["address"], notice["parameters"]["booking_ids"]) == (
        "booking.cancelled",
        "chan@example.com",
        [booking_id],
    )


# -- the waitlist -----------------------------------------------------------------------------------
async def waiting(s: FakeBookingStore, inquiry_id: str, *, room_id: str | None = "R-M", **kw: Any) -> FakeUnitOfWork:
    """A request for the taken slot that asks to wait; rejected onto the waitlist."""
    uow = uow_for(s, kw.pop("now", NOW))
    await handlers.booking_requested(
        uow, requested(inquiry_id=inquiry_id, room_id=room_id, wait=True, reply_to=WECHAT, **kw), uow.now, POLICY
    )
    assert uow.types() == ["booking.rejected", "notification.requested"]
    return uow


async def test_a_request_for_a_taken_slot_waits_when_it_asks_to_and_is_told_so() -> None:
    s = store()
    await book(s)
    uow = await waiting(s, "inq-w1")
    record = s.requests["inq-w1"]
    assert (record.waitlist, record.wait) == (domain.WAITING, domain.Wait("R-M", hk(3, 14), hk(3, 16), NOW))
    notice = uow.events("notification.requested")[0]
    assert notice["parameters"]["waitlist"] is True
    assert "您已登记候补" in notice["parameters"]["text"]


async def test_a_cancellation_offers_the_slot_to_the_first_waiter_and_holds_it_for_them() -> None:
    s = store()
    booked, booking_id = await book(s)
    first = await waiting(s, "inq-w1")
    await waiting(s, "inq-w2", now=NOW + timedelta(minutes=5))
    cancel = uow_for(s, hk(1, 10), after=booked)
    cancel.due.update(first.due)
    await handlers.booking_cancel(cancel, cmd(BookingCancel, booking_id=booking_id), hk(1, 10), POLICY)

    assert cancel.types() == [
        "booking.cancelled",
        "notification.requested",
        "booking.waitlist_offered",
        "notification.requested",
    ]
    offered = cancel.events("booking.waitlist_offered")
    assert [(o["inquiry_id"], o["room_id"], datetime.fromisoformat(o["accept_by"])) for o in offered] == [
        ("inq-w1", "R-M", hk(1, 12))
    ], "the first waiter only: the slot is held for it"
    told = cancel.events("notification.requested")[1]
    assert (told["template"], told["address"]) == ("booking.waitlist_offered", "wechat:o-waiter")
    assert told["parameters"]["accept"] == {"command": "booking.waitlist_accept", "inquiry_id": "inq-w1"}
    waiter = s.requests["inq-w1"]
    assert waiter.waitlist == domain.OFFERED and waiter.offer is not None
    hold = s.bookings[waiter.offer.booking_id]
    assert (hold.status, hold.inquiry_id, hold.room_id, hold.start) == (domain.HELD, "inq-w1", "R-M", hk(3, 14))
    assert cancel.due[(domain.WAITLIST_OFFER, "inq-w1")].due_at == hk(1, 12)
    assert s.requests["inq-w2"].waitlist == domain.WAITING
    # the held slot is not free for anyone else meanwhile
    other = uow_for(s, hk(1, 10, 30))
    await handlers.booking_requested(other, requested(inquiry_id="inq-3"), hk(1, 10, 30), POLICY)
    assert other.types()[0] == "booking.rejected"


async def test_the_waiter_takes_the_offer_and_is_booked_like_any_request() -> None:
    s = store()
    booked, booking_id = await book(s)
    await waiting(s, "inq-w1")
    cancel = uow_for(s, hk(1, 10), after=booked)
    await handlers.booking_cancel(cancel, cmd(BookingCancel, booking_id=booking_id), hk(1, 10), POLICY)
    hold_id = s.requests["inq-w1"].offer.booking_id  # type: ignore[union-attr]

    take = uow_for(s, hk(1, 11), after=cancel)
    accept = cmd(BookingWaitlistAccept, inquiry_id="inq-w1", actor="customer")
    assert await handlers.booking_waitlist_accept(take, accept, hk(1, 11), POLICY) is None
    assert take.types() == ["booking.confirmed"] + ["booking.preparation_requested"] * 3 + ["notification.requested"]
    confirmed = take.events("booking.confirmed")[0]
    assert (confirmed["inquiry_id"], confirmed["booking_id"], confirmed["room_id"]) == ("inq-w1", str(hold_id), "R-M")
    assert take.events("notification.requested")[0]["address"] == "wechat:o-waiter"
    assert s.bookings[hold_id].status == domain.CONFIRMED
    record = s.requests["inq-w1"]
    assert (record.outcome, record.waitlist) == (domain.CONFIRMED, domain.ACCEPTED)
    assert (domain.WAITLIST_OFFER, "inq-w1") not in take.due
    assert {kind for kind, key in take.due if key == str(hold_id)} == set(domain.BOOKING_DUE)
    again = cmd(BookingWaitlistAccept, inquiry_id="inq-w1", actor="customer")
    assert (
        await handlers.booking_waitlist_accept(uow_for(s, after=take), again, hk(1, 11), POLICY)
        == "the offer was already accepted"
    )


async def test_an_offer_not_taken_in_time_lapses_and_goes_to_the_next_waiter() -> None:
    s = store()
    booked, booking_id = await book(s)
    await waiting(s, "inq-w1")
    await waiting(s, "inq-w2", now=NOW + timedelta(minutes=5))
    cancel = uow_for(s, hk(1, 10), after=booked)
    await handlers.booking_cancel(cancel, cmd(BookingCancel, booking_id=booking_id), hk(1, 10), POLICY)
    first_hold = s.requests["inq-w1"].offer.booking_id  # type: ignore[union-attr]

    lapsed = await fire(domain.WAITLIST_OFFER, cancel, s, "inq-w1")
    assert s.requests["inq-w1"].waitlist == domain.LAPSED
    assert first_hold not in s.bookings, "the first hold is given back"
    (offered,) = lapsed.events("booking.waitlist_offered")
    assert (offered["inquiry_id"], datetime.fromisoformat(offered["accept_by"])) == ("inq-w2", hk(1, 14))
    assert s.requests["inq-w2"].waitlist == domain.OFFERED
    late = cmd(BookingWaitlistAccept, inquiry_id="inq-w1", actor="customer")
    assert (
        await handlers.booking_waitlist_accept(uow_for(s, after=lapsed), late, hk(1, 12, 5), POLICY)
        == "the offer lapsed at 2026-12-01 12:00 (venue time)"
    )


async def test_a_no_show_offers_the_released_room_to_the_first_waiter_until_shortly_after() -> None:
    s = store()
    booked, booking_id = await book(s)
    await waiting(s, "inq-w1")
    released = await fire(domain.NO_SHOW, booked, s, booking_id)
    assert released.types() == [
        "booking.released",
        "notification.requested",
        "booking.waitlist_offered",
        "notification.requested",
    ]
    offered = released.events("booking.waitlist_offered")[0]
    assert datetime.fromisoformat(offered["accept_by"]) == hk(3, 14, 35), "a quarter of an hour to take it"
    take = uow_for(s, hk(3, 14, 25), after=released)
    accept = cmd(BookingWaitlistAccept, inquiry_id="inq-w1", actor="desk")
    assert await handlers.booking_waitlist_accept(take, accept, hk(3, 14, 25), POLICY) is None
    (confirmed,) = take.events("booking.confirmed")
    new_id = confirmed["booking_id"]
    # under way already: its departments are asked without a deadline to miss, and it has until 14:45 to check in
    assert all(
        datetime.fromisoformat(e["due_by"]) == hk(3, 14, 25) for e in take.events("booking.preparation_requested")
    )
    assert (domain.PREPARATION, new_id) not in take.due
    assert take.due[(domain.NO_SHOW, new_id)].due_at == hk(3, 14, 45)


async def test_a_moved_booking_frees_its_old_slot_for_a_waiter() -> None:
    s = store()
    booked, booking_id = await book(s)
    await waiting(s, "inq-w1")
    uow = uow_for(s, after=booked)
    move = cmd(BookingReschedule, booking_id=booking_id, start=hk(4, 10), end=hk(4, 12))
    assert await handlers.booking_reschedule(uow, move, NOW, POLICY) is None
    assert [e["inquiry_id"] for e in uow.events("booking.waitlist_offered")] == ["inq-w1"]


async def test_a_waiter_that_takes_an_alternative_instead_leaves_the_waitlist_and_its_hold_goes_on() -> None:
    s = store()
    booked, booking_id = await book(s)
    first = await waiting(s, "inq-w1")
    await waiting(s, "inq-w2", now=NOW + timedelta(minutes=5))
    cancel = uow_for(s, hk(1, 10), after=booked)
    await handlers.booking_cancel(cancel, cmd(BookingCancel, booking_id=booking_id), hk(1, 10), POLICY)
    alternative = first.events("booking.rejected")[0]["alternatives"][0]
    take = uow_for(s, hk(1, 10, 30), after=cancel)
    accept = cmd(
        BookingAcceptAlternative,
        inquiry_id="inq-w1",
        room_id=alternative["room_id"],
        start=datetime.fromisoformat(alternative["start"]),
        end=datetime.fromisoformat(alternative["end"]),
        actor="customer",
    )
    assert await handlers.booking_accept_alternative(take, accept, hk(1, 10, 30), POLICY) is None
    assert s.requests["inq-w1"].waitlist == domain.LEFT
    assert [e["inquiry_id"] for e in take.events("booking.waitlist_offered")] == ["inq-w2"]
    assert (domain.WAITLIST_OFFER, "inq-w1") not in take.due


async def test_a_request_rejected_for_another_reason_or_not_asking_to_wait_is_not_waitlisted() -> None:
    s = store()
    await book(s)
    uow = uow_for(s)
    await handlers.booking_requested(uow, requested(inquiry_id="inq-x", wait=False), NOW, POLICY)
    assert s.requests["inq-x"].waitlist is None
    big = uow_for(s)
    msg = requested(inquiry_id="inq-y", room_id="R-M", wait=True)
    msg.data.meeting.attendees = 30  # too many for the room: waiting would not help
    await handlers.booking_requested(big, msg, NOW, POLICY)
    assert s.requests["inq-y"].waitlist is None


async def test_a_series_asking_to_wait_for_its_taken_slot_is_told_it_cannot_with_times_it_can_take() -> None:
    s = store()
    await book(s, room_id="R-M")
    uow = uow_for(s)
    weekly = Recurrence(freq="weekly", count=3)
    msg = requested(inquiry_id="inq-s", room_id="R-M", wait=True, recurrence=weekly, reply_to=WECHAT)
    await handlers.booking_requested(uow, msg, NOW, POLICY)
    assert uow.types() == ["booking.rejected", "notification.requested"]
    record = s.requests["inq-s"]
    assert (record.reason_code, record.waitlist, record.wait) == ("room_unavailable", None, None)
    params = uow.events("notification.requested")[0]["parameters"]
    assert params["waitlist"] is False
    assert params["waitlist_refused"].startswith("定期会议无法登记候补")
    assert params["waitlist_refused"] in params["text"]
    assert params["alternatives"], "times at which every occurrence is free, to take instead"
    # one that did not ask to wait is not told about the waitlist at all
    plain = uow_for(s)
    await handlers.booking_requested(plain, requested(inquiry_id="inq-t", recurrence=weekly), NOW, POLICY)
    assert plain.events("notification.requested")[0]["parameters"]["waitlist_refused"] is None


async def test_an_offer_taken_by_a_request_that_never_waited_is_refused() -> None:
    s = store()
    await book(s)
    uow = uow_for(s)
    await handlers.booking_requested(uow, requested(inquiry_id="inq-x"), NOW, POLICY)
    for inquiry_id, reason in [("inq-x", "the request is not on the waitlist"), ("nope", "no booking request 'nope'")]:
        accept = cmd(BookingWaitlistAccept, inquiry_id=inquiry_id)
        assert await handlers.booking_waitlist_accept(uow_for(s), accept, NOW, POLICY) == reason


def test_every_booking_command_and_due_item_has_its_handler() -> None:
    """The day-before answer (booking.confirm_attendance, sent by intake) and every other command is
    taken — none would be dead-lettered as unknown — and every due item kind fires."""
    from services.booking.main import svc

    names = [
        "rooms.upsert",
        "booking.cancel",
        "booking.reschedule",
        "booking.change",
        "booking.accept_alternative",
        "booking.preparation_done",
        "booking.confirm_attendance",
        "booking.check_in",
        "booking.waitlist_accept",
    ]
    assert all(svc.command_model(n) is not None for n in names)
    assert svc.command_model("booking.confirm_attendance") is BookingConfirmAttendance
    assert set(svc._due) == {*domain.BOOKING_DUE, domain.WAITLIST_OFFER}
