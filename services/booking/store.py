"""Booking's SQL: :class:`BookingStore`, plain SQLAlchemy Core over its own tables.

The store reads and writes what the rules decide; it decides nothing, with one exception that is the
point of the design: the exclusion constraint ``bookings_no_overlap`` is the arbiter of conflicts,
so :meth:`BookingStore.try_insert_bookings` and :meth:`BookingStore.try_move_booking` report a
taken room (False) instead of checking beforehand — any number of replicas stays safe.
:meth:`BookingStore.try_move_bookings` moves a whole series that way, all of it or nothing.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from asyncpg.types import Range
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.contract.events import ReplyRoute

from . import domain
from .models import NO_OVERLAP, bookings, requests, rooms

Busy = dict[str, list[tuple[datetime, datetime]]]


class BookingStore:
    def __init__(self, conn: AsyncConnection):
        self.conn = conn

    # -- rooms ----------------------------------------------------------------------------------
    async def rooms(self) -> dict[str, domain.Room]:
        rows = (await self.conn.execute(sa.select(rooms))).all()
        return {r.room_id: _room(r) for r in rows}

    async def upsert_room(self, room: domain.Room) -> None:
        values = {
            "room_id": room.room_id,
            "name": room.name,
            "location": room.location,
            "capacity": room.capacity,
            "equipment": sorted(room.equipment),
            "active": room.active,
            # unset: the venue's (a room sent again without them goes back to the venue's rules)
            "setup_buffer_minutes": _minutes(room.setup),
            "cleanup_buffer_minutes": _minutes(room.cleanup),
            "opens_at": room.opens_at,
            "closes_at": room.closes_at,
        }
        stmt = pg_insert(rooms).values(**values)
        stmt = stmt.on_conflict_do_update(
            index_elements=["room_id"],
            set_={k: stmt.excluded[k] for k in values if k != "room_id"} | {"updated_at": sa.func.now()},
        )
        await self.conn.execute(stmt)

    # -- bookings -------------------------------------------------------------------------------
    async def busy_intervals(self, start: datetime, end: datetime, exclude: Sequence[uuid.UUID] = ()) -> Busy:
        """Each room's blocked intervals that touch [start, end) (cancelled bookings free the room;
        ``exclude``: bookings not to count, e.g. those about to move)."""
        stmt = sa.select(bookings.c.room_id, bookings.c.blocked).where(
            bookings.c.status != domain.CANCELLED,
            bookings.c.blocked.op("&&")(sa.func.tstzrange(start, end, "[)")),
        )
        if exclude:
            stmt = stmt.where(bookings.c.booking_id.not_in(list(exclude)))
        out: Busy = defaultdict(list)
        for row in (await self.conn.execute(stmt)).all():
            out[row.room_id].append((row.blocked.lower, row.blocked.upper))
        return out

    async def try_insert_bookings(self, new: Sequence[domain.Booking]) -> bool:
        """Insert all of them, or none and False when the room is taken at one of their times."""
        return await self._unless_taken(sa.insert(bookings), [_row(b) for b in new])

    async def try_move_booking(self, booking: domain.Booking) -> bool:
        """Save the booking's new room and time; False (nothing changed) when the room is taken."""
        return await self.try_move_bookings([booking])

    async def try_move_bookings(self, moved: Sequence[domain.Booking]) -> bool:
        """Save the new room and time of each booking, all or none: False (nothing changed) when a
        room is taken at one of their new times. Several are first given an empty blocked interval,
        so that occurrences moving past one another never clash with where the others were."""
        if not moved:
            return True
        move = (
            sa.update(bookings)
            .where(bookings.c.booking_id == sa.bindparam("b_id"))
            .values(
                room_id=sa.bindparam("b_room"),
                start_at=sa.bindparam("b_start"),
                end_at=sa.bindparam("b_end"),
                blocked=sa.bindparam("b_blocked", type_=bookings.c.blocked.type),
                updated_at=sa.func.now(),
            )
        )
        rows = [
            {
                "b_id": b.booking_id,
                "b_room": b.room_id,
                "b_start": b.start,
                "b_end": b.end,
                "b_blocked": _range(b.blocked),
            }
            for b in moved
        ]
        try:
            async with self.conn.begin_nested():  # a taken room undoes every move
                if len(moved) > 1:
                    await self.conn.execute(
                        sa.update(bookings)
                        .where(bookings.c.booking_id.in_([b.booking_id for b in moved]))
                        .values(blocked=sa.literal_column("'empty'::tstzrange"))
                    )
                await self.conn.execute(move, rows)
        except IntegrityError as exc:
            if _is_overlap(exc):
                return False
            raise
        return True

    async def update_bookings(self, changed: Sequence[domain.Booking]) -> None:
        """Save the attendees and equipment of each booking."""
        if not changed:
            return
        stmt = (
            sa.update(bookings)
            .where(bookings.c.booking_id == sa.bindparam("b_id"))
            .values(
                attendees=sa.bindparam("b_attendees"), equipment=sa.bindparam("b_equipment"), updated_at=sa.func.now()
            )
        )
        await self.conn.execute(
            stmt,
            [{"b_id": b.booking_id, "b_attendees": b.attendees, "b_equipment": list(b.equipment)} for b in changed],
        )

    async def cancel_booking(self, booking_id: uuid.UUID) -> None:
        await self.conn.execute(
            sa.update(bookings)
            .where(bookings.c.booking_id == booking_id)
            .values(status=domain.CANCELLED, updated_at=sa.func.now())
        )

    async def booking(self, booking_id: uuid.UUID, *, lock: bool = False) -> domain.Booking | None:
        """The booking (``lock``: held for update until the transaction ends), or None."""
        stmt = sa.select(bookings).where(bookings.c.booking_id == booking_id)
        if lock:
            stmt = stmt.with_for_update()
        row = (await self.conn.execute(stmt)).first()
        return _booking(row) if row else None

    async def series(self, series_id: uuid.UUID, *, lock: bool = False) -> list[domain.Booking]:
        """Every occurrence of a series (cancelled ones too), in order (``lock``: held for update)."""
        stmt = sa.select(bookings).where(bookings.c.series_id == series_id).order_by(bookings.c.occurrence)
        if lock:
            stmt = stmt.with_for_update()
        return [_booking(r) for r in (await self.conn.execute(stmt)).all()]

    async def bookings_between(
        self, start: datetime, end: datetime, room_id: str | None = None, limit: int = 500
    ) -> list[domain.Booking]:
        """Bookings (cancelled ones too) that overlap [start, end), by start time."""
        stmt = (
            sa.select(bookings)
            .where(bookings.c.start_at < end, bookings.c.end_at > start)
            .order_by(bookings.c.start_at)
            .limit(limit)
        )
        if room_id:
            stmt = stmt.where(bookings.c.room_id == room_id)
        return [_booking(r) for r in (await self.conn.execute(stmt)).all()]

    async def _unless_taken(self, stmt: Any, params: Any = None) -> bool:
        try:
            async with self.conn.begin_nested():  # a taken room undoes this statement only
                await self.conn.execute(stmt, params)
        except IntegrityError as exc:
            if _is_overlap(exc):
                return False
            raise
        return True

    # -- requests -------------------------------------------------------------------------------
    async def request_decided(self, inquiry_id: str) -> bool:
        stmt = sa.select(requests.c.inquiry_id).where(requests.c.inquiry_id == inquiry_id)
        return (await self.conn.execute(stmt)).first() is not None

    async def record_request(self, outcome: domain.RequestOutcome) -> None:
        values = {
            "inquiry_id": outcome.inquiry_id,
            "customer_id": outcome.customer_id,
            "outcome": outcome.outcome,
            "reason_code": outcome.reason_code,
            "reason": outcome.reason,
            "request": dict(outcome.request),
            "reply_to": _route_json(outcome.reply_to),
            "alternatives": [_slot_json(a) for a in outcome.alternatives],
        }
        await self.conn.execute(pg_insert(requests).values(**values).on_conflict_do_nothing())

    async def request(self, inquiry_id: str, *, lock: bool = False) -> domain.RequestOutcome | None:
        """What became of the request (``lock``: held for update until the transaction ends), or None."""
        stmt = sa.select(requests).where(requests.c.inquiry_id == inquiry_id)
        if lock:
            stmt = stmt.with_for_update()
        row = (await self.conn.execute(stmt)).first()
        return _outcome(row) if row else None

    async def record_acceptance(self, inquiry_id: str, slot: domain.Slot, at: datetime) -> None:
        """The rejected request is booked after all, at the alternative ``slot`` the customer took."""
        await self.conn.execute(
            sa.update(requests)
            .where(requests.c.inquiry_id == inquiry_id)
            .values(outcome=domain.CONFIRMED, accepted=_slot_json(slot), accepted_at=at)
        )


