"""Database helpers against the real PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
import sqlalchemy as sa

from shared.clock import SystemClock
from shared.db import driver_connection, make_engine, make_sessionmaker
from shared.outbox import Outbox
from shared.publisher import Publisher
from shared.uow import Transactions

from ..servers import Servers
from ..system import fresh_database

pytestmark = pytest.mark.integration


async def test_raw_statements_share_the_transaction_and_its_rollback(servers: Servers) -> None:
    engine = make_engine(servers.database_url("postgres"))
    try:
        async with engine.connect() as conn:
            await conn.execute(sa.text("CREATE TEMP TABLE raw_tx (x int)"))
            await conn.commit()
            for _ in range(2):  # twice: the second transaction on the same pooled connection too
                with pytest.raises(RuntimeError):
                    async with conn.begin():
                        pg = await driver_connection(conn)
                        await pg.execute("INSERT INTO raw_tx VALUES (1)")
                        raise RuntimeError("roll back")
            async with conn.begin():
                pg = await driver_connection(conn)
                await pg.execute("INSERT INTO raw_tx VALUES (2)")
            async with conn.begin():
                rows = (await conn.execute(sa.text("SELECT x FROM raw_tx"))).scalars().all()
        assert rows == [2], "rolled-back raw inserts must be gone, the committed one kept"
    finally:
        await engine.dispose()


async def test_inbox_pruning_forgets_old_ids_but_keeps_count_once_keys(servers: Servers) -> None:
    engine = make_engine(await fresh_database(servers, "meetdesk_test_inbox_prune", "metrics"))
    try:
        async with engine.begin() as conn:
            await conn.execute(
                sa.text(
                    "INSERT INTO inbox (message_id, processed_at) VALUES "
                    "('event:old', now() - interval '40 days'), ('command:old', now() - interval '31 days'), "
                    "('once:series-1', now() - interval '400 days'), ('event:new', now() - interval '1 day')"
                )
            )
        outbox = Outbox(make_sessionmaker(engine), Publisher(servers.amqp_url), batch=10, poll=1.0)
        removed = await outbox.prune_inbox(timedelta(days=30), batch=1)
        async with engine.connect() as conn:
            left = (await conn.execute(sa.text("SELECT message_id FROM inbox ORDER BY 1"))).scalars().all()
        assert removed == 2
        assert left == ["event:new", "once:series-1"]
    finally:
        await engine.dispose()


async def test_a_claim_taken_back_can_be_claimed_again_and_others_stay(servers: Servers) -> None:
    engine = make_engine(await fresh_database(servers, "meetdesk_test_unclaim", "intake"))
    transactions = Transactions(
        make_sessionmaker(engine), lambda conn: conn, producer="test", clock=SystemClock(), on_commit=lambda tx: None
    )
    try:
        async with transactions.begin() as tx:
            assert await tx.claim("webhook:a") and await tx.claim("webhook:b")
        async with transactions.begin() as tx:
            assert not await tx.claim("webhook:a"), "claimed once"
            await tx.unclaim("webhook:a")  # the delivery it let in could not be taken
        async with transactions.begin() as tx:
            assert await tx.claim("webhook:a"), "offered again: taken"
            assert not await tx.claim("webhook:b"), "the others stay claimed"
    finally:
        await engine.dispose()


async def test_outbox_publishes_commits_at_once_and_sweeps_only_rows_left_behind(servers: Servers) -> None:
    """What a transaction commits is published straight away and its rows deleted; a row left by a
    process that died before publishing is swept once it is older than the grace period, and not
    before (so a live process's fast path is not doubled by another replica's sweep)."""
    import uuid

    import aio_pika

    from shared.contract.events import FeedbackReceived, make_event
    from shared.topology import EVENTS

    engine = make_engine(await fresh_database(servers, "meetdesk_test_outbox_relay", "metrics"))
    conn = await aio_pika.connect(servers.amqp_url)
    ch = await conn.channel()
    await ch.declare_exchange(EVENTS, aio_pika.ExchangeType.TOPIC, durable=True)
    watch = await ch.declare_queue("", exclusive=True)
    await watch.bind(EVENTS, "feedback.received")
    received: list[str] = []

    async def on_event(message: aio_pika.abc.AbstractIncomingMessage) -> None:
        received.append(message.message_id or "")
        await message.ack()

    await watch.consume(on_event)

    def event() -> FeedbackReceived:
        return FeedbackReceived(subject_type="service", score=5, score_100=100, channel="chat")

    publisher = Publisher(servers.amqp_url)
    outbox = Outbox(make_sessionmaker(engine), publisher, batch=50, poll=0.2, sweep_after=10.0)
    transactions = Transactions(
        make_sessionmaker(engine),
        lambda c: c,
        producer="test",
        clock=SystemClock(),
        on_commit=lambda tx: outbox.committed(tx.written),
    )
    try:
        async with transactions.begin() as tx:
            fresh = tx.emit(event(), correlation_id=uuid.uuid4())
        assert await outbox.relay_fresh() == 1
        # rows of a process that died between commit and publish: one old enough, one not yet
        orphan_old, orphan_new = (make_event(event(), producer="test", correlation_id=uuid.uuid4()) for _ in "ab")
        for env, age in ((orphan_old, 60), (orphan_new, 0)):
            async with engine.begin() as db:
                await db.execute(
                    sa.text(
                        "INSERT INTO outbox (event_id, exchange, routing_key, message_type, correlation_id, body,"
                        " created_at) VALUES (:id, :ex, :rk, :rk, :corr, :body, now() - make_interval(secs => :age))"
                    ),
                    {
                        "id": env.event_id,
                        "ex": EVENTS,
                        "rk": env.type,
                        "corr": str(env.correlation_id),
                        "body": env.to_bytes(),
                        "age": age,
                    },
                )
        assert await outbox.relay_once(older_than=10.0) == 1, "only the row older than the grace period"
        for _ in range(50):
            if len(received) >= 2:
                break
            await asyncio.sleep(0.1)
        assert received == [str(fresh.event_id), str(orphan_old.event_id)]
        async with engine.connect() as db:
            left = (await db.execute(sa.text("SELECT event_id FROM outbox"))).scalars().all()
        assert left == [orphan_new.event_id]
    finally:
        await outbox.stop()
        await publisher.close()
        await conn.close()
        await engine.dispose()


async def test_a_command_sent_in_a_unit_of_work_is_published_to_the_commands_exchange_with_its_id(
    servers: Servers,
) -> None:
    import json
    import uuid

    import aio_pika

    from shared.contract.commands import BookingConfirmAttendance
    from shared.topology import COMMANDS

    engine = make_engine(await fresh_database(servers, "meetdesk_test_outbox_commands", "intake"))
    conn = await aio_pika.connect(servers.amqp_url)
    ch = await conn.channel()
    await ch.declare_exchange(COMMANDS, aio_pika.ExchangeType.TOPIC, durable=True)
    watch = await ch.declare_queue("", exclusive=True)
    await watch.bind(COMMANDS, "booking.confirm_attendance")
    publisher = Publisher(servers.amqp_url)
    outbox = Outbox(make_sessionmaker(engine), publisher, batch=50, poll=0.2)
    transactions = Transactions(
        make_sessionmaker(engine),
        lambda c: c,
        producer="intake",
        clock=SystemClock(),
        on_commit=lambda tx: outbox.committed(tx.written),
    )
    command_id = str(uuid.uuid4())
    try:
        async with transactions.begin() as tx:
            tx.send(
                BookingConfirmAttendance(command_id=command_id, actor="customer", booking_id="b-1"),
                correlation_id=uuid.uuid4(),
            )
        assert await outbox.relay_fresh() == 1
        message = None
        for _ in range(50):
            if (message := await watch.get(fail=False, no_ack=True)) is not None:
                break
            await asyncio.sleep(0.1)
        assert message is not None, "the command reached the commands exchange"
        assert message.message_id == command_id and message.routing_key == "booking.confirm_attendance"
        assert json.loads(message.body)["booking_id"] == "b-1"
    finally:
        await outbox.stop()
        await publisher.close()
        await conn.close()
        await engine.dispose()
