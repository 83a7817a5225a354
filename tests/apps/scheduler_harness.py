"""Replicas of the scheduler test app as real processes, and the database side of a run: items
scheduled straight into ``due_items``, firings counted in ``firings`` (tests and bench)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import asyncpg
import httpx

from tests.servers import Servers
from tests.system import API_TOKEN, ROOT


class Replica:
    def __init__(
        self,
        servers: Servers,
        database_url: str,
        port: int,
        log_dir: Path,
        *,
        poll: float = 0.25,
        clock_offset_file: Path | None = None,
    ):
        env = {k: v for k, v in os.environ.items() if not k.startswith("MEETDESK_")}
        if clock_offset_file is not None:
            env["MEETDESK_CLOCK_OFFSET_FILE"] = str(clock_offset_file)
        env.update(
            MEETDESK_AMQP_URL=servers.amqp_url,
            MEETDESK_DATABASE_URL=database_url,
            MEETDESK_HTTP_PORT=str(port),
            MEETDESK_API_TOKEN=API_TOKEN,  # every service refuses to start without one
            MEETDESK_SCHEDULER_POLL_SECONDS=str(poll),
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
