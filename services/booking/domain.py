"""Booking rules, in plain Python (no broker, no database, no clock: ``now`` is an argument).

A room is never given to two meetings whose *blocked* intervals overlap: the meeting itself plus a
setup buffer before and a cleanup buffer after — the room's own buffers, or the venue's
(:meth:`Policy.blocked`). The database enforces the same rule with an exclusion constraint and has the
last word; this module decides everything else:

- a booking request (:func:`request_booking`): which rooms to try, in which order, with which rows
  (one per occurrence of a series, at most :data:`MAX_OCCURRENCES`); every meeting starts and ends
  within its room's opening hours (:meth:`Policy.within_hours`); an :class:`Attempt` that the
  database finds taken says what to try next (:meth:`Attempt.next`: the next suitable room, or the
  rejection naming the occurrences that clash); :func:`confirmed` and :func:`rejected` give the
  outcome to record, the events it implies and the customer's notification (:class:`Notice`);
- what to offer instead (:func:`alternatives`, :func:`availability`), within
  :meth:`Policy.search_window`, and taking one of them (:func:`accept_alternative`);
- changes to a booking or its whole series (:func:`cancel`, :func:`cancel_series`,
  :func:`reschedule`, :func:`reschedule_series`, :func:`change`): the new state and its events, or a
  :class:`Refusal`;
- the day-before reminder: when it falls due (:meth:`Policy.reminder_at`), whether it still goes
  out when it does (:func:`reminder`) and what the customer is told (:func:`reminder_notice`);
- the meeting's life after the decision (:func:`timeline`: the due items of a booking): what the
  departments prepare and by when (:func:`preparation`, :func:`preparation_done`,
  :func:`preparation_overdue`), the customer's confirmation the day before
  (:func:`confirm_attendance`), check-in and the no-show release (:func:`check_in`, :func:`no_show`),
  the end of the meeting and its survey (:func:`complete`);
- the waitlist: a request rejected because its slot was taken may wait for it; a slot freed again
  (cancelled, released, moved away from, or an offer that lapsed) is held for the first waiter it suits
  (:class:`WaitlistRound`, :func:`offer`) until a deadline (:meth:`Policy.offer_deadline`), who takes it
  (:func:`accept_offer`) or lets it lapse (:func:`lapse`) to the next.
"""

from __future__ import annotations

import uuid
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from itertools import accumulate
from typing import Any, get_args
from zoneinfo import ZoneInfo

from shared.contract import events
from shared.contract.common import MeetingDetails
from shared.contract.events import EventData

from . import messages

MAX_DURATION = timedelta(hours=24)
MAX_AHEAD = timedelta(days=3 * 365 + 1)  # how far ahead a meeting may start (its series may run on)
MAX_OCCURRENCES = 366  # the contract's bound on a series (Recurrence.count); a longer one is refused

# a booking's status
CONFIRMED = "confirmed"
CANCELLED = "cancelled"
RELEASED = "released"  # nobody checked in: the room is free again
COMPLETED = "completed"  # the meeting is over
HELD = "held"  # a slot offered to a waiting request, held for it until the offer's deadline
BOOKING_STATUSES = (CONFIRMED, CANCELLED, RELEASED, COMPLETED, HELD)
FREE_STATUSES = (CANCELLED, RELEASED)  # these no longer hold the room (the exclusion constraint's predicate)
REJECTED = "rejected"  # a request's outcome (confirmed or rejected)

# a waiting request (booking_requests.waitlist)
WAITING = "waiting"
OFFERED = "offered"
ACCEPTED = "accepted"
LAPSED = "lapsed"
LEFT = "left"  # it took one of its alternatives instead
WAITLIST_STATES = (WAITING, OFFERED, ACCEPTED, LAPSED, LEFT)

DEPARTMENTS: tuple[str, ...] = get_args(events.Department)  # equipment, catering, setup

# due items, each keyed by the booking id (the waitlist offer: by the inquiry id)
REMINDER = "booking.reminder"  # the day-before reminder
PREPARATION = "booking.preparation"  # the next preparation deadline
NO_SHOW = "booking.no_show"  # no check-in N minutes after the start: the room is released
COMPLETION = "booking.completion"  # the end of the meeting: completed, the survey
BOOKING_DUE = (REMINDER, PREPARATION, NO_SHOW, COMPLETION)
WAITLIST_OFFER = "booking.waitlist_offer"  # the deadline of a waitlist offer

# notification.requested templates
CONFIRMED_TEMPLATE = "booking.confirmed"
REJECTED_TEMPLATE = "booking.rejected"
REMINDER_TEMPLATE = "booking.reminder"
CANCELLED_TEMPLATE = "booking.cancelled"
RESCHEDULED_TEMPLATE = "booking.rescheduled"
ATTENDANCE_TEMPLATE = "booking.attendance_confirmed"
RELEASED_TEMPLATE = "booking.released"
WAITLIST_TEMPLATE = "booking.waitlist_offered"
SURVEY_TEMPLATE = "booking.survey"
ACCEPT_COMMAND = "booking.accept_alternative"
WAITLIST_ACCEPT_COMMAND = "booking.waitlist_accept"
REPLY_OPTIONS = ("confirm", "cancel", "change")  # what the reminder asks the customer to answer

Interval = tuple[datetime, datetime]
Busy = Mapping[str, Sequence[Interval]]  # each room's blocked intervals


@dataclass(frozen=True)
class Room:
    """A room and its own rules; None: the venue's (:class:`Policy`)."""

    room_id: str
    name: str
    capacity: int
    equipment: frozenset[str] = frozenset()
    location: str | None = None
    active: bool = True
    setup: timedelta | None = None
    cleanup: timedelta | None = None
    opens_at: time | None = None  # venue time
    closes_at: time | None = None  # venue time; 00:00 is midnight; at or before opens_at: the next day


@dataclass(frozen=True)
class Slot:
    room_id: str
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Request:
    start: datetime
    end: datetime
    attendees: int
    equipment: frozenset[str] = frozenset()
    room_id: str | None = None
    recurrence_freq: str | None = None  # "daily" | "weekly"
    recurrence_count: int | None = None
    recurrence_until: date | None = None


def request_from(meeting: MeetingDetails) -> Request:
    """The request the rules see in a meeting as the contract carries it."""
    rec = meeting.recurrence
    return Request(
        start=meeting.start,
        end=meeting.end,
        attendees=meeting.attendees,
        equipment=frozenset(meeting.equipment),
        room_id=meeting.room_id,
        recurrence_freq=rec.freq if rec else None,
        recurrence_count=rec.count if rec else None,
        recurrence_until=rec.until if rec else None,
    )


@dataclass(frozen=True)
class Policy:
    setup: timedelta = timedelta(minutes=15)
    cleanup: timedelta = timedelta(minutes=15)
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Hong_Kong"))
    opening: time = time(8, 0)
    closing: time = time(22, 0)  # 00:00: midnight
    step: timedelta = timedelta(minutes=30)
    search_days: int = 7
    max_alternatives: int = 5
    reminder_lead: timedelta = timedelta(hours=24)
    # preparation: how long before the meeting each department must be done
    preparation_leads: Mapping[str, timedelta] = field(
        default_factory=lambda: {
            "equipment": timedelta(hours=2),
            "catering": timedelta(days=1),
            "setup": timedelta(hours=1),
        }
    )
    no_show_after: timedelta | None = timedelta(minutes=20)  # None: never released
    check_in_opens: timedelta = timedelta(hours=1)  # check-in is accepted from this long before the start
    waitlist_accept: timedelta = timedelta(hours=2)  # how long a waiter has to take an offer
    waitlist_cutoff: timedelta = timedelta(minutes=15)  # an offer closes this long before the meeting at the latest

    def buffers(self, room: Room | None = None) -> tuple[timedelta, timedelta]:
        """Setup and cleanup around a meeting in ``room``: the room's own, else the venue's."""
        setup = room.setup if room is not None and room.setup is not None else self.setup
        cleanup = room.cleanup if room is not None and room.cleanup is not None else self.cleanup
        return setup, cleanup

    def blocked(self, start: datetime, end: datetime, room: Room | None = None) -> Interval:
        """The interval the room is taken for: setup before, cleanup after."""
        setup, cleanup = self.buffers(room)
        return start - setup, end + cleanup

    def hours(self, room: Room | None = None) -> tuple[time, time]:
        """When ``room`` opens and closes (venue time): its own hours, else the venue's."""
        opens = room.opens_at if room is not None and room.opens_at is not None else self.opening
        closes = room.closes_at if room is not None and room.closes_at is not None else self.closing
        return opens, closes

    def window(self, room: Room | None, day: date) -> Interval | None:
        """The opening hours of ``room`` that begin on ``day`` (venue time); None: never closes.
        A closing time at or before the opening time is on the next day (00:00: midnight)."""
        opens, closes = self.hours(room)
        if opens == closes:
            return None
        close_day = day if closes > opens else day + timedelta(days=1)
        return datetime.combine(day, opens, tzinfo=self.tz), datetime.combine(close_day, closes, tzinfo=self.tz)

    def within_hours(self, room: Room | None, start: datetime, end: datetime) -> bool:
        """Whether a meeting [start, end) starts and ends within one opening of ``room``."""
        first = start.astimezone(self.tz).date()
        for day in (first - timedelta(days=1), first):
            w = self.window(room, day)
            if w is None or (w[0] <= start and end <= w[1]):
                return True
        return False

    def search_window(self, req: Request) -> Interval:
        """The bookings :func:`alternatives` must see for ``req``: from a day before the meeting
        (its day in venue time, and the buffers) to ``search_days`` after it, with a day's margin."""
        return req.start - timedelta(days=1), req.end + timedelta(days=self.search_days + 2)

    def booking_window(self, req: Request) -> Interval:
        """The bookings a request must see to choose its room and offer alternatives: the search
        window, and every occurrence of a series (also moved as far as an alternative may move it)."""
        start, end = self.search_window(req)
        occ = occurrences(req)
        if not occ:
            return start, end
        return min(start, occ[0][0] - timedelta(days=1)), max(end, occ[-1][1] + timedelta(days=self.search_days + 2))

    def reminder_at(self, start: datetime, now: datetime) -> datetime | None:
        """When the customer is reminded of a meeting starting at ``start``: ``reminder_lead``
        before it; None when that moment has already passed at ``now`` (a meeting booked or moved
        this close to its start needs no reminder: the confirmation is recent enough)."""
        due = start - self.reminder_lead
        return due if due > now else None

    def preparation_due(self, department: str, start: datetime, now: datetime) -> datetime:
        """When a department must be done preparing a meeting starting at ``start``: its lead before
        the start; a deadline already past when it is asked (a meeting booked at short notice) is the
        start itself; for a meeting already begun (a slot taken from the waitlist after a no-show),
        now — such a task is asked for but never raised as overdue (see :attr:`Task.watched`)."""
        due = start - self.preparation_leads.get(department, timedelta(0))
        if due > now:
            return due
        return start if start > now else now

    def no_show_at(self, start: datetime, end: datetime, now: datetime) -> datetime | None:
        """When a meeting nobody checked in for is released: ``no_show_after`` after its start (after
        ``now`` for one confirmed once under way), by its end at the latest; None: never."""
        if self.no_show_after is None:
            return None
        return min(max(start, now) + self.no_show_after, end)

    def offer_deadline(self, start: datetime, now: datetime) -> datetime:
        """Until when a waiter may take a slot offered at ``now``: ``waitlist_accept``, closing
        ``waitlist_cutoff`` before the meeting — or, for an offer that late (a room released after
        a no-show), ``waitlist_cutoff`` after the offer."""
        return min(now + self.waitlist_accept, max(start - self.waitlist_cutoff, now + self.waitlist_cutoff))


