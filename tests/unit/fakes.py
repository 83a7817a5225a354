"""An in-memory unit of work for handler unit tests: what a handler claimed, emitted and scheduled.

    uow = FakeUnitOfWork(FakeBookingStore(...), producer="booking", now=T0)
    await handlers.booking_requested(uow, EventIn(envelope, data), T0, policy)
    assert uow.types() == ["booking.confirmed"]

It behaves like :class:`shared.uow.Transaction` (claims are remembered, a second claim of the same key
is False; scheduling the same kind and key again moves the item) but commits nothing anywhere. A
service's fake store lives beside its handler tests.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

from shared.contract.commands import Command
from shared.contract.events import Envelope, EventData, make_event
from shared.messages import CommandIn, EventIn
from shared.scheduler import DueItem, Schedulable

S = TypeVar("S")


@dataclass
class Scheduled:
    kind: str
    key: str
    due_at: datetime
    payload: Mapping[str, Any]
    correlation_id: str | None


@dataclass
class FakeUnitOfWork(Generic[S]):
    store: S
    producer: str
    now: datetime
    claimed: set[str] = field(default_factory=set)
    emitted: list[Envelope] = field(default_factory=list)
    due: dict[tuple[str, str], Scheduled] = field(default_factory=dict)
    cancelled: list[tuple[str, str]] = field(default_factory=list)
    sent: list[Command] = field(default_factory=list)  # commands to other services

    async def claim(self, key: str) -> bool:
        if key in self.claimed:
            return False
        self.claimed.add(key)
        return True

    def emit(self, data: EventData, *, correlation_id: uuid.UUID, causation_id: uuid.UUID | None = None) -> Envelope:
        envelope = make_event(
            data, producer=self.producer, correlation_id=correlation_id, causation_id=causation_id, occurred_at=self.now
        )
        self.emitted.append(envelope)
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
        if due_at.tzinfo is None:
            raise ValueError("a due time needs a UTC offset")
        self.due[(kind, key)] = Scheduled(kind, key, due_at, dict(payload or {}), str(correlation_id or "") or None)

    async def schedule_many(self, items: Sequence[Schedulable]) -> None:
        for item in items:
            await self.schedule(item.kind, item.key, item.due_at, correlation_id=item.correlation_id)

    async def cancel(self, kind: str, key: str) -> bool:
        self.cancelled.append((kind, key))
        return self.due.pop((kind, key), None) is not None

    def send(self, command: Command, *, correlation_id: uuid.UUID) -> None:
        self.sent.append(command)

    # -- what tests read ----------------------------------------------------------------------------
    def types(self) -> list[str]:
        """The types of the events emitted, in order."""
        return [e.type for e in self.emitted]

    def events(self, event_type: str) -> list[dict[str, Any]]:
        """The data of the emitted events of one type."""
        return [e.data for e in self.emitted if e.type == event_type]

    def due_item(self, kind: str, key: str, *, item_id: int = 1) -> DueItem:
        """The scheduled item as the scheduler would hand it to its handler when it falls due."""
        s = self.due[(kind, key)]
        return DueItem(
            id=item_id,
            kind=s.kind,
            key=s.key,
            due_at=s.due_at,
            payload=s.payload,
            attempts=0,
            correlation_id=uuid.UUID(s.correlation_id) if s.correlation_id else uuid.uuid4(),
        )


def event_in(data: EventData, *, producer: str = "test", at: datetime | None = None) -> EventIn[Any]:
    """An event as a handler receives it (envelope and parsed data)."""
    envelope = make_event(data, producer=producer, correlation_id=uuid.uuid4(), occurred_at=at)
    return EventIn(envelope, type(data).model_validate(envelope.data))


def command_in(command: Any) -> CommandIn[Any]:
    """A command as a handler receives it."""
    return CommandIn(type(command).command_name, command, uuid.uuid4())
