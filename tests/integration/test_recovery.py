"""Recovery without help, with real processes: the broker or the database goes away (a TCP proxy
between the service and the real server drops every connection and refuses new ones) and comes back.

For these tests the system's booking and intake are replaced by processes that reach RabbitMQ and
PostgreSQL through proxies; the originals are started again afterwards.
"""

from __future__ import annotations

import asyncio
import signal
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import aio_pika
import httpx
import pytest
import pytest_asyncio

from shared.contract.events import BookingDetails, BookingRequested, make_event
from shared.topology import BOOKING_EVENTS, EVENTS

from ..conftest import System
from ..faults import TcpProxy
from ..servers import Servers
from ..system import ServiceProcess
from .builders import future_slot, unique_room

pytestmark = pytest.mark.integration


def _via(url: str, proxy: TcpProxy) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)
    host = f"127.0.0.1:{proxy.port}"
    return urlunsplit(parts._replace(netloc=f"{netloc[0]}@{host}" if len(netloc) == 2 else host))


@dataclass
class Proxied:
    system: System
    broker: TcpProxy
    database: TcpProxy
    servers: Servers
    log_dir: Path

    def process(self, name: str, **env: str) -> ServiceProcess:
        return ServiceProcess(name, self.servers, self.log_dir, extra_env=env)


@pytest_asyncio.fixture(scope="module")
async def proxies(system: System, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Proxied]:
    amqp = urlsplit(system.servers.amqp_url)
    pg = urlsplit(system.servers.pg_url)
    broker = await TcpProxy.open(amqp.hostname or "127.0.0.1", amqp.port or 5672)
    database = await TcpProxy.open(pg.hostname or "127.0.0.1", pg.port or 5432)
    servers = Servers(_via(system.servers.amqp_url, broker), _via(system.servers.pg_url, database), "proxied")
    for name in ("booking", "intake"):
        system.services[name].stop()
    try:
        yield Proxied(system, broker, database, servers, tmp_path_factory.mktemp("proxied"))
    finally:
        await broker.close()
        await database.close()
        for name in ("booking", "intake"):
            system.services[name].start()
        for name in ("booking", "intake"):
            await system.services[name].wait_ready()


@pytest_asyncio.fixture
async def proxied(proxies: Proxied) -> AsyncIterator[Proxied]:
    """The proxies, letting everything through at the start of each test."""
    proxies.broker.restore()
    proxies.database.restore()
    yield proxies
    proxies.broker.restore()
    proxies.database.restore()


async def _stop(process: ServiceProcess, timeout: float = 30.0) -> None:
    """Stop a proxied service without blocking the event loop: the proxies run on it, and the
    service's shutdown still talks to the database and broker through them."""
    await asyncio.to_thread(process.stop, signal.SIGTERM, timeout)


async def _room(system: System) -> str:
    room = unique_room()
    await system.publisher.command("rooms.upsert", room_id=room, name=room, capacity=30, equipment=["projector"])
    await system.watcher.wait_for(lambda e: e.type == "room.updated" and e.data["room_id"] == room)
    return room


async def _request(system: System, room: str, days: int, hour: int) -> str:
    """Publish booking.requested as intake would; returns its inquiry id."""
    start, end = future_slot(days=days, hour=hour, hours=1)
    inquiry_id = str(uuid.uuid4())
    data = BookingRequested(
        inquiry_id=inquiry_id,
        customer_id=str(uuid.uuid4()),
        channel="webform",
        language="en",
        meeting=BookingDetails(name="Recovery check", start=start, end=end, attendees=5, room_id=room),
    )
    env = make_event(data, producer="test", correlation_id=uuid.uuid4())
    await system.publisher.publish(EVENTS, env.type, env.to_bytes(), message_id=str(env.event_id))
    return inquiry_id


async def _answered(system: System, inquiry_ids: set[str], timeout: float) -> dict[str, set[str]]:
    await system.watcher.wait_for(
        lambda e: e.type in ("booking.confirmed", "booking.rejected") and e.data["inquiry_id"] in inquiry_ids,
        count=len(inquiry_ids),
        timeout=timeout,
    )
    await asyncio.sleep(1.0)  # a second answer would show up now
    out: dict[str, set[str]] = {i: set() for i in inquiry_ids}
    for e in system.watcher.matching(
        lambda e: e.type in ("booking.confirmed", "booking.rejected") and e.data["inquiry_id"] in inquiry_ids
    ):
        out[e.data["inquiry_id"]].add(e.body["event_id"])
    return out


async def _consumers(system: System, queue: str) -> int:
    conn = await aio_pika.connect(system.servers.amqp_url)
    try:
        channel = await conn.channel()
        return (await channel.declare_queue(queue, passive=True)).declaration_result.consumer_count
    finally:
        await conn.close()


