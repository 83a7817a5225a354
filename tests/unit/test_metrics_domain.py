"""Metrics rules on the plain domain: events → records, records → states and facts, facts → KPI figures."""

from __future__ import annotations

import itertools
import random
import uuid
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.metrics import domain
from services.metrics.domain import Bucket, Fact, Policy, Projection, Record
from services.metrics.domain.projection import Days, contributions, entity_facts, event_facts
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
    MessageRejected,
    MessageReplayed,
    NotificationFailed,
    NotificationRequested,
    Slot,
    make_event,
)

HK = ZoneInfo("Asia/Hong_Kong")
POLICY = Policy(tz=HK, answer_target_seconds=15, callback_within_seconds=86_400)
DAYS = Days(HK)
# 2026-03-01 15:30 UTC is 23:30 in Hong Kong; 16:30 UTC is already 2 March there.
BEFORE_MIDNIGHT = datetime(2026, 3, 1, 15, 30, tzinfo=UTC)
AFTER_MIDNIGHT = datetime(2026, 3, 1, 16, 30, tzinfo=UTC)
D1, D2 = date(2026, 3, 1), date(2026, 3, 2)
T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 10:00 in Hong Kong, 2 March
START = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)
END = START + timedelta(hours=2)


def event(data: EventData, at: datetime = BEFORE_MIDNIGHT) -> Envelope:
    return make_event(data, producer="test", correlation_id=uuid.uuid4(), occurred_at=at)


def rec(data: EventData, at: datetime = BEFORE_MIDNIGHT) -> Record:
    found = domain.record(event(data, at))
    assert isinstance(found, Record), found
    return found


def inquiry(intent: str = "inquiry", **kw: Any) -> InquiryReceived:
    values: dict[str, Any] = {
        "inquiry_id": str(uuid.uuid4()),
        "channel": "email",
        "source_ref": "<m1@example.com>",
        "conversation_id": "conv-1",
        "customer": CustomerRef(customer_id="cust-1", name="Chan Tai Man", email="a@example.com", phone="+85221234567"),
        "intent": intent,
        "language": "en",
        "subject": "Room for 20",
        "text": "call me on +852 2123 4567",
        "received_at": BEFORE_MIDNIGHT,
    }
    return InquiryReceived(**(values | kw))


def facts_of(data: EventData, at: datetime = BEFORE_MIDNIGHT) -> set[tuple[Any, ...]]:
    return {
        (f.day, f.metric, f.channel, f.agent, f.category, f.room, f.value) for f in event_facts(rec(data, at), DAYS)
    }


def project(*records: Record, policy: Policy = POLICY) -> Counter[Fact]:
    p = Projection(policy)
    for r in records:
        p.apply(r)
    p.changed()
    return Counter(p.nonzero())


def counts(c: Counter[Fact], metric: str, **dims: Any) -> int:
    return sum(n for f, n in c.items() if f.metric == metric and all(getattr(f, k) == v for k, v in dims.items()))


def values(c: Counter[Fact], metric: str) -> list[int]:
    return sorted(itertools.chain.from_iterable([f.value] * n for f, n in c.items() if f.metric == metric))


# == records =============================================================================================
def test_an_inquiry_is_recorded_on_the_venue_day_meetdesk_received_it_without_personal_data():
    r = rec(inquiry("complaint", category="catering", agent_id="ag-7", received_at=AFTER_MIDNIGHT), at=BEFORE_MIDNIGHT)
    assert (r.type, r.at, DAYS.of(r.at)) == ("inquiry.received", BEFORE_MIDNIGHT, D1)
    assert (r.channel, r.agent, r.category, r.room, r.value) == ("email", "ag-7", "catering", None, None)
    assert r.attrs == {
        "intent": "complaint",
        "customer_id": "cust-1",
        "conversation_id": "conv-1",
        "sent_at": AFTER_MIDNIGHT.isoformat(),  # the sender's own time, kept as data
    }
    assert "example.com" not in repr(r) and "2123" not in repr(r) and "Chan" not in repr(r)


def test_a_bounced_notification_counts_per_channel_without_the_address():
    bounce = NotificationFailed(
        channel="email",
        address="mei@example.com",
        customer_id="cust-1",
        status="5.1.1",
        failed_at=AFTER_MIDNIGHT,
        report_ref="<r1@mx.example.com>",
    )
    r = rec(bounce, at=BEFORE_MIDNIGHT)
    assert (r.subject, r.channel, DAYS.of(r.at)) == ("cust-1", "email", D1)
    assert "example.com" not in repr(r)
    assert {(day, metric, channel) for day, metric, channel, *_ in facts_of(bounce)} == {
        (D1, "notifications_failed", "email")
    }


def test_a_form_dated_next_month_by_its_sender_counts_on_the_day_meetdesk_received_it():
    next_month = BEFORE_MIDNIGHT + timedelta(days=31)
    facts = facts_of(inquiry(received_at=next_month), at=BEFORE_MIDNIGHT)
    assert {day for day, *_ in facts} == {D1}


def test_the_time_a_record_counts_on_is_the_events_own():
    call = CallMissed(call_id="u1", phone="+85221234567", disposition="NO ANSWER", started_at=AFTER_MIDNIGHT)
    assert rec(call, at=AFTER_MIDNIGHT + timedelta(days=3)).at == AFTER_MIDNIGHT
    reply = AgentReplied(conversation_id="c", channel="chat", replied_at=AFTER_MIDNIGHT, first_reply=True)
    assert rec(reply, at=T0).at == AFTER_MIDNIGHT
    rejected = BookingRejected(inquiry_id="i", customer_id="c", reason="r", reason_code="room_too_small")
    assert rec(rejected, at=AFTER_MIDNIGHT).at == AFTER_MIDNIGHT  # no better time in the data: when it happened


def test_a_response_time_from_another_system_is_never_negative_and_may_be_unknown():
    skewed = AgentReplied(conversation_id="c", channel="email", replied_at=T0, first_reply=True, response_seconds=-3)
    assert rec(skewed).value == 0.0
    unknown = AgentReplied(conversation_id="c", channel="email", replied_at=T0, first_reply=False)
    assert rec(unknown).value is None


