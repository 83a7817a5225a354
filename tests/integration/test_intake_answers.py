"""The customer's answer to the day-before reminder, on the real system: booking's ``booking.reminder_due``
(naming the reply route the customer was reminded on) reaches intake on ``intake.events``, the customer
answers on the WeChat conversation it went to, and intake sends ``booking.confirm_attendance`` to
``meetdesk.commands`` — once, however often WeChat pushes the answer or the broker the reminder; a
reminder whose data does not fit is dead-lettered. Then the set-based statements of the answers against
the database: the in-memory store of the handler tests agrees with them, and two batches answering one
question at once send one command."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aio_pika
import httpx
import pytest

from services.intake import handlers
from services.intake.domain import Item, Policy
from services.intake.normalised import ChannelContext
from services.intake.store import IntakeStore
from shared.contract.events import BookingReminderDue, Envelope, ReplyRoute, make_event
from shared.db import db_retry, make_engine
from shared.messages import EventIn
from shared.runtime import derive_uuid
from shared.topology import COMMANDS, EVENTS, INTAKE_EVENTS
from shared.uow import Transaction

from ..conftest import System
from ..servers import Servers
from ..system import WECHAT_TOKEN, fresh_database
from ..unit.channel_support import incoming
from .test_intake import email_bytes
from .test_intake_batch import canonical

pytestmark = pytest.mark.integration


def reminder(channel: str, address: str, booking_id: str, *, at: datetime | None = None) -> Envelope:
    """booking.reminder_due as booking emits it the day before a meeting, naming the route it reminded on."""
    start = (at or datetime.now(UTC)) + timedelta(days=1)
    data = BookingReminderDue(
        booking_id=booking_id,
        customer_id=str(uuid.uuid4()),
        room_id="harbour",
        start=start,
        end=start + timedelta(hours=1),
        reply_to=ReplyRoute(channel=channel, address=address, language="zh-Hant"),  # type: ignore[arg-type]
    )
    return make_event(data, producer="booking", correlation_id=uuid.uuid4(), occurred_at=at)


async def publish(system: System, event: Envelope | bytes, *, message_id: str | None = None) -> None:
    """To meetdesk.events, as booking's outbox publishes it (routing key = the event type)."""
    if isinstance(event, bytes):
        await system.publisher.publish(EVENTS, BookingReminderDue.event_type, event, message_id=message_id)
        return
    await system.publisher.publish(
        EVENTS,
        event.type,
        event.to_bytes(),
        message_id=str(event.event_id),
        correlation_id=str(event.correlation_id),
    )


def wechat_text(openid: str, msg_id: str, text: str) -> bytes:
    return (
        f"<xml><ToUserName><![CDATA[gh_desk]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{text}]]></Content><MsgId>{msg_id}</MsgId></xml>"
    ).encode()


async def push_signed(system: System, xml: bytes) -> None:
    """As WeChat pushes a message to the Official Account's server: signed with the token."""
    ts, nonce = str(int(time.time())), uuid.uuid4().hex[:10]
    signature = hashlib.sha1("".join(sorted([WECHAT_TOKEN, ts, nonce])).encode()).hexdigest()
    async with httpx.AsyncClient() as client:
        response = await client.post(
            system.url("intake") + "/webhooks/wechat",
            params={"signature": signature, "timestamp": ts, "nonce": nonce},
            content=xml,
        )
    assert response.status_code == 200 and response.text == "success"


@pytest.fixture
async def commands(system: System) -> AsyncIterator[list[aio_pika.abc.AbstractIncomingMessage]]:
    """Every booking.confirm_attendance / booking.cancel on meetdesk.commands, via an exclusive queue."""
    received: list[aio_pika.abc.AbstractIncomingMessage] = []
    conn = await aio_pika.connect(system.servers.amqp_url)
    try:
        ch = await conn.channel()
        queue = await ch.declare_queue("", exclusive=True, auto_delete=True)
        for key in ("booking.confirm_attendance", "booking.cancel"):
            await queue.bind(COMMANDS, key)

        async def on_message(msg: aio_pika.abc.AbstractIncomingMessage) -> None:
            received.append(msg)

        await queue.consume(on_message, no_ack=True)
        yield received
    finally:
        await conn.close()


