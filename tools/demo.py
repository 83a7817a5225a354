"""One day at the desk, told through the running system (start it first with ``make run``).

    make demo                      # python tools/demo.py: the story, then the console opens on it
    python tools/demo.py --no-open # the same, without opening a browser

The demo publishes what the other systems would — inbound payloads on ``meetdesk.inbound`` (web
forms, WeChat, a phone system's CDR, Chatwoot, a survey tool) and commands through the services'
``POST /commands/{name}`` with the API token — and prints, step by step, what meetdesk made of each:

1. three rooms of its own (``rooms.upsert``);
2. four web-form booking requests for the same day; the last asks for a room and time already taken
   and is rejected with its alternatives;
3. a WeChat booking request without its time: listed among the incomplete requests (intake's
   ``GET /inquiries?incomplete=true``) for an agent to complete;
4. a complaint: registered with its clock (the formal reply and the resolution targets);
5. a missed call from a customer's phone: a call-back for that customer;
6. a returning customer on another channel (chat, the same email as her web form): one customer,
   awaiting a reply;
7. a survey answer: feedback, counted for its room.

At the end it prints the console's address and how to sign in, and opens it (``webbrowser``) when a
display is available.

**The same story every run.** Everything the story touches is the demo's own: its rooms are
``demo-harbour``, ``demo-peak`` and ``demo-garden``, its customers' emails, phone numbers and WeChat
openid carry ``demo`` and are used by nothing else, and its meetings are on one fixed day, two days
from today in venue time (after tomorrow, so no day-before reminder or preparation deadline falls due
while it runs, whatever the hour). Before it starts, it cancels (``booking.cancel`` as ops, reason
"demo reset") every booking still active from now on in its own rooms — the ones an earlier run made,
or that someone made from the console on its rooms. That is the cleanest reset: it goes through the
same command an operator would use, touches nothing that is not the demo's, leaves every earlier
record readable (cancelled, with the reason), and puts its rooms back exactly as the story needs
them, whereas moving to another day each run would change the story's dates and let earlier bookings
leak into the alternatives (they are searched for up to a week). The rooms are re-declared with their
own opening hours and buffers, so the venue's settings do not change the story either, and the
conflicting request asks for equipment only the demo's rooms have together, so its alternatives
never depend on the venue's other rooms.

The desk's work is not reset: each run adds one more of each to the console's lists (an incomplete
WeChat request, a call-back, a chat awaiting a reply, a complaint, a rejected request). Closing the
earlier ones would need made-up outcomes (a call-back "reached", a complaint "withdrawn") that the
KPIs would count; the story never depends on them.

What legitimately differs between runs is kept out of what is printed: ids (new inquiries, bookings,
call-backs, complaints), clock times of day (targets are printed as durations), acknowledgements
(intake sends one per address per hour), and counts that grow with each run (KPIs: see the console).

Environment: ``MEETDESK_AMQP_URL`` (amqp://guest:guest@127.0.0.1:5672/), ``MEETDESK_INTAKE_URL``,
``MEETDESK_BOOKING_URL``, ``MEETDESK_COMPLAINTS_URL`` (http://127.0.0.1:8001 … 8003),
``MEETDESK_CONSOLE_URL`` (http://127.0.0.1:8005/), ``MEETDESK_API_TOKEN`` (else ``.local-api-token``,
which ``make run`` makes), ``MEETDESK_VENUE_TIMEZONE`` (Asia/Hong_Kong, as the services).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
import uuid
import webbrowser
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urljoin
from zoneinfo import ZoneInfo

import aio_pika
import httpx

ROOT = Path(__file__).resolve().parents[1]
LOCAL_TOKEN = ROOT / ".local-api-token"  # what `make run` made, if it did
HK = ZoneInfo(os.environ.get("MEETDESK_VENUE_TIMEZONE") or "Asia/Hong_Kong")  # venue time, as the services read it
DAYS_AHEAD = 2  # the story's meetings: after tomorrow, so nothing of theirs falls due while it runs
ACTOR = "demo"
WAIT_SECONDS = 20.0

ROOMS = [
    {
        "room_id": "demo-harbour",
        "name": "Harbour Room 海港廳 (demo)",
        "location": "3/F",
        "capacity": 12,
        "equipment": ["projector", "microphone", "video_conference", "whiteboard"],
    },
    {
        "room_id": "demo-peak",
        "name": "Peak Room 山頂廳 (demo)",
        "location": "5/F",
        "capacity": 40,
        "equipment": ["projector", "audio", "microphone", "video_conference", "whiteboard", "lighting"],
    },
    {
        "room_id": "demo-garden",
        "name": "Garden Room 花園廳 (demo)",
        "location": "G/F",
        "capacity": 8,
        "equipment": ["whiteboard"],
    },
]
ROOM_RULES = {"opens_at": "08:00", "closes_at": "22:00", "setup_buffer_minutes": 15, "cleanup_buffer_minutes": 15}


@dataclass(frozen=True)
class Customer:
    name: str
    email: str | None = None
    phone: str | None = None


CHAN = Customer("陳大文", "chan.taiman.demo@example.com", "+852 9188 0101")
LEE = Customer("李小明", "lee.siuming.demo@example.com", "+852 9188 0102")
WANG = Customer("王芳", "wang.fang.demo@example.cn")
ALICE = Customer("Alice Wong", "alice.wong.demo@example.com")
ZHANG_OPENID = "demo-openid-zhangwei"  # 张伟 on WeChat


@dataclass(frozen=True)
class Meeting:
    who: Customer
    name: str
    room_id: str
    start_hour: int
    hours: int
    attendees: int
    equipment: tuple[str, ...]


MEETINGS = [
    Meeting(CHAN, "董事會 Board meeting", "demo-harbour", 10, 2, 10, ("projector", "microphone")),
    Meeting(LEE, "產品發佈 Product launch", "demo-peak", 14, 3, 35, ("audio", "microphone", "lighting")),
    Meeting(WANG, "项目评审 Project review", "demo-garden", 9, 1, 6, ("whiteboard",)),
    # the same room an hour into the board meeting: taken. Only the demo's own rooms have all three of
    # its equipment, so the alternatives are in them whatever other rooms the venue has
    Meeting(ALICE, "Strategy offsite", "demo-harbour", 11, 1, 8, ("video_conference", "whiteboard", "microphone")),
]


@dataclass
class Settings:
    amqp_url: str
    intake: str
    booking: str
    complaints: str
    console: str
    token: str

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ.get
        token = env("MEETDESK_API_TOKEN") or (LOCAL_TOKEN.read_text().strip() if LOCAL_TOKEN.exists() else "")
        return cls(
            amqp_url=env("MEETDESK_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/"),
            intake=env("MEETDESK_INTAKE_URL", "http://127.0.0.1:8001").rstrip("/"),
            booking=env("MEETDESK_BOOKING_URL", "http://127.0.0.1:8002").rstrip("/"),
            complaints=env("MEETDESK_COMPLAINTS_URL", "http://127.0.0.1:8003").rstrip("/"),
            console=env("MEETDESK_CONSOLE_URL", "http://127.0.0.1:8005/"),
            token=token,
        )


class DemoError(Exception):
    """The system did not do what the story needs (a service down, an event that never came)."""


def say(line: str = "") -> None:
    print(line, flush=True)


def hhmm(iso: str) -> str:
    return datetime.fromisoformat(iso).astimezone(HK).strftime("%H:%M")


def slot(iso_start: str, iso_end: str, day: date) -> str:
    start = datetime.fromisoformat(iso_start).astimezone(HK)
    when = "" if start.date() == day else start.strftime("%a %d %b ")
    return f"{when}{hhmm(iso_start)}–{hhmm(iso_end)}"


def masked(phone: str) -> str:
    digits = "".join(c for c in phone if c.isdigit())
    return f"•••• {digits[-4:]}"


def duration(seconds: float) -> str:
    minutes = round(seconds / 60)
    if minutes % (24 * 60) == 0:
        return f"{minutes // (24 * 60)} d"
    if minutes % 60 == 0:
        return f"{minutes // 60} h"
    return f"{minutes} min"


@dataclass
class Demo:
    settings: Settings
    day: date = field(default_factory=lambda: datetime.now(HK).date() + timedelta(days=DAYS_AHEAD))
    events: list[dict[str, Any]] = field(default_factory=list)
    customers: dict[str, str] = field(default_factory=dict)  # customer id → the cast's name
    published: set[str] = field(default_factory=set)  # the message ids of what it published
    _changed: asyncio.Event = field(default_factory=asyncio.Event)
    _conn: Any = None
    _inbound: Any = None
    _http: Any = None

    # -- plumbing -----------------------------------------------------------------------------------
    async def start(self) -> None:
        s = self.settings
        if len(s.token) < 16:
            raise DemoError("no API token: set MEETDESK_API_TOKEN (or start the system with `make run`: it makes one)")
        self._http = httpx.AsyncClient(timeout=10, headers={"Authorization": f"Bearer {s.token}"})
        for name, url in (("intake", s.intake), ("booking", s.booking), ("complaints", s.complaints)):
            try:
                r = await self._http.get(f"{url}/readyz")
            except httpx.HTTPError as exc:
                raise DemoError(
                    f"{name} does not answer at {url} ({exc}): start the system first with `make run`"
                ) from None
            if r.status_code != 200:
                raise DemoError(f"{name} at {url} is not ready: {r.text[:200]}")
        try:
            self._conn = await aio_pika.connect(s.amqp_url, timeout=5)
        except Exception as exc:
            raise DemoError(f"RabbitMQ is not reachable at {s.amqp_url}: {exc}") from None
        ch = await self._conn.channel()
        queue = await ch.declare_queue("", exclusive=True, auto_delete=True)
        await queue.bind("meetdesk.events", "#")
        await queue.consume(self._on_event, no_ack=True)
        self._inbound = await ch.get_exchange("meetdesk.inbound", ensure=False)

    async def stop(self) -> None:
        if self._http is not None:
            await self._http.aclose()
        if self._conn is not None:
            await self._conn.close()

    async def _on_event(self, msg: aio_pika.abc.AbstractIncomingMessage) -> None:
        self.events.append(json.loads(msg.body))
        self._changed.set()

    async def until(self, what: str, pred: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        """The first event seen that ``pred`` accepts (the ``data`` of events of type ``what``)."""
        deadline = time.monotonic() + WAIT_SECONDS
        types = tuple(what.split("|"))
        while True:
            for e in self.events:
                if e["type"] in types and pred(e["data"]):
                    return e
                if e["type"] == "intake.rejected" and e["data"].get("message_id") in self.published:
                    raise DemoError(f"intake refused the demo's {e['data']['channel']} message: {e['data']['reason']}")
            if time.monotonic() > deadline:
                raise DemoError(f"no {what} came within {WAIT_SECONDS:.0f} s: is every service running?")
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), 0.5)
            except TimeoutError:
                pass

    async def publish(self, channel: str, body: bytes | dict[str, Any], message_id: str) -> None:
        raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
        self.published.add(message_id)
        await self._inbound.publish(
            aio_pika.Message(
                raw,
                content_type="application/xml" if isinstance(body, bytes) else "application/json",
                message_id=message_id,
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            ),
            routing_key=channel,
        )

    async def command(self, service: str, name: str, body: dict[str, Any]) -> dict[str, Any]:
        """A command over the service's HTTP entry point, as ops acting for ``demo``: its answer."""
        url = getattr(self.settings, service)
        payload = {"command_id": str(uuid.uuid4()), "actor": ACTOR, **body}
        r = await self._http.post(f"{url}/commands/{name}", json=payload)
        if r.status_code not in (200, 409):
            raise DemoError(f"{service} refused {name}: {r.status_code} {r.text[:300]}")
        return r.json()

    async def get(self, service: str, path: str, **params: Any) -> Any:
        url = getattr(self.settings, service)
        r = await self._http.get(f"{url}{path}", params=params)
        if r.status_code != 200:
            raise DemoError(f"{service} GET {path}: {r.status_code} {r.text[:300]}")
        return r.json()

    async def listed(self, service: str, path: str, key: str, value: str, **params: Any) -> dict[str, Any] | None:
        """The item of ``GET path`` whose ``key`` is ``value``, once it is there (a moment after its event)."""
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            found = await self.get(service, path, limit=200, **params)
            items = found["items"] if isinstance(found, dict) else found
            item = next((i for i in items if i.get(key) == value), None)
            if item is not None or time.monotonic() > deadline:
                return item
            await asyncio.sleep(0.2)

    def who(self, customer_id: str | None) -> str:
        return self.customers.get(customer_id or "", "an unknown customer")

    def at(self, hour: int) -> datetime:
        return datetime(self.day.year, self.day.month, self.day.day, hour, tzinfo=HK)

    # -- the story ----------------------------------------------------------------------------------
    async def run(self) -> None:
        say(f"meetdesk demo: one day at the desk. The meetings are on {self.day:%A %d %B %Y} (venue time, {HK.key}).")
        await self.reset()
        await self.rooms()
        await self.web_forms()
        await self.wechat_without_time()
        await self.complaint()
        await self.missed_call()
        await self.returning_customer()
        await self.survey()

    async def reset(self) -> None:
        """Cancel what an earlier run (or anyone, from the console) left active in the demo's rooms."""
        rooms = {r["room_id"] for r in await self.get("booking", "/rooms")}
        cancelled = 0
        for room_id in sorted(rooms & {r["room_id"] for r in ROOMS}):
            since = {"from": datetime.now(UTC).isoformat()}
            found = await self.get("booking", "/bookings", room_id=room_id, status="confirmed", limit=500, **since)
            for b in found["items"]:
                cancel = {"booking_id": b["booking_id"], "reason": "demo reset"}
                answer = await self.command("booking", "booking.cancel", cancel)
                if answer.get("outcome") == "refused":
                    print(f"demo: could not cancel {b['booking_id']}: {answer.get('reason')}", file=sys.stderr)
                else:
                    cancelled += 1
        print(f"demo: reset: {cancelled} booking(s) of an earlier run cancelled in the demo's rooms", file=sys.stderr)

    async def rooms(self) -> None:
        say("\n1. Rooms (rooms.upsert, as ops)")
        for room in ROOMS:
            answer = await self.command("booking", "rooms.upsert", {**room, **ROOM_RULES})
            if answer.get("outcome") != "done":
                raise DemoError(f"rooms.upsert {room['room_id']} was refused: {answer.get('reason')}")
            say(
                f"   {room['room_id']:<13} {room['name']} · {room['capacity']} seats · "
                f"{', '.join(room['equipment'])} · open {ROOM_RULES['opens_at']}–{ROOM_RULES['closes_at']}"
            )

    async def web_forms(self) -> None:
        say("\n2. Booking requests from the web form (meetdesk.inbound, key webform)")
        for m in MEETINGS:
            start = self.at(m.start_hour)
            sid = f"demo-{uuid.uuid4()}"
            await self.publish(
                "webform",
                {
                    "kind": "booking_request",
                    "submission_id": sid,
                    "submitted_at": datetime.now(UTC).isoformat(),
                    "customer": {"name": m.who.name, "email": m.who.email, "phone": m.who.phone},
                    "meeting": {
                        "name": m.name,
                        "start": start.isoformat(),
                        "end": (start + timedelta(hours=m.hours)).isoformat(),
                        "attendees": m.attendees,
                        "room_id": m.room_id,
                        "equipment": list(m.equipment),
                    },
                },
                sid,
            )
            inquiry = await self.until("inquiry.received", lambda d, sid=sid: d["source_ref"] == sid)
            inquiry_id = inquiry["data"]["inquiry_id"]
            self.customers[inquiry["data"]["customer"]["customer_id"]] = m.who.name
            asked = f"{m.room_id} {start:%H:%M}–{start + timedelta(hours=m.hours):%H:%M}"
            say(f"   {m.who.name}: {m.name}, {m.attendees} people, {asked}, {', '.join(m.equipment)}")
            outcome = await self.until(
                "booking.confirmed|booking.rejected", lambda d, i=inquiry_id: d["inquiry_id"] == i
            )
            d = outcome["data"]
            if outcome["type"] == "booking.confirmed":
                say(f"     → confirmed: {d['room_id']} {slot(d['start'], d['end'], self.day)}")
                continue
            say(f"     → rejected ({d.get('reason_code', 'taken')}): {d['reason']}")
            say("       alternatives offered (the console's Bookings view accepts one for her):")
            for a in d["alternatives"]:
                say(f"         {a['room_id']:<13} {slot(a['start'], a['end'], self.day)}")

    async def wechat_without_time(self) -> None:
        say("\n3. A booking request on WeChat without its time (meetdesk.inbound, key wechat)")
        msg_id = str(24_000_000_000_000_000 + uuid.uuid4().int % 10**16)
        text = "你好，后天想订一间会议室开会，12个人，需要投影仪"
        xml = (
            f"<xml><ToUserName><![CDATA[gh_desk]]></ToUserName><FromUserName><![CDATA[{ZHANG_OPENID}]]></FromUserName>"
            f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[{text}]]></Content><MsgId>{msg_id}</MsgId></xml>"
        ).encode()
        await self.publish("wechat", xml, f"demo-wechat-{msg_id}")
        inquiry = await self.until("inquiry.received", lambda d: d["source_ref"] == msg_id)
        d = inquiry["data"]
        self.customers[d["customer"]["customer_id"]] = "张伟"
        say(f"   张伟: “{text}”")
        say(f"     → inquiry: {d['intent']}, {d['language']}; missing: {', '.join(d['missing']) or 'nothing'}")
        item = await self.listed("intake", "/inquiries", "inquiry_id", d["inquiry_id"], incomplete="true")
        if item is None:
            raise DemoError("the WeChat request is not listed among the incomplete booking requests")
        draft = item.get("draft") or {}
        known = [f"{k} {draft[k]}" for k in ("attendees",) if draft.get(k)] + [", ".join(draft.get("equipment") or [])]
        understood = "; ".join(filter(None, known))
        say(f"     → listed as incomplete (GET /inquiries?incomplete=true): understood {understood}")
        say("       an agent completes it in the console (Incomplete requests) and 张伟 is answered on WeChat")

    async def complaint(self) -> None:
        say("\n4. A complaint from the web form (meetdesk.inbound, key webform)")
        sid = f"demo-{uuid.uuid4()}"
        text = "上次會議投影機壞了，會議延誤了半小時，非常不滿。"
        await self.publish(
            "webform",
            {
                "kind": "complaint",
                "submission_id": sid,
                "submitted_at": datetime.now(UTC).isoformat(),
                "customer": {"name": CHAN.name, "email": CHAN.email, "phone": CHAN.phone},
                "category": "equipment_failure",
                "text": text,
            },
            sid,
        )
        inquiry = await self.until("inquiry.received", lambda d: d["source_ref"] == sid)
        inquiry_id = inquiry["data"]["inquiry_id"]
        registered = await self.until("complaint.registered", lambda d, i=inquiry_id: d["inquiry_id"] == i)
        d = registered["data"]
        same = "the same customer as his booking" if self.who(d.get("customer_id")) == CHAN.name else "a new customer"
        say(f"   {CHAN.name}: “{text}” ({same})")
        say(f"     → complaint registered: {d['category']}, severity {d['severity']}, step {d.get('service_step')}")
        complaint = await self.get("complaints", f"/complaints/{d['complaint_id']}")
        registered_at = datetime.fromisoformat(d["registered_at"])
        ack = datetime.fromisoformat(d["acknowledge_due_at"]) - registered_at
        resolve = datetime.fromisoformat(d["resolve_due_at"]) - registered_at
        say(
            f"     → its clock: formal reply within {duration(ack.total_seconds())}, "
            f"resolution within {duration(resolve.total_seconds())}; "
            f"overdue: {'yes' if complaint.get('overdue') else 'no'}"
        )
        say("       the console's Complaints view shows it with the time left; acknowledge it there")

    async def missed_call(self) -> None:
        say("\n5. A missed call (meetdesk.inbound, key phone: the phone system's CDR)")
        uid = f"{int(time.time())}.{uuid.uuid4().int % 100000}"
        start = datetime.now(HK).replace(microsecond=0)
        fmt = "%Y-%m-%d %H:%M:%S"
        number = LEE.phone or ""
        await self.publish(
            "phone",
            {
                "cdr": {
                    "UniqueID": uid,
                    "CallerID": f'"{LEE.name}" <{number.replace(" ", "")}>',
                    "Source": number.replace(" ", ""),
                    "Destination": "8001",
                    "StartTime": start.strftime(fmt),
                    "AnswerTime": "",
                    "EndTime": (start + timedelta(seconds=25)).strftime(fmt),
                    "Duration": "25",
                    "BillableSeconds": "0",
                    "Disposition": "NO ANSWER",
                }
            },
            f"demo-call-{uid}",
        )
        opened = await self.until("callback.opened", lambda d: d["call_id"] == uid)
        d = opened["data"]
        say(f"   {masked(number)} rang the desk; nobody answered")
        say(f"     → a call-back for {self.who(d.get('customer_id'))} (known by the phone number from his web form)")
        item = await self.listed("intake", "/callbacks", "callback_id", d["callback_id"], status="open")
        if item is None:
            raise DemoError("the call-back is not listed among the open call-backs")
        remind = datetime.fromisoformat(item["remind_at"]) - datetime.fromisoformat(item["missed_at"])
        say(
            f"     → open in GET /callbacks, attempts {item['attempts']}; "
            f"reminded {duration(remind.total_seconds())} after the call while nobody records an outcome"
        )

    async def returning_customer(self) -> None:
        say("\n6. A returning customer on another channel (meetdesk.inbound, key chat: a Chatwoot webhook)")
        conv = 900_000 + uuid.uuid4().int % 100_000
        text = "Hi, it's Alice again. Which floor is the Peak Room on, and is there parking nearby?"
        contact = {"id": conv, "name": ALICE.name, "email": ALICE.email, "type": "contact"}
        message_id = conv * 10 + 1
        await self.publish(
            "chat",
            {
                "event": "message_created",
                "id": message_id,
                "content": text,
                "created_at": datetime.now(UTC).isoformat(),
                "message_type": "incoming",
                "content_type": "text",
                "private": False,
                "sender": contact,
                "inbox": {"id": 1, "name": "Website"},
                "conversation": {"id": conv, "display_id": conv, "status": "open", "meta": {"sender": contact}},
            },
            f"demo-chat-{message_id}",
        )
        conversation_id = f"chatwoot:{conv}"
        inquiry = await self.until("inquiry.received", lambda d: d["conversation_id"] == conversation_id)
        d = inquiry["data"]
        customer_id = d["customer"]["customer_id"]
        whose = (
            f"the same customer as her web form ({ALICE.name})"
            if self.who(customer_id) == ALICE.name
            else "a customer not seen before"
        )
        say(f"   {ALICE.name} on chat: “{text}”")
        say(f"     → inquiry: {d['intent']}, {d['language']}; {whose}")
        file = await self.get("intake", f"/customers/{customer_id}")
        channels = sorted({c["channel"] for c in file.get("conversations", [])})
        say(f"     → her customer file has conversations on: {', '.join(channels)}")
        item = await self.listed("intake", "/conversations", "conversation_id", conversation_id, awaiting="true")
        if item is None:
            raise DemoError("the chat is not listed as awaiting a reply")
        say("     → awaiting a reply (GET /conversations?awaiting=true) until an agent answers in Chatwoot")

    async def survey(self) -> None:
        say("\n7. A survey answer (meetdesk.inbound, key survey)")
        subject_id = f"demo-meeting-{uuid.uuid4().hex[:12]}"
        comment = "会议室很安静，服务很周到"
        response_id = f"demo-{uuid.uuid4()}"
        await self.publish(
            "survey",
            {
                "subject": {"type": "booking", "id": subject_id, "room_id": "demo-garden"},
                "score": 5,
                "comment": comment,
                "respondent": {"name": WANG.name, "email": WANG.email},
                "response_id": response_id,
                "submitted_at": datetime.now(UTC).isoformat(),
            },
            response_id,
        )
        feedback = await self.until("feedback.received", lambda d: d.get("subject_id") == subject_id)
        d = feedback["data"]
        say(f"   {WANG.name} about her last meeting: {d['score']}/5, “{comment}”")
        say(
            f"     → feedback: {d['score_100']}/100 from {self.who(d.get('customer_id'))}, "
            f"counted for room {d.get('room_id') or '—'} in the KPIs"
        )

    def console(self, open_browser: bool) -> None:
        url = self.settings.console
        say("\nThe desk's console")
        say(f"   open {url}")
        source = "$MEETDESK_API_TOKEN" if os.environ.get("MEETDESK_API_TOKEN") else f"cat {LOCAL_TOKEN.name}"
        say(f"   sign in with the API token: {source}")
        say("   Awaiting reply: Alice Wong's chat · Call-backs: 李小明 · Incomplete requests: 张伟's WeChat request")
        say(f"   Complaints: 陳大文's, with its clock · Bookings: a room's day, demo-harbour on {self.day.isoformat()}")
        say("   KPIs: today's figures (a supervisor's or ops token)")
        try:
            up = httpx.get(urljoin(url, "healthz"), timeout=3).status_code == 200
        except httpx.HTTPError:
            up = False
        if not up:  # told aside: the story is the same either way
            print(f"demo: the console does not answer at {url} (`make run` starts it)", file=sys.stderr)
        elif open_browser and _has_display():
            try:
                webbrowser.open(url)
            except Exception:  # no browser is no failure
                pass


def _has_display() -> bool:
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--no-open", action="store_true", help="do not open the console in a browser")
    args = parser.parse_args(argv)
    demo = Demo(Settings.from_env())
    try:
        await demo.start()
        await demo.run()
    except DemoError as exc:
        print(f"\ndemo: {exc}", file=sys.stderr)
        return 1
    finally:
        await demo.stop()
    demo.console(open_browser=not args.no_open)
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
