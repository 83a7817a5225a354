"""Intake end to end: each channel's native payload, as the other systems send it, through the
running services; conversations, returning customers, repeat deliveries, the HTTP webhooks."""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime

import httpx
import pytest

from ..conftest import System
from ..system import WECHAT_TOKEN
from .builders import HK

pytestmark = pytest.mark.integration


def email_bytes(
    *,
    sender: str,
    to: str = "desk@meetdesk.example",
    subject: str,
    body: str,
    charset: str = "utf-8",
    message_id: str | None = None,
    in_reply_to: str | None = None,
    date: datetime | None = None,
) -> tuple[bytes, str]:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, to, subject
    msg["Date"] = format_datetime(date or datetime.now(UTC))
    mid = message_id or f"{uuid.uuid4()}@mail.example.com"
    msg["Message-ID"] = f"<{mid}>"
    if in_reply_to:
        msg["In-Reply-To"] = f"<{in_reply_to}>"
        msg["References"] = f"<{in_reply_to}>"
    msg.set_content(body, charset=charset)
    return bytes(msg), mid


async def publish(system: System, channel: str, body: bytes | dict, content_type: str = "application/json") -> None:
    await system.publisher.publish("meetdesk.inbound", channel, body, content_type=content_type)


def inquiry_of(system: System, source_ref: str):
    return system.watcher.wait_for(lambda e: e.type == "inquiry.received" and e.data["source_ref"] == source_ref)


async def test_email_thread_customer_reply_and_agent_reply_share_one_conversation(system: System) -> None:
    customer = f"mei.ling.{uuid.uuid4().hex[:6]}@example.com"
    sent_at = datetime.now(UTC) - timedelta(minutes=30)
    first, first_id = email_bytes(
        sender=f"陳美玲 <{customer}>",
        subject="查詢會議室",
        body="請問下星期有沒有可容納三十人的會議室？",
        charset="big5",
        date=sent_at,
    )
    await publish(system, "email", first, "message/rfc822")
    (inq,) = await inquiry_of(system, first_id)
    assert inq.data["language"] == "zh-Hant"
    assert inq.data["intent"] == "inquiry"
    assert inq.data["customer"]["email"] == customer
    conversation = inq.data["conversation_id"]

    reply, reply_id = email_bytes(
        sender="Agent Ho <ho@meetdesk.example>",
        to=customer,
        subject="Re: 查詢會議室",
        body="您好，下星期三有三十人的會議室。",
        in_reply_to=first_id,
        date=sent_at + timedelta(minutes=12),
    )
    await publish(system, "email", reply, "message/rfc822")
    (answered,) = await system.watcher.wait_for(
        lambda e: e.type == "agent.replied" and e.data["conversation_id"] == conversation
    )
    assert answered.data["first_reply"] is True
    assert answered.data["response_seconds"] == pytest.approx(12 * 60, abs=1)
    assert answered.data["agent_id"] == "ho"

    again, again_id = email_bytes(
        sender=customer,
        subject="Re: Re: 查詢會議室",
        body="好的，我想預訂。\n\n> 您好，下星期三有三十人的會議室。",
        in_reply_to=reply_id,
    )
    await publish(system, "email", again, "message/rfc822")
    (follow,) = await inquiry_of(system, again_id)
    assert follow.data["conversation_id"] == conversation, "a reply joins the thread it answers"
    assert follow.data["customer"]["customer_id"] == inq.data["customer"]["customer_id"]
    assert "三十人的會議室" not in (follow.data["text"] or ""), "quoted text is trimmed"