def hours_text(room: Room | None, policy: Policy) -> tuple[str, str]:
    """A room's opening hours as read by people: ("08:00", "22:00"); midnight closing is "24:00"."""
    opens, closes = policy.hours(room)
    return f"{opens:%H:%M}", "24:00" if closes == time(0) else f"{closes:%H:%M}"


@dataclass(frozen=True)
class Conflict:
    """An occurrence of a series that the room is taken for (``occurrence``: from 0)."""

    occurrence: int
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Rejection:
    """Why a booking request cannot be met (``code``: booking.rejected's reason_code; ``why``: the
    finer reason the customer's text is chosen by, with its ``facts``; ``conflicts``: the occurrences
    of a series that clash). Two rejections are equal when code and reason are."""

    code: str  # room_unavailable | room_unknown | room_too_small | equipment_missing | no_room_fits | invalid
    reason: str
    why: str = field(default="", compare=False)
    facts: Mapping[str, Any] = field(default_factory=dict, compare=False)
    conflicts: tuple[Conflict, ...] = field(default=(), compare=False)

    @property
    def key(self) -> str:
        return self.why or self.code

    @property
    def offers_alternatives(self) -> bool:
        """A request that makes no sense (``invalid``) gets no alternatives, unless all it got wrong
        was the opening hours; any other does."""
        return self.code != "invalid" or self.why in ("outside_hours", "none_open")


@dataclass(frozen=True)
class Plan:
    """Rooms to try in order (the first free one wins) and the occurrences to book in each."""

    candidates: tuple[Room, ...]
    occurrences: tuple[Interval, ...]


def occurrences(req: Request, limit: int = MAX_OCCURRENCES) -> list[Interval]:
    """The meeting's occurrences: one, or a daily/weekly series bounded by count or until — at most
    ``limit`` of them (:func:`series_problem` refuses a series that would have more)."""
    if not req.recurrence_freq:
        return [(req.start, req.end)]
    step = timedelta(days=1 if req.recurrence_freq == "daily" else 7)
    out: list[Interval] = []
    for i in range(min(req.recurrence_count or limit, limit)):
        start, end = req.start + i * step, req.end + i * step
        if req.recurrence_until and start.date() > req.recurrence_until:
            break
        out.append((start, end))
    return out


def series_problem(req: Request) -> Rejection | None:
    """Why a recurrence cannot be booked as asked: unbounded, longer than :data:`MAX_OCCURRENCES`,
    or empty. Never capped silently."""
    if not req.recurrence_freq:
        return None
    facts = {"max": MAX_OCCURRENCES}
    if req.recurrence_count is None and req.recurrence_until is None:
        return Rejection(
            "invalid",
            f"a recurring meeting needs a count or an until date (at most {MAX_OCCURRENCES} occurrences)",
            why="series_unbounded",
            facts=facts,
        )
    if (req.recurrence_count or 0) > MAX_OCCURRENCES or len(occurrences(req, MAX_OCCURRENCES + 1)) > MAX_OCCURRENCES:
        until = f" until {req.recurrence_until}" if req.recurrence_until else ""
        return Rejection(
            "invalid",
            f"a series may have at most {MAX_OCCURRENCES} occurrences; {req.recurrence_freq}{until} gives more",
            why="series_too_long",
            facts=facts,
        )
    if not occurrences(req):
        return Rejection("invalid", "the recurrence yields no meeting", why="no_occurrence")
    return None


def moved_to(req: Request, slot: Slot, count: int | None = None) -> Request:
    """The request with its (first) meeting at ``slot``; a series keeps its number of occurrences
    (``count``, when the caller knows it already)."""
    moved = replace(req, room_id=slot.room_id, start=slot.start, end=slot.end)
    if req.recurrence_freq:
        moved = replace(moved, recurrence_count=count or len(occurrences(req)), recurrence_until=None)
    return moved


def unsuitability(room: Room | None, req: Request) -> Rejection | None:
    """Why this room cannot hold this meeting at any time, or None if it can."""
    if room is None or not room.active:
        return Rejection("room_unknown", f"room {req.room_id!r} does not exist or is not in service")
    if room.capacity < req.attendees:
        return Rejection(
            "room_too_small",
            f"room {room.room_id} holds {room.capacity}, the meeting needs {req.attendees}",
            facts={"capacity": room.capacity, "attendees": req.attendees},
        )
    missing = req.equipment - room.equipment
    if missing:
        return Rejection(
            "equipment_missing",
            f"room {room.room_id} lacks {', '.join(sorted(missing))}",
            facts={"missing": sorted(missing)},
        )
    return None


def outside_hours(room: Room, occ: Sequence[Interval], policy: Policy) -> Rejection | None:
    """Why the meeting (each occurrence) cannot take place in ``room`` at its time: it does not start
    and end within the room's opening hours; None if every occurrence does."""
    for i, (start, end) in enumerate(occ):
        if not policy.within_hours(room, start, end):
            opens, closes = hours_text(room, policy)
            which = f"occurrence {i + 1} " if len(occ) > 1 else ""
            return Rejection(
                "invalid",
                f"room {room.room_id} is open {opens}–{closes} (venue time); the meeting {which}runs "
                f"{_local(start, end, policy)}",
                why="outside_hours",
                facts={"room": room.name, "room_id": room.room_id, "opens": opens, "closes": closes},
            )
    return None


def suitable_rooms(rooms: Iterable[Room], req: Request) -> list[Room]:
    """Rooms that can hold the meeting, the best fit (smallest capacity) first."""
    fit = [r for r in rooms if unsuitability(r, req) is None]
    return sorted(fit, key=lambda r: (r.capacity, r.room_id))


def time_problem(req: Request, now: datetime) -> Rejection | None:
    """Why a meeting's time can never be booked (or asked about), or None."""
    if req.attendees < 1:
        return Rejection("invalid", "a meeting has at least one attendee", why="no_attendees")
    if req.end <= req.start:
        return Rejection("invalid", "the meeting must end after it starts", why="end_before_start")
    if req.end - req.start > MAX_DURATION:
        return Rejection("invalid", "a meeting may last at most 24 hours; book several days separately", why="too_long")
    if req.start < now:
        return Rejection("invalid", "the meeting would start in the past", why="past")
    if req.start > now + MAX_AHEAD:
        years = MAX_AHEAD.days // 365
        return Rejection(
            "invalid", f"bookings open at most {years} years ahead", why="too_far_ahead", facts={"years": years}
        )
    return None


def plan(req: Request, rooms: Mapping[str, Room], now: datetime, policy: Policy) -> Plan | Rejection:
    problem = time_problem(req, now) or series_problem(req)
    if problem:
        return problem
    occ = tuple(occurrences(req))
    if req.room_id is not None:
        room = rooms.get(req.room_id)
        problem = unsuitability(room, req)
        if problem:
            return problem
        assert room is not None
        return outside_hours(room, occ, policy) or Plan((room,), occ)
    fit = suitable_rooms(rooms.values(), req)
    if not fit:
        return Rejection(
            "no_room_fits", f"no room holds {req.attendees} with {_equipment(req)}", facts={"attendees": req.attendees}
        )
    open_ = [r for r in fit if outside_hours(r, occ, policy) is None]
    if not open_:
        hours = ", ".join(f"{r.room_id} {'–'.join(hours_text(r, policy))}" for r in fit[:5])
        return Rejection(
            "invalid",
            f"no suitable room is open for the meeting ({_local(*occ[0], policy)}, venue time); opening hours: {hours}",
            why="none_open",
        )
    return Plan(tuple(open_), occ)


def _equipment(req: Request) -> str:
    return ", ".join(sorted(req.equipment)) or "no special equipment"


def _local(start: datetime, end: datetime, policy: Policy) -> str:
    """A meeting's time in venue time for reasons and logs: ``2026-12-02 14:00–16:00``."""
    s, e = start.astimezone(policy.tz), end.astimezone(policy.tz)
    return f"{s:%Y-%m-%d %H:%M}–{e:%H:%M}" if s.date() == e.date() else f"{s:%Y-%m-%d %H:%M}–{e:%Y-%m-%d %H:%M}"


def is_free(busy: Sequence[Interval], start: datetime, end: datetime, policy: Policy, room: Room | None = None) -> bool:
    b_start, b_end = policy.blocked(start, end, room)
    return all(not (b_start < o_end and o_start < b_end) for o_start, o_end in busy)


class _Calendar:
    """One room's blocked intervals, sorted, for quick "is this free" questions (bisection)."""

    def __init__(self, spans: Iterable[Interval]):
        ordered = sorted(spans)
        self.starts = [s for s, _ in ordered]
        self.ends = [e for _, e in ordered]
        self.max_end = list(accumulate(self.ends, max))

    def free(self, start: datetime, end: datetime) -> bool:
        i = bisect_left(self.starts, end)  # the intervals that begin before this one ends
        return i == 0 or self.max_end[i - 1] <= start

    def add(self, start: datetime, end: datetime) -> None:
        """The room is taken for [start, end) too (a booking decided meanwhile)."""
        i = bisect_right(self.starts, start)
        self.starts.insert(i, start)
        self.ends.insert(i, end)
        running = accumulate(self.ends[i:], max, initial=self.max_end[i - 1]) if i else accumulate(self.ends, max)
        self.max_end[i:] = list(running)[1:] if i else list(running)


class _Calendars:
    def __init__(self, busy: Busy):
        self.busy = busy
        self.rooms: dict[str, _Calendar] = {}

    def of(self, room_id: str) -> _Calendar:
        if room_id not in self.rooms:
            self.rooms[room_id] = _Calendar(self.busy.get(room_id, ()))
        return self.rooms[room_id]

    def add(self, bookings: Iterable[Booking]) -> None:
        """These bookings take their rooms too (decided earlier in the same batch)."""
        for b in bookings:
            self.of(b.room_id).add(*b.blocked)

    def free(self, room: Room, occ: Sequence[Interval], policy: Policy) -> bool:
        cal = self.of(room.room_id)
        return all(cal.free(*policy.blocked(s, e, room)) for s, e in occ)

    def conflicts(self, room: Room, occ: Sequence[Interval], policy: Policy) -> tuple[Conflict, ...]:
        cal = self.of(room.room_id)
        return tuple(Conflict(i, s, e) for i, (s, e) in enumerate(occ) if not cal.free(*policy.blocked(s, e, room)))