async def wait_until(check: Any, what: str, timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := await check():
            return found
        await asyncio.sleep(0.1)
    raise TimeoutError(f"{what} not within {timeout}s")


async def test_a_confirm_on_wechat_sends_confirm_attendance_once_even_when_pushed_twice(
    system: System, commands: list[aio_pika.abc.AbstractIncomingMessage]
) -> None:
    openid = f"oQ{uuid.uuid4().hex[:20]}"
    booking_id = f"b-{uuid.uuid4().hex[:8]}"
    asked = reminder("wechat", f"wechat:{openid}", booking_id)
    await publish(system, asked)

    async def recorded() -> list[Any]:
        return await system.query(
            "intake",
            "SELECT booking_id FROM awaiting_answers WHERE channel = 'wechat' AND address = $1",
            f"wechat:{openid}",
        )

    assert (await wait_until(recorded, "the question recorded"))[0]["booking_id"] == booking_id

    msg_id = str(25000000000000000 + uuid.uuid4().int % 10**15)
    answer = wechat_text(openid, msg_id, "確認")
    await push_signed(system, answer)
    await push_signed(system, answer)  # WeChat pushes again when the first answer was slow

    async def sent() -> list[aio_pika.abc.AbstractIncomingMessage]:
        return commands

    (command,) = await wait_until(sent, "booking.confirm_attendance")
    assert command.routing_key == "booking.confirm_attendance"
    body = json.loads(command.body)
    assert body == {
        "command_id": str(derive_uuid("answer", "wechat", msg_id)),
        "actor": "customer",
        "booking_id": booking_id,
    }
    assert command.message_id == body["command_id"]
    assert command.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
    (inquiry,) = await system.watcher.wait_for(
        lambda e: e.type == "inquiry.received" and e.data["source_ref"] == msg_id
    )
    assert inquiry.data["booking_id"] == booking_id and inquiry.data["text"] == "確認"
    assert command.correlation_id == inquiry.body["correlation_id"], "one customer message, one correlation id"
    assert await recorded() == [], "answered"

    # the broker delivers the reminder again (an outbox sweep): its id was claimed, it asks nothing again
    await publish(system, asked)
    again = reminder("wechat", f"wechat:{openid}-marker", booking_id)  # behind it on intake.events
    await publish(system, again)

    async def marker_recorded() -> list[Any]:
        return await system.query(
            "intake", "SELECT 1 FROM awaiting_answers WHERE address = $1", f"wechat:{openid}-marker"
        )

    await wait_until(marker_recorded, "the reminder behind the repeat recorded")
    assert await recorded() == [], "a reminder delivered again does not reopen the question answered"

    # a marker sent after the repeat has been handled: by then a second command would have been sent too
    marker = str(int(msg_id) + 1)
    await push_signed(system, wechat_text(openid, marker, "請問幾點可以入場？"))
    (after,) = await system.watcher.wait_for(lambda e: e.type == "inquiry.received" and e.data["source_ref"] == marker)
    assert after.data["booking_id"] is None, "the question was answered: this is an ordinary inquiry"
    await asyncio.sleep(0.5)
    assert len(commands) == 1
    acks = system.watcher.matching(
        lambda e: (
            e.type == "notification.requested" and e.data["parameters"].get("inquiry_id") == inquiry.data["inquiry_id"]
        )
    )
    assert acks == [], "intake sends no acknowledgement for an answer (booking answers)"


async def test_a_reminder_whose_data_does_not_fit_is_dead_lettered_with_the_reason(system: System) -> None:
    bad_id = str(uuid.uuid4())
    good = reminder("wechat", f"wechat:oQ{uuid.uuid4().hex[:20]}", "b-bad")
    bad = good.model_copy(update={"event_id": uuid.UUID(bad_id), "data": {**good.data, "reply_to": "wechat"}})
    await publish(system, bad.to_bytes(), message_id=bad_id)

    (rejected,) = await system.watcher.wait_for(
        lambda e: (
            e.type == "message.rejected" and e.data["message_id"] == bad_id and e.data["queue"] == INTAKE_EVENTS.name
        )
    )
    assert "booking.reminder_due data invalid: reply_to" in rejected.data["reason"]
    letters: list[aio_pika.abc.AbstractIncomingMessage] = []

    async def dead_lettered() -> list[aio_pika.abc.AbstractIncomingMessage]:
        letters.extend(await system.publisher.dead_letters(INTAKE_EVENTS.dead_letter_queue))
        return letters

    await wait_until(dead_lettered, "the dead letter in intake.events.dlq")
    await asyncio.sleep(0.5)
    assert [m.message_id for m in await dead_lettered()] == [bad_id], "dead-lettered once, by one replica"
    assert letters[0].headers["x-meetdesk-error"] == rejected.data["reason"]
    assert await system.query("intake", "SELECT 1 FROM awaiting_answers WHERE booking_id = 'b-bad'") == []


# -- the statements, against the database ----------------------------------------------------------------
DB = "meetdesk_test_intake_answers"
T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
POLICY = Policy.of(ChannelContext(), 1_048_576)


@pytest.fixture
async def engine(servers: Servers):
    eng = make_engine(await fresh_database(servers, DB, "intake"))
    yield eng
    await eng.dispose()


def mail(body: bytes) -> Item:
    (item,) = handlers.read(incoming(body, "email", "message/rfc822"), T0, POLICY)
    return item


def wechat(openid: str, msg_id: str, text: str, at: datetime) -> Item:
    xml = wechat_text(openid, msg_id, text).replace(
        f"<CreateTime>{int(time.time())}".encode(), f"<CreateTime>{int(at.timestamp())}".encode()
    )
    (item,) = handlers.read(incoming(xml, "wechat", "application/xml"), T0, POLICY)
    return item


async def ask(engine, event: Envelope) -> None:
    async with engine.connect() as conn, conn.begin():
        tx = Transaction(conn, IntakeStore(conn), "intake", T0)
        data = BookingReminderDue.model_validate(event.data)
        await handlers.reminder_due(tx, EventIn(event, data), T0, POLICY)


async def apply(engine, batch: list[Item], store: type[IntakeStore] = IntakeStore) -> Transaction[IntakeStore]:
    async for attempt in db_retry():
        with attempt:
            async with engine.connect() as conn, conn.begin():
                tx = Transaction(conn, store(conn), "intake", T0)
                await handlers.apply(tx, batch, T0, POLICY)
            return tx
    raise AssertionError("unreachable")


async def questions(engine) -> list[tuple[Any, ...]]:
    import sqlalchemy as sa

    async with engine.connect() as conn:
        rows = await conn.execute(sa.text("SELECT * FROM awaiting_answers ORDER BY channel, address"))
        return [tuple(r) for r in rows]


async def test_the_in_memory_store_agrees_with_the_database_on_answers(engine) -> None:
    from ..unit.fakes import FakeUnitOfWork
    from ..unit.intake_fakes import FakeIntakeStore

    asked = [
        reminder("wechat", "wechat:oA", "b-1", at=T0 - timedelta(hours=2)),
        reminder("email", "Chan@Example.hk", "b-2", at=T0 - timedelta(hours=2)),
        reminder("wechat", "wechat:oB", "b-3", at=T0 - timedelta(days=3)),  # long ago
        reminder("wechat", "wechat:oA", "b-0", at=T0 - timedelta(days=1)),  # older than b-1: b-1 stays
    ]
    cancel, _ = email_bytes(sender="chan@example.hk", subject="Re: 明天的會議", body="取消，謝謝", date=T0)
    unrelated, _ = email_bytes(sender="chan@example.hk", subject="Parking", body="Is there parking?", date=T0)
    batches = [
        [wechat("oA", "1", "請問地址？", T0), mail(unrelated), wechat("oB", "2", "確認", T0)],
        [wechat("oA", "3", "確認", T0), wechat("oA", "3", "確認", T0), mail(cancel)],
        [wechat("oA", "4", "取消", T0)],
    ]

    for event in asked:
        await ask(engine, event)
    real_events: list[Envelope] = []
    real_sent: list[tuple[str, str, str]] = []  # (command, correlation id, body)
    for batch in batches:
        tx = await apply(engine, batch)
        real_events += [env for env, _ in tx.emitted]
        real_sent += [(p.routing_key, p.correlation_id, p.body.decode()) for p in tx.sent]

    fake = FakeIntakeStore()
    uow = FakeUnitOfWork(fake, producer="intake", now=T0)
    for event in asked:
        data = BookingReminderDue.model_validate(event.data)
        await handlers.reminder_due(uow, EventIn(event, data), T0, POLICY)
    for batch in batches:
        await handlers.apply(uow, batch, T0, POLICY)

    assert canonical(uow.emitted) == canonical(real_events)
    assert [(c.command_name, c.model_dump_json()) for c in uow.sent] == [(r, body) for r, _, body in real_sent]
    assert [r for r, _, _ in real_sent] == ["booking.confirm_attendance", "booking.cancel"]
    answered_by = {str(derive_uuid("answer", *w.key)): str(w.correlation_id) for batch in batches for w in batch}
    assert [corr for _, corr, _ in real_sent] == [answered_by[json.loads(b)["command_id"]] for _, _, b in real_sent]
    assert await questions(engine) == [tuple(q) for _, q in sorted(fake.questions.items())]
    assert [q[:3] for q in await questions(engine)] == [("wechat", "wechat:oB", "b-3")], "too late to answer"


async def test_two_batches_answering_one_question_at_once_send_one_command(engine) -> None:
    """Two emails from the same address, in different threads (so no conversation lock between them),
    applied by two transactions at the same time: the second loads the question while the first holds
    it, waits for the first to commit, and finds it answered."""
    hello, _ = email_bytes(
        sender="lee@example.hk", subject="Room", body="We booked a room", date=T0 - timedelta(days=9)
    )
    await apply(engine, [mail(hello)])  # a known customer: neither batch registers an identity (and waits on it)
    await ask(engine, reminder("email", "lee@example.hk", "b-9", at=T0 - timedelta(hours=1)))
    first, second = (
        mail(email_bytes(sender="lee@example.hk", subject=f"Re: reminder {i}", body=text, date=T0)[0])
        for i, text in enumerate(("Confirmed", "Yes, see you tomorrow"))
    )
    loaded = asyncio.Event()

    class Holding(IntakeStore):
        """Holds the question it loaded a while before the batch goes on."""

        async def lock_questions(self, routes: Any) -> Any:
            found = await super().lock_questions(routes)
            loaded.set()
            await asyncio.sleep(0.3)
            return found

    async def after_the_first_loaded() -> Transaction[IntakeStore]:
        await loaded.wait()
        return await apply(engine, [second])

    results = await asyncio.gather(apply(engine, [first], Holding), after_the_first_loaded())

    assert [[p.routing_key for p in tx.sent] for tx in results] == [["booking.confirm_attendance"], []]
    inquiries = [[env.data for env, _ in tx.emitted if env.type == "inquiry.received"] for tx in results]
    assert [i["booking_id"] for (i,) in inquiries] == ["b-9", None]
    assert await questions(engine) == []
