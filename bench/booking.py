"""Booking decisions per second for one booking process, in bursts of conflicting and free requests,
beside a bare aio-pika baseline in the same run.

    make bench-booking        # or: .venv/bin/python bench/booking.py --requests 2000 --rounds 3
    .venv/bin/python bench/booking.py --against HEAD~1        # this tree's booking vs HEAD~1's
    .venv/bin/python bench/booking.py --against-tree /tmp/old # vs the code in another directory

Booking runs as a real process (``faststream run``, one worker) on a fresh database with 20 rooms.
Each burst publishes ``booking.requested`` events onto ``meetdesk.events`` as intake would: half ask
for one popular slot with no room named (all but the first few are rejected, with alternatives),
half for free slots (confirmed: with the departments' preparation and the booking's due items). A
decision is the request's ``booking.confirmed`` or ``booking.rejected``; decisions per second =
requests / (last decision − first publish).

Baseline, in the same run: a bare aio-pika consumer on a durable quorum queue that decodes the JSON
and republishes it with publisher confirms to a queue a sink drains (bench/intake_throughput.py's).
The bursts alternate (baseline, booking; --rounds times) and the medians are compared. Also printed:
booking's CPU time per decision (all its processes).

--against REF (a git commit, checked out in a temporary worktree) or --against-tree DIR measures a
second booking in the same run, on its own database; the two never run at once (they share the
queue): each is started, warmed up and stopped around each of its turns, and they alternate.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.intake_throughput import Baseline, group_cpu_seconds, worktree
from shared.contract.events import BookingDetails, BookingRequested, make_event
from shared.topology import EVENTS
from tests.servers import resolve
from tests.system import ROOT, EventWatcher, Publisher, ServiceProcess, prepare_databases, reset_queues

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
    """A booking process running the code in ``root`` on its own database; ``transient``: started for
    each of its turns and stopped after it (another booking shares the queue)."""

    def __init__(self, servers, log_dir: Path, *, root: Path = ROOT, db_suffix: str = "_bench", transient=False):
        self.servers, self.root, self.db_suffix, self.transient = servers, root, db_suffix, transient
        self.proc = ServiceProcess("booking", servers, log_dir, root=root, db_suffix=db_suffix)
        self.watcher = EventWatcher(servers, keys=(*OUTCOMES, "room.updated"))
        self.pub = Publisher(servers)
        self.cpu: list[float] = []
        self.warm_ups = 0

    async def start(self) -> None:
        await asyncio.to_thread(prepare_databases, self.servers, ("booking",), root=self.root, db_suffix=self.db_suffix)
        await self.watcher.start()
        await self.pub.start()
        await self._up()
        for r in range(ROOMS):
            await self.pub.command("rooms.upsert", room_id=f"bench-room-{r}", name=f"Room {r}", capacity=20)
        await self.watcher.wait_for(lambda e: e.type == "room.updated", count=ROOMS, timeout=30)
        self.watcher.events.clear()
        await self.burst(requests(100, 99))  # warm-up
        if self.transient:
            await self._down()

    async def _up(self) -> None:
        self.proc.start()
        await self.proc.wait_ready()

    async def _down(self) -> None:
        await asyncio.to_thread(self.proc.stop)

    @contextlib.asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        if not self.transient:
            yield
            return
        try:
            await self._up()
            self.warm_ups += 1  # on days of its own: a warm-up never meets the bookings of another
            await self.burst(requests(50, 100 + self.warm_ups))
            yield
        finally:
            await self._down()

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


async def main(args: argparse.Namespace, servers, against: tuple[Path, str] | None) -> None:
    log_dir = Path(tempfile.mkdtemp(prefix="bench-booking-"))
    await reset_queues(servers)
    if against is None:
        bookings = {"booking": Booking(servers, log_dir)}
    else:
        tree, name = against
        (log_dir / "this").mkdir()
        (log_dir / "against").mkdir()
        bookings = {
            "booking (this tree)": Booking(servers, log_dir / "this", transient=True),
            f"booking ({name})": Booking(servers, log_dir / "against", root=tree, db_suffix="_against", transient=True),
        }
    print(f"logs in {log_dir}", flush=True)
    baseline = Baseline(servers, quorum=True)
    for b in bookings.values():
        await b.start()
    await baseline.start()
    width = max(16, *map(len, bookings))
    rates: dict[str, list[float]] = {"baseline quorum": [], **{name: [] for name in bookings}}
    try:
        for r in range(args.rounds):
            items = requests(args.requests, r)
            b_rate, _ = await baseline.burst([("booking.requested", body, i) for i, body in items])
            rates["baseline quorum"].append(b_rate)
            print(f"round {r + 1}: {'baseline quorum':<{width}} {b_rate:7.0f} msg/s", flush=True)
            for name in list(bookings) if r % 2 == 0 else reversed(bookings):
                async with bookings[name].turn():
                    rate = await bookings[name].burst(requests(args.requests, r))
                rates[name].append(rate)
                print(f"round {r + 1}: {name:<{width}} {rate:7.0f} decisions/s", flush=True)
    finally:
        await baseline.stop()
        for b in bookings.values():
            await b.stop()
    print(
        f"\nbooking (1 worker, {ROOMS} rooms): bursts of {args.requests} booking.requested, half for one popular "
        "slot with no room named, half for free slots"
    )
    for name, values in rates.items():
        print(f"{name:<{width}} median {statistics.median(values):7.0f}/s ({', '.join(f'{v:.0f}' for v in values)})")
    for name, b in bookings.items():
        print(f"{name} CPU per decision: {1000 * statistics.median(b.cpu[-args.rounds :]):.2f} ms")
        ratio = statistics.median(rates[name]) / statistics.median(rates["baseline quorum"])
        print(f"ratio {name} / baseline quorum: {ratio:.2f}")
    if against:
        this, other = bookings
        per_round = ", ".join(f"{a / b:.2f}" for a, b in zip(rates[this], rates[other], strict=True))
        print(f"ratio {this} / {other}: {statistics.median(rates[this]) / statistics.median(rates[other]):.2f}"
              f" (per round: {per_round})")  # fmt: skip


def run() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--against", metavar="REF", help="also measure the booking of this git commit (a worktree)")
    which.add_argument("--against-tree", metavar="DIR", type=Path, help="also measure the booking of the code in DIR")
    args = parser.parse_args()
    servers = resolve()
    if args.against_tree:
        asyncio.run(main(args, servers, (args.against_tree.resolve(), str(args.against_tree))))
        return
    with worktree(args.against) if args.against else contextlib.nullcontext() as against:
        asyncio.run(main(args, servers, against))


if __name__ == "__main__":
    run()
