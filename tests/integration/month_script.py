"""A month of desk traffic as the other systems and the agents produce it — inbound payloads on
``meetdesk.inbound`` (email, Chatwoot chat, WeChat, phone CDRs answered and missed, web forms,
on-site entries, surveys, a bounce), agents' commands over HTTP (bookings, complaints) and the clock
stepped through the days — and the plain facts it implies (:class:`tests.unit.metrics_traffic.Facts`).

    script = MonthScript(seed=11, start=date(2027, 3, 1), days=28, agents=[...], chat_agents=[...])
    script.steps                 # what happens when: (time, label, action), in time order
    run = MonthRun(system, script)
    await run.play()             # each step at its time on the services' clock, waiting for what it causes
    run.facts                    # the ground truth, recorded as each step is done

The daily traffic is drawn from the seed; the bookings and complaints are scripted (every fate the
KPIs count). The facts are what was sent, when, by whom — except what the system legitimately decides
and answers: the ids it gives (inquiry, booking, complaint), the category its classifier gives a
free-text complaint, the service step complaints estimates at registration (an assignment overrides
it), and the instant an agent's command took effect or a reopened complaint's clock restarted (the
services' clock runs on while the test runs; the instant is read from the event the command's answer
names, exactly for a target's seconds and to the whole second otherwise). The figures are computed from
these facts, never from the events metrics reads.
"""

from __future__ import annotations

import asyncio
import math
import random
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from typing import TYPE_CHECKING, Any

import httpx

from ..unit.metrics_traffic import HK, Call, Complaint, Cycle, Facts, Feedback, Inquiry, Meeting, Reply, Request

if TYPE_CHECKING:
    from ..conftest import System
    from ..system import Event

AGENT_DOMAIN = "meetdesk.example"
ACK = timedelta(hours=2)  # the system's default policy for a normal complaint
RESOLVE = timedelta(hours=72)
ESCALATION = (timedelta(0), timedelta(minutes=30), timedelta(minutes=90))  # levels 1, 2, 3 after a breach
NO_SHOW = timedelta(minutes=20)
CDR = "%Y-%m-%d %H:%M:%S"
READ = 0.1  # seconds the services take to read a moved clock
# a Postfix non-delivery report (RFC 3464) of our acknowledgement (tests/data/intake_corpus/bounce_postfix_dsn.eml)
BOUNCE = """Return-Path: <>
Date: {date}
From: MAILER-DAEMON@mx1.example.net (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
To: desk@meetdesk.example
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="BOUNDARY"
Message-Id: <{mid}>

--BOUNDARY
Content-Type: text/plain; charset=us-ascii

Your message could not be delivered.

--BOUNDARY
Content-Type: message/delivery-status

Reporting-MTA: dns; mx1.example.net

Final-Recipient: rfc822; {rcpt}
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 Recipient address rejected: User unknown

--BOUNDARY
Content-Type: text/rfc822-headers

From: meetdesk <desk@meetdesk.example>
To: {rcpt}
Auto-Submitted: auto-replied
Message-ID: <{inquiry}.ack@meetdesk.example>

--BOUNDARY--
"""

# texts whose intent is plain (no complaint, no booking detail in the questions)
QUESTIONS = (
    "What are your opening hours on Saturday?",
    "Is there parking near the venue?",
    "Do you have wifi for guests?",
    "請問星期六營業時間？",
    "請問附近有停車場嗎？",
)
CALL_ME = "Please call me back about my question."
FOLLOW_UPS = ("Thank you. And is there a lift to the second floor?", "謝謝。請問有沒有電梯？")


@dataclass
class Step:
    at: datetime
    label: str
    action: Callable[[MonthRun], Awaitable[None]]
    order: int = 0


@dataclass
class Plan:
    """A booking the month asks for and what becomes of it."""

    key: str
    requested: datetime
    room: str
    start: datetime
    attendees: int = 6
    equipment: list[str] = field(default_factory=list)
    fate: str = "completed"  # completed | cancelled | no_show | rejected | booked
    survey: int | None = None
    prep_skipped: str | None = None  # a department left undone
    moved_days: int = 0  # rescheduled this many days later
    email: str = ""


def hk(day: date, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute, second), HK).astimezone(UTC)


def whole(at: datetime, since: datetime) -> datetime:
    """``at`` taken to whole seconds after ``since`` (rounded half up, as the KPIs count seconds)."""
    return since + timedelta(seconds=math.floor((at - since).total_seconds() + 0.5))


