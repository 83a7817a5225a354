"""Booking rules in plain Python: conflicts with buffers, room choice, alternatives, recurrences, the
decisions on requests and changes, the day-before reminder."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import get_args
from zoneinfo import ZoneInfo

import pytest

from services.booking import domain, messages
from services.booking.domain import (
    MAX_OCCURRENCES,
    Plan,
    Policy,
    Rejection,
    Request,
    Room,
    Slot,
    alternatives,
    is_free,
    occurrences,
    plan,
    suitable_rooms,
    time_problem,
    unsuitability,
)
from shared.contract.events import BookingRejected, BookingReminderDue

HK = ZoneInfo("Asia/Hong_Kong")
POLICY = Policy()  # 15 min setup + 15 min cleanup, 08:00-22:00 Hong Kong time


def hk(day: int, hour: int, minute: int = 0) -> datetime:
    """A time in December 2026, venue time (2 December 2026 is a Wednesday)."""
    return datetime(2026, 12, day, hour, minute, tzinfo=HK)


NOW = hk(1, 9)

SMALL = Room("R-S", "Small room", 10, frozenset({"projector", "whiteboard"}))
MEDIUM = Room("R-M", "Medium room", 20, frozenset({"projector", "audio", "microphone"}))
LARGE = Room("R-L", "Hall", 50, frozenset({"projector", "audio", "microphone", "video_conference"}))
CLOSED = Room("R-X", "Under renovation", 200, frozenset({"projector", "audio", "video_conference"}), active=False)
TINY = Room("R-T", "Interview room", 4, frozenset({"projector"}))
ROOMS = {r.room_id: r for r in (LARGE, SMALL, CLOSED, MEDIUM, TINY)}


def req(
    start: datetime,
    end: datetime,
    attendees: int = 8,
    equipment: frozenset[str] = frozenset({"projector"}),
    room_id: str | None = None,
    **kw: object,
) -> Request:
    return Request(start=start, end=end, attendees=attendees, equipment=equipment, room_id=room_id, **kw)


def blocked(start: datetime, end: datetime, policy: Policy = POLICY) -> tuple[datetime, datetime]:
    return policy.blocked(start, end)


def assert_sane(slots: list[Slot], request: Request, busy: dict, policy: Policy, now: datetime) -> None:
    """What every list of alternatives must satisfy, whatever the scenario."""
    assert len(slots) <= policy.max_alternatives
    assert len(set(slots)) == len(slots), "an alternative is offered twice"
    for s in slots:
        room = ROOMS[s.room_id]
        assert unsuitability(room, request) is None, f"{s.room_id} cannot hold the meeting"
        assert s.end - s.start == request.end - request.start
        assert s.start > now, f"{s} is in the past"
        b_start, b_end = policy.blocked(s.start, s.end)
        for o_start, o_end in busy.get(s.room_id, ()):
            assert not (b_start < o_end and o_start < b_end), f"{s} overlaps busy {o_start}-{o_end}"


def assert_within_opening_hours(slots: list[Slot], policy: Policy = POLICY) -> None:
    for s in slots:
        start, end = s.start.astimezone(HK), s.end.astimezone(HK)
        assert start.date() == end.date(), s
        assert policy.opening <= start.time(), s
        assert end.time() <= policy.closing, s


# -- conflicts: blocked intervals include the buffers ---------------------------------------------


@pytest.mark.parametrize(
    ("existing", "new", "free"),
    [
        # 10:00-11:00 blocks 09:45-11:15; 11:00-12:00 would block 10:45-12:15
        ((hk(2, 10), hk(2, 11)), (hk(2, 11), hk(2, 12)), False),
        # 11:30-12:30 blocks 11:15-12:45: touches 11:15 only, half-open ranges do not overlap
        ((hk(2, 10), hk(2, 11)), (hk(2, 11, 30), hk(2, 12, 30)), True),
        # one minute earlier and the buffers overlap
        ((hk(2, 10), hk(2, 11)), (hk(2, 11, 29), hk(2, 12, 30)), False),
        # the same on the other side: a meeting ending 09:30 blocks until 09:45, where 10:00 starts blocking
        ((hk(2, 10), hk(2, 11)), (hk(2, 8, 30), hk(2, 9, 30)), True),
        ((hk(2, 10), hk(2, 11)), (hk(2, 8, 30), hk(2, 9, 31)), False),
        # inside, around, identical
        ((hk(2, 10), hk(2, 11)), (hk(2, 10, 15), hk(2, 10, 45)), False),
        ((hk(2, 10), hk(2, 11)), (hk(2, 9), hk(2, 12)), False),
        ((hk(2, 10), hk(2, 11)), (hk(2, 10), hk(2, 11)), False),
        # another day
        ((hk(2, 10), hk(2, 11)), (hk(3, 10), hk(3, 11)), True),
    ],
)
def test_meetings_conflict_when_blocked_intervals_overlap(existing, new, free):
    busy = [blocked(*existing)]
    assert is_free(busy, *new, POLICY) is free


def test_back_to_back_meetings_are_free_without_buffers():
    no_buffers = Policy(setup=timedelta(0), cleanup=timedelta(0))
    busy = [no_buffers.blocked(hk(2, 10), hk(2, 11))]
    assert is_free(busy, hk(2, 11), hk(2, 12), no_buffers)
    assert is_free(busy, hk(2, 9), hk(2, 10), no_buffers)
    assert not is_free(busy, hk(2, 10, 59), hk(2, 12), no_buffers)


def test_longer_buffers_make_more_meetings_conflict():
    long_cleanup = Policy(cleanup=timedelta(minutes=45))
    busy = [long_cleanup.blocked(hk(2, 10), hk(2, 11))]  # 09:45-11:45
    assert not is_free(busy, hk(2, 11, 30), hk(2, 12, 30), long_cleanup)  # starts blocking 11:15
    assert is_free(busy, hk(2, 12), hk(2, 13), long_cleanup)  # starts blocking 11:45


def test_conflict_is_found_across_time_zones():
    """A busy interval stored in UTC conflicts with the same instant written in venue time."""
    utc_busy = [(datetime(2026, 12, 2, 1, 45, tzinfo=UTC), datetime(2026, 12, 2, 3, 15, tzinfo=UTC))]  # 09:45-11:15 HK
    assert not is_free(utc_busy, hk(2, 11), hk(2, 12), POLICY)
    assert is_free(utc_busy, hk(2, 11, 30), hk(2, 12, 30), POLICY)


def test_an_empty_room_is_free():
    assert is_free([], hk(2, 10), hk(2, 11), POLICY)


def test_blocked_interval_adds_setup_before_and_cleanup_after():
    policy = Policy(setup=timedelta(minutes=30), cleanup=timedelta(minutes=10))
    assert policy.blocked(hk(2, 10), hk(2, 11)) == (hk(2, 9, 30), hk(2, 11, 10))


# -- plan(): which rooms to try, or why not ----------------------------------------------------------


def test_plan_tries_the_smallest_suitable_room_first():
    result = plan(req(hk(2, 14), hk(2, 15), attendees=8), ROOMS, NOW, POLICY)
    assert isinstance(result, Plan)
    assert [r.room_id for r in result.candidates] == ["R-S", "R-M", "R-L"]
    assert result.occurrences == ((hk(2, 14), hk(2, 15)),)


def test_plan_leaves_out_rooms_that_are_too_small():
    result = plan(req(hk(2, 14), hk(2, 15), attendees=15), ROOMS, NOW, POLICY)
    assert isinstance(result, Plan)
    assert [r.room_id for r in result.candidates] == ["R-M", "R-L"]


def test_a_room_exactly_the_size_of_the_meeting_is_suitable():
    result = plan(req(hk(2, 14), hk(2, 15), attendees=10), ROOMS, NOW, POLICY)
    assert isinstance(result, Plan)
    assert result.candidates[0].room_id == "R-S"


def test_plan_leaves_out_rooms_without_the_equipment():
    result = plan(
        req(hk(2, 14), hk(2, 15), attendees=5, equipment=frozenset({"audio", "microphone"})), ROOMS, NOW, POLICY
    )
    assert isinstance(result, Plan)
    assert [r.room_id for r in result.candidates] == ["R-M", "R-L"]


def test_plan_never_offers_an_inactive_room():
    # only the closed room holds 100 with video conferencing
    result = plan(
        req(hk(2, 14), hk(2, 15), attendees=100, equipment=frozenset({"video_conference"})), ROOMS, NOW, POLICY
    )
    assert isinstance(result, Rejection)
    assert result.code == "no_room_fits"
    assert "100" in result.reason


def test_plan_ties_on_capacity_are_ordered_by_room_id():
    twins = {r.room_id: r for r in (Room("B", "B", 10), Room("A", "A", 10), Room("C", "C", 8))}
    result = plan(req(hk(2, 14), hk(2, 15), attendees=8, equipment=frozenset()), twins, NOW, POLICY)
    assert isinstance(result, Plan)
    assert [r.room_id for r in result.candidates] == ["C", "A", "B"]


def test_plan_for_the_room_asked_for():
    result = plan(req(hk(2, 14), hk(2, 15), attendees=12, room_id="R-L"), ROOMS, NOW, POLICY)
    assert isinstance(result, Plan)
    assert result.candidates == (LARGE,)


def test_plan_refuses_a_room_too_small():
    result = plan(req(hk(2, 14), hk(2, 15), attendees=12, room_id="R-S"), ROOMS, NOW, POLICY)
    assert isinstance(result, Rejection)
    assert result.code == "room_too_small"
    assert "10" in result.reason and "12" in result.reason


def test_plan_refuses_a_room_missing_equipment():
    request = req(hk(2, 14), hk(2, 15), equipment=frozenset({"projector", "video_conference"}), room_id="R-S")
    result = plan(request, ROOMS, NOW, POLICY)
    assert isinstance(result, Rejection)
    assert result.code == "equipment_missing"
    assert "video_conference" in result.reason
    assert "projector" not in result.reason  # the room has that one


@pytest.mark.parametrize("room_id", ["R-NOPE", "R-X"])
def test_plan_refuses_unknown_or_inactive_rooms(room_id):
    result = plan(req(hk(2, 14), hk(2, 15), room_id=room_id), ROOMS, NOW, POLICY)
    assert isinstance(result, Rejection)
    assert result.code == "room_unknown"
    assert room_id in result.reason


def test_plan_refuses_when_no_room_fits():
    result = plan(req(hk(2, 14), hk(2, 15), attendees=60), ROOMS, NOW, POLICY)
    assert isinstance(result, Rejection)
    assert result.code == "no_room_fits"


def test_plan_refuses_a_meeting_in_the_past():
    result = plan(req(hk(1, 8, 59), hk(1, 10)), ROOMS, NOW, POLICY)
    assert isinstance(result, Rejection)
    assert result.code == "invalid"
    assert "past" in result.reason


def test_plan_refuses_a_meeting_more_than_three_years_ahead_with_the_reason_the_customer_reads():
    far = NOW + timedelta(days=3 * 365 + 2)
    result = plan(req(far, far + timedelta(hours=1)), ROOMS, NOW, POLICY)
    assert isinstance(result, Rejection)
    assert (result.code, result.why) == ("invalid", "too_far_ahead")
    assert messages.reason(result.why, result.facts, "zh-Hant") == "會議室最多可提前 3 年預訂。"
    near = NOW + timedelta(days=3 * 365)
    assert isinstance(plan(req(near, near + timedelta(hours=1)), ROOMS, NOW, POLICY), Plan)


def test_a_time_in_year_9999_or_without_attendees_is_refused_before_any_arithmetic_on_it():
    end_of_time = datetime(9999, 12, 31, 22, tzinfo=UTC)
    far = time_problem(req(end_of_time, end_of_time + timedelta(hours=1)), NOW)
    nobody = time_problem(req(hk(2, 14), hk(2, 15), attendees=-1), NOW)
    assert far is not None and far.why == "too_far_ahead"
    assert nobody is not None and nobody.why == "no_attendees"


def test_plan_accepts_a_meeting_starting_now():
    assert isinstance(plan(req(NOW, NOW + timedelta(hours=1)), ROOMS, NOW, POLICY), Plan)


def test_plan_compares_with_now_across_time_zones():
    now_utc = datetime(2026, 12, 2, 6, 0, tzinfo=UTC)  # 14:00 in Hong Kong
    assert isinstance(plan(req(hk(2, 13, 30), hk(2, 15)), ROOMS, now_utc, POLICY), Rejection)
    assert isinstance(plan(req(hk(2, 14, 30), hk(2, 15)), ROOMS, now_utc, POLICY), Plan)


@pytest.mark.parametrize("end", [hk(2, 14), hk(2, 13)])
def test_plan_refuses_end_not_after_start(end):
    result = plan(req(hk(2, 14), end), ROOMS, NOW, POLICY)
    assert isinstance(result, Rejection)
    assert result.code == "invalid"


def test_plan_refuses_more_than_24_hours():
    result = plan(req(hk(2, 8), hk(3, 8, 1)), ROOMS, NOW, POLICY)
    assert isinstance(result, Rejection)
    assert result.code == "invalid"
    assert "24" in result.reason


def test_plan_accepts_exactly_24_hours_where_the_rooms_never_close():
    always_open = Policy(opening=time(0), closing=time(0))
    assert isinstance(plan(req(hk(2, 8), hk(3, 8)), ROOMS, NOW, always_open), Plan)
    # with the venue's usual hours, a meeting that long cannot start and end within them
    closed = plan(req(hk(2, 8), hk(3, 8)), ROOMS, NOW, POLICY)
    assert isinstance(closed, Rejection) and closed.why == "none_open"


def test_plan_carries_every_occurrence_of_a_series():
    request = req(hk(2, 14), hk(2, 16), room_id="R-M", recurrence_freq="weekly", recurrence_count=3)
    result = plan(request, ROOMS, NOW, POLICY)
    assert isinstance(result, Plan)
    assert result.occurrences == (
        (hk(2, 14), hk(2, 16)),
        (hk(9, 14), hk(9, 16)),
        (hk(16, 14), hk(16, 16)),
    )


def test_plan_refuses_a_series_that_ends_before_it_starts():
    request = req(hk(2, 14), hk(2, 15), recurrence_freq="daily", recurrence_until=date(2026, 12, 1))
    result = plan(request, ROOMS, NOW, POLICY)
    assert isinstance(result, Rejection)
    assert result.code == "invalid"


def test_unsuitability_is_none_for_a_room_that_fits():
    assert unsuitability(MEDIUM, req(hk(2, 14), hk(2, 15), attendees=20, equipment=frozenset({"audio"}))) is None


def test_suitable_rooms_skips_inactive_and_unfit_rooms():
    fit = suitable_rooms(ROOMS.values(), req(hk(2, 14), hk(2, 15), attendees=3, equipment=frozenset()))
    assert [r.room_id for r in fit] == ["R-T", "R-S", "R-M", "R-L"]


# -- occurrences(): recurring meetings -----------------------------------------------------------


def test_a_single_meeting_has_one_occurrence():
    assert occurrences(req(hk(2, 14), hk(2, 15))) == [(hk(2, 14), hk(2, 15))]


def test_weekly_with_count():
    series = occurrences(req(hk(2, 9), hk(2, 11), recurrence_freq="weekly", recurrence_count=4))
    assert series == [
        (hk(2, 9), hk(2, 11)),
        (hk(9, 9), hk(9, 11)),
        (hk(16, 9), hk(16, 11)),
        (hk(23, 9), hk(23, 11)),
    ]
    assert all(s.weekday() == 2 for s, _ in series)  # every Wednesday


def test_daily_with_until_includes_the_until_day():
    series = occurrences(req(hk(2, 9), hk(2, 10), recurrence_freq="daily", recurrence_until=date(2026, 12, 5)))
    assert [s for s, _ in series] == [hk(2, 9), hk(3, 9), hk(4, 9), hk(5, 9)]
    assert all(e - s == timedelta(hours=1) for s, e in series)


def test_weekly_with_until():
    series = occurrences(req(hk(2, 9), hk(2, 10), recurrence_freq="weekly", recurrence_until=date(2026, 12, 22)))
    assert [s.day for s, _ in series] == [2, 9, 16]


def test_count_and_until_together_stop_at_whichever_comes_first():
    by_count = occurrences(
        req(hk(2, 9), hk(2, 10), recurrence_freq="daily", recurrence_count=2, recurrence_until=date(2026, 12, 10))
    )
    by_until = occurrences(
        req(hk(2, 9), hk(2, 10), recurrence_freq="daily", recurrence_count=20, recurrence_until=date(2026, 12, 4))
    )
    assert len(by_count) == 2
    assert len(by_until) == 3


@pytest.mark.parametrize(
    ("kw", "n"),
    [
        ({"recurrence_freq": "weekly", "recurrence_count": 100}, 100),
        ({"recurrence_freq": "daily", "recurrence_count": 366}, 366),
        ({"recurrence_freq": "weekly", "recurrence_count": 366}, 366),  # seven years of board meetings
        ({"recurrence_freq": "daily", "recurrence_until": date(2027, 12, 2)}, 366),  # the until day counts
    ],
)
def test_series_of_up_to_366_occurrences_are_booked_whole(kw, n):
    request = req(hk(2, 9), hk(2, 10), **kw)
    series = occurrences(request)
    assert len(series) == n and MAX_OCCURRENCES == 366
    assert series[0] == (hk(2, 9), hk(2, 10))
    result = plan(request, ROOMS, NOW, POLICY)
    assert isinstance(result, Plan) and len(result.occurrences) == n


@pytest.mark.parametrize(
    ("kw", "why", "words"),
    [
        ({"recurrence_freq": "daily", "recurrence_until": date(2027, 12, 3)}, "series_too_long", "at most 366"),
        ({"recurrence_freq": "weekly", "recurrence_until": date(2040, 1, 1)}, "series_too_long", "until 2040-01-01"),
        ({"recurrence_freq": "weekly"}, "series_unbounded", "needs a count or an until date"),
        ({"recurrence_freq": "daily", "recurrence_count": 367}, "series_too_long", "at most 366"),
    ],
)
def test_a_longer_or_unbounded_series_is_refused_never_capped(kw, why, words):
    request = req(hk(2, 9), hk(2, 10), **kw)
    result = plan(request, ROOMS, NOW, POLICY)
    assert isinstance(result, Rejection)
    assert (result.code, result.why) == ("invalid", why)
    assert words in result.reason
    assert not result.offers_alternatives


def test_weekly_series_keeps_the_local_time_for_a_year():
    series = occurrences(req(hk(2, 9), hk(2, 10), recurrence_freq="weekly", recurrence_count=52))
    assert series[-1] == (hk(2, 9) + timedelta(weeks=51), hk(2, 10) + timedelta(weeks=51))
    assert {s.astimezone(HK).time() for s, _ in series} == {time(9)}


def test_a_series_ending_before_it_starts_is_empty():
    assert occurrences(req(hk(2, 9), hk(2, 10), recurrence_freq="daily", recurrence_until=date(2026, 12, 1))) == []


# -- alternatives() ----------------------------------------------------------------------------------


def test_other_free_rooms_at_the_same_time_come_first_then_times_in_the_room_asked_for():
    request = req(hk(2, 14), hk(2, 15), room_id="R-S")
    busy = {"R-S": [blocked(hk(2, 14), hk(2, 15))], "R-M": [blocked(hk(2, 14), hk(2, 15))]}
    slots = alternatives(request, ROOMS, busy, POLICY, NOW)
    assert slots == [
        Slot("R-L", hk(2, 14), hk(2, 15)),  # the only other free suitable room at that time
        # the nearest free times in the room asked for (ties: the earlier one first)
        Slot("R-S", hk(2, 12, 30), hk(2, 13, 30)),
        Slot("R-S", hk(2, 15, 30), hk(2, 16, 30)),
        Slot("R-S", hk(2, 12), hk(2, 13)),
        # then the nearest time in another suitable room
        Slot("R-M", hk(2, 12, 30), hk(2, 13, 30)),
    ]
    assert_sane(slots, request, busy, POLICY, NOW)
    assert_within_opening_hours(slots)


def test_same_time_rooms_are_the_best_fit_first():
    request = req(hk(2, 14), hk(2, 15), attendees=3, room_id="R-T")
    busy = {"R-T": [blocked(hk(2, 14), hk(2, 15))]}
    slots = alternatives(request, ROOMS, busy, POLICY, NOW)
    assert slots[:3] == [
        Slot("R-S", hk(2, 14), hk(2, 15)),
        Slot("R-M", hk(2, 14), hk(2, 15)),
        Slot("R-L", hk(2, 14), hk(2, 15)),
    ]


def test_alternatives_never_offer_unsuitable_or_inactive_rooms():
    request = req(hk(2, 14), hk(2, 15), attendees=15, equipment=frozenset({"audio"}), room_id="R-M")
    busy = {"R-M": [blocked(hk(2, 14), hk(2, 15))]}
    slots = alternatives(request, ROOMS, busy, POLICY, NOW)
    assert {s.room_id for s in slots} <= {"R-M", "R-L"}
    assert slots[0] == Slot("R-L", hk(2, 14), hk(2, 15))
    assert_sane(slots, request, busy, POLICY, NOW)


def test_alternatives_skip_busy_times_with_buffers():
    """The room asked for is busy all afternoon; the free times offered keep clear of every buffer."""
    request = req(hk(2, 14), hk(2, 15), room_id="R-S")
    meetings = [(hk(2, 11), hk(2, 12)), (hk(2, 12, 30), hk(2, 13, 30)), (hk(2, 14), hk(2, 17))]
    everyone_busy = {rid: [blocked(hk(2, 14), hk(2, 15))] for rid in ROOMS}
    busy = {**everyone_busy, "R-S": [blocked(s, e) for s, e in meetings]}
    slots = alternatives(request, ROOMS, busy, POLICY, NOW)
    in_s = [s for s in slots if s.room_id == "R-S"]
    assert in_s == [
        Slot("R-S", hk(2, 17, 30), hk(2, 18, 30)),
        Slot("R-S", hk(2, 18), hk(2, 19)),
        Slot("R-S", hk(2, 9, 30), hk(2, 10, 30)),
    ]
    assert_sane(slots, request, busy, POLICY, NOW)


def test_alternatives_are_never_in_the_past():
    now = hk(2, 12, 40)
    request = req(hk(2, 14), hk(2, 15), room_id="R-S")
    busy = {rid: [blocked(hk(2, 14), hk(2, 15))] for rid in ROOMS}
    slots = alternatives(request, ROOMS, busy, POLICY, now)
    assert slots, "there are free times later in the day"
    assert all(s.start > now for s in slots)
    # without the clock, 12:30 would have been the nearest free time in R-S
    assert Slot("R-S", hk(2, 12, 30), hk(2, 13, 30)) not in slots
    assert slots[0] == Slot("R-S", hk(2, 15, 30), hk(2, 16, 30))
    assert_sane(slots, request, busy, POLICY, now)


def test_alternatives_stay_within_opening_hours():
    """An early meeting: the nearest times would be before opening; none is offered."""
    request = req(hk(2, 8), hk(2, 10), room_id="R-S")
    busy = {rid: [blocked(hk(2, 8), hk(2, 10))] for rid in ROOMS}
    slots = alternatives(request, ROOMS, busy, POLICY, NOW)
    assert slots
    assert_within_opening_hours(slots)
    assert_sane(slots, request, busy, POLICY, NOW)


def test_alternatives_for_a_late_meeting_end_by_closing_time():
    """Free after 21:15, but a two-hour meeting starting then would run past 22:00."""
    request = req(hk(2, 19), hk(2, 21), room_id="R-S")
    busy = {rid: [blocked(hk(2, 19), hk(2, 21))] for rid in ROOMS}
    slots = alternatives(request, ROOMS, busy, POLICY, NOW)
    assert slots
    assert_within_opening_hours(slots)
    assert slots[0] == Slot("R-S", hk(2, 16, 30), hk(2, 18, 30))


def test_opening_hours_are_read_in_the_venue_time_zone():
    """The request arrives in UTC; the times offered are still 08:00-22:00 in Hong Kong."""
    start_utc = datetime(2026, 12, 2, 0, 0, tzinfo=UTC)  # 08:00 HK
    request = req(start_utc, start_utc + timedelta(hours=2), room_id="R-S")
    busy = {rid: [blocked(hk(2, 8), hk(2, 10))] for rid in ROOMS}
    slots = alternatives(request, ROOMS, busy, POLICY, NOW)
    assert slots
    assert_within_opening_hours(slots)
    assert slots[0] == Slot("R-S", hk(2, 10, 30), hk(2, 12, 30))


def test_the_search_starts_on_the_requested_day_in_venue_time():
    """09:00 on 3 December in Hong Kong, written with a New York offset (still 2 December there)."""
    new_york = timezone(timedelta(hours=-5))
    start = hk(3, 9).astimezone(new_york)
    assert start.date() == date(2026, 12, 2)
    request = req(start, start + timedelta(hours=1), room_id="R-S")
    busy = {rid: [blocked(hk(3, 8), hk(3, 22))] for rid in ROOMS}
    slots = alternatives(request, ROOMS, busy, POLICY, NOW)
    assert slots
    assert all(s.start.astimezone(HK).date() > date(2026, 12, 3) for s in slots)
    assert slots[0] == Slot("R-S", hk(4, 8), hk(4, 9))
    assert_within_opening_hours(slots)


def test_custom_opening_hours_are_respected():
    policy = Policy(opening=time(9), closing=time(18))
    request = req(hk(2, 16), hk(2, 18), room_id="R-S")
    busy = {rid: [blocked(hk(2, 16), hk(2, 18), policy)] for rid in ROOMS}
    slots = alternatives(request, ROOMS, busy, policy, NOW)
    assert slots
    assert_within_opening_hours(slots, policy)


def test_alternatives_move_to_the_next_day_when_the_day_is_full():
    request = req(hk(2, 14), hk(2, 15), room_id="R-S")
    full_day = [blocked(hk(2, 8), hk(2, 22))]
    busy = {rid: full_day for rid in ROOMS}
    slots = alternatives(request, ROOMS, busy, POLICY, NOW)
    assert slots[:3] == [
        Slot("R-S", hk(3, 8), hk(3, 9)),
        Slot("R-S", hk(3, 8, 30), hk(3, 9, 30)),
        Slot("R-S", hk(3, 9), hk(3, 10)),
    ]
    assert_sane(slots, request, busy, POLICY, NOW)
    assert_within_opening_hours(slots)


def test_nothing_is_offered_when_every_room_is_busy_for_the_whole_search_window():
    request = req(hk(2, 14), hk(2, 15), room_id="R-S")
    busy = {rid: [(hk(1, 0), hk(31, 0))] for rid in ROOMS}
    assert alternatives(request, ROOMS, busy, POLICY, NOW) == []


@pytest.mark.parametrize("limit", [1, 2, 3, 5])
def test_at_most_max_alternatives(limit):
    policy = Policy(max_alternatives=limit)
    request = req(hk(2, 14), hk(2, 15), attendees=2, room_id="R-T")
    busy = {"R-T": [blocked(hk(2, 14), hk(2, 15))]}
    slots = alternatives(request, ROOMS, busy, policy, NOW)
    assert len(slots) == limit


def test_many_free_rooms_still_give_at_most_five():
    rooms = {f"R{i:02}": Room(f"R{i:02}", f"Room {i}", 10 + i) for i in range(10)}
    request = Request(hk(2, 14), hk(2, 15), attendees=5, room_id="R00")
    busy = {"R00": [blocked(hk(2, 14), hk(2, 15))]}
    slots = alternatives(request, rooms, busy, POLICY, NOW)
    assert slots == [Slot(f"R{i:02}", hk(2, 14), hk(2, 15)) for i in range(1, 6)]


def test_without_a_room_asked_for_each_suitable_room_offers_its_nearest_time():
    request = req(hk(2, 14), hk(2, 15), attendees=8)
    busy = {rid: [blocked(hk(2, 13), hk(2, 16))] for rid in ROOMS}
    slots = alternatives(request, ROOMS, busy, POLICY, NOW)
    assert slots == [
        Slot("R-S", hk(2, 11, 30), hk(2, 12, 30)),
        Slot("R-M", hk(2, 11, 30), hk(2, 12, 30)),
        Slot("R-L", hk(2, 11, 30), hk(2, 12, 30)),
    ]


def test_a_room_asked_for_that_is_too_small_still_gets_other_rooms():
    request = req(hk(2, 14), hk(2, 15), attendees=8, room_id="R-T")
    slots = alternatives(request, ROOMS, {}, POLICY, NOW)
    assert slots[0] == Slot("R-S", hk(2, 14), hk(2, 15))
    assert "R-T" not in {s.room_id for s in slots}


def test_the_customers_own_time_after_closing_is_offered_in_no_room():
    # Opening hours are enforced on requests: a time outside them would be refused when accepted, so
    # no room is offered at it; the nearest times within the hours are.
    request = req(hk(2, 21), hk(2, 22, 30), room_id="R-S")  # runs past the 22:00 closing
    busy = {"R-S": [blocked(hk(2, 21), hk(2, 22, 30))]}
    slots = alternatives(request, ROOMS, busy, POLICY, NOW)
    assert slots
    assert all((s.start, s.end) != (hk(2, 21), hk(2, 22, 30)) for s in slots)
    assert_within_opening_hours(slots)
    assert slots[0] == Slot("R-S", hk(2, 19), hk(2, 20, 30)), "the nearest time clear of the buffers"
    assert Slot("R-M", hk(2, 20, 30), hk(2, 22)) in slots, "elsewhere, the nearest time that ends by closing"


# -- the search window ------------------------------------------------------------------------------
def _every_few_hours(rooms: dict[str, Room]) -> dict[str, list[tuple[datetime, datetime]]]:
    """Each room busy for an hour every five hours (staggered by room), 20 November to 25 December."""
    busy: dict[str, list[tuple[datetime, datetime]]] = {}
    for n, rid in enumerate(sorted(rooms)):
        t = datetime(2026, 11, 20, n, tzinfo=HK)
        busy[rid] = []
        while t < datetime(2026, 12, 25, tzinfo=HK):
            busy[rid].append((t, t + timedelta(hours=1)))
            t += timedelta(hours=5)
    return busy


@pytest.mark.parametrize(
    "request_",
    [
        req(hk(2, 14), hk(2, 16), room_id="R-S"),
        req(hk(2, 8), hk(2, 9), room_id="R-M"),
        req(hk(9, 20, 30), hk(9, 22), attendees=30),  # late in the evening: next day's mornings
        req(datetime(2026, 12, 4, 23, 0, tzinfo=UTC), datetime(2026, 12, 5, 1, 0, tzinfo=UTC), room_id="R-S"),
    ],
)
def test_the_search_window_holds_every_booking_the_alternatives_depend_on(request_):
    busy = _every_few_hours(ROOMS)
    start, end = POLICY.search_window(request_)
    within = {rid: [(s, e) for s, e in spans if s < end and start < e] for rid, spans in busy.items()}
    assert alternatives(request_, ROOMS, within, POLICY, NOW) == alternatives(request_, ROOMS, busy, POLICY, NOW)
    assert alternatives(request_, ROOMS, busy, POLICY, NOW), "the scenario offers something"


def test_rooms_busy_hour_after_hour_for_the_whole_search_are_busy_through_the_window():
    hours = [datetime(2026, 11, 28, tzinfo=HK) + timedelta(hours=h) for h in range(24 * 30)]
    busy = {rid: [(h, h + timedelta(hours=1)) for h in hours] for rid in ROOMS}
    request = req(hk(2, 14), hk(2, 15), room_id="R-S")
    start, end = POLICY.search_window(request)
    within = {rid: [(s, e) for s, e in spans if s < end and start < e] for rid, spans in busy.items()}
    assert alternatives(request, ROOMS, within, POLICY, NOW) == []


def test_the_search_window_runs_from_the_day_before_to_two_days_past_the_search():
    assert POLICY.search_window(req(hk(2, 14), hk(2, 16))) == (hk(1, 14), hk(11, 16))
    assert Policy(search_days=1).search_window(req(hk(2, 14), hk(2, 16))) == (hk(1, 14), hk(5, 16))


# -- the day-before reminder ------------------------------------------------------------------------
def test_the_reminder_falls_due_a_day_before_the_meeting():
    assert POLICY.reminder_at(hk(3, 14), NOW) == hk(2, 14)


def test_the_reminder_lead_is_the_policys():
    assert Policy(reminder_lead=timedelta(hours=3)).reminder_at(hk(3, 14), NOW) == hk(3, 11)


@pytest.mark.parametrize("start", [NOW + timedelta(hours=24), NOW + timedelta(hours=23), NOW, NOW - timedelta(hours=1)])
def test_no_reminder_when_its_time_has_come_already(start):
    assert POLICY.reminder_at(start, NOW) is None


def test_a_reminder_one_second_ahead_is_still_scheduled():
    assert POLICY.reminder_at(NOW + timedelta(hours=24, seconds=1), NOW) == NOW + timedelta(seconds=1)


# -- deciding a booking request ---------------------------------------------------------------------
def ask(request_: Request, inquiry_id: str = "inq-1") -> domain.Ask:
    return domain.Ask(inquiry_id, "cust-1", "Board meeting", request_, {"name": "Board meeting"}, "corr-1")


def test_the_first_attempt_books_every_occurrence_in_the_best_fitting_room():
    series = req(hk(2, 14), hk(2, 15), recurrence_freq="weekly", recurrence_count=3)
    attempt = domain.request_booking(ask(series), ROOMS, NOW, POLICY)
    assert isinstance(attempt, domain.Attempt)
    assert attempt.room == SMALL
    assert [(b.room_id, b.start, b.occurrence) for b in attempt.bookings] == [
        ("R-S", hk(2, 14), 0),
        ("R-S", hk(9, 14), 1),
        ("R-S", hk(16, 14), 2),
    ]
    assert [b.blocked for b in attempt.bookings] == [blocked(b.start, b.end) for b in attempt.bookings]
    assert {b.series_id for b in attempt.bookings} == {attempt.series_id} and attempt.series_id is not None
    assert len({b.booking_id for b in attempt.bookings}) == 3
    b = attempt.bookings[0]
    assert (b.inquiry_id, b.customer_id, b.name, b.attendees, b.equipment) == (
        "inq-1",
        "cust-1",
        "Board meeting",
        8,
        ("projector",),
    )
    assert (b.status, b.correlation_id, b.details) == (domain.CONFIRMED, "corr-1", {"name": "Board meeting"})


def test_a_single_meeting_has_no_series():
    attempt = domain.request_booking(ask(req(hk(2, 14), hk(2, 15))), ROOMS, NOW, POLICY)
    assert isinstance(attempt, domain.Attempt)
    assert attempt.series_id is None and [b.series_id for b in attempt.bookings] == [None]


def test_a_taken_room_moves_the_attempt_to_the_next_suitable_room_then_rejects():
    series = req(hk(2, 14), hk(2, 15), recurrence_freq="daily", recurrence_count=2)
    step = domain.request_booking(ask(series), ROOMS, NOW, POLICY)
    tried = []
    while isinstance(step, domain.Attempt):
        tried.append(step.room.room_id)
        assert {b.room_id for b in step.bookings} == {step.room.room_id}
        assert {b.series_id for b in step.bookings} == {step.series_id}
        step = step.next()
    assert tried == ["R-S", "R-M", "R-L"]
    assert step == Rejection("room_unavailable", "no suitable room is free at that time")


def test_the_room_asked_for_being_taken_is_said_by_name():
    step = domain.request_booking(ask(req(hk(2, 14), hk(2, 15), room_id="R-M")), ROOMS, NOW, POLICY)
    assert isinstance(step, domain.Attempt)
    assert step.next() == Rejection("room_unavailable", "room R-M is taken at that time")


def test_a_request_that_cannot_be_met_whatever_the_bookings_is_rejected_at_once():
    assert domain.request_booking(ask(req(hk(2, 14), hk(2, 15), room_id="R-X")), ROOMS, NOW, POLICY) == Rejection(
        "room_unknown", "room 'R-X' does not exist or is not in service"
    )


@pytest.mark.parametrize(("code", "offers"), [("invalid", False), ("room_unavailable", True), ("no_room_fits", True)])
def test_only_an_invalid_request_goes_without_alternatives(code, offers):
    assert Rejection(code, "…").offers_alternatives is offers


def test_reason_codes_are_exactly_the_contracts():
    scenarios = [
        req(hk(2, 14), hk(2, 13)),
        req(hk(2, 14), hk(2, 15), room_id="R-X"),
        req(hk(2, 14), hk(2, 15), attendees=11, room_id="R-S"),
        req(hk(2, 14), hk(2, 15), equipment=frozenset({"audio"}), room_id="R-S"),
        req(hk(2, 14), hk(2, 15), attendees=500),
    ]
    codes = {r.code for r in (domain.request_booking(ask(s), ROOMS, NOW, POLICY) for s in scenarios)}
    codes.add(domain.room_taken(None).code)
    assert codes == set(get_args(BookingRejected.model_fields["reason_code"].annotation))


def test_a_confirmation_announces_each_occurrence_and_reminds_of_those_a_day_ahead():
    series = req(hk(2, 8), hk(2, 9), recurrence_freq="daily", recurrence_count=3)
    attempt = domain.request_booking(ask(series), ROOMS, NOW, POLICY)
    assert isinstance(attempt, domain.Attempt)
    done = domain.confirmed(attempt, NOW)  # the first occurrence is 23 hours ahead
    assert done.outcome == domain.RequestOutcome(
        "inq-1", "cust-1", "confirmed", {"name": "Board meeting"}, correlation_id="corr-1"
    )
    assert [(e.booking_id, e.start, e.room_id, e.series_id) for e in done.events] == [
        (str(b.booking_id), b.start, "R-S", str(attempt.series_id)) for b in attempt.bookings
    ]
    assert [e.equipment for e in done.events] == [["projector"]] * 3
    assert [(r.booking_id, r.due_at, r.correlation_id) for r in done.reminders] == [
        (attempt.bookings[1].booking_id, hk(2, 8), "corr-1"),
        (attempt.bookings[2].booking_id, hk(3, 8), "corr-1"),
    ]


def test_a_rejection_records_why_and_offers_the_alternatives():
    offers = [Slot("R-M", hk(2, 14), hk(2, 15)), Slot("R-S", hk(2, 16), hk(2, 17))]
    declined = domain.rejected(
        ask(req(hk(2, 14), hk(2, 15))), domain.room_taken("R-S"), offers, rooms=ROOMS, policy=POLICY
    )
    assert declined.outcome == domain.RequestOutcome(
        "inq-1",
        "cust-1",
        "rejected",
        {"name": "Board meeting"},
        reason_code="room_unavailable",
        reason="room R-S is taken at that time",
        alternatives=tuple(offers),  # kept with the request: the customer may accept one
        correlation_id="corr-1",
    )
    assert declined.event.reason == "room R-S is taken at that time"
    assert [(a.room_id, a.start, a.end) for a in declined.event.alternatives] == [
        ("R-M", hk(2, 14), hk(2, 15)),
        ("R-S", hk(2, 16), hk(2, 17)),
    ]


def test_availability_lists_the_free_suitable_rooms_best_fit_first_and_offers_nothing_else():
    request = req(hk(2, 14), hk(2, 15))
    found = domain.availability(request, ROOMS, {"R-M": [blocked(hk(2, 14), hk(2, 15))]}, POLICY, NOW)
    assert found == domain.Availability(["R-S", "R-L"], [])


def test_availability_offers_alternatives_when_no_room_is_free():
    request = req(hk(2, 14), hk(2, 15), room_id="R-S")
    busy = {rid: [blocked(hk(2, 14), hk(2, 15))] for rid in ROOMS}
    found = domain.availability(request, ROOMS, busy, POLICY, NOW)
    assert found.free_rooms == []
    assert found.alternatives == alternatives(request, ROOMS, busy, POLICY, NOW) != []


# -- changes to a booking ---------------------------------------------------------------------------
def booking(start: datetime = hk(3, 14), end: datetime = hk(3, 16), **kw: object) -> domain.Booking:
    values: dict = {
        "booking_id": uuid.UUID(int=7),
        "inquiry_id": "inq-1",
        "room_id": "R-M",
        "customer_id": "cust-1",
        "name": "Board meeting",
        "start": start,
        "end": end,
        "blocked": blocked(start, end),
        "attendees": 15,
        "equipment": ("audio", "projector"),
        "correlation_id": str(uuid.UUID(int=9)),
    }
    return domain.Booking(**(values | kw))


def test_cancelling_gives_the_cancelled_booking_its_event_and_no_reminder():
    change = domain.cancel(booking(), "b-7", actor="agent", reason="ill")
    assert isinstance(change, domain.Change)
    assert change.booking == booking(status=domain.CANCELLED)
    assert change.reminder is None
    assert (change.event.booking_id, change.event.room_id, change.event.start) == (
        str(uuid.UUID(int=7)),
        "R-M",
        hk(3, 14),
    )
    assert (change.event.actor, change.event.reason) == ("agent", "ill")


@pytest.mark.parametrize(
    ("found", "reason"),
    [(None, "no booking 'b-7'"), (booking(status=domain.CANCELLED), "the booking is already cancelled")],
)
def test_only_a_confirmed_booking_can_be_cancelled_or_moved(found, reason):
    assert domain.cancel(found, "b-7", actor="agent", reason=None) == domain.Refusal(reason)
    moved = domain.reschedule(
        found, "b-7", ROOMS, start=hk(5, 10), end=hk(5, 11), room_id=None, actor="a", now=NOW, policy=POLICY
    )
    assert moved == domain.Refusal(reason)


def test_rescheduling_moves_the_blocked_interval_and_the_reminder():
    change = domain.reschedule(
        booking(), "b-7", ROOMS, start=hk(5, 10), end=hk(5, 11), room_id=None, actor="a", now=NOW, policy=POLICY
    )
    assert isinstance(change, domain.Change)
    assert change.booking == booking(start=hk(5, 10), end=hk(5, 11))
    assert change.reminder == domain.Reminder(uuid.UUID(int=7), hk(4, 10), str(uuid.UUID(int=9)))
    assert (change.event.previous.room_id, change.event.previous.start) == ("R-M", hk(3, 14))
    assert (change.event.room_id, change.event.start, change.event.end) == ("R-M", hk(5, 10), hk(5, 11))


def test_rescheduling_to_within_a_day_drops_the_reminder():
    change = domain.reschedule(
        booking(), "b-7", ROOMS, start=hk(2, 8), end=hk(2, 9), room_id=None, actor="a", now=NOW, policy=POLICY
    )
    assert isinstance(change, domain.Change) and change.reminder is None


@pytest.mark.parametrize(
    ("start", "room_id", "reason"),
    [
        (hk(1, 8, 59), None, "the new time is in the past"),
        (hk(5, 10), "R-S", "room R-S holds 10, the meeting needs 15"),
        (hk(5, 10), "R-T", "room R-T holds 4, the meeting needs 15"),
        (hk(5, 10), "R-X", "room 'R-X' does not exist or is not in service"),
        (hk(5, 10), "R-nowhere", "room 'R-nowhere' does not exist or is not in service"),
    ],
)
def test_rescheduling_refuses_a_time_past_or_a_room_that_cannot_hold_the_meeting(start, room_id, reason):
    moved = domain.reschedule(
        booking(),
        "b-7",
        ROOMS,
        start=start,
        end=start + timedelta(hours=1),
        room_id=room_id,
        actor="a",
        now=NOW,
        policy=POLICY,
    )
    assert moved == domain.Refusal(reason)


def test_a_due_reminder_goes_out_for_a_confirmed_meeting_still_ahead():
    event = domain.reminder(booking(), hk(3, 13, 59))
    assert event == BookingReminderDue(
        booking_id=str(uuid.UUID(int=7)), customer_id="cust-1", room_id="R-M", start=hk(3, 14), end=hk(3, 16)
    )


@pytest.mark.parametrize(
    ("found", "now", "reason"),
    [
        (None, hk(2, 14), "the booking does not exist"),
        (booking(status=domain.CANCELLED), hk(2, 14), "the booking is cancelled"),
        (booking(), hk(3, 14), "the meeting has already started"),
        (booking(), hk(3, 17), "the meeting has already started"),
    ],
)
def test_a_due_reminder_goes_out_no_more_for_a_meeting_cancelled_gone_or_started(found, now, reason):
    assert domain.reminder(found, now) == domain.Refusal(reason)


def test_a_room_update_announces_the_room_with_its_equipment_sorted():
    event = domain.room_updated(Room("R-Q", "Quiet room", 6, frozenset({"whiteboard", "audio"}), "2/F", False))
    assert event.model_dump() == {
        "room_id": "R-Q",
        "name": "Quiet room",
        "location": "2/F",
        "capacity": 6,
        "equipment": ["audio", "whiteboard"],
        "active": False,
        "setup_buffer_minutes": None,
        "cleanup_buffer_minutes": None,
        "opens_at": None,
        "closes_at": None,
    }
