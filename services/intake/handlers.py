"""Intake's handlers: a delivery read and understood, then the deliveries in flight applied together.

Two steps, because intake's hot path shares its transactions. :func:`read` turns one delivery into
items — adapter, size limit, correlation id, identities, understanding — outside any transaction
(pure work: a refusal dead-letters that message alone and costs no batch a replay). :func:`apply`
applies a batch of items in one unit of work: it loads what the batch needs through ``uow.store`` in
a few set-based statements, decides item by item in delivery order (``domain.py``,
``directory.py``), writes the outcome back and emits the events. ``main.py`` wires them:
:func:`receive` per delivery, :func:`apply` through ``svc.batched``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

import structlog

from shared.logs import get_logger
from shared.runtime import Incoming, Rejected, derive_uuid
from shared.uow import UnitOfWork

from . import domain
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
    earlier in this one — changes nothing and emits nothing. ``now`` and ``policy`` complete the
    handler shape; the items carry their own times and were read with the policy (:func:`read`)."""
    store = uow.store
    domain.place(batch, await store.conversations_of_refs(domain.thread_refs(batch)))
    first_seen = await store.record_deliveries([domain.delivery(w) for w in batch])
    fresh, repeats = domain.first_deliveries(batch, first_seen)
    for w in repeats:
        log.info("repeat delivery ignored", channel=w.n.channel, kind=w.n.kind, correlation_id=str(w.correlation_id))
    if not fresh:
        return
    await store.add_message_refs(domain.message_refs(fresh))

    people = [w for w in fresh if w.n.kind != "status_change"]
    directory = Directory(await store.known_identities([i for w in people for i in w.identities]))
    who: dict[Item, Resolution] = {w: directory.resolve(w.name, w.identities) for w in people}
    await store.add_customers(directory.new_customers, directory.new_identities)

    conversations = await store.lock_conversations(domain.opened(fresh))
    inquiries: list[domain.Inquiry] = []
    for w in fresh:
        decision = domain.decide(w, conversations[w.conversation_id], who.get(w))
        for event in decision.events:
            uow.emit(event, correlation_id=w.correlation_id)
        if decision.inquiry is not None:
            inquiries.append(decision.inquiry)
    await store.save_conversations(conversations.values())
    await store.record_inquiries(inquiries)
