"""What every service process is made of: broker, database, outbox relay, dispatcher, HTTP.

A service module builds one :class:`Service`, registers its handlers with :meth:`Service.consume`,
adds its HTTP routes, and exposes ``service.app`` — an ASGI FastStream application, so it runs as
``faststream run services.<name>.main:app --workers N --host 0.0.0.0 --port 800x``.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Any, TypeVar

import aio_pika
import sqlalchemy as sa
from aio_pika.abc import AbstractIncomingMessage
from faststream.asgi import AsgiFastStream
from faststream.rabbit import QueueType, RabbitBroker, RabbitQueue
from faststream.specification import AsyncAPI
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from .batching import Batcher
from .consumers import Consumers
from .contract.commands import Command
from .contract.events import CommandRejected, EventData, make_event
from .db import db_retry, make_engine, make_sessionmaker
from .logs import adopt_library_loggers, configure_logging, get_logger
from .outbox import Outbox, Tx
from .runtime import Dispatcher, Handler, Incoming, Rejected
from .settings import Settings, get_settings
from .topology import EVENTS, QueueSpec, declare_topology, exchange

log = get_logger(__name__)
T = TypeVar("T")
SHUTDOWN_GRACE = 10.0  # seconds for the deliveries in flight to finish (compose allows 30 s in all)


async def _documented_only(body: bytes) -> None:  # pragma: no cover - never consumed
    """Stands for a queue's handler in the AsyncAPI document (see Service.consume)."""


class ServiceApp(AsgiFastStream):
    """AsgiFastStream whose HTTP side is a Starlette app (path parameters, methods, auth)."""

    http: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self.lifespan(scope, receive, send)
            return
        await self.http(scope, receive, send)