def test_types_no_kpi_reads_are_not_recorded_and_broken_data_is_refused_naming_the_field_only():
    assert domain.record(event(NotificationRequested(channel="email", template="ack", language="en"))) is None
    other = event(inquiry()).model_copy(update={"type": "something.new", "data": {"x": 1}})
    assert domain.record(other) is None
    broken = event(inquiry()).model_copy(update={"data": {"inquiry_id": "x", "channel": "+852 2123 4567"}})
    refusal = domain.record(broken)
    assert isinstance(refusal, domain.Refusal)
    assert refusal.reason.startswith("inquiry.received data invalid: ")
    assert "channel: Input should be" in refusal.reason and "2123" not in refusal.reason


def test_long_dimension_values_are_cut_and_unknown_intake_channels_are_no_dimension():
    data = FeedbackReceived(subject_type="service", score=5, score_100=100, channel="chat", agent_id="a" * 500)
    assert len(rec(data).agent or "") == 200
    assert rec(IntakeRejected(channel="fax", reason="?", dead_letter_queue="q")).channel is None
    assert rec(IntakeRejected(channel="email", reason="?", dead_letter_queue="q")).channel == "email"


def test_customer_links_keep_only_the_kinds_of_identities_and_merged_record_ids():
    data = CustomerLinked(
        customer_id="c-1",
        identities=[{"kind": "email", "value": "a@example.com"}, {"kind": "customer_id", "value": "c-0"}],
        evidence="same email",
    )
    r = rec(data)
    assert r.attrs == {"kinds": ["customer_id", "email"], "customer_ids": ["c-0"]}
    assert "example.com" not in repr(r)


# == event facts =========================================================================================
def test_an_inquiry_counts_with_its_channel_agent_and_complaint_category():
    assert facts_of(inquiry(agent_id="ag-1")) == {(D1, "inquiries", "email", "ag-1", "", "", 0)}
    assert facts_of(inquiry("complaint", category="catering")) == {
        (D1, "inquiries", "email", "", "catering", "", 0),
        (D1, "complaints_received", "email", "", "catering", "", 0),
    }


def test_replies_first_next_and_phone_answers_in_whole_seconds():
    first = AgentReplied(conversation_id="c", channel="chat", agent_id="ag-1", replied_at=T0, first_reply=True,
                         response_seconds=90.5)  # fmt: skip
    assert facts_of(first) == {
        (D2, "agent_replies", "chat", "ag-1", "", "", 0),
        (D2, "first_response", "chat", "ag-1", "", "", 91),  # half up
    }
    later = AgentReplied(conversation_id="c", channel="email", agent_id="ag-1", replied_at=T0, first_reply=False,
                         response_seconds=60.4)  # fmt: skip
    assert (D2, "next_response", "email", "ag-1", "", "", 60) in facts_of(later)
    unasked = AgentReplied(conversation_id="c", channel="email", replied_at=T0, first_reply=False)
    assert {f[1] for f in facts_of(unasked)} == {"agent_replies"}
    answered = AgentReplied(conversation_id="call:1", channel="phone", agent_id="ag-2", replied_at=T0,
                            first_reply=True, response_seconds=12)  # fmt: skip
    assert (D2, "phone_answered", "phone", "ag-2", "", "", 12) in facts_of(answered)


def test_other_event_facts():
    assert facts_of(CallMissed(call_id="u", disposition="BUSY", started_at=T0)) == {
        (D2, "calls_missed", "phone", "", "", "", 0)
    }
    fb = FeedbackReceived(subject_type="booking", subject_id="b", score=4, score_100=80, channel="survey",
                          agent_id="ag-1", room_id="R1")  # fmt: skip
    assert facts_of(fb, T0) == {(D2, "satisfaction", "survey", "ag-1", "", "R1", 4)}
    assert facts_of(BookingRejected(inquiry_id="i", customer_id="c", reason="r", reason_code="no_room_fits")) == {
        (D1, "bookings_rejected", "", "", "no_room_fits", "", 0)
    }
    cancelled = BookingCancelled(booking_id="b", customer_id="c", room_id="R2", start=START, end=END, actor="x")
    assert facts_of(cancelled) == {(D1, "bookings_cancelled", "", "", "", "R2", 0)}
    released = BookingReleased(booking_id="b", customer_id="c", room_id="R2", start=START, end=END, reason="no_show")
    assert facts_of(released) == {(D1, "no_shows", "", "", "", "R2", 0)}
    overdue = BookingPreparationOverdue(booking_id="b", room_id="R3", department="catering", task="t", due_by=START)
    assert facts_of(overdue) == {(D1, "preparation_overdue", "", "", "catering", "R3", 0)}
    breach = ComplaintSlaBreached(complaint_id="k", which="resolve", due_at=T0)
    assert facts_of(breach) == {(D1, "sla_breaches", "", "", "", "", 2)}
    for data in (
        IntakeRejected(channel="email", reason="bad", dead_letter_queue="q"),
        MessageRejected(queue="q", routing_key="k", reason="bad", dead_letter_queue="q.dlq"),
        CommandRejected(command="booking.cancel", reason="no"),
    ):
        assert {f[1] for f in facts_of(data)} == {"rejected_messages"}
    replay = MessageReplayed(dead_letter_queue="q", exchange="e", routing_key="k", actor="ops")
    assert facts_of(replay, AFTER_MIDNIGHT) == {(D2, "replayed_messages", "", "", "", "", 0)}
    parked = DueItemParked(service="s", kind="k", key="k", due_at=T0 - timedelta(days=5), attempts=5, reason="x")
    assert facts_of(parked, AFTER_MIDNIGHT) == {(D2, "due_items_parked", "", "", "", "", 0)}


def test_a_metric_takes_only_the_dimensions_it_is_declared_with():
    with pytest.raises(TypeError):
        domain.METRICS["calls_missed"](D1, agent="ag-1")
    with pytest.raises(ValueError):
        domain.Metric("inquiries")


