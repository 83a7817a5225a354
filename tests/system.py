"""The running system for end-to-end tests: the four services as real processes.

Each service is started exactly as in production (``faststream run services.X.main:app``) on its
own test port, against test databases ``meetdesk_test_<service>`` that are dropped, recreated and
migrated once per test session.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import aio_pika
import asyncpg
import httpx

from shared.settings import broker_user_of
from shared.topology import EVENTS, QUEUES

from .servers import Servers

ROOT = Path(__file__).resolve().parent.parent
# Several test runs can share one RabbitMQ and PostgreSQL when each has its own vhost (in
# MEETDESK_TEST_AMQP_URL), database prefix and ports; the defaults suit a single run.
PORT_BASE = int(os.environ.get("MEETDESK_TEST_PORT_BASE", "18000"))
PORTS = {"intake": PORT_BASE + 1, "booking": PORT_BASE + 2, "complaints": PORT_BASE + 3, "metrics": PORT_BASE + 4}
API_TOKEN = "meetdesk-test-api-token"  # 16 characters or more, as every service requires
WECHAT_TOKEN = "wechat-test-token"
CHATWOOT_SECRET = "chatwoot-test-secret"
DB_PREFIX = os.environ.get("MEETDESK_TEST_DB_PREFIX", "meetdesk_test_")
# tokens with a role (MEETDESK_API_TOKENS), given to the services of the `system` fixture (tests/conftest.py)
AGENT_TOKEN, AGENT_PRINCIPAL = "meetdesk-test-agent-token", "agent-by-token"
SUPERVISOR_TOKEN, SUPERVISOR_PRINCIPAL = "meetdesk-test-supervisor-token", "supervisor-by-token"
ROLE_TOKENS = {
    AGENT_TOKEN: {"principal": AGENT_PRINCIPAL, "role": "agent"},
    SUPERVISOR_TOKEN: {"principal": SUPERVISOR_PRINCIPAL, "role": "supervisor"},
}
# a RabbitMQ user of this run (users are broker-wide; the prefix keeps parallel runs apart) that
# sends commands as an agent (MEETDESK_COMMAND_PUBLISHERS); created by add_broker_user
AGENT_BROKER_USER, AGENT_BROKER_PRINCIPAL = f"{DB_PREFIX}agent", "agent-by-broker"


def command_publishers(servers: Servers) -> dict[str, dict[str, Any]]:
    """MEETDESK_COMMAND_PUBLISHERS of the tests: the tests' own broker user (the services' too) is
    ops and names the actor it acts for, as every test publishing commands does; AGENT_BROKER_USER
    is an agent acting as itself."""
    return {
        broker_user_of(servers.amqp_url): {"principal": "test-tools", "role": "ops", "delegate": True},
        AGENT_BROKER_USER: {"principal": AGENT_BROKER_PRINCIPAL, "role": "agent"},
    }


def service_env(
    servers: Servers, name: str, *, root: Path = ROOT, db_suffix: str = "", clock_file: Path | None = None
) -> dict[str, str]:
    """The service's environment; ``root``: another checkout whose code it runs (PYTHONPATH, ahead of
    this repository's editable install); ``db_suffix``: appended to its database's name; ``clock_file``:
    the service's clock reads an offset in seconds from it (``MEETDESK_CLOCK_OFFSET_FILE``)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEETDESK_")}
    if root != ROOT:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, (str(root), env.get("PYTHONPATH"))))
    env.update(
        MEETDESK_SERVICE=name,
        MEETDESK_AMQP_URL=servers.amqp_url,
        MEETDESK_DATABASE_URL=servers.database_url(DB_PREFIX + name + db_suffix),
        MEETDESK_HTTP_PORT=str(PORTS[name]),
        MEETDESK_API_TOKEN=API_TOKEN,
        MEETDESK_WECHAT_TOKEN=WECHAT_TOKEN,
        MEETDESK_CHATWOOT_SECRET=CHATWOOT_SECRET,
        MEETDESK_AGENT_EMAIL_DOMAINS='["meetdesk.example"]',
        MEETDESK_COMMAND_PUBLISHERS=json.dumps(command_publishers(servers)),
        MEETDESK_LOG_LEVEL="INFO",
        PYTHONUNBUFFERED="1",
    )
    if clock_file is not None:
        env["MEETDESK_CLOCK_OFFSET_FILE"] = str(clock_file)
    return env