def alternatives(
    req: Request,
    rooms: Mapping[str, Room],
    busy: Busy | _Calendars,
    policy: Policy,
    now: datetime,
    *,
    starts: dict[tuple[datetime, timedelta, time, time], list[datetime]] | None = None,
) -> list[Slot]:
    """What to offer instead (at most ``max_alternatives``): other suitable rooms at the same time
    first, then the nearest free times (same duration, within the room's opening hours, up to
    ``search_days`` ahead) in the room asked for or, failing that, in any suitable room. For a series
    a slot is its first meeting: every occurrence, moved alike, is free there. ``busy`` holds each
    room's *blocked* intervals."""
    duration = req.end - req.start
    fit = suitable_rooms(rooms.values(), req)
    calendars = busy if isinstance(busy, _Calendars) else _Calendars(busy)
    out: list[Slot] = []
    # candidate times, once per time asked for, length and opening hours (``starts``: shared by a batch)
    starts = {} if starts is None else starts
    offsets = [s - req.start for s, _ in occurrences(req)]  # a series moves alike: each occurrence's shift

    def bookable(room: Room, start: datetime, *, within_hours: bool = False) -> bool:
        """Whether every occurrence, the first moved to ``start``, is free and open in ``room``
        (``within_hours``: the first is known to be within the room's hours already)."""
        cal = calendars.of(room.room_id)
        setup, cleanup = policy.buffers(room)
        for i, offset in enumerate(offsets):
            s = start + offset
            e = s + duration
            if not cal.free(s - setup, e + cleanup):
                return False
            if (i or not within_hours) and not policy.within_hours(room, s, e):
                return False
        return True

    def add(slot: Slot) -> bool:
        if slot not in out:
            out.append(slot)
        return len(out) >= policy.max_alternatives

    for room in fit:
        if room.room_id != req.room_id and bookable(room, req.start):
            if add(Slot(room.room_id, req.start, req.end)):
                return out

    preferred = [rooms[req.room_id]] if req.room_id in rooms and rooms[req.room_id] in fit else []
    for room in preferred + [r for r in fit if r not in preferred]:
        wanted = 3 if room in preferred else 1  # a few times in the room asked for, the nearest elsewhere
        hours = policy.hours(room)
        key = (req.start, duration, *hours)
        if key not in starts:
            starts[key] = _candidate_starts(req.start, duration, policy, now, room)
        for start in starts[key]:
            if bookable(room, start, within_hours=True):
                if add(Slot(room.room_id, start, start + duration)):
                    return out
                wanted -= 1
                if wanted == 0:
                    break
    return out


def _candidate_starts(
    requested: datetime, duration: timedelta, policy: Policy, now: datetime, room: Room | None = None
) -> list[datetime]:
    """Start times within the room's opening hours, nearest to the requested one first."""
    local = requested.astimezone(policy.tz)
    first_day = local.date()
    starts: list[datetime] = []
    for d in range(policy.search_days + 1):
        day = first_day + timedelta(days=d)
        window = policy.window(room, day) or (
            datetime.combine(day, time(0), tzinfo=policy.tz),
            datetime.combine(day + timedelta(days=1), time(0), tzinfo=policy.tz),
        )
        t = window[0]
        while t + duration <= window[1]:
            if t > now and t != local:
                starts.append(t)
            t += policy.step
    starts.sort(key=lambda s: (abs((s - requested).total_seconds()), s))
    return starts


@dataclass(frozen=True)
class Availability:
    free_rooms: list[str]  # suitable rooms free and open at the time asked for, the best fit first
    alternatives: list[Slot]  # only when none is free


def availability(req: Request, rooms: Mapping[str, Room], busy: Busy, policy: Policy, now: datetime) -> Availability:
    """Which suitable rooms are free (and open) for ``req`` and, if none is, what to offer instead
    (``busy``: each room's blocked intervals within :meth:`Policy.search_window`)."""
    calendars = _Calendars(busy)
    occ = [(req.start, req.end)]
    free = [
        r.room_id
        for r in suitable_rooms(rooms.values(), req)
        if outside_hours(r, occ, policy) is None and calendars.free(r, occ, policy)
    ]
    return Availability(free, [] if free else alternatives(req, rooms, busy, policy, now))


# -- bookings -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Booking:
    """One booked meeting (one occurrence of a series) as it is stored."""

    booking_id: uuid.UUID
    inquiry_id: str
    room_id: str
    customer_id: str
    name: str
    start: datetime
    end: datetime
    blocked: Interval  # what the room is taken for: Policy.blocked(start, end, room)
    attendees: int
    equipment: tuple[str, ...]
    correlation_id: str  # of the request that made it: reminders and changes carry it on
    occurrence: int = 0
    series_id: uuid.UUID | None = None
    details: Mapping[str, Any] = field(default_factory=dict)  # the meeting as asked for
    status: str = CONFIRMED
    reply_to: events.ReplyRoute | None = None  # how the customer hears back
    attendance_confirmed_at: datetime | None = None  # the customer confirmed the day before
    checked_in_at: datetime | None = None
    released_at: datetime | None = None  # nobody checked in (status released)
    completed_at: datetime | None = None  # the meeting is over (status completed)
    agent_id: str | None = None  # the agent who handled the request (None: no agent was involved)


@dataclass(frozen=True)
class Ask:
    """A booking request (``booking.requested``) as the rules see it."""

    inquiry_id: str
    customer_id: str
    name: str
    request: Request
    details: Mapping[str, Any]  # the meeting as asked for, kept with the bookings and the outcome
    correlation_id: str
    reply_to: events.ReplyRoute | None = None
    language: str = "en"  # the request's, when there is no reply route to say it
    wait_if_taken: bool = False  # rejected because the slot is taken: wait for it (the waitlist)
    agent_id: str | None = None  # the agent who handled the inquiry, when one booked on the customer's behalf


@dataclass(frozen=True)
class Wait:
    """The slot a waiting request waits for (``room_id`` None: any suitable room), since when."""

    room_id: str | None
    start: datetime
    end: datetime
    since: datetime


@dataclass(frozen=True)
class Offer:
    """A slot offered to a waiting request: held for it (the booking ``booking_id``, status held)
    until ``accept_by``."""

    booking_id: uuid.UUID
    room_id: str
    start: datetime
    end: datetime
    accept_by: datetime
    offered_at: datetime


@dataclass(frozen=True)
class RequestOutcome:
    """What became of a request: one per inquiry (a second request for it changes nothing). A
    rejected request keeps the alternatives it was offered; ``accepted``: the one the customer took
    (an alternative, or the slot the waitlist offered). A request waiting for its slot has a
    ``waitlist`` state, the slot it waits for (``wait``) and the last ``offer`` made to it."""

    inquiry_id: str
    customer_id: str
    outcome: str  # CONFIRMED | REJECTED
    request: Mapping[str, Any]
    reason_code: str | None = None
    reason: str | None = None
    reply_to: events.ReplyRoute | None = None
    alternatives: tuple[Slot, ...] = ()
    accepted: Slot | None = None
    waitlist: str | None = None  # WAITING | OFFERED | ACCEPTED | LAPSED | LEFT; None: not waiting
    wait: Wait | None = None
    offer: Offer | None = None
    correlation_id: str | None = None  # the request's (what its waitlist offer and booking carry on)
    decided_at: datetime | None = None
    agent_id: str | None = None  # the agent who handled the request (its bookings and survey name them)


@dataclass(frozen=True)
class Attempt:
    """Book every occurrence in one room: insert :attr:`bookings`. The database has the last word
    (its exclusion constraint); if it says the room is taken, :meth:`next` says what to do instead."""

    ask: Ask
    plan: Plan
    index: int  # which of plan.candidates
    series_id: uuid.UUID | None
    policy: Policy = field(repr=False)
    bookings: tuple[Booking, ...] = ()
    busy: Busy = field(default_factory=dict, repr=False)

    @property
    def room(self) -> Room:
        return self.plan.candidates[self.index]

    @property
    def room_ids(self) -> list[str]:
        """Every room this request may be booked in."""
        return [r.room_id for r in self.plan.candidates]

    @property
    def around(self) -> list[Interval]:
        """What choosing its room needs to know: the bookings touching each occurrence with the widest
        buffers of the candidate rooms around it (:meth:`knowing` needs no more than those)."""
        buffers = [self.policy.buffers(r) for r in self.plan.candidates]
        setup, cleanup = max(b[0] for b in buffers), max(b[1] for b in buffers)
        return [(s - setup, e + cleanup) for s, e in self.plan.occurrences]

    def next(self, busy: Busy | None = None) -> Attempt | Rejection:
        """The room was taken: try the next suitable room free by ``busy`` (the bookings read again,
        if given), or reject when none is left."""
        return (self if busy is None else replace(self, busy=busy))._from(self.index + 1)

    def knowing(self, busy: Busy) -> Attempt | Rejection:
        """The first room to try given the bookings already made (``busy``: each room's blocked
        intervals around the occurrences, :attr:`around`, or wider), or the rejection when every suitable room is
        taken. Skipping the rooms already taken keeps a request for a popular slot from trying, and
        waiting on, every room in turn."""
        return replace(self, busy=busy)._from(self.index)

    def _from(self, index: int) -> Attempt | Rejection:
        """The first candidate from ``index`` on that the bookings known so far leave free (the
        database still has the last word: another request may take it first)."""
        return self.choose(_Calendars(self.busy), start=index)

    def choose(self, calendars: _Calendars, *, start: int = 0) -> Attempt | Rejection:
        """The first candidate from ``start`` on that ``calendars`` leave free, or the rejection when
        none is left."""
        for i in range(start, len(self.plan.candidates)):
            if calendars.free(self.plan.candidates[i], self.plan.occurrences, self.policy):
                return _attempt(self.ask, self.plan, i, self.series_id, self.policy, self.busy)
        return self._taken(calendars)

    def _taken(self, calendars: _Calendars) -> Rejection:
        """Every candidate is taken; for a series, which occurrences clash in the room that comes
        closest (the fewest clashes; the room asked for, if one was)."""
        occ = self.plan.occurrences
        if len(occ) > 1:
            best: tuple[Room, tuple[Conflict, ...]] | None = None
            for room in self.plan.candidates:
                clash = calendars.conflicts(room, occ, self.policy)
                if clash and (best is None or len(clash) < len(best[1])):
                    best = (room, clash)
            if best is not None:
                return series_taken(self.ask.request.room_id, best[0], best[1], len(occ), self.policy)
        return room_taken(self.ask.request.room_id)


