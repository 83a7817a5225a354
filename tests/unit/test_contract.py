"""The public contract as pydantic models: envelope, events, inbound schemas, commands."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any

import aio_pika
import pytest
from pydantic import ValidationError

from shared.contract import desk
from shared.contract import events as ev
from shared.contract.commands import COMMANDS, BookingReschedule, RoomsUpsert
from shared.contract.common import MeetingDetails, Recurrence
from shared.contract.events import EVENT_TYPES, SCHEMA_VERSION, Envelope, EventData, make_event
from shared.contract.inbound import (
    WEBFORM,
    OnsiteEntry,
    SurveyAnswer,
    WebformBookingRequest,
    WebformComplaint,
    WebformFeedback,
    WebformInquiry,
)
from shared.outbox import Outbox, outbox_rows
from shared.publisher import Publisher
from shared.uow import Transaction

HKT = timezone(timedelta(hours=8))
T0 = datetime(2026, 12, 2, 14, 0, tzinfo=HKT)
T1 = datetime(2026, 12, 2, 17, 0, tzinfo=HKT)
CORR = uuid.UUID("0b9d3c52-8a1e-4b0e-9a35-5b0c8f6f2d10")
CAUSE = uuid.UUID("5d1e0a4f-2b7c-4c9d-8e6f-1a2b3c4d5e6f")

MEETING = {
    "name": "季度董事會議",
    "start": "2026-12-02T14:00:00+08:00",
    "end": "2026-12-02T17:00:00+08:00",
    "attendees": 18,
    "room_id": "R-301",
    "agenda": "審議年度預算",
    "equipment": ["projector", "microphone"],
    "recurrence": {"freq": "weekly", "count": 4},
}
SLOT = {"room_id": "R-302", "start": T0, "end": T1}

# One realistic sample of every event type's data.
SAMPLES: dict[str, EventData] = {
    e.event_type: e
    for e in [
        ev.InquiryReceived(
            inquiry_id="i-1",
            channel="webform",
            source_ref="WF-1",
            conversation_id="conv-1",
            customer=ev.CustomerRef(
                customer_id="c-1", name="陳大文", email="tai.man@example.com", phone="+85221234567"
            ),
            intent="booking_request",
            language="zh-Hant",
            subject="季度董事會議",
            text="我想預訂會議室",
            received_at=T0,
            missing=["attendees"],
        ),
        ev.BookingRequested(
            inquiry_id="i-1", customer_id="c-1", channel="webform", language="zh-Hant", meeting=MEETING
        ),
        ev.BookingConfirmed(
            booking_id="b-1",
            inquiry_id="i-1",
            room_id="R-301",
            start=T0,
            end=T1,
            attendees=18,
            customer_id="c-1",
            name="季度董事會議",
            equipment=["projector"],
            series_id="s-1",
        ),
        ev.BookingRejected(
            inquiry_id="i-1",
            customer_id="c-1",
            reason="room R-301 is taken at that time",
            reason_code="room_unavailable",
            alternatives=[SLOT],
        ),
        ev.BookingRescheduled(
            booking_id="b-1",
            customer_id="c-1",
            room_id="R-301",
            previous=SLOT,
            start=T0 + timedelta(days=1),
            end=T1 + timedelta(days=1),
            actor="agent-7",
        ),
        ev.BookingCancelled(
            booking_id="b-1", customer_id="c-1", room_id="R-301", start=T0, end=T1, actor="agent-7", reason="改期"
        ),
        ev.BookingReminderDue(booking_id="b-1", customer_id="c-1", room_id="R-301", start=T0, end=T1),
        ev.RoomUpdated(room_id="R-301", name="301", location="3/F", capacity=20, equipment=["projector"], active=True),
        ev.ComplaintRegistered(
            complaint_id="cp-1",
            inquiry_id="i-2",
            customer_id="c-1",
            channel="onsite",
            booking_id="b-1",
            category="equipment_failure",
            severity="high",
            registered_at=T0,
            acknowledge_due_at=T0 + timedelta(hours=2),
            resolve_due_at=T0 + timedelta(days=3),
        ),
        ev.ComplaintStatusChanged(
            complaint_id="cp-1", from_="registered", to="acknowledged", actor="agent-7", agent_id="agent-7"
        ),
        ev.ComplaintAssessed(
            complaint_id="cp-1",
            category="equipment_failure",
            service_step="av",
            root_cause="equipment_failure",
            agent_id="agent-7",
            actor="agent-7",
        ),
        ev.ComplaintSlaBreached(complaint_id="cp-1", which="acknowledge", due_at=T0 + timedelta(hours=2)),
        ev.ComplaintEscalated(
            complaint_id="cp-1",
            reason="acknowledge overdue since 2026-12-02T08:00:00+00:00",
            level=2,
            which="acknowledge",
            role="supervisor",
            who="sup-1",
            due_at=T0 + timedelta(hours=2),
        ),
        ev.ComplaintClock(
            complaint_id="cp-1",
            which="resolve",
            transition="paused",
            at=T0 + timedelta(hours=5),
            cycle=1,
            seq=4,
            target_seconds=259_200.0,
            elapsed_seconds=18_000.0,
            due_at=None,
            business_hours=False,
            severity="normal",
            category="equipment_failure",
            agent_id="agent-7",
            reason="awaiting the customer",
        ),
        ev.ComplaintActionOverdue(
            complaint_id="cp-1",
            action_id="a1",
            remedy="partial_refund",
            owner="finance-2",
            due_at=T0 + timedelta(days=2),
            agent_id="agent-7",
            severity="high",
        ),
        ev.ComplaintActionReminder(
            complaint_id="cp-1",
            action_id="a1",
            remedy="partial_refund",
            owner="finance-2",
            due_at=T0 + timedelta(days=2),
            reminder=1,
            agent_id="agent-7",
        ),
        ev.ComplaintSatisfactionRequested(
            complaint_id="cp-1", attempt=1, channel="email", customer_id="c-1", agent_id="agent-7"
        ),
        ev.ComplaintSatisfactionRecorded(
            complaint_id="cp-1",
            satisfied=False,
            score=2,
            source="survey",
            actor="customer",
            agent_id="agent-7",
            category="equipment_failure",
        ),
        ev.ComplaintSatisfactionUnanswered(
            complaint_id="cp-1", requests=3, resolved_at=T0 + timedelta(days=1), agent_id="agent-7"
        ),
        ev.ComplaintClosed(
            complaint_id="cp-1",
            actor="supervisor-1",
            category="equipment_failure",
            override_reason="customer unreachable after two follow-ups",
        ),
        ev.FeedbackReceived(
            subject_type="booking", subject_id="b-1", score=4, score_100=80, comment="很好", channel="survey"
        ),
        ev.CallMissed(call_id="1700000000.1", phone="+85221234567", disposition="NO ANSWER", started_at=T0),
        ev.CustomerLinked(
            customer_id="c-1",
            identities=[{"kind": "email", "value": "tai.man@example.com"}, {"kind": "phone", "value": "+85221234567"}],
            evidence="same booking form",
        ),
        ev.CustomerUnlinked(
            customer_id="c-1", identities=[{"kind": "phone", "value": "+85221234567"}], reason="wrong person"
        ),
        ev.AgentReplied(
            conversation_id="conv-1",
            channel="chat",
            agent_id="agent-7",
            replied_at=T0,
            first_reply=True,
            response_seconds=42.5,
        ),
        ev.NotificationRequested(
            channel="email",
            address="tai.man@example.com",
            template="booking_confirmed",
            language="zh-Hant",
            parameters={"room": "R-301", "start": "2026-12-02T14:00:00+08:00"},
        ),
        ev.NotificationFailed(
            channel="email",
            address="tai.man@example.com",
            customer_id="2b1c6f0e-9a51-4c1e-9d0e-2f3f4f5a6b7c",
            inquiry_id="7d0f1e2a-3b4c-4d5e-8f60-718293a4b5c6",
            original_message_id="7d0f1e2a-3b4c-4d5e-8f60-718293a4b5c6.ack@meetdesk.example",
            status="5.1.1",
            reason="smtp; 550 5.1.1 user unknown",
            failed_at=T0,
            report_ref="20261201094301.ABC123@mx.example.com",
        ),
        ev.IntakeRejected(
            channel="webform", reason="body is not valid JSON", message_id="m-1", dead_letter_queue="intake.inbound.dlq"
        ),
        ev.CommandRejected(command_id="cmd-1", command="complaint.close", reason="complaint is not resolved"),
        ev.MessageRejected(
            queue="booking.events",
            routing_key="booking.requested",
            reason="schema validation failed",
            dead_letter_queue="booking.events.dlq",
        ),
        ev.DueItemParked(
            service="booking",
            kind="booking.reminder",
            key="b-1",
            due_at=T0,
            attempts=5,
            reason="processing failed 5 times: KeyError: 'room'",
        ),
        ev.BookingUpdated(
            booking_id="b-1", customer_id="c-1", room_id="R-301", attendees=12, equipment=["projector"], actor="agent-7"
        ),
        ev.BookingPreparationRequested(
            booking_id="b-1",
            room_id="R-301",
            department="equipment",
            task="test the projector and microphones",
            due_by=T0,
            details={"equipment": ["projector", "microphone"]},
        ),
        ev.BookingPrepared(booking_id="b-1", department="catering", actor="catering-1", note="tea at 10:30"),
        ev.BookingPreparationOverdue(booking_id="b-1", room_id="R-301", department="setup", task="set up", due_by=T0),
        ev.BookingAttendanceConfirmed(booking_id="b-1", customer_id="c-1", actor="customer"),
        ev.BookingCheckedIn(booking_id="b-1", room_id="R-301", actor="reception", at=T0),
        ev.BookingReleased(
            booking_id="b-1",
            customer_id="c-1",
            room_id="R-301",
            start=T0,
            end=T0 + timedelta(hours=2),
            reason="no_show",
        ),
        ev.BookingWaitlistOffered(
            inquiry_id="inq-2",
            customer_id="c-2",
            room_id="R-301",
            start=T0,
            end=T0 + timedelta(hours=2),
            accept_by=T0 - timedelta(hours=1),
        ),
        ev.BookingCompleted(
            booking_id="b-1", customer_id="c-1", room_id="R-301", start=T0, end=T0 + timedelta(hours=2), checked_in=True
        ),
        ev.MessageReplayed(
            dead_letter_queue="booking.events.dlq",
            exchange="meetdesk.events",
            routing_key="booking.requested",
            message_id="m-1",
            reason="processing failed 5 times",
            actor="ops",
        ),
    ]
}
# the desk's events (shared/contract/desk.py)
SAMPLES |= {
    e.event_type: e
    for e in [
        desk.ConversationAssigned(conversation_id="wechat:oW1", agent_id="agent-1", previous_agent_id=None, actor="a"),
        desk.CallbackOpened(
            callback_id="cb-1", call_id="call-1", customer_id="c-1", phone="+85291234567", missed_at=T0, remind_at=T1
        ),
        desk.CallbackAssigned(callback_id="cb-1", agent_id="agent-1", previous_agent_id="agent-2", actor="sup"),
        desk.CallbackRecorded(
            callback_id="cb-1",
            call_id="call-1",
            customer_id="c-1",
            outcome="no_answer",
            attempts=1,
            done=False,
            actor="a",
        ),
        desk.CallbackReminder(
            callback_id="cb-1", call_id="call-1", customer_id=None, assignee=None, attempts=0, open_minutes=30
        ),
        desk.InquiryCompleted(inquiry_id="i-1", actor="agent-1", customer_id="c-1"),
        desk.DeskHandedOver(from_agent="a", to_agent="b", conversations=2, callbacks=1, reason="shift end", actor="s"),
    ]
}

# The minimum set of event types CONTRACT.md promises.
CONTRACT_EVENT_TYPES = {
    "inquiry.received",
    "call.missed",
    "customer.linked",
    "customer.unlinked",
    "agent.replied",
    "booking.requested",
    "booking.confirmed",
    "booking.rejected",
    "booking.rescheduled",
    "booking.cancelled",
    "booking.reminder_due",
    "complaint.registered",
    "complaint.status_changed",
    "complaint.sla_breached",
    "complaint.escalated",
    "complaint.closed",
    "feedback.received",
    "notification.requested",
    "intake.rejected",
    "command.rejected",
}


# -- envelope ---------------------------------------------------------------------------------------


def test_make_event_fills_the_envelope():
    data = SAMPLES["booking.confirmed"]
    env = make_event(data, producer="booking", correlation_id=CORR, causation_id=CAUSE, occurred_at=T0)
    assert isinstance(env.event_id, uuid.UUID)
    assert env.type == "booking.confirmed"
    assert env.producer == "booking"
    assert env.correlation_id == CORR
    assert env.causation_id == CAUSE
    assert env.schema_version == SCHEMA_VERSION == 1
    assert env.occurred_at == T0
    assert env.occurred_at.utcoffset() == timedelta(0)
    assert env.data["booking_id"] == "b-1"
    assert env.data["start"] == "2026-12-02T14:00:00+08:00"  # JSON form, offset kept


def test_every_event_gets_its_own_id():
    data = SAMPLES["call.missed"]
    ids = {make_event(data, producer="intake", correlation_id=CORR).event_id for _ in range(20)}
    assert len(ids) == 20


def test_occurred_at_defaults_to_now_in_utc():
    before = datetime.now(UTC)
    env = make_event(SAMPLES["call.missed"], producer="intake", correlation_id=CORR)
    after = datetime.now(UTC)
    assert before <= env.occurred_at <= after
    assert env.occurred_at.utcoffset() == timedelta(0)
    assert env.causation_id is None


def test_envelope_json_has_the_contract_fields_and_utc_time():
    env = make_event(SAMPLES["call.missed"], producer="intake", correlation_id=CORR, occurred_at=T0)
    body = json.loads(env.to_bytes())
    assert set(body) == {
        "event_id",
        "type",
        "occurred_at",
        "producer",
        "correlation_id",
        "causation_id",
        "schema_version",
        "data",
    }
    assert body["occurred_at"] == "2026-12-02T06:00:00Z"
    assert body["correlation_id"] == str(CORR)
    assert body["causation_id"] is None
    assert uuid.UUID(body["event_id"]) == env.event_id


def test_data_is_dumped_by_alias():
    env = make_event(SAMPLES["complaint.status_changed"], producer="complaints", correlation_id=CORR)
    assert env.data["from"] == "registered"
    assert "from_" not in env.data
    assert json.loads(env.to_bytes())["data"]["from"] == "registered"


def test_status_changed_reads_from_by_alias_and_by_name():
    by_alias = ev.ComplaintStatusChanged.model_validate({"complaint_id": "c", "from": "a", "to": "b", "actor": "x"})
    by_name = ev.ComplaintStatusChanged(complaint_id="c", from_="a", to="b", actor="x")
    assert by_alias == by_name
    assert by_alias.from_ == "a"


def test_outbox_rows_use_the_event_id_and_type():
    """What the relay publishes: message_id = event_id, routing key and AMQP type = event type."""

    tx = Transaction(None, None, "booking", T0)  # type: ignore[arg-type]
    env = tx.emit(SAMPLES["booking.confirmed"], correlation_id=CORR)
    (row,) = outbox_rows(tx.emitted)
    assert env.producer == "booking" and env.occurred_at == T0, "the unit of work's producer and time"
    assert row.event_id == env.event_id
    assert row.routing_key == row.message_type == "booking.confirmed"
    assert row.exchange == "meetdesk.events"
    assert row.correlation_id == str(CORR)
    assert Envelope.model_validate_json(row.body) == env


async def test_relay_publishes_with_message_id_equal_to_event_id():
    published: list[tuple[Any, dict[str, Any]]] = []

    class FakeChannel:
        async def basic_publish(self, body: bytes, **kw: Any) -> None:
            published.append((body, kw))

    env = make_event(SAMPLES["booking.confirmed"], producer="booking", correlation_id=CORR)
    row = SimpleNamespace(
        event_id=env.event_id,
        exchange="meetdesk.events",
        routing_key=env.type,
        message_type=env.type,
        correlation_id=str(env.correlation_id),
        body=env.to_bytes(),
    )
    publisher = Publisher("amqp://unused")
    outbox = Outbox(None, publisher, batch=10, poll=1.0)  # type: ignore[arg-type]

    async def underlay() -> FakeChannel:
        return FakeChannel()

    publisher._underlay = underlay  # type: ignore[method-assign]
    await outbox._publish(row)
    ((body, kw),) = published
    props = kw["properties"]
    assert props.message_id == str(env.event_id) == json.loads(body)["event_id"]
    assert props.correlation_id == str(CORR)
    assert props.message_type == "booking.confirmed"
    assert kw["exchange"] == "meetdesk.events" and kw["routing_key"] == "booking.confirmed"
    assert props.content_type == "application/json"
    assert props.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
    assert kw["wait"] is False, "confirms are awaited, socket drains are not (see shared/publisher.py)"


# -- event types ------------------------------------------------------------------------------------


def _all_subclasses(cls: type) -> list[type]:
    out = []
    for sub in cls.__subclasses__():
        out.append(sub)
        out.extend(_all_subclasses(sub))
    return out


def test_every_event_class_has_a_unique_registered_type():
    typed = [c for c in _all_subclasses(EventData) if c.event_type]
    types = [c.event_type for c in typed]
    assert len(types) == len(set(types)), "two event classes share a type"
    for cls in typed:
        assert EVENT_TYPES[cls.event_type] is cls
    assert set(EVENT_TYPES) == set(types)


def test_event_types_are_dotted_lower_case_names():
    for name in EVENT_TYPES:
        assert re.fullmatch(r"[a-z]+\.[a-z_]+", name), name


def test_every_event_type_of_the_contract_exists():
    assert CONTRACT_EVENT_TYPES <= set(EVENT_TYPES)


def test_the_samples_cover_every_event_type():
    assert set(SAMPLES) == set(EVENT_TYPES)


@pytest.mark.parametrize("event_type", sorted(EVENT_TYPES))
def test_every_event_round_trips_through_envelope_json(event_type):
    data = SAMPLES[event_type]
    assert type(data) is EVENT_TYPES[event_type]
    env = make_event(data, producer="test", correlation_id=CORR, causation_id=CAUSE, occurred_at=T0)
    raw = env.to_bytes()
    back = Envelope.model_validate_json(raw)
    assert back == env
    assert back.type == event_type
    again = EVENT_TYPES[back.type].model_validate(back.data)
    assert again == data
    assert again.model_dump(mode="json", by_alias=True) == back.data


def test_feedback_score_bounds():
    with pytest.raises(ValidationError):
        ev.FeedbackReceived(subject_type="service", score=6, score_100=120, channel="survey")
    with pytest.raises(ValidationError):
        ev.FeedbackReceived(subject_type="service", score=0, score_100=0, channel="survey")


def test_booking_rejected_refuses_an_unknown_reason_code():
    with pytest.raises(ValidationError):
        ev.BookingRejected(inquiry_id="i", customer_id="c", reason="x", reason_code="because")


def test_booking_requested_meeting_refuses_end_before_start():
    meeting = {**MEETING, "end": "2026-12-02T13:00:00+08:00"}
    with pytest.raises(ValidationError, match="end must be after"):
        ev.BookingRequested(inquiry_id="i", customer_id="c", channel="webform", language="en", meeting=meeting)


# -- meeting details --------------------------------------------------------------------------------


def test_meeting_details_parse():
    m = MeetingDetails.model_validate(MEETING)
    assert m.start == T0 and m.end == T1
    assert m.recurrence == Recurrence(freq="weekly", count=4)
    assert m.equipment == ["projector", "microphone"]


@pytest.mark.parametrize("end", ["2026-12-02T14:00:00+08:00", "2026-12-02T13:59:59+08:00", "2026-12-02T05:00:00Z"])
def test_meeting_details_refuse_end_not_after_start(end):
    with pytest.raises(ValidationError, match="end must be after its start"):
        MeetingDetails.model_validate({**MEETING, "end": end})


def test_meeting_details_compare_instants_across_offsets():
    # 07:00Z is 15:00 in Hong Kong, after the 14:00+08:00 start
    m = MeetingDetails.model_validate({**MEETING, "end": "2026-12-02T07:00:00Z"})
    assert m.end - m.start == timedelta(hours=1)


@pytest.mark.parametrize(
    "change",
    [
        {"start": "2026-12-02T14:00:00"},
        {"end": "2026-12-02T17:00:00"},
        {"start": datetime(2026, 12, 2, 14), "end": datetime(2026, 12, 2, 17)},
    ],
)
def test_meeting_details_refuse_naive_datetimes(change):
    with pytest.raises(ValidationError, match="timezone"):
        MeetingDetails.model_validate({**MEETING, **change})


@pytest.mark.parametrize(
    "change",
    [
        {"attendees": 0},
        {"attendees": -3},
        {"equipment": ["teleporter"]},
        {"name": "x" * 501},
        {"recurrence": {"freq": "monthly"}},
        {"recurrence": {"freq": "weekly", "count": 0}},
    ],
)
def test_meeting_details_refuse_invalid_values(change):
    with pytest.raises(ValidationError):
        MeetingDetails.model_validate({**MEETING, **change})


@pytest.mark.parametrize("field", ["name", "start", "end", "attendees"])
def test_meeting_details_require_their_fields(field):
    body = {k: v for k, v in MEETING.items() if k != field}
    with pytest.raises(ValidationError, match=field):
        MeetingDetails.model_validate(body)


def test_meeting_details_ignore_unknown_fields():
    m = MeetingDetails.model_validate({**MEETING, "parking": True, "dress_code": "formal"})
    assert m == MeetingDetails.model_validate(MEETING)
    assert not hasattr(m, "parking")


def test_recurrence_until_is_a_date():
    r = Recurrence.model_validate({"freq": "daily", "until": "2026-12-06"})
    assert r.until == date(2026, 12, 6)


# -- inbound schemas --------------------------------------------------------------------------------

SUBMISSION = {
    "submission_id": "WF-1",
    "submitted_at": "2026-11-20T09:15:00+08:00",
    "customer": {"name": "Alice Wong", "email": "alice.wong@example.com", "phone": None},
}


@pytest.mark.parametrize(
    ("body", "cls"),
    [
        ({"kind": "booking_request", "meeting": MEETING}, WebformBookingRequest),
        ({"kind": "complaint", "text": "空調太冷", "category": "venue_environment"}, WebformComplaint),
        ({"kind": "inquiry", "subject": "Parking", "text": "Is there parking?"}, WebformInquiry),
        ({"kind": "feedback", "score": 5}, WebformFeedback),
        # fields of another kind do not change the choice: the discriminator does
        ({"kind": "inquiry", "text": "hi", "score": 5, "meeting": MEETING}, WebformInquiry),
        ({"kind": "feedback", "score": 3, "text": "ok", "category": "catering"}, WebformFeedback),
    ],
)
def test_webform_discriminator_picks_the_kind(body, cls):
    form = WEBFORM.validate_python({**SUBMISSION, **body})
    assert type(form) is cls
    assert form.kind == body["kind"]
    assert form.submission_id == "WF-1"


def test_webform_discriminator_does_not_fall_back_to_another_kind():
    # a complaint without text is not silently read as some other kind
    with pytest.raises(ValidationError) as info:
        WEBFORM.validate_python({**SUBMISSION, "kind": "complaint", "score": 2})
    assert [e["loc"] for e in info.value.errors()] == [("complaint", "text")]


@pytest.mark.parametrize("kind", [None, "booking", "Complaint"])
def test_webform_refuses_missing_or_unknown_kind(kind):
    body = {**SUBMISSION, "text": "hello"}
    if kind is not None:
        body["kind"] = kind
    with pytest.raises(ValidationError):
        WEBFORM.validate_python(body)


def test_webform_requires_an_aware_submission_time():
    with pytest.raises(ValidationError):
        WEBFORM.validate_python({**SUBMISSION, "submitted_at": "2026-11-20T09:15:00", "kind": "inquiry", "text": "x"})


def test_onsite_entry_kinds():
    base = {
        "entry_id": "OS-1",
        "recorded_at": "2026-12-02T14:20:00+08:00",
        "staff_id": "staff-1",
        "booking_id": "b-1",
        "text": "咪高峰沒有聲音",
    }
    for kind in ("feedback", "incident", "complaint"):
        assert OnsiteEntry.model_validate({**base, "kind": kind}).kind == kind
    with pytest.raises(ValidationError):
        OnsiteEntry.model_validate({**base, "kind": "praise"})


def test_survey_respondent_may_be_a_contact_or_a_string():
    base = {"subject": {"type": "booking", "id": "b-1"}, "score": 4}
    assert SurveyAnswer.model_validate({**base, "respondent": {"email": "a@b.hk"}}).respondent.email == "a@b.hk"
    assert SurveyAnswer.model_validate({**base, "respondent": "Alice"}).respondent == "Alice"
    with pytest.raises(ValidationError):
        SurveyAnswer.model_validate({**base, "subject": {"type": "service", "id": "x"}})


# -- commands ---------------------------------------------------------------------------------------


def test_every_command_of_the_contract_exists():
    assert set(COMMANDS) >= {
        "booking.cancel",
        "booking.reschedule",
        "rooms.upsert",
        "complaint.acknowledge",
        "complaint.assign",
        "complaint.investigate",
        "complaint.propose_solution",
        "complaint.start_execution",
        "complaint.resolve",
        "complaint.close",
        "complaint.reopen",
    }
    for name, cls in COMMANDS.items():
        assert cls.command_name == name


def test_commands_need_an_id_and_an_actor():
    with pytest.raises(ValidationError) as info:
        COMMANDS["complaint.close"].model_validate({"complaint_id": "cp-1"})
    missing = {e["loc"][0] for e in info.value.errors()}
    assert missing == {"command_id", "actor"}


def test_reschedule_refuses_end_not_after_start():
    body = {"command_id": "cmd-1", "actor": "agent-7", "booking_id": "b-1", "start": T1, "end": T0}
    with pytest.raises(ValidationError, match="end must be after start"):
        BookingReschedule.model_validate(body)
    ok = BookingReschedule.model_validate({**body, "start": T0, "end": T1})
    assert ok.end > ok.start


def test_rooms_upsert_validates_capacity_and_equipment():
    body = {"command_id": "cmd-2", "actor": "ops", "room_id": "R-1", "name": "Room 1", "capacity": 12}
    room = RoomsUpsert.model_validate(body)
    assert room.active is True and room.equipment == []
    for bad in ({"capacity": 0}, {"equipment": ["laser"]}):
        with pytest.raises(ValidationError):
            RoomsUpsert.model_validate({**body, **bad})


def test_the_complaint_process_commands_validate_their_fields():
    base = {"command_id": "cmd-9", "actor": "agent-7", "complaint_id": "cp-1"}
    assert COMMANDS["complaint.confirm_satisfaction"].model_validate({**base, "score": 4}).score == 4
    with pytest.raises(ValidationError):
        COMMANDS["complaint.confirm_satisfaction"].model_validate({**base, "score": 6})
    assert COMMANDS["complaint.resolve"].model_validate(base).first_contact is False
    assert COMMANDS["complaint.close"].model_validate(base).override_reason is None
    note = COMMANDS["complaint.note"].model_validate({**base, "kind": "call", "direction": "inbound"})
    assert (note.kind, note.direction, note.reached) == ("call", "inbound", None)
    with pytest.raises(ValidationError):
        COMMANDS["complaint.note"].model_validate({**base, "kind": "letter"})
    handover = {"command_id": "cmd-10", "actor": "sup-1", "from_agent": "agent-7", "to_agent": "agent-3"}
    assert COMMANDS["complaint.handover"].model_validate(handover).reason is None
    staff = {"command_id": "cmd-11", "actor": "ops", "staff_id": "sup-1", "name": "Lee", "role": "supervisor"}
    assert COMMANDS["staff.upsert"].model_validate(staff).active is True
    with pytest.raises(ValidationError):
        COMMANDS["staff.upsert"].model_validate({**staff, "role": "director"})
