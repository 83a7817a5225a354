"""Intake's handlers against the in-memory unit of work: what a batch of deliveries writes and emits.

Each test gives the handler its items, its time and its policy, then reads what a user of intake would
see: the events emitted (the other services' input) and the state written (deliveries, customers,
conversations, inquiries)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

import pytest
import structlog

from services.intake import domain, handlers
from services.intake.domain import Item, Policy, Question
from services.intake.normalised import ChannelContext, Normalised
from shared.contract.commands import BookingCancel, BookingConfirmAttendance
from shared.contract.events import BookingReminderDue, ReplyRoute
from shared.contract.inbound import CustomerContact
from shared.messages import EventIn
from shared.runtime import Incoming, Rejected, derive_uuid
from shared.topology import INTAKE_INBOUND

from .fakes import FakeUnitOfWork, event_in
from .intake_fakes import FakeIntakeStore

T0 = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)  # 14:00 in Hong Kong
POLICY = Policy.of(ChannelContext(agent_email_domains=("meetdesk.example",)), 1_048_576)
CHAN = CustomerContact(name="陳大文", email="Chan.TaiMan@Example.hk", phone="+852 9123 4567")


# -- building deliveries ------------------------------------------------------------------------------
def item(n: Normalised, *, now: datetime = T0) -> Item:
    return domain.prepare(n, derive_uuid("test", n.channel, n.source_ref), now, POLICY)


def email(
    ref: str,
    text: str = "What are your rates for the boardroom?",
    *,
    at: datetime = T0,
    contact: CustomerContact | None = CHAN,
    replies_to: str | None = None,
) -> Item:
    return item(
        Normalised(
            channel="email",
            source_ref=ref,
            received_at=at,
            contact=contact,
            text=text,
            subject="Room",
            thread_refs=[replies_to] if replies_to else [],
        )
    )


def agent_email(ref: str, replies_to: str, *, at: datetime, customer: CustomerContact | None = CHAN) -> Item:
    contact = CustomerContact(name=customer.name, email=customer.email) if customer else None
    return item(
        Normalised(
            channel="email",
            source_ref=ref,
            received_at=at,
            contact=contact,
            kind="agent_reply",
            agent_id="ho",
            text="We have a room for you.",
            thread_refs=[replies_to],
        )
    )


def chat(ref: str, text: str, *, at: datetime = T0, kind: Any = "inquiry", flags: list[str] | None = None) -> Item:
    return item(
        Normalised(
            channel="chat",
            source_ref=ref,
            received_at=at,
            contact=CustomerContact(name="陳大文") if kind == "inquiry" else None,
            kind=kind,
            text=text,
            agent_id="3" if kind == "agent_reply" else None,
            conversation_key="chatwoot:45",
            channel_identity=("chatwoot_contact", "87"),
            flags=flags or [],
        )
    )


def incoming(body: Any, channel: str, *, content_type: str = "application/json", **props: Any) -> Incoming:
    raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    return Incoming(
        queue=INTAKE_INBOUND,
        body=raw,
        routing_key=channel,
        headers={},
        message_id=props.get("message_id"),
        correlation_id=props.get("correlation_id", uuid.uuid4()),
        content_type=content_type,
        delivery_count=0,
        correlation_given=props.get("correlation_given", False),
    )


def email_bytes(*, date: datetime | None = T0, message_id: str = "m1@example.hk") -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "陳大文 <chan@example.hk>", "desk@meetdesk.example", "Room"
    if date is not None:
        msg["Date"] = format_datetime(date)
    msg["Message-ID"] = f"<{message_id}>"
    msg.set_content("我想預訂明天下午3點到5點20人的會議室，需要投影機。")
    return bytes(msg)


def missed_call(unique_id: str = "1796105002.42") -> dict[str, Any]:
    return {
        "cdr": {
            "Event": "Cdr",
            "Source": "85291234567",
            "Destination": "8000",
            "CallerID": '"陳大文" <+85291234567>',
            "StartTime": "2026-12-01 14:03:22",
            "EndTime": "2026-12-01 14:03:52",
            "Duration": "30",
            "BillableSeconds": "0",
            "Disposition": "NO ANSWER",
            "UniqueID": unique_id,
        }
    }


async def apply(store: FakeIntakeStore, *batch: Item, now: datetime = T0) -> FakeUnitOfWork[FakeIntakeStore]:
    uow = FakeUnitOfWork(store, producer="intake", now=now)
    await handlers.apply(uow, list(batch), now, POLICY)
    return uow


def only(uow: FakeUnitOfWork[Any], event_type: str) -> dict[str, Any]:
    (data,) = uow.events(event_type)
    return data


# -- the batch ---------------------------------------------------------------------------------------
async def test_a_first_email_is_recorded_and_acknowledged_by_email() -> None:
    store = FakeIntakeStore()
    uow = await apply(store, email("m1@example.hk"))

    assert uow.types() == ["inquiry.received", "notification.requested"]
    inquiry = only(uow, "inquiry.received")
    assert inquiry["customer"]["email"] == "chan.taiman@example.hk"
    assert inquiry["customer"]["phone"] == "+85291234567"
    assert inquiry["conversation_id"] == "email:m1@example.hk"
    assert inquiry["intent"] == "inquiry" and inquiry["language"] == "en"
    ack = only(uow, "notification.requested")
    assert (ack["channel"], ack["address"], ack["template"]) == (
        "email",
        "chan.taiman@example.hk",
        "inquiry.acknowledged",
    )
    assert ack["parameters"]["inquiry_id"] == inquiry["inquiry_id"]
    assert all(e.correlation_id == derive_uuid("test", "email", "m1@example.hk") for e in uow.emitted)

    (customer_id,) = store.customers
    assert str(customer_id) == inquiry["customer"]["customer_id"]
    assert store.identities == {
        ("email", "chan.taiman@example.hk"): customer_id,
        ("phone", "+85291234567"): customer_id,
    }
    assert store.inquiries[("email", "m1@example.hk")].customer_id == customer_id
    assert store.message_refs == {("email", "m1@example.hk"): "email:m1@example.hk"}
    conversation = store.conversations["email:m1@example.hk"]
    assert conversation.awaiting_since == T0 and conversation.customer_id == customer_id


async def test_a_repeated_delivery_in_the_same_batch_emits_nothing_the_second_time() -> None:
    store = FakeIntakeStore()
    uow = await apply(store, email("m1@example.hk"), email("m1@example.hk"))

    assert uow.types() == ["inquiry.received", "notification.requested"]
    assert len(store.deliveries) == 1 and len(store.inquiries) == 1 and len(store.customers) == 1


async def test_a_redelivery_in_a_later_batch_changes_nothing_and_says_nothing() -> None:
    store = FakeIntakeStore()
    await apply(store, email("m1@example.hk"))
    before = (dict(store.deliveries), dict(store.customers), dict(store.conversations), dict(store.inquiries))

    again = await apply(store, email("m1@example.hk"), now=T0 + timedelta(minutes=3))

    assert again.emitted == []
    assert (store.deliveries, store.customers, store.conversations, store.inquiries) == before


async def test_an_email_reply_joins_the_conversation_of_the_message_it_answers() -> None:
    store = FakeIntakeStore()
    await apply(store, email("m1@example.hk"))

    uow = await apply(
        store,
        email("m2@example.hk", "For 20 people please", at=T0 + timedelta(minutes=5), replies_to="m1@example.hk"),
        email("m3@example.hk", "And a projector", at=T0 + timedelta(minutes=6), replies_to="m2@example.hk"),
    )

    conversations = {e["text"]: e["conversation_id"] for e in uow.events("inquiry.received")}
    assert conversations == {"For 20 people please": "email:m1@example.hk", "And a projector": "email:m1@example.hk"}
    assert set(store.conversations) == {"email:m1@example.hk"}
    assert store.conversations["email:m1@example.hk"].awaiting_since == T0, "awaited since the oldest unanswered"
    assert store.conversations["email:m1@example.hk"].last_activity_at == T0 + timedelta(minutes=6)


async def test_a_reply_to_a_message_never_seen_starts_the_thread_at_its_root() -> None:
    uow = await apply(FakeIntakeStore(), email("m9@example.hk", "Any news?", replies_to="lost@example.hk"))
    assert only(uow, "inquiry.received")["conversation_id"] == "email:lost@example.hk"


async def test_an_agents_reply_emits_agent_replied_with_the_response_time() -> None:
    store = FakeIntakeStore()
    await apply(store, email("m1@example.hk"))

    first = await apply(store, agent_email("a1@meetdesk.example", "m1@example.hk", at=T0 + timedelta(minutes=12)))
    second = await apply(store, agent_email("a2@meetdesk.example", "a1@meetdesk.example", at=T0 + timedelta(hours=1)))

    reply = only(first, "agent.replied")
    assert reply["conversation_id"] == "email:m1@example.hk"
    assert reply["agent_id"] == "ho" and reply["channel"] == "email"
    assert reply["first_reply"] is True
    assert reply["response_seconds"] == 720.0
    assert first.types() == ["agent.replied"], "an agent's reply is no inquiry"
    later = only(second, "agent.replied")
    assert later["first_reply"] is False
    assert later["response_seconds"] is None, "nothing was awaited: the customer had not written again"
    conversation = store.conversations["email:m1@example.hk"]
    assert conversation.first_reply_at == T0 + timedelta(minutes=12) and conversation.awaiting_since is None
    assert store.inquiries.keys() == {("email", "m1@example.hk")}


async def test_an_automated_chat_message_is_no_reply_and_the_customer_still_waits() -> None:
    store = FakeIntakeStore()
    await apply(store, chat("message:1201", "請問有沒有會議室？"))

    uow = await apply(
        store, chat("message:1202", "We will be with you shortly", kind="agent_reply", flags=["automated"])
    )

    assert uow.emitted == []
    assert store.conversations["chatwoot:45"].awaiting_since == T0
    assert store.conversations["chatwoot:45"].first_reply_at is None


async def test_a_known_phone_number_links_a_new_email_to_the_same_customer() -> None:
    store = FakeIntakeStore()
    known = store.known_customer("陳大文", ("phone", "+85291234567"))

    uow = await apply(store, email("m1@example.hk"))

    assert uow.types() == ["customer.linked", "inquiry.received", "notification.requested"]
    linked = only(uow, "customer.linked")
    assert linked["customer_id"] == str(known)
    assert linked["identities"] == [
        {"kind": "phone", "value": "+85291234567"},
        {"kind": "email", "value": "chan.taiman@example.hk"},
    ]
    assert linked["evidence"] == "same phone as a known customer"
    assert only(uow, "inquiry.received")["customer"]["customer_id"] == str(known)
    assert list(store.customers) == [known], "no second customer"
    assert store.identities[("email", "chan.taiman@example.hk")] == known


async def test_a_customer_created_by_one_message_is_found_by_the_next_in_the_batch() -> None:
    store = FakeIntakeStore()
    uow = await apply(store, email("m1@example.hk"), chat("message:1201", "Hello", kind="inquiry"), email("m2@x.hk"))

    owners = [e["customer"]["customer_id"] for e in uow.events("inquiry.received")]
    assert owners[0] == owners[2] != owners[1], "same email: same customer; the chat contact is someone else"
    assert len(store.customers) == 2


async def test_a_complete_booking_request_from_chat_emits_booking_requested_and_an_acknowledgement_on_the_chat() -> (
    None
):
    store = FakeIntakeStore()
    uow = await apply(
        store, chat("message:1201", "你好,我想預訂十二月十日下午2點至4點的會議室,大約二十人,需要投影儀。")
    )

    assert uow.types() == ["inquiry.received", "booking.requested", "notification.requested"]
    inquiry, booking = only(uow, "inquiry.received"), only(uow, "booking.requested")
    assert inquiry["intent"] == "booking_request" and inquiry["missing"] == []
    assert booking["inquiry_id"] == inquiry["inquiry_id"]
    assert booking["channel"] == "chat" and booking["language"] == "zh-Hant"
    assert booking["meeting"]["start"] == "2026-12-10T14:00:00+08:00"
    assert booking["meeting"]["end"] == "2026-12-10T16:00:00+08:00"
    assert booking["meeting"]["attendees"] == 20 and booking["meeting"]["equipment"] == ["projector"]
    ack = only(uow, "notification.requested")
    assert (ack["channel"], ack["address"]) == ("chat", "chatwoot:45")
    assert (ack["template"], ack["language"]) == ("booking_request.acknowledged", "zh-Hant")
    assert store.identities.keys() == {("chatwoot_contact", "87")}
    assert booking["reply_to"] == {"channel": "chat", "address": "chatwoot:45", "language": "zh-Hant"}, (
        "booking answers on the same chat conversation"
    )


async def test_a_booking_request_by_email_is_answered_by_email_in_its_language() -> None:
    uow = await apply(
        FakeIntakeStore(),
        email("m9@example.hk", "I would like to book a room on 10 December 2-4pm for 20 people with a projector."),
    )
    booking = only(uow, "booking.requested")
    assert booking["reply_to"] == {"channel": "email", "address": "chan.taiman@example.hk", "language": "en"}


async def test_an_incomplete_booking_request_says_what_is_missing_and_books_nothing() -> None:
    uow = await apply(FakeIntakeStore(), chat("message:1201", "我想訂聽日下午3點嘅會議室"))

    assert "booking.requested" not in uow.types()
    assert only(uow, "inquiry.received")["missing"] == ["attendees"]
    assert only(uow, "notification.requested")["parameters"]["missing"] == ["attendees"]


async def test_a_complaint_is_recorded_but_acknowledged_by_the_complaints_service_not_intake() -> None:
    store = FakeIntakeStore()
    uow = await apply(store, email("m1@example.hk", "投影機壞了，服務太差，我要投訴"))

    assert uow.types() == ["inquiry.received"]
    inquiry = only(uow, "inquiry.received")
    assert (inquiry["intent"], inquiry["category"]) == ("complaint", "equipment_failure")
    assert store.inquiries[("email", "m1@example.hk")].intent == "complaint"


async def test_a_missed_call_emits_call_missed_and_the_call_awaits_an_answer() -> None:
    store = FakeIntakeStore()
    (call,) = handlers.read(incoming(missed_call(), "phone"), T0, POLICY)

    uow = await apply(store, call)

    assert uow.types() == ["call.missed"]
    missed = only(uow, "call.missed")
    assert missed["call_id"] == "1796105002.42" and missed["phone"] == "+85291234567"
    assert missed["disposition"] == "NO ANSWER"
    assert missed["started_at"] == "2026-12-01T06:03:22Z"
    assert store.conversations["call:1796105002.42"].awaiting_since == datetime(2026, 12, 1, 6, 3, 22, tzinfo=UTC)
    assert store.inquiries == {}, "a missed call is no inquiry"


async def test_a_survey_answer_is_feedback_only() -> None:
    answer = {
        "response_id": "s-1",
        "subject": {"type": "booking", "id": "b-7"},
        "score": 4,
        "comment": "Good room",
        "respondent": {"email": "chan@example.hk"},
    }
    (survey,) = handlers.read(incoming(answer, "survey"), T0, POLICY)

    store = FakeIntakeStore()
    uow = await apply(store, survey)

    assert uow.types() == ["feedback.received"]
    feedback = only(uow, "feedback.received")
    assert (feedback["subject_type"], feedback["subject_id"]) == ("booking", "b-7")
    assert (feedback["score"], feedback["score_100"], feedback["comment"]) == (4, 80, "Good room")
    assert feedback["customer_id"] == str(store.identities[("email", "chan@example.hk")])
    assert store.inquiries == {}
    assert store.deliveries[("survey", "s-1")].received_at == T0, "no submitted_at: dated when it arrived"
    assert (feedback["room_id"], feedback["agent_id"]) == (None, None)


async def test_a_survey_that_names_the_room_and_the_agent_passes_them_on_for_the_kpis() -> None:
    answer = {
        "response_id": "s-2",
        "subject": {"type": "booking", "id": "b-7", "room_id": "harbour", "agent_id": "agent-3"},
        "score": 5,
    }
    (survey,) = handlers.read(incoming(answer, "survey"), T0, POLICY)
    uow = await apply(FakeIntakeStore(), survey)
    feedback = only(uow, "feedback.received")
    assert (feedback["subject_id"], feedback["room_id"], feedback["agent_id"]) == ("b-7", "harbour", "agent-3")


async def test_a_status_change_is_recorded_on_the_conversation_and_says_nothing() -> None:
    store = FakeIntakeStore()
    await apply(store, chat("message:1201", "請問有沒有會議室？"))
    resolved = item(
        Normalised(
            channel="chat",
            source_ref="conversation:45:resolved:1",
            received_at=T0 + timedelta(hours=2),
            contact=None,
            kind="status_change",
            conversation_key="chatwoot:45",
            extra={"status": "resolved"},
        )
    )

    uow = await apply(store, resolved)

    assert uow.emitted == []
    assert store.conversations["chatwoot:45"].status == "resolved"
    assert store.conversations["chatwoot:45"].last_activity_at == T0 + timedelta(hours=2)
    assert len(store.customers) == 1, "a status change is about no one"


async def test_a_batch_costs_the_same_statements_whatever_its_size() -> None:
    one, many = FakeIntakeStore(), FakeIntakeStore()
    await apply(one, email("m0@example.hk", replies_to="r@example.hk"))
    await apply(
        many,
        *(
            email(f"m{i}@example.hk", contact=CustomerContact(email=f"c{i}@example.hk"), replies_to="r@example.hk")
            for i in range(25)
        ),
    )
    assert len(many.inquiries) == 25
    assert many.calls == one.calls


# -- one delivery ------------------------------------------------------------------------------------
def test_an_unknown_channel_is_refused_naming_the_known_ones() -> None:
    with pytest.raises(Rejected, match=r"unknown channel 'fax'; known: chat, email, onsite, phone, survey"):
        handlers.read(incoming(b"...", "fax"), T0, POLICY)


def test_a_message_over_its_channels_limit_is_refused_before_it_is_read() -> None:
    with pytest.raises(Rejected, match=r"wechat message of 64001 bytes is over the channel's limit of 64000"):
        handlers.read(incoming(b"<" * 64_001, "wechat", content_type="application/xml"), T0, POLICY)


def test_an_email_may_be_as_large_as_the_service_allows() -> None:
    tight = Policy.of(ChannelContext(), 4096)
    assert tight.limits["email"] == 4096 and tight.limits["chat"] == 4096
    with pytest.raises(Rejected, match=r"email message of \d+ bytes is over the channel's limit of 4096"):
        handlers.read(incoming(email_bytes() + b"x" * 4096, "email", content_type="message/rfc822"), T0, tight)


def test_the_publishers_correlation_id_is_kept() -> None:
    given = uuid.uuid4()
    msg = incoming(email_bytes(), "email", content_type="message/rfc822", correlation_id=given, correlation_given=True)
    (read,) = handlers.read(msg, T0, POLICY)
    assert read.correlation_id == given


def test_without_one_the_correlation_id_is_the_same_for_every_redelivery() -> None:
    first = handlers.read(incoming(email_bytes(), "email", content_type="message/rfc822"), T0, POLICY)
    again = handlers.read(incoming(email_bytes(), "email", content_type="message/rfc822"), T0, POLICY)
    assert first[0].correlation_id == again[0].correlation_id == derive_uuid("inbound", "email", "m1@example.hk")


def test_an_email_without_a_date_is_dated_when_it_arrives_and_read_from_then() -> None:
    later = T0 + timedelta(days=3)
    (read,) = handlers.read(incoming(email_bytes(date=None), "email", content_type="message/rfc822"), later, POLICY)
    assert read.received_at == later
    assert "date_missing" in read.n.flags
    assert read.understood is not None and read.understood.meeting is not None
    assert read.understood.meeting.start == datetime(2026, 12, 5, 15, 0, tzinfo=POLICY.tz), "明天 from the arrival"


async def test_receive_hands_each_item_to_the_batch_with_its_correlation_id_in_the_logs() -> None:
    seen: list[tuple[str, str]] = []

    async def submit(i: Item) -> None:
        seen.append((i.n.source_ref, structlog.contextvars.get_contextvars()["correlation_id"]))

    answered = missed_call()
    answered["cdr"].update(Disposition="ANSWERED", AnswerTime="2026-12-01 14:03:34", BillableSeconds="18")
    answered["agent_id"] = "201"
    await handlers.receive(incoming(answered, "phone"), T0, POLICY, submit)

    correlation = str(derive_uuid("inbound", "phone", "1796105002.42"))
    assert seen == [("1796105002.42", correlation), ("1796105002.42:answer", correlation)]
    assert "correlation_id" not in structlog.contextvars.get_contextvars()


async def test_a_payload_that_says_nothing_submits_nothing() -> None:
    note = {
        "event": "message_created",
        "id": 5,
        "message_type": "outgoing",
        "private": True,  # an agent's note to colleagues
        "content": "call back after 3",
        "created_at": "2026-12-01T06:03:22.000Z",
        "conversation": {"id": 45},
    }
    submitted: list[Item] = []

    async def submit(i: Item) -> None:
        submitted.append(i)

    await handlers.receive(incoming(note, "chat"), T0, POLICY, submit)
    assert submitted == []


# -- answers to the day-before reminder ----------------------------------------------------------------
OPENID = "oWx7Kd0a9Zq-customer"
ASKED = T0 - timedelta(hours=4)  # booking's reminder went out this morning


def reminder(
    channel: str = "wechat", address: str = f"wechat:{OPENID}", *, booking_id: str = "b-42", at: datetime = ASKED
) -> EventIn[BookingReminderDue]:
    """booking.reminder_due as booking emits it, naming the customer's reply route it reminded them on."""
    data = BookingReminderDue(
        booking_id=booking_id,
        customer_id="c-1",
        room_id="harbour",
        start=T0 + timedelta(days=1),
        end=T0 + timedelta(days=1, hours=1),
        reply_to=ReplyRoute(channel=channel, address=address, language="zh-Hant"),  # type: ignore[arg-type]
    )
    return event_in(data, producer="booking", at=at)


