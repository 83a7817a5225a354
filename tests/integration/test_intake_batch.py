"""One batch of deliveries through intake's set-based apply, against the real database: items in the
same transaction see each other (a reply joins the thread of the message before it, a returning
customer is found), a repeat in the same batch is ignored, and concurrent batches agree."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from services.intake import handlers
from services.intake.domain import Item, Policy
from services.intake.normalised import ChannelContext
from services.intake.store import IntakeStore
from shared.db import make_engine
from shared.uow import Transaction

from ..servers import Servers
from ..system import fresh_database
from ..unit.channel_support import incoming
from .test_intake import email_bytes

pytestmark = pytest.mark.integration
DB = "meetdesk_test_intake_batch"
T0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
POLICY = Policy.of(ChannelContext(), 1_048_576)


@pytest.fixture
async def engine(servers: Servers):
    eng = make_engine(await fresh_database(servers, DB, "intake"))
    yield eng
    await eng.dispose()


def work(body: bytes) -> Item:
    (item,) = handlers.read(incoming(body, "email", "message/rfc822"), T0, POLICY)
    return item


async def apply(engine, batch: list[Item]) -> list:
    async with engine.connect() as conn, conn.begin():
        tx = Transaction(conn, IntakeStore(conn), "intake", T0)
        await handlers.apply(tx, batch, T0, POLICY)
    return [env for env, _ in tx.emitted]


async def test_a_batch_sees_its_own_items(engine) -> None:
    first, first_id = email_bytes(sender="Chan <chan@example.hk>", subject="Room", body="Do you have a room?", date=T0)
    reply, reply_id = email_bytes(
        sender="chan@example.hk",
        subject="Re: Room",
        body="For 20 people please",
        in_reply_to=first_id,
        date=T0 + timedelta(minutes=5),
    )
    again_reply, _ = email_bytes(  # names only the reply, which the database has not seen yet
        sender="chan@example.hk",
        subject="Re: Re: Room",
        body="And a projector",
        in_reply_to=reply_id,
        date=T0 + timedelta(minutes=9),
    )
    other, _ = email_bytes(sender="wong@example.hk", subject="Hello", body="What are your rates?", date=T0)

    events = await apply(engine, [work(first), work(first), work(reply), work(again_reply), work(other)])

    inquiries = [e.data for e in events if e.type == "inquiry.received"]
    assert len(inquiries) == 4, "the repeat of the first email in the same batch is ignored"
    by_text = {i["text"]: i for i in inquiries}
    asked, followed = by_text["Do you have a room?"], by_text["For 20 people please"]
    assert followed["conversation_id"] == asked["conversation_id"], "the reply joins the thread before it"
    assert by_text["And a projector"]["conversation_id"] == asked["conversation_id"], "found through the batch"
    assert followed["customer"]["customer_id"] == asked["customer"]["customer_id"], (
        "the customer created first is found"
    )
    assert by_text["What are your rates?"]["customer"]["customer_id"] != asked["customer"]["customer_id"]
    async with engine.connect() as conn:
        customers = (await conn.execute(sa.text("SELECT count(*) FROM customers"))).scalar()
        awaiting = (
            await conn.execute(
                sa.text("SELECT awaiting_since FROM conversations WHERE conversation_id = :c"),
                {"c": asked["conversation_id"]},
            )
        ).scalar()
        deliveries = (await conn.execute(sa.text("SELECT count(*) FROM deliveries"))).scalar()
    assert customers == 2 and deliveries == 4
    assert awaiting == T0, "the conversation awaits an answer since its oldest unanswered message"

    again = await apply(engine, [work(first)])
    assert again == [], "a redelivery in a later batch changes nothing and says nothing"


async def test_concurrent_batches_agree_on_one_new_customer(engine) -> None:
    """Two batches each bring a first message from the same new address: one creates the customer,
    the other loses the race on the identity, runs again and finds it."""
    from shared.db import db_retry

    bodies = [email_bytes(sender="lee@example.hk", subject=f"Q{i}", body=f"Question {i}", date=T0)[0] for i in range(2)]

    async def apply_retrying(body: bytes) -> list:
        async for attempt in db_retry():
            with attempt:
                return await apply(engine, [work(body)])
        raise AssertionError("unreachable")

    results = await asyncio.gather(*(apply_retrying(b) for b in bodies))
    owners = {e.data["customer"]["customer_id"] for events in results for e in events if e.type == "inquiry.received"}
    assert len(owners) == 1
    async with engine.connect() as conn:
        assert (await conn.execute(sa.text("SELECT count(*) FROM customers"))).scalar() == 1


async def test_the_in_memory_store_of_the_handler_tests_agrees_with_the_database(engine) -> None:
    """The same batches through the real store and through tests/unit/intake_fakes.py: the same events
    (customer ids aside, which are random) and the same conversations."""
    from ..unit.fakes import FakeUnitOfWork
    from ..unit.intake_fakes import FakeIntakeStore

    first, first_id = email_bytes(sender="Chan <chan@example.hk>", subject="Room", body="Do you have a room?", date=T0)
    reply, _ = email_bytes(
        sender="chan@example.hk",
        subject="Re: Room",
        body="For 20 people",
        in_reply_to=first_id,
        date=T0 + timedelta(minutes=5),
    )
    answer, _ = email_bytes(
        sender="Agent Ho <ho@meetdesk.example>",
        to="chan@example.hk",
        subject="Re: Room",
        body="We have one.",
        in_reply_to=first_id,
        date=T0 + timedelta(minutes=30),
    )
    other, _ = email_bytes(sender="wong@example.hk", subject="Hello", body="What are your rates?", date=T0)
    batches = [[first, first, reply, other], [answer, first], [reply]]

    real: list = []
    for batch in batches:
        real += await apply(engine, [work(body) for body in batch])
    fake = FakeIntakeStore()
    uow = FakeUnitOfWork(fake, producer="intake", now=T0)
    for batch in batches:
        await handlers.apply(uow, [work(body) for body in batch], T0, POLICY)

    assert canonical(uow.emitted) == canonical(real)
    async with engine.connect() as conn:
        rows = (await conn.execute(sa.text("SELECT * FROM conversations ORDER BY conversation_id"))).mappings().all()
    fields = (
        "conversation_id",
        "channel",
        "status",
        "opened_at",
        "first_reply_at",
        "awaiting_since",
        "last_activity_at",
    )
    assert [tuple(r[f] for f in fields) for r in rows] == [
        tuple(getattr(c, f) for f in fields) for _, c in sorted(fake.conversations.items())
    ]
    async with engine.connect() as conn:
        counts = [
            (await conn.execute(sa.text(f"SELECT count(*) FROM {table}"))).scalar()
            for table in ("deliveries", "customers", "identities", "inquiries", "message_refs")
        ]
    assert counts == [
        len(fake.deliveries),
        len(fake.customers),
        len(fake.identities),
        len(fake.inquiries),
        len(fake.message_refs),
    ]


def canonical(envelopes: list) -> list:
    """(type, data) with every UUID replaced by the order of its first appearance."""
    seen: dict[str, str] = {}

    def number(m: re.Match[str]) -> str:
        return seen.setdefault(m.group(), f"id-{len(seen)}")

    uuid_re = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
    return [(e.type, uuid_re.sub(number, json.dumps(e.data, sort_keys=True))) for e in envelopes]
