"""Intake's handlers: a delivery read and understood, then the deliveries in flight applied together.

Two steps, because intake's hot path shares its transactions. :func:`read` turns one delivery into
items — adapter, size limit, correlation id, identities, understanding — outside any transaction
(pure work: a refusal dead-letters that message alone and costs no batch a replay). :func:`apply`
applies a batch of items in one unit of work: it loads what the batch needs through ``uow.store`` in
a few set-based statements, decides item by item in delivery order (``domain.py``,
``directory.py``), writes the outcome back and emits the events; an acknowledgement goes out only
when its route's slot is claimed (at most one per address per ``MEETDESK_ACKNOWLEDGE_EVERY_MINUTES``).
``main.py`` wires them: :func:`receive` per delivery, :func:`apply` through ``svc.batched``.

Intake also learns what booking asks the customer: :func:`reminder_due` takes ``booking.reminder_due``
from ``intake.events`` (through ``svc.on_events``) and records the question awaiting the customer's
answer on the route they were reminded on, which :func:`apply` then reads the customer's messages against.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime

import structlog

from shared.contract.desk import (
    CallbackAssign,
    CallbackRecord,
    ConversationAssign,
    CustomerBook,
    CustomerLink,
    CustomerUnlink,
    DeskHandedOver,
    DeskHandover,
    InquiryComplete,
)
from shared.contract.events import BookingReminderDue, CallMissed, NotificationRequested
from shared.logs import get_logger
from shared.messages import CommandIn, EventIn
from shared.runtime import Incoming, Rejected, derive_uuid
from shared.scheduler import DueItem
from shared.uow import UnitOfWork

from . import desk, domain
from .adapters import ADAPTERS
from .directory import Directory, Resolution
from .domain import Item, Policy
from .store import IntakeStore

log = get_logger(__name__)

Submit = Callable[[Item], Awaitable[None]]


async def receive(msg: Incoming, now: datetime, policy: Policy, submit: Submit) -> None:
    """A channel's native payload: its items, each handed to ``submit`` (the batch it joins) with
    the delivery's correlation id bound to the logs; returns once they are committed."""
    for item in read(msg, now, policy):
        with structlog.contextvars.bound_contextvars(correlation_id=str(item.correlation_id)):
            await submit(item)


def read(msg: Incoming, now: datetime, policy: Policy) -> list[Item]:
    """The items of one delivery (routing key = channel), or :class:`Rejected` with the reason; an
    empty list for a payload that is acknowledged and ignored (e.g. a Chatwoot private note)."""
    adapter = ADAPTERS.get(msg.routing_key)
    if adapter is None:
        raise Rejected(f"unknown channel {msg.routing_key!r}; known: {', '.join(sorted(ADAPTERS))}")
    limit = policy.limits[msg.routing_key]
    if len(msg.body) > limit:
        raise Rejected(f"{msg.routing_key} message of {len(msg.body)} bytes is over the channel's limit of {limit}")
    normalised = adapter(msg, policy.context)
    if not normalised:
        return []
    # one customer message → one correlation id for everything it causes, stable across redeliveries
    correlation_id = (
        msg.correlation_id
        if msg.correlation_given
        else derive_uuid("inbound", msg.routing_key, normalised[0].source_ref)
    )
    return [domain.prepare(n, correlation_id, now, policy) for n in normalised]


