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

    .venv/bin/python bench/intake_throughput.py --against HEAD~1     # this tree's intake vs HEAD~1's

--against REF measures a second intake in the same run: the commit REF, checked out in a temporary
``git worktree add --detach`` (removed at the end, also on an error, Ctrl-C or SIGTERM), runs with this
venv's Python and packages but imports its own code (cwd and PYTHONPATH = the worktree, ahead of this
repository's editable install; checked before it starts), on its own database migrated by its own
migrations. Both intakes consume the same queue, so neither runs all along as the single intake does:
each is started for its turn, warmed up with 100 messages, measured and stopped. The two take turns
after the baselines in each round, in alternating order; the table gives each its median, CPU per
message, ratios to the baselines and latency, and the ratio of the two (also per round: each
round's pair ran on the same stream, close in time).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aio_pika

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.payloads import stream
from shared.runtime import derive_uuid
from tests.servers import resolve
from tests.system import (
    ROOT,
    EventWatcher,
    Publisher,
    ServiceProcess,
    prepare_databases,
    reset_queues,
    service_env,
)

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
    """Intake as a real process running the code in ``root`` (this repository, or a worktree of another
    commit) on its own fresh database. ``transient``: it runs only during its turns (see ``turn``)."""

    def __init__(self, servers, workers: int, *, root: Path = ROOT, db_suffix: str = "", transient: bool = False):
        log_dir = Path(tempfile.mkdtemp(prefix="bench-intake-"))
        self.proc = ServiceProcess("intake", servers, log_dir, workers=workers, root=root, db_suffix=db_suffix)
        self.watcher: EventWatcher | None = None
        self.pub = Publisher(servers)
        self.servers, self.root, self.db_suffix, self.transient = servers, root, db_suffix, transient
        self.first_seen: dict[str, float] = {}
        self._checked = 0

    async def start(self) -> None:
        if self.root == ROOT:
            await asyncio.to_thread(prepare_databases, self.servers)
        else:
            await asyncio.to_thread(self._check_imports)
            try:
                await asyncio.to_thread(
                    prepare_databases, self.servers, ("intake",), root=self.root, db_suffix=self.db_suffix
                )
            except subprocess.CalledProcessError as e:
                raise RuntimeError(f"migrating with the code in {self.root} failed:\n{e.stderr.decode()}") from None
        await reset_queues(self.servers)
        await self.pub.start()
        if not self.transient:
            await self._up()

    def _check_imports(self) -> None:
        """The process will import intake from ``root``, not from this repository's editable install."""
        code = "import shared, services.intake.main as m; print(shared.__file__); print(m.__file__)"
        env = service_env(self.servers, "intake", root=self.root, db_suffix=self.db_suffix)
        done = subprocess.run([sys.executable, "-c", code], cwd=self.root, env=env, capture_output=True, text=True)
        files = done.stdout.split()
        if done.returncode or len(files) != 2 or not all(Path(f).is_relative_to(self.root) for f in files):
            raise RuntimeError(f"intake in {self.root} imports its code from {files}:\n{done.stderr}")

    async def _up(self) -> None:
        self.proc.start()
        await self.proc.wait_ready()
        self.watcher, self._checked = EventWatcher(self.servers, keys=FIRST_EVENTS), 0
        await self.watcher.start()

    async def _down(self) -> None:
        if self.watcher:
            await self.watcher.stop()
            self.watcher = None
        self.proc.stop()

    async def stop(self) -> None:
        await self._down()
        if self.pub._conn:
            await self.pub.stop()

    @contextlib.asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        """A transient intake is started and warmed up for a turn and stopped after it (two intakes
        would share the queue); otherwise intake runs from ``start`` to ``stop``."""
        if not self.transient:
            yield
            return
        try:
            await self._up()
            await self.burst(stream(100, seed=1))
            yield
        finally:
            await self._down()

    def _seen(self) -> dict[str, float]:
        assert self.watcher is not None
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

    def turn(self) -> contextlib.AbstractAsyncContextManager[None]:
        return contextlib.nullcontext()

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


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=3000, help="messages per burst")
    parser.add_argument("--rounds", type=int, default=3, help="bursts per contestant, alternating")
    parser.add_argument("--paced", type=int, default=300)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--workers", type=int, default=1, help="intake worker processes")
    parser.add_argument(
        "--against", metavar="REF", help="also measure the intake of this git commit (e.g. HEAD~1), from a worktree"
    )
    return parser.parse_args()


def git(*args: str, check: bool = True) -> str:
    done = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=check)
    return done.stdout.strip() if done.returncode == 0 else ""


