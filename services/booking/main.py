"""The booking service: rooms, bookings, conflicts and alternatives.

Consumes ``booking.requested`` events and ``booking.*`` / ``rooms.*`` commands; emits
``booking.confirmed`` / ``booking.rejected`` / ``booking.cancelled`` / ``booking.rescheduled`` /
``room.updated``. HTTP on port 8002: rooms, availability, bookings.
"""

from __future__ import annotations

import uuid
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from starlette.requests import Request
from starlette.responses import JSONResponse

from shared.contract.commands import BookingCancel, BookingReschedule, RoomsUpsert
from shared.contract.events import (
    BookingCancelled,
    BookingConfirmed,
    BookingRejected,
    BookingRequested,
    BookingRescheduled,
    CommandRejected,
    MessageRejected,
    RoomUpdated,
    Slot,
)
from shared.http import error
from shared.messages import CommandIn, EventIn
from shared.service import Service
from shared.topology import BOOKING_COMMANDS, BOOKING_EVENTS

from . import domain, store
from .settings import BookingSettings


def make_policy(s: BookingSettings) -> domain.Policy:
    return domain.Policy(
        setup=timedelta(minutes=s.setup_buffer_minutes),
        cleanup=timedelta(minutes=s.cleanup_buffer_minutes),
        tz=s.tz,
        opening=time(s.opening_hour),
        closing=time(0) if s.closing_hour == 24 else time(s.closing_hour),
    )


settings = BookingSettings()
svc = Service(
    "booking",
    description="Rooms and bookings: capacity, equipment, conflicts, alternatives.",
    settings=settings,
    store=lambda session: session,
    policy=make_policy(settings),
)
svc.produces(
    BookingConfirmed,
    BookingRejected,
    BookingCancelled,
    BookingRescheduled,
    RoomUpdated,
    CommandRejected,
    MessageRejected,
)
app = svc.app


def to_request(m: Any) -> domain.Request:
    rec = m.recurrence
    return domain.Request(
        start=m.start,
        end=m.end,
        attendees=m.attendees,
        equipment=frozenset(m.equipment),
        room_id=m.room_id,
        recurrence_freq=rec.freq if rec else None,
        recurrence_count=rec.count if rec else None,
        recurrence_until=rec.until if rec else None,
    )


async def on_booking_requested(tx: Any, msg: EventIn[BookingRequested], now: datetime, pol: domain.Policy) -> None:
    """booking.requested → booking.confirmed, or booking.rejected with alternatives."""
    env, data = msg.envelope, msg.data
    if await store.request_decided(tx.session, data.inquiry_id):
        return  # the same inquiry asked twice: it already has its answer
    req = to_request(data.meeting)
    rooms = await store.load_rooms(tx.session)
    result = domain.plan(req, rooms, now)
    request_json = data.meeting.model_dump(mode="json")

    if isinstance(result, domain.Plan):
        series_id = uuid.uuid4() if len(result.occurrences) > 1 else None
        for room in result.candidates:
            rows = [
                {
                    "booking_id": uuid.uuid4(),
                    "inquiry_id": data.inquiry_id,
                    "occurrence": i,
                    "series_id": series_id,
                    "room_id": room.room_id,
                    "customer_id": data.customer_id,
                    "name": data.meeting.name,
                    "start_at": start,
                    "end_at": end,
                    "attendees": req.attendees,
                    "equipment": sorted(req.equipment),
                    "details": request_json,
                    "correlation_id": str(env.correlation_id),
                }
                for i, (start, end) in enumerate(result.occurrences)
            ]
            try:
                async with tx.session.begin_nested():
                    await store.insert_bookings(tx.session, rows, pol)
            except IntegrityError as exc:
                if store.is_overlap(exc):
                    continue  # taken: try the next suitable room
                raise
            await store.record_request(
                tx.session,
                inquiry_id=data.inquiry_id,
                customer_id=data.customer_id,
                outcome="confirmed",
                request=request_json,
            )
            for row in rows:
                tx.emit(
                    BookingConfirmed(
                        booking_id=str(row["booking_id"]),
                        inquiry_id=data.inquiry_id,
                        room_id=room.room_id,
                        start=row["start_at"],
                        end=row["end_at"],
                        attendees=req.attendees,
                        customer_id=data.customer_id,
                        name=data.meeting.name,
                        equipment=sorted(req.equipment),
                        series_id=str(series_id) if series_id else None,
                    ),
                    correlation_id=env.correlation_id,
                    causation_id=env.event_id,
                )
            return
        if req.room_id:
            rejection = domain.Rejection("room_unavailable", f"room {req.room_id} is taken at that time")
        else:
            rejection = domain.Rejection("room_unavailable", "no suitable room is free at that time")
    else:
        rejection = result

    alternatives: list[domain.Slot] = []
    if rejection.code != "invalid":
        window_start = req.start - timedelta(days=1)
        window_end = req.end + timedelta(days=pol.search_days + 2)
        busy = await store.busy_intervals(tx.session, window_start, window_end)
        alternatives = domain.alternatives(req, rooms, busy, pol, now)
    await store.record_request(
        tx.session,
        inquiry_id=data.inquiry_id,
        customer_id=data.customer_id,
        outcome="rejected",
        reason_code=rejection.code,
        reason=rejection.reason,
        request=request_json,
    )
    tx.emit(
        BookingRejected(
            inquiry_id=data.inquiry_id,
            customer_id=data.customer_id,
            reason=rejection.reason,
            reason_code=rejection.code,  # type: ignore[arg-type]
            alternatives=[Slot(room_id=a.room_id, start=a.start, end=a.end) for a in alternatives],
        ),
        correlation_id=env.correlation_id,
        causation_id=env.event_id,
    )