class MonthScript:
    """The seeded script: ``steps`` in time order; the rooms it books (``rooms``)."""

    def __init__(self, *, seed: int, start: date, days: int, agents: list[str], chat_agents: list[int]):
        self.rng = random.Random(seed)
        self.start, self.days = start, days
        self.agents, self.chat_agents = agents, chat_agents
        self.tag = uuid.UUID(int=self.rng.getrandbits(128)).hex[:6]
        self.rooms = {
            f"m{self.tag}-r1": {"capacity": 12, "equipment": ["projector"]},
            f"m{self.tag}-r2": {"capacity": 20, "equipment": ["projector", "microphone"]},
            f"m{self.tag}-r3": {"capacity": 8, "equipment": []},
        }
        self.steps: list[Step] = []
        self._n = 0
        for d in range(days):
            self._day(start + timedelta(days=d), d)
        self._bookings()
        self._complaints()
        self.steps.sort(key=lambda s: (s.at, s.order))
        self.end = hk(start + timedelta(days=days - 1), 19)

    def add(self, at: datetime, label: str, action: Callable[[MonthRun], Awaitable[None]]) -> None:
        self._n += 1
        self.steps.append(Step(at, label, action, self._n))

    def uid(self, prefix: str) -> str:
        return f"{prefix}-{self.tag}-{uuid.UUID(int=self.rng.getrandbits(128)).hex[:10]}"

    # -- written contacts and calls, every day -----------------------------------------------------------
    def _day(self, day: date, d: int) -> None:
        rng = self.rng
        # an email thread: a question, an agent's reply, now and then a follow-up answered again
        at = hk(day, 9, rng.randrange(0, 60), rng.randrange(60))
        key = self._conversation("email", at)
        if d == 11:  # our acknowledgement of it bounces
            bounced = at + timedelta(minutes=20)
            self.add(bounced, f"bounce {key}", lambda r, at=bounced, k=key: r.bounce(k, at))
        if d == 20:
            self._two_numbers(day)
        if d == 19:  # a web form another system got wrong: dead-lettered
            broken = hk(day, 15, 5, 0)
            self.add(broken, "broken web form", lambda r, at=broken: r.broken_form(at))
        at = hk(day, 13, rng.randrange(0, 60), rng.randrange(60))
        self._conversation("chat", at)
        if d % 2 == 0:
            at = hk(day, 11, rng.randrange(0, 50), rng.randrange(60))
            msg_id = str(25_000_000_000_000_000 + rng.randrange(10**15))
            text, who = rng.choice(QUESTIONS), f"oW{self.tag}{d}"
            self.add(at, f"wechat {msg_id}", lambda r, at=at, m=msg_id, w=who, t=text: r.wechat(at, m, w, t))
        if d % 3 == 1:
            at = hk(day, 16, rng.randrange(0, 50), rng.randrange(60))
            sid, email = self.uid("form"), f"form.{self.tag}.{d}@example.com"
            text = rng.choice(QUESTIONS)
            self.add(at, f"webform {sid}", lambda r, at=at, s=sid, e=email, t=text: r.webform_inquiry(at, s, e, t))
        # a call: answered, or missed (and sometimes called back)
        at = hk(day, 10, rng.randrange(0, 50), rng.randrange(60))
        phone = f"+852 912{d:02d}{rng.randrange(100, 1000)}"  # a valid Hong Kong mobile, one caller a day
        if rng.random() < 0.65:
            self._answered(at, phone, rng.choice(self.agents), rng.randrange(3, 30))
        else:
            self.add(at, "missed call", lambda r, at=at, p=phone: r.missed_call(at, p))
            if rng.random() < 0.6:
                back = at + timedelta(seconds=rng.randrange(900, 7200))
                self._answered(back, phone, rng.choice(self.agents), rng.randrange(3, 20))

    def _answered(self, at: datetime, phone: str, agent: str, seconds: int, person: str | None = None) -> None:
        call_id = self.uid("call")
        notes = self.rng.choice(QUESTIONS)
        talk = self.rng.randrange(60, 400)
        # the CDR reaches meetdesk when the call has ended
        self.add(
            at + timedelta(seconds=seconds + talk),
            f"answered call {call_id}",
            lambda r: r.answered_call(at, call_id, phone, agent, seconds, talk, notes, person),
        )

    def _two_numbers(self, day: date) -> None:
        """A customer misses us from the office line, gives us their mobile on a web form (with the
        email they also give with the office line's number), and we reach them on the mobile: intake
        attaches the mobile to the customer it knows (``customer.linked``), so it is a call-back."""
        office, mobile = f"+852 9130{self.rng.randrange(1000, 10_000)}", f"+852 9131{self.rng.randrange(1000, 10_000)}"
        email, person = f"two.numbers.{self.tag}@example.com", f"person-{self.tag}"
        at = hk(day, 11, 40, 12)
        self.add(at, "missed call (office)", lambda r: r.missed_call(at, office, person))
        for n, (when, phone) in enumerate(((at + timedelta(minutes=20), office), (at + timedelta(minutes=35), mobile))):
            sid = self.uid(f"two{n}")
            self.add(
                when, f"webform {sid}", lambda r, w=when, s=sid, p=phone: r.webform_inquiry(w, s, email, CALL_ME, p)
            )
        self._answered(at + timedelta(hours=1), mobile, self.agents[0], 6, person)

    def _conversation(self, channel: str, at: datetime) -> str:
        rng = self.rng
        key = self.uid(channel)
        text = rng.choice(QUESTIONS)
        customer = f"{channel}.{key}@example.com"
        self.add(at, f"{channel} {key}", lambda r: r.customer_writes(channel, key, customer, at, text))
        if rng.random() < 0.15:
            return key  # not answered (yet)
        agent: str | int = rng.choice(self.agents if channel == "email" else self.chat_agents)
        replied = at + timedelta(seconds=rng.choice((rng.randrange(40, 600), rng.randrange(600, 7200))))
        self.add(replied, f"{channel} reply {key}", lambda r: r.agent_replies(channel, key, agent, replied))
        if rng.random() < 0.35:
            again = replied + timedelta(seconds=rng.randrange(300, 3600))
            follow = rng.choice(FOLLOW_UPS)
            self.add(
                again, f"{channel} again {key}", lambda r: r.customer_writes(channel, key, customer, again, follow)
            )
            answer = again + timedelta(seconds=rng.randrange(30, 1800))
            agent2: str | int = rng.choice(self.agents if channel == "email" else self.chat_agents)
            self.add(answer, f"{channel} reply2 {key}", lambda r: r.agent_replies(channel, key, agent2, answer))
        return key

    # -- bookings ---------------------------------------------------------------------------------------
    def _bookings(self) -> None:
        rng = self.rng
        r1, r2, r3 = self.rooms
        day = [self.start + timedelta(days=d) for d in range(self.days + 7)]
        plans = [
            Plan("b1", hk(day[0], 10, 5), r1, hk(day[2], 14), equipment=["projector"], survey=5),
            Plan("b2", hk(day[2], 10, 5), r2, hk(day[4], 10), equipment=["projector"], survey=4),
            Plan("b3", hk(day[4], 10, 5), r3, hk(day[6], 14), attendees=15, fate="rejected"),
            Plan("b4", hk(day[5], 10, 5), r1, hk(day[7], 14), equipment=["projector"], fate="cancelled"),
            Plan("b5", hk(day[7], 10, 5), r2, hk(day[9], 14), fate="no_show"),
            Plan("b6", hk(day[9], 10, 5), r1, hk(day[11], 10), equipment=["projector"], survey=2,
                 prep_skipped="equipment"),
            Plan("b7", hk(day[11], 10, 5), r3, hk(day[13], 14), moved_days=1),
            Plan("b8", hk(day[14], 10, 5), r2, hk(day[16], 14), equipment=["microphone"], survey=3),
            Plan("b9", hk(day[17], 10, 5), r1, hk(day[19], 10)),
            Plan("b10", hk(day[21], 10, 5), r2, hk(day[23], 14), survey=4),
            Plan("b11", hk(day[24], 10, 5), r3, hk(day[self.days], 10), fate="booked"),
        ]  # fmt: skip
        for p in plans:
            p.requested += timedelta(seconds=rng.randrange(0, 600))
            p.email = f"booker.{self.tag}.{p.key}@example.com"
            self.add(p.requested, f"booking request {p.key}", lambda r, p=p: r.booking_request(p))
            if p.fate == "rejected":
                continue
            self.add(p.requested + timedelta(hours=1), f"preparation {p.key}", lambda r, p=p: r.prepare(p))
            if p.fate == "cancelled":
                self.add(p.requested + timedelta(days=1), f"cancel {p.key}", lambda r, p=p: r.cancel(p))
                continue
            start = p.start
            if p.moved_days:
                self.add(p.requested + timedelta(hours=3), f"reschedule {p.key}", lambda r, p=p: r.reschedule(p))
                # a reschedule asks the departments again (the earlier tasks give way)
                self.add(p.requested + timedelta(hours=4), f"preparation again {p.key}", lambda r, p=p: r.prepare(p))
                start += timedelta(days=p.moved_days)
            end = start + timedelta(hours=2)
            reminder = start - timedelta(hours=24)
            self.add(reminder + timedelta(minutes=1), f"reminded {p.key}", lambda r, p=p: r.reminded(p))
            if p.prep_skipped:
                lead = {"equipment": timedelta(hours=2), "setup": timedelta(hours=1)}[p.prep_skipped]
                self.add(start - lead + timedelta(minutes=1), f"overdue {p.key}", lambda r, p=p: r.prep_overdue(p))
            if p.fate == "booked":
                continue
            if p.fate == "no_show":
                self.add(start + NO_SHOW + timedelta(minutes=1), f"no-show {p.key}", lambda r, p=p: r.released(p))
                continue
            self.add(start - timedelta(minutes=10), f"check-in {p.key}", lambda r, p=p: r.check_in(p))
            self.add(end + timedelta(minutes=1), f"completed {p.key}", lambda r, p=p: r.completed(p))
            if p.survey is not None:
                when = end + timedelta(hours=2, seconds=rng.randrange(600))
                self.add(when, f"survey {p.key}", lambda r, p=p, when=when: r.booking_survey(p, when))

    # -- complaints -------------------------------------------------------------------------------------
    def _complaints(self) -> None:
        a1, a2 = self.agents[0], self.agents[1]
        day = [self.start + timedelta(days=d) for d in range(self.days)]
        T = timedelta

        def flow(key: str, at: datetime, steps: list[tuple[timedelta, str, dict[str, Any]]]) -> None:
            for offset, name, fields in steps:
                self.add(at + offset, f"{name} {key}", lambda r, name=name, fields=fields: r.complaint_command(
                    key, name, fields))  # fmt: skip

        def working(cause: str, resolve_after: timedelta) -> list[tuple[timedelta, str, dict[str, Any]]]:
            return [
                (T(hours=3), "complaint.investigate", {"root_cause": cause}),
                (T(hours=4), "complaint.propose_solution", {}),
                (T(hours=5), "complaint.start_execution", {}),
                (resolve_after, "complaint.resolve", {}),
            ]

        # 1. a web form, acknowledged in time, resolved in a day, a good score, closed
        at = hk(day[1], 10, 30, 7)
        self.add(at, "complaint c1", lambda r, at=at: r.webform_complaint(
            "c1", at, "venue_environment", "The air conditioning in the hall was off all afternoon."))  # fmt: skip
        flow("c1", at, [(T(minutes=10), "complaint.assign", {"agent_id": a1, "service_step": "on_site"}),
                        (T(minutes=40), "complaint.acknowledge", {}),
                        *working("process_gap", T(hours=24, minutes=31))])  # fmt: skip
        self._complaint_survey("c1", at + T(hours=27), 4)
        self.add(at + T(days=2), "close c1", lambda r: r.complaint_command("c1", "complaint.close", {}))

        # 2. an email, acknowledged late: breached, escalated twice; resolved, a low score reopens it,
        #    resolved again, a good score, closed
        at = hk(day[3], 9, 40, 11)
        self.add(at, "complaint c2", lambda r, at=at: r.email_complaint(
            "c2", at, "The projector in our room did not work at the meeting and nobody came to help."))  # fmt: skip
        flow("c2", at, [(T(minutes=20), "complaint.assign", {"agent_id": a2, "service_step": "av"})])
        self.add(at + ACK + T(minutes=1), "breach c2", lambda r: r.breached("c2", "acknowledge", 1, [1]))
        self.add(at + ACK + T(minutes=31), "escalation c2", lambda r: r.breached("c2", "acknowledge", 1, [1, 2]))
        flow("c2", at, [(T(hours=2, minutes=45), "complaint.acknowledge", {}),
                        *working("equipment_failure", T(hours=29, minutes=3))])  # fmt: skip
        self._complaint_survey("c2", at + T(hours=31), 2)  # reopens it
        flow("c2", at, [(T(hours=34), "complaint.propose_solution", {}),
                        (T(hours=35), "complaint.start_execution", {}),
                        (T(hours=52, minutes=13), "complaint.resolve", {})])  # fmt: skip
        self._complaint_survey("c2", at + T(hours=55), 5)
        self.add(at + T(days=3, hours=2), "close c2", lambda r: r.complaint_command("c2", "complaint.close", {}))

        # 3. a phone call: resolved at first contact; the survey is never answered
        at = hk(day[7], 11, 0, 3)
        self.add(at + T(seconds=8 + 240), "complaint c3", lambda r, at=at: r.phone_complaint(
            "c3", at, a1, 8, 240, "The microphone kept cutting out in our meeting yesterday."))  # fmt: skip
        flow("c3", at, [(T(minutes=9), "complaint.resolve", {"first_contact": True})])  # the step as estimated

        # 4. on site, about an agent's attitude, at the meeting of b2; handed to another agent; the
        #    resolution target passes (breached, escalated to the manager), then resolved
        at = hk(day[10], 14, 0, 5)
        self.add(at, "complaint c4", lambda r, at=at: r.onsite_complaint(
            "c4", at, a2, "b2", "service_attitude", "The staff at the reception were rude to our guests."))  # fmt: skip
        flow("c4", at, [(T(minutes=15), "complaint.assign", {"agent_id": a1, "service_step": "on_site"}),
                        (T(hours=1), "complaint.acknowledge", {}),
                        *working("staff_error", T(hours=75))])  # fmt: skip
        self.add(at + RESOLVE + T(minutes=1), "breach c4", lambda r: r.breached("c4", "resolve", 1, [1]))
        self.add(at + RESOLVE + T(minutes=91), "escalations c4", lambda r: r.breached("c4", "resolve", 1, [1, 2, 3]))
        self._complaint_survey("c4", at + T(hours=78), 4)
        self.add(at + T(days=4), "close c4", lambda r: r.complaint_command("c4", "complaint.close", {}))

        # 5. a web form about the catering, withdrawn by the customer
        at = hk(day[15], 10, 0, 9)
        self.add(at, "complaint c5", lambda r, at=at: r.webform_complaint(
            "c5", at, "catering", "The coffee was cold and the sandwiches were stale."))  # fmt: skip
        flow("c5", at, [(T(minutes=5), "complaint.assign", {"agent_id": a2, "service_step": "catering"}),
                        (T(minutes=30), "complaint.acknowledge", {}),
                        (T(hours=2), "complaint.withdraw", {})])  # fmt: skip

        # 6. a chat, reclassified when assigned, resolved; the survey never answered
        at = hk(day[18], 9, 30, 1)
        self.add(at, "complaint c6", lambda r, at=at: r.chat_complaint(
            "c6", at, "I want to complain: the room we booked was given to another group and we waited."))  # fmt: skip
        flow("c6", at, [(T(minutes=20), "complaint.assign",
                         {"agent_id": a2, "service_step": "booking", "category": "meeting_arrangement"}),
                        (T(hours=1), "complaint.acknowledge", {}),
                        *working("process_gap", T(hours=26, minutes=30))])  # fmt: skip
        # closing needs the customer's satisfaction: refused
        self.add(at + T(hours=30), "close c6 refused", lambda r: r.complaint_command("c6", "complaint.close", {},
                                                                                  refused=True))  # fmt: skip

        # 7. a web form near the month's end: acknowledged, still being worked on
        at = hk(day[self.days - 2], 15, 0, 2)
        self.add(at, "complaint c7", lambda r, at=at: r.webform_complaint(
            "c7", at, "other", "The signs to the meeting rooms are confusing."))  # fmt: skip
        flow("c7", at, [(T(minutes=10), "complaint.assign", {"agent_id": a1, "service_step": "other"}),
                        (T(minutes=50), "complaint.acknowledge", {})])  # fmt: skip

    def _complaint_survey(self, key: str, at: datetime, score: int) -> None:
        self.add(at, f"survey {key}", lambda r, at=at: r.complaint_survey(key, at, score))


