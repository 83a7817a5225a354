"""The booking service: rooms, bookings, conflicts, alternatives and the day-before reminder.

Consumes ``booking.requested`` events and ``booking.*`` / ``rooms.*`` commands; emits
``booking.confirmed`` / ``booking.rejected`` / ``booking.cancelled`` / ``booking.rescheduled`` /
``booking.updated`` / ``booking.reminder_due`` / ``room.updated``, and ``notification.requested`` to the
customer's reply route (confirmation, rejection with alternatives, reminder). HTTP on port 8002:
rooms, availability, bookings.

Wiring only: the rules are in :mod:`.domain`, the handlers in :mod:`.handlers`, the SQL in
:mod:`.store`.
"""

from __future__ import annotations

import uuid
from datetime import datetime, time, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from shared.contract.commands import (
    BookingAcceptAlternative,
    BookingCancel,
    BookingChange,
    BookingReschedule,
    RoomsUpsert,
)
from shared.contract.events import (
    BookingCancelled,
    BookingConfirmed,
    BookingRejected,
    BookingReminderDue,
    BookingRequested,
    BookingRescheduled,
    BookingUpdated,
    CommandRejected,
    MessageRejected,
    NotificationRequested,
    RoomUpdated,
)
from shared.http import error
from shared.service import Service
from shared.topology import BOOKING_COMMANDS, BOOKING_EVENTS

from . import domain, handlers
from .settings import BookingSettings
from .store import BookingStore


def make_policy(s: BookingSettings) -> domain.Policy:
    return domain.Policy(
        setup=timedelta(minutes=s.setup_buffer_minutes),
        cleanup=timedelta(minutes=s.cleanup_buffer_minutes),
        tz=s.tz,
        opening=time(s.opening_hour),
        closing=time(0) if s.closing_hour == 24 else time(s.closing_hour),
        reminder_lead=timedelta(hours=s.reminder_hours_before),
        search_days=s.alternatives_days,
        max_alternatives=s.max_alternatives,
    )


settings = BookingSettings()
svc: Service[BookingStore, domain.Policy] = Service(
    "booking",
    description="Rooms and bookings: capacity, equipment, conflicts, alternatives, reminders.",
    settings=settings,
    store=BookingStore,
    policy=make_policy(settings),
)
svc.produces(
    BookingConfirmed,
    BookingRejected,
    BookingCancelled,
    BookingRescheduled,
    BookingUpdated,
    BookingReminderDue,
    NotificationRequested,
    RoomUpdated,
    CommandRejected,
    MessageRejected,
)
svc.on_events(BOOKING_EVENTS, {BookingRequested: handlers.booking_requested})
svc.on_commands(
    BOOKING_COMMANDS,
    {
        RoomsUpsert: handlers.rooms_upsert,
        BookingCancel: handlers.booking_cancel,
        BookingReschedule: handlers.booking_reschedule,
        BookingChange: handlers.booking_change,
        BookingAcceptAlternative: handlers.booking_accept_alternative,
    },
)
svc.on_due({domain.REMINDER: handlers.reminder_due})
app = svc.app


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


def _booking_json(b: domain.Booking) -> dict[str, Any]:
    return {
        "booking_id": str(b.booking_id),
        "inquiry_id": b.inquiry_id,
        "series_id": str(b.series_id) if b.series_id else None,
        "room_id": b.room_id,
        "customer_id": b.customer_id,
        "name": b.name,
        "start": b.start.isoformat(),
        "end": b.end.isoformat(),
        "attendees": b.attendees,
        "equipment": list(b.equipment),
        "status": b.status,
        "details": b.details,
        "reply_to": b.reply_to.model_dump(mode="json") if b.reply_to else None,
    }


def _rules(room: domain.Room) -> dict[str, Any]:
    """The room's own buffers and hours (null: the venue's), and the rules that apply to it."""
    setup, cleanup = svc.policy.buffers(room)
    opens, closes = domain.hours_text(room, svc.policy)
    own = domain.room_updated(room)
    return {
        "setup_buffer_minutes": own.setup_buffer_minutes,
        "cleanup_buffer_minutes": own.cleanup_buffer_minutes,
        "opens_at": own.opens_at.isoformat() if own.opens_at else None,
        "closes_at": own.closes_at.isoformat() if own.closes_at else None,
        "applies": {
            "setup_buffer_minutes": int(setup.total_seconds() // 60),
            "cleanup_buffer_minutes": int(cleanup.total_seconds() // 60),
            "opens_at": opens,
            "closes_at": closes,
        },
    }


async def list_rooms(request: Request) -> JSONResponse:
    async with svc.sessions() as conn:
        rooms = await BookingStore(conn).rooms()
    return JSONResponse(
        [
            {
                "room_id": r.room_id,
                "name": r.name,
                "location": r.location,
                "capacity": r.capacity,
                "equipment": sorted(r.equipment),
                "active": r.active,
                **_rules(r),
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
    req = domain.Request(start, end, attendees, equipment, request.query_params.get("room_id"))
    async with svc.sessions() as conn:
        store = BookingStore(conn)
        rooms = await store.rooms()
        busy = await store.busy_intervals(*svc.policy.search_window(req))
    found = domain.availability(req, rooms, busy, svc.policy, svc.clock.now())
    return JSONResponse(
        {
            "start": start.isoformat(),
            "end": end.isoformat(),
            "free_rooms": found.free_rooms,
            "alternatives": [
                {"room_id": a.room_id, "start": a.start.isoformat(), "end": a.end.isoformat()}
                for a in found.alternatives
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
    async with svc.sessions() as conn:
        found = await BookingStore(conn).bookings_between(start, end, request.query_params.get("room_id"))
    return JSONResponse([_booking_json(b) for b in found])


async def get_booking(request: Request) -> JSONResponse:
    try:
        booking_id = uuid.UUID(request.path_params["booking_id"])
    except ValueError:
        return error(404, "no such booking")
    async with svc.sessions() as conn:
        booking = await BookingStore(conn).booking(booking_id)
    return JSONResponse(_booking_json(booking)) if booking else error(404, "no such booking")


svc.route("/rooms", list_rooms)
svc.route("/availability", availability)
svc.route("/bookings", list_bookings, protected=True)
svc.route("/bookings/{booking_id}", get_booking, protected=True)
