"""Intake throughput and latency on a realistic mixed stream, beside a bare aio-pika baseline.

    make bench-intake      # or: .venv/bin/python bench/intake_throughput.py --messages 3000 --rounds 3

Stream: every channel (email in Big5/GB2312/UTF-8, Asterisk CDRs, Chatwoot webhooks, WeChat XML,
web forms, on-site entries, surveys) in Traditional Chinese, Simplified Chinese and English
(bench/payloads.py). Intake runs as a real process (``faststream run``) with a fresh database; a
message counts as normalised when its first event (inquiry.received, call.missed, feedback.received,
…) is on ``meetdesk.events``, recognised by its correlation id.

Baseline, in the same run: a bare aio-pika consumer that decodes the JSON (bodies that are not JSON
are passed on as they are) and republishes with publisher confirms to a queue that a sink drains.
It runs twice: on classic transient queues (the cheapest the broker offers) and on durable quorum
queues like intake's own, so the ratio can be read with and without the broker's queue costs.

The bursts alternate (baseline, quorum baseline, intake; --rounds times, each round a fresh
stream), because this machine's speed drifts from minute to minute; the medians are compared.
Then --paced messages at --rate per second give latency p50/p95 for each. The bench process and
intake use the same event loop (uvloop when installed, as ``faststream run`` does).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import aio_pika

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.payloads import stream
from shared.runtime import derive_uuid
from tests.servers import resolve
from tests.system import EventWatcher, Publisher, ServiceProcess, prepare_databases, reset_queues

CONTENT_TYPES = {"email": "message/rfc822", "wechat": "application/xml"} | dict.fromkeys(
    ("phone", "chat", "webform", "onsite", "survey"), "application/json"
)
# the first event of each normalised message (not its acknowledgements and follow-ups), so the
# load generator spends no more per message than the baseline's sink does
FIRST_EVENTS = ("inquiry.received", "call.missed", "feedback.received", "agent.replied")


def group_cpu_seconds(pgid: int) -> float:
    """CPU time (user + system) used so far by every live process in a process group (Linux)."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # fields after the command: state, ppid, pgrp, ...
            total += int(fields[11]) + int(fields[12])  # utime, stime in clock ticks
    return total / os.sysconf("SC_CLK_TCK")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


