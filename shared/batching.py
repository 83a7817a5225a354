"""Coalesce concurrently delivered messages into shared database transactions.

With a prefetch of a few hundred, many deliveries are in flight at once; giving each its own
transaction spends most of the time on BEGIN/COMMIT round trips, WAL flushes and relay wake-ups.
A :class:`Batcher` lets each delivery hand its (already parsed) work to a few worker loops that
apply up to ``max_size`` items in one transaction, with one call of ``apply(tx, items)`` (which
can write the whole batch with set-based statements) per transaction. ``submit`` returns once the item's transaction
has committed, so the delivery is acknowledged only after its effects are durable.

If a batch fails (a bug or a bad row in one item, a lost race, the database away), its items are
replayed one transaction each, so one bad item never takes the others down, and each delivery gets
its own error for the dispatcher to retry or dead-letter.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

from .availability import is_outage
from .db import db_retry
from .logs import get_logger

T = TypeVar("T")
log = get_logger(__name__)


class Batcher(Generic[T]):
    def __init__(
        self,
        begin: Callable[[], contextlib.AbstractAsyncContextManager[Any]],
        apply: Callable[[Any, list[T]], Awaitable[None]],
        *,
        max_size: int = 100,
        workers: int = 3,
    ):
        self._begin = begin  # opens a unit of work
        self._apply = apply
        self._max = max_size
        self._queue: asyncio.Queue[tuple[T, asyncio.Future[None]]] = asyncio.Queue()
        # a fresh context: the first delivery's log bindings (its correlation id) must not stick to
        # the workers, which serve every delivery after it
        self._tasks = [
            asyncio.create_task(self._work(), name=f"batcher-{i}", context=contextvars.Context())
            for i in range(workers)
        ]

    async def submit(self, item: T) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        await self._queue.put((item, future))
        await future

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _work(self) -> None:
        while True:
            batch = [await self._queue.get()]
            await asyncio.sleep(0)  # let deliveries that arrived together join
            while len(batch) < self._max and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                await self._run([item for item, _ in batch])
            except Exception as exc:
                if len(batch) == 1 or is_outage(exc):  # an outage fails every item alike
                    for _, future in batch:
                        _settle(future, exc)
                    continue
                log.warning("batch failed; applying its items one by one", size=len(batch), exc_info=True)
                for item, future in batch:
                    try:
                        await self._run([item])
                    except Exception as one:
                        _settle(future, one)
                    else:
                        _settle(future, None)
            else:
                for _, future in batch:
                    _settle(future, None)

    async def _run(self, items: list[T]) -> None:
        async for attempt in db_retry():
            with attempt:
                async with self._begin() as tx:
                    await self._apply(tx, items)


def _settle(future: asyncio.Future[Any], exc: BaseException | None) -> None:
    if future.done():  # the delivery gave up waiting (shutdown)
        return
    if exc is None:
        future.set_result(None)
    else:
        future.set_exception(exc)