async def ask(store: FakeIntakeStore, event: EventIn[BookingReminderDue]) -> None:
    await handlers.reminder_due(FakeUnitOfWork(store, producer="intake", now=T0), event, T0, POLICY)


def wechat_push(msg_id: str, text: str, *, at: datetime = T0, openid: str = OPENID) -> Item:
    """A WeChat text push, read by the real adapter."""
    xml = (
        f"<xml><ToUserName><![CDATA[gh_desk]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{int(at.timestamp())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{text}]]></Content><MsgId>{msg_id}</MsgId></xml>"
    )
    (read,) = handlers.read(incoming(xml.encode(), "wechat", content_type="application/xml"), T0, POLICY)
    return read


async def test_a_reminder_makes_its_route_await_the_answer_about_its_booking() -> None:
    store = FakeIntakeStore()
    event = reminder()
    await ask(store, event)
    assert store.questions == {
        ("wechat", f"wechat:{OPENID}"): Question(
            "wechat", f"wechat:{OPENID}", "b-42", "booking.reminder", ASKED, str(event.correlation_id)
        )
    }


async def test_the_latest_reminder_on_a_route_wins_even_when_an_older_one_comes_late() -> None:
    store = FakeIntakeStore()
    await ask(store, reminder(booking_id="b-1", at=ASKED))
    await ask(store, reminder(booking_id="b-2", at=ASKED + timedelta(minutes=5)))
    await ask(store, reminder(booking_id="b-0", at=ASKED - timedelta(days=1)))  # redelivered from yesterday
    assert [q.booking_id for q in store.questions.values()] == ["b-2"]