# == complaints: state and cohort facts ========================================================================
class Complaint:
    """Events of one complaint, built in order (each event at its own minute)."""

    def __init__(self, complaint_id: str = "k1", *, channel: str = "phone", category: str = "catering"):
        self.id, self.channel, self.category = complaint_id, channel, category
        self.t = T0
        self.records: list[Record] = []
        self.status = "registered"
        self.seq = 0

    def _at(self, minutes: float) -> datetime:
        self.t += timedelta(minutes=minutes)
        return self.t

    def registered(self, agent: str | None = "ag-1", *, step: str | None = None, booking: str | None = None
                   ) -> Complaint:  # fmt: skip
        at = self.t
        self.records.append(rec(ComplaintRegistered(
            complaint_id=self.id, channel=self.channel, category=self.category, severity="normal",  # type: ignore[arg-type]
            registered_at=at, acknowledge_due_at=at + timedelta(hours=2), resolve_due_at=at + timedelta(hours=72),
            service_step=step, booking_id=booking,  # type: ignore[arg-type]
        ), at))  # fmt: skip
        for which in ("acknowledge", "resolve"):
            self.clock(which, "started", 0, agent=agent, at=at)
        return self

    def clock(self, which: str, transition: str, elapsed: float, *, agent: str | None, at: datetime | None = None,
              cycle: int = 1, target: float | None = None) -> Complaint:  # fmt: skip
        self.seq += 1
        at = at or self._at(1)
        self.records.append(rec(ComplaintClock(
            complaint_id=self.id, which=which, transition=transition, at=at, cycle=cycle, seq=self.seq,  # type: ignore[arg-type]
            target_seconds=target or (7200.0 if which == "acknowledge" else 259_200.0), elapsed_seconds=elapsed,
            severity="normal", category=self.category, agent_id=agent,  # type: ignore[arg-type]
        ), at))  # fmt: skip
        return self

    def status_to(self, to: str, *, agent: str | None = "ag-2", minutes: float = 60, first_contact: bool | None = None,
                  step: str | None = None, cause: str | None = None) -> Complaint:  # fmt: skip
        at = self._at(minutes)
        data = ComplaintStatusChanged.model_validate(
            {"complaint_id": self.id, "from": self.status, "to": to, "actor": agent or "sup", "category": self.category,
             "agent_id": agent, "first_contact": first_contact, "service_step": step, "root_cause": cause}
        )  # fmt: skip
        self.records.append(rec(data, at))
        self.status = to
        return self

    def other(self, data: EventData, minutes: float = 1) -> Complaint:
        self.records.append(rec(data, self._at(minutes)))
        return self

    def facts(self) -> Counter[Fact]:
        return project(*self.records)


def test_a_complaint_resolved_in_time_counts_in_its_registration_days_cohort():
    c = (
        Complaint().registered()
        .status_to("acknowledged").clock("acknowledge", "met", 3600, agent="ag-2")
        .status_to("investigating", minutes=600).status_to("solution_proposed").status_to("in_progress")
        .status_to("resolved", minutes=1000).clock("resolve", "met", 100_000, agent="ag-2")
    )  # fmt: skip
    f = c.facts()
    dims = {"day": D2, "channel": "phone", "agent": "ag-2", "category": "catering"}
    for metric in ("complaints_registered", "cohort_resolved", "cohort_resolved_in_time", "cohort_ever_resolved"):
        assert counts(f, metric, **dims) == 1, metric
    for metric in ("cohort_reopened", "cohort_first_contact", "complaints_withdrawn", "complaints_about_agent"):
        assert counts(f, metric) == 0, metric
    resolved_at = c.records[-2].at
    assert values(f, "handling_time") == [round((resolved_at - T0).total_seconds())]
    assert counts(f, "complaints_resolved", day=DAYS.of(resolved_at)) == 1
    assert values(f, "sla_acknowledge_met") == [3600]
    assert counts(f, "sla_acknowledge_in_time", agent="ag-2") == 1
    assert counts(f, "sla_resolve_in_time") == 1 and counts(f, "sla_resolve_late") == 0


def test_a_reopened_complaint_leaves_the_resolved_cohort_until_resolved_again():
    c = Complaint().registered().status_to("acknowledged").status_to("in_progress").status_to("resolved")
    c.clock("resolve", "met", 10_000, agent="ag-2")
    c.status_to("investigating")  # a low score reopened it
    c.clock("resolve", "started", 0, agent="ag-2", cycle=2)
    open_again = c.facts()
    assert counts(open_again, "cohort_resolved") == 0
    assert counts(open_again, "cohort_reopened") == 1
    assert counts(open_again, "cohort_ever_resolved") == 1  # the handling time is to the first resolution
    assert counts(open_again, "complaints_resolved") == 1
    c.status_to("resolved", minutes=5000).clock("resolve", "met", 300_000, agent="ag-2", cycle=2)  # late this time
    again = c.facts()
    assert counts(again, "cohort_resolved") == 1 and counts(again, "cohort_reopened") == 1
    assert counts(again, "cohort_resolved_in_time") == 0  # one of its resolutions missed its target
    assert counts(again, "sla_resolve_in_time") == 1 and counts(again, "sla_resolve_late") == 1
    assert counts(again, "complaints_resolved") == 1  # resolved once, in the count of resolutions per day
    c.other(ComplaintClosed(complaint_id="k1", actor="sup", category="catering"), minutes=60)
    c.status_to("closed")
    closed = c.facts()
    assert counts(closed, "cohort_resolved") == 1 and counts(closed, "complaints_closed") == 1
    c.status_to("investigating")  # reopened after it was closed
    assert counts(c.facts(), "cohort_resolved") == 0


def test_first_contact_resolution_and_withdrawal():
    fcr = Complaint().registered().status_to("resolved", first_contact=True, minutes=5)
    f = fcr.facts()
    assert counts(f, "cohort_first_contact") == 1 and counts(f, "cohort_resolved") == 1
    assert values(f, "handling_time") == [300]
    withdrawn = Complaint("k2").registered().status_to("acknowledged").status_to("withdrawn")
    f = withdrawn.facts()
    assert counts(f, "complaints_registered") == 1 and counts(f, "complaints_withdrawn") == 1
    assert counts(f, "cohort_resolved") == 0 and counts(f, "handling_time") == 0


def test_sla_targets_decided_late_by_a_breach_or_by_the_elapsed_time_for_the_agent_of_that_moment():
    c = Complaint().registered(agent="ag-1")
    c.clock("acknowledge", "breached", 7200, agent="ag-1", at=T0 + timedelta(hours=2))
    c.status_to("acknowledged", agent="ag-3", minutes=200).clock("acknowledge", "met", 9000, agent="ag-3")
    f = c.facts()
    assert counts(f, "sla_acknowledge_late", agent="ag-1") == 1  # decided by the breach, while ag-1 had it
    assert counts(f, "sla_acknowledge_in_time") == 0
    assert values(f, "sla_acknowledge_met") == [9000] and counts(f, "sla_acknowledge_met", agent="ag-3") == 1
    slow = Complaint("k2").registered().clock("acknowledge", "met", 7201, agent="ag-1")  # no breach event seen
    assert counts(slow.facts(), "sla_acknowledge_late") == 1


