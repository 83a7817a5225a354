"""The one publishing path of a process: its own AMQP connection, publisher confirms, many in flight.

Everything a service sends goes through here: the outbox relay's events, dead letters, and what the
HTTP ingress accepts. Consuming runs on FastStream's connection (see :mod:`shared.service`); RabbitMQ
advises separate connections for the two, because the broker throttles a publishing connection
under memory pressure and that must not stall acknowledgements. So a process has two connections.

Publishing is straight on aiormq with ``wait=False``: aio-pika's publish waits for the socket to
drain while holding the channel's lock, which serialises the publishes in flight; the confirm is
awaited all the same (a nack raises ``DeliveryError``). The connection is reopened on demand after
a loss; a publish during an outage fails at once with :class:`BrokerConnectionError`, and its caller
retries (the outbox keeps its rows, a dead letter's delivery waits at the availability gate, the
HTTP ingress answers 503).

A command sent to ``meetdesk.commands`` carries the AMQP ``user_id`` of this connection's RabbitMQ
user: the broker refuses a ``user_id`` that is not the connection's own, and the consuming service
maps it to a principal and its role (:meth:`shared.service.Service.publisher_principal`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any

import aio_pika
import aiormq
from aio_pika.abc import AbstractConnection

from .logs import get_logger
from .settings import broker_user_of
from .topology import COMMANDS

log = get_logger(__name__)

PERSISTENT = int(aio_pika.DeliveryMode.PERSISTENT)


class Publisher:
    def __init__(self, amqp_url: str, *, app_id: str = "", connect_timeout: float = 5.0):
        self._url = amqp_url
        self.broker_user = broker_user_of(amqp_url)  # the user_id of the commands it sends
        self._app_id = app_id or None
        self._timeout = connect_timeout
        self._connection: AbstractConnection | None = None
        self._channel: aio_pika.abc.AbstractChannel | None = None
        self._lock = asyncio.Lock()

    async def _underlay(self) -> aiormq.abc.AbstractChannel:
        """The publishing channel (publisher confirms on), opened on first use and again after a
        loss: a plain connection, reopened on demand, so that a publish during an outage fails at
        once with a ConnectionError instead of waiting on a reconnect loop."""
        channel = self._channel
        if channel is not None and not channel.is_closed and self._connection is not None:
            if not self._connection.is_closed:
                return await channel.get_underlay_channel()
        async with self._lock:
            try:
                if self._connection is None or self._connection.is_closed:
                    self._channel = None
                    self._connection = await aio_pika.connect(self._url, timeout=self._timeout)
                if self._channel is None or self._channel.is_closed:
                    self._channel = await self._connection.channel(publisher_confirms=True)
                return await self._channel.get_underlay_channel()
            except Exception as exc:
                await self._drop()
                raise BrokerConnectionError(f"cannot reach the broker: {type(exc).__name__}: {exc}") from exc

    async def _drop(self) -> None:
        connection, self._connection, self._channel = self._connection, None, None
        if connection is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(connection.close(), 2)

    async def ensure(self) -> None:
        """Open the connection and channel if they are not (raises when the broker is away)."""
        await self._underlay()

    async def publish(
        self,
        body: bytes,
        *,
        exchange: str,
        routing_key: str,
        message_id: str | None = None,
        correlation_id: str | None = None,
        message_type: str | None = None,
        content_type: str | None = "application/json",
        headers: Mapping[str, Any] | None = None,
        timeout: float = 30.0,
    ) -> None:
        """Publish persistently and wait for the broker's confirm (callers keep many in flight)."""
        channel = await self._underlay()
        try:
            async with asyncio.timeout(timeout):  # a confirm that never comes (broker gone) fails the publish
                await channel.basic_publish(
                    body,
                    exchange=exchange,
                    routing_key=routing_key,
                    properties=aiormq.spec.Basic.Properties(
                        message_id=message_id,
                        correlation_id=correlation_id,
                        message_type=message_type,
                        content_type=content_type,
                        delivery_mode=PERSISTENT,
                        app_id=self._app_id,
                        user_id=self.broker_user if exchange == COMMANDS else None,
                        headers=dict(headers) if headers else None,
                    ),
                    mandatory=False,
                    wait=False,  # do not wait for the socket to drain; the confirm is still awaited
                )
        except (aiormq.exceptions.AMQPConnectionError, aiormq.exceptions.ChannelInvalidStateError, RuntimeError) as exc:
            await self._drop()
            raise BrokerConnectionError(f"publish failed, the connection is gone: {type(exc).__name__}") from exc

    @contextlib.asynccontextmanager
    async def channel(self, *, timeout: float = 5.0) -> AsyncIterator[aio_pika.abc.AbstractChannel]:
        """A short-lived channel on the publishing connection (topology, probes)."""
        await self._underlay()
        assert self._connection is not None
        channel = await asyncio.wait_for(self._connection.channel(), timeout)
        try:
            yield channel
        finally:
            with contextlib.suppress(Exception):
                await channel.close()

    async def queue_counts(self, names: Iterable[str], *, timeout: float = 2.0) -> dict[str, tuple[int, int]]:
        """``{queue: (messages, consumers)}`` by passive declaration."""
        async with self.channel(timeout=timeout) as channel:
            out = {}
            for name in names:
                queue = await asyncio.wait_for(channel.declare_queue(name, passive=True), timeout)
                result = queue.declaration_result
                out[name] = (result.message_count, result.consumer_count)
            return out

    @property
    def connected(self) -> bool:
        return (
            self._connection is not None
            and not self._connection.is_closed
            and self._channel is not None
            and not self._channel.is_closed
        )

    async def close(self) -> None:
        await self._drop()


class BrokerConnectionError(ConnectionError):
    """The broker could not be reached, or the publishing connection broke (an outage, not the
    message's fault)."""
