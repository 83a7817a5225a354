"""The scheduler against the real database, with a clock the test moves: due items fire once, never
early, in due order; cancelling in the transaction that makes an item moot means it never fires; a
failing firing is retried with backoff and then parked with its reason and ``due.parked``."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared.availability import is_outage
from shared.clock import FixedClock
from shared.db import make_engine, make_sessionmaker
from shared.runtime import Rejected
from shared.scheduler import DUE, DueItem, Scheduler, backoff
from shared.uow import Transaction, Transactions

from ..servers import Servers
from ..system import fresh_database

pytestmark = pytest.mark.integration

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest_asyncio.fixture
async def engine(servers: Servers) -> AsyncIterator[AsyncEngine]:
    eng = make_engine(await fresh_database(servers, "meetdesk_test_scheduler", "booking"))
    try:
        yield eng
    finally:
        await eng.dispose()


class Harness:
    """A scheduler over the real database whose handlers record what fired, and when."""

    def __init__(self, engine: AsyncEngine, *, attempts: int = 3):
        self.clock = FixedClock(T0)
        self.fired: list[tuple[str, datetime]] = []  # (key, now at firing)
        self.failing: dict[str, int] = {}  # key -> failures left
        self.committed: list[Transaction[Any]] = []
        self.transactions = Transactions(
            make_sessionmaker(engine),
            lambda conn: conn,
            producer="test",
            clock=self.clock,
            on_commit=self.committed.append,
        )
        self.scheduler = Scheduler(
            "test", self.transactions.begin, {"tick": self.tick, "poison": self.poison}, self.clock, attempts=attempts
        )

    async def tick(self, tx: Transaction[AsyncConnection], item: DueItem) -> None:
        if self.failing.get(item.key, 0) > 0:
            self.failing[item.key] -= 1
            raise RuntimeError(f"the room system said no to {item.key}")
        self.fired.append((item.key, tx.now))

    async def poison(self, tx: Transaction[AsyncConnection], item: DueItem) -> None:
        raise Rejected("the booking this reminder was for does not exist")

    async def schedule(self, *items: tuple[str, str, datetime]) -> None:
        async with self.transactions.begin() as tx:
            for kind, key, at in items:
                await tx.schedule(kind, key, at, payload={"n": key})

    def emitted(self, event_type: str) -> list[dict[str, Any]]:
        return [env.data for tx in self.committed for env, _ in tx.emitted if env.type == event_type]

    async def rows(self, engine: AsyncEngine) -> list[Any]:
        async with engine.connect() as conn:
            return list((await conn.execute(sa.select(DUE).order_by(DUE.c.id))).all())


async def test_items_fire_when_due_and_not_before_in_due_order(engine: AsyncEngine) -> None:
    h = Harness(engine)
    await h.schedule(("tick", "b", T0 + timedelta(minutes=2)), ("tick", "a", T0 + timedelta(minutes=1)))
    await h.schedule(("tick", "c", T0 + timedelta(hours=1)))

    assert await h.scheduler.fire_due() == 0, "nothing is due at T0"
    h.clock.advance(timedelta(minutes=1, seconds=-1))
    assert await h.scheduler.fire_due() == 0, "not even a second early"
    h.clock.advance(timedelta(minutes=5))  # an outage: both fall due while nobody looked
    assert await h.scheduler.fire_due() == 2
    assert [k for k, _ in h.fired] == ["a", "b"], "oldest due first"
    assert await h.scheduler.fire_due() == 0, "fired items are gone: never twice"
    assert [r.key for r in await h.rows(engine)] == ["c"]


async def test_scheduling_the_same_item_again_moves_it(engine: AsyncEngine) -> None:
    h = Harness(engine)
    await h.schedule(("tick", "x", T0 + timedelta(minutes=1)))
    await h.schedule(("tick", "x", T0 + timedelta(minutes=30)))  # e.g. the booking was rescheduled
    h.clock.advance(timedelta(minutes=10))
    assert await h.scheduler.fire_due() == 0
    h.clock.advance(timedelta(minutes=20))
    assert await h.scheduler.fire_due() == 1
    assert h.fired == [("x", T0 + timedelta(minutes=30))]


@dataclass(frozen=True)
class Item:
    kind: str
    key: str
    due_at: datetime
    correlation_id: str | None = None


async def test_many_items_scheduled_at_once_fire_like_items_scheduled_one_by_one(engine: AsyncEngine) -> None:
    h = Harness(engine, attempts=1)
    h.failing["moved"] = 2  # (a failed batch is tried again item by item)
    await h.schedule(("tick", "moved", T0 + timedelta(minutes=1)))
    h.clock.advance(timedelta(minutes=1))
    await h.scheduler.fire_due()  # fails once: parked
    async with h.transactions.begin() as tx:
        await tx.schedule_many(
            [
                Item("tick", "a", T0 + timedelta(minutes=3)),
                Item("tick", "b", T0 + timedelta(minutes=2), str(uuid.uuid4())),
                Item("tick", "a", T0 + timedelta(minutes=4)),  # the same item twice: the last time wins
                Item("tick", "moved", T0 + timedelta(minutes=2, seconds=30)),  # a parked item starts afresh
            ]
        )
    assert h.committed[-1].due_times, "the scheduler is told of the new due times"
    rows = {(r.kind, r.key): r for r in await h.rows(engine)}
    assert rows[("tick", "moved")].parked_at is None and rows[("tick", "moved")].attempts == 0
    h.clock.advance(timedelta(minutes=3))
    assert await h.scheduler.fire_due() == 3
    assert [k for k, _ in h.fired] == ["b", "moved", "a"], "each once, in due order, a at its last time"


async def test_an_item_cancelled_or_rolled_back_with_its_state_change_never_fires(engine: AsyncEngine) -> None:
    h = Harness(engine)
    await h.schedule(("tick", "cancelled-later", T0 + timedelta(minutes=1)))
    async with h.transactions.begin() as tx:  # the booking is cancelled: its reminder with it
        assert await tx.cancel("tick", "cancelled-later") is True
        await tx.schedule("tick", "made-and-cancelled", T0 + timedelta(minutes=1))
        assert await tx.cancel("tick", "made-and-cancelled") is True
    with pytest.raises(RuntimeError):
        async with h.transactions.begin() as tx:  # a state change that failed: its item goes too
            await tx.schedule("tick", "rolled-back", T0 + timedelta(minutes=1))
            raise RuntimeError("the state change failed")
    h.clock.advance(timedelta(hours=1))
    assert await h.scheduler.fire_due() == 0
    assert h.fired == [] and await h.rows(engine) == []


async def test_a_failing_item_is_retried_with_backoff_then_fires(engine: AsyncEngine) -> None:
    h = Harness(engine)
    h.failing["flaky"] = 2
    await h.schedule(("tick", "flaky", T0), ("tick", "fine", T0))
    assert await h.scheduler.fire_due() == 2
    assert [k for k, _ in h.fired] == ["fine"], "one failure does not hold back the others in its batch"
    (row,) = await h.rows(engine)
    assert (row.attempts, row.not_before, row.due_at) == (1, T0 + backoff(1), T0)
    assert "RuntimeError: the room system said no to flaky" in row.last_error
    assert await h.scheduler.fire_due() == 0, "not before its backoff"
    h.clock.advance(backoff(1))
    await h.scheduler.fire_due()
    h.clock.advance(backoff(2))
    await h.scheduler.fire_due()
    assert [k for k, _ in h.fired] == ["fine", "flaky"]
    assert await h.rows(engine) == []


async def test_an_item_that_keeps_failing_is_parked_with_its_reason_and_an_event(engine: AsyncEngine) -> None:
    h = Harness(engine, attempts=3)
    h.failing["doomed"] = 99
    await h.schedule(("tick", "doomed", T0))
    for attempt in range(1, 4):
        assert await h.scheduler.fire_due() == 1
        h.clock.advance(backoff(attempt))
    (row,) = await h.rows(engine)
    assert row.parked_at is not None and row.attempts == 3
    assert await h.scheduler.fire_due() == 0, "a parked item is left alone"
    (parked,) = h.emitted("due.parked")
    assert parked["kind"] == "tick" and parked["key"] == "doomed" and parked["attempts"] == 3
    assert "the room system said no to doomed" in parked["reason"]
    backlog = await h.scheduler.measure()
    assert (backlog.parked, backlog.pending, backlog.overdue) == (1, 0, 0)


async def test_an_item_that_can_never_succeed_is_parked_at_once(engine: AsyncEngine) -> None:
    h = Harness(engine)
    await h.schedule(("poison", "p", T0), ("nobody-handles-this", "q", T0))
    assert await h.scheduler.fire_due() == 2
    rows = await h.rows(engine)
    assert [(r.key, r.attempts, r.parked_at is not None) for r in rows] == [("p", 1, True), ("q", 1, True)]
    reasons = sorted(e["reason"] for e in h.emitted("due.parked"))
    assert reasons[0].startswith("no handler for due items of kind 'nobody-handles-this'")
    assert reasons[1] == "the booking this reminder was for does not exist"


async def test_what_a_failed_firing_emitted_or_scheduled_is_undone(engine: AsyncEngine) -> None:
    h = Harness(engine)

    async def half_done(tx: Transaction[AsyncConnection], item: DueItem) -> None:
        await tx.schedule("tick", "follow-up", T0 + timedelta(days=1))
        from shared.contract.events import BookingReminderDue

        tx.emit(
            BookingReminderDue(booking_id="b", customer_id="c", room_id="r", start=T0, end=T0),
            correlation_id=uuid.uuid4(),
        )
        raise RuntimeError("failed after doing half of it")

    h.scheduler._handlers["half"] = half_done
    await h.schedule(("half", "h", T0))
    await h.scheduler.fire_due()
    assert [r.key for r in await h.rows(engine)] == ["h"], "the follow-up it scheduled was rolled back"
    assert h.emitted("booking.reminder_due") == [], "and the event it emitted never left"


async def test_the_backlog_says_how_much_is_overdue_and_how_late(engine: AsyncEngine) -> None:
    h = Harness(engine)
    await h.schedule(("tick", "a", T0), ("tick", "b", T0 + timedelta(minutes=5)), ("tick", "c", T0 + timedelta(days=1)))
    h.clock.advance(timedelta(minutes=10))
    backlog = await h.scheduler.measure()
    assert (backlog.overdue, backlog.pending, backlog.parked) == (2, 3, 0)
    assert backlog.oldest_overdue_seconds == 600


async def test_items_due_during_a_database_outage_fire_on_recovery_in_due_order(engine: AsyncEngine) -> None:
    from ..faults import TcpProxy

    url = engine.url
    proxy = await TcpProxy.open(url.host or "127.0.0.1", url.port or 5432)
    proxied = make_engine(url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False))
    try:
        h = Harness(proxied)
        await h.schedule(("tick", "second", T0 + timedelta(minutes=2)), ("tick", "first", T0 + timedelta(minutes=1)))
        proxy.cut()  # the database goes away; meanwhile both fall due
        h.clock.advance(timedelta(minutes=10))
        with pytest.raises(Exception) as outage:
            await h.scheduler.fire_due()
        assert is_outage(outage.value), "nobody's fault: no attempt is counted"
        proxy.restore()
        assert await h.scheduler.fire_due() == 2
        assert [k for k, _ in h.fired] == ["first", "second"]
        assert await h.rows(engine) == [], "fired once each, none parked"
    finally:
        await proxied.dispose()
        await proxy.close()


async def test_ops_list_parked_items_with_their_reasons_and_give_them_another_chance(engine: AsyncEngine) -> None:
    from tools.dlq import parser, run

    h = Harness(engine, attempts=1)
    h.failing["stuck"] = 99
    await h.schedule(("tick", "stuck", T0), ("tick", "fine", T0 + timedelta(days=9)))
    await h.scheduler.fire_due()
    url = engine.url.render_as_string(hide_password=False)
    said: list[str] = []
    assert await run(parser().parse_args(["parked", "booking", "--database-url", url]), said.append) == 0
    assert said[0] == "booking: 1 parked due item(s)"
    assert "tick stuck" in said[1] and "the room system said no to stuck" in said[2]

    with pytest.raises(Exception, match="refusing to retry without a selector"):
        await run(parser().parse_args(["retry-parked", "booking", "--database-url", url]), said.append)
    h.failing["stuck"] = 0  # the cause is fixed
    assert await run(parser().parse_args(["retry-parked", "booking", "--database-url", url, "--key", "stuck"])) == 0
    h.clock.at = datetime.now(UTC)  # retried items are due at the wall-clock now of the retry
    assert await h.scheduler.fire_due() == 1
    assert [k for k, _ in h.fired] == ["stuck"], "fired on its second chance; the other item untouched"
    assert [r.key for r in await h.rows(engine)] == ["fine"]


async def test_a_handler_that_schedules_its_own_item_again_keeps_it_for_its_next_time(engine: AsyncEngine) -> None:
    """E.g. an escalation step that plans the next level under the same kind and key: the firing
    must not delete what its own handler has just scheduled, and the item fires again then."""
    h = Harness(engine)
    steps: list[datetime] = []

    async def step(tx: Transaction[AsyncConnection], item: DueItem) -> None:
        steps.append(tx.now)
        if len(steps) < 3:
            await tx.schedule("step", item.key, item.due_at + timedelta(minutes=30))

    h.scheduler._handlers["step"] = step
    await h.schedule(("step", "complaint-1", T0))
    assert await h.scheduler.fire_due() == 1
    (row,) = await h.rows(engine)
    assert row.due_at == T0 + timedelta(minutes=30), "the next step stays scheduled"
    h.clock.advance(timedelta(minutes=30))
    assert await h.scheduler.fire_due() == 1
    h.clock.advance(timedelta(minutes=30))
    assert await h.scheduler.fire_due() == 1
    assert steps == [T0, T0 + timedelta(minutes=30), T0 + timedelta(hours=1)]
    assert await h.rows(engine) == [], "the last step scheduled nothing more"