async def apply(uow: UnitOfWork[IntakeStore], batch: list[Item], now: datetime, policy: Policy) -> None:
    """Apply the deliveries in flight in one transaction: load what the batch needs, decide item by
    item in delivery order (an item sees what the ones before it did: a customer created, a message
    answered), write the outcome, emit the events. A delivery seen before — in an earlier batch or
    earlier in this one — changes nothing and emits nothing. A message that answers a question
    awaiting on its route (the reminder's confirm / cancel / change) sends the command it implies,
    and the question is closed. ``now`` completes the handler shape: the items carry their own times."""
    store = uow.store
    domain.place(batch, await store.conversations_of_refs(domain.thread_refs(batch)))
    first_seen = await store.record_deliveries([domain.delivery(w) for w in batch])
    fresh, repeats = domain.first_deliveries(batch, first_seen)
    for w in repeats:
        log.info("repeat delivery ignored", channel=w.n.channel, kind=w.n.kind, correlation_id=str(w.correlation_id))
    if not fresh:
        return
    await store.add_message_refs(domain.message_refs(fresh))

    people = [w for w in fresh if w.n.kind != "status_change" and w.n.kind not in domain.REPORTS]
    reports = [w for w in fresh if w.n.kind in domain.REPORTS]
    directory = Directory(await store.known_identities([i for w in people + reports for i in w.identities]))
    owners = {w: directory.owner(w.identities) for w in reports}  # found, never created, for a bounce
    who: dict[Item, Resolution] = {w: directory.resolve(w.name, w.identities) for w in people}
    await store.add_customers(directory.new_customers, directory.new_identities)

    conversations = await store.lock_conversations(domain.opened(fresh))
    # last of the locks a batch takes (conversations before them, both in key order): no deadlock
    questions = await store.lock_questions(domain.answer_routes(fresh))
    answered = domain.answers(fresh, questions, policy.answer_within)
    inquiries: list[domain.Inquiry] = []
    acks: list[tuple[Item, NotificationRequested]] = []
    domains = policy.context.agent_email_domains
    for w in fresh:
        answer = answered.get(w)
        conversation = conversations.get(w.conversation_id)
        decision = domain.decide(w, conversation, who.get(w), answer, owner=owners.get(w), domains=domains)
        for event in decision.events:
            uow.emit(event, correlation_id=w.correlation_id)
        if decision.command is not None:
            uow.send(decision.command, correlation_id=w.correlation_id)
        if decision.inquiry is not None:
            inquiries.append(decision.inquiry)
        if decision.acknowledgement is not None:
            acks.append((w, decision.acknowledgement))
        if answer is not None:
            log.info(
                "answer to a question",
                reply=answer.reply,
                question=answer.question.question,
                booking_id=answer.question.booking_id,
                asked_correlation_id=answer.question.correlation_id,
                correlation_id=str(w.correlation_id),
            )
    # at most one acknowledgement per route in the period: each route's slot claimed in one statement
    won = await store.claim_acknowledgements(domain.acknowledgements(acks, now), policy.acknowledge_every)
    for w, ack in domain.granted(acks, won):
        uow.emit(ack, correlation_id=w.correlation_id)
    await store.save_conversations(conversations.values())
    await store.record_inquiries(inquiries)
    await store.clear_questions([a.question for a in answered.values()])


# -- what booking asks the customer ------------------------------------------------------------------
async def reminder_due(
    uow: UnitOfWork[IntakeStore], msg: EventIn[BookingReminderDue], now: datetime, policy: Policy
) -> None:
    """The day-before reminder awaits the customer's answer (confirm / cancel / change) on its reply route.

    The route the customer was reminded on (``reply_to``) awaits the answer about the booking from the
    time the reminder was made (the event's ``occurred_at``); the latest question on a route wins. A
    reminder without a reply route, or on a channel intake reads no answers from, asks nothing."""
    question = domain.question_of(msg.data, asked_at=msg.envelope.occurred_at, correlation_id=msg.correlation_id)
    if question is None:
        route = msg.data.reply_to
        log.info(
            "a reminder asks nothing intake can read the answer to",
            booking_id=msg.data.booking_id,
            channel=route.channel if route else None,
        )
        return
    await uow.store.ask(question)


# -- the desk (issue 15): one function per command, the missed call, the call-back's reminder ---------
async def conversation_assign(
    uow: UnitOfWork[IntakeStore], msg: CommandIn[ConversationAssign], now: datetime, policy: Policy
) -> str | None:
    """conversation.assign → conversation.assigned (nothing when it is the agent's already)."""
    cmd = msg.command
    conversation = await uow.store.conversation_desk(cmd.conversation_id, lock=True)
    change = desk.assign_conversation(conversation, cmd.conversation_id, cmd.agent_id, actor=cmd.actor)
    if isinstance(change, desk.Refusal):
        return change.reason
    if change is not None:
        await uow.store.assign_conversation(cmd.conversation_id, cmd.agent_id, now)
        uow.emit(change, correlation_id=msg.correlation_id)
    return None


