from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import pytest_asyncio

from .servers import Servers, resolve
from .system import (
    API_TOKEN,
    DB_PREFIX,
    ROLE_TOKENS,
    EventWatcher,
    Publisher,
    ServiceProcess,
    prepare_databases,
    reset_queues,
)

# Tests that read the whole shared system run first, before the other tests leave work in it: the month
# played through the system moves every clock to March 2027 (anything another test left pending would fall
# due in its month), and the console's tests look for their own items in the whole desk's queues.
FIRST = ("test_metrics_system_month.py", "test_console.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: i for i, name in enumerate(FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(FIRST)))  # stable: the rest keep their order


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
    clock_file: Path | None = None  # every service's clock offset (seconds), 0 unless a test moves it

    def url(self, service: str) -> str:
        return self.services[service].url

    @property
    def clock_offset(self) -> float:
        if self.clock_file is None or not self.clock_file.exists():
            return 0.0
        return float(self.clock_file.read_text().strip() or 0)

    def now(self) -> datetime:
        """The time the services read: the system clock plus the offset tests moved it by."""
        return datetime.now(UTC) + timedelta(seconds=self.clock_offset)

    async def move_clock(self, seconds: float) -> None:
        """Move every service's clock ``seconds`` forward (negative: back) from where it stands, and give
        them a moment to read it (a service re-reads the offset file at most every 50 ms; its scheduler
        looks for due items every second). Tests that move it put it back: ``reset_clock``."""
        assert self.clock_file is not None, "the services were started without a clock file"
        self.clock_file.write_text(f"{self.clock_offset + seconds}\n")
        await asyncio.sleep(0.2)

    async def reset_clock(self) -> None:
        if self.clock_offset:
            await self.move_clock(-self.clock_offset)

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
    clock_file = log_dir / "clock-offset"
    clock_file.write_text("0\n")
    await asyncio.to_thread(prepare_databases, servers)
    await reset_queues(servers)
    services = {
        name: ServiceProcess(
            name,
            servers,
            log_dir,
            workers={"booking": BOOKING_WORKERS, "intake": INTAKE_WORKERS}.get(name, 1),
            clock_file=clock_file,
            # tokens with roles besides the one ops token (not in service_env: a service given no
            # MEETDESK_API_TOKEN must still refuse to start, tests/integration/test_secrets.py)
            extra_env={"MEETDESK_API_TOKENS": json.dumps(ROLE_TOKENS)},
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
        yield System(servers, services, publisher, watcher, clock_file=clock_file)
    finally:
        await watcher.stop()
        if publisher._conn:
            await publisher.stop()
        for svc in services.values():
            svc.stop()
