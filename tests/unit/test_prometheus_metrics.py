"""The Prometheus figures every service exposes, without servers: what each outcome of a delivery
counts, what a lost database race counts, how the several-workers mode is chosen, and that the
exposition follows Prometheus' conventions (prefix, units, ``_total``, help text)."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from shared import observability
from shared.availability import Availability
from shared.db import RetryTransaction, db_retry
from shared.runtime import Dispatcher, Incoming, Rejected
from shared.topology import EVENTS, QueueSpec

DELIVERY_LIMIT = 5


def registry() -> CollectorRegistry:
    reg = CollectorRegistry()
    observability.register_shared(reg)
    return reg


def value(reg: CollectorRegistry, name: str, **labels: str) -> float:
    found = reg.get_sample_value(name, labels)
    assert found is not None, f"{name}{labels} is not exposed"
    return found


class FakeDelivery:
    def __init__(self, body: bytes, *, delivery_count: int = 0):
        self.body = body
        self.headers = {"x-delivery-count": delivery_count} if delivery_count else {}
        self.routing_key = "thing.happened"
        self.message_id = str(uuid.uuid4())
        self.correlation_id = None
        self.content_type = "application/json"
        self.user_id = None
        self.settled: list[str] = []

    async def ack(self) -> None:
        self.settled.append("ack")

    async def nack(self, requeue: bool = True) -> None:
        self.settled.append("nack")


class FakePublisher:
    def __init__(self) -> None:
        self.published: list[dict[str, Any]] = []

    async def publish(self, body: bytes, **properties: Any) -> None:
        self.published.append({"body": body, **properties})


class FakeTransaction:
    def __init__(self) -> None:
        self.emitted: list[Any] = []

    async def claim(self, key: str) -> bool:
        return True

    def emit(self, data: Any, *, correlation_id: uuid.UUID) -> None:
        self.emitted.append(data)


@contextlib.asynccontextmanager
async def begin() -> AsyncIterator[FakeTransaction]:
    yield FakeTransaction()


async def nothing_wrong() -> None:
    return None


def dispatcher(publisher: FakePublisher) -> Dispatcher:
    return Dispatcher(
        publisher=publisher,  # type: ignore[arg-type]
        begin=begin,
        availability=Availability(nothing_wrong),
        max_message_bytes=1024,
        delivery_limit=DELIVERY_LIMIT,
    )


def a_queue() -> QueueSpec:
    """A queue of its own per test (the counters are process-wide), registered as Service.consume does."""
    spec = QueueSpec(f"test.{uuid.uuid4().hex[:8]}", "test", ((EVENTS, "#"),))
    observability.start_queues([spec.name])
    return spec


async def handled(msg: Incoming) -> None:
    msg.json()


async def refused(msg: Incoming) -> None:
    raise Rejected("never processable")


async def broken(msg: Incoming) -> None:
    raise ValueError("a bug")


async def test_a_handled_delivery_counts_as_delivered_and_handled_and_its_time_is_observed():
    reg, spec = registry(), a_queue()
    await dispatcher(FakePublisher()).dispatch(FakeDelivery(b"{}"), spec, handled)  # type: ignore[arg-type]
    q = spec.name
    assert value(reg, "meetdesk_messages_delivered_total", queue=q) == 1
    assert value(reg, "meetdesk_messages_handled_total", queue=q) == 1
    assert value(reg, "meetdesk_messages_dead_lettered_total", queue=q) == 0
    assert value(reg, "meetdesk_messages_failed_total", queue=q) == 0
    assert value(reg, "meetdesk_message_handling_seconds_count", queue=q) == 1
    assert value(reg, "meetdesk_message_handling_seconds_sum", queue=q) > 0


async def test_a_refused_delivery_counts_as_dead_lettered_and_not_as_handled():
    reg, spec, publisher = registry(), a_queue(), FakePublisher()
    d = dispatcher(publisher)
    await d.dispatch(FakeDelivery(b"{}"), spec, refused)  # type: ignore[arg-type]
    await d.dispatch(FakeDelivery(b"not json"), spec, handled)  # type: ignore[arg-type]
    q = spec.name
    assert value(reg, "meetdesk_messages_delivered_total", queue=q) == 2
    assert value(reg, "meetdesk_messages_dead_lettered_total", queue=q) == 2
    assert value(reg, "meetdesk_messages_handled_total", queue=q) == 0
    assert value(reg, "meetdesk_messages_failed_total", queue=q) == 0  # refused at once, nothing retried
    assert value(reg, "meetdesk_message_handling_seconds_count", queue=q) == 2
    assert [p["routing_key"] for p in publisher.published] == [q, q]  # really copied to its dead-letter queue


async def test_a_failing_delivery_counts_a_failure_per_attempt_and_a_dead_letter_on_the_last(monkeypatch):
    monkeypatch.setattr("shared.runtime.asyncio.sleep", _no_sleep)
    reg, spec = registry(), a_queue()
    d = dispatcher(FakePublisher())
    first, last = FakeDelivery(b"{}"), FakeDelivery(b"{}", delivery_count=DELIVERY_LIMIT - 1)
    await d.dispatch(first, spec, broken)  # type: ignore[arg-type]
    await d.dispatch(last, spec, broken)  # type: ignore[arg-type]
    q = spec.name
    assert first.settled == ["nack"] and last.settled == ["ack"]
    assert value(reg, "meetdesk_messages_delivered_total", queue=q) == 2
    assert value(reg, "meetdesk_messages_failed_total", queue=q) == 2
    assert value(reg, "meetdesk_messages_dead_lettered_total", queue=q) == 1
    assert value(reg, "meetdesk_messages_handled_total", queue=q) == 0


async def _no_sleep(_: float) -> None:
    return None


async def test_a_transaction_that_loses_a_race_counts_one_database_retry_per_rerun():
    reg = registry()
    before = reg.get_sample_value("meetdesk_db_retries_total", {"reason": "RetryTransaction"}) or 0
    runs = 0
    async for attempt in db_retry():
        with attempt:
            runs += 1
            if runs < 3:
                raise RetryTransaction("lost a race")
    assert runs == 3
    assert value(reg, "meetdesk_db_retries_total", reason="RetryTransaction") == before + 2


def test_every_queue_of_a_service_is_exposed_before_its_first_delivery():
    reg, spec = registry(), QueueSpec(f"test.{uuid.uuid4().hex[:8]}", "test", ((EVENTS, "#"),))
    assert reg.get_sample_value("meetdesk_messages_delivered_total", {"queue": spec.name}) is None
    observability.start_queues([spec.name])
    for name in (
        "meetdesk_messages_delivered_total",
        "meetdesk_messages_handled_total",
        "meetdesk_messages_failed_total",
        "meetdesk_messages_dead_lettered_total",
        "meetdesk_message_handling_seconds_count",
    ):
        assert value(reg, name, queue=spec.name) == 0


def test_the_exposition_follows_prometheus_naming_with_units_and_help():
    reg = registry()
    a_queue()
    observability.QUEUE_CONSUMERS.labels("test.q").set(1)
    observability.OUTBOX_BACKLOG.set(0)
    families = {f.name: f for f in text_string_to_metric_families(generate_latest(reg).decode())}
    expected = {
        "meetdesk_messages_delivered": "counter",
        "meetdesk_messages_handled": "counter",
        "meetdesk_messages_failed": "counter",
        "meetdesk_messages_dead_lettered": "counter",
        "meetdesk_message_handling_seconds": "histogram",
        "meetdesk_queue_consumers": "gauge",
        "meetdesk_queue_messages_ready": "gauge",
        "meetdesk_outbox_backlog": "gauge",
        "meetdesk_outbox_oldest_age_seconds": "gauge",
        "meetdesk_outbox_published": "counter",
        "meetdesk_db_retries": "counter",
    }
    assert {name: families[name].type for name in expected} == expected
    for family in families.values():
        assert family.name.startswith("meetdesk_")
        assert family.documentation.strip(), f"{family.name} has no help text"
        for sample in family.samples:
            if family.type == "counter":
                assert sample.name.endswith(("_total", "_created")), sample.name
            if family.type == "histogram" and not sample.name.endswith("_created"):
                assert family.name.endswith("_seconds")


@pytest.mark.parametrize(
    ("argv", "workers"),
    [
        (["faststream", "run", "services.booking.main:app", "--workers", "3"], 3),
        (["faststream", "run", "services.booking.main:app", "--workers=2", "--port", "8002"], 2),
        (["faststream", "run", "services.booking.main:app", "-w", "4"], 4),
        (["faststream", "run", "services.booking.main:app", "--workers", "1"], 1),
        (["faststream", "run", "services.booking.main:app", "--port", "8002"], 1),
        (["pytest", "-q", "tests/unit"], 1),
    ],
)
def test_the_number_of_workers_is_read_from_the_command_line(argv, workers):
    assert observability.workers_requested(argv) == workers


def test_only_a_process_about_to_start_several_workers_makes_a_shared_directory(monkeypatch):
    monkeypatch.setenv(observability.MULTIPROC_ENV, "")  # so that monkeypatch puts the environment back
    monkeypatch.delenv(observability.MULTIPROC_ENV)
    assert observability.prepare_worker_metrics(["faststream", "run", "x:app", "--workers", "1"]) is None
    assert observability.MULTIPROC_ENV not in os.environ
    path = observability.prepare_worker_metrics(["faststream", "run", "x:app", "--workers", "3"])
    assert path is not None and os.environ[observability.MULTIPROC_ENV] == path
    # this process is no spawned worker: it serves its own registry, not the shared directory
    own = registry()
    assert observability.scrape_registry(own) is own
    os.rmdir(path)
