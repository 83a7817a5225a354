"""The scheduler across real processes: 1,000 items due within a few seconds, fired by three
replicas of a service (tests/apps/scheduler_app.py) — each exactly once, none early — and the same
when one replica is killed with SIGKILL in the middle of the run."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
import pytest_asyncio

from tests.apps.scheduler_harness import Replica, fired_count, outcome, schedule, wait_all_fired

from ..servers import Servers
from ..system import PORT_BASE, fresh_database

pytestmark = pytest.mark.integration

ITEMS = 1000
PORTS = [PORT_BASE + 51 + i for i in range(3)]


@pytest_asyncio.fixture
async def database(servers: Servers) -> AsyncIterator[str]:
    from tests.apps.scheduler_app import FIRINGS_DDL

    url = await fresh_database(servers, "meetdesk_test_scheduler_replicas", "booking")
    conn = await asyncpg.connect(url.replace("+asyncpg", ""))
    try:
        await conn.execute(FIRINGS_DDL)
    finally:
        await conn.close()
    yield url


@pytest.fixture
def replicas(servers: Servers, database: str, tmp_path: Path) -> Iterator[list[Replica]]:
    started = [Replica(servers, database, port, tmp_path) for port in PORTS]
    try:
        yield started
    finally:
        for replica in started:
            replica.stop()


async def test_a_thousand_items_across_three_replicas_fire_exactly_once_and_never_early(
    database: str, replicas: list[Replica]
) -> None:
    await asyncio.gather(*(r.wait_ready() for r in replicas))
    dsn = database.replace("+asyncpg", "")
    await schedule(dsn, ITEMS, datetime.now(UTC) + timedelta(seconds=1), timedelta(seconds=3))
    await wait_all_fired(dsn, ITEMS)
    await asyncio.sleep(1.0)  # anything fired twice would show up now
    result = await outcome(dsn)
    assert result["keys"] == ITEMS and result["twice"] == [], result
    assert result["early"] == 0 and result["left"] == 0, result
    assert len(result["by_process"]) >= 2, f"the replicas shared the work: {result['by_process']}"


async def test_killing_a_replica_mid_run_loses_nothing_and_doubles_nothing(
    database: str, replicas: list[Replica]
) -> None:
    await asyncio.gather(*(r.wait_ready() for r in replicas))
    dsn = database.replace("+asyncpg", "")
    await schedule(dsn, ITEMS, datetime.now(UTC) + timedelta(seconds=1), timedelta(seconds=5))
    deadline = time.monotonic() + 30
    while await fired_count(dsn) < ITEMS // 4 and time.monotonic() < deadline:  # noqa: ASYNC110 (polling a database)
        await asyncio.sleep(0.05)
    replicas[0].stop(signal.SIGKILL)  # mid-run: its open firing transaction dies with it
    at_kill = await fired_count(dsn)
    assert 0 < at_kill < ITEMS, f"the kill did not land mid-run ({at_kill} fired)"
    await wait_all_fired(dsn, ITEMS)
    await asyncio.sleep(1.0)
    result = await outcome(dsn)
    assert result["keys"] == ITEMS and result["twice"] == [], result
    assert result["early"] == 0 and result["left"] == 0, result


async def test_a_running_service_s_clock_can_be_moved_forward_and_its_items_fire_then(
    servers: Servers, database: str, tmp_path: Path
) -> None:
    """The clock is injectable in a real process too (MEETDESK_CLOCK_OFFSET_FILE): an item due in
    a day fires as soon as the test moves the service's time a day ahead, and not before."""
    offset = tmp_path / "clock-offset"
    replica = Replica(servers, database, PORTS[0], tmp_path, clock_offset_file=offset)
    try:
        await replica.wait_ready()
        dsn = database.replace("+asyncpg", "")
        await schedule(dsn, 3, datetime.now(UTC) + timedelta(days=1), timedelta(seconds=3))
        await asyncio.sleep(2.0)
        assert await fired_count(dsn) == 0, "not a day early"
        offset.write_text(str(24 * 3600 + 60))
        await wait_all_fired(dsn, 3, timeout=20)
        result = await outcome(dsn)
        assert result["early"] == 0 and result["twice"] == [], result
    finally:
        replica.stop()
