"""The whole broker topology, in one place.

Who declares what (least privilege, see :mod:`shared.access`): the **topology step**, run by an
administrator (``tools/access.py broker`` on a local broker, the definitions file a compose broker
loads at boot, :func:`declare_topology` in the tests), declares every exchange, queue, binding and
dead-letter queue, so an event published before a consumer ever ran is still queued for it. Each
**service** at start (:func:`declare_own`) checks passively that the exchanges it uses exist and
declares only its own queues, their bindings and dead-letter queues (idempotently) — what its broker
user ``meetdesk-<service>`` is allowed to configure. Queue arguments live only here: changing them on
an existing queue fails with PRECONDITION_FAILED, so they must never be spelled twice.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass

import aio_pika
import aio_pika.exceptions
import aiormq.exceptions
from aio_pika.abc import AbstractChannel, ExchangeType
from faststream.rabbit import ExchangeType as FsExchangeType
from faststream.rabbit import RabbitExchange

from .contract.desk import DESK_COMMANDS

INBOUND = "meetdesk.inbound"
EVENTS = "meetdesk.events"
COMMANDS = "meetdesk.commands"
DLX = "meetdesk.dlx"
EXCHANGES = (INBOUND, EVENTS, COMMANDS, DLX)

DEAD_LETTER_QUEUE_ARGUMENTS: dict[str, object] = {"x-queue-type": "quorum"}

ERROR_HEADER = "x-meetdesk-error"
ORIGIN_QUEUE_HEADER = "x-meetdesk-queue"


@dataclass(frozen=True)
class QueueSpec:
    """A durable quorum queue of one service, its bindings and its dead-letter queue."""

    name: str
    service: str
    bindings: tuple[tuple[str, str], ...]  # (exchange, routing key)

    @property
    def dead_letter_queue(self) -> str:
        return f"{self.name}.dlq"

    def arguments(self, delivery_limit: int) -> dict[str, object]:
        return {
            "x-queue-type": "quorum",
            "x-delivery-limit": delivery_limit,
            "x-dead-letter-exchange": DLX,
            "x-dead-letter-routing-key": self.name,
            "x-dead-letter-strategy": "at-least-once",
            "x-overflow": "reject-publish",
        }


INTAKE_INBOUND = QueueSpec("intake.inbound", "intake", ((INBOUND, "#"),))
# what other services ask the customer (the day-before reminder awaits "confirm / cancel / change"), so
# that intake can read the customer's reply as the answer to it
# and every missed call, which becomes a call-back task on the desk
INTAKE_EVENTS = QueueSpec("intake.events", "intake", ((EVENTS, "booking.reminder_due"), (EVENTS, "call.missed")))
# the desk's commands (shared/contract/desk.py): assignments, call-backs, completing a booking request,
# linking customer records, handovers
INTAKE_COMMANDS = QueueSpec(
    "intake.commands", "intake", tuple((COMMANDS, command.command_name) for command in DESK_COMMANDS)
)
BOOKING_EVENTS = QueueSpec("booking.events", "booking", ((EVENTS, "booking.requested"),))
BOOKING_COMMANDS = QueueSpec("booking.commands", "booking", ((COMMANDS, "booking.*"), (COMMANDS, "rooms.*")))
# complaints also keeps its own view of the bookings (room, equipment, time, customer) to check and enrich
# the booking a complaint names, or to find the customer's meeting when it names none
COMPLAINTS_EVENTS = QueueSpec(
    "complaints.events",
    "complaints",
    (
        (EVENTS, "inquiry.received"),
        (EVENTS, "feedback.received"),
        (EVENTS, "booking.confirmed"),
        (EVENTS, "booking.cancelled"),
        (EVENTS, "booking.rescheduled"),
        (EVENTS, "booking.updated"),
        # the answer to a re-run of the meeting a complaint asked for (booking.confirmed is bound above)
        (EVENTS, "booking.rejected"),
    ),
)
COMPLAINTS_COMMANDS = QueueSpec("complaints.commands", "complaints", ((COMMANDS, "complaint.*"), (COMMANDS, "staff.*")))
METRICS_EVENTS = QueueSpec("metrics.events", "metrics", ((EVENTS, "#"),))

QUEUES: tuple[QueueSpec, ...] = (
    INTAKE_INBOUND,
    INTAKE_EVENTS,
    INTAKE_COMMANDS,
    BOOKING_EVENTS,
    BOOKING_COMMANDS,
    COMPLAINTS_EVENTS,
    COMPLAINTS_COMMANDS,
    METRICS_EVENTS,
)


# Bindings a queue once had and must lose (a binding is never removed by declaring a queue again):
# (queue, exchange, routing key). Unbinding one that is not there is harmless.
RETIRED_BINDINGS: tuple[tuple[str, str, str], ...] = (
    # intake.events first listened to every notification.requested; only the reminder asks a question
    ("intake.events", EVENTS, "notification.requested"),
)

#: the exchanges each service publishes to (its broker user may write to these and to no other):
#: every service emits events through its outbox (at least its own rejections) and copies dead letters
#: to the DLX with their reason; intake also publishes what its HTTP ingress and webhooks accept
#: (meetdesk.inbound) and the commands a customer's answer to the reminder sends (uow.send).
PUBLISHES: dict[str, tuple[str, ...]] = {
    "intake": (INBOUND, EVENTS, COMMANDS, DLX),
    "booking": (EVENTS, DLX),
    "complaints": (EVENTS, DLX),
    "metrics": (EVENTS, DLX),
}
SERVICES: tuple[str, ...] = tuple(PUBLISHES)


def exchange(name: str) -> RabbitExchange:
    """The exchange as FastStream should address it: already declared here, never re-declared."""
    return RabbitExchange(name, type=FsExchangeType.TOPIC, durable=True, declare=False)


def queues_of(service: str) -> tuple[QueueSpec, ...]:
    return tuple(q for q in QUEUES if q.service == service)


def exchanges_used_by(service: str) -> tuple[str, ...]:
    """The exchanges ``service`` binds its queues to (the DLX for its dead-letter queues) or publishes to."""
    used = {exchange for spec in queues_of(service) for exchange, _ in spec.bindings}
    used |= {DLX, *PUBLISHES.get(service, (EVENTS, DLX))}  # a service of no queues (a test app): events
    return tuple(name for name in EXCHANGES if name in used)


class TopologyMissing(RuntimeError):
    """An exchange a service needs does not exist and its broker user may not declare it."""


async def declare_own(
    open_channel: Callable[[], contextlib.AbstractAsyncContextManager[AbstractChannel]],
    service: str,
    delivery_limit: int,
) -> None:
    """A service's start: the exchanges it uses must exist (checked passively; one that is missing
    is declared when this broker user may, as on a development broker, else :class:`TopologyMissing`
    names the topology step); its own queues, bindings and dead-letter queues are declared
    (idempotent). ``open_channel``: a short-lived channel (a failed check closes its channel)."""
    for name in exchanges_used_by(service):
        async with open_channel() as channel:
            try:
                await channel.declare_exchange(name, ExchangeType.TOPIC, durable=True, passive=True)
                continue
            except aio_pika.exceptions.ChannelNotFoundEntity:
                pass
        async with open_channel() as channel:
            try:
                await channel.declare_exchange(name, ExchangeType.TOPIC, durable=True)
            except aiormq.exceptions.ChannelAccessRefused as exc:
                raise TopologyMissing(
                    f"the exchange {name} does not exist and this broker user may not declare it: run the "
                    "topology step first (tools/access.py broker, or the compose broker's definitions file)"
                ) from exc
    async with open_channel() as channel:
        own = queues_of(service)
        for spec in own:
            await _declare_queue(channel, spec, delivery_limit)
        names = {spec.name for spec in own}
        for queue_name, exchange_name, key in RETIRED_BINDINGS:
            if queue_name in names:
                queue = await channel.get_queue(queue_name, ensure=False)
                await queue.unbind(exchange_name, routing_key=key)


async def _declare_queue(channel: AbstractChannel, spec: QueueSpec, delivery_limit: int) -> None:
    queue = await channel.declare_queue(spec.name, durable=True, arguments=spec.arguments(delivery_limit))
    for exchange_name, key in spec.bindings:
        await queue.bind(exchange_name, routing_key=key)
    dlq = await channel.declare_queue(spec.dead_letter_queue, durable=True, arguments=DEAD_LETTER_QUEUE_ARGUMENTS)
    await dlq.bind(DLX, routing_key=spec.name)


async def declare_on(channel: AbstractChannel, delivery_limit: int) -> None:
    """The topology step (an administrator's user): every exchange, queue, binding and dead-letter queue."""
    exchanges = {}
    for name in EXCHANGES:
        exchanges[name] = await channel.declare_exchange(name, ExchangeType.TOPIC, durable=True)
    for spec in QUEUES:
        await _declare_queue(channel, spec, delivery_limit)
    for queue_name, exchange_name, key in RETIRED_BINDINGS:
        queue = await channel.get_queue(queue_name, ensure=False)
        await queue.unbind(exchanges[exchange_name], routing_key=key)


async def declare_topology(amqp_url: str, delivery_limit: int) -> None:
    """The topology step: declare exchanges, service queues and their dead-letter queues (idempotent)."""
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        await declare_on(channel, delivery_limit)
    finally:
        await connection.close()
