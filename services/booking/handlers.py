"""Booking's handlers: one per message or due item, each ``(uow, msg, now, policy)``.

Each loads what the rules need through ``uow.store``, asks :mod:`.domain`, writes the decision
back, emits its events (and the customer's ``notification.requested`` on their reply route) and
schedules or cancels the day-before reminder, all in the unit of work it is given (one
transaction). They reach no global: time, policy and store are arguments.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from shared.contract.commands import (
    BookingAcceptAlternative,
    BookingCancel,
    BookingChange,
    BookingReschedule,
    RoomsUpsert,
    Scope,
)
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
    """booking.requested → booking.confirmed (reminders scheduled) or booking.rejected with alternatives,
    and the customer told on their reply route (notification.requested).

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
        request=domain.request_from(data.meeting),
        details=data.meeting.model_dump(mode="json"),
        correlation_id=str(msg.correlation_id),
        reply_to=data.reply_to,
        language=data.language,
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
            await _confirm(uow, confirmation, correlation_id=msg.correlation_id, causation_id=msg.event_id)
            return
        # the database says the room is taken (another request was faster): go on with the bookings as they are now
        busy = await store.busy_intervals(*policy.booking_window(ask.request))
        step = step.next(busy)

    offers: list[domain.Slot] = []
    if step.offers_alternatives:
        if busy is None:
            busy = await store.busy_intervals(*policy.booking_window(ask.request))
        offers = domain.alternatives(ask.request, rooms, busy, policy, now)
    declined = domain.rejected(ask, step, offers, rooms=rooms, policy=policy)
    await store.record_request(declined.outcome)
    uow.emit(declined.event, correlation_id=msg.correlation_id, causation_id=msg.event_id)
    _notify(
        uow, declined.notice, correlation_id=msg.correlation_id, causation_id=msg.event_id, inquiry_id=ask.inquiry_id
    )


async def booking_accept_alternative(
    uow: Uow, msg: CommandIn[BookingAcceptAlternative], now: datetime, policy: domain.Policy
) -> str | None:
    """booking.accept_alternative → the slot a rejection offered is booked and confirmed like any
    request (booking.confirmed, reminders, the customer told on the request's reply route), or refused:
    not rejected, not offered, already accepted, no longer free."""
    cmd = msg.command
    store = uow.store
    slot = domain.Slot(cmd.room_id, cmd.start, cmd.end)
    rooms = await store.rooms()
    step = domain.accept_alternative(
        await store.request(cmd.inquiry_id, lock=True),
        slot,
        rooms,
        inquiry_id=cmd.inquiry_id,
        correlation_id=str(msg.correlation_id),
        now=now,
        policy=policy,
    )
    if isinstance(step, domain.Refusal):
        return step.reason
    taken = step.knowing(await store.busy_intervals(*policy.booking_window(step.ask.request)))
    if isinstance(taken, domain.Rejection):
        return domain.no_longer_free(taken).reason
    if not await store.try_insert_bookings(taken.bookings):
        return domain.no_longer_free(domain.room_taken(cmd.room_id)).reason
    confirmation = domain.confirmed(taken, now, accepted=slot)
    await store.record_acceptance(cmd.inquiry_id, slot, now)
    await _confirm(uow, confirmation, correlation_id=msg.correlation_id)
    return None


async def rooms_upsert(uow: Uow, msg: CommandIn[RoomsUpsert], now: datetime, policy: domain.Policy) -> str | None:
    """rooms.upsert → room.updated. Buffers and opening hours not given are the venue's."""
    cmd = msg.command
    if any(t is not None and t.tzinfo is not None for t in (cmd.opens_at, cmd.closes_at)):
        return "opening hours are venue time: give opens_at and closes_at without a UTC offset"
    room = domain.Room(
        room_id=cmd.room_id,
        name=cmd.name,
        capacity=cmd.capacity,
        equipment=frozenset(cmd.equipment),
        location=cmd.location,
        active=cmd.active,
        setup=_minutes(cmd.setup_buffer_minutes),
        cleanup=_minutes(cmd.cleanup_buffer_minutes),
        opens_at=cmd.opens_at,
        closes_at=cmd.closes_at,
    )
    await uow.store.upsert_room(room)
    uow.emit(domain.room_updated(room), correlation_id=msg.correlation_id)
    return None


async def booking_cancel(uow: Uow, msg: CommandIn[BookingCancel], now: datetime, policy: domain.Policy) -> str | None:
    """booking.cancel → booking.cancelled (each occurrence not yet started, for scope ``series``);
    the reminders are cancelled with them."""
    cmd = msg.command
    booking, series = await _targets(uow, cmd.booking_id, cmd.scope)
    if series is not None:
        changes = domain.cancel_series(booking, series, cmd.booking_id, actor=cmd.actor, reason=cmd.reason, now=now)
    else:
        changes = domain.cancel(booking, cmd.booking_id, actor=cmd.actor, reason=cmd.reason)
    if isinstance(changes, domain.Refusal):
        return changes.reason
    for change in changes if isinstance(changes, tuple) else (changes,):
        await uow.store.cancel_booking(change.booking.booking_id)
        await _apply(uow, change, msg)
    return None


