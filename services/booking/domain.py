"""Booking rules, in plain Python (no broker, no database).

A room is never given to two meetings whose *blocked* intervals overlap: the meeting itself plus a
setup buffer before and a cleanup buffer after. The database enforces the same rule with an
exclusion constraint; this module decides which rooms to try, in which order, and what to offer
when the room asked for is not possible.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

MAX_DURATION = timedelta(hours=24)
MAX_OCCURRENCES = 52


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

    def blocked(self, start: datetime, end: datetime) -> tuple[datetime, datetime]:
        """The interval the room is taken for: setup before, cleanup after."""
        return start - self.setup, end + self.cleanup


@dataclass(frozen=True)
class Rejection:
    code: str  # room_unavailable | room_unknown | room_too_small | equipment_missing | no_room_fits | invalid
    reason: str


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
