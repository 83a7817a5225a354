"""Properties of booking, whatever the rooms and requests (hypothesis).

Random rooms (capacity, equipment, their own buffers and opening hours or the venue's) and a random
stream of requests and series, booked through the handlers on the fake store (whose clash check
mirrors the database's exclusion constraint), with some rejections answered by accepting an
alternative, some bookings moved and some changed. Afterwards, checked independently of the rules
under test:

- no two bookings of a room that hold it (not cancelled) overlap, their buffers included, and each
  booking's blocked interval is its meeting plus its room's buffers;
- every booking that holds a room fits it: capacity, equipment, and it starts and ends within the
  room's opening hours on its day (venue time);
- every alternative offered could be booked as offered.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from services.booking import domain, handlers
from shared.contract.commands import BookingAcceptAlternative, BookingChange, BookingReschedule
from shared.contract.common import Recurrence
from shared.contract.events import BookingDetails, BookingRequested, ReplyRoute

from .booking_fakes import FakeBookingStore
from .fakes import FakeUnitOfWork, command_in, event_in

HK = ZoneInfo("Asia/Hong_Kong")
POLICY = domain.Policy()  # the venue: 15 + 15 min buffers, 08:00-22:00
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=HK)
KIT = ("projector", "audio", "microphone", "whiteboard")
ROUTE = ReplyRoute(channel="email", address="guest@example.com", language="en")


# -- rooms ------------------------------------------------------------------------------------------
@st.composite
def room_rules(draw: st.DrawFn) -> dict[str, Any]:
    """A room's own buffers and hours, or the venue's (None). Hours within one day: opens before it
    closes, 00:00 closing is midnight."""
    minutes = st.none() | st.sampled_from([0, 5, 10, 30, 45, 60, 90])
    opens = draw(st.none() | st.integers(6, 12) | st.integers(0, 14))
    closes = draw(st.none() | st.integers(max(17, (opens or 8) + 1), 24) | st.integers((opens or 8) + 1, 24))
    return {
        "setup": None if (m := draw(minutes)) is None else timedelta(minutes=m),
        "cleanup": None if (m := draw(minutes)) is None else timedelta(minutes=m),
        "opens_at": None if opens is None else time(opens),
        "closes_at": None if closes is None else time(closes % 24),
    }


@st.composite
def rooms(draw: st.DrawFn) -> list[domain.Room]:
    n = draw(st.integers(1, 4))
    return [
        domain.Room(
            room_id=f"R{i}",
            name=f"Room {i}",
            capacity=draw(st.integers(5, 30) | st.integers(1, 30)),
            equipment=frozenset(draw(st.sets(st.sampled_from(KIT), min_size=2) | st.sets(st.sampled_from(KIT)))),
            **draw(room_rules()),
        )
        for i in range(n)
    ]


# -- what happens -----------------------------------------------------------------------------------
@st.composite
def meeting(draw: st.DrawFn, n_rooms: int) -> dict[str, Any]:
    start = datetime(2026, 12, 1, tzinfo=HK) + timedelta(
        days=draw(st.integers(0, 3)),
        hours=draw(st.integers(7, 20) | st.integers(7, 20) | st.integers(0, 23)),  # mostly in the day
        minutes=draw(st.sampled_from([0, 15, 30, 45])),
    )
    recurrence = draw(
        st.none()
        | st.builds(Recurrence, freq=st.sampled_from(["daily", "weekly"]), count=st.integers(1, 5), until=st.none())
    )
    return {
        "start": start,
        "end": start + timedelta(minutes=draw(st.sampled_from([15, 30, 60, 90, 120, 240]))),
        "attendees": draw(st.integers(1, 10) | st.integers(1, 10) | st.integers(1, 32)),
        "equipment": sorted(draw(st.sets(st.sampled_from(KIT), max_size=1) | st.sets(st.sampled_from(KIT)))),
        "room_id": draw(st.none() | st.sampled_from([f"R{i}" for i in range(n_rooms)] + ["R-unknown"])),
        "recurrence": recurrence,
    }


@dataclass
class Step:
    kind: str  # request | accept | move | change
    meeting: dict[str, Any]
    pick: int  # which earlier booking, which alternative
    shift_minutes: int
    attendees: int


@st.composite
def scenario(draw: st.DrawFn) -> tuple[list[domain.Room], list[Step]]:
    venue = draw(rooms())
    steps = draw(
        st.lists(
            st.builds(
                Step,
                kind=st.sampled_from(["request"] * 5 + ["accept", "accept", "move", "change"]),
                meeting=meeting(len(venue)),
                pick=st.integers(0, 50),
                shift_minutes=st.sampled_from([-90, -30, 15, 45, 60, 120, 24 * 60]),
                attendees=st.integers(1, 32),
            ),
            min_size=3,
            max_size=12,
        )
    )
    return venue, steps


async def play(venue: list[domain.Room], steps: list[Step]) -> tuple[FakeBookingStore, list[dict[str, Any]]]:
    """Run the steps through the handlers; the store, and every booking.rejected emitted."""
    store = FakeBookingStore(venue)
    rejections: list[dict[str, Any]] = []
    for n, step in enumerate(steps):
        uow: FakeUnitOfWork[FakeBookingStore] = FakeUnitOfWork(store, producer="booking", now=NOW)
        held = sorted(
            (b for b in store.bookings.values() if b.status == domain.CONFIRMED), key=lambda b: (b.start, b.room_id)
        )
        if step.kind == "accept" and rejections and rejections[step.pick % len(rejections)]["alternatives"]:
            rejected = rejections[step.pick % len(rejections)]
            alt = rejected["alternatives"][step.pick % len(rejected["alternatives"])]
            cmd = BookingAcceptAlternative(command_id=f"c{n}", actor="a", inquiry_id=rejected["inquiry_id"], **alt)
            await handlers.booking_accept_alternative(uow, command_in(cmd), NOW, POLICY)
        elif step.kind == "move" and held:
            b = held[step.pick % len(held)]
            start = b.start + timedelta(minutes=step.shift_minutes)
            cmd = BookingReschedule(
                command_id=f"c{n}",
                actor="a",
                booking_id=str(b.booking_id),
                start=start,
                end=start + (b.end - b.start),
                room_id=step.meeting["room_id"] if step.pick % 3 == 0 else None,
                scope="series" if step.pick % 2 else "occurrence",
            )
            await handlers.booking_reschedule(uow, command_in(cmd), NOW, POLICY)
        elif step.kind == "change" and held:
            b = held[step.pick % len(held)]
            cmd = BookingChange(
                command_id=f"c{n}",
                actor="a",
                booking_id=str(b.booking_id),
                attendees=step.attendees,
                equipment=step.meeting["equipment"] if step.pick % 2 else None,
                scope="series" if step.pick % 3 == 0 else "occurrence",
            )
            await handlers.booking_change(uow, command_in(cmd), NOW, POLICY)
        else:
            data = BookingRequested(
                inquiry_id=f"inq-{n}",
                customer_id="cust",
                channel="webform",
                language="en",
                meeting=BookingDetails(name="m", **step.meeting),
                reply_to=ROUTE,
            )
            await handlers.booking_requested(uow, event_in(data), NOW, POLICY)
            rejections += uow.events("booking.rejected")
    return store, rejections


# -- the properties ---------------------------------------------------------------------------------
def buffers(room: domain.Room) -> tuple[timedelta, timedelta]:
    return (
        room.setup if room.setup is not None else timedelta(minutes=15),
        room.cleanup if room.cleanup is not None else timedelta(minutes=15),
    )


def within_hours(room: domain.Room, start: datetime, end: datetime) -> bool:
    """Opening hours within one day (what the strategy draws): opens on the meeting's day at
    ``opens``, closes the same day at ``closes`` (00:00: midnight); 00:00 to 00:00 never closes."""
    opens = room.opens_at if room.opens_at is not None else time(8)
    closes = room.closes_at if room.closes_at is not None else time(22)
    if opens == closes:
        return True
    day: date = start.astimezone(HK).date()
    open_at = datetime.combine(day, opens, tzinfo=HK)
    close_at = datetime.combine(day + timedelta(days=1) if closes == time(0) else day, closes, tzinfo=HK)
    return open_at <= start and end <= close_at


def check(venue: list[domain.Room], store: FakeBookingStore, rejections: list[dict[str, Any]]) -> None:
    by_id = {r.room_id: r for r in venue}
    holding = [b for b in store.bookings.values() if b.status != domain.CANCELLED]
    for b in holding:
        room = by_id[b.room_id]
        setup, cleanup = buffers(room)
        assert b.blocked == (b.start - setup, b.end + cleanup), f"{b} is blocked with {room}'s buffers"
        assert b.attendees <= room.capacity, f"{b} in {room}"
        assert set(b.equipment) <= room.equipment, f"{b} in {room}"
        assert within_hours(room, b.start, b.end), f"{b} outside the hours of {room}"
        assert b.start >= NOW
    for i, a in enumerate(holding):
        for b in holding[i + 1 :]:
            if a.room_id == b.room_id:
                assert not (a.blocked[0] < b.blocked[1] and b.blocked[0] < a.blocked[1]), f"{a} overlaps {b}"
    for rejected in rejections:
        for alt in rejected["alternatives"]:
            room = by_id[alt["room_id"]]
            start, end = datetime.fromisoformat(alt["start"]), datetime.fromisoformat(alt["end"])
            assert within_hours(room, start, end), f"{alt} offered outside the hours of {room}"
            assert start >= NOW, "never in the past"


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario())
def test_no_room_is_ever_double_booked_and_every_booking_fits_its_room(case: tuple[list[domain.Room], list[Step]]):
    venue, steps = case
    store, rejections = asyncio.run(play(venue, steps))
    check(venue, store, rejections)
    held = sum(b.status == domain.CONFIRMED for b in store.bookings.values())
    event(f"bookings holding a room: {'none' if not held else '1-3' if held < 4 else '4+'}")
    event(f"alternatives accepted: {sum(o.accepted is not None for o in store.requests.values()) > 0}")


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rooms(), st.lists(meeting(4), min_size=2, max_size=10))
def test_the_same_requests_in_any_room_keep_every_room_clear(venue: list[domain.Room], meetings: list[dict[str, Any]]):
    """Requests only, many for the same rooms: conflicts and alternatives are what is exercised."""
    steps = [Step("request", m, 0, 0, 1) for m in meetings]
    store, rejections = asyncio.run(play(venue, steps))
    check(venue, store, rejections)
    confirmed = {b.inquiry_id for b in store.bookings.values()}
    for outcome in store.requests.values():  # every request has exactly its answer
        assert (outcome.outcome == domain.CONFIRMED) == (outcome.inquiry_id in confirmed)


def test_the_fake_store_plays_the_exclusion_constraint() -> None:
    """A sanity check of the property's referee: the fake refuses an overlap of blocked intervals."""
    room = domain.Room("R0", "r", 10)
    start = NOW + timedelta(days=1)

    def hour_at(t: datetime) -> domain.Booking:
        end = t + timedelta(hours=1)
        return domain.Booking(uuid.uuid4(), f"i-{t:%H%M}", "R0", "c", "m", t, end, POLICY.blocked(t, end), 1, (), "x")

    store = FakeBookingStore([room], [hour_at(start)])
    # its setup overlaps the first one's cleanup; half an hour later they only touch
    assert asyncio.run(store.try_insert_bookings([hour_at(start + timedelta(hours=1, minutes=29))])) is False
    assert asyncio.run(store.try_insert_bookings([hour_at(start + timedelta(hours=1, minutes=30))])) is True


