"""Dead letters: list them, inspect them, replay them to where they came from.

    make dlq ARGS="list"
    make dlq ARGS="show booking.events --reason 'schema validation' --limit 5"
    make dlq ARGS="replay booking.events --reason 'schema validation' --dry-run"
    make dlq ARGS="replay booking.events --message-id web-4711 --actor alice"
    python -m tools.dlq --amqp-url amqp://guest:guest@rabbitmq:5672/ replay intake.inbound --all

Every service queue ``<q>`` has a dead-letter queue ``<q>.dlq`` (``shared/topology.py``). What a
service dead-letters itself carries the reason in ``x-meetdesk-error`` and where it came from in
``x-meetdesk-queue`` / ``x-meetdesk-routing-key`` (``Dispatcher.dead_letter``); what the broker
dead-letters on its own (delivery limit) carries RabbitMQ's ``x-death`` instead.

A replay republishes each selected dead letter to its original exchange and routing key (persistent,
publisher confirms, mandatory: an unroutable replay is an error, never a silent loss) with the same
body, ``message_id``, ``correlation_id``, content type and headers, minus the dead-letter bookkeeping,
plus ``x-meetdesk-replayed: <n>``; records it as a ``message.replayed`` event; and only then removes it
from the dead-letter queue. The dead-letter queue is read with ``basic.get`` and manual
acknowledgements: every message taken is held unacknowledged until the end, so the broker never hands
it out twice; what was not replayed is returned (``basic.nack``, requeue) in its original order, and
a crash or a lost connection returns it too. Nothing is ever acknowledged before its replay is
confirmed.

Everything that decides (which messages, where to, with which properties, what is printed) is a pure
function below; the AMQP work is in the ``async`` functions at the end.

Exit status: 0 done; 1 some selected messages could not be replayed (they stay in the dead-letter
queue); 2 usage or connection errors, unknown queue.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import hashlib
import json
import logging
import os
import re
import sys
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aio_pika
import aiormq
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractIncomingMessage

from shared.contract.events import Envelope, MessageReplayed, make_event
from shared.db import make_engine
from shared.logs import mask_pii
from shared.migrate import SERVICES
from shared.runtime import as_uuid, derive_uuid
from shared.scheduler import parked_items, retry_parked
from shared.settings import broker_user_of
from shared.topology import COMMANDS, ERROR_HEADER, EVENTS, ORIGIN_QUEUE_HEADER, QUEUES, QueueSpec

DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"
ROUTING_KEY_HEADER = "x-meetdesk-routing-key"
REPLAYED_HEADER = "x-meetdesk-replayed"
# Dead-letter bookkeeping: describes the dead-lettering, not the message; never republished.
# (x-delivery-count too: a stale count copied from the service queue would count against the limit.)
BOOKKEEPING_HEADERS = frozenset(
    {
        ERROR_HEADER,
        ORIGIN_QUEUE_HEADER,
        ROUTING_KEY_HEADER,
        "x-death",
        "x-first-death-exchange",
        "x-first-death-queue",
        "x-first-death-reason",
        "x-last-death-exchange",
        "x-last-death-queue",
        "x-last-death-reason",
        "x-delivery-count",
    }
)
DLQ_SUFFIX = ".dlq"
PRODUCER = "ops"
REASON_WIDTH = 80
PREVIEW_WIDTH = 120
MASK_WINDOW = 16_384  # characters of a body that are masked before the preview is cut from them
QUEUES_BY_NAME: dict[str, QueueSpec] = {spec.name: spec for spec in QUEUES}


class DlqError(Exception):
    """A clear, expected failure (unknown queue, broker unreachable, no selector): exit 2."""


class Unresolvable(ValueError):
    """A dead letter whose original exchange and routing key cannot be told from its headers."""


# -- what a dead letter is ------------------------------------------------------------------------


@dataclass(frozen=True)
class DeadLetter:
    """One message in a dead-letter queue, as the broker handed it over (no AMQP objects)."""

    dead_letter_queue: str
    body: bytes
    headers: Mapping[str, Any] = field(default_factory=dict)
    message_id: str | None = None
    correlation_id: str | None = None
    content_type: str | None = None
    content_encoding: str | None = None
    timestamp: datetime | None = None
    type: str | None = None
    app_id: str | None = None
    reply_to: str | None = None
    priority: int | None = None

    @classmethod
    def from_amqp(cls, message: AbstractIncomingMessage, dead_letter_queue: str) -> DeadLetter:
        return cls(
            dead_letter_queue=dead_letter_queue,
            body=message.body,
            headers=dict(message.headers or {}),
            message_id=message.message_id,
            correlation_id=message.correlation_id,
            content_type=message.content_type,
            content_encoding=message.content_encoding,
            timestamp=message.timestamp,
            type=message.type,
            app_id=message.app_id,
            reply_to=message.reply_to,
            priority=message.priority,
        )

    @property
    def origin_queue(self) -> str:
        """The service queue this dead-letter queue belongs to."""
        return self.dead_letter_queue.removesuffix(DLQ_SUFFIX)


@dataclass(frozen=True)
class Origin:
    """Where a dead letter was going when it died, and why it died."""

    queue: str
    exchange: str
    routing_key: str
    reason: str
    by: str  # "service" (Dispatcher.dead_letter) or "broker" (x-death)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", "replace")
    return str(value)


def _death(letter: DeadLetter) -> Mapping[str, Any] | None:
    """The x-death entry of the queue it died in (entries are most recent first)."""
    deaths = letter.headers.get("x-death")
    if not isinstance(deaths, list | tuple) or not deaths:
        return None
    entries = [d for d in deaths if isinstance(d, Mapping)]
    for entry in entries:
        if _text(entry.get("queue")) == letter.origin_queue:
            return entry
    return entries[0] if entries else None


def _dead_lettered_by_service(letter: DeadLetter) -> bool:
    return any(h in letter.headers for h in (ERROR_HEADER, ORIGIN_QUEUE_HEADER, ROUTING_KEY_HEADER))


def reason_of(letter: DeadLetter) -> str:
    """Why it was dead-lettered: the service's reason, or ``broker: <x-death reason>``."""
    if _dead_lettered_by_service(letter):
        return _text(letter.headers.get(ERROR_HEADER)) or "(no reason given)"
    death = _death(letter)
    if death is not None:
        return f"broker: {_text(death.get('reason')) or 'unknown'}"
    return "(no reason given)"