def request_booking(
    ask: Ask, rooms: Mapping[str, Room], now: datetime, policy: Policy, *, plans: dict[Request, Any] | None = None
) -> Attempt | Rejection:
    """The first room to try (the room asked for, or the best fit), or why the request fails
    whatever the bookings (invalid, outside opening hours, unsuitable room, no room fits); see
    :meth:`Attempt.knowing`. ``plans``: the plans of the same rooms at the same ``now``, by request
    (a batch plans the same meeting once)."""
    if plans is None:
        result = plan(ask.request, rooms, now, policy)
    elif (result := plans.get(ask.request)) is None:
        result = plans[ask.request] = plan(ask.request, rooms, now, policy)
    if isinstance(result, Rejection):
        return result
    series_id = uuid.uuid4() if len(result.occurrences) > 1 else None
    return _attempt(ask, result, 0, series_id, policy, {})


def _attempt(ask: Ask, p: Plan, index: int, series_id: uuid.UUID | None, policy: Policy, busy: Busy) -> Attempt:
    room = p.candidates[index]
    req = ask.request
    bookings = tuple(
        Booking(
            booking_id=uuid.uuid4(),
            inquiry_id=ask.inquiry_id,
            room_id=room.room_id,
            customer_id=ask.customer_id,
            name=ask.name,
            start=start,
            end=end,
            blocked=policy.blocked(start, end, room),
            attendees=req.attendees,
            equipment=tuple(sorted(req.equipment)),
            correlation_id=ask.correlation_id,
            occurrence=i,
            series_id=series_id,
            details=ask.details,
            reply_to=ask.reply_to,
            agent_id=ask.agent_id,
        )
        for i, (start, end) in enumerate(p.occurrences)
    )
    return Attempt(ask, p, index, series_id, policy, bookings, busy)


def room_taken(room_id: str | None) -> Rejection:
    """The room asked for (or every suitable room) is taken at that time."""
    if room_id:
        return Rejection("room_unavailable", f"room {room_id} is taken at that time")
    return Rejection("room_unavailable", "no suitable room is free at that time")


def series_taken(
    asked: str | None, room: Room, conflicts: tuple[Conflict, ...], total: int, policy: Policy
) -> Rejection:
    """A series cannot be booked: ``room`` (the one asked for, or the closest) is taken for these
    occurrences."""
    listed = ", ".join(_local(c.start, c.end, policy) for c in conflicts[: messages.LISTED])
    if len(conflicts) > messages.LISTED:
        listed += f" and {len(conflicts) - messages.LISTED} more"
    count = f"{len(conflicts)} of {total} occurrences"
    reason = (
        f"room {room.room_id} is taken for {count}: {listed}"
        if asked
        else f"no suitable room is free for every occurrence; the closest, room {room.room_id}, is taken for "
        f"{count}: {listed}"
    )
    facts = {"room": room.name, "room_id": room.room_id, "count": len(conflicts), "total": total}
    return Rejection("room_unavailable", reason, why="series_conflict", facts=facts, conflicts=conflicts)


# -- a batch of requests, decided at once ----------------------------------------------------------
def request_batch(
    asks: Sequence[Ask], rooms: Mapping[str, Room], now: datetime, policy: Policy
) -> list[Attempt | Rejection]:
    """:func:`request_booking` for each request of a batch (the same meeting planned once)."""
    plans: dict[Request, Any] = {}
    return [request_booking(ask, rooms, now, policy, plans=plans) for ask in asks]


def batch_rooms(steps: Sequence[Attempt | Rejection]) -> list[str]:
    """Every room a batch may book (its requests' candidate rooms), in the one global order in which
    they are locked: two batches, or a batch and a command, wait for each other, never deadlock."""
    return sorted({r for s in steps if isinstance(s, Attempt) for r in s.room_ids})


def batch_spans(steps: Sequence[Attempt | Rejection]) -> list[Interval]:
    """What choosing the rooms of a batch needs to know (each request's :attr:`Attempt.around`),
    overlapping spans merged."""
    return _merged([span for s in steps if isinstance(s, Attempt) for span in s.around])


def _merged(spans: Iterable[Interval]) -> list[Interval]:
    out: list[Interval] = []
    for start, end in sorted(spans):
        if out and start <= out[-1][1]:
            if end > out[-1][1]:
                out[-1] = (out[-1][0], end)
        else:
            out.append((start, end))
    return out


def decide_batch(
    steps: Sequence[Attempt | Rejection], busy: Busy, refused: Iterable[Booking] = ()
) -> list[Attempt | Rejection]:
    """Decide a batch of requests in delivery order against the same calendars (``busy``: the
    bookings around them, :func:`batch_spans`): each sees the bookings of the ones before it, so the
    batch decides exactly as the requests would one after another. ``refused``: bookings the
    database would not take (their room was taken meanwhile) — their slots count as taken."""
    calendars = _Calendars(busy)
    calendars.add(refused)
    out: list[Attempt | Rejection] = []
    for step in steps:
        if isinstance(step, Attempt):
            step = step.choose(calendars)
            if isinstance(step, Attempt):
                calendars.add(step.bookings)
        out.append(step)
    return out


def offer_windows(
    asks: Sequence[Ask], steps: Sequence[Attempt | Rejection], rooms: Mapping[str, Room], policy: Policy
) -> tuple[list[Interval], list[str]]:
    """The bookings the batch's rejections need to see to offer alternatives: the windows
    (:meth:`Policy.booking_window`, merged) and the suitable rooms; nothing when none offers any."""
    windows: list[Interval] = []
    room_ids: set[str] = set()
    for ask, step in zip(asks, steps, strict=True):
        if isinstance(step, Rejection) and step.offers_alternatives:
            windows.append(policy.booking_window(ask.request))
            room_ids.update(r.room_id for r in suitable_rooms(rooms.values(), ask.request))
    return (_merged(windows), sorted(room_ids)) if room_ids else ([], [])


def offers_in_order(
    asks: Sequence[Ask],
    steps: Sequence[Attempt | Rejection],
    rooms: Mapping[str, Room],
    busy: Busy,
    policy: Policy,
    now: datetime,
) -> list[list[Slot]]:
    """The alternatives each rejection of a batch offers (none for a booked request), each seeing the
    bookings of the requests before it — as one after another would (``busy``: the bookings within
    :func:`offer_windows`, without the batch's own)."""
    calendars = _Calendars(busy)
    starts: dict[tuple[datetime, timedelta, time, time], list[datetime]] = {}
    out: list[list[Slot]] = []
    for ask, step in zip(asks, steps, strict=True):
        if isinstance(step, Attempt):
            calendars.add(step.bookings)
            out.append([])
        elif step.offers_alternatives:
            out.append(alternatives(ask.request, rooms, calendars, policy, now, starts=starts))
        else:
            out.append([])
    return out


@dataclass(frozen=True)
class Reminder:
    """The day-before reminder of a booking: due item :data:`REMINDER` keyed by the booking id."""

    booking_id: uuid.UUID
    due_at: datetime
    correlation_id: str

    @property
    def key(self) -> str:
        return str(self.booking_id)


# -- what the customer is told --------------------------------------------------------------------
@dataclass(frozen=True)
class Notice:
    """A message for the customer (``notification.requested``), on their reply route; with no route
    (or one without an address) there is nothing to send: an agent must reach the customer."""

    template: str
    customer_id: str
    route: events.ReplyRoute | None
    parameters: Mapping[str, Any]

    @property
    def event(self) -> events.NotificationRequested | None:
        if self.route is None or not self.route.address:
            return None
        return events.NotificationRequested(
            channel=self.route.channel,
            address=self.route.address,
            customer_id=self.customer_id,
            template=self.template,
            language=self.route.language,
            parameters=dict(self.parameters),
        )


def _language(route: events.ReplyRoute | None, fallback: str = "en") -> str:
    return messages.language(route.language if route else fallback)


def _times(start: datetime, end: datetime, lang: str, policy: Policy) -> dict[str, str]:
    """A meeting's time for a notification: ISO in venue time, and readable in the customer's language."""
    return {
        "start": start.astimezone(policy.tz).isoformat(),
        "end": end.astimezone(policy.tz).isoformat(),
        "when": messages.when(start, end, lang, policy.tz),
    }


def _room_ref(room: Room | None, room_id: str) -> dict[str, Any]:
    return {"room_id": room_id, "name": room.name if room else room_id, "location": room.location if room else None}


def _place(room: Room | None, room_id: str) -> messages.Place:
    return messages.Place(room.name, room.location) if room else messages.Place(room_id)


def confirmation_notice(ask: Ask, room: Room, bookings: Sequence[Booking], policy: Policy) -> Notice:
    """booking.confirmed for the customer: one per request, a series' occurrences listed."""
    lang = _language(ask.reply_to, ask.language)
    first = bookings[0]
    params: dict[str, Any] = {
        "inquiry_id": ask.inquiry_id,
        "name": ask.name,
        "booking_ids": [str(b.booking_id) for b in bookings],
        "series_id": str(first.series_id) if first.series_id else None,
        "room": _room_ref(room, room.room_id),
        **_times(first.start, first.end, lang, policy),
        "time_zone": policy.tz.key,
        "attendees": first.attendees,
        "equipment": list(first.equipment),
        "occurrences": [{"booking_id": str(b.booking_id), **_times(b.start, b.end, lang, policy)} for b in bookings],
    }
    params["text"] = messages.confirmed_text(
        lang,
        name=ask.name,
        room=_place(room, room.room_id),
        occurrences=[(b.start, b.end) for b in bookings],
        attendees=first.attendees,
        equipment_booked=first.equipment,
        reference=str(first.series_id or first.booking_id),
        tz=policy.tz,
    )
    return Notice(CONFIRMED_TEMPLATE, ask.customer_id, ask.reply_to, params)


