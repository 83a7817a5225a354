"""Complaints' handlers: load through ``uow.store``, let the domain decide, persist, emit, (re)plan due items.

One function per message: ``inquiry.received`` registers a complaint, or is the customer writing again
on their open complaints; ``feedback.received`` about a complaint is the customer's satisfaction;
``booking.*`` keeps complaints' view of the bookings, and booking's answer to a re-run of the meeting
(``booking.confirmed`` / ``booking.rejected`` for a complaint's inquiry id) is recorded on the complaint;
every ``complaint.*`` command on one complaint goes through :func:`lifecycle`, ``complaint.handover``
through :func:`handover`, ``staff.upsert`` keeps the staff directory; the clock's due items (warnings,
breaches, escalation steps, satisfaction follow-ups) all go to :func:`clock_due`. Time is the ``now``
they are given, the rules' configuration the ``policy``.

After every change the complaint's due items are re-planned from its state (``domain.plan``): the
changed ones scheduled, the ones no longer needed cancelled, in the same transaction.
"""

from __future__ import annotations

import os
import uuid
from datetime import datetime

from shared.contract.commands import Command, ComplaintHandover, StaffUpsert
from shared.contract.events import (
    BookingCancelled,
    BookingConfirmed,
    BookingRejected,
    BookingRescheduled,
    BookingUpdated,
    FeedbackReceived,
    InquiryReceived,
)
from shared.logs import get_logger
from shared.messages import CommandIn, EventIn
from shared.scheduler import DueItem
from shared.uow import UnitOfWork

from . import domain
from .store import ComplaintsStore

log = get_logger(__name__)


async def _carry_out(
    uow: UnitOfWork[ComplaintsStore],
    outcome: domain.Outcome,
    policy: domain.Policy,
    *,
    correlation_id: uuid.UUID,
    causation_id: uuid.UUID | None = None,
    fired: str | None = None,
) -> None:
    """Persist the outcome's SLA log and history, emit its events, cancel and schedule its due items.

    ``fired``: the kind of the due item being handled. The scheduler deletes that row once its handler
    returns; when the complaint still needs an item of that kind (the next escalation step, the next
    follow-up, an item that fired before its time) the row is cancelled here and scheduled anew, so
    that the successor is a row of its own."""
    complaint_id = outcome.state.complaint_id
    await uow.store.append_clock(complaint_id, len(outcome.state.clock) - len(outcome.clock) + 1, outcome.clock)
    for entry in outcome.entries:
        await uow.store.append_history(complaint_id, entry)
    for event in outcome.events:
        uow.emit(event, correlation_id=correlation_id, causation_id=causation_id)
    schedule = dict(outcome.schedule)
    cancel = list(outcome.cancel)
    if fired is not None:
        successor = domain.plan(outcome.state, policy).get(fired)
        if successor is not None:
            cancel.append(fired)
            schedule[fired] = successor
    for kind in cancel:
        await uow.cancel(kind, complaint_id)
    for kind, due_at in schedule.items():
        await uow.schedule(kind, complaint_id, due_at, correlation_id=correlation_id)


