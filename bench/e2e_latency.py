"""End-to-end latency of the main flow, beside a bare aio-pika baseline measured in the same run.

    make bench            # or: .venv/bin/python bench/e2e_latency.py --requests 300 --rate 25

Flow measured: a web-form booking request published to ``meetdesk.inbound`` → intake →
``booking.requested`` → booking → ``booking.confirmed`` / ``booking.rejected`` seen by a subscriber
of ``meetdesk.events``. The four services run as real processes (as in the tests), with fresh
databases ``meetdesk_test_*``.

Baseline: the same two hops done by bare aio-pika consumers that only decode the JSON and
republish it (persistent, publisher confirms) — the floor the broker and this machine allow.

Two figures each: latency at a steady pace (``--rate`` requests/s; p50/p95/max), and throughput
of a burst (``--burst`` requests published at once; answered requests per second).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import aio_pika

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.integration.builders import booking_form, future_slot
from tests.servers import resolve
from tests.system import EventWatcher, Publisher, ServiceProcess, prepare_databases, reset_queues

OUTCOMES = {"booking.confirmed", "booking.rejected"}


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summary(name: str, lat: list[float], burst_n: int, burst_s: float) -> str:
    ms = [v * 1000 for v in lat]
    return (
        f"{name:<10} paced: n={len(ms)} p50={statistics.median(ms):7.1f} ms  p95={pct(ms, 0.95):7.1f} ms  "
        f"max={max(ms):7.1f} ms | burst: {burst_n} in {burst_s:5.2f} s = {burst_n / burst_s:6.0f} req/s"
    )


# -- meetdesk --------------------------------------------------------------------------------------
async def run_meetdesk(servers: Any, args: argparse.Namespace) -> tuple[list[float], float]:
    log_dir = Path(tempfile.mkdtemp(prefix="meetdesk-bench-"))
    await asyncio.to_thread(prepare_databases, servers)
    await reset_queues(servers)
    procs = [ServiceProcess(n, servers, log_dir) for n in args.services.split(",")]
    watcher, pub = EventWatcher(servers), Publisher(servers)
    try:
        for p in procs:
            p.start()
        for p in procs:
            await p.wait_ready()
        await watcher.start()
        await pub.start()
        rooms = [f"bench-{i}" for i in range(20)]
        for r in rooms:
            await pub.command("rooms.upsert", room_id=r, name=r, capacity=50, equipment=["projector", "microphone"])
        await watcher.wait_for(lambda e: e.type == "room.updated", count=len(rooms))

        async def one(i: int, day: int) -> tuple[str, float]:
            start, end = future_slot(days=day + i // 200, hour=8 + (i % 7) * 2)
            form = booking_form(room_id=rooms[i % len(rooms)], start=start, end=end)
            t0 = time.perf_counter()
            await pub.publish("meetdesk.inbound", "webform", form, message_id=form["submission_id"])
            return form["submission_id"], t0

        async def measure(sent: dict[str, float], timeout: float) -> list[float]:
            sids = set(sent)
            inq = await watcher.wait_for(
                lambda e: e.type == "inquiry.received" and e.data["source_ref"] in sids,
                count=len(sids),
                timeout=timeout,
            )
            by_inquiry = {e.data["inquiry_id"]: e.data["source_ref"] for e in inq}
            done = await watcher.wait_for(
                lambda e: e.type in OUTCOMES and e.data["inquiry_id"] in by_inquiry, count=len(sids), timeout=timeout
            )
            first: dict[str, float] = {}
            for e in done:
                sid = by_inquiry[e.data["inquiry_id"]]
                first[sid] = min(first.get(sid, e.received), e.received)
            return [first[s] - sent[s] for s in sids]

        # warm-up
        warm = dict([await one(i, 30) for i in range(20)])
        await measure(warm, 30)
        # paced
        sent: dict[str, float] = {}
        for i in range(args.requests):
            sid, t0 = await one(i, 40)
            sent[sid] = t0
            await asyncio.sleep(1 / args.rate)
        latencies = await measure(sent, 120)
        # burst
        t0 = time.perf_counter()
        burst = dict(await asyncio.gather(*(one(i, 80) for i in range(args.burst))))
        burst_lat = await measure(burst, 300)
        burst_time = max(burst[s] + lat for s, lat in zip(burst, burst_lat, strict=True)) - t0
        return latencies, burst_time
    finally:
        await watcher.stop()
        if pub._conn:
            await pub.stop()
        for p in procs:
            p.stop()


# -- baseline: bare aio-pika, same two hops --------------------------------------------------------
async def run_baseline(servers: Any, args: argparse.Namespace) -> tuple[list[float], float]:
    conn = await aio_pika.connect(servers.amqp_url)
    tag = uuid.uuid4().hex[:8]
    ch_pub = await conn.channel()
    ex = await ch_pub.declare_exchange(f"bench.{tag}", aio_pika.ExchangeType.TOPIC, auto_delete=True)
    queues = []
    for hop in ("a", "b", "out"):
        q = await ch_pub.declare_queue(f"bench.{tag}.{hop}", auto_delete=True)
        await q.bind(ex, routing_key=hop)
        queues.append(q)

    async def relay(q_name: str, next_key: str) -> None:
        ch = await conn.channel()
        await ch.set_qos(prefetch_count=200)
        ex2 = await ch.get_exchange(f"bench.{tag}")
        q = await ch.get_queue(q_name)

        async def on(msg: aio_pika.abc.AbstractIncomingMessage) -> None:
            body = json.loads(msg.body)
            await ex2.publish(
                aio_pika.Message(
                    json.dumps(body).encode(), delivery_mode=aio_pika.DeliveryMode.PERSISTENT, message_id=msg.message_id
                ),
                routing_key=next_key,
            )
            await msg.ack()

        await q.consume(on)

    await relay(f"bench.{tag}.a", "b")
    await relay(f"bench.{tag}.b", "out")
    arrived: dict[str, float] = {}
    changed = asyncio.Event()

    async def sink(msg: aio_pika.abc.AbstractIncomingMessage) -> None:
        arrived[msg.message_id or ""] = time.perf_counter()
        changed.set()
        await msg.ack()

    ch_sink = await conn.channel()
    await ch_sink.set_qos(prefetch_count=1000)
    await (await ch_sink.get_queue(f"bench.{tag}.out")).consume(sink)

    async def one(i: int) -> tuple[str, float]:
        start, end = future_slot(days=3)
        form = booking_form(room_id="x", start=start, end=end)
        t0 = time.perf_counter()
        await ex.publish(
            aio_pika.Message(
                json.dumps(form).encode(),
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                message_id=form["submission_id"],
            ),
            routing_key="a",
        )
        return form["submission_id"], t0

    async def wait_all(ids: set[str]) -> None:
        while not ids <= arrived.keys():
            changed.clear()
            await asyncio.wait_for(changed.wait(), 30)

    sent: dict[str, float] = {}
    for i in range(args.requests):
        sid, t0 = await one(i)
        sent[sid] = t0
        await asyncio.sleep(1 / args.rate)
    await wait_all(set(sent))
    latencies = [arrived[s] - sent[s] for s in sent]
    t0 = time.perf_counter()
    burst = dict(await asyncio.gather(*(one(i) for i in range(args.burst))))
    await wait_all(set(burst))
    burst_time = max(arrived[s] for s in burst) - t0
    await conn.close()
    return latencies, burst_time


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=300, help="paced requests (default 300)")
    parser.add_argument("--rate", type=float, default=25.0, help="paced requests per second (default 25)")
    parser.add_argument("--burst", type=int, default=500, help="requests published at once (default 500)")
    parser.add_argument(
        "--services", default="intake,booking,complaints,metrics", help="services to start (diagnosis: intake,booking)"
    )
    parser.add_argument("--skip-baseline", action="store_true")
    args = parser.parse_args()
    servers = await asyncio.to_thread(resolve)
    base = await run_baseline(servers, args) if not args.skip_baseline else ([1.0], 1.0)
    ours = await run_meetdesk(servers, args)
    print()
    print(
        f"end-to-end: web form → booking.confirmed/rejected; {args.requests} paced at {args.rate}/s, burst {args.burst}"
    )
    print(summary("baseline", base[0], args.burst, base[1]))
    print(summary("meetdesk", ours[0], args.burst, ours[1]))
    print(
        f"ratio (meetdesk / baseline): p50 latency x{statistics.median(ours[0]) / statistics.median(base[0]):.1f}, "
        f"burst throughput {base[1] / ours[1]:.2f}"
    )


if __name__ == "__main__":
    asyncio.run(main())