def _is_overlap(exc: IntegrityError) -> bool:
    orig = getattr(exc.orig, "__cause__", None) or exc.orig
    return getattr(orig, "sqlstate", None) == "23P01" or NO_OVERLAP in str(exc)


def _range(interval: tuple[datetime, datetime]) -> Range[datetime]:
    return Range(interval[0], interval[1], lower_inc=True, upper_inc=False)


def _row(b: domain.Booking) -> dict[str, Any]:
    return {
        "booking_id": b.booking_id,
        "inquiry_id": b.inquiry_id,
        "occurrence": b.occurrence,
        "series_id": b.series_id,
        "room_id": b.room_id,
        "customer_id": b.customer_id,
        "name": b.name,
        "start_at": b.start,
        "end_at": b.end,
        "blocked": _range(b.blocked),
        "attendees": b.attendees,
        "equipment": list(b.equipment),
        "details": dict(b.details),
        "status": b.status,
        "correlation_id": b.correlation_id,
        "reply_to": _route_json(b.reply_to),
    }


def _booking(row: Any) -> domain.Booking:
    return domain.Booking(
        booking_id=row.booking_id,
        inquiry_id=row.inquiry_id,
        room_id=row.room_id,
        customer_id=row.customer_id,
        name=row.name,
        start=row.start_at,
        end=row.end_at,
        blocked=(row.blocked.lower, row.blocked.upper),
        attendees=row.attendees,
        equipment=tuple(row.equipment or ()),
        correlation_id=row.correlation_id,
        occurrence=row.occurrence,
        series_id=row.series_id,
        details=row.details or {},
        status=row.status,
        reply_to=_route(row.reply_to),
    )


