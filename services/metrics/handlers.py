"""Metrics' handlers: an event delivered, a batch absorbed, and the log rebuilt or compacted.

:func:`event_delivered` runs per delivery, before anything is written: it reads the envelope, asks
the domain for the event's record (:func:`domain.record`) and hands it to the batcher, so an event
that breaks the contract is dead-lettered without costing a shared batch its transaction.
:func:`absorb_batch` runs once per batch, in one unit of work: it appends the records to the event
log (whose key is the event id: a redelivered event is not fresh and changes nothing), locks the
states of the entities the fresh ones touch, lets the domain apply them (:class:`domain.Projection`)
and writes the new states and the fact counts that moved — four set-based statements per batch.

:func:`rebuild` recomputes every state and fact count from the log (and what compaction kept of
the rows it deleted); :func:`compact` folds log rows older than a day into that kept part and
deletes them. Neither changes a figure.

:func:`refresh_live` computes the live figures ops alert on and shows them on the Prometheus gauges
(:class:`LiveGauges`), when ``/metrics`` is scraped.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from prometheus_client import CollectorRegistry, Gauge
from prometheus_client import Counter as PromCounter

from shared.contract.events import EVENT_TYPES, Envelope
from shared.runtime import Incoming, Rejected
from shared.uow import UnitOfWork

from . import domain
from .domain import Days, Live, Policy, Projection, Record
from .store import MetricsStore

MAX_REASON = 1000
MAX_LINK_ROUNDS = 20  # chains of linked customer records are short: each round loads the next ring


@dataclass
class Absorbed:
    """An event on its way to the log. ``fresh`` is set by :func:`absorb_batch`: False when the event
    had been logged before (or came twice in the batch)."""

    record: Record
    fresh: bool = False


async def absorb_batch(uow: UnitOfWork[MetricsStore], batch: list[Absorbed], now: datetime, policy: Policy) -> None:
    """Log each event of a batch once, and project the fresh ones. (``now`` decides nothing here: a
    fact's day is its event's own.)"""
    days = Days(policy.tz)
    logged = await uow.store.log([item.record for item in batch], days)
    fresh: list[Record] = []
    for item in batch:
        item.fresh = item.record.event_id in logged
        if item.fresh:
            logged.discard(item.record.event_id)  # the same event twice in one batch: once
            fresh.append(item.record)
    await project(uow.store, fresh, policy)


async def project(store: MetricsStore, records: list[Record], policy: Policy) -> None:
    """Apply fresh records to the states they touch and the fact counts (nothing to do: no statement)."""
    if not records:
        return
    projection = Projection(policy, await store.lock_states(domain.touched(records)))
    for r in records:
        projection.apply(r)
    for _ in range(MAX_LINK_ROUNDS):  # the customer records linked with those touched: their facts are shared
        linked = projection.unloaded()
        if not linked:
            break
        projection.load(linked, await store.lock_states(linked))
    else:
        raise RuntimeError(f"customer records linked more than {MAX_LINK_ROUNDS} deep")
    await store.save_states(projection.changed())
    await store.add_facts(projection.nonzero())


async def event_delivered(
    msg: Incoming,
    policy: Policy,
    submit: Callable[[Absorbed], Awaitable[None]],
    consumed: PromCounter,
) -> None:
    """Every domain event a KPI reads → the event log and the figures (a redelivered event counts once).

    ``submit`` applies an :class:`Absorbed` (with :func:`absorb_batch`) and returns once it has
    committed; ``consumed`` counts each delivery by event type and outcome: counted, duplicate,
    ignored (feeds no KPI, nothing written) or rejected (dead-lettered with the reason).
    """
    try:
        env = msg.parse(Envelope)
    except Rejected:
        consumed.labels("other", "rejected").inc()
        raise
    label = _type_label(env.type)
    found = domain.record(env)
    if found is None:
        consumed.labels(label, "ignored").inc()
        return
    if isinstance(found, domain.Refusal):
        consumed.labels(label, "rejected").inc()
        raise Rejected(found.reason[:MAX_REASON])
    item = Absorbed(found)
    await submit(item)
    consumed.labels(label, "counted" if item.fresh else "duplicate").inc()


def _type_label(event_type: str) -> str:
    """Known types only: the routing key is free text from publishers (bounded label cardinality)."""
    return event_type if event_type in EVENT_TYPES else "other"


# -- rebuild and compaction (ops: python -m services.metrics.rebuild) ---------------------------------
async def rebuild(uow: UnitOfWork[MetricsStore], policy: Policy) -> dict[str, Any]:
    """Recompute every entity state and fact count from the log (and the compacted part), in one
    transaction: readers see the old figures until it commits; live batches wait for it."""
    store = uow.store
    await store.lock_log()
    projection = Projection(policy, await store.all_states("compacted_entity_states"))
    events = 0
    async for chunk in store.records():
        for r in chunk:
            projection.apply(r)
        events += len(chunk)
    counts = await store.all_facts("compacted_kpi_daily")
    counts.update(projection.deltas)  # the events' own facts
    counts.update(domain.facts_of_states(projection.states, policy))  # what the states stand for
    await store.replace_projections(projection.states, counts)
    return {"events": events, "entities": len(projection.states), "facts": sum(1 for n in counts.values() if n)}


async def compact(uow: UnitOfWork[MetricsStore], policy: Policy, before: date) -> dict[str, Any]:
    """Fold the log rows of days before ``before`` into the compacted states and fact counts, then
    delete them. The live states and counts already hold them: no figure changes, and a rebuild
    (which starts from the compacted part) gives the same figures as before."""
    store = uow.store
    await store.lock_log()
    records = [r async for chunk in store.records(before) for r in chunk]
    if not records:
        return {"events": 0, "before": before.isoformat()}
    projection = Projection(policy, await store.lock_states(domain.touched(records), table="compacted_entity_states"))
    for r in records:
        projection.apply(r)
    kept: Counter[domain.Fact] = Counter(projection.deltas)  # the events' own facts (states: recomputed)
    await store.save_states({e: projection.states[e] for e in domain.touched(records)}, table="compacted_entity_states")
    await store.add_facts(kept, table="compacted_kpi_daily")
    deleted = await store.delete_log_before(before)
    await store.note_compaction(before, deleted)
    return {"events": deleted, "before": before.isoformat()}


# -- the live figures ops alert on (Prometheus gauges, refreshed when /metrics is scraped) -------------
@dataclass(frozen=True)
class LiveGauges:
    """Gauges of :class:`domain.Live` (label ``target``: ``acknowledge`` = the formal reply,
    ``resolve`` = the resolution), and of the messages waiting in metrics' queue."""

    compliance: Gauge
    decided: Gauge
    past_due: Gauge
    queued: Gauge

    @classmethod
    def register(cls, registry: CollectorRegistry) -> LiveGauges:
        return cls(
            Gauge(
                "meetdesk_kpi_sla_compliance_today",
                "Share of the SLA targets decided today (venue day) that were met in time; NaN when none was decided",
                ["target"],
                registry=registry,
                multiprocess_mode="mostrecent",  # with --workers N: the latest refresh, not one per process
            ),
            Gauge(
                "meetdesk_kpi_sla_decided_today",
                "SLA targets decided today (venue day): met, or breached, whichever came first",
                ["target"],
                registry=registry,
                multiprocess_mode="mostrecent",  # with --workers N: the latest refresh, not one per process
            ),
            Gauge(
                "meetdesk_kpi_complaints_past_due",
                "Open complaints whose target was breached and has not been met since",
                ["target"],
                registry=registry,
                multiprocess_mode="mostrecent",  # with --workers N: the latest refresh, not one per process
            ),
            Gauge(
                "meetdesk_queue_messages",
                "Messages waiting in the service's queue, not yet delivered (the queue's lag, in messages)",
                ["queue"],
                registry=registry,
                multiprocess_mode="mostrecent",  # with --workers N: the latest refresh, not one per process
            ),
        )

    def show(self, live: Live) -> None:
        for which in domain.SLA_TARGETS:
            compliance = live.compliance_today(which)
            self.compliance.labels(which).set(float("nan") if compliance is None else compliance)
            self.decided.labels(which).set(live.decided_today[which])
            self.past_due.labels(which).set(live.past_due[which])


async def refresh_live(store: MetricsStore, gauges: LiveGauges, now: datetime, policy: Policy) -> Live:
    """Today's SLA compliance (the venue's today) and the complaints past due, onto the gauges."""
    today = now.astimezone(policy.tz).date()
    rows = await store.query(today, today, ())
    totals = domain.kpis(rows, (), now=now.timestamp(), answer_target_seconds=policy.answer_target_seconds)["totals"]
    live = domain.live(totals, await store.breached_complaints())
    gauges.show(live)
    return live