def test_escalations_count_by_level_on_their_day():
    c = Complaint().registered()
    for level in (1, 2, 2):
        c.other(ComplaintEscalated(complaint_id="k1", reason="overdue", level=level, which="resolve"), minutes=30)
    f = c.facts()
    assert values(f, "escalations") == [1, 2, 2]
    assert counts(f, "escalations", channel="phone", category="catering") == 3


def test_a_service_attitude_complaint_is_about_the_agent_named_when_it_was_registered():
    c = Complaint(category="service_attitude").registered(agent="ag-9").status_to("acknowledged", agent="ag-2")
    f = c.facts()
    assert counts(f, "complaints_about_agent", agent="ag-9") == 1
    assert counts(f, "complaints_registered", agent="ag-2") == 1  # handled by ag-2 now
    assert counts(Complaint("k2").registered(agent="ag-9").facts(), "complaints_about_agent") == 0  # catering


def test_the_complaint_survey_cohort_is_the_day_it_was_asked():
    c = Complaint().registered().status_to("resolved", first_contact=True)
    c.other(ComplaintSatisfactionRequested(complaint_id="k1", attempt=1, channel="phone"), minutes=0)
    assert counts(c.facts(), "complaint_surveys_requested") == 1
    assert counts(c.facts(), "complaint_surveys_answered") == 0
    c.other(ComplaintSatisfactionRecorded(complaint_id="k1", satisfied=True, score=4, source="agent", actor="ag"),
            minutes=60 * 24 * 3)  # fmt: skip
    f = c.facts()
    assert counts(f, "complaint_surveys_answered", day=D2) == 1


def test_a_complaint_counts_under_its_service_step_as_last_assessed_and_its_root_cause_once_found():
    c = Complaint().registered(step="catering").status_to("acknowledged", step="catering")
    c.status_to("investigating", step="on_site").status_to("solution_proposed", step="on_site", cause="staff_error")
    c.status_to("in_progress", step="on_site", cause="training_gap").status_to("resolved", step="on_site",
                                                                                cause="training_gap")  # fmt: skip
    f = c.facts()
    for metric in ("complaints_registered", "cohort_resolved", "cohort_ever_resolved", "handling_time",
                   "complaints_resolved"):  # fmt: skip
        assert counts(f, metric, service_step="on_site", cause="training_gap") == 1, metric
        assert counts(f, metric, cause="staff_error") == 0, metric
    early = Complaint("k2").registered(step="av").status_to("acknowledged").facts()  # an older producer: no step later
    assert counts(early, "complaints_registered", service_step="av", cause="") == 1


def test_a_complaint_about_a_booking_counts_against_that_meeting_and_a_survey_about_a_booking_is_per_meeting():
    f = project(*Complaint().registered(booking="bk-7").records)
    assert counts(f, "complaints_registered", meeting="bk-7") == 1
    assert counts(f, "cohort_resolved", meeting="bk-7") == 0  # only the registration names the meeting
    answer = FeedbackReceived(subject_type="booking", subject_id="bk-7", score=4, score_100=80, channel="survey")
    service = FeedbackReceived(subject_type="service", subject_id="x", score=2, score_100=40, channel="survey")
    done = BookingCompleted(booking_id="bk-7", customer_id="c", room_id="R1", start=START, end=END, checked_in=True)
    g = project(rec(answer, END + timedelta(hours=1)), rec(service), rec(done, END))
    assert values(g, "satisfaction") == [2, 4]
    assert counts(g, "satisfaction", meeting="bk-7", value=4) == 1 and counts(g, "satisfaction", meeting="") == 1
    for metric in ("meetings_completed", "booking_surveys_requested", "booking_surveys_answered"):
        assert counts(g, metric, meeting="bk-7", room="R1") == 1, metric


def test_figures_by_cause_service_step_and_meeting():
    by_cause = figs(("complaints_registered", 0, 3), ("cohort_resolved", 0, 2), ("inquiries", 0, 9),
                    ("satisfaction", 5, 1), grouped=("cause",))  # fmt: skip
    assert by_cause["complaints"]["registered"] == 3 and by_cause["resolution_rate"] == round(2 / 3, 4)
    assert by_cause["inquiries"] is None and by_cause["complaint_rate"] is None
    assert by_cause["satisfaction"]["responses"] is None  # a survey names no cause
    by_step = figs(("complaints_registered", 0, 2), ("sla_resolve_in_time", 0, 1), grouped=("service_step", "agent"))
    assert by_step["complaints"]["registered"] == 2 and by_step["sla"]["resolve"]["compliance"] == 1.0
    meeting = figs(("satisfaction", 4, 1), ("satisfaction", 5, 1), ("meetings_completed", 0, 1),
                   ("complaints_registered", 0, 1), ("cohort_resolved", 0, 1), grouped=("meeting",))  # fmt: skip
    assert meeting["satisfaction"]["average"] == 90.0 and meeting["satisfaction"]["grade"] == "excellent"
    assert meeting["complaints"]["per_meeting_held"] == 1.0 and meeting["complaints"]["cohort"]["resolved"] is None


def test_a_complaints_events_in_any_order_give_the_same_facts():
    c = (
        Complaint().registered()
        .clock("acknowledge", "breached", 7200, agent="ag-1", at=T0 + timedelta(hours=2))
        .status_to("acknowledged", minutes=200).clock("acknowledge", "met", 9000, agent="ag-2")
        .other(ComplaintEscalated(complaint_id="k1", reason="overdue", level=1))
        .status_to("in_progress").status_to("resolved").clock("resolve", "met", 30_000, agent="ag-2")
        .status_to("investigating").status_to("resolved")
        .other(ComplaintClosed(complaint_id="k1", actor="sup", category="catering")).status_to("closed")
    )  # fmt: skip
    expected = c.facts()
    rng = random.Random(3)
    for _ in range(20):
        shuffled = c.records[:]
        rng.shuffle(shuffled)
        assert project(*shuffled) == expected