async def test_missed_call_and_answered_call_with_wrap_up(system: System) -> None:
    uid = f"{int(time.time())}.{uuid.uuid4().int % 10000}"
    start = datetime.now(HK).replace(microsecond=0)
    fmt = "%Y-%m-%d %H:%M:%S"
    missed = {
        "cdr": {
            "UniqueID": uid,
            "CallerID": '"Lee" <+852 9123 4567>',
            "Source": "91234567",
            "Destination": "8001",
            "StartTime": start.strftime(fmt),
            "AnswerTime": "",
            "EndTime": (start + timedelta(seconds=20)).strftime(fmt),
            "Duration": "20",
            "BillableSeconds": "0",
            "Disposition": "NO ANSWER",
        }
    }
    await publish(system, "phone", missed)
    (call,) = await system.watcher.wait_for(lambda e: e.type == "call.missed" and e.data["call_id"] == uid)
    assert call.data["phone"] == "+85291234567", "the number to call back, in E.164"
    assert call.data["disposition"] == "NO ANSWER"

    uid2 = uid + "1"
    answered = {
        "cdr": {
            **missed["cdr"],
            "UniqueID": uid2,
            "Disposition": "ANSWERED",
            "AnswerTime": (start + timedelta(seconds=9)).strftime(fmt),
            "BillableSeconds": "11",
        },
        "agent_id": "agent-7",
        "notes": "客戶投訴上次會議的麥克風經常斷線，要求跟進。",
    }
    await publish(system, "phone", answered)
    (inq,) = await inquiry_of(system, uid2)
    assert inq.data["intent"] == "complaint"
    assert inq.data["agent_id"] == "agent-7"
    assert inq.data["customer"]["customer_id"] == call.data["customer_id"], "same number, same customer"
    (reply,) = await system.watcher.wait_for(
        lambda e: e.type == "agent.replied" and e.data["conversation_id"] == inq.data["conversation_id"]
    )
    assert reply.data["response_seconds"] == pytest.approx(9)
    # a complaint becomes a registered complaint with its deadlines
    (reg,) = await system.watcher.wait_for(
        lambda e: e.type == "complaint.registered" and e.data["inquiry_id"] == inq.data["inquiry_id"]
    )
    assert reg.data["category"] == "equipment_failure"
    assert reg.body["correlation_id"] == inq.body["correlation_id"] == reply.body["correlation_id"]


async def test_chat_conversation_free_text_booking_is_requested_and_answered(system: System) -> None:
    conv, contact_id = 60000 + uuid.uuid4().int % 10000, 80000 + uuid.uuid4().int % 10000
    contact = {"id": contact_id, "name": "王芳", "email": f"wang.{contact_id}@example.cn", "type": "contact"}
    incoming = {
        "event": "message_created",
        "id": conv * 10,
        "content": "你好，下周三上午十点开会，十五个人，需要投影仪",
        "created_at": datetime.now(UTC).isoformat(),
        "message_type": "incoming",
        "content_type": "text",
        "private": False,
        "sender": contact,
        "inbox": {"id": 1, "name": "Website"},
        "conversation": {"id": conv, "display_id": conv, "status": "open", "meta": {"sender": contact}},
    }
    await publish(system, "chat", incoming)
    (inq,) = await inquiry_of(system, f"message:{conv * 10}")
    assert inq.data["language"] == "zh-Hans"
    assert inq.data["intent"] == "booking_request"
    assert inq.data["missing"] == []
    (req,) = await system.watcher.wait_for(
        lambda e: e.type == "booking.requested" and e.data["inquiry_id"] == inq.data["inquiry_id"]
    )
    meeting = req.data["meeting"]
    start = datetime.fromisoformat(meeting["start"]).astimezone(HK)
    assert (start.weekday(), start.hour, meeting["attendees"], meeting["equipment"]) == (2, 10, 15, ["projector"])
    (ack,) = await system.watcher.wait_for(  # intake's acknowledgement (booking's confirmation names it too)
        lambda e: (
            e.type == "notification.requested"
            and e.data["template"].endswith(".acknowledged")
            and e.data["parameters"].get("inquiry_id") == inq.data["inquiry_id"]
        )
    )
    assert (ack.data["channel"], ack.data["address"], ack.data["language"]) == ("chat", f"chatwoot:{conv}", "zh-Hans")

    outgoing = {
        **incoming,
        "id": conv * 10 + 1,
        "message_type": "outgoing",
        "content": "好的，已为您安排。",
        "sender": {"id": 3, "name": "Agent Lam", "email": "lam@meetdesk.example", "type": "user"},
    }
    await publish(system, "chat", outgoing)
    (reply,) = await system.watcher.wait_for(
        lambda e: e.type == "agent.replied" and e.data["conversation_id"] == f"chatwoot:{conv}"
    )
    assert reply.data["first_reply"] is True and reply.data["response_seconds"] >= 0


async def test_incomplete_booking_says_what_is_missing(system: System) -> None:
    msg_id = str(24700000000000000 + uuid.uuid4().int % 10**15)
    xml = (
        f"<xml><ToUserName><![CDATA[gh_desk]]></ToUserName><FromUserName><![CDATA[oW{msg_id}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[我想預訂一間會議室，需要麥克風]]></Content><MsgId>{msg_id}</MsgId></xml>"
    )
    await publish(system, "wechat", xml.encode(), "application/xml")
    (inq,) = await inquiry_of(system, msg_id)
    assert inq.data["intent"] == "booking_request"
    assert set(inq.data["missing"]) == {"date", "time", "attendees"}
    assert not system.watcher.matching(
        lambda e: e.type == "booking.requested" and e.data["inquiry_id"] == inq.data["inquiry_id"]
    )


