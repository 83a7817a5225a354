"""End-to-end burst: web forms → intake → booking → booking.confirmed / booking.rejected, beside a
bare aio-pika two-hop relay in the same run — and where the time goes.

    .venv/bin/python bench/booking_e2e.py                  # intake + booking, 3 rounds of 1000 forms
    .venv/bin/python bench/booking_e2e.py --services intake,booking,complaints,metrics

The services run as real processes (one worker each, as in the tests) on fresh databases with 20
rooms. Each burst publishes web-form booking requests onto ``meetdesk.inbound`` at once, as the web
form gateway would: half for one popular slot with no room named (all but the first few rejected,
with alternatives), half for free slots in named rooms (confirmed: preparation, due items, the
customer's confirmation). A request is done when its outcome is seen on ``meetdesk.events``;
requests per second = forms / (last outcome − first publish).

Baseline, in the same run: the same two hops done by bare aio-pika consumers on durable quorum queues
that decode the JSON and republish it with publisher confirms (the floor this broker and machine
allow). The bursts alternate (baseline, meetdesk; ``--rounds`` times); medians are compared.

Where the time goes: each service's CPU time per request (its process group), the moment the last
``booking.requested`` left intake (intake's share of the burst) and the last outcome.
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
from datetime import timedelta
from pathlib import Path
from typing import Any

import aio_pika

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.intake_throughput import group_cpu_seconds
from tests.integration.builders import booking_form, future_slot
from tests.servers import resolve
from tests.system import EventWatcher, Publisher, ServiceProcess, prepare_databases, reset_queues

OUTCOMES = ("booking.confirmed", "booking.rejected")
ROOMS = 20


def forms(n: int, round_no: int) -> list[dict[str, Any]]:
    """Half for one popular slot with no room named, half for free slots (a room and time each)."""
    hot, _ = future_slot(days=60 + 40 * round_no, hour=10, hours=1)
    out = []
    for i in range(n):
        if i % 2 == 0:
            start, room = hot, None
        else:
            k = i // 2
            start = hot + timedelta(days=1 + k // (ROOMS * 4), hours=3 * (k % 4) - 1)
            room = f"bench-room-{(k // 4) % ROOMS}"
        out.append(booking_form(room_id=room, start=start, end=start + timedelta(hours=1), email=f"c{i}@example.com"))
    return out


class TwoHops:
    """Publisher → quorum queue → relay → quorum queue → relay → queue → sink (bare aio-pika)."""

    def __init__(self, servers: Any):
        self.servers = servers
        self.arrived: dict[str, float] = {}

    async def start(self) -> None:
        self.conn = await aio_pika.connect(self.servers.amqp_url)
        tag = uuid.uuid4().hex[:8]
        ch = await self.conn.channel()
        self.ex = await ch.declare_exchange(f"bench.{tag}", aio_pika.ExchangeType.TOPIC, auto_delete=True)
        quorum = {"durable": True, "arguments": {"x-queue-type": "quorum"}}
        self.queues = [await ch.declare_queue(f"bench.{tag}.{n}", **quorum) for n in ("a", "b", "out")]
        for q, key in zip(self.queues, ("a", "b", "out"), strict=True):
            await q.bind(self.ex, key)
        for q, next_key in ((self.queues[0], "b"), (self.queues[1], "out")):
            work = await self.conn.channel()
            await work.set_qos(prefetch_count=200)
            ex = await work.get_exchange(self.ex.name)

            async def relay(msg: aio_pika.abc.AbstractIncomingMessage, ex: Any = ex, key: str = next_key) -> None:
                body = json.dumps(json.loads(msg.body)).encode()
                await ex.publish(aio_pika.Message(body, message_id=msg.message_id, delivery_mode=2), routing_key=key)
                await msg.ack()

            await (await work.get_queue(q.name)).consume(relay)
        sink = await self.conn.channel()
        await sink.set_qos(prefetch_count=1000)

        async def on_out(msg: aio_pika.abc.AbstractIncomingMessage) -> None:
            self.arrived.setdefault(msg.message_id or "", time.perf_counter())
            await msg.ack()

        await (await sink.get_queue(self.queues[2].name)).consume(on_out)

    async def burst(self, items: list[dict[str, Any]]) -> float:
        t0 = time.perf_counter()
        sends = [(str(uuid.uuid4()), json.dumps(f).encode()) for f in items]
        await asyncio.gather(
            *(
                self.ex.publish(aio_pika.Message(b, message_id=mid, delivery_mode=2), routing_key="a")
                for mid, b in sends
            )
        )
        while not {mid for mid, _ in sends} <= self.arrived.keys():  # noqa: ASYNC110 - a benchmark's poll
            await asyncio.sleep(0.02)
        return len(items) / (max(self.arrived[mid] for mid, _ in sends) - t0)

    async def stop(self) -> None:
        await self.conn.close()
        async with await aio_pika.connect(self.servers.amqp_url) as conn:
            ch = await conn.channel()
            for q in self.queues:
                await ch.queue_delete(q.name)


class Meetdesk:
    def __init__(self, servers: Any, services: list[str], log_dir: Path):
        self.procs = {n: ServiceProcess(n, servers, log_dir, db_suffix="_e2e") for n in services}
        self.servers = servers
        self.watcher = EventWatcher(servers, keys=(*OUTCOMES, "booking.requested", "room.updated"))
        self.pub = Publisher(servers)
        self.cpu: dict[str, list[float]] = {n: [] for n in services}
        self.intake_share: list[float] = []

    async def start(self) -> None:
        await asyncio.to_thread(prepare_databases, self.servers, tuple(self.procs), db_suffix="_e2e")
        await self.watcher.start()
        await self.pub.start()
        for p in self.procs.values():
            p.start()
        for p in self.procs.values():
            await p.wait_ready()
        for r in range(ROOMS):
            await self.pub.command(
                "rooms.upsert",
                room_id=f"bench-room-{r}",
                name=f"Room {r}",
                capacity=20,
                equipment=["projector", "microphone"],
            )
        await self.watcher.wait_for(lambda e: e.type == "room.updated", count=ROOMS, timeout=30)
        await self.burst(forms(100, 99))  # warm-up
        self.cpu = {n: [] for n in self.procs}
        self.intake_share.clear()

    async def burst(self, items: list[dict[str, Any]]) -> float:
        self.watcher.events.clear()
        cpu0 = {n: group_cpu_seconds(p.proc.pid) for n, p in self.procs.items() if p.proc}
        sids = {f["submission_id"] for f in items}
        t0 = time.perf_counter()
        await asyncio.gather(
            *(self.pub.publish("meetdesk.inbound", "webform", f, message_id=f["submission_id"]) for f in items)
        )
        asked = await self.watcher.wait_for(
            lambda e: e.type == "booking.requested",  # this burst's: the events seen are cleared before it
            count=len(items),
            timeout=300,
        )
        inquiries = {e.data["inquiry_id"] for e in asked}
        done = await self.watcher.wait_for(
            lambda e: e.type in OUTCOMES and e.data["inquiry_id"] in inquiries, count=len(items), timeout=300
        )
        assert len(sids) == len(inquiries) == len(items)
        last = max(e.received for e in done)
        for n, p in self.procs.items():
            if p.proc:
                self.cpu[n].append((group_cpu_seconds(p.proc.pid) - cpu0[n]) / len(items))
        self.intake_share.append((max(e.received for e in asked) - t0) / (last - t0))
        return len(items) / (last - t0)

    async def stop(self) -> None:
        await self.watcher.stop()
        await self.pub.stop()
        for p in self.procs.values():
            p.stop()


async def main(args: argparse.Namespace) -> None:
    servers = await asyncio.to_thread(resolve)
    log_dir = Path(tempfile.mkdtemp(prefix="bench-booking-e2e-"))
    print(f"logs in {log_dir}", flush=True)
    await reset_queues(servers)
    base, ours = TwoHops(servers), Meetdesk(servers, args.services.split(","), log_dir)
    await base.start()
    await ours.start()
    rates: dict[str, list[float]] = {"baseline": [], "meetdesk": []}
    try:
        for r in range(args.rounds):
            rates["baseline"].append(await base.burst(forms(args.requests, r)))
            rates["meetdesk"].append(await ours.burst(forms(args.requests, r)))
            print(
                f"round {r + 1}: baseline {rates['baseline'][-1]:6.0f} req/s   meetdesk {rates['meetdesk'][-1]:6.0f} "
                f"req/s (intake done at {100 * ours.intake_share[-1]:.0f} % of it)",
                flush=True,
            )
    finally:
        await base.stop()
        await ours.stop()
    print(
        f"\nweb form → booking outcome, bursts of {args.requests} (half one popular slot with no room named, half "
        f"free slots), services: {args.services}"
    )
    for name, values in rates.items():
        print(f"{name:<9} median {statistics.median(values):6.0f} req/s ({', '.join(f'{v:.0f}' for v in values)})")
    print(
        f"ratio meetdesk / baseline: {statistics.median(rates['meetdesk']) / statistics.median(rates['baseline']):.2f}"
    )
    for n, values in ours.cpu.items():
        print(f"CPU per request, {n:<10} {1000 * statistics.median(values):5.2f} ms")
    print(f"intake's last booking.requested at {100 * statistics.median(ours.intake_share):.0f} % of the burst's time")


def run() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=1000, help="web forms per burst")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--services", default="intake,booking", help="services to run (intake and booking at least)")
    asyncio.run(main(parser.parse_args()))


if __name__ == "__main__":
    run()
