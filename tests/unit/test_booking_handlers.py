"""Booking's handlers against the in-memory unit of work: what they store, emit and schedule.

Time is an argument: every handler is called with ``now``; the reminder is fired the way the
scheduler would, with the item as it was scheduled (``uow.due_item``) at the time it falls due.
"""

from __future__ import annotations

import inspect
import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from services.booking import domain, handlers
from services.booking.store import BookingStore
from shared.contract.commands import BookingCancel, BookingReschedule, RoomsUpsert
from shared.contract.common import Recurrence
from shared.contract.events import BookingDetails, BookingRequested

from .booking_fakes import FakeBookingStore
from .fakes import FakeUnitOfWork, command_in, event_in

HK = ZoneInfo("Asia/Hong_Kong")
POLICY = domain.Policy()  # 15 + 15 min buffers, reminders 24 hours ahead


def hk(day: int, hour: int, minute: int = 0) -> datetime:
    """A time in December 2026, venue time."""
    return datetime(2026, 12, day, hour, minute, tzinfo=HK)


NOW = hk(1, 9)
SMALL = domain.Room("R-S", "Small room", 10, frozenset({"projector", "whiteboard"}))
MEDIUM = domain.Room("R-M", "Medium room", 20, frozenset({"projector", "audio", "microphone"}))
LARGE = domain.Room("R-L", "Hall", 50, frozenset({"projector", "audio", "microphone"}))
REMINDER = domain.REMINDER


def store(*bookings: domain.Booking) -> FakeBookingStore:
    return FakeBookingStore([SMALL, MEDIUM, LARGE], bookings)


def uow_for(s: FakeBookingStore, now: datetime = NOW, *, after: FakeUnitOfWork[Any] | None = None) -> FakeUnitOfWork:
    """A unit of work on ``s``; ``after``: the one before it, whose due items are still pending
    (the due_items table outlives a transaction)."""
    uow = FakeUnitOfWork(s, producer="booking", now=now)
    if after is not None:
        uow.due = after.due
    return uow


def requested(
    start: datetime,
    end: datetime | None = None,
    *,
    room_id: str | None = "R-M",
    attendees: int = 8,
    equipment: tuple[str, ...] = ("projector",),
    inquiry_id: str | None = None,
    recurrence: Recurrence | None = None,
) -> Any:
    data = BookingRequested(
        inquiry_id=inquiry_id or f"inq-{uuid.uuid4().hex[:8]}",
        customer_id="cust-1",
        channel="webform",
        language="en",
        meeting=BookingDetails(
            name="Board meeting",
            start=start,
            end=end or start + timedelta(hours=2),
            attendees=attendees,
            room_id=room_id,
            equipment=list(equipment),
            recurrence=recurrence,
        ),
    )
    return event_in(data)


async def book(s: FakeBookingStore, start: datetime, now: datetime = NOW, **kw: Any) -> tuple[FakeUnitOfWork, dict]:
    """Book through the handler; the unit of work and the booking.confirmed data."""
    uow = uow_for(s, now)
    await handlers.booking_requested(uow, requested(start, **kw), now, POLICY)
    assert uow.types() == ["booking.confirmed"], uow.emitted
    return uow, uow.events("booking.confirmed")[0]


def held(room_id: str, start: datetime, end: datetime, *, status: str = domain.CONFIRMED) -> domain.Booking:
    """A booking already in the store."""
    return domain.Booking(
        booking_id=uuid.uuid4(),
        inquiry_id=f"old-{uuid.uuid4().hex[:6]}",
        room_id=room_id,
        customer_id="cust-0",
        name="Earlier meeting",
        start=start,
        end=end,
        blocked=POLICY.blocked(start, end),
        attendees=5,
        equipment=("projector",),
        correlation_id=str(uuid.uuid4()),
        status=status,
    )


