"""Realistic payloads as other systems send them (CONTRACT.md schemas)."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from ..conftest import System

HK = ZoneInfo("Asia/Hong_Kong")


def future_slot(days: int = 3, hour: int = 14, hours: int = 2, minute: int = 0) -> tuple[datetime, datetime]:
    """A slot ``days`` from today at ``hour`` venue time, inside opening hours."""
    day = datetime.now(HK).date() + timedelta(days=days)
    start = datetime(day.year, day.month, day.day, hour, minute, tzinfo=HK)
    return start, start + timedelta(hours=hours)


def unique_room() -> str:
    return f"room-{uuid.uuid4().hex[:8]}"


def booking_form(
    *,
    room_id: str | None,
    start: datetime,
    end: datetime,
    attendees: int = 10,
    equipment: list[str] | None = None,
    submission_id: str | None = None,
    email: str = "tai.man@example.com",
    phone: str | None = "+852 2123 4567",
    name: str = "陳大文",
) -> dict[str, Any]:
    return {
        "kind": "booking_request",
        "submission_id": submission_id or str(uuid.uuid4()),
        "submitted_at": datetime.now(UTC).isoformat(),
        "customer": {"name": name, "email": email, "phone": phone},
        "meeting": {
            "name": "季度董事會 Quarterly board meeting",
            "start": start.isoformat(),
            "end": end.isoformat(),
            "attendees": attendees,
            "room_id": room_id,
            "agenda": "財務報告; 年度預算",
            "equipment": equipment if equipment is not None else ["projector", "microphone"],
            "catering": "茶點",
            "notes": None,
            "recurrence": None,
            "utm_source": "ignored unknown field",
        },
    }


async def staff_chain(system: System) -> dict[str, str]:
    """An agent, their supervisor and the service manager in complaints' staff directory (sent as
    `staff.upsert` commands; returns once complaints holds all three): role → staff id."""
    tag = uuid.uuid4().hex[:6]
    people = {"agent": f"agent-{tag}", "supervisor": f"sup-{tag}", "manager": f"mgr-{tag}"}
    reports_to = {"agent": people["supervisor"], "supervisor": people["manager"], "manager": None}
    for role, staff_id in people.items():
        await system.publisher.command(
            "staff.upsert",
            staff_id=staff_id,
            name=f"{role} {tag}",
            role=role,
            department="front desk",
            supervisor_id=reports_to[role],
        )
    for _ in range(100):
        rows = await system.query(
            "complaints", "SELECT staff_id FROM staff WHERE staff_id = ANY($1)", list(people.values())
        )
        if len(rows) == 3:
            return people
        await asyncio.sleep(0.1)
    raise AssertionError("the staff directory did not take the three staff members")


async def publish(system: System, channel: str, body: bytes | dict, content_type: str = "application/json") -> None:
    await system.publisher.publish("meetdesk.inbound", channel, body, content_type=content_type)


def chatwoot(conv: int, message_id: int, content: str, *, outgoing: bool = False) -> dict[str, Any]:
    contact = {"id": conv + 7, "name": "Wong Tai Sin", "email": f"wong.{conv}@example.hk", "type": "contact"}
    agent = {"id": 3, "name": "Agent Lam", "email": "lam@meetdesk.example", "type": "user"}
    return {
        "event": "message_created",
        "id": message_id,
        "content": content,
        "created_at": datetime.now(UTC).isoformat(),
        "message_type": "outgoing" if outgoing else "incoming",
        "content_type": "text",
        "private": False,
        "sender": agent if outgoing else contact,
        "inbox": {"id": 1, "name": "Website"},
        "conversation": {"id": conv, "display_id": conv, "status": "open", "meta": {"sender": contact}},
    }


def wechat_text(openid: str, msg_id: str, text: str) -> bytes:
    return (
        f"<xml><ToUserName><![CDATA[gh_desk]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{text}]]></Content><MsgId>{msg_id}</MsgId></xml>"
    ).encode()


def missed_call(uid: str, number: str) -> dict[str, Any]:
    start = datetime.now(HK).replace(microsecond=0)
    fmt = "%Y-%m-%d %H:%M:%S"
    return {
        "cdr": {
            "UniqueID": uid,
            "CallerID": f'"Caller" <{number}>',
            "Source": number,
            "Destination": "8001",
            "StartTime": start.strftime(fmt),
            "AnswerTime": "",
            "EndTime": (start + timedelta(seconds=20)).strftime(fmt),
            "Duration": "20",
            "BillableSeconds": "0",
            "Disposition": "NO ANSWER",
        }
    }


async def round_the_clock_room(system: System, name: str | None = None) -> str:
    """A room of its own (named ``<name> <id>``), open round the clock (a meeting a day from now fits
    whatever the hour), once booking has it."""
    room = unique_room()
    await system.publisher.command(
        "rooms.upsert", room_id=room, name=f"{name} {room}" if name else room, capacity=20, equipment=["projector"],
        opens_at="00:00", closes_at="00:00",
    )  # fmt: skip
    await system.watcher.wait_for(lambda e: e.type == "room.updated" and e.data["room_id"] == room)
    return room


async def chat_and_wechat_customers(system: System) -> tuple[str, str, int, str]:
    """Two customer records as intake makes them: one who wrote on chat (conversation ``chatwoot:<conv>``,
    email ``wong.<conv>@example.hk``) and one who wrote on WeChat (``openid``); (chat customer, WeChat
    customer, conv, openid)."""
    conv = 50000 + uuid.uuid4().int % 40000
    await publish(system, "chat", chatwoot(conv, conv * 10, "Do you have a room for a workshop?"))
    (on_chat,) = await system.watcher.wait_for(
        lambda e: e.type == "inquiry.received" and e.data["conversation_id"] == f"chatwoot:{conv}"
    )
    openid, msg_id = f"oW{uuid.uuid4().hex[:12]}", str(24600000000000000 + uuid.uuid4().int % 10**15)
    await publish(system, "wechat", wechat_text(openid, msg_id, "请问有停车场吗？"), "application/xml")
    (on_wechat,) = await system.watcher.wait_for(
        lambda e: e.type == "inquiry.received" and e.data["source_ref"] == msg_id
    )
    return on_chat.data["customer"]["customer_id"], on_wechat.data["customer"]["customer_id"], conv, openid
