"""Booking rules, in plain Python (no broker, no database, no clock: ``now`` is an argument).

A room is never given to two meetings whose *blocked* intervals overlap: the meeting itself plus a
setup buffer before and a cleanup buffer after. The database enforces the same rule with an
exclusion constraint and has the last word; this module decides everything else:

- a booking request (:func:`request_booking`): which rooms to try, in which order, with which rows
  (one per occurrence of a series); an :class:`Attempt` that the database finds taken says what to
  try next (:meth:`Attempt.next`: the next suitable room, or the rejection); :func:`confirmed` and
  :func:`rejected` give the outcome to record and the events it implies;
- what to offer instead (:func:`alternatives`, :func:`availability`), within
  :meth:`Policy.search_window`;
- changes to a booking (:func:`cancel`, :func:`reschedule`): the new state and its event, or a
  :class:`Refusal`;
- the day-before reminder: when it falls due (:meth:`Policy.reminder_at`) and whether it still goes
  out when it does (:func:`reminder`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from shared.contract import events

MAX_DURATION = timedelta(hours=24)
MAX_OCCURRENCES = 52

CONFIRMED = "confirmed"
CANCELLED = "cancelled"
REJECTED = "rejected"  # a request's outcome (a booking is confirmed or cancelled)
REMINDER = "booking.reminder"  # the due item of the day-before reminder, keyed by the booking id


@dataclass(frozen=True)
class Room:
    room_id: str
    name: str
    capacity: int
    equipment: frozenset[str] = frozenset()
    location: str | None = None
    active: bool = True


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


@dataclass(frozen=True)
class Policy:
    setup: timedelta = timedelta(minutes=15)
    cleanup: timedelta = timedelta(minutes=15)
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Hong_Kong"))
    opening: time = time(8, 0)
    closing: time = time(22, 0)
    step: timedelta = timedelta(minutes=30)
    search_days: int = 7
    max_alternatives: int = 5
    reminder_lead: timedelta = timedelta(hours=24)

    def blocked(self, start: datetime, end: datetime) -> tuple[datetime, datetime]:
        """The interval the room is taken for: setup before, cleanup after."""
        return start - self.setup, end + self.cleanup

    def search_window(self, req: Request) -> tuple[datetime, datetime]:
        """The bookings :func:`alternatives` must see for ``req``: from a day before the meeting
        (its day in venue time, and the buffers) to ``search_days`` after it, with a day's margin."""
        return req.start - timedelta(days=1), req.end + timedelta(days=self.search_days + 2)

    def booking_window(self, req: Request) -> tuple[datetime, datetime]:
        """The bookings a request must see to choose its room and offer alternatives: the search
        window, and every occurrence of a series with its buffers."""
        start, end = self.search_window(req)
        occ = occurrences(req)
        if not occ:
            return start, end
        return min(start, occ[0][0] - self.setup), max(end, occ[-1][1] + self.cleanup)

    def reminder_at(self, start: datetime, now: datetime) -> datetime | None:
        """When the customer is reminded of a meeting starting at ``start``: ``reminder_lead``
        before it; None when that moment has already passed at ``now`` (a meeting booked or moved
        this close to its start needs no reminder: the confirmation is recent enough)."""
        due = start - self.reminder_lead
        return due if due > now else None


@dataclass(frozen=True)
class Rejection:
    """Why a booking request cannot be met (``code``: booking.rejected's reason_code)."""

    code: str  # room_unavailable | room_unknown | room_too_small | equipment_missing | no_room_fits | invalid
    reason: str

    @property
    def offers_alternatives(self) -> bool:
        """A request that makes no sense (``invalid``) gets no alternatives; any other does."""
        return self.code != "invalid"


@dataclass(frozen=True)
class Plan:
    """Rooms to try in order (the first free one wins) and the occurrences to book in each."""

    candidates: tuple[Room, ...]
    occurrences: tuple[tuple[datetime, datetime], ...]


def occurrences(req: Request) -> list[tuple[datetime, datetime]]:
    """The meeting's occurrences: one, or a daily/weekly series bounded by count or until."""
    if not req.recurrence_freq:
        return [(req.start, req.end)]
    step = timedelta(days=1 if req.recurrence_freq == "daily" else 7)
    count = req.recurrence_count or MAX_OCCURRENCES
    out: list[tuple[datetime, datetime]] = []
    i = 0
    while len(out) < min(count, MAX_OCCURRENCES):
        start, end = req.start + i * step, req.end + i * step
        if req.recurrence_until and start.date() > req.recurrence_until:
            break
        out.append((start, end))
        i += 1
    return out