async def test_wechat_redelivered_three_times_and_after_restart_is_one_inquiry(system: System) -> None:
    msg_id = str(24800000000000000 + uuid.uuid4().int % 10**15)
    xml = (
        f"<xml><ToUserName><![CDATA[gh_desk]]></ToUserName><FromUserName><![CDATA[oX{msg_id}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[請問可以帶外食嗎？]]></Content><MsgId>{msg_id}</MsgId></xml>"
    ).encode()
    for _ in range(3):  # WeChat's own redeliveries, taken by two intake workers side by side
        await publish(system, "wechat", xml, "application/xml")
    await inquiry_of(system, msg_id)
    intake = system.services["intake"]
    intake.stop()
    intake.start()
    await intake.wait_ready()
    await publish(system, "wechat", xml, "application/xml")
    marker = str(int(msg_id) + 1)
    await publish(system, "wechat", xml.replace(msg_id.encode(), marker.encode()), "application/xml")
    await inquiry_of(system, marker)
    await asyncio.sleep(0.5)
    assert len(system.watcher.matching(lambda e: e.type == "inquiry.received" and e.data["source_ref"] == msg_id)) == 1
    rows = await system.query("intake", "SELECT count(*) AS n FROM inquiries WHERE source_ref = $1", msg_id)
    assert rows[0]["n"] == 1


async def test_same_person_by_email_then_phone_is_one_customer(system: System) -> None:
    tag = uuid.uuid4().hex[:6]
    email = f"alice.{tag}@example.com"
    phone = f"+852 912{uuid.uuid4().int % 10**5:05d}"  # a valid Hong Kong mobile range
    form = {
        "kind": "inquiry",
        "submission_id": f"f-{tag}",
        "submitted_at": datetime.now(UTC).isoformat(),
        "customer": {"name": "Alice Wong", "email": email.upper(), "phone": phone},
        "text": "Do you have parking?",
    }
    await publish(system, "webform", form)
    (first,) = await inquiry_of(system, f"f-{tag}")
    mail, mid = email_bytes(sender=f"Alice <{email}>", subject="Parking", body="Is parking free for guests?")
    await publish(system, "email", mail, "message/rfc822")
    (second,) = await inquiry_of(system, mid)
    assert second.data["customer"]["customer_id"] == first.data["customer"]["customer_id"]
    assert first.data["customer"]["email"] == email, "emails are lower-cased"
    assert first.data["customer"]["phone"] == phone.replace(" ", "")


async def test_wechat_webhook_checks_the_signature_and_publishes(system: System) -> None:
    msg_id = str(24900000000000000 + uuid.uuid4().int % 10**15)
    xml = (
        f"<xml><ToUserName><![CDATA[gh_desk]]></ToUserName><FromUserName><![CDATA[oY{msg_id}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[Hello, I'd like to book a room]]></Content><MsgId>{msg_id}</MsgId></xml>"
    )
    ts, nonce = str(int(system.now().timestamp())), uuid.uuid4().hex
    signature = hashlib.sha1("".join(sorted([WECHAT_TOKEN, ts, nonce])).encode()).hexdigest()
    url = system.url("intake") + "/webhooks/wechat"
    async with httpx.AsyncClient() as client:
        bad = await client.post(url, params={"signature": "0" * 40, "timestamp": ts, "nonce": nonce}, content=xml)
        assert bad.status_code == 403
        echo = await client.get(url, params={"signature": signature, "timestamp": ts, "nonce": nonce, "echostr": "e1"})
        assert echo.text == "e1"
        ok = await client.post(url, params={"signature": signature, "timestamp": ts, "nonce": nonce}, content=xml)
        assert ok.status_code == 200 and ok.text == "success"
        # the same signed query string again, with a forged body, at another replica: a replay
        forged = xml.replace("book a room", "cancel everything")
        params = {"signature": signature, "timestamp": ts, "nonce": nonce}
        replay = await client.post(url, params=params, content=forged)
        assert replay.status_code == 403, replay.text
    (inq,) = await inquiry_of(system, msg_id)
    assert inq.data["channel"] == "wechat" and inq.data["language"] == "en"
    assert json.dumps(inq.data)  # a plain JSON event
