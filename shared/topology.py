"""The whole broker topology, declared in one place.

Every service declares all of it at start (idempotently, before it starts consuming), so an event
published before a consumer ever ran is still queued for it. Tests and ``make run`` use the same
function. Queue arguments live only here: changing them on an existing queue fails with
PRECONDITION_FAILED, so they must never be spelled twice.
"""

from __future__ import annotations

from dataclasses import dataclass

import aio_pika
from aio_pika.abc import AbstractChannel, ExchangeType
from faststream.rabbit import ExchangeType as FsExchangeType
from faststream.rabbit import RabbitExchange

INBOUND = "meetdesk.inbound"
EVENTS = "meetdesk.events"
COMMANDS = "meetdesk.commands"
DLX = "meetdesk.dlx"
EXCHANGES = (INBOUND, EVENTS, COMMANDS, DLX)

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
INTAKE_EVENTS = QueueSpec("intake.events", "intake", ((EVENTS, "booking.reminder_due"),))
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


def exchange(name: str) -> RabbitExchange:
    """The exchange as FastStream should address it: already declared here, never re-declared."""
    return RabbitExchange(name, type=FsExchangeType.TOPIC, durable=True, declare=False)


def queues_of(service: str) -> tuple[QueueSpec, ...]:
    return tuple(q for q in QUEUES if q.service == service)


async def declare_on(channel: AbstractChannel, delivery_limit: int) -> None:
    exchanges = {}
    for name in EXCHANGES:
        exchanges[name] = await channel.declare_exchange(name, ExchangeType.TOPIC, durable=True)
    for spec in QUEUES:
        queue = await channel.declare_queue(spec.name, durable=True, arguments=spec.arguments(delivery_limit))
        for exchange, key in spec.bindings:
            await queue.bind(exchanges[exchange], routing_key=key)
        dlq = await channel.declare_queue(spec.dead_letter_queue, durable=True, arguments={"x-queue-type": "quorum"})
        await dlq.bind(exchanges[DLX], routing_key=spec.name)
    for queue_name, exchange_name, key in RETIRED_BINDINGS:
        queue = await channel.get_queue(queue_name, ensure=False)
        await queue.unbind(exchanges[exchange_name], routing_key=key)


async def declare_topology(amqp_url: str, delivery_limit: int) -> None:
    """Declare exchanges, service queues and their dead-letter queues (idempotent)."""
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        await declare_on(channel, delivery_limit)
    finally:
        await connection.close()
