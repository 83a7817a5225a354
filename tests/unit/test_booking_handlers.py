"""Booking's handlers against the in-memory unit of work: what they store, emit and schedule.

Time is an argument: every handler is called with ``now``; the reminder is fired the way the
scheduler would, with the item as it was scheduled (``uow.due_item``) at the time it falls due.
"""

from __future__ import annotations

import inspect
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from services.booking import domain, handlers
from services.booking.store import BookingStore
from shared.contract.commands import (
    BookingAcceptAlternative,
    BookingCancel,
    BookingChange,
    BookingReschedule,
    RoomsUpsert,
)
from shared.contract.common import Recurrence
from shared.contract.events import BookingDetails, BookingRequested, Envelope, EventData, ReplyRoute

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
EMAIL = ReplyRoute(channel="email", address="chan@example.com", language="zh-Hant")


def store(*bookings: domain.Booking) -> FakeBookingStore:
    return FakeBookingStore([SMALL, MEDIUM, LARGE], bookings)


@dataclass
class DecisionUow(FakeUnitOfWork[FakeBookingStore]):
    """The unit of work of these tests, which are about the decisions: the departments' preparation
    requested with each confirmation is kept aside (``preparation``), not among ``emitted``
    (tests/unit/test_booking_lifecycle.py checks it)."""

    preparation: list[Envelope] = field(default_factory=list)

    def emit(self, data: EventData, *, correlation_id: uuid.UUID, causation_id: uuid.UUID | None = None) -> Envelope:
        envelope = super().emit(data, correlation_id=correlation_id, causation_id=causation_id)
        if envelope.type == "booking.preparation_requested":
            self.emitted.pop()
            self.preparation.append(envelope)
        return envelope


def reminders(uow: FakeUnitOfWork[Any]) -> dict[tuple[str, str], Any]:
    """The day-before reminders among the due items (the meeting's others: test_booking_lifecycle.py)."""
    return {k: v for k, v in uow.due.items() if k[0] == REMINDER}


def uow_for(s: FakeBookingStore, now: datetime = NOW, *, after: FakeUnitOfWork[Any] | None = None) -> DecisionUow:
    """A unit of work on ``s``; ``after``: the one before it, whose due items are still pending
    (the due_items table outlives a transaction)."""
    uow = DecisionUow(s, producer="booking", now=now)
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
    reply_to: ReplyRoute | None = None,
    agenda: str | None = None,
    materials: str | None = None,
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
            agenda=agenda,
            materials=materials,
        ),
        reply_to=reply_to,
    )
    return event_in(data)


async def book(s: FakeBookingStore, start: datetime, now: datetime = NOW, **kw: Any) -> tuple[FakeUnitOfWork, dict]:
    """Book through the handler; the unit of work and the booking.confirmed data (with a reply route,
    the customer is told too)."""
    uow = uow_for(s, now)
    await handlers.booking_requested(uow, requested(start, **kw), now, POLICY)
    told = ["notification.requested"] if kw.get("reply_to") else []
    assert uow.types() == ["booking.confirmed", *told], uow.emitted
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
    assert list(reminders(uow)) == [(REMINDER, booking_id)]
    item = uow.due[(REMINDER, booking_id)]
    assert item.due_at == hk(2, 14)
    assert item.correlation_id == str(msg.correlation_id), "the reminder carries the booking's correlation id"


async def test_a_meeting_booked_less_than_a_day_ahead_gets_no_reminder() -> None:
    uow, _ = await book(store(), NOW + timedelta(hours=23, minutes=59))
    assert reminders(uow) == {}


