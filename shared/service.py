"""What every service process is made of: consumers, publisher, database, outbox, scheduler, HTTP.

A service's ``main.py`` builds one :class:`Service` with its settings, its store and its policy,
tells it which handler takes which message (:meth:`Service.on_events`, :meth:`Service.on_commands`,
:meth:`Service.consume`) and which due item (:meth:`Service.on_due`), adds its HTTP routes, and
exposes ``service.app`` — an ASGI FastStream application, run as
``faststream run services.<name>.main:app --workers N --host 0.0.0.0 --port 800x``.

Messaging, settled: FastStream consumes — each queue is a FastStream subscriber (so the AsyncAPI
document describes the subscribers that really run), taking the raw delivery with manual
acknowledgement into :class:`shared.runtime.Dispatcher` (no per-message dependency injection).
Everything the process sends — events from the outbox, dead letters, the HTTP ingress — goes
through one :class:`shared.publisher.Publisher` on a second connection. Two AMQP connections per
process; readiness probes reuse them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import signal
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import wraps
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from aio_pika.abc import AbstractIncomingMessage
from faststream import AckPolicy
from faststream.asgi import AsgiFastStream
from faststream.rabbit import Channel, QueueType, RabbitBroker, RabbitQueue
from faststream.specification import AsyncAPI
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .authz import Principal, bearer_principal, may_run, may_use
from .availability import Availability, is_outage
from .batching import Batcher
from .clock import clock_from
from .contract.commands import Command
from .contract.events import CommandRejected, Envelope, EventData
from .db import db_retry, make_engine, make_sessionmaker
from .http_guard import EXCEPTION_HANDLERS as EDGE_REFUSALS
from .http_guard import BodyGuard
from .logs import adopt_library_loggers, configure_logging, get_logger
from .messages import BatchHandler, CommandHandler, CommandIn, DueHandler, EventHandler, EventIn
from .observability import (
    OUTBOX_BACKLOG,
    OUTBOX_OLDEST_AGE,
    QUEUE_CONSUMERS,
    QUEUE_MESSAGES,
    prepare_worker_metrics,
    register_shared,
    scrape_registry,
    start_queues,
)
from .outbox import Outbox
from .publisher import Publisher
from .runtime import Dispatcher, Incoming, Rejected, summarise
from .scheduler import DueItem, Scheduler
from .settings import ServiceSettings
from .topology import EVENTS, QueueSpec, declare_own, exchange
from .uow import Transaction, Transactions

log = get_logger(__name__)
EX_CONFIG = 78  # sysexits.h: a configuration error (a restart will not help)
S = TypeVar("S")
P = TypeVar("P")
T = TypeVar("T")
SHUTDOWN_GRACE = 10.0  # seconds for the deliveries in flight to finish (compose allows 30 s in all)
SCRAPE_TIMEOUT = 2.0  # seconds a /metrics scrape waits for the broker or the database
EXIT_NOT_CONSUMING = 75  # EX_TEMPFAIL: lost the broker for longer than the deadline; restart me


async def raw_delivery(message: Any) -> AbstractIncomingMessage:
    """Hand the AMQP delivery over undecoded: parsing (and refusing) its body is the dispatcher's
    job, so a body that is not JSON is dead-lettered with its reason instead of failing inside
    FastStream, and the handler needs no dependency injection to reach the delivery's properties."""
    return message.raw_message  # type: ignore[no-any-return]


class ServiceBroker(RabbitBroker):
    """FastStream's broker, whose stop cannot hang: with the broker away, cancelling consumers
    would wait for a connection that is not coming back (the deliveries return to the queue when
    the broker notices the connection is gone)."""

    async def stop(self, *args: Any, **kwargs: Any) -> None:
        connection = getattr(self, "_connection", None)
        up = connection is not None and connection.connected.is_set()
        try:
            await asyncio.wait_for(super().stop(*args, **kwargs), timeout=SHUTDOWN_GRACE + 2 if up else 3)
        except TimeoutError:
            log.warning("the broker connection did not close in time; leaving it", broker_connected=up)

    @property
    def connected(self) -> bool:
        connection = getattr(self, "_connection", None)
        return connection is not None and connection.connected.is_set()


