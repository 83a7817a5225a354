"""Domain events: the envelope and the ``data`` of each event type (routing key = type)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time
from typing import Any, ClassVar, Literal

from pydantic import AwareDatetime, Field

from .commands import Remedy, RootCause, ServiceStep, StaffRole
from .common import (
    Category,
    Channel,
    Equipment,
    Intent,
    Language,
    MeetingDetails,
    Model,
    Severity,
)

SCHEMA_VERSION = 1


class Envelope(Model):
    event_id: uuid.UUID
    type: str
    occurred_at: AwareDatetime
    producer: str
    correlation_id: uuid.UUID
    causation_id: uuid.UUID | None = None
    schema_version: int = SCHEMA_VERSION
    data: dict[str, Any]

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()


def make_event(
    data: EventData,
    *,
    producer: str,
    correlation_id: uuid.UUID,
    causation_id: uuid.UUID | None = None,
    occurred_at: datetime | None = None,
) -> Envelope:
    """Wrap event data (one of the models below, which knows its type) in the envelope."""
    return Envelope(
        event_id=uuid.uuid4(),
        type=data.event_type,
        occurred_at=(occurred_at or datetime.now(UTC)).astimezone(UTC),
        producer=producer,
        correlation_id=correlation_id,
        causation_id=causation_id,
        data=data.model_dump(mode="json", by_alias=True),
    )


class EventData(Model):
    event_type: ClassVar[str] = ""

    def __init_subclass__(cls, *, type_: str = "", **kw: Any) -> None:
        super().__init_subclass__(**kw)
        if type_:
            cls.event_type = type_
            EVENT_TYPES[type_] = cls


EVENT_TYPES: dict[str, type[EventData]] = {}


class CustomerRef(Model):
    customer_id: str
    name: str | None = None
    email: str | None = None
    phone: str | None = None


class BookingDetails(MeetingDetails):
    """MeetingDetails as they travel between services."""


def _absent(value: Any) -> bool:
    """An extension left out of the payload when unset (so payloads without it stay as they were)."""
    return value is None


class InquiryReceived(EventData, type_="inquiry.received"):
    inquiry_id: str
    channel: Channel
    source_ref: str
    conversation_id: str
    customer: CustomerRef
    intent: Intent
    language: Language
    subject: str | None = None
    text: str | None = None
    received_at: AwareDatetime
    agent_id: str | None = None
    # extensions
    booking_id: str | None = None
    category: Category | None = None
    severity: Severity | None = None
    score: int | None = None
    missing: list[str] = Field(default_factory=list, description="what an agent still has to ask")
    automatic: Literal["auto_submitted", "bulk", "spam"] | None = Field(
        None,
        exclude_if=_absent,
        description=(
            "the message was sent by a machine (RFC 3834: Auto-Submitted, a null Return-Path), by a list or bulk"
            " sender, or marked as spam by the receiving mail system: nothing automatic may answer it"
            " (no acknowledgement, no receipt); an agent may"
        ),
    )


class ReplyRoute(Model):
    """Where and how a customer is answered: the channel they wrote on when it can carry a reply
    (an email address, a phone number for SMS, a chat or WeChat conversation id), in their language."""

    channel: Channel
    address: str | None = None
    language: Language


class BookingRequested(EventData, type_="booking.requested"):
    inquiry_id: str
    customer_id: str
    channel: Channel
    language: Language
    meeting: BookingDetails
    # extensions
    reply_to: ReplyRoute | None = Field(None, description="how the customer hears back (kept with the booking)")
    wait_if_taken: bool = Field(False, description="if the slot is taken, wait for it (the waitlist)")
    agent_id: str | None = Field(
        None,
        description="the agent who handled the inquiry, when an agent books on the customer's behalf (kept "
        "with the booking; the satisfaction survey names them); null: no agent was involved",
    )


class Slot(Model):
    room_id: str
    start: AwareDatetime
    end: AwareDatetime


class BookingConfirmed(EventData, type_="booking.confirmed"):
    booking_id: str
    inquiry_id: str
    room_id: str
    start: AwareDatetime
    end: AwareDatetime
    attendees: int
    customer_id: str
    name: str
    equipment: list[Equipment] = Field(default_factory=list)
    series_id: str | None = None


class BookingRejected(EventData, type_="booking.rejected"):
    inquiry_id: str
    customer_id: str
    reason: str
    reason_code: Literal[
        "room_unavailable", "room_unknown", "room_too_small", "equipment_missing", "no_room_fits", "invalid"
    ]
    alternatives: list[Slot] = Field(default_factory=list)


class BookingRescheduled(EventData, type_="booking.rescheduled"):
    booking_id: str
    customer_id: str
    room_id: str
    previous: Slot
    start: AwareDatetime
    end: AwareDatetime
    actor: str


class BookingCancelled(EventData, type_="booking.cancelled"):
    booking_id: str
    customer_id: str
    room_id: str
    start: AwareDatetime
    end: AwareDatetime
    actor: str
    reason: str | None = None


class BookingReminderDue(EventData, type_="booking.reminder_due"):
    booking_id: str
    customer_id: str
    room_id: str
    start: AwareDatetime
    end: AwareDatetime
    reply_to: ReplyRoute | None = Field(
        None, description="extension: where the customer was reminded, and may answer confirm / cancel / change"
    )


class RoomUpdated(EventData, type_="room.updated"):
    room_id: str
    name: str
    location: str | None = None
    capacity: int
    equipment: list[Equipment]
    active: bool
    setup_buffer_minutes: int | None = None
    cleanup_buffer_minutes: int | None = None
    opens_at: time | None = None
    closes_at: time | None = None


class ComplaintRegistered(EventData, type_="complaint.registered"):
    complaint_id: str
    inquiry_id: str | None = None
    customer_id: str | None = None
    channel: Channel | None = None
    booking_id: str | None = None
    category: Category
    severity: Severity
    registered_at: AwareDatetime
    acknowledge_due_at: AwareDatetime
    resolve_due_at: AwareDatetime
    # extensions: what registration estimated or found
    service_step: ServiceStep | None = Field(None, description="the service step concerned (estimated if not given)")
    severity_source: Literal["given", "estimated", "default"] | None = Field(
        None, description="the severity came with the complaint, was estimated from its text, or is the default"
    )
    severity_reason: str | None = Field(None, description="why the severity is what it is (e.g. the words found)")
    room_id: str | None = Field(None, description="the booked room, from complaints' view of the bookings")


class ComplaintStatusChanged(EventData, type_="complaint.status_changed"):
    complaint_id: str
    from_: str = Field(alias="from")
    to: str
    actor: str
    category: Category | None = None
    agent_id: str | None = None
    first_contact: bool | None = Field(
        None, description="extension: on a resolution, whether it came in the contact that registered the complaint"
    )
    service_step: ServiceStep | None = Field(
        None, description="extension: the service step the complaint concerns, as now assessed"
    )
    root_cause: RootCause | None = Field(
        None, description="extension: the root cause the investigation found so far (None: not yet)"
    )


class ComplaintAssessed(EventData, type_="complaint.assessed"):
    """Extension: the complaint's assessment changed without a status change (an investigation's findings,
    an assignment's corrections): its category, service step and root cause as they now stand."""

    complaint_id: str
    category: Category | None = None
    service_step: ServiceStep | None = Field(None, description="the service step concerned, as now assessed")
    root_cause: RootCause | None = Field(None, description="the root cause found so far (None: not yet)")
    agent_id: str | None = Field(None, description="the agent handling the complaint now")
    actor: str


