"""Database helpers: engines, the outbox and inbox tables every service owns, database creation."""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

import asyncpg
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt, wait_random_exponential

from .logs import get_logger
from .observability import DB_RETRIES

log = get_logger(__name__)


def make_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    # no pool_pre_ping: it costs three round trips per checkout; a dropped connection fails the
    # transaction, which the dispatcher retries (and the pool replaces the connection)
    return create_async_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_recycle=1800)


def make_sessionmaker(engine: AsyncEngine) -> Callable[[], AsyncConnection]:
    """Connections, not ORM sessions: every query here is SQLAlchemy Core, and a plain
    ``AsyncConnection`` costs noticeably less per statement than an ``AsyncSession``."""
    return engine.connect


def outbox_columns() -> list[sa.Column]:
    """Events waiting to be relayed; a row is deleted once the broker has confirmed it."""
    return [
        sa.Column("seq", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("event_id", pg.UUID(as_uuid=True), nullable=False, unique=True),
        sa.Column("exchange", sa.Text, nullable=False),
        sa.Column("routing_key", sa.Text, nullable=False),
        sa.Column("message_type", sa.Text, nullable=False),
        sa.Column("correlation_id", sa.Text, nullable=False),
        sa.Column("body", sa.LargeBinary, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    ]


def inbox_columns() -> list[sa.Column]:
    """Ids of messages already processed: the second delivery of one is acknowledged and skipped."""
    return [
        sa.Column("message_id", sa.Text, primary_key=True),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    ]


def add_messaging_tables(metadata: sa.MetaData) -> tuple[sa.Table, sa.Table]:
    return (
        sa.Table("outbox", metadata, *outbox_columns()),
        sa.Table("inbox", metadata, *inbox_columns()),
    )


def command_outcomes_table(metadata: sa.MetaData) -> sa.Table:
    """The answer given to each command posted over HTTP (``shared.commands_http``; a repeated POST
    gets it again). Each service that serves commands over HTTP creates it in a migration."""
    return sa.Table(
        "command_outcomes",
        metadata,
        sa.Column("command_id", sa.Text, primary_key=True),
        sa.Column("command", sa.Text, nullable=False),
        sa.Column("refusal", sa.Text),
        sa.Column("events", pg.JSONB, nullable=False, server_default="[]"),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )


def asyncpg_dsn(url: str) -> str:
    """The SQLAlchemy URL as a plain libpq/asyncpg DSN."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def create_database_if_missing(url: str) -> bool:
    """Create the database named in ``url`` (connecting to the ``postgres`` database). True if created."""
    parsed = make_url(url)
    name = parsed.database
    admin = parsed.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    conn = await asyncpg.connect(admin)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if exists:
            return False
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        except asyncpg.DuplicateDatabaseError:  # a concurrent migration job won the race
            return False
        return True
    finally:
        await conn.close()


RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})  # deadlock, serialization failure


class RetryTransaction(Exception):
    """Raised inside a transaction that lost a race it can win on a second run (bounded)."""


def _sqlstate(exc: BaseException | None) -> str | None:
    orig = getattr(exc, "orig", None)
    return getattr(getattr(orig, "__cause__", None), "sqlstate", None) or getattr(orig, "sqlstate", None)


def _is_retryable(exc: BaseException) -> bool:
    if isinstance(exc, RetryTransaction):
        return True
    return _sqlstate(exc) in RETRYABLE_SQLSTATES


def db_retry(attempts: int = 5) -> AsyncRetrying:
    """``async for attempt in db_retry(): with attempt: ...`` — rerun a transaction that lost a
    deadlock or serialization race (bounded, with jitter); other errors pass straight through."""
    return AsyncRetrying(
        retry=retry_if_exception(_is_retryable),
        stop=stop_after_attempt(attempts),
        wait=wait_random_exponential(multiplier=0.02, max=0.5),
        before_sleep=_log_retry,
        reraise=True,
    )


def _log_retry(state: RetryCallState) -> None:
    exc = state.outcome.exception() if state.outcome else None
    reason = _sqlstate(exc) or type(exc).__name__
    DB_RETRIES.labels(reason).inc()
    log.info(
        "transaction lost a race; running it again",
        attempt=state.attempt_number,
        reason=reason,
        wait_ms=round(1000 * (state.next_action.sleep if state.next_action else 0)),
    )


async def driver_connection(conn: AsyncConnection) -> asyncpg.Connection:
    """The asyncpg connection under ``conn``, *inside* its transaction, for hot paths where
    SQLAlchemy's per-statement cost matters. SQLAlchemy opens the database transaction lazily, on its
    first statement; a raw statement before that would run outside it (autocommitted, surviving a
    rollback), so the transaction is started here first, once per transaction."""
    trans = conn.sync_connection.get_transaction() if conn.sync_connection else None
    if trans is None:
        raise RuntimeError("driver_connection() needs a connection inside a transaction")
    if trans not in _DRIVER_STARTED:
        await conn.execute(sa.text("SELECT 1"))
        _DRIVER_STARTED.add(trans)
    raw = await conn.get_raw_connection()
    return raw.driver_connection  # type: ignore[return-value]


_DRIVER_STARTED: weakref.WeakSet[Any] = weakref.WeakSet()
