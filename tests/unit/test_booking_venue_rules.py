"""Booking rules a venue expects, in plain Python: opening hours (the venue's and a room's own),
per-room buffers, series of up to 366 meetings with their conflicts named, series cancelled,
moved and changed as a whole, alternatives accepted, and what the customer is told."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.booking import domain
from services.booking.domain import Plan, Policy, Rejection, Request, Room, Slot, alternatives, plan
from shared.contract.events import ReplyRoute

HK = ZoneInfo("Asia/Hong_Kong")
POLICY = Policy()  # 15 + 15 min buffers, 08:00-22:00 Hong Kong time, 5 alternatives within 7 days


def hk(day: int, hour: int, minute: int = 0) -> datetime:
    """A time in December 2026, venue time (3 December 2026 is a Thursday)."""
    return datetime(2026, 12, day, hour, minute, tzinfo=HK)


NOW = hk(1, 9)
SMALL = Room("R-S", "Small room", 10, frozenset({"projector"}))
MEDIUM = Room("R-M", "Medium room", 20, frozenset({"projector", "audio"}), "2/F")
LARGE = Room("R-L", "Hall", 50, frozenset({"projector", "audio"}), "G/F")
ROOMS = {r.room_id: r for r in (SMALL, MEDIUM, LARGE)}
EMAIL = ReplyRoute(channel="email", address="chan@example.com", language="zh-Hant")


def req(start: datetime, end: datetime, attendees: int = 8, room_id: str | None = None, **kw: object) -> Request:
    return Request(start, end, attendees, frozenset({"projector"}), room_id, **kw)


def ask(request: Request, *, reply_to: ReplyRoute | None = EMAIL, inquiry_id: str = "inq-1") -> domain.Ask:
    details = {
        "name": "Board meeting",
        "start": request.start.isoformat(),
        "end": request.end.isoformat(),
        "attendees": request.attendees,
        "room_id": request.room_id,
        "equipment": sorted(request.equipment),
    }
    return domain.Ask(inquiry_id, "cust-1", "Board meeting", request, details, str(uuid.UUID(int=9)), reply_to)


# -- opening hours ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("start", "end", "inside"),
    [
        (hk(2, 8), hk(2, 10), True),  # from opening
        (hk(2, 20), hk(2, 22), True),  # to closing
        (hk(2, 7, 59), hk(2, 9), False),
        (hk(2, 21), hk(2, 22, 1), False),
        (hk(2, 21), hk(3, 9), False),  # over night
        (datetime(2026, 12, 2, 0, 0, tzinfo=UTC), datetime(2026, 12, 2, 1, 0, tzinfo=UTC), True),  # 08:00 HK
        (datetime(2026, 12, 1, 23, 0, tzinfo=UTC), datetime(2026, 12, 2, 1, 0, tzinfo=UTC), False),  # 07:00 HK
    ],
)
def test_a_meeting_must_start_and_end_within_the_venues_hours_in_venue_time(start, end, inside):
    assert POLICY.within_hours(None, start, end) is inside


def test_a_room_asked_for_outside_its_own_hours_is_refused_with_the_hours_and_offers_alternatives():
    short = replace(SMALL, opens_at=time(9), closes_at=time(18))
    result = plan(req(hk(2, 17), hk(2, 19), room_id="R-S"), {"R-S": short}, NOW, POLICY)
    assert isinstance(result, Rejection)
    assert (result.code, result.why) == ("invalid", "outside_hours")
    assert result.reason == "room R-S is open 09:00–18:00 (venue time); the meeting runs 2026-12-02 17:00–19:00"
    assert result.facts == {"room": "Small room", "room_id": "R-S", "opens": "09:00", "closes": "18:00"}
    assert result.offers_alternatives, "the nearest times within the hours are offered"
    # the same meeting in the venue's hours is fine elsewhere
    assert isinstance(plan(req(hk(2, 17), hk(2, 19), room_id="R-M"), ROOMS, NOW, POLICY), Plan)


def test_rooms_closed_at_that_time_are_left_out_when_no_room_is_asked_for():
    rooms = {**ROOMS, "R-S": replace(SMALL, closes_at=time(18)), "R-M": replace(MEDIUM, opens_at=time(19))}
    result = plan(req(hk(2, 17), hk(2, 19)), rooms, NOW, POLICY)
    assert isinstance(result, Plan)
    assert [r.room_id for r in result.candidates] == ["R-L"]


def test_when_no_suitable_room_is_open_the_request_says_so():
    early = req(hk(2, 6), hk(2, 7, 30))
    result = plan(early, ROOMS, NOW, POLICY)
    assert isinstance(result, Rejection)
    assert (result.code, result.why) == ("invalid", "none_open")
    assert "R-S 08:00–22:00" in result.reason and "2026-12-02 06:00–07:30" in result.reason


@pytest.mark.parametrize(
    ("start", "end", "inside"),
    [
        (hk(2, 23), hk(3, 1), True),  # over midnight, within the night's opening
        (hk(3, 1), hk(3, 2), True),  # after midnight: the opening that began the evening before
        (hk(3, 1, 30), hk(3, 2, 30), False),
        (hk(2, 17), hk(2, 19), False),
    ],
)
def test_a_room_open_over_night_closes_the_next_day(start, end, inside):
    night = replace(LARGE, opens_at=time(18), closes_at=time(2))
    assert POLICY.within_hours(night, start, end) is inside


def test_closing_at_midnight_and_rooms_that_never_close():
    late = replace(LARGE, closes_at=time(0))
    assert POLICY.within_hours(late, hk(2, 22), hk(3, 0))
    assert not POLICY.within_hours(late, hk(2, 23), hk(3, 0, 30))
    always = replace(LARGE, opens_at=time(0), closes_at=time(0))
    assert POLICY.within_hours(always, hk(2, 23), hk(3, 1))
    assert domain.hours_text(late, POLICY) == ("08:00", "24:00")


def test_each_occurrence_of_a_series_must_be_within_the_hours():
    """In a time zone with summer time, a series written in UTC moves by an hour in venue time."""
    london = Policy(tz=ZoneInfo("Europe/London"))
    room = replace(SMALL, opens_at=time(9), closes_at=time(17))
    start = datetime(2026, 10, 19, 8, 0, tzinfo=UTC)  # 09:00 BST; a week later 08:00 GMT
    series = req(start, start + timedelta(hours=1), room_id="R-S", recurrence_freq="weekly", recurrence_count=3)
    result = plan(series, {"R-S": room}, datetime(2026, 10, 1, tzinfo=UTC), london)
    assert isinstance(result, Rejection) and result.why == "outside_hours"
    assert "occurrence 2 runs 2026-10-26 08:00–09:00" in result.reason


def test_alternatives_are_within_each_rooms_own_hours():
    rooms = {"R-S": replace(SMALL, opens_at=time(10), closes_at=time(12)), "R-M": replace(MEDIUM, closes_at=time(16))}
    request = req(hk(2, 14), hk(2, 15), room_id="R-S")  # outside R-S's hours
    slots = alternatives(request, rooms, {}, POLICY, NOW)
    assert slots
    for s in slots:
        assert POLICY.within_hours(rooms[s.room_id], s.start, s.end), s
    assert slots[0] == Slot("R-M", hk(2, 14), hk(2, 15)), "the other room is open at the time asked for"
    assert Slot("R-S", hk(2, 11), hk(2, 12)) in slots, "the nearest time the small room is open"


def test_availability_lists_only_rooms_open_at_that_time():
    rooms = {**ROOMS, "R-S": replace(SMALL, closes_at=time(14))}
    found = domain.availability(req(hk(2, 14), hk(2, 15)), rooms, {}, POLICY, NOW)
    assert found.free_rooms == ["R-M", "R-L"]


def test_rescheduling_outside_the_new_rooms_hours_is_refused():
    moved = domain.reschedule(
        booking(),
        "b-7",
        {**ROOMS, "R-L": replace(LARGE, closes_at=time(18))},
        start=hk(5, 17),
        end=hk(5, 19),
        room_id="R-L",
        actor="a",
        now=NOW,
        policy=POLICY,
    )
    assert moved == domain.Refusal("room R-L is open 08:00–18:00 (venue time); the meeting runs 2026-12-05 17:00–19:00")


# -- a room's own buffers ---------------------------------------------------------------------------
def test_a_rooms_own_buffers_make_its_blocked_interval():
    hall = replace(LARGE, setup=timedelta(minutes=60), cleanup=timedelta(0))
    assert POLICY.blocked(hk(2, 10), hk(2, 11), hall) == (hk(2, 9), hk(2, 11))
    assert POLICY.blocked(hk(2, 10), hk(2, 11), SMALL) == (hk(2, 9, 45), hk(2, 11, 15)), "unset: the venue's"
    only_setup = replace(LARGE, setup=timedelta(minutes=5))
    assert POLICY.buffers(only_setup) == (timedelta(minutes=5), timedelta(minutes=15))


def test_a_booking_is_blocked_with_its_rooms_buffers():
    hall = replace(LARGE, setup=timedelta(minutes=45), cleanup=timedelta(minutes=30))
    attempt = domain.request_booking(ask(req(hk(2, 10), hk(2, 11), room_id="R-L")), {"R-L": hall}, NOW, POLICY)
    assert isinstance(attempt, domain.Attempt)
    assert attempt.bookings[0].blocked == (hk(2, 9, 15), hk(2, 11, 30))


def test_a_long_cleanup_keeps_the_next_meeting_out_of_that_room_only():
    slow = replace(SMALL, cleanup=timedelta(minutes=60))
    fast = replace(MEDIUM, cleanup=timedelta(0), setup=timedelta(0))
    rooms = {"R-S": slow, "R-M": fast}
    busy = {"R-S": [POLICY.blocked(hk(2, 9), hk(2, 10), slow)], "R-M": [POLICY.blocked(hk(2, 9), hk(2, 10), fast)]}
    attempt = domain.request_booking(ask(req(hk(2, 10, 30), hk(2, 11))), rooms, NOW, POLICY)
    assert isinstance(attempt, domain.Attempt) and attempt.room.room_id == "R-S", "the best fit first"
    step = attempt.knowing(busy)
    assert isinstance(step, domain.Attempt)
    assert step.room.room_id == "R-M", "R-S is still being cleaned until 11:00; R-M needs no buffer"
    assert step.bookings[0].blocked == (hk(2, 10, 30), hk(2, 11))


def test_alternatives_keep_clear_of_a_rooms_own_buffers():
    slow = replace(SMALL, setup=timedelta(minutes=60), cleanup=timedelta(minutes=60))
    busy = {"R-S": [POLICY.blocked(hk(2, 14), hk(2, 15), slow)]}  # 13:00-16:00
    slots = alternatives(req(hk(2, 14), hk(2, 15), room_id="R-S"), {"R-S": slow}, busy, POLICY, NOW)
    assert slots[0] == Slot("R-S", hk(2, 11), hk(2, 12)), "ends an hour before 13:00: its own cleanup"
    for s in slots:
        b_start, b_end = POLICY.blocked(s.start, s.end, slow)
        assert b_end <= hk(2, 13) or b_start >= hk(2, 16), s


def test_rescheduling_into_another_room_takes_that_rooms_buffers():
    hall = replace(LARGE, setup=timedelta(0), cleanup=timedelta(minutes=90))
    change = domain.reschedule(
        booking(), "b-7", {**ROOMS, "R-L": hall}, start=hk(5, 10), end=hk(5, 11), room_id="R-L", actor="a",
        now=NOW, policy=POLICY,
    )  # fmt: skip
    assert isinstance(change, domain.Change)
    assert change.booking.blocked == (hk(5, 10), hk(5, 12, 30))


def test_a_room_update_carries_its_own_rules():
    room = Room("R-Q", "Quiet", 6, frozenset(), None, True, timedelta(minutes=5), None, time(9), time(0))
    event = domain.room_updated(room)
    assert (event.setup_buffer_minutes, event.cleanup_buffer_minutes) == (5, None)
    assert (event.opens_at, event.closes_at) == (time(9), time(0))


# -- series: 366 occurrences, conflicts named -------------------------------------------------------
def test_a_daily_series_of_366_is_booked_whole():
    series = req(hk(2, 9), hk(2, 10), room_id="R-S", recurrence_freq="daily", recurrence_count=366)
    attempt = domain.request_booking(ask(series), ROOMS, NOW, POLICY)
    assert isinstance(attempt, domain.Attempt)
    assert [b.occurrence for b in attempt.bookings] == list(range(366))
    assert attempt.bookings[-1].start == hk(2, 9) + timedelta(days=365)
    assert len({b.booking_id for b in attempt.bookings}) == 366
    assert POLICY.booking_window(series)[1] >= attempt.bookings[-1].blocked[1]


def test_a_series_in_a_room_taken_for_some_occurrences_names_them():
    series = req(hk(3, 10), hk(3, 12), room_id="R-M", recurrence_freq="weekly", recurrence_count=5)
    busy = {"R-M": [POLICY.blocked(hk(10, 11), hk(10, 13)), POLICY.blocked(hk(24, 9), hk(24, 10))]}
    attempt = domain.request_booking(ask(series), ROOMS, NOW, POLICY)
    assert isinstance(attempt, domain.Attempt)
    rejection = attempt.knowing(busy)
    assert isinstance(rejection, Rejection)
    assert rejection.code == "room_unavailable" and rejection.why == "series_conflict"
    assert rejection.reason == (
        "room R-M is taken for 2 of 5 occurrences: 2026-12-10 10:00–12:00, 2026-12-24 10:00–12:00"
    )
    assert [(c.occurrence, c.start) for c in rejection.conflicts] == [(1, hk(10, 10)), (3, hk(24, 10))]
    assert rejection.facts == {"room": "Medium room", "room_id": "R-M", "count": 2, "total": 5}


def test_a_series_no_room_can_take_whole_names_the_closest_rooms_conflicts():
    series = req(hk(3, 10), hk(3, 11), recurrence_freq="weekly", recurrence_count=4)
    busy = {
        "R-S": [POLICY.blocked(hk(3, 10), hk(3, 11)), POLICY.blocked(hk(17, 10), hk(17, 11))],
        "R-M": [POLICY.blocked(hk(10, 10), hk(10, 11))],
        "R-L": [POLICY.blocked(s, s + timedelta(hours=1)) for s in (hk(3, 10), hk(10, 10), hk(17, 10))],
    }
    attempt = domain.request_booking(ask(series), ROOMS, NOW, POLICY)
    assert isinstance(attempt, domain.Attempt)
    rejection = attempt.knowing(busy)
    assert isinstance(rejection, Rejection)
    assert rejection.reason == (
        "no suitable room is free for every occurrence; the closest, room R-M, is taken for 1 of 4 "
        "occurrences: 2026-12-10 10:00–11:00"
    )
    assert [c.occurrence for c in rejection.conflicts] == [1]


def test_a_single_meeting_taken_keeps_its_short_reason():
    attempt = domain.request_booking(ask(req(hk(3, 10), hk(3, 11), room_id="R-M")), ROOMS, NOW, POLICY)
    assert isinstance(attempt, domain.Attempt)
    rejection = attempt.knowing({"R-M": [POLICY.blocked(hk(3, 10), hk(3, 11))]})
    assert rejection == Rejection("room_unavailable", "room R-M is taken at that time")
    assert isinstance(rejection, Rejection) and rejection.conflicts == ()


def test_a_series_is_offered_a_time_where_every_occurrence_is_free():
    series = req(hk(3, 10), hk(3, 11), room_id="R-M", recurrence_freq="weekly", recurrence_count=3)
    # R-M is taken at 10:00 on the second Thursday, everything else is taken all day on the first
    busy = {
        "R-M": [POLICY.blocked(hk(10, 10), hk(10, 11))],
        "R-S": [(hk(3, 0), hk(4, 0))],
        "R-L": [(hk(3, 0), hk(4, 0))],
    }
    slots = alternatives(series, ROOMS, busy, POLICY, NOW)
    # the nearest times all three Thursdays are free: 08:30 and 11:30 are as near; the earlier first
    assert slots[:2] == [Slot("R-M", hk(3, 8, 30), hk(3, 9, 30)), Slot("R-M", hk(3, 11, 30), hk(3, 12, 30))]
    assert Slot("R-M", hk(3, 9), hk(3, 10)) not in slots, "free on the first Thursday, not on the second"
    for s in slots:
        moved = domain.moved_to(series, s)
        occ = domain.occurrences(moved)
        assert len(occ) == 3
        room = ROOMS[s.room_id]
        assert all(domain.is_free(busy.get(s.room_id, ()), a, b, POLICY, room) for a, b in occ)


def test_a_series_moved_to_an_alternative_keeps_its_number_of_meetings():
    series = req(hk(3, 10), hk(3, 11), recurrence_freq="daily", recurrence_until=date(2026, 12, 6))
    moved = domain.moved_to(series, Slot("R-L", hk(4, 15), hk(4, 16)))
    assert [s for s, _ in domain.occurrences(moved)] == [hk(4, 15), hk(5, 15), hk(6, 15), hk(7, 15)]


# -- changes to a series ----------------------------------------------------------------------------
def booking(start: datetime = hk(3, 14), end: datetime = hk(3, 16), **kw: object) -> domain.Booking:
    values: dict = {
        "booking_id": uuid.UUID(int=7),
        "inquiry_id": "inq-1",
        "room_id": "R-M",
        "customer_id": "cust-1",
        "name": "Board meeting",
        "start": start,
        "end": end,
        "blocked": POLICY.blocked(start, end),
        "attendees": 15,
        "equipment": ("audio", "projector"),
        "correlation_id": str(uuid.UUID(int=9)),
    }
    return domain.Booking(**(values | kw))


SERIES_ID = uuid.UUID(int=100)


def weekly(n: int = 4, first: datetime = hk(1, 14)) -> list[domain.Booking]:
    """A weekly series, 1 December (past at NOW + 1 day) then every Tuesday."""
    return [
        booking(first + timedelta(weeks=i), first + timedelta(weeks=i, hours=2), booking_id=uuid.UUID(int=200 + i),
                occurrence=i, series_id=SERIES_ID)
        for i in range(n)
    ]  # fmt: skip


def test_cancelling_a_series_cancels_every_occurrence_not_yet_started():
    series = weekly()
    series[2] = replace(series[2], status=domain.CANCELLED)
    now = hk(1, 15)  # the first meeting is under way
    changes = domain.cancel_series(series[1], series, "b", actor="agent", reason="moved office", now=now)
    assert isinstance(changes, tuple)
    assert [c.booking.booking_id for c in changes] == [series[1].booking_id, series[3].booking_id]
    assert all(c.booking.status == domain.CANCELLED and c.reminder is None for c in changes)
    assert [c.event.reason for c in changes] == ["moved office"] * 2


def test_a_series_with_nothing_left_to_cancel_is_refused():
    series = [replace(b, status=domain.CANCELLED) for b in weekly(2)]
    refusal = domain.cancel_series(series[0], series, "b", actor="a", reason=None, now=NOW)
    assert refusal == domain.Refusal("no occurrence of the series is left to cancel (each is cancelled or has started)")
    assert domain.cancel_series(None, [], "b-x", actor="a", reason=None, now=NOW) == domain.Refusal("no booking 'b-x'")


def test_rescheduling_a_series_shifts_every_upcoming_occurrence_alike_with_its_reminder():
    series = weekly()
    now = hk(2, 9)  # the first meeting is over
    changes = domain.reschedule_series(
        series[1], series, "b", ROOMS, start=hk(9, 10), end=hk(9, 11, 30), room_id=None, actor="a", now=now,
        policy=POLICY,
    )  # fmt: skip
    assert isinstance(changes, tuple)
    assert [(c.booking.start, c.booking.end) for c in changes] == [
        (hk(9, 10), hk(9, 11, 30)),
        (hk(16, 10), hk(16, 11, 30)),
        (hk(23, 10), hk(23, 11, 30)),
    ], "the same shift (a day earlier, 10:00) and the new length for each"
    assert [c.reminder.due_at for c in changes if c.reminder] == [hk(8, 10), hk(15, 10), hk(22, 10)]
    assert [c.event.previous.start for c in changes] == [hk(8, 14), hk(15, 14), hk(22, 14)]


def test_a_series_move_is_all_or_nothing_naming_the_occurrence_that_cannot_move():
    series = weekly()
    rooms = {**ROOMS, "R-M": replace(MEDIUM, closes_at=time(21))}
    # 20:00-22:00 each week: fine up to closing at 22 in the venue, but R-M closes at 21
    refusal = domain.reschedule_series(
        series[1], series, "b", rooms, start=hk(8, 19), end=hk(8, 21, 30), room_id=None, actor="a", now=hk(2, 9),
        policy=POLICY,
    )  # fmt: skip
    assert refusal == domain.Refusal(
        "occurrence 2 (2026-12-08 14:00–16:00): room R-M is open 08:00–21:00 (venue time); the meeting runs "
        "2026-12-08 19:00–21:30"
    )


def test_moving_a_series_into_the_past_is_refused():
    series = weekly()
    refusal = domain.reschedule_series(
        series[3], series, "b", ROOMS, start=hk(8, 14), end=hk(8, 16), room_id=None, actor="a", now=hk(2, 9),
        policy=POLICY,
    )  # fmt: skip
    assert isinstance(refusal, domain.Refusal)
    assert refusal.reason == "occurrence 2 (2026-12-08 14:00–16:00): the new time is in the past"


def test_a_series_move_the_database_refuses_names_the_clashing_occurrences():
    series = weekly()
    changes = domain.reschedule_series(
        series[1], series, "b", ROOMS, start=hk(8, 10), end=hk(8, 12), room_id=None, actor="a", now=hk(2, 9),
        policy=POLICY,
    )  # fmt: skip
    assert isinstance(changes, tuple)
    busy = {"R-M": [POLICY.blocked(hk(15, 11), hk(15, 12))]}
    assert domain.series_move_taken(changes, busy, POLICY) == domain.Refusal(
        "room R-M is taken for 1 of 3 occurrences: 2026-12-15 10:00–12:00"
    )


def test_changing_attendees_and_equipment_is_checked_against_the_room():
    b = booking()
    updates = domain.change(b, [b], "b", ROOMS, attendees=18, equipment=["audio"], actor="agent", policy=POLICY)
    assert isinstance(updates, tuple)
    (update,) = updates
    assert (update.booking.attendees, update.booking.equipment) == (18, ("audio",))
    assert update.event.model_dump() == {
        "booking_id": str(b.booking_id),
        "customer_id": "cust-1",
        "room_id": "R-M",
        "attendees": 18,
        "equipment": ["audio"],
        "actor": "agent",
    }
    only_people = domain.change(b, [b], "b", ROOMS, attendees=12, equipment=None, actor="a", policy=POLICY)
    assert isinstance(only_people, tuple) and only_people[0].booking.equipment == b.equipment


@pytest.mark.parametrize(
    ("attendees", "equipment", "reason"),
    [
        (21, None, "room R-M holds 20, the meeting needs 21"),
        (None, ["video_conference"], "room R-M lacks video_conference"),
        (None, None, "nothing to change: give attendees and/or equipment"),
    ],
)
def test_a_change_that_no_longer_fits_the_room_is_refused(attendees, equipment, reason):
    b = booking()
    refusal = domain.change(b, [b], "b", ROOMS, attendees=attendees, equipment=equipment, actor="a", policy=POLICY)
    assert refusal == domain.Refusal(reason)


def test_a_series_change_names_the_occurrence_that_does_not_fit():
    series = weekly()
    series[3] = replace(series[3], room_id="R-S")  # one occurrence was moved to the small room
    upcoming = domain.upcoming(series, NOW)
    refusal = domain.change(series[1], upcoming, "b", ROOMS, attendees=12, equipment=None, actor="a", policy=POLICY)
    assert refusal == domain.Refusal("occurrence 4 (2026-12-22 14:00–16:00): room R-S holds 10, the meeting needs 12")


def test_a_cancelled_booking_is_not_changed():
    b = booking(status=domain.CANCELLED)
    refusal = domain.change(b, [b], "b", ROOMS, attendees=3, equipment=None, actor="a", policy=POLICY)
    assert refusal == domain.Refusal("the booking is already cancelled")


# -- accepting an alternative -----------------------------------------------------------------------
OFFERED = (Slot("R-L", hk(3, 14), hk(3, 16)), Slot("R-M", hk(3, 16, 30), hk(3, 18, 30)))


def rejected_record(**kw: object) -> domain.RequestOutcome:
    a = ask(req(hk(3, 14), hk(3, 16), room_id="R-M"))
    values: dict = {
        "inquiry_id": "inq-1",
        "customer_id": "cust-1",
        "outcome": domain.REJECTED,
        "request": a.details,
        "reason_code": "room_unavailable",
        "reason": "room R-M is taken at that time",
        "reply_to": EMAIL,
        "alternatives": OFFERED,
    }
    return domain.RequestOutcome(**(values | kw))


def accept(record: domain.RequestOutcome | None, slot: Slot, now: datetime = NOW) -> domain.Attempt | domain.Refusal:
    return domain.accept_alternative(
        record, slot, ROOMS, inquiry_id="inq-1", correlation_id=str(uuid.UUID(int=5)), now=now, policy=POLICY
    )


def test_an_offered_alternative_is_booked_like_a_request_on_the_original_reply_route():
    slot = Slot("R-M", datetime(2026, 12, 3, 8, 30, tzinfo=UTC), datetime(2026, 12, 3, 10, 30, tzinfo=UTC))
    attempt = accept(rejected_record(), slot)  # the same instants as offered, written in UTC
    assert isinstance(attempt, domain.Attempt)
    (b,) = attempt.bookings
    assert (b.room_id, b.start, b.end, b.attendees) == ("R-M", hk(3, 16, 30), hk(3, 18, 30), 8)
    assert b.blocked == POLICY.blocked(b.start, b.end, MEDIUM)
    assert (b.inquiry_id, b.customer_id, b.reply_to, b.correlation_id) == (
        "inq-1",
        "cust-1",
        EMAIL,
        str(uuid.UUID(int=5)),
    )
    done = domain.confirmed(attempt, NOW, accepted=slot)
    assert done.outcome.accepted == slot and done.outcome.outcome == domain.CONFIRMED
    assert done.notice.event is not None and done.notice.event.address == "chan@example.com"


@pytest.mark.parametrize(
    ("record", "slot", "reason"),
    [
        (None, OFFERED[0], "no booking request 'inq-1'"),
        (rejected_record(outcome=domain.CONFIRMED), OFFERED[0], "the request was not rejected: it is booked as asked"),
        (rejected_record(accepted=OFFERED[1]), OFFERED[0], "an alternative was already accepted for this request"),
        (
            rejected_record(),
            Slot("R-L", hk(3, 15), hk(3, 17)),
            "room R-L at 2026-12-03 15:00–17:00 was not among the alternatives offered",
        ),
        (rejected_record(alternatives=()), OFFERED[0], "room R-L at 2026-12-03 14:00–16:00 was not among the "
         "alternatives offered"),
    ],
)  # fmt: skip
def test_an_alternative_is_refused_unless_it_was_offered_to_a_rejected_request(record, slot, reason):
    assert accept(record, slot) == domain.Refusal(reason)


def test_an_alternative_no_longer_bookable_is_refused_with_the_reason():
    late = accept(rejected_record(), OFFERED[0], now=hk(3, 15))
    assert late == domain.Refusal("the alternative can no longer be booked: the meeting would start in the past")
    attempt = accept(rejected_record(), OFFERED[0])
    assert isinstance(attempt, domain.Attempt)
    taken = attempt.knowing({"R-L": [POLICY.blocked(hk(3, 15), hk(3, 16))]})
    assert isinstance(taken, Rejection)
    assert domain.no_longer_free(taken) == domain.Refusal(
        "the alternative is no longer free: room R-L is taken at that time"
    )


def test_accepting_an_alternative_for_a_series_books_the_whole_series_there():
    details = ask(req(hk(3, 14), hk(3, 16), room_id="R-M")).details | {"recurrence": {"freq": "weekly", "count": 3}}
    record = rejected_record(request=details)
    attempt = accept(record, OFFERED[0])
    assert isinstance(attempt, domain.Attempt)
    assert [(b.room_id, b.start) for b in attempt.bookings] == [
        ("R-L", hk(3, 14)),
        ("R-L", hk(10, 14)),
        ("R-L", hk(17, 14)),
    ]
    assert attempt.series_id is not None


# -- what the customer is told ----------------------------------------------------------------------
def test_no_reply_route_or_no_address_means_nothing_to_send():
    attempt = domain.request_booking(ask(req(hk(3, 14), hk(3, 16)), reply_to=None), ROOMS, NOW, POLICY)
    assert isinstance(attempt, domain.Attempt)
    assert domain.confirmed(attempt, NOW).notice.event is None
    nowhere = ReplyRoute(channel="webform", address=None, language="en")
    attempt = domain.request_booking(ask(req(hk(3, 14), hk(3, 16)), reply_to=nowhere), ROOMS, NOW, POLICY)
    assert isinstance(attempt, domain.Attempt)
    notice = domain.confirmed(attempt, NOW).notice
    assert notice.event is None and notice.template == "booking.confirmed"


def test_the_confirmation_gives_room_local_times_and_every_occurrence():
    series = req(hk(3, 14), hk(3, 16), attendees=12, room_id="R-M", recurrence_freq="weekly", recurrence_count=2)
    attempt = domain.request_booking(ask(series), ROOMS, NOW, POLICY)
    assert isinstance(attempt, domain.Attempt)
    event = domain.confirmed(attempt, NOW).notice.event
    assert event is not None
    assert (event.channel, event.address, event.language, event.template, event.customer_id) == (
        "email",
        "chan@example.com",
        "zh-Hant",
        "booking.confirmed",
        "cust-1",
    )
    p = event.parameters
    assert p["room"] == {"room_id": "R-M", "name": "Medium room", "location": "2/F"}
    assert (p["start"], p["end"]) == ("2026-12-03T14:00:00+08:00", "2026-12-03T16:00:00+08:00")
    assert p["when"] == "2026年12月3日（星期四）14:00–16:00"
    assert (p["attendees"], p["equipment"], p["time_zone"]) == (12, ["projector"], "Asia/Hong_Kong")
    assert p["booking_ids"] == [str(b.booking_id) for b in attempt.bookings]
    assert p["series_id"] == str(attempt.series_id)
    assert [(o["booking_id"], o["start"]) for o in p["occurrences"]] == [
        (str(attempt.bookings[0].booking_id), "2026-12-03T14:00:00+08:00"),
        (str(attempt.bookings[1].booking_id), "2026-12-10T14:00:00+08:00"),
    ]
    assert "您的會議預訂已確認" in p["text"] and "2026年12月10日（星期四）14:00–16:00" in p["text"]


def test_times_given_in_utc_are_told_in_venue_time():
    start = datetime(2026, 12, 3, 6, 0, tzinfo=UTC)  # 14:00 in Hong Kong
    english = ReplyRoute(channel="email", address="x@example.com", language="en")
    attempt = domain.request_booking(ask(req(start, start + timedelta(hours=1)), reply_to=english), ROOMS, NOW, POLICY)
    assert isinstance(attempt, domain.Attempt)
    p = domain.confirmed(attempt, NOW).notice.parameters
    assert p["start"] == "2026-12-03T14:00:00+08:00"
    assert p["when"] == "Thursday 3 December 2026, 14:00–15:00"


def test_the_rejection_tells_why_and_how_to_accept_each_alternative():
    a = ask(req(hk(3, 14), hk(3, 16), room_id="R-M"))
    declined = domain.rejected(a, domain.room_taken("R-M"), OFFERED, rooms=ROOMS, policy=POLICY)
    assert declined.outcome.alternatives == OFFERED and declined.outcome.reply_to == EMAIL
    event = declined.notice.event
    assert event is not None and event.template == "booking.rejected"
    p = event.parameters
    assert (p["reason_code"], p["reason"]) == ("room_unavailable", "該時段的會議室已被預訂。")
    first = p["alternatives"][0]
    assert first["room"] == {"room_id": "R-L", "name": "Hall", "location": "G/F"}
    assert (first["start"], first["end"], first["when"]) == (
        "2026-12-03T14:00:00+08:00",
        "2026-12-03T16:00:00+08:00",
        "2026年12月3日（星期四）14:00–16:00",
    )
    assert first["accept"] == {
        "command": "booking.accept_alternative",
        "inquiry_id": "inq-1",
        "room_id": "R-L",
        "start": "2026-12-03T14:00:00+08:00",
        "end": "2026-12-03T16:00:00+08:00",
    }
    assert "1. 2026年12月3日（星期四）14:00–16:00 — Hall（G/F）" in p["text"]
    assert p["conflicts"] == []


def test_a_series_rejection_lists_its_conflicts_for_the_customer():
    series = req(hk(3, 10), hk(3, 12), room_id="R-M", recurrence_freq="weekly", recurrence_count=3)
    english = ReplyRoute(channel="email", address="x@example.com", language="en")
    a = ask(series, reply_to=english)
    attempt = domain.request_booking(a, ROOMS, NOW, POLICY)
    assert isinstance(attempt, domain.Attempt)
    rejection = attempt.knowing({"R-M": [POLICY.blocked(hk(10, 10), hk(10, 12))]})
    assert isinstance(rejection, Rejection)
    p = domain.rejected(a, rejection, [], rooms=ROOMS, policy=POLICY).notice.parameters
    assert p["conflicts"] == [
        {
            "occurrence": 1,
            "start": "2026-12-10T10:00:00+08:00",
            "end": "2026-12-10T12:00:00+08:00",
            "when": "Thursday 10 December 2026, 10:00–12:00",
        }
    ]
    assert p["reason"] == "Medium room is already booked for 1 of the 3 meetings of the series."
    assert "Already booked:\n- Thursday 10 December 2026, 10:00–12:00" in p["text"]


@pytest.mark.parametrize(
    ("rejection", "reason"),
    [
        (Rejection("room_too_small", "…", facts={"capacity": 10, "attendees": 12}),
         "該會議室可容納 10 人，會議需要 12 人。"),
        (Rejection("equipment_missing", "…", facts={"missing": ["audio", "microphone"]}),
         "該會議室缺少：音響、麥克風。"),
        (Rejection("invalid", "…", why="past"), "會議開始時間已過。"),
        (Rejection("invalid", "…"), "此預訂申請無法受理。"),
        (Rejection("room_too_small", "…"), "該會議室容納不下與會人數。"),  # facts missing: the generic sentence
        (Rejection("invalid", "…", why="unheard_of"), "此預訂申請無法受理。"),  # a reason without text: the code's
    ],
)  # fmt: skip
def test_reasons_are_told_in_the_customers_language_by_reason(rejection, reason):
    a = ask(req(hk(3, 14), hk(3, 16)))
    assert domain.rejected(a, rejection, [], rooms=ROOMS, policy=POLICY).notice.parameters["reason"] == reason


def test_the_reminder_says_when_where_what_is_ready_and_asks_for_an_answer():
    b = booking(
        reply_to=ReplyRoute(channel="wechat", address="wechat:o-abc", language="zh-Hans"),
        details={"agenda": "年度预算", "materials": "财务报告", "catering": "茶点"},
        series_id=SERIES_ID,
    )
    event = domain.reminder_notice(b, ROOMS, POLICY).event
    assert event is not None
    assert (event.channel, event.address, event.language, event.template) == (
        "wechat",
        "wechat:o-abc",
        "zh-Hans",
        "booking.reminder",
    )
    p = event.parameters
    assert (p["booking_id"], p["series_id"]) == (str(b.booking_id), str(SERIES_ID))
    assert p["room"] == {"room_id": "R-M", "name": "Medium room", "location": "2/F"}
    assert (p["start"], p["when"]) == ("2026-12-03T14:00:00+08:00", "2026年12月3日（星期四）14:00–16:00")
    assert (p["equipment"], p["agenda"], p["materials"], p["catering"]) == (
        ["audio", "projector"],
        "年度预算",
        "财务报告",
        "茶点",
    )
    assert p["reply_options"] == ["confirm", "cancel", "change"]
    assert "音响、投影仪" in p["text"] and "请携带：财务报告" in p["text"] and "“确认”" in p["text"]
