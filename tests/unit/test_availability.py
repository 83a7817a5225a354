"""Telling an outage from a message's own failure, and the gate deliveries wait at meanwhile."""

from __future__ import annotations

import asyncio

import aiormq.exceptions
import asyncpg.exceptions
import pytest
import sqlalchemy.exc

from shared.availability import Availability, is_outage
from shared.publisher import BrokerConnectionError
from shared.runtime import Rejected, parse_json


def _wrapped(orig: BaseException) -> sqlalchemy.exc.DBAPIError:
    return sqlalchemy.exc.DBAPIError("SELECT 1", {}, orig)


@pytest.mark.parametrize(
    "exc",
    [
        ConnectionRefusedError(111, "Connection refused"),
        OSError(113, "No route to host"),
        TimeoutError(),
        asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
        asyncpg.exceptions.AdminShutdownError("terminating connection due to administrator command"),
        asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
        asyncpg.exceptions.TooManyConnectionsError("sorry, too many clients already"),
        asyncpg.exceptions.InterfaceError("connection is closed"),
        sqlalchemy.exc.TimeoutError("QueuePool limit reached"),
        aiormq.exceptions.AMQPConnectionError("Server connection unexpectedly closed"),
        BrokerConnectionError("cannot reach the broker"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_a_server_that_is_away_is_an_outage(exc: BaseException) -> None:
    assert is_outage(exc)


def test_an_outage_is_recognised_behind_the_layers_that_wrap_it() -> None:
    wrapped = _wrapped(asyncpg.exceptions.AdminShutdownError("terminating connection"))
    assert is_outage(wrapped)
    try:
        try:
            raise ConnectionResetError(104, "Connection reset by peer")
        except ConnectionResetError as inner:
            raise RuntimeError("the handler failed") from inner
    except RuntimeError as outer:
        assert is_outage(outer)


def test_a_connection_failure_sqlstate_is_an_outage_whatever_its_class() -> None:
    class Odd(Exception):
        sqlstate = "08006"  # connection_failure

    assert is_outage(_wrapped(Odd()))


@pytest.mark.parametrize(
    "exc",
    [
        ValueError("bad date"),
        KeyError("room"),
        asyncpg.exceptions.UniqueViolationError("duplicate key"),
        asyncpg.exceptions.DeadlockDetectedError("deadlock detected"),
        _wrapped(asyncpg.exceptions.CheckViolationError("violates check constraint")),
        Rejected("schema validation failed"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_a_message_failing_for_its_own_reasons_is_not_an_outage(exc: BaseException) -> None:
    assert not is_outage(exc)


async def test_the_gate_holds_deliveries_until_the_probe_succeeds() -> None:
    answers = iter([ConnectionRefusedError(), ConnectionRefusedError(), None])

    async def probe() -> None:
        if (e := next(answers)) is not None:
            raise e

    gate = Availability(probe, interval=0.01)
    assert gate.available
    gate.lost(ConnectionRefusedError())
    assert not gate.available
    waiting = asyncio.create_task(gate.wait())
    await asyncio.sleep(0)
    assert not waiting.done(), "held while the dependency is away"
    await asyncio.wait_for(waiting, 2)
    assert gate.available and gate.confirmed, "released once the probe succeeded; the probe saw the outage"
    assert gate.outages == 1


async def test_a_failure_the_probe_cannot_see_is_not_confirmed_as_an_outage() -> None:
    async def probe() -> None:
        return None

    gate = Availability(probe, interval=0.01)
    gate.lost(TimeoutError())
    await asyncio.wait_for(gate.wait(), 2)
    assert not gate.confirmed, "a one-off: the dispatcher counts it towards the message's own failures"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b'{"n": ' + b"9" * 100_000 + b"}", "digits"),
        (b"\xff\xfe garbage", "not valid JSON"),
        (b'{"a": ', "not valid JSON"),
    ],
    ids=["deep", "huge-integer", "not-utf8", "truncated"],
)
def test_json_that_can_never_parse_is_refused_at_once(body: bytes, reason: str) -> None:
    with pytest.raises(Rejected, match=reason):
        parse_json(body)