def prepare_databases(
    servers: Servers, names: Iterable[str] = tuple(PORTS), *, root: Path = ROOT, db_suffix: str = ""
) -> None:
    """Drop, recreate and migrate every service's test database (fresh state per session); or only
    those of ``names``, with the migrations of the code in ``root`` (see :func:`service_env`)."""
    names = tuple(names)

    async def drop() -> None:
        conn = await asyncpg.connect(servers.database_url("postgres").replace("+asyncpg", ""))
        try:
            for name in names:
                await conn.execute(f'DROP DATABASE IF EXISTS "{DB_PREFIX}{name}{db_suffix}" WITH (FORCE)')
        finally:
            await conn.close()

    asyncio.run(drop())
    for name in names:
        subprocess.run(
            [sys.executable, "-m", "shared.migrate", name],
            env=service_env(servers, name, root=root, db_suffix=db_suffix),
            cwd=root,
            check=True,
            capture_output=True,
        )


async def fresh_database(servers: Servers, name: str, service: str) -> str:
    """Drop the database ``name`` and create it anew with ``service``'s migrations; its URL.
    (A ``meetdesk_test_`` name takes this run's database prefix instead.)"""
    from shared.migrate import migrate

    name = DB_PREFIX + name.removeprefix("meetdesk_test_")
    admin = await asyncpg.connect(servers.database_url("postgres").replace("+asyncpg", ""))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()
    url = servers.database_url(name)
    await asyncio.to_thread(migrate, service, url)
    return url


def add_broker_user(servers: Servers, user: str, password: str, *, write: str) -> str:
    """Create (or reset) the RabbitMQ user ``user`` in the tests' vhost, allowed to write to the
    exchanges matching ``write`` and nothing else; its AMQP URL. Through ``rabbitmqctl`` on this
    machine, or in the testcontainers broker."""
    url = urlsplit(servers.amqp_url)
    vhost = unquote(url.path[1:]) if len(url.path) > 1 else "/"
    steps = (
        ["delete_user", user],
        ["add_user", user, password],
        ["set_permissions", "-p", vhost, user, "^$", write, "^$"],
    )
    rabbit = next((c for c in servers._containers if "rabbit" in type(c).__name__.lower()), None)
    for n, args in enumerate(steps):
        if rabbit is not None:
            code, out = rabbit.exec(["rabbitmqctl", *args])
        else:
            tool = shutil.which("rabbitmqctl")
            assert tool, "creating a broker user needs rabbitmqctl on this machine (or a testcontainers broker)"
            done = subprocess.run([tool, *args], capture_output=True, timeout=60)
            code, out = done.returncode, done.stdout + done.stderr
        assert code == 0 or n == 0, f"rabbitmqctl {args[0]} failed: {out!r}"
    return urlunsplit(url._replace(netloc=f"{quote(user)}:{quote(password)}@{url.hostname}:{url.port or 5672}"))


async def reset_queues(servers: Servers) -> None:
    """Purge every service queue and dead-letter queue (declaring the topology first)."""
    from shared.topology import declare_topology

    await declare_topology(servers.amqp_url, 5)
    conn = await aio_pika.connect(servers.amqp_url)
    try:
        ch = await conn.channel()
        for spec in QUEUES:
            for name in (spec.name, spec.dead_letter_queue):
                queue = await ch.declare_queue(name, passive=True)
                await queue.purge()
    finally:
        await conn.close()