class ComplaintSlaBreached(EventData, type_="complaint.sla_breached"):
    complaint_id: str
    which: Literal["acknowledge", "resolve"]
    due_at: AwareDatetime


class ComplaintEscalated(EventData, type_="complaint.escalated"):
    complaint_id: str
    reason: str
    level: int = 1
    # extensions: the chain is the handling agent (1) → the agent's supervisor (2) → the service manager (3)
    which: Literal["acknowledge", "resolve"] | None = Field(None, description="the target that was breached")
    role: StaffRole | None = Field(None, description="who must act: the level's role")
    who: str | None = Field(None, description="who must act: a staff id (None: nobody in the directory holds it)")
    due_at: AwareDatetime | None = Field(None, description="when the target fell due")


class ComplaintClosed(EventData, type_="complaint.closed"):
    complaint_id: str
    actor: str
    category: Category | None = None
    override_reason: str | None = Field(
        None, description="extension: closed by a supervisor without the customer's satisfaction, and why"
    )


class FeedbackReceived(EventData, type_="feedback.received"):
    subject_type: Literal["booking", "complaint", "service"]
    subject_id: str | None = None
    score: int = Field(ge=1, le=5)
    score_100: int = Field(ge=20, le=100, description="score x 20, the seeds' 100-point scale")
    comment: str | None = None
    customer_id: str | None = None
    channel: Channel
    agent_id: str | None = None
    room_id: str | None = Field(None, description="extension: the booking's room, when the survey names it")


