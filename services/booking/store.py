"""Booking's SQL: :class:`BookingStore`, SQLAlchemy Core over its own tables — and plain SQL on the
asyncpg connection inside the same transaction (``shared.db.driver_connection``) on the path every
booking request takes (rooms, the bookings around the request, the insert, the outcome, the
preparation), where SQLAlchemy's per-statement and per-row cost (its range type above all) showed.

The store reads and writes what the rules decide; it decides nothing, with one exception that is the
point of the design: the exclusion constraint ``bookings_no_overlap`` is the arbiter of conflicts,
so :meth:`BookingStore.try_insert_bookings` and :meth:`BookingStore.try_move_bookings` report a
taken room (False) instead of checking beforehand — any number of replicas stays safe.
:meth:`BookingStore.try_move_bookings` moves a whole series that way, all of it or nothing.
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import sqlalchemy as sa
from asyncpg.types import Range
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.contract.events import ReplyRoute
from shared.db import driver_connection

from . import domain
from .models import NO_OVERLAP, bookings, preparations, requests, rooms

Busy = dict[str, list[tuple[datetime, datetime]]]

# the bookings that hold their room (the exclusion constraint's predicate, spelt out so that the
# planner can use the constraint's index)
HOLDING = "status NOT IN ('cancelled', 'released')"


@dataclass(frozen=True)
class BookingFilter:
    """What GET /bookings asks for; None: any."""

    customer_id: str | None = None
    status: str | None = None
    room_id: str | None = None
    start: datetime | None = None  # bookings that end after this …
    end: datetime | None = None  # … and start before this


@dataclass(frozen=True)
class RequestFilter:
    """What GET /requests asks for; None: any."""

    customer_id: str | None = None
    outcome: str | None = None
    waitlist: Sequence[str] | None = None


class BookingStore:
    def __init__(self, conn: AsyncConnection):
        self.conn = conn
        self._driver: asyncpg.Connection | None = None
        self._locked_rooms: set[str] = set()  # held until the transaction ends (lock_rooms)

    async def _pg(self) -> asyncpg.Connection:
        """The asyncpg connection inside this store's transaction (plain SQL on the hot path)."""
        if self._driver is None:
            self._driver = await driver_connection(self.conn)
        return self._driver

    # -- rooms ----------------------------------------------------------------------------------
    async def rooms(self) -> dict[str, domain.Room]:
        pg = await self._pg()
        rows = await pg.fetch(
            """SELECT room_id, name, location, capacity, equipment, active, setup_buffer_minutes,
                      cleanup_buffer_minutes, opens_at, closes_at FROM rooms"""
        )
        return {r["room_id"]: _room(r) for r in rows}

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
    async def busy_intervals(
        self,
        start: datetime,
        end: datetime,
        exclude: Sequence[uuid.UUID] = (),
        *,
        room_ids: Iterable[str] | None = None,
    ) -> Busy:
        """Each room's blocked intervals that touch [start, end) (cancelled and released bookings
        free the room; ``exclude``: bookings not to count, e.g. those about to move; ``room_ids``:
        only these rooms)."""
        pg = await self._pg()
        sql = f"""SELECT room_id, lower(blocked) AS s, upper(blocked) AS e FROM bookings
                  WHERE {HOLDING} AND blocked && tstzrange($1, $2, '[)')
                    AND ($3::text[] IS NULL OR room_id = ANY($3))
                    AND ($4::uuid[] IS NULL OR booking_id <> ALL($4))"""
        rows = await pg.fetch(
            sql, start, end, list(room_ids) if room_ids is not None else None, list(exclude) if exclude else None
        )
        return _busy(rows)

    async def busy_around(self, spans: Sequence[tuple[datetime, datetime]], room_ids: Iterable[str]) -> Busy:
        """The blocked intervals of ``room_ids`` that touch any of ``spans`` (a request's occurrences
        with the widest buffers around them): all that choosing a room for it needs."""
        pg = await self._pg()
        if len(spans) == 1:
            return await self.busy_intervals(*spans[0], room_ids=room_ids)
        rows = await pg.fetch(
            f"""SELECT DISTINCT b.room_id, lower(b.blocked) AS s, upper(b.blocked) AS e
                FROM unnest($1::timestamptz[], $2::timestamptz[]) AS o(s, e)
                JOIN bookings b ON b.blocked && tstzrange(o.s, o.e, '[)')
                WHERE b.{HOLDING} AND b.room_id = ANY($3)""",
            [s for s, _ in spans],
            [e for _, e in spans],
            list(room_ids),
        )
        return _busy(rows)

    async def try_insert_bookings(self, new: Sequence[domain.Booking]) -> bool:
        """Insert all of them (occurrences of one request, or a hold: alike but for their times), or
        none and False when the room is taken at one of their times."""
        if not new:
            return True
        await self.lock_rooms(b.room_id for b in new)
        inserted = await self.insert_bookings(new)
        if len(inserted) == len(new):
            return True
        await self.delete_bookings(inserted)  # some occurrence's room is taken: none of them is booked
        return False

    async def lock_rooms(self, room_ids: Iterable[str]) -> None:
        """Hold these rooms until the transaction ends, in the one global order (by id), before
        reading their bookings and adding to them: whoever books a room (a batch of requests, a
        command, a waitlist hold) takes its lock first, so they wait for one another in turn and never
        deadlock — and what they read of a locked room stays true until they commit. (``FOR NO KEY
        UPDATE``: the bookings' foreign key to the room is not blocked; a rooms.upsert waits.)"""
        ids = sorted(set(room_ids) - self._locked_rooms)
        if not ids:
            return
        pg = await self._pg()
        await pg.execute("SELECT 1 FROM rooms WHERE room_id = ANY($1::text[]) ORDER BY room_id FOR NO KEY UPDATE", ids)
        self._locked_rooms.update(ids)

    async def insert_bookings(self, new: Sequence[domain.Booking]) -> set[uuid.UUID]:
        """Insert the bookings of many requests in one statement; the ids of those inserted — a
        booking missing from the answer found its room taken (the exclusion constraint), and
        nothing else of it was written."""
        if not new:
            return set()
        pg = await self._pg()
        rows = await pg.fetch(
            """INSERT INTO bookings (booking_id, occurrence, start_at, end_at, blocked, inquiry_id, series_id,
                                     room_id, customer_id, name, attendees, equipment, details, status,
                                     correlation_id, reply_to, agent_id)
               SELECT o.id, o.occurrence, o.s, o.e, tstzrange(o.bs, o.be, '[)'), o.inquiry_id, o.series_id,
                      o.room_id, o.customer_id, o.name, o.attendees,
                      coalesce(string_to_array(o.equipment, E'\\x1f'), '{}'), o.details, o.status,
                      o.correlation_id, o.reply_to, o.agent_id
               FROM unnest($1::uuid[], $2::int[], $3::timestamptz[], $4::timestamptz[], $5::timestamptz[],
                           $6::timestamptz[], $7::text[], $8::uuid[], $9::text[], $10::text[], $11::text[],
                           $12::int[], $13::text[], $14::jsonb[], $15::text[], $16::text[], $17::jsonb[],
                           $18::text[])
                    AS o(id, occurrence, s, e, bs, be, inquiry_id, series_id, room_id, customer_id, name,
                         attendees, equipment, details, status, correlation_id, reply_to, agent_id)
               ON CONFLICT ON CONSTRAINT bookings_no_overlap DO NOTHING
               RETURNING booking_id""",
            [b.booking_id for b in new],
            [b.occurrence for b in new],
            [b.start for b in new],
            [b.end for b in new],
            [b.blocked[0] for b in new],
            [b.blocked[1] for b in new],
            [b.inquiry_id for b in new],
            [b.series_id for b in new],
            [b.room_id for b in new],
            [b.customer_id for b in new],
            [b.name for b in new],
            [b.attendees for b in new],
            ["\x1f".join(b.equipment) if b.equipment else None for b in new],
            _json_column(dict(b.details) for b in new),
            [b.status for b in new],
            [b.correlation_id for b in new],
            [_json(_route_json(b.reply_to)) for b in new],
            [b.agent_id for b in new],
        )
        return {r[0] for r in rows}

    async def delete_bookings(self, booking_ids: Iterable[uuid.UUID]) -> None:
        """Take back bookings inserted in this transaction (their batch is decided again)."""
        ids = list(booking_ids)
        if ids:
            pg = await self._pg()
            await pg.execute("DELETE FROM bookings WHERE booking_id = ANY($1::uuid[])", ids)

    async def try_move_bookings(self, moved: Sequence[domain.Booking]) -> bool:
        """Save the new room and time of each booking, all or none: False (nothing changed) when a
        room is taken at one of their new times. Several are first given an empty blocked interval,
        so that occurrences moving past one another never clash with where the others were."""
        if not moved:
            return True
        old = await self._pg()
        before = await old.fetch(
            "SELECT DISTINCT room_id FROM bookings WHERE booking_id = ANY($1::uuid[])", [b.booking_id for b in moved]
        )
        await self.lock_rooms({r[0] for r in before} | {b.room_id for b in moved})  # where they are and go
        move = (
            sa.update(bookings)
            .where(bookings.c.booking_id == sa.bindparam("b_id"))
            .values(
                room_id=sa.bindparam("b_room"),
                start_at=sa.bindparam("b_start"),
                end_at=sa.bindparam("b_end"),
                blocked=sa.bindparam("b_blocked", type_=bookings.c.blocked.type),
                attendance_confirmed_at=sa.bindparam("b_attended"),
                checked_in_at=sa.bindparam("b_checked_in"),
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
                "b_attended": b.attendance_confirmed_at,
                "b_checked_in": b.checked_in_at,
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

    async def save_state(self, booking: domain.Booking) -> None:
        """Save where the booking stands on its day: status, attendance, check-in, release, completion."""
        await self.conn.execute(
            sa.update(bookings)
            .where(bookings.c.booking_id == booking.booking_id)
            .values(
                status=booking.status,
                attendance_confirmed_at=booking.attendance_confirmed_at,
                checked_in_at=booking.checked_in_at,
                released_at=booking.released_at,
                completed_at=booking.completed_at,
                updated_at=sa.func.now(),
            )
        )

    async def drop_hold(self, booking_id: uuid.UUID) -> None:
        """Give back a slot held for a waiter (the hold was never a booking: it goes)."""
        await self.conn.execute(
            sa.delete(bookings).where(bookings.c.booking_id == booking_id, bookings.c.status == domain.HELD)
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
        return await self.find_bookings(BookingFilter(room_id=room_id, start=start, end=end), limit=limit)

    async def find_bookings(
        self, f: BookingFilter, *, limit: int = 100, after: tuple[datetime, uuid.UUID] | None = None
    ) -> list[domain.Booking]:
        """Bookings matching ``f``, by start time (then id), from just ``after`` the given one."""
        c = bookings.c
        stmt = sa.select(bookings).order_by(c.start_at, c.booking_id).limit(limit)
        if f.customer_id:
            stmt = stmt.where(c.customer_id == f.customer_id)
        if f.status:
            stmt = stmt.where(c.status == f.status)
        if f.room_id:
            stmt = stmt.where(c.room_id == f.room_id)
        if f.end is not None:
            stmt = stmt.where(c.start_at < f.end)
        if f.start is not None:
            stmt = stmt.where(c.end_at > f.start)
        if after is not None:
            stmt = stmt.where(
                sa.tuple_(c.start_at, c.booking_id) > sa.tuple_(sa.literal(after[0]), sa.literal(after[1]))
            )
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
        pg = await self._pg()
        return await pg.fetchval("SELECT 1 FROM booking_requests WHERE inquiry_id = $1", inquiry_id) is not None

    async def claim_messages(self, keys: Sequence[str]) -> set[str]:
        """Claim many message ids in the inbox in one statement (in key order: concurrent claims wait
        for one another, never deadlock); those claimed now — the others were processed before."""
        if not keys:
            return set()
        pg = await self._pg()
        rows = await pg.fetch(
            """INSERT INTO inbox (message_id) SELECT k FROM unnest($1::text[]) AS k ORDER BY k
               ON CONFLICT (message_id) DO NOTHING RETURNING message_id""",
            sorted(set(keys)),
        )
        return {r[0] for r in rows}

    async def requests_decided(self, inquiry_ids: Sequence[str]) -> set[str]:
        """Which of these inquiries have their answer already."""
        if not inquiry_ids:
            return set()
        pg = await self._pg()
        rows = await pg.fetch(
            "SELECT inquiry_id FROM booking_requests WHERE inquiry_id = ANY($1::text[])", list(inquiry_ids)
        )
        return {r[0] for r in rows}

    async def record_requests(self, outcomes: Sequence[domain.RequestOutcome]) -> None:
        """Record the outcomes of many requests in one statement (in inquiry order)."""
        if not outcomes:
            return
        ordered = sorted(outcomes, key=lambda o: o.inquiry_id)
        waits = [o.wait for o in ordered]
        pg = await self._pg()
        await pg.execute(
            """INSERT INTO booking_requests (inquiry_id, customer_id, outcome, reason_code, reason, request,
                                             reply_to, alternatives, correlation_id, waitlist, waitlisted_at,
                                             wait_room_id, wait_start, wait_end, agent_id)
               SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::jsonb[],
                                    $7::jsonb[], $8::jsonb[], $9::text[], $10::text[], $11::timestamptz[],
                                    $12::text[], $13::timestamptz[], $14::timestamptz[], $15::text[])
               ON CONFLICT DO NOTHING""",
            [o.inquiry_id for o in ordered],
            [o.customer_id for o in ordered],
            [o.outcome for o in ordered],
            [o.reason_code for o in ordered],
            [o.reason for o in ordered],
            _json_column(dict(o.request) for o in ordered),
            [_json(_route_json(o.reply_to)) for o in ordered],
            _json_column([slot_json(a) for a in o.alternatives] for o in ordered),
            [o.correlation_id for o in ordered],
            [o.waitlist for o in ordered],
            [w.since if w else None for w in waits],
            [w.room_id if w else None for w in waits],
            [w.start if w else None for w in waits],
            [w.end if w else None for w in waits],
            [o.agent_id for o in ordered],
        )

    async def record_request(self, outcome: domain.RequestOutcome) -> None:
        wait = outcome.wait
        pg = await self._pg()
        await pg.execute(
            """INSERT INTO booking_requests (inquiry_id, customer_id, outcome, reason_code, reason, request,
                                             reply_to, alternatives, correlation_id, waitlist, waitlisted_at,
                                             wait_room_id, wait_start, wait_end, agent_id)
               VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb, $8::jsonb, $9, $10, $11, $12, $13, $14, $15)
               ON CONFLICT DO NOTHING""",
            outcome.inquiry_id,
            outcome.customer_id,
            outcome.outcome,
            outcome.reason_code,
            outcome.reason,
            json.dumps(dict(outcome.request)),
            _json(_route_json(outcome.reply_to)),
            json.dumps([slot_json(a) for a in outcome.alternatives]),
            outcome.correlation_id,
            outcome.waitlist,
            wait.since if wait else None,
            wait.room_id if wait else None,
            wait.start if wait else None,
            wait.end if wait else None,
            outcome.agent_id,
        )

    async def save_request(self, record: domain.RequestOutcome, at: datetime) -> None:
        """Save what became of a request since: its outcome, the slot accepted, its place on the waitlist
        and the offer made to it."""
        accepted = record.accepted
        await self.conn.execute(
            sa.update(requests)
            .where(requests.c.inquiry_id == record.inquiry_id)
            .values(
                outcome=record.outcome,
                accepted=slot_json(accepted) if accepted else None,
                accepted_at=sa.func.coalesce(requests.c.accepted_at, at) if accepted else None,
                waitlist=record.waitlist,
                offer=offer_json(record.offer) if record.offer else None,
            )
        )

    async def waiters(
        self, start: datetime, end: datetime, room_ids: Sequence[str], now: datetime, limit: int = 100
    ) -> list[domain.RequestOutcome]:
        """Requests waiting for a slot within [start, end) — in one of ``room_ids``, or in any room —
        whose meeting has not ended, first come first served; held until the transaction ends (a
        waiter is offered one slot at a time, whoever frees it)."""
        stmt = (
            sa.select(requests)
            .where(
                requests.c.waitlist == domain.WAITING,
                requests.c.wait_start < end,
                requests.c.wait_end > start,
                requests.c.wait_end > now,
                sa.or_(requests.c.wait_room_id.is_(None), requests.c.wait_room_id.in_(list(room_ids))),
            )
            .order_by(requests.c.waitlisted_at, requests.c.inquiry_id)
            .limit(limit)
            .with_for_update()
        )
        return [_outcome(r) for r in (await self.conn.execute(stmt)).all()]

    async def find_requests(
        self, f: RequestFilter, *, limit: int = 100, after: tuple[datetime, str] | None = None
    ) -> list[domain.RequestOutcome]:
        """Requests matching ``f``, the latest decided first (then by inquiry id), from just ``after``."""
        c = requests.c
        stmt = sa.select(requests).order_by(c.decided_at.desc(), c.inquiry_id.desc()).limit(limit)
        if f.customer_id:
            stmt = stmt.where(c.customer_id == f.customer_id)
        if f.outcome:
            stmt = stmt.where(c.outcome == f.outcome)
        if f.waitlist:
            stmt = stmt.where(c.waitlist.in_(list(f.waitlist)))
        if after is not None:
            stmt = stmt.where(
                sa.tuple_(c.decided_at, c.inquiry_id) < sa.tuple_(sa.literal(after[0]), sa.literal(after[1]))
            )
        return [_outcome(r) for r in (await self.conn.execute(stmt)).all()]

    async def waitlist(
        self, now: datetime, room_id: str | None = None, limit: int = 500
    ) -> list[domain.RequestOutcome]:
        """The waitlist in its order: requests waiting or holding an offer, whose meeting has not ended."""
        c = requests.c
        stmt = (
            sa.select(requests)
            .where(c.waitlist.in_([domain.WAITING, domain.OFFERED]), c.wait_end > now)
            .order_by(c.waitlisted_at, c.inquiry_id)
            .limit(limit)
        )
        if room_id:
            stmt = stmt.where(sa.or_(c.wait_room_id.is_(None), c.wait_room_id == room_id))
        return [_outcome(r) for r in (await self.conn.execute(stmt)).all()]

    async def request(self, inquiry_id: str, *, lock: bool = False) -> domain.RequestOutcome | None:
        """What became of the request (``lock``: held for update until the transaction ends), or None."""
        stmt = sa.select(requests).where(requests.c.inquiry_id == inquiry_id)
        if lock:
            stmt = stmt.with_for_update()
        row = (await self.conn.execute(stmt)).first()
        return _outcome(row) if row else None

    async def record_acceptance(self, inquiry_id: str, slot: domain.Slot, at: datetime) -> None:
        """The rejected request is booked after all, at the alternative ``slot`` the customer took (it
        waits no more)."""
        waiting = requests.c.waitlist.in_([domain.WAITING, domain.OFFERED])
        await self.conn.execute(
            sa.update(requests)
            .where(requests.c.inquiry_id == inquiry_id)
            .values(
                outcome=domain.CONFIRMED,
                accepted=slot_json(slot),
                accepted_at=at,
                waitlist=sa.case((waiting, domain.LEFT), else_=requests.c.waitlist),
            )
        )

    # -- preparation ----------------------------------------------------------------------------
    async def add_tasks(self, tasks: Sequence[domain.Task], *, replace: bool = False) -> None:
        """Record what the departments are asked to prepare (``replace``: asked anew — the tasks of
        those bookings so far, done or not, give way to these)."""
        pg = await self._pg()
        if replace:
            ids = sorted({t.booking_id for t in tasks})
            await pg.execute("DELETE FROM booking_preparations WHERE booking_id = ANY($1::uuid[])", ids)
        if not tasks:
            return
        await pg.execute(
            """INSERT INTO booking_preparations (booking_id, department, task, due_by, details, requested_at)
               SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::timestamptz[], $5::jsonb[],
                                    $6::timestamptz[])""",
            [t.booking_id for t in tasks],
            [t.department for t in tasks],
            [t.task for t in tasks],
            [t.due_by for t in tasks],
            [json.dumps(dict(t.details)) for t in tasks],
            [t.requested_at for t in tasks],
        )

    async def drop_tasks(self, booking_id: uuid.UUID) -> None:
        await self.conn.execute(sa.delete(preparations).where(preparations.c.booking_id == booking_id))

    async def tasks(self, booking_id: uuid.UUID, *, lock: bool = False) -> list[domain.Task]:
        """What the departments were asked to prepare for the booking, in department order."""
        stmt = sa.select(preparations).where(preparations.c.booking_id == booking_id)
        if lock:
            stmt = stmt.with_for_update()
        rows = (await self.conn.execute(stmt)).all()
        return sorted((_task(r) for r in rows), key=lambda t: domain.DEPARTMENTS.index(t.department))

    async def save_task(self, task: domain.Task) -> None:
        await self.conn.execute(
            sa.update(preparations)
            .where(preparations.c.booking_id == task.booking_id, preparations.c.department == task.department)
            .values(done_at=task.done_at, done_by=task.done_by, note=task.note, overdue_at=task.overdue_at)
        )


def _is_overlap(exc: IntegrityError) -> bool:
    orig = getattr(exc.orig, "__cause__", None) or exc.orig
    return getattr(orig, "sqlstate", None) == "23P01" or NO_OVERLAP in str(exc)


def _busy(rows: Iterable[Any]) -> Busy:
    out: Busy = defaultdict(list)
    for room_id, start, end in rows:
        out[room_id].append((start, end))
    return out


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value)


def _json_column(values: Iterable[Any]) -> list[str]:
    dumps = json.dumps
    return [dumps(v) for v in values]


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
        "agent_id": b.agent_id,
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
        attendance_confirmed_at=row.attendance_confirmed_at,
        checked_in_at=row.checked_in_at,
        released_at=row.released_at,
        completed_at=row.completed_at,
        agent_id=row.agent_id,
    )


def _room(row: Any) -> domain.Room:
    return domain.Room(
        room_id=row["room_id"],
        name=row["name"],
        capacity=row["capacity"],
        equipment=frozenset(row["equipment"] or ()),
        location=row["location"],
        active=row["active"],
        setup=_duration(row["setup_buffer_minutes"]),
        cleanup=_duration(row["cleanup_buffer_minutes"]),
        opens_at=row["opens_at"],
        closes_at=row["closes_at"],
    )


def _task(row: Any) -> domain.Task:
    return domain.Task(
        booking_id=row.booking_id,
        department=row.department,
        task=row.task,
        due_by=row.due_by,
        details=row.details or {},
        requested_at=row.requested_at,
        done_at=row.done_at,
        done_by=row.done_by,
        note=row.note,
        overdue_at=row.overdue_at,
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
        waitlist=row.waitlist,
        wait=domain.Wait(row.wait_room_id, row.wait_start, row.wait_end, row.waitlisted_at)
        if row.wait_start is not None
        else None,
        offer=_offer(row.offer) if row.offer else None,
        correlation_id=row.correlation_id,
        decided_at=row.decided_at,
        agent_id=row.agent_id,
    )


def _route_json(route: ReplyRoute | None) -> dict[str, Any] | None:
    return route.model_dump(mode="json") if route is not None else None


def _route(raw: Any) -> ReplyRoute | None:
    return ReplyRoute.model_validate(raw) if raw else None


def slot_json(slot: domain.Slot) -> dict[str, str]:
    """A slot as JSON (stored, and answered over HTTP)."""
    return {"room_id": slot.room_id, "start": slot.start.isoformat(), "end": slot.end.isoformat()}


def _slot(raw: Any) -> domain.Slot:
    return domain.Slot(raw["room_id"], datetime.fromisoformat(raw["start"]), datetime.fromisoformat(raw["end"]))


def offer_json(offer: domain.Offer) -> dict[str, str]:
    """A waitlist offer as JSON (stored, and answered over HTTP)."""
    return {
        "booking_id": str(offer.booking_id),
        "room_id": offer.room_id,
        "start": offer.start.isoformat(),
        "end": offer.end.isoformat(),
        "accept_by": offer.accept_by.isoformat(),
        "offered_at": offer.offered_at.isoformat(),
    }


def _offer(raw: Any) -> domain.Offer:
    return domain.Offer(
        uuid.UUID(raw["booking_id"]),
        raw["room_id"],
        datetime.fromisoformat(raw["start"]),
        datetime.fromisoformat(raw["end"]),
        datetime.fromisoformat(raw["accept_by"]),
        datetime.fromisoformat(raw["offered_at"]),
    )


def _minutes(t: timedelta | None) -> int | None:
    return None if t is None else int(t.total_seconds() // 60)


def _duration(minutes: int | None) -> timedelta | None:
    return None if minutes is None else timedelta(minutes=minutes)
