"""Booking decisions per second for one booking process, in bursts of conflicting and free requests,
beside a bare aio-pika baseline in the same run.

    make bench-booking        # or: .venv/bin/python bench/booking.py --requests 2000 --rounds 3

Booking runs as a real process (``faststream run``, one worker) on a fresh database with 20 rooms.
Each burst publishes ``booking.requested`` events onto ``meetdesk.events`` as intake would: half ask
for one popular slot with no room named (all but the first few are rejected, with alternatives),
half for free slots (confirmed). A decision is the request's ``booking.confirmed`` or
``booking.rejected``; decisions per second = requests / (last decision − first publish).

Baseline, in the same run: a bare aio-pika consumer on a durable quorum queue that decodes the JSON
and republishes it with publisher confirms to a queue a sink drains (bench/intake_throughput.py's).
The bursts alternate (baseline, booking; --rounds times) and the medians are compared. Also printed:
booking's CPU time per decision (all its processes).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.intake_throughput import Baseline, group_cpu_seconds
from shared.contract.events import BookingDetails, BookingRequested, make_event
from shared.topology import EVENTS
from tests.servers import resolve
from tests.system import EventWatcher, Publisher, ServiceProcess, prepare_databases, reset_queues

OUTCOMES = ("booking.confirmed", "booking.rejected")
ROOMS = 20


def requests(n: int, round_no: int) -> list[tuple[str, bytes]]:
    """(inquiry id, envelope) for half a popular slot, half free slots, interleaved."""
    base = datetime.now(UTC).date() + timedelta(days=60 + 40 * round_no)
    hot = datetime(base.year, base.month, base.day, 2, tzinfo=UTC)  # 10:00 venue time
    out = []
    for i in range(n):
        if i % 2 == 0:
            start, room = hot, None
        else:
            k = i // 2
            day = base + timedelta(days=1 + k // (ROOMS * 4))
            start = datetime(day.year, day.month, day.day, 1 + 3 * (k % 4), tzinfo=UTC)
            room = f"bench-room-{(k // 4) % ROOMS}"
        inquiry_id = str(uuid.uuid4())
        data = BookingRequested(
            inquiry_id=inquiry_id,
            customer_id=f"bench-{i % 100}",
            channel="webform",
            language="en",
            meeting=BookingDetails(
                name="Bench", start=start, end=start + timedelta(hours=1), attendees=8, room_id=room
            ),
        )
        env = make_event(data, producer="bench", correlation_id=uuid.uuid4())
        out.append((inquiry_id, env.to_bytes()))
    return out


class Booking:
    def __init__(self, servers, log_dir: Path):
        self.servers = servers
        self.proc = ServiceProcess("booking", servers, log_dir, db_suffix="_bench")
        self.watcher = EventWatcher(servers, keys=(*OUTCOMES, "room.updated"))
        self.pub = Publisher(servers)
        self.cpu: list[float] = []

    async def start(self) -> None:
        await asyncio.to_thread(prepare_databases, self.servers, ("booking",), db_suffix="_bench")
        await reset_queues(self.servers)
        self.proc.start()
        await self.proc.wait_ready()
        await self.watcher.start()
        await self.pub.start()
        for r in range(ROOMS):
            await self.pub.command("rooms.upsert", room_id=f"bench-room-{r}", name=f"Room {r}", capacity=20)
        await self.watcher.wait_for(lambda e: e.type == "room.updated", count=ROOMS, timeout=30)

    async def _decided(self, ids: set[str], timeout: float = 300) -> dict[str, float]:
        found = await self.watcher.wait_for(
            lambda e: e.type in OUTCOMES and e.data["inquiry_id"] in ids, count=len(ids), timeout=timeout
        )
        return {e.data["inquiry_id"]: e.received for e in found}

    async def burst(self, items: list[tuple[str, bytes]]) -> float:
        assert self.proc.proc is not None
        cpu0 = group_cpu_seconds(self.proc.proc.pid)
        t0 = time.perf_counter()
        await asyncio.gather(*(self.pub.publish(EVENTS, "booking.requested", body, message_id=i) for i, body in items))
        decided = await self._decided({i for i, _ in items})
        self.cpu.append((group_cpu_seconds(self.proc.proc.pid) - cpu0) / len(items))
        return len(items) / (max(decided.values()) - t0)

    async def stop(self) -> None:
        await self.watcher.stop()
        await self.pub.stop()
        self.proc.stop()


async def main(args: argparse.Namespace, servers) -> None:
    booking = Booking(servers, Path(tempfile.mkdtemp(prefix="bench-booking-")))
    baseline = Baseline(servers, quorum=True)
    await booking.start()
    await baseline.start()
    rates: dict[str, list[float]] = {"baseline quorum": [], "booking": []}
    try:
        await booking.burst(requests(100, 99))  # warm-up
        for r in range(args.rounds):
            items = requests(args.requests, r)
            b_rate, _ = await baseline.burst([("booking.requested", body, i) for i, body in items])
            rates["baseline quorum"].append(b_rate)
            print(f"round {r + 1}: baseline quorum {b_rate:7.0f} msg/s", flush=True)
            rate = await booking.burst(items)
            rates["booking"].append(rate)
            print(f"round {r + 1}: booking         {rate:7.0f} decisions/s", flush=True)
    finally:
        await baseline.stop()
        await booking.stop()
    print(
        f"\nbooking (1 worker, {ROOMS} rooms): bursts of {args.requests} booking.requested, half for one popular "
        "slot with no room named, half for free slots"
    )
    for name, values in rates.items():
        print(f"{name:16} median {statistics.median(values):7.0f}/s ({', '.join(f'{v:.0f}' for v in values)})")
    print(f"booking CPU per decision: {1000 * statistics.median(booking.cpu):.2f} ms")
    ratio = statistics.median(rates["booking"]) / statistics.median(rates["baseline quorum"])
    print(f"ratio booking / baseline quorum: {ratio:.2f}")


def run() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    servers = resolve()
    asyncio.run(main(args, servers))


if __name__ == "__main__":
    run()
