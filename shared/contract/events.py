"""Domain events: the envelope and the ``data`` of each event type (routing key = type)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time
from typing import Any, ClassVar, Literal

from pydantic import AwareDatetime, Field

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


class ComplaintStatusChanged(EventData, type_="complaint.status_changed"):
    complaint_id: str
    from_: str = Field(alias="from")
    to: str
    actor: str
    category: Category | None = None
    agent_id: str | None = None


class ComplaintSlaBreached(EventData, type_="complaint.sla_breached"):
    complaint_id: str
    which: Literal["acknowledge", "resolve"]
    due_at: AwareDatetime


class ComplaintEscalated(EventData, type_="complaint.escalated"):
    complaint_id: str
    reason: str
    level: int = 1


class ComplaintClosed(EventData, type_="complaint.closed"):
    complaint_id: str
    actor: str
    category: Category | None = None


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
