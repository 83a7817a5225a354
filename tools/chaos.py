"""The fault suite: real processes, real broker and database, faults on loopback; a table of what
each fault cost.

    make chaos                          # every scenario, full size (about 10 minutes)
    make chaos ARGS="--short"           # the CI-sized version (about 2 minutes)
    make chaos ARGS="--only kill-booking,poison"

Each scenario sends web forms as another system would (booking requests, complaints, questions;
persistent, with a message id, retried by the sender until the broker confirms), injects its fault
while they are in flight, and waits for every form's answer: ``booking.confirmed``/``rejected`` for a
booking request, ``complaint.registered`` for a complaint, ``inquiry.received`` for a question. Per
row: sent, answered exactly once, lost (no answer), doubled (two answers with different event ids),
good messages dead-lettered, and the time to recover (from the end of the fault until every service
it touched answers again; after a kill -9, until the restarted service is ready and answering). After
every scenario the metrics service's count of inquiries must equal the inquiries
seen, or the row says so. Goal for every row: 0 lost, 0 doubled, 0 good dead-lettered, recovery ≤ 30 s.

Every line every service process wrote is kept (one file per process start, so a killed or restarted
service's lines stay, in the directory printed at the end), and then scanned (tests/logscan.py): no
customer email, phone number or name, and no API token, in clear; a finding fails the run.

The four services run as ``faststream run`` processes on databases ``meetdesk_test_<service>_chaos``
(fresh each run) and the usual queues and test ports: don't run it beside ``make run`` or ``make test``
on the same broker (``tests/integration/test_chaos.py`` runs the short version inside the test suite,
with the suite's own services stopped meanwhile). RabbitMQ and PostgreSQL restarts use ``rabbitmqctl``
and ``pg_ctlcluster`` on this machine (those rows are skipped, and say so, where the tools are missing).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aio_pika
import asyncpg
import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from shared.settings import broker_user_of  # noqa: E402
from shared.topology import EVENTS, INBOUND, QUEUES  # noqa: E402
from tests.logscan import LogScan, scan_dir  # noqa: E402
from tests.servers import Servers, resolve  # noqa: E402
from tests.system import (  # noqa: E402
    API_TOKEN,
    DB_PREFIX,
    ServiceProcess,
    broker_vhost,
    prepare_databases,
    reset_queues,
)

SERVICES = ("intake", "booking", "complaints", "metrics")
ANSWERS = {"booking.confirmed", "booking.rejected", "complaint.registered", "inquiry.received"}
WATCH_QUEUE = "chaos.watch"
CUSTOMER_NAME = "Guest {i}"  # every form's customer; the log scan looks for each of them
CUSTOMER_NAMES = re.compile(r"\bGuest \d+\b")
ANSWERED_BY = {
    "intake": {"inquiry.received"},
    "booking": {"booking.confirmed", "booking.rejected"},
    "complaints": {"complaint.registered"},
}


# -- what happened ---------------------------------------------------------------------------------
@dataclass
class Row:
    scenario: str
    sent: int = 0
    once: int = 0
    lost: int = 0
    doubled: int = 0
    good_dead: int = 0
    recovery: float | None = None
    note: str = ""

    @property
    def ok(self) -> bool:
        recovered = self.recovery is None or self.recovery <= 30
        return not (self.lost or self.doubled or self.good_dead) and recovered and "FAILED" not in self.note


@dataclass
class Seen:
    type: str
    event_id: str
    data: dict[str, Any]
    at: float


class Watcher:
    """Every event on meetdesk.events, through a durable queue on a robust connection: events
    published while the broker restarts or our connection is dropped are still seen afterwards."""

    def __init__(self, url: str):
        self.url = url
        self.events: list[Seen] = []
        self.by_source: dict[str, str] = {}  # submission id → inquiry id
        self.answers: dict[str, set[str]] = defaultdict(set)  # inquiry id → distinct answer event ids
        self.answered_at: dict[str, float] = {}
        self.timeline: list[tuple[str, float]] = []  # (event type, when seen) of every answer
        self._conn: Any = None
        self._keeper: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self._connect(purge=True)
        self._keeper = asyncio.create_task(self._keep())

    async def _connect(self, *, purge: bool = False) -> None:
        self._conn = await aio_pika.connect(self.url, timeout=5)
        channel = await self._conn.channel()
        await channel.set_qos(prefetch_count=2000)
        queue = await channel.declare_queue(WATCH_QUEUE, durable=True)
        await queue.bind(EVENTS, "#")
        if purge:
            await queue.purge()
        await queue.consume(self._on)

    async def _keep(self) -> None:
        """Reconnect whenever the watch queue has lost its consumer (the broker restarted or dropped
        us); the queue is durable, so nothing published meanwhile is missed."""
        while True:
            await asyncio.sleep(1)
            try:
                probe = await aio_pika.connect(self.url, timeout=5)
                try:
                    channel = await probe.channel()
                    queue = await channel.declare_queue(WATCH_QUEUE, passive=True)
                    consuming = queue.declaration_result.consumer_count > 0
                finally:
                    await probe.close()
                if consuming:
                    continue
                old, self._conn = self._conn, None
                if old is not None:
                    with _quiet():
                        await asyncio.wait_for(old.close(), 2)
                await self._connect()
            except Exception:
                continue

    async def _on(self, msg: aio_pika.abc.AbstractIncomingMessage) -> None:
        body = json.loads(msg.body)
        seen = Seen(body["type"], body["event_id"], body["data"], time.monotonic())
        self.events.append(seen)
        if seen.type == "inquiry.received":
            self.by_source[seen.data["source_ref"]] = seen.data["inquiry_id"]
        if seen.type in ANSWERS:
            key = seen.data["inquiry_id"]
            if seen.type == "inquiry.received" and seen.data.get("intent") != "inquiry":
                pass  # a booking request's or complaint's answer comes later
            else:
                self.answers[key].add(seen.event_id)
                self.answered_at.setdefault(key, seen.at)
                self.timeline.append((seen.type, seen.at))
        await msg.ack()

    def recovered_after(
        self, t: float, services: tuple[str, ...] = ("intake", "booking", "complaints")
    ) -> float | None:
        """Seconds from ``t`` until each of ``services`` has produced an answer again (None: some never did)."""
        firsts = []
        for service in services:
            types = ANSWERED_BY[service]
            later = [at for typ, at in self.timeline if typ in types and at >= t]
            if not later:
                return None
            firsts.append(min(later) - t)
        return max(firsts)

    async def stop(self) -> None:
        if self._keeper is not None:
            self._keeper.cancel()
        if self._conn is not None:
            with _quiet():
                await self._conn.close()


class Sender:
    """Publishes like another system: persistent, with a message id, confirmed, retried until the
    broker takes it (a sender outside meetdesk keeps its messages through our outages)."""

    def __init__(self, url: str):
        self.url = url
        self._conn: Any = None
        self._ex: Any = None
        self._lock = asyncio.Lock()

    async def _exchange(self, name: str) -> tuple[Any, Any]:
        async with self._lock:
            if self._conn is None or self._conn.is_closed:
                self._conn = await aio_pika.connect(self.url, timeout=5)
                self._ex = {}
            if name not in self._ex:
                channel = await self._conn.channel()
                self._ex[name] = await channel.get_exchange(name, ensure=False)
            return self._conn, self._ex[name]

    async def publish(self, exchange: str, key: str, body: bytes, message_id: str) -> None:
        deadline = time.monotonic() + 180
        while True:
            conn = None
            try:
                conn, ex = await self._exchange(exchange)
                await ex.publish(
                    aio_pika.Message(
                        body,
                        content_type="application/json",
                        message_id=message_id,
                        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                        user_id=broker_user_of(self.url),  # commands are authenticated by the broker user
                    ),
                    routing_key=key,
                    timeout=10,
                )
                return
            except Exception:
                if time.monotonic() > deadline:
                    raise
                async with self._lock:  # drop the broken connection once, not once per publisher
                    broken = self._conn if self._conn is conn else None
                    if broken is not None:
                        self._conn = None
                if broken is not None:
                    with _quiet():
                        await broken.close()
                await asyncio.sleep(1.0)

    async def stop(self) -> None:
        if self._conn is not None:
            with _quiet():
                await self._conn.close()


class _quiet:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: Any) -> bool:
        return True


# -- the system --------------------------------------------------------------------------------------
@dataclass
class Desk:
    servers: Servers
    log_dir: Path
    services: dict[str, ServiceProcess] = field(default_factory=dict)
    watcher: Watcher | None = None
    sender: Sender | None = None
    db_suffix: str = "_chaos"
    sent_inquiries: int = 0  # questions sent so far (metrics must count each once)
    counter: int = 0

    async def start(self) -> None:
        await asyncio.to_thread(prepare_databases, self.servers, db_suffix=self.db_suffix)
        await reset_queues(self.servers)
        self.services = {
            name: ServiceProcess(name, self.servers, self.log_dir, db_suffix=self.db_suffix) for name in SERVICES
        }
        for svc in self.services.values():
            svc.start()
        for svc in self.services.values():
            await svc.wait_ready(90)
        self.watcher = Watcher(self.servers.amqp_url)
        await self.watcher.start()
        self.sender = Sender(self.servers.amqp_url)

    async def stop(self) -> None:
        if self.watcher:
            await self.watcher.stop()
        if self.sender:
            await self.sender.stop()
        for svc in self.services.values():
            await asyncio.to_thread(svc.stop)

    async def rooms(self, n: int) -> list[str]:
        assert self.sender and self.watcher
        rooms = [f"chaos-{uuid.uuid4().hex[:6]}" for _ in range(n)]
        for room in rooms:
            body = {"command_id": str(uuid.uuid4()), "actor": "chaos", "room_id": room, "name": room}
            body |= {"capacity": 40, "equipment": ["projector"]}
            await self.sender.publish(
                "meetdesk.commands", "rooms.upsert", json.dumps(body).encode(), body["command_id"]
            )
        await self.until(
            lambda: {e.data["room_id"] for e in self.watcher.events if e.type == "room.updated"} >= set(rooms), 60
        )
        return rooms

    def form(self, kind: str, rooms: list[str]) -> dict[str, Any]:
        self.counter += 1
        i = self.counter
        sid = f"chaos-{uuid.uuid4()}"
        customer = {"name": CUSTOMER_NAME.format(i=i), "email": f"guest{i % 500}@example.com", "phone": None}
        now = datetime.now(UTC).isoformat()
        if kind == "booking_request":
            day = datetime.now(UTC).date() + timedelta(days=30 + i // 40)
            start = datetime(day.year, day.month, day.day, 1 + 3 * (i % 4), tzinfo=UTC)  # 09:00–18:00 venue time
            meeting = {
                "name": "Chaos check",
                "start": start.isoformat(),
                "end": (start + timedelta(hours=1)).isoformat(),
            }
            meeting |= {"attendees": 5, "room_id": rooms[(i // 4) % len(rooms)], "equipment": []}
            return {"kind": kind, "submission_id": sid, "submitted_at": now, "customer": customer, "meeting": meeting}
        if kind == "complaint":
            text = "The projector failed during our meeting."
            return {"kind": kind, "submission_id": sid, "submitted_at": now, "customer": customer, "text": text}
        self.sent_inquiries += 1
        return {
            "kind": "inquiry",
            "submission_id": sid,
            "submitted_at": now,
            "customer": customer,
            "subject": "Parking",
            "text": "Is there parking near the venue?",
        }

    def forms(self, n: int, rooms: list[str]) -> list[dict[str, Any]]:
        kinds = ("booking_request", "complaint", "inquiry")
        return [self.form(kinds[i % 3], rooms) for i in range(n)]

    async def send(self, forms: list[dict[str, Any]], *, copies: int = 1, rate: float | None = None) -> None:
        assert self.sender
        sem = asyncio.Semaphore(200)

        async def one(form: dict[str, Any]) -> None:
            async with sem:
                body = json.dumps(form).encode()
                for _ in range(copies):
                    await self.sender.publish(INBOUND, "webform", body, form["submission_id"])

        if rate:
            tasks = []
            for form in forms:
                tasks.append(asyncio.create_task(one(form)))
                await asyncio.sleep(1 / rate)
            await asyncio.gather(*tasks)
        else:
            await asyncio.gather(*(one(f) for f in forms))

    async def until(self, cond: Callable[[], bool], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if cond():
                return True
            await asyncio.sleep(0.2)
        return cond()

    def answered(self, forms: list[dict[str, Any]]) -> int:
        assert self.watcher
        w = self.watcher
        return sum(1 for f in forms if w.answers.get(w.by_source.get(f["submission_id"], ""), ()))

    async def account(self, row: Row, forms: list[dict[str, Any]], timeout: float = 180) -> Row:
        """Wait for every form's answer, then count."""
        assert self.watcher
        await self.until(lambda: self.answered(forms) >= len(forms), timeout)
        await asyncio.sleep(2.0)  # a second answer would show up now
        w = self.watcher
        row.sent = len(forms)
        for f in forms:
            ids = w.answers.get(w.by_source.get(f["submission_id"], ""), set())
            if not ids:
                row.lost += 1
            elif len(ids) == 1:
                row.once += 1
            else:
                row.doubled += 1
        good = {f["submission_id"] for f in forms}
        row.good_dead = sum(1 for m in await self.dead_letters() if m in good)
        if not await self.metrics_exact():
            row.note = (row.note + "; " if row.note else "") + "FAILED: metrics count differs"
        return row

    async def dead_letters(self) -> list[str]:
        """Message ids in every dead-letter queue (left in place)."""
        conn = await aio_pika.connect(self.servers.amqp_url)
        ids: list[str] = []
        try:
            channel = await conn.channel()
            for spec in QUEUES:
                queue = await channel.declare_queue(spec.dead_letter_queue, passive=True)
                taken = []
                while (m := await queue.get(fail=False, no_ack=False)) is not None:
                    taken.append(m)
                    ids.append(m.message_id or "")
                for m in taken:
                    await m.nack(requeue=True)
        finally:
            await conn.close()
        return ids

    async def metrics_exact(self) -> bool:
        """The metrics service counted every question once (its KPI equals what was answered)."""
        assert self.watcher
        want = len({e.data["inquiry_id"] for e in self.watcher.events if e.type == "inquiry.received"})
        url = self.services["metrics"].url + "/kpis?period=month"
        deadline = time.monotonic() + 30
        got = None
        async with httpx.AsyncClient(timeout=5) as client:
            while time.monotonic() < deadline:
                try:
                    got = (await client.get(url, headers={"Authorization": f"Bearer {API_TOKEN}"})).json()["totals"]
                    if got.get("inquiries") == want:
                        return True
                except (httpx.HTTPError, KeyError, ValueError):
                    pass
                await asyncio.sleep(1)
        print(f"  metrics counted {got and got.get('inquiries')} inquiries, {want} were received", flush=True)
        return False

    async def restart(self, name: str, *, sig: int = signal.SIGKILL) -> float:
        svc = self.services[name]
        if sig == signal.SIGKILL:
            await asyncio.to_thread(svc.kill)
        else:
            await asyncio.to_thread(svc.stop, sig)
        began = time.monotonic()
        svc.start()
        return began

    async def database(self, name: str) -> asyncpg.Connection:
        return await asyncpg.connect(self.servers.database_url("postgres").replace("+asyncpg", ""))


