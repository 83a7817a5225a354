"""Outages are nobody's fault: tell them apart from a message's own failure, and wait them out.

A handler that fails because the database or the broker is unreachable must not spend the message's
delivery limit (a 30-second database restart would otherwise dead-letter every message in flight).
:func:`is_outage` recognises such failures; :class:`Availability` is the gate deliveries wait at
while the service's dependencies are away: the first delivery that meets an outage closes it, a probe
checks every second, and when the probe succeeds the gate opens and the held deliveries are tried
again — still unacknowledged, so nothing was lost, and not returned to the queue, so the broker's
delivery count did not move.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import aiormq.exceptions
import asyncpg.exceptions
import sqlalchemy.exc

from .logs import get_logger

log = get_logger(__name__)

# SQLSTATE classes and codes that mean "the server is not there for you right now"
_OUTAGE_SQLSTATES = ("08", "57P01", "57P02", "57P03", "53300")

_OUTAGE_TYPES: tuple[type[BaseException], ...] = (
    ConnectionError,  # includes aiormq's AMQPConnectionError
    OSError,
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.InterfaceError,  # "connection is closed", "connection was released"
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.TooManyConnectionsError,
    sqlalchemy.exc.TimeoutError,  # the pool could not hand out a connection
    aiormq.exceptions.ChannelInvalidStateError,
    aiormq.exceptions.ConnectionClosed,
)


def is_outage(exc: BaseException) -> bool:
    """True when ``exc`` (or what caused it) says a server could not be reached or went away."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, _OUTAGE_TYPES) or isinstance(e, TimeoutError):
            return True
        if isinstance(e, sqlalchemy.exc.DBAPIError) and e.connection_invalidated:
            return True
        state = getattr(e, "sqlstate", None) or getattr(e, "pgcode", None)
        if isinstance(state, str) and state.startswith(_OUTAGE_SQLSTATES):
            return True
        todo += [getattr(e, "orig", None), e.__cause__, e.__context__]
    return False


class Availability:
    """The gate: open while the dependencies answer; closed (deliveries wait) while they do not."""

    def __init__(self, probe: Callable[[], Awaitable[None]], *, interval: float = 1.0, name: str = "dependencies"):
        self._probe = probe
        self._interval = interval
        self._name = name
        self._open = asyncio.Event()
        self._open.set()
        self._task: asyncio.Task[None] | None = None
        self._since = 0.0
        self.outages = 0
        self.confirmed = False  # the last outage was seen by the probe too (not a one-off failure)

    @property
    def available(self) -> bool:
        return self._open.is_set()

    async def wait(self) -> None:
        await self._open.wait()

    def lost(self, exc: BaseException) -> None:
        """A delivery met an outage: close the gate and probe until the dependencies answer."""
        if self._task is not None and not self._task.done():
            return
        self._open.clear()
        self.confirmed = False
        self._since = time.monotonic()
        self.outages += 1
        log.warning(
            "a dependency is unreachable: holding deliveries until it answers",
            dependency=self._name,
            error=f"{type(exc).__name__}: {exc}"[:300],
        )
        self._task = asyncio.create_task(self._recover(), name="availability-probe")

    async def _recover(self) -> None:
        attempt = 0
        while True:
            try:
                await asyncio.wait_for(self._probe(), timeout=max(2.0, self._interval * 2))
            except Exception as exc:
                self.confirmed = True
                attempt += 1
                if attempt % 10 == 1:
                    log.info("still unreachable", dependency=self._name, error=type(exc).__name__, waited_s=self.waited)
                await asyncio.sleep(self._interval)
                continue
            if self.confirmed:
                log.warning("reachable again: resuming", dependency=self._name, waited_s=self.waited)
            self._open.set()
            return

    async def answering(self) -> bool:
        """Probe once, now: do the dependencies answer? (False while the gate is closed.)"""
        if not self.available:
            return False
        try:
            await asyncio.wait_for(self._probe(), timeout=max(2.0, self._interval * 2))
        except Exception:
            return False
        return True

    @property
    def waited(self) -> float:
        return 0.0 if self.available else round(time.monotonic() - self._since, 1)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
        self._open.set()  # let anything still waiting go (to find the service stopping)