async def test_a_reminder_without_a_reply_route_asks_nothing() -> None:
    """As booking emits it until it sets reply_to; and one reminded by SMS, whose answer intake never reads."""
    store = FakeIntakeStore()
    event = reminder()
    await ask(store, EventIn(event.envelope, event.data.model_copy(update={"reply_to": None})))
    await ask(store, reminder("phone", "+85291234567"))
    assert store.questions == {} and store.calls["ask"] == 0


async def test_a_confirm_on_the_wechat_conversation_the_reminder_went_to_sends_confirm_attendance() -> None:
    store = FakeIntakeStore()
    await ask(store, reminder())

    uow = await apply(store, wechat_push("24700000000000001", "確認"))

    assert uow.sent == [
        BookingConfirmAttendance(
            command_id=str(derive_uuid("answer", "wechat", "24700000000000001")), actor="customer", booking_id="b-42"
        )
    ]
    assert uow.types() == ["inquiry.received"], "no acknowledgement from intake: booking answers"
    inquiry = only(uow, "inquiry.received")
    assert (inquiry["booking_id"], inquiry["text"], inquiry["conversation_id"]) == ("b-42", "確認", f"wechat:{OPENID}")
    assert store.inquiries[("wechat", "24700000000000001")].text == "確認", "recorded as usual"
    assert store.questions == {}, "answered"