async def booking_reschedule(
    uow: Uow, msg: CommandIn[BookingReschedule], now: datetime, policy: domain.Policy
) -> str | None:
    """booking.reschedule → booking.rescheduled; its reminder moves with it. Scope ``series``: every
    occurrence not yet started moves by the same shift, all of them or none."""
    cmd = msg.command
    booking, series = await _targets(uow, cmd.booking_id, cmd.scope)
    rooms = await uow.store.rooms()
    if series is not None:
        changes = domain.reschedule_series(
            booking,
            series,
            cmd.booking_id,
            rooms,
            start=cmd.start,
            end=cmd.end,
            room_id=cmd.room_id,
            actor=cmd.actor,
            now=now,
            policy=policy,
        )
        if isinstance(changes, domain.Refusal):
            return changes.reason
        if not await uow.store.try_move_bookings([c.booking for c in changes]):
            moving = [c.booking for c in changes]
            busy = await uow.store.busy_intervals(
                min(b.blocked[0] for b in moving),
                max(b.blocked[1] for b in moving),
                exclude=[b.booking_id for b in moving],
            )
            return domain.series_move_taken(changes, busy, policy).reason
        for change in changes:
            await _apply(uow, change, msg)
        return None
    moved = domain.reschedule(
        booking,
        cmd.booking_id,
        rooms,
        start=cmd.start,
        end=cmd.end,
        room_id=cmd.room_id,
        actor=cmd.actor,
        now=now,
        policy=policy,
    )
    if isinstance(moved, domain.Refusal):
        return moved.reason
    if not await uow.store.try_move_booking(moved.booking):
        return domain.room_taken(moved.booking.room_id).reason
    await _apply(uow, moved, msg)
    return None


async def booking_change(uow: Uow, msg: CommandIn[BookingChange], now: datetime, policy: domain.Policy) -> str | None:
    """booking.change → booking.updated (each occurrence not yet started, for scope ``series``): new
    attendees and/or equipment, re-checked against the room; refused if they no longer fit it."""
    cmd = msg.command
    booking, series = await _targets(uow, cmd.booking_id, cmd.scope)
    targets = domain.upcoming(series, now) if series is not None else [b for b in (booking,) if b is not None]
    updates = domain.change(
        booking,
        targets,
        cmd.booking_id,
        await uow.store.rooms(),
        attendees=cmd.attendees,
        equipment=cmd.equipment,
        actor=cmd.actor,
        policy=policy,
    )
    if isinstance(updates, domain.Refusal):
        return updates.reason
    await uow.store.update_bookings([u.booking for u in updates])
    for update in updates:
        uow.emit(update.event, correlation_id=msg.correlation_id)
    return None


async def reminder_due(uow: Uow, item: DueItem, now: datetime, policy: domain.Policy) -> None:
    """Due item booking.reminder → booking.reminder_due and the customer's reminder (time, place, what
    to bring; answer confirm / cancel / change), if the booking is still confirmed and ahead."""
    booking_id = _uuid(item.key)
    booking = await uow.store.booking(booking_id) if booking_id else None
    outcome = domain.reminder(booking, now)
    if isinstance(outcome, domain.Refusal):
        log.info("booking reminder not sent", booking_id=item.key, reason=outcome.reason)
        return
    assert booking is not None
    correlation_id = uuid.UUID(booking.correlation_id)  # the request's that made it
    uow.emit(outcome, correlation_id=correlation_id)
    notice = domain.reminder_notice(booking, await uow.store.rooms(), policy)
    _notify(uow, notice, correlation_id=correlation_id, booking_id=item.key)


async def _targets(uow: Uow, ref: str, scope: Scope) -> tuple[domain.Booking | None, list[domain.Booking] | None]:
    """The booking ``ref`` names and, for scope ``series`` when it belongs to one, every occurrence of
    its series — held until the unit of work ends (a series is locked in occurrence order, so that two
    commands on one series wait for each other instead of deadlocking). A booking outside a series
    is its own series: ``(booking, None)`` as for scope ``occurrence``."""
    booking_id = _uuid(ref)
    if booking_id is None:
        return None, None
    if scope == "series":
        found = await uow.store.booking(booking_id)
        if found is not None and found.series_id is not None:
            series = await uow.store.series(found.series_id, lock=True)
            return next((b for b in series if b.booking_id == booking_id), found), series
    return await uow.store.booking(booking_id, lock=True), None


async def _confirm(
    uow: Uow, confirmation: domain.Confirmation, *, correlation_id: uuid.UUID, causation_id: uuid.UUID | None = None
) -> None:
    """Announce a confirmation: its events, its reminders, and the customer's notification."""
    for event in confirmation.events:
        uow.emit(event, correlation_id=correlation_id, causation_id=causation_id)
    for reminder in confirmation.reminders:
        await _schedule(uow, reminder)
    _notify(
        uow,
        confirmation.notice,
        correlation_id=correlation_id,
        causation_id=causation_id,
        inquiry_id=confirmation.outcome.inquiry_id,
    )


def _notify(
    uow: Uow, notice: domain.Notice, *, correlation_id: uuid.UUID, causation_id: uuid.UUID | None = None, **about: Any
) -> None:
    """Tell the customer on their reply route; without one, say that an agent must reach them."""
    event = notice.event
    if event is not None:
        uow.emit(event, correlation_id=correlation_id, causation_id=causation_id)
        return
    log.info(
        "no reply route: an agent must reach the customer",
        template=notice.template,
        customer_id=notice.customer_id,
        channel=notice.route.channel if notice.route else None,
        **about,
    )


async def _apply(uow: Uow, change: domain.Change, msg: CommandIn[Any]) -> None:
    """Emit the change's event and bring the booking's reminder in line with it."""
    uow.emit(change.event, correlation_id=msg.correlation_id)
    if change.reminder is not None:
        await _schedule(uow, change.reminder)
    else:
        await uow.cancel(domain.REMINDER, str(change.booking.booking_id))


async def _schedule(uow: Uow, reminder: domain.Reminder) -> None:
    await uow.schedule(domain.REMINDER, reminder.key, reminder.due_at, correlation_id=reminder.correlation_id)


def _minutes(value: int | None) -> timedelta | None:
    return None if value is None else timedelta(minutes=value)


def _uuid(raw: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(raw)
    except ValueError:
        return None
