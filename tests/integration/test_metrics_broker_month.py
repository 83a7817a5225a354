"""The generated month through the broker: every event published to metrics' queue on the real RabbitMQ,
consumed by a real metrics process (``faststream run``, its subscriber, batcher and database, its clock
at ``NOW``, the desk's business hours in its environment) — and every KPI of /kpis over HTTP equals the
plain computation of tests/integration/test_metrics_month.py.

The events are the other services' output (generated), so they go to ``metrics.events`` itself (the
default exchange), not through ``meetdesk.events``: intake, booking and complaints, bound there in the
running system, must not act on a month of invented traffic. The system's own metrics process steps
aside meanwhile (one consumer on the queue) and comes back after.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aio_pika
import asyncpg
import httpx
import pytest

from services.metrics import domain
from shared.contract.events import Envelope
from shared.topology import METRICS_EVENTS

from ..conftest import System
from ..servers import Servers
from ..system import API_TOKEN, DB_PREFIX, ServiceProcess, fresh_database
from ..unit.metrics_traffic import Traffic
from .test_metrics_month import BUSINESS_HOURS_SETTING, MONTH, NOW, Expected, differences

pytestmark = pytest.mark.integration


async def publish(servers: Servers, events: list[Envelope]) -> None:
    """Persistent, with the event id as message id, confirmed (many in flight), straight to metrics' queue."""
    conn = await aio_pika.connect(servers.amqp_url)
    try:
        ch = await conn.channel()
        for i in range(0, len(events), 500):
            await asyncio.gather(
                *(
                    ch.default_exchange.publish(
                        aio_pika.Message(
                            e.to_bytes(), message_id=str(e.event_id), delivery_mode=2, content_type="application/json"
                        ),
                        routing_key=METRICS_EVENTS.name,
                    )
                    for e in events[i : i + 500]
                )
            )
    finally:
        await conn.close()


async def logged(servers: Servers, expected: int, timeout: float = 60) -> None:
    db = await asyncpg.connect(servers.database_url(DB_PREFIX + "metrics_broker_month").replace("+asyncpg", ""))
    try:
        deadline = time.monotonic() + timeout
        while (n := await db.fetchval("SELECT count(*) FROM event_log")) < expected:
            assert time.monotonic() < deadline, f"{expected - n} of {expected} events not absorbed"
            await asyncio.sleep(0.1)
    finally:
        await db.close()


async def test_a_month_published_through_the_broker_gives_every_kpi_of_the_plain_computation(
    system: System, servers: Servers, tmp_path: Path
):
    traffic = Traffic(seed=2026, start=MONTH[0], days=28, now=NOW, per_day=24)
    ends = [m.end for m in traffic.facts.meetings]
    assert not [e for e in ends if NOW < e <= NOW + timedelta(minutes=10)]  # the clock may run on while we test
    clock = tmp_path / "clock-offset"
    clock.write_text(f"{(NOW - datetime.now(UTC)).total_seconds()}\n")
    await fresh_database(servers, "meetdesk_test_metrics_broker_month", "metrics")
    ours = ServiceProcess(
        "metrics", servers, tmp_path, db_suffix="_broker_month", clock_file=clock,
        extra_env={"MEETDESK_VENUE_TIMEZONE": "Asia/Hong_Kong", "MEETDESK_BUSINESS_HOURS": json.dumps(
            BUSINESS_HOURS_SETTING)},
    )  # fmt: skip
    theirs = system.services["metrics"]
    theirs.stop()
    try:
        ours.start()
        await ours.wait_ready()
        t0 = time.perf_counter()
        await publish(servers, traffic.events)
        await logged(servers, sum(1 for e in traffic.events if e.type in domain.LOGGED_TYPES))
        absorbed = time.perf_counter() - t0
        async with httpx.AsyncClient(
            base_url=ours.url, headers={"Authorization": f"Bearer {API_TOKEN}"}, timeout=30
        ) as http:

            async def kpis(group_by: str) -> dict:
                params = {"from": MONTH[0].isoformat(), "to": MONTH[1].isoformat(), "group_by": group_by}
                r = await http.get("/kpis", params=params)
                assert r.status_code == 200, r.text
                return r.json()

            await check(kpis, traffic)
    finally:
        ours.stop()
        theirs.start()
        await theirs.wait_ready()
    print(f"{len(traffic.events)} events published and absorbed in {absorbed:.1f} s")


async def check(kpis: Callable[[str], object], traffic: Traffic) -> None:
    body: dict = await kpis("day")  # type: ignore[assignment]
    diffs = differences(body["totals"], Expected(traffic.facts, {}).figures())
    assert not diffs, "\n".join(diffs)
    assert body["totals"]["first_response_business"]["replies"] > 0 and body["totals"]["phone"]["callbacks"] > 0
    for dims in (("agent",), ("cause",)):
        grouped: dict = await kpis(",".join(dims))  # type: ignore[assignment]
        assert len(grouped["groups"]) > 1
        for group in grouped["groups"]:
            keys = group["key"] if isinstance(group["key"], list) else [group["key"]]
            diffs = differences(group, Expected(traffic.facts, dict(zip(dims, keys, strict=True))).figures())
            assert not diffs, f"group {group['key']}:\n" + "\n".join(diffs)