# == bookings, requests, customers ============================================================================
def confirmed(
    booking_id: str = "b1", inquiry_id: str = "i1", room: str = "R1", start: datetime = START
) -> BookingConfirmed:
    return BookingConfirmed(booking_id=booking_id, inquiry_id=inquiry_id, room_id=room, start=start,
                            end=start + timedelta(hours=2), attendees=5, customer_id="c", name="Board")  # fmt: skip


def requested(inquiry_id: str = "i1", channel: str = "webform", room: str | None = None) -> BookingRequested:
    return BookingRequested(inquiry_id=inquiry_id, customer_id="c", channel=channel, language="en",  # type: ignore[arg-type]
                            meeting={"name": "Board", "start": START, "end": END, "attendees": 5, "room_id": room})  # type: ignore[arg-type]  # fmt: skip


def test_a_request_confirms_once_however_many_occurrences_and_counts_on_the_day_requested():
    occurrences = [rec(confirmed(f"b{w}", start=START + timedelta(weeks=w)), AFTER_MIDNIGHT) for w in range(3)]
    f = project(rec(requested(), BEFORE_MIDNIGHT), *occurrences)
    assert counts(f, "bookings_requested", day=D1, channel="webform", room="R1") == 1
    assert counts(f, "requests_confirmed", day=D1, channel="webform") == 1
    assert counts(f, "bookings_confirmed", day=D2, room="R1") == 1
    assert counts(f, "bookings_confirmed_occurrences") == 3
    rejected = BookingRejected(inquiry_id="i2", customer_id="c", reason="r", reason_code="no_room_fits")
    f = project(rec(requested("i2", room="R9")), rec(rejected))
    assert counts(f, "bookings_requested", room="R9") == 1 and counts(f, "requests_confirmed") == 0


def test_a_meeting_is_held_when_completed_or_when_its_end_has_passed_uncancelled():
    f = project(rec(confirmed()))
    [scheduled] = [x for x in f if x.metric == "meetings_scheduled"]
    assert (scheduled.day, scheduled.room, scheduled.value) == (date(2026, 3, 10), "R1", int(END.timestamp()))
    done = BookingCompleted(booking_id="b1", customer_id="c", room_id="R1", start=START, end=END, checked_in=True)
    f = project(rec(confirmed()), rec(done, END))
    assert counts(f, "meetings_completed", room="R1") == 1 and counts(f, "meetings_scheduled") == 0
    assert counts(f, "booking_surveys_requested") == 1
    for gone in (
        BookingCancelled(booking_id="b1", customer_id="c", room_id="R1", start=START, end=END, actor="x"),
        BookingReleased(booking_id="b1", customer_id="c", room_id="R1", start=START, end=END, reason="no_show"),
    ):
        f = project(rec(confirmed()), rec(gone))
        assert counts(f, "meetings_scheduled") == 0 and counts(f, "meetings_completed") == 0


def test_a_rescheduled_meeting_is_held_on_its_new_day_and_the_latest_move_wins():
    moves = [
        BookingRescheduled(booking_id="b1", customer_id="c", room_id="R2", previous=Slot(room_id="R1", start=START,
                           end=END), start=START + timedelta(days=d), end=END + timedelta(days=d), actor="a")
        for d in (1, 3)
    ]  # fmt: skip
    for order in ([0, 1], [1, 0]):
        f = project(rec(confirmed()), *[rec(moves[i], T0 + timedelta(hours=i)) for i in order])
        [scheduled] = [x for x in f if x.metric == "meetings_scheduled"]
        assert (scheduled.day, scheduled.room) == (date(2026, 3, 13), "R2")


def test_a_booking_survey_answer_counts_for_the_day_the_survey_was_asked():
    done = BookingCompleted(booking_id="b1", customer_id="c", room_id="R1", start=START, end=END, checked_in=True)
    answer = FeedbackReceived(subject_type="booking", subject_id="b1", score=5, score_100=100, channel="survey")
    f = project(rec(answer, END + timedelta(days=2)), rec(confirmed()), rec(done, END))  # the answer first
    assert counts(f, "booking_surveys_answered", day=date(2026, 3, 10), room="R1") == 1


def phone_inquiry(customer: str, at: datetime) -> Record:
    return rec(inquiry(channel="phone", customer=CustomerRef(customer_id=customer), received_at=at), at)


def missed(customer: str | None, at: datetime, call_id: str = "u1") -> Record:
    return rec(CallMissed(call_id=call_id, customer_id=customer, disposition="NO ANSWER", started_at=at), at)


def test_a_missed_call_is_called_back_by_the_next_answered_call_with_the_customer_within_the_window():
    f = project(
        missed("c1", T0), phone_inquiry("c1", T0 + timedelta(hours=3)), phone_inquiry("c1", T0 + timedelta(hours=5))
    )
    assert values(f, "callbacks") == [3 * 3600]
    too_late = project(missed("c1", T0), phone_inquiry("c1", T0 + timedelta(hours=25)))
    assert values(too_late, "callbacks") == []
    before = project(phone_inquiry("c1", T0 - timedelta(hours=1)), missed("c1", T0))
    assert values(before, "callbacks") == []
    anonymous = project(missed(None, T0), phone_inquiry("c1", T0 + timedelta(hours=1)))
    assert values(anonymous, "callbacks") == []
    wider = Policy(tz=HK, callback_within_seconds=2 * 86_400)
    assert values(project(missed("c1", T0), phone_inquiry("c1", T0 + timedelta(hours=25)), policy=wider), "callbacks")


def link(survivor: str, other: str, at: datetime, *, linked: bool = True) -> Record:
    identities = [{"kind": "customer_id", "value": other}, {"kind": "email", "value": "a@example.com"}]
    if linked:
        return rec(CustomerLinked(customer_id=survivor, identities=identities, evidence="same email"), at)
    return rec(CustomerUnlinked(customer_id=survivor, identities=identities, reason="two people"), at)