async def callback_assign(
    uow: UnitOfWork[IntakeStore], msg: CommandIn[CallbackAssign], now: datetime, policy: Policy
) -> str | None:
    """callback.assign → callback.assigned (refused once the call-back is done)."""
    cmd = msg.command
    cb = await _callback(uow, cmd.callback_id)
    change = desk.assign_callback(cb, cmd.callback_id, cmd.agent_id, actor=cmd.actor)
    if isinstance(change, desk.Refusal):
        return change.reason
    if change is not None:
        after, event = change
        await uow.store.save_callback(after)
        uow.emit(event, correlation_id=msg.correlation_id)
    return None


async def callback_record(
    uow: UnitOfWork[IntakeStore], msg: CommandIn[CallbackRecord], now: datetime, policy: Policy
) -> str | None:
    """callback.record → callback.recorded; a call-back done has no more reminders, one still open
    is reminded again MEETDESK_CALLBACK_REMIND_MINUTES from now."""
    cmd = msg.command
    cb = await _callback(uow, cmd.callback_id)
    change = desk.record_callback(
        cb, cmd.callback_id, cmd.outcome, cmd.note, actor=cmd.actor, now=now, every=policy.callback_remind
    )
    if isinstance(change, desk.Refusal):
        return change.reason
    after, event = change
    await uow.store.save_callback(after)
    key = str(after.callback_id)
    if after.remind_at is None:
        await uow.cancel(desk.CALLBACK_REMIND, key)
        # the call-back answered the missed call: its conversation no longer awaits a reply
        await uow.store.answered(desk.call_conversation(after.call_id))
    else:
        await uow.schedule(desk.CALLBACK_REMIND, key, after.remind_at, correlation_id=after.correlation_id)
    uow.emit(event, correlation_id=msg.correlation_id)
    return None


async def inquiry_complete(
    uow: UnitOfWork[IntakeStore], msg: CommandIn[InquiryComplete], now: datetime, policy: Policy
) -> str | None:
    """inquiry.complete → booking.requested for the original inquiry (its customer, channel, language,
    reply route and correlation id; the agent named) and inquiry.completed."""
    cmd = msg.command
    inquiry_id = _uuid(cmd.inquiry_id)
    inquiry = await uow.store.inquiry_desk(inquiry_id, lock=True) if inquiry_id else None
    change = desk.complete_inquiry(
        inquiry, cmd.inquiry_id, cmd.meeting, wait_if_taken=cmd.wait_if_taken, actor=cmd.actor
    )
    if isinstance(change, desk.Refusal):
        return change.reason
    assert inquiry is not None
    requested, completed = change
    await uow.store.complete_inquiry(inquiry.inquiry_id, cmd.actor, now)
    correlation_id = _uuid(inquiry.correlation_id) or msg.correlation_id  # the customer's message's
    uow.emit(requested, correlation_id=correlation_id)
    uow.emit(completed, correlation_id=correlation_id)
    return None


async def customer_book(
    uow: UnitOfWork[IntakeStore], msg: CommandIn[CustomerBook], now: datetime, policy: Policy
) -> str | None:
    """customer.book → booking.requested for a known customer (a new inquiry id derived from the command's,
    their reply route, the agent named); with no route at all, booked all the same and reply_to null."""
    cmd = msg.command
    customer_id = _uuid(cmd.customer_id)
    reach = await uow.store.customer_reach(customer_id) if customer_id else None
    change = desk.book_for_customer(
        reach,
        cmd.customer_id,
        cmd.meeting,
        inquiry_id=derive_uuid("customer.book", cmd.command_id),
        reply_channel=cmd.reply_channel,
        language=cmd.language,
        wait_if_taken=cmd.wait_if_taken,
        actor=cmd.actor,
    )
    if isinstance(change, desk.Refusal):
        return change.reason
    if change.reply_to is None:
        log.info(
            "booked for a customer with no reply route: the agent tells them",
            customer_id=change.customer_id,
            inquiry_id=change.inquiry_id,
        )
    uow.emit(change, correlation_id=msg.correlation_id)
    return None


async def _the_pair(uow: UnitOfWork[IntakeStore], one: str, other: str) -> tuple[set[uuid.UUID], list[desk.Link]]:
    """Two customer records a link is about, locked (in key order), and the links between them, ever."""
    ids = [i for i in (_uuid(one), _uuid(other)) if i is not None]
    known = await uow.store.lock_customers(ids)
    return known, (await uow.store.links_of(ids) if ids else [])