# -- booking.requested ------------------------------------------------------------------------------
async def test_a_request_for_a_free_room_is_confirmed_stored_and_recorded() -> None:
    s = store()
    msg = requested(hk(3, 14), room_id="R-M")
    uow = uow_for(s)
    await handlers.booking_requested(uow, msg, NOW, POLICY)

    assert uow.types() == ["booking.confirmed"]
    (event,) = uow.emitted
    assert event.correlation_id == msg.correlation_id
    assert event.causation_id == msg.event_id
    data = event.data
    assert data["room_id"] == "R-M"
    assert datetime.fromisoformat(data["start"]) == hk(3, 14)
    assert datetime.fromisoformat(data["end"]) == hk(3, 16)
    assert (data["attendees"], data["customer_id"], data["name"]) == (8, "cust-1", "Board meeting")
    assert data["equipment"] == ["projector"]
    assert data["series_id"] is None

    (stored,) = s.of_inquiry(msg.data.inquiry_id)
    assert str(stored.booking_id) == data["booking_id"]
    assert stored.status == domain.CONFIRMED
    assert stored.blocked == (hk(3, 13, 45), hk(3, 16, 15)), "the buffers are part of what the room is taken for"
    assert stored.correlation_id == str(msg.correlation_id)
    assert stored.details["name"] == "Board meeting"
    assert s.requests[msg.data.inquiry_id].outcome == "confirmed"


async def test_a_reminder_is_scheduled_24_hours_before_the_meeting() -> None:
    s = store()
    msg = requested(hk(3, 14))
    uow = uow_for(s)
    await handlers.booking_requested(uow, msg, NOW, POLICY)

    booking_id = uow.events("booking.confirmed")[0]["booking_id"]
    assert list(uow.due) == [(REMINDER, booking_id)]
    item = uow.due[(REMINDER, booking_id)]
    assert item.due_at == hk(2, 14)
    assert item.correlation_id == str(msg.correlation_id), "the reminder carries the booking's correlation id"


async def test_a_meeting_booked_less_than_a_day_ahead_gets_no_reminder() -> None:
    uow, _ = await book(store(), NOW + timedelta(hours=23, minutes=59))
    assert uow.due == {}


async def test_the_reminder_lead_comes_from_the_policy() -> None:
    s = store()
    uow = uow_for(s)
    two_hours = replace(POLICY, reminder_lead=timedelta(hours=2))
    await handlers.booking_requested(uow, requested(hk(1, 14)), NOW, two_hours)
    (item,) = uow.due.values()
    assert item.due_at == hk(1, 12)


async def test_each_occurrence_of_a_series_is_booked_announced_and_reminded_of() -> None:
    s = store()
    uow = uow_for(s)
    msg = requested(hk(3, 10), recurrence=Recurrence(freq="weekly", count=3))
    await handlers.booking_requested(uow, msg, NOW, POLICY)

    confirmed = uow.events("booking.confirmed")
    assert [datetime.fromisoformat(c["start"]) for c in confirmed] == [hk(3, 10), hk(10, 10), hk(17, 10)]
    assert len({c["series_id"] for c in confirmed}) == 1 and confirmed[0]["series_id"] is not None
    assert [b.occurrence for b in s.of_inquiry(msg.data.inquiry_id)] == [0, 1, 2]
    assert {key: item.due_at for (_, key), item in uow.due.items()} == {
        confirmed[0]["booking_id"]: hk(2, 10),
        confirmed[1]["booking_id"]: hk(9, 10),
        confirmed[2]["booking_id"]: hk(16, 10),
    }


async def test_a_series_starting_within_a_day_is_reminded_of_its_later_occurrences_only() -> None:
    s = store()
    uow = uow_for(s)
    await handlers.booking_requested(
        uow, requested(hk(1, 18), recurrence=Recurrence(freq="daily", count=3)), NOW, POLICY
    )
    confirmed = uow.events("booking.confirmed")
    assert len(confirmed) == 3
    assert sorted(key for _, key in uow.due) == sorted(c["booking_id"] for c in confirmed[1:])