def origin_of(letter: DeadLetter) -> Origin:
    """The original exchange and routing key of a dead letter, from its headers.

    Dead-lettered by a service: the exchange its origin queue is bound to (``QueueSpec.bindings``)
    and ``x-meetdesk-routing-key``. Dead-lettered by the broker: the exchange and first routing key
    of its ``x-death`` entry."""
    reason = reason_of(letter)
    if _dead_lettered_by_service(letter):
        queue = _text(letter.headers.get(ORIGIN_QUEUE_HEADER)) or letter.origin_queue
        spec = QUEUES_BY_NAME.get(queue)
        if spec is None:
            raise Unresolvable(f"origin queue {queue!r} is not in the topology")
        exchanges = sorted({exchange for exchange, _ in spec.bindings})
        if len(exchanges) != 1:
            raise Unresolvable(f"origin queue {queue!r} is bound to {len(exchanges)} exchanges, not one")
        routing_key = _text(letter.headers.get(ROUTING_KEY_HEADER))
        if routing_key is None:
            raise Unresolvable(f"no {ROUTING_KEY_HEADER} header")
        return Origin(queue, exchanges[0], routing_key, reason, "service")
    death = _death(letter)
    if death is not None:
        keys = death.get("routing-keys") or []
        exchange = _text(death.get("exchange"))
        if exchange is None or not keys:
            raise Unresolvable("x-death names no exchange or routing key")
        queue = _text(death.get("queue")) or letter.origin_queue
        return Origin(queue, exchange, _text(keys[0]) or "", reason, "broker")
    raise Unresolvable(f"neither {ERROR_HEADER} nor x-death: cannot tell where it came from")


def replay_count(letter: DeadLetter) -> int:
    """How many times this message was replayed before."""
    try:
        return max(int(_text(letter.headers.get(REPLAYED_HEADER)) or 0), 0)
    except ValueError:
        return 0