async def customer_link(
    uow: UnitOfWork[IntakeStore], msg: CommandIn[CustomerLink], now: datetime, policy: Policy
) -> str | None:
    """customer.link → customer.linked (the other record named as a ``customer_id`` identity)."""
    cmd = msg.command
    known, links = await _the_pair(uow, cmd.customer_id, cmd.other_customer_id)
    change = desk.link(
        cmd.customer_id, cmd.other_customer_id, known, links, reason=cmd.reason, actor=cmd.actor, now=now
    )
    if isinstance(change, desk.Refusal):
        return change.reason
    new, event = change
    await uow.store.add_link(new)
    uow.emit(event, correlation_id=msg.correlation_id)
    return None


async def customer_unlink(
    uow: UnitOfWork[IntakeStore], msg: CommandIn[CustomerUnlink], now: datetime, policy: Policy
) -> str | None:
    """customer.unlink → customer.unlinked; the link stays in the history, marked undone."""
    cmd = msg.command
    _, links = await _the_pair(uow, cmd.customer_id, cmd.other_customer_id)
    change = desk.unlink(cmd.customer_id, cmd.other_customer_id, links, reason=cmd.reason, actor=cmd.actor, now=now)
    if isinstance(change, desk.Refusal):
        return change.reason
    undone, event = change
    await uow.store.end_link(undone)
    uow.emit(event, correlation_id=msg.correlation_id)
    return None


async def desk_handover(
    uow: UnitOfWork[IntakeStore], msg: CommandIn[DeskHandover], now: datetime, policy: Policy
) -> str | None:
    """desk.handover → every open conversation and open call-back of one agent is another's; desk.handed_over."""
    cmd = msg.command
    refusal = desk.check_handover(cmd.from_agent, cmd.to_agent)
    if refusal is not None:
        return refusal.reason
    conversations, callbacks = await uow.store.hand_over(cmd.from_agent, cmd.to_agent, now)
    uow.emit(
        DeskHandedOver(
            from_agent=cmd.from_agent,
            to_agent=cmd.to_agent,
            conversations=conversations,
            callbacks=callbacks,
            reason=cmd.reason,
            actor=cmd.actor,
        ),
        correlation_id=msg.correlation_id,
    )
    return None


async def call_missed(uow: UnitOfWork[IntakeStore], msg: EventIn[CallMissed], now: datetime, policy: Policy) -> None:
    """call.missed → a call-back task (one per call), callback.opened, and its reminder scheduled."""
    cb, opened = desk.callback_for(msg.data, correlation_id=msg.correlation_id, every=policy.callback_remind)
    if not await uow.store.open_callback(cb):
        return  # the call has its call-back already
    assert cb.remind_at is not None
    await uow.schedule(desk.CALLBACK_REMIND, str(cb.callback_id), cb.remind_at, correlation_id=msg.correlation_id)
    uow.emit(opened, correlation_id=msg.correlation_id)


async def callback_remind_due(uow: UnitOfWork[IntakeStore], item: DueItem, now: datetime, policy: Policy) -> None:
    """Due item callback.remind → callback.reminder for a call-back still open, and the next one
    MEETDESK_CALLBACK_REMIND_MINUTES later; nothing for one done."""
    callback_id = _uuid(item.key)
    cb = await uow.store.callback(callback_id, lock=True) if callback_id else None
    change = desk.remind_callback(cb, now=now, every=policy.callback_remind)
    if change is None:
        log.info("call-back reminder dropped: done or gone", callback_id=item.key)
        return
    after, event = change
    await uow.store.save_callback(after)
    assert after.remind_at is not None
    await uow.schedule(desk.CALLBACK_REMIND, item.key, after.remind_at, correlation_id=after.correlation_id)
    uow.emit(event, correlation_id=item.correlation_id)


async def _callback(uow: UnitOfWork[IntakeStore], raw: str) -> desk.Callback | None:
    callback_id = _uuid(raw)
    return await uow.store.callback(callback_id, lock=True) if callback_id else None


def _uuid(raw: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(raw) if raw else None
    except ValueError:
        return None