# -- commands -----------------------------------------------------------------------------------
async def rooms_upsert(tx: Any, msg: CommandIn[RoomsUpsert], now: datetime, pol: domain.Policy) -> str | None:
    """rooms.upsert → room.updated."""
    cmd = msg.command
    values = cmd.model_dump(include={"room_id", "name", "location", "capacity", "active"})
    values["equipment"] = sorted(set(cmd.equipment))
    await store.upsert_room(tx.session, values)
    tx.emit(RoomUpdated(**values), correlation_id=msg.correlation_id)
    return None


async def _booking(tx: Any, raw_id: str) -> tuple[uuid.UUID, Any] | str:
    try:
        booking_id = uuid.UUID(raw_id)
    except ValueError:
        return f"no booking {raw_id!r}"
    row = await store.get_booking(tx.session, booking_id, lock=True)
    if row is None:
        return f"no booking {raw_id!r}"
    if row.status == "cancelled":
        return "the booking is already cancelled"
    return booking_id, row


async def booking_cancel(tx: Any, msg: CommandIn[BookingCancel], now: datetime, pol: domain.Policy) -> str | None:
    """booking.cancel → booking.cancelled."""
    cmd = msg.command
    found = await _booking(tx, cmd.booking_id)
    if isinstance(found, str):
        return found
    booking_id, row = found
    await store.update_booking(tx.session, booking_id, pol, status="cancelled")
    tx.emit(
        BookingCancelled(
            booking_id=str(booking_id),
            customer_id=row.customer_id,
            room_id=row.room_id,
            start=row.start_at,
            end=row.end_at,
            actor=cmd.actor,
            reason=cmd.reason,
        ),
        correlation_id=msg.correlation_id,
    )
    return None


async def booking_reschedule(
    tx: Any, msg: CommandIn[BookingReschedule], now: datetime, pol: domain.Policy
) -> str | None:
    """booking.reschedule → booking.rescheduled."""
    cmd = msg.command
    found = await _booking(tx, cmd.booking_id)
    if isinstance(found, str):
        return found
    booking_id, row = found
    if cmd.start < now:
        return "the new time is in the past"
    room_id = cmd.room_id or row.room_id
    rooms = await store.load_rooms(tx.session)
    req = domain.Request(cmd.start, cmd.end, row.attendees, frozenset(row.equipment), room_id)
    problem = domain.unsuitability(rooms.get(room_id), req)
    if problem:
        return problem.reason
    try:
        async with tx.session.begin_nested():
            await store.update_booking(tx.session, booking_id, pol, room_id=room_id, start_at=cmd.start, end_at=cmd.end)
    except IntegrityError as exc:
        if store.is_overlap(exc):
            return f"room {room_id} is taken at that time"
        raise
    tx.emit(
        BookingRescheduled(
            booking_id=str(booking_id),
            customer_id=row.customer_id,
            room_id=room_id,
            previous=Slot(room_id=row.room_id, start=row.start_at, end=row.end_at),
            start=cmd.start,
            end=cmd.end,
            actor=cmd.actor,
        ),
        correlation_id=msg.correlation_id,
    )
    return None