async def test_a_room_taken_at_that_time_is_rejected_with_alternatives_and_nothing_booked() -> None:
    s = store(held("R-M", hk(3, 13), hk(3, 15)))
    msg = requested(hk(3, 14), room_id="R-M")
    uow = uow_for(s)
    await handlers.booking_requested(uow, msg, NOW, POLICY)

    assert uow.types() == ["booking.rejected"]
    (event,) = uow.emitted
    assert event.causation_id == msg.event_id
    rejected = event.data
    assert rejected["reason_code"] == "room_unavailable"
    assert rejected["reason"] == "room R-M is taken at that time"
    offered = [(a["room_id"], datetime.fromisoformat(a["start"])) for a in rejected["alternatives"]]
    assert offered, "the customer is offered something else"
    assert ("R-L", hk(3, 14)) in offered, "another suitable room at the same time"
    assert ("R-M", hk(3, 14)) not in offered
    assert s.of_inquiry(msg.data.inquiry_id) == []
    assert uow.due == {}
    outcome = s.requests[msg.data.inquiry_id]
    assert (outcome.outcome, outcome.reason_code) == ("rejected", "room_unavailable")
    assert s.busy_queries == [POLICY.search_window(domain.Request(hk(3, 14), hk(3, 16), 8))]


async def test_when_the_best_fitting_room_is_taken_the_next_suitable_room_is_booked() -> None:
    s = store(held("R-S", hk(3, 13), hk(3, 15)))
    uow, confirmed = await book(s, hk(3, 14), room_id=None)
    assert confirmed["room_id"] == "R-M"
    (item,) = uow.due.values()
    assert item.key == confirmed["booking_id"]


async def test_when_every_suitable_room_is_taken_no_suitable_room_is_free() -> None:
    s = store(*(held(r, hk(3, 13), hk(3, 15)) for r in ("R-S", "R-M", "R-L")))
    uow = uow_for(s)
    await handlers.booking_requested(uow, requested(hk(3, 14), room_id=None), NOW, POLICY)
    (rejected,) = uow.events("booking.rejected")
    assert rejected["reason"] == "no suitable room is free at that time"
    assert rejected["alternatives"], "other times are offered"
    for alt in rejected["alternatives"]:
        assert datetime.fromisoformat(alt["start"]) != hk(3, 14)


class CountingStore(FakeBookingStore):
    """Counts insert attempts; ``taken_meanwhile``: rooms another transaction books between this
    request's look at the bookings and its insert (the race the database's constraint decides)."""

    def __init__(self, *bookings: domain.Booking, taken_meanwhile: tuple[str, ...] = ()):
        super().__init__([SMALL, MEDIUM, LARGE], bookings)
        self.tried: list[str] = []
        self.taken_meanwhile = set(taken_meanwhile)

    async def try_insert_bookings(self, new: Sequence[domain.Booking]) -> bool:
        self.tried.append(new[0].room_id)
        if new[0].room_id in self.taken_meanwhile:
            return False
        return await super().try_insert_bookings(new)


async def test_rooms_already_taken_at_that_time_are_not_tried() -> None:
    start, end = hk(3, 14), hk(3, 16)
    s = CountingStore(held("R-S", start, end), held("R-M", start, end))
    uow = uow_for(s)
    await handlers.booking_requested(uow, requested(start, end, room_id=None, attendees=5), NOW, POLICY)
    assert s.tried == ["R-L"], "straight to the one room still free, no insert into a taken room"
    assert uow.events("booking.confirmed")[0]["room_id"] == "R-L"


