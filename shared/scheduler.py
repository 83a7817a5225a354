"""One durable scheduler for every service: items that fall due (reminders, deadlines, follow-ups).

A due item is a row in the service's own ``due_items`` table: what (``kind``), for whom (``key``),
when (``due_at``), with a small ``payload``. It is written by :meth:`UnitOfWork.schedule` in the same
transaction as the state change that makes it necessary, and cancelled (:meth:`UnitOfWork.cancel`)
or moved (scheduling the same kind and key again) the same way, so a reminder for a booking
cancelled in that transaction can never go out.

Every replica runs a :class:`Scheduler` loop. It takes due rows with ``FOR UPDATE SKIP LOCKED`` (so
replicas never take the same row), hands each to the handler registered for its kind, in a savepoint
of one transaction per batch, and deletes the row in that transaction. Handler effects, the events
they emit, the inbox entry ``due:<id>:<due_at>`` and the deletion commit together: an item fires once, and a
process killed mid-batch leaves its rows to the next replica (late, never lost, never twice). A row
is fired only when the injected clock says ``not_before <= now`` — never early; rows due during an
outage fire on recovery, oldest first.

A firing that fails is retried with a growing pause (``not_before`` moves, ``due_at`` stays, so the
lag stays visible); after ``attempts`` failures, or at once for a :class:`~shared.runtime.Rejected`,
the row is parked with its reason (``parked_at``, ``last_error``) and ``due.parked`` is emitted:
the dead-letter of due items, visible on ``/metrics`` and re-driven with ``make dlq``. A database
outage is nobody's fault: the batch rolls back and is tried again without counting an attempt.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from .contract.events import DueItemParked
from .logs import get_logger
from .runtime import Rejected

log = get_logger(__name__)

CORRELATION_NAMESPACE = uuid.UUID("0b6f3f0e-58a4-4f43-9d8c-3b1f8d0e7a21")
MAX_BACKOFF = timedelta(minutes=10)


def due_items_table(metadata: sa.MetaData) -> sa.Table:
    """The table as the models describe it (each service's migration creates it explicitly)."""
    return sa.Table(
        "due_items",
        metadata,
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("key", sa.Text, nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payload", pg.JSONB, nullable=False, server_default="{}"),
        sa.Column("correlation_id", sa.Text),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text),
        sa.Column("parked_at", sa.DateTime(timezone=True)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.UniqueConstraint("kind", "key", name="due_items_kind_key"),
        sa.Index("due_items_ready", "not_before", postgresql_where=sa.text("parked_at IS NULL")),
    )


DUE = due_items_table(sa.MetaData())


@dataclass(frozen=True)
class DueItem:
    """A due item as its handler sees it."""

    id: int
    kind: str
    key: str
    due_at: datetime
    payload: Mapping[str, Any]
    attempts: int  # failed firings so far
    correlation_id: uuid.UUID
    not_before: datetime | None = None  # when it was taken: due_at, or later after a failed attempt

    @property
    def inbox_key(self) -> str:
        """Its id in the inbox: this row at this due time (a row moved by its own handler is a new
        instance and fires again at its new time)."""
        return f"due:{self.id}:{self.due_at.isoformat()}"


async def schedule_due(
    session: AsyncConnection,
    kind: str,
    key: str,
    due_at: datetime,
    payload: Mapping[str, Any],
    correlation_id: str | None,
) -> None:
    if due_at.tzinfo is None:
        raise ValueError("a due time needs a UTC offset")
    values = {
        "due_at": due_at,
        "not_before": due_at,
        "payload": dict(payload),
        "correlation_id": correlation_id,
        "attempts": 0,
        "last_error": None,
        "parked_at": None,
    }
    stmt = pg_insert(DUE).values(kind=kind, key=key, **values)
    await session.execute(stmt.on_conflict_do_update(constraint="due_items_kind_key", set_=values))


class Schedulable(Protocol):
    """A due item to write: ``kind`` falls due for ``key`` at ``due_at``."""

    @property
    def kind(self) -> str: ...

    @property
    def key(self) -> str: ...

    @property
    def due_at(self) -> datetime: ...

    @property
    def correlation_id(self) -> str | None: ...


async def schedule_due_many(pg_conn: Any, items: Sequence[Schedulable]) -> None:
    """Write many due items in one statement (each as :func:`schedule_due` would; the last of the same
    kind and key wins). ``pg_conn``: the asyncpg connection inside the transaction."""
    latest = {(i.kind, i.key): i for i in items}
    if not latest:
        return
    for item in latest.values():
        if item.due_at.tzinfo is None:
            raise ValueError("a due time needs a UTC offset")
    await pg_conn.execute(
        """INSERT INTO due_items (kind, key, due_at, not_before, payload, correlation_id, attempts)
           SELECT k, y, d, d, '{}'::jsonb, c, 0
           FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::text[]) AS i(k, y, d, c)
           ON CONFLICT ON CONSTRAINT due_items_kind_key DO UPDATE
           SET due_at = excluded.due_at, not_before = excluded.not_before, payload = excluded.payload,
               correlation_id = excluded.correlation_id, attempts = 0, last_error = NULL, parked_at = NULL""",
        [i.kind for i in latest.values()],
        [i.key for i in latest.values()],
        [i.due_at for i in latest.values()],
        [str(i.correlation_id or "") or None for i in latest.values()],
    )


async def cancel_due(session: AsyncConnection, kind: str, key: str) -> bool:
    result = await session.execute(sa.delete(DUE).where(DUE.c.kind == kind, DUE.c.key == key))
    return bool(result.rowcount)


async def parked_items(session: AsyncConnection, *, kind: str | None = None, key: str | None = None) -> list[Any]:
    """The parked items (kind, key, due_at, attempts, last_error, parked_at), oldest first."""
    stmt = sa.select(DUE).where(DUE.c.parked_at.is_not(None)).order_by(DUE.c.parked_at, DUE.c.id)
    if kind:
        stmt = stmt.where(DUE.c.kind == kind)
    if key:
        stmt = stmt.where(DUE.c.key == key)
    return list((await session.execute(stmt)).all())


async def retry_parked(
    session: AsyncConnection, now: datetime, *, kind: str | None = None, key: str | None = None
) -> int:
    """Give parked items (all, of one kind, or one) a fresh set of attempts, due at ``now``; how many."""
    stmt = (
        sa.update(DUE)
        .where(DUE.c.parked_at.is_not(None))
        .values(parked_at=None, attempts=0, not_before=now, last_error=None)
    )
    if kind:
        stmt = stmt.where(DUE.c.kind == kind)
    if key:
        stmt = stmt.where(DUE.c.key == key)
    return (await session.execute(stmt)).rowcount or 0


def backoff(attempts: int) -> timedelta:
    """Pause before the next try after ``attempts`` failures: 5 s, 10 s, 20 s, … at most 10 min."""
    return min(timedelta(seconds=5 * 2 ** max(attempts - 1, 0)), MAX_BACKOFF)


class FiringTransaction(Protocol):
    """What the scheduler needs of a unit of work (see :class:`shared.uow.Transaction`)."""

    session: AsyncConnection

    def mark(self) -> Any: ...

    def undo(self, mark: Any) -> None: ...

    async def claim(self, key: str) -> bool: ...

    def emit(self, data: Any, *, correlation_id: uuid.UUID, causation_id: uuid.UUID | None = None) -> Any: ...


Fire = Callable[[Any, DueItem], Awaitable[None]]  # (unit of work, item): the service's handler, wrapped


@dataclass(frozen=True)
class Backlog:
    """What ops watch: items overdue now, the oldest one's lateness, all pending, all parked."""

    overdue: int
    oldest_overdue_seconds: float
    pending: int
    parked: int


class Scheduler:
    def __init__(
        self,
        service: str,
        begin: Callable[[datetime], contextlib.AbstractAsyncContextManager[Any]],
        handlers: Mapping[str, Fire],
        clock: Any,
        *,
        batch: int = 100,
        poll: float = 1.0,
        attempts: int = 5,
        is_outage: Callable[[BaseException], bool] = lambda exc: False,
        on_fired: Callable[[DueItem, datetime], None] = lambda item, now: None,
    ):
        self._service = service
        self._begin = begin
        self._handlers = dict(handlers)
        self._clock = clock
        self._batch = batch
        self._poll = poll
        self._attempts = attempts
        self._is_outage = is_outage
        self._on_fired = on_fired
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.last_tick = 0.0  # time.monotonic() of the last completed round
        self.backlog = Backlog(0, 0.0, 0, 0)
        self.fired = 0

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(sorted(self._handlers))

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> None:
        self._stopping = False
        self.last_tick = time.monotonic()
        self._task = asyncio.create_task(self._run(), name=f"scheduler-{self._service}")

    async def stop(self, timeout: float = 10.0) -> None:
        """Finish the batch in hand (its transaction), then stop."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, timeout)
            except (TimeoutError, asyncio.CancelledError):
                self._task.cancel()
            self._task = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def wake(self) -> None:
        """Something was scheduled that may fall due before the next poll."""
        self._wake.set()

    async def _run(self) -> None:
        next_backlog = 0.0
        while not self._stopping:
            try:
                fired = await self.fire_due()
                if time.monotonic() >= next_backlog:
                    next_backlog = time.monotonic() + 5.0
                    self.backlog = await self.measure()
                self.last_tick = time.monotonic()
                if fired >= self._batch:
                    continue  # more may be due already
                pause = await self._until_next()
            except Exception as exc:
                log.warning("scheduler round failed; will try again", error=f"{type(exc).__name__}: {exc}"[:300])
                pause = self._poll
            if self._stopping:
                break
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=pause)

    async def _until_next(self) -> float:
        """Seconds until the next item falls due, at most one poll interval (other replicas and
        processes schedule too)."""
        async with self._begin(self._clock.now()) as tx:
            soonest = (
                await tx.session.execute(sa.select(sa.func.min(DUE.c.not_before)).where(DUE.c.parked_at.is_(None)))
            ).scalar()
        if soonest is None:
            return self._poll
        return min(self._poll, max(0.0, (soonest - self._clock.now()).total_seconds()))

    # -- firing ---------------------------------------------------------------------------------
    async def fire_due(self) -> int:
        """Fire one batch of due items in one transaction; returns how many were taken."""
        now = self._clock.now()
        async with self._begin(now) as tx:
            rows = (
                await tx.session.execute(
                    sa.select(DUE)
                    .where(DUE.c.parked_at.is_(None), DUE.c.not_before <= now)
                    .order_by(DUE.c.not_before, DUE.c.id)
                    .limit(self._batch)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            items = [_item(row) for row in rows]
            fired = await self._fire_all(tx, items) if items else []
            if fired is None:  # something failed: one savepoint per item, so the rest still fire
                fired = [item for item in items if await self._fire_one(tx, item, now)]
        for item in fired:
            self.fired += 1
            self._on_fired(item, now)
        return len(rows)

    async def _fire_all(self, tx: FiringTransaction, items: list[DueItem]) -> list[DueItem] | None:
        """The common case, cheaply: the whole batch in one savepoint. None if anything failed
        (everything the batch did is then undone, and the items are fired one by one)."""
        mark = tx.mark()
        try:
            async with tx.session.begin_nested():
                for item in items:
                    handler = self._handlers.get(item.kind)
                    if handler is None:
                        raise Rejected(f"no handler for due items of kind {item.kind!r}")
                    if await tx.claim(item.inbox_key):
                        await handler(tx, item)
                await tx.session.execute(sa.delete(DUE).where(_as_taken(items)))
            return items
        except Exception as exc:
            tx.undo(mark)
            if self._is_outage(exc):
                raise
            return None

    async def _fire_one(self, tx: FiringTransaction, item: DueItem, now: datetime) -> bool:
        mark = tx.mark()
        handler = self._handlers.get(item.kind)
        try:
            if handler is None:
                raise Rejected(f"no handler for due items of kind {item.kind!r}; known: {', '.join(self.kinds)}")
            async with tx.session.begin_nested():
                if await tx.claim(item.inbox_key):
                    await handler(tx, item)
                await tx.session.execute(sa.delete(DUE).where(_as_taken([item])))
            return True
        except Exception as exc:
            tx.undo(mark)
            if self._is_outage(exc):
                raise  # the database or broker is away: the whole batch waits, no attempt is spent
            await self._failed(tx, item, exc, now, park=isinstance(exc, Rejected))
            return False

    async def _failed(
        self, tx: FiringTransaction, item: DueItem, exc: BaseException, now: datetime, *, park: bool
    ) -> None:
        attempts = item.attempts + 1
        reason = getattr(exc, "reason", None) or f"{type(exc).__name__}: {exc}"
        reason = reason[:1000]
        bound = {"kind": item.kind, "key": item.key, "attempts": attempts, "correlation_id": str(item.correlation_id)}
        if park or attempts >= self._attempts:
            await tx.session.execute(
                sa.update(DUE).where(DUE.c.id == item.id).values(attempts=attempts, last_error=reason, parked_at=now)
            )
            tx.emit(
                DueItemParked(
                    service=self._service,
                    kind=item.kind,
                    key=item.key,
                    due_at=item.due_at,
                    attempts=attempts,
                    reason=reason,
                ),
                correlation_id=item.correlation_id,
            )
            log.error("due item parked", reason=reason, **bound, exc_info=not park)
            return
        retry_at = now + backoff(attempts)
        await tx.session.execute(
            sa.update(DUE).where(DUE.c.id == item.id).values(attempts=attempts, last_error=reason, not_before=retry_at)
        )
        log.warning("due item failed; will try again", reason=reason, retry_at=retry_at.isoformat(), **bound)

    # -- what ops see ---------------------------------------------------------------------------
    async def measure(self) -> Backlog:
        now = self._clock.now()
        ready = sa.and_(DUE.c.parked_at.is_(None), DUE.c.not_before <= now)
        async with self._begin(now) as tx:
            row = (
                await tx.session.execute(
                    sa.select(
                        sa.func.count().filter(ready),
                        sa.func.min(DUE.c.due_at).filter(ready),
                        sa.func.count().filter(DUE.c.parked_at.is_(None)),
                        sa.func.count().filter(DUE.c.parked_at.is_not(None)),
                    )
                )
            ).one()
        oldest = max(0.0, (now - row[1]).total_seconds()) if row[1] is not None else 0.0
        return Backlog(int(row[0]), oldest, int(row[2]), int(row[3]))


def _as_taken(items: list[DueItem]) -> Any:
    """The rows of ``items`` as they were taken: a row its handler scheduled again (the same kind and
    key, e.g. the next escalation step) has moved on, and stays."""
    return sa.tuple_(DUE.c.id, DUE.c.not_before).in_([(item.id, item.not_before) for item in items])


def _item(row: Any) -> DueItem:
    correlation = row.correlation_id
    try:
        correlation_id = uuid.UUID(correlation) if correlation else None
    except ValueError:
        correlation_id = None
    return DueItem(
        id=row.id,
        kind=row.kind,
        key=row.key,
        due_at=row.due_at,
        payload=row.payload or {},
        attempts=row.attempts,
        correlation_id=correlation_id or uuid.uuid5(CORRELATION_NAMESPACE, f"{row.kind}\x1f{row.key}"),
        not_before=row.not_before,
    )
