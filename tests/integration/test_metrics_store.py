"""Metrics' store against a real PostgreSQL: the event log's key, concurrent batches on shared states and
counts, the queries (the unit tests' fake answers alike), the HTTP routes and the rebuild command.

The servers come from ``tests/servers.py`` like every integration test's; the database
``meetdesk_test_metrics_store`` is dropped and migrated afresh. No database: the tests fail, never skip.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from services.metrics import domain, handlers
from services.metrics.domain import Days, Policy
from services.metrics.handlers import Absorbed
from services.metrics.store import DAILY_COLUMNS, MetricsStore
from shared.clock import FixedClock
from shared.contract.events import (
    BookingConfirmed,
    ComplaintClock,
    ComplaintRegistered,
    ComplaintStatusChanged,
    Envelope,
    EventData,
    FeedbackReceived,
    make_event,
)
from shared.db import make_engine, make_sessionmaker
from shared.migrate import migrate
from shared.uow import Transaction

from ..servers import Servers
from ..system import ROOT, fresh_database
from ..unit.metrics_fakes import FakeMetricsStore
from ..unit.metrics_traffic import HK, Traffic

pytestmark = pytest.mark.integration

DB_NAME = "meetdesk_test_metrics_store"
POLICY = Policy(tz=HK)
AT = datetime(2026, 3, 1, 4, 0, tzinfo=UTC)
D1 = date(2026, 3, 1)


@pytest.fixture(scope="module")
async def engine(servers: Servers) -> AsyncIterator[AsyncEngine]:
    url = await fresh_database(servers, DB_NAME, "metrics")
    await asyncio.to_thread(migrate, "metrics", url)  # a second run is a no-op
    eng = make_engine(url, pool_size=10)
    try:
        yield eng
    finally:
        await eng.dispose()


@pytest.fixture
async def db(engine: AsyncEngine) -> AsyncEngine:
    async with engine.begin() as conn:
        await conn.execute(
            sa.text(
                "TRUNCATE event_log, entity_states, kpi_daily, kpi_by_day, kpi_day_values, compacted_entity_states,"
                " compacted_kpi_daily, inbox"
            )
        )
    return engine


def event(data: EventData, at: datetime = AT) -> Envelope:
    return make_event(data, producer="test", correlation_id=uuid.uuid4(), occurred_at=at)


def absorbed(env: Envelope) -> Absorbed:
    found = domain.record(env)
    assert isinstance(found, domain.Record)
    return Absorbed(found)


async def absorb(engine: AsyncEngine, items: list[Absorbed]) -> None:
    """One batch in one unit of work on the real database, as the batcher runs it."""
    async with engine.connect() as conn, conn.begin():
        await handlers.absorb_batch(Transaction(conn, MetricsStore(conn), "metrics", AT), items, AT, POLICY)


async def counts(engine: AsyncEngine) -> dict[tuple[Any, ...], int]:
    async with engine.connect() as conn:
        rows = (await conn.execute(sa.text(f"SELECT {', '.join(DAILY_COLUMNS)} FROM kpi_daily WHERE count <> 0"))).all()
        by_day = (
            await conn.execute(sa.text("SELECT day, metric, value, count FROM kpi_by_day WHERE count <> 0"))
        ).all()
    daily = {tuple(r[:-1]): r[-1] for r in rows}
    summed: Counter[tuple[Any, ...]] = Counter()
    for key, n in daily.items():
        summed[(key[0], key[1], key[-1])] += n
    # what /kpis reads when it groups by time only is always kpi_daily summed over its dimensions
    assert {tuple(r[:-1]): r[-1] for r in by_day} == {k: n for k, n in summed.items() if n}
    return daily


async def states(engine: AsyncEngine) -> dict[str, Any]:
    async with engine.connect() as conn:
        rows = (await conn.execute(sa.text("SELECT entity, state FROM entity_states WHERE state <> '{}'"))).all()
    return {r[0]: r[1] for r in rows}


def feedback(score: int) -> FeedbackReceived:
    return FeedbackReceived(subject_type="service", score=score, score_100=score * 20, channel="chat", agent_id="ag-1")


async def test_the_event_log_keeps_each_event_once_with_its_record(db: AsyncEngine):
    rating = event(feedback(4))
    first, again, twice = absorbed(rating), absorbed(rating), absorbed(rating)
    await absorb(db, [first, twice])
    await absorb(db, [again])
    assert (first.fresh, twice.fresh, again.fresh) == (True, False, False)
    async with db.connect() as conn:
        row = (await conn.execute(sa.text("SELECT * FROM event_log"))).one()
    assert (row.type, row.day, row.channel, row.agent, row.value, row.attrs) == (
        "feedback.received", D1, "chat", "ag-1", 4.0, {"subject_type": "service", "customer_id": None}
    )  # fmt: skip
    assert await counts(db) == {(D1, "satisfaction", "chat", "ag-1", "", "", "", "", "", 4): 1}


async def test_concurrent_batches_on_the_same_complaints_and_counts_neither_deadlock_nor_lose_updates(db: AsyncEngine):
    """Twelve batches at once, each carrying status changes of the same ten complaints in a different
    order (and ratings sharing counts): states are locked in key order, counts written in key order."""
    ids = [f"k{i}" for i in range(10)]
    registered = [
        event(ComplaintRegistered(complaint_id=k, channel="email", category="catering", severity="normal",
                                  registered_at=AT, acknowledge_due_at=AT, resolve_due_at=AT))
        for k in ids
    ]  # fmt: skip
    await absorb(db, [absorbed(e) for e in registered])

    def change(k: str, n: int) -> Envelope:
        data = ComplaintStatusChanged.model_validate(
            {"complaint_id": k, "from": "resolved", "to": "investigating", "actor": "a", "agent_id": f"ag-{n}"}
        )
        return event(data, AT + timedelta(minutes=n))

    batches = []
    for n in range(12):
        order = ids[n % 10 :] + ids[: n % 10]
        batches.append([absorbed(change(k, n)) for k in order] + [absorbed(event(feedback(n % 5 + 1)))])
    await asyncio.gather(*(absorb(db, b) for b in batches))  # a deadlock would raise here
    got = await states(db)
    assert {got[f"complaint:{k}"]["reopens"] for k in ids} == {12}  # no update lost
    assert {got[f"complaint:{k}"]["agent"][1] for k in ids} == {"ag-11"}  # the latest change wins
    c = await counts(db)
    assert sum(n for key, n in c.items() if key[1] == "satisfaction") == 12
    assert sum(n for key, n in c.items() if key[1] == "cohort_reopened") == 10


@pytest.mark.parametrize("group_by", [("day",), ("week", "agent"), ("agent", "category"), ("room",), ("quarter",)])
async def test_the_unit_tests_fake_store_answers_as_the_real_one(db: AsyncEngine, group_by: tuple[str, ...]):
    envs = Traffic(seed=3, start=date(2026, 3, 1), days=10, now=datetime(2026, 3, 10, 4, tzinfo=UTC), per_day=6).events
    fake = FakeMetricsStore()
    fake_uow: Any = type("U", (), {"store": fake})()
    for i in range(0, len(envs), 40):
        chunk = [e for e in envs[i : i + 40] if domain.record(e)]
        await absorb(db, [absorbed(e) for e in chunk])
        await handlers.absorb_batch(fake_uow, [absorbed(e) for e in chunk], AT, POLICY)
    async with db.connect() as conn, conn.begin():
        real = await MetricsStore(conn).query(date(2026, 2, 1), date(2026, 4, 30), group_by)
    assert sorted(real, key=repr) == sorted(await fake.query(date(2026, 2, 1), date(2026, 4, 30), group_by), key=repr)
    assert len(real) > 10
    assert await states(db) == fake.states


@pytest.mark.parametrize("group_by", [("day",), ("month", "agent"), ("cause", "channel"), ("quarter",), ()])
async def test_the_durations_summarised_in_the_database_give_the_figures_of_all_their_values(
    db: AsyncEngine, group_by: tuple[str, ...]
):
    envs = Traffic(seed=4, start=date(2026, 3, 1), days=40, now=datetime(2026, 4, 10, 4, tzinfo=UTC), per_day=8).events
    for i in range(0, len(envs), 500):
        await absorb(db, [absorbed(e) for e in envs[i : i + 500] if domain.record(e)])
    span = (date(2026, 3, 1), date(2026, 4, 30))
    async with db.connect() as conn, conn.begin():
        store = MetricsStore(conn)
        every = await store.query(*span, group_by)
        rows, summaries = (
            await store.query(*span, group_by, without=domain.SUMMARISED),
            await store.summaries(*span, group_by),
        )
    assert summaries and all(metric in domain.SUMMARISED for _, metric, _ in summaries)
    assert not [r for r in rows if r[1] in domain.SUMMARISED]
    params: dict[str, Any] = {"now": AT.timestamp(), "answer_target_seconds": 15}
    assert domain.kpis(rows, group_by, summaries=summaries, **params) == domain.kpis(every, group_by, **params)


async def test_http_kpis_csv_scorecard_and_prometheus(db: AsyncEngine, monkeypatch: pytest.MonkeyPatch):
    from services.metrics import main

    monkeypatch.setattr(main.svc, "sessions", make_sessionmaker(db))
    monkeypatch.setattr(main.svc, "clock", FixedClock(AT))
    token = "metrics-store-test-token"
    monkeypatch.setattr(main.svc.settings, "api_token", type(main.svc.settings.api_token)(token))
    await absorb(db, [absorbed(event(feedback(5))), absorbed(event(feedback(3)))])
    transport = httpx.ASGITransport(app=main.app.http)
    async with httpx.AsyncClient(transport=transport, base_url="http://metrics") as client:
        for path in ("/kpis", "/kpis.csv", "/scorecard"):
            assert (await client.get(path)).status_code == 401
        auth = {"Authorization": f"Bearer {token}"}
        resp = await client.get("/kpis?from=2026-03-01&to=2026-03-02&group_by=channel", headers=auth)
        assert resp.status_code == 200
        body = resp.json()
        assert (body["from"], body["to"], body["group_by"]) == ("2026-03-01", "2026-03-02", "channel")
        assert body["timezone"] == main.svc.settings.venue_timezone
        assert body["totals"]["satisfaction"]["average"] == 80.0
        assert [(g["key"], g["satisfaction"]["responses"]) for g in body["groups"]] == [("chat", 2)]
        today = (await client.get("/kpis?period=today", headers=auth)).json()
        assert (today["from"], today["totals"]["satisfaction"]["responses"]) == ("2026-03-01", 2)
        for ok in ("period=week", "period=quarter", "group_by=agent,category", "group_by=month,room"):
            assert (await client.get(f"/kpis?{ok}", headers=auth)).status_code == 200, ok
        for bad in ("period=year", "group_by=building", "from=yesterday", "group_by=day,week"):
            assert (await client.get(f"/kpis?{bad}", headers=auth)).status_code == 400, bad
        csv = await client.get("/kpis.csv?period=month&group_by=agent", headers=auth)
        assert csv.headers["content-type"].startswith("text/csv")
        lines = csv.text.splitlines()
        assert lines[0].startswith("scope,agent,inquiries,bookings.requested,")
        assert lines[1].startswith("total,,0,") and lines[2].startswith("group,ag-1,")
        card = (await client.get("/scorecard", headers=auth)).json()
        assert (card["period"], card["from"], card["to"]) == ("month", "2026-03-01", "2026-03-31")
        [row] = card["agents"]
        assert (row["agent"], row["satisfaction_score_100"], row["grade"], row["grade_zh"]) == (
            "ag-1",
            80.0,
            "good",
            "良好",
        )
        assert (await client.get("/scorecard?period=week", headers=auth)).status_code == 400
        prom = await client.get("/metrics")
        assert prom.status_code == 200 and "meetdesk_metrics_events_total" in prom.text


def clock(complaint_id: str, transition: str, elapsed: float, seq: int) -> ComplaintClock:
    return ComplaintClock.model_validate(
        {"complaint_id": complaint_id, "which": "acknowledge", "transition": transition, "at": AT, "seq": seq,
         "target_seconds": 7200, "elapsed_seconds": elapsed, "severity": "normal", "agent_id": "ag-1"}
    )  # fmt: skip


async def test_prometheus_shows_todays_sla_compliance_the_complaints_past_due_and_the_queue(
    db: AsyncEngine, monkeypatch: pytest.MonkeyPatch
):
    from services.metrics import main

    async def queue_counts(names: Any, **kw: Any) -> dict[str, tuple[int, int]]:
        return {name: (7, 1) for name in names}

    monkeypatch.setattr(main.svc, "sessions", make_sessionmaker(db))
    monkeypatch.setattr(main.svc, "clock", FixedClock(AT))
    monkeypatch.setattr(main.svc.publisher, "queue_counts", queue_counts)
    await absorb(
        db,
        [
            absorbed(event(clock("k1", "breached", 7200, 1))),  # breached, not met: past due
            absorbed(event(clock("k2", "met", 600, 1))),  # met in time
            absorbed(event(clock("k3", "breached", 7200, 1))),
            absorbed(event(clock("k3", "met", 9000, 2))),  # met after its breach: late, no longer past due
        ],
    )
    transport = httpx.ASGITransport(app=main.app.http)
    async with httpx.AsyncClient(transport=transport, base_url="http://metrics") as client:
        text = (await client.get("/metrics")).text
    assert 'meetdesk_kpi_sla_decided_today{target="acknowledge"} 3.0' in text
    assert 'meetdesk_kpi_sla_compliance_today{target="acknowledge"} 0.3333' in text
    assert 'meetdesk_kpi_complaints_past_due{target="acknowledge"} 1.0' in text
    assert 'meetdesk_kpi_complaints_past_due{target="resolve"} 0.0' in text
    assert 'meetdesk_queue_messages{queue="metrics.events"} 7.0' in text


def rebuild_command(url: str, *args: str) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEETDESK_")}
    env |= {"MEETDESK_DATABASE_URL": url, "MEETDESK_LOG_LEVEL": "WARNING"}
    done = subprocess.run(
        [sys.executable, "-m", "services.metrics.rebuild", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


async def test_the_rebuild_command_recomputes_the_figures_and_compacts_the_log(servers: Servers, db: AsyncEngine):
    url = await fresh_database(servers, "meetdesk_test_metrics_rebuild", "metrics")
    engine = make_engine(url, pool_size=2)
    try:
        start = datetime(2026, 3, 9, 2, tzinfo=UTC)
        envs = [event(feedback(4), AT - timedelta(days=d)) for d in range(5)] + [
            event(BookingConfirmed(booking_id=str(uuid.uuid4()), inquiry_id="i", room_id="R1", start=start,
                                   end=start + timedelta(hours=1), attendees=3, customer_id="c", name="x"))
        ]  # fmt: skip
        await absorb(engine, [absorbed(e) for e in envs])
        before = await counts(engine)
        async with engine.begin() as conn:  # the projections lost (or a definition changed)
            await conn.execute(sa.text("DELETE FROM kpi_daily"))
            await conn.execute(sa.text("DELETE FROM entity_states"))
        out = await asyncio.to_thread(rebuild_command, url)
        assert (out["events"], out["entities"]) == (6, 2)
        assert await counts(engine) == before
        status = await asyncio.to_thread(rebuild_command, url, "--status")
        assert (status["events"], status["first_day"], status["last_day"]) == (6, "2026-02-25", "2026-03-01")
        compacted = await asyncio.to_thread(rebuild_command, url, "--compact", "--before", "2026-02-28")
        assert compacted["events"] == 3
        assert await counts(engine) == before
        await asyncio.to_thread(rebuild_command, url)
        assert await counts(engine) == before
        status = await asyncio.to_thread(rebuild_command, url, "--status")
        assert (status["events"], status["compacted_before"], status["compacted_events"]) == (3, "2026-02-28", 3)
    finally:
        await engine.dispose()


def test_days_are_venue_days():
    assert Days(HK).of(datetime(2026, 3, 1, 16, 30, tzinfo=UTC)) == date(2026, 3, 2)