# -- a batch decided at once --------------------------------------------------------------------------
def _requested(n: int, m: dict[str, Any], wait: bool) -> Any:
    data = BookingRequested(
        inquiry_id=f"inq-{n}",
        customer_id="cust",
        channel="webform",
        language="en",
        meeting=BookingDetails(name="m", **m),
        reply_to=ROUTE,
        wait_if_taken=wait,
    )
    return event_in(data)


def _answers(store: FakeBookingStore, emitted: list[Any]) -> dict[str, Any]:
    """What each inquiry got, ids aside: its outcome, its bookings, and the events and notices sent."""
    out: dict[str, Any] = {}
    for inquiry_id, o in store.requests.items():
        booked = [(b.room_id, b.start, b.end, b.blocked, b.occurrence) for b in store.of_inquiry(inquiry_id)]
        out[inquiry_id] = (o.outcome, o.reason_code, o.reason, o.alternatives, o.waitlist, o.wait, booked)
    for env in emitted:
        data = {k: v for k, v in env.data.items() if k not in ("booking_id", "series_id", "booking_ids", "text")}
        if env.type == "notification.requested":
            params = data["parameters"]
            data = {k: params.get(k) for k in ("inquiry_id", "reason", "alternatives", "conflicts", "waitlist", "when")}
            data["alternatives"] = [{k: v for k, v in a.items() if k != "accept"} for a in data["alternatives"] or []]
        out.setdefault(f"events of {data.get('inquiry_id')}", []).append((env.type, str(sorted(data.items()))))
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rooms(), st.lists(meeting(4), max_size=4), st.lists(st.tuples(meeting(4), st.booleans()), min_size=1, max_size=12)
)
def test_a_batch_decided_at_once_equals_the_same_requests_decided_one_by_one(
    venue: list[domain.Room], earlier: list[dict[str, Any]], batch: list[tuple[dict[str, Any], bool]]
):
    async def run() -> tuple[dict[str, Any], dict[str, Any]]:
        one, together = FakeBookingStore(venue), FakeBookingStore(venue)
        for n, m in enumerate(earlier):  # the same bookings before, in both
            msg = _requested(1000 + n, m, False)
            for s in (one, together):
                await handlers.booking_requested(FakeUnitOfWork(s, producer="booking", now=NOW), msg, NOW, POLICY)
        msgs = [_requested(n, m, wait) for n, (m, wait) in enumerate(batch)]
        singly: list[Any] = []
        for msg in msgs:
            uow: FakeUnitOfWork[FakeBookingStore] = FakeUnitOfWork(one, producer="booking", now=NOW)
            await handlers.booking_requested(uow, msg, NOW, POLICY)
            singly += uow.emitted
        at_once: FakeUnitOfWork[FakeBookingStore] = FakeUnitOfWork(together, producer="booking", now=NOW)
        await handlers.booking_requests(at_once, msgs, NOW, POLICY)
        return _answers(one, singly), _answers(together, at_once.emitted)

    singly, at_once = asyncio.run(run())
    assert at_once == singly
    decided = [v[0] for k, v in at_once.items() if k.startswith("inq-") and int(k[4:]) < 1000]
    event(f"confirmed in the batch: {min(decided.count('confirmed'), 3)}")