async def test_the_reminder_lead_comes_from_the_policy() -> None:
    s = store()
    uow = uow_for(s)
    two_hours = replace(POLICY, reminder_lead=timedelta(hours=2))
    await handlers.booking_requested(uow, requested(hk(1, 14)), NOW, two_hours)
    (item,) = reminders(uow).values()
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
    assert {key: item.due_at for (_, key), item in reminders(uow).items()} == {
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
    assert sorted(key for _, key in reminders(uow)) == sorted(c["booking_id"] for c in confirmed[1:])


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
    assert s.busy_queries == [  # the request's own time (the room is taken), then the days around it
        (hk(3, 13, 45), hk(3, 16, 15)),
        POLICY.search_window(domain.Request(hk(3, 14), hk(3, 16), 8)),
    ]


async def test_when_the_best_fitting_room_is_taken_the_next_suitable_room_is_booked() -> None:
    s = store(held("R-S", hk(3, 13), hk(3, 15)))
    uow, confirmed = await book(s, hk(3, 14), room_id=None)
    assert confirmed["room_id"] == "R-M"
    (item,) = reminders(uow).values()
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

    async def insert_bookings(self, new: Sequence[domain.Booking]) -> set[uuid.UUID]:
        self.tried.extend(sorted({b.room_id for b in new}))
        return await super().insert_bookings([b for b in new if b.room_id not in self.taken_meanwhile])


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


# -- requests decided in a batch ---------------------------------------------------------------------
async def test_a_batch_for_one_popular_slot_fills_the_rooms_in_delivery_order_then_rejects_with_alternatives():
    start, end = hk(3, 14), hk(3, 16)
    s = store()
    msgs = [requested(start, end, room_id=None, attendees=5, inquiry_id=f"inq-{n}") for n in range(5)]
    uow = uow_for(s)
    await handlers.booking_requests(uow, msgs, NOW, POLICY)
    rooms = {c["inquiry_id"]: c["room_id"] for c in uow.events("booking.confirmed")}
    assert rooms == {"inq-0": "R-S", "inq-1": "R-M", "inq-2": "R-L"}, "best fit first, each seeing the ones before"
    rejected = uow.events("booking.rejected")
    assert [r["inquiry_id"] for r in rejected] == ["inq-3", "inq-4"]
    for r in rejected:
        assert r["reason"] == "no suitable room is free at that time"
        assert r["alternatives"] and all(datetime.fromisoformat(a["start"]) != start for a in r["alternatives"])
    assert {o.inquiry_id: o.outcome for o in s.requests.values()} == {
        "inq-0": "confirmed", "inq-1": "confirmed", "inq-2": "confirmed", "inq-3": "rejected", "inq-4": "rejected"
    }  # fmt: skip
    assert len(reminders(uow)) == 3


async def test_a_batch_locks_every_room_it_may_book_in_one_order_before_it_reads_their_bookings() -> None:
    s = store()
    msgs = [requested(hk(3, 14), room_id="R-M"), requested(hk(3, 10), room_id=None, attendees=15)]
    await handlers.booking_requests(uow_for(s), msgs, NOW, POLICY)
    assert s.locked_rooms == ["R-L", "R-M"], "the rooms either request may take, by id, in one go"


async def test_an_event_delivered_twice_is_decided_once_in_a_batch_and_after_it() -> None:
    s = store()
    msg = requested(hk(3, 14))
    uow = uow_for(s)
    await handlers.booking_requests(uow, [msg, msg], NOW, POLICY)
    assert uow.types() == ["booking.confirmed"]
    again = uow_for(s, after=uow)
    await handlers.booking_requests(again, [msg], NOW, POLICY)
    assert again.emitted == [] and len(s.of_inquiry(msg.data.inquiry_id)) == 1


async def test_the_same_inquiry_twice_in_one_batch_is_answered_once() -> None:
    s = store()
    first, again = requested(hk(3, 14), inquiry_id="inq-twice"), requested(hk(3, 16), inquiry_id="inq-twice")
    uow = uow_for(s)
    await handlers.booking_requests(uow, [first, again], NOW, POLICY)
    (confirmed,) = uow.events("booking.confirmed")
    assert datetime.fromisoformat(confirmed["start"]) == hk(3, 14), "the first one delivered"
    assert len(s.of_inquiry("inq-twice")) == 1


async def test_a_room_taken_meanwhile_under_a_batch_decides_the_batch_again_without_it() -> None:
    start, end = hk(3, 14), hk(3, 16)
    s = CountingStore(taken_meanwhile=("R-S",))
    msgs = [requested(start, end, room_id=None, attendees=5, inquiry_id=f"inq-{n}") for n in range(3)]
    uow = uow_for(s)
    await handlers.booking_requests(uow, msgs, NOW, POLICY)
    assert s.tried == ["R-L", "R-M", "R-S", "R-L", "R-M"], "all at once; then again, with R-S taken at that time"
    rooms = {c["inquiry_id"]: c["room_id"] for c in uow.events("booking.confirmed")}
    assert rooms == {"inq-0": "R-M", "inq-1": "R-L"}
    (rejected,) = uow.events("booking.rejected")
    assert rejected["inquiry_id"] == "inq-2"
    assert all(b.room_id != "R-S" for b in s.bookings.values()), "nothing of the first round is left"


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
    assert uow.cancelled == [(kind, confirmed["booking_id"]) for kind in domain.BOOKING_DUE]
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
    (item,) = reminders(uow).values()
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
    assert reminders(uow) == {}
    assert (REMINDER, confirmed["booking_id"]) in uow.cancelled


async def test_rescheduling_a_booking_made_without_reminder_to_later_gives_it_one() -> None:
    s = store()
    booked, confirmed = await book(s, hk(1, 20))
    assert reminders(booked) == {}
    uow = uow_for(s, after=booked)
    await handlers.booking_reschedule(uow, reschedule_cmd(confirmed["booking_id"], hk(4, 9)), NOW, POLICY)
    (item,) = reminders(uow).values()
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
    msg = requested(hk(3, 14), reply_to=EMAIL)
    booked = uow_for(s)
    await handlers.booking_requested(booked, msg, NOW, POLICY)
    booking_id = booked.events("booking.confirmed")[0]["booking_id"]

    fired = await fire(booked, s, booking_id, hk(2, 14, 0))
    assert fired.types() == ["booking.reminder_due", "notification.requested"]
    event = fired.emitted[0]
    assert event.correlation_id == msg.correlation_id, "the booking's correlation id"
    assert event.data["booking_id"] == booking_id
    assert (event.data["customer_id"], event.data["room_id"]) == ("cust-1", "R-M")
    assert datetime.fromisoformat(event.data["start"]) == hk(3, 14)
    assert datetime.fromisoformat(event.data["end"]) == hk(3, 16)
    assert event.data["reply_to"] == EMAIL.model_dump(), "where the customer may answer (intake reads it there)"
    assert log.lines == []


async def test_a_reminder_for_a_booking_that_was_cancelled_meanwhile_emits_nothing(log: Log) -> None:
    s = store()
    booked, confirmed = await book(s, hk(3, 14), reply_to=EMAIL)
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
    booked, confirmed = await book(s, hk(3, 14), reply_to=EMAIL)
    fired = await fire(booked, s, confirmed["booking_id"], hk(3, 14, 5))  # the scheduler was down for a day
    assert fired.emitted == []
    assert log.lines[0][1]["reason"] == "the meeting has already started"


async def test_a_reminder_for_a_booking_that_does_not_exist_emits_nothing(log: Log) -> None:
    s = store()
    booked, confirmed = await book(s, hk(3, 14), reply_to=EMAIL)
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


# -- the customer hears back on their reply route ----------------------------------------------------
async def test_a_confirmation_is_sent_to_the_customer_on_their_reply_route() -> None:
    s = store()
    msg = requested(hk(3, 14), reply_to=EMAIL, agenda="預算")
    uow = uow_for(s)
    await handlers.booking_requested(uow, msg, NOW, POLICY)

    assert uow.types() == ["booking.confirmed", "notification.requested"]
    confirmed, notice = uow.emitted
    assert (notice.correlation_id, notice.causation_id) == (msg.correlation_id, msg.event_id)
    n = notice.data
    assert (n["channel"], n["address"], n["language"], n["template"], n["customer_id"]) == (
        "email",
        "chan@example.com",
        "zh-Hant",
        "booking.confirmed",
        "cust-1",
    )
    p = n["parameters"]
    assert p["booking_ids"] == [confirmed.data["booking_id"]]
    assert p["room"] == {"room_id": "R-M", "name": "Medium room", "location": None}
    assert (p["start"], p["end"]) == ("2026-12-03T14:00:00+08:00", "2026-12-03T16:00:00+08:00")
    assert p["when"] == "2026年12月3日（星期四）14:00–16:00"
    assert "您的會議預訂已確認" in p["text"]
    (stored,) = s.of_inquiry(msg.data.inquiry_id)
    assert stored.reply_to == EMAIL, "the booking keeps the route: its reminder goes there"
    assert s.requests[msg.data.inquiry_id].reply_to == EMAIL


async def test_a_series_is_confirmed_to_the_customer_once_with_its_occurrences() -> None:
    s = store()
    uow = uow_for(s)
    msg = requested(hk(3, 10), reply_to=EMAIL, recurrence=Recurrence(freq="weekly", count=3))
    await handlers.booking_requested(uow, msg, NOW, POLICY)
    assert uow.types() == ["booking.confirmed"] * 3 + ["notification.requested"]
    (n,) = uow.events("notification.requested")
    ids = [c["booking_id"] for c in uow.events("booking.confirmed")]
    assert [o["booking_id"] for o in n["parameters"]["occurrences"]] == ids
    assert [o["start"][:10] for o in n["parameters"]["occurrences"]] == ["2026-12-03", "2026-12-10", "2026-12-17"]


@pytest.mark.parametrize("route", [None, ReplyRoute(channel="webform", address=None, language="en")])
async def test_without_a_reply_route_nothing_is_sent_and_an_agent_is_told_to_reach_the_customer(
    route: ReplyRoute | None, log: Log
) -> None:
    s = store(held("R-M", hk(4, 13), hk(4, 15)))
    uow = uow_for(s)
    await handlers.booking_requested(uow, requested(hk(3, 14), reply_to=route, inquiry_id="inq-a"), NOW, POLICY)
    rejected = uow_for(s)
    await handlers.booking_requested(rejected, requested(hk(4, 14), reply_to=route, inquiry_id="inq-b"), NOW, POLICY)
    assert uow.types() == ["booking.confirmed"] and rejected.types() == ["booking.rejected"]
    assert log.lines == [
        (
            "no reply route: an agent must reach the customer",
            {
                "template": "booking.confirmed",
                "customer_id": "cust-1",
                "channel": route and "webform",
                "inquiry_id": "inq-a",
            },
        ),
        (
            "no reply route: an agent must reach the customer",
            {
                "template": "booking.rejected",
                "customer_id": "cust-1",
                "channel": route and "webform",
                "inquiry_id": "inq-b",
            },
        ),
    ]


async def test_a_rejection_tells_the_customer_the_alternatives_and_keeps_them_with_the_request() -> None:
    s = store(held("R-M", hk(3, 13), hk(3, 15)))
    msg = requested(hk(3, 14), room_id="R-M", reply_to=EMAIL)
    uow = uow_for(s)
    await handlers.booking_requested(uow, msg, NOW, POLICY)
    assert uow.types() == ["booking.rejected", "notification.requested"]
    (rejected,) = uow.events("booking.rejected")
    (n,) = uow.events("notification.requested")
    assert n["template"] == "booking.rejected"
    p = n["parameters"]
    assert (p["reason_code"], p["reason"]) == ("room_unavailable", "該時段的會議室已被預訂。")
    offered = [(a["room_id"], datetime.fromisoformat(a["start"])) for a in rejected["alternatives"]]
    told = [(a["accept"]["room_id"], datetime.fromisoformat(a["accept"]["start"])) for a in p["alternatives"]]
    assert told == offered and len(offered) == POLICY.max_alternatives
    assert all(a["accept"]["inquiry_id"] == msg.data.inquiry_id for a in p["alternatives"])
    kept = s.requests[msg.data.inquiry_id]
    assert [(a.room_id, a.start) for a in kept.alternatives] == offered
    assert kept.reply_to == EMAIL


# -- opening hours, a room's own rules --------------------------------------------------------------
async def test_a_request_outside_the_rooms_opening_hours_is_rejected_with_times_within_them() -> None:
    s = FakeBookingStore([SMALL, replace(MEDIUM, opens_at=time(9), closes_at=time(17)), LARGE])
    uow = uow_for(s)
    await handlers.booking_requested(uow, requested(hk(3, 16), room_id="R-M"), NOW, POLICY)
    (rejected,) = uow.events("booking.rejected")
    assert rejected["reason_code"] == "invalid"
    assert rejected["reason"] == "room R-M is open 09:00–17:00 (venue time); the meeting runs 2026-12-03 16:00–18:00"
    alternatives = [(a["room_id"], datetime.fromisoformat(a["start"])) for a in rejected["alternatives"]]
    assert ("R-L", hk(3, 16)) in alternatives, "another room open at that time"
    assert ("R-M", hk(3, 15)) in alternatives, "the room asked for, ending by its closing"
    assert all(datetime.fromisoformat(a["end"]) <= hk(3, 17) for a in rejected["alternatives"] if a["room_id"] == "R-M")
    assert s.bookings == {}


async def test_a_room_with_its_own_rules_is_stored_announced_and_booked_by_them() -> None:
    s = FakeBookingStore()
    cmd = RoomsUpsert(
        command_id="c1",
        actor="ops",
        room_id="hall",
        name="Hall",
        capacity=100,
        equipment=["projector"],
        setup_buffer_minutes=60,
        cleanup_buffer_minutes=0,
        opens_at=time(7),
        closes_at=time(23, 30),
    )
    uow = uow_for(s)
    assert await handlers.rooms_upsert(uow, command_in(cmd), NOW, POLICY) is None
    assert s.rooms_by_id["hall"].setup == timedelta(minutes=60) and s.rooms_by_id["hall"].cleanup == timedelta(0)
    (event,) = uow.events("room.updated")
    assert (event["setup_buffer_minutes"], event["cleanup_buffer_minutes"], event["opens_at"], event["closes_at"]) == (
        60,
        0,
        "07:00:00",
        "23:30:00",
    )
    _, confirmed = await book(s, hk(3, 21, 30), room_id="hall")  # past the venue's 22:00, within the hall's hours
    stored = s.bookings[uuid.UUID(confirmed["booking_id"])]
    assert stored.blocked == (hk(3, 20, 30), hk(3, 23, 30)), "an hour to set up, no cleanup"


async def test_opening_hours_with_an_offset_are_refused() -> None:
    cmd = RoomsUpsert(command_id="c1", actor="ops", room_id="x", name="X", capacity=2, opens_at="09:00+08:00")
    uow = uow_for(FakeBookingStore())
    refusal = await handlers.rooms_upsert(uow, command_in(cmd), NOW, POLICY)
    assert refusal == "opening hours are venue time: give opens_at and closes_at without a UTC offset"


# -- series: 366 occurrences, conflicts named -------------------------------------------------------
async def test_a_series_of_366_is_booked_announced_and_reminded_of_whole() -> None:
    s = store()
    uow = uow_for(s)
    msg = requested(hk(2, 8), hours_end(hk(2, 8), 1), reply_to=EMAIL, recurrence=Recurrence(freq="daily", count=366))
    await handlers.booking_requested(uow, msg, NOW, POLICY)
    assert uow.types() == ["booking.confirmed"] * 366 + ["notification.requested"]
    assert len(s.of_inquiry(msg.data.inquiry_id)) == 366
    assert len(reminders(uow)) == 365, "every occurrence but the first, which is less than a day ahead"
    (n,) = uow.events("notification.requested")
    assert len(n["parameters"]["occurrences"]) == 366


async def test_a_series_longer_than_366_is_refused_not_capped() -> None:
    s = store()
    uow = uow_for(s)
    msg = requested(hk(3, 9), recurrence=Recurrence(freq="daily", until=date(2028, 1, 1)))
    await handlers.booking_requested(uow, msg, NOW, POLICY)
    (rejected,) = uow.events("booking.rejected")
    assert rejected["reason_code"] == "invalid"
    assert "at most 366 occurrences" in rejected["reason"]
    assert rejected["alternatives"] == [] and s.bookings == {}


async def test_a_series_clashing_somewhere_in_every_room_says_which_occurrences() -> None:
    s = store(
        held("R-M", hk(10, 10), hk(10, 12)),
        held("R-L", hk(10, 10), hk(10, 12)),
        held("R-L", hk(17, 10), hk(17, 12)),
    )
    uow = uow_for(s)
    msg = requested(
        hk(3, 10), room_id=None, attendees=15, reply_to=EMAIL, recurrence=Recurrence(freq="weekly", count=3)
    )
    await handlers.booking_requested(uow, msg, NOW, POLICY)
    (rejected,) = uow.events("booking.rejected")
    assert rejected["reason"] == (
        "no suitable room is free for every occurrence; the closest, room R-M, is taken for 1 of 3 occurrences: "
        "2026-12-10 10:00–12:00"
    )
    (n,) = uow.events("notification.requested")
    assert [c["occurrence"] for c in n["parameters"]["conflicts"]] == [1]
    assert "已被預訂的場次：\n- 2026年12月10日（星期四）10:00–12:00" in n["parameters"]["text"]
    for alt in rejected["alternatives"]:  # each alternative holds the whole series
        assert datetime.fromisoformat(alt["start"]) != hk(3, 10) or alt["room_id"] not in {"R-M", "R-L"}


def hours_end(start: datetime, hours: int) -> datetime:
    return start + timedelta(hours=hours)


# -- booking.accept_alternative ---------------------------------------------------------------------
def accept_cmd(inquiry_id: str, alt: dict, command_id: str | None = None) -> Any:
    return command_in(
        BookingAcceptAlternative(
            command_id=command_id or str(uuid.uuid4()),
            actor="cust-1",
            inquiry_id=inquiry_id,
            room_id=alt["room_id"],
            start=alt["start"],
            end=alt["end"],
        )
    )


async def rejected_with_alternatives(s: FakeBookingStore, **kw: Any) -> tuple[FakeUnitOfWork, Any, dict]:
    msg = requested(hk(3, 14), room_id="R-M", reply_to=EMAIL, **kw)
    uow = uow_for(s)
    await handlers.booking_requested(uow, msg, NOW, POLICY)
    (rejected,) = uow.events("booking.rejected")
    assert rejected["alternatives"]
    return uow, msg, rejected


async def test_accepting_an_offered_alternative_books_and_confirms_it_like_a_request() -> None:
    s = store(held("R-M", hk(3, 13), hk(3, 15)))
    first, msg, rejected = await rejected_with_alternatives(s)
    alt = next(a for a in rejected["alternatives"] if a["room_id"] == "R-M")  # another time in the room asked for
    uow = uow_for(s, after=first)
    cmd = accept_cmd(msg.data.inquiry_id, alt)
    assert await handlers.booking_accept_alternative(uow, cmd, NOW, POLICY) is None

    assert uow.types() == ["booking.confirmed", "notification.requested"]
    (confirmed,) = uow.events("booking.confirmed")
    assert (confirmed["inquiry_id"], confirmed["room_id"]) == (msg.data.inquiry_id, "R-M")
    assert datetime.fromisoformat(confirmed["start"]) == datetime.fromisoformat(alt["start"])
    assert all(e.correlation_id == cmd.correlation_id for e in uow.emitted)
    (n,) = uow.events("notification.requested")
    assert (n["address"], n["template"], n["language"]) == ("chan@example.com", "booking.confirmed", "zh-Hant")
    (stored,) = s.of_inquiry(msg.data.inquiry_id)
    assert stored.reply_to == EMAIL and stored.attendees == 8
    assert list(reminders(uow)) == [(REMINDER, confirmed["booking_id"])]
    record = s.requests[msg.data.inquiry_id]
    assert (record.outcome, record.accepted) == (
        "confirmed",
        domain.Slot("R-M", datetime.fromisoformat(alt["start"]), datetime.fromisoformat(alt["end"])),
    )
    assert s.accepted_at[msg.data.inquiry_id] == NOW


async def test_an_alternative_accepted_once_is_not_accepted_again() -> None:
    s = store(held("R-M", hk(3, 13), hk(3, 15)))
    first, msg, rejected = await rejected_with_alternatives(s)
    one, other = rejected["alternatives"][:2]
    await handlers.booking_accept_alternative(
        uow_for(s, after=first), accept_cmd(msg.data.inquiry_id, one), NOW, POLICY
    )
    uow = uow_for(s, after=first)
    refusal = await handlers.booking_accept_alternative(uow, accept_cmd(msg.data.inquiry_id, other), NOW, POLICY)
    assert refusal == "an alternative was already accepted for this request"
    assert uow.emitted == [] and len(s.of_inquiry(msg.data.inquiry_id)) == 1


async def test_accepting_what_was_not_offered_or_for_a_request_not_rejected_is_refused() -> None:
    s = store(held("R-M", hk(3, 13), hk(3, 15)))
    first, msg, rejected = await rejected_with_alternatives(s)
    alt = rejected["alternatives"][0]
    elsewhere = alt | {"start": hk(5, 9).isoformat(), "end": hk(5, 11).isoformat()}
    uow = uow_for(s, after=first)
    assert (
        await handlers.booking_accept_alternative(uow, accept_cmd(msg.data.inquiry_id, elsewhere), NOW, POLICY)
        == f"room {alt['room_id']} at 2026-12-05 09:00–11:00 was not among the alternatives offered"
    )
    await book(s, hk(6, 10), inquiry_id="inq-booked")
    refusal = await handlers.booking_accept_alternative(uow, accept_cmd("inq-booked", alt), NOW, POLICY)
    assert refusal == "the request was not rejected: it is booked as asked"
    assert await handlers.booking_accept_alternative(uow, accept_cmd("inq-nope", alt), NOW, POLICY) == (
        "no booking request 'inq-nope'"
    )
    assert uow.emitted == []


async def test_an_alternative_taken_meanwhile_is_refused_as_no_longer_free() -> None:
    s = store(held("R-M", hk(3, 13), hk(3, 15)))
    first, msg, rejected = await rejected_with_alternatives(s)
    alt = rejected["alternatives"][0]
    start, end = datetime.fromisoformat(alt["start"]), datetime.fromisoformat(alt["end"])
    faster = held(alt["room_id"], start, end)  # someone else took it meanwhile
    s.bookings[faster.booking_id] = faster
    uow = uow_for(s, after=first)
    refusal = await handlers.booking_accept_alternative(uow, accept_cmd(msg.data.inquiry_id, alt), NOW, POLICY)
    assert refusal == f"the alternative is no longer free: room {alt['room_id']} is taken at that time"
    assert uow.emitted == [] and s.of_inquiry(msg.data.inquiry_id) == []
    assert s.requests[msg.data.inquiry_id].outcome == "rejected", "the customer may still take another one"


async def test_accepting_an_alternative_for_a_series_books_every_occurrence_there() -> None:
    s = store(held("R-M", hk(10, 13), hk(10, 15)))
    first, msg, rejected = await rejected_with_alternatives(s, recurrence=Recurrence(freq="weekly", count=3))
    alt = rejected["alternatives"][0]
    uow = uow_for(s, after=first)
    assert await handlers.booking_accept_alternative(uow, accept_cmd(msg.data.inquiry_id, alt), NOW, POLICY) is None
    confirmed = uow.events("booking.confirmed")
    start = datetime.fromisoformat(alt["start"])
    assert [datetime.fromisoformat(c["start"]) for c in confirmed] == [start + timedelta(weeks=i) for i in range(3)]
    assert {c["room_id"] for c in confirmed} == {alt["room_id"]}
    assert len({c["series_id"] for c in confirmed}) == 1


# -- series cancelled, moved and changed as a whole -------------------------------------------------
def series_cmd(model: Any, booking_id: str, **kw: Any) -> Any:
    return command_in(model(command_id=str(uuid.uuid4()), actor="agent-7", booking_id=booking_id, **kw))


async def booked_series(s: FakeBookingStore, count: int = 4, **kw: Any) -> tuple[FakeUnitOfWork, list[dict]]:
    uow = uow_for(s)
    msg = requested(hk(3, 10), recurrence=Recurrence(freq="weekly", count=count), **kw)
    await handlers.booking_requested(uow, msg, NOW, POLICY)
    confirmed = uow.events("booking.confirmed")
    assert len(confirmed) == count
    return uow, confirmed


async def test_cancelling_a_series_cancels_each_occurrence_not_yet_started_with_its_reminder() -> None:
    s = store()
    booked, confirmed = await booked_series(s)
    ids = [c["booking_id"] for c in confirmed]
    now = hk(3, 10, 30)  # the first meeting is under way
    uow = uow_for(s, now, after=booked)
    cmd = series_cmd(BookingCancel, ids[2], scope="series", reason="the board dissolved")
    assert await handlers.booking_cancel(uow, cmd, now, POLICY) is None

    assert [e["booking_id"] for e in uow.events("booking.cancelled")] == ids[1:]
    assert [s.bookings[uuid.UUID(i)].status for i in ids] == ["confirmed"] + ["cancelled"] * 3
    assert uow.cancelled == [(kind, i) for i in ids[1:] for kind in domain.BOOKING_DUE]
    assert all((REMINDER, i) not in uow.due for i in ids[1:])
    assert {uuid.UUID(i) for i in ids} <= s.locked


async def test_cancelling_one_occurrence_leaves_the_rest_of_the_series() -> None:
    s = store()
    booked, confirmed = await booked_series(s)
    ids = [c["booking_id"] for c in confirmed]
    uow = uow_for(s, after=booked)
    assert await handlers.booking_cancel(uow, series_cmd(BookingCancel, ids[1]), NOW, POLICY) is None
    assert [s.bookings[uuid.UUID(i)].status for i in ids] == ["confirmed", "cancelled", "confirmed", "confirmed"]
    again = uow_for(s, after=booked)
    assert await handlers.booking_cancel(again, series_cmd(BookingCancel, ids[1], scope="series"), NOW, POLICY) is None
    assert [e["booking_id"] for e in again.events("booking.cancelled")] == [ids[0], ids[2], ids[3]], (
        "the rest of the series, named by its cancelled occurrence"
    )


async def test_scope_series_on_a_single_booking_acts_on_it_alone() -> None:
    s = store()
    booked, confirmed = await book(s, hk(3, 14))
    uow = uow_for(s, after=booked)
    cmd = series_cmd(BookingCancel, confirmed["booking_id"], scope="series")
    assert await handlers.booking_cancel(uow, cmd, NOW, POLICY) is None
    assert uow.types() == ["booking.cancelled"]


async def test_rescheduling_a_series_moves_every_upcoming_occurrence_and_their_reminders() -> None:
    s = store()
    booked, confirmed = await booked_series(s)
    ids = [c["booking_id"] for c in confirmed]
    uow = uow_for(s, after=booked)
    # a day later each week: the occurrences move past where the next one was not
    cmd = series_cmd(BookingReschedule, ids[0], scope="series", start=hk(4, 15), end=hk(4, 16, 30))
    assert await handlers.booking_reschedule(uow, cmd, NOW, POLICY) is None
    moved = [s.bookings[uuid.UUID(i)] for i in ids]
    assert [(b.start, b.end) for b in moved] == [
        (hk(4, 15) + timedelta(weeks=w), hk(4, 16, 30) + timedelta(weeks=w)) for w in range(4)
    ]
    assert [e["booking_id"] for e in uow.events("booking.rescheduled")] == ids
    assert [uow.due[(REMINDER, i)].due_at for i in ids] == [hk(3, 15) + timedelta(weeks=w) for w in range(4)]


async def test_a_series_move_that_clashes_once_moves_nothing_and_says_where() -> None:
    s = store(held("R-M", hk(18, 15), hk(18, 16)))
    booked, confirmed = await booked_series(s)
    ids = [c["booking_id"] for c in confirmed]
    before = {i: s.bookings[uuid.UUID(i)] for i in ids}
    uow = uow_for(s, after=booked)
    cmd = series_cmd(BookingReschedule, ids[0], scope="series", start=hk(4, 15), end=hk(4, 17))
    refusal = await handlers.booking_reschedule(uow, cmd, NOW, POLICY)
    assert refusal == "room R-M is taken for 1 of 4 occurrences: 2026-12-18 15:00–17:00"
    assert {i: s.bookings[uuid.UUID(i)] for i in ids} == before
    assert uow.emitted == []


async def test_a_daily_series_shifted_by_a_day_passes_itself() -> None:
    """Each occurrence moves onto where the next one was: all or nothing, it is not a clash."""
    s = store()
    uow0 = uow_for(s)
    await handlers.booking_requested(
        uow0, requested(hk(3, 10), recurrence=Recurrence(freq="daily", count=5)), NOW, POLICY
    )
    ids = [c["booking_id"] for c in uow0.events("booking.confirmed")]
    uow = uow_for(s, after=uow0)
    cmd = series_cmd(BookingReschedule, ids[0], scope="series", start=hk(4, 10), end=hk(4, 12))
    assert await handlers.booking_reschedule(uow, cmd, NOW, POLICY) is None
    assert [s.bookings[uuid.UUID(i)].start for i in ids] == [hk(4 + d, 10) for d in range(5)]


async def test_changing_a_booking_rechecks_the_room_and_announces_it() -> None:
    s = store()
    booked, confirmed = await book(s, hk(3, 14))
    uow = uow_for(s, after=booked)
    cmd = series_cmd(BookingChange, confirmed["booking_id"], attendees=18, equipment=["projector", "microphone"])
    assert await handlers.booking_change(uow, cmd, NOW, POLICY) is None
    assert uow.events("booking.updated") == [
        {
            "booking_id": confirmed["booking_id"],
            "customer_id": "cust-1",
            "room_id": "R-M",
            "attendees": 18,
            "equipment": ["microphone", "projector"],
            "actor": "agent-7",
        }
    ]
    stored = s.bookings[uuid.UUID(confirmed["booking_id"])]
    assert (stored.attendees, stored.equipment) == (18, ("microphone", "projector"))
    assert uow.due == booked.due, "time and reminder stay"

    too_many = series_cmd(BookingChange, confirmed["booking_id"], attendees=25)
    nope = uow_for(s, after=booked)
    assert await handlers.booking_change(nope, too_many, NOW, POLICY) == "room R-M holds 20, the meeting needs 25"
    assert nope.emitted == [] and s.bookings[uuid.UUID(confirmed["booking_id"])].attendees == 18


async def test_changing_a_series_changes_every_upcoming_occurrence() -> None:
    s = store()
    booked, confirmed = await booked_series(s)
    ids = [c["booking_id"] for c in confirmed]
    now = hk(3, 11)
    uow = uow_for(s, now, after=booked)
    cmd = series_cmd(BookingChange, ids[1], scope="series", attendees=12)
    assert await handlers.booking_change(uow, cmd, now, POLICY) is None
    assert [e["booking_id"] for e in uow.events("booking.updated")] == ids[1:]
    assert [s.bookings[uuid.UUID(i)].attendees for i in ids] == [8, 12, 12, 12]


async def test_the_reminder_without_a_reply_route_asks_an_agent(log: Log) -> None:
    s = store()
    booked, confirmed = await book(s, hk(3, 14))
    log.lines.clear()
    fired = await fire(booked, s, confirmed["booking_id"], hk(2, 14))
    assert fired.types() == ["booking.reminder_due"]
    assert fired.events("booking.reminder_due")[0]["reply_to"] is None
    assert log.lines == [
        (
            "no reply route: an agent must reach the customer",
            {
                "template": "booking.reminder",
                "customer_id": "cust-1",
                "channel": None,
                "booking_id": confirmed["booking_id"],
            },
        )
    ]


async def test_the_reminder_tells_the_customer_what_to_bring_and_asks_confirm_cancel_change(log: Log) -> None:
    s = store()
    booked, confirmed = await book(s, hk(3, 14), reply_to=EMAIL, agenda="年度預算", materials="財務報告")
    fired = await fire(booked, s, confirmed["booking_id"], hk(2, 14))
    (n,) = fired.events("notification.requested")
    assert (n["template"], n["address"]) == ("booking.reminder", "chan@example.com")
    p = n["parameters"]
    assert (p["booking_id"], p["agenda"], p["materials"], p["equipment"]) == (
        confirmed["booking_id"],
        "年度預算",
        "財務報告",
        ["projector"],
    )
    assert p["reply_options"] == ["confirm", "cancel", "change"]
    assert "請攜帶：財務報告" in p["text"] and "「確認」" in p["text"]
    assert fired.emitted[1].correlation_id == fired.emitted[0].correlation_id


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
    assert set(fake) - set(real) == {"of_inquiry", "tasks_of"}, "the fake has only test helpers besides the store's"
