"""A message whose handler keeps failing is retried up to the queue's delivery limit and then
dead-lettered with the reason, on the real broker (quorum queue delivery counts, requeue, DLX)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable
from types import SimpleNamespace
from typing import Any

import aio_pika
import pytest
from faststream import AckPolicy
from faststream.rabbit import QueueType, RabbitBroker, RabbitQueue

from shared.availability import Availability
from shared.publisher import Publisher
from shared.runtime import Dispatcher, Incoming
from shared.service import raw_delivery
from shared.topology import DLX, ERROR_HEADER, QueueSpec

from ..servers import Servers

pytestmark = pytest.mark.integration
LIMIT = 3


class FakeUnitOfWork:
    """Only the rejection event goes through a unit of work here; what matters is the broker side."""

    def __init__(self) -> None:
        self.emitted: list[Any] = []

    @contextlib.asynccontextmanager
    async def begin(self):  # type: ignore[no-untyped-def]
        tx = SimpleNamespace(emitted=self.emitted)

        async def claim(_: str) -> bool:
            return True

        tx.claim = claim
        tx.emit = lambda data, **_: self.emitted.append(data)
        yield tx


def consuming(
    servers: Servers, spec: QueueSpec, dispatcher: Dispatcher, handler: Callable[[Incoming], Awaitable[None]]
) -> RabbitBroker:
    """A broker (not started) that consumes ``spec``'s queue as a service does, through ``dispatcher``."""
    broker = RabbitBroker(servers.amqp_url, apply_types=False)

    @broker.subscriber(
        RabbitQueue(spec.name, queue_type=QueueType.QUORUM, declare=False),
        ack_policy=AckPolicy.MANUAL,
        decoder=raw_delivery,
        no_reply=True,
    )
    async def handle(delivery: aio_pika.abc.AbstractIncomingMessage) -> None:
        await dispatcher.dispatch(delivery, spec, handler)

    return broker


async def test_poison_message_is_retried_then_dead_lettered(servers: Servers) -> None:
    spec = QueueSpec(f"test.poison.{uuid.uuid4().hex[:6]}", "test", ())
    conn = await aio_pika.connect(servers.amqp_url)
    ch = await conn.channel()
    dlx = await ch.declare_exchange(DLX, aio_pika.ExchangeType.TOPIC, durable=True)
    queue = await ch.declare_queue(spec.name, durable=True, arguments=spec.arguments(LIMIT))
    dlq = await ch.declare_queue(spec.dead_letter_queue, durable=True, arguments={"x-queue-type": "quorum"})
    await dlq.bind(dlx, routing_key=spec.name)

    attempts: list[int] = []

    async def always_fails(msg: Incoming) -> None:
        attempts.append(msg.delivery_count)
        raise ValueError("the database said no")

    publisher = Publisher(servers.amqp_url)  # publishes the dead letter
    uow = FakeUnitOfWork()

    async def reachable() -> None:
        pass

    dispatcher = Dispatcher(
        publisher=publisher,
        begin=uow.begin,
        availability=Availability(reachable),
        max_message_bytes=1 << 20,
        delivery_limit=LIMIT,
    )
    broker = consuming(servers, spec, dispatcher, always_fails)
    try:
        await broker.start()
        await ch.default_exchange.publish(
            aio_pika.Message(b'{"x": 1}', message_id="poison-1", delivery_mode=2), routing_key=spec.name
        )
        letter = None
        for _ in range(100):
            letter = await dlq.get(fail=False, no_ack=True)
            if letter:
                break
            await asyncio.sleep(0.1)
        assert letter is not None, f"not dead-lettered after attempts {attempts}"
        assert attempts == list(range(LIMIT)), "retried with a growing delivery count, then given up"
        assert "processing failed 3 times: ValueError: the database said no" in letter.headers[ERROR_HEADER]
        assert letter.message_id == "poison-1" and letter.body == b'{"x": 1}'
        assert [e.reason for e in uow.emitted] == [letter.headers[ERROR_HEADER]]
        await asyncio.sleep(0.5)
        assert (await queue.declare()).message_count == 0, "nothing left looping"
    finally:
        await broker.stop()
        await publisher.close()
        await queue.delete(if_unused=False, if_empty=False)
        await dlq.delete(if_unused=False, if_empty=False)
        await conn.close()


async def test_an_unrecognised_error_while_the_database_refuses_connections_holds_the_message(
    servers: Servers,
) -> None:
    """A refusal we have no name for (say SQLSTATE 55000, "not currently accepting connections") is
    still the outage's fault when the probe fails too: the delivery waits at the gate, its delivery
    count untouched, and is processed once when the database answers again."""
    spec = QueueSpec(f"test.held.{uuid.uuid4().hex[:6]}", "test", ())
    conn = await aio_pika.connect(servers.amqp_url)
    ch = await conn.channel()
    queue = await ch.declare_queue(spec.name, durable=True, arguments=spec.arguments(LIMIT))
    down = True
    attempts: list[int] = []
    done: list[int] = []

    async def refused_while_down(msg: Incoming) -> None:
        attempts.append(msg.delivery_count)
        if down:
            raise RuntimeError('database "booking" is not currently accepting connections')
        done.append(msg.delivery_count)

    async def probe() -> None:
        if down:
            raise RuntimeError("still refusing")

    publisher = Publisher(servers.amqp_url)
    dispatcher = Dispatcher(
        publisher=publisher,
        begin=FakeUnitOfWork().begin,
        availability=Availability(probe, interval=0.05),
        max_message_bytes=1 << 20,
        delivery_limit=LIMIT,
    )
    broker = consuming(servers, spec, dispatcher, refused_while_down)
    try:
        await broker.start()
        await ch.default_exchange.publish(
            aio_pika.Message(b'{"x": 1}', message_id="held-1", delivery_mode=2), routing_key=spec.name
        )
        await asyncio.sleep(1.5)  # longer than LIMIT retries with their back-off would take
        assert done == [] and attempts == [0], "tried once, then held at the gate"
        down = False
        for _ in range(50):
            if done:
                break
            await asyncio.sleep(0.1)
        assert done == [0], "processed once when the database answered, its delivery count untouched"
        await asyncio.sleep(0.3)
        assert (await queue.declare()).message_count == 0
    finally:
        await broker.stop()
        await publisher.close()
        await queue.delete(if_unused=False, if_empty=False)
        await conn.close()
