"""Database helpers against the real PostgreSQL."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from shared.db import driver_connection, make_engine

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