class CallMissed(EventData, type_="call.missed"):
    call_id: str
    customer_id: str | None = None
    phone: str | None = None
    disposition: str
    started_at: AwareDatetime


class CustomerLinked(EventData, type_="customer.linked"):
    customer_id: str
    identities: list[dict[str, str]]
    evidence: str


class CustomerUnlinked(EventData, type_="customer.unlinked"):
    customer_id: str
    identities: list[dict[str, str]]
    reason: str


class AgentReplied(EventData, type_="agent.replied"):
    conversation_id: str
    channel: Channel
    agent_id: str | None = None
    replied_at: AwareDatetime
    first_reply: bool
    response_seconds: float | None = None


class NotificationRequested(EventData, type_="notification.requested"):
    channel: Channel
    address: str | None = None
    customer_id: str | None = None
    template: str
    language: Language
    parameters: dict[str, Any] = Field(default_factory=dict)


class NotificationFailed(EventData, type_="notification.failed"):
    """A message meetdesk asked to send (notification.requested) could not be delivered: the receiving
    system's delivery report (a bounce) says so. The customer did not get it; an agent must reach them
    another way. Matched as well as the report allows: the address from its Final-Recipient (or the
    returned message's To), the customer who owns that address, and the request from the returned
    message's Message-ID."""

    channel: Channel
    address: str = Field(description="the address the message could not be delivered to")
    customer_id: str | None = Field(None, description="the customer with that address; None: not one we know")
    inquiry_id: str | None = Field(None, description="the inquiry whose acknowledgement bounced, when it was one")
    original_message_id: str | None = Field(None, description="the returned message's Message-ID")
    status: str | None = Field(None, description="the report's status code, e.g. 5.1.1")
    reason: str | None = Field(None, description="the receiving system's diagnostic, as it gave it")
    failed_at: AwareDatetime = Field(description="when the report was written")
    report_ref: str = Field(description="the report's own Message-ID (or hash)")


class IntakeRejected(EventData, type_="intake.rejected"):
    channel: str
    reason: str
    message_id: str | None = None
    dead_letter_queue: str


class CommandRejected(EventData, type_="command.rejected"):
    command_id: str | None = None
    command: str
    reason: str


class MessageRejected(EventData, type_="message.rejected"):
    """Extension: a message on a service queue other than intake's was dead-lettered."""

    queue: str
    routing_key: str
    reason: str
    message_id: str | None = None
    dead_letter_queue: str


class DueItemParked(EventData, type_="due.parked"):
    """Extension: a due item (reminder, deadline, follow-up) failed every allowed attempt and was
    parked with its reason; ops can re-drive it (``make dlq``). Nothing it would have caused happened."""

    service: str
    kind: str
    key: str
    due_at: AwareDatetime
    attempts: int
    reason: str


class MessageReplayed(EventData, type_="message.replayed"):
    """Extension: ops re-drove a dead letter from ``dead_letter_queue`` back to ``exchange`` with
    ``routing_key`` (``make dlq``); ``reason`` is why it had been dead-lettered."""

    dead_letter_queue: str
    exchange: str
    routing_key: str
    message_id: str | None = None
    reason: str | None = None
    actor: str


# -- a booking's life around the decision (extensions) ------------------------------------------------
Department = Literal["equipment", "catering", "setup"]


class BookingUpdated(EventData, type_="booking.updated"):
    """Attendees or equipment of a booking changed (re-checked against its room)."""

    booking_id: str
    customer_id: str
    room_id: str
    attendees: int
    equipment: list[Equipment] = Field(default_factory=list)
    actor: str


class BookingPreparationRequested(EventData, type_="booking.preparation_requested"):
    """A department is asked to prepare a confirmed meeting (equipment test, catering, setup)."""

    booking_id: str
    room_id: str
    department: Department
    task: str
    due_by: AwareDatetime
    details: dict[str, Any] = Field(default_factory=dict)


class BookingPrepared(EventData, type_="booking.prepared"):
    """A department reported its preparation done (``booking.preparation_done``)."""

    booking_id: str
    department: Department
    actor: str
    note: str | None = None


class BookingPreparationOverdue(EventData, type_="booking.preparation_overdue"):
    booking_id: str
    room_id: str
    department: Department
    task: str
    due_by: AwareDatetime


class BookingAttendanceConfirmed(EventData, type_="booking.attendance_confirmed"):
    """The customer confirmed the day before that the meeting goes ahead."""

    booking_id: str
    customer_id: str
    actor: str


class BookingCheckedIn(EventData, type_="booking.checked_in"):
    booking_id: str
    room_id: str
    actor: str
    at: AwareDatetime


