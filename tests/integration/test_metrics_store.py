"""Metrics' migration and counters against a real PostgreSQL.

The servers come from ``tests/servers.py`` like every integration test's; the database
``meetdesk_test_metrics_store`` is dropped and migrated afresh. No database: the tests fail, never skip.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from services.metrics import domain
from services.metrics.domain import Fact, Policy
from services.metrics.handlers import Counted, count_batch
from services.metrics.models import kpi_counters
from services.metrics.store import MetricsStore, Summed
from shared.contract.events import BookingConfirmed, FeedbackReceived, make_event
from shared.db import make_engine
from shared.migrate import migrate
from shared.uow import Transaction

from ..servers import Servers
from ..system import fresh_database
from ..unit.metrics_fakes import FakeMetricsStore

pytestmark = pytest.mark.integration

DB_NAME = "meetdesk_test_metrics_store"
HK = ZoneInfo("Asia/Hong_Kong")
POLICY = Policy(tz=HK)
D1, D2, D3 = date(2026, 3, 1), date(2026, 3, 2), date(2026, 3, 3)


@pytest.fixture(scope="module")
async def engine(servers: Servers) -> AsyncIterator[AsyncEngine]:
    url = await fresh_database(servers, DB_NAME, "metrics")
    await asyncio.to_thread(migrate, "metrics", url)  # a second run is a no-op
    eng = make_engine(url, pool_size=5)
    try:
        yield eng
    finally:
        await eng.dispose()


@pytest.fixture
async def db(engine: AsyncEngine) -> AsyncEngine:
    async with engine.begin() as conn:
        await conn.execute(sa.text("TRUNCATE kpi_counters, inbox, outbox"))
    return engine


async def add(engine: AsyncEngine, facts: list[Fact]) -> int:
    async with engine.begin() as conn:
        return await MetricsStore(conn).add_facts(facts)


async def query(engine: AsyncEngine, start: date, end: date, group_by: domain.GroupBy) -> list[Summed]:
    async with engine.connect() as conn:
        return await MetricsStore(conn).query(start, end, group_by)


def counted(env) -> Counted:
    found = domain.facts(env, HK)
    assert isinstance(found, list)
    return Counted(env.event_id, found)


async def count(engine: AsyncEngine, items: list[Counted], now: datetime) -> None:
    """One batch in one unit of work on the real database (inbox included), as the batcher runs it."""
    async with engine.begin() as conn:
        await count_batch(Transaction(conn, MetricsStore(conn), "metrics", now), items, now, POLICY)


async def counters(engine: AsyncEngine) -> dict[tuple[date, str, str, str], tuple[int, float]]:
    async with engine.connect() as conn:
        rows = (await conn.execute(sa.select(kpi_counters))).all()
    return {(r.day, r.metric, r.dim_kind, r.dim_value): (r.count, r.total) for r in rows}


def fact(metric: str, count: int = 1, total: float = 0.0, kind: str = "all", value: str = "all", day: date = D1):
    return Fact(day, metric, kind, value, count, total)


async def test_add_facts_sums_a_batch_and_accumulates(db: AsyncEngine):
    batch = [
        fact("inquiries"),
        fact("inquiries"),  # the same counter twice in one statement
        fact("inquiries", kind="channel", value="email"),
        fact("satisfaction", 1, 80.0),
        fact("satisfaction", 1, 100.0),
    ]
    assert await add(db, batch) == 3
    assert await add(db, [fact("inquiries", 3), fact("satisfaction", 1, 60.0)]) == 2
    assert await add(db, []) == 0
    assert await counters(db) == {
        (D1, "inquiries", "all", "all"): (5, 0.0),
        (D1, "inquiries", "channel", "email"): (1, 0.0),
        (D1, "satisfaction", "all", "all"): (3, 240.0),
    }


async def test_concurrent_increments_are_not_lost(db: AsyncEngine):
    batches = [[fact("inquiries"), fact("inquiries", kind="channel", value=ch)] for ch in ("email", "chat") * 15]
    await asyncio.gather(*(add(db, b) for b in batches))
    got = await counters(db)
    assert got[(D1, "inquiries", "all", "all")] == (30, 0.0)
    assert got[(D1, "inquiries", "channel", "email")] == (15, 0.0)


async def test_query_per_day_and_per_dimension(db: AsyncEngine):
    await add(
        db,
        [
            fact("inquiries", 4, day=D1),
            fact("inquiries", 6, day=D2),
            fact("inquiries", 100, day=D3),  # outside the range
            fact("complaints_registered", 1, day=D2),
            fact("inquiries", 4, kind="channel", value="email", day=D1),
            fact("inquiries", 6, kind="channel", value="chat", day=D2),
            fact("satisfaction", 1, 90.0, "agent", "ag-1", day=D1),
            fact("satisfaction", 1, 70.0, "agent", "ag-1", day=D2),
        ],
    )
    by_day = await query(db, D1, D2, "day")
    assert {(r.day, r.metric, r.count) for r in by_day} == {
        (D1, "inquiries", 4),
        (D2, "inquiries", 6),
        (D2, "complaints_registered", 1),
    }
    out = domain.kpis(by_day, "day")
    assert out["totals"]["inquiries"] == 10
    assert out["totals"]["complaint_rate"] == 0.1
    assert [g["key"] for g in out["groups"]] == ["2026-03-01", "2026-03-02"]

    by_channel = domain.kpis(await query(db, D1, D2, "channel"), "channel")
    assert [(g["key"], g["inquiries"]) for g in by_channel["groups"]] == [("chat", 6), ("email", 4)]
    assert by_channel["totals"]["inquiries"] == 10

    by_agent = domain.kpis(await query(db, D1, D2, "agent"), "agent")
    assert [(g["key"], g["satisfaction"]["average"], g["satisfaction"]["grade"]) for g in by_agent["groups"]] == [
        ("ag-1", 80.0, "good")
    ]
    one_day = {(r.dim_kind, r.dim_value, r.metric): (r.count, r.total) for r in await query(db, D1, D1, "agent")}
    assert one_day == {("all", "all", "inquiries"): (4, 0.0), ("agent", "ag-1", "satisfaction"): (1, 90.0)}
    assert await query(db, date(2025, 1, 1), date(2025, 1, 31), "category") == []


async def test_an_event_counts_once_and_a_series_once_in_the_real_inbox(db: AsyncEngine):
    at = datetime(2026, 3, 1, 4, 0, tzinfo=UTC)
    start = datetime(2026, 3, 9, 2, 0, tzinfo=UTC)

    async def deliver(env) -> bool:
        item = counted(env)
        await count(db, [item], at)
        return item.fresh

    feedback = make_event(
        FeedbackReceived(subject_type="service", score=5, score_100=100, channel="chat"),
        producer="test",
        correlation_id=uuid.uuid4(),
        occurred_at=at,
    )
    assert await deliver(feedback) is True
    assert await deliver(feedback) is False  # redelivery
    series = [
        make_event(
            BookingConfirmed(
                booking_id=str(uuid.uuid4()),
                inquiry_id="inq-1",
                room_id="R1",
                start=start + timedelta(weeks=i),
                end=start + timedelta(weeks=i, hours=1),
                attendees=5,
                customer_id="c",
                name="Weekly",
                series_id="series-1",
            ),
            producer="test",
            correlation_id=uuid.uuid4(),
            occurred_at=at,
        )
        for i in range(3)
    ]
    assert await asyncio.gather(*(deliver(e) for e in series)) == [True, True, True]
    got = await counters(db)
    assert got[(D1, "satisfaction", "all", "all")] == (1, 100.0)
    assert got[(D1, "bookings_confirmed", "all", "all")] == (1, 0.0)
    assert got[(D1, "bookings_confirmed", "room", "R1")] == (1, 0.0)
    assert got[(D1, "bookings_confirmed_occurrences", "all", "all")] == (3, 0.0)


async def test_one_batch_counts_an_event_given_twice_once_and_a_series_once(db: AsyncEngine):
    """Claims made earlier in the same transaction count as seen (the inbox row is already there)."""
    at = datetime(2026, 3, 1, 4, 0, tzinfo=UTC)
    start = datetime(2026, 3, 9, 2, 0, tzinfo=UTC)
    rating = make_event(
        FeedbackReceived(subject_type="service", score=4, score_100=80, channel="chat"),
        producer="test",
        correlation_id=uuid.uuid4(),
        occurred_at=at,
    )
    occurrences = [
        make_event(
            BookingConfirmed(
                booking_id=str(uuid.uuid4()), inquiry_id="inq-2", room_id="R2", start=start + timedelta(days=i),
                end=start + timedelta(days=i, hours=1), attendees=3, customer_id="c", name="Daily",
                series_id="series-2",
            ),
            producer="test",
            correlation_id=uuid.uuid4(),
            occurred_at=at,
        )
        for i in range(2)
    ]  # fmt: skip
    batch = [counted(rating), counted(occurrences[0]), counted(rating), counted(occurrences[1])]
    await count(db, batch, at)
    assert [item.fresh for item in batch] == [True, True, False, True]
    got = await counters(db)
    assert got[(D1, "satisfaction", "all", "all")] == (1, 80.0)
    assert got[(D1, "bookings_confirmed", "room", "R2")] == (1, 0.0)
    assert got[(D1, "bookings_confirmed_occurrences", "room", "R2")] == (2, 0.0)


@pytest.mark.parametrize("group_by", ["day", "channel", "agent", "category"])
async def test_the_unit_tests_fake_store_answers_as_the_real_one(db: AsyncEngine, group_by: domain.GroupBy):
    facts = [
        fact("inquiries", 4, day=D1),
        fact("inquiries", 6, day=D2),
        fact("inquiries", 9, day=D3),
        fact("inquiries", 4, kind="channel", value="email", day=D1),
        fact("inquiries", 6, kind="channel", value="email", day=D2),
        fact("satisfaction", 1, 90.0, "agent", "ag-1", day=D1),
        fact("satisfaction", 1, 70.0, "agent", "ag-1", day=D2),
        fact("satisfaction", 2, 160.0, day=D2),
        fact("bookings_rejected", 1, kind="category", value="invalid", day=D2),
        fact("bookings_confirmed", 1, kind="room", value="R1", day=D1),
    ]
    fake = FakeMetricsStore()
    assert await add(db, facts) == await fake.add_facts(facts)
    real_rows = await query(db, D1, D2, group_by)
    fake_rows = await fake.query(D1, D2, group_by)
    assert sorted(fake_rows, key=repr) == sorted(real_rows, key=repr)
    assert len(real_rows) > 1


async def test_http_kpis_and_prometheus(db: AsyncEngine, monkeypatch: pytest.MonkeyPatch):
    import httpx

    from services.metrics import main
    from shared.db import make_sessionmaker

    monkeypatch.setattr(main.svc, "sessions", make_sessionmaker(db))
    await add(db, [fact("inquiries", 2, day=D1), fact("inquiries", 2, kind="channel", value="phone", day=D1)])
    token = main.svc.settings.api_token.get_secret_value()
    transport = httpx.ASGITransport(app=main.app.http)
    async with httpx.AsyncClient(transport=transport, base_url="http://metrics") as client:
        assert (await client.get("/kpis")).status_code == 401
        auth = {"Authorization": f"Bearer {token}"}
        resp = await client.get("/kpis?from=2026-03-01&to=2026-03-02&group_by=channel", headers=auth)
        assert resp.status_code == 200
        body = resp.json()
        assert (body["from"], body["to"], body["group_by"]) == ("2026-03-01", "2026-03-02", "channel")
        assert body["timezone"] == main.svc.settings.venue_timezone
        assert body["totals"]["inquiries"] == 2
        assert [(g["key"], g["inquiries"]) for g in body["groups"]] == [("phone", 2)]
        assert (await client.get("/kpis?period=week", headers=auth)).status_code == 200
        assert (await client.get("/kpis?period=year", headers=auth)).status_code == 400
        assert (await client.get("/kpis?group_by=building", headers=auth)).status_code == 400
        assert (await client.get("/kpis?from=yesterday", headers=auth)).status_code == 400
        prom = await client.get("/metrics")
        assert prom.status_code == 200
        assert prom.headers["content-type"].startswith("text/plain")
        assert "meetdesk_metrics_events_total" in prom.text


async def test_concurrent_batches_share_counters_without_deadlocking(db: AsyncEngine):
    """Batches in flight together touch the same counters in different orders (here ratings and
    bookings, alternating, each batch starting with the other kind than its neighbour); each batch
    writes its counters once, in key order, so they queue for the rows instead of deadlocking."""
    day = datetime(2026, 4, 1, 3, 0, tzinfo=UTC)

    def rating() -> FeedbackReceived:
        return FeedbackReceived(subject_type="service", score=4, score_100=80, channel="chat")

    def booking() -> BookingConfirmed:
        return BookingConfirmed(
            booking_id=str(uuid.uuid4()),
            inquiry_id=str(uuid.uuid4()),
            room_id="R1",
            start=day + timedelta(days=1),
            end=day + timedelta(days=1, hours=1),
            attendees=5,
            customer_id="c",
            name="Board",
        )

    def batch(seed: int) -> list[Counted]:
        kinds = [rating, booking] if seed % 2 else [booking, rating]
        items = []
        for i in range(20):
            env = make_event(kinds[i % 2](), producer="test", correlation_id=uuid.uuid4(), occurred_at=day)
            items.append(counted(env))
        return items

    batches = [batch(seed) for seed in range(8)]

    await asyncio.gather(*(count(db, b, day) for b in batches))  # a deadlock would raise here
    assert all(item.fresh for b in batches for item in b)
    totals = {(r.dim_kind, r.dim_value, r.metric): r.count for r in await query(db, day.date(), day.date(), "channel")}
    assert totals[("all", "all", "satisfaction")] == 80
    assert totals[("channel", "chat", "satisfaction")] == 80
