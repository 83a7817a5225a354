"""The service consumers on the real broker: deliveries run concurrently up to the prefetch, and a
shutdown lets those in flight finish while the rest stay queued."""

from __future__ import annotations

import asyncio
import uuid

import aio_pika
import pytest

from shared.consumers import Consumers

from ..servers import Servers

pytestmark = pytest.mark.integration


async def test_stop_finishes_deliveries_in_flight_and_leaves_the_rest_queued(servers: Servers) -> None:
    name = f"test.consumers.{uuid.uuid4().hex[:8]}"
    conn = await aio_pika.connect(servers.amqp_url)
    ch = await conn.channel()
    queue = await ch.declare_queue(name, durable=True, arguments={"x-queue-type": "quorum"})
    for i in range(6):
        await ch.default_exchange.publish(aio_pika.Message(str(i).encode(), delivery_mode=2), routing_key=name)

    started: list[bytes] = []
    finished: list[bytes] = []
    both_started = asyncio.Event()

    async def slow(delivery: aio_pika.abc.AbstractIncomingMessage) -> None:
        started.append(delivery.body)
        if len(started) == 2:
            both_started.set()
        await asyncio.sleep(0.5)
        await delivery.ack()
        finished.append(delivery.body)

    consumers = Consumers(servers.amqp_url, prefetch=2)
    consumers.add(name, slow)
    try:
        await consumers.start()
        await asyncio.wait_for(both_started.wait(), timeout=10)
        assert consumers.in_flight == 2, "two deliveries at once: the prefetch"
        await consumers.stop(grace=5)
        assert sorted(finished) == sorted(started), "every delivery that started was finished and acknowledged"
        assert len(finished) == 2
        await asyncio.sleep(0.3)
        left = (await ch.declare_queue(name, passive=True)).declaration_result.message_count
        assert left == 6 - len(finished), "the deliveries that never started are back in the queue"
    finally:
        await queue.delete(if_unused=False, if_empty=False)
        await conn.close()