@dataclass
class ServiceProcess:
    name: str
    servers: Servers
    log_dir: Path
    workers: int = 1
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0
    root: Path = ROOT  # the code it runs: this repository, or another checkout (see service_env)
    db_suffix: str = ""
    extra_env: dict[str, str] = field(default_factory=dict)  # settings for this process only
    clock_file: Path | None = None  # its clock's offset (see service_env)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{PORTS[self.name]}"

    def start(self) -> None:
        self.starts += 1
        log = open(self.log_dir / f"{self.name}.{self.starts}.log", "wb")
        cmd = [
            str(Path(sys.executable).with_name("faststream")),
            "run",
            f"services.{self.name}.main:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(PORTS[self.name]),
        ]
        if self.workers > 1:
            cmd += ["--workers", str(self.workers)]
        self.proc = subprocess.Popen(
            cmd,
            env=service_env(
                self.servers, self.name, root=self.root, db_suffix=self.db_suffix, clock_file=self.clock_file
            )
            | self.extra_env,
            cwd=self.root,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    async def wait_ready(self, timeout: float = 60.0) -> None:
        """Ready = /readyz says so, and every worker consumes (consumer count = workers)."""
        deadline = time.monotonic() + timeout
        last: Any = None
        async with httpx.AsyncClient(timeout=2.0) as client:
            while time.monotonic() < deadline:
                assert self.proc is not None
                if self.proc.poll() is not None:
                    raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n{self.tail()}")
                try:
                    r = await client.get(self.url + "/readyz")
                    last = r.json()
                    counts = last.get("checks", {}).get("consumers", {})
                    if r.status_code == 200 and all(n >= self.workers for n in counts.values()):
                        return
                except (httpx.HTTPError, ValueError):
                    pass
                await asyncio.sleep(0.2)
        raise TimeoutError(f"{self.name} not ready after {timeout}s (last /readyz: {last}):\n{self.tail()}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, sig)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def kill(self) -> None:
        """kill -9 the whole process group (supervisor and workers)."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def tail(self, lines: int = 40) -> str:
        path = self.log_dir / f"{self.name}.{self.starts}.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""


@dataclass
class Event:
    routing_key: str
    message_id: str | None
    correlation_id: str | None
    body: dict[str, Any]
    persistent: bool
    received: float = field(default_factory=time.perf_counter)

    @property
    def type(self) -> str:
        return self.body["type"]

    @property
    def data(self) -> dict[str, Any]:
        return self.body["data"]


@dataclass
class EventWatcher:
    """Every event on ``meetdesk.events`` from the moment it starts, via an exclusive queue."""

    servers: Servers
    keys: tuple[str, ...] = ("#",)  # routing keys (event types) to watch
    events: list[Event] = field(default_factory=list)
    _conn: Any = None
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def start(self) -> None:
        self._conn = await aio_pika.connect(self.servers.amqp_url)
        ch = await self._conn.channel()
        await ch.set_qos(prefetch_count=1000)
        queue = await ch.declare_queue("", exclusive=True, auto_delete=True)
        for key in self.keys:
            await queue.bind(EVENTS, key)
        await queue.consume(self._on_message, no_ack=True)

    async def _on_message(self, msg: aio_pika.abc.AbstractIncomingMessage) -> None:
        self.events.append(
            Event(
                msg.routing_key or "",
                msg.message_id,
                msg.correlation_id,
                json.loads(msg.body),
                msg.delivery_mode == aio_pika.DeliveryMode.PERSISTENT,
            )
        )
        self._changed.set()

    async def stop(self) -> None:
        if self._conn:
            await self._conn.close()

    def matching(self, pred: Callable[[Event], bool]) -> list[Event]:
        return [e for e in self.events if pred(e)]

    async def wait_for(self, pred: Callable[[Event], bool], count: int = 1, timeout: float = 15.0) -> list[Event]:
        deadline = time.monotonic() + timeout
        while True:
            found = self.matching(pred)
            if len(found) >= count:
                return found
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                types = sorted({e.type for e in self.events})
                raise TimeoutError(f"saw {len(found)} of {count} expected events in {timeout}s; types seen: {types}")
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), timeout=min(remaining, 0.5))
            except TimeoutError:
                pass


class Publisher:
    """Publishes like another system would: persistent, with a message id, confirmed."""

    def __init__(self, servers: Servers, *, amqp_url: str | None = None):
        self.servers = servers
        self.amqp_url = amqp_url or servers.amqp_url  # another broker user's URL (see add_broker_user)
        self._conn: Any = None
        self._ch: Any = None

    async def start(self) -> None:
        self._conn = await aio_pika.connect(self.amqp_url)
        self._ch = await self._conn.channel()

    async def stop(self) -> None:
        await self._conn.close()

    async def publish(
        self,
        exchange: str,
        routing_key: str,
        body: bytes | dict[str, Any],
        *,
        message_id: str | None = None,
        correlation_id: str | None = None,
        content_type: str = "application/json",
        user_id: str | None = "",
    ) -> None:
        """``user_id``: the AMQP property (default: this connection's broker user, which RabbitMQ
        checks it against; None: without it)."""
        raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
        ex = await self._ch.get_exchange(exchange, ensure=False)
        await ex.publish(
            aio_pika.Message(
                raw,
                content_type=content_type,
                message_id=message_id,
                correlation_id=correlation_id,
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                user_id=broker_user_of(self.amqp_url) if user_id == "" else user_id,
            ),
            routing_key=routing_key,
        )

    async def command(self, command: str, /, *, user_id: str | None = "", **fields: Any) -> str:
        command_id = fields.pop("command_id", None) or str(uuid.uuid4())
        await self.publish(
            "meetdesk.commands",
            command,
            {"command_id": command_id, "actor": "test", **fields},
            message_id=command_id,
            user_id=user_id,
        )
        return command_id

    async def dead_letters(self, queue: str) -> list[aio_pika.abc.AbstractIncomingMessage]:
        """Drain a dead-letter queue (messages are acknowledged, i.e. removed)."""
        q = await self._ch.declare_queue(queue, passive=True)
        out = []
        while (m := await q.get(fail=False, no_ack=True)) is not None:
            out.append(m)
        return out


def broker_vhost(servers: Servers) -> str:
    """The virtual host of the tests' AMQP URL."""
    path = urlsplit(servers.amqp_url).path
    return unquote(path[1:]) if len(path) > 1 else "/"


def broker_url(servers: Servers, user: str, password: str) -> str:
    """The tests' AMQP URL (broker and vhost) as another user."""
    url = urlsplit(servers.amqp_url)
    return urlunsplit(url._replace(netloc=f"{quote(user)}:{quote(password)}@{url.hostname}:{url.port or 5672}"))


def rabbitmqctl(servers: Servers, *args: str, definitions: dict[str, Any] | None = None) -> None:
    """Run ``rabbitmqctl args`` on this machine or in the testcontainers broker; ``definitions``: a
    definitions document for ``import_definitions`` (given on standard input, or as a file in the
    container). Fails with the tool's output."""
    rabbit = next((c for c in servers._containers if "rabbit" in type(c).__name__.lower()), None)
    doc = json.dumps(definitions).encode() if definitions is not None else None
    if rabbit is not None:
        if doc is None:
            code, out = rabbit.exec(["rabbitmqctl", *args])
        else:  # the container's exec takes no standard input: hand the document over as a file
            b64 = base64.b64encode(doc).decode()
            script = f"echo {b64} | base64 -d > /tmp/defs.json && rabbitmqctl {' '.join(args)} /tmp/defs.json"
            code, out = rabbit.exec(["sh", "-c", script])
    else:
        tool = shutil.which("rabbitmqctl")
        assert tool, "rabbitmqctl is needed on this machine (or a testcontainers broker)"
        done = subprocess.run([tool, *args], input=doc, capture_output=True, timeout=120)
        code, out = done.returncode, done.stdout + done.stderr
    assert code == 0, f"rabbitmqctl {args[0]} failed: {out!r}"
