"""Transactional outbox and inbox.

A unit of work (:mod:`shared.uow`) claims the incoming message id in the inbox (a second delivery
of the same message finds it claimed and changes nothing), changes state and emits events; state,
inbox row and outbox rows commit together. The relay then publishes committed events through the
process's :class:`~shared.publisher.Publisher` (confirms, many in flight), ``message_id`` =
``event_id``, persistent, and deletes their rows.

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
from collections.abc import Callable
from datetime import timedelta
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from .contract.events import Envelope
from .db import add_messaging_tables, driver_connection
from .logs import get_logger
from .observability import OUTBOX_PUBLISHED
from .publisher import Publisher

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


BACKLOG_CAP = 10_000


class Backlog(NamedTuple):
    """The outbox's rows waiting to be relayed (up to the cap) and the age of the oldest, in seconds."""

    rows: int
    oldest_seconds: float


class Outbox:
    def __init__(
        self,
        sessions: Callable[[], AsyncConnection],
        publisher: Publisher,
        *,
        batch: int,
        poll: float,
        retention: timedelta | None = None,
        sweep_after: float = 10.0,
    ):
        self._sessions = sessions
        self._publisher = publisher
        self._retention = retention
        self._batch = batch
        self._poll = poll
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._fresh: list[Pending] = []  # committed by this process, not yet published
        self._sweep_after = sweep_after
        self.published = 0

    def committed(self, rows: list[Pending]) -> None:
        """Rows a transaction of this process has just committed: publish them straight away."""
        if rows:
            self._fresh.extend(rows)
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
        if not self._publisher.connected:
            log.warning("broker away at shutdown: committed events stay in the outbox for the next sweep")
            return
        try:
            await asyncio.wait_for(self._drain(), timeout=10)
        except Exception:
            log.warning("outbox not drained on shutdown; the rows stay for the next sweep", exc_info=True)

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
        OUTBOX_PUBLISHED.inc(len(batch))
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
        OUTBOX_PUBLISHED.inc(len(rows))
        return len(rows)

    async def backlog(self, *, cap: int = BACKLOG_CAP) -> Backlog:
        """How many rows wait (counted up to ``cap``) and how old the oldest is: two index-only
        steps (the ``seq`` key), cheap enough to run on every scrape."""
        async with self._sessions() as session:
            row = (
                await session.execute(
                    sa.text(
                        "SELECT (SELECT count(*) FROM (SELECT 1 FROM outbox LIMIT :cap) AS waiting),"
                        " (SELECT extract(epoch FROM clock_timestamp() - created_at)"
                        "  FROM outbox ORDER BY seq LIMIT 1)"
                    ),
                    {"cap": cap},
                )
            ).one()
        return Backlog(int(row[0]), max(0.0, float(row[1] or 0.0)))

    async def _publish(self, row: Pending) -> None:
        await self._publisher.publish(
            row.body,
            exchange=row.exchange,
            routing_key=row.routing_key,
            message_id=str(row.event_id),
            correlation_id=row.correlation_id,
            message_type=row.message_type,
        )
