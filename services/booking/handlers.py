"""Booking's handlers: one per message or due item, each ``(uow, msg, now, policy)``.

Each loads what the rules need through ``uow.store``, asks :mod:`.domain`, writes the decision
back, emits its events and schedules or cancels the day-before reminder, all in the unit of work
it is given (one transaction). They reach no global: time, policy and store are arguments.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from shared.contract.commands import BookingCancel, BookingReschedule, RoomsUpsert
from shared.contract.events import BookingRequested
from shared.logs import get_logger
from shared.messages import CommandIn, EventIn
from shared.scheduler import DueItem
from shared.uow import UnitOfWork

from . import domain
from .store import BookingStore

log = get_logger(__name__)

Uow = UnitOfWork[BookingStore]


async def booking_requested(uow: Uow, msg: EventIn[BookingRequested], now: datetime, policy: domain.Policy) -> None:
    """booking.requested → booking.confirmed (reminders scheduled) or booking.rejected with alternatives.

    Each occurrence of a series is booked, announced and reminded of; the database decides whether a
    room is taken, the rules what to try next."""
    data = msg.data
    store = uow.store
    if await store.request_decided(data.inquiry_id):
        return  # the same inquiry asked twice: it already has its answer
    ask = domain.Ask(
        inquiry_id=data.inquiry_id,
        customer_id=data.customer_id,
        name=data.meeting.name,
        request=_request(data),
        details=data.meeting.model_dump(mode="json"),
        correlation_id=str(msg.correlation_id),
    )
    rooms = await store.rooms()
    step = domain.request_booking(ask, rooms, now, policy)
    busy = None
    if isinstance(step, domain.Attempt):  # which rooms are taken already: try only the others
        busy = await store.busy_intervals(*policy.booking_window(ask.request))
        step = step.knowing(busy)
    while isinstance(step, domain.Attempt):
        if await store.try_insert_bookings(step.bookings):
            confirmation = domain.confirmed(step, now)
            await store.record_request(confirmation.outcome)
            for event in confirmation.events:
                uow.emit(event, correlation_id=msg.correlation_id, causation_id=msg.event_id)
            for reminder in confirmation.reminders:
                await _schedule(uow, reminder)
            return
        step = step.next()  # the database says the room is taken

    offers: list[domain.Slot] = []
    if step.offers_alternatives:
        if busy is None:
            busy = await store.busy_intervals(*policy.booking_window(ask.request))
        offers = domain.alternatives(ask.request, rooms, busy, policy, now)
    declined = domain.rejected(ask, step, offers)
    await store.record_request(declined.outcome)
    uow.emit(declined.event, correlation_id=msg.correlation_id, causation_id=msg.event_id)


def _request(data: BookingRequested) -> domain.Request:
    m, rec = data.meeting, data.meeting.recurrence
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


async def rooms_upsert(uow: Uow, msg: CommandIn[RoomsUpsert], now: datetime, policy: domain.Policy) -> str | None:
    """rooms.upsert → room.updated."""
    cmd = msg.command
    room = domain.Room(
        room_id=cmd.room_id,
        name=cmd.name,
        capacity=cmd.capacity,
        equipment=frozenset(cmd.equipment),
        location=cmd.location,
        active=cmd.active,
    )
    await uow.store.upsert_room(room)
    uow.emit(domain.room_updated(room), correlation_id=msg.correlation_id)
    return None


async def booking_cancel(uow: Uow, msg: CommandIn[BookingCancel], now: datetime, policy: domain.Policy) -> str | None:
    """booking.cancel → booking.cancelled; its reminder is cancelled with it."""
    cmd = msg.command
    change = domain.cancel(await _locked(uow, cmd.booking_id), cmd.booking_id, actor=cmd.actor, reason=cmd.reason)
    if isinstance(change, domain.Refusal):
        return change.reason
    await uow.store.cancel_booking(change.booking.booking_id)
    await _apply(uow, change, msg)
    return None


async def booking_reschedule(
    uow: Uow, msg: CommandIn[BookingReschedule], now: datetime, policy: domain.Policy
) -> str | None:
    """booking.reschedule → booking.rescheduled; its reminder moves with it."""
    cmd = msg.command
    booking = await _locked(uow, cmd.booking_id)
    change = domain.reschedule(
        booking,
        cmd.booking_id,
        await uow.store.rooms(),
        start=cmd.start,
        end=cmd.end,
        room_id=cmd.room_id,
        actor=cmd.actor,
        now=now,
        policy=policy,
    )
    if isinstance(change, domain.Refusal):
        return change.reason
    if not await uow.store.try_move_booking(change.booking):
        return domain.room_taken(change.booking.room_id).reason
    await _apply(uow, change, msg)
    return None


async def reminder_due(uow: Uow, item: DueItem, now: datetime, policy: domain.Policy) -> None:
    """Due item booking.reminder → booking.reminder_due, if the booking is still confirmed and ahead."""
    booking_id = _uuid(item.key)
    booking = await uow.store.booking(booking_id) if booking_id else None
    outcome = domain.reminder(booking, now)
    if isinstance(outcome, domain.Refusal):
        log.info("booking reminder not sent", booking_id=item.key, reason=outcome.reason)
        return
    assert booking is not None
    uow.emit(outcome, correlation_id=uuid.UUID(booking.correlation_id))  # the request's that made it


async def _locked(uow: Uow, ref: str) -> domain.Booking | None:
    """The booking ``ref`` names, held until the unit of work ends; None if there is none."""
    booking_id = _uuid(ref)
    return await uow.store.booking(booking_id, lock=True) if booking_id else None


async def _apply(uow: Uow, change: domain.Change, msg: CommandIn[BookingCancel] | CommandIn[BookingReschedule]) -> None:
    """Emit the change's event and bring the booking's reminder in line with it."""
    uow.emit(change.event, correlation_id=msg.correlation_id)
    if change.reminder is not None:
        await _schedule(uow, change.reminder)
    else:
        await uow.cancel(domain.REMINDER, str(change.booking.booking_id))


async def _schedule(uow: Uow, reminder: domain.Reminder) -> None:
    await uow.schedule(domain.REMINDER, reminder.key, reminder.due_at, correlation_id=reminder.correlation_id)


def _uuid(raw: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(raw)
    except ValueError:
        return None
