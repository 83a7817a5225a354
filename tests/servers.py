"""Where the tests find RabbitMQ and PostgreSQL.

1. ``MEETDESK_TEST_AMQP_URL`` / ``MEETDESK_TEST_PG_URL`` when set (the PG URL names the server, no
   database: ``postgresql+asyncpg://postgres@127.0.0.1:5432``);
2. otherwise testcontainers, when a Docker engine answers;
3. otherwise the local defaults (127.0.0.1:5672 guest/guest, 127.0.0.1:5432 user postgres).

Whatever is chosen must answer: an unreachable server fails the run loudly, it never skips.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, field
from typing import Any

import aio_pika
import asyncpg
import pytest

LOCAL_AMQP = "amqp://guest:guest@127.0.0.1:5672/"
LOCAL_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432"


@dataclass
class Servers:
    amqp_url: str
    pg_url: str  # server only; append "/<database>"
    source: str
    _containers: list[Any] = field(default_factory=list)

    def database_url(self, name: str) -> str:
        return f"{self.pg_url.rstrip('/')}/{name}"

    def stop(self) -> None:
        for c in self._containers:
            c.stop()


def _docker_available() -> bool:
    try:
        import docker

        docker.from_env(timeout=3).ping()
        return True
    except Exception:
        return False


def _from_containers() -> Servers:
    from testcontainers.postgres import PostgresContainer
    from testcontainers.rabbitmq import RabbitMqContainer

    rabbit = RabbitMqContainer("rabbitmq:3.13").start()
    pg = PostgresContainer("postgres:16", driver="asyncpg").start()
    amqp = f"amqp://guest:guest@{rabbit.get_container_host_ip()}:{rabbit.get_exposed_port(5672)}/"
    url = pg.get_connection_url().rsplit("/", 1)[0]
    return Servers(amqp, url, "testcontainers", [rabbit, pg])


def resolve() -> Servers:
    amqp, pg = os.environ.get("MEETDESK_TEST_AMQP_URL"), os.environ.get("MEETDESK_TEST_PG_URL")
    if amqp or pg:
        servers = Servers(amqp or LOCAL_AMQP, pg or LOCAL_PG, "environment")
    elif _docker_available():
        servers = _from_containers()
    else:
        servers = Servers(LOCAL_AMQP, LOCAL_PG, "local defaults")
    asyncio.run(_check(servers))
    return servers


async def _check(servers: Servers) -> None:
    try:
        conn = await aio_pika.connect(servers.amqp_url, timeout=5)
        await conn.close()
    except Exception as exc:
        pytest.fail(f"RabbitMQ at {servers.amqp_url} ({servers.source}) is not reachable: {exc!r}", pytrace=False)
    dsn = servers.database_url("postgres").replace("+asyncpg", "")
    try:
        conn = await asyncpg.connect(dsn, timeout=5)
        await conn.close()
    except Exception as exc:
        pytest.fail(f"PostgreSQL at {servers.pg_url} ({servers.source}) is not reachable: {exc!r}", pytrace=False)