def rejection_notice(
    ask: Ask,
    rejection: Rejection,
    offers: Sequence[Slot],
    rooms: Mapping[str, Room],
    policy: Policy,
    *,
    waiting: bool = False,
) -> Notice:
    """booking.rejected for the customer: why (in their language), which occurrences clash, each
    alternative with the values of the ``booking.accept_alternative`` that takes it, and whether the
    request waits for its slot (``waitlist``)."""
    lang = _language(ask.reply_to, ask.language)
    req = ask.request
    why = messages.reason(rejection.key, rejection.facts, lang, fallback=rejection.code)
    n = len(occurrences(req)) if req.recurrence_freq and series_problem(req) is None else 1
    alternatives = [
        {
            "room": _room_ref(rooms.get(a.room_id), a.room_id),
            **_times(a.start, a.end, lang, policy),
            "meetings": n,
            "accept": {
                "command": ACCEPT_COMMAND,
                "inquiry_id": ask.inquiry_id,
                "room_id": a.room_id,
                "start": a.start.astimezone(policy.tz).isoformat(),
                "end": a.end.astimezone(policy.tz).isoformat(),
            },
        }
        for a in offers
    ]
    params: dict[str, Any] = {
        "inquiry_id": ask.inquiry_id,
        "name": ask.name,
        "reason_code": rejection.code,
        "reason": why,
        "requested": {"room_id": req.room_id, **_times(req.start, req.end, lang, policy)},
        "time_zone": policy.tz.key,
        "conflicts": [
            {"occurrence": c.occurrence, **_times(c.start, c.end, lang, policy)} for c in rejection.conflicts
        ],
        "alternatives": alternatives,
        "waitlist": waiting,
        # asked to wait, but a series cannot: why, in the customer's language (None: nothing refused)
        "waitlist_refused": messages.SERIES_CANNOT_WAIT[lang] if cannot_wait(ask, rejection) else None,
    }
    params["text"] = messages.rejected_text(
        lang,
        name=ask.name,
        requested=(req.start, req.end),
        why=why,
        conflicts=[(c.start, c.end) for c in rejection.conflicts],
        alternatives=[(_place(rooms.get(a.room_id), a.room_id), a.start, a.end) for a in offers],
        tz=policy.tz,
        waiting=waiting,
        cannot_wait=cannot_wait(ask, rejection),
    )
    return Notice(REJECTED_TEMPLATE, ask.customer_id, ask.reply_to, params)


def reminder_notice(booking: Booking, rooms: Mapping[str, Room], policy: Policy) -> Notice:
    """booking.reminder for the customer: time, place, what is ready and what to bring; they answer
    confirm / cancel / change."""
    lang = _language(booking.reply_to)
    room = rooms.get(booking.room_id)
    details = booking.details
    params: dict[str, Any] = {
        "booking_id": str(booking.booking_id),
        "inquiry_id": booking.inquiry_id,
        "series_id": str(booking.series_id) if booking.series_id else None,
        "name": booking.name,
        "room": _room_ref(room, booking.room_id),
        **_times(booking.start, booking.end, lang, policy),
        "time_zone": policy.tz.key,
        "attendees": booking.attendees,
        "equipment": list(booking.equipment),
        "agenda": details.get("agenda"),
        "materials": details.get("materials"),
        "catering": details.get("catering"),
        "reply_options": list(REPLY_OPTIONS),
    }
    params["text"] = messages.reminder_text(
        lang,
        name=booking.name,
        room=_place(room, booking.room_id),
        start=booking.start,
        end=booking.end,
        equipment_booked=booking.equipment,
        agenda=details.get("agenda"),
        materials=details.get("materials"),
        reference=str(booking.booking_id),
        tz=policy.tz,
    )
    return Notice(REMINDER_TEMPLATE, booking.customer_id, booking.reply_to, params)


# -- outcomes -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Confirmation:
    outcome: RequestOutcome
    events: tuple[events.BookingConfirmed, ...]  # one per occurrence
    reminders: tuple[Reminder, ...]  # one per occurrence whose reminder time is still ahead
    notice: Notice  # one for the request
    tasks: tuple[Task, ...] = ()  # what the departments prepare, for every occurrence
    due: tuple[Due, ...] = ()  # every occurrence's due items (its reminder among them)

    @property
    def preparation_requested(self) -> list[events.BookingPreparationRequested]:
        rooms = {e.booking_id: e.room_id for e in self.events}
        return [t.requested(rooms[str(t.booking_id)]) for t in self.tasks]


def confirmed(attempt: Attempt, now: datetime, *, accepted: Slot | None = None) -> Confirmation:
    """The database took the attempt's bookings: the outcome, the events, the preparation, the due
    items and what the customer is told (``accepted``: the alternative taken, when the booking comes
    from one)."""
    return confirmation(attempt.ask, attempt.room, attempt.bookings, attempt.policy, now, accepted=accepted)


def confirmation(
    ask: Ask,
    room: Room | None,
    bookings: Sequence[Booking],
    policy: Policy,
    now: datetime,
    *,
    accepted: Slot | None = None,
) -> Confirmation:
    """``bookings`` are booked for ``ask``: what that means (see :func:`confirmed`)."""
    tasks = {b.booking_id: preparation(b, room, now, policy) for b in bookings}
    return Confirmation(
        outcome=RequestOutcome(
            ask.inquiry_id,
            ask.customer_id,
            CONFIRMED,
            ask.details,
            reply_to=ask.reply_to,
            accepted=accepted,
            correlation_id=ask.correlation_id,
            agent_id=ask.agent_id,
        ),
        events=tuple(
            events.BookingConfirmed(
                booking_id=str(b.booking_id),
                inquiry_id=b.inquiry_id,
                room_id=b.room_id,
                start=b.start,
                end=b.end,
                attendees=b.attendees,
                customer_id=b.customer_id,
                name=b.name,
                equipment=list(b.equipment),
                series_id=str(b.series_id) if b.series_id else None,
            )
            for b in bookings
        ),
        reminders=tuple(r for b in bookings if (r := _reminder(b, policy, now)) is not None),
        notice=confirmation_notice(ask, room, bookings, policy),
        tasks=tuple(t for b in bookings for t in tasks[b.booking_id]),
        due=tuple(d for b in bookings for d in timeline(b, tasks[b.booking_id], now, policy).values()),
    )


def _reminder(booking: Booking, policy: Policy, now: datetime) -> Reminder | None:
    due = policy.reminder_at(booking.start, now)
    return Reminder(booking.booking_id, due, booking.correlation_id) if due else None


@dataclass(frozen=True)
class Declined:
    outcome: RequestOutcome
    event: events.BookingRejected
    notice: Notice


def waits(ask: Ask, rejection: Rejection) -> bool:
    """Whether a rejected request joins the waitlist: it asked to (``wait_if_taken``), and its one
    meeting (not a series) is rejected only because the room — or every suitable room — is taken."""
    return ask.wait_if_taken and rejection.code == "room_unavailable" and not ask.request.recurrence_freq


def cannot_wait(ask: Ask, rejection: Rejection) -> bool:
    """A series that asked to wait for its taken slot does not: it is booked whole, in one room, or
    not at all — waiting occurrence by occurrence would scatter it over rooms and offers the customer
    would have to take one by one. The customer is told so, with the alternatives (times at which every
    occurrence is free) to take instead."""
    return ask.wait_if_taken and rejection.code == "room_unavailable" and bool(ask.request.recurrence_freq)


def rejected(
    ask: Ask,
    rejection: Rejection,
    offers: Sequence[Slot],
    *,
    rooms: Mapping[str, Room],
    policy: Policy,
    now: datetime | None = None,
) -> Declined:
    """The request is rejected: the outcome (keeping what was offered; on the waitlist since ``now``
    when it :func:`waits`), booking.rejected with the alternatives, and what the customer is told."""
    req = ask.request
    wait = Wait(req.room_id, req.start, req.end, now) if now is not None and waits(ask, rejection) else None
    return Declined(
        outcome=RequestOutcome(
            ask.inquiry_id,
            ask.customer_id,
            REJECTED,
            ask.details,
            reason_code=rejection.code,
            reason=rejection.reason,
            reply_to=ask.reply_to,
            alternatives=tuple(offers),
            waitlist=WAITING if wait else None,
            wait=wait,
            correlation_id=ask.correlation_id,
            agent_id=ask.agent_id,
        ),
        event=events.BookingRejected(
            inquiry_id=ask.inquiry_id,
            customer_id=ask.customer_id,
            reason=rejection.reason,
            reason_code=rejection.code,  # type: ignore[arg-type]
            alternatives=[events.Slot(room_id=a.room_id, start=a.start, end=a.end) for a in offers],
        ),
        notice=rejection_notice(ask, rejection, offers, rooms, policy, waiting=wait is not None),
    )


# -- changes to a booking -------------------------------------------------------------------------
@dataclass(frozen=True)
class Refusal:
    """Why a command is refused, or why a due reminder goes out no more."""

    reason: str


def accept_alternative(
    record: RequestOutcome | None,
    slot: Slot,
    rooms: Mapping[str, Room],
    *,
    inquiry_id: str,
    correlation_id: str,
    now: datetime,
    policy: Policy,
) -> Attempt | Refusal:
    """The customer takes an alternative their rejected request was offered: the attempt that books
    it (every occurrence of a series, moved alike) by the same rules as a request, or why not. Whether
    the room is still free is for :meth:`Attempt.knowing` and the database to say."""
    if record is None:
        return Refusal(f"no booking request {inquiry_id!r}")
    if record.accepted is not None:
        return Refusal("an alternative was already accepted for this request")
    if record.outcome != REJECTED:
        return Refusal("the request was not rejected: it is booked as asked")
    if not any(_same(slot, a) for a in record.alternatives):
        return Refusal(
            f"room {slot.room_id} at {_local(slot.start, slot.end, policy)} was not among the alternatives offered"
        )
    meeting = MeetingDetails.model_validate(record.request)
    ask = Ask(
        inquiry_id=record.inquiry_id,
        customer_id=record.customer_id,
        name=meeting.name,
        request=moved_to(request_from(meeting), slot),
        details=record.request,
        correlation_id=correlation_id,
        reply_to=record.reply_to,
    )
    step = request_booking(ask, rooms, now, policy)
    if isinstance(step, Rejection):
        return Refusal(f"the alternative can no longer be booked: {step.reason}")
    return step


def _same(a: Slot, b: Slot) -> bool:
    return a.room_id == b.room_id and a.start == b.start and a.end == b.end


def no_longer_free(rejection: Rejection) -> Refusal:
    return Refusal(f"the alternative is no longer free: {rejection.reason}")


@dataclass(frozen=True)
class Change:
    """A booking's new state, its event, and its reminder from now on (None: no reminder, any
    scheduled one is cancelled); its preparation asked anew (``tasks``) and its due items from now
    on (``due``, by kind: a kind of :data:`BOOKING_DUE` missing is cancelled)."""

    booking: Booking
    event: events.BookingCancelled | events.BookingRescheduled
    reminder: Reminder | None
    tasks: tuple[Task, ...] = ()
    due: Mapping[str, Due] = field(default_factory=dict)
    freed: Booking | None = None  # the slot given up (the booking as it was): the waitlist may have it


@dataclass(frozen=True)
class Update:
    """New attendees or equipment of a booking (its time, room and reminder stay); its preparation is
    asked anew (``tasks``)."""

    booking: Booking
    event: events.BookingUpdated
    tasks: tuple[Task, ...] = ()


# why a booking that is not confirmed can be changed no more
NOT_CONFIRMED = {
    CANCELLED: "the booking is already cancelled",
    RELEASED: "the booking was released: nobody checked in",
    COMPLETED: "the meeting is over",
    HELD: "the slot is only offered to a waiting request: it is not booked yet",
}


