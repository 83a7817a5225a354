"""The unit of work a handler is given: one database transaction and everything it commits.

A handler claims the id of what it processes in the inbox (a second delivery finds it claimed and
changes nothing), reads and writes state through the service's store, emits events and schedules or
cancels due items; all of it commits together or not at all (transactional outbox: the events are
rows in the same transaction, relayed after the commit).

:class:`UnitOfWork` is what handlers depend on (a protocol); :class:`Transaction` is the real one,
over the service's database. Handler unit tests use an in-memory fake with the same methods
(``tests/unit/fakes.py``): what it wrote, what it emitted, what it scheduled.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from .clock import Clock
from .contract.commands import Command
from .contract.events import Envelope, EventData, make_event
from .db import driver_connection
from .outbox import INBOX, Pending, outbox_rows
from .scheduler import Schedulable, cancel_due, schedule_due, schedule_due_many
from .topology import COMMANDS, EVENTS

S = TypeVar("S")
S_co = TypeVar("S_co", covariant=True)


class UnitOfWork(Protocol[S_co]):
    """What a handler may do inside its transaction."""

    @property
    def store(self) -> S_co: ...

    @property
    def now(self) -> datetime: ...

    async def claim(self, key: str) -> bool:
        """Record ``key`` (a message, command or due-item id) as processed; False if it already was."""
        ...

    def emit(self, data: EventData, *, correlation_id: uuid.UUID, causation_id: uuid.UUID | None = None) -> Envelope:
        """Emit an event (committed with the transaction, published after it)."""
        ...

    async def schedule(
        self,
        kind: str,
        key: str,
        due_at: datetime,
        *,
        payload: Mapping[str, Any] | None = None,
        correlation_id: uuid.UUID | str | None = None,
    ) -> None:
        """Make ``kind``/``key`` fall due at ``due_at`` (replaces an earlier due time of the same item)."""
        ...

    async def schedule_many(self, items: Sequence[Schedulable]) -> None:
        """:meth:`schedule` for each of ``items`` (no payload), in one statement."""
        ...

    async def cancel(self, kind: str, key: str) -> bool:
        """Cancel the due item ``kind``/``key``; False if there was none."""
        ...

    def send(self, command: Command, *, correlation_id: uuid.UUID) -> None:
        """Send a command to another service (``meetdesk.commands``, committed with the transaction)."""
        ...


@dataclass
class Transaction(Generic[S]):
    """The database unit of work: a connection inside a transaction."""

    session: AsyncConnection
    store: S
    producer: str
    now: datetime
    emitted: list[tuple[Envelope, str]] = field(default_factory=list)
    sent: list[Pending] = field(default_factory=list)  # commands to other services
    written: list[Pending] = field(default_factory=list)
    due_times: list[datetime] = field(default_factory=list)

    async def claim(self, key: str) -> bool:
        stmt = (
            pg_insert(INBOX)
            .values(message_id=key)
            .on_conflict_do_nothing(index_elements=["message_id"])
            .returning(INBOX.c.message_id)
        )
        return (await self.session.execute(stmt)).first() is not None

    async def unclaim(self, key: str) -> None:
        """Forget ``key`` (what it stood for was not done after all: it may be offered again)."""
        await self.session.execute(sa.delete(INBOX).where(INBOX.c.message_id == key))

    def emit(self, data: EventData, *, correlation_id: uuid.UUID, causation_id: uuid.UUID | None = None) -> Envelope:
        envelope = make_event(
            data, producer=self.producer, correlation_id=correlation_id, causation_id=causation_id, occurred_at=self.now
        )
        self.emitted.append((envelope, EVENTS))
        return envelope

    async def schedule(
        self,
        kind: str,
        key: str,
        due_at: datetime,
        *,
        payload: Mapping[str, Any] | None = None,
        correlation_id: uuid.UUID | str | None = None,
    ) -> None:
        await schedule_due(self.session, kind, key, due_at, payload or {}, str(correlation_id or "") or None)
        self.due_times.append(due_at)

    async def schedule_many(self, items: Sequence[Schedulable]) -> None:
        await schedule_due_many(await driver_connection(self.session), items)
        self.due_times.extend(i.due_at for i in items)

    async def cancel(self, kind: str, key: str) -> bool:
        return await cancel_due(self.session, kind, key)

    def send(self, command: Command, *, correlation_id: uuid.UUID) -> None:
        try:  # the AMQP message id is the command id when it is a UUID (it is when we make one)
            message_id = uuid.UUID(command.command_id)
        except ValueError:
            message_id = uuid.uuid5(uuid.NAMESPACE_URL, f"meetdesk:command:{command.command_id}")
        name = command.command_name
        body = command.model_dump_json().encode()
        self.sent.append(Pending(message_id, COMMANDS, name, name, str(correlation_id), body))

    def mark(self) -> tuple[int, int, int]:
        """Where the transaction's events, commands and due times stand (see :meth:`undo`)."""
        return len(self.emitted), len(self.sent), len(self.due_times)

    def undo(self, mark: tuple[int, int, int]) -> None:
        """Forget the events, commands and due times added since ``mark`` (their savepoint rolled back)."""
        del self.emitted[mark[0] :], self.sent[mark[1] :], self.due_times[mark[2] :]

    async def flush_events(self) -> None:
        if not self.emitted and not self.sent:
            return
        self.written = outbox_rows(self.emitted) + self.sent
        pg = await driver_connection(self.session)
        await pg.execute(
            """INSERT INTO outbox (event_id, exchange, routing_key, message_type, correlation_id, body)
               SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bytea[])""",
            *(list(column) for column in zip(*self.written, strict=True)),
        )


class Transactions(Generic[S]):
    """Opens units of work for one service: its connections, its store, its clock; after a commit
    it hands the events to the relay and wakes the scheduler for anything due soon."""

    def __init__(
        self,
        sessions: Callable[[], AsyncConnection],
        store: Callable[[AsyncConnection], S],
        *,
        producer: str,
        clock: Clock,
        on_commit: Callable[[Transaction[S]], None],
    ):
        self._sessions = sessions
        self._store = store
        self._producer = producer
        self._clock = clock
        self._on_commit = on_commit

    @contextlib.asynccontextmanager
    async def begin(self, now: datetime | None = None) -> AsyncIterator[Transaction[S]]:
        async with self._sessions() as session, session.begin():
            tx = Transaction(session, self._store(session), self._producer, now or self._clock.now())
            yield tx
            await tx.flush_events()
        self._on_commit(tx)