async def test_a_popular_slot_with_every_room_taken_is_rejected_without_trying_any() -> None:
    start, end = hk(3, 14), hk(3, 16)
    s = CountingStore(*(held(r, start, end) for r in ("R-S", "R-M", "R-L")))
    uow = uow_for(s)
    await handlers.booking_requested(uow, requested(start, end, room_id=None, attendees=5), NOW, POLICY)
    assert s.tried == []
    (rejected,) = uow.events("booking.rejected")
    assert rejected["reason"] == "no suitable room is free at that time" and rejected["alternatives"]


async def test_a_room_taken_by_a_concurrent_request_meanwhile_falls_through_to_the_next() -> None:
    start, end = hk(3, 14), hk(3, 16)
    s = CountingStore(taken_meanwhile=("R-S",))
    uow = uow_for(s)
    await handlers.booking_requested(uow, requested(start, end, room_id=None, attendees=5), NOW, POLICY)
    assert s.tried == ["R-S", "R-M"], "the database said no to the best fit; the next free one is booked"
    assert uow.events("booking.confirmed")[0]["room_id"] == "R-M"


async def test_a_cancelled_booking_does_not_hold_its_room() -> None:
    s = store(held("R-M", hk(3, 13), hk(3, 15), status=domain.CANCELLED))
    _, confirmed = await book(s, hk(3, 14), room_id="R-M")
    assert confirmed["room_id"] == "R-M"


async def test_a_series_clashing_on_one_occurrence_is_not_booked_at_all() -> None:
    s = store(held("R-M", hk(10, 10), hk(10, 12)))
    uow = uow_for(s)
    msg = requested(hk(3, 10), room_id="R-M", recurrence=Recurrence(freq="weekly", count=3))
    await handlers.booking_requested(uow, msg, NOW, POLICY)
    assert uow.types() == ["booking.rejected"]
    assert s.of_inquiry(msg.data.inquiry_id) == []
    assert uow.due == {}


async def test_the_same_inquiry_asked_twice_is_answered_once() -> None:
    s = store()
    first = requested(hk(3, 14), inquiry_id="inq-twice")
    again = requested(hk(3, 14), inquiry_id="inq-twice")  # another event id, the same inquiry
    uow = uow_for(s)
    await handlers.booking_requested(uow, first, NOW, POLICY)
    second = uow_for(s, after=uow)
    await handlers.booking_requested(second, again, NOW, POLICY)
    assert second.emitted == []
    assert len(s.of_inquiry("inq-twice")) == 1


async def test_a_meeting_in_the_past_is_rejected_as_invalid_without_alternatives() -> None:
    s = store()
    uow = uow_for(s)
    await handlers.booking_requested(uow, requested(NOW - timedelta(hours=1)), NOW, POLICY)
    (rejected,) = uow.events("booking.rejected")
    assert (rejected["reason_code"], rejected["reason"]) == ("invalid", "the meeting would start in the past")
    assert rejected["alternatives"] == []
    assert s.busy_queries == [], "nothing to offer, nothing to look up"


async def test_a_room_too_small_is_rejected_with_larger_rooms_offered() -> None:
    uow = uow_for(store())
    await handlers.booking_requested(uow, requested(hk(3, 14), room_id="R-S", attendees=15), NOW, POLICY)
    (rejected,) = uow.events("booking.rejected")
    assert rejected["reason_code"] == "room_too_small"
    assert rejected["reason"] == "room R-S holds 10, the meeting needs 15"
    assert {a["room_id"] for a in rejected["alternatives"]} <= {"R-M", "R-L"}
    assert rejected["alternatives"]


