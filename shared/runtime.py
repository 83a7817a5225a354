"""The message path every handler shares: size limit, correlation id, dead-lettering, retries.

Handlers are thin adapters: they get an :class:`Incoming`, parse it with the contract models and call
domain code inside an outbox transaction. What they cannot accept they raise as :class:`Rejected`;
the dispatcher puts such a message in the queue's dead-letter queue with the reason in
``x-meetdesk-error``, emits ``intake.rejected`` / ``command.rejected`` / ``message.rejected``, and
acknowledges it. Any other exception is retried with a growing pause; on the last allowed delivery
it is dead-lettered the same way, so a poison message never loops and nothing is dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import structlog
from aio_pika.abc import AbstractIncomingMessage
from pydantic import TypeAdapter, ValidationError

from .availability import Availability, is_outage
from .contract.events import (
    CommandRejected,
    EventData,
    IntakeRejected,
    MessageRejected,
)
from .logs import get_logger
from .observability import queue_figures
from .publisher import Publisher
from .topology import COMMANDS, DLX, ERROR_HEADER, INTAKE_INBOUND, ORIGIN_QUEUE_HEADER, QueueSpec

log = get_logger(__name__)

M = TypeVar("M")

PUBLISHED_BY_HEADER = "x-meetdesk-user-id"  # on a dead letter: the AMQP user_id it was published with
CORRELATION_NAMESPACE = uuid.UUID("6f1c3a52-8c1e-4a0e-9a35-5b0c8f6f2d10")


class Rejected(Exception):
    """The message can never be processed (malformed, invalid, too large): dead-letter it."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def derive_uuid(*parts: str) -> uuid.UUID:
    """A stable UUID from stable parts: the same delivery always gets the same id."""
    return uuid.uuid5(CORRELATION_NAMESPACE, "\x1f".join(parts))


def as_uuid(value: str | None) -> uuid.UUID | None:
    if not value:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        return derive_uuid("correlation", value)


@dataclass
class Incoming:
    queue: QueueSpec
    body: bytes
    routing_key: str
    headers: dict[str, Any]
    message_id: str | None
    correlation_id: uuid.UUID
    content_type: str | None
    delivery_count: int
    correlation_given: bool = False  # False: the publisher set none, ``correlation_id`` was derived
    user_id: str | None = None  # the AMQP user_id: the RabbitMQ user that published it (the broker checks it)

    @property
    def dedupe_key(self) -> str:
        return self.message_id or hashlib.sha256(self.body).hexdigest()

    def json(self) -> Any:
        return parse_json(self.body)

    def parse(self, model: type[M] | TypeAdapter[M]) -> M:
        data = self.json()
        try:
            if isinstance(model, TypeAdapter):
                return model.validate_python(data)
            return model.model_validate(data)  # type: ignore[attr-defined]
        except ValidationError as exc:
            raise Rejected(f"schema validation failed: {summarise(exc)}") from None


def parse_json(body: bytes) -> Any:
    """The body as JSON, or :class:`Rejected` — for anything that can never parse, including
    input built to exhaust the parser (nesting deeper than the interpreter allows, integers of
    more digits than Python converts), which must be refused at once rather than retried."""
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Rejected(f"body is not valid JSON: {exc}") from None
    except RecursionError:
        raise Rejected("body is not acceptable JSON: nested too deeply") from None
    except ValueError as exc:  # e.g. "Exceeds the limit (4300 digits) for integer string conversion"
        raise Rejected(f"body is not acceptable JSON: {exc}"[:300]) from None