def _changeable(booking: Booking | None, ref: str) -> Refusal | None:
    if booking is None:
        return Refusal(f"no booking {ref!r}")
    if booking.status != CONFIRMED:
        return Refusal(NOT_CONFIRMED.get(booking.status, f"the booking is {booking.status}"))
    return None


def upcoming(series: Sequence[Booking], now: datetime) -> list[Booking]:
    """What a series-wide command acts on: every confirmed occurrence not yet started, in order."""
    return sorted((b for b in series if b.status == CONFIRMED and b.start > now), key=lambda b: b.occurrence)


def cancel(booking: Booking | None, ref: str, *, actor: str, reason: str | None) -> Change | Refusal:
    """Cancel the booking ``ref`` (``booking``: as stored, None if there is none): the room is free
    again and no reminder goes out."""
    refusal = _changeable(booking, ref)
    if refusal:
        return refusal
    assert booking is not None
    return Change(
        replace(booking, status=CANCELLED),
        events.BookingCancelled(
            booking_id=str(booking.booking_id),
            customer_id=booking.customer_id,
            room_id=booking.room_id,
            start=booking.start,
            end=booking.end,
            actor=actor,
            reason=reason,
        ),
        None,
        freed=booking,
    )


def cancel_series(
    booking: Booking | None, series: Sequence[Booking], ref: str, *, actor: str, reason: str | None, now: datetime
) -> tuple[Change, ...] | Refusal:
    """Cancel the whole series of the booking ``ref``: every occurrence not yet started (those past
    or under way stay as they are). The booking named may itself be cancelled already."""
    if booking is None:
        return Refusal(f"no booking {ref!r}")
    targets = upcoming(series, now)
    if not targets:
        return Refusal("no occurrence of the series is left to cancel (each is cancelled or has started)")
    return tuple(c for b in targets if isinstance(c := cancel(b, ref, actor=actor, reason=reason), Change))


def reschedule(
    booking: Booking | None,
    ref: str,
    rooms: Mapping[str, Room],
    *,
    start: datetime,
    end: datetime,
    room_id: str | None,
    actor: str,
    now: datetime,
    policy: Policy,
) -> Change | Refusal:
    """Move the booking ``ref`` to [start, end), in ``room_id`` or its own room, within that room's
    opening hours; the reminder moves with it. Whether the room is free there is the database's to
    say (:func:`room_taken`)."""
    refusal = _changeable(booking, ref)
    if refusal:
        return refusal
    assert booking is not None
    if start < now:
        return Refusal("the new time is in the past")
    if end - start > MAX_DURATION:
        return Refusal("a meeting may last at most 24 hours")
    room_id = room_id or booking.room_id
    room = rooms.get(room_id)
    problem = unsuitability(room, Request(start, end, booking.attendees, frozenset(booking.equipment), room_id))
    if problem is None:
        assert room is not None
        problem = outside_hours(room, [(start, end)], policy)
    if problem:
        return Refusal(problem.reason)
    # a new time: the day-before confirmation and any check-in were for the old one
    moved = replace(
        booking,
        room_id=room_id,
        start=start,
        end=end,
        blocked=policy.blocked(start, end, room),
        attendance_confirmed_at=None,
        checked_in_at=None,
    )
    tasks = preparation(moved, room, now, policy)
    return Change(
        moved,
        events.BookingRescheduled(
            booking_id=str(booking.booking_id),
            customer_id=booking.customer_id,
            room_id=room_id,
            previous=events.Slot(room_id=booking.room_id, start=booking.start, end=booking.end),
            start=start,
            end=end,
            actor=actor,
        ),
        _reminder(moved, policy, now),
        tasks=tasks,
        due=timeline(moved, tasks, now, policy),
        freed=booking,
    )


def reschedule_series(
    booking: Booking | None,
    series: Sequence[Booking],
    ref: str,
    rooms: Mapping[str, Room],
    *,
    start: datetime,
    end: datetime,
    room_id: str | None,
    actor: str,
    now: datetime,
    policy: Policy,
) -> tuple[Change, ...] | Refusal:
    """Move the whole series of the booking ``ref``: the booking named goes to [start, end) and every
    occurrence not yet started moves by the same shift, to the same length (and to ``room_id``, if
    given) — all of them, or none: the first that cannot move refuses the whole change."""
    if booking is None:
        return Refusal(f"no booking {ref!r}")
    shift, length = start - booking.start, end - start
    targets = upcoming(series, now)
    if not targets:
        return Refusal("no occurrence of the series is left to move (each is cancelled or has started)")
    changes: list[Change] = []
    for b in targets:
        new_start = b.start + shift
        change = reschedule(
            b, ref, rooms, start=new_start, end=new_start + length, room_id=room_id, actor=actor, now=now, policy=policy
        )
        if isinstance(change, Refusal):
            return Refusal(f"occurrence {b.occurrence + 1} ({_local(b.start, b.end, policy)}): {change.reason}")
        changes.append(change)
    return tuple(changes)


def series_move_taken(changes: Sequence[Change], busy: Busy, policy: Policy) -> Refusal:
    """The database refused a move: which of the moved occurrences clash (``busy``: the room's other
    bookings, without the ones being moved)."""
    calendars = _Calendars(busy)
    clash = [c.booking for c in changes if not calendars.of(c.booking.room_id).free(*c.booking.blocked)]
    if not clash:
        return Refusal(room_taken(changes[0].booking.room_id).reason)
    listed = ", ".join(_local(b.start, b.end, policy) for b in clash[: messages.LISTED])
    if len(clash) > messages.LISTED:
        listed += f" and {len(clash) - messages.LISTED} more"
    return Refusal(f"room {clash[0].room_id} is taken for {len(clash)} of {len(changes)} occurrences: {listed}")


def change(
    booking: Booking | None,
    targets: Sequence[Booking],
    ref: str,
    rooms: Mapping[str, Room],
    *,
    attendees: int | None,
    equipment: Sequence[str] | None,
    actor: str,
    policy: Policy,
    now: datetime | None = None,
) -> tuple[Update, ...] | Refusal:
    """New attendees and/or equipment for ``targets`` (the booking ``ref``, or the upcoming
    occurrences of its series: :func:`upcoming`), each re-checked against its room: refused, with the
    reason, when one of them no longer fits. The departments are asked anew (from ``now``)."""
    if booking is None:
        return Refusal(f"no booking {ref!r}")
    if attendees is None and equipment is None:
        return Refusal("nothing to change: give attendees and/or equipment")
    if not targets:
        refusal = _changeable(booking, ref)
        return refusal or Refusal("no occurrence of the series is left to change (each is cancelled or has started)")
    out: list[Update] = []
    for b in targets:
        refusal = _changeable(b, ref)
        if refusal:
            return refusal
        kit = tuple(sorted(set(equipment))) if equipment is not None else b.equipment
        people = attendees if attendees is not None else b.attendees
        problem = unsuitability(rooms.get(b.room_id), Request(b.start, b.end, people, frozenset(kit), b.room_id))
        if problem:
            which = f"occurrence {b.occurrence + 1} ({_local(b.start, b.end, policy)}): " if len(targets) > 1 else ""
            return Refusal(f"{which}{problem.reason}")
        updated = replace(b, attendees=people, equipment=kit)
        tasks = preparation(updated, rooms.get(b.room_id), now, policy) if now is not None else ()
        out.append(
            Update(
                updated,
                events.BookingUpdated(
                    booking_id=str(b.booking_id),
                    customer_id=b.customer_id,
                    room_id=b.room_id,
                    attendees=people,
                    equipment=list(kit),  # type: ignore[arg-type]
                    actor=actor,
                ),
                tasks,
            )
        )
    return tuple(out)


def reminder(booking: Booking | None, now: datetime) -> events.BookingReminderDue | Refusal:
    """The reminder that has fallen due: booking.reminder_due, or why it no longer goes out."""
    if booking is None:
        return Refusal("the booking does not exist")
    if booking.status != CONFIRMED:
        return Refusal(f"the booking is {booking.status}")
    if booking.start <= now:
        return Refusal("the meeting has already started")
    route = booking.reply_to
    return events.BookingReminderDue(
        booking_id=str(booking.booking_id),
        customer_id=booking.customer_id,
        room_id=booking.room_id,
        start=booking.start,
        end=booking.end,
        # where the customer is reminded and may answer (intake reads the answer from there)
        reply_to=route if route is not None and route.address else None,
    )


# -- the meeting's life: due items, preparation, attendance, check-in, the end ---------------------
@dataclass(frozen=True)
class Due:
    """A due item of a booking (or of a waitlist offer): ``kind`` falls due for ``key`` at ``due_at``."""

    kind: str
    key: str
    due_at: datetime
    correlation_id: str


@dataclass(frozen=True)
class Task:
    """What one department must prepare for a booking, by when, and whether it did."""

    booking_id: uuid.UUID
    department: str  # equipment | catering | setup
    task: str
    due_by: datetime
    details: Mapping[str, Any]
    requested_at: datetime
    done_at: datetime | None = None
    done_by: str | None = None
    note: str | None = None
    overdue_at: datetime | None = None

    @property
    def watched(self) -> bool:
        """Its deadline lay ahead when it was asked for: missing it raises booking.preparation_overdue
        (a task for a meeting already under way is asked for, never raised)."""
        return self.due_by > self.requested_at

    @property
    def open(self) -> bool:
        """Not done, and not yet raised as overdue."""
        return self.done_at is None and self.overdue_at is None

    def requested(self, room_id: str) -> events.BookingPreparationRequested:
        return events.BookingPreparationRequested(
            booking_id=str(self.booking_id),
            room_id=room_id,
            department=self.department,  # type: ignore[arg-type]
            task=self.task,
            due_by=self.due_by,
            details=dict(self.details),
        )


def preparation(booking: Booking, room: Room | None, now: datetime, policy: Policy) -> tuple[Task, ...]:
    """What the departments must prepare for ``booking`` and by when (:meth:`Policy.preparation_due`):
    the equipment tested if any was booked, the catering if the customer asked for it, the room set up
    always."""
    details = booking.details
    catering = details.get("catering")
    catering = catering.strip() if isinstance(catering, str) else ""
    name = room.name if room else booking.room_id
    common: dict[str, Any] = {
        "name": booking.name,
        "room": _room_ref(room, booking.room_id),
        "start": booking.start.astimezone(policy.tz).isoformat(),
        "end": booking.end.astimezone(policy.tz).isoformat(),
        "attendees": booking.attendees,
    }
    wanted: list[tuple[str, str, dict[str, Any]]] = []
    if booking.equipment:
        kit = list(booking.equipment)
        wanted.append(("equipment", f"set up and test the equipment in {name}: {', '.join(kit)}", {"equipment": kit}))
    if catering:
        wanted.append(("catering", f"catering for {booking.attendees}: {catering}", {"catering": catering}))
    setup = {"materials": details.get("materials"), "agenda": details.get("agenda")}
    wanted.append(("setup", f"set up {name} for {booking.attendees} attendees", setup))
    return tuple(
        Task(
            booking.booking_id,
            department,
            text,
            policy.preparation_due(department, booking.start, now),
            {**common, **extra},
            now,
        )
        for department, text, extra in wanted
    )