def test_a_call_back_under_a_record_linked_with_the_callers_counts_in_any_order_and_an_unlink_parts_them():
    calls = [missed("c2", T0), phone_inquiry("c1", T0 + timedelta(hours=2))]
    assert values(project(*calls), "callbacks") == []  # two records, no link: two customers
    linked = link("c1", "c2", T0 + timedelta(days=3))  # the link may come days later: the figure follows it
    for order in itertools.permutations([*calls, linked]):
        assert values(project(*order), "callbacks") == [2 * 3600], order
    parted = link("c1", "c2", T0 + timedelta(days=4), linked=False)
    for order in itertools.permutations([*calls, linked, parted]):
        assert values(project(*order), "callbacks") == [], order
    again = link("c1", "c2", T0 + timedelta(days=5))
    assert values(project(*calls, parted, again, linked), "callbacks") == [2 * 3600]


def test_records_linked_through_a_third_are_one_customer_counted_once():
    records = [
        missed("c3", T0, "u1"), missed("c1", T0 + timedelta(minutes=5), "u2"),
        phone_inquiry("c2", T0 + timedelta(hours=1)),
        link("c1", "c2", T0), link("c2", "c3", T0),
    ]  # fmt: skip
    assert values(project(*records), "callbacks") == [3300, 3600]
    states = Projection(POLICY)
    for r in records:
        states.apply(r)
    assert values(domain.facts_of_states(states.states, POLICY), "callbacks") == [3300, 3600]


# == states ===================================================================================================
def complaint_parts() -> list[tuple[str, dict[str, Any]]]:
    c = (
        Complaint().registered()
        .clock("acknowledge", "breached", 7200, agent="ag-1", at=T0 + timedelta(hours=2))
        .status_to("acknowledged", minutes=200).clock("acknowledge", "met", 9000, agent="ag-2")
        .other(ComplaintEscalated(complaint_id="k1", reason="overdue", level=2))
        .status_to("resolved").status_to("investigating").status_to("resolved")
    )  # fmt: skip
    return [p for r in c.records for p in contributions(r)]


@settings(max_examples=60, deadline=None)
@given(st.randoms(use_true_random=False))
def test_merging_contributions_in_any_order_and_grouping_gives_one_state(rnd: random.Random):
    parts = complaint_parts()
    entity = parts[0][0]
    expected = None
    for _, part in parts:
        expected = domain.merge(entity, expected, part)
    shuffled = parts[:]
    rnd.shuffle(shuffled)
    cut = rnd.randrange(len(shuffled) + 1)
    left = right = None
    for _, part in shuffled[:cut]:
        left = domain.merge(entity, left, part)
    for _, part in shuffled[cut:]:
        right = domain.merge(entity, right, part)
    combined = right if left is None else (left if right is None else domain.merge(entity, left, right))
    assert combined == expected


def test_a_projection_takes_out_what_a_state_no_longer_stands_for():
    c = Complaint().registered().status_to("resolved", first_contact=True)
    p = Projection(POLICY)
    for r in c.records:
        p.apply(r)
    first = p.changed()
    assert counts(Counter(p.nonzero()), "cohort_resolved") == 1
    later = Projection(POLICY, first)  # the stored state, as the next batch loads it
    c.status_to("investigating")
    later.apply(c.records[-1])
    later.changed()
    assert counts(Counter(later.nonzero()), "cohort_resolved") == -1
    assert counts(Counter(later.nonzero()), "cohort_reopened") == 1


def test_the_facts_of_entity_states_of_unknown_kinds_are_none():
    assert entity_facts("other:1", {"x": 1}, DAYS, POLICY) == []


# == figures ==================================================================================================
@pytest.mark.parametrize(
    ("data", "median", "p90"),
    [([5], 5, 5), ([1, 3], 2, 3), ([1, 2, 3], 2, 3), ([4, 1, 3, 2], 2.5, 4), (list(range(1, 11)), 5.5, 9),
     (list(range(1, 12)), 6, 10), ([7] * 9 + [100], 7, 7), ([7] * 8 + [100] * 2, 7, 100)],
)  # fmt: skip
def test_median_and_nearest_rank_p90(data: list[int], median: float, p90: float):
    hist = Counter(data)
    assert domain.median(hist) == median
    assert domain.p90(hist) == p90
    assert domain.median({}) is None and domain.p90({}) is None


def bucket(*items: tuple[str, int, int], grouped: tuple[str, ...] = ()) -> Bucket:
    b = Bucket(grouped)
    for metric, value, count in items:
        b.add(metric, value, count)
    return b


def figs(*items: tuple[str, int, int], grouped: tuple[str, ...] = (), now: float = 2e9) -> dict[str, Any]:
    return domain.figures(bucket(*items, grouped=grouped), now=now, answer_target_seconds=15)


def test_response_times_mean_median_p90():
    f = figs(("first_response", 30, 3), ("first_response", 90, 1), ("next_response", 600, 2), ("agent_replies", 0, 7))
    assert f["first_response"] == {"replies": 4, "average_seconds": 45.0, "median_seconds": 30.0, "p90_seconds": 90.0}
    assert f["next_response"] == {"replies": 2, "average_seconds": 600.0, "median_seconds": 600.0,
                                  "p90_seconds": 600.0}  # fmt: skip
    assert f["agent_replies"] == 7


def test_phone_answered_within_target_missed_call_rate_and_callbacks():
    f = figs(("phone_answered", 5, 6), ("phone_answered", 15, 2), ("phone_answered", 16, 2), ("calls_missed", 0, 5),
             ("callbacks", 3600, 1), ("callbacks", 7200, 2))  # fmt: skip
    assert f["phone"] == {
        "answered": 10, "missed": 5, "calls": 15, "missed_call_rate": 0.3333, "target_seconds": 15,
        "answered_within_target": 8, "answered_within_target_rate": 0.8, "callbacks": 3, "callback_rate": 0.6,
        "callback_median_seconds": 7200.0,
    }  # fmt: skip
    assert f["missed_calls"] == 5


