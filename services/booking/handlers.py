"""Booking's handlers: one per message or due item, each ``(uow, msg, now, policy)``.

Each loads what the rules need through ``uow.store``, asks :mod:`.domain`, writes the decision
back, emits its events (and the customer's ``notification.requested`` on their reply route) and
schedules or cancels the booking's due items (reminder, preparation deadline, no-show check, end of
the meeting; a waitlist offer's deadline), all in the unit of work it is given (one transaction).
They reach no global: time, policy and store are arguments. Commands are applied the same way
whether they come from the queue or over HTTP (``Service.run_command``).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

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
# how far around a freed slot waiting requests are looked for, and the bookings around them
BUFFER_MARGIN = timedelta(hours=4)  # the longest buffer a room may have (240 minutes)
MEETING_MARGIN = domain.MAX_DURATION + BUFFER_MARGIN
MAX_REDECISIONS = 8  # rounds of a batch whose rooms the database found taken meanwhile (then: item by item)


async def booking_requests(
    uow: Uow, batch: Sequence[EventIn[BookingRequested]], now: datetime, policy: domain.Policy
) -> None:
    """booking.requested, the deliveries in flight together (``Service.batched``): each event id
    claimed once (one statement), then :func:`decide_requests` — the batch in one transaction."""
    keys = [f"event:{msg.event_id}" for msg in batch]
    claimed = await uow.store.claim_messages(keys)
    fresh: list[EventIn[BookingRequested]] = []
    for key, msg in zip(keys, batch, strict=True):
        if key in claimed:
            claimed.discard(key)  # the same event twice in one batch: once
            fresh.append(msg)
    await decide_requests(uow, fresh, now, policy)


async def booking_requested(uow: Uow, msg: EventIn[BookingRequested], now: datetime, policy: domain.Policy) -> None:
    """booking.requested → booking.confirmed (reminders scheduled) or booking.rejected with alternatives,
    and the customer told on their reply route (notification.requested): :func:`decide_requests` for one."""
    await decide_requests(uow, [msg], now, policy)


async def decide_requests(
    uow: Uow, batch: Sequence[EventIn[BookingRequested]], now: datetime, policy: domain.Policy
) -> None:
    """Booking requests decided at once, in delivery order, against the calendars of the rooms
    concerned: those rooms locked in one global order, their bookings around the requests read once,
    every decision made in plain Python (:func:`domain.decide_batch`: each sees the ones before it),
    then written set-based — one insert of all bookings, one of all outcomes, one of the departments'
    tasks, one of the due items (and the outbox's one). Each occurrence of a series is booked,
    announced and reminded of. The database's exclusion constraint still has the last word: when it
    finds a room taken (a replica that does not lock rooms), the batch's bookings are taken back and
    the batch decided again with that slot taken."""
    store = uow.store
    asked: dict[str, EventIn[BookingRequested]] = {}
    for msg in batch:
        asked.setdefault(msg.data.inquiry_id, msg)  # the same inquiry twice: answered once
    if not asked:
        return
    rooms = await store.rooms()
    msgs, asks = list(asked.values()), [_ask(m) for m in asked.values()]
    firsts = domain.request_batch(asks, rooms, now, policy)
    await store.lock_rooms(domain.batch_rooms(firsts))
    # asked before — also by a replica that held these rooms until just now: it already has its answer
    decided = await store.requests_decided(list(asked))
    if decided:
        kept = [i for i, inquiry_id in enumerate(asked) if inquiry_id not in decided]
        msgs, asks, firsts = [msgs[i] for i in kept], [asks[i] for i in kept], [firsts[i] for i in kept]
        if not msgs:
            return
    room_ids = domain.batch_rooms(firsts)
    spans = domain.batch_spans(firsts)
    refused: list[domain.Booking] = []
    for _ in range(MAX_REDECISIONS):
        busy = await store.busy_around(spans, room_ids) if spans else {}
        steps = domain.decide_batch(firsts, busy, refused)
        windows, fit = domain.offer_windows(asks, steps, rooms, policy)
        offers = domain.offers_in_order(
            asks, steps, rooms, await store.busy_around(windows, fit) if fit else {}, policy, now
        )
        booked = [b for s in steps if isinstance(s, domain.Attempt) for b in s.bookings]
        inserted = await store.insert_bookings(booked)
        if len(inserted) == len(booked):
            break
        # a room was taken after all (the constraint said so): decide the batch again, that slot taken
        refused += [b for b in booked if b.booking_id not in inserted]
        await store.delete_bookings(inserted)
        log.info("a room of the batch was taken meanwhile; deciding it again", requests=len(steps))
    else:
        raise RuntimeError(f"booking requests not decided after {MAX_REDECISIONS} rounds of rooms taken meanwhile")

    outcomes: list[domain.RequestOutcome] = []
    tasks: list[domain.Task] = []
    due: list[domain.Due] = []
    for msg, ask, step, offered in zip(msgs, asks, steps, offers, strict=True):
        if isinstance(step, domain.Attempt):
            confirmation = domain.confirmed(step, now)
            outcomes.append(confirmation.outcome)
            tasks.extend(confirmation.tasks)
            due.extend(confirmation.due)
            _announce(uow, confirmation, correlation_id=msg.correlation_id, causation_id=msg.event_id)
        else:
            declined = domain.rejected(ask, step, offered, rooms=rooms, policy=policy, now=now)
            outcomes.append(declined.outcome)
            uow.emit(declined.event, correlation_id=msg.correlation_id, causation_id=msg.event_id)
            _notify(
                uow,
                declined.notice,
                correlation_id=msg.correlation_id,
                causation_id=msg.event_id,
                inquiry_id=ask.inquiry_id,
            )
    await store.record_requests(outcomes)
    await store.add_tasks(tasks)
    await uow.schedule_many(due)  # one statement, however many bookings


def _ask(msg: EventIn[BookingRequested]) -> domain.Ask:
    data = msg.data
    return domain.Ask(
        inquiry_id=data.inquiry_id,
        customer_id=data.customer_id,
        name=data.meeting.name,
        request=domain.request_from(data.meeting),
        details=data.meeting.model_dump(mode="json"),
        correlation_id=str(msg.correlation_id),
        reply_to=data.reply_to,
        language=data.language,
        wait_if_taken=data.wait_if_taken,
        agent_id=data.agent_id,
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
    record = await store.request(cmd.inquiry_id)
    # the room it books and the room of a slot held for it (given back below), at once, in the global order
    await store.lock_rooms({cmd.room_id, *([record.offer.room_id] if record and record.offer else [])})
    taken = step.knowing(await store.busy_around(step.around, step.room_ids))
    if isinstance(taken, domain.Rejection):
        return domain.no_longer_free(taken).reason
    if not await store.try_insert_bookings(taken.bookings):
        return domain.no_longer_free(domain.room_taken(cmd.room_id)).reason
    confirmation = domain.confirmed(taken, now, accepted=slot)
    await store.record_acceptance(cmd.inquiry_id, slot, now)
    await _confirm(uow, confirmation, correlation_id=msg.correlation_id)
    if record is not None and record.waitlist == domain.OFFERED and record.offer is not None:
        # it waits no more: the slot held for it goes to the next waiter
        await _give_back(uow, record.offer.booking_id, now, policy, correlation_id=msg.correlation_id)
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
    done = changes if isinstance(changes, tuple) else (changes,)
    for change in done:
        await uow.store.cancel_booking(change.booking.booking_id)
        await _apply(uow, change, msg)
    rooms = await uow.store.rooms()
    cancelled = [c.booking for c in done]
    notice = domain.cancellation_notice(cancelled, rooms, policy, reason=cmd.reason)
    _notify(uow, notice, correlation_id=msg.correlation_id, booking_id=str(cancelled[0].booking_id))
    await _offer_freed(uow, [c.freed for c in done if c.freed], now, policy, correlation_id=msg.correlation_id)
    return None


async def booking_reschedule(
    uow: Uow, msg: CommandIn[BookingReschedule], now: datetime, policy: domain.Policy
) -> str | None:
    """booking.reschedule → booking.rescheduled; its reminder moves with it. Scope ``series``: every
    occurrence not yet started moves by the same shift, all of them or none."""
    cmd = msg.command
    booking, series = await _targets(uow, cmd.booking_id, cmd.scope)
    rooms = await uow.store.rooms()
    to = {"start": cmd.start, "end": cmd.end, "room_id": cmd.room_id, "actor": cmd.actor, "now": now, "policy": policy}
    if series is not None:
        changes = domain.reschedule_series(booking, series, cmd.booking_id, rooms, **to)
    else:
        moved = domain.reschedule(booking, cmd.booking_id, rooms, **to)
        changes = moved if isinstance(moved, domain.Refusal) else [moved]
    if isinstance(changes, domain.Refusal):
        return changes.reason
    moving = [c.booking for c in changes]
    if not await uow.store.try_move_bookings(moving):
        if series is None:
            return domain.room_taken(moving[0].room_id).reason
        busy = await uow.store.busy_intervals(
            min(b.blocked[0] for b in moving),
            max(b.blocked[1] for b in moving),
            exclude=[b.booking_id for b in moving],
        )
        return domain.series_move_taken(changes, busy, policy).reason
    for change in changes:
        await _apply(uow, change, msg)
    _notify(
        uow,
        domain.rescheduled_notice(moving, rooms, policy),
        correlation_id=msg.correlation_id,
        booking_id=cmd.booking_id,
    )
    await _offer_freed(uow, [c.freed for c in changes if c.freed], now, policy, correlation_id=msg.correlation_id)
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
        now=now,
    )
    if isinstance(updates, domain.Refusal):
        return updates.reason
    await uow.store.update_bookings([u.booking for u in updates])
    for update in updates:
        uow.emit(update.event, correlation_id=msg.correlation_id)
    # the departments are asked anew for the changed meetings
    await uow.store.add_tasks([t for u in updates for t in u.tasks], replace=True)
    for update in updates:
        await _request_preparation(uow, update.booking, update.tasks, correlation_id=msg.correlation_id)
    return None


async def booking_confirm_attendance(
    uow: Uow, msg: CommandIn[BookingConfirmAttendance], now: datetime, policy: domain.Policy
) -> str | None:
    """booking.confirm_attendance → booking.attendance_confirmed (once), and the customer thanked on
    their reply route (intake sends this command when the customer answers the reminder "confirm")."""
    cmd = msg.command
    booking = await _booking(uow, cmd.booking_id, lock=True)
    step = domain.confirm_attendance(
        booking, cmd.booking_id, await uow.store.rooms(), actor=cmd.actor, now=now, policy=policy
    )
    if isinstance(step, domain.Refusal):
        return step.reason
    await uow.store.save_state(step.booking)
    uow.emit(step.event, correlation_id=msg.correlation_id)
    if step.notice is not None:
        _notify(uow, step.notice, correlation_id=msg.correlation_id, booking_id=cmd.booking_id)
    return None


async def booking_check_in(
    uow: Uow, msg: CommandIn[BookingCheckIn], now: datetime, policy: domain.Policy
) -> str | None:
    """booking.check_in → booking.checked_in: the customer is here, the room is not released."""
    cmd = msg.command
    booking = await _booking(uow, cmd.booking_id, lock=True)
    step = domain.check_in(booking, cmd.booking_id, actor=cmd.actor, now=now, policy=policy)
    if isinstance(step, domain.Refusal):
        return step.reason
    await uow.store.save_state(step.booking)
    uow.emit(step.event, correlation_id=msg.correlation_id)
    await uow.cancel(domain.NO_SHOW, cmd.booking_id)
    return None


async def booking_preparation_done(
    uow: Uow, msg: CommandIn[BookingPreparationDone], now: datetime, policy: domain.Policy
) -> str | None:
    """booking.preparation_done → booking.prepared: a department's task is done (no overdue alarm for it)."""
    cmd = msg.command
    booking = await _booking(uow, cmd.booking_id, lock=True)
    tasks = await uow.store.tasks(booking.booking_id) if booking else []
    done = domain.preparation_done(
        booking, tasks, cmd.booking_id, department=cmd.department, actor=cmd.actor, note=cmd.note, now=now
    )
    if isinstance(done, domain.Refusal):
        return done.reason
    assert booking is not None
    await uow.store.save_task(done.task)
    uow.emit(done.event, correlation_id=msg.correlation_id)
    await _next_deadline(uow, booking, done.next)
    return None


async def booking_waitlist_accept(
    uow: Uow, msg: CommandIn[BookingWaitlistAccept], now: datetime, policy: domain.Policy
) -> str | None:
    """booking.waitlist_accept → the slot held for the waiter is booked and confirmed like any request
    (booking.confirmed, preparation, due items, the customer told), or refused: not on the waitlist,
    nothing offered, already accepted, lapsed."""
    cmd = msg.command
    store = uow.store
    record = await store.request(cmd.inquiry_id, lock=True)
    hold = None
    if record is not None and record.offer is not None:
        hold = await store.booking(record.offer.booking_id, lock=True)
    taken = domain.accept_offer(
        record, hold, inquiry_id=cmd.inquiry_id, correlation_id=str(msg.correlation_id), now=now, policy=policy
    )
    if isinstance(taken, domain.Refusal):
        return taken.reason
    await store.save_state(taken.booking)
    await store.save_request(taken.record, now)
    await uow.cancel(domain.WAITLIST_OFFER, cmd.inquiry_id)
    rooms = await store.rooms()
    confirmation = domain.confirmation(
        taken.ask, rooms.get(taken.booking.room_id), [taken.booking], policy, now, accepted=taken.record.accepted
    )
    await _confirm(uow, confirmation, correlation_id=msg.correlation_id)
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


async def preparation_due(uow: Uow, item: DueItem, now: datetime, policy: domain.Policy) -> None:
    """Due item booking.preparation → booking.preparation_overdue for each task not done by its
    deadline (once), and the item again at the next deadline — for a booking still confirmed."""
    booking = await _booking(uow, item.key)
    tasks = await uow.store.tasks(booking.booking_id, lock=True) if booking else []
    result = domain.preparation_overdue(booking, tasks, now)
    if isinstance(result, domain.Refusal):
        log.info("preparation not checked", booking_id=item.key, reason=result.reason)
        return
    assert booking is not None
    correlation_id = uuid.UUID(booking.correlation_id)
    for task, event in zip(result.tasks, result.events, strict=True):
        await uow.store.save_task(task)
        uow.emit(event, correlation_id=correlation_id)
    if result.next is not None:
        await uow.schedule(domain.PREPARATION, item.key, result.next, correlation_id=booking.correlation_id)


async def no_show_due(uow: Uow, item: DueItem, now: datetime, policy: domain.Policy) -> None:
    """Due item booking.no_show → booking.released when nobody checked in (the customer told, the
    booking's other due items cancelled), and the slot offered to the first waiter it suits."""
    booking = await _booking(uow, item.key, lock=True)
    step = domain.no_show(booking, await uow.store.rooms(), now, policy)
    if isinstance(step, domain.Refusal):
        log.info("booking not released", booking_id=item.key, reason=step.reason)
        return
    assert booking is not None
    correlation_id = await _record(uow, booking, step)
    for kind in (domain.REMINDER, domain.PREPARATION, domain.COMPLETION):
        await uow.cancel(kind, item.key)
    await _offer_freed(uow, [booking], now, policy, correlation_id=correlation_id)


async def completion_due(uow: Uow, item: DueItem, now: datetime, policy: domain.Policy) -> None:
    """Due item booking.completion → booking.completed when the meeting has ended, and the customer asked
    for their satisfaction (notification booking.survey, whose subject names the booking and its room)."""
    booking = await _booking(uow, item.key, lock=True)
    step = domain.complete(booking, await uow.store.rooms(), now, policy)
    if isinstance(step, domain.Refusal):
        log.info("booking not completed", booking_id=item.key, reason=step.reason)
        return
    assert booking is not None
    await _record(uow, booking, step)
    await uow.cancel(domain.PREPARATION, item.key)


async def _record(uow: Uow, booking: domain.Booking, step: domain.Step) -> uuid.UUID:
    """Save the booking's new state, emit its event and tell the customer (under the booking's
    correlation id, which it returns)."""
    correlation_id = uuid.UUID(booking.correlation_id)
    await uow.store.save_state(step.booking)
    uow.emit(step.event, correlation_id=correlation_id)
    if step.notice is not None:
        _notify(uow, step.notice, correlation_id=correlation_id, booking_id=str(booking.booking_id))
    return correlation_id


async def waitlist_offer_due(uow: Uow, item: DueItem, now: datetime, policy: domain.Policy) -> None:
    """Due item booking.waitlist_offer: an offer not taken by its deadline lapses; the slot held for it
    goes to the next waiter."""
    record = await uow.store.request(item.key, lock=True)
    lapsed = domain.lapse(record, now)
    if isinstance(lapsed, domain.Refusal):
        log.info("waitlist offer not lapsed", inquiry_id=item.key, reason=lapsed.reason)
        return
    assert lapsed.offer is not None
    await uow.store.save_request(lapsed, now)
    log.info("waitlist offer lapsed", inquiry_id=item.key, room_id=lapsed.offer.room_id)
    await _give_back(uow, lapsed.offer.booking_id, now, policy, correlation_id=item.correlation_id)


async def _booking(uow: Uow, ref: str, *, lock: bool = False) -> domain.Booking | None:
    booking_id = _uuid(ref)
    return await uow.store.booking(booking_id, lock=lock) if booking_id else None


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
    """Announce a confirmation: its events, the departments' preparation, its due items (reminders,
    deadlines, no-show check, end) and the customer's notification."""
    _announce(uow, confirmation, correlation_id=correlation_id, causation_id=causation_id)
    await uow.store.add_tasks(confirmation.tasks)
    await uow.schedule_many(confirmation.due)  # one statement, however long the series


def _announce(
    uow: Uow, confirmation: domain.Confirmation, *, correlation_id: uuid.UUID, causation_id: uuid.UUID | None = None
) -> None:
    """A confirmation's events: booking.confirmed (each occurrence), the departments' preparation and
    the customer's notification."""
    for event in confirmation.events:
        uow.emit(event, correlation_id=correlation_id, causation_id=causation_id)
    for request in confirmation.preparation_requested:
        uow.emit(request, correlation_id=correlation_id, causation_id=causation_id)
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
    """Emit the change's event, bring the booking's due items in line with it (a cancelled booking has
    none left) and ask the departments anew for a moved one."""
    uow.emit(change.event, correlation_id=msg.correlation_id)
    key = str(change.booking.booking_id)
    for kind in domain.BOOKING_DUE:
        due = change.due.get(kind)
        if due is not None:
            await uow.schedule(kind, key, due.due_at, correlation_id=due.correlation_id)
        else:
            await uow.cancel(kind, key)
    if change.tasks:
        await uow.store.add_tasks(change.tasks, replace=True)
        for task in change.tasks:
            uow.emit(task.requested(change.booking.room_id), correlation_id=msg.correlation_id)


async def _request_preparation(
    uow: Uow, booking: domain.Booking, tasks: Sequence[domain.Task], *, correlation_id: uuid.UUID
) -> None:
    """Announce a booking's (new) preparation tasks and move its preparation item to the next deadline."""
    for task in tasks:
        uow.emit(task.requested(booking.room_id), correlation_id=correlation_id)
    await _next_deadline(uow, booking, domain.next_deadline(tasks))


async def _next_deadline(uow: Uow, booking: domain.Booking, at: datetime | None) -> None:
    key = str(booking.booking_id)
    if at is None:
        await uow.cancel(domain.PREPARATION, key)
    else:
        await uow.schedule(domain.PREPARATION, key, at, correlation_id=booking.correlation_id)


async def _offer_freed(
    uow: Uow, freed: Sequence[domain.Booking], now: datetime, policy: domain.Policy, *, correlation_id: uuid.UUID
) -> None:
    """Slots given up (cancelled, released, moved away from, a hold given back) are offered to the
    waiting requests they suit, first come first served: a hold each (the database has the last word),
    booking.waitlist_offered, the waiter told, and the offer's deadline scheduled."""
    freed = [b for b in freed if b.blocked[1] > now]
    if not freed:
        return
    store = uow.store
    room_ids = sorted({b.room_id for b in freed})
    lo, hi = min(b.blocked[0] for b in freed), max(b.blocked[1] for b in freed)
    waiters = await store.waiters(lo - BUFFER_MARGIN, hi + BUFFER_MARGIN, room_ids, now)
    if not waiters:
        return
    await store.lock_rooms(room_ids)  # every room a hold may go to, at once, in the global order
    rooms = await store.rooms()
    busy = await store.busy_intervals(lo - MEETING_MARGIN, hi + MEETING_MARGIN, room_ids=room_ids)
    offering = domain.WaitlistRound(freed, rooms, busy, now, policy)
    for waiter in waiters:
        hold = offering.hold_for(waiter, str(correlation_id))
        if hold is None or not await store.try_insert_bookings([hold]):
            continue
        offering.held(hold)
        offered = domain.offer(waiter, hold, rooms, now, policy)
        await store.save_request(offered.record, now)
        waiter_correlation = uuid.UUID(hold.correlation_id)
        uow.emit(offered.event, correlation_id=waiter_correlation)
        _notify(uow, offered.notice, correlation_id=waiter_correlation, inquiry_id=waiter.inquiry_id)
        due = offered.due
        await uow.schedule(due.kind, due.key, due.due_at, correlation_id=due.correlation_id)


async def _give_back(
    uow: Uow, hold_id: uuid.UUID, now: datetime, policy: domain.Policy, *, correlation_id: uuid.UUID
) -> None:
    """A slot held for a waiter is no longer needed by it: the hold goes, its offer's deadline with it,
    and the slot is offered to the next waiter."""
    hold = await uow.store.booking(hold_id, lock=True)
    if hold is None or hold.status != domain.HELD:
        return
    await uow.store.drop_hold(hold_id)
    await uow.cancel(domain.WAITLIST_OFFER, hold.inquiry_id)
    await _offer_freed(uow, [hold], now, policy, correlation_id=correlation_id)


def _minutes(value: int | None) -> timedelta | None:
    return None if value is None else timedelta(minutes=value)


def _uuid(raw: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(raw)
    except ValueError:
        return None
