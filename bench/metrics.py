"""Metrics: events absorbed per second in a burst, beside a bare aio-pika baseline; rebuild time for a
large log; /kpis latency over a year of data.

    make bench-metrics        # or: .venv/bin/python bench/metrics.py --events 5000 --rounds 3 --large 1000000

1. **Burst.** Metrics runs as a real process (``faststream run``, one worker) on a fresh database; a
   burst of ``--events`` generated events (tests/unit/metrics_traffic.py: every type metrics reads —
   inquiries, replies, calls, bookings, complaints with their clocks, surveys — and some it ignores)
   is published to ``meetdesk.events`` at once; the burst is absorbed when every event metrics logs is
   in its event log (and so in the figures: logging and projecting are one transaction). Baseline, in
   the same run: bench/intake_throughput.py's bare aio-pika consumer (decode the JSON, republish with
   confirms, ack) on classic and on quorum queues, bursts alternating with metrics'.
2. **Rebuild.** A year of generated traffic, ``--large`` events, is written into a second database
   through the batch handler (the projection path without the broker, batches of 2,000: its rate is
   printed too), then ``handlers.rebuild`` recomputes every state and count from that log.
3. **/kpis latency** on that year, through a real metrics process's HTTP: a month by day, a quarter by
   agent, the year by month, the year by agent × category, the year by day, the quarter's scorecard
   (p50 / p95 of ``--queries`` each); ``--kpis-only`` measures it again on the year a previous run left
   (generating a year takes minutes). Beside each, the same query's bare SQL (the sum of its fact
   counts per group, no figure computed) in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import aio_pika
import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.intake_throughput import Baseline, group_cpu_seconds, pct
from services.metrics import domain, handlers
from services.metrics.store import MetricsStore
from shared.db import make_engine
from shared.uow import Transaction
from tests.servers import resolve
from tests.system import API_TOKEN, DB_PREFIX, ServiceProcess, fresh_database, prepare_databases, reset_queues
from tests.unit.metrics_traffic import HK, Traffic

POLICY = domain.Policy(tz=HK)


def burst_events(n: int, seed: int) -> list[Any]:
    """``n`` events of a generated stream (a fresh one per seed: new event ids)."""
    days = max(3, n // 110 + 2)
    start = date(2026, 1, 1) + timedelta(days=seed % 200)
    now = datetime.combine(start + timedelta(days=days), datetime.min.time(), HK).astimezone(UTC)
    return Traffic(seed=seed, start=start, days=days, now=now, per_day=20).events[:n]


class Metrics:
    """The metrics service as a real process, fed by publishing to ``meetdesk.events``."""

    def __init__(self, servers: Any):
        self.servers = servers
        self.proc = ServiceProcess("metrics", servers, Path(tempfile.mkdtemp(prefix="bench-metrics-")))

    async def start(self) -> None:
        await asyncio.to_thread(prepare_databases, self.servers, ("metrics",))
        await reset_queues(self.servers)
        self.proc.start()
        await self.proc.wait_ready()
        self.db = await asyncpg.connect(self.servers.database_url(DB_PREFIX + "metrics").replace("+asyncpg", ""))
        self.conn = await aio_pika.connect(self.servers.amqp_url)
        self.ex = await (await self.conn.channel()).get_exchange("meetdesk.events")

    async def stop(self) -> None:
        await self.conn.close()
        await self.db.close()
        self.proc.stop()

    async def logged(self) -> int:
        return int(await self.db.fetchval("SELECT count(*) FROM event_log"))

    async def _publish(self, items: list[tuple[str, bytes, str]]) -> None:
        await asyncio.gather(
            *(
                self.ex.publish(
                    aio_pika.Message(body, message_id=ref, delivery_mode=2, content_type="application/json"),
                    routing_key=key,
                )
                for key, body, ref in items
            )
        )

    async def _absorbed(self, base: int, expected: int) -> None:
        deadline = time.monotonic() + 600
        while await self.logged() - base < expected:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{expected - (await self.logged() - base)} events not absorbed")
            await asyncio.sleep(0.02)

    async def burst(self, items: list[tuple[str, bytes, str]]) -> tuple[float, float]:
        """Published and absorbed at once: events per second from the first publish to the last logged."""
        expected = sum(1 for key, _, _ in items if key in domain.LOGGED_TYPES)
        base = await self.logged()
        assert self.proc.proc is not None
        t0, cpu0 = time.perf_counter(), group_cpu_seconds(self.proc.proc.pid)
        await self._publish(items)
        await self._absorbed(base, expected)
        seconds = time.perf_counter() - t0
        return len(items) / seconds, (group_cpu_seconds(self.proc.proc.pid) - cpu0) / len(items)

    async def backlog(self, items: list[tuple[str, bytes, str]]) -> tuple[float, float]:
        """A backlog drained: the events are queued while metrics is held (its batches wait for a lock on
        the event log), then it is let go; events per second from then to the last logged."""
        expected = sum(1 for key, _, _ in items if key in domain.LOGGED_TYPES)
        base = await self.logged()
        assert self.proc.proc is not None
        hold = await asyncpg.connect(self.servers.database_url(DB_PREFIX + "metrics").replace("+asyncpg", ""))
        try:
            tx = hold.transaction()
            await tx.start()
            await hold.execute("LOCK TABLE event_log IN SHARE ROW EXCLUSIVE MODE")
            await self._publish(items)
            await asyncio.sleep(1.0)  # the consumer has taken what its prefetch allows
            t0, cpu0 = time.perf_counter(), group_cpu_seconds(self.proc.proc.pid)
            await tx.rollback()
        finally:
            await hold.close()
        await self._absorbed(base, expected)
        seconds = time.perf_counter() - t0
        return len(items) / seconds, (group_cpu_seconds(self.proc.proc.pid) - cpu0) / len(items)


class Drain:
    """The bare sink: a quorum queue holding the backlog, drained by an aio-pika consumer that decodes
    each body (JSON) and acknowledges it (prefetch 200, as metrics')."""

    def __init__(self, servers: Any):
        self.servers = servers

    async def start(self) -> None:
        self.conn = await aio_pika.connect(self.servers.amqp_url)

    async def stop(self) -> None:
        await self.conn.close()

    async def backlog(self, items: list[tuple[str, bytes, str]]) -> tuple[float, float]:
        ch = await self.conn.channel()
        name = f"bench.drain.{time.monotonic_ns()}"
        queue = await ch.declare_queue(name, durable=True, arguments={"x-queue-type": "quorum"})
        await asyncio.gather(
            *(ch.default_exchange.publish(aio_pika.Message(b, message_id=r, delivery_mode=2), routing_key=name)
              for _, b, r in items)
        )  # fmt: skip
        work = await self.conn.channel()
        await work.set_qos(prefetch_count=200)
        done = asyncio.get_running_loop().create_future()
        seen = 0

        async def take(msg: aio_pika.abc.AbstractIncomingMessage) -> None:
            nonlocal seen
            json.loads(msg.body)
            await msg.ack()
            seen += 1
            if seen == len(items) and not done.done():
                done.set_result(None)

        t0 = time.perf_counter()
        await (await work.get_queue(name)).consume(take)
        await done
        seconds = time.perf_counter() - t0
        await work.close()
        await queue.delete(if_unused=False, if_empty=False)
        return len(items) / seconds, 0.0


def stream(n: int, seed: int) -> list[tuple[str, bytes, str]]:
    return [(e.type, e.to_bytes(), str(e.event_id)) for e in burst_events(n, seed)]


async def burst_rounds(servers: Any, args: argparse.Namespace) -> None:
    metrics = Metrics(servers)
    # (contestant, how): published and absorbed at once, or a backlog drained
    runs: dict[str, tuple[Any, str]] = {
        "baseline": (Baseline(servers, quorum=False), "burst"),
        "baseline quorum": (Baseline(servers, quorum=True), "burst"),
        "metrics": (metrics, "burst"),
        "bare drain": (Drain(servers), "backlog"),
        "metrics drain": (metrics, "backlog"),
    }
    rates: dict[str, list[float]] = {name: [] for name in runs}
    cpu: dict[str, list[float]] = {"metrics": [], "metrics drain": []}
    contestants = {id(c): c for c, _ in runs.values()}.values()
    try:
        for c in contestants:
            await c.start()
        for i, (c, how) in enumerate(runs.values()):
            await getattr(c, how)(stream(300, seed=1 + i))  # warm up (new event ids: metrics runs twice)
        for r in range(args.rounds):
            order = list(runs) if r % 2 == 0 else list(reversed(runs))
            for name in order:
                c, how = runs[name]
                rate, per_event = await getattr(c, how)(stream(args.events, seed=1000 * (r + 1) + len(name)))
                rates[name].append(rate)
                if name in cpu:
                    cpu[name].append(per_event)
                print(f"round {r + 1}: {name:<16} {rate:7.0f} events/s", flush=True)
    finally:
        for c in contestants:
            await c.stop()
    print(f"\n{args.events} mixed events per run, {args.rounds} alternating rounds (median):")
    print(" published and absorbed at once (the publisher shares the machine):")
    for name in ("baseline", "baseline quorum", "metrics"):
        print(f"  {name:<16} {statistics.median(rates[name]):7.0f} events/s"
              f"  ({', '.join(f'{v:.0f}' for v in rates[name])})")  # fmt: skip
    print(" a backlog drained (queued first, then consumed):")
    for name in ("bare drain", "metrics drain"):
        print(f"  {name:<16} {statistics.median(rates[name]):7.0f} events/s"
              f"  ({', '.join(f'{v:.0f}' for v in rates[name])})")  # fmt: skip
    for name, values in cpu.items():
        print(f"  {name} CPU per event: {statistics.median(values) * 1000:.2f} ms (one process, batched)")
    m = statistics.median
    for base in ("baseline", "baseline quorum"):
        print(f"  ratio metrics / {base}: {m(rates['metrics']) / m(rates[base]):.2f}")
    print(f"  ratio metrics drain / bare drain: {m(rates['metrics drain']) / m(rates['bare drain']):.2f}")


async def large_log(servers: Any, args: argparse.Namespace) -> None:
    name = "meetdesk_test_metrics_year"
    url = await fresh_database(servers, name, "metrics")
    engine = make_engine(url, pool_size=2)
    year = date(2025, 1, 1)
    now = datetime(2026, 1, 1, 4, tzinfo=UTC)
    per_day = max(1, round(args.large / 365 / 6.2))
    t0 = time.perf_counter()
    events = Traffic(seed=42, start=year, days=365, now=now, per_day=per_day).events
    generated = time.perf_counter() - t0
    records = [r for e in events if isinstance(r := domain.record(e), domain.Record)]
    print(f"\na year of traffic: {len(events)} events generated in {generated:.0f} s; {len(records)} logged")
    t0 = time.perf_counter()
    for i in range(0, len(records), 2000):
        batch = [handlers.Absorbed(r) for r in records[i : i + 2000]]
        async with engine.connect() as conn, conn.begin():
            await handlers.absorb_batch(Transaction(conn, MetricsStore(conn), "metrics", now), batch, now, POLICY)
    loaded = time.perf_counter() - t0
    print(f"  written through the batch handler (no broker): {loaded:.0f} s, {len(records) / loaded:.0f} events/s")
    t0 = time.perf_counter()
    async with engine.connect() as conn, conn.begin():
        out = await handlers.rebuild(Transaction(conn, MetricsStore(conn), "metrics", now), POLICY)
    took = time.perf_counter() - t0
    print(
        f"  rebuild: {out['events']} logged events, {out['entities']} entity states, {out['facts']} fact rows"
        f" in {took:.1f} s ({out['events'] / took:.0f} events/s)"
    )
    async with engine.connect() as conn:
        pg = (await conn.get_raw_connection()).driver_connection
        sizes = await pg.fetch(
            "SELECT relname, pg_total_relation_size(oid) AS bytes FROM pg_class"
            " WHERE relname IN ('event_log', 'entity_states', 'kpi_daily') ORDER BY relname"
        )
    print("  sizes: " + ", ".join(f"{r['relname']} {r['bytes'] / 2**20:.0f} MiB" for r in sizes))
    await engine.dispose()
    await kpis_latency(servers, args)


async def kpis_latency(servers: Any, args: argparse.Namespace) -> None:
    proc = ServiceProcess("metrics", servers, Path(tempfile.mkdtemp(prefix="bench-metrics-")), db_suffix="_year")
    await reset_queues(servers)
    proc.start()
    try:
        await proc.wait_ready()
        queries = {
            "a month by day": {"from": "2025-06-01", "to": "2025-06-30", "group_by": "day"},
            "a quarter by agent": {"from": "2025-04-01", "to": "2025-06-30", "group_by": "agent"},
            "the year by month": {"from": "2025-01-01", "to": "2025-12-31", "group_by": "month"},
            "the year by agent x category": {"from": "2025-01-01", "to": "2025-12-31", "group_by": "agent,category"},
            "the year by day": {"from": "2025-01-01", "to": "2025-12-31", "group_by": "day"},
        }
        headers = {"Authorization": f"Bearer {API_TOKEN}"}
        bare = await bare_sums(servers, queries, args.queries)
        print(f"\n/kpis over the year ({args.queries} requests each, one at a time; beside it, its bare SQL sum):")
        async with httpx.AsyncClient(base_url=proc.url, headers=headers, timeout=60) as client:
            for label, params in [*queries.items(), ("the quarter's scorecard", None)]:
                times = []
                for _ in range(args.queries):
                    t0 = time.perf_counter()
                    if params is None:
                        r = await client.get("/scorecard", params={"period": "quarter", "from": "2025-05-01"})
                    else:
                        r = await client.get("/kpis", params=params)
                    times.append((time.perf_counter() - t0) * 1000)
                    r.raise_for_status()
                baseline = f"  bare SQL p50 {bare[label]:6.0f} ms" if label in bare else ""
                print(
                    f"  {label:<30} p50 {statistics.median(times):6.0f} ms  p95 {pct(times, 0.95):6.0f} ms"
                    f"  ({len(r.content) // 1024} KiB){baseline}"
                )
    finally:
        proc.stop()


async def bare_sums(servers: Any, queries: dict[str, dict[str, str]], n: int) -> dict[str, float]:
    """The baseline of each /kpis query: the fact counts of its days summed per group, metric and value
    in one SQL statement (what the previous release's /kpis read), fetched and not looked at (ms, p50)."""
    db = await asyncpg.connect(servers.database_url(DB_PREFIX + "metrics_year").replace("+asyncpg", ""))
    out = {}
    try:
        for label, params in queries.items():
            keys = ["day" if by == "day" else f"date_trunc('{by}', day)::date" if by in domain.TIME_BUCKETS else by
                    for by in params["group_by"].split(",")]  # fmt: skip
            cols = ", ".join([*keys, "metric", "value"])
            sql = f"SELECT {cols}, sum(count) FROM kpi_daily WHERE day BETWEEN $1 AND $2 GROUP BY {cols}"
            times = []
            for _ in range(n):
                t0 = time.perf_counter()
                await db.fetch(sql, date.fromisoformat(params["from"]), date.fromisoformat(params["to"]))
                times.append((time.perf_counter() - t0) * 1000)
            out[label] = statistics.median(times)
    finally:
        await db.close()
    return out


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=5000, help="events per burst")
    parser.add_argument("--rounds", type=int, default=3, help="bursts per contestant, alternating")
    parser.add_argument("--large", type=int, default=1_000_000, help="events in the year for rebuild and /kpis")
    parser.add_argument("--queries", type=int, default=10, help="requests per /kpis query")
    parser.add_argument("--skip-burst", action="store_true")
    parser.add_argument("--skip-large", action="store_true")
    parser.add_argument("--kpis-only", action="store_true", help="only /kpis latency, on the year a run left")
    return parser.parse_args()


async def main(args: argparse.Namespace) -> None:
    servers = await asyncio.to_thread(resolve)
    if args.kpis_only:
        await kpis_latency(servers, args)
        return
    if not args.skip_burst:
        await burst_rounds(servers, args)
    if not args.skip_large:
        await large_log(servers, args)


if __name__ == "__main__":
    arguments = parse_args()
    try:
        import uvloop
    except ImportError:
        asyncio.run(main(arguments))
    else:
        uvloop.run(main(arguments))
