"""Transactional outbox and inbox.

A handler opens :meth:`Outbox.transaction`, claims the incoming message id in the inbox (a second
delivery of the same message finds it claimed and changes nothing), changes state and emits events;
state, inbox row and outbox rows commit together. The relay then publishes committed events with
publisher confirms (many in flight at once, on the relay's own AMQP channel rather than through
FastStream's publisher, which costs several times more per message), ``message_id`` = ``event_id``,
persistent, and deletes their rows.

Two paths relay. The fast one publishes what this process has just committed straight from memory
(no read-back of the rows) and then deletes the rows by event id. The sweep publishes rows that are
older than a grace period — left by a process that died between commit and publish, or by a
publish that failed — leasing them with ``FOR UPDATE SKIP LOCKED`` so any number of replicas can
sweep. A crash between publish and delete, or a fast path slower than the grace period, republishes
the same event id, which consumers' inboxes absorb.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, NamedTuple

import aio_pika
import aiormq
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from .contract.events import Envelope
from .db import add_messaging_tables, driver_connection
from .logs import get_logger
from .topology import EVENTS

log = get_logger(__name__)

OUTBOX, INBOX = add_messaging_tables(sa.MetaData())


class Pending(NamedTuple):
    """An event as written to the outbox and published."""

    event_id: Any  # uuid.UUID
    exchange: str
    routing_key: str
    message_type: str
    correlation_id: str
    body: bytes


def outbox_rows(emitted: list[tuple[Envelope, str]]) -> list[Pending]:
    """The outbox rows for emitted (event, exchange) pairs: routing key and AMQP type = event type."""
    return [
        Pending(env.event_id, exchange, env.type, env.type, str(env.correlation_id), env.to_bytes())
        for env, exchange in emitted
    ]


@dataclass
class Tx:
    """One unit of work: a session inside a transaction, plus the events it will emit."""

    session: AsyncConnection
    emitted: list[tuple[Envelope, str]] = field(default_factory=list)
    written: list[Pending] = field(default_factory=list)

    async def claim(self, message_id: str) -> bool:
        """Record ``message_id`` as processed; False if it already was (a duplicate delivery)."""
        stmt = (
            pg_insert(INBOX)
            .values(message_id=message_id)
            .on_conflict_do_nothing(index_elements=["message_id"])
            .returning(INBOX.c.message_id)
        )
        return (await self.session.execute(stmt)).first() is not None

    def emit(self, envelope: Envelope, *, exchange: str = EVENTS) -> None:
        """Queue an event; it is written to the outbox in this transaction."""
        self.emitted.append((envelope, exchange))

    async def flush_events(self) -> None:
        if not self.emitted:
            return
        self.written = outbox_rows(self.emitted)
        pg = await driver_connection(self.session)
        await pg.execute(
            """INSERT INTO outbox (event_id, exchange, routing_key, message_type, correlation_id, body)
               SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bytea[])""",
            *(list(column) for column in zip(*self.written, strict=True)),
        )


class Outbox:
    def __init__(
        self,
        sessions: Callable[[], AsyncConnection],
        amqp_url: str,
        *,
        batch: int,
        poll: float,
        app_id: str = "",
        retention: timedelta | None = None,
        sweep_after: float = 10.0,
    ):
        self._sessions = sessions
        self._amqp_url = amqp_url
        self._app_id = app_id
        self._retention = retention
        self._connection: aio_pika.abc.AbstractRobustConnection | None = None
        self._channel: aio_pika.abc.AbstractChannel | None = None
        self._batch = batch
        self._poll = poll
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._fresh: list[Pending] = []  # committed by this process, not yet published
        self._sweep_after = sweep_after
        self.published = 0

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        async with self._sessions() as session, session.begin():
            tx = Tx(session)
            yield tx
            await tx.flush_events()
        if tx.written:  # committed: publish straight away
            self._fresh.extend(tx.written)
            self._wake.set()

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def stop(self) -> None:
        """Stop relaying, after publishing what was committed before (best effort: what is left
        stays in the table for the next sweep, by this service's next start or another replica)."""
        self._stopping = True
        self._wake.set()
        if self._task:
            try:
                await asyncio.wait_for(self._task, timeout=10)
            except (TimeoutError, asyncio.CancelledError):
                self._task.cancel()
        try:
            await asyncio.wait_for(self._drain(), timeout=10)
        except Exception:
            log.warning("outbox not drained on shutdown; the rows stay for the next sweep", exc_info=True)
        if self._connection is not None:
            await self._connection.close()

    async def _drain(self) -> None:
        while self._fresh:
            await self.relay_fresh()
        while await self.relay_once() >= self._batch:
            pass

    async def _run(self) -> None:
        next_prune = next_sweep = 0.0
        while not self._stopping:
            if self._retention is not None and time.monotonic() >= next_prune:
                next_prune = time.monotonic() + 3600
                try:
                    if removed := await self.prune_inbox(self._retention):
                        log.info("inbox pruned", removed=removed)
                except Exception:
                    log.warning("inbox pruning failed; will try again in an hour", exc_info=True)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._poll)
            self._wake.clear()
            try:
                while self._fresh and not self._stopping:
                    await self.relay_fresh()
                if time.monotonic() >= next_sweep:
                    next_sweep = time.monotonic() + self._poll
                    while not self._stopping and await self.relay_once(self._sweep_after) >= self._batch:
                        pass
            except Exception:  # broker or database away: keep the rows, try again on the next tick
                log.warning("outbox relay failed; will retry", exc_info=True)
                await asyncio.sleep(self._poll)

    async def prune_inbox(self, older_than: timedelta, *, batch: int = 10_000) -> int:
        """Forget processed message ids older than ``older_than`` (a redelivery comes within minutes,
        a republished event within the relay's retry). ``once:`` keys (facts that must count once
        for ever) are kept. Deletes in bounded batches; returns how many rows went."""
        removed = 0
        while True:
            async with self._sessions() as session, session.begin():
                result = await session.execute(
                    sa.text(
                        "DELETE FROM inbox WHERE ctid IN (SELECT ctid FROM inbox"
                        " WHERE processed_at < now() - CAST(:age AS interval)"
                        " AND message_id NOT LIKE 'once:%' LIMIT :n)"
                    ),
                    {"age": older_than, "n": batch},
                )
            removed += result.rowcount or 0
            if (result.rowcount or 0) < batch:
                return removed

    async def relay_fresh(self) -> int:
        """Publish one batch of the events this process committed, then delete their rows. On a
        failure the rows stay and the sweep publishes them after the grace period."""
        batch, self._fresh = self._fresh[: self._batch], self._fresh[self._batch :]
        if not batch:
            return 0
        await asyncio.gather(*(self._publish(p) for p in batch))
        async with self._sessions() as session, session.begin():
            pg = await driver_connection(session)
            await pg.execute("DELETE FROM outbox WHERE event_id = ANY($1::uuid[])", [p.event_id for p in batch])
        self.published += len(batch)
        return len(batch)

    async def relay_once(self, older_than: float | None = None) -> int:
        """Publish one batch of committed rows (only those older than ``older_than`` seconds, if
        given) and delete them; returns how many were relayed."""
        query = sa.select(OUTBOX).order_by(OUTBOX.c.seq).limit(self._batch).with_for_update(skip_locked=True)
        if older_than is not None:
            query = query.where(OUTBOX.c.created_at < sa.func.now() - timedelta(seconds=older_than))
        async with self._sessions() as session, session.begin():
            rows = (await session.execute(query)).all()
            if not rows:
                return 0
            await asyncio.gather(
                *(
                    self._publish(
                        Pending(r.event_id, r.exchange, r.routing_key, r.message_type, r.correlation_id, r.body)
                    )
                    for r in rows
                )
            )
            await session.execute(sa.delete(OUTBOX).where(OUTBOX.c.seq.in_([r.seq for r in rows])))
        self.published += len(rows)
        return len(rows)

    async def _underlay(self) -> aiormq.abc.AbstractChannel:
        """The relay's AMQP channel (publisher confirms on), reopened after a connection loss."""
        if self._connection is None or self._connection.is_closed:
            self._connection = await aio_pika.connect_robust(self._amqp_url)
            self._channel = None
        if self._channel is None or self._channel.is_closed:
            self._channel = await self._connection.channel(publisher_confirms=True)
        return await self._channel.get_underlay_channel()

    async def _publish(self, row: Pending) -> None:
        """Publish one event and wait for the broker's confirm (the caller keeps many in flight).
        Straight on aiormq with ``wait=False``: aio-pika's publish waits for the socket to drain
        while holding the channel's lock, which serialises the publishes in flight; the confirm is
        awaited all the same (a nack raises ``DeliveryError``)."""
        channel = await self._underlay()
        await channel.basic_publish(
            row.body,
            exchange=row.exchange,
            routing_key=row.routing_key,
            properties=aiormq.spec.Basic.Properties(
                message_id=str(row.event_id),
                correlation_id=row.correlation_id,
                message_type=row.message_type,
                content_type="application/json",
                delivery_mode=int(aio_pika.DeliveryMode.PERSISTENT),
                app_id=self._app_id or None,
            ),
            mandatory=False,
            wait=False,
        )
