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
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import structlog
from aio_pika.abc import AbstractIncomingMessage
from pydantic import TypeAdapter, ValidationError

from .contract.events import (
    CommandRejected,
    EventData,
    IntakeRejected,
    MessageRejected,
)
from .logs import get_logger
from .publisher import Publisher
from .topology import COMMANDS, DLX, ERROR_HEADER, INTAKE_INBOUND, ORIGIN_QUEUE_HEADER, QueueSpec

log = get_logger(__name__)

M = TypeVar("M")

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

    @property
    def dedupe_key(self) -> str:
        return self.message_id or hashlib.sha256(self.body).hexdigest()

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise Rejected(f"body is not valid JSON: {exc}") from None

    def parse(self, model: type[M] | TypeAdapter[M]) -> M:
        data = self.json()
        try:
            if isinstance(model, TypeAdapter):
                return model.validate_python(data)
            return model.model_validate(data)  # type: ignore[attr-defined]
        except ValidationError as exc:
            raise Rejected(f"schema validation failed: {summarise(exc)}") from None


def summarise(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        loc = ".".join(str(p) for p in err["loc"]) or "(body)"
        parts.append(f"{loc}: {err['msg']}")
    more = exc.error_count() - len(parts)
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


Handler = Callable[[Incoming], Awaitable[None]]


class Dispatcher:
    def __init__(
        self,
        *,
        publisher: Publisher,
        begin: Callable[[], contextlib.AbstractAsyncContextManager[Any]],
        max_message_bytes: int,
        delivery_limit: int,
    ):
        self.publisher = publisher
        self.begin = begin  # opens a unit of work (for the rejection event)
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
        )
        with structlog.contextvars.bound_contextvars(
            correlation_id=str(incoming.correlation_id), queue=spec.name, routing_key=incoming.routing_key
        ):
            try:
                await self._process(raw, incoming, handler)
            except Exception:  # never leave a message unacknowledged
                log.exception("dispatch failed; message returned to the queue")
                await asyncio.sleep(1)
                await raw.nack(requeue=True)

    async def _process(self, raw: AbstractIncomingMessage, incoming: Incoming, handler: Handler) -> None:
        limit = self.max_message_bytes
        try:
            if len(incoming.body) > limit:
                raise Rejected(f"message of {len(incoming.body)} bytes is over the limit of {limit} bytes")
            await handler(incoming)
        except Rejected as rej:
            log.warning("message rejected", reason=rej.reason)
            await self.dead_letter(incoming, rej.reason)
            await raw.ack()
            return
        except Exception as exc:
            attempt = incoming.delivery_count + 1
            if attempt >= self.delivery_limit:
                reason = f"processing failed {attempt} times: {type(exc).__name__}: {exc}"
                log.error("giving up on message", reason=reason, exc_info=True)
                await self.dead_letter(incoming, reason[:1000])
                await raw.ack()
                return
            log.warning("processing failed; will retry", attempt=attempt, exc_info=True)
            await asyncio.sleep(min(0.2 * 2**attempt, 5.0))
            await raw.nack(requeue=True)
            return
        await raw.ack()

    async def dead_letter(self, incoming: Incoming, reason: str) -> None:
        """Copy the message into its queue's dead-letter queue with the reason, then say so."""
        spec = incoming.queue
        headers = {
            **incoming.headers,
            ERROR_HEADER: reason,
            ORIGIN_QUEUE_HEADER: spec.name,
            "x-meetdesk-routing-key": incoming.routing_key,
        }
        await self.publisher.publish(
            incoming.body,
            exchange=DLX,
            routing_key=spec.name,
            headers=headers,
            message_id=incoming.message_id,
            correlation_id=str(incoming.correlation_id),
            content_type=incoming.content_type,
        )
        data = self._rejection(incoming, reason)
        async with self.begin() as tx:
            if await tx.claim(f"rejected:{spec.name}:{incoming.dedupe_key}"):
                tx.emit(data, correlation_id=incoming.correlation_id)

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
                body = json.loads(incoming.body)
                if isinstance(body, dict) and isinstance(body.get("command_id"), str):
                    command_id = body["command_id"]
            except (ValueError, UnicodeDecodeError):
                pass
            return CommandRejected(command_id=command_id, command=incoming.routing_key, reason=reason)
        return MessageRejected(
            queue=spec.name,
            routing_key=incoming.routing_key,
            reason=reason,
            message_id=incoming.message_id,
            dead_letter_queue=spec.dead_letter_queue,
        )
