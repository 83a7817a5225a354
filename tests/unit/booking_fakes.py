"""An in-memory :class:`services.booking.store.BookingStore` for handler tests.

Same methods, same answers: in particular it plays the database's exclusion constraint — a room is
taken when a booking that is not cancelled holds it for an overlapping blocked interval (half-open),
so ``try_insert_bookings`` / ``try_move_booking(s)`` answer False and change nothing (a series moves
all at once or not at all, whatever order its occurrences pass one another in).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime

from services.booking import domain


class FakeBookingStore:
    def __init__(self, rooms: Iterable[domain.Room] = (), bookings: Iterable[domain.Booking] = ()):
        self.rooms_by_id: dict[str, domain.Room] = {r.room_id: r for r in rooms}
        self.bookings: dict[uuid.UUID, domain.Booking] = {b.booking_id: b for b in bookings}
        self.requests: dict[str, domain.RequestOutcome] = {}
        self.locked: set[uuid.UUID] = set()
        self.busy_queries: list[tuple[datetime, datetime]] = []
        self.accepted_at: dict[str, datetime] = {}

    # -- rooms ----------------------------------------------------------------------------------
    async def rooms(self) -> dict[str, domain.Room]:
        return dict(self.rooms_by_id)

    async def upsert_room(self, room: domain.Room) -> None:
        self.rooms_by_id[room.room_id] = room

    # -- bookings -------------------------------------------------------------------------------
    async def busy_intervals(
        self, start: datetime, end: datetime, exclude: Sequence[uuid.UUID] = ()
    ) -> dict[str, list[tuple[datetime, datetime]]]:
        self.busy_queries.append((start, end))
        out: dict[str, list[tuple[datetime, datetime]]] = defaultdict(list)
        for b in self.bookings.values():
            if b.booking_id in exclude:
                continue
            if b.status != domain.CANCELLED and b.blocked[0] < end and start < b.blocked[1]:
                out[b.room_id].append(b.blocked)
        return out

    async def try_insert_bookings(self, new: Sequence[domain.Booking]) -> bool:
        held = [b for b in self.bookings.values() if b.status != domain.CANCELLED]
        for i, b in enumerate(new):
            if any(_clash(b, other) for other in [*held, *new[:i]]):
                return False
        self.bookings.update((b.booking_id, b) for b in new)
        return True

    async def try_move_booking(self, booking: domain.Booking) -> bool:
        return await self.try_move_bookings([booking])

    async def try_move_bookings(self, moved: Sequence[domain.Booking]) -> bool:
        ids = {b.booking_id for b in moved}
        others = [b for b in self.bookings.values() if b.booking_id not in ids and b.status != domain.CANCELLED]
        for i, b in enumerate(moved):
            if any(_clash(b, other) for other in [*others, *moved[:i]]):
                return False
        for b in moved:
            old = self.bookings[b.booking_id]
            self.bookings[b.booking_id] = replace(old, room_id=b.room_id, start=b.start, end=b.end, blocked=b.blocked)
        return True

    async def update_bookings(self, changed: Sequence[domain.Booking]) -> None:
        for b in changed:
            self.bookings[b.booking_id] = replace(
                self.bookings[b.booking_id], attendees=b.attendees, equipment=b.equipment
            )

    async def cancel_booking(self, booking_id: uuid.UUID) -> None:
        self.bookings[booking_id] = replace(self.bookings[booking_id], status=domain.CANCELLED)

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
        found = [
            b
            for b in self.bookings.values()
            if b.start < end and b.end > start and (not room_id or b.room_id == room_id)
        ]
        return sorted(found, key=lambda b: b.start)[:limit]

    # -- requests -------------------------------------------------------------------------------
    async def request_decided(self, inquiry_id: str) -> bool:
        return inquiry_id in self.requests

    async def record_request(self, outcome: domain.RequestOutcome) -> None:
        self.requests.setdefault(outcome.inquiry_id, outcome)

    async def request(self, inquiry_id: str, *, lock: bool = False) -> domain.RequestOutcome | None:
        return self.requests.get(inquiry_id)

    async def record_acceptance(self, inquiry_id: str, slot: domain.Slot, at: datetime) -> None:
        self.requests[inquiry_id] = replace(self.requests[inquiry_id], outcome=domain.CONFIRMED, accepted=slot)
        self.accepted_at[inquiry_id] = at

    # -- what tests read ------------------------------------------------------------------------
    def of_inquiry(self, inquiry_id: str) -> list[domain.Booking]:
        return sorted((b for b in self.bookings.values() if b.inquiry_id == inquiry_id), key=lambda b: b.occurrence)


def _clash(a: domain.Booking, b: domain.Booking) -> bool:
    return a.room_id == b.room_id and a.blocked[0] < b.blocked[1] and b.blocked[0] < a.blocked[1]
