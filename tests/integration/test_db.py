"""Database helpers against the real PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import asyncpg
import pytest
import sqlalchemy as sa

from shared.db import driver_connection, make_engine, make_sessionmaker
from shared.migrate import migrate
from shared.outbox import Outbox

from ..servers import Servers

pytestmark = pytest.mark.integration


async def test_raw_statements_share_the_transaction_and_its_rollback(servers: Servers) -> None:
    engine = make_engine(servers.database_url("postgres"))
    try:
        async with engine.connect() as conn:
            await conn.execute(sa.text("CREATE TEMP TABLE raw_tx (x int)"))
            await conn.commit()
            for _ in range(2):  # twice: the second transaction on the same pooled connection too
                with pytest.raises(RuntimeError):
                    async with conn.begin():
                        pg = await driver_connection(conn)
                        await pg.execute("INSERT INTO raw_tx VALUES (1)")
                        raise RuntimeError("roll back")
            async with conn.begin():
                pg = await driver_connection(conn)
                await pg.execute("INSERT INTO raw_tx VALUES (2)")
            async with conn.begin():
                rows = (await conn.execute(sa.text("SELECT x FROM raw_tx"))).scalars().all()
        assert rows == [2], "rolled-back raw inserts must be gone, the committed one kept"
    finally:
        await engine.dispose()


async def test_inbox_pruning_forgets_old_ids_but_keeps_count_once_keys(servers: Servers) -> None:
    url = servers.database_url("meetdesk_test_inbox_prune")
    admin = await asyncpg.connect(servers.database_url("postgres").replace("+asyncpg", ""))
    await admin.execute('DROP DATABASE IF EXISTS "meetdesk_test_inbox_prune" WITH (FORCE)')
    await admin.close()
    await asyncio.to_thread(migrate, "metrics", url)
    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                sa.text(
                    "INSERT INTO inbox (message_id, processed_at) VALUES "
                    "('event:old', now() - interval '40 days'), ('command:old', now() - interval '31 days'), "
                    "('once:series-1', now() - interval '400 days'), ('event:new', now() - interval '1 day')"
                )
            )
        outbox = Outbox(make_sessionmaker(engine), servers.amqp_url, batch=10, poll=1.0)
        removed = await outbox.prune_inbox(timedelta(days=30), batch=1)
        async with engine.connect() as conn:
            left = (await conn.execute(sa.text("SELECT message_id FROM inbox ORDER BY 1"))).scalars().all()
        assert removed == 2
        assert left == ["event:new", "once:series-1"]
    finally:
        await engine.dispose()