# -- rooms.upsert -----------------------------------------------------------------------------------
async def test_upserting_a_room_stores_it_and_announces_it() -> None:
    s = FakeBookingStore()
    uow = uow_for(s)
    cmd = RoomsUpsert(
        command_id="c1",
        actor="ops",
        room_id="harbour",
        name="Harbour Room",
        location="3/F",
        capacity=12,
        equipment=["whiteboard", "projector", "projector"],
    )
    assert await handlers.rooms_upsert(uow, command_in(cmd), NOW, POLICY) is None
    assert s.rooms_by_id["harbour"] == domain.Room(
        "harbour", "Harbour Room", 12, frozenset({"projector", "whiteboard"}), "3/F", True
    )
    assert uow.events("room.updated") == [
        {
            "room_id": "harbour",
            "name": "Harbour Room",
            "location": "3/F",
            "capacity": 12,
            "equipment": ["projector", "whiteboard"],
            "active": True,
            "setup_buffer_minutes": None,  # the venue's defaults
            "cleanup_buffer_minutes": None,
            "opens_at": None,
            "closes_at": None,
        }
    ]


async def test_a_room_taken_out_of_service_is_no_longer_booked() -> None:
    s = store()
    retire = RoomsUpsert(command_id="c2", actor="ops", room_id="R-S", name="Small room", capacity=10, active=False)
    await handlers.rooms_upsert(uow_for(s), command_in(retire), NOW, POLICY)
    _, confirmed = await book(s, hk(3, 14), room_id=None)
    assert confirmed["room_id"] == "R-M"


# -- booking.cancel ---------------------------------------------------------------------------------
def cancel_cmd(booking_id: str, reason: str | None = "customer request") -> Any:
    return command_in(
        BookingCancel(command_id=str(uuid.uuid4()), actor="agent-7", booking_id=booking_id, reason=reason)
    )


async def test_cancelling_a_booking_marks_it_cancelled_and_announces_it() -> None:
    s = store()
    booked, confirmed = await book(s, hk(3, 14))
    uow = uow_for(s, after=booked)
    msg = cancel_cmd(confirmed["booking_id"])
    assert await handlers.booking_cancel(uow, msg, NOW, POLICY) is None

    assert s.bookings[uuid.UUID(confirmed["booking_id"])].status == domain.CANCELLED
    assert uuid.UUID(confirmed["booking_id"]) in s.locked, "the booking is held while it changes"
    (event,) = uow.emitted
    assert event.type == "booking.cancelled"
    assert event.correlation_id == msg.correlation_id
    assert event.data["booking_id"] == confirmed["booking_id"]
    assert (event.data["room_id"], event.data["actor"], event.data["reason"]) == ("R-M", "agent-7", "customer request")
    assert datetime.fromisoformat(event.data["start"]) == hk(3, 14)


async def test_cancelling_a_booking_cancels_its_reminder_in_the_same_unit_of_work() -> None:
    s = store()
    booked, confirmed = await book(s, hk(3, 14))
    key = (REMINDER, confirmed["booking_id"])
    assert key in booked.due
    uow = uow_for(s, after=booked)
    await handlers.booking_cancel(uow, cancel_cmd(confirmed["booking_id"]), NOW, POLICY)
    assert uow.types() == ["booking.cancelled"]
    assert uow.cancelled == [key]
    assert key not in uow.due


async def test_a_cancelled_booking_frees_its_room() -> None:
    s = store()
    booked, confirmed = await book(s, hk(3, 14), room_id="R-M")
    await handlers.booking_cancel(uow_for(s, after=booked), cancel_cmd(confirmed["booking_id"]), NOW, POLICY)
    _, again = await book(s, hk(3, 14), room_id="R-M")
    assert again["room_id"] == "R-M"


async def test_cancelling_twice_is_refused_the_second_time() -> None:
    s = store()
    booked, confirmed = await book(s, hk(3, 14))
    await handlers.booking_cancel(uow_for(s, after=booked), cancel_cmd(confirmed["booking_id"]), NOW, POLICY)
    uow = uow_for(s, after=booked)
    refusal = await handlers.booking_cancel(uow, cancel_cmd(confirmed["booking_id"]), NOW, POLICY)
    assert refusal == "the booking is already cancelled"
    assert uow.emitted == [] and uow.cancelled == []