# -- the customer -------------------------------------------------------------------------------
async def inquiry_received(
    uow: UnitOfWork[ComplaintsStore], msg: EventIn[InquiryReceived], now: datetime, policy: domain.Policy
) -> None:
    """inquiry.received: the customer writing again on their open complaints (recorded; clocks waiting for
    them resume; breached escalations re-armed), and/or a new complaint (complaint.registered, the receipt,
    both clocks started).

    A message on the conversation of an open complaint belongs to it (it is no new complaint); under the
    same customer id on another conversation it concerns the complaints waiting for the customer or
    escalating (domain.concerns), and a complaint there is registered as a new one."""
    data = msg.data
    seen = await uow.store.open_complaints(
        conversation_id=data.conversation_id, customer_id=data.customer.customer_id, lock=False
    )
    candidates = [c.complaint_id for c in seen if domain.concerns(c, data, policy)]
    if not candidates and data.intent != "complaint":
        return
    if not await uow.claim(f"inquiry:{data.inquiry_id}") or await uow.store.registered_from(data.inquiry_id):
        return  # the same inquiry delivered again under another event id
    mine = []
    for complaint_id in candidates:  # in id order: concurrent writers wait rather than deadlock
        state = await uow.store.get(complaint_id, lock=True)
        if state is not None and domain.concerns(state, data, policy):  # it may have changed meanwhile
            mine.append(state)
    on_conversation = any(c.conversation_id == data.conversation_id for c in mine)
    for state in mine:
        outcome = domain.customer_wrote(state, data, now=now, policy=policy)
        await uow.store.update(outcome.state)
        await _carry_out(uow, outcome, policy, correlation_id=msg.correlation_id, causation_id=msg.event_id)
        log.info("customer wrote on their complaint", complaint_id=state.complaint_id, inquiry_id=data.inquiry_id)
    if on_conversation or data.intent != "complaint":
        return
    outcome = domain.register(
        data,
        complaint_id=str(uuid.uuid4()),
        event_id=str(msg.event_id),
        now=now,
        policy=policy,
        booking=await _booking_link(uow.store, data, now),
    )
    if outcome is None:
        return
    added = await uow.store.add(
        outcome.state,
        inquiry_id=data.inquiry_id,
        channel=data.channel,
        text=data.text,
        correlation_id=str(msg.correlation_id),
    )
    if not added:
        return  # the inquiry got its complaint concurrently
    await _carry_out(uow, outcome, policy, correlation_id=msg.correlation_id, causation_id=msg.event_id)
    state = outcome.state
    log.info(
        "complaint registered",
        complaint_id=state.complaint_id,
        category=state.category,
        severity=state.severity,
        acknowledge_due_at=state.acknowledge_due_at.isoformat(),
    )


async def _booking_link(store: ComplaintsStore, data: InquiryReceived, now: datetime) -> domain.BookingLink:
    """The booking the complaint names, checked against complaints' view of the bookings; or the
    customer's meeting at the time they wrote."""
    at = min(data.received_at, now)
    named = await store.booking(data.booking_id) if data.booking_id else None
    customer_id = data.customer.customer_id
    around = await store.customer_bookings(customer_id, at) if customer_id and not data.booking_id else []
    return domain.link_booking(data.booking_id, customer_id, at, named, around)


BookingNews = BookingConfirmed | BookingCancelled | BookingRescheduled | BookingUpdated


async def booking_news(
    uow: UnitOfWork[ComplaintsStore], msg: EventIn[BookingNews], now: datetime, policy: domain.Policy
) -> None:
    """booking.confirmed / cancelled / rescheduled / updated: complaints' view of the booking follows, and
    so do the open complaints naming it (their room and equipment; a link not yet checked is checked)."""
    data = msg.data
    view = domain.booking_news(
        await uow.store.booking(data.booking_id, lock=True), type(data).event_type, data.model_dump()
    )
    await uow.store.save_booking(view)
    for state in await uow.store.complaints_about(data.booking_id):
        outcome = domain.booking_seen(state, view, now)
        if outcome is not None:
            await uow.store.update(outcome.state)
            await _carry_out(uow, outcome, policy, correlation_id=msg.correlation_id, causation_id=msg.event_id)
            log.info("complaint's booking updated", complaint_id=state.complaint_id, booking_id=data.booking_id)
    if isinstance(data, BookingConfirmed):
        details = {"booking_id": data.booking_id, "room_id": data.room_id, "start": data.start.isoformat(),
                   "end": data.end.isoformat()}  # fmt: skip
        await _rerun_answer(uow, msg, data.inquiry_id, "confirmed", details, now, policy)