@dataclass(frozen=True)
class CommandOutcome:
    """What applying a command did: why it was refused (None: applied), and the events it emitted."""

    refusal: str | None
    events: tuple[Envelope, ...] = ()


class BrokerUnavailable(Exception):
    """The broker cannot take a message now (HTTP ingress answers 503: try again)."""


class ServiceApp(AsgiFastStream):
    """AsgiFastStream whose HTTP side is a Starlette app (path parameters, methods, auth)."""

    http: Any = None  # the routes (Starlette)
    edge: Any = None  # what requests go through first (the body guard, in front of ``http``)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self.lifespan(scope, receive, send)
            return
        await (self.edge or self.http)(scope, receive, send)


class Service(Generic[S, P]):
    def __init__(
        self,
        name: str,
        *,
        description: str,
        settings: ServiceSettings,
        store: Callable[[AsyncConnection], S],
        policy: P,
    ):
        self.name = name
        self.settings = settings
        self.policy = policy
        self.clock = clock_from(settings.clock_offset_file)
        configure_logging(name, settings.log_level)
        self.broker = ServiceBroker(
            settings.amqp_url,
            logger=logging.getLogger("faststream"),
            app_id=f"meetdesk-{name}",
            log_level=logging.DEBUG,  # "Received"/"Processed" per message: only when debugging
            apply_types=False,  # handlers take the raw delivery (raw_delivery); no per-message DI
            default_channel=Channel(prefetch_count=settings.prefetch),
            graceful_timeout=SHUTDOWN_GRACE,
        )
        self.publisher = Publisher(settings.amqp_url, app_id=f"meetdesk-{name}")
        self._store = store
        self.engine: AsyncEngine | None = None
        self.sessions: Callable[[], AsyncConnection] | None = None
        self._outbox: Outbox | None = None
        self._transactions: Transactions[S] | None = None
        self._dispatcher: Dispatcher | None = None
        self._scheduler: Scheduler | None = None
        self._watchdog: asyncio.Task[None] | None = None
        self.exit_code = 0
        self.availability = Availability(self._probe, name="database and broker")
        self._due: dict[str, DueHandler] = {}
        self._scrape_hooks: list[Callable[[], Awaitable[None]]] = []
        self._commands: dict[str, tuple[type[Command], CommandHandler]] = {}
        self._queues: list[QueueSpec] = []
        self.protected_paths: list[str] = []  # route templates that need a bearer token (see route)
        self._batchers: list[Batcher[Any]] = []
        # /metrics: this process's registry, or with several workers the sum of theirs (shared/observability.py)
        prepare_worker_metrics()
        self.registry = CollectorRegistry()
        for collector in (ProcessCollector, PlatformCollector, GCCollector):
            collector(registry=self.registry)
        register_shared(self.registry)
        self._due_gauges = {
            "overdue": Gauge(
                "meetdesk_due_items_overdue",
                "Due items whose time has come, not yet fired",
                multiprocess_mode="mostrecent",
                registry=self.registry,
            ),
            "oldest": Gauge(
                "meetdesk_due_items_oldest_overdue_seconds",
                "How late the oldest overdue item is (0 when none is overdue)",
                multiprocess_mode="mostrecent",
                registry=self.registry,
            ),
            "pending": Gauge(
                "meetdesk_due_items_pending",
                "Due items scheduled and not parked",
                multiprocess_mode="mostrecent",
                registry=self.registry,
            ),
            "parked": Gauge(
                "meetdesk_due_items_parked",
                "Due items parked after failing (the due-item dead-letter)",
                multiprocess_mode="mostrecent",
                registry=self.registry,
            ),
        }
        self._due_fired = Counter(
            "meetdesk_due_items_fired", "Due items fired, by kind", ["kind"], registry=self.registry
        )
        self._due_lag = Histogram(
            "meetdesk_due_item_lag_seconds",
            "Time from an item's due time to its firing",
            buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 3600),
            registry=self.registry,
        )
        self.app = ServiceApp(
            self.broker,
            specification=AsyncAPI(title=f"meetdesk {name}", version="0.2.0", description=description),
            on_startup=[self._on_startup],
            after_startup=[self._after_startup],
            on_shutdown=[self._on_shutdown],
            after_shutdown=[self._after_shutdown],
        )
        self.app.http = Starlette(exception_handlers={BrokerUnavailable: _unavailable, **EDGE_REFUSALS})
        self.app.edge = BodyGuard(
            self.app.http, max_bytes=settings.max_message_bytes, read_timeout=settings.http_body_timeout_seconds
        )
        self.route("/healthz", self._healthz)
        self.route("/readyz", self._readyz)
        self.route("/metrics", self._prometheus)

    # -- wiring ---------------------------------------------------------------------------------
    def route(self, path: str, endpoint: Any, methods: Sequence[str] = ("GET",), *, protected: bool = False) -> None:
        """An HTTP route; ``protected``: it needs a bearer token whose role may use ``path``
        (:data:`shared.authz.PATH_RULES`; the endpoint finds the principal in ``request.state.principal``)."""
        if protected:
            self.protected_paths.append(path)
        self.app.http.router.routes.append(
            Route(path, self._protected(path, endpoint) if protected else endpoint, methods=list(methods))
        )

    def authenticate(self, request: Request) -> Principal | None:
        """The principal of the request's bearer token, or None (no token, or one nobody was given)."""
        return bearer_principal(request.headers.get("authorization", ""), self.settings.http_principals())

    def _protected(
        self, path: str, endpoint: Callable[[Request], Awaitable[Response]]
    ) -> Callable[[Request], Awaitable[Response]]:
        @wraps(endpoint)
        async def wrapper(request: Request) -> Response:
            principal = self.authenticate(request)
            if principal is None:  # also when no token is configured: nobody is let in
                return JSONResponse(
                    {"error": "a valid bearer token is required"},
                    status_code=401,
                    headers={"WWW-Authenticate": "Bearer"},
                )
            refusal = may_use(principal, path)
            if refusal is not None:
                log.info("request forbidden", path=path, principal=principal.id, role=principal.role)
                return JSONResponse({"error": "forbidden", "reason": refusal}, status_code=403)
            request.state.principal = principal
            return await endpoint(request)

        return wrapper

    def consume(self, spec: QueueSpec, *, description: str = "") -> Any:
        """Register ``handler(msg: Incoming)`` for ``spec``'s queue (declared by the topology)."""

        def decorator(handler: Callable[[Incoming], Awaitable[None]]) -> Callable[[Incoming], Awaitable[None]]:
            self._queues.append(spec)
            start_queues([spec.name])

            @self.broker.subscriber(
                RabbitQueue(spec.name, queue_type=QueueType.QUORUM, declare=False),
                ack_policy=AckPolicy.MANUAL,
                decoder=raw_delivery,
                no_reply=True,
                title=f"{spec.name}:consume",
                description=description or handler.__doc__,
            )
            async def _delivered(body: bytes) -> None:
                # the annotation is what AsyncAPI documents: the payload as it travels (a channel's
                # native bytes or a JSON envelope, validated by the dispatcher and the handler);
                # what arrives here is the raw AMQP delivery (see raw_delivery)
                assert self._dispatcher is not None
                await self._dispatcher.dispatch(body, spec, handler)  # type: ignore[arg-type]

            return handler

        return decorator

    def on_events(self, spec: QueueSpec, handlers: Mapping[type[EventData], EventHandler]) -> None:
        """Events on ``spec``'s queue, each type to its handler (others are acknowledged and left).
        An event id is handled once; data that does not fit its model is dead-lettered."""
        by_type = {model.event_type: (model, handler) for model, handler in handlers.items()}

        async def on_event(msg: Incoming) -> None:
            env = msg.parse(Envelope)
            found = by_type.get(env.type)
            if found is None:
                return
            model, handler = found
            try:
                data = model.model_validate(env.data)
            except ValidationError as exc:
                raise Rejected(f"{env.type} data invalid: {summarise(exc)}") from None
            async for attempt in db_retry():
                with attempt:
                    async with self.transaction() as tx:
                        if await tx.claim(f"event:{env.event_id}"):
                            await handler(tx, EventIn(env, data), tx.now, self.policy)

        on_event.__doc__ = "; ".join(
            f"{t}: {(h.__doc__ or '').strip().splitlines()[0]}" for t, (_, h) in by_type.items()
        )
        self.consume(spec)(on_event)

    def on_commands(self, spec: QueueSpec, handlers: Mapping[type[Command], CommandHandler]) -> None:
        """Commands on ``spec``'s queue: the routing key names the command. A command id is applied
        once; a handler's refusal goes out as ``command.rejected`` (and changed nothing). An unknown
        or invalid command is dead-lettered, with ``command.rejected`` too; so is one whose AMQP
        ``user_id`` is missing or names a RabbitMQ user not mapped to a principal
        (``MEETDESK_COMMAND_PUBLISHERS``), or whose principal may not run it (:func:`shared.authz.may_run`)."""
        by_name = {model.command_name: (model, handler) for model, handler in handlers.items()}
        self._commands.update(by_name)

        async def on_command(msg: Incoming) -> None:
            principal = self.publisher_principal(msg.user_id)  # before anything else is said about it
            found = by_name.get(msg.routing_key)
            if found is None:
                raise Rejected(f"unknown command {msg.routing_key!r}; {self.name} accepts {', '.join(sorted(by_name))}")
            cmd = msg.parse(found[0])
            refusal = may_run(principal, cmd)
            if refusal is not None:
                raise Rejected(f"forbidden: {refusal}")
            await self.run_command(cmd, correlation_id=msg.correlation_id)

        on_command.__doc__ = f"Commands {', '.join(sorted(by_name))} (repeating a command_id has no effect)."
        self.consume(spec)(on_command)

    def publisher_principal(self, user_id: str | None) -> Principal:
        """Who sent a command over the queue: the principal of its AMQP ``user_id`` (RabbitMQ refuses a
        publish whose ``user_id`` is not the connection's user), or :class:`Rejected` with the reason."""
        if not user_id:
            raise Rejected("unauthenticated: a command needs the AMQP user_id property (the publishing RabbitMQ user)")
        principal = self.settings.publisher_principals().get(user_id)
        if principal is None:
            raise Rejected(f"unauthenticated: the RabbitMQ user {user_id!r} may not send commands")
        return principal

    def command_model(self, name: str) -> type[Command] | None:
        """The contract model of a command this service takes (:meth:`on_commands`), or None."""
        found = self._commands.get(name)
        return found[0] if found else None

    async def run_command(
        self,
        cmd: Command,
        *,
        correlation_id: uuid.UUID,
        record: Callable[[Transaction[S], CommandOutcome], Awaitable[None]] | None = None,
    ) -> CommandOutcome | None:
        """Apply a parsed command with the handler :meth:`on_commands` registered for it, exactly as a
        command from the queue is applied (the queue path calls this): one unit of work claiming
        ``command:<id>``; a refusal undoes what the handler did and emits ``command.rejected``.
        ``record(tx, outcome)`` runs in the same transaction (e.g. to keep an HTTP caller's answer).
        None: the command id was applied before, nothing was done again."""
        name = cmd.command_name
        _, handler = self._commands[name]
        outcome: CommandOutcome | None = None
        async for attempt in db_retry():
            with attempt:
                async with self.transaction() as tx:
                    if not await tx.claim(f"command:{cmd.command_id}"):
                        return None
                    mark = tx.mark()
                    async with tx.session.begin_nested() as attempt_tx:
                        refusal = await handler(tx, CommandIn(name, cmd, correlation_id), tx.now, self.policy)
                        if refusal:  # whatever the handler did before refusing is undone
                            await attempt_tx.rollback()
                            tx.undo(mark)
                    outcome = CommandOutcome(refusal, tuple(env for env, _ in tx.emitted[mark[0] :]))
                    if refusal:
                        log.info("command refused", command=name, reason=refusal)
                        tx.emit(
                            CommandRejected(command_id=cmd.command_id, command=name, reason=refusal),
                            correlation_id=correlation_id,
                        )
                    if record is not None:
                        await record(tx, outcome)
        return outcome

    def on_due(self, handlers: Mapping[str, DueHandler]) -> None:
        """Due items of each kind to their handler (fired by this service's scheduler)."""
        self._due.update(handlers)

    def batched(self, handler: BatchHandler) -> Callable[[Any], Awaitable[None]]:
        """A ``submit(item)`` for items delivered at the same time: they are handled together, with
        one call of ``handler(uow, items, now, policy)`` in one shared transaction (see
        :mod:`shared.batching`); ``submit`` returns once that transaction has committed."""

        async def apply(uow: Transaction[S], items: list[Any]) -> None:
            await handler(uow, items, uow.now, self.policy)

        batcher: Batcher[Any] | None = None

        async def submit(item: Any) -> None:
            nonlocal batcher
            if batcher is None:
                batcher = Batcher(self.transaction, apply)
                self._batchers.append(batcher)
            await batcher.submit(item)

        return submit

    def produces(self, *events: type[EventData]) -> None:
        """Document the events this service publishes (AsyncAPI); they go out via the outbox."""
        for event in events:
            self.broker.publisher(
                exchange=exchange(EVENTS),
                routing_key=event.event_type,
                title=f"{event.event_type}:publish",
                schema=event,
                description=(event.__doc__ or "").strip() or None,
            )

    def transaction(self, now: datetime | None = None) -> contextlib.AbstractAsyncContextManager[Transaction[S]]:
        """A unit of work on this service's database (``now``: the clock's, unless given)."""
        assert self._transactions is not None, "the service has not started"
        return self._transactions.begin(now)

    @property
    def outbox(self) -> Outbox:
        assert self._outbox is not None, "the service has not started"
        return self._outbox

    @property
    def scheduler(self) -> Scheduler | None:
        return self._scheduler

    async def publish(self, body: bytes, *, exchange: str, routing_key: str, **properties: Any) -> None:
        """Publish directly (HTTP ingress): persistent, confirmed; :class:`BrokerUnavailable` (HTTP
        503 in a route) when the broker cannot take it now."""
        try:
            await self.publisher.publish(body, exchange=exchange, routing_key=routing_key, timeout=10, **properties)
        except Exception as exc:
            if is_outage(exc) or isinstance(exc, TimeoutError):
                raise BrokerUnavailable(f"the broker is unavailable: {type(exc).__name__}") from exc
            raise

    async def _probe(self) -> None:
        """What the availability gate waits for: the database answers and the broker takes publishes."""
        assert self.engine is not None
        async with self.engine.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))
        await self.publisher.ensure()

    # -- lifecycle ------------------------------------------------------------------------------
    async def _on_startup(self) -> None:
        adopt_library_loggers()  # uvicorn configured its loggers after our import-time setup
        problem = self.settings.secret_problem()
        if problem is not None:
            log.critical("refusing to start", reason=problem)
            raise SystemExit(EX_CONFIG)
        # its own queues only (the topology step declares the rest; shared/topology.py)
        await declare_own(self.publisher.channel, self.name, self.settings.delivery_limit)
        self.engine = make_engine(self.settings.database_url)
        self.sessions = make_sessionmaker(self.engine)
        self._outbox = Outbox(
            self.sessions,
            self.publisher,
            batch=self.settings.relay_batch,
            poll=self.settings.relay_poll_seconds,
            retention=timedelta(days=self.settings.inbox_retention_days),
        )
        self._transactions = Transactions(
            self.sessions, self._store, producer=self.name, clock=self.clock, on_commit=self._committed
        )
        self._dispatcher = Dispatcher(
            publisher=self.publisher,
            begin=self.transaction,
            availability=self.availability,
            max_message_bytes=self.settings.max_message_bytes,
            delivery_limit=self.settings.delivery_limit,
        )
        if self._due:
            self._scheduler = Scheduler(
                self.name,
                self.transaction,
                {kind: self._fire(handler) for kind, handler in self._due.items()},
                self.clock,
                batch=self.settings.scheduler_batch,
                poll=self.settings.scheduler_poll_seconds,
                attempts=self.settings.scheduler_attempts,
                is_outage=is_outage,
                on_fired=self._fired,
            )

    def _fire(self, handler: DueHandler) -> Callable[[Transaction[S], DueItem], Awaitable[None]]:
        async def fire(tx: Transaction[S], item: DueItem) -> None:
            await handler(tx, item, tx.now, self.policy)

        return fire

    def _fired(self, item: DueItem, now: datetime) -> None:
        self._due_fired.labels(item.kind).inc()
        self._due_lag.observe(max(0.0, (now - item.due_at).total_seconds()))

    def _committed(self, tx: Transaction[S]) -> None:
        self.outbox.committed(tx.written)
        if tx.due_times and self._scheduler is not None:
            horizon = self.clock.now() + timedelta(seconds=self.settings.scheduler_poll_seconds)
            if min(tx.due_times) <= horizon:
                self._scheduler.wake()

    async def _after_startup(self) -> None:
        self.outbox.start()
        if self._scheduler is not None:
            self._scheduler.start()
        self._watchdog = asyncio.create_task(self._watch_consumers(), name="consumer-watchdog")
        log.info(
            "service started",
            port=self.settings.http_port,
            queues=[q.name for q in self._queues],
            due_kinds=sorted(self._due),
        )

    async def _on_shutdown(self) -> None:
        log.info("service stopping: no new deliveries or due items, finishing those in flight")
        if self._watchdog is not None:
            self._watchdog.cancel()
        if self._scheduler is not None:
            await self._scheduler.stop()

    async def _after_shutdown(self) -> None:
        # FastStream has stopped the subscribers and waited for the deliveries in flight: now the
        # batchers and the relay can finish what those handlers committed
        for batcher in self._batchers:
            await batcher.stop()
        if self._outbox:
            await self._outbox.stop()
        await self.availability.close()
        await self.publisher.close()
        if self.engine is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.engine.dispose(), 2)
        log.info("service stopped", exit_code=self.exit_code)
        if self.exit_code:
            os._exit(self.exit_code)  # the supervisor must see the failure and restart us

    async def _watch_consumers(self) -> None:
        """Every queue of this service must have its consumers back within
        ``consumer_deadline_seconds`` of losing them (a broker restart, a dropped connection); a
        process that cannot get them back stops and exits non-zero, so its supervisor restarts it."""
        lost_since: float | None = None
        deadline = self.settings.consumer_deadline_seconds
        while True:
            await asyncio.sleep(self.settings.consumer_check_seconds)
            if not self._queues:
                continue
            counts = await self._consumer_counts()
            ok = self.broker.connected and all(isinstance(n, int) and n > 0 for n in counts.values())
            if ok:
                if lost_since is not None:
                    log.warning("consuming again", after_s=round(time.monotonic() - lost_since, 1))
                lost_since = None
                continue
            if lost_since is None:
                lost_since = time.monotonic()
                log.warning("not consuming: waiting for the broker connection and consumers", consumers=counts)
            elif time.monotonic() - lost_since > deadline:
                log.error(
                    "consumers not back within the deadline: stopping, to be restarted",
                    deadline_s=deadline,
                    consumers=counts,
                )
                self.exit_code = EXIT_NOT_CONSUMING
                os.kill(os.getpid(), signal.SIGTERM)
                return

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
        if self._scheduler is not None:
            checks["scheduler"] = self._scheduler_check()
            ready = ready and checks["scheduler"]["ok"]
        return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)

    def _scheduler_check(self) -> dict[str, Any]:
        """The scheduler runs and is not stuck: its last round is recent, and nothing has been
        overdue for longer than the alert threshold."""
        assert self._scheduler is not None
        backlog = self._scheduler.backlog
        since_round = time.monotonic() - self._scheduler.last_tick
        stalled = since_round > max(30.0, 10 * self.settings.scheduler_poll_seconds)
        late = backlog.oldest_overdue_seconds > self.settings.scheduler_overdue_alert_seconds
        return {
            "ok": self._scheduler.running and not stalled and not late,
            "running": self._scheduler.running,
            "seconds_since_round": round(since_round, 1),
            "overdue": backlog.overdue,
            "oldest_overdue_seconds": round(backlog.oldest_overdue_seconds, 1),
            "pending": backlog.pending,
            "parked": backlog.parked,
        }

    async def _consumer_counts(self) -> dict[str, Any]:
        """Consumers per queue of this service: a connection that came back without its consumers
        (faststream#2758) makes the service not ready."""
        try:
            counts = await self.publisher.queue_counts(q.name for q in self._queues)
            return {name: consumers for name, (_, consumers) in counts.items()}
        except Exception as exc:
            return {q.name: f"error: {type(exc).__name__}" for q in self._queues}

    def on_scrape(self, refresh: Callable[[], Awaitable[None]]) -> None:
        """Run ``refresh()`` before each ``/metrics`` scrape (gauges of live figures); it must not
        raise, nor take long: the scrape waits for it."""
        self._scrape_hooks.append(refresh)

    async def _prometheus(self, request: Request) -> Response:
        for refresh in self._scrape_hooks:
            await refresh()
        await asyncio.gather(self._refresh_queue_gauges(), self._refresh_outbox_gauges())
        if self._scheduler is not None:
            backlog = self._scheduler.backlog
            self._due_gauges["overdue"].set(backlog.overdue)
            self._due_gauges["oldest"].set(backlog.oldest_overdue_seconds)
            self._due_gauges["pending"].set(backlog.pending)
            self._due_gauges["parked"].set(backlog.parked)
        return Response(generate_latest(scrape_registry(self.registry)), media_type=CONTENT_TYPE_LATEST)

    async def _refresh_queue_gauges(self) -> None:
        """Consumers and ready messages of this service's queues, as the broker counts them (one
        passive declaration per queue on the publishing connection); NaN when it does not answer."""
        names = [q.name for q in self._queues]
        if not names:
            return
        try:
            counts = await asyncio.wait_for(self.publisher.queue_counts(names, timeout=SCRAPE_TIMEOUT), SCRAPE_TIMEOUT)
        except Exception as exc:
            log.warning("scrape: the broker did not answer for the queue gauges", error=type(exc).__name__)
            counts = {}
        for name in names:
            messages, consumers = counts.get(name, (math.nan, math.nan))
            QUEUE_CONSUMERS.labels(name).set(consumers)
            QUEUE_MESSAGES.labels(name).set(messages)

    async def _refresh_outbox_gauges(self) -> None:
        """The outbox's backlog and the age of its oldest row (a capped count and one index step);
        NaN when the database does not answer."""
        if self._outbox is None:
            return
        try:
            backlog = await asyncio.wait_for(self._outbox.backlog(), SCRAPE_TIMEOUT)
        except Exception as exc:
            log.warning("scrape: the database did not answer for the outbox gauges", error=type(exc).__name__)
            OUTBOX_BACKLOG.set(math.nan)
            OUTBOX_OLDEST_AGE.set(math.nan)
            return
        OUTBOX_BACKLOG.set(backlog.rows)
        OUTBOX_OLDEST_AGE.set(backlog.oldest_seconds)


async def _unavailable(request: Request, exc: Exception) -> Response:
    return JSONResponse({"error": str(exc) or "service unavailable"}, status_code=503, headers={"Retry-After": "5"})
