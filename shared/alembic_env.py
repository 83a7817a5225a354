"""The body of every service's ``migrations/env.py`` (online, async, asyncpg)."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa
from alembic import context
from sqlalchemy.ext.asyncio import create_async_engine


def _do_run(connection: sa.Connection, metadata: sa.MetaData) -> None:
    context.configure(connection=connection, target_metadata=metadata, compare_type=True)
    with context.begin_transaction():
        # one migration run at a time per database, whatever number of jobs start together
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(7265776)"))
        context.run_migrations()


async def _run_async(metadata: sa.MetaData) -> None:
    url = context.config.get_main_option("sqlalchemy.url")
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            await conn.run_sync(_do_run, metadata)
            await conn.commit()
    finally:
        await engine.dispose()


def run_migrations(metadata: sa.MetaData) -> None:
    if context.is_offline_mode():
        context.configure(url=context.config.get_main_option("sqlalchemy.url"), target_metadata=metadata)
        with context.begin_transaction():
            context.run_migrations()
        return
    asyncio.run(_run_async(metadata))
