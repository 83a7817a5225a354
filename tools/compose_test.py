#!/usr/bin/env python3
"""The compose deployment, tested as an operator would run it, against a real container engine.

    make compose-test                       # python tools/compose_test.py
    python tools/compose_test.py --keep     # leave the stack up (then: docker compose -p meetdesk-ct down -v)

One stack (compose project ``meetdesk-ct``, profile ``monitoring``) is used for every check, in order:

1. ``build`` then ``up -d --wait``: every container healthy; every project container runs the one image
   built (one ``build:`` in the file);
2. a web form posted through the edge is answered with ``booking.confirmed`` (seen on a queue bound to
   ``meetdesk.events`` through the published RabbitMQ port);
3. ``--scale booking=3``: nothing recreated, three consumers on each of booking's queues, web forms
   handled by more than one replica (the broker's per-channel delivery counts), Prometheus finds three
   booking targets;
4. back to ``--scale booking=1`` while requests go through the edge: not one fails;
5. ``restart rabbitmq``: every service queue has its consumers again within 30 s, a new web form is
   answered and every container is healthy again; 6. ``restart postgres``: the same;
7. every service's ``/metrics`` passes ``promtool check metrics``, and Prometheus scrapes every replica;
8. ``kill -9`` of booking's process between web forms: the restart policy brings the container back,
   and every form is booked exactly once;
9. ``stop booking`` takes well under its grace period, and so do the others while the broker is away;
10. every log line of every project container is a JSON object;
11. ``down`` and ``up`` (volumes kept): every booking is still there, the new logs are JSON; ``down -v``.

It prints the time of each step (build, time to healthy, each recovery) and one line per failed check,
and exits 1 if any check failed (2 if the engine cannot be used at all). The host ports are moved away
from a local RabbitMQ/PostgreSQL (``RABBITMQ_HOST_PORT`` 35672, ``RABBITMQ_UI_HOST_PORT`` 35673,
``POSTGRES_HOST_PORT`` 35432, ``EDGE_HOST_PORT`` 38080, ``PROMETHEUS_HOST_PORT`` 39090; each may be set).
Builds use the classic builder unless ``DOCKER_BUILDKIT`` is set (BuildKit may need to reach a registry).
The test watches the broker as ``meetdesk-admin`` (its password from ``.env``) through the published
port (``COMPOSE_TEST_AMQP_URL`` to change it; the management API is asked with the same user).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: the project's packages
    sys.path.insert(0, str(ROOT))

import aio_pika  # noqa: E402
import httpx  # noqa: E402

from shared.topology import EVENTS, QUEUES  # noqa: E402

PROJECT = "meetdesk-ct"
DEFAULTS = {
    "MEETDESK_API_TOKEN": "compose-test-token-0123456789",
    "RABBITMQ_HOST_PORT": "35672",
    "RABBITMQ_UI_HOST_PORT": "35673",
    "POSTGRES_HOST_PORT": "35432",
    "EDGE_HOST_PORT": "38080",
    "PROMETHEUS_HOST_PORT": "39090",
    "DOCKER_BUILDKIT": "0",
    "COMPOSE_DOCKER_CLI_BUILD": "0",
    "COMPOSE_PROFILES": "monitoring",
}
APPS = ("intake", "booking", "complaints", "metrics", "console")
PORTS = {"intake": 8001, "booking": 8002, "complaints": 8003, "metrics": 8004, "console": 8005}
SERVICE_QUEUES = tuple(q.name for q in QUEUES)
BOOKING_QUEUES = tuple(q.name for q in QUEUES if q.service == "booking")
VENUE = ZoneInfo("Asia/Hong_Kong")
RECOVERY_LIMIT = 30.0  # seconds: consumers back after a broker restart (the bar)
STOP_LIMIT = 15.0  # seconds: "well under" the app services' 30 s stop_grace_period


class Abort(Exception):
    """A step failed so that the later ones cannot run."""


@dataclass
class Report:
    started: float = field(default_factory=time.monotonic)
    failures: list[str] = field(default_factory=list)
    timings: list[tuple[str, float]] = field(default_factory=list)

    def say(self, text: str) -> None:
        print(f"[{time.monotonic() - self.started:6.1f}s] {text}", flush=True)

    def ok(self, text: str) -> None:
        self.say(f"ok    {text}")

    def fail(self, text: str) -> None:
        self.failures.append(text)
        self.say(f"FAIL  {text}")

    def check(self, condition: bool, text: str, why: str = "") -> bool:
        if condition:
            self.ok(text)
        else:
            self.fail(f"{text}: {why}" if why else text)
        return condition

    def time(self, label: str, seconds: float) -> float:
        self.timings.append((label, seconds))
        return seconds


# --------------------------------------------------------------------------- the engine


@dataclass
class Result:
    code: int
    out: str
    err: str
    seconds: float


class Stack:
    """``docker compose -p <project>`` in the repository, with the test's environment."""

    def __init__(self, project: str, env: dict[str, str]) -> None:
        self.project = project
        self.env = env
        self.token = env["MEETDESK_API_TOKEN"]
        self.edge = f"http://127.0.0.1:{env['EDGE_HOST_PORT']}"
        self.amqp_url = env.get("COMPOSE_TEST_AMQP_URL") or f"amqp://guest:guest@127.0.0.1:{env['RABBITMQ_HOST_PORT']}/"
        self.management = f"http://127.0.0.1:{env['RABBITMQ_UI_HOST_PORT']}"
        url = urlsplit(self.amqp_url)
        self.broker_auth = (unquote(url.username or "guest"), unquote(url.password or "guest"))
        self.prometheus = f"http://127.0.0.1:{env['PROMETHEUS_HOST_PORT']}"

    async def run(self, *args: str, timeout: float = 300.0, stdin: bytes | None = None) -> Result:
        t0 = time.monotonic()
        proc = await asyncio.create_subprocess_exec(
            *args,
            cwd=ROOT,
            env=self.env,
            stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            out, err = await asyncio.wait_for(proc.communicate(stdin), timeout)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            return Result(124, "", f"timed out after {timeout:.0f} s: {' '.join(args)}", time.monotonic() - t0)
        return Result(
            proc.returncode or 0, out.decode(errors="replace"), err.decode(errors="replace"), time.monotonic() - t0
        )

    async def compose(self, *args: str, timeout: float = 300.0, stdin: bytes | None = None) -> Result:
        return await self.run("docker", "compose", "-p", self.project, *args, timeout=timeout, stdin=stdin)

    async def must(self, *args: str, timeout: float = 300.0) -> Result:
        r = await self.compose(*args, timeout=timeout)
        if r.code != 0:
            raise Abort(f"docker compose {' '.join(args)} exited {r.code}: {_tail(r.err or r.out)}")
        return r

    async def containers(self, *services: str, all_: bool = False) -> list[dict[str, Any]]:
        """``docker inspect`` of the project's containers (of ``services``, or all), by service and number."""
        args = ["ps", "-q"] + (["-a"] if all_ else []) + list(services)
        ids = (await self.must(*args)).out.split()
        if not ids:
            return []
        r = await self.run("docker", "inspect", *ids)
        found = json.loads(r.out) if r.code == 0 else []
        return sorted(found, key=lambda c: (_label(c, "service"), int(_label(c, "container-number") or 0)))

    async def wait_healthy(self, services: Sequence[str], limit: float) -> tuple[bool, str]:
        """Every running container of ``services`` healthy within ``limit`` seconds: (ok, what is not)."""
        deadline = time.monotonic() + limit
        while True:
            found = await self.containers(*services)
            bad = [f"{c['Name'].lstrip('/')}={_health(c)}" for c in found if _health(c) != "healthy"] or (
                [] if {_label(c, "service") for c in found} >= set(services) else ["some service has no container"]
            )
            if not bad:
                return True, ""
            if time.monotonic() > deadline:
                return False, ", ".join(bad)
            await asyncio.sleep(1.0)


def _label(c: dict[str, Any], key: str) -> str:
    return (c.get("Config", {}).get("Labels") or {}).get(f"com.docker.compose.{key}", "")


def _health(c: dict[str, Any]) -> str:
    state = c.get("State", {})
    return (state.get("Health") or {}).get("Status") or state.get("Status", "?")


def _ip(c: dict[str, Any]) -> str:
    nets = (c.get("NetworkSettings") or {}).get("Networks") or {}
    return next((n.get("IPAddress", "") for n in nets.values()), "")


def _tail(text: str, lines: int = 8) -> str:
    return " | ".join(text.strip().splitlines()[-lines:])


# --------------------------------------------------------------------------- the broker


async def consumer_counts(amqp_url: str, queues: Sequence[str]) -> dict[str, int | str]:
    """Live consumer count of each queue (a passive declare), or why it could not be had."""
    out: dict[str, int | str] = {}
    try:
        conn = await asyncio.wait_for(aio_pika.connect(amqp_url, timeout=3), 5)
    except Exception as exc:  # the broker is not back yet
        return {q: f"no connection ({type(exc).__name__})" for q in queues}
    try:
        for q in queues:
            try:
                ch = await conn.channel()
                declared = await ch.declare_queue(q, passive=True)
                out[q] = declared.declaration_result.consumer_count
                await ch.close()
            except Exception as exc:
                out[q] = type(exc).__name__
    finally:
        await conn.close()
    return out


async def wait_consumers(amqp_url: str, queues: Sequence[str], at_least: int, limit: float, exactly: bool = False):
    """Poll until every queue has ``at_least`` consumers (``exactly``: that many): (seconds, last counts)."""
    t0 = time.monotonic()
    while True:
        counts = await consumer_counts(amqp_url, queues)
        good = all(isinstance(n, int) and (n == at_least if exactly else n >= at_least) for n in counts.values())
        if good or time.monotonic() - t0 > limit:
            return (time.monotonic() - t0 if good else None), counts
        await asyncio.sleep(0.5)


class Events:
    """An exclusive queue bound to ``meetdesk.events``: the outcome of each web form, as integrators see it."""

    KEYS = ("inquiry.received", "booking.confirmed", "booking.rejected")

    def __init__(self, amqp_url: str) -> None:
        self.amqp_url = amqp_url
        self.seen: list[tuple[str, dict[str, Any]]] = []
        self._arrived = asyncio.Event()

    @contextlib.asynccontextmanager
    async def open(self) -> AsyncIterator[Events]:
        conn = await aio_pika.connect(self.amqp_url, timeout=10)
        try:
            ch = await conn.channel()
            exchange = await ch.get_exchange(EVENTS, ensure=True)
            queue = await ch.declare_queue("", exclusive=True, auto_delete=True)
            for key in self.KEYS:
                await queue.bind(exchange, key)
            await queue.consume(self._on_message, no_ack=True)
            yield self
        finally:
            await conn.close()

    async def _on_message(self, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        try:
            body = json.loads(message.body)
        except ValueError:
            return
        self.seen.append((body.get("type", message.routing_key or ""), body.get("data") or {}))
        self._arrived.set()

    def outcomes(self, submission_id: str) -> list[tuple[str, dict[str, Any]]]:
        """booking.confirmed / booking.rejected events of the inquiry made from this web form."""
        inquiries = {
            d.get("inquiry_id")
            for t, d in self.seen
            if t == "inquiry.received" and d.get("source_ref") == submission_id
        }
        return [(t, d) for t, d in self.seen if t != "inquiry.received" and d.get("inquiry_id") in inquiries]

    async def wait(self, submission_ids: Sequence[str], limit: float) -> dict[str, list[tuple[str, dict[str, Any]]]]:
        """The outcomes of each form, once every form has one or after ``limit`` seconds."""
        deadline = time.monotonic() + limit
        while True:
            found = {s: self.outcomes(s) for s in submission_ids}
            left = deadline - time.monotonic()
            if all(found.values()) or left <= 0:
                return found
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), min(left, 1.0))