def _room(row: Any) -> domain.Room:
    return domain.Room(
        room_id=row.room_id,
        name=row.name,
        capacity=row.capacity,
        equipment=frozenset(row.equipment or ()),
        location=row.location,
        active=row.active,
        setup=_duration(row.setup_buffer_minutes),
        cleanup=_duration(row.cleanup_buffer_minutes),
        opens_at=row.opens_at,
        closes_at=row.closes_at,
    )


def _outcome(row: Any) -> domain.RequestOutcome:
    return domain.RequestOutcome(
        inquiry_id=row.inquiry_id,
        customer_id=row.customer_id,
        outcome=row.outcome,
        request=row.request,
        reason_code=row.reason_code,
        reason=row.reason,
        reply_to=_route(row.reply_to),
        alternatives=tuple(_slot(a) for a in row.alternatives or ()),
        accepted=_slot(row.accepted) if row.accepted else None,
    )


def _route_json(route: ReplyRoute | None) -> dict[str, Any] | None:
    return route.model_dump(mode="json") if route is not None else None


def _route(raw: Any) -> ReplyRoute | None:
    return ReplyRoute.model_validate(raw) if raw else None


def _slot_json(slot: domain.Slot) -> dict[str, str]:
    return {"room_id": slot.room_id, "start": slot.start.isoformat(), "end": slot.end.isoformat()}


def _slot(raw: Any) -> domain.Slot:
    return domain.Slot(raw["room_id"], datetime.fromisoformat(raw["start"]), datetime.fromisoformat(raw["end"]))


def _minutes(t: timedelta | None) -> int | None:
    return None if t is None else int(t.total_seconds() // 60)


def _duration(minutes: int | None) -> timedelta | None:
    return None if minutes is None else timedelta(minutes=minutes)
