"""The metrics service: KPI counters from every domain event (wiring only).

Consumes everything on ``meetdesk.events`` (queue ``metrics.events``): each delivery is turned into
counter increments (:func:`handlers.event_delivered`), which deliveries in flight together add in one
shared transaction with their inbox claims (:func:`handlers.count_batch`), so a redelivered event
counts once. Emits nothing of its own (only ``message.rejected`` for what it dead-letters). HTTP on
port 8004: ``GET /kpis`` (bearer token: per-agent figures are internal) and Prometheus ``/metrics``.
"""

from __future__ import annotations

from prometheus_client import Counter
from starlette.requests import Request
from starlette.responses import JSONResponse

from shared.contract.events import MessageRejected
from shared.http import error
from shared.runtime import Incoming
from shared.service import Service
from shared.topology import METRICS_EVENTS

from . import domain, handlers
from .settings import MetricsSettings
from .store import MetricsStore

settings = MetricsSettings()
svc = Service(
    "metrics",
    description="KPI counters from every domain event; /kpis and Prometheus /metrics.",
    settings=settings,
    store=MetricsStore,
    policy=domain.Policy(tz=settings.tz),
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


# -- events -------------------------------------------------------------------------------------
count_in_batch = svc.batched(handlers.count_batch)


@svc.consume(METRICS_EVENTS)
async def on_event(msg: Incoming) -> None:
    """Every domain event → KPI counters (a redelivered event counts once)."""
    await handlers.event_delivered(msg, svc.policy, count_in_batch, EVENTS_CONSUMED)


# -- HTTP ---------------------------------------------------------------------------------------
async def get_kpis(request: Request) -> JSONResponse:
    """KPI figures for a period, in total and per day / channel / agent / category."""
    params = request.query_params
    group_by = params.get("group_by", "day")
    if group_by not in domain.GROUP_BYS:
        return error(400, f"group_by must be one of {', '.join(domain.GROUP_BYS)}")
    tz = svc.policy.tz
    try:
        start, end = domain.period_range(
            domain.local_day(svc.clock.now(), tz), params.get("period"), params.get("from"), params.get("to")
        )
    except ValueError as exc:
        return error(400, str(exc))
    assert svc.sessions is not None, "the service has not started"
    async with svc.sessions() as conn:
        rows = await MetricsStore(conn).query(start, end, group_by)  # type: ignore[arg-type]
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
