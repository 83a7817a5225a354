"""Metrics' handlers against the in-memory unit of work: what a delivery counts, claims and tells ops."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from prometheus_client import CollectorRegistry, Counter

from services.metrics import domain, handlers
from services.metrics.handlers import Counted
from shared.contract.events import (
    BookingConfirmed,
    ComplaintStatusChanged,
    DueItemParked,
    Envelope,
    EventData,
    FeedbackReceived,
    InquiryReceived,
    MessageReplayed,
    NotificationRequested,
    make_event,
)
from shared.runtime import Incoming, Rejected
from shared.topology import METRICS_EVENTS

from .fakes import FakeUnitOfWork
from .metrics_fakes import FakeMetricsStore

HK = domain.Policy(tz=ZoneInfo("Asia/Hong_Kong"))
# 2026-03-01 15:30 UTC is 23:30 in Hong Kong; 16:30 UTC is already 2 March there.
BEFORE_MIDNIGHT = datetime(2026, 3, 1, 15, 30, tzinfo=UTC)
AFTER_MIDNIGHT = datetime(2026, 3, 1, 16, 30, tzinfo=UTC)
D1, D2 = date(2026, 3, 1), date(2026, 3, 2)
NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # when the deliveries are handled: it decides no day
START = datetime(2026, 3, 9, 2, 0, tzinfo=UTC)


class Metrics:
    """The metrics service as its handlers see it: one database (a fake unit of work whose inbox
    outlives each delivery, as the real one does), its policy and its Prometheus counter."""

    def __init__(self, policy: domain.Policy = HK):
        self.policy = policy
        self.store = FakeMetricsStore()
        self.uow = FakeUnitOfWork(self.store, producer="metrics", now=NOW)
        self.registry = CollectorRegistry()
        self.consumed = Counter(
            "meetdesk_metrics_events", "by type and outcome", ["type", "outcome"], registry=self.registry
        )

    async def count(self, batch: list[Counted]) -> None:
        """One batch, as the batcher applies it."""
        await handlers.count_batch(self.uow, batch, self.uow.now, self.policy)

    async def submit(self, item: Counted) -> None:
        await self.count([item])

    async def deliver(self, env: Envelope | bytes) -> None:
        await handlers.event_delivered(delivery(env), self.policy, self.submit, self.consumed)

    def outcome(self, event_type: str, outcome: str) -> float:
        """How many deliveries Prometheus shows with this type and outcome."""
        value = self.registry.get_sample_value(
            "meetdesk_metrics_events_total", {"type": event_type, "outcome": outcome}
        )
        return value or 0.0

    async def kpis(self, day: date, group_by: domain.GroupBy = "day") -> dict[str, Any]:
        """What GET /kpis?from=day&to=day shows."""
        return domain.kpis(await self.store.query(day, day, group_by), group_by)


def event(data: EventData, at: datetime = BEFORE_MIDNIGHT) -> Envelope:
    return make_event(data, producer="test", correlation_id=uuid.uuid4(), occurred_at=at)


def delivery(env: Envelope | bytes) -> Incoming:
    body = env if isinstance(env, bytes) else env.to_bytes()
    return Incoming(
        queue=METRICS_EVENTS,
        body=body,
        routing_key="x" if isinstance(env, bytes) else env.type,
        headers={},
        message_id=None if isinstance(env, bytes) else str(env.event_id),
        correlation_id=uuid.uuid4(),
        content_type="application/json",
        delivery_count=1,
    )


def feedback(score: int = 5, agent_id: str | None = None) -> FeedbackReceived:
    return FeedbackReceived(
        subject_type="service", score=score, score_100=score * 20, channel="chat", agent_id=agent_id
    )


def occurrence(week: int, series_id: str | None = "series-1") -> BookingConfirmed:
    return BookingConfirmed(
        booking_id=str(uuid.uuid4()),
        inquiry_id="inq-1",
        room_id="R1",
        start=START + timedelta(weeks=week),
        end=START + timedelta(weeks=week, hours=1),
        attendees=5,
        customer_id="c",
        name="Weekly",
        series_id=series_id,
    )


def resolved(complaint_id: str = "k1", actor: str = "ag-1") -> ComplaintStatusChanged:
    return ComplaintStatusChanged.model_validate(
        {"complaint_id": complaint_id, "from": "in_progress", "to": "resolved", "actor": actor, "category": "catering"}
    )


# -- one delivery -------------------------------------------------------------------------------
async def test_an_event_delivered_twice_counts_once():
    metrics = Metrics()
    rating = event(feedback(5))
    await metrics.deliver(rating)
    await metrics.deliver(rating)  # the broker redelivers it (or the relay sweeps it out again)
    assert metrics.store.counters[(D1, "satisfaction", "all", "all")] == (1, 100.0)
    assert metrics.store.counters[(D1, "satisfaction", "channel", "chat")] == (1, 100.0)
    assert len(metrics.store.writes) == 1
    assert metrics.uow.claimed == {f"event:{rating.event_id}"}
    assert metrics.outcome("feedback.received", "counted") == 1
    assert metrics.outcome("feedback.received", "duplicate") == 1
    assert (await metrics.kpis(D1))["totals"]["satisfaction"] == {
        "responses": 1,
        "average": 100.0,
        "grade": "excellent",
    }


async def test_a_recurring_series_confirms_once_towards_bookings_and_every_occurrence_towards_occurrences():
    metrics = Metrics()
    for week in range(3):
        await metrics.deliver(event(occurrence(week)))
    bookings = (await metrics.kpis(D1))["totals"]["bookings"]
    assert (bookings["confirmed"], bookings["confirmed_occurrences"]) == (1, 3)
    assert metrics.store.count("bookings_confirmed", D1, "room", "R1") == 1
    assert metrics.store.count("bookings_confirmed_occurrences", D1, "room", "R1") == 3
    assert "once:booking-series:series-1" in metrics.uow.claimed
    assert metrics.outcome("booking.confirmed", "counted") == 3  # each occurrence is a fresh event


async def test_single_bookings_each_confirm_a_booking():
    metrics = Metrics()
    for week in range(2):
        await metrics.deliver(event(occurrence(week, series_id=None)))
    bookings = (await metrics.kpis(D1))["totals"]["bookings"]
    assert (bookings["confirmed"], bookings["confirmed_occurrences"]) == (2, 2)
    assert not any(key.startswith("once:") for key in metrics.uow.claimed)


async def test_a_complaint_resolved_again_after_reopening_counts_one_resolution():
    metrics = Metrics()
    await metrics.deliver(event(resolved(actor="ag-1")))
    await metrics.deliver(event(resolved(actor="ag-2"), at=AFTER_MIDNIGHT))  # reopened, resolved again
    assert (await metrics.kpis(D1))["totals"]["complaints"]["resolved"] == 1
    assert (await metrics.kpis(D2))["totals"]["complaints"]["resolved"] == 0
    assert metrics.store.count("complaints_resolved", D1, "agent", "ag-1") == 1
    assert metrics.store.count("complaints_resolved", D2, "agent", "ag-2") == 0
    # the second event was fresh (it was counted: it added nothing), not a duplicate
    assert metrics.outcome("complaint.status_changed", "counted") == 2
    assert len(metrics.store.writes) == 1


async def test_an_event_that_feeds_no_kpi_writes_nothing():
    metrics = Metrics()
    await metrics.deliver(event(NotificationRequested(channel="email", template="ack", language="en")))
    assert metrics.store.counters == {}
    assert metrics.store.writes == []
    assert metrics.uow.claimed == set()
    assert metrics.outcome("notification.requested", "ignored") == 1


async def test_an_event_type_nobody_declared_is_ignored_under_the_label_other():
    metrics = Metrics()
    unknown = event(feedback()).model_copy(update={"type": "something.new", "data": {"x": 1}})
    await metrics.deliver(unknown)
    assert metrics.store.counters == {}
    assert metrics.outcome("other", "ignored") == 1


async def test_an_event_whose_data_breaks_the_contract_is_dead_lettered_naming_the_field_not_the_value():
    metrics = Metrics()
    good = event(feedback())
    broken = good.model_copy(update={"data": good.data | {"channel": "+852 2123 4567"}})
    with pytest.raises(Rejected) as refused:
        await metrics.deliver(broken)
    assert str(refused.value).startswith("feedback.received data invalid: channel")
    assert "2123" not in str(refused.value)
    assert metrics.store.counters == {}
    assert metrics.uow.claimed == set()
    assert metrics.outcome("feedback.received", "rejected") == 1


async def test_a_body_that_is_not_an_event_is_dead_lettered_as_other():
    metrics = Metrics()
    with pytest.raises(Rejected):
        await metrics.deliver(b"not json")
    with pytest.raises(Rejected):
        await metrics.deliver(json.dumps({"type": "feedback.received"}).encode())
    assert metrics.store.counters == {}
    assert metrics.outcome("other", "rejected") == 2


async def test_the_policys_time_zone_decides_the_day_an_event_counts_on():
    at_2330_in_hong_kong = event(feedback(), at=BEFORE_MIDNIGHT)
    at_0030_in_hong_kong = event(feedback(), at=AFTER_MIDNIGHT)
    hong_kong, utc = Metrics(HK), Metrics(domain.Policy(tz=ZoneInfo("UTC")))
    for metrics in (hong_kong, utc):
        await metrics.deliver(at_2330_in_hong_kong)
        await metrics.deliver(at_0030_in_hong_kong)
    assert (hong_kong.store.count("satisfaction", D1), hong_kong.store.count("satisfaction", D2)) == (1, 1)
    assert (utc.store.count("satisfaction", D1), utc.store.count("satisfaction", D2)) == (2, 0)


async def test_an_inquiry_counts_on_the_day_it_was_received_not_the_day_it_was_handled():
    metrics = Metrics()
    inquiry = InquiryReceived.model_validate(
        {"inquiry_id": "i", "channel": "wechat", "source_ref": "m", "conversation_id": "c",
         "customer": {"customer_id": "cu"}, "intent": "complaint", "language": "zh-Hant",
         "received_at": BEFORE_MIDNIGHT.isoformat(), "category": "catering"}
    )  # fmt: skip
    await metrics.deliver(event(inquiry, at=NOW))
    by_channel = await metrics.kpis(D1, "channel")
    assert by_channel["totals"]["inquiries"] == 1
    assert [(g["key"], g["inquiries"], g["complaints"]["received"]) for g in by_channel["groups"]] == [("wechat", 1, 1)]
    assert (await metrics.kpis(D2))["totals"]["inquiries"] == 0


async def test_replays_and_parked_due_items_show_in_the_operations_figures():
    metrics = Metrics()
    replay = MessageReplayed(dead_letter_queue="booking.events.dlq", exchange="meetdesk.events",
                             routing_key="booking.requested", message_id="m-1", actor="alice")  # fmt: skip
    parked = DueItemParked(service="booking", kind="booking.reminder", key="b-1", due_at=BEFORE_MIDNIGHT,
                           attempts=5, reason="RuntimeError: boom")  # fmt: skip
    await metrics.deliver(event(replay))
    await metrics.deliver(event(replay))  # the same message replayed again: a second replay
    await metrics.deliver(event(parked))
    totals = (await metrics.kpis(D1))["totals"]
    assert (totals["replayed_messages"], totals["due_items_parked"]) == (2, 1)
    assert metrics.outcome("message.replayed", "counted") == 2
    assert metrics.outcome("due.parked", "counted") == 1


# -- one batch ----------------------------------------------------------------------------------
def counted(env: Envelope) -> Counted:
    found = domain.facts(env, HK.tz)
    assert isinstance(found, list)
    return Counted(env.event_id, found)


async def test_a_batch_writes_its_fresh_events_once_and_marks_the_redelivered_ones():
    metrics = Metrics()
    seen = event(feedback(3))
    await metrics.count([counted(seen)])
    batch = [counted(event(feedback(5))), counted(seen), counted(event(feedback(4)))]
    await metrics.count(batch)
    assert [item.fresh for item in batch] == [True, False, True]
    assert len(metrics.store.writes) == 2  # one statement per batch
    assert metrics.store.counters[(D1, "satisfaction", "all", "all")] == (3, 240.0)


async def test_an_event_twice_in_one_batch_counts_once():
    metrics = Metrics()
    rating = event(feedback())
    batch = [counted(rating), counted(rating)]
    await metrics.count(batch)
    assert [item.fresh for item in batch] == [True, False]
    assert metrics.store.count("satisfaction", D1) == 1


async def test_occurrences_of_one_series_in_one_batch_confirm_one_booking():
    metrics = Metrics()
    await metrics.count([counted(event(occurrence(week))) for week in range(4)])
    assert metrics.store.count("bookings_confirmed", D1) == 1
    assert metrics.store.count("bookings_confirmed_occurrences", D1) == 4


async def test_a_batch_of_redeliveries_only_writes_nothing():
    metrics = Metrics()
    items = [counted(event(feedback())), counted(event(occurrence(0)))]
    await metrics.count(items)
    before = dict(metrics.store.counters)
    again = [Counted(item.event_id, item.facts) for item in items]
    await metrics.count(again)
    assert [item.fresh for item in again] == [False, False]
    assert metrics.store.counters == before
    assert len(metrics.store.writes) == 1
