"""Metrics' handlers: what a delivered event does, and what a batch of them writes.

:func:`event_delivered` runs per delivery, before anything is written: it reads the envelope, asks
the domain which counter increments the event stands for (:func:`domain.facts`) and hands them to the
batcher, so an event that breaks the contract is dead-lettered without costing a shared batch its
transaction. :func:`count_batch` runs once per batch, in one unit of work: it claims each event (a
redelivered event counts nothing), claims the count-once keys the domain names and lets the domain
drop what was counted before (:func:`domain.counted`), and adds the rest through ``uow.store`` in
one statement.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from prometheus_client import Counter

from shared.contract.events import EVENT_TYPES, Envelope
from shared.runtime import Incoming, Rejected
from shared.uow import UnitOfWork

from . import domain
from .domain import Fact, Policy
from .store import MetricsStore

MAX_REASON = 1000


@dataclass
class Counted:
    """An event on its way to the counters: its id and the facts it stands for. ``fresh`` is set by
    :func:`count_batch`: False when the event had been counted before."""

    event_id: uuid.UUID
    facts: list[Fact]
    fresh: bool = False


async def count_batch(uow: UnitOfWork[MetricsStore], batch: list[Counted], now: datetime, policy: Policy) -> None:
    """Claim each event of a batch, then add the facts of those not counted before in one write: the
    counters are locked in key order once per transaction, so concurrent batches queue instead of
    deadlocking. (``now`` and ``policy`` decide nothing here: a fact's day is the event's own.)"""
    facts: list[Fact] = []
    for item in batch:
        item.fresh = await uow.claim(f"event:{item.event_id}")
        if not item.fresh:
            continue
        first_seen = {key: await uow.claim(f"once:{key}") for key in domain.once_keys(item.facts)}
        facts += domain.counted(item.facts, first_seen)
    await uow.store.add_facts(facts)  # nothing to add: no statement


async def event_delivered(
    msg: Incoming,
    policy: Policy,
    submit: Callable[[Counted], Awaitable[None]],
    consumed: Counter,
) -> None:
    """Every domain event → KPI counters (a redelivered event counts once).

    ``submit`` applies a :class:`Counted` (with :func:`count_batch`) and returns once it has
    committed; ``consumed`` counts each delivery by event type and outcome: counted, duplicate,
    ignored (feeds no KPI, nothing written) or rejected (dead-lettered with the reason).
    """
    try:
        env = msg.parse(Envelope)
    except Rejected:
        consumed.labels("other", "rejected").inc()
        raise
    label = _type_label(env.type)
    found = domain.facts(env, policy.tz)
    if isinstance(found, domain.Refusal):
        consumed.labels(label, "rejected").inc()
        raise Rejected(found.reason[:MAX_REASON])
    if not found:
        consumed.labels(label, "ignored").inc()
        return
    item = Counted(env.event_id, found)
    await submit(item)
    consumed.labels(label, "counted" if item.fresh else "duplicate").inc()


def _type_label(event_type: str) -> str:
    """Known types only: the routing key is free text from publishers (bounded label cardinality)."""
    return event_type if event_type in EVENT_TYPES else "other"