# -- scenarios ----------------------------------------------------------------------------------------
Scenario = Callable[[Desk, "Scale"], Awaitable[Row]]


@dataclass(frozen=True)
class Scale:
    in_flight: int
    poison: int
    good_with_poison: int
    outage_s: float
    contended_s: float
    triple: int


FULL = Scale(in_flight=1000, poison=10_000, good_with_poison=1000, outage_s=60, contended_s=30, triple=500)
SHORT = Scale(in_flight=300, poison=1000, good_with_poison=200, outage_s=10, contended_s=8, triple=150)


def kill(name: str) -> Scenario:
    async def run(desk: Desk, scale: Scale) -> Row:
        rooms = await desk.rooms(10)
        forms = desk.forms(scale.in_flight, rooms)
        sending = asyncio.create_task(desk.send(forms))
        await desk.until(lambda: desk.answered(forms) >= len(forms) // 5, 120)
        began = await desk.restart(name)
        await desk.services[name].wait_ready(90)
        ready = time.monotonic() - began
        await sending
        row = await desk.account(Row(f"kill -9 {name}, {len(forms)} in flight"), forms)
        assert desk.watcher
        # recovered: restarted, ready, and answering again (metrics answers nothing: ready is enough)
        answering = desk.watcher.recovered_after(began, (name,)) if name in ANSWERED_BY else ready
        row.recovery = None if answering is None else max(ready, answering)
        return row

    return run


async def triple_delivery(desk: Desk, scale: Scale) -> Row:
    rooms = await desk.rooms(10)
    forms = desk.forms(scale.triple, rooms)
    await desk.send(forms, copies=3)
    return await desk.account(Row(f"every message delivered 3 times ({len(forms)})"), forms)


async def poison(desk: Desk, scale: Scale) -> Row:
    rooms = await desk.rooms(10)
    forms = desk.forms(scale.good_with_poison, rooms)
    bad = [(f"poison-{uuid.uuid4()}", _poison_body(i)) for i in range(scale.poison)]
    sender = desk.sender
    assert sender is not None
    per = -(-len(bad) // max(1, len(forms)))  # poison messages between two good ones
    mixed: list[Callable[[], Awaitable[None]]] = []
    for k, form in enumerate(forms):
        mixed.append(lambda f=form: desk.send([f]))
        for mid, body in bad[k * per : (k + 1) * per]:
            mixed.append(lambda m=mid, b=body: sender.publish(INBOUND, "webform", b, m))
    sem = asyncio.Semaphore(300)

    async def run(f: Callable[[], Awaitable[None]]) -> None:
        async with sem:
            await f()

    await asyncio.gather(*(run(f) for f in mixed))
    row = await desk.account(Row(f"{len(bad)} poison mixed with {len(forms)} good"), forms, timeout=300)
    dead = set(await desk.dead_letters())
    missing = sum(1 for mid, _ in bad if mid not in dead)
    if missing:
        row.note = f"FAILED: {missing} poison messages not dead-lettered"
    else:
        row.note = f"all {len(bad)} poison dead-lettered"
    return row


def _poison_body(i: int) -> bytes:
    kinds = [
        b"not json at all",
        b'{"kind": "booking_request"}',
        b"[" * 100_000 + b"]" * 100_000,
        b'{"kind": "inquiry", "n": ' + b"9" * 100_000 + b"}",
        json.dumps({"kind": "complaint", "text": None}).encode(),
        b"\xff\xfe\x00garbage",
    ]
    return kinds[i % len(kinds)]


async def database_unreachable(desk: Desk, scale: Scale) -> Row:
    """The booking database refuses connections for a while (its live connections are cut too)."""
    rooms = await desk.rooms(10)
    forms = desk.forms(scale.in_flight // 2, rooms)
    name = f"{DB_PREFIX}booking{desk.db_suffix}"
    admin = await desk.database("postgres")
    try:
        await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        await admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", name)
        await desk.send(forms)
        await asyncio.sleep(scale.outage_s)
        await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        back = time.monotonic()
    finally:
        await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        await admin.close()
    row = await desk.account(Row(f"booking database unreachable {scale.outage_s:g} s"), forms)
    assert desk.watcher
    row.recovery = desk.watcher.recovered_after(back, ("booking",))
    return row


def _pg_versions() -> list[str]:
    return sorted(os.listdir("/etc/postgresql")) if os.path.isdir("/etc/postgresql") else []


def _host_tool(*cmd: str) -> bool:
    return shutil.which(cmd[0]) is not None


async def _during_stream(desk: Desk, scale: Scale, label: str, fault: Callable[[], Awaitable[None]]) -> Row:
    rooms = await desk.rooms(10)
    forms = desk.forms(scale.in_flight // 2, rooms)
    sending = asyncio.create_task(desk.send(forms, rate=100))
    await asyncio.sleep(2)
    await fault()
    back = time.monotonic()
    await sending
    row = await desk.account(Row(label), forms, timeout=240)
    assert desk.watcher
    row.recovery = desk.watcher.recovered_after(back)
    return row


async def rabbitmq_restart(desk: Desk, scale: Scale) -> Row:
    if not _host_tool("rabbitmqctl"):
        return Row("RabbitMQ restart", note="skipped: no rabbitmqctl here")

    async def fault() -> None:
        await asyncio.to_thread(subprocess.run, ["rabbitmqctl", "stop_app"], capture_output=True, check=True)
        await asyncio.sleep(3)
        await asyncio.to_thread(subprocess.run, ["rabbitmqctl", "start_app"], capture_output=True, check=True)
        await asyncio.to_thread(subprocess.run, ["rabbitmqctl", "await_startup"], capture_output=True)

    return await _during_stream(desk, scale, "RabbitMQ restart (stop_app, 3 s, start_app)", fault)


async def close_all_connections(desk: Desk, scale: Scale) -> Row:
    if not _host_tool("rabbitmqctl"):
        return Row("RabbitMQ close_all_connections", note="skipped: no rabbitmqctl here")

    async def fault() -> None:
        await asyncio.to_thread(
            subprocess.run,
            ["rabbitmqctl", "close_all_connections", "-p", broker_vhost(desk.servers), "chaos"],
            capture_output=True,
            check=True,
        )

    return await _during_stream(desk, scale, "RabbitMQ close_all_connections", fault)


async def postgres_restart(desk: Desk, scale: Scale) -> Row:
    versions = _pg_versions()
    if not _host_tool("pg_ctlcluster") or not versions:
        return Row("PostgreSQL restart", note="skipped: no pg_ctlcluster here")
    version = versions[-1]

    async def fault() -> None:
        await asyncio.to_thread(
            subprocess.run,
            ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"],
            capture_output=True,
            check=True,
        )

    return await _during_stream(desk, scale, "PostgreSQL restart", fault)


async def contended_booking(desk: Desk, scale: Scale) -> Row:
    """20 requests/s for one slot with no room named, plus 10/s for free slots."""
    rooms = await desk.rooms(6)
    day = datetime.now(UTC).date() + timedelta(days=200)
    hot = datetime(day.year, day.month, day.day, 2, tzinfo=UTC)  # 10:00 venue time
    forms: list[dict[str, Any]] = []
    seconds = scale.contended_s
    for _ in range(int(20 * seconds)):
        f = desk.form("booking_request", rooms)
        f["meeting"] |= {"room_id": None, "start": hot.isoformat(), "end": (hot + timedelta(hours=2)).isoformat()}
        forms.append(f)
    free = []
    for i in range(int(10 * seconds)):
        f = desk.form("booking_request", rooms)
        start = hot + timedelta(days=1 + i // 20, hours=(i % 4) * 3)
        f["meeting"] |= {"room_id": rooms[i % len(rooms)], "start": start.isoformat()}
        f["meeting"]["end"] = (start + timedelta(hours=1)).isoformat()
        free.append(f)
    mixed = [x for pair in zip(forms[::2], forms[1::2], free, strict=False) for x in pair]
    mixed += [f for f in forms + free if f not in mixed]
    await desk.send(mixed, rate=30)
    row = await desk.account(Row(f"contended booking {seconds:g} s (20/s one slot + 10/s free)"), mixed, timeout=240)
    assert desk.watcher
    confirmed_hot = sum(
        1
        for e in desk.watcher.events
        if e.type == "booking.confirmed" and e.data["start"].startswith(hot.isoformat()[:16])
    )
    venue = len({e.data["room_id"] for e in desk.watcher.events if e.type == "room.updated"})
    row.note = f"{confirmed_hot} of {len(forms)} one-slot requests confirmed ({venue} rooms in the venue)"
    if confirmed_hot > venue:
        row.note = "FAILED: " + row.note
    return row


SCENARIOS: dict[str, Scenario] = {
    "kill-intake": kill("intake"),
    "kill-booking": kill("booking"),
    "kill-complaints": kill("complaints"),
    "kill-metrics": kill("metrics"),
    "rabbitmq-restart": rabbitmq_restart,
    "close-connections": close_all_connections,
    "postgres-restart": postgres_restart,
    "database-unreachable": database_unreachable,
    "triple-delivery": triple_delivery,
    "poison": poison,
    "contended-booking": contended_booking,
}
SHORT_SET = ("kill-booking", "kill-intake", "database-unreachable", "triple-delivery", "poison", "contended-booking")


async def run_suite(servers: Servers, names: list[str], scale: Scale, log_dir: Path) -> list[Row]:
    desk = Desk(servers, log_dir)
    rows: list[Row] = []
    await desk.start()
    try:
        for name in names:
            began = time.monotonic()
            print(f"-- {name}", flush=True)
            try:
                row = await SCENARIOS[name](desk, scale)
            except Exception as exc:  # a scenario that breaks is a row that failed, not a crash
                row = Row(name, note=f"FAILED: {type(exc).__name__}: {exc}"[:200])
            row.note = (row.note + "; " if row.note else "") + f"{time.monotonic() - began:.0f} s"
            rows.append(row)
            print(table([row], header=False), flush=True)
    finally:
        await desk.stop()
    return rows


def scan_logs(log_dir: Path) -> LogScan:
    """Every line the services logged in the run: no customer email, phone number or name, no token."""
    return scan_dir(log_dir, secrets=[API_TOKEN], names=CUSTOMER_NAMES)


def table(rows: list[Row], header: bool = True) -> str:
    lines = []
    if header:
        lines.append(
            f"{'scenario':52} {'sent':>6} {'once':>6} {'lost':>5} {'doubled':>7} {'good DLQ':>8} {'recover':>8}  note"
        )
    for r in rows:
        rec = f"{r.recovery:.1f} s" if r.recovery is not None else "-"
        lines.append(
            f"{r.scenario[:52]:52} {r.sent:6} {r.once:6} {r.lost:5} {r.doubled:7} {r.good_dead:8} {rec:>8}  "
            f"{'ok' if r.ok else 'NOT OK'}; {r.note}"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--short", action="store_true", help="the CI-sized version")
    parser.add_argument("--only", help=f"comma-separated scenarios: {', '.join(SCENARIOS)}")
    args = parser.parse_args()
    names = args.only.split(",") if args.only else list(SHORT_SET if args.short else SCENARIOS)
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(unknown)}")
    servers = resolve()
    log_dir = Path(tempfile.mkdtemp(prefix="chaos-"))
    began = time.monotonic()
    rows = asyncio.run(run_suite(servers, names, SHORT if args.short else FULL, log_dir))
    print(
        f"\nmeetdesk chaos ({'short' if args.short else 'full'}), {time.monotonic() - began:.0f} s; logs in {log_dir}"
    )
    print(table(rows))
    logs = scan_logs(log_dir)
    print(f"log scan: {logs.summary()}")
    return 0 if all(r.ok for r in rows) and logs.clean else 1


if __name__ == "__main__":
    raise SystemExit(main())