def next_deadline(tasks: Iterable[Task]) -> datetime | None:
    """When the preparation item falls due next: the earliest deadline of a task still open and watched."""
    return min((t.due_by for t in tasks if t.open and t.watched), default=None)


def timeline(booking: Booking, tasks: Sequence[Task], now: datetime, policy: Policy) -> dict[str, Due]:
    """A confirmed booking's due items from ``now`` on, by kind: the day-before reminder (while still
    ahead), the next preparation deadline, the no-show check (unless checked in, or the rule is off) and
    the end of the meeting. A kind of :data:`BOOKING_DUE` missing falls due no more."""
    if booking.status != CONFIRMED:
        return {}
    key, cid = str(booking.booking_id), booking.correlation_id
    at: dict[str, datetime | None] = {
        REMINDER: policy.reminder_at(booking.start, now),
        PREPARATION: next_deadline(tasks),
        NO_SHOW: None if booking.checked_in_at else policy.no_show_at(booking.start, booking.end, now),
        COMPLETION: booking.end,
    }
    return {kind: Due(kind, key, due, cid) for kind, due in at.items() if due is not None}


@dataclass(frozen=True)
class Overdue:
    """Preparation deadlines passed: the tasks now raised (``overdue_at`` set), their events, and when
    the preparation item falls due next (None: no deadline left)."""

    tasks: tuple[Task, ...]
    events: tuple[events.BookingPreparationOverdue, ...]
    next: datetime | None


def preparation_overdue(booking: Booking | None, tasks: Sequence[Task], now: datetime) -> Overdue | Refusal:
    """The preparation item has fallen due: every watched task not done by its deadline is raised once
    (booking.preparation_overdue) — for a booking still confirmed."""
    if booking is None:
        return Refusal("the booking does not exist")
    if booking.status != CONFIRMED:
        return Refusal(f"the booking is {booking.status}")
    late = [t for t in tasks if t.open and t.watched and t.due_by <= now]
    raised = tuple(replace(t, overdue_at=now) for t in late)
    return Overdue(
        raised,
        tuple(
            events.BookingPreparationOverdue(
                booking_id=str(t.booking_id),
                room_id=booking.room_id,
                department=t.department,  # type: ignore[arg-type]
                task=t.task,
                due_by=t.due_by,
            )
            for t in raised
        ),
        next_deadline(t for t in tasks if t not in late),
    )


@dataclass(frozen=True)
class Prepared:
    task: Task  # done
    event: events.BookingPrepared
    next: datetime | None  # the preparation item's next due time (None: none left)


def preparation_done(
    booking: Booking | None,
    tasks: Sequence[Task],
    ref: str,
    *,
    department: str,
    actor: str,
    note: str | None,
    now: datetime,
) -> Prepared | Refusal:
    """A department reports its preparation of the booking ``ref`` done (late is still done)."""
    refusal = _changeable(booking, ref)
    if refusal:
        return refusal
    assert booking is not None
    task = next((t for t in tasks if t.department == department), None)
    if task is None:
        return Refusal(f"no {department} preparation was asked for this booking")
    if task.done_at is not None:
        return Refusal(f"the {department} preparation was already reported done")
    done = replace(task, done_at=now, done_by=actor, note=note)
    return Prepared(
        done,
        events.BookingPrepared(
            booking_id=str(booking.booking_id),
            department=department,  # type: ignore[arg-type]
            actor=actor,
            note=note,
        ),
        next_deadline(done if t is task else t for t in tasks),
    )


@dataclass(frozen=True)
class Step:
    """A booking's new state on its day, the event that says so, and what the customer is told (if
    anything)."""

    booking: Booking
    event: EventData
    notice: Notice | None = None


def confirm_attendance(
    booking: Booking | None,
    ref: str,
    rooms: Mapping[str, Room],
    *,
    actor: str,
    now: datetime,
    policy: Policy,
) -> Step | Refusal:
    """The customer confirms (after the day-before reminder) that the meeting goes ahead: recorded
    once (booking.attendance_confirmed), and the customer thanked on their reply route."""
    refusal = _changeable(booking, ref)
    if refusal:
        return refusal
    assert booking is not None
    if booking.attendance_confirmed_at is not None:
        return Refusal("attendance was already confirmed")
    if booking.end <= now:
        return Refusal("the meeting is over")
    confirmed_ = replace(booking, attendance_confirmed_at=now)
    return Step(
        confirmed_,
        events.BookingAttendanceConfirmed(
            booking_id=str(booking.booking_id), customer_id=booking.customer_id, actor=actor
        ),
        attendance_notice(confirmed_, rooms, policy),
    )


def check_in(booking: Booking | None, ref: str, *, actor: str, now: datetime, policy: Policy) -> Step | Refusal:
    """The customer has arrived (from :attr:`Policy.check_in_opens` before the start until the end):
    the room is not released."""
    refusal = _changeable(booking, ref)
    if refusal:
        return refusal
    assert booking is not None
    if booking.checked_in_at is not None:
        return Refusal(f"already checked in at {booking.checked_in_at.astimezone(policy.tz):%H:%M} (venue time)")
    opens = booking.start - policy.check_in_opens
    if now < opens:
        return Refusal(f"check-in opens at {_local_time(opens, policy)} (venue time)")
    if now >= booking.end:
        return Refusal("the meeting is over")
    return Step(
        replace(booking, checked_in_at=now),
        events.BookingCheckedIn(booking_id=str(booking.booking_id), room_id=booking.room_id, actor=actor, at=now),
    )


def no_show(booking: Booking | None, rooms: Mapping[str, Room], now: datetime, policy: Policy) -> Step | Refusal:
    """The no-show item has fallen due: a confirmed booking nobody checked in for is released
    (booking.released: the room is free again) and the customer told."""
    if booking is None:
        return Refusal("the booking does not exist")
    if booking.status != CONFIRMED:
        return Refusal(f"the booking is {booking.status}")
    if booking.checked_in_at is not None:
        return Refusal("the customer checked in")
    due = policy.no_show_at(booking.start, booking.end, booking.start)
    if due is None or now < due:
        return Refusal("the meeting is not yet due to be released")
    released = replace(booking, status=RELEASED, released_at=now)
    return Step(
        released,
        events.BookingReleased(
            booking_id=str(booking.booking_id),
            customer_id=booking.customer_id,
            room_id=booking.room_id,
            start=booking.start,
            end=booking.end,
            reason="no_show",
        ),
        released_notice(released, rooms, policy),
    )


def complete(booking: Booking | None, rooms: Mapping[str, Room], now: datetime, policy: Policy) -> Step | Refusal:
    """The meeting has ended: booking.completed, and the customer asked how satisfied they were (the
    survey, whose subject names the booking, its room and the agent who handled it — none known yet).
    A booking nobody checked in for is left to the no-show rule (released, no survey)."""
    if booking is None:
        return Refusal("the booking does not exist")
    if booking.status != CONFIRMED:
        return Refusal(f"the booking is {booking.status}")
    if now < booking.end:
        return Refusal("the meeting has not ended")
    if booking.checked_in_at is None and policy.no_show_after is not None:
        return Refusal("nobody checked in: the no-show rule releases it")
    done = replace(booking, status=COMPLETED, completed_at=now)
    return Step(
        done,
        events.BookingCompleted(
            booking_id=str(booking.booking_id),
            customer_id=booking.customer_id,
            room_id=booking.room_id,
            start=booking.start,
            end=booking.end,
            checked_in=booking.checked_in_at is not None,
        ),
        survey_notice(done, rooms, policy),
    )


# -- the waitlist ---------------------------------------------------------------------------------
def _meeting(record: RequestOutcome) -> Request:
    return request_from(MeetingDetails.model_validate(record.request))


def ask_of(record: RequestOutcome, correlation_id: str) -> Ask:
    """The request as it was asked (to confirm it later: an alternative, a waitlist offer)."""
    meeting = MeetingDetails.model_validate(record.request)
    return Ask(
        inquiry_id=record.inquiry_id,
        customer_id=record.customer_id,
        name=meeting.name,
        request=request_from(meeting),
        details=record.request,
        correlation_id=record.correlation_id or correlation_id,
        reply_to=record.reply_to,
        agent_id=record.agent_id,
    )


class WaitlistRound:
    """Slots given up (``freed``: bookings cancelled, released, moved away from, or holds that
    lapsed) offered to the waiting requests, first come first served: :meth:`hold_for` says which
    slot to hold for a waiter (the database has the last word), :meth:`held` that it was taken.
    ``busy``: the rooms' blocked intervals around the freed ones, without them."""

    def __init__(
        self,
        freed: Sequence[Booking],
        rooms: Mapping[str, Room],
        busy: Busy,
        now: datetime,
        policy: Policy,
    ):
        self.freed = [b for b in freed if b.blocked[1] > now]
        self.rooms = rooms
        self.now = now
        self.policy = policy
        self.busy: dict[str, list[Interval]] = {r: list(v) for r, v in busy.items()}

    def hold_for(self, waiter: RequestOutcome, correlation_id: str) -> Booking | None:
        """The hold to try for ``waiter``: its slot, in the first freed room that suits it (the room
        it asked for, or any suitable room), that overlaps what was freed there, is open and free by
        what is known; None when nothing freed helps it, or its meeting is too close to its end."""
        req = _meeting(waiter)
        if req.recurrence_freq or req.end <= self.now + self.policy.waitlist_cutoff:
            return None
        for freed in self.freed:
            room = self.rooms.get(freed.room_id)
            if room is None or (req.room_id is not None and req.room_id != room.room_id):
                continue
            if unsuitability(room, req) or not self.policy.within_hours(room, req.start, req.end):
                continue
            blocked = self.policy.blocked(req.start, req.end, room)
            if not (blocked[0] < freed.blocked[1] and freed.blocked[0] < blocked[1]):
                continue
            if not _Calendar(self.busy.get(room.room_id, ())).free(*blocked):
                continue
            ask = ask_of(waiter, correlation_id)
            return Booking(
                booking_id=uuid.uuid4(),
                inquiry_id=waiter.inquiry_id,
                room_id=room.room_id,
                customer_id=waiter.customer_id,
                name=ask.name,
                start=req.start,
                end=req.end,
                blocked=blocked,
                attendees=req.attendees,
                equipment=tuple(sorted(req.equipment)),
                correlation_id=ask.correlation_id,
                details=waiter.request,
                status=HELD,
                reply_to=waiter.reply_to,
                agent_id=waiter.agent_id,
            )
        return None

    def held(self, hold: Booking) -> None:
        self.busy.setdefault(hold.room_id, []).append(hold.blocked)


