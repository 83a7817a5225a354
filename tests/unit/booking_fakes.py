"""An in-memory :class:`services.booking.store.BookingStore` for handler tests.

Same methods, same answers: in particular it plays the database's exclusion constraint — a room is
taken when a booking that holds it (confirmed, completed, or held for a waiter: not cancelled or
released) holds it for an overlapping blocked interval (half-open), so ``try_insert_bookings`` /
``try_move_bookings`` answer False and change nothing (a series moves all at once or not at all,
whatever order its occurrences pass one another in).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from services.booking import domain
from services.booking.store import BookingFilter, RequestFilter

Busy = dict[str, list[tuple[datetime, datetime]]]


class FakeBookingStore:
    def __init__(self, rooms: Iterable[domain.Room] = (), bookings: Iterable[domain.Booking] = ()):
        self.rooms_by_id: dict[str, domain.Room] = {r.room_id: r for r in rooms}
        self.bookings: dict[uuid.UUID, domain.Booking] = {b.booking_id: b for b in bookings}
        self.requests: dict[str, domain.RequestOutcome] = {}
        self.locked: set[uuid.UUID] = set()
        self.locked_requests: set[str] = set()
        self.busy_queries: list[tuple[datetime, datetime]] = []
        self.accepted_at: dict[str, datetime] = {}
        self.preparations: dict[tuple[uuid.UUID, str], domain.Task] = {}
        self.outcomes: dict[str, dict[str, Any]] = {}
        self.claimed: set[str] = set()  # the inbox (message ids claimed by a batch)
        self.locked_rooms: list[str] = []  # in the order they were locked

    # -- rooms ----------------------------------------------------------------------------------
    async def rooms(self) -> dict[str, domain.Room]:
        return dict(self.rooms_by_id)

    async def upsert_room(self, room: domain.Room) -> None:
        self.rooms_by_id[room.room_id] = room

    # -- bookings -------------------------------------------------------------------------------
    async def busy_intervals(
        self,
        start: datetime,
        end: datetime,
        exclude: Sequence[uuid.UUID] = (),
        *,
        room_ids: Iterable[str] | None = None,
    ) -> Busy:
        self.busy_queries.append((start, end))
        only = set(room_ids) if room_ids is not None else None
        out: Busy = defaultdict(list)
        for b in self.bookings.values():
            if b.booking_id in exclude or (only is not None and b.room_id not in only):
                continue
            if _holds(b) and b.blocked[0] < end and start < b.blocked[1]:
                out[b.room_id].append(b.blocked)
        return out

    async def busy_around(self, spans: Sequence[tuple[datetime, datetime]], room_ids: Iterable[str]) -> Busy:
        only = set(room_ids)
        self.busy_queries.extend(spans)
        out: Busy = defaultdict(list)
        for b in self.bookings.values():
            if b.room_id in only and _holds(b) and any(b.blocked[0] < e and s < b.blocked[1] for s, e in spans):
                out[b.room_id].append(b.blocked)
        return out

    async def try_insert_bookings(self, new: Sequence[domain.Booking]) -> bool:
        held = [b for b in self.bookings.values() if _holds(b)]
        for i, b in enumerate(new):
            if any(_clash(b, other) for other in [*held, *new[:i]]):
                return False
        self.bookings.update((b.booking_id, b) for b in new)
        return True

    async def lock_rooms(self, room_ids: Iterable[str]) -> None:
        ids = sorted(set(room_ids) - set(self.locked_rooms))
        self.locked_rooms.extend(ids)

    async def insert_bookings(self, new: Sequence[domain.Booking]) -> set[uuid.UUID]:
        """Each booking that its room takes (as ``ON CONFLICT ... DO NOTHING`` would)."""
        inserted: set[uuid.UUID] = set()
        for b in new:
            if not any(_clash(b, other) for other in self.bookings.values() if _holds(other)):
                self.bookings[b.booking_id] = b
                inserted.add(b.booking_id)
        return inserted

    async def delete_bookings(self, booking_ids: Iterable[uuid.UUID]) -> None:
        for booking_id in booking_ids:
            self.bookings.pop(booking_id, None)

    async def try_move_bookings(self, moved: Sequence[domain.Booking]) -> bool:
        ids = {b.booking_id for b in moved}
        others = [b for b in self.bookings.values() if b.booking_id not in ids and _holds(b)]
        for i, b in enumerate(moved):
            if any(_clash(b, other) for other in [*others, *moved[:i]]):
                return False
        for b in moved:
            old = self.bookings[b.booking_id]
            self.bookings[b.booking_id] = replace(
                old,
                room_id=b.room_id,
                start=b.start,
                end=b.end,
                blocked=b.blocked,
                attendance_confirmed_at=b.attendance_confirmed_at,
                checked_in_at=b.checked_in_at,
            )
        return True

    async def update_bookings(self, changed: Sequence[domain.Booking]) -> None:
        for b in changed:
            self.bookings[b.booking_id] = replace(
                self.bookings[b.booking_id], attendees=b.attendees, equipment=b.equipment
            )

    async def cancel_booking(self, booking_id: uuid.UUID) -> None:
        self.bookings[booking_id] = replace(self.bookings[booking_id], status=domain.CANCELLED)

    async def save_state(self, booking: domain.Booking) -> None:
        self.bookings[booking.booking_id] = replace(
            self.bookings[booking.booking_id],
            status=booking.status,
            attendance_confirmed_at=booking.attendance_confirmed_at,
            checked_in_at=booking.checked_in_at,
            released_at=booking.released_at,
            completed_at=booking.completed_at,
        )

    async def drop_hold(self, booking_id: uuid.UUID) -> None:
        if (b := self.bookings.get(booking_id)) is not None and b.status == domain.HELD:
            del self.bookings[booking_id]

    async def booking(self, booking_id: uuid.UUID, *, lock: bool = False) -> domain.Booking | None:
        if lock:
            self.locked.add(booking_id)
        return self.bookings.get(booking_id)

    async def series(self, series_id: uuid.UUID, *, lock: bool = False) -> list[domain.Booking]:
        found = sorted((b for b in self.bookings.values() if b.series_id == series_id), key=lambda b: b.occurrence)
        if lock:
            self.locked.update(b.booking_id for b in found)
        return found

    async def bookings_between(
        self, start: datetime, end: datetime, room_id: str | None = None, limit: int = 500
    ) -> list[domain.Booking]:
        return await self.find_bookings(BookingFilter(room_id=room_id, start=start, end=end), limit=limit)

    async def find_bookings(
        self, f: BookingFilter, *, limit: int = 100, after: tuple[datetime, uuid.UUID] | None = None
    ) -> list[domain.Booking]:
        found = [
            b
            for b in self.bookings.values()
            if (not f.customer_id or b.customer_id == f.customer_id)
            and (not f.status or b.status == f.status)
            and (not f.room_id or b.room_id == f.room_id)
            and (f.end is None or b.start < f.end)
            and (f.start is None or b.end > f.start)
            and (after is None or (b.start, str(b.booking_id)) > (after[0], str(after[1])))
        ]
        return sorted(found, key=lambda b: (b.start, str(b.booking_id)))[:limit]

    # -- requests -------------------------------------------------------------------------------
    async def claim_messages(self, keys: Sequence[str]) -> set[str]:
        fresh = set(keys) - self.claimed
        self.claimed.update(fresh)
        return fresh

    async def requests_decided(self, inquiry_ids: Sequence[str]) -> set[str]:
        return {i for i in inquiry_ids if i in self.requests}

    async def record_requests(self, outcomes: Sequence[domain.RequestOutcome]) -> None:
        for outcome in outcomes:
            self.requests.setdefault(outcome.inquiry_id, outcome)

    async def request_decided(self, inquiry_id: str) -> bool:
        return inquiry_id in self.requests

    async def record_request(self, outcome: domain.RequestOutcome) -> None:
        self.requests.setdefault(outcome.inquiry_id, outcome)

    async def request(self, inquiry_id: str, *, lock: bool = False) -> domain.RequestOutcome | None:
        if lock:
            self.locked_requests.add(inquiry_id)
        return self.requests.get(inquiry_id)

    async def save_request(self, record: domain.RequestOutcome, at: datetime) -> None:
        old = self.requests[record.inquiry_id]
        self.requests[record.inquiry_id] = replace(
            old, outcome=record.outcome, accepted=record.accepted, waitlist=record.waitlist, offer=record.offer
        )
        if record.accepted is not None:
            self.accepted_at.setdefault(record.inquiry_id, at)

    async def record_acceptance(self, inquiry_id: str, slot: domain.Slot, at: datetime) -> None:
        old = self.requests[inquiry_id]
        waitlist = domain.LEFT if old.waitlist in (domain.WAITING, domain.OFFERED) else old.waitlist
        self.requests[inquiry_id] = replace(old, outcome=domain.CONFIRMED, accepted=slot, waitlist=waitlist)
        self.accepted_at[inquiry_id] = at

    async def waiters(
        self, start: datetime, end: datetime, room_ids: Sequence[str], now: datetime, limit: int = 100
    ) -> list[domain.RequestOutcome]:
        found = [
            r
            for r in self.requests.values()
            if r.waitlist == domain.WAITING
            and r.wait is not None
            and r.wait.start < end
            and r.wait.end > start
            and r.wait.end > now
            and (r.wait.room_id is None or r.wait.room_id in room_ids)
        ]
        found.sort(key=lambda r: (r.wait.since if r.wait else now, r.inquiry_id))
        self.locked_requests.update(r.inquiry_id for r in found[:limit])
        return found[:limit]

    async def find_requests(
        self, f: RequestFilter, *, limit: int = 100, after: tuple[datetime, str] | None = None
    ) -> list[domain.RequestOutcome]:
        found = [
            r
            for r in self.requests.values()
            if (not f.customer_id or r.customer_id == f.customer_id)
            and (not f.outcome or r.outcome == f.outcome)
            and (not f.waitlist or r.waitlist in f.waitlist)
        ]
        return found[:limit]

    async def waitlist(
        self, now: datetime, room_id: str | None = None, limit: int = 500
    ) -> list[domain.RequestOutcome]:
        found = [
            r
            for r in self.requests.values()
            if r.waitlist in (domain.WAITING, domain.OFFERED)
            and r.wait is not None
            and r.wait.end > now
            and (not room_id or r.wait.room_id in (None, room_id))
        ]
        return sorted(found, key=lambda r: (r.wait.since if r.wait else now, r.inquiry_id))[:limit]

    # -- preparation ----------------------------------------------------------------------------
    async def add_tasks(self, tasks: Sequence[domain.Task], *, replace: bool = False) -> None:
        if replace:
            ids = {t.booking_id for t in tasks}
            for key in [k for k in self.preparations if k[0] in ids]:
                del self.preparations[key]
        for t in tasks:
            self.preparations[(t.booking_id, t.department)] = t

    async def drop_tasks(self, booking_id: uuid.UUID) -> None:
        for key in [k for k in self.preparations if k[0] == booking_id]:
            del self.preparations[key]

    async def tasks(self, booking_id: uuid.UUID, *, lock: bool = False) -> list[domain.Task]:
        found = [t for (b, _), t in self.preparations.items() if b == booking_id]
        return sorted(found, key=lambda t: domain.DEPARTMENTS.index(t.department))

    async def save_task(self, task: domain.Task) -> None:
        self.preparations[(task.booking_id, task.department)] = task

    # -- what tests read ------------------------------------------------------------------------
    def of_inquiry(self, inquiry_id: str) -> list[domain.Booking]:
        return sorted((b for b in self.bookings.values() if b.inquiry_id == inquiry_id), key=lambda b: b.occurrence)

    def tasks_of(self, booking_id: uuid.UUID | str) -> dict[str, domain.Task]:
        bid = uuid.UUID(str(booking_id))
        return {d: t for (b, d), t in self.preparations.items() if b == bid}


def _holds(b: domain.Booking) -> bool:
    return b.status not in domain.FREE_STATUSES


def _clash(a: domain.Booking, b: domain.Booking) -> bool:
    return a.room_id == b.room_id and a.blocked[0] < b.blocked[1] and b.blocked[0] < a.blocked[1]
