"""The booking service: rooms, bookings, conflicts, alternatives, and the customer's whole meeting
(preparation, the day-before reminder and confirmation, check-in and no-show release, the waitlist,
completion and the survey).

Consumes ``booking.requested`` events and ``booking.*`` / ``rooms.*`` commands (also over HTTP:
``POST /commands/{name}``); emits ``booking.confirmed`` / ``booking.rejected`` / ``booking.cancelled`` /
``booking.rescheduled`` / ``booking.updated`` / ``booking.reminder_due`` /
``booking.preparation_requested`` / ``booking.prepared`` / ``booking.preparation_overdue`` /
``booking.attendance_confirmed`` / ``booking.checked_in`` / ``booking.released`` /
``booking.waitlist_offered`` / ``booking.completed`` / ``room.updated``, and ``notification.requested`` to
the customer's reply route. HTTP on port 8002: rooms, a room's day, availability, bookings, requests,
the waitlist, commands.

Wiring only: the rules are in :mod:`.domain`, the handlers in :mod:`.handlers`, the SQL in
:mod:`.store`.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta
from typing import Any

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse

from shared.commands_http import serve_commands
from shared.contract.commands import (
    BookingAcceptAlternative,
    BookingCancel,
    BookingChange,
    BookingCheckIn,
    BookingConfirmAttendance,
    BookingPreparationDone,
    BookingReschedule,
    BookingWaitlistAccept,
    RoomsUpsert,
)
from shared.contract.events import (
    BookingAttendanceConfirmed,
    BookingCancelled,
    BookingCheckedIn,
    BookingCompleted,
    BookingConfirmed,
    BookingPreparationOverdue,
    BookingPreparationRequested,
    BookingPrepared,
    BookingRejected,
    BookingReleased,
    BookingReminderDue,
    BookingRequested,
    BookingRescheduled,
    BookingUpdated,
    BookingWaitlistOffered,
    CommandRejected,
    Envelope,
    MessageRejected,
    NotificationRequested,
    RoomUpdated,
)
from shared.http import error, next_cursor, page_cursor, page_limit
from shared.messages import EventIn
from shared.runtime import Incoming, Rejected, summarise
from shared.service import Service
from shared.topology import BOOKING_COMMANDS, BOOKING_EVENTS

from . import domain, handlers
from .settings import BookingSettings
from .store import BookingFilter, BookingStore, RequestFilter, offer_json, slot_json


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
        preparation_leads={k: timedelta(minutes=v) for k, v in s.preparation_lead_minutes.items()},
        no_show_after=timedelta(minutes=s.no_show_minutes) if s.no_show_minutes else None,
        check_in_opens=timedelta(minutes=s.check_in_opens_minutes),
        waitlist_accept=timedelta(minutes=s.waitlist_accept_minutes),
        waitlist_cutoff=timedelta(minutes=s.waitlist_cutoff_minutes),
    )


settings = BookingSettings()
svc: Service[BookingStore, domain.Policy] = Service(
    "booking",
    description="Rooms and bookings: capacity, equipment, conflicts, alternatives; the customer's whole "
    "meeting: preparation, reminder and confirmation, check-in and no-show release, waitlist, completion, survey.",
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
    BookingPreparationRequested,
    BookingPrepared,
    BookingPreparationOverdue,
    BookingAttendanceConfirmed,
    BookingCheckedIn,
    BookingReleased,
    BookingWaitlistOffered,
    BookingCompleted,
    NotificationRequested,
    RoomUpdated,
    CommandRejected,
    MessageRejected,
)
# booking.requested in batches: the deliveries in flight together are decided in one transaction
decide_in_batch = svc.batched(handlers.booking_requests)


@svc.consume(BOOKING_EVENTS)
async def on_booking_event(msg: Incoming) -> None:
    """booking.requested → booking.confirmed or booking.rejected (with alternatives), and the customer
    told; the requests delivered together are decided together, in delivery order (an event id once)."""
    env = msg.parse(Envelope)
    if env.type != BookingRequested.event_type:
        return
    try:
        data = BookingRequested.model_validate(env.data)
    except ValidationError as exc:
        raise Rejected(f"{env.type} data invalid: {summarise(exc)}") from None
    await decide_in_batch(EventIn(env, data))


svc.on_commands(
    BOOKING_COMMANDS,
    {
        RoomsUpsert: handlers.rooms_upsert,
        BookingCancel: handlers.booking_cancel,
        BookingReschedule: handlers.booking_reschedule,
        BookingChange: handlers.booking_change,
        BookingAcceptAlternative: handlers.booking_accept_alternative,
        BookingPreparationDone: handlers.booking_preparation_done,
        BookingConfirmAttendance: handlers.booking_confirm_attendance,
        BookingCheckIn: handlers.booking_check_in,
        BookingWaitlistAccept: handlers.booking_waitlist_accept,
    },
)
svc.on_due(
    {
        domain.REMINDER: handlers.reminder_due,
        domain.PREPARATION: handlers.preparation_due,
        domain.NO_SHOW: handlers.no_show_due,
        domain.COMPLETION: handlers.completion_due,
        domain.WAITLIST_OFFER: handlers.waitlist_offer_due,
    }
)
app = svc.app


# -- HTTP ---------------------------------------------------------------------------------------
MAX_PAGE = 500


def _when(request: Request, name: str, default: datetime | None = None) -> datetime | None:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    value = datetime.fromisoformat(raw)
    if value.tzinfo is None:
        raise ValueError(f"{name!r} needs a UTC offset")
    return value


def _required(request: Request, name: str) -> datetime:
    value = _when(request, name)
    if value is None:
        raise ValueError(f"query parameter {name!r} is required (RFC 3339 with offset)")
    return value


def _day(request: Request) -> date | None:
    raw = request.query_params.get("date")
    return date.fromisoformat(raw) if raw else None


def _venue(t: datetime) -> str:
    return t.astimezone(svc.policy.tz).isoformat()


def _iso(t: datetime | None) -> str | None:
    return t.isoformat() if t else None


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
        "agent_id": b.agent_id,  # the agent who booked on the customer's behalf (None: the customer did)
        "attendance_confirmed_at": _iso(b.attendance_confirmed_at),
        "checked_in_at": _iso(b.checked_in_at),
        "released_at": _iso(b.released_at),
        "completed_at": _iso(b.completed_at),
    }


def _task_json(t: domain.Task) -> dict[str, Any]:
    return {
        "department": t.department,
        "task": t.task,
        "due_by": t.due_by.isoformat(),
        "details": t.details,
        "requested_at": t.requested_at.isoformat(),
        "done_at": _iso(t.done_at),
        "done_by": t.done_by,
        "note": t.note,
        "overdue_at": _iso(t.overdue_at),
    }


def _request_json(r: domain.RequestOutcome) -> dict[str, Any]:
    wait, offer = r.wait, r.offer
    return {
        "inquiry_id": r.inquiry_id,
        "customer_id": r.customer_id,
        "outcome": r.outcome,
        "reason_code": r.reason_code,
        "reason": r.reason,
        "decided_at": _iso(r.decided_at),
        "meeting": r.request,
        "reply_to": r.reply_to.model_dump(mode="json") if r.reply_to else None,
        "alternatives": [slot_json(a) for a in r.alternatives],
        "accepted": slot_json(r.accepted) if r.accepted else None,
        "waitlist": r.waitlist,
        "waiting_for": {
            "room_id": wait.room_id,
            "start": wait.start.isoformat(),
            "end": wait.end.isoformat(),
            "since": _iso(wait.since),
        }
        if wait
        else None,
        "offer": offer_json(offer) if offer else None,
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


def _room_json(r: domain.Room) -> dict[str, Any]:
    return {
        "room_id": r.room_id,
        "name": r.name,
        "location": r.location,
        "capacity": r.capacity,
        "equipment": sorted(r.equipment),
        "active": r.active,
        **_rules(r),
    }


async def list_rooms(request: Request) -> JSONResponse:
    async with svc.sessions() as conn, conn.begin():
        rooms = await BookingStore(conn).rooms()
    return JSONResponse([_room_json(r) for r in sorted(rooms.values(), key=lambda r: r.room_id)])


async def room_day(request: Request) -> JSONResponse:
    """A room's day in venue time: its opening hours, its bookings (every status) and its free periods."""
    room_id = request.path_params["room_id"]
    try:
        day = _day(request) or svc.clock.now().astimezone(svc.policy.tz).date()
    except ValueError as exc:
        return error(400, str(exc))
    async with svc.sessions() as conn, conn.begin():
        store = BookingStore(conn)
        room = (await store.rooms()).get(room_id)
        if room is None:
            return error(404, "no such room")
        hours = domain.room_day(room, day, [], svc.policy).hours
        found = await store.find_bookings(BookingFilter(room_id=room_id, start=hours[0], end=hours[1]), limit=MAX_PAGE)
        busy = await store.busy_intervals(*hours, room_ids=[room_id])
    today = domain.room_day(room, day, busy.get(room_id, ()), svc.policy)
    return JSONResponse(
        {
            "room": _room_json(room),
            "date": day.isoformat(),
            "time_zone": svc.policy.tz.key,
            "opens": today.hours[0].isoformat(),
            "closes": today.hours[1].isoformat(),
            "bookings": [_booking_json(b) for b in found],
            "free": [{"start": _venue(s), "end": _venue(e)} for s, e in today.free],
        }
    )


