"""Intake throughput and latency on a realistic mixed stream, beside a bare aio-pika baseline.

    make bench-intake      # or: .venv/bin/python bench/intake_throughput.py --messages 2000

Stream: every channel (email in Big5/GB2312/UTF-8, Asterisk CDRs, Chatwoot webhooks, WeChat XML,
web forms, on-site entries, surveys) in Traditional Chinese, Simplified Chinese and English
(bench/payloads.py). Intake runs as a real process (``faststream run``) with a fresh database; a
message counts as normalised when its first event (inquiry.received, call.missed, feedback.received,
…) is on ``meetdesk.events``, recognised by its correlation id.

Baseline, in the same run: a bare aio-pika consumer on a queue of its own that decodes the JSON
(bodies that are not JSON are passed on as they are) and republishes with publisher confirms.

Prints normalised messages per second (burst of --messages published at once) and latency p50/p95
at a steady pace (--rate), for both, and the ratio.
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


async def run_intake(servers, args) -> tuple[float, list[float], float]:
    await asyncio.to_thread(prepare_databases, servers)
    await reset_queues(servers)
    proc = ServiceProcess("intake", servers, Path(tempfile.mkdtemp(prefix="bench-intake-")), workers=args.workers)
    # the first event of each normalised message (not its acknowledgements and follow-ups), so the
    # load generator spends no more per message than the baseline's sink does
    first_events = ("inquiry.received", "call.missed", "feedback.received", "agent.replied")
    watcher, pub = EventWatcher(servers, keys=first_events), Publisher(servers)
    proc.start()
    try:
        await proc.wait_ready()
        await watcher.start()
        await pub.start()
        first_seen: dict[str, float] = {}

        def seen_ids() -> dict[str, float]:
            for e in watcher.events[len_checked[0] :]:
                first_seen.setdefault(e.body["correlation_id"], e.received)
            len_checked[0] = len(watcher.events)
            return first_seen

        len_checked = [0]

        async def wait_all(expected: set[str], timeout: float) -> None:
            deadline = time.monotonic() + timeout
            while not expected <= seen_ids().keys():
                if time.monotonic() > deadline:
                    missing = len(expected - first_seen.keys())
                    raise TimeoutError(f"{missing} of {len(expected)} messages not normalised in {timeout}s")
                await asyncio.sleep(0.05)

        def corr(key: str, ref: str) -> str:
            return str(derive_uuid("inbound", key, ref))

        warm = stream(100, seed=1)
        for key, body, _ in warm:
            await pub.publish("meetdesk.inbound", key, body, message_id=None, content_type=CONTENT_TYPES[key])
        await wait_all({corr(k, r) for k, _, r in warm}, 60)

        burst = stream(args.messages, seed=2)
        expected = {corr(k, r) for k, _, r in burst}
        t0, cpu0 = time.perf_counter(), group_cpu_seconds(proc.proc.pid)
        await asyncio.gather(
            *(
                pub.publish("meetdesk.inbound", k, b, message_id=None, content_type=CONTENT_TYPES[k])
                for k, b, _ in burst
            )
        )
        await wait_all(expected, 600)
        burst_seconds = max(first_seen[c] for c in expected) - t0
        await asyncio.sleep(1.0)  # the follow-up events of the last messages
        cpu_per_message = (group_cpu_seconds(proc.proc.pid) - cpu0) / args.messages

        paced = stream(args.paced, seed=3)
        sent: dict[str, float] = {}
        for k, b, r in paced:
            sent[corr(k, r)] = time.perf_counter()
            await pub.publish("meetdesk.inbound", k, b, message_id=None, content_type=CONTENT_TYPES[k])
            await asyncio.sleep(1 / args.rate)
        await wait_all(set(sent), 120)
        latencies = [first_seen[c] - t for c, t in sent.items()]
        return args.messages / burst_seconds, latencies, cpu_per_message
    finally:
        await watcher.stop()
        if pub._conn:
            await pub.stop()
        proc.stop()


async def run_baseline(servers, args) -> tuple[float, list[float]]:
    conn = await aio_pika.connect(servers.amqp_url)
    tag = uuid.uuid4().hex[:8]
    ch = await conn.channel()
    ex = await ch.declare_exchange(f"bench.{tag}", aio_pika.ExchangeType.TOPIC, auto_delete=True)
    q_in = await ch.declare_queue(f"bench.{tag}.in", auto_delete=True)
    q_out = await ch.declare_queue(f"bench.{tag}.out", auto_delete=True)
    await q_in.bind(ex, "in.#")
    await q_out.bind(ex, "out")
    work = await conn.channel()
    await work.set_qos(prefetch_count=200)
    ex_w = await work.get_exchange(ex.name)

    async def relay(msg: aio_pika.abc.AbstractIncomingMessage) -> None:
        try:
            body = json.dumps(json.loads(msg.body)).encode()
        except ValueError:
            body = msg.body
        await ex_w.publish(aio_pika.Message(body, message_id=msg.message_id, delivery_mode=2), routing_key="out")
        await msg.ack()

    await (await work.get_queue(q_in.name)).consume(relay)
    arrived: dict[str, float] = {}
    sink = await conn.channel()
    await sink.set_qos(prefetch_count=1000)

    async def on_out(msg: aio_pika.abc.AbstractIncomingMessage) -> None:
        arrived.setdefault(msg.message_id or "", time.perf_counter())
        await msg.ack()

    await (await sink.get_queue(q_out.name)).consume(on_out)

    async def send(items) -> dict[str, float]:
        sent = {}
        for k, b, _ in items:
            mid = str(uuid.uuid4())
            sent[mid] = time.perf_counter()
            await ex.publish(aio_pika.Message(b, message_id=mid, delivery_mode=2), routing_key=f"in.{k}")
        return sent

    async def wait_all(ids) -> None:
        while not set(ids) <= arrived.keys():  # noqa: ASYNC110 - a benchmark's poll
            await asyncio.sleep(0.02)

    burst = stream(args.messages, seed=2)
    t0 = time.perf_counter()
    mids = {}
    pending = []
    for k, b, _ in burst:
        mid = str(uuid.uuid4())
        mids[mid] = t0
        pending.append(ex.publish(aio_pika.Message(b, message_id=mid, delivery_mode=2), routing_key=f"in.{k}"))
    await asyncio.gather(*pending)
    await wait_all(mids)
    rate = args.messages / (max(arrived[m] for m in mids) - t0)
    sent = {}
    for item in stream(args.paced, seed=3):
        sent.update(await send([item]))
        await asyncio.sleep(1 / args.rate)
    await wait_all(sent)
    await conn.close()
    return rate, [arrived[m] - t for m, t in sent.items()]


def line(name: str, rate: float, lat: list[float]) -> str:
    ms = [v * 1000 for v in lat]
    return f"{name:<9} {rate:8.0f} msg/s burst | paced p50 {statistics.median(ms):6.1f} ms  p95 {pct(ms, 0.95):6.1f} ms"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--paced", type=int, default=300)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--workers", type=int, default=1, help="intake worker processes")
    args = parser.parse_args()
    servers = await asyncio.to_thread(resolve)
    base = await run_baseline(servers, args)
    ours = await run_intake(servers, args)
    print(f"\nintake on a mixed stream of {args.messages} messages (burst), {args.paced} paced at {args.rate}/s")
    print(line("baseline", *base))
    print(line("intake", *ours[:2]) + f" | {ours[2] * 1000:.2f} ms CPU per message")
    print(f"ratio intake/baseline throughput: {ours[0] / base[0]:.2f}")


if __name__ == "__main__":
    asyncio.run(main())
