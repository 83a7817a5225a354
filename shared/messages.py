"""What a handler is given, besides its unit of work, ``now`` and its service's policy.

Handlers have one of three shapes (``S``: the service's store, ``P``: its policy)::

    async def on_x(uow: UnitOfWork[S], msg: EventIn[XData], now: datetime, policy: P) -> None
    async def do_y(uow: UnitOfWork[S], msg: CommandIn[YCommand], now: datetime, policy: P) -> str | None
    async def z_due(uow: UnitOfWork[S], item: DueItem, now: datetime, policy: P) -> None
    async def w_batch(uow: UnitOfWork[S], items: list[W], now: datetime, policy: P) -> None

A batch handler takes the work of several deliveries that arrived together (``Service.batched``),
for services on the hot path that write a whole batch with a few set-based statements.
A command handler returns why it refuses the command (and must then have changed nothing) or None.
The service (:mod:`shared.service`) parses, claims the message id, opens the transaction and calls
them; they load, call the domain, persist and emit.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from .contract.events import Envelope
from .scheduler import DueItem

D = TypeVar("D")
C = TypeVar("C")


@dataclass(frozen=True)
class EventIn(Generic[D]):
    """An event from ``meetdesk.events``, its data parsed with the contract model."""

    envelope: Envelope
    data: D

    @property
    def event_id(self) -> uuid.UUID:
        return self.envelope.event_id

    @property
    def correlation_id(self) -> uuid.UUID:
        return self.envelope.correlation_id


@dataclass(frozen=True)
class CommandIn(Generic[C]):
    """A command from ``meetdesk.commands`` (routing key = ``name``), parsed with the contract model."""

    name: str
    command: C
    correlation_id: uuid.UUID


EventHandler = Callable[[Any, EventIn[Any], datetime, Any], Awaitable[None]]
CommandHandler = Callable[[Any, CommandIn[Any], datetime, Any], Awaitable[str | None]]
DueHandler = Callable[[Any, DueItem, datetime, Any], Awaitable[None]]
BatchHandler = Callable[[Any, list[Any], datetime, Any], Awaitable[None]]
