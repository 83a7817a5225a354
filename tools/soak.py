"""The soak: the mixed stream at half its measured maximum for a long while; what it did to latency,
memory, queues and the logs.

    make soak                               # 10 minutes
    make soak ARGS="--minutes 2 --rate 60"  # a given rate instead of half the measured maximum

The stream is bench/payloads.py's: every channel (email in three charsets, Asterisk CDRs, Chatwoot,
WeChat XML, web forms, on-site entries, surveys) in three languages, each message with its own
correlation id. First a burst finds the maximum the four services sustain end to end (messages whose
events have all arrived, per second); then the soak publishes at half of it, paced, for --minutes.
End to end is from the publish to the last event the message caused (its inquiry, booking outcome,
complaint registration, acknowledgements, …), by correlation id.

Printed: the maximum and the rate used; p50/p95/p99 end to end; each service's memory (RSS of its
processes) at the start and the end; the depth of every service queue, sampled every 10 s (max and
final); dead letters; the error lines in each service's log. The services run on databases
``meetdesk_test_<service>_soak`` (fresh each run) and the test ports: not beside ``make test``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

import aio_pika

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.payloads import stream  # noqa: E402
from shared.topology import EVENTS, INBOUND, QUEUES  # noqa: E402
from tests.servers import Servers, resolve  # noqa: E402
from tests.system import ServiceProcess, prepare_databases, reset_queues  # noqa: E402

SERVICES = ("intake", "booking", "complaints", "metrics")
CONTENT_TYPES = {"email": "message/rfc822", "wechat": "application/xml"}
SETTLE = 5.0  # seconds without a new event for a message before its last event counts as its last


def rss_kb(pgid: int) -> int:
    """Resident memory of every process in a process group (Linux /proc), in kB."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
            if int(fields[2]) != pgid:
                continue
            status = (stat.parent / "status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total


class Tracker:
    """When each correlation id was published, and when its events arrived."""

    def __init__(self, url: str):
        self.url = url
        self.sent: dict[str, float] = {}
        self.last_event: dict[str, float] = {}
        self.events = 0
        self._conn: Any = None

    async def start(self) -> None:
        self._conn = await aio_pika.connect_robust(self.url)
        channel = await self._conn.channel()
        await channel.set_qos(prefetch_count=5000)
        queue = await channel.declare_queue("", exclusive=True)
        await queue.bind(EVENTS, "#")
        await queue.consume(self._on, no_ack=True)

    async def _on(self, msg: aio_pika.abc.AbstractIncomingMessage) -> None:
        self.events += 1
        if msg.correlation_id in self.sent:
            self.last_event[msg.correlation_id] = time.monotonic()

    def completed(self, ids: list[str], now: float) -> list[float]:
        """End-to-end seconds of the messages among ``ids`` that have settled."""
        out = []
        for cid in ids:
            last = self.last_event.get(cid)
            if last is not None and now - last >= SETTLE:
                out.append(last - self.sent[cid])
        return out

    async def stop(self) -> None:
        if self._conn is not None:
            await self._conn.close()


async def publish_stream(
    url: str, tracker: Tracker, messages: list[tuple[str, bytes, str]], rate: float | None
) -> list[str]:
    """Publish (paced at ``rate`` per second, or as fast as confirms allow); returns correlation ids."""
    conn = await aio_pika.connect(url)
    ids: list[str] = []
    try:
        channel = await conn.channel()
        exchange = await channel.get_exchange(INBOUND, ensure=False)
        sem = asyncio.Semaphore(500)
        tasks = []
        began = time.monotonic()

        async def one(key: str, body: bytes, native_id: str, cid: str) -> None:
            async with sem:
                tracker.sent[cid] = time.monotonic()
                await exchange.publish(
                    aio_pika.Message(
                        body,
                        content_type=CONTENT_TYPES.get(key, "application/json"),
                        message_id=native_id,
                        correlation_id=cid,
                        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                    ),
                    routing_key=key,
                )

        for i, (key, body, native_id) in enumerate(messages):
            cid = str(uuid.uuid4())
            ids.append(cid)
            tasks.append(asyncio.create_task(one(key, body, native_id, cid)))
            if rate:
                delay = began + (i + 1) / rate - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
        await asyncio.gather(*tasks)
    finally:
        await conn.close()
    return ids


async def queue_depths(url: str) -> dict[str, int]:
    conn = await aio_pika.connect(url)
    try:
        channel = await conn.channel()
        out = {}
        for spec in QUEUES:
            for name in (spec.name, spec.dead_letter_queue):
                out[name] = (await channel.declare_queue(name, passive=True)).declaration_result.message_count
        return out
    finally:
        await conn.close()


def error_lines(log_dir: Path, service: str) -> int:
    return sum(
        1
        for p in log_dir.glob(f"{service}.*.log")
        for line in p.read_text(errors="replace").splitlines()
        if '"level": "error"' in line or '"level": "critical"' in line
    )


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else float("nan")


async def soak(servers: Servers, minutes: float, rate: float | None, log_dir: Path) -> int:
    await asyncio.to_thread(prepare_databases, servers, db_suffix="_soak")
    await reset_queues(servers)
    services = {n: ServiceProcess(n, servers, log_dir, db_suffix="_soak") for n in SERVICES}
    for svc in services.values():
        svc.start()
    tracker = Tracker(servers.amqp_url)
    try:
        for svc in services.values():
            await svc.wait_ready(90)
        await tracker.start()
        index = 0
        if rate is None:  # the maximum: a burst, then wait for it to settle
            burst = stream(3000, seed=11, start=index)
            index += len(burst)
            t0 = time.monotonic()
            ids = await publish_stream(servers.amqp_url, tracker, burst, None)
            while len(tracker.completed(ids, time.monotonic())) < len(ids) * 0.99 and time.monotonic() - t0 < 300:  # noqa: ASYNC110
                await asyncio.sleep(1)
            done = [tracker.last_event[c] for c in ids if c in tracker.last_event]
            maximum = len(done) / (max(done) - t0)
            rate = maximum / 2
            print(f"maximum end to end: {maximum:.0f} messages/s (a burst of {len(burst)}); soaking at {rate:.0f}/s")
        else:
            maximum = float("nan")
        memory_start = {n: rss_kb(s.proc.pid) for n, s in services.items() if s.proc}
        depths: dict[str, list[int]] = defaultdict(list)
        total = int(rate * minutes * 60)
        messages = stream(total, seed=13, start=index)
        soak_began = time.monotonic()
        publishing = asyncio.create_task(publish_stream(servers.amqp_url, tracker, messages, rate))
        while not publishing.done():
            await asyncio.sleep(10)
            for name, n in (await queue_depths(servers.amqp_url)).items():
                depths[name].append(n)
            elapsed = time.monotonic() - soak_began
            print(f"  {elapsed:5.0f} s: sent {len(tracker.sent)}, events {tracker.events}", flush=True)
        ids = publishing.result()
        settle_deadline = time.monotonic() + 120
        while len(tracker.completed(ids, time.monotonic())) < len(ids) and time.monotonic() < settle_deadline:  # noqa: ASYNC110
            await asyncio.sleep(1)
        latencies = tracker.completed(ids, time.monotonic())
        memory_end = {n: rss_kb(s.proc.pid) for n, s in services.items() if s.proc}
        final = await queue_depths(servers.amqp_url)
    finally:
        await tracker.stop()
        for svc in services.values():
            await asyncio.to_thread(svc.stop)

    errors = {n: error_lines(log_dir, n) for n in SERVICES}
    print(f"\nmeetdesk soak: {minutes:g} min at {rate:.0f} messages/s (maximum {maximum:.0f}/s); logs in {log_dir}")
    print(f"messages {len(ids)}, completed {len(latencies)}, never completed {len(ids) - len(latencies)}")
    print(
        f"end to end (publish → last event): p50 {1000 * statistics.median(latencies):.0f} ms, "
        f"p95 {1000 * pct(latencies, 0.95):.0f} ms, p99 {1000 * pct(latencies, 0.99):.0f} ms, "
        f"max {1000 * max(latencies):.0f} ms"
    )
    print(f"{'service':12} {'RSS start':>10} {'RSS end':>10} {'error lines':>12}")
    for n in SERVICES:
        print(f"{n:12} {memory_start.get(n, 0) / 1024:8.0f} MB {memory_end.get(n, 0) / 1024:8.0f} MB {errors[n]:12}")
    print(f"{'queue':28} {'max depth':>10} {'final':>8}")
    for name in sorted(final):
        if depths[name] or final[name]:
            print(f"{name:28} {max(depths[name] or [0]):10} {final[name]:8}")
    ok = len(latencies) == len(ids) and not any(final[q.dead_letter_queue] for q in QUEUES)
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--rate", type=float, help="messages per second (default: half the measured maximum)")
    args = parser.parse_args()
    servers = resolve()
    log_dir = Path(tempfile.mkdtemp(prefix="soak-"))
    return asyncio.run(soak(servers, args.minutes, args.rate, log_dir))


if __name__ == "__main__":
    raise SystemExit(main())