async def availability(request: Request) -> JSONResponse:
    """Which suitable rooms are free for [start, end) and, if none, the nearest alternatives."""
    try:
        start, end = _required(request, "start"), _required(request, "end")
        attendees = int(request.query_params.get("attendees", "1"))
        equipment = frozenset(e for e in request.query_params.get("equipment", "").split(",") if e)
    except ValueError as exc:
        return error(400, str(exc))
    req = domain.Request(start, end, attendees, equipment, request.query_params.get("room_id"))
    problem = domain.time_problem(req, svc.clock.now())
    if problem is not None:
        return error(400, problem.reason)
    async with svc.sessions() as conn, conn.begin():
        store = BookingStore(conn)
        rooms = await store.rooms()
        busy = await store.busy_intervals(*svc.policy.search_window(req))
    found = domain.availability(req, rooms, busy, svc.policy, svc.clock.now())
    return JSONResponse(
        {
            "start": start.isoformat(),
            "end": end.isoformat(),
            "free_rooms": found.free_rooms,
            "alternatives": [slot_json(a) for a in found.alternatives],
        }
    )


async def list_bookings(request: Request) -> JSONResponse:
    """Bookings by start time, filtered by customer, status, room and date (a venue day, or from/to),
    a page at a time (``limit``; ``next`` is the cursor of the next page)."""
    q = request.query_params
    try:
        start, end = _when(request, "from"), _when(request, "to")
        day = _day(request)
        if day is not None:
            start = datetime.combine(day, time(0), tzinfo=svc.policy.tz)
            end = start + timedelta(days=1)
        limit = page_limit(request, default=100, most=MAX_PAGE)
        cursor = page_cursor(request)
        after = (datetime.fromisoformat(cursor[0]), uuid.UUID(cursor[1])) if cursor else None
    except ValueError as exc:
        return error(400, str(exc))
    status = q.get("status")
    if status is not None and status not in domain.BOOKING_STATUSES:
        return error(400, f"status is one of {', '.join(domain.BOOKING_STATUSES)}")
    f = BookingFilter(customer_id=q.get("customer_id"), status=status, room_id=q.get("room_id"), start=start, end=end)
    async with svc.sessions() as conn:
        found = await BookingStore(conn).find_bookings(f, limit=limit, after=after)
    last = found[-1] if len(found) == limit else None
    return JSONResponse(
        {
            "items": [_booking_json(b) for b in found],
            "next": next_cursor([last.start.isoformat(), str(last.booking_id)] if last else None),
        }
    )


