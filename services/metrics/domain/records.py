"""What metrics keeps of each event: its :class:`Record`, one row of the event log.

Every event type a KPI reads is reduced, once, to a record: when it happened in the business sense
(``at``: the customer's message received by meetdesk, the call started, the reply sent, a clock's transition; the
envelope's ``occurred_at`` where the data has no better time), what it is about (``subject``: the
complaint, the booking, the request, the conversation), the four dimensions the figures are grouped
by (channel, agent, category, room), one number (``value``: response seconds, a score, an elapsed
time) and the few other fields the KPIs read (``attrs``). No customer's name, email, phone number or
free text is kept. The figures are projections of these records (:mod:`.projection`), so a rebuild
computes them from the log alone.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from shared.contract.common import Channel
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
    CommandRejected,
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
    CustomerUnlinked,
    DueItemParked,
    Envelope,
    EventData,
    FeedbackReceived,
    InquiryReceived,
    IntakeRejected,
    MessageRejected,
    MessageReplayed,
    NotificationFailed,
)

MAX_DIM_VALUE = 200  # agent and room ids are free text from other systems
CHANNELS = frozenset(Channel.__args__)  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class Record:
    """One event as the KPIs need it (one row of ``event_log``)."""

    event_id: str
    type: str
    occurred_at: datetime
    at: datetime
    subject: str | None = None
    channel: str | None = None
    agent: str | None = None
    category: str | None = None
    room: str | None = None
    value: float | None = None
    attrs: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Refusal:
    """Why an event cannot be taken: its data breaks the contract (it is dead-lettered)."""

    reason: str


def epoch(ts: datetime) -> float:
    return ts.timestamp()


def _dim(value: str | None) -> str | None:
    return value[:MAX_DIM_VALUE] if value else None


def _present(**values: Any) -> dict[str, Any]:
    """The optional fields that are there (an older producer's event has none of them)."""
    return {k: v for k, v in values.items() if v is not None}


def _seconds(value: float | None) -> float | None:
    """A duration from another system: None when absent or not a number; never negative (clock skew)."""
    if value is None or not math.isfinite(value):
        return None
    return max(0.0, float(value))


# -- one function per event type: (data, envelope) → record --------------------------------------
def _inquiry(d: InquiryReceived, env: Envelope) -> Record:
    # counted when meetdesk received it (intake's event), not by the sender's own clock: a form dated
    # next month is today's inquiry; the sender's time is kept as data
    return _record(
        env,
        env.occurred_at,
        subject=d.inquiry_id,
        channel=d.channel,
        agent=d.agent_id,
        category=d.category,
        attrs={
            "intent": d.intent,
            "customer_id": d.customer.customer_id,
            "conversation_id": d.conversation_id,
            "sent_at": d.received_at.isoformat(),
        },
    )


def _agent_replied(d: AgentReplied, env: Envelope) -> Record:
    return _record(
        env,
        d.replied_at,
        subject=d.conversation_id,
        channel=d.channel,
        agent=d.agent_id,
        value=_seconds(d.response_seconds),
        attrs={"first_reply": d.first_reply},
    )


def _call_missed(d: CallMissed, env: Envelope) -> Record:
    return _record(env, d.started_at, subject=d.call_id, channel="phone", attrs={"customer_id": d.customer_id})


def _feedback(d: FeedbackReceived, env: Envelope) -> Record:
    return _record(
        env,
        env.occurred_at,
        subject=d.subject_id,
        channel=d.channel,
        agent=d.agent_id,
        room=d.room_id,
        value=float(d.score),
        attrs={"subject_type": d.subject_type, "customer_id": d.customer_id},
    )


def _booking_requested(d: BookingRequested, env: Envelope) -> Record:
    return _record(
        env,
        env.occurred_at,
        subject=d.inquiry_id,
        channel=d.channel,
        room=d.meeting.room_id,
        attrs={"customer_id": d.customer_id},
    )


def _slot(start: datetime, end: datetime) -> dict[str, float]:
    return {"start": epoch(start), "end": epoch(end)}


def _booking_confirmed(d: BookingConfirmed, env: Envelope) -> Record:
    return _record(
        env,
        env.occurred_at,
        subject=d.booking_id,
        room=d.room_id,
        attrs={"inquiry_id": d.inquiry_id, "series_id": d.series_id, "customer_id": d.customer_id}
        | _slot(d.start, d.end),
    )


def _booking_rejected(d: BookingRejected, env: Envelope) -> Record:
    return _record(env, env.occurred_at, subject=d.inquiry_id, category=d.reason_code)


def _booking_rescheduled(d: BookingRescheduled, env: Envelope) -> Record:
    return _record(env, env.occurred_at, subject=d.booking_id, room=d.room_id, attrs=_slot(d.start, d.end))


def _booking_cancelled(d: BookingCancelled, env: Envelope) -> Record:
    return _record(env, env.occurred_at, subject=d.booking_id, room=d.room_id, attrs=_slot(d.start, d.end))


def _booking_released(d: BookingReleased, env: Envelope) -> Record:
    return _record(
        env, env.occurred_at, subject=d.booking_id, room=d.room_id, attrs={"reason": d.reason} | _slot(d.start, d.end)
    )


def _booking_completed(d: BookingCompleted, env: Envelope) -> Record:
    return _record(
        env,
        env.occurred_at,
        subject=d.booking_id,
        room=d.room_id,
        attrs={"checked_in": d.checked_in} | _slot(d.start, d.end),
    )


def _preparation_overdue(d: BookingPreparationOverdue, env: Envelope) -> Record:
    return _record(env, env.occurred_at, subject=d.booking_id, room=d.room_id, category=d.department)


def _complaint_registered(d: ComplaintRegistered, env: Envelope) -> Record:
    return _record(
        env,
        d.registered_at,
        subject=d.complaint_id,
        channel=d.channel,
        category=d.category,
        attrs={"severity": d.severity, "customer_id": d.customer_id, "booking_id": d.booking_id}
        | _present(service_step=d.service_step),
    )


def _status_changed(d: ComplaintStatusChanged, env: Envelope) -> Record:
    return _record(
        env,
        env.occurred_at,
        subject=d.complaint_id,
        agent=d.agent_id,
        category=d.category,
        attrs={"from": d.from_, "to": d.to, "first_contact": d.first_contact}
        | _present(service_step=d.service_step, root_cause=d.root_cause),
    )


def _assessed(d: ComplaintAssessed, env: Envelope) -> Record:
    # the assessment without a status change: the same dimensions as a status change carries
    return _record(
        env,
        env.occurred_at,
        subject=d.complaint_id,
        agent=d.agent_id,
        category=d.category,
        attrs=_present(service_step=d.service_step, root_cause=d.root_cause),
    )


def _closed(d: ComplaintClosed, env: Envelope) -> Record:
    return _record(env, env.occurred_at, subject=d.complaint_id, category=d.category)


def _clock(d: ComplaintClock, env: Envelope) -> Record:
    return _record(
        env,
        d.at,
        subject=d.complaint_id,
        agent=d.agent_id,
        category=d.category,
        value=_seconds(d.elapsed_seconds),
        attrs={
            "which": d.which,
            "transition": d.transition,
            "cycle": d.cycle,
            "seq": d.seq,
            "target": d.target_seconds,
            "severity": d.severity,
        },
    )


def _escalated(d: ComplaintEscalated, env: Envelope) -> Record:
    return _record(
        env, env.occurred_at, subject=d.complaint_id, value=float(d.level), attrs={"which": d.which, "role": d.role}
    )


def _sla_breached(d: ComplaintSlaBreached, env: Envelope) -> Record:
    return _record(env, env.occurred_at, subject=d.complaint_id, attrs={"which": d.which})


def _satisfaction_requested(d: ComplaintSatisfactionRequested, env: Envelope) -> Record:
    return _record(
        env, env.occurred_at, subject=d.complaint_id, channel=d.channel, agent=d.agent_id, attrs={"attempt": d.attempt}
    )


def _satisfaction_recorded(d: ComplaintSatisfactionRecorded, env: Envelope) -> Record:
    return _record(
        env,
        env.occurred_at,
        subject=d.complaint_id,
        agent=d.agent_id,
        category=d.category,
        value=float(d.score) if d.score is not None else None,
        attrs={"source": d.source, "satisfied": d.satisfied},
    )


def _customer_link(d: CustomerLinked | CustomerUnlinked, env: Envelope) -> Record:
    # the identities themselves are an email address or a phone number: only their kinds are kept,
    # except another customer record's id (kind ``customer_id``), which is what a merge names
    merged = sorted({i["value"] for i in d.identities if i.get("kind") == "customer_id" and i.get("value")})
    kinds = sorted({i.get("kind", "") for i in d.identities})
    return _record(env, env.occurred_at, subject=d.customer_id, attrs={"kinds": kinds, "customer_ids": merged})


def _rejected(d: IntakeRejected | MessageRejected | CommandRejected, env: Envelope) -> Record:
    # intake's channel is the routing key a publisher chose: only a known channel is a dimension
    channel = d.channel if isinstance(d, IntakeRejected) and d.channel in CHANNELS else None
    return _record(env, env.occurred_at, channel=channel)


def _notification_failed(d: NotificationFailed, env: Envelope) -> Record:
    # the address is the customer's: only the channel and the customer record's id are kept
    return _record(env, env.occurred_at, subject=d.customer_id, channel=d.channel)


def _plain(d: EventData, env: Envelope) -> Record:
    return _record(env, env.occurred_at)


def _record(env: Envelope, at: datetime, **fields: Any) -> Record:
    for dim in ("channel", "agent", "category", "room"):
        if dim in fields:
            fields[dim] = _dim(fields[dim])
    if fields.get("subject") is not None:
        fields["subject"] = fields["subject"][:MAX_DIM_VALUE]
    return Record(str(env.event_id), env.type, env.occurred_at, at, **fields)


# event data model → how it is recorded; the types metrics keeps (every other type feeds no KPI)
RECORDERS: Mapping[type[EventData], Callable[[Any, Envelope], Record]] = {
    InquiryReceived: _inquiry,
    NotificationFailed: _notification_failed,
    AgentReplied: _agent_replied,
    CallMissed: _call_missed,
    FeedbackReceived: _feedback,
    BookingRequested: _booking_requested,
    BookingConfirmed: _booking_confirmed,
    BookingRejected: _booking_rejected,
    BookingRescheduled: _booking_rescheduled,
    BookingCancelled: _booking_cancelled,
    BookingReleased: _booking_released,
    BookingCompleted: _booking_completed,
    BookingPreparationOverdue: _preparation_overdue,
    ComplaintRegistered: _complaint_registered,
    ComplaintStatusChanged: _status_changed,
    ComplaintAssessed: _assessed,
    ComplaintClosed: _closed,
    ComplaintClock: _clock,
    ComplaintEscalated: _escalated,
    ComplaintSlaBreached: _sla_breached,
    ComplaintSatisfactionRequested: _satisfaction_requested,
    ComplaintSatisfactionRecorded: _satisfaction_recorded,
    CustomerLinked: _customer_link,
    CustomerUnlinked: _customer_link,
    IntakeRejected: _rejected,
    MessageRejected: _rejected,
    CommandRejected: _rejected,
    MessageReplayed: _plain,
    DueItemParked: _plain,
}
_BY_TYPE = {model.event_type: (model, recorder) for model, recorder in RECORDERS.items()}
LOGGED_TYPES: frozenset[str] = frozenset(_BY_TYPE)


def record(envelope: Envelope) -> Record | Refusal | None:
    """The record of one event; None for a type no KPI reads (it is not logged); a :class:`Refusal`
    when a type metrics reads arrives with data that breaks the contract."""
    found = _BY_TYPE.get(envelope.type)
    if found is None:
        return None
    model, recorder = found
    try:
        data = model.model_validate(envelope.data)
    except ValidationError as exc:
        # where and what, never the offending values (they may be a customer's phone or email)
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or '(data)'}: {e['msg']}" for e in exc.errors()[:5])
        return Refusal(f"{envelope.type} data invalid: {problems}")
    return recorder(data, envelope)