@contextlib.contextmanager
def worktree(ref: str) -> Iterator[tuple[Path, str]]:
    """A temporary detached git worktree of ``ref``, and a name for it ("HEAD~1 = 1a2b3c4"); removed
    on leaving, whatever the reason."""
    sha = git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False)
    if not sha:
        raise SystemExit(f"--against: {ref!r} is not a commit of {ROOT}")
    short = git("rev-parse", "--short", sha)
    tmp = Path(tempfile.mkdtemp(prefix="bench-intake-against-"))
    tree = tmp / "tree"
    try:
        git("worktree", "add", "--detach", str(tree), sha)
        yield tree, short if sha.startswith(ref.lower()) else f"{ref} = {short}"
    finally:
        git("worktree", "remove", "--force", str(tree), check=False)
        shutil.rmtree(tmp, ignore_errors=True)
        git("worktree", "prune", check=False)  # if it was never fully added, or removing it failed


async def main(args: argparse.Namespace, against: tuple[Path, str] | None) -> None:
    # SIGTERM ends the run as Ctrl-C does: intake (in a session of its own) is stopped, the worktree removed
    main_task = asyncio.current_task()
    assert main_task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, main_task.cancel)
    servers = await asyncio.to_thread(resolve)
    if against is None:
        intakes = {"intake": Intake(servers, args.workers)}
    else:
        tree, commit = against
        intakes = {
            "intake (this tree)": Intake(servers, args.workers, transient=True),
            f"intake ({commit})": Intake(servers, args.workers, root=tree, db_suffix="_against", transient=True),
        }
    baselines = {"baseline": Baseline(servers, quorum=False), "baseline quorum": Baseline(servers, quorum=True)}
    contestants: dict[str, Intake | Baseline] = baselines | intakes
    width = max(16, *map(len, contestants))
    rates: dict[str, list[float]] = {name: [] for name in contestants}
    cpu: dict[str, list[float]] = {name: [] for name in intakes}
    latencies: dict[str, list[float]] = {}
    try:
        for c in contestants.values():
            await c.start()
            async with c.turn():
                await c.burst(stream(100, seed=1))  # warm up: connections, caches, the database
        for r in range(args.rounds):
            items = stream(args.messages, seed=100 + r)
            for name in [*baselines, *(intakes if r % 2 == 0 else reversed(intakes))]:
                async with contestants[name].turn():
                    rate, cpu_per_message = await contestants[name].burst(items)
                rates[name].append(rate)
                if name in intakes:
                    cpu[name].append(cpu_per_message)
                print(f"round {r + 1}: {name:<{width}} {rate:7.0f} msg/s", flush=True)
        for name, c in contestants.items():
            async with c.turn():
                latencies[name] = await c.paced(stream(args.paced, seed=3), args.rate)
    finally:
        for c in contestants.values():
            await c.stop()

    loop = type(asyncio.get_running_loop()).__module__.split(".")[0]
    print(
        f"\nintake ({args.workers} worker(s)) on a mixed stream: {args.rounds} alternating bursts of {args.messages},"
        f" then {args.paced} paced at {args.rate:g}/s; event loop: {loop}"
    )
    if against:
        print(
            f"{list(intakes)[1]}: a temporary git worktree, its own database; either intake is started,"
            " warmed up with 100 messages and stopped around each of its turns"
        )
    for name, lat in latencies.items():
        ms = [v * 1000 for v in lat]
        runs = ", ".join(f"{v:.0f}" for v in rates[name])
        print(
            f"{name:<{width}} median {statistics.median(rates[name]):6.0f} msg/s ({runs})"
            f" | paced p50 {statistics.median(ms):5.1f} ms p95 {pct(ms, 0.95):5.1f} ms"
        )
    for name in intakes:
        print(f"{name} CPU per message: {statistics.median(cpu[name]) * 1000:.2f} ms (median of the bursts)")
    for name in intakes:
        ours = statistics.median(rates[name])
        for base in baselines:
            print(f"ratio {name} / {base}: {ours / statistics.median(rates[base]):.2f}")
    if against:
        this, other = intakes
        per_round = ", ".join(f"{a / b:.2f}" for a, b in zip(rates[other], rates[this], strict=True))
        ratio = statistics.median(rates[other]) / statistics.median(rates[this])
        print(f"ratio {other} / {this}: {ratio:.2f} (per round: {per_round})")


def run() -> None:
    args = parse_args()
    with worktree(args.against) if args.against else contextlib.nullcontext() as against:
        try:
            import uvloop
        except ImportError:
            go = asyncio.run
        else:
            go = uvloop.run
        try:
            go(main(args, against))
        except asyncio.CancelledError:  # SIGTERM
            raise SystemExit(128 + signal.SIGTERM) from None


if __name__ == "__main__":
    run()
