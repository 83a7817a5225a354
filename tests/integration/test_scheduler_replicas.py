"""The scheduler across real processes: 1,000 items due within a few seconds, fired by three
replicas of a service (tests/apps/scheduler_app.py) — each exactly once, none early — and the same
when one replica is killed with SIGKILL in the middle of the run."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
import pytest
import pytest_asyncio

from ..servers import Servers
from ..system import PORT_BASE, ROOT, fresh_database

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


class Replica:
    def __init__(self, servers: Servers, database_url: str, port: int, log_dir: Path):
        env = {k: v for k, v in os.environ.items() if not k.startswith("MEETDESK_")}
        env.update(
            MEETDESK_AMQP_URL=servers.amqp_url,
            MEETDESK_DATABASE_URL=database_url,
            MEETDESK_HTTP_PORT=str(port),
            MEETDESK_SCHEDULER_POLL_SECONDS="0.25",
            MEETDESK_LOG_LEVEL="WARNING",
            PYTHONUNBUFFERED="1",
        )
        self.port = port
        self.log = log_dir / f"replica-{port}.log"
        self.proc = subprocess.Popen(
            [
                str(Path(sys.executable).with_name("faststream")),
                *("run", "tests.apps.scheduler_app:app", "--host", "127.0.0.1", "--port", str(port)),
            ],
            env=env,
            cwd=ROOT,
            stdout=self.log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    async def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(timeout=2.0) as client:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"replica exited: {self.log.read_text()[-2000:]}")
                try:
                    if (await client.get(f"http://127.0.0.1:{self.port}/readyz")).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.2)
        raise TimeoutError(f"replica on {self.port} not ready: {self.log.read_text()[-2000:]}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


@pytest.fixture
def replicas(servers: Servers, database: str, tmp_path: Path) -> Iterator[list[Replica]]:
    started = [Replica(servers, database, port, tmp_path) for port in PORTS]
    try:
        yield started
    finally:
        for replica in started:
            replica.stop()


async def schedule(dsn: str, count: int, first: datetime, spread: timedelta) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(
            """INSERT INTO due_items (kind, key, due_at, not_before)
               SELECT 'tick', 'item-' || g, t, t FROM generate_series(1, $1) g,
                      LATERAL (SELECT $2::timestamptz + (g - 1) * $3::interval / $1) AS d(t)""",
            count,
            first,
            spread,
        )
    finally:
        await conn.close()


async def fired_count(dsn: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM firings"))
    finally:
        await conn.close()


async def wait_all_fired(dsn: str, count: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await fired_count(dsn) >= count:
            return
        await asyncio.sleep(0.2)
    raise TimeoutError(f"{await fired_count(dsn)} of {count} fired after {timeout} s")


async def outcome(dsn: str) -> dict[str, object]:
    conn = await asyncpg.connect(dsn)
    try:
        per_key = await conn.fetch("SELECT key, count(*) AS n FROM firings GROUP BY key")
        early = await conn.fetchval("SELECT count(*) FROM firings WHERE fired_at < due_at")
        left = await conn.fetchval("SELECT count(*) FROM due_items")
        pids = await conn.fetch("SELECT pid, count(*) AS n FROM firings GROUP BY pid")
        return {
            "keys": len(per_key),
            "twice": sorted(r["key"] for r in per_key if r["n"] != 1),
            "early": early,
            "left": left,
            "by_process": sorted(r["n"] for r in pids),
        }
    finally:
        await conn.close()


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
