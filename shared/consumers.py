"""A service's queue consumers: aio-pika directly, one task per delivery, drained on shutdown.

FastStream's per-message pipeline (parser, context scopes, middlewares, dependency injection, ack
policy) measured about 0.3 ms of intake's 1.9 ms of CPU per message, and the dispatcher already does
what the service needs of it (validation, dead-lettering, retries, acknowledgement), so deliveries
go straight from aio-pika to :class:`shared.runtime.Dispatcher`. FastStream still runs the
application, publishes, and documents the queues (AsyncAPI).

``connect_robust`` reopens the connection, channel, prefetch and consumers after a broker restart
(readiness still checks the consumer counts, see ``Service._readyz``). On shutdown the consumers are
cancelled first, then the deliveries in flight finish (they are acknowledged or returned), then the
connection closes: a delivery that was prefetched but never started goes back to the queue.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import aio_pika
from aio_pika.abc import AbstractIncomingMessage, AbstractQueue, AbstractRobustConnection

from .logs import get_logger

log = get_logger(__name__)

OnMessage = Callable[[AbstractIncomingMessage], Awaitable[None]]


class Consumers:
    def __init__(self, amqp_url: str, *, prefetch: int):
        self._url = amqp_url
        self._prefetch = prefetch
        self._handlers: list[tuple[str, OnMessage]] = []
        self._connection: AbstractRobustConnection | None = None
        self._consuming: list[tuple[AbstractQueue, str]] = []
        self._in_flight: set[asyncio.Task[None]] = set()

    def add(self, queue: str, on_message: OnMessage) -> None:
        self._handlers.append((queue, on_message))

    async def start(self) -> None:
        if not self._handlers:
            return
        self._connection = await aio_pika.connect_robust(self._url)
        channel = await self._connection.channel()
        await channel.set_qos(prefetch_count=self._prefetch)  # per consumer
        for name, on_message in self._handlers:
            queue = await channel.get_queue(name, ensure=False)
            tag = await queue.consume(self._tracked(on_message))
            self._consuming.append((queue, tag))

    def _tracked(self, on_message: OnMessage) -> OnMessage:
        async def deliver(message: AbstractIncomingMessage) -> None:
            task = asyncio.current_task()
            assert task is not None  # aio-pika runs each delivery in a task of its own
            self._in_flight.add(task)  # type: ignore[arg-type]
            try:
                await on_message(message)
            finally:
                self._in_flight.discard(task)  # type: ignore[arg-type]

        return deliver

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    async def stop(self, grace: float) -> None:
        """No new deliveries; wait up to ``grace`` seconds for those in flight; disconnect."""
        for queue, tag in self._consuming:
            try:
                await queue.cancel(tag)
            except Exception:  # the channel is gone already: nothing more will be delivered
                log.warning("consumer not cancelled cleanly", queue=queue.name, exc_info=True)
        self._consuming.clear()
        if self._in_flight:
            _, late = await asyncio.wait(set(self._in_flight), timeout=grace)
            if late:
                log.warning("deliveries unfinished after the grace period return to the queue", count=len(late))
                for task in late:
                    task.cancel()
        if self._connection is not None:
            await self._connection.close()