async def test_a_cancel_by_email_sends_booking_cancel() -> None:
    store = FakeIntakeStore()
    await ask(store, reminder("email", "chan.taiman@example.hk", booking_id="b-7"))

    uow = await apply(store, email("m2@example.hk", "Cancel please, thank you."))

    (command,) = uow.sent
    assert isinstance(command, BookingCancel)
    assert (command.booking_id, command.actor, command.reason) == (
        "b-7",
        "customer",
        "cancelled by the customer in reply to the reminder",
    )
    assert command.command_id == str(derive_uuid("answer", "email", "m2@example.hk"))
    inquiry = only(uow, "inquiry.received")
    assert (inquiry["booking_id"], inquiry["intent"]) == ("b-7", "cancellation")
    assert "notification.requested" not in uow.types()
    assert store.questions == {}


async def test_a_change_on_chat_sends_nothing_and_shows_an_agent_the_booking() -> None:
    store = FakeIntakeStore()
    await ask(store, reminder("chat", "chatwoot:45"))

    uow = await apply(store, chat("message:1301", "我想改期，唔該"))

    assert uow.sent == []
    assert uow.types() == ["inquiry.received"], "no booking request, no acknowledgement"
    inquiry = only(uow, "inquiry.received")
    assert (inquiry["booking_id"], inquiry["intent"], inquiry["missing"]) == ("b-42", "booking_request", [])
    assert store.questions == {}, "answered: an agent takes it from here"


