"""Prometheus figures every service exposes on ``/metrics`` (besides its own).

Per queue (label ``queue``): deliveries taken, handled, failed, dead-lettered, the handling time,
the consumers and messages the broker counts; the outbox's backlog and the age of its oldest row;
transactions run again after a lost race; and (in :mod:`shared.service`) the due items.

Several worker processes (``faststream run ... --workers N``) share one listening socket, so a scrape
reaches any one of them: the figures must be the container's, not that worker's. The process
``faststream run`` starts imports the service module before it spawns the workers; when it is about to
spawn them (:func:`prepare_worker_metrics`) it gives them a fresh directory in
``PROMETHEUS_MULTIPROC_DIR``, where prometheus_client's multiprocess mode keeps each worker's values
in files; a worker serves the sum over all of them (:func:`scrape_registry`). Gauges here are set at
scrape time from shared state (the broker, the database), so the value the most recent scrape wrote
is the container's (``multiprocess_mode="mostrecent"``). In that mode the per-process collectors
(memory, CPU, garbage collector) are left out: they would describe only the worker that answered.
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.multiprocess import MultiProcessCollector

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

HANDLING_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

MESSAGES_DELIVERED = Counter(
    "meetdesk_messages_delivered",
    "Deliveries taken from the queue by this service (a redelivery counts again)",
    ["queue"],
    registry=None,
)
MESSAGES_HANDLED = Counter(
    "meetdesk_messages_handled",
    "Deliveries handled and acknowledged (a repeat the inbox recognised counts too)",
    ["queue"],
    registry=None,
)
MESSAGES_FAILED = Counter(
    "meetdesk_messages_failed",
    "Handling attempts that failed for the message's own reasons (retried, or dead-lettered on the last one)",
    ["queue"],
    registry=None,
)
MESSAGES_DEAD_LETTERED = Counter(
    "meetdesk_messages_dead_lettered",
    "Deliveries copied to the queue's dead-letter queue with their reason",
    ["queue"],
    registry=None,
)
HANDLING_SECONDS = Histogram(
    "meetdesk_message_handling_seconds",
    "Time from a delivery to its acknowledgement (handler, commit, dead-lettering; outage waits included)",
    ["queue"],
    buckets=HANDLING_BUCKETS,
    registry=None,
)
QUEUE_CONSUMERS = Gauge(
    "meetdesk_queue_consumers",
    "Consumers on the queue as the broker counts them (all replicas and workers) at scrape; NaN: broker unreachable",
    ["queue"],
    multiprocess_mode="mostrecent",
    registry=None,
)
QUEUE_MESSAGES = Gauge(
    "meetdesk_queue_messages_ready",
    "Messages waiting in the queue as the broker counts them, read at scrape; NaN: broker unreachable",
    ["queue"],
    multiprocess_mode="mostrecent",
    registry=None,
)
OUTBOX_BACKLOG = Gauge(
    "meetdesk_outbox_backlog",
    "Events committed and not yet relayed (counted up to 10000) at scrape; NaN: database unreachable",
    multiprocess_mode="mostrecent",
    registry=None,
)
OUTBOX_OLDEST_AGE = Gauge(
    "meetdesk_outbox_oldest_age_seconds",
    "Age of the oldest event waiting in the outbox (0 when it is empty), read at scrape; NaN: database unreachable",
    multiprocess_mode="mostrecent",
    registry=None,
)
OUTBOX_PUBLISHED = Counter(
    "meetdesk_outbox_published",
    "Events the outbox relay published (confirmed by the broker)",
    registry=None,
)
DB_RETRIES = Counter(
    "meetdesk_db_retries",
    "Transactions run again after losing a race (reason: SQLSTATE 40P01 deadlock, 40001 serialization, else the error)",
    ["reason"],
    registry=None,
)

SHARED_METRICS = (
    MESSAGES_DELIVERED,
    MESSAGES_HANDLED,
    MESSAGES_FAILED,
    MESSAGES_DEAD_LETTERED,
    HANDLING_SECONDS,
    QUEUE_CONSUMERS,
    QUEUE_MESSAGES,
    OUTBOX_BACKLOG,
    OUTBOX_OLDEST_AGE,
    OUTBOX_PUBLISHED,
    DB_RETRIES,
)


def register_shared(registry: CollectorRegistry) -> None:
    """Put the figures above into a service's registry (a collector may sit in several registries:
    tests run more than one service in a process)."""
    for metric in SHARED_METRICS:
        registry.register(metric)


@dataclass(frozen=True)
class QueueFigures:
    """One queue's series, looked up once (``labels()`` on every delivery costs more than the counting)."""

    delivered: Any
    handled: Any
    failed: Any
    dead_lettered: Any
    handling_seconds: Any


_QUEUES: dict[str, QueueFigures] = {}


def queue_figures(queue: str) -> QueueFigures:
    """The series of ``queue`` (made on first use: they show 0, not nothing, before its first delivery)."""
    found = _QUEUES.get(queue)
    if found is None:
        found = _QUEUES[queue] = QueueFigures(
            MESSAGES_DELIVERED.labels(queue),
            MESSAGES_HANDLED.labels(queue),
            MESSAGES_FAILED.labels(queue),
            MESSAGES_DEAD_LETTERED.labels(queue),
            HANDLING_SECONDS.labels(queue),
        )
    return found


def start_queues(queues: Sequence[str]) -> None:
    """Make every per-queue series exist from the start (0, not absent, until the first delivery)."""
    for queue in queues:
        queue_figures(queue)


_WORKERS = re.compile(r"^(?:--workers|-w)(?:=(\d+))?$")


def workers_requested(argv: Sequence[str]) -> int:
    """How many worker processes the command line (``faststream run ... --workers N``) asks for."""
    for i, arg in enumerate(argv):
        m = _WORKERS.match(arg)
        if m is None:
            continue
        value = m.group(1) or (argv[i + 1] if i + 1 < len(argv) else "")
        return int(value) if value.isdigit() else 1
    return 1


def is_spawned_worker() -> bool:
    """This process is a worker spawned by the server's supervisor (uvicorn spawns its workers)."""
    return multiprocessing.parent_process() is not None


def prepare_worker_metrics(argv: Sequence[str] | None = None) -> str | None:
    """In the process that is about to start several workers: a fresh multiprocess directory for
    them (inherited through the environment; removed when this process exits). None elsewhere."""
    if is_spawned_worker() or workers_requested(sys.argv if argv is None else argv) < 2:
        return None
    path = tempfile.mkdtemp(prefix="meetdesk-prometheus-")
    os.environ[MULTIPROC_ENV] = path
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path


def shared_directory() -> str | None:
    """The multiprocess directory when this process is one of several workers, else None."""
    path = os.environ.get(MULTIPROC_ENV)
    return path if path and is_spawned_worker() and os.path.isdir(path) else None


def scrape_registry(own: CollectorRegistry) -> CollectorRegistry:
    """What a scrape reads: the sum over every worker's files when there are several workers
    (a registry made per scrape, as prometheus_client's multiprocess mode asks), else ``own``."""
    path = shared_directory()
    if path is None:
        return own
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=path)
    return registry
