"""Least privilege on the real broker and database: each service's RabbitMQ user (permissions derived
from the topology, shared/access.py, imported as a definitions document like the compose broker's)
may do what its service needs and nothing else, and each service's PostgreSQL role opens only its
own database. (A command from a broker user without the role is refused with ``command.rejected`` and
changes nothing: tests/integration/test_authz.py.)"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator

import aio_pika
import aiormq
import asyncpg
import pytest
import pytest_asyncio
from sqlalchemy.engine import make_url

from shared.access import broker_user, database_role, definitions, setup_database
from shared.migrate import migrate
from shared.topology import COMMANDS, DLX, EXCHANGES, PUBLISHES, QUEUES, SERVICES

from ..conftest import System
from ..servers import Servers
from ..system import DB_PREFIX, Publisher, broker_url, broker_vhost, rabbitmqctl
from .builders import booking_form, future_slot, unique_room

pytestmark = pytest.mark.integration

PREFIX = f"{DB_PREFIX}lp-"  # users are broker-wide: this run's own, deleted at the end


@pytest.fixture(scope="module")
def service_users(servers: Servers) -> Iterator[dict[str, str]]:
    """Every service's broker user with its permissions in the tests' vhost, set up as the compose
    broker's definitions file does (``tools/access.py broker``): service → its AMQP URL."""
    passwords = {service: uuid.uuid4().hex for service in SERVICES}
    doc = definitions(passwords, vhost=broker_vhost(servers), prefix=PREFIX, topology=False)
    rabbitmqctl(servers, "import_definitions", definitions=doc)
    try:
        yield {s: broker_url(servers, broker_user(s, PREFIX), passwords[s]) for s in SERVICES}
    finally:
        for service in SERVICES:
            rabbitmqctl(servers, "delete_user", broker_user(service, PREFIX))


async def _refused(url: str, action: str, name: str) -> str | None:
    """Try one thing as the user of ``url`` on its own channel: None when the broker allows it, else
    the broker's refusal (ACCESS_REFUSED closes the channel)."""
    conn = await aio_pika.connect(url)
    try:
        channel = await conn.channel(publisher_confirms=True)
        try:
            if action == "read":
                queue = await channel.get_queue(name, ensure=False)
                await queue.get(fail=False)
            elif action == "purge":
                await (await channel.get_queue(name, ensure=False)).purge()
            else:  # write: a message nothing is bound to take (its route is unmatched), confirmed
                exchange = await channel.get_exchange(name, ensure=False)
                await exchange.publish(aio_pika.Message(b"{}"), routing_key="least-privilege.nowhere")
        except aiormq.exceptions.ChannelAccessRefused as exc:
            return str(exc)
        return None
    finally:
        await conn.close()


async def test_a_service_user_cannot_read_another_services_queue_nor_publish_to_an_exchange_it_does_not_own(
    system: System, service_users: dict[str, str]
) -> None:
    booking = service_users["booking"]
    refusal = await _refused(booking, "read", "complaints.events")
    assert refusal is not None and "ACCESS_REFUSED" in refusal and "complaints.events" in refusal
    assert await _refused(booking, "purge", "intake.inbound") is not None
    assert await _refused(booking, "write", COMMANDS) is not None, "booking sends no commands"
    assert await _refused(service_users["metrics"], "read", "booking.commands") is not None

    for service, url in service_users.items():
        others = [q.name for q in QUEUES if q.service != service] + [q.dead_letter_queue for q in QUEUES]
        not_owned = [name for name in EXCHANGES if name not in PUBLISHES[service]]
        results = await asyncio.gather(
            *(_refused(url, "read", q) for q in others), *(_refused(url, "write", x) for x in not_owned)
        )
        allowed = [name for name, result in zip([*others, *not_owned], results, strict=True) if result is None]
        assert allowed == [], f"{service}'s user may touch {allowed}"
        # and it may write what its service writes (its consuming: the next test, on a running service)
        assert await _refused(url, "write", DLX) is None, f"{service} dead-letters to the DLX"


@pytest_asyncio.fixture
async def booking_as_its_own_user(system: System, service_users: dict[str, str]) -> AsyncIterator[None]:
    """The tests' booking service restarted as its own broker user (one worker), and back afterwards."""
    svc = system.services["booking"]
    workers = svc.workers
    await asyncio.to_thread(svc.stop)
    svc.workers, svc.extra_env = 1, svc.extra_env | {"MEETDESK_AMQP_URL": service_users["booking"]}
    try:
        svc.start()
        await svc.wait_ready()
        yield
    finally:
        await asyncio.to_thread(svc.stop)
        svc.workers = workers
        svc.extra_env = {k: v for k, v in svc.extra_env.items() if k != "MEETDESK_AMQP_URL"}
        svc.start()
        await svc.wait_ready()


