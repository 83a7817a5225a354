"""Metrics rules: events → counter increments, summed counters → KPI figures."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any, get_args
from zoneinfo import ZoneInfo

import pytest

from services.metrics import domain
from services.metrics.domain import Fact
from shared.contract.events import (
    AgentReplied,
    BookingCancelled,
    BookingConfirmed,
    BookingRejected,
    BookingRequested,
    BookingRescheduled,
    CallMissed,
    CommandRejected,
    ComplaintClock,
    ComplaintClosed,
    ComplaintEscalated,
    ComplaintRegistered,
    ComplaintSlaBreached,
    ComplaintStatusChanged,
    CustomerRef,
    DueItemParked,
    Envelope,
    EventData,
    FeedbackReceived,
    InquiryReceived,
    IntakeRejected,
    MessageRejected,
    MessageReplayed,
    NotificationRequested,
    Slot,
    make_event,
)

HK = ZoneInfo("Asia/Hong_Kong")
# 2026-03-01 15:30 UTC is 23:30 in Hong Kong; 16:30 UTC is already 2 March there.
BEFORE_MIDNIGHT = datetime(2026, 3, 1, 15, 30, tzinfo=UTC)
AFTER_MIDNIGHT = datetime(2026, 3, 1, 16, 30, tzinfo=UTC)
D1, D2 = date(2026, 3, 1), date(2026, 3, 2)
START = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)
END = START + timedelta(hours=2)


def event(data: EventData, at: datetime = BEFORE_MIDNIGHT) -> Envelope:
    return make_event(data, producer="test", correlation_id=uuid.uuid4(), occurred_at=at)


def keys(facts: list[Fact]) -> set[tuple[Any, ...]]:
    return {(f.day, f.metric, f.dim_kind, f.dim_value, f.count, f.total) for f in facts}


def inquiry(intent: str = "inquiry", **kw: Any) -> InquiryReceived:
    values: dict[str, Any] = {
        "inquiry_id": "inq-1",
        "channel": "email",
        "source_ref": "<m1@example.com>",
        "conversation_id": "conv-1",
        "customer": CustomerRef(customer_id="cust-1", email="a@example.com"),
        "intent": intent,
        "language": "en",
        "received_at": BEFORE_MIDNIGHT,
    }
    return InquiryReceived(**(values | kw))


# -- facts ---------------------------------------------------------------------------------------
def test_inquiry_counts_by_all_channel_intent():
    got = domain.facts(event(inquiry()), HK)
    assert keys(got) == {
        (D1, "inquiries", "all", "all", 1, 0.0),
        (D1, "inquiries", "channel", "email", 1, 0.0),
        (D1, "inquiries", "intent", "inquiry", 1, 0.0),
    }


def test_complaint_inquiry_also_counts_complaints_received_and_agent():
    got = domain.facts(event(inquiry("complaint", category="catering", agent_id="ag-7")), HK)
    assert {(f.metric, f.dim_kind, f.dim_value) for f in got} == {
        ("inquiries", "all", "all"),
        ("inquiries", "channel", "email"),
        ("inquiries", "intent", "complaint"),
        ("inquiries", "agent", "ag-7"),
        ("complaints_received", "all", "all"),
        ("complaints_received", "channel", "email"),
        ("complaints_received", "category", "catering"),
    }


def test_day_is_the_venue_day_of_the_relevant_timestamp():
    # received_at decides for an inquiry, not the envelope's occurred_at
    late = domain.facts(event(inquiry(received_at=AFTER_MIDNIGHT), at=BEFORE_MIDNIGHT), HK)
    assert {f.day for f in late} == {D2}
    early = domain.facts(event(inquiry(received_at=BEFORE_MIDNIGHT), at=AFTER_MIDNIGHT), HK)
    assert {f.day for f in early} == {D1}
    # the same instant is still 1 March in UTC
    assert {f.day for f in domain.facts(event(inquiry(received_at=AFTER_MIDNIGHT)), ZoneInfo("UTC"))} == {D1}


def test_occurred_at_decides_for_bookings():
    rejected = BookingRejected(inquiry_id="i", customer_id="c", reason="r", reason_code="room_too_small")
    assert {f.day for f in domain.facts(event(rejected, at=AFTER_MIDNIGHT), HK)} == {D2}
    assert {f.day for f in domain.facts(event(rejected, at=BEFORE_MIDNIGHT), HK)} == {D1}


def test_booking_requested_by_channel():
    data = BookingRequested(
        inquiry_id="i",
        customer_id="c",
        channel="webform",
        language="en",
        meeting={"name": "Board", "start": START, "end": END, "attendees": 8},
    )
    assert keys(domain.facts(event(data), HK)) == {
        (D1, "bookings_requested", "all", "all", 1, 0.0),
        (D1, "bookings_requested", "channel", "webform", 1, 0.0),
    }


def confirmed(series_id: str | None = None) -> BookingConfirmed:
    return BookingConfirmed(
        booking_id=str(uuid.uuid4()),
        inquiry_id="i",
        room_id="R1",
        start=START,
        end=END,
        attendees=8,
        customer_id="c",
        name="Board",
        series_id=series_id,
    )


def test_booking_confirmed_by_room_and_once_per_series():
    single = domain.facts(event(confirmed()), HK)
    assert keys(single) == {
        (D1, "bookings_confirmed", "all", "all", 1, 0.0),
        (D1, "bookings_confirmed", "room", "R1", 1, 0.0),
        (D1, "bookings_confirmed_occurrences", "all", "all", 1, 0.0),
        (D1, "bookings_confirmed_occurrences", "room", "R1", 1, 0.0),
    }
    assert all(f.once is None for f in single)
    series = domain.facts(event(confirmed("s-1")), HK)
    assert {f.once for f in series if f.metric == "bookings_confirmed"} == {"booking-series:s-1"}
    assert {f.once for f in series if f.metric == "bookings_confirmed_occurrences"} == {None}


def test_booking_rejected_by_reason_code():
    data = BookingRejected(inquiry_id="i", customer_id="c", reason="full", reason_code="no_room_fits")
    assert keys(domain.facts(event(data), HK)) == {
        (D1, "bookings_rejected", "all", "all", 1, 0.0),
        (D1, "bookings_rejected", "category", "no_room_fits", 1, 0.0),
    }


def test_booking_cancelled_and_rescheduled_by_room():
    cancelled = BookingCancelled(booking_id="b", customer_id="c", room_id="R2", start=START, end=END, actor="ag")
    assert keys(domain.facts(event(cancelled), HK)) == {
        (D1, "bookings_cancelled", "all", "all", 1, 0.0),
        (D1, "bookings_cancelled", "room", "R2", 1, 0.0),
    }
    moved = BookingRescheduled(
        booking_id="b",
        customer_id="c",
        room_id="R3",
        previous=Slot(room_id="R2", start=START, end=END),
        start=START + timedelta(days=1),
        end=END + timedelta(days=1),
        actor="ag",
    )
    assert keys(domain.facts(event(moved), HK)) == {
        (D1, "bookings_rescheduled", "all", "all", 1, 0.0),
        (D1, "bookings_rescheduled", "room", "R3", 1, 0.0),
    }


def test_call_missed_on_the_day_the_call_started():
    data = CallMissed(call_id="u1", disposition="NO ANSWER", started_at=AFTER_MIDNIGHT)
    assert keys(domain.facts(event(data, at=AFTER_MIDNIGHT + timedelta(days=3)), HK)) == {
        (D2, "calls_missed", "all", "all", 1, 0.0),
        (D2, "calls_missed", "channel", "phone", 1, 0.0),
    }


def test_first_reply_carries_response_seconds():
    data = AgentReplied(
        conversation_id="c", channel="chat", agent_id="ag-1", replied_at=AFTER_MIDNIGHT, first_reply=True,
        response_seconds=90.5,
    )  # fmt: skip
    got = keys(domain.facts(event(data), HK))
    assert {k for k in got if k[1] == "first_response_seconds"} == {
        (D2, "first_response_seconds", "all", "all", 1, 90.5),
        (D2, "first_response_seconds", "channel", "chat", 1, 90.5),
        (D2, "first_response_seconds", "agent", "ag-1", 1, 90.5),
    }
    assert {k[1] for k in got} == {"first_response_seconds", "agent_replies"}


def test_later_reply_and_unknown_seconds_are_not_first_response():
    later = AgentReplied(conversation_id="c", channel="email", replied_at=BEFORE_MIDNIGHT, first_reply=False)
    assert {f.metric for f in domain.facts(event(later), HK)} == {"agent_replies"}
    unknown = AgentReplied(conversation_id="c", channel="email", replied_at=BEFORE_MIDNIGHT, first_reply=True)
    assert {f.metric for f in domain.facts(event(unknown), HK)} == {"agent_replies"}
    skewed = AgentReplied(
        conversation_id="c", channel="email", replied_at=BEFORE_MIDNIGHT, first_reply=True, response_seconds=-3
    )
    assert {f.total for f in domain.facts(event(skewed), HK) if f.metric == "first_response_seconds"} == {0.0}


def test_complaint_registered_by_category_and_channel():
    data = ComplaintRegistered(
        complaint_id="k1",
        channel="wechat",
        category="equipment_failure",
        severity="high",
        registered_at=AFTER_MIDNIGHT,
        acknowledge_due_at=AFTER_MIDNIGHT + timedelta(hours=2),
        resolve_due_at=AFTER_MIDNIGHT + timedelta(days=2),
    )
    assert keys(domain.facts(event(data), HK)) == {
        (D2, "complaints_registered", "all", "all", 1, 0.0),
        (D2, "complaints_registered", "category", "equipment_failure", 1, 0.0),
        (D2, "complaints_registered", "channel", "wechat", 1, 0.0),
    }


def test_complaint_resolved_counts_once_per_complaint():
    data = ComplaintStatusChanged.model_validate(
        {"complaint_id": "k1", "from": "executing", "to": "resolved", "actor": "sup-1", "category": "catering",
         "agent_id": "ag-2"}
    )  # fmt: skip
    got = domain.facts(event(data), HK)
    assert keys(got) == {
        (D1, "complaints_resolved", "all", "all", 1, 0.0),
        (D1, "complaints_resolved", "category", "catering", 1, 0.0),
        (D1, "complaints_resolved", "agent", "ag-2", 1, 0.0),
    }
    assert {f.once for f in got} == {"resolved:k1"}
    # without an agent id the actor is the agent
    no_agent = ComplaintStatusChanged.model_validate(
        {"complaint_id": "k1", "from": "executing", "to": "resolved", "actor": "ag-3"}
    )
    assert ("agent", "ag-3") in {(f.dim_kind, f.dim_value) for f in domain.facts(event(no_agent), HK)}


def test_other_status_changes_count_nothing():
    data = ComplaintStatusChanged.model_validate(
        {"complaint_id": "k1", "from": "registered", "to": "acknowledged", "actor": "ag-1"}
    )
    assert domain.facts(event(data), HK) == []


def test_complaint_closed_escalated_and_sla():
    closed = ComplaintClosed(complaint_id="k1", actor="sup", category="other")
    got = domain.facts(event(closed), HK)
    assert keys(got) == {
        (D1, "complaints_closed", "all", "all", 1, 0.0),
        (D1, "complaints_closed", "category", "other", 1, 0.0),
    }
    assert {f.once for f in got} == {"closed:k1"}
    escalated = ComplaintEscalated(complaint_id="k1", reason="overdue")
    assert keys(domain.facts(event(escalated), HK)) == {(D1, "complaints_escalated", "all", "all", 1, 0.0)}
    breach = ComplaintSlaBreached(complaint_id="k1", which="acknowledge", due_at=BEFORE_MIDNIGHT)
    assert keys(domain.facts(event(breach), HK)) == {
        (D1, "sla_breaches", "all", "all", 1, 0.0),
        (D1, "sla_breaches_acknowledge", "all", "all", 1, 0.0),
    }


def test_feedback_is_satisfaction_on_the_100_point_scale():
    data = FeedbackReceived(subject_type="booking", score=4, score_100=80, channel="survey", agent_id="ag-1")
    assert keys(domain.facts(event(data), HK)) == {
        (D1, "satisfaction", "all", "all", 1, 80.0),
        (D1, "satisfaction", "channel", "survey", 1, 80.0),
        (D1, "satisfaction", "agent", "ag-1", 1, 80.0),
    }


@pytest.mark.parametrize(
    "data",
    [
        IntakeRejected(channel="email", reason="bad", dead_letter_queue="intake.inbound.dlq"),
        MessageRejected(queue="q", routing_key="k", reason="bad", dead_letter_queue="q.dlq"),
        CommandRejected(command="booking.cancel", reason="no booking"),
    ],
)
def test_rejections_count_as_rejected_messages(data: EventData):
    got = domain.facts(event(data), HK)
    assert (D1, "rejected_messages", "all", "all", 1, 0.0) in keys(got)
    assert {f.metric for f in got} == {"rejected_messages"}


def test_every_replay_of_a_dead_letter_counts_on_the_day_it_was_replayed():
    data = MessageReplayed(
        dead_letter_queue="booking.events.dlq", exchange="meetdesk.events", routing_key="booking.requested",
        message_id="m-1", reason="processing failed 5 times", actor="alice",
    )  # fmt: skip
    got = domain.facts(event(data, at=AFTER_MIDNIGHT), HK)
    assert keys(got) == {(D2, "replayed_messages", "all", "all", 1, 0.0)}
    assert {f.once for f in got} == {None}  # replayed again tomorrow: counted again


def test_a_parked_due_item_counts_on_the_day_it_was_parked_not_the_day_it_was_due():
    data = DueItemParked(
        service="booking", kind="booking.reminder", key="b-1", due_at=BEFORE_MIDNIGHT - timedelta(days=5),
        attempts=5, reason="RuntimeError: boom",
    )  # fmt: skip
    got = domain.facts(event(data, at=AFTER_MIDNIGHT), HK)
    assert keys(got) == {(D2, "due_items_parked", "all", "all", 1, 0.0)}
    assert {f.once for f in got} == {None}


def test_intake_rejection_of_an_unknown_channel_has_no_channel_dimension():
    data = IntakeRejected(channel="fax", reason="unknown", dead_letter_queue="intake.inbound.dlq")
    assert {f.dim_kind for f in domain.facts(event(data), HK)} == {"all"}


def test_unknown_and_kpi_free_types_give_nothing():
    notify = NotificationRequested(channel="email", template="ack", language="en")
    assert domain.facts(event(notify), HK) == []
    other = event(notify).model_copy(update={"type": "something.new", "data": {"x": 1}})
    assert domain.facts(other, HK) == []


def test_known_type_with_broken_data_is_refused_with_the_reason():
    env = event(inquiry()).model_copy(update={"data": {"inquiry_id": "x"}})
    refusal = domain.facts(env, HK)
    assert isinstance(refusal, domain.Refusal)
    assert refusal.reason.startswith("inquiry.received data invalid: ")
    assert "channel: Field required" in refusal.reason


def test_long_dimension_values_are_cut():
    data = FeedbackReceived(subject_type="service", score=5, score_100=100, channel="chat", agent_id="a" * 500)
    agent = [f for f in domain.facts(event(data), HK) if f.dim_kind == "agent"]
    assert len(agent[0].dim_value) == domain.MAX_DIM_VALUE


# -- counting once -------------------------------------------------------------------------------
def test_the_once_keys_of_an_event_are_named_once_each_in_order():
    got = domain.facts(event(confirmed("s-1")), HK)
    assert domain.once_keys(got) == ["booking-series:s-1"]  # two facts share it
    assert domain.once_keys(domain.facts(event(confirmed()), HK)) == []
    mixed = [f("a"), Fact(D1, "b", "all", "all", once="k2"), Fact(D1, "c", "all", "all", once="k1"),
             Fact(D1, "d", "all", "all", once="k2")]  # fmt: skip
    assert domain.once_keys(mixed) == ["k2", "k1"]


def test_a_series_seen_before_adds_its_occurrence_but_no_second_booking():
    got = domain.facts(event(confirmed("s-1")), HK)
    first = domain.counted(got, {"booking-series:s-1": True})
    assert first == got
    again = domain.counted(got, {"booking-series:s-1": False})
    assert keys(again) == {
        (D1, "bookings_confirmed_occurrences", "all", "all", 1, 0.0),
        (D1, "bookings_confirmed_occurrences", "room", "R1", 1, 0.0),
    }


def test_a_complaint_resolved_again_is_not_resolved_twice():
    data = ComplaintStatusChanged.model_validate(
        {"complaint_id": "k1", "from": "executing", "to": "resolved", "actor": "ag-1"}
    )
    got = domain.facts(event(data), HK)
    assert domain.once_keys(got) == ["resolved:k1"]
    assert domain.counted(got, {"resolved:k1": False}) == []


# -- metrics -------------------------------------------------------------------------------------
def test_a_metric_counts_all_and_each_known_dimension_it_is_declared_with():
    got = domain.SATISFACTION.facts(D1, total=80.0, channel="chat", agent=None, room=None)
    assert keys(got) == {(D1, "satisfaction", "all", "all", 1, 80.0), (D1, "satisfaction", "channel", "chat", 1, 80.0)}


def test_a_metric_refuses_a_dimension_it_is_not_declared_with():
    with pytest.raises(TypeError):
        domain.SATISFACTION.facts(D1, channel="chat", agent="a", room="R1", category="catering")
    with pytest.raises(TypeError):
        domain.SATISFACTION.facts(D1, channel="chat", room=None)  # agent not given: an oversight, not "unknown"


def test_a_metric_name_is_declared_once():
    with pytest.raises(ValueError):
        domain.Metric("inquiries")
    assert domain.METRICS["inquiries"] is domain.INQUIRIES


def test_sla_breach_metrics_follow_the_contracts_deadlines():
    for which in get_args(ComplaintSlaBreached.model_fields["which"].annotation):
        breach = ComplaintSlaBreached(complaint_id="k1", which=which, due_at=BEFORE_MIDNIGHT)
        assert {f.metric for f in domain.facts(event(breach), HK)} == {"sla_breaches", f"sla_breaches_{which}"}
        assert domain.kpis(domain.facts(event(breach), HK))["totals"]["sla_breaches"] == {
            "total": 1, "acknowledge": int(which == "acknowledge"), "resolve": int(which == "resolve"),
        }  # fmt: skip


# -- kpis ----------------------------------------------------------------------------------------
def f(metric: str, count: int = 1, total: float = 0.0, kind: str = "all", value: str = "all", day: date = D1) -> Fact:
    return Fact(day, metric, kind, value, count, total)


def test_ratios_and_averages():
    rows = [
        f("inquiries", 40),
        f("complaints_registered", 4),
        f("complaints_resolved", 3),
        f("bookings_requested", 10),
        f("bookings_confirmed", 7),
        f("bookings_rejected", 3),
        f("bookings_cancelled", 1),
        f("satisfaction", 3, 255.0),
        f("first_response_seconds", 4, 600.0),
        f("calls_missed", 2),
        f("sla_breaches", 2),
        f("sla_breaches_resolve", 2),
    ]
    t = domain.kpis(rows, "day")["totals"]
    assert t["inquiries"] == 40
    assert t["complaint_rate"] == 0.1
    assert t["resolution_rate"] == 0.75
    assert t["bookings"] == {
        "requested": 10,
        "confirmed": 7,
        "rejected": 3,
        "cancelled": 1,
        "rescheduled": 0,
        "confirmed_occurrences": 0,
        "confirmation_rate": 0.7,
    }
    assert t["satisfaction"] == {"responses": 3, "average": 85.0, "grade": "good"}
    assert t["first_response"] == {"replies": 4, "average_seconds": 150.0}
    assert t["missed_calls"] == 2
    assert t["sla_breaches"] == {"total": 2, "acknowledge": 0, "resolve": 2}


def test_operations_figures_dead_letters_replays_and_parked_due_items():
    rows = [f("rejected_messages", 5), f("rejected_messages", 2, kind="channel", value="email"),
            f("replayed_messages", 3), f("due_items_parked", 1)]  # fmt: skip
    t = domain.kpis(rows, "day")["totals"]
    assert (t["rejected_messages"], t["replayed_messages"], t["due_items_parked"]) == (5, 3, 1)
    assert domain.kpis([], "day")["totals"]["due_items_parked"] == 0
    [email] = domain.kpis(rows, "channel")["groups"]
    # only rejections know a channel; replays and parked items are not counted per channel
    assert (email["rejected_messages"], email["replayed_messages"], email["due_items_parked"]) == (2, None, None)


def test_zero_denominators_give_null():
    t = domain.kpis([], "day")["totals"]
    assert t["complaint_rate"] is None
    assert t["resolution_rate"] is None
    assert t["bookings"]["confirmation_rate"] is None
    assert t["satisfaction"] == {"responses": 0, "average": None, "grade": None}
    assert t["first_response"]["average_seconds"] is None
    assert t["inquiries"] == 0
    t = domain.kpis([f("complaints_resolved", 2)], "day")["totals"]
    assert t["resolution_rate"] is None


@pytest.mark.parametrize(
    ("score", "grade"),
    [(100, "excellent"), (90, "excellent"), (89.99, "good"), (80, "good"), (79.5, "pass"), (60, "pass"),
     (59.99, "fail"), (20, "fail"), (None, None)],
)  # fmt: skip
def test_grades(score: float | None, grade: str | None):
    assert domain.grade(score) == grade


def test_grade_follows_the_average_shown():
    # 89.996 is shown as 90.0 (two decimals) and graded as what is shown
    t = domain.kpis([f("satisfaction", 1000, 89_996.0)], "day")["totals"]
    assert t["satisfaction"]["average"] == 90.0
    assert t["satisfaction"]["grade"] == "excellent"


def test_group_by_day_uses_all_dimension_per_day():
    rows = [
        f("inquiries", 3, day=D1),
        f("inquiries", 2, day=D2),
        f("inquiries", 2, day=D2),  # repeated keys are summed
        f("inquiries", 9, kind="channel", value="email", day=D1),  # not a total
        f("complaints_registered", 1, day=D2),
    ]
    out = domain.kpis(rows, "day")
    assert out["totals"]["inquiries"] == 7
    assert [(g["key"], g["inquiries"], g["complaint_rate"]) for g in out["groups"]] == [
        ("2026-03-01", 3, 0.0),
        ("2026-03-02", 4, 0.25),
    ]


def test_group_by_dimension():
    rows = [
        f("satisfaction", 2, 200.0),
        f("satisfaction", 1, 100.0, "agent", "ag-1"),
        f("satisfaction", 1, 40.0, "agent", "ag-2", day=D2),
        f("satisfaction", 1, 60.0, "agent", "ag-2"),
        f("satisfaction", 2, 200.0, "channel", "survey"),  # other dimensions are ignored
    ]
    out = domain.kpis(rows, "agent")
    assert out["totals"]["satisfaction"]["average"] == 100.0
    assert [(g["key"], g["satisfaction"]["average"], g["satisfaction"]["grade"]) for g in out["groups"]] == [
        ("ag-1", 100.0, "excellent"),
        ("ag-2", 50.0, "fail"),
    ]


def test_unknown_group_by_is_refused():
    with pytest.raises(ValueError):
        domain.kpis([], "building")  # type: ignore[arg-type]


def test_satisfaction_is_reported_per_room_when_the_survey_names_it():
    data = FeedbackReceived(
        subject_type="booking", subject_id="b-1", score=5, score_100=100, channel="survey", room_id="harbour"
    )
    got = domain.facts(event(data), HK)
    assert ("room", "harbour") in {(f.dim_kind, f.dim_value) for f in got if f.metric == "satisfaction"}
    out = domain.kpis(got, "room")
    assert [(g["key"], g["satisfaction"]["average"]) for g in out["groups"]] == [("harbour", 100.0)]


# -- periods -------------------------------------------------------------------------------------
TODAY = date(2026, 3, 12)  # a Thursday


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((), (TODAY, TODAY)),
        (("today",), (TODAY, TODAY)),
        (("week",), (date(2026, 3, 9), TODAY)),
        (("month",), (date(2026, 3, 1), TODAY)),
        ((None, "2026-02-01", "2026-02-28"), (date(2026, 2, 1), date(2026, 2, 28))),
        ((None, "2026-03-01"), (date(2026, 3, 1), TODAY)),
        ((None, "2026-04-01"), (date(2026, 4, 1), date(2026, 4, 1))),
        ((None, None, "2026-02-03"), (date(2026, 2, 3), date(2026, 2, 3))),
    ],
)
def test_period_range(args: tuple[Any, ...], expected: tuple[date, date]):
    assert domain.period_range(TODAY, *args) == expected


@pytest.mark.parametrize(
    "args",
    [("year",), ("week", "2026-01-01"), (None, "01/02/2026"), (None, "2026-03-02", "2026-03-01"),
     (None, "2024-01-01", "2026-01-01")],
)  # fmt: skip
def test_period_range_refuses(args: tuple[Any, ...]):
    with pytest.raises(ValueError):
        domain.period_range(TODAY, *args)


def test_invalid_event_reason_names_fields_not_values():
    data = inquiry().model_dump(mode="json") | {"channel": "+852 2123 4567", "intent": "x@example.com"}
    env = event(inquiry()).model_copy(update={"data": data})
    refusal = domain.facts(env, HK)
    assert isinstance(refusal, domain.Refusal)
    assert "channel" in refusal.reason
    assert "2123" not in refusal.reason
    assert "example.com" not in refusal.reason


def samples() -> list[EventData]:
    now = BEFORE_MIDNIGHT
    return [
        inquiry("complaint", category="catering", agent_id="ag-1"),
        BookingRequested(
            inquiry_id="i",
            customer_id="c",
            channel="phone",
            language="en",
            meeting={"name": "M", "start": START, "end": END, "attendees": 2},
        ),
        confirmed("s"),
        BookingRejected(inquiry_id="i", customer_id="c", reason="r", reason_code="invalid"),
        BookingCancelled(booking_id="b", customer_id="c", room_id="R", start=START, end=END, actor="a"),
        BookingRescheduled(
            booking_id="b", customer_id="c", room_id="R", previous=Slot(room_id="R", start=START, end=END),
            start=START, end=END, actor="a",
        ),
        CallMissed(call_id="u", disposition="BUSY", started_at=now),
        AgentReplied(
            conversation_id="c", channel="chat", agent_id="a", replied_at=now, first_reply=True, response_seconds=5
        ),
        ComplaintRegistered(
            complaint_id="k", channel="email", category="other", severity="low", registered_at=now,
            acknowledge_due_at=now, resolve_due_at=now,
        ),
        ComplaintStatusChanged.model_validate(
            {"complaint_id": "k", "from": "x", "to": "resolved", "actor": "a", "category": "other", "agent_id": "a"}
        ),
        ComplaintClosed(complaint_id="k", actor="a", category="other"),
        ComplaintSlaBreached(complaint_id="k", which="resolve", due_at=now),
        ComplaintSlaBreached(complaint_id="k", which="acknowledge", due_at=now),
        clock("acknowledge", 100.0, category="other", agent="a"),
        clock("resolve", 100.0, category="other", agent="a"),
        ComplaintEscalated(complaint_id="k", reason="r"),
        FeedbackReceived(subject_type="service", score=3, score_100=60, channel="onsite", agent_id="a", room_id="R1"),
        IntakeRejected(channel="chat", reason="r", dead_letter_queue="d"),
        MessageRejected(queue="q", routing_key="k", reason="r", dead_letter_queue="d"),
        CommandRejected(command="c", reason="r"),
        MessageReplayed(dead_letter_queue="d", exchange="meetdesk.events", routing_key="k", actor="ops"),
        DueItemParked(service="booking", kind="k", key="b", due_at=now, attempts=5, reason="r"),
    ]  # fmt: skip


def test_every_declared_metric_is_emitted_by_some_rule_in_every_declared_dimension():
    emitted: dict[str, set[str]] = {}
    for data in samples():
        for fact in domain.facts(event(data), HK):
            assert fact.dim_kind in {domain.ALL, *get_args(domain.DimKind)}
            emitted.setdefault(fact.metric, set()).add(fact.dim_kind)
    assert {m: dims - {"all"} for m, dims in emitted.items()} == {m: set(x.by) for m, x in domain.METRICS.items()}
    assert all("all" in dims for dims in emitted.values())


def test_a_group_leaves_unknown_figures_null_not_zero():
    rows = [
        f("bookings_requested", 4),
        f("bookings_confirmed", 3),
        f("bookings_requested", 4, kind="channel", value="phone"),
        f("complaints_registered", 2, kind="channel", value="phone"),
        f("inquiries", 8, kind="channel", value="phone"),
    ]
    out = domain.kpis(rows, "channel")
    assert out["totals"]["bookings"]["confirmation_rate"] == 0.75
    [phone] = out["groups"]
    assert phone["key"] == "phone"
    # booking.confirmed carries no channel: neither a count nor a rate per channel
    assert phone["bookings"]["requested"] == 4
    assert phone["bookings"]["confirmed"] is None
    assert phone["bookings"]["confirmation_rate"] is None
    assert phone["complaint_rate"] == 0.25
    assert phone["complaints"]["resolved"] is None
    assert phone["resolution_rate"] is None
    assert phone["sla_breaches"]["total"] is None
    assert phone["satisfaction"] == {"responses": 0, "average": None, "grade": None}
    by_agent = domain.kpis([f("inquiries", 5, kind="agent", value="ag-1")], "agent")["groups"][0]
    assert by_agent["complaint_rate"] is None  # complaints are not registered per agent


def clock(which: str, elapsed: float, *, target: float = 7200.0, transition: str = "met", cycle: int = 1, **dims: str):
    return ComplaintClock(
        complaint_id="k-1",
        which=which,
        transition=transition,
        at=BEFORE_MIDNIGHT,
        cycle=cycle,
        seq=3,
        target_seconds=target,
        elapsed_seconds=elapsed,
        severity="normal",
        category=dims.get("category"),
        agent_id=dims.get("agent"),
    )


def test_a_formal_reply_within_its_target_counts_as_met_in_time_with_its_counted_seconds():
    got = domain.facts(event(clock("acknowledge", 5400.0, category="catering", agent="ag-1")), HK)
    figures = domain.kpis(got, "agent")
    ack = figures["totals"]["sla"]["acknowledge"]
    assert (ack["met"], ack["met_in_time"], ack["compliance"], ack["average_seconds"]) == (1, 1, 1.0, 5400.0)
    assert [(g["key"], g["sla"]["acknowledge"]["compliance"]) for g in figures["groups"]] == [("ag-1", 1.0)]
    assert {f.day for f in got} == {date(2026, 3, 1)}, "the day it was met, in venue time"


def test_a_target_met_late_lowers_compliance_and_other_transitions_count_nothing():
    late = domain.facts(event(clock("resolve", 9000.0)), HK)
    on_time = domain.facts(event(clock("resolve", 100.0, cycle=2)), HK)
    paused = domain.facts(event(clock("resolve", 50.0, transition="paused")), HK)
    assert paused == []
    resolve = domain.kpis(late + on_time, "day")["totals"]["sla"]["resolve"]
    assert (resolve["met"], resolve["met_in_time"], resolve["compliance"]) == (2, 1, 0.5)


def test_a_met_clock_event_counts_once_per_complaint_target_and_cycle():
    facts = domain.facts(event(clock("acknowledge", 10.0)), HK)
    keys_ = domain.once_keys(facts)
    assert keys_ == ["sla-met:k-1:acknowledge:1"]
    assert domain.counted(facts, {keys_[0]: False}) == [], "the same met, again (a replay): nothing more"