def test_complaint_cohort_rates_and_handling_time():
    f = figs(("complaints_registered", 0, 10), ("complaints_withdrawn", 0, 2), ("cohort_resolved", 0, 6),
             ("cohort_resolved_in_time", 0, 4), ("cohort_ever_resolved", 0, 7), ("cohort_reopened", 0, 2),
             ("cohort_first_contact", 0, 1), ("handling_time", 3600, 5), ("handling_time", 7200, 2),
             ("inquiries", 0, 100), ("escalations", 1, 3), ("escalations", 2, 1), ("meetings_completed", 0, 4),
             ("complaints_about_agent", 0, 2), ("agent_replies", 0, 50))  # fmt: skip
    c = f["complaints"]
    assert c["cohort"] == {
        "registered": 8, "resolved": 6, "resolved_in_time": 4, "ever_resolved": 7, "reopened": 2, "first_contact": 1,
        "resolution_rate": 0.75, "resolved_in_time_rate": 0.5, "reopen_rate": 0.2857, "first_contact_rate": 0.125,
    }  # fmt: skip
    assert f["resolution_rate"] == 0.75
    assert f["complaint_rate"] == 0.1
    assert (c["escalated"], c["escalations_by_level"]) == (4, {"1": 3, "2": 1, "3": 0})
    assert (c["per_meeting_held"], c["about_agent"], c["about_agent_per_reply"]) == (2.5, 2, 0.04)
    assert f["handling_time"] == {"count": 7, "average_seconds": 4628.6, "median_seconds": 3600.0,
                                  "p90_seconds": 7200.0}  # fmt: skip


def test_sla_compliance_is_in_time_over_decided():
    f = figs(("sla_acknowledge_met", 3600, 3), ("sla_acknowledge_met", 9000, 1), ("sla_acknowledge_in_time", 0, 3),
             ("sla_acknowledge_late", 0, 2), ("sla_breaches", 1, 2), ("sla_breaches", 2, 1))  # fmt: skip
    assert f["sla"]["acknowledge"] == {"met": 4, "met_in_time": 3, "late": 2, "compliance": 0.6,
                                       "average_seconds": 4950.0, "median_seconds": 3600.0,
                                       "p90_seconds": 9000.0}  # fmt: skip
    assert f["sla"]["resolve"]["compliance"] is None
    assert f["sla_breaches"] == {"total": 3, "acknowledge": 2, "resolve": 1}


def test_satisfaction_mean_share_score_and_grade():
    f = figs(("satisfaction", 5, 3), ("satisfaction", 4, 1), ("satisfaction", 2, 1))
    assert f["satisfaction"] == {"responses": 5, "average": 84.0, "grade": "good", "grade_zh": "良好",
                                 "mean_score": 4.2, "share_4_5": 0.8}  # fmt: skip
    # 89.996 is shown as 90.0 and graded as what is shown
    shown = figs(("satisfaction", 5, 4999), ("satisfaction", 4, 5001))["satisfaction"]  # 89.998
    assert (shown["average"], shown["grade"]) == (90.0, "excellent")
    assert figs()["satisfaction"] == {"responses": 0, "average": None, "grade": None, "grade_zh": None,
                                      "mean_score": None, "share_4_5": None}  # fmt: skip


@pytest.mark.parametrize(
    ("score", "grade", "zh"),
    [(100, "excellent", "優秀"), (90, "excellent", "優秀"), (89.99, "good", "良好"), (80, "good", "良好"),
     (79.5, "pass", "合格"), (60, "pass", "合格"), (59.99, "fail", "不合格"), (20, "fail", "不合格"),
     (None, None, None)],
)  # fmt: skip
def test_grades(score: float | None, grade: str | None, zh: str | None):
    assert (domain.grade(score), domain.grade_zh(score)) == (grade, zh)


def test_surveys_and_bookings():
    now = END.timestamp()
    f = figs(("booking_surveys_requested", 0, 4), ("booking_surveys_answered", 0, 1), ("bookings_requested", 0, 10),
             ("requests_confirmed", 0, 7), ("meetings_completed", 0, 2), ("meetings_scheduled", int(now), 1),
             ("meetings_scheduled", int(now) + 1, 5), ("complaints_registered", 0, 3), now=now)  # fmt: skip
    assert f["surveys"]["booking"] == {"requested": 4, "answered": 1, "response_rate": 0.25}
    assert f["surveys"]["complaint"] == {"requested": 0, "answered": 0, "response_rate": None}
    assert (f["bookings"]["confirmation_rate"], f["bookings"]["meetings_held"]) == (0.7, 3)
    assert f["complaints"]["per_meeting_held"] == 1.0


def test_zero_denominators_give_null_and_counts_zero():
    f = figs()
    assert (f["complaint_rate"], f["resolution_rate"], f["bookings"]["confirmation_rate"]) == (None, None, None)
    assert f["first_response"]["average_seconds"] is None and f["inquiries"] == 0


def test_a_figure_is_null_in_groups_by_a_dimension_its_metrics_do_not_carry():
    f = figs(("calls_missed", 0, 3), ("inquiries", 0, 5), ("rejected_messages", 0, 1), grouped=("agent",))
    assert f["missed_calls"] is None and f["phone"]["missed_call_rate"] is None
    assert f["inquiries"] == 5 and f["rejected_messages"] is None
    by_room = figs(("satisfaction", 4, 2), ("complaints_registered", 0, 1), ("meetings_completed", 0, 1),
                   grouped=("room",))  # fmt: skip
    assert by_room["satisfaction"]["average"] == 80.0 and by_room["bookings"]["meetings_held"] == 1
    assert by_room["complaints"]["per_meeting_held"] is None
    two = figs(("complaints_registered", 0, 2), ("satisfaction", 5, 1), grouped=("agent", "category"))
    assert two["complaints"]["registered"] == 2 and two["satisfaction"]["responses"] is None


def test_kpis_groups_keys_labels_and_totals():
    rows = [
        ((date(2026, 3, 2), "ag-1"), "inquiries", 0, 2),
        ((date(2026, 3, 2), ""), "inquiries", 0, 1),
        ((date(2026, 2, 23), "ag-2"), "inquiries", 0, 4),
    ]
    out = domain.kpis(rows, ("week", "agent"), now=0, answer_target_seconds=15)
    assert out["totals"]["inquiries"] == 7
    assert [(g["key"], g["inquiries"]) for g in out["groups"]] == [
        (["2026-W09", "ag-2"], 4),
        (["2026-W10", "ag-1"], 2),
        (["2026-W10", None], 1),
    ]
    one = domain.kpis([(("",), "inquiries", 0, 1), (("chat",), "inquiries", 0, 2)], ("channel",), now=0,
                      answer_target_seconds=15)  # fmt: skip
    assert [g["key"] for g in one["groups"]] == ["chat", None]


