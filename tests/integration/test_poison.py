"""A message whose handler keeps failing is retried up to the queue's delivery limit and then
dead-lettered with the reason, on the real broker (quorum queue delivery counts, requeue, DLX)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from types import SimpleNamespace
from typing import Any

import aio_pika
import pytest
from faststream.rabbit import RabbitBroker

from shared.consumers import Consumers
from shared.runtime import Dispatcher, Incoming
from shared.topology import DLX, ERROR_HEADER, QueueSpec

from ..servers import Servers

pytestmark = pytest.mark.integration
LIMIT = 3


class FakeOutbox:
    """Only the rejection event goes through the outbox here; what matters is the broker side."""

    def __init__(self) -> None:
        self.emitted: list[Any] = []

    @contextlib.asynccontextmanager
    async def transaction(self):  # type: ignore[no-untyped-def]
        tx = SimpleNamespace(emitted=self.emitted)

        async def claim(_: str) -> bool:
            return True

        tx.claim = claim
        tx.emit = self.emitted.append
        yield tx


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

    broker = RabbitBroker(servers.amqp_url)  # publishes the dead letter
    outbox = FakeOutbox()
    settings = SimpleNamespace(max_message_bytes=1 << 20, delivery_limit=LIMIT)
    dispatcher = Dispatcher(producer="test", broker=broker, outbox=outbox, settings=settings)  # type: ignore[arg-type]

    consumers = Consumers(servers.amqp_url, prefetch=10)

    async def handle(delivery: aio_pika.abc.AbstractIncomingMessage) -> None:
        await dispatcher.dispatch(delivery, spec, always_fails)

    consumers.add(spec.name, handle)
    try:
        await broker.start()
        await consumers.start()
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
        assert [e.data["reason"] for e in outbox.emitted] == [letter.headers[ERROR_HEADER]]
        await asyncio.sleep(0.5)
        assert (await queue.declare()).message_count == 0, "nothing left looping"
    finally:
        await consumers.stop(grace=5)
        await broker.stop()
        await queue.delete(if_unused=False, if_empty=False)
        await dlq.delete(if_unused=False, if_empty=False)
        await conn.close()