# --------------------------------------------------------------------------- the checks


class Deployment:
    def __init__(self, stack: Stack, report: Report) -> None:
        self.stack = stack
        self.r = report
        self.http = httpx.AsyncClient(base_url=stack.edge, timeout=10.0)
        self.auth = {"Authorization": f"Bearer {stack.token}"}
        self.room = f"ct-{uuid.uuid4().hex[:8]}"
        self.day = datetime.now(VENUE).date() + timedelta(days=5)
        self.slot = 0  # each web form books the room's next free hour
        self.project_services: set[str] = set()  # built from this project (set from the compose file)

    # -- helpers ---------------------------------------------------------------------------------
    def form(self) -> dict[str, Any]:
        day = self.day + timedelta(days=self.slot // 8)
        start = datetime(day.year, day.month, day.day, 9 + self.slot % 8, tzinfo=VENUE)
        self.slot += 1
        return {
            "kind": "booking_request",
            "submission_id": f"ct-{uuid.uuid4()}",
            "submitted_at": datetime.now(UTC).isoformat(),
            "customer": {"name": "Compose Test", "email": "compose.test@example.com", "phone": None},
            "meeting": {
                "name": "compose test",
                "start": start.isoformat(),
                "end": (start + timedelta(minutes=50)).isoformat(),
                "attendees": 4,
                "room_id": self.room,
                "agenda": None,
                "equipment": [],
                "catering": None,
                "notes": None,
                "recurrence": None,
            },
        }

    async def post_form(self, form: dict[str, Any], limit: float = 30.0) -> None:
        """POST the web form through the edge, retried while the edge or intake answers 5xx."""
        deadline = time.monotonic() + limit
        while True:
            try:
                resp = await self.http.post("/intake/inbound/webform", json=form, headers=self.auth)
                if resp.status_code == 202:
                    return
                why = f"HTTP {resp.status_code} {resp.text[:200]}"
                if resp.status_code < 500:
                    raise Abort(f"the edge refused a web form: {why}")
            except httpx.HTTPError as exc:
                why = f"{type(exc).__name__}: {exc}"
            if time.monotonic() > deadline:
                raise Abort(f"no web form accepted through the edge within {limit:.0f} s ({why})")
            await asyncio.sleep(0.5)

    async def book(
        self, count: int, label: str, limit: float = 45.0, during: Callable[[], Any] | None = None
    ) -> float | None:
        """Post ``count`` web forms, each must end in one booking.confirmed: seconds to the last.
        ``during``: awaited after the first half is posted, before the second."""
        forms = [self.form() for _ in range(count)]
        async with Events(self.stack.amqp_url).open() as events:
            t0 = time.monotonic()
            half = len(forms) // 2 if during is not None else len(forms)
            for f in forms[:half]:
                await self.post_form(f)
            if during is not None:  # the fault, with the first half in flight and the second half sent after it
                await during()
            for f in forms[half:]:
                await self.post_form(f)
            found = await events.wait([f["submission_id"] for f in forms], limit)
            seconds = time.monotonic() - t0
        bad = []
        for f in forms:
            outcomes = found[f["submission_id"]]
            if not outcomes:
                bad.append(f"{f['submission_id']}: no answer within {limit:.0f} s")
            elif outcomes[0][0] != "booking.confirmed":
                bad.append(f"{f['meeting']['start']}: {outcomes[0][0]} ({outcomes[0][1].get('reason')})")
        if bad:
            self.r.fail(f"{label}: " + "; ".join(bad))
            return None
        self.r.ok(f"{label}: {count} web form(s) through the edge -> booking.confirmed in {seconds:.1f} s")
        return seconds

    async def bookings(self) -> dict[str, int]:
        """Booking id -> how many times the booking service lists it, for this test's room."""
        resp = await self.http.get(
            "/booking/bookings", params={"room_id": self.room, "limit": "500"}, headers=self.auth
        )
        resp.raise_for_status()
        ids: dict[str, int] = {}
        for item in resp.json()["items"]:
            ids[item["booking_id"]] = ids.get(item["booking_id"], 0) + 1
        return ids

    async def consumers_back(self, label: str, t0: float) -> None:
        seconds, counts = await wait_consumers(self.stack.amqp_url, SERVICE_QUEUES, 1, RECOVERY_LIMIT)
        if seconds is None:
            self.r.fail(f"{label}: queues without a consumer {RECOVERY_LIMIT:.0f} s later: {counts}")
        else:
            took = self.r.time(f"{label}: consumers back", time.monotonic() - t0)
            self.r.ok(f"{label}: every service queue has its consumers again, {took:.1f} s after the restart")

    async def all_healthy(self, label: str, t0: float, limit: float = 60.0) -> None:
        ok, bad = await self.stack.wait_healthy(("rabbitmq", "postgres", *APPS, "edge"), limit)
        if self.r.check(ok, f"{label}: every container healthy again", bad):
            self.r.time(f"{label}: all healthy", time.monotonic() - t0)

    # -- 1 ---------------------------------------------------------------------------------------
    async def up(self) -> None:
        config = json.loads((await self.stack.must("config", "--format", "json")).out)
        services = config["services"]
        built = [n for n, s in services.items() if s.get("build")]
        self.r.check(len(built) == 1, "one service builds the project's image", f"services with build: {built}")
        image = services[built[0]]["image"] if built else "meetdesk:local"

        inspect = ("docker", "image", "inspect", "-f", "{{.Id}}", image)
        had = (await self.stack.run(*inspect)).out.strip()
        r = await self.stack.must("build", timeout=900)
        want = (await self.stack.run(*inspect)).out.strip()
        what = "the image unchanged" if had == want else "a new image" if had else "the first image"
        self.r.ok(f"build: {self.r.time('build', r.seconds):.1f} s ({what})")
        r = await self.stack.compose("up", "-d", "--wait", timeout=300)
        if r.code != 0:
            raise Abort(f"up -d --wait exited {r.code}: {_tail(r.err or r.out, 15)}")
        self.r.ok(f"up: every container healthy {self.r.time('up to healthy', r.seconds):.1f} s after `up`")

        project = [c for c in await self.stack.containers(all_=True) if c.get("Config", {}).get("Image") == image]
        ids = {c["Image"] for c in project}
        self.r.check(
            len(project) >= 8 and ids == {want},
            f"every project container ({len(project)}) runs the one image built",
            f"image ids {sorted(i[7:19] for i in ids)}, built {want[7:19]}",
        )

    # -- 2 ---------------------------------------------------------------------------------------
    async def web_form(self) -> None:
        resp = await self.http.post(
            "/booking/commands/rooms.upsert",
            headers=self.auth,
            json={
                "command_id": str(uuid.uuid4()),
                "actor": "compose-test",
                "room_id": self.room,
                "name": f"Compose test {self.room}",
                "location": "G/F",
                "capacity": 10,
                "equipment": [],
                # back-to-back meetings: each web form books the next hour
                "setup_buffer_minutes": 0,
                "cleanup_buffer_minutes": 0,
            },
        )
        if resp.status_code != 200:
            raise Abort(f"rooms.upsert through the edge: HTTP {resp.status_code} {resp.text[:200]}")
        if await self.book(1, "web form") is None:
            raise Abort("the deployment does not answer a web form")
        # the desk's console through the edge: its page, who the token is, and a service read through it
        page = await self.http.get("/console/")
        self.r.check(
            page.status_code == 200 and 'data-test="signin"' in page.text,
            "console: the page is served through the edge (/console/)",
            f"HTTP {page.status_code}",
        )
        me = await self.http.get("/console/api/me", headers=self.auth)
        self.r.check(
            me.status_code == 200 and bool(me.json().get("role")), "console: /api/me knows the token", me.text[:200]
        )
        rooms = await self.http.get("/console/api/booking/rooms", headers=self.auth)
        self.r.check(
            rooms.status_code == 200 and any(r.get("room_id") == self.room for r in rooms.json()),
            "console: reads booking through its proxy with the caller's token",
            f"HTTP {rooms.status_code} {rooms.text[:200]}",
        )

    # -- 3 ---------------------------------------------------------------------------------------
    async def scale_up(self) -> None:
        before = {c["Id"]: c["Name"] for c in await self.stack.containers()}
        r = await self.stack.compose("up", "-d", "--wait", "--scale", "booking=3", timeout=180)
        if r.code != 0:
            raise Abort(f"up --scale booking=3 exited {r.code}: {_tail(r.err or r.out, 15)}")
        self.r.time("scale booking to 3, healthy", r.seconds)
        after = await self.stack.containers()
        gone = [name for cid, name in before.items() if cid not in {c["Id"] for c in after}]
        self.r.check(not gone, "--scale recreated no container", f"recreated: {gone}")
        replicas = [c for c in after if _label(c, "service") == "booking"]
        self.r.check(
            len(replicas) == 3, f"three booking replicas healthy in {r.seconds:.1f} s", f"{len(replicas)} replicas"
        )

        seconds, counts = await wait_consumers(self.stack.amqp_url, BOOKING_QUEUES, 3, 30, exactly=True)
        self.r.check(seconds is not None, "three consumers on each of booking's queues", str(counts))

        ips = {_ip(c): c["Name"].lstrip("/") for c in replicas}
        base = await self.deliveries(ips)
        await self.book(9, "scaled to 3")
        # the broker's per-channel delivery counts come every 5 s: wait (10 s at most) for each replica's
        spread: dict[str, int] = {}
        for _ in range(10):
            now = await self.deliveries(ips)
            spread = {n: now.get(n, 0) - base.get(n, 0) for n in ips.values()}
            if all(v > 0 for v in spread.values()):
                break
            await asyncio.sleep(1.0)
        self.r.check(
            sum(1 for v in spread.values() if v > 0) >= 2,
            "work spread over the booking replicas",
            f"deliveries {spread}",
        )
        self.r.say(f"      deliveries per booking replica: {spread}")

        targets: list[str] = []
        for _ in range(20):
            targets = [t["scrapeUrl"] for t in await self.targets() if t["labels"].get("job") == "booking"]
            if len(targets) == 3:
                break
            await asyncio.sleep(1.0)
        self.r.check(len(targets) == 3, "Prometheus finds the three booking replicas by DNS", f"targets {targets}")

    async def deliveries(self, ips: dict[str, str]) -> dict[str, int]:
        """Messages the broker delivered to each container (by its address), from the management API."""
        try:
            async with httpx.AsyncClient(base_url=self.stack.management, auth=self.stack.broker_auth, timeout=5) as c:
                channels = (await c.get("/api/channels")).json()
        except (httpx.HTTPError, ValueError):
            return {}
        out: dict[str, int] = {}
        for ch in channels:
            name = ips.get((ch.get("connection_details") or {}).get("peer_host", ""))
            if name:
                out[name] = out.get(name, 0) + int((ch.get("message_stats") or {}).get("deliver_get", 0))
        return out

    async def targets(self) -> list[dict[str, Any]]:
        try:
            resp = await self.http.get(f"{self.stack.prometheus}/api/v1/targets")
            return resp.json()["data"]["activeTargets"]
        except (httpx.HTTPError, ValueError, KeyError):
            return []

    # -- 4 ---------------------------------------------------------------------------------------
    async def scale_down(self) -> None:
        stop = asyncio.Event()
        sent, failed = 0, []

        async def traffic() -> None:
            nonlocal sent
            while not stop.is_set():
                try:
                    resp = await self.http.get("/booking/rooms")
                    if resp.status_code != 200:
                        failed.append(f"HTTP {resp.status_code}")
                except httpx.HTTPError as exc:
                    failed.append(type(exc).__name__)
                sent += 1
                await asyncio.sleep(0.05)

        clients = [asyncio.create_task(traffic()) for _ in range(2)]
        await asyncio.sleep(1.0)
        r = await self.stack.compose("up", "-d", "--wait", "--no-deps", "--scale", "booking=1", "booking", timeout=180)
        await asyncio.sleep(3.0)  # and a little after the replicas are gone
        stop.set()
        await asyncio.gather(*clients)
        if r.code != 0:
            raise Abort(f"up --scale booking=1 exited {r.code}: {_tail(r.err or r.out, 15)}")
        self.r.time("scale booking 3 -> 1", r.seconds)
        if not self.r.check(
            not failed,
            f"scaled back to 1 in {r.seconds:.1f} s; every one of {sent} requests through the edge meanwhile answered",
            f"{len(failed)} of {sent} failed: {sorted(set(failed))}",
        ):
            edge = await self.stack.compose("logs", "--no-log-prefix", "edge", timeout=60)
            for line in [ln for ln in edge.out.splitlines() if '"level":"info"' not in ln][-6:]:
                self.r.say(f"      edge: {line[:600]}")
        seconds, counts = await wait_consumers(self.stack.amqp_url, BOOKING_QUEUES, 1, 30, exactly=True)
        self.r.check(seconds is not None, "one consumer left on each of booking's queues", str(counts))

    # -- 5, 6 ------------------------------------------------------------------------------------
    async def restart(self, service: str) -> None:
        label = f"restart {service}"
        t0 = time.monotonic()
        await self.stack.must("restart", service, timeout=120)
        self.r.say(f"      {label}: the command took {time.monotonic() - t0:.1f} s")
        await self.consumers_back(label, t0)
        seconds = await self.book(1, f"{label}: a new request", limit=60)
        if seconds is not None:
            self.r.time(f"{label}: request answered", time.monotonic() - t0)
        await self.all_healthy(label, t0)

    # -- 7 ---------------------------------------------------------------------------------------
    async def kill(self) -> None:
        (victim,) = await self.stack.containers("booking")
        restarts = victim["RestartCount"]
        killer = (
            "import os, signal\n"
            "for p in filter(str.isdigit, os.listdir('/proc')):\n"
            "    if int(p) not in (1, os.getpid()) and b'faststream' in open(f'/proc/{p}/cmdline', 'rb').read():\n"
            "        os.kill(int(p), signal.SIGKILL)\n"
        )
        t0 = time.monotonic()

        async def kill_it() -> None:
            nonlocal t0
            t0 = time.monotonic()
            await self.stack.compose("exec", "-T", "booking", "python", "-c", killer, timeout=30)

        before = await self.bookings()
        await self.book(4, "kill -9 of booking's process: 2 web forms before, 2 after", limit=90, during=kill_it)
        (back,) = await self.stack.containers("booking")
        self.r.check(
            back["RestartCount"] > restarts and back["Id"] == victim["Id"],
            "the restart policy restarted the killed container",
            f"restart count {restarts} -> {back['RestartCount']}",
        )
        ok, bad = await self.stack.wait_healthy(("booking",), 60)
        if self.r.check(ok, "the killed service is healthy again", bad):
            took = self.r.time("kill -9: healthy again", time.monotonic() - t0)
            self.r.say(f"      kill -9: booking healthy again {took:.1f} s after the kill")
        after = await self.bookings()
        doubled = {b: n for b, n in after.items() if n > 1}
        new = set(after) - set(before)
        self.r.check(
            not doubled and len(new) == 4,
            "nothing lost or doubled: one booking per web form",
            f"new {len(new)}, doubled {doubled}",
        )

    # -- 8 ---------------------------------------------------------------------------------------
    async def metrics(self) -> None:
        fetch = (
            "import sys, urllib.request; "
            "sys.stdout.buffer.write(urllib.request.urlopen('http://127.0.0.1:{}/metrics', timeout=10).read())"
        )
        for svc in APPS:
            r = await self.stack.compose("exec", "-T", svc, "python", "-c", fetch.format(PORTS[svc]), timeout=30)
            if not self.r.check(r.code == 0 and r.out.strip() != "", f"{svc}: /metrics answers", _tail(r.err)):
                continue
            check = await self.stack.compose(
                "exec", "-T", "prometheus", "promtool", "check", "metrics", stdin=r.out.encode(), timeout=30
            )
            self.r.check(
                check.code == 0, f"{svc}: /metrics passes promtool check metrics", _tail(check.out + check.err, 12)
            )
        bad: list[str] = []
        for _ in range(25):  # a scrape every 15 s
            found = [t for t in await self.targets() if t["labels"].get("job") in APPS]
            bad = [f"{t['scrapeUrl']}: {t['health']} {t.get('lastError', '')}" for t in found if t["health"] != "up"]
            if found and not bad:
                break
            bad = bad or ["no targets"]
            await asyncio.sleep(1.0)
        self.r.check(not bad, "Prometheus scrapes every app service replica", "; ".join(bad))

    # -- 9 ---------------------------------------------------------------------------------------
    async def stops(self) -> None:
        r = await self.stack.must("stop", "booking", timeout=60)
        self.r.check(
            r.seconds < STOP_LIMIT,
            f"stop booking: {self.r.time('stop booking', r.seconds):.1f} s (grace period 30 s)",
            f"over {STOP_LIMIT:.0f} s",
        )
        (broker,) = await self.stack.containers("rabbitmq")
        # the broker alone (docker stop: compose would stop its dependants first)
        r = await self.stack.run("docker", "stop", broker["Id"], timeout=60)
        self.r.say(f"      the broker alone stopped in {r.seconds:.1f} s")
        others = [s for s in APPS if s != "booking"]
        r = await self.stack.must("stop", *others, timeout=60)
        took = self.r.time("stop while the broker is away", r.seconds)
        self.r.check(
            r.seconds < STOP_LIMIT,
            f"stop {', '.join(others)} while the broker is away: {took:.1f} s",
            f"over {STOP_LIMIT:.0f} s",
        )

    # -- 10 --------------------------------------------------------------------------------------
    async def json_logs(self, label: str) -> None:
        project = [c for c in await self.stack.containers(all_=True) if _label(c, "service") in self.project_services]
        bad: list[str] = []
        lines = 0
        for c in project:
            r = await self.stack.run("docker", "logs", c["Id"], timeout=60)
            for stream in (r.out, r.err):
                for line in stream.splitlines():
                    if not line.strip():
                        continue
                    lines += 1
                    try:
                        ok = isinstance(json.loads(line), dict)
                    except ValueError:
                        ok = False
                    if not ok:
                        bad.append(f"{c['Name'].lstrip('/')}: {line[:160]}")
        self.r.check(
            not bad,
            f"{label}: all {lines} log lines of {len(project)} project containers are JSON",
            f"{len(bad)} not JSON, e.g. " + " || ".join(bad[:5]),
        )

    # -- 11 --------------------------------------------------------------------------------------
    async def down_up(self, before: dict[str, int]) -> None:
        r = await self.stack.must("down", timeout=120)
        self.r.say(f"      down (volumes kept): {self.r.time('down', r.seconds):.1f} s")
        r = await self.stack.compose("up", "-d", "--wait", timeout=300)
        if r.code != 0:
            raise Abort(f"up after down exited {r.code}: {_tail(r.err or r.out, 15)}")
        took = self.r.time("up again to healthy", r.seconds)
        self.r.ok(f"up again from the volumes: every container healthy in {took:.1f} s")
        after = await self.bookings()
        lost = set(before) - set(after)
        self.r.check(
            bool(before) and not lost, f"down/up: all {len(before)} bookings still there", f"lost {sorted(lost)}"
        )
        await self.json_logs("after up again")


async def run_checks(stack: Stack, report: Report, keep: bool) -> None:
    d = Deployment(stack, report)
    config = json.loads((await stack.must("config", "--format", "json")).out)["services"]
    image = next((s["image"] for s in config.values() if s.get("build")), None)
    d.project_services = {n for n, s in config.items() if s.get("build") or s.get("image") == image}
    try:
        await d.up()
        await d.web_form()
        await d.scale_up()
        await d.scale_down()
        await d.restart("rabbitmq")
        await d.restart("postgres")
        await d.metrics()
        await d.kill()
        before = await d.bookings()
        await d.stops()
        await d.json_logs("after restarts, a kill and stops")
        await d.down_up(before)
    finally:
        await d.http.aclose()


async def diagnose(stack: Stack, report: Report) -> None:
    r = await stack.compose("ps", "-a", "--format", "{{.Name}}\t{{.Status}}")
    report.say("docker compose ps -a:\n" + r.out.rstrip())
    for c in await stack.containers(all_=True):
        if (
            _label(c, "service") not in {"intake-migrate", "booking-migrate", "complaints-migrate", "metrics-migrate"}
            and _health(c) != "healthy"
        ):
            logs = await stack.run("docker", "logs", "--tail", "15", c["Id"])
            report.say(f"last lines of {c['Name'].lstrip('/')} ({_health(c)}):\n{(logs.out + logs.err).rstrip()}")


def prepare_access(env: dict[str, str]) -> None:
    """What `make up` does first: the services' broker and database passwords (made once, kept in .env)
    and the broker's definitions file (users, permissions, topology) written from them; the test then
    watches the broker as ``meetdesk-admin`` (there is no guest in compose)."""
    import subprocess

    from shared.access import add_missing_secrets, read_env_file

    add_missing_secrets(ROOT / ".env")
    subprocess.run([sys.executable, str(ROOT / "tools" / "access.py"), "definitions"], cwd=ROOT, check=True)
    secrets = {**read_env_file(ROOT / ".env"), **os.environ}
    admin = secrets.get("MEETDESK_BROKER_ADMIN_PASSWORD", "")
    env.setdefault("COMPOSE_TEST_AMQP_URL", f"amqp://meetdesk-admin:{admin}@127.0.0.1:{env['RABBITMQ_HOST_PORT']}/")


async def amain(args: argparse.Namespace) -> int:
    env = {**os.environ}
    for key, value in DEFAULTS.items():
        env.setdefault(key, value)
    prepare_access(env)
    stack = Stack(args.project, env)
    report = Report()
    version = await stack.run("docker", "compose", "version", "--short", timeout=30)
    info = await stack.run("docker", "info", "--format", "{{.ServerVersion}}", timeout=30)
    if version.code != 0 or info.code != 0:
        print(f"compose-test: no usable container engine: {_tail(version.err or info.err)}", file=sys.stderr)
        return 2
    report.say(
        f"compose-test: project {args.project}, engine {info.out.strip()}, compose {version.out.strip()}, "
        f"edge {stack.edge}, broker 127.0.0.1:{env['RABBITMQ_HOST_PORT']}"
    )
    await stack.compose("down", "-v", "--remove-orphans", timeout=120)  # what an earlier run left
    try:
        await run_checks(stack, report, args.keep)
    except Abort as exc:
        report.fail(str(exc))
        await diagnose(stack, report)
    except Exception as exc:  # a bug of this tool or an unexpected answer: still clean up
        report.fail(f"unexpected {type(exc).__name__}: {exc}")
        await diagnose(stack, report)
    finally:
        if args.keep:
            report.say(f"kept the stack: docker compose -p {args.project} down -v")
        else:
            r = await stack.compose("down", "-v", "--remove-orphans", timeout=180)
            report.say(f"down -v: {r.seconds:.1f} s" + ("" if r.code == 0 else f" (exit {r.code}: {_tail(r.err)})"))

    total = time.monotonic() - report.started
    print("\ncompose-test timings (seconds):")
    for label, seconds in report.timings:
        print(f"  {label:<45} {seconds:6.1f}")
    print(f"  {'total':<45} {total:6.1f}")
    if report.failures:
        print(f"\ncompose-test: {len(report.failures)} check(s) FAILED:")
        for f in report.failures:
            print(f"  - {f}")
        return 1
    print("\ncompose-test: every check passed")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--project", default=PROJECT, help=f"compose project name (default {PROJECT})")
    parser.add_argument("--keep", action="store_true", help="leave the stack running afterwards")
    return asyncio.run(amain(parser.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