async def booking_rejected(
    uow: UnitOfWork[ComplaintsStore], msg: EventIn[BookingRejected], now: datetime, policy: domain.Policy
) -> None:
    """booking.rejected: when it answers a re-run of the meeting a complaint asked for, its history says so
    (with booking's reason and alternatives); any other rejection is none of complaints' business."""
    data = msg.data
    details = {
        "reason": data.reason,
        "reason_code": data.reason_code,
        "alternatives": [a.model_dump(mode="json") for a in data.alternatives],
    }
    await _rerun_answer(uow, msg, data.inquiry_id, "rejected", details, now, policy)


async def _rerun_answer(
    uow: UnitOfWork[ComplaintsStore],
    msg: EventIn[BookingConfirmed] | EventIn[BookingRejected] | EventIn[BookingNews],
    inquiry_id: str,
    answer: str,
    details: dict[str, object],
    now: datetime,
    policy: domain.Policy,
) -> None:
    ref = domain.rerun.parse(inquiry_id)
    if ref is None:
        return  # not a re-run of a complaint's meeting
    state = await uow.store.get(ref.complaint_id, lock=True)
    if state is None:
        log.warning("booking answered a re-run of an unknown complaint", complaint_id=ref.complaint_id)
        return
    outcome = domain.rerun_answered(state, inquiry_id, answer, details, now, policy)
    if outcome is None:
        return  # heard before
    await uow.store.update(outcome.state)
    await _carry_out(uow, outcome, policy, correlation_id=msg.correlation_id, causation_id=msg.event_id)
    log.info("re-run of the meeting answered", complaint_id=ref.complaint_id, action_id=ref.action_id, answer=answer)


async def feedback_received(
    uow: UnitOfWork[ComplaintsStore], msg: EventIn[FeedbackReceived], now: datetime, policy: domain.Policy
) -> None:
    """feedback.received about a complaint (a survey answer): the customer's satisfaction; a score of 1-2
    reopens the complaint at once, 3-5 lets it close."""
    data = msg.data
    if data.subject_type != "complaint" or not data.subject_id:
        return
    state = await uow.store.get(data.subject_id, lock=True)
    if state is None:
        log.warning("a survey answer about an unknown complaint", complaint_id=data.subject_id)
        return
    feedback = {"event_id": str(msg.event_id), "channel": data.channel, "comment": data.comment}
    outcome = domain.satisfaction(state, data.score, now=now, policy=policy, feedback=feedback)
    await uow.store.update(outcome.state)
    await _carry_out(uow, outcome, policy, correlation_id=msg.correlation_id, causation_id=msg.event_id)
    log.info("complaint satisfaction", complaint_id=state.complaint_id, score=data.score, status=outcome.state.status)


# -- commands -----------------------------------------------------------------------------------
# what the rules see of a command besides its own fields: the rest goes to the history entry
_NOT_DETAILS = {"command_id", "actor", "complaint_id", "note", "agent_id", "category", "severity"}


def to_domain(name: str, cmd: Command, at: datetime, actor_role: str | None = None) -> domain.Command:
    details = cmd.model_dump(mode="json", exclude=_NOT_DETAILS)
    details["command_id"] = cmd.command_id
    return domain.Command(
        name=name,
        actor=cmd.actor,
        at=at,
        note=getattr(cmd, "note", None),
        agent_id=getattr(cmd, "agent_id", None),
        category=getattr(cmd, "category", None),
        severity=getattr(cmd, "severity", None),
        details=details,
        actor_role=actor_role,
    )


