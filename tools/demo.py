"""A small realistic scenario against the running system (start it first with ``make run``).

    make demo

Publishes, as the other systems would: three rooms (``rooms.upsert`` commands), four web-form
booking requests — one of them for a room and time already taken — a complaint and a survey
answer. Prints the events that follow and today's KPIs from the metrics service.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo

import aio_pika
import httpx

AMQP = os.environ.get("MEETDESK_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
AMQP_USER = unquote(urlsplit(AMQP).username or "") or "guest"  # the AMQP user_id of the commands it sends
METRICS = os.environ.get("MEETDESK_METRICS_URL", "http://127.0.0.1:8004")
_LOCAL_TOKEN = Path(__file__).resolve().parents[1] / ".local-api-token"  # what `make run` made, if it did
TOKEN = os.environ.get("MEETDESK_API_TOKEN") or (_LOCAL_TOKEN.read_text().strip() if _LOCAL_TOKEN.exists() else "")
HK = ZoneInfo("Asia/Hong_Kong")

ROOMS = [
    {
        "room_id": "harbour",
        "name": "Harbour Room 海港廳",
        "location": "3/F",
        "capacity": 12,
        "equipment": ["projector", "microphone", "video_conference"],
    },
    {
        "room_id": "peak",
        "name": "Peak Room 山頂廳",
        "location": "5/F",
        "capacity": 40,
        "equipment": ["projector", "audio", "microphone", "lighting"],
    },
    {"room_id": "garden", "name": "Garden Room 花園廳", "location": "G/F", "capacity": 8, "equipment": ["whiteboard"]},
]


def at(days: int, hour: int) -> datetime:
    d = datetime.now(HK).date() + timedelta(days=days)
    return datetime(d.year, d.month, d.day, hour, tzinfo=HK)


def form(
    name: str,
    email: str,
    meeting: str,
    room: str | None,
    start: datetime,
    hours: int,
    people: int,
    equipment: list[str],
) -> dict:
    return {
        "kind": "booking_request",
        "submission_id": f"demo-{uuid.uuid4()}",
        "submitted_at": datetime.now(UTC).isoformat(),
        "customer": {"name": name, "email": email, "phone": None},
        "meeting": {
            "name": meeting,
            "start": start.isoformat(),
            "end": (start + timedelta(hours=hours)).isoformat(),
            "attendees": people,
            "room_id": room,
            "equipment": equipment,
        },
    }


def describe(e: dict) -> str:
    d = e["data"]
    match e["type"]:
        case "room.updated":
            return f"{d['room_id']} ({d['capacity']} seats, {', '.join(d['equipment'])})"
        case "inquiry.received":
            return f"{d['channel']} {d['intent']} [{d['language']}] customer {d['customer']['customer_id'][:8]}"
        case "booking.requested":
            m = d["meeting"]
            return f"{m['name']}: {m['attendees']} people, {m['start'][:16]}, room {m.get('room_id') or 'any'}"
        case "booking.confirmed":
            return f"{d['name']} in {d['room_id']} {d['start'][:16]}–{d['end'][11:16]}"
        case "booking.rejected":
            alts = "; ".join(f"{a['room_id']} {a['start'][5:16]}" for a in d["alternatives"][:3])
            return f"{d['reason']} → alternatives: {alts}"
        case "complaint.registered":
            return f"{d['category']} / {d['severity']}, acknowledge by {d['acknowledge_due_at'][:16]}"
        case "feedback.received":
            return f"{d['subject_type']} scored {d['score']}/5 ({d['score_100']}/100)"
        case "notification.requested":
            return f"{d['template']} via {d['channel']} in {d['language']}"
        case _:
            return json.dumps(d, ensure_ascii=False)[:100]


async def main() -> int:
    try:
        conn = await aio_pika.connect(AMQP, timeout=5)
    except Exception as exc:
        print(f"RabbitMQ is not reachable at {AMQP}: {exc}", file=sys.stderr)
        return 1
    ch = await conn.channel()
    seen: list[dict] = []
    queue = await ch.declare_queue("", exclusive=True)
    await queue.bind("meetdesk.events", "#")
    await queue.consume(lambda m: seen.append(json.loads(m.body)), no_ack=True)

    async def publish(exchange: str, key: str, body: dict, message_id: str) -> None:
        ex = await ch.get_exchange(exchange, ensure=False)
        await ex.publish(
            aio_pika.Message(
                json.dumps(body, ensure_ascii=False).encode(),
                content_type="application/json",
                message_id=message_id,
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                user_id=AMQP_USER,  # commands are authenticated by the broker user (MEETDESK_COMMAND_PUBLISHERS)
            ),
            key,
        )

    for room in ROOMS:
        cid = str(uuid.uuid4())
        await publish("meetdesk.commands", "rooms.upsert", {"command_id": cid, "actor": "demo", **room}, cid)
    await asyncio.sleep(1)
    day = 2 + (int(time.time()) // 60) % 50  # another day each minute, so reruns don't collide with themselves
    forms = [
        form("陳大文", "chan@example.com", "董事會 Board meeting", "harbour", at(day, 10), 2, 10, ["projector"]),
        form("李小明", "lee@example.com", "產品發佈 Launch", None, at(day, 14), 3, 35, ["audio", "microphone"]),
        form("王芳", "wang@example.cn", "项目评审", "garden", at(day, 9), 1, 6, []),
        form("Alice Wong", "alice@example.com", "Strategy offsite", "harbour", at(day, 11), 1, 8, ["projector"]),
    ]
    for f in forms:
        await publish("meetdesk.inbound", "webform", f, f["submission_id"])
    complaint = {
        "kind": "complaint",
        "submission_id": f"demo-{uuid.uuid4()}",
        "submitted_at": datetime.now(UTC).isoformat(),
        "customer": {"name": "陳大文", "email": "chan@example.com"},
        "category": "equipment_failure",
        "text": "上次會議投影儀壞了,會議延誤了半小時,非常不滿。",
    }
    await publish("meetdesk.inbound", "webform", complaint, complaint["submission_id"])
    survey = {
        "subject": {"type": "booking", "id": "demo"},
        "score": 4,
        "comment": "Good service",
        "response_id": f"demo-{uuid.uuid4()}",
    }
    await publish("meetdesk.inbound", "survey", survey, survey["response_id"])
    await asyncio.sleep(3)
    await conn.close()

    print(f"{len(seen)} events (the Harbour Room request at 11:00 collides with the board meeting at 10:00–12:00):\n")
    for e in seen:
        print(f"  {e['type']:<24} {describe(e)}")
    try:
        async with httpx.AsyncClient() as client:
            r = await client.get(
                f"{METRICS}/kpis", params={"period": "today"}, headers={"Authorization": f"Bearer {TOKEN}"}
            )
        r.raise_for_status()
    except httpx.HTTPError as exc:
        print(f"\nmetrics at {METRICS} did not answer: {exc}", file=sys.stderr)
        return 1
    totals = r.json()["totals"]
    print("\nToday's KPIs (GET /kpis?period=today):")
    print(json.dumps(totals, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