def summarise(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        loc = ".".join(str(p) for p in err["loc"]) or "(body)"
        parts.append(f"{loc}: {err['msg']}")
    more = exc.error_count() - len(parts)
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


Handler = Callable[[Incoming], Awaitable[None]]


class Dispatcher:
    """Every delivery's path: size limit, handler, acknowledgement; dead letters with their reason
    and event; retries for a message's own failures; outages waited out at the availability gate."""

    SPURIOUS_OUTAGES = 3  # an "outage" the probe cannot see, met this often, is the message's fault

    def __init__(
        self,
        *,
        publisher: Publisher,
        begin: Callable[[], contextlib.AbstractAsyncContextManager[Any]],
        availability: Availability,
        max_message_bytes: int,
        delivery_limit: int,
    ):
        self.publisher = publisher
        self.begin = begin  # opens a unit of work (for the rejection event)
        self.availability = availability
        self.max_message_bytes = max_message_bytes
        self.delivery_limit = delivery_limit

    async def dispatch(self, raw: AbstractIncomingMessage, spec: QueueSpec, handler: Handler) -> None:
        headers = dict(raw.headers or {})
        incoming = Incoming(
            queue=spec,
            body=raw.body,
            routing_key=raw.routing_key or "",
            headers=headers,
            message_id=raw.message_id,
            correlation_id=as_uuid(raw.correlation_id)
            or derive_uuid("delivery", raw.message_id or hashlib.sha256(raw.body).hexdigest()),
            content_type=raw.content_type,
            delivery_count=int(headers.get("x-delivery-count") or 0),
            correlation_given=bool(raw.correlation_id),
            user_id=raw.user_id or None,
        )
        started = time.perf_counter()
        figures = queue_figures(spec.name)
        figures.delivered.inc()
        with structlog.contextvars.bound_contextvars(
            correlation_id=str(incoming.correlation_id), queue=spec.name, routing_key=incoming.routing_key
        ):
            try:
                await self._process(raw, incoming, handler)
            except Exception:  # a bug on this path: never leave a message unacknowledged
                figures.failed.inc()
                log.exception("dispatch failed; message returned to the queue")
                await asyncio.sleep(1)
                await _settle(raw.nack(requeue=True))
            finally:
                figures.handling_seconds.observe(time.perf_counter() - started)

    async def _process(self, raw: AbstractIncomingMessage, incoming: Incoming, handler: Handler) -> None:
        reason: str | None = None  # set once the message is known to be unprocessable
        spurious = 0
        while True:
            await self.availability.wait()
            try:
                if reason is None:
                    reason = await self._handle(incoming, handler)
                if reason is not None:
                    await self.dead_letter(incoming, reason)
                await _settle(raw.ack())
                figures = queue_figures(incoming.queue.name)
                (figures.handled if reason is None else figures.dead_lettered).inc()
                return
            except Exception as exc:
                # an error we do not recognise as an outage is still the outage's fault when the
                # dependencies do not answer right now (e.g. a database refusing new connections
                # with SQLSTATE 55000 "not currently accepting connections")
                if is_outage(exc) or not await self.availability.answering():
                    self.availability.lost(exc)
                    await self.availability.wait()
                    if not self.availability.confirmed:  # the probe saw nothing wrong
                        spurious += 1
                    if spurious < self.SPURIOUS_OUTAGES:
                        continue
                if reason is not None:  # dead-lettering itself failed: try again on the next delivery
                    raise
                queue_figures(incoming.queue.name).failed.inc()
                attempt = incoming.delivery_count + 1
                if attempt >= self.delivery_limit:
                    reason = f"processing failed {attempt} times: {type(exc).__name__}: {exc}"[:1000]
                    log.error("giving up on message", reason=reason, exc_info=True)
                    continue  # to the dead-letter queue, with its event
                log.warning("processing failed; will retry", attempt=attempt, exc_info=True)
                await asyncio.sleep(min(0.2 * 2**attempt, 5.0))
                await _settle(raw.nack(requeue=True))
                return

    async def _handle(self, incoming: Incoming, handler: Handler) -> str | None:
        """Run the handler; the reason the message can never be processed, or None when it was."""
        limit = self.max_message_bytes
        if len(incoming.body) > limit:
            return f"message of {len(incoming.body)} bytes is over the limit of {limit} bytes"
        try:
            await handler(incoming)
        except Rejected as rej:
            log.warning("message rejected", reason=rej.reason)
            return rej.reason
        except RecursionError:
            return "the message is nested too deeply to process"
        return None

    async def dead_letter(self, incoming: Incoming, reason: str) -> None:
        """Say so (the rejection event, once per message), then copy the message into its queue's
        dead-letter queue with the reason. Either step may meet an outage and be tried again: the
        event's claim keeps it single, and a copy is written before the delivery is acknowledged."""
        spec = incoming.queue
        data = self._rejection(incoming, reason)
        async with self.begin() as tx:
            if await tx.claim(f"rejected:{spec.name}:{incoming.dedupe_key}"):
                tx.emit(data, correlation_id=incoming.correlation_id)
        headers = {
            **incoming.headers,
            ERROR_HEADER: reason,
            ORIGIN_QUEUE_HEADER: spec.name,
            "x-meetdesk-routing-key": incoming.routing_key,
        }
        if incoming.user_id:  # who published it (a copy is published by this service's own user)
            headers[PUBLISHED_BY_HEADER] = incoming.user_id
        await self.publisher.publish(
            incoming.body,
            exchange=DLX,
            routing_key=spec.name,
            headers=headers,
            message_id=incoming.message_id,
            correlation_id=str(incoming.correlation_id),
            content_type=incoming.content_type,
        )

    def _rejection(self, incoming: Incoming, reason: str) -> EventData:
        spec = incoming.queue
        if spec == INTAKE_INBOUND:
            return IntakeRejected(
                channel=incoming.routing_key,
                reason=reason,
                message_id=incoming.message_id,
                dead_letter_queue=spec.dead_letter_queue,
            )
        if any(exchange == COMMANDS for exchange, _ in spec.bindings):
            command_id = None
            try:
                body = parse_json(incoming.body)
                if isinstance(body, dict) and isinstance(body.get("command_id"), str):
                    command_id = body["command_id"][:200]
            except Rejected:
                pass
            return CommandRejected(command_id=command_id, command=incoming.routing_key, reason=reason)
        return MessageRejected(
            queue=spec.name,
            routing_key=incoming.routing_key,
            reason=reason,
            message_id=incoming.message_id,
            dead_letter_queue=spec.dead_letter_queue,
        )


async def _settle(acknowledgement: Awaitable[None]) -> None:
    """Acknowledge (or return) a delivery; if its channel is gone, the broker has already put the
    message back in the queue, and there is nothing left to do here."""
    try:
        await acknowledgement
    except Exception as exc:
        log.warning("could not settle the delivery; the broker redelivers it", error=type(exc).__name__)