async def test_consumers_come_back_after_the_broker_drops_every_connection(proxied: Proxied) -> None:
    system = proxied.system
    booking = proxied.process("booking")
    booking.start()
    try:
        await booking.wait_ready()
        room = await _room(system)
        before = await _request(system, room, days=40, hour=9)
        await _answered(system, {before}, timeout=20)

        proxied.broker.cut()  # every connection dropped, and none accepted for a while
        await asyncio.sleep(1.0)
        assert await _consumers(system, BOOKING_EVENTS.name) == 0
        during = await _request(system, room, days=40, hour=11)  # queued while nobody consumes
        await asyncio.sleep(4.0)
        proxied.broker.restore()
        back = time.monotonic()
        while await _consumers(system, BOOKING_EVENTS.name) == 0:
            assert time.monotonic() - back < 30, "consumers not back within 30 s of the broker's return"
            await asyncio.sleep(0.5)
        after = await _request(system, room, days=40, hour=14)
        answers = await _answered(system, {during, after}, timeout=30)
        assert all(len(ids) == 1 for ids in answers.values()), answers
        assert booking.proc is not None and booking.proc.poll() is None, "the service kept running"
    finally:
        await _stop(booking)


async def test_http_ingress_answers_503_while_the_broker_is_away(proxied: Proxied) -> None:
    system = proxied.system
    intake = proxied.process("intake")
    intake.start()
    form = {
        "kind": "inquiry",
        "submission_id": str(uuid.uuid4()),
        "submitted_at": "2026-12-01T09:00:00+08:00",
        "customer": {"name": "Chan", "email": "chan@example.com", "phone": None},
        "subject": "Parking",
        "text": "Is there parking at the venue?",
    }
    headers = {"Authorization": f"Bearer {system.token}"}
    try:
        await intake.wait_ready()
        proxied.broker.cut()
        async with httpx.AsyncClient(base_url=intake.url, timeout=30) as client:
            refused = await client.post("/inbound/webform", json=form, headers=headers)
            assert refused.status_code == 503, refused.text
            assert refused.headers.get("retry-after")
            proxied.broker.restore()
            deadline = time.monotonic() + 30
            while (accepted := await client.post("/inbound/webform", json=form, headers=headers)).status_code == 503:
                assert time.monotonic() < deadline, "still 503 30 s after the broker came back"
                await asyncio.sleep(0.5)
            assert accepted.status_code == 202, accepted.text
    finally:
        await _stop(intake)


async def test_a_database_outage_holds_messages_and_dead_letters_only_the_bad_one(proxied: Proxied) -> None:
    system = proxied.system
    booking = proxied.process("booking")
    booking.start()
    try:
        await booking.wait_ready()
        room = await _room(system)
        await system.publisher.dead_letters(BOOKING_EVENTS.dead_letter_queue)  # earlier tests' letters
        proxied.database.cut()
        good = {await _request(system, room, days=41, hour=8 + i) for i in range(10)}
        bad_id = str(uuid.uuid4())
        template = make_event(
            BookingRequested(
                inquiry_id="x",
                customer_id="c",
                channel="webform",
                language="en",
                meeting=BookingDetails(name="n", start=future_slot()[0], end=future_slot()[1], attendees=1),
            ),
            producer="test",
            correlation_id=uuid.uuid4(),
        )
        bad_body = template.model_copy(update={"data": {"inquiry_id": "x", "meeting": "not a meeting"}}).to_bytes()
        await system.publisher.publish(EVENTS, "booking.requested", bad_body, message_id=bad_id)
        await asyncio.sleep(10)  # well beyond what the old code survived (~7 s)
        proxied.database.restore()
        answers = await _answered(system, good, timeout=60)
        assert all(len(ids) == 1 for ids in answers.values()), "each answered exactly once"
        letters = await system.publisher.dead_letters(BOOKING_EVENTS.dead_letter_queue)
        assert [m.message_id for m in letters] == [bad_id], "only the bad message is dead-lettered, once"
        rejected = system.watcher.matching(
            lambda e: (
                e.type == "message.rejected"
                and e.data["message_id"] == bad_id
                and e.data["queue"] == BOOKING_EVENTS.name
            )  # (metrics refuses it too, in its own queue)
        )
        assert len({e.body["event_id"] for e in rejected}) == 1
        assert "booking.requested data invalid" in rejected[0].data["reason"]
        assert booking.proc is not None and booking.proc.poll() is None
    finally:
        await _stop(booking)


async def test_stopping_while_the_broker_is_away_does_not_hang(proxied: Proxied) -> None:
    booking = proxied.process("booking")
    booking.start()
    await booking.wait_ready()
    proxied.broker.cut()
    await asyncio.sleep(1.0)
    assert booking.proc is not None
    began = time.monotonic()
    await _stop(booking, timeout=60)
    took = time.monotonic() - began
    assert took < 15, f"stopping took {took:.1f} s with the broker away"
    # a clean stop: 0, or SIGTERM re-raised by uvicorn once it has shut down gracefully
    assert booking.proc.returncode in (0, -signal.SIGTERM), booking.tail()
    assert "service stopped" in booking.tail(80)


async def test_a_service_whose_consumers_do_not_come_back_exits_non_zero(proxied: Proxied) -> None:
    booking = proxied.process("booking", MEETDESK_CONSUMER_DEADLINE_SECONDS="4", MEETDESK_CONSUMER_CHECK_SECONDS="1")
    booking.start()
    await booking.wait_ready()
    proxied.broker.cut()  # and it stays away
    assert booking.proc is not None
    deadline = time.monotonic() + 40
    while booking.proc.poll() is None:
        assert time.monotonic() < deadline, "the service never gave up"
        await asyncio.sleep(0.5)
    assert booking.proc.returncode == 75, booking.tail()
    assert "consumers not back within the deadline" in booking.tail(80)