def unsuitability(room: Room | None, req: Request) -> Rejection | None:
    """Why this room cannot hold this meeting at any time, or None if it can."""
    if room is None or not room.active:
        return Rejection("room_unknown", f"room {req.room_id!r} does not exist or is not in service")
    if room.capacity < req.attendees:
        return Rejection(
            "room_too_small", f"room {room.room_id} holds {room.capacity}, the meeting needs {req.attendees}"
        )
    missing = req.equipment - room.equipment
    if missing:
        return Rejection("equipment_missing", f"room {room.room_id} lacks {', '.join(sorted(missing))}")
    return None


def suitable_rooms(rooms: Iterable[Room], req: Request) -> list[Room]:
    """Rooms that can hold the meeting, the best fit (smallest capacity) first."""
    fit = [r for r in rooms if unsuitability(r, req) is None]
    return sorted(fit, key=lambda r: (r.capacity, r.room_id))


def plan(req: Request, rooms: Mapping[str, Room], now: datetime) -> Plan | Rejection:
    if req.end <= req.start:
        return Rejection("invalid", "the meeting must end after it starts")
    if req.end - req.start > MAX_DURATION:
        return Rejection("invalid", "a meeting may last at most 24 hours; book several days separately")
    if req.start < now:
        return Rejection("invalid", "the meeting would start in the past")
    occ = tuple(occurrences(req))
    if not occ:
        return Rejection("invalid", "the recurrence yields no meeting")
    if req.room_id is not None:
        room = rooms.get(req.room_id)
        problem = unsuitability(room, req)
        if problem:
            return problem
        assert room is not None
        return Plan((room,), occ)
    fit = suitable_rooms(rooms.values(), req)
    if not fit:
        return Rejection("no_room_fits", f"no room holds {req.attendees} with {_equipment(req)}")
    return Plan(tuple(fit), occ)


def _equipment(req: Request) -> str:
    return ", ".join(sorted(req.equipment)) or "no special equipment"


def is_free(busy: Sequence[tuple[datetime, datetime]], start: datetime, end: datetime, policy: Policy) -> bool:
    b_start, b_end = policy.blocked(start, end)
    return all(not (b_start < o_end and o_start < b_end) for o_start, o_end in busy)


def alternatives(
    req: Request,
    rooms: Mapping[str, Room],
    busy: Mapping[str, Sequence[tuple[datetime, datetime]]],
    policy: Policy,
    now: datetime,
) -> list[Slot]:
    """What to offer instead: other suitable rooms at the same time first, then the nearest free
    times (same duration, within opening hours, up to ``search_days`` ahead) in the room asked for
    or, failing that, in any suitable room. ``busy`` holds each room's *blocked* intervals."""
    duration = req.end - req.start
    fit = suitable_rooms(rooms.values(), req)
    out: list[Slot] = []

    def add(slot: Slot) -> bool:
        if slot not in out:
            out.append(slot)
        return len(out) >= policy.max_alternatives

    for room in fit:
        if room.room_id != req.room_id and is_free(busy.get(room.room_id, ()), req.start, req.end, policy):
            if add(Slot(room.room_id, req.start, req.end)):
                return out

    preferred = [rooms[req.room_id]] if req.room_id in rooms and rooms[req.room_id] in fit else []
    for room in preferred + [r for r in fit if r not in preferred]:
        wanted = 3 if room in preferred else 1  # a few times in the room asked for, the nearest elsewhere
        for start in _candidate_starts(req.start, duration, policy, now):
            if is_free(busy.get(room.room_id, ()), start, start + duration, policy):
                if add(Slot(room.room_id, start, start + duration)):
                    return out
                wanted -= 1
                if wanted == 0:
                    break
    return out


def _candidate_starts(requested: datetime, duration: timedelta, policy: Policy, now: datetime) -> list[datetime]:
    """Start times within opening hours, nearest to the requested one first."""
    local = requested.astimezone(policy.tz)
    first_day = local.date()
    starts: list[datetime] = []
    for d in range(policy.search_days + 1):
        day = first_day + timedelta(days=d)
        t = datetime.combine(day, policy.opening, tzinfo=policy.tz)
        close = (
            datetime.combine(day, policy.closing, tzinfo=policy.tz)
            if policy.closing != time(0)
            else (datetime.combine(day + timedelta(days=1), time(0), tzinfo=policy.tz))
        )
        while t + duration <= close:
            if t > now and t != local:
                starts.append(t)
            t += policy.step
    starts.sort(key=lambda s: (abs((s - requested).total_seconds()), s))
    return starts


