"""What an operator watches, on the real broker and database: every service answers ``/metrics`` with
the per-queue figures, a handled and a refused delivery move them, the figures of several worker
processes are the container's whatever worker answers the scrape, and every line a service process or a
migration job writes, on stdout and stderr, from start to SIGTERM, is one JSON object."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import aio_pika
import asyncpg
import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from shared.topology import BOOKING_EVENTS, COMPLAINTS_EVENTS, QUEUES

from ..conftest import BOOKING_WORKERS, System
from ..system import DB_PREFIX, PORT_BASE, ROOT, service_env

pytestmark = pytest.mark.integration

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def scrape(url: str) -> Samples:
    async with httpx.AsyncClient(timeout=10) as client:
        r = await client.get(url + "/metrics")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(r.text)
        for s in family.samples
    }


def sample(samples: Samples, name: str, **labels: str) -> float:
    key = (name, tuple(sorted(labels.items())))
    assert key in samples, f"{name}{labels} not exposed"
    return samples[key]


def per_queue(samples: Samples, queue: str) -> dict[str, float]:
    return {
        name: sample(samples, name, queue=queue)
        for name in (
            "meetdesk_messages_delivered_total",
            "meetdesk_messages_handled_total",
            "meetdesk_messages_failed_total",
            "meetdesk_messages_dead_lettered_total",
            "meetdesk_message_handling_seconds_count",
        )
    }


async def publish_to_queue(system: System, queue: str, bodies: list[bytes]) -> list[str]:
    """Straight into ``queue`` (the default exchange), as a misbehaving producer might; the message ids."""
    ids = []
    conn = await aio_pika.connect(system.servers.amqp_url)
    try:
        ch = await conn.channel()
        for body in bodies:
            ids.append(str(uuid.uuid4()))
            await ch.default_exchange.publish(
                aio_pika.Message(
                    body,
                    message_id=ids[-1],
                    content_type="application/json",
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                ),
                routing_key=queue,
            )
    finally:
        await conn.close()
    return ids


async def wait_for_counts(url: str, queue: str, want: dict[str, float], timeout: float = 20.0) -> dict[str, float]:
    deadline = time.monotonic() + timeout
    while True:
        now = per_queue(await scrape(url), queue)
        if all(now[k] >= v for k, v in want.items()) or time.monotonic() > deadline:
            return now
        await asyncio.sleep(0.2)


def an_event_nobody_here_handles() -> bytes:
    return json.dumps(
        {
            "event_id": str(uuid.uuid4()),
            "type": "observability.probe",
            "occurred_at": datetime.now(UTC).isoformat(),
            "producer": "tests",
            "correlation_id": str(uuid.uuid4()),
            "data": {},
        }
    ).encode()


async def test_every_service_answers_metrics_with_its_queues_consumers_outbox_and_due_items(system: System):
    for name, svc in system.services.items():
        samples = await scrape(svc.url)
        for spec in (q for q in QUEUES if q.service == name):
            per_queue(samples, spec.name)  # every series exists, also before the first delivery
            assert sample(samples, "meetdesk_queue_consumers", queue=spec.name) >= svc.workers, (name, spec.name)
            assert sample(samples, "meetdesk_queue_messages_ready", queue=spec.name) >= 0
        assert sample(samples, "meetdesk_outbox_backlog") >= 0, name
        assert sample(samples, "meetdesk_outbox_oldest_age_seconds") >= 0, name
        assert ("meetdesk_outbox_published_total", ()) in samples, name
        assert ("meetdesk_due_items_overdue", ()) in samples or name in ("intake", "metrics"), name


async def test_a_handled_and_a_refused_delivery_move_the_queue_figures_by_exactly_one_each(system: System):
    """complaints (one process): an event it takes no interest in is handled (acknowledged), a body that
    is not JSON is dead-lettered; its /metrics shows both on complaints.events, and nothing else."""
    url, queue = system.url("complaints"), COMPLAINTS_EVENTS.name
    before = per_queue(await scrape(url), queue)
    _, bad = await publish_to_queue(system, queue, [an_event_nobody_here_handles(), b"{not json"])
    after = await wait_for_counts(
        url,
        queue,
        {
            "meetdesk_messages_handled_total": before["meetdesk_messages_handled_total"] + 1,
            "meetdesk_messages_dead_lettered_total": before["meetdesk_messages_dead_lettered_total"] + 1,
        },
    )
    await asyncio.sleep(0.3)  # anything counted twice would show now
    after = per_queue(samples := await scrape(url), queue)
    assert {k: after[k] - before[k] for k in after} == {
        "meetdesk_messages_delivered_total": 2,
        "meetdesk_messages_handled_total": 1,
        "meetdesk_messages_failed_total": 0,
        "meetdesk_messages_dead_lettered_total": 1,
        "meetdesk_message_handling_seconds_count": 2,
    }
    assert sample(samples, "meetdesk_queue_consumers", queue=queue) == 1
    assert sample(samples, "meetdesk_outbox_backlog") >= 0
    letters = await system.publisher.dead_letters(COMPLAINTS_EVENTS.dead_letter_queue)
    assert bad in [m.message_id for m in letters]


async def test_with_several_workers_every_scrape_shows_the_figures_of_all_of_them(system: System):
    """booking runs three worker processes on one port: whichever answers, the scrape shows the
    deliveries all three took (prometheus_client's multiprocess mode), and the three consumers."""
    url, queue = system.url("booking"), BOOKING_EVENTS.name
    before = per_queue(await scrape(url), queue)
    sent = 9
    ids = await publish_to_queue(system, queue, [b"[not json" for _ in range(sent)])
    want = before["meetdesk_messages_dead_lettered_total"] + sent
    await wait_for_counts(url, queue, {"meetdesk_messages_dead_lettered_total": want})
    seen = set()
    for _ in range(6):  # the kernel hands each connection to one of the workers
        samples = await scrape(url)
        seen.add(
            sample(samples, "meetdesk_messages_dead_lettered_total", queue=queue)
            - before["meetdesk_messages_dead_lettered_total"]
        )
        assert sample(samples, "meetdesk_queue_consumers", queue=queue) == BOOKING_WORKERS
    assert seen == {sent}
    letters = await system.publisher.dead_letters(BOOKING_EVENTS.dead_letter_queue)
    assert set(ids) <= {m.message_id for m in letters}


def assert_every_line_is_json(*outputs: tuple[str, str]) -> list[dict]:
    records, plain = [], []
    for stream, text in outputs:
        for line in text.splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                plain.append(f"{stream}: {line}")
                continue
            if not isinstance(record, dict) or not {"event", "level", "timestamp"} <= record.keys():
                plain.append(f"{stream}: {line}")
            else:
                records.append(record)
    assert not plain, "lines that are not JSON log records:\n" + "\n".join(plain[:20])
    assert records, "nothing was logged"
    return records


@pytest.mark.parametrize("workers", [1, 2])
async def test_every_line_a_service_writes_from_start_to_sigterm_is_json(system: System, tmp_path: Path, workers: int):
    """metrics started as compose starts it (``faststream run ... --workers N``) as one more replica of
    the running one: start, a request, SIGTERM; stdout and stderr read separately."""
    port = PORT_BASE + 10 + workers
    out, err = tmp_path / "stdout", tmp_path / "stderr"
    env = service_env(system.servers, "metrics", clock_file=system.clock_file) | {"MEETDESK_HTTP_PORT": str(port)}
    cmd = [
        str(Path(sys.executable).with_name("faststream")),
        "run",
        "services.metrics.main:app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]
    with out.open("wb") as stdout, err.open("wb") as stderr:
        proc = await asyncio.create_subprocess_exec(
            *cmd, env=env, cwd=ROOT, stdout=stdout, stderr=stderr, start_new_session=True
        )
    try:
        deadline = time.monotonic() + 60
        async with httpx.AsyncClient(timeout=2) as client:
            while True:
                assert proc.returncode is None, f"exited with {proc.returncode}: {err.read_text()[-2000:]}"
                try:
                    if (await client.get(f"http://127.0.0.1:{port}/readyz")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, "not ready in 60 s"
                await asyncio.sleep(0.2)
            assert (await client.get(f"http://127.0.0.1:{port}/metrics")).status_code == 200
            assert (await client.get(f"http://127.0.0.1:{port}/no-such-page")).status_code == 404
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        code = await asyncio.wait_for(proc.wait(), 30)
    assert code in (0, -signal.SIGTERM)  # uvicorn re-raises the signal once it has shut down gracefully
    records = assert_every_line_is_json(("stdout", out.read_text()), ("stderr", err.read_text()))
    events = [r["event"] for r in records]
    # the lines uvicorn writes before the application exists, and the last ones, are among them
    assert any(e.startswith("Started server process") for e in events)
    assert "Waiting for application startup." in events
    assert events.count("service started") == workers and events.count("service stopped") == workers
    if workers > 1:
        assert any(e.startswith("Started parent process") for e in events)
        assert any(e.startswith("Stopping parent process") for e in events)
    assert {r.get("service") for r in records} == {"metrics"}


async def test_every_line_a_migration_job_writes_is_json(system: System):
    """``python -m shared.migrate`` as the compose job runs it, on a database of its own from nothing."""
    name = f"{DB_PREFIX}observability_migrate"
    url = system.servers.database_url(name)
    admin_dsn = system.servers.database_url("postgres").replace("+asyncpg", "")

    async def drop() -> None:
        admin = await asyncpg.connect(admin_dsn)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()

    await drop()
    try:
        env = service_env(system.servers, "complaints") | {"MEETDESK_DATABASE_URL": url}
        done = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "shared.migrate", "complaints"],
            env=env,
            cwd=ROOT,
            capture_output=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr.decode()[-2000:]
        records = assert_every_line_is_json(("stdout", done.stdout.decode()), ("stderr", done.stderr.decode()))
        events = [r["event"] for r in records]
        assert any(e.startswith("Running upgrade") for e in events)  # alembic's own lines
        assert events[-1] == "migrations at head"
        assert {r["service"] for r in records} == {"complaints-migrate"}
    finally:
        await drop()
