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
  out when it does (:func:`reminder`) and what the customer is told (:func:`reminder_notice`).
"""

from __future__ import annotations

import uuid
from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from itertools import accumulate
from typing import Any
from zoneinfo import ZoneInfo

from shared.contract import events
from shared.contract.common import MeetingDetails

from . import messages

MAX_DURATION = timedelta(hours=24)
MAX_OCCURRENCES = 366  # the contract's bound on a series (Recurrence.count); a longer one is refused

CONFIRMED = "confirmed"
CANCELLED = "cancelled"
REJECTED = "rejected"  # a request's outcome (a booking is confirmed or cancelled)
REMINDER = "booking.reminder"  # the due item of the day-before reminder, keyed by the booking id

# notification.requested templates
CONFIRMED_TEMPLATE = "booking.confirmed"
REJECTED_TEMPLATE = "booking.rejected"
REMINDER_TEMPLATE = "booking.reminder"
ACCEPT_COMMAND = "booking.accept_alternative"
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


def plan(req: Request, rooms: Mapping[str, Room], now: datetime, policy: Policy) -> Plan | Rejection:
    if req.end <= req.start:
        return Rejection("invalid", "the meeting must end after it starts", why="end_before_start")
    if req.end - req.start > MAX_DURATION:
        return Rejection("invalid", "a meeting may last at most 24 hours; book several days separately", why="too_long")
    if req.start < now:
        return Rejection("invalid", "the meeting would start in the past", why="past")
    problem = series_problem(req)
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
        self.max_end = list(accumulate((e for _, e in ordered), max))

    def free(self, start: datetime, end: datetime) -> bool:
        i = bisect_left(self.starts, end)  # the intervals that begin before this one ends
        return i == 0 or self.max_end[i - 1] <= start


class _Calendars:
    def __init__(self, busy: Busy):
        self.busy = busy
        self.rooms: dict[str, _Calendar] = {}

    def of(self, room_id: str) -> _Calendar:
        if room_id not in self.rooms:
            self.rooms[room_id] = _Calendar(self.busy.get(room_id, ()))
        return self.rooms[room_id]

    def free(self, room: Room, occ: Sequence[Interval], policy: Policy) -> bool:
        cal = self.of(room.room_id)
        return all(cal.free(*policy.blocked(s, e, room)) for s, e in occ)

    def conflicts(self, room: Room, occ: Sequence[Interval], policy: Policy) -> tuple[Conflict, ...]:
        cal = self.of(room.room_id)
        return tuple(Conflict(i, s, e) for i, (s, e) in enumerate(occ) if not cal.free(*policy.blocked(s, e, room)))


def alternatives(req: Request, rooms: Mapping[str, Room], busy: Busy, policy: Policy, now: datetime) -> list[Slot]:
    """What to offer instead (at most ``max_alternatives``): other suitable rooms at the same time
    first, then the nearest free times (same duration, within the room's opening hours, up to
    ``search_days`` ahead) in the room asked for or, failing that, in any suitable room. For a series
    a slot is its first meeting: every occurrence, moved alike, is free there. ``busy`` holds each
    room's *blocked* intervals."""
    duration = req.end - req.start
    fit = suitable_rooms(rooms.values(), req)
    calendars = _Calendars(busy)
    out: list[Slot] = []
    starts: dict[tuple[time, time], list[datetime]] = {}

    count = len(occurrences(req))

    def bookable(room: Room, start: datetime) -> bool:
        occ = occurrences(moved_to(req, Slot(room.room_id, start, start + duration), count))
        return calendars.free(room, occ, policy) and all(policy.within_hours(room, s, e) for s, e in occ)

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
        if hours not in starts:
            starts[hours] = _candidate_starts(req.start, duration, policy, now, room)
        for start in starts[hours]:
            if bookable(room, start):
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