# -- which ones ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Selector:
    """Which dead letters: reason containing ``reason`` (case-insensitive) and/or one of
    ``message_ids``; ``everything`` for all of them. An empty selector matches everything too, but a
    replay refuses it (see :func:`require_selector`)."""

    reason: str | None = None
    message_ids: frozenset[str] = frozenset()
    everything: bool = False

    @property
    def empty(self) -> bool:
        return not (self.everything or self.reason or self.message_ids)

    def matches(self, letter: DeadLetter) -> bool:
        if self.reason and self.reason.casefold() not in reason_of(letter).casefold():
            return False
        return not self.message_ids or letter.message_id in self.message_ids

    def describe(self) -> str:
        if self.empty or self.everything:
            return "all"
        parts = []
        if self.reason:
            parts.append(f"reason contains {self.reason!r}")
        if self.message_ids:
            parts.append("message id " + " or ".join(sorted(self.message_ids)))
        return " and ".join(parts)


def require_selector(selector: Selector) -> None:
    if selector.empty:
        raise DlqError("refusing to replay without a selector: give --all, --reason TEXT or --message-id ID")
    if selector.everything and (selector.reason or selector.message_ids):
        raise DlqError("--all selects everything: give it alone, or --reason / --message-id instead")


def select(letters: Iterable[DeadLetter], selector: Selector, limit: int | None = None) -> list[DeadLetter]:
    """The dead letters the selector picks, in queue order, at most ``limit``."""
    chosen = []
    for letter in letters:
        if limit is not None and len(chosen) >= limit:
            break
        if selector.matches(letter):
            chosen.append(letter)
    return chosen


# a command refused because of who sent it: replaying it under the tool's own broker user would grant it
REFUSED_FOR_WHO = ("forbidden:", "unauthenticated:")


# -- what is republished and recorded --------------------------------------------------------------


def replay_properties(letter: DeadLetter) -> dict[str, Any]:
    """Keyword arguments for :class:`aio_pika.Message` of the replay: the original properties and
    headers without the dead-letter bookkeeping, ``x-meetdesk-replayed`` counted up, persistent.

    A service's dead letter carries only what ``Dispatcher.dead_letter`` kept of the original
    (``message_id``, ``correlation_id``, ``content_type``, headers); its other properties are the
    dead-lettering service's, so they are not carried over. One the broker dead-lettered is the
    original message: its properties go back as they were, except ``user_id`` (the broker checks it
    against the login) and ``expiration`` (removed by the broker when it dead-letters)."""
    headers = {k: v for k, v in letter.headers.items() if k not in BOOKKEEPING_HEADERS}
    headers[REPLAYED_HEADER] = replay_count(letter) + 1
    properties: dict[str, Any] = {
        "message_id": letter.message_id,
        "correlation_id": letter.correlation_id,
        "content_type": letter.content_type,
    }
    if not _dead_lettered_by_service(letter):
        properties.update(
            content_encoding=letter.content_encoding,
            type=letter.type,
            app_id=letter.app_id,
            reply_to=letter.reply_to,
            priority=letter.priority,
            timestamp=letter.timestamp,
        )
    return {
        "headers": headers,
        "delivery_mode": aio_pika.DeliveryMode.PERSISTENT,
        **{k: v for k, v in properties.items() if v is not None},
    }


def correlation_of(letter: DeadLetter) -> uuid.UUID:
    """The correlation id as the services read it (``Dispatcher.dispatch``)."""
    return as_uuid(letter.correlation_id) or derive_uuid(
        "delivery", letter.message_id or hashlib.sha256(letter.body).hexdigest()
    )


