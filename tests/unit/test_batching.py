"""The batcher: deliveries in flight share one transaction; a failed batch is replayed item by item."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
import structlog

from shared.batching import Batcher


class FakeOutbox:
    def __init__(self) -> None:
        self.transactions = 0

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[Any]:
        self.transactions += 1
        yield object()


async def test_items_submitted_together_share_one_transaction() -> None:
    calls: list[list[int]] = []

    async def apply(tx: Any, items: list[int]) -> None:
        calls.append(list(items))

    outbox = FakeOutbox()
    batcher = Batcher(outbox.transaction, apply, workers=1)
    try:
        await asyncio.gather(*(batcher.submit(i) for i in range(10)))
    finally:
        await batcher.stop()
    assert sorted(i for call in calls for i in call) == list(range(10))
    assert len(calls) < 10 and outbox.transactions == len(calls)


async def test_a_failed_batch_is_replayed_one_by_one_and_only_the_bad_item_fails() -> None:
    async def apply(tx: Any, items: list[int]) -> None:
        if 3 in items:
            raise ValueError("item 3 is bad")

    batcher = Batcher(FakeOutbox().transaction, apply, workers=1)
    try:
        results = await asyncio.gather(*(batcher.submit(i) for i in range(6)), return_exceptions=True)
    finally:
        await batcher.stop()
    assert [type(r).__name__ if r else None for r in results] == [None, None, None, "ValueError", None, None]


async def test_workers_do_not_carry_the_first_deliverys_log_bindings() -> None:
    seen: list[dict[str, Any]] = []

    async def apply(tx: Any, items: list[str]) -> None:
        seen.append(structlog.contextvars.get_contextvars())

    with structlog.contextvars.bound_contextvars(correlation_id="first-delivery"):
        batcher = Batcher(FakeOutbox().transaction, apply, workers=1)
        await batcher.submit("a")
    try:
        with structlog.contextvars.bound_contextvars(correlation_id="second-delivery"):
            await batcher.submit("b")
    finally:
        await batcher.stop()
    assert [s.get("correlation_id") for s in seen] == [None, None]


@pytest.fixture(autouse=True)
def _clean_log_context() -> None:
    structlog.contextvars.clear_contextvars()
