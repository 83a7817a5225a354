"""The metrics service: an event log of every event a KPI reads, and the figures projected from it
(wiring only).

Consumes everything on ``meetdesk.events`` (queue ``metrics.events``): each delivery becomes a record
(:func:`handlers.event_delivered`); the deliveries in flight together are logged and projected in one
shared transaction (:func:`handlers.absorb_batch`), so a redelivered event counts once. Emits nothing
of its own (only ``message.rejected`` for what it dead-letters). HTTP on port 8004 (bearer token:
per-agent figures are internal): ``GET /kpis``, ``GET /kpis.csv``, ``GET /scorecard``; ``GET /dashboard``
(a page drawing /kpis' figures) and Prometheus
``/metrics`` (with gauges of the live figures ops alert on, refreshed at each scrape).
``python -m services.metrics.rebuild`` recomputes the figures from the log.
"""

from __future__ import annotations

import asyncio
import csv
import io
from typing import Any

from prometheus_client import Counter
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from shared.contract.events import MessageRejected
from shared.http import error
from shared.logs import get_logger
from shared.runtime import Incoming
from shared.service import Service
from shared.topology import METRICS_EVENTS

from . import dashboard, domain, handlers
from .settings import MetricsSettings
from .store import MetricsStore

settings = MetricsSettings()
svc = Service(
    "metrics",
    description="An event log of every event a KPI reads; the KPIs projected from it: /kpis, /kpis.csv, "
    "/scorecard and Prometheus /metrics.",
    settings=settings,
    store=MetricsStore,
    policy=settings.policy(),
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
LIVE = handlers.LiveGauges.register(svc.registry)
LIVE_REFRESH_SECONDS = 5.0
log = get_logger(__name__)


# -- events -------------------------------------------------------------------------------------
absorb_in_batch = svc.batched(handlers.absorb_batch)


@svc.consume(METRICS_EVENTS)
async def on_event(msg: Incoming) -> None:
    """Every domain event a KPI reads → the event log and the figures (a redelivered event counts once)."""
    await handlers.event_delivered(msg, svc.policy, absorb_in_batch, EVENTS_CONSUMED)


# -- HTTP ---------------------------------------------------------------------------------------
async def _report(start: Any, end: Any, group_by: tuple[str, ...]) -> dict[str, Any]:
    assert svc.sessions is not None, "the service has not started"
    async with svc.sessions() as conn, conn.begin():
        rows, summaries = await MetricsStore(conn).report(start, end, group_by)
    now = svc.clock.now()
    return {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "group_by": ",".join(group_by),
        "timezone": svc.policy.tz.key,
        "as_of": now.isoformat(),
        **domain.kpis(
            rows,
            group_by,
            now=now.timestamp(),
            answer_target_seconds=svc.policy.answer_target_seconds,
            summaries=summaries,
        ),
    }


async def _kpis(request: Request) -> dict[str, Any] | JSONResponse:
    params = request.query_params
    try:
        group_by = domain.parse_group_by(params.get("group_by"))
        start, end = domain.period_range(
            svc.clock.now().astimezone(svc.policy.tz).date(), params.get("period"), params.get("from"), params.get("to")
        )
    except ValueError as exc:
        return error(400, str(exc))
    return await _report(start, end, group_by)


async def get_kpis(request: Request) -> Response:
    """KPI figures for a period, in total and per day / week / month / quarter / channel / agent /
    category / room, or two of those at once (``group_by=agent,category``)."""
    report = await _kpis(request)
    return report if isinstance(report, Response) else JSONResponse(report)


async def get_kpis_csv(request: Request) -> Response:
    """The same figures as /kpis, one row per group after a row of totals (columns ``a.b.c``)."""
    report = await _kpis(request)
    if isinstance(report, Response):
        return report
    group_by = report["group_by"].split(",")
    rows = [{"scope": "total", **dict.fromkeys(group_by, ""), **domain.flatten(report["totals"])}]
    for group in report["groups"]:
        keys = group["key"] if isinstance(group["key"], list) else [group["key"]]
        figures = {k: v for k, v in group.items() if k != "key"}
        rows.append({"scope": "group", **dict(zip(group_by, keys, strict=True)), **domain.flatten(figures)})
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: "" if v is None else v for k, v in row.items()} for row in rows)
    name = f"kpis-{report['from']}-{report['to']}.csv"
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'inline; filename="{name}"'},
    )


async def get_scorecard(request: Request) -> Response:
    """The agent scorecard of a calendar month or quarter (``period=month|quarter``, ``from``: a day in
    it, default today): one row per agent with every KPI of the review and the satisfaction grade."""
    params = request.query_params
    try:
        start, end = domain.review_period(
            svc.clock.now().astimezone(svc.policy.tz).date(), params.get("period"), params.get("from")
        )
    except ValueError as exc:
        return error(400, str(exc))
    report = await _report(start, end, ("agent",))
    return JSONResponse(
        {
            "period": params.get("period") or "month",
            "from": report["from"],
            "to": report["to"],
            "timezone": report["timezone"],
            "as_of": report["as_of"],
            "phone_answer_target_seconds": svc.policy.answer_target_seconds,
            "agents": [domain.scorecard_row(g["key"], g) for g in report["groups"] if g["key"] is not None],
            "team": domain.scorecard_row("(all)", report["totals"]),
        }
    )


svc.route("/kpis", get_kpis, protected=True)
svc.route("/kpis.csv", get_kpis_csv, protected=True)
svc.route("/scorecard", get_scorecard, protected=True)


async def get_dashboard(request: Request) -> Response:
    """The dashboard page: today at a glance, trends over weeks, SLA compliance, satisfaction by agent,
    complaints by category. It holds no figure of its own (its script reads /kpis with the token
    given after ``#token=`` in its address), so it needs no token itself."""
    return HTMLResponse(
        dashboard.PAGE,
        headers={
            "Content-Security-Policy": dashboard.CONTENT_SECURITY_POLICY,
            "Cache-Control": "no-store",
            "Referrer-Policy": "no-referrer",
            "X-Content-Type-Options": "nosniff",
        },
    )


svc.route("/dashboard", get_dashboard)


# -- Prometheus: the live figures, refreshed when /metrics is scraped ----------------------------------
async def refresh_live() -> None:
    """SLA compliance today, complaints past due and the queue's depth onto the gauges; on failure
    (the database or the broker away) the gauges keep their last values and the scrape still answers."""
    try:
        async with asyncio.timeout(LIVE_REFRESH_SECONDS):
            assert svc.sessions is not None, "the service has not started"
            async with svc.sessions() as conn, conn.begin():
                await handlers.refresh_live(MetricsStore(conn), LIVE, svc.clock.now(), svc.policy)
            for queue, (messages, _) in (await svc.publisher.queue_counts([METRICS_EVENTS.name])).items():
                LIVE.queued.labels(queue).set(messages)
    except Exception as exc:
        log.warning("live figures not refreshed", error=type(exc).__name__)


svc.on_scrape(refresh_live)