async def test_an_unrelated_question_on_that_conversation_is_a_normal_inquiry_and_leaves_the_question_open() -> None:
    store = FakeIntakeStore()
    await ask(store, reminder())

    uow = await apply(store, wechat_push("24700000000000002", "請問停車場在哪裡？"))

    assert uow.sent == []
    assert uow.types() == ["inquiry.received", "notification.requested"]
    assert only(uow, "inquiry.received")["booking_id"] is None
    assert list(store.questions) == [("wechat", f"wechat:{OPENID}")], "still awaiting the answer"

    later = await apply(store, wechat_push("24700000000000003", "好的", at=T0 + timedelta(minutes=5)))
    assert [type(c) for c in later.sent] == [BookingConfirmAttendance]


async def test_an_answer_two_days_late_is_a_normal_inquiry() -> None:
    store = FakeIntakeStore()
    await ask(store, reminder())
    late = ASKED + timedelta(days=2, minutes=1)

    uow = await apply(store, wechat_push("24700000000000004", "確認", at=late), now=late)

    assert uow.sent == []
    assert uow.types() == ["inquiry.received", "notification.requested"]
    assert only(uow, "inquiry.received")["booking_id"] is None


async def test_a_reply_from_another_conversation_does_nothing() -> None:
    store = FakeIntakeStore()
    await ask(store, reminder())

    uow = await apply(store, wechat_push("24700000000000005", "確認", openid="oSomeoneElse"))

    assert uow.sent == []
    assert only(uow, "inquiry.received")["booking_id"] is None
    assert list(store.questions) == [("wechat", f"wechat:{OPENID}")]