@pytest.mark.parametrize("ref", ["not-a-uuid", str(uuid.uuid4())])
async def test_cancelling_a_booking_that_does_not_exist_is_refused(ref: str) -> None:
    uow = uow_for(store())
    assert await handlers.booking_cancel(uow, cancel_cmd(ref), NOW, POLICY) == f"no booking {ref!r}"
    assert uow.emitted == [] and uow.cancelled == []


# -- booking.reschedule -----------------------------------------------------------------------------
def reschedule_cmd(booking_id: str, start: datetime, hours: int = 2, room_id: str | None = None) -> Any:
    return command_in(
        BookingReschedule(
            command_id=str(uuid.uuid4()),
            actor="agent-7",
            booking_id=booking_id,
            start=start,
            end=start + timedelta(hours=hours),
            room_id=room_id,
        )
    )


async def test_rescheduling_moves_the_booking_and_announces_where_it_was() -> None:
    s = store()
    booked, confirmed = await book(s, hk(3, 14))
    uow = uow_for(s, after=booked)
    msg = reschedule_cmd(confirmed["booking_id"], hk(5, 10))
    assert await handlers.booking_reschedule(uow, msg, NOW, POLICY) is None

    moved = s.bookings[uuid.UUID(confirmed["booking_id"])]
    assert (moved.room_id, moved.start, moved.end) == ("R-M", hk(5, 10), hk(5, 12))
    assert moved.blocked == (hk(5, 9, 45), hk(5, 12, 15))
    (event,) = uow.emitted
    assert event.type == "booking.rescheduled"
    assert event.correlation_id == msg.correlation_id
    assert datetime.fromisoformat(event.data["start"]) == hk(5, 10)
    assert event.data["previous"]["room_id"] == "R-M"
    assert datetime.fromisoformat(event.data["previous"]["start"]) == hk(3, 14)
    assert event.data["actor"] == "agent-7"


async def test_rescheduling_moves_the_reminder() -> None:
    s = store()
    booked, confirmed = await book(s, hk(3, 14))
    uow = uow_for(s, after=booked)
    await handlers.booking_reschedule(uow, reschedule_cmd(confirmed["booking_id"], hk(5, 10)), NOW, POLICY)
    (item,) = uow.due.values()
    assert (item.key, item.due_at) == (confirmed["booking_id"], hk(4, 10))
    assert item.correlation_id == booked.due[(REMINDER, confirmed["booking_id"])].correlation_id, (
        "still the booking's correlation id, not the command's"
    )


async def test_rescheduling_to_less_than_a_day_ahead_cancels_the_reminder() -> None:
    s = store()
    booked, confirmed = await book(s, hk(3, 14))
    uow = uow_for(s, after=booked)
    await handlers.booking_reschedule(uow, reschedule_cmd(confirmed["booking_id"], hk(1, 20)), NOW, POLICY)
    assert uow.types() == ["booking.rescheduled"]
    assert uow.due == {}
    assert uow.cancelled == [(REMINDER, confirmed["booking_id"])]


async def test_rescheduling_a_booking_made_without_reminder_to_later_gives_it_one() -> None:
    s = store()
    booked, confirmed = await book(s, hk(1, 20))
    assert booked.due == {}
    uow = uow_for(s, after=booked)
    await handlers.booking_reschedule(uow, reschedule_cmd(confirmed["booking_id"], hk(4, 9)), NOW, POLICY)
    (item,) = uow.due.values()
    assert item.due_at == hk(3, 9)


async def test_rescheduling_onto_a_taken_time_is_refused_and_changes_nothing() -> None:
    s = store(held("R-M", hk(5, 11), hk(5, 12)))
    booked, confirmed = await book(s, hk(3, 14))
    before = s.bookings[uuid.UUID(confirmed["booking_id"])]
    uow = uow_for(s, after=booked)
    refusal = await handlers.booking_reschedule(uow, reschedule_cmd(confirmed["booking_id"], hk(5, 10)), NOW, POLICY)
    assert refusal == "room R-M is taken at that time"
    assert s.bookings[before.booking_id] == before
    assert uow.emitted == [] and uow.cancelled == []
    assert uow.due[(REMINDER, confirmed["booking_id"])].due_at == hk(2, 14)


