"""What /kpis reads instead of every value, against a real PostgreSQL: each day's durations as one sorted array
(``kpi_day_values``), kept equal to the fact counts by every batch (concurrent ones too) and by a rebuild, and
the report /kpis computes from it — and, grouped by a dimension, from the groups' sorted arrays — giving
exactly the figures of every value (counts, means, medians, p90s), in every grouping.

The database ``meetdesk_test_metrics_day_values`` is dropped and migrated afresh.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from services.metrics import domain, handlers
from services.metrics.domain import Policy
from services.metrics.handlers import Absorbed
from services.metrics.store import MetricsStore
from shared.contract.events import AgentReplied, Envelope, make_event
from shared.db import make_engine
from shared.uow import Transaction

from ..servers import Servers
from ..system import fresh_database
from ..unit.metrics_traffic import HK, Traffic

pytestmark = pytest.mark.integration

DB_NAME = "meetdesk_test_metrics_day_values"
POLICY = Policy(tz=HK)
AT = datetime(2026, 3, 1, 4, 0, tzinfo=UTC)
SPAN = (date(2026, 2, 1), date(2026, 4, 30))
PARAMS: dict[str, Any] = {"now": datetime(2026, 4, 12, tzinfo=UTC).timestamp(), "answer_target_seconds": 15}
GROUPINGS = [("day",), ("week",), ("month",), ("quarter",), (), ("agent",), ("agent", "category"),
             ("cause", "channel"), ("month", "agent"), ("day", "room")]  # fmt: skip


@pytest.fixture(scope="module")
async def engine(servers: Servers) -> AsyncIterator[AsyncEngine]:
    url = await fresh_database(servers, DB_NAME, "metrics")
    eng = make_engine(url, pool_size=14)
    try:
        yield eng
    finally:
        await eng.dispose()


@pytest.fixture
async def db(engine: AsyncEngine) -> AsyncEngine:
    async with engine.begin() as conn:
        await conn.execute(
            sa.text("TRUNCATE event_log, entity_states, kpi_daily, kpi_by_day, kpi_day_values, compacted_entity_states,"
                    " compacted_kpi_daily, inbox")
        )  # fmt: skip
    return engine


async def absorb(engine: AsyncEngine, envs: list[Envelope]) -> None:
    items = [Absorbed(r) for e in envs if isinstance(r := domain.record(e), domain.Record)]
    async with engine.connect() as conn, conn.begin():
        await handlers.absorb_batch(Transaction(conn, MetricsStore(conn), "metrics", AT), items, AT, POLICY)


async def day_values(engine: AsyncEngine) -> dict[tuple[date, str], list[int]]:
    """``kpi_day_values`` as stored (empty arrays left out), beside what ``kpi_by_day`` says they must be."""
    async with engine.connect() as conn:
        stored = (await conn.execute(sa.text("SELECT day, metric, vals FROM kpi_day_values"))).all()
        counted = (
            await conn.execute(sa.text("SELECT day, metric, value, count FROM kpi_by_day WHERE count > 0"))
        ).all()
    expected: dict[tuple[date, str], list[int]] = {}
    for day, metric, value, count in counted:
        if metric in domain.SUMMARISED:
            expected.setdefault((day, metric), []).extend([value] * count)
    got = {(day, metric): list(vals) for day, metric, vals in stored if vals}
    assert got == {key: sorted(vals) for key, vals in expected.items()}
    return got


async def reports(engine: AsyncEngine, group_by: tuple[str, ...]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The figures /kpis reports, and the figures of every counted value (no summary) of the same facts."""
    async with engine.connect() as conn, conn.begin():
        store = MetricsStore(conn)
        rows, summaries = await store.report(*SPAN, group_by)
        every = await store.query(*SPAN, group_by)
    assert not [r for r in rows if r[1] in domain.SUMMARISED], "durations come as summaries"
    return (
        domain.kpis(rows, group_by, summaries=summaries, **PARAMS),
        domain.kpis(every, group_by, **PARAMS),
    )