def test_scorecard_row_and_flatten():
    f = figs(("satisfaction", 5, 2), ("agent_replies", 0, 3))
    row = domain.scorecard_row("ag-1", f)
    assert (row["agent"], row["replies"], row["satisfaction_score_100"], row["grade"], row["grade_zh"]) == (
        "ag-1", 3, 100.0, "excellent", "優秀"
    )  # fmt: skip
    flat = domain.flatten(f)
    assert flat["satisfaction.average"] == 100.0 and flat["sla.acknowledge.compliance"] is None


# == periods ==================================================================================================
def test_group_by_parsing():
    assert domain.parse_group_by(None) == ("day",)
    assert domain.parse_group_by("agent,category") == ("agent", "category")
    assert domain.parse_group_by("month, room") == ("month", "room")
    assert domain.parse_group_by("cause,service_step") == ("cause", "service_step")
    assert domain.parse_group_by("month,meeting") == ("month", "meeting")
    for bad in ("building", "agent,agent", "day,week", "a,b,c", "agent,category,room", ","):
        with pytest.raises(ValueError):
            domain.parse_group_by(bad)


def test_period_ranges():
    today = date(2026, 5, 14)  # a Thursday
    assert domain.period_range(today) == (today, today)
    assert domain.period_range(today, "week") == (date(2026, 5, 11), today)
    assert domain.period_range(today, "month") == (date(2026, 5, 1), today)
    assert domain.period_range(today, "quarter") == (date(2026, 4, 1), today)
    assert domain.period_range(today, start="2026-01-01") == (date(2026, 1, 1), today)
    assert domain.period_range(today, end="2026-01-01") == (date(2026, 1, 1), date(2026, 1, 1))
    for kwargs in (
        {"period": "year"},
        {"start": "yesterday"},
        {"start": "2026-02-01", "end": "2026-01-01"},
        {"start": "2024-01-01", "end": "2026-01-01"},
        {"period": "week", "start": "2026-01-01"},
    ):
        with pytest.raises(ValueError):
            domain.period_range(today, **kwargs)


def test_review_periods_are_whole_months_and_quarters():
    today = date(2026, 5, 14)
    assert domain.review_period(today, None, None) == (date(2026, 5, 1), date(2026, 5, 31))
    assert domain.review_period(today, "quarter", "2026-02-10") == (date(2026, 1, 1), date(2026, 3, 31))
    assert domain.review_period(today, "quarter", "2026-12-31") == (date(2026, 10, 1), date(2026, 12, 31))
    with pytest.raises(ValueError):
        domain.review_period(today, "week", None)


# == business time ===========================================================================================
WEEKDAYS_9_18 = {"hours": {d: ["09:00", "18:00"] for d in ("mon", "tue", "wed", "thu", "fri")}, "holidays": []}


def test_a_reply_over_a_weekend_counts_only_the_opening_hours_in_business_time():
    desk = domain.BusinessHours.parse(WEEKDAYS_9_18 | {"holidays": ["2026-03-09"]}, HK)
    friday_1730 = datetime(2026, 3, 6, 9, 30, tzinfo=UTC)  # 17:30 in Hong Kong
    tuesday_0930 = datetime(2026, 3, 10, 1, 30, tzinfo=UTC)  # Monday 9 March is a holiday
    seconds = (tuesday_0930 - friday_1730).total_seconds()
    assert domain.business_seconds(desk, friday_1730, tuesday_0930) == 3600
    reply = rec(AgentReplied(conversation_id="c", channel="email", agent_id="ag-1", replied_at=tuesday_0930,
                             first_reply=True, response_seconds=seconds), tuesday_0930)  # fmt: skip
    with_hours = Policy(tz=HK, business_hours=desk)
    assert values(project(reply, policy=with_hours), "first_response_business") == [3600]
    assert values(project(reply, policy=with_hours), "first_response") == [seconds]
    assert values(project(reply), "first_response_business") == []  # no calendar: calendar time only


def test_business_hours_are_checked_when_read():
    for bad in ({"hours": {}}, {"hours": {"mon": ["18:00", "09:00"]}}, {"hours": {"monday": ["09:00", "18:00"]}},
                {"hours": {"mon": ["9am", "6pm"]}}, {"hours": {"mon": ["09:00", "18:00"]}, "holiday": []}):  # fmt: skip
        with pytest.raises(ValueError):
            domain.BusinessHours.parse(bad, HK)
    late = domain.BusinessHours.parse({"hours": {"sat": ["20:00", "24:00"]}}, HK)
    saturday_23 = datetime(2026, 3, 7, 15, tzinfo=UTC)
    assert domain.business_seconds(late, saturday_23, saturday_23 + timedelta(hours=5)) == 3600


def _minutes_open(desk: domain.BusinessHours, start: datetime, minutes: int) -> int:
    """Brute force: each minute of the span whose first instant lies in its venue day's opening."""
    n = 0
    for i in range(minutes):
        t = start + timedelta(minutes=i)
        for d in (t.astimezone(desk.tz).date() - timedelta(days=1), t.astimezone(desk.tz).date()):
            interval = desk.opening(d)
            if interval and interval[0] <= t < interval[1]:
                n += 1
                break
    return n


@settings(max_examples=60, deadline=None)
@given(
    hours=st.dictionaries(
        st.sampled_from(("mon", "tue", "wed", "thu", "fri", "sat", "sun")),
        st.tuples(st.integers(0, 22), st.integers(1, 24)).filter(lambda h: h[0] < h[1]),
        min_size=1,
    ),
    holiday=st.integers(0, 9),
    zone=st.sampled_from(("Asia/Hong_Kong", "Europe/London")),
    start_minute=st.integers(0, 14 * 24 * 60),
    minutes=st.integers(0, 4 * 24 * 60),
)
def test_business_seconds_equal_the_open_minutes_counted_one_by_one(hours, holiday, zone, start_minute, minutes):
    tz = ZoneInfo(zone)
    spec = {"hours": {d: [f"{o:02d}:00", f"{c:02d}:00"] for d, (o, c) in hours.items()},
            "holidays": [(date(2026, 3, 20) + timedelta(days=holiday)).isoformat()]}  # fmt: skip
    desk = domain.BusinessHours.parse(spec, tz)
    start = datetime(2026, 3, 20, tzinfo=UTC) + timedelta(minutes=start_minute)  # across London's change to BST
    got = domain.business_seconds(desk, start, start + timedelta(minutes=minutes))
    assert got == 60 * _minutes_open(desk, start, minutes)