async def test_rescheduling_into_another_room_checks_that_room() -> None:
    s = store(held("R-L", hk(5, 11), hk(5, 12)))
    booked, confirmed = await book(s, hk(3, 14))
    taken = await handlers.booking_reschedule(
        uow_for(s, after=booked), reschedule_cmd(confirmed["booking_id"], hk(5, 10), room_id="R-L"), NOW, POLICY
    )
    assert taken == "room R-L is taken at that time"
    uow = uow_for(s, after=booked)
    ok = await handlers.booking_reschedule(
        uow, reschedule_cmd(confirmed["booking_id"], hk(6, 10), room_id="R-L"), NOW, POLICY
    )
    assert ok is None
    assert uow.events("booking.rescheduled")[0]["room_id"] == "R-L"
    assert s.bookings[uuid.UUID(confirmed["booking_id"])].room_id == "R-L"


async def test_a_booking_may_be_moved_to_overlap_its_own_old_time() -> None:
    s = store()
    booked, confirmed = await book(s, hk(3, 14))
    uow = uow_for(s, after=booked)
    assert (
        await handlers.booking_reschedule(uow, reschedule_cmd(confirmed["booking_id"], hk(3, 15)), NOW, POLICY) is None
    )


@pytest.mark.parametrize(
    ("start", "room_id", "reason"),
    [
        (hk(1, 8), None, "the new time is in the past"),
        (hk(5, 10), "R-S", "room R-S lacks audio"),
        (hk(5, 10), "R-X", "room 'R-X' does not exist or is not in service"),
    ],
)
async def test_rescheduling_is_refused_when_the_new_time_or_room_cannot_work(
    start: datetime, room_id: str | None, reason: str
) -> None:
    s = store()
    booked, confirmed = await book(s, hk(3, 14), equipment=("projector", "audio"))
    before = s.bookings[uuid.UUID(confirmed["booking_id"])]
    uow = uow_for(s, after=booked)
    assert (
        await handlers.booking_reschedule(
            uow, reschedule_cmd(confirmed["booking_id"], start, room_id=room_id), NOW, POLICY
        )
        == reason
    )
    assert s.bookings[before.booking_id] == before
    assert uow.emitted == []


async def test_rescheduling_a_cancelled_booking_is_refused() -> None:
    s = store()
    booked, confirmed = await book(s, hk(3, 14))
    await handlers.booking_cancel(uow_for(s, after=booked), cancel_cmd(confirmed["booking_id"]), NOW, POLICY)
    uow = uow_for(s, after=booked)
    refusal = await handlers.booking_reschedule(uow, reschedule_cmd(confirmed["booking_id"], hk(5, 10)), NOW, POLICY)
    assert refusal == "the booking is already cancelled"
    assert uow.due == {}


# -- the reminder falls due -------------------------------------------------------------------------
class Log:
    def __init__(self) -> None:
        self.lines: list[tuple[str, dict[str, Any]]] = []

    def info(self, event: str, **kw: Any) -> None:
        self.lines.append((event, kw))


@pytest.fixture
def log(monkeypatch: pytest.MonkeyPatch) -> Log:
    recorder = Log()
    monkeypatch.setattr(handlers, "log", recorder)
    return recorder


async def fire(booked: FakeUnitOfWork, s: FakeBookingStore, booking_id: str, at: datetime) -> FakeUnitOfWork:
    """Fire the reminder as the scheduler would, at ``at``, in a unit of work of its own."""
    item = booked.due_item(REMINDER, booking_id)
    uow = uow_for(s, at, after=booked)
    await handlers.reminder_due(uow, item, at, POLICY)
    return uow