async def get_booking(request: Request) -> JSONResponse:
    """A booking with where its day stands and what the departments prepare."""
    try:
        booking_id = uuid.UUID(request.path_params["booking_id"])
    except ValueError:
        return error(404, "no such booking")
    async with svc.sessions() as conn:
        store = BookingStore(conn)
        booking = await store.booking(booking_id)
        tasks = await store.tasks(booking_id) if booking else []
    if booking is None:
        return error(404, "no such booking")
    return JSONResponse({**_booking_json(booking), "preparation": [_task_json(t) for t in tasks]})


async def list_requests(request: Request) -> JSONResponse:
    """Booking requests, the latest decided first: their outcome, a rejected one's alternatives, its place
    on the waitlist and the offer made to it; filtered by customer, outcome and waitlist state."""
    q = request.query_params
    try:
        limit = page_limit(request, default=100, most=MAX_PAGE)
        cursor = page_cursor(request)
        after = (datetime.fromisoformat(cursor[0]), cursor[1]) if cursor else None
    except ValueError as exc:
        return error(400, str(exc))
    outcome = q.get("outcome")
    if outcome is not None and outcome not in (domain.CONFIRMED, domain.REJECTED):
        return error(400, "outcome is confirmed or rejected")
    waitlist = [w for w in q.get("waitlist", "").split(",") if w] or None
    if waitlist and not set(waitlist) <= set(domain.WAITLIST_STATES):
        return error(400, f"waitlist is one or more of {', '.join(domain.WAITLIST_STATES)}")
    f = RequestFilter(customer_id=q.get("customer_id"), outcome=outcome, waitlist=waitlist)
    async with svc.sessions() as conn:
        found = await BookingStore(conn).find_requests(f, limit=limit, after=after)
    last = found[-1] if len(found) == limit else None
    key = [last.decided_at.isoformat(), last.inquiry_id] if last and last.decided_at else None
    return JSONResponse({"items": [_request_json(r) for r in found], "next": next_cursor(key)})


async def get_waitlist(request: Request) -> JSONResponse:
    """The waitlist in its order (first come, first served): requests waiting, or holding an offer."""
    async with svc.sessions() as conn:
        found = await BookingStore(conn).waitlist(svc.clock.now(), request.query_params.get("room_id"))
    return JSONResponse({"items": [{"position": i, **_request_json(r)} for i, r in enumerate(found, 1)]})


svc.route("/rooms", list_rooms)
svc.route("/rooms/{room_id}/day", room_day, protected=True)
svc.route("/availability", availability)
svc.route("/bookings", list_bookings, protected=True)
svc.route("/bookings/{booking_id}", get_booking, protected=True)
svc.route("/requests", list_requests, protected=True)
svc.route("/waitlist", get_waitlist, protected=True)
serve_commands(svc)  # POST /commands/{name}: every booking command (shared/commands_http.py)