@dataclass(frozen=True)
class RequestOutcome:
    """What became of a request: one per inquiry (a second request for it changes nothing). A
    rejected request keeps the alternatives it was offered; ``accepted``: the one the customer took."""

    inquiry_id: str
    customer_id: str
    outcome: str  # CONFIRMED | REJECTED
    request: Mapping[str, Any]
    reason_code: str | None = None
    reason: str | None = None
    reply_to: events.ReplyRoute | None = None
    alternatives: tuple[Slot, ...] = ()
    accepted: Slot | None = None


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

    def next(self, busy: Busy | None = None) -> Attempt | Rejection:
        """The room was taken: try the next suitable room free by ``busy`` (the bookings read again,
        if given), or reject when none is left."""
        return (self if busy is None else replace(self, busy=busy))._from(self.index + 1)

    def knowing(self, busy: Busy) -> Attempt | Rejection:
        """The first room to try given the bookings already made (``busy``: each room's blocked
        intervals over :meth:`Policy.booking_window`), or the rejection when every suitable room is
        taken. Skipping the rooms already taken keeps a request for a popular slot from trying, and
        waiting on, every room in turn."""
        return replace(self, busy=busy)._from(self.index)

    def _from(self, index: int) -> Attempt | Rejection:
        """The first candidate from ``index`` on that the bookings known so far leave free (the
        database still has the last word: another request may take it first)."""
        calendars = _Calendars(self.busy)
        for i in range(index, len(self.plan.candidates)):
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


def request_booking(ask: Ask, rooms: Mapping[str, Room], now: datetime, policy: Policy) -> Attempt | Rejection:
    """The first room to try (the room asked for, or the best fit), or why the request fails
    whatever the bookings (invalid, outside opening hours, unsuitable room, no room fits); see
    :meth:`Attempt.knowing`."""
    result = plan(ask.request, rooms, now, policy)
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
    ask: Ask, rejection: Rejection, offers: Sequence[Slot], rooms: Mapping[str, Room], policy: Policy
) -> Notice:
    """booking.rejected for the customer: why (in their language), which occurrences clash, and each
    alternative with the values of the ``booking.accept_alternative`` that takes it."""
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
    }
    params["text"] = messages.rejected_text(
        lang,
        name=ask.name,
        requested=(req.start, req.end),
        why=why,
        conflicts=[(c.start, c.end) for c in rejection.conflicts],
        alternatives=[(_place(rooms.get(a.room_id), a.room_id), a.start, a.end) for a in offers],
        tz=policy.tz,
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


def confirmed(attempt: Attempt, now: datetime, *, accepted: Slot | None = None) -> Confirmation:
    """The database took the attempt's bookings: the outcome, the events, the reminders and what the
    customer is told (``accepted``: the alternative taken, when the booking comes from one)."""
    ask = attempt.ask
    return Confirmation(
        outcome=RequestOutcome(
            ask.inquiry_id, ask.customer_id, CONFIRMED, ask.details, reply_to=ask.reply_to, accepted=accepted
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
            for b in attempt.bookings
        ),
        reminders=tuple(r for b in attempt.bookings if (r := _reminder(b, attempt.policy, now)) is not None),
        notice=confirmation_notice(ask, attempt.room, attempt.bookings, attempt.policy),
    )


def _reminder(booking: Booking, policy: Policy, now: datetime) -> Reminder | None:
    due = policy.reminder_at(booking.start, now)
    return Reminder(booking.booking_id, due, booking.correlation_id) if due else None


@dataclass(frozen=True)
class Declined:
    outcome: RequestOutcome
    event: events.BookingRejected
    notice: Notice


def rejected(
    ask: Ask, rejection: Rejection, offers: Sequence[Slot], *, rooms: Mapping[str, Room], policy: Policy
) -> Declined:
    """The request is rejected: the outcome (keeping what was offered), booking.rejected with the
    alternatives, and what the customer is told."""
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
        ),
        event=events.BookingRejected(
            inquiry_id=ask.inquiry_id,
            customer_id=ask.customer_id,
            reason=rejection.reason,
            reason_code=rejection.code,  # type: ignore[arg-type]
            alternatives=[events.Slot(room_id=a.room_id, start=a.start, end=a.end) for a in offers],
        ),
        notice=rejection_notice(ask, rejection, offers, rooms, policy),
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
    scheduled one is cancelled)."""

    booking: Booking
    event: events.BookingCancelled | events.BookingRescheduled
    reminder: Reminder | None


@dataclass(frozen=True)
class Update:
    """New attendees or equipment of a booking (its time, room and reminder stay)."""

    booking: Booking
    event: events.BookingUpdated


def _changeable(booking: Booking | None, ref: str) -> Refusal | None:
    if booking is None:
        return Refusal(f"no booking {ref!r}")
    if booking.status == CANCELLED:
        return Refusal("the booking is already cancelled")
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
    moved = replace(booking, room_id=room_id, start=start, end=end, blocked=policy.blocked(start, end, room))
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
) -> tuple[Update, ...] | Refusal:
    """New attendees and/or equipment for ``targets`` (the booking ``ref``, or the upcoming
    occurrences of its series: :func:`upcoming`), each re-checked against its room: refused, with the
    reason, when one of them no longer fits."""
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