async def test_a_due_reminder_tells_the_customer_about_the_meeting(log: Log) -> None:
    s = store()
    msg = requested(hk(3, 14))
    booked = uow_for(s)
    await handlers.booking_requested(booked, msg, NOW, POLICY)
    booking_id = booked.events("booking.confirmed")[0]["booking_id"]

    fired = await fire(booked, s, booking_id, hk(2, 14, 0))
    assert fired.types() == ["booking.reminder_due"]
    (event,) = fired.emitted
    assert event.correlation_id == msg.correlation_id, "the booking's correlation id"
    assert event.data["booking_id"] == booking_id
    assert (event.data["customer_id"], event.data["room_id"]) == ("cust-1", "R-M")
    assert datetime.fromisoformat(event.data["start"]) == hk(3, 14)
    assert datetime.fromisoformat(event.data["end"]) == hk(3, 16)
    assert log.lines == []


async def test_a_reminder_for_a_booking_that_was_cancelled_meanwhile_emits_nothing(log: Log) -> None:
    s = store()
    booked, confirmed = await book(s, hk(3, 14))
    item = booked.due_item(REMINDER, confirmed["booking_id"])  # taken by the scheduler before the cancel
    await s.cancel_booking(uuid.UUID(confirmed["booking_id"]))
    uow = uow_for(s, hk(2, 14))
    await handlers.reminder_due(uow, item, hk(2, 14), POLICY)
    assert uow.emitted == []
    assert log.lines == [
        ("booking reminder not sent", {"booking_id": confirmed["booking_id"], "reason": "the booking is cancelled"})
    ]


async def test_a_reminder_for_a_meeting_that_has_started_emits_nothing(log: Log) -> None:
    s = store()
    booked, confirmed = await book(s, hk(3, 14))
    fired = await fire(booked, s, confirmed["booking_id"], hk(3, 14, 5))  # the scheduler was down for a day
    assert fired.emitted == []
    assert log.lines[0][1]["reason"] == "the meeting has already started"


async def test_a_reminder_for_a_booking_that_does_not_exist_emits_nothing(log: Log) -> None:
    s = store()
    booked, confirmed = await book(s, hk(3, 14))
    item = booked.due_item(REMINDER, confirmed["booking_id"])
    uow = uow_for(FakeBookingStore(), hk(2, 14))
    await handlers.reminder_due(uow, replace(item, key="not-a-uuid"), hk(2, 14), POLICY)
    await handlers.reminder_due(uow, item, hk(2, 14), POLICY)
    assert uow.emitted == []
    assert [kw["reason"] for _, kw in log.lines] == ["the booking does not exist"] * 2


async def test_a_moved_meeting_is_reminded_of_at_its_new_time(log: Log) -> None:
    s = store()
    booked, confirmed = await book(s, hk(3, 14))
    await handlers.booking_reschedule(
        uow_for(s, after=booked), reschedule_cmd(confirmed["booking_id"], hk(5, 10)), NOW, POLICY
    )
    assert booked.due[(REMINDER, confirmed["booking_id"])].due_at == hk(4, 10)
    fired = await fire(booked, s, confirmed["booking_id"], hk(4, 10))
    (reminder,) = fired.events("booking.reminder_due")
    assert datetime.fromisoformat(reminder["start"]) == hk(5, 10)


# -- the fake is faithful -----------------------------------------------------------------------------
def test_the_fake_store_offers_exactly_what_the_real_store_offers() -> None:
    def public(cls: type) -> dict[str, list[str]]:
        return {
            name: list(inspect.signature(fn).parameters)
            for name, fn in inspect.getmembers(cls, inspect.isfunction)
            if not name.startswith("_")
        }

    real, fake = public(BookingStore), public(FakeBookingStore)
    assert {k: v for k, v in fake.items() if k in real} == real
    assert set(fake) - set(real) == {"of_inquiry"}, "the fake has only test helpers besides the store's methods"