class MonthRun:
    """Plays a :class:`MonthScript` against the running system, step by step, the services' clock
    moved to each step's time; records the facts (``facts``) as it goes."""

    def __init__(self, system: System, script: MonthScript):
        self.system, self.script = system, script
        self.facts = Facts()
        self.http = httpx.AsyncClient(headers={"Authorization": f"Bearer {system.token}"}, timeout=30)
        self.threads: dict[str, dict[str, Any]] = {}  # conversation key → what it needs later
        self.complaints: dict[str, Complaint] = {}
        self.complaint_ids: dict[str, str] = {}
        self.contacts: dict[str, dict[str, Any]] = {}
        self.bookings: dict[str, str] = {}  # plan key → booking id
        self.meetings: dict[str, Meeting] = {}
        self.found: dict[str, str] = {}  # complaint → the root cause its investigation found
        self.cycle_starts: dict[tuple[str, int], datetime] = {}  # a reopened target's clock restarted
        self.registered_late: list[Complaint] = []  # complaints the system registered after the customer's contact
        self.log: list[str] = []

    # -- the clock --------------------------------------------------------------------------------------
    async def move_to(self, at: datetime) -> None:
        """Every service's clock to ``at`` (never back): the offset file, then a moment to read it."""
        if self.system.now() >= at:
            return
        assert self.system.clock_file is not None
        # the clock reads ``at`` once the services have read the file (they do every 50 ms)
        self.system.clock_file.write_text(f"{(at - datetime.now(UTC)).total_seconds() - READ}\n")
        await asyncio.sleep(READ)

    async def play(self) -> None:
        try:
            for step in self.script.steps:
                await self.move_to(step.at)
                self.log.append(step.label)
                try:
                    await step.action(self)
                except Exception as exc:
                    raise AssertionError(f"step {step.label!r} at {step.at.astimezone(HK)}: {exc}") from exc
            await self.move_to(self.script.end)
        finally:
            await self.http.aclose()

    # -- helpers ----------------------------------------------------------------------------------------
    async def publish(self, channel: str, body: bytes | dict[str, Any], *, message_id: str, content_type: str) -> None:
        await self.system.publisher.publish(
            "meetdesk.inbound", channel, body, message_id=message_id, content_type=content_type
        )

    async def wait(self, pred: Callable[[Event], bool], count: int = 1, timeout: float = 30) -> list[Event]:
        return await self.system.watcher.wait_for(pred, count=count, timeout=timeout)

    def seen(self, pred: Callable[[Event], bool]) -> set[str]:
        """The ids of the events seen so far that ``pred`` selects (an event may be published twice)."""
        return {e.body["event_id"] for e in self.system.watcher.matching(pred)}

    async def inquiry(self, source_ref: str) -> Event:
        found = await self.wait(lambda e: e.type == "inquiry.received" and e.data["source_ref"] == source_ref)
        return found[0]

    def record_inquiry(self, at: datetime, channel: str, agent: str | None, intent: str, customer: str,
                       category: str | None = None) -> None:  # fmt: skip
        self.facts.inquiries.append(Inquiry(at, channel, agent, intent, customer, category))

    async def command(self, service: str, name: str, *, refused: bool = False, **fields: Any) -> list[dict[str, Any]]:
        """An agent's command over HTTP: the events it caused (``refused``: it must be refused, and
        its ``command.rejected`` is awaited)."""
        command_id = str(uuid.uuid4())
        body = {"command_id": command_id, "actor": "desk-lead", **fields}
        r = await self.http.post(f"{self.system.url(service)}/commands/{name}", json=body)
        if refused:
            assert r.status_code == 409, f"{name}: {r.status_code} {r.text}"
            await self.wait(lambda e: e.type == "command.rejected" and e.data["command_id"] == command_id)
            return []
        assert r.status_code == 200, f"{name}: {r.status_code} {r.text}"
        out: list[dict[str, Any]] = r.json()["events"]
        return out

    async def occurred(self, event: dict[str, Any]) -> datetime:
        """When a command's event happened: the instant the system stamped on it (its envelope, as published)."""
        event_id = event["event_id"]
        published, *_ = await self.wait(lambda e: e.body["event_id"] == event_id)
        return datetime.fromisoformat(published.body["occurred_at"])

    # -- written channels -------------------------------------------------------------------------------
    async def customer_writes(self, channel: str, key: str, customer: str, at: datetime, text: str) -> None:
        thread = self.threads.setdefault(key, {"n": 0})
        thread["n"] += 1
        if channel == "email":
            mid = f"{key}.{thread['n']}@mail.example.com"
            msg = EmailMessage()
            msg["From"], msg["To"], msg["Subject"] = customer, "desk@meetdesk.example", "Question"
            msg["Date"], msg["Message-ID"] = format_datetime(at), f"<{mid}>"
            if "last" in thread:
                msg["In-Reply-To"] = msg["References"] = f"<{thread['last']}>"
            msg.set_content(text)
            await self.publish("email", bytes(msg), message_id=mid, content_type="message/rfc822")
            thread["last"] = mid
            inq = await self.inquiry(mid)
        else:
            conv = thread.setdefault("conv", 700_000 + len(self.threads) * 10 + self.script.rng.randrange(10))
            thread["contact"] = {"id": conv + 1, "name": "Guest", "email": customer, "type": "contact"}
            msg_id = conv * 100 + thread["n"]
            await self.publish("chat", self._chat(thread, msg_id, at, text, "incoming", thread["contact"]),
                               message_id=f"chat-{msg_id}", content_type="application/json")  # fmt: skip
            inq = await self.inquiry(f"message:{msg_id}")
        thread["conversation"] = inq.data["conversation_id"]
        thread.setdefault("inquiry_id", inq.data["inquiry_id"])
        thread["customer"] = customer
        assert inq.data["intent"] not in ("complaint", "booking_request"), "a question, nothing more"
        self.record_inquiry(at, channel, None, "inquiry", customer)
        thread["waiting_since"] = at

    @staticmethod
    def _chat(thread: dict[str, Any], msg_id: int, at: datetime, text: str, kind: str, sender: dict[str, Any]) -> dict:
        """A Chatwoot ``message_created`` webhook body in the thread's conversation."""
        conv = thread["conv"]
        return {
            "event": "message_created",
            "id": msg_id,
            "content": text,
            "created_at": at.isoformat(),
            "message_type": kind,
            "content_type": "text",
            "private": False,
            "sender": sender,
            "inbox": {"id": 1, "name": "Website"},
            "conversation": {"id": conv, "display_id": conv, "status": "open", "meta": {"sender": thread["contact"]}},
        }

    async def agent_replies(self, channel: str, key: str, agent: str | int, at: datetime) -> None:
        thread = self.threads[key]
        thread["n"] += 1
        first = not thread.get("answered")
        if channel == "email":
            mid = f"{key}.{thread['n']}@{AGENT_DOMAIN}"
            msg = EmailMessage()
            msg["From"], msg["To"], msg["Subject"] = f"{agent}@{AGENT_DOMAIN}", "customer@example.com", "Re: Question"
            msg["Date"], msg["Message-ID"] = format_datetime(at), f"<{mid}>"
            msg["In-Reply-To"] = msg["References"] = f"<{thread['last']}>"
            msg.set_content("Thank you for asking; here is the answer.")
            thread["last"] = mid
            await self.publish("email", bytes(msg), message_id=mid, content_type="message/rfc822")
            who = str(agent)
        else:
            conv = thread["conv"]
            msg_id = conv * 100 + thread["n"]
            sender = {"id": agent, "name": "Agent", "email": f"chat{agent}@{AGENT_DOMAIN}", "type": "user"}
            await self.publish("chat", self._chat(thread, msg_id, at, "Here is the answer.", "outgoing", sender),
                               message_id=f"chat-{msg_id}", content_type="application/json")  # fmt: skip
            who = str(agent)
        conversation = thread["conversation"]
        await self.wait(
            lambda e: (
                e.type == "agent.replied"
                and e.data["conversation_id"] == conversation
                and datetime.fromisoformat(e.data["replied_at"]) == at
            )
        )
        seconds = round((at - thread["waiting_since"]).total_seconds())
        self.facts.replies.append(Reply(at, channel, who, first, seconds))
        thread["answered"] = True

    async def wechat(self, at: datetime, msg_id: str, who: str, text: str) -> None:
        xml = (
            f"<xml><ToUserName><![CDATA[gh_desk]]></ToUserName><FromUserName><![CDATA[{who}]]></FromUserName>"
            f"<CreateTime>{int(at.timestamp())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[{text}]]></Content><MsgId>{msg_id}</MsgId></xml>"
        )
        await self.publish("wechat", xml.encode(), message_id=f"wx-{msg_id}", content_type="application/xml")
        inq = await self.inquiry(msg_id)
        assert inq.data["intent"] not in ("complaint", "booking_request"), "a question, nothing more"
        self.record_inquiry(at, "wechat", None, "inquiry", who)

    async def webform_inquiry(self, at: datetime, sid: str, email: str, text: str, phone: str | None = None) -> None:
        form = {"kind": "inquiry", "submission_id": sid, "submitted_at": at.isoformat(),
                "customer": {"name": "Guest", "email": email, "phone": phone}, "text": text}  # fmt: skip
        await self.publish("webform", form, message_id=sid, content_type="application/json")
        await self.inquiry(sid)
        self.record_inquiry(at, "webform", None, "inquiry", email)

    async def bounce(self, key: str, at: datetime) -> None:
        """A mail server's non-delivery report of our acknowledgement of the thread's first message."""
        thread = self.threads[key]
        mid = f"bounce-{key}@mx1.example.net"
        report = BOUNCE.format(
            date=format_datetime(at), mid=mid, rcpt=thread["customer"], inquiry=thread["inquiry_id"]
        ).replace("\n", "\r\n")
        await self.publish("email", report.encode(), message_id=mid, content_type="message/rfc822")
        await self.wait(lambda e: e.type == "notification.failed" and e.data.get("inquiry_id") == thread["inquiry_id"])
        self.facts.bounced.append((at, "email"))

    async def broken_form(self, at: datetime) -> None:
        sid = self.script.uid("broken")
        form = {"kind": "complaint", "submission_id": sid, "submitted_at": at.isoformat(),
                "customer": {"name": "Guest", "email": f"{sid}@example.com"}}  # fmt: skip  # no text
        rejected = self.seen(lambda e: e.type == "intake.rejected")
        await self.publish("webform", form, message_id=sid, content_type="application/json")
        await self.wait(lambda e: e.type == "intake.rejected" and e.body["event_id"] not in rejected)
        self.facts.rejected.append((at, "webform"))

    # -- the phone --------------------------------------------------------------------------------------
    def _cdr(self, call_id: str, phone: str, start: datetime, answer: int | None, talk: int) -> dict[str, Any]:
        local = start.astimezone(HK)
        end = local + timedelta(seconds=(answer or 20) + talk)
        return {
            "UniqueID": call_id,
            "CallerID": f'"Caller" <{phone}>',
            "Source": phone.replace(" ", "").removeprefix("+852"),
            "Destination": "8001",
            "StartTime": local.strftime(CDR),
            "AnswerTime": (local + timedelta(seconds=answer)).strftime(CDR) if answer is not None else "",
            "EndTime": end.strftime(CDR),
            "Duration": str((answer or 20) + talk),
            "BillableSeconds": str(talk if answer is not None else 0),
            "Disposition": "ANSWERED" if answer is not None else "NO ANSWER",
        }

    async def missed_call(self, at: datetime, phone: str, person: str | None = None) -> None:
        """``person``: who called, when it is not simply the owner of the number (default)."""
        call_id = self.script.uid("call")
        await self.publish("phone", {"cdr": self._cdr(call_id, phone, at, None, 0)}, message_id=call_id,
                           content_type="application/json")  # fmt: skip
        await self.wait(lambda e: e.type == "call.missed" and e.data["call_id"] == call_id)
        self.facts.calls.append(Call(at, person or phone, None, None))

    async def answered_call(self, at: datetime, call_id: str, phone: str, agent: str, seconds: int, talk: int,
                            notes: str, person: str | None = None) -> Event:  # fmt: skip
        body = {"cdr": self._cdr(call_id, phone, at, seconds, talk), "agent_id": agent, "notes": notes}
        await self.publish("phone", body, message_id=call_id, content_type="application/json")
        inq = await self.inquiry(call_id)
        await self.wait(
            lambda e: e.type == "agent.replied" and e.data["conversation_id"] == inq.data["conversation_id"]
        )
        self.facts.calls.append(Call(at, person or phone, agent, seconds))
        self.facts.replies.append(Reply(at + timedelta(seconds=seconds), "phone", agent, True, seconds))
        complaint = notes not in QUESTIONS
        assert (inq.data["intent"] == "complaint") == complaint, "a question, or a complaint"
        intent = "complaint" if complaint else "inquiry"
        self.record_inquiry(at, "phone", agent, intent, person or phone, inq.data.get("category"))
        return inq

    # -- bookings ---------------------------------------------------------------------------------------
    async def booking_request(self, p: Plan) -> None:
        sid = self.script.uid("book")
        end = p.start + timedelta(hours=2)
        form = {
            "kind": "booking_request",
            "submission_id": sid,
            "submitted_at": p.requested.isoformat(),
            "customer": {"name": "Booker", "email": p.email},
            "meeting": {"name": "Team meeting", "start": p.start.isoformat(), "end": end.isoformat(),
                        "attendees": p.attendees, "room_id": p.room, "equipment": p.equipment},
        }  # fmt: skip
        await self.publish("webform", form, message_id=sid, content_type="application/json")
        inq = await self.inquiry(sid)
        self.record_inquiry(p.requested, "webform", None, "booking_request", p.email)
        inquiry_id = inq.data["inquiry_id"]
        answer, *_ = await self.wait(
            lambda e: e.type in ("booking.confirmed", "booking.rejected") and e.data["inquiry_id"] == inquiry_id
        )
        req = Request(p.requested, "webform", p.room)
        self.facts.requests.append(req)
        if p.fate == "rejected":
            assert answer.type == "booking.rejected", answer.data
            assert answer.data["reason_code"] == "room_too_small", answer.data
            req.rejected = "room_too_small"
            self.facts.rejections.append((p.requested, "room_too_small"))
            return
        assert answer.type == "booking.confirmed", answer.data
        req.confirmed_at, req.confirmed_room = p.requested, p.room
        booking_id = answer.data["booking_id"]  # the system's id
        self.bookings[p.key] = booking_id
        m = Meeting(booking_id, p.room, p.start, end, p.requested)
        self.meetings[p.key] = m
        self.facts.meetings.append(m)
        self.contacts[p.key] = {"email": p.email}

    async def prepare(self, p: Plan) -> None:
        booking_id = self.bookings[p.key]
        departments = ["setup"] + (["equipment"] if p.equipment else [])
        for dept in departments:
            if dept != p.prep_skipped:
                await self.command("booking", "booking.preparation_done", booking_id=booking_id, department=dept)

    async def cancel(self, p: Plan) -> None:
        events = await self.command(
            "booking", "booking.cancel", booking_id=self.bookings[p.key], reason="plans changed"
        )
        at = await self.occurred(next(e for e in events if e["type"] == "booking.cancelled"))
        self.meetings[p.key].cancelled_at = at
        self.facts.cancelled.append((at, p.room))

    async def reschedule(self, p: Plan) -> None:
        m = self.meetings[p.key]
        start, end = m.start + timedelta(days=p.moved_days), m.end + timedelta(days=p.moved_days)
        events = await self.command(
            "booking", "booking.reschedule", booking_id=m.booking_id, start=start.isoformat(), end=end.isoformat()
        )
        at = await self.occurred(next(e for e in events if e["type"] == "booking.rescheduled"))
        m.rescheduled_at, m.start, m.end = at, start, end
        self.facts.rescheduled.append((at, p.room))

    async def prep_overdue(self, p: Plan) -> None:
        booking_id = self.bookings[p.key]
        await self.wait(lambda e: e.type == "booking.preparation_overdue" and e.data["booking_id"] == booking_id)
        lead = {"equipment": timedelta(hours=2), "setup": timedelta(hours=1)}[p.prep_skipped or "setup"]
        self.meetings[p.key].prep_overdue_at = self.meetings[p.key].start - lead

    async def released(self, p: Plan) -> None:
        booking_id = self.bookings[p.key]
        await self.wait(lambda e: e.type == "booking.released" and e.data["booking_id"] == booking_id)
        self.meetings[p.key].released_at = self.meetings[p.key].start + NO_SHOW

    async def reminded(self, p: Plan) -> None:
        booking_id = self.bookings[p.key]
        await self.wait(lambda e: e.type == "booking.reminder_due" and e.data["booking_id"] == booking_id)

    async def check_in(self, p: Plan) -> None:
        await self.command("booking", "booking.check_in", booking_id=self.bookings[p.key])

    async def completed(self, p: Plan) -> None:
        booking_id = self.bookings[p.key]
        await self.wait(lambda e: e.type == "booking.completed" and e.data["booking_id"] == booking_id)
        self.meetings[p.key].completed_at = self.meetings[p.key].end

    async def booking_survey(self, p: Plan, at: datetime) -> None:
        booking_id = self.bookings[p.key]
        rid = self.script.uid("survey")
        answer = {"subject": {"type": "booking", "id": booking_id, "room_id": p.room}, "score": p.survey,
                  "comment": "Thanks", "respondent": {"email": p.email}, "response_id": rid,
                  "submitted_at": at.isoformat()}  # fmt: skip
        await self.publish("survey", answer, message_id=rid, content_type="application/json")
        await self.wait(lambda e: e.type == "feedback.received" and e.data.get("subject_id") == booking_id)
        assert p.survey is not None
        self.facts.feedback.append(Feedback(at, "survey", None, p.room, p.survey, "booking", booking_id))
        self.meetings[p.key].survey_at = at

    # -- complaints -------------------------------------------------------------------------------------
    async def _registered(self, key: str, inq: Event, at: datetime, channel: str, reg_agent: str | None,
                          category: str, booking: str | None = None) -> None:  # fmt: skip
        inquiry_id = inq.data["inquiry_id"]
        reg, *_ = await self.wait(lambda e: e.type == "complaint.registered" and e.data["inquiry_id"] == inquiry_id)
        assert datetime.fromisoformat(reg.data["registered_at"]) == at, "its clocks start when the customer wrote"
        assert reg.data["severity"] == "normal", reg.data
        cid = reg.data["complaint_id"]
        self.complaint_ids[key] = cid
        # the service step as complaints estimated it from the words (an assignment may correct it)
        c = Complaint(cid, at, channel, category, reg_agent, reg_agent, booking=booking, step=reg.data["service_step"])
        self.complaints[key] = c
        self.facts.complaints.append(c)

    async def webform_complaint(self, key: str, at: datetime, category: str, text: str) -> None:
        sid = self.script.uid("cform")
        email = f"complainant.{sid}@example.com"
        form = {"kind": "complaint", "submission_id": sid, "submitted_at": at.isoformat(),
                "customer": {"name": "Guest", "email": email}, "category": category, "text": text}  # fmt: skip
        await self.publish("webform", form, message_id=sid, content_type="application/json")
        inq = await self.inquiry(sid)
        self.record_inquiry(at, "webform", None, "complaint", email, category)
        self.contacts[key] = {"email": email}
        await self._registered(key, inq, at, "webform", None, category)

    async def email_complaint(self, key: str, at: datetime, text: str) -> None:
        mid = f"{self.script.uid('cmail')}@mail.example.com"
        email = f"complainant.{key}.{self.script.tag}@example.com"
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = email, "desk@meetdesk.example", "Complaint"
        msg["Date"], msg["Message-ID"] = format_datetime(at), f"<{mid}>"
        msg.set_content(text)
        await self.publish("email", bytes(msg), message_id=mid, content_type="message/rfc822")
        inq = await self.inquiry(mid)
        assert inq.data["intent"] == "complaint", inq.data
        category = inq.data["category"]  # the classifier's
        self.record_inquiry(at, "email", None, "complaint", email, category)
        self.contacts[key] = {"email": email}
        await self._registered(key, inq, at, "email", None, category)

    async def chat_complaint(self, key: str, at: datetime, text: str) -> None:
        conv = 900_000 + self.script.rng.randrange(10**5)
        contact = {"id": conv + 1, "name": "Guest", "email": f"complainant.{key}.{self.script.tag}@example.com",
                   "type": "contact"}  # fmt: skip
        thread = self.threads[f"complaint-{key}"] = {"conv": conv, "contact": contact, "n": 1}
        msg_id = conv * 100 + 1
        await self.publish("chat", self._chat(thread, msg_id, at, text, "incoming", contact),
                           message_id=f"chat-{msg_id}", content_type="application/json")  # fmt: skip
        inq = await self.inquiry(f"message:{msg_id}")
        assert inq.data["intent"] == "complaint", inq.data
        category = inq.data["category"]
        self.record_inquiry(at, "chat", None, "complaint", contact["email"], category)
        await self._registered(key, inq, at, "chat", None, category)

    async def phone_complaint(self, key: str, at: datetime, agent: str, seconds: int, talk: int, text: str) -> None:
        phone = f"+852 913{self.script.rng.randrange(10**4, 10**5)}"
        call_id = self.script.uid("ccall")
        inq = await self.answered_call(at, call_id, phone, agent, seconds, talk, text)
        assert inq.data["intent"] == "complaint", inq.data
        await self._registered(key, inq, at, "phone", agent, inq.data["category"])
        self.registered_late.append(self.complaints[key])  # its CDR, hence its registration, came at the call's end

    async def onsite_complaint(self, key: str, at: datetime, staff: str, plan: str, category: str, text: str) -> None:
        eid = self.script.uid("onsite")
        booking_id = self.bookings[plan]
        email = self.contacts[plan]["email"]
        entry = {"kind": "complaint", "entry_id": eid, "recorded_at": at.isoformat(), "staff_id": staff,
                 "booking_id": booking_id, "customer": {"name": "Guest", "email": email}, "text": text,
                 "category": category}  # fmt: skip
        await self.publish("onsite", entry, message_id=eid, content_type="application/json")
        inq = await self.inquiry(eid)
        self.record_inquiry(at, "onsite", staff, "complaint", email, category)
        self.contacts[key] = {"email": email}
        await self._registered(key, inq, at, "onsite", staff, category, booking=booking_id)

    async def complaint_command(self, key: str, name: str, fields: dict[str, Any], *, refused: bool = False) -> None:
        c = self.complaints[key]
        fields = dict(fields)
        if name == "complaint.propose_solution":
            fields["actions"] = []
        if refused:
            at = self.system.now()
            await self.command("complaints", name, refused=True, complaint_id=self.complaint_ids[key], **fields)
            self.facts.rejected.append((at, None))  # type: ignore[arg-type]  # a command: no channel
            return
        events = await self.command("complaints", name, complaint_id=self.complaint_ids[key], **fields)
        changed = [e for e in events if e["type"] == "complaint.status_changed"]
        # when it took effect: exact for the targets' seconds, to the whole second for the rest
        exact = await self.occurred(changed[0]) if changed else None
        at = whole(exact, c.registered_at) if exact else None
        if name == "complaint.assign":
            c.agent, c.step = fields["agent_id"], fields["service_step"]
            c.category = fields.get("category") or c.category
        elif name == "complaint.acknowledge":
            assert exact is not None
            self._met(c, "acknowledge", 1, c.registered_at, exact)
        elif name == "complaint.investigate":
            self.found[c.complaint_id] = fields["root_cause"]
        elif name == "complaint.resolve":
            assert at is not None and exact is not None
            first = bool(fields.get("first_contact"))
            if first:
                c.first_contact = True
                self._met(c, "acknowledge", 1, c.registered_at, exact)
            cycle = 1 + len(c.reopened_at)
            since = c.registered_at if cycle == 1 else self.cycle_starts[(c.complaint_id, cycle)]
            self._met(c, "resolve", cycle, since, exact)
            c.resolved_at.append(at)
            c.survey_asked_at = c.survey_asked_at or at
        elif name == "complaint.close":
            assert at is not None
            c.closed_at = at
        elif name == "complaint.withdraw":
            assert at is not None
            c.withdrawn_at = at
        if changed:
            # the root cause found counts from the complaint's next status change on
            c.cause = self.found.get(c.complaint_id) or c.cause

    def _met(self, c: Complaint, which: str, cycle: int, since: datetime, at: datetime) -> None:
        x = next((x for x in c.cycles if (x.which, x.cycle) == (which, cycle)), None)
        if x is None:
            x = Cycle(which, cycle)
            c.cycles.append(x)
        x.met_at, x.elapsed, x.met_agent = at, math.floor((at - since).total_seconds() + 0.5), c.agent

    async def breached(self, key: str, which: str, cycle: int, levels: list[int]) -> None:
        c = self.complaints[key]
        cid = c.complaint_id
        since = c.registered_at if cycle == 1 else c.reopened_at[-1]
        due = since + (ACK if which == "acknowledge" else RESOLVE)
        await self.wait(lambda e: e.type == "complaint.sla_breached" and e.data["complaint_id"] == cid)
        await self.wait(lambda e: e.type == "complaint.escalated" and e.data["complaint_id"] == cid
                        and e.data["level"] == levels[-1])  # fmt: skip
        x = next((x for x in c.cycles if (x.which, x.cycle) == (which, cycle)), None)
        if x is None:  # a target's cycle is counted once it is decided (met or breached)
            x = Cycle(which, cycle)
            c.cycles.append(x)
        if x.breached_at is None:
            x.breached_at, x.breach_agent = due, c.agent
            c.breaches.append((due, which))
        for level in levels:
            when = due + ESCALATION[level - 1]
            if (when, level) not in c.escalations:
                c.escalations.append((when, level))

    async def complaint_survey(self, key: str, at: datetime, score: int) -> None:
        c = self.complaints[key]
        cid = c.complaint_id
        rid = self.script.uid("csurvey")
        answer = {"subject": {"type": "complaint", "id": cid, "agent_id": c.agent}, "score": score,
                  "comment": "ok", "respondent": {"email": self.contacts[key]["email"]}, "response_id": rid,
                  "submitted_at": at.isoformat()}  # fmt: skip
        recorded = self.seen(lambda e: e.type == "complaint.satisfaction_recorded" and e.data["complaint_id"] == cid)
        reopened = self.seen(lambda e: e.type == "complaint.status_changed" and e.data["complaint_id"] == cid)
        await self.publish("survey", answer, message_id=rid, content_type="application/json")
        await self.wait(
            lambda e: e.type == "complaint.satisfaction_recorded" and e.data["complaint_id"] == cid
            and e.body["event_id"] not in recorded
        )  # fmt: skip
        self.facts.feedback.append(Feedback(at, "survey", c.agent, None, score, "complaint"))
        c.survey_answered_at = c.survey_answered_at or at
        if score <= 2:  # reopened at once: a new resolution cycle starts
            changed, *_ = await self.wait(
                lambda e: e.type == "complaint.status_changed" and e.data["complaint_id"] == cid
                and e.data["from"] == "resolved" and e.body["event_id"] not in reopened
            )  # fmt: skip
            reopened = whole(datetime.fromisoformat(changed.body["occurred_at"]), c.registered_at)
            c.reopened_at.append(reopened)
            # the resolution target counts anew from the reopening, as complaints started its clock
            cycle = len(c.reopened_at) + 1
            started, *_ = await self.wait(
                lambda e: e.type == "complaint.clock" and e.data["complaint_id"] == cid
                and (e.data["which"], e.data["transition"], e.data["cycle"]) == ("resolve", "started", cycle)
            )  # fmt: skip
            self.cycle_starts[(cid, cycle)] = datetime.fromisoformat(started.data["at"])
            c.cause = self.found.get(c.complaint_id) or c.cause