@dataclass(frozen=True)
class Availability:
    free_rooms: list[str]  # suitable rooms free at the time asked for, the best fit first
    alternatives: list[Slot]  # only when none is free


def availability(
    req: Request,
    rooms: Mapping[str, Room],
    busy: Mapping[str, Sequence[tuple[datetime, datetime]]],
    policy: Policy,
    now: datetime,
) -> Availability:
    """Which suitable rooms are free for ``req`` and, if none is, what to offer instead (``busy``:
    each room's blocked intervals within :meth:`Policy.search_window`)."""
    free = [
        r.room_id
        for r in suitable_rooms(rooms.values(), req)
        if is_free(busy.get(r.room_id, ()), req.start, req.end, policy)
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
    blocked: tuple[datetime, datetime]  # what the room is taken for: Policy.blocked(start, end)
    attendees: int
    equipment: tuple[str, ...]
    correlation_id: str  # of the request that made it: reminders and changes carry it on
    occurrence: int = 0
    series_id: uuid.UUID | None = None
    details: Mapping[str, Any] = field(default_factory=dict)  # the meeting as asked for
    status: str = CONFIRMED


@dataclass(frozen=True)
class Ask:
    """A booking request (``booking.requested``) as the rules see it."""

    inquiry_id: str
    customer_id: str
    name: str
    request: Request
    details: Mapping[str, Any]  # the meeting as asked for, kept with the bookings and the outcome
    correlation_id: str


@dataclass(frozen=True)
class RequestOutcome:
    """What became of a request: one per inquiry (a second request for it changes nothing)."""

    inquiry_id: str
    customer_id: str
    outcome: str  # CONFIRMED | REJECTED
    request: Mapping[str, Any]
    reason_code: str | None = None
    reason: str | None = None


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
    busy: Mapping[str, Sequence[tuple[datetime, datetime]]] = field(default_factory=dict, repr=False)

    @property
    def room(self) -> Room:
        return self.plan.candidates[self.index]

    def next(self) -> Attempt | Rejection:
        """The room was taken: try the next suitable room, or reject when none is left."""
        return self._from(self.index + 1)

    def knowing(self, busy: Mapping[str, Sequence[tuple[datetime, datetime]]]) -> Attempt | Rejection:
        """The first room to try given the bookings already made (``busy``: each room's blocked
        intervals over :meth:`Policy.booking_window`), or the rejection when every suitable room is
        taken. Skipping the rooms already taken keeps a request for a popular slot from trying, and
        waiting on, every room in turn."""
        return replace(self, busy=busy)._from(self.index)

    def _from(self, index: int) -> Attempt | Rejection:
        """The first candidate from ``index`` on that the bookings known so far leave free (the
        database still has the last word: another request may take it first)."""
        for i in range(index, len(self.plan.candidates)):
            room_busy = self.busy.get(self.plan.candidates[i].room_id, ())
            if all(is_free(room_busy, start, end, self.policy) for start, end in self.plan.occurrences):
                return _attempt(self.ask, self.plan, i, self.series_id, self.policy, self.busy)
        return room_taken(self.ask.request.room_id)


def request_booking(ask: Ask, rooms: Mapping[str, Room], now: datetime, policy: Policy) -> Attempt | Rejection:
    """The first room to try (the room asked for, or the best fit), or why the request fails
    whatever the bookings (invalid, unsuitable room, no room fits); see :meth:`Attempt.knowing`."""
    result = plan(ask.request, rooms, now)
    if isinstance(result, Rejection):
        return result
    series_id = uuid.uuid4() if len(result.occurrences) > 1 else None
    return _attempt(ask, result, 0, series_id, policy, {})


def _attempt(
    ask: Ask,
    p: Plan,
    index: int,
    series_id: uuid.UUID | None,
    policy: Policy,
    busy: Mapping[str, Sequence[tuple[datetime, datetime]]],
) -> Attempt:
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
            blocked=policy.blocked(start, end),
            attendees=req.attendees,
            equipment=tuple(sorted(req.equipment)),
            correlation_id=ask.correlation_id,
            occurrence=i,
            series_id=series_id,
            details=ask.details,
        )
        for i, (start, end) in enumerate(p.occurrences)
    )
    return Attempt(ask, p, index, series_id, policy, bookings, busy)


