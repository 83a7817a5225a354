"""A service with nothing but due items, for the scheduler's multi-process tests and benchmark.

    faststream run tests.apps.scheduler_app:app --port 18100    # MEETDESK_DATABASE_URL: a migrated
                                                                # database with a ``firings`` table

Each firing of a ``tick`` item writes a row to ``firings`` (key, due time, the firing process's
``now``, its pid) in the firing's own transaction, so a test can count firings per key exactly:
never deduplicated, so an item fired twice shows up twice.
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from shared.scheduler import DueItem
from shared.service import Service
from shared.settings import ServiceSettings
from shared.uow import UnitOfWork

FIRINGS_DDL = """CREATE TABLE IF NOT EXISTS firings (
    key text NOT NULL, due_at timestamptz NOT NULL, fired_at timestamptz NOT NULL, pid int NOT NULL)"""


async def tick(uow: UnitOfWork[AsyncConnection], item: DueItem, now: datetime, policy: Any) -> None:
    await uow.store.execute(
        sa.text("INSERT INTO firings (key, due_at, fired_at, pid) VALUES (:key, :due, :now, :pid)"),
        {"key": item.key, "due": item.due_at, "now": now, "pid": os.getpid()},
    )


svc: Service[AsyncConnection, None] = Service(
    "scheduler-test",
    description="Due items only (tests and bench).",
    settings=ServiceSettings(service="scheduler-test"),
    store=lambda conn: conn,
    policy=None,
)
svc.on_due({"tick": tick})
app = svc.app