class Intake:
    def __init__(self, servers, workers: int):
        self.proc = ServiceProcess("intake", servers, Path(tempfile.mkdtemp(prefix="bench-intake-")), workers=workers)
        self.watcher, self.pub = EventWatcher(servers, keys=FIRST_EVENTS), Publisher(servers)
        self.servers = servers
        self.first_seen: dict[str, float] = {}
        self._checked = 0

    async def start(self) -> None:
        await asyncio.to_thread(prepare_databases, self.servers)
        await reset_queues(self.servers)
        self.proc.start()
        await self.proc.wait_ready()
        await self.watcher.start()
        await self.pub.start()

    async def stop(self) -> None:
        await self.watcher.stop()
        if self.pub._conn:
            await self.pub.stop()
        self.proc.stop()

    def _seen(self) -> dict[str, float]:
        for e in self.watcher.events[self._checked :]:
            self.first_seen.setdefault(e.body["correlation_id"], e.received)
        self._checked = len(self.watcher.events)
        return self.first_seen

    async def _wait(self, expected: set[str], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not expected <= self._seen().keys():
            if time.monotonic() > deadline:
                missing = len(expected - self.first_seen.keys())
                raise TimeoutError(f"{missing} of {len(expected)} messages not normalised in {timeout}s")
            await asyncio.sleep(0.05)

    async def _send(self, key: str, body: bytes) -> None:
        await self.pub.publish("meetdesk.inbound", key, body, message_id=None, content_type=CONTENT_TYPES[key])

    @staticmethod
    def _corr(key: str, ref: str) -> str:
        return str(derive_uuid("inbound", key, ref))

    async def burst(self, items) -> tuple[float, float]:
        """Messages per second for ``items`` published at once, and intake's CPU seconds per message."""
        expected = {self._corr(k, r) for k, _, r in items}
        t0, cpu0 = time.perf_counter(), group_cpu_seconds(self.proc.proc.pid)
        await asyncio.gather(*(self._send(k, b) for k, b, _ in items))
        await self._wait(expected, 600)
        seconds = max(self.first_seen[c] for c in expected) - t0
        await asyncio.sleep(1.0)  # the follow-up events of the last messages
        return len(items) / seconds, (group_cpu_seconds(self.proc.proc.pid) - cpu0) / len(items)

    async def paced(self, items, rate: float) -> list[float]:
        sent: dict[str, float] = {}
        for k, b, r in items:
            sent[self._corr(k, r)] = time.perf_counter()
            await self._send(k, b)
            await asyncio.sleep(1 / rate)
        await self._wait(set(sent), 120)
        return [self.first_seen[c] - t for c, t in sent.items()]


class Baseline:
    """Publisher → queue → aio-pika consumer (decode, republish with confirms, ack) → queue → sink."""

    def __init__(self, servers, *, quorum: bool):
        self.servers, self.quorum = servers, quorum
        self.arrived: dict[str, float] = {}

    async def start(self) -> None:
        self.conn = await aio_pika.connect(self.servers.amqp_url)
        tag = uuid.uuid4().hex[:8]
        ch = await self.conn.channel()
        self.ex = await ch.declare_exchange(f"bench.{tag}", aio_pika.ExchangeType.TOPIC, auto_delete=True)
        kind = {"durable": True, "arguments": {"x-queue-type": "quorum"}} if self.quorum else {"auto_delete": True}
        self.queues = [await ch.declare_queue(f"bench.{tag}.{n}", **kind) for n in ("in", "out")]
        await self.queues[0].bind(self.ex, "in.#")
        await self.queues[1].bind(self.ex, "out")
        work = await self.conn.channel()
        await work.set_qos(prefetch_count=200)
        ex_w = await work.get_exchange(self.ex.name)

        async def relay(msg: aio_pika.abc.AbstractIncomingMessage) -> None:
            try:
                body = json.dumps(json.loads(msg.body)).encode()
            except ValueError:
                body = msg.body
            await ex_w.publish(aio_pika.Message(body, message_id=msg.message_id, delivery_mode=2), routing_key="out")
            await msg.ack()

        await (await work.get_queue(self.queues[0].name)).consume(relay)
        sink = await self.conn.channel()
        await sink.set_qos(prefetch_count=1000)

        async def on_out(msg: aio_pika.abc.AbstractIncomingMessage) -> None:
            self.arrived.setdefault(msg.message_id or "", time.perf_counter())
            await msg.ack()

        await (await sink.get_queue(self.queues[1].name)).consume(on_out)

    async def stop(self) -> None:
        await self.conn.close()  # consumers first, so deleting the queues cancels nobody
        if self.quorum:
            async with await aio_pika.connect(self.servers.amqp_url) as conn:
                ch = await conn.channel()
                for q in self.queues:
                    await ch.queue_delete(q.name)

    def _message(self, body: bytes) -> tuple[str, aio_pika.Message]:
        mid = str(uuid.uuid4())
        return mid, aio_pika.Message(body, message_id=mid, delivery_mode=2)

    async def _wait(self, ids) -> None:
        while not set(ids) <= self.arrived.keys():  # noqa: ASYNC110 - a benchmark's poll
            await asyncio.sleep(0.02)

    async def burst(self, items) -> tuple[float, float]:
        t0 = time.perf_counter()
        sends = [(*self._message(b), k) for k, b, _ in items]
        await asyncio.gather(*(self.ex.publish(m, routing_key=f"in.{k}") for _, m, k in sends))
        await self._wait([mid for mid, _, _ in sends])
        return len(items) / (max(self.arrived[mid] for mid, _, _ in sends) - t0), 0.0

    async def paced(self, items, rate: float) -> list[float]:
        sent: dict[str, float] = {}
        for k, b, _ in items:
            mid, message = self._message(b)
            sent[mid] = time.perf_counter()
            await self.ex.publish(message, routing_key=f"in.{k}")
            await asyncio.sleep(1 / rate)
        await self._wait(sent)
        return [self.arrived[m] - t for m, t in sent.items()]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=3000, help="messages per burst")
    parser.add_argument("--rounds", type=int, default=3, help="bursts per contestant, alternating")
    parser.add_argument("--paced", type=int, default=300)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--workers", type=int, default=1, help="intake worker processes")
    args = parser.parse_args()
    servers = await asyncio.to_thread(resolve)
    contestants = {
        "baseline": Baseline(servers, quorum=False),
        "baseline quorum": Baseline(servers, quorum=True),
        "intake": Intake(servers, args.workers),
    }
    rates: dict[str, list[float]] = {name: [] for name in contestants}
    cpu: list[float] = []
    latencies: dict[str, list[float]] = {}
    try:
        for c in contestants.values():
            await c.start()
            await c.burst(stream(100, seed=1))  # warm up: connections, caches, the database
        for r in range(args.rounds):
            items = stream(args.messages, seed=100 + r)
            for name, c in contestants.items():
                rate, cpu_per_message = await c.burst(items)
                rates[name].append(rate)
                if name == "intake":
                    cpu.append(cpu_per_message)
                print(f"round {r + 1}: {name:<16} {rate:7.0f} msg/s", flush=True)
        for name, c in contestants.items():
            latencies[name] = await c.paced(stream(args.paced, seed=3), args.rate)
    finally:
        for c in contestants.values():
            await c.stop()

    loop = type(asyncio.get_running_loop()).__module__.split(".")[0]
    print(
        f"\nintake ({args.workers} worker(s)) on a mixed stream: {args.rounds} alternating bursts of {args.messages},"
        f" then {args.paced} paced at {args.rate:g}/s; event loop: {loop}"
    )
    for name, lat in latencies.items():
        ms = [v * 1000 for v in lat]
        runs = ", ".join(f"{v:.0f}" for v in rates[name])
        print(
            f"{name:<16} median {statistics.median(rates[name]):6.0f} msg/s ({runs})"
            f" | paced p50 {statistics.median(ms):5.1f} ms p95 {pct(ms, 0.95):5.1f} ms"
        )
    print(f"intake CPU per message: {statistics.median(cpu) * 1000:.2f} ms (median of the bursts)")
    ours = statistics.median(rates["intake"])
    for name in ("baseline", "baseline quorum"):
        print(f"ratio intake / {name}: {ours / statistics.median(rates[name]):.2f}")


def run() -> None:
    try:
        import uvloop
    except ImportError:
        asyncio.run(main())
    else:
        uvloop.run(main())


if __name__ == "__main__":
    run()
