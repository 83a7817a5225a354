from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import pytest_asyncio

from .servers import Servers, resolve
from .system import (
    API_TOKEN,
    DB_PREFIX,
    EventWatcher,
    Publisher,
    ServiceProcess,
    prepare_databases,
    reset_queues,
)


@pytest.fixture(scope="session")
def servers() -> Iterator[Servers]:
    s = resolve()
    yield s
    s.stop()


@dataclass
class System:
    servers: Servers
    services: dict[str, ServiceProcess]
    publisher: Publisher
    watcher: EventWatcher
    token: str = API_TOKEN

    def url(self, service: str) -> str:
        return self.services[service].url

    async def query(self, service: str, sql: str, *args: Any) -> list[asyncpg.Record]:
        """Read a service's own database, as its operator would, to check what it stored."""
        dsn = self.servers.database_url(DB_PREFIX + service).replace("+asyncpg", "")
        conn = await asyncpg.connect(dsn)
        try:
            return await conn.fetch(sql, *args)
        finally:
            await conn.close()


BOOKING_WORKERS = 3
INTAKE_WORKERS = 2  # the same delivery twice must be one inquiry across replicas too


@pytest_asyncio.fixture(scope="session")
async def system(servers: Servers, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[System]:
    """The four services as real processes (booking with three workers), fresh databases."""
    log_dir: Path = tmp_path_factory.mktemp("service-logs")
    await asyncio.to_thread(prepare_databases, servers)
    await reset_queues(servers)
    services = {
        name: ServiceProcess(
            name, servers, log_dir, workers={"booking": BOOKING_WORKERS, "intake": INTAKE_WORKERS}.get(name, 1)
        )
        for name in ("intake", "booking", "complaints", "metrics")
    }
    watcher = EventWatcher(servers)
    publisher = Publisher(servers)
    try:
        for svc in services.values():
            svc.start()
        for svc in services.values():
            await svc.wait_ready()
        await watcher.start()
        await publisher.start()
        yield System(servers, services, publisher, watcher)
    finally:
        await watcher.stop()
        if publisher._conn:
            await publisher.stop()
        for svc in services.values():
            svc.stop()