async def test_a_redelivered_answer_sends_the_command_once() -> None:
    store = FakeIntakeStore()
    await ask(store, reminder())
    answer = wechat_push("24700000000000006", "確認")

    first = await apply(store, answer, answer)
    again = await apply(store, answer, now=T0 + timedelta(seconds=5))

    assert len(first.sent) == 1
    assert again.sent == [] and again.emitted == []


async def test_the_question_is_answered_once_even_by_two_answers() -> None:
    store = FakeIntakeStore()
    await ask(store, reminder())

    uow = await apply(store, wechat_push("24700000000000007", "取消"), wechat_push("24700000000000008", "確認"))

    assert [type(c) for c in uow.sent] == [BookingCancel]
    booking_ids = [e["booking_id"] for e in uow.events("inquiry.received")]
    assert booking_ids == ["b-42", None], "the second message is an ordinary one"


async def test_answers_cost_no_statement_per_message() -> None:
    one, many = FakeIntakeStore(), FakeIntakeStore()
    await ask(one, reminder(address="wechat:o0"))
    for i in range(25):
        await ask(many, reminder(address=f"wechat:o{i}"))
    one.calls.clear()
    many.calls.clear()
    await apply(one, wechat_push("1000", "確認", openid="o0"))
    await apply(many, *(wechat_push(str(1000 + i), "確認", openid=f"o{i}") for i in range(25)))
    assert many.questions == {} and one.questions == {}
    assert many.calls == one.calls
    assert {"lock_questions": 1, "clear_questions": 1}.items() <= one.calls.items()
