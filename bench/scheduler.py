"""Due items fired per second, and how late, with 1 and 3 scheduler replicas, beside a bare baseline.

    make bench-scheduler      # or: .venv/bin/python bench/scheduler.py --items 5000 --paced 3000 --seconds 10

Contender: tests/apps/scheduler_app.py — a service whose only work is due items, run as real
processes (``faststream run``) exactly like a service replica; each firing writes one row in its
own firing transaction (the handler's state change), through the whole scheduler path (SKIP LOCKED
batch, savepoint per item, inbox claim, delete, outbox, commit).

Baseline, in the same run and database: the least a SKIP LOCKED work queue can do in PostgreSQL for
the same effect — asyncpg workers in this process, each looping ``DELETE … WHERE id IN (SELECT …
FOR UPDATE SKIP LOCKED LIMIT n) RETURNING`` plus one ``INSERT`` of the firings, one transaction per
batch, with 1 and 3 workers (connections).

Two loads for each: a backlog (``--items`` all due at once: fired per second) and a paced stream
(``--paced`` items due evenly over ``--seconds``: the lag from due time to firing, p50/p95/max).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.apps.scheduler_app import FIRINGS_DDL
from tests.apps.scheduler_harness import Replica, schedule, wait_all_fired
from tests.servers import resolve
from tests.system import PORT_BASE, fresh_database


async def reset(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("TRUNCATE due_items, firings, inbox, outbox")
    finally:
        await conn.close()


async def lags_of(dsn: str) -> list[float]:
    """Seconds from each item's due time to its firing, sorted."""
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT extract(epoch FROM fired_at - due_at)::float8 AS lag FROM firings")
    finally:
        await conn.close()
    return sorted(max(0.0, r["lag"]) for r in rows)


async def run_load(dsn: str, start_firing, stop_firing, *, items: int, paced: int, seconds: float) -> dict[str, object]:
    """The backlog and the paced stream for one contender (start/stop: its replicas or workers),
    started before anything is due so that start-up time is not counted."""
    out: dict[str, object] = {}
    await reset(dsn)
    await start_firing()
    try:
        t0 = time.perf_counter()
        await schedule(dsn, items, datetime.now(UTC) - timedelta(seconds=1), timedelta(0))  # all overdue
        await wait_all_fired(dsn, items, timeout=300)
        out["rate"] = items / (time.perf_counter() - t0)
        await reset(dsn)
        await schedule(dsn, paced, datetime.now(UTC) + timedelta(seconds=1), timedelta(seconds=seconds))
        await wait_all_fired(dsn, paced, timeout=seconds + 120)
        lags = await lags_of(dsn)
    finally:
        await stop_firing()
    out["p50"], out["p95"], out["max"] = (
        statistics.median(lags),
        lags[min(len(lags) - 1, round(0.95 * (len(lags) - 1)))],
        lags[-1],
    )
    return out


def baseline(dsn: str, workers: int, poll: float):
    """Bare SKIP LOCKED workers: (start, stop) coroutines."""
    tasks: list[asyncio.Task[None]] = []
    stopping = asyncio.Event()

    async def worker() -> None:
        conn = await asyncpg.connect(dsn)
        try:
            while not stopping.is_set():
                async with conn.transaction():
                    now = datetime.now(UTC)
                    rows = await conn.fetch(
                        """DELETE FROM due_items WHERE id IN (
                               SELECT id FROM due_items WHERE parked_at IS NULL AND not_before <= $1
                               ORDER BY not_before, id LIMIT 100 FOR UPDATE SKIP LOCKED)
                           RETURNING key, due_at""",
                        now,
                    )
                    if rows:
                        await conn.execute(
                            """INSERT INTO firings (key, due_at, fired_at, pid)
                               SELECT k, d, $3, 0 FROM unnest($1::text[], $2::timestamptz[]) AS u(k, d)""",
                            [r["key"] for r in rows],
                            [r["due_at"] for r in rows],
                            now,
                        )
                if len(rows) < 100:
                    try:
                        await asyncio.wait_for(stopping.wait(), poll)
                    except TimeoutError:
                        pass
        finally:
            await conn.close()

    async def start() -> None:
        tasks.extend(asyncio.create_task(worker()) for _ in range(workers))

    async def stop() -> None:
        stopping.set()
        await asyncio.gather(*tasks)

    return start, stop


def replicas(servers, url: str, count: int, poll: float, log_dir: Path):
    started: list[Replica] = []

    async def start() -> None:
        started.extend(Replica(servers, url, PORT_BASE + 61 + i, log_dir, poll=poll) for i in range(count))
        await asyncio.gather(*(r.wait_ready() for r in started))

    async def stop() -> None:
        for r in started:
            r.stop()

    return start, stop


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=5000, help="backlog: items all due at once")
    parser.add_argument("--paced", type=int, default=3000, help="paced: items due evenly over --seconds")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--poll", type=float, default=1.0, help="scheduler poll interval (the default setting)")
    args = parser.parse_args()
    servers = resolve()
    return asyncio.run(run(args, servers))


async def run(args: argparse.Namespace, servers) -> int:
    url = await fresh_database(servers, "meetdesk_test_bench_scheduler", "booking")
    dsn = url.replace("+asyncpg", "")
    conn = await asyncpg.connect(dsn)
    await conn.execute(FIRINGS_DDL)
    await conn.close()
    log_dir = Path(tempfile.mkdtemp(prefix="bench-scheduler-"))

    results: dict[str, dict[str, object]] = {}
    for n in (1, 3):
        label = f"baseline, {n} worker(s)"
        start, stop = baseline(dsn, n, args.poll)
        results[label] = await run_load(dsn, start, stop, items=args.items, paced=args.paced, seconds=args.seconds)
        print(f"{label:28} done", flush=True)
        label = f"scheduler, {n} replica(s)"
        start, stop = replicas(servers, url, n, args.poll, log_dir)
        results[label] = await run_load(dsn, start, stop, items=args.items, paced=args.paced, seconds=args.seconds)
        print(f"{label:28} done", flush=True)

    print(
        f"\nbacklog of {args.items} due at once; then {args.paced} due evenly over {args.seconds:g} s; "
        f"poll {args.poll:g} s; 2 cores shared with PostgreSQL and RabbitMQ"
    )
    print(f"{'':28} {'fired/s':>9} {'lag p50':>9} {'lag p95':>9} {'lag max':>9}")
    for label, r in results.items():
        print(f"{label:28} {r['rate']:9.0f} {r['p50']:8.2f}s {r['p95']:8.2f}s {r['max']:8.2f}s")
    for n in (1, 3):
        ratio = results[f"scheduler, {n} replica(s)"]["rate"] / results[f"baseline, {n} worker(s)"]["rate"]
        print(f"ratio scheduler/baseline, {n}: {ratio:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