def reply(n: int, at: datetime, seconds: float) -> Envelope:
    data = AgentReplied(conversation_id=f"c{n}", channel="chat", agent_id=f"ag-{n % 3}", replied_at=at,
                        first_reply=n % 2 == 0, response_seconds=seconds)  # fmt: skip
    return make_event(data, producer="test", correlation_id=uuid.uuid4(), occurred_at=at)


def month_of_traffic(seed: int) -> list[Envelope]:
    now = datetime(2026, 4, 10, 4, tzinfo=UTC)
    return Traffic(seed=seed, start=date(2026, 3, 1), days=40, now=now, per_day=8).events


async def test_each_days_values_follow_every_batch_and_the_report_gives_the_figures_of_every_value(db: AsyncEngine):
    envs = month_of_traffic(seed=5) + [reply(n, AT, 42.0) for n in range(4)]  # the same value, counted 2 × 2
    rng = random.Random(5)
    i = 0
    while i < len(envs):  # batches of any size: states change, facts are taken out and put in again
        size = rng.choice((1, 7, 40, 300))
        await absorb(db, envs[i : i + size])
        i += size
    values = await day_values(db)
    assert {metric for _, metric in values} >= {"first_response", "handling_time", "sla_acknowledge_met", "callbacks"}
    assert values[(date(2026, 3, 1), "first_response")].count(42) >= 2  # a value counted twice is there twice
    for group_by in GROUPINGS:
        reported, every = await reports(db, group_by)
        assert reported == every, group_by
        assert reported["totals"]["first_response"]["median_seconds"] is not None


async def test_a_rebuild_fills_each_days_values_and_the_figures_stay_the_same(db: AsyncEngine):
    await absorb(db, month_of_traffic(seed=6))
    before = await day_values(db)
    figures = {g: (await reports(db, g))[0] for g in GROUPINGS}
    async with db.connect() as conn, conn.begin():
        await conn.execute(sa.text("UPDATE kpi_day_values SET vals = '{1,2,3}'"))  # spoilt: a rebuild recomputes it
    async with db.connect() as conn, conn.begin():
        await handlers.rebuild(Transaction(conn, MetricsStore(conn), "metrics", AT), POLICY)
    assert await day_values(db) == before
    for group_by in GROUPINGS:
        assert (await reports(db, group_by))[0] == figures[group_by], group_by


async def test_concurrent_batches_adding_to_the_same_days_durations_lose_no_value_and_do_not_deadlock(db: AsyncEngine):
    """Twelve batches at once, each with replies on the same two days (the same day rows, in different
    orders): each waits for the day rows another batch is refreshing, then reads what that batch wrote."""
    rng = random.Random(7)
    days = (AT, AT + timedelta(days=1))

    def one(n: int) -> Envelope:
        return reply(n, rng.choice(days) + timedelta(minutes=n), float(rng.randrange(5, 900)))

    batches = [[one(b * 100 + n) for n in range(rng.randrange(5, 25))] for b in range(12)]
    await asyncio.gather(*(absorb(db, batch) for batch in batches))  # a deadlock would raise here
    values = await day_values(db)
    replies = sum(len(b) for b in batches)
    assert sum(len(v) for (_, metric), v in values.items() if metric.endswith("_response")) == replies
    reported, every = await reports(db, ("day",))
    assert reported == every


async def test_a_batch_refreshing_a_day_another_batch_is_refreshing_waits_and_reads_what_that_one_wrote(
    db: AsyncEngine,
):
    day = date(2026, 3, 1)
    await absorb(db, [reply(0, AT, 10.0)])  # the day's row exists
    first_response = domain.METRICS["first_response"]

    async def add(conn: Any, seconds: int) -> None:
        await MetricsStore(conn).add_facts({first_response(day, seconds, channel="chat"): 1})

    async with db.connect() as one, db.connect() as two:
        await one.begin()
        await add(one, 20)  # holds the day's row until it commits
        await two.begin()
        second = asyncio.create_task(add(two, 30))
        await asyncio.sleep(0.5)
        assert not second.done(), "the second batch waits for the first"
        await one.commit()
        await second
        await two.commit()
    assert (await day_values(db))[(day, "first_response")] == [10, 20, 30]