@dataclass(frozen=True)
class Offered:
    record: RequestOutcome  # OFFERED, with its offer
    event: events.BookingWaitlistOffered
    notice: Notice
    due: Due  # the offer's deadline (WAITLIST_OFFER, keyed by the inquiry id)


def offer(waiter: RequestOutcome, hold: Booking, rooms: Mapping[str, Room], now: datetime, policy: Policy) -> Offered:
    """The slot ``hold`` (held for ``waiter``) is offered to it until :meth:`Policy.offer_deadline`."""
    accept_by = policy.offer_deadline(hold.start, now)
    made = Offer(hold.booking_id, hold.room_id, hold.start, hold.end, accept_by, now)
    return Offered(
        replace(waiter, waitlist=OFFERED, offer=made),
        events.BookingWaitlistOffered(
            inquiry_id=waiter.inquiry_id,
            customer_id=waiter.customer_id,
            room_id=hold.room_id,
            start=hold.start,
            end=hold.end,
            accept_by=accept_by,
        ),
        waitlist_notice(waiter, hold, accept_by, rooms, policy),
        Due(WAITLIST_OFFER, waiter.inquiry_id, accept_by, hold.correlation_id),
    )


def _not_offered(record: RequestOutcome, policy: Policy) -> Refusal:
    if record.waitlist is None:
        return Refusal("the request is not on the waitlist")
    if record.waitlist == WAITING:
        return Refusal("no slot has been offered to this request yet")
    if record.waitlist == ACCEPTED:
        return Refusal("the offer was already accepted")
    if record.waitlist == LEFT:
        return Refusal("the request left the waitlist: one of its alternatives was accepted")
    assert record.offer is not None
    return Refusal(f"the offer lapsed at {_local_time(record.offer.accept_by, policy)} (venue time)")


@dataclass(frozen=True)
class Taken:
    """A waiter takes the slot it was offered: its request is booked there (the hold confirmed)."""

    record: RequestOutcome  # confirmed, ACCEPTED
    booking: Booking  # the hold, confirmed
    ask: Ask


def accept_offer(
    record: RequestOutcome | None,
    hold: Booking | None,
    *,
    inquiry_id: str,
    correlation_id: str,
    now: datetime,
    policy: Policy,
) -> Taken | Refusal:
    """``booking.waitlist_accept``: the waiter takes the slot offered before its deadline, or why not."""
    if record is None:
        return Refusal(f"no booking request {inquiry_id!r}")
    if record.waitlist != OFFERED:
        return _not_offered(record, policy)
    assert record.offer is not None
    if now > record.offer.accept_by:
        return _not_offered(replace(record, waitlist=LAPSED), policy)
    if hold is None or hold.status != HELD:
        return Refusal("the slot offered is no longer held")
    o = record.offer
    slot = Slot(o.room_id, o.start, o.end)
    return Taken(
        replace(record, outcome=CONFIRMED, waitlist=ACCEPTED, accepted=slot),
        replace(hold, status=CONFIRMED),
        ask_of(record, correlation_id),
    )


def lapse(record: RequestOutcome | None, now: datetime) -> RequestOutcome | Refusal:
    """The waitlist item has fallen due: an offer not taken by its deadline lapses (its hold is given
    back, to the next waiter)."""
    if record is None:
        return Refusal("the request does not exist")
    if record.waitlist != OFFERED or record.offer is None:
        return Refusal(f"the request is {record.waitlist or 'not on the waitlist'}")
    if now < record.offer.accept_by:
        return Refusal("the offer is still open")
    return replace(record, waitlist=LAPSED)


def leave_waitlist(record: RequestOutcome) -> RequestOutcome:
    """The request took one of its alternatives: it waits no more (an offer it held is given back)."""
    return replace(record, waitlist=LEFT) if record.waitlist in (WAITING, OFFERED) else record


# -- the customer told on the meeting's day ------------------------------------------------------
def cancellation_notice(
    cancelled: Sequence[Booking], rooms: Mapping[str, Room], policy: Policy, *, reason: str | None
) -> Notice:
    """booking.cancelled for the customer: which meetings are cancelled (one notice per command)."""
    first = cancelled[0]
    lang = _language(first.reply_to)
    room = rooms.get(first.room_id)
    params: dict[str, Any] = {
        "booking_ids": [str(b.booking_id) for b in cancelled],
        "inquiry_id": first.inquiry_id,
        "series_id": str(first.series_id) if first.series_id else None,
        "name": first.name,
        "room": _room_ref(room, first.room_id),
        **_times(first.start, first.end, lang, policy),
        "time_zone": policy.tz.key,
        "occurrences": [{"booking_id": str(b.booking_id), **_times(b.start, b.end, lang, policy)} for b in cancelled],
        "reason": reason,
    }
    params["text"] = messages.cancelled_text(
        lang,
        name=first.name,
        room=_place(room, first.room_id),
        occurrences=[(b.start, b.end) for b in cancelled],
        reference=str(first.series_id or first.booking_id) if len(cancelled) > 1 else str(first.booking_id),
        tz=policy.tz,
    )
    return Notice(CANCELLED_TEMPLATE, first.customer_id, first.reply_to, params)


def rescheduled_notice(moved: Sequence[Booking], rooms: Mapping[str, Room], policy: Policy) -> Notice:
    """booking.rescheduled for the customer: the meeting's new time and place (one notice per command:
    for a series, the first meeting moved, and how many moved)."""
    first = min(moved, key=lambda b: b.start)
    return _day_notice(
        RESCHEDULED_TEMPLATE, first, rooms, policy, booking_ids=[str(b.booking_id) for b in moved], moved=len(moved)
    )


def _day_notice(
    template: str,
    booking: Booking,
    rooms: Mapping[str, Room],
    policy: Policy,
    facts: Mapping[str, Any] | None = None,
    **extra: Any,
) -> Notice:
    """A notice about one booking on its day: its time and place (and ``extra`` parameters), and the
    text :func:`messages.day_text` writes for ``template`` (with its ``facts``)."""
    lang = _language(booking.reply_to)
    room = rooms.get(booking.room_id)
    params: dict[str, Any] = {
        "booking_id": str(booking.booking_id),
        "inquiry_id": booking.inquiry_id,
        "name": booking.name,
        "room": _room_ref(room, booking.room_id),
        **_times(booking.start, booking.end, lang, policy),
        "time_zone": policy.tz.key,
        **extra,
    }
    params["text"] = messages.day_text(
        template,
        lang,
        name=booking.name,
        room=_place(room, booking.room_id),
        start=booking.start,
        end=booking.end,
        reference=str(booking.booking_id),
        tz=policy.tz,
        **(facts or {}),
    )
    return Notice(template, booking.customer_id, booking.reply_to, params)


def attendance_notice(booking: Booking, rooms: Mapping[str, Room], policy: Policy) -> Notice:
    """booking.attendance_confirmed for the customer: thanks, see you then; check in on arrival."""
    return _day_notice(ATTENDANCE_TEMPLATE, booking, rooms, policy)


def released_notice(booking: Booking, rooms: Mapping[str, Room], policy: Policy) -> Notice:
    """booking.released for the customer: nobody checked in, so the room was given back."""
    minutes = int(policy.no_show_after.total_seconds() // 60) if policy.no_show_after else 0
    return _day_notice(RELEASED_TEMPLATE, booking, rooms, policy, {"minutes": minutes})


def survey_notice(booking: Booking, rooms: Mapping[str, Room], policy: Policy) -> Notice:
    """booking.survey for the customer: how satisfied were they (1–5)? The survey's subject names the
    booking, its room and the agent who handled it (booking.requested's ``agent_id``; null when no
    agent was involved: the customer booked by themselves), so that the answer (feedback.received)
    counts per room and per agent."""
    survey = {
        "type": "booking",
        "id": str(booking.booking_id),
        "room_id": booking.room_id,
        "agent_id": booking.agent_id,
    }
    return _day_notice(SURVEY_TEMPLATE, booking, rooms, policy, survey=survey, scale=[1, 5])


def waitlist_notice(
    waiter: RequestOutcome, hold: Booking, accept_by: datetime, rooms: Mapping[str, Room], policy: Policy
) -> Notice:
    """booking.waitlist_offered for the waiter: the slot is free and held for them until ``accept_by``,
    with the values of the ``booking.waitlist_accept`` that takes it."""
    notice = _day_notice(
        WAITLIST_TEMPLATE,
        replace(hold, reply_to=waiter.reply_to),
        rooms,
        policy,
        {"accept_by": accept_by},
        accept_by=accept_by.astimezone(policy.tz).isoformat(),
        accept={"command": WAITLIST_ACCEPT_COMMAND, "inquiry_id": waiter.inquiry_id},
    )
    params = {k: v for k, v in notice.parameters.items() if k != "booking_id"}  # not booked yet: no booking
    return replace(notice, parameters=params)


def _local_time(t: datetime, policy: Policy) -> str:
    return f"{t.astimezone(policy.tz):%Y-%m-%d %H:%M}"


# -- a room's day --------------------------------------------------------------------------------
@dataclass(frozen=True)
class RoomDay:
    """A room's day (venue time): its opening hours that day (``hours``: the opening that begins on
    it, or the whole day for a room that never closes) and the free periods within them."""

    hours: Interval
    free: list[Interval]


def room_day(room: Room | None, day: date, busy: Sequence[Interval], policy: Policy) -> RoomDay:
    """The free periods of ``room`` on ``day`` within its opening hours, given its blocked intervals
    (``busy``: the bookings that hold it, buffers included)."""
    hours = policy.window(room, day) or (
        datetime.combine(day, time(0), tzinfo=policy.tz),
        datetime.combine(day + timedelta(days=1), time(0), tzinfo=policy.tz),
    )
    free: list[Interval] = []
    at = hours[0]
    for start, end in sorted(busy):
        if end <= at:
            continue
        if start >= hours[1]:
            break
        if start > at:
            free.append((at, start))
        at = max(at, end)
    if at < hours[1]:
        free.append((at, hours[1]))
    return RoomDay(hours, free)


# -- rooms ----------------------------------------------------------------------------------------
def room_updated(room: Room) -> events.RoomUpdated:
    return events.RoomUpdated(
        room_id=room.room_id,
        name=room.name,
        location=room.location,
        capacity=room.capacity,
        equipment=sorted(room.equipment),  # type: ignore[arg-type]
        active=room.active,
        setup_buffer_minutes=_minutes(room.setup),
        cleanup_buffer_minutes=_minutes(room.cleanup),
        opens_at=room.opens_at,
        closes_at=room.closes_at,
    )


def _minutes(t: timedelta | None) -> int | None:
    return None if t is None else int(t.total_seconds() // 60)
