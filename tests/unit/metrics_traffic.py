"""Generated desk traffic for metrics: the events the other services would publish, and the plain facts
they were made from (who asked what when, which complaint was resolved when, which meeting took
place), so that a test can compute every KPI independently from the facts and compare.

    traffic = Traffic(seed=7, start=date(2026, 3, 1), days=28, now=NOW)
    traffic.events      # Envelopes, in the order they happened
    traffic.facts       # the ground truth: inquiries, replies, calls, requests, meetings, complaints …

Everything is decided by the seed. Every event's time is at or before ``now``: what would happen
later (a meeting not yet held, a complaint not yet resolved) has not happened. Every kind of event
metrics reads is there: all channels, agent replies (first and later, some without a measured time),
answered and missed calls and call-backs, booking requests confirmed (single and series), rejected,
rescheduled, cancelled, released as no-shows, completed with surveys, preparation overdue,
complaints acknowledged in and out of time with breaches and escalations, resolved at first contact
or after the whole process, reopened after a low score, closed, withdrawn, and the operations events.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from shared.contract.events import (
    AgentReplied,
    BookingCancelled,
    BookingCompleted,
    BookingConfirmed,
    BookingPreparationOverdue,
    BookingRejected,
    BookingReleased,
    BookingRequested,
    BookingRescheduled,
    CallMissed,
    ComplaintAssessed,
    ComplaintClock,
    ComplaintClosed,
    ComplaintEscalated,
    ComplaintRegistered,
    ComplaintSatisfactionRecorded,
    ComplaintSatisfactionRequested,
    ComplaintSlaBreached,
    ComplaintStatusChanged,
    CustomerLinked,
    CustomerRef,
    CustomerUnlinked,
    DueItemParked,
    Envelope,
    EventData,
    FeedbackReceived,
    InquiryReceived,
    IntakeRejected,
    MessageReplayed,
    NotificationFailed,
    NotificationRequested,
    Slot,
)

HK = ZoneInfo("Asia/Hong_Kong")
AGENTS = ("ag-01", "ag-02", "ag-03", "ag-04", "ag-05", "ag-06")
ROOMS = ("R1", "R2", "R3", "R4")
WRITTEN = ("email", "chat", "wechat", "webform", "onsite")
CATEGORIES = (
    "service_attitude",
    "equipment_failure",
    "venue_environment",
    "meeting_arrangement",
    "catering",
    "other",
)
STEPS = ("booking", "preparation", "on_site", "catering", "av", "after_meeting", "other")
CAUSES = ("staff_error", "equipment_failure", "process_gap", "training_gap", "third_party", "misunderstanding", "other")
ACK_TARGET = 7200.0  # seconds (the formal reply: 2 hours)
RESOLVE_TARGET = 259_200.0  # seconds (72 hours)


@dataclass
class Reply:
    at: datetime
    channel: str
    agent: str | None
    first: bool
    seconds: int | None


@dataclass
class Inquiry:
    at: datetime
    channel: str
    agent: str | None
    intent: str
    customer: str
    category: str | None = None


@dataclass
class Call:
    """A phone call: answered (``answer_seconds``) or missed, from a customer (or anonymous)."""

    at: datetime
    customer: str | None
    agent: str | None
    answer_seconds: int | None  # None: missed


@dataclass
class Feedback:
    at: datetime
    channel: str
    agent: str | None
    room: str | None
    score: int
    subject: str  # booking | complaint | service
    meeting: str | None = None  # the booking, when the survey is about one


@dataclass
class Request:
    at: datetime
    channel: str
    room: str | None  # asked for
    confirmed_at: datetime | None = None
    confirmed_room: str | None = None
    rejected: str | None = None  # reason code


@dataclass
class Meeting:
    """One booked occurrence and what became of it (times None: did not happen by ``now``)."""

    booking_id: str
    room: str
    start: datetime
    end: datetime
    confirmed_at: datetime
    cancelled_at: datetime | None = None
    rescheduled_at: datetime | None = None
    released_at: datetime | None = None
    completed_at: datetime | None = None
    survey_at: datetime | None = None
    prep_overdue_at: datetime | None = None


@dataclass
class Cycle:
    which: str
    cycle: int
    met_at: datetime | None = None
    elapsed: int | None = None
    breached_at: datetime | None = None
    met_agent: str | None = None
    breach_agent: str | None = None


@dataclass
class Complaint:
    complaint_id: str
    registered_at: datetime
    channel: str
    category: str  # as finally classified
    reg_agent: str | None
    agent: str | None  # who handles it now
    severity: str = "normal"
    resolved_at: list[datetime] = field(default_factory=list)
    reopened_at: list[datetime] = field(default_factory=list)
    first_contact: bool = False
    closed_at: datetime | None = None
    withdrawn_at: datetime | None = None
    cycles: list[Cycle] = field(default_factory=list)
    escalations: list[tuple[datetime, int]] = field(default_factory=list)
    breaches: list[tuple[datetime, str]] = field(default_factory=list)
    survey_asked_at: datetime | None = None
    survey_answered_at: datetime | None = None
    step: str | None = None  # the service step, as last assessed
    cause: str | None = None  # the root cause, as last found
    booking: str | None = None  # the booking it is about


@dataclass
class Facts:
    inquiries: list[Inquiry] = field(default_factory=list)
    replies: list[Reply] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    feedback: list[Feedback] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    meetings: list[Meeting] = field(default_factory=list)
    complaints: list[Complaint] = field(default_factory=list)
    rejected: list[tuple[datetime, str]] = field(default_factory=list)
    replayed: list[datetime] = field(default_factory=list)
    parked: list[datetime] = field(default_factory=list)
    bounced: list[tuple[datetime, str]] = field(default_factory=list)  # notification.failed (when, channel)
    cancelled: list[tuple[datetime, str]] = field(default_factory=list)  # (when, room)
    rescheduled: list[tuple[datetime, str]] = field(default_factory=list)
    rejections: list[tuple[datetime, str]] = field(default_factory=list)  # booking.rejected (when, reason)
    # customer.linked / .unlinked: (when, surviving record, the other record, linked)
    links: list[tuple[datetime, str, str, bool]] = field(default_factory=list)

    def same_customer(self) -> dict[str, set[str]]:
        """Each customer record → every record linked with it now (the latest event about a pair stands)."""
        latest: dict[frozenset[str], tuple[datetime, bool]] = {}
        for at, a, b, linked in sorted(self.links):
            latest[frozenset((a, b))] = (at, linked)
        groups: dict[str, set[str]] = {}
        for pair, (_, linked) in latest.items():
            if linked:
                a, b = sorted(pair)
                merged = groups.get(a, {a}) | groups.get(b, {b})
                for member in merged:
                    groups[member] = merged
        return groups


class Traffic:
    def __init__(
        self,
        *,
        seed: int,
        start: date,
        days: int,
        now: datetime,
        per_day: int = 20,
        tz: ZoneInfo = HK,
        noise: bool = True,
    ):
        self.rng = random.Random(seed)
        self._aside = random.Random(seed + 1)  # the ids of events added later (see _emit_aside)
        self.tz, self.now = tz, now
        self.facts = Facts()
        self._events: list[tuple[datetime, int, Envelope]] = []
        self.customers = [self._uuid() for _ in range(max(20, per_day * 5))]
        for d in range(days):
            day = start + timedelta(days=d)
            for _ in range(per_day):
                self._written(day)
            for _ in range(max(1, per_day // 3)):
                self._call(day)
            for _ in range(max(1, per_day // 4)):
                self._request(day)
            for _ in range(max(1, per_day // 5)):
                self._complaint(day)
            if noise:
                self._operations(day)
        self._events.sort(key=lambda e: (e[0], e[1]))

    @property
    def events(self) -> list[Envelope]:
        return [e for _, _, e in self._events]

    # -- helpers ---------------------------------------------------------------------------------
    def _uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def _at(self, day: date, earliest: int = 8, latest: int = 20) -> datetime:
        seconds = self.rng.randrange(earliest * 3600, latest * 3600)
        local = datetime.combine(day, time(0), self.tz) + timedelta(seconds=seconds)
        return local.astimezone(UTC)

    def _emit(self, data: EventData, at: datetime) -> bool:
        """Emit ``data`` as of ``at`` unless that is after ``now`` (then it has not happened)."""
        if at > self.now:
            return False
        env = Envelope(
            event_id=uuid.UUID(self._uuid()),
            type=data.event_type,
            occurred_at=at,
            producer="traffic",
            correlation_id=uuid.UUID(self._uuid()),
            data=data.model_dump(mode="json", by_alias=True),
        )
        self._events.append((at, len(self._events), env))
        return True

    def _emit_aside(self, data: EventData, at: datetime) -> bool:
        """:meth:`_emit` with ids drawn from a generator of their own: an event type added to the traffic
        later leaves the rest of it as it was (the same facts for the same seed)."""
        rng, self.rng = self.rng, self._aside
        try:
            return self._emit(data, at)
        finally:
            self.rng = rng

    def _agent(self) -> str:
        return self.rng.choice(AGENTS)

    # -- written contacts with replies ---------------------------------------------------------------
    def _written(self, day: date) -> None:
        rng = self.rng
        at = self._at(day)
        channel = rng.choice(WRITTEN)
        agent = self._agent() if channel in ("chat", "onsite") and rng.random() < 0.7 else None
        intent = rng.choice(("inquiry", "inquiry", "booking_request", "feedback", "cancellation", "other"))
        conversation = self._uuid()
        customer = rng.choice(self.customers)
        self._inquiry(at, channel, conversation, customer, intent, agent)
        if rng.random() < 0.1 or channel in ("webform", "onsite"):
            return  # nobody answered (yet), or not a conversation
        first = int(rng.choice((rng.randrange(20, 600), rng.randrange(600, 14_400))))
        replier = self._agent()
        replied = at + timedelta(seconds=first)
        if not self._reply(replied, channel, conversation, replier, True, first):
            return
        if rng.random() < 0.4:  # the customer writes again and is answered again
            again = replied + timedelta(seconds=rng.randrange(60, 7200))
            if self._inquiry(again, channel, conversation, customer, "other", None):
                seconds = rng.randrange(30, 3600)
                self._reply(again + timedelta(seconds=seconds), channel, conversation, self._agent(), False, seconds)
        if rng.random() < 0.15:  # the agent writes again unasked: no response time
            self._reply(replied + timedelta(seconds=900), channel, conversation, replier, False, None)

    def _inquiry(
        self,
        at: datetime,
        channel: str,
        conversation: str,
        customer: str,
        intent: str,
        agent: str | None,
        *,
        category: str | None = None,
        inquiry_id: str | None = None,
    ) -> bool:
        data = InquiryReceived(
            inquiry_id=inquiry_id or self._uuid(),
            channel=channel,  # type: ignore[arg-type]
            source_ref=self._uuid(),
            conversation_id=conversation,
            customer=CustomerRef(customer_id=customer, email="someone@example.com"),
            intent=intent,  # type: ignore[arg-type]
            language="en",
            text="(text)",
            received_at=at,
            agent_id=agent,
            category=category,  # type: ignore[arg-type]
        )
        if not self._emit(data, at):
            return False
        self.facts.inquiries.append(Inquiry(at, channel, agent, intent, customer, category))
        return True

    def _reply(
        self, at: datetime, channel: str, conversation: str, agent: str, first: bool, seconds: int | None
    ) -> bool:
        data = AgentReplied(
            conversation_id=conversation,
            channel=channel,  # type: ignore[arg-type]
            agent_id=agent,
            replied_at=at,
            first_reply=first,
            response_seconds=seconds,
        )
        if not self._emit(data, at):
            return False
        self.facts.replies.append(Reply(at, channel, agent, first, seconds))
        return True

    # -- the phone ----------------------------------------------------------------------------------
    def _call(self, day: date, at: datetime | None = None, customer: str | None = None, *, answered: bool = False
              ) -> None:  # fmt: skip
        rng = self.rng
        at = at or self._at(day)
        if customer is None and rng.random() < 0.9:
            customer = rng.choice(self.customers)
        if answered or rng.random() < 0.75:
            agent = self._agent()
            seconds = rng.randrange(1, 40)
            call = f"call:{self._uuid()}"
            if not self._inquiry(at, "phone", call, customer or self._uuid(), "inquiry", agent):
                return
            self._reply(at + timedelta(seconds=seconds), "phone", call, agent, True, seconds)
            self.facts.calls.append(Call(at, customer, agent, seconds))
            return
        data = CallMissed(call_id=self._uuid(), customer_id=customer, disposition="NO ANSWER", started_at=at)
        if not self._emit(data, at):
            return
        self.facts.calls.append(Call(at, customer, None, None))
        if customer is not None and rng.random() < 0.6:  # a call-back (some come too late to count)
            later = at + timedelta(seconds=rng.choice((rng.randrange(300, 20_000), rng.randrange(80_000, 110_000))))
            caller = customer
            if rng.random() < 0.3:  # answered under another record of the same person, linked (before or after)
                caller = self._uuid()
                self._link(customer, caller, at + timedelta(seconds=rng.randrange(-3600, 40_000)))
            self._call(day, later, caller, answered=True)

    def _link(self, survivor: str, other: str, at: datetime) -> None:
        """intake links a record into another (the same phone), and now and then parts them again."""
        identities = [{"kind": "customer_id", "value": other}, {"kind": "phone", "value": "+85290000000"}]
        if not self._emit(CustomerLinked(customer_id=survivor, identities=identities, evidence="same phone"), at):
            return
        self.facts.links.append((at, survivor, other, True))
        if self.rng.random() < 0.25:
            parted = at + timedelta(hours=self.rng.randrange(1, 48))
            unlinked = CustomerUnlinked(customer_id=survivor, identities=identities, reason="two people")
            if self._emit(unlinked, parted):
                self.facts.links.append((parted, survivor, other, False))

    # -- bookings -----------------------------------------------------------------------------------
    def _request(self, day: date) -> None:
        rng = self.rng
        at = self._at(day, 9, 18)
        inquiry_id = self._uuid()
        customer = rng.choice(self.customers)
        channel = rng.choice(("webform", "email", "phone", "chat", "wechat"))
        asked = rng.choice((None, *ROOMS))
        start_day = day + timedelta(days=rng.randrange(1, 15))
        start = datetime.combine(start_day, time(10), self.tz).astimezone(UTC)
        meeting = {"name": "Board", "start": start, "end": start + timedelta(hours=2), "attendees": 8, "room_id": asked}
        requested = BookingRequested(
            inquiry_id=inquiry_id,
            customer_id=customer,
            channel=channel,  # type: ignore[arg-type]
            language="en",
            meeting=meeting,  # type: ignore[arg-type]
        )
        if not self._emit(requested, at):
            return
        req = Request(at, channel, asked)
        self.facts.requests.append(req)
        decided = at + timedelta(seconds=rng.randrange(1, 30))
        if rng.random() < 0.25:
            reason = rng.choice(("room_unavailable", "no_room_fits", "invalid"))
            if self._emit(
                BookingRejected(inquiry_id=inquiry_id, customer_id=customer, reason="no", reason_code=reason),  # type: ignore[arg-type]
                decided,
            ):
                req.rejected = reason
                self.facts.rejections.append((decided, reason))
            return
        room = asked or rng.choice(ROOMS)
        series = self._uuid() if rng.random() < 0.2 else None
        for week in range(3 if series else 1):
            self._occurrence(inquiry_id, customer, room, start + timedelta(weeks=week), decided, series)
        if decided <= self.now:
            req.confirmed_at, req.confirmed_room = decided, room

    def _occurrence(
        self, inquiry_id: str, customer: str, room: str, start: datetime, at: datetime, series: str | None
    ) -> None:
        rng = self.rng
        booking_id = self._uuid()
        end = start + timedelta(hours=2)
        data = BookingConfirmed(
            booking_id=booking_id,
            inquiry_id=inquiry_id,
            room_id=room,
            start=start,
            end=end,
            attendees=8,
            customer_id=customer,
            name="Board",
            series_id=series,
        )
        if not self._emit(data, at):
            return
        m = Meeting(booking_id, room, start, end, at)
        self.facts.meetings.append(m)
        fate = rng.random()
        if fate < 0.1:
            when = at + (start - at) / 2
            if self._emit(
                BookingCancelled(
                    booking_id=booking_id, customer_id=customer, room_id=room, start=start, end=end, actor="customer"
                ),
                when,
            ):
                m.cancelled_at = when
                self.facts.cancelled.append((when, room))
            return
        if fate < 0.2:
            when = at + (start - at) / 3
            new_start, new_end = start + timedelta(days=1), end + timedelta(days=1)
            moved = BookingRescheduled(
                booking_id=booking_id,
                customer_id=customer,
                room_id=room,
                previous=Slot(room_id=room, start=start, end=end),
                start=new_start,
                end=new_end,
                actor="agent",
            )
            if self._emit(moved, when):
                m.rescheduled_at, m.start, m.end = when, new_start, new_end
                self.facts.rescheduled.append((when, room))
                start, end = new_start, new_end
        if rng.random() < 0.08:
            when = start - timedelta(hours=1)
            overdue = BookingPreparationOverdue(
                booking_id=booking_id, room_id=room, department="equipment", task="test the projector", due_by=when
            )
            if self._emit(overdue, when):
                m.prep_overdue_at = when
        if fate < 0.26:
            when = start + timedelta(minutes=30)
            released = BookingReleased(
                booking_id=booking_id, customer_id=customer, room_id=room, start=start, end=end, reason="no_show"
            )
            if self._emit(released, when):
                m.released_at = when
            return
        completed = BookingCompleted(
            booking_id=booking_id, customer_id=customer, room_id=room, start=start, end=end, checked_in=True
        )
        if fate < 0.9 and self._emit(completed, end):  # otherwise booking says nothing more of it
            m.completed_at = end
            if rng.random() < 0.5:
                when = end + timedelta(hours=rng.randrange(1, 30))
                score = rng.choice((2, 3, 4, 4, 5, 5))
                agent = self._agent() if rng.random() < 0.5 else None
                if self._feedback(when, "survey", agent, room, score, "booking", booking_id, customer):
                    m.survey_at = when

    def _feedback(
        self,
        at: datetime,
        channel: str,
        agent: str | None,
        room: str | None,
        score: int,
        subject: str,
        subject_id: str | None,
        customer: str | None,
    ) -> bool:
        data = FeedbackReceived(
            subject_type=subject,  # type: ignore[arg-type]
            subject_id=subject_id,
            score=score,
            score_100=score * 20,
            comment="(comment)",
            customer_id=customer,
            channel=channel,  # type: ignore[arg-type]
            agent_id=agent,
            room_id=room,
        )
        if not self._emit(data, at):
            return False
        meeting = subject_id if subject == "booking" else None
        self.facts.feedback.append(Feedback(at, channel, agent, room, score, subject, meeting))
        return True

    # -- complaints ---------------------------------------------------------------------------------
    def _complaint(self, day: date) -> None:
        rng = self.rng
        at = self._at(day, 9, 19)
        channel = rng.choice(("email", "phone", "chat", "wechat", "webform", "onsite"))
        category = rng.choice(CATEGORIES)
        reg_agent = self._agent() if channel in ("phone", "chat", "onsite") else None
        complaint_id, customer = self._uuid(), rng.choice(self.customers)
        inquiry_id = self._uuid()
        if not self._inquiry(
            at, channel, self._uuid(), customer, "complaint", reg_agent, category=category, inquiry_id=inquiry_id
        ):
            return
        c = Complaint(complaint_id, at, channel, category, reg_agent, reg_agent, step=rng.choice(STEPS))
        held = [m for m in self.facts.meetings if m.completed_at is not None and m.completed_at <= at]
        if held and rng.random() < 0.3:
            c.booking = rng.choice(held).booking_id
        self.facts.complaints.append(c)
        registered = ComplaintRegistered(
            complaint_id=complaint_id,
            inquiry_id=inquiry_id,
            customer_id=customer,
            channel=channel,  # type: ignore[arg-type]
            category=category,  # type: ignore[arg-type]
            severity="normal",
            registered_at=at,
            acknowledge_due_at=at + timedelta(seconds=ACK_TARGET),
            resolve_due_at=at + timedelta(seconds=RESOLVE_TARGET),
            booking_id=c.booking,
            service_step=c.step,  # type: ignore[arg-type]
        )
        self._emit(registered, at)
        self.seq = 0
        status = ["registered"]
        for which in ("acknowledge", "resolve"):
            self._clock(c, which, "started", at, at, 0, 1)

        def change(to: str, when: datetime, *, first_contact: bool | None = None, step: str | None = None,
                   cause: str | None = None) -> bool:  # fmt: skip
            step, cause = step or c.step, cause or c.cause
            data = ComplaintStatusChanged.model_validate(
                {"complaint_id": complaint_id, "from": status[0], "to": to, "actor": c.agent or "system",
                 "category": c.category, "agent_id": c.agent, "first_contact": first_contact,
                 "service_step": step, "root_cause": cause}
            )  # fmt: skip
            if not self._emit(data, when):
                return False
            c.step, c.cause = step, cause
            if status[0] in ("resolved", "closed") and to not in ("resolved", "closed"):
                c.reopened_at.append(when)
            if to == "resolved":
                c.resolved_at.append(when)
            status[0] = to
            return True

        if rng.random() < 0.1:  # resolved in the contact that registered it
            when = at + timedelta(seconds=rng.randrange(60, 900))
            if change("resolved", when, first_contact=True):
                c.first_contact = True
                self._met(c, "acknowledge", 1, at, when)
                self._met(c, "resolve", 1, at, when)
                self._survey(c, when, customer, change, at)
            return
        # the formal reply: in time, or late (breached first, escalated)
        late = rng.random() < 0.25
        ack = at + timedelta(seconds=rng.randrange(600, 7000) if not late else rng.randrange(7300, 20_000))
        if late:
            self._breach(c, "acknowledge", 1, at + timedelta(seconds=ACK_TARGET))
        handler = self._agent()
        if rng.random() < 0.2:  # reclassified when assigned
            c.category = rng.choice(CATEGORIES)
        c.agent = handler
        reassessed = rng.choice(STEPS) if rng.random() < 0.2 else None
        if not change("acknowledged", ack, step=reassessed):
            return
        self._met(c, "acknowledge", 1, at, ack)
        if rng.random() < 0.05:
            when = ack + timedelta(hours=2)
            if change("withdrawn", when):
                c.withdrawn_at = when
                self._clock(c, "resolve", "stopped", when, at, (when - at).total_seconds(), 1)
            return
        when = ack
        for step in ("investigating", "solution_proposed", "in_progress"):
            since, when = when, when + timedelta(seconds=rng.randrange(1800, 14_400))
            found = rng.choice(CAUSES) if step == "solution_proposed" and rng.random() < 0.85 else None
            if found is not None:  # found while investigating: complaint.assessed, before the status moves on
                noted = since + (when - since) / 2
                assessed = ComplaintAssessed(
                    complaint_id=complaint_id, category=c.category, service_step=c.step, root_cause=found,  # type: ignore[arg-type]
                    agent_id=c.agent, actor=c.agent or "system",
                )  # fmt: skip
                if self._emit_aside(assessed, noted):
                    c.cause = found
            if not change(step, when, cause=found):
                return
        if rng.random() < 0.15:
            return  # still being worked on
        slow = rng.random() < 0.2
        resolved = at + timedelta(
            seconds=rng.randrange(40_000, 250_000) if not slow else rng.randrange(270_000, 400_000)
        )
        resolved = max(resolved, when + timedelta(minutes=5))
        if slow:
            self._breach(c, "resolve", 1, at + timedelta(seconds=RESOLVE_TARGET))
        if not change("resolved", resolved):
            return
        self._met(c, "resolve", 1, at, resolved)
        self._survey(c, resolved, customer, change, at)

    def _survey(self, c: Complaint, resolved: datetime, customer: str, change: Any, registered: datetime) -> None:
        rng = self.rng
        asked = ComplaintSatisfactionRequested(
            complaint_id=c.complaint_id,
            attempt=1,
            channel=c.channel,
            customer_id=customer,
            agent_id=c.agent,  # type: ignore[arg-type]
        )
        if not self._emit(asked, resolved):
            return
        c.survey_asked_at = resolved
        if rng.random() < 0.35:
            return  # unanswered
        answered = resolved + timedelta(hours=rng.randrange(1, 20))
        score = rng.choice((1, 2, 3, 4, 5, 5))
        if not self._feedback(answered, "survey", c.agent, None, score, "complaint", c.complaint_id, customer):
            return
        c.survey_answered_at = answered
        recorded = ComplaintSatisfactionRecorded(
            complaint_id=c.complaint_id, satisfied=score >= 3, score=score, source="survey", actor="customer",
            agent_id=c.agent, category=c.category,  # type: ignore[arg-type]
        )  # fmt: skip
        self._emit(recorded, answered)
        if score <= 2:  # reopened at once; the resolution clock starts a new cycle
            if not change("investigating", answered):
                return
            self._clock(c, "resolve", "started", answered, answered, 0, 2)
            if rng.random() < 0.3:
                return
            late = rng.random() < 0.3
            again = answered + timedelta(
                seconds=rng.randrange(3600, 200_000) if not late else rng.randrange(270_000, 300_000)
            )
            if late:
                self._breach(c, "resolve", 2, answered + timedelta(seconds=RESOLVE_TARGET))
            if change("resolved", again):
                self._met(c, "resolve", 2, answered, again)
                resolved = again
            else:
                return
        if rng.random() < 0.7:
            closed = resolved + timedelta(days=2)
            if self._emit(
                ComplaintClosed(complaint_id=c.complaint_id, actor=c.agent or "sup", category=c.category), closed
            ):  # type: ignore[arg-type]
                change("closed", closed)
                c.closed_at = closed

    def _clock(
        self, c: Complaint, which: str, transition: str, at: datetime, since: datetime, elapsed: float, cycle: int
    ) -> bool:
        self.seq += 1
        data = ComplaintClock(
            complaint_id=c.complaint_id,
            which=which,  # type: ignore[arg-type]
            transition=transition,  # type: ignore[arg-type]
            at=at,
            cycle=cycle,
            seq=self.seq,
            target_seconds=ACK_TARGET if which == "acknowledge" else RESOLVE_TARGET,
            elapsed_seconds=elapsed,
            severity="normal",
            category=c.category,  # type: ignore[arg-type]
            agent_id=c.agent,
        )
        return self._emit(data, at)

    def _met(self, c: Complaint, which: str, cycle: int, since: datetime, at: datetime) -> None:
        elapsed = int((at - since).total_seconds())
        if self._clock(c, which, "met", at, since, elapsed, cycle):
            found = self._cycle(c, which, cycle)
            found.met_at, found.elapsed, found.met_agent = at, elapsed, c.agent

    def _breach(self, c: Complaint, which: str, cycle: int, at: datetime) -> None:
        target = ACK_TARGET if which == "acknowledge" else RESOLVE_TARGET
        if not self._clock(c, which, "breached", at, at, target, cycle):
            return
        found = self._cycle(c, which, cycle)
        found.breached_at, found.breach_agent = at, c.agent
        self._emit(ComplaintSlaBreached(complaint_id=c.complaint_id, which=which, due_at=at), at)  # type: ignore[arg-type]
        c.breaches.append((at, which))
        for level in (1, 2) if self.rng.random() < 0.5 else (1,):
            when = at + timedelta(minutes=30 * (level - 1))
            escalated = ComplaintEscalated(complaint_id=c.complaint_id, reason="overdue", level=level, which=which)  # type: ignore[arg-type]
            if self._emit(escalated, when):
                c.escalations.append((when, level))

    def _cycle(self, c: Complaint, which: str, cycle: int) -> Cycle:
        for found in c.cycles:
            if (found.which, found.cycle) == (which, cycle):
                return found
        c.cycles.append(Cycle(which, cycle))
        return c.cycles[-1]

    # -- operations and noise -------------------------------------------------------------------------
    def _operations(self, day: date) -> None:
        rng = self.rng
        at = self._at(day)
        if self._emit(IntakeRejected(channel="email", reason="bad", dead_letter_queue="intake.inbound.dlq"), at):
            self.facts.rejected.append((at, "email"))
        if rng.random() < 0.3:
            replay = MessageReplayed(
                dead_letter_queue="booking.events.dlq", exchange="meetdesk.events", routing_key="x", actor="ops"
            )
            if self._emit(replay, at):
                self.facts.replayed.append(at)
        if rng.random() < 0.2:
            bounce = NotificationFailed(
                channel="email",
                address="someone@example.com",
                customer_id=None,
                status="5.1.1",
                failed_at=at,
                report_ref=f"<{uuid.uuid4()}@mx.example.com>",
            )
            if self._emit(bounce, at):
                self.facts.bounced.append((at, "email"))
        if rng.random() < 0.3:
            parked = DueItemParked(service="booking", kind="k", key="k", due_at=at, attempts=5, reason="boom")
            if self._emit(parked, at):
                self.facts.parked.append(at)
        # an event no KPI reads
        self._emit(NotificationRequested(channel="email", template="t", language="en"), at)