svc.on_events(BOOKING_EVENTS, {BookingRequested: on_booking_requested})
svc.on_commands(
    BOOKING_COMMANDS, {RoomsUpsert: rooms_upsert, BookingCancel: booking_cancel, BookingReschedule: booking_reschedule}
)


# -- HTTP ---------------------------------------------------------------------------------------
def _when(request: Request, name: str, default: datetime | None = None) -> datetime:
    raw = request.query_params.get(name)
    if raw is None:
        if default is None:
            raise ValueError(f"query parameter {name!r} is required (RFC 3339 with offset)")
        return default
    value = datetime.fromisoformat(raw)
    if value.tzinfo is None:
        raise ValueError(f"{name!r} needs a UTC offset")
    return value


def _booking_json(row: Any) -> dict[str, Any]:
    return {
        "booking_id": str(row.booking_id),
        "inquiry_id": row.inquiry_id,
        "series_id": str(row.series_id) if row.series_id else None,
        "room_id": row.room_id,
        "customer_id": row.customer_id,
        "name": row.name,
        "start": row.start_at.isoformat(),
        "end": row.end_at.isoformat(),
        "attendees": row.attendees,
        "equipment": row.equipment,
        "status": row.status,
        "details": row.details,
    }


async def list_rooms(request: Request) -> JSONResponse:
    async with svc.sessions() as session:
        rooms = await store.load_rooms(session)
    return JSONResponse(
        [
            {
                "room_id": r.room_id,
                "name": r.name,
                "location": r.location,
                "capacity": r.capacity,
                "equipment": sorted(r.equipment),
                "active": r.active,
            }
            for r in sorted(rooms.values(), key=lambda r: r.room_id)
        ]
    )


async def availability(request: Request) -> JSONResponse:
    """Which suitable rooms are free for [start, end) and, if none, the nearest alternatives."""
    try:
        start, end = _when(request, "start"), _when(request, "end")
        attendees = int(request.query_params.get("attendees", "1"))
        equipment = frozenset(e for e in request.query_params.get("equipment", "").split(",") if e)
    except ValueError as exc:
        return error(400, str(exc))
    if end <= start:
        return error(400, "end must be after start")
    pol, now = svc.policy, svc.clock.now()
    req = domain.Request(start, end, attendees, equipment, request.query_params.get("room_id"))
    async with svc.sessions() as session:
        rooms = await store.load_rooms(session)
        busy = await store.busy_intervals(session, start - timedelta(days=1), end + timedelta(days=pol.search_days + 2))
    free = [
        r.room_id
        for r in domain.suitable_rooms(rooms.values(), req)
        if domain.is_free(busy.get(r.room_id, ()), start, end, pol)
    ]
    alts = [] if free else domain.alternatives(req, rooms, busy, pol, now)
    return JSONResponse(
        {
            "start": start.isoformat(),
            "end": end.isoformat(),
            "free_rooms": free,
            "alternatives": [
                {"room_id": a.room_id, "start": a.start.isoformat(), "end": a.end.isoformat()} for a in alts
            ],
        }
    )


async def list_bookings(request: Request) -> JSONResponse:
    now = svc.clock.now()
    try:
        start = _when(request, "from", now - timedelta(days=1))
        end = _when(request, "to", now + timedelta(days=30))
    except ValueError as exc:
        return error(400, str(exc))
    async with svc.sessions() as session:
        rows = await store.list_bookings(session, start, end, request.query_params.get("room_id"))
    return JSONResponse([_booking_json(r) for r in rows])


async def get_booking(request: Request) -> JSONResponse:
    try:
        booking_id = uuid.UUID(request.path_params["booking_id"])
    except ValueError:
        return error(404, "no such booking")
    async with svc.sessions() as session:
        row = await store.get_booking(session, booking_id)
    return JSONResponse(_booking_json(row)) if row else error(404, "no such booking")


svc.route("/rooms", list_rooms)
svc.route("/availability", availability)
svc.route("/bookings", list_bookings, protected=True)
svc.route("/bookings/{booking_id}", get_booking, protected=True)