class BookingReleased(EventData, type_="booking.released"):
    """Nobody checked in: the room is given back (the booking is no longer held)."""

    booking_id: str
    customer_id: str
    room_id: str
    start: AwareDatetime
    end: AwareDatetime
    reason: Literal["no_show"]


class BookingWaitlistOffered(EventData, type_="booking.waitlist_offered"):
    """A slot a waiting request asked for is free again: offered to the first waiter until ``accept_by``."""

    inquiry_id: str
    customer_id: str
    room_id: str
    start: AwareDatetime
    end: AwareDatetime
    accept_by: AwareDatetime


class BookingCompleted(EventData, type_="booking.completed"):
    """The meeting has ended (a satisfaction survey is requested from the customer)."""

    booking_id: str
    customer_id: str
    room_id: str
    start: AwareDatetime
    end: AwareDatetime
    checked_in: bool


# -- complaints: the process on the clock (extensions) -------------------------------------------------
SlaTarget = Literal["acknowledge", "resolve"]
ClockTransition = Literal["started", "paused", "resumed", "warning", "met", "breached", "stopped"]


class ComplaintClock(EventData, type_="complaint.clock"):
    """A complaint's SLA clock moved: one event per transition of one target's clock (the formal reply,
    ``acknowledge``; the resolution, ``resolve``). A clock is started at registration (the resolution
    clock again at each reopening: a new ``cycle``), paused while the complaint waits for the customer,
    resumed when the customer writes again, warned at a share of its target, met when the target is
    reached (acknowledged; resolved), breached when the target passed while it ran, stopped when the
    complaint is withdrawn. The events of one complaint, in ``seq`` order, are its whole SLA record:
    compliance can be recomputed from them (a cycle met with ``elapsed_seconds <= target_seconds`` was
    met in time)."""

    complaint_id: str
    which: SlaTarget
    transition: ClockTransition
    at: AwareDatetime = Field(description="when it happened; a warning or a breach: the instant the share was reached")
    cycle: int = Field(1, ge=1, description="1 from registration; the resolution clock counts its reopenings")
    seq: int = Field(ge=1, description="position in the complaint's SLA log (gaps are escalation steps)")
    target_seconds: float = Field(description="the target, in counted time (the severity's, as the event was made)")
    elapsed_seconds: float = Field(description="the counted running time at `at` (paused time never counts)")
    due_at: AwareDatetime | None = Field(
        None, description="when the target falls due if the clock keeps running (None: paused, ended or past)"
    )
    business_hours: bool = Field(False, description="time counts only within the business-hours calendar")
    severity: Severity
    category: Category | None = None
    agent_id: str | None = None
    reason: str | None = None


class ComplaintActionOverdue(EventData, type_="complaint.action_overdue"):
    """An action of a complaint's solution plan was not done by its due time (once per action)."""

    complaint_id: str
    action_id: str
    remedy: Remedy
    owner: str
    due_at: AwareDatetime
    agent_id: str | None = None
    severity: Severity | None = None


class ComplaintActionReminder(EventData, type_="complaint.action_reminder"):
    """The owner of an overdue action is reminded (every interval after it fell overdue, a few times):
    an agent tool tells them."""

    complaint_id: str
    action_id: str
    remedy: Remedy
    owner: str
    due_at: AwareDatetime
    reminder: int = Field(ge=1)
    agent_id: str | None = None


class ComplaintSatisfactionRequested(EventData, type_="complaint.satisfaction_requested"):
    """The customer is asked whether the resolution satisfies them (``attempt`` 1 at the resolution, then
    each follow-up); the survey's subject is the complaint."""

    complaint_id: str
    attempt: int = Field(ge=1)
    channel: Channel
    customer_id: str | None = None
    agent_id: str | None = None


class ComplaintSatisfactionRecorded(EventData, type_="complaint.satisfaction_recorded"):
    """The customer's satisfaction with a resolution: a survey answer, or what an agent recorded. A score
    of 1-2 reopens the complaint at once; 3-5 (or a confirmation without a score) lets it close."""

    complaint_id: str
    satisfied: bool
    score: int | None = Field(None, ge=1, le=5)
    source: Literal["survey", "agent"]
    actor: str
    agent_id: str | None = None
    category: Category | None = None


class ComplaintSatisfactionUnanswered(EventData, type_="complaint.satisfaction_unanswered"):
    """The customer did not answer the satisfaction request and its follow-ups: an agent must record the
    customer's answer, or a supervisor close the complaint with an override."""

    complaint_id: str
    requests: int
    resolved_at: AwareDatetime
    agent_id: str | None = None