class Service:
    def __init__(self, name: str, *, description: str, settings: Settings | None = None):
        self.name = name
        self.settings = settings or get_settings()
        configure_logging(name, self.settings.log_level)
        # publishes dead letters and the HTTP ingress; consuming is shared.consumers' job
        self.broker = RabbitBroker(
            self.settings.amqp_url,
            logger=logging.getLogger("faststream"),
            app_id=f"meetdesk-{name}",
            log_level=logging.DEBUG,
        )
        # never connected: describes what the service consumes and publishes (AsyncAPI)
        self.described = RabbitBroker(self.settings.amqp_url)
        self.consumers = Consumers(self.settings.amqp_url, prefetch=self.settings.prefetch)
        self.engine: AsyncEngine | None = None
        self.sessions: Callable[[], AsyncConnection] | None = None
        self._outbox: Outbox | None = None
        self._dispatcher: Dispatcher | None = None
        self._queues: list[QueueSpec] = []
        self._batchers: dict[Any, Batcher[Any]] = {}
        self._probe: aio_pika.abc.AbstractRobustConnection | None = None
        self.app = ServiceApp(
            self.broker,
            specification=AsyncAPI(self.described, title=f"meetdesk {name}", version="0.1.0", description=description),
            on_startup=[self._on_startup],
            after_startup=[self._after_startup],
            on_shutdown=[self._on_shutdown],
            after_shutdown=[self._after_shutdown],
        )
        self.app.http = Starlette()
        self.route("/healthz", self._healthz)
        self.route("/readyz", self._readyz)

    # -- wiring ---------------------------------------------------------------------------------
    @property
    def outbox(self) -> Outbox:
        assert self._outbox is not None, "the service has not started"
        return self._outbox

    def route(self, path: str, endpoint: Any, methods: Sequence[str] = ("GET",)) -> None:
        self.app.http.router.routes.append(Route(path, endpoint, methods=list(methods)))

    def consume(self, spec: QueueSpec, *, description: str = "") -> Any:
        """Register ``handler`` for ``spec``'s queue (declared by the topology, consumed here)."""

        def decorator(handler: Handler) -> Handler:
            self._queues.append(spec)
            self.described.subscriber(
                RabbitQueue(spec.name, queue_type=QueueType.QUORUM, declare=False),
                title=f"{spec.name}:consume",
                description=description or handler.__doc__,
            )(_documented_only)

            async def on_message(delivery: AbstractIncomingMessage) -> None:
                assert self._dispatcher is not None
                await self._dispatcher.dispatch(delivery, spec, handler)

            self.consumers.add(spec.name, on_message)
            return handler

        return decorator

    def batched(
        self, apply: Callable[[Tx, T], Awaitable[None]], *, max_size: int = 100
    ) -> Callable[[T], Awaitable[None]]:
        """A ``submit(item)`` that applies ``item`` with ``apply(tx, item)`` in a transaction shared
        with other items delivered at the same time (see :mod:`shared.batching`); it returns once
        that transaction has committed."""

        async def each(tx: Tx, items: list[T]) -> None:
            for item in items:
                await apply(tx, item)

        return self.batched_sets(each, max_size=max_size)

    def batched_sets(
        self, apply: Callable[[Tx, list[T]], Awaitable[None]], *, max_size: int = 100
    ) -> Callable[[T], Awaitable[None]]:
        """Like :meth:`batched`, for an ``apply(tx, items)`` that takes the whole batch at once
        (and so can write it with a few set-based statements instead of a few per item)."""

        async def submit(item: T) -> None:
            batcher = self._batchers.get(apply)
            if batcher is None:
                batcher = self._batchers[apply] = Batcher(self.outbox, apply, max_size=max_size)
            await batcher.submit(item)

        return submit

    def consume_commands(
        self,
        spec: QueueSpec,
        handled: dict[str, type[Command]],
        apply: Callable[[Tx, str, Any, uuid.UUID], Awaitable[str | None]],
    ) -> None:
        """Commands on ``spec``'s queue: the routing key names the command, ``handled`` its model.
        A command id is applied once; ``apply`` returns why a command is refused (it must then have
        changed nothing) and the refusal goes out as ``command.rejected``. An unknown or invalid
        command is dead-lettered, with ``command.rejected`` too."""

        async def on_command(msg: Incoming) -> None:
            model = handled.get(msg.routing_key)
            if model is None:
                raise Rejected(f"unknown command {msg.routing_key!r}; {self.name} accepts {', '.join(sorted(handled))}")
            cmd = msg.parse(model)
            async for attempt in db_retry():
                with attempt:
                    async with self.outbox.transaction() as tx:
                        if not await tx.claim(f"command:{cmd.command_id}"):
                            return
                        refusal = await apply(tx, msg.routing_key, cmd, msg.correlation_id)
                        if refusal:
                            log.info("command refused", command=msg.routing_key, reason=refusal)
                            refused = CommandRejected(
                                command_id=cmd.command_id, command=msg.routing_key, reason=refusal
                            )
                            tx.emit(make_event(refused, producer=self.name, correlation_id=msg.correlation_id))

        on_command.__doc__ = f"Commands {', '.join(sorted(handled))} (repeating a command_id has no effect)."
        self.consume(spec)(on_command)

    def produces(self, *events: type[EventData]) -> None:
        """Document the events this service publishes (AsyncAPI); publishing goes via the outbox."""
        for event in events:
            self.described.publisher(
                exchange=exchange(EVENTS),
                routing_key=event.event_type,
                title=f"{event.event_type}:publish",
                schema=event,
                description=(event.__doc__ or "").strip() or None,
            )

    # -- lifecycle ------------------------------------------------------------------------------
    async def _on_startup(self) -> None:
        adopt_library_loggers()  # uvicorn configured its loggers after our import-time setup
        await declare_topology(self.settings.amqp_url, self.settings.delivery_limit)
        self.engine = make_engine(self.settings.database_url)
        self.sessions = make_sessionmaker(self.engine)
        self._outbox = Outbox(
            self.sessions,
            self.settings.amqp_url,
            batch=self.settings.relay_batch,
            poll=self.settings.relay_poll_seconds,
            app_id=f"meetdesk-{self.name}",
            retention=timedelta(days=self.settings.inbox_retention_days),
        )
        self._dispatcher = Dispatcher(
            producer=self.name, broker=self.broker, outbox=self._outbox, settings=self.settings
        )

    async def _after_startup(self) -> None:
        self.outbox.start()
        await self.consumers.start()
        log.info("service started", port=self.settings.http_port, queues=[q.name for q in self._queues])

    async def _on_shutdown(self) -> None:
        log.info("service stopping: no new deliveries, finishing those in flight", in_flight=self.consumers.in_flight)
        await self.consumers.stop(grace=SHUTDOWN_GRACE)

    async def _after_shutdown(self) -> None:
        # the consumers have stopped and in-flight handlers are done: now the batchers and the relay
        # (which publishes on its own connection) can finish what those handlers committed
        for batcher in self._batchers.values():
            await batcher.stop()
        if self._outbox:
            await self._outbox.stop()
        if self._probe:
            await self._probe.close()
        log.info("service stopped")

    # -- health ---------------------------------------------------------------------------------
    async def _healthz(self, request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "service": self.name})

    async def _readyz(self, request: Request) -> JSONResponse:
        checks: dict[str, Any] = {}
        try:
            checks["broker"] = bool(await self.broker.ping(timeout=2.0))
        except Exception as exc:
            checks["broker"] = f"error: {type(exc).__name__}"
        try:
            assert self.engine is not None, "not started"
            async with self.engine.connect() as conn:
                await asyncio.wait_for(conn.execute(sa.text("SELECT 1")), timeout=2.0)
            checks["database"] = True
        except Exception as exc:
            checks["database"] = f"error: {type(exc).__name__}"
        checks["consumers"] = await self._consumer_counts()
        ready = (
            checks["broker"] is True
            and checks["database"] is True
            and all(isinstance(n, int) and n > 0 for n in checks["consumers"].values())
        )
        return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)

    async def _consumer_counts(self) -> dict[str, Any]:
        """Consumers per queue of this service: after a broker restart a connection may come back
        without its consumers (faststream#2758); then the service is not ready."""
        counts: dict[str, Any] = {}
        try:
            if self._probe is None or self._probe.is_closed:
                self._probe = await aio_pika.connect_robust(self.settings.amqp_url, timeout=2.0)
            channel = await self._probe.channel()
            try:
                for spec in self._queues:
                    queue = await channel.declare_queue(spec.name, passive=True)
                    counts[spec.name] = queue.declaration_result.consumer_count
            finally:
                await channel.close()
        except Exception as exc:
            for spec in self._queues:
                counts.setdefault(spec.name, f"error: {type(exc).__name__}")
        return counts