async def lifecycle(
    uow: UnitOfWork[ComplaintsStore], msg: CommandIn[Command], now: datetime, policy: domain.Policy
) -> str | None:
    """A command on one complaint → its history entry, complaint.status_changed (and complaint.closed),
    clock transitions, the customer told; or why it is refused."""
    complaint_id: str = msg.command.complaint_id  # type: ignore[attr-defined]
    state = await uow.store.get(complaint_id, lock=True)
    if state is None:
        return f"no complaint {complaint_id!r}"
    member = await uow.store.staff(msg.command.actor) if msg.name in domain.ROLE_NEEDED_BY else None
    role = member.role if member is not None and member.active else None
    # the plan's re-runs of the meeting are booked from complaints' view of the complaint's booking
    rerun = state.booking_id is not None and any(a.remedy == domain.rerun.RERUN for a in state.actions)
    booking = await uow.store.booking(state.booking_id) if rerun and state.booking_id else None
    outcome = domain.apply(state, to_domain(msg.name, msg.command, now, role), policy, booking)
    if isinstance(outcome, domain.Refusal):
        return outcome.reason
    await uow.store.update(outcome.state)
    await _carry_out(uow, outcome, policy, correlation_id=msg.correlation_id)
    if outcome.case is not None:
        await uow.store.save_case(outcome.case)
    log.info("complaint updated", complaint_id=state.complaint_id, action=msg.name, status=outcome.state.status)
    return None


async def handover(
    uow: UnitOfWork[ComplaintsStore], msg: CommandIn[ComplaintHandover], now: datetime, policy: domain.Policy
) -> str | None:
    """complaint.handover: every open complaint of one agent goes to another (each announced as assigned)."""
    cmd = msg.command
    states = await uow.store.open_complaints(agent_id=cmd.from_agent)
    outcomes = domain.handover(
        states,
        from_agent=cmd.from_agent,
        to_agent=cmd.to_agent,
        actor=cmd.actor,
        at=now,
        policy=policy,
        reason=cmd.reason,
        to_staff=await uow.store.staff(cmd.to_agent),
    )
    if isinstance(outcomes, domain.Refusal):
        return outcomes.reason
    for outcome in outcomes:
        await uow.store.update(outcome.state)
        await _carry_out(uow, outcome, policy, correlation_id=msg.correlation_id)
    log.info("complaints handed over", from_agent=cmd.from_agent, to_agent=cmd.to_agent, complaints=len(outcomes))
    return None


async def staff_upsert(
    uow: UnitOfWork[ComplaintsStore], msg: CommandIn[StaffUpsert], now: datetime, policy: domain.Policy
) -> str | None:
    """staff.upsert: a member of the staff directory escalations follow."""
    cmd = msg.command
    if cmd.supervisor_id == cmd.staff_id:
        return "a staff member cannot be their own supervisor"
    await uow.store.upsert_staff(
        domain.Staff(
            staff_id=cmd.staff_id,
            name=cmd.name,
            role=cmd.role,
            department=cmd.department,
            supervisor_id=cmd.supervisor_id,
            active=cmd.active,
        )
    )
    log.info("staff member recorded", staff_id=cmd.staff_id, role=cmd.role)
    return None


# -- the clock's due items ----------------------------------------------------------------------
async def clock_due(uow: UnitOfWork[ComplaintsStore], item: DueItem, now: datetime, policy: domain.Policy) -> None:
    """A complaint's due item (warning, breach, escalation step, satisfaction follow-up): whatever fell
    due by now is recorded at the instant it fell due — complaint.clock (warning, breached),
    complaint.sla_breached, complaint.escalated naming who must act, a follow-up to the customer or
    complaint.satisfaction_unanswered. The state decides: an item that no longer applies changes nothing."""
    state = await uow.store.get(item.key, lock=True)
    if state is None:
        log.warning("a due item of an unknown complaint", complaint_id=item.key, kind=item.kind)
        return
    directory = await uow.store.directory() if item.kind in domain.ESCALATION_KINDS.values() else {}
    outcome = domain.fire(state, item.kind, now, policy, directory)
    if outcome.changed:
        await uow.store.update(outcome.state)
    await _carry_out(uow, outcome, policy, correlation_id=item.correlation_id, fired=item.kind)
    if outcome.events:
        emitted = [type(e).event_type for e in outcome.events]
        # pid: which replica fired it (every replica runs the scheduler)
        log.info(
            "complaint due item", complaint_id=state.complaint_id, kind=item.kind, emitted=emitted, pid=os.getpid()
        )