def room_taken(room_id: str | None) -> Rejection:
    """The room asked for (or every suitable room) is taken at that time."""
    if room_id:
        return Rejection("room_unavailable", f"room {room_id} is taken at that time")
    return Rejection("room_unavailable", "no suitable room is free at that time")


@dataclass(frozen=True)
class Reminder:
    """The day-before reminder of a booking: due item :data:`REMINDER` keyed by the booking id."""

    booking_id: uuid.UUID
    due_at: datetime
    correlation_id: str

    @property
    def key(self) -> str:
        return str(self.booking_id)


@dataclass(frozen=True)
class Confirmation:
    outcome: RequestOutcome
    events: tuple[events.BookingConfirmed, ...]  # one per occurrence
    reminders: tuple[Reminder, ...]  # one per occurrence whose reminder time is still ahead


def confirmed(attempt: Attempt, now: datetime) -> Confirmation:
    """The database took the attempt's bookings: the outcome, the events and the reminders."""
    ask = attempt.ask
    return Confirmation(
        outcome=RequestOutcome(ask.inquiry_id, ask.customer_id, CONFIRMED, ask.details),
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
    )


def _reminder(booking: Booking, policy: Policy, now: datetime) -> Reminder | None:
    due = policy.reminder_at(booking.start, now)
    return Reminder(booking.booking_id, due, booking.correlation_id) if due else None


@dataclass(frozen=True)
class Declined:
    outcome: RequestOutcome
    event: events.BookingRejected


def rejected(ask: Ask, rejection: Rejection, offers: Sequence[Slot] = ()) -> Declined:
    """The request is rejected: the outcome and booking.rejected with what is offered instead."""
    return Declined(
        outcome=RequestOutcome(
            ask.inquiry_id, ask.customer_id, REJECTED, ask.details, reason_code=rejection.code, reason=rejection.reason
        ),
        event=events.BookingRejected(
            inquiry_id=ask.inquiry_id,
            customer_id=ask.customer_id,
            reason=rejection.reason,
            reason_code=rejection.code,
            alternatives=[events.Slot(room_id=a.room_id, start=a.start, end=a.end) for a in offers],
        ),
    )


# -- changes to a booking -------------------------------------------------------------------------
@dataclass(frozen=True)
class Refusal:
    """Why a command is refused, or why a due reminder goes out no more."""

    reason: str


@dataclass(frozen=True)
class Change:
    """A booking's new state, its event, and its reminder from now on (None: no reminder, any
    scheduled one is cancelled)."""

    booking: Booking
    event: events.BookingCancelled | events.BookingRescheduled
    reminder: Reminder | None


def _changeable(booking: Booking | None, ref: str) -> Refusal | None:
    if booking is None:
        return Refusal(f"no booking {ref!r}")
    if booking.status == CANCELLED:
        return Refusal("the booking is already cancelled")
    return None


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
    """Move the booking ``ref`` to [start, end), in ``room_id`` or its own room; the reminder moves
    with it. Whether the room is free there is the database's to say (:func:`room_taken`)."""
    refusal = _changeable(booking, ref)
    if refusal:
        return refusal
    assert booking is not None
    if start < now:
        return Refusal("the new time is in the past")
    room_id = room_id or booking.room_id
    problem = unsuitability(
        rooms.get(room_id), Request(start, end, booking.attendees, frozenset(booking.equipment), room_id)
    )
    if problem:
        return Refusal(problem.reason)
    moved = replace(booking, room_id=room_id, start=start, end=end, blocked=policy.blocked(start, end))
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


def reminder(booking: Booking | None, now: datetime) -> events.BookingReminderDue | Refusal:
    """The reminder that has fallen due: booking.reminder_due, or why it no longer goes out."""
    if booking is None:
        return Refusal("the booking does not exist")
    if booking.status != CONFIRMED:
        return Refusal(f"the booking is {booking.status}")
    if booking.start <= now:
        return Refusal("the meeting has already started")
    return events.BookingReminderDue(
        booking_id=str(booking.booking_id),
        customer_id=booking.customer_id,
        room_id=booking.room_id,
        start=booking.start,
        end=booking.end,
    )


# -- rooms ----------------------------------------------------------------------------------------
def room_updated(room: Room) -> events.RoomUpdated:
    return events.RoomUpdated(
        room_id=room.room_id,
        name=room.name,
        location=room.location,
        capacity=room.capacity,
        equipment=sorted(room.equipment),
        active=room.active,
    )