async def test_a_service_running_as_its_own_user_handles_its_messages_and_takes_intakes_commands_as_an_agents(
    system: System, service_users: dict[str, str], booking_as_its_own_user: None
) -> None:
    room = unique_room()
    await system.publisher.command("rooms.upsert", room_id=room, name=room, capacity=20, equipment=["projector"])
    await system.watcher.wait_for(lambda e: e.type == "room.updated" and e.data["room_id"] == room)
    start, end = future_slot(days=40)
    form = booking_form(room_id=room, start=start, end=end, equipment=["projector"])
    await system.publisher.publish("meetdesk.inbound", "webform", form, message_id=form["submission_id"])
    (inquiry,) = await system.watcher.wait_for(
        lambda e: e.type == "inquiry.received" and e.data["source_ref"] == form["submission_id"]
    )
    (confirmed,) = await system.watcher.wait_for(
        lambda e: e.type == "booking.confirmed" and e.data["inquiry_id"] == inquiry.data["inquiry_id"]
    )

    intake = Publisher(system.servers, amqp_url=service_users["intake"])  # commands as intake sends them
    await intake.start()
    try:
        cancel = await intake.command("booking.cancel", actor="customer", booking_id=confirmed.data["booking_id"])
        rooms = await intake.command("rooms.upsert", actor="customer", room_id=room, name="taken over", capacity=1)
    finally:
        await intake.stop()
    (cancelled,) = await system.watcher.wait_for(
        lambda e: e.type == "booking.cancelled" and e.data["booking_id"] == confirmed.data["booking_id"]
    )
    assert cancelled.data["actor"] == "customer", "intake's user names the actor it acts for"
    (refused,) = await system.watcher.wait_for(lambda e: e.type == "command.rejected" and e.data["command_id"] == rooms)
    assert refused.data["reason"] == "forbidden: meetdesk (role agent) may not run rooms.upsert: it needs ops"
    assert not system.watcher.matching(lambda e: e.type == "command.rejected" and e.data["command_id"] == cancel)
    rows = await system.query("booking", "SELECT name, capacity FROM rooms WHERE room_id = $1", room)
    assert [(r["name"], r["capacity"]) for r in rows] == [(room, 20)]


async def test_a_service_database_role_owns_its_database_and_cannot_open_another_services(
    servers: Servers,
) -> None:
    admin_url = servers.database_url("postgres").replace("+asyncpg", "")
    prefix = f"{DB_PREFIX}lp_"
    databases = {s: f"{prefix}{s}" for s in ("intake", "booking")}
    # intake's database exists already, made by the postgres user (an existing deployment); booking's is new
    admin = await asyncpg.connect(admin_url)
    try:
        for name in databases.values():
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()
    await asyncio.to_thread(migrate, "intake", servers.database_url(databases["intake"]))
    passwords = {service: uuid.uuid4().hex for service in databases}
    try:
        for service, name in databases.items():
            await setup_database(admin_url, service, passwords[service], prefix=prefix, database=name)

        def as_role(service: str, database: str) -> str:  # asyncpg's form of the URL
            url = make_url(servers.database_url(database)).set(drivername="postgresql")
            url = url.set(username=database_role(service, prefix), password=passwords[service])
            return url.render_as_string(hide_password=False)

        # booking's role migrates its own new database itself (the btree_gist extension included)
        await asyncio.to_thread(
            migrate, "booking", as_role("booking", databases["booking"]).replace("postgresql:", "postgresql+asyncpg:")
        )
        own = await asyncpg.connect(as_role("intake", databases["intake"]))
        try:
            not_owned = await own.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tableowner <> current_user"
            )
            assert not_owned == [], "the tables made by postgres were handed over to the role"
        finally:
            await own.close()
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="permission denied for database"):
            await asyncpg.connect(as_role("booking", databases["intake"]))
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="permission denied for database"):
            await asyncpg.connect(as_role("intake", databases["booking"]))
    finally:
        admin = await asyncpg.connect(admin_url)
        try:
            for name in databases.values():
                await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            for service in databases:
                await admin.execute(f'DROP ROLE IF EXISTS "{database_role(service, prefix)}"')
        finally:
            await admin.close()
