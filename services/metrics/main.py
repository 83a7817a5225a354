"""The metrics service: KPI counters from every domain event.

Consumes everything on ``meetdesk.events`` (queue ``metrics.events``) and adds each event's counter
increments (:func:`domain.facts`) in one transaction with its inbox claim, so a redelivered event
counts once. Emits nothing of its own (only ``message.rejected`` for what it dead-letters). HTTP on
port 8004: ``GET /kpis`` (bearer token: per-agent figures are internal) and Prometheus ``/metrics``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from prometheus_client import Counter
from starlette.requests import Request
from starlette.responses import JSONResponse

from shared.contract.events import EVENT_TYPES, Envelope, MessageRejected
from shared.http import error
from shared.runtime import Incoming, Rejected
from shared.service import Service
from shared.topology import METRICS_EVENTS

from . import domain, store
from .settings import MetricsSettings

svc = Service(
    "metrics",
    description="KPI counters from every domain event; /kpis and Prometheus /metrics.",
    settings=MetricsSettings(),
    store=lambda session: session,
    policy=None,
)
svc.produces(MessageRejected)
app = svc.app

# Prometheus: process-local (one registry per worker process); no customer data in any label.
EVENTS_CONSUMED = Counter(
    "meetdesk_metrics_events",
    "Events consumed by the metrics service, by type and outcome "
    "(counted, duplicate, ignored: feeds no KPI, rejected: dead-lettered)",
    ["type", "outcome"],
    registry=svc.registry,
)


def _type_label(event_type: str) -> str:
    """Known types only: the routing key is free text from publishers (bounded label cardinality)."""
    return event_type if event_type in EVENT_TYPES else "other"


# -- events -------------------------------------------------------------------------------------
@svc.consume(METRICS_EVENTS)
async def on_event(msg: Incoming) -> None:
    """Every domain event → KPI counters (a redelivered event counts once)."""
    try:
        env = msg.parse(Envelope)
    except Rejected:
        EVENTS_CONSUMED.labels("other", "rejected").inc()
        raise
    label = _type_label(env.type)
    try:
        found = domain.facts(env, svc.settings.tz)
    except domain.InvalidEvent as exc:
        EVENTS_CONSUMED.labels(label, "rejected").inc()
        raise Rejected(str(exc)[:1000]) from None
    if not found:
        EVENTS_CONSUMED.labels(label, "ignored").inc()
        return
    item = Counted(env, found)
    await record_in_batch(item)  # returns once committed, in a transaction shared with other events
    EVENTS_CONSUMED.labels(label, "counted" if item.fresh else "duplicate").inc()


@dataclass
class Counted:
    env: Envelope
    facts: list[domain.Fact]
    fresh: bool = False  # set once recorded: False if the event had been counted before


async def record_batch(tx: Any, items: list[Counted]) -> None:
    """Claim each event of a batch, then add all their facts in one statement: the counters are
    locked in key order once per transaction, so concurrent batches queue instead of deadlocking."""
    facts: list[domain.Fact] = []
    for item in items:
        kept = await claim(tx, item.env, item.facts)
        item.fresh = kept is not None
        facts += kept or []
    await store.add_facts(tx.session, facts)


record_in_batch = svc.batched_sets(record_batch)


async def record(tx: Any, env: Envelope, found: list[domain.Fact]) -> bool:
    """Claim the event and add its facts; False if it was already counted."""
    kept = await claim(tx, env, found)
    if kept is None:
        return False
    await store.add_facts(tx.session, kept)
    return True


async def claim(tx: Any, env: Envelope, found: list[domain.Fact]) -> list[domain.Fact] | None:
    """Claim the event; the facts it adds (a fact that counts once for ever is kept only the first
    time), or None if the event was counted before."""
    if not await tx.claim(f"event:{env.event_id}"):
        return None
    first_time: dict[str, bool] = {}
    keep = []
    for fact in found:
        if fact.once is not None:
            if fact.once not in first_time:
                first_time[fact.once] = await tx.claim(f"once:{fact.once}")
            if not first_time[fact.once]:
                continue
        keep.append(fact)
    return keep


# -- HTTP ---------------------------------------------------------------------------------------
async def get_kpis(request: Request) -> JSONResponse:
    """KPI figures for a period, in total and per day / channel / agent / category."""
    params = request.query_params
    group_by = params.get("group_by", "day")
    if group_by not in domain.GROUP_BYS:
        return error(400, f"group_by must be one of {', '.join(domain.GROUP_BYS)}")
    tz = svc.settings.tz
    try:
        start, end = domain.period_range(
            svc.clock.now().astimezone(tz).date(), params.get("period"), params.get("from"), params.get("to")
        )
    except ValueError as exc:
        return error(400, str(exc))
    async with svc.sessions() as session:
        rows = await store.query(session, start, end, group_by)  # type: ignore[arg-type]
    return JSONResponse(
        {
            "from": start.isoformat(),
            "to": end.isoformat(),
            "group_by": group_by,
            "timezone": tz.key,
            **domain.kpis(rows, group_by),  # type: ignore[arg-type]
        }
    )


svc.route("/kpis", get_kpis, protected=True)