def _uuid_or_none(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


def replayed_event(letter: DeadLetter, origin: Origin, actor: str) -> Envelope:
    """The ``message.replayed`` event recording one replay."""
    data = MessageReplayed(
        dead_letter_queue=letter.dead_letter_queue,
        exchange=origin.exchange,
        routing_key=origin.routing_key,
        message_id=letter.message_id,
        reason=origin.reason,
        actor=actor,
    )
    return make_event(
        data, producer=PRODUCER, correlation_id=correlation_of(letter), causation_id=_uuid_or_none(letter.message_id)
    )


def event_message(event: Envelope) -> aio_pika.Message:
    return aio_pika.Message(
        event.to_bytes(),
        content_type="application/json",
        message_id=str(event.event_id),
        correlation_id=str(event.correlation_id),
        app_id=f"meetdesk-{PRODUCER}",
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
    )


# -- what is printed (never an email address or phone number in clear) -------------------------------

_UUID = re.compile(r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b")
_HEX_ID = re.compile(r"\b(?=[0-9a-fA-F]*\d)[0-9a-fA-F]{12,}\b")
_NUMBER = re.compile(r"\d+")
_SPACE = re.compile(r"\s+")


def _one_line(text: str, width: int) -> str:
    text = _SPACE.sub(" ", text).strip()
    return text if len(text) <= width else text[: width - 1] + "…"


def reason_group(reason: str) -> str:
    """A reason with its ids and numbers normalised, masked, first 80 characters: what ``list``
    counts by (``processing failed 5 times: … booking 81f0…`` and ``… 3 times: … booking 02aa…`` are
    one group)."""
    text = mask_pii(reason)
    text = _UUID.sub("<id>", text)
    text = _HEX_ID.sub("<id>", text)
    text = _NUMBER.sub("<n>", text)
    return _one_line(text, REASON_WIDTH)


def preview(body: bytes, width: int = PREVIEW_WIDTH) -> str:
    """The start of the body on one line, emails and phone numbers masked (before it is cut, so a
    cut never leaves part of one in clear). JSON is shown with its non-ASCII text readable."""
    try:
        text = json.dumps(json.loads(body), ensure_ascii=False, separators=(", ", ": "))
    except ValueError:  # not JSON, or not UTF-8
        text = body.decode("utf-8", "replace")
    text = "".join(ch if ch.isprintable() else " " for ch in text[:MASK_WINDOW])
    return _one_line(mask_pii(text), width)


def when(letter: DeadLetter) -> datetime | None:
    """When it was dead-lettered: the x-death time; else the message timestamp, if the dead-lettering
    publisher set one."""
    death = _death(letter) if not _dead_lettered_by_service(letter) else None
    moment = death.get("time") if death is not None else None
    return moment if isinstance(moment, datetime) else letter.timestamp


def describe(letter: DeadLetter, number: int) -> list[str]:
    """The lines ``show`` prints for one dead letter."""
    try:
        origin = origin_of(letter)
        route = f"{origin.routing_key} → {origin.exchange or '(default exchange)'} (from queue {origin.queue})"
    except Unresolvable as exc:
        route = f"unknown ({exc})"
    moment = when(letter)
    replays = replay_count(letter)
    lines = [
        f"#{number} message_id={letter.message_id or '-'}  correlation_id={letter.correlation_id or '-'}",
        f"   route      {mask_pii(route)}",
        f"   reason     {_one_line(mask_pii(reason_of(letter)), 400)}",
        f"   when       {moment.isoformat(timespec='seconds') if moment else '-'}",
        f"   body       {len(letter.body)} bytes, {letter.content_type or 'no content type'}: {preview(letter.body)}",
    ]
    if replays:
        lines.append(f"   replayed   {replays} time(s) before")
    return lines


def redact_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def resolve_queue(name: str) -> QueueSpec:
    """A service queue by its name or its dead-letter queue's name."""
    spec = QUEUES_BY_NAME.get(name.removesuffix(DLQ_SUFFIX))
    if spec is None:
        known = ", ".join(s.name for s in QUEUES)
        raise DlqError(f"unknown queue {name!r}; the queues with dead-letter queues are: {known}")
    return spec


# -- AMQP ------------------------------------------------------------------------------------------

Out = Callable[[str], None]


async def connect(url: str) -> aio_pika.abc.AbstractConnection:
    try:
        return await aio_pika.connect(url, timeout=10)
    except Exception as exc:
        raise DlqError(f"cannot connect to RabbitMQ at {redact_url(url)}: {exc!r}") from None


class Browser:
    """Takes the messages of one dead-letter queue one at a time (``basic.get``, manual ack), up to
    the number it held when opened (later arrivals are left alone). Every message taken stays
    unacknowledged, hence invisible to anyone else and never handed out twice, until
    :meth:`remove` acknowledges it or the browser closes and returns the rest with ``basic.nack``
    (requeue) in delivery order: on a quorum queue they go back to the head in their original order.
    Should the process die instead, the broker returns them all the same: nothing is lost."""

    def __init__(self, channel: AbstractChannel, queue_name: str):
        self.channel = channel
        self.queue_name = queue_name
        self.count = 0
        self._held: dict[int, None] = {}  # delivery tags, in order (bodies are not kept)

    async def __aenter__(self) -> Browser:
        try:
            self.queue = await self.channel.declare_queue(self.queue_name, passive=True)
        except aiormq.exceptions.ChannelNotFoundEntity:
            raise DlqError(
                f"queue {self.queue_name} does not exist on this broker (the services declare it at start)"
            ) from None
        self.count = self.queue.declaration_result.message_count or 0
        return self

    async def letters(self) -> AsyncIterator[tuple[AbstractIncomingMessage, DeadLetter]]:
        for _ in range(self.count):
            message = await self.queue.get(no_ack=False, fail=False)
            if message is None:
                return
            assert message.delivery_tag is not None
            self._held[message.delivery_tag] = None
            yield message, DeadLetter.from_amqp(message, self.queue_name)

    async def remove(self, message: AbstractIncomingMessage) -> None:
        await message.ack()
        assert message.delivery_tag is not None
        self._held.pop(message.delivery_tag, None)

    @property
    def held(self) -> int:
        return len(self._held)

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.channel.is_closed:
            return  # the broker has returned them already
        underlay = await self.channel.get_underlay_channel()
        for tag in self._held:
            await underlay.basic_nack(tag, multiple=False, requeue=True)
        self._held.clear()


async def list_dead_letters(url: str, out: Out = print, scan: int = 10_000) -> int:
    """Every dead-letter queue, its message count and its messages counted by reason; the total."""
    connection = await connect(url)
    total = 0
    try:
        out(f"{'dead-letter queue':<28} {'messages':>8}")
        for spec in QUEUES:
            channel = await connection.channel(publisher_confirms=False)
            reasons: Counter[str] = Counter()
            try:
                async with Browser(channel, spec.dead_letter_queue) as browser:
                    seen = 0
                    async for _, letter in browser.letters():
                        reasons[reason_group(reason_of(letter))] += 1
                        seen += 1
                        if seen >= scan:
                            break
                    count = browser.count
            except DlqError:
                out(f"{spec.dead_letter_queue:<28} {'missing':>8}")
                continue
            finally:
                if not channel.is_closed:
                    await channel.close()
            total += count
            out(f"{spec.dead_letter_queue:<28} {count:>8}")
            for reason, n in reasons.most_common():
                out(f"  {n:>6}  {reason}")
            if count > scan:
                out(f"  (reasons of the first {scan} only)")
        out(f"{'total':<28} {total:>8}")
    finally:
        await connection.close()
    return total


async def show(url: str, queue: str, selector: Selector, limit: int | None = 20, out: Out = print) -> int:
    """Print the dead letters the selector picks (at most ``limit``); how many were shown."""
    spec = resolve_queue(queue)
    connection = await connect(url)
    shown = 0
    try:
        channel = await connection.channel(publisher_confirms=False)
        async with Browser(channel, spec.dead_letter_queue) as browser:
            out(f"{spec.dead_letter_queue}: {browser.count} message(s); showing {selector.describe()}")
            async for _, letter in browser.letters():
                if limit is not None and shown >= limit:
                    break
                if selector.matches(letter):
                    shown += 1
                    for line in describe(letter, shown):
                        out(line)
        out(f"{shown} shown")
    finally:
        await connection.close()
    return shown


@dataclass
class ReplaySummary:
    replayed: int = 0
    kept: int = 0  # left in the dead-letter queue, selected or not
    failed: int = 0  # selected but not replayed (unresolvable, or the broker refused it)
    dry_run: bool = False
    replayed_ids: list[str | None] = field(default_factory=list)
    events: list[Envelope] = field(default_factory=list)


async def replay(
    url: str,
    queue: str,
    selector: Selector,
    *,
    actor: str,
    limit: int | None = None,
    dry_run: bool = False,
    out: Out = print,
) -> ReplaySummary:
    """Republish the selected dead letters to their original exchange and routing key, record each
    as ``message.replayed``, then remove it from the dead-letter queue. The rest stay, in order."""
    require_selector(selector)
    spec = resolve_queue(queue)
    summary = ReplaySummary(dry_run=dry_run)
    connection = await connect(url)
    try:
        browse = await connection.channel(publisher_confirms=False)
        publish = await connection.channel(publisher_confirms=True, on_return_raises=True)
        exchanges: dict[str, AbstractExchange] = {}

        async def exchange(name: str) -> AbstractExchange:
            if name not in exchanges:
                exchanges[name] = publish.default_exchange if name == "" else await publish.get_exchange(name)
            return exchanges[name]

        async with Browser(browse, spec.dead_letter_queue) as browser:
            out(f"{spec.dead_letter_queue}: {browser.count} message(s); replaying {selector.describe()}")
            async for message, letter in browser.letters():
                if limit is not None and summary.replayed >= limit:
                    break
                if not selector.matches(letter):
                    continue
                label = letter.message_id or "(no message_id)"
                try:
                    origin = origin_of(letter)
                except Unresolvable as exc:
                    summary.failed += 1
                    out(f"kept     {label}: {mask_pii(str(exc))}")
                    continue
                target = f"{origin.exchange or '(default exchange)'} / {origin.routing_key}"
                if origin.reason.startswith(REFUSED_FOR_WHO):
                    summary.failed += 1  # replaying it under this tool's user would grant what was refused
                    out(f"kept     {label}: refused for its publisher ({reason_group(origin.reason)}); not replayed")
                    continue
                if dry_run:
                    summary.replayed += 1
                    out(f"would replay {label} → {target}  (reason: {reason_group(origin.reason)})")
                    continue
                try:
                    properties = replay_properties(letter)
                    if origin.exchange == COMMANDS:  # commands are authenticated by their broker user
                        properties["user_id"] = broker_user_of(url)
                    await (await exchange(origin.exchange)).publish(
                        aio_pika.Message(letter.body, **properties), routing_key=origin.routing_key, mandatory=True
                    )
                    event = replayed_event(letter, origin, actor)
                    await (await exchange(EVENTS)).publish(event_message(event), routing_key=event.type)
                except (aiormq.exceptions.AMQPError, aiormq.exceptions.ChannelInvalidStateError) as exc:
                    summary.failed += 1
                    out(f"FAILED   {label} → {target}: {exc!r}; it stays in {spec.dead_letter_queue}; stopping")
                    break
                await browser.remove(message)
                summary.replayed += 1
                summary.replayed_ids.append(letter.message_id)
                summary.events.append(event)
                out(
                    f"replayed {label} → {target}  (replay #{properties['headers'][REPLAYED_HEADER]}, "
                    f"event {event.event_id}, reason: {reason_group(origin.reason)})"
                )
            summary.kept = browser.count - (0 if dry_run else summary.replayed)
    finally:
        await connection.close()
    verb = "would replay" if dry_run else "replayed"
    out(
        f"{verb} {summary.replayed}, kept {summary.kept} in {spec.dead_letter_queue}"
        + (f" ({summary.failed} selected could not be replayed)" if summary.failed else "")
    )
    return summary


# -- command line ----------------------------------------------------------------------------------


def _positive(value: str) -> int:
    n = int(value)
    if n < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return n


def parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--amqp-url", default=argparse.SUPPRESS, help="RabbitMQ URL (default: $MEETDESK_AMQP_URL)")

    p = argparse.ArgumentParser(
        prog="python -m tools.dlq",
        description="List, inspect and replay dead letters (see docs/runbook.md, 'Dead letters').",
        parents=[common],
    )
    sub = p.add_subparsers(dest="command", required=True)

    ls = sub.add_parser("list", parents=[common], help="every dead-letter queue, its count and its reasons")
    ls.add_argument("--scan", type=_positive, default=10_000, help="messages read per queue for the reasons")

    def selection(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("queue", help="service queue (booking.events) or its dead-letter queue (booking.events.dlq)")
        sp.add_argument("--reason", help="reason contains TEXT (case-insensitive)")
        sp.add_argument("--message-id", action="append", default=[], help="this message id (repeatable)")

    sh = sub.add_parser("show", parents=[common], help="the dead letters of one queue")
    selection(sh)
    sh.add_argument("--limit", type=_positive, default=20, help="show at most N (default 20)")

    rp = sub.add_parser("replay", parents=[common], help="republish dead letters to where they came from")
    selection(rp)
    rp.add_argument("--all", action="store_true", help="every dead letter of the queue")
    rp.add_argument("--limit", type=_positive, help="replay at most N")
    rp.add_argument("--dry-run", action="store_true", help="say what would be replayed, change nothing")
    rp.add_argument("--actor", help="who replays, recorded in message.replayed (default: your login)")

    def due(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("service", choices=SERVICES, help="whose due items")
        sp.add_argument("--database-url", help="its database (default: $MEETDESK_DATABASE_URL, else the local default)")
        sp.add_argument("--kind", help="only items of this kind (e.g. booking.reminder)")
        sp.add_argument("--key", help="only the item with this key (e.g. a booking id)")

    pk = sub.add_parser("parked", help="due items a service parked after they kept failing, with their reasons")
    due(pk)
    rt = sub.add_parser("retry-parked", help="give parked due items a fresh set of attempts, due now")
    due(rt)
    rt.add_argument("--all", action="store_true", help="every parked item of the service")
    return p


async def parked(args: argparse.Namespace, out: Out = print) -> int:
    """List or re-arm parked due items (the scheduler's dead letters), in the service's database."""
    url = args.database_url or os.environ.get("MEETDESK_DATABASE_URL")
    url = url or f"postgresql+asyncpg://postgres@127.0.0.1:5432/meetdesk_{args.service}"
    if args.command == "retry-parked" and not (args.all or args.kind or args.key):
        raise DlqError("refusing to retry without a selector: give --all, --kind KIND or --key KEY")
    engine = make_engine(url)
    try:
        try:
            async with engine.connect() as probe:
                await probe.exec_driver_sql("SELECT 1")
        except Exception as exc:
            raise DlqError(f"cannot reach {args.service}'s database: {type(exc).__name__}: {exc}"[:300]) from None
        async with engine.begin() as conn:
            if args.command == "parked":
                rows = await parked_items(conn, kind=args.kind, key=args.key)
                out(f"{args.service}: {len(rows)} parked due item(s)")
                for r in rows:
                    out(f"  {r.kind} {r.key}  due {r.due_at.isoformat()}  parked {r.parked_at.isoformat()}")
                    out(f"    after {r.attempts} attempt(s): {mask_pii(r.last_error or '')[:300]}")
                return 0
            n = await retry_parked(conn, datetime.now(UTC), kind=args.kind, key=args.key)
            out(f"{args.service}: {n} parked due item(s) due again now, with a fresh set of attempts")
            return 0
    finally:
        await engine.dispose()


def _default_actor() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return "ops"


async def run(args: argparse.Namespace, out: Out = print) -> int:
    if args.command in ("parked", "retry-parked"):
        return await parked(args, out)
    url = getattr(args, "amqp_url", None) or os.environ.get("MEETDESK_AMQP_URL") or DEFAULT_AMQP_URL
    if args.command == "list":
        await list_dead_letters(url, out, scan=args.scan)
        return 0
    selector = Selector(
        reason=args.reason or None,
        message_ids=frozenset(args.message_id),
        everything=getattr(args, "all", False),
    )
    if args.command == "show":
        await show(url, args.queue, selector, limit=args.limit, out=out)
        return 0
    summary = await replay(
        url,
        args.queue,
        selector,
        actor=args.actor or _default_actor(),
        limit=args.limit,
        dry_run=args.dry_run,
        out=out,
    )
    return 1 if summary.failed else 0


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    for library in ("aiormq", "aio_pika"):  # their connection errors are reported once, below
        logging.getLogger(library).setLevel(logging.CRITICAL)
    try:
        return asyncio.run(run(args))
    except DlqError as exc:
        print(f"dlq: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("dlq: interrupted; messages not replayed stay in the dead-letter queue", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
