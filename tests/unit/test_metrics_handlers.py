"""Metrics' handlers against an in-memory store: deliveries, batches, redeliveries, order, refusals."""

from __future__ import annotations

import json
import random
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from prometheus_client import CollectorRegistry, Counter

from services.metrics import domain, handlers
from services.metrics.handlers import Absorbed
from shared.contract.events import (
    AgentReplied,
    BookingConfirmed,
    CallMissed,
    ComplaintRegistered,
    ComplaintStatusChanged,
    CustomerLinked,
    CustomerRef,
    CustomerUnlinked,
    Envelope,
    EventData,
    FeedbackReceived,
    InquiryReceived,
    NotificationRequested,
    make_event,
)
from shared.runtime import Incoming, Rejected
from shared.topology import METRICS_EVENTS

from .fakes import FakeUnitOfWork
from .metrics_fakes import FakeMetricsStore
from .metrics_traffic import Traffic

HK = domain.Policy(tz=ZoneInfo("Asia/Hong_Kong"))
BEFORE_MIDNIGHT = datetime(2026, 3, 1, 15, 30, tzinfo=UTC)  # 23:30 in Hong Kong
AFTER_MIDNIGHT = datetime(2026, 3, 1, 16, 30, tzinfo=UTC)  # 00:30 on 2 March there
D1, D2 = date(2026, 3, 1), date(2026, 3, 2)
NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # when the deliveries are handled: it decides no day
START = datetime(2026, 3, 9, 2, 0, tzinfo=UTC)


class Metrics:
    """The metrics service as its handlers see it: one database (a fake store), its policy and its
    Prometheus counter; each delivery is its own batch unless :meth:`absorb` is given several."""

    def __init__(self, policy: domain.Policy = HK):
        self.policy = policy
        self.store = FakeMetricsStore()
        self.uow = FakeUnitOfWork(self.store, producer="metrics", now=NOW)
        self.registry = CollectorRegistry()
        self.consumed = Counter("meetdesk_metrics_events", "by type and outcome", ["type", "outcome"],
                                registry=self.registry)  # fmt: skip

    async def absorb(self, batch: list[Absorbed]) -> None:
        await handlers.absorb_batch(self.uow, batch, self.uow.now, self.policy)

    async def submit(self, item: Absorbed) -> None:
        await self.absorb([item])

    async def deliver(self, env: Envelope | bytes) -> None:
        await handlers.event_delivered(delivery(env), self.policy, self.submit, self.consumed)

    def outcome(self, event_type: str, outcome: str) -> float:
        value = self.registry.get_sample_value(
            "meetdesk_metrics_events_total", {"type": event_type, "outcome": outcome}
        )
        return value or 0.0

    async def kpis(self, start: date, end: date | None = None, group_by: tuple[str, ...] = ("day",)) -> dict[str, Any]:
        rows = await self.store.query(start, end or start, group_by)
        return domain.kpis(rows, group_by, now=NOW.timestamp(), answer_target_seconds=15)


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


def absorbed(env: Envelope) -> Absorbed:
    found = domain.record(env)
    assert isinstance(found, domain.Record)
    return Absorbed(found)


def feedback(score: int = 5, agent_id: str | None = None) -> FeedbackReceived:
    return FeedbackReceived(
        subject_type="service", score=score, score_100=score * 20, channel="chat", agent_id=agent_id
    )


def inquiry(conversation: str = "c1", at: datetime = BEFORE_MIDNIGHT) -> InquiryReceived:
    return InquiryReceived(
        inquiry_id=str(uuid.uuid4()),
        channel="chat",
        source_ref="m",
        conversation_id=conversation,
        customer=CustomerRef(customer_id="cu"),
        intent="inquiry",
        language="en",
        received_at=at,
    )


# -- one delivery ---------------------------------------------------------------------------------------
async def test_an_event_delivered_twice_counts_once():
    metrics = Metrics()
    rating = event(feedback(5))
    await metrics.deliver(rating)
    await metrics.deliver(rating)  # the broker redelivers it (or the relay sweeps it out again)
    assert list(metrics.store.log_rows) == [str(rating.event_id)]
    assert metrics.store.count("satisfaction", value=5) == 1
    assert metrics.store.statements == ["log", "add_facts", "log"]  # the second changed nothing
    assert metrics.outcome("feedback.received", "counted") == 1
    assert metrics.outcome("feedback.received", "duplicate") == 1
    assert (await metrics.kpis(D1))["totals"]["satisfaction"]["average"] == 100.0


async def test_an_event_that_feeds_no_kpi_writes_nothing():
    metrics = Metrics()
    await metrics.deliver(event(NotificationRequested(channel="email", template="ack", language="en")))
    unknown = event(feedback()).model_copy(update={"type": "something.new", "data": {"x": 1}})
    await metrics.deliver(unknown)
    assert metrics.store.statements == [] and metrics.store.log_rows == {}
    assert metrics.outcome("notification.requested", "ignored") == 1
    assert metrics.outcome("other", "ignored") == 1


async def test_an_event_whose_data_breaks_the_contract_is_dead_lettered_naming_the_field_not_the_value():
    metrics = Metrics()
    good = event(feedback())
    broken = good.model_copy(update={"data": good.data | {"channel": "+852 2123 4567"}})
    with pytest.raises(Rejected) as refused:
        await metrics.deliver(broken)
    assert str(refused.value).startswith("feedback.received data invalid: channel")
    assert "2123" not in str(refused.value)
    assert metrics.store.statements == []
    assert metrics.outcome("feedback.received", "rejected") == 1


async def test_a_body_that_is_not_an_event_is_dead_lettered_as_other():
    metrics = Metrics()
    with pytest.raises(Rejected):
        await metrics.deliver(b"not json")
    with pytest.raises(Rejected):
        await metrics.deliver(json.dumps({"type": "feedback.received"}).encode())
    assert metrics.outcome("other", "rejected") == 2


async def test_the_policys_time_zone_decides_the_day_an_event_counts_on():
    hong_kong, utc = Metrics(HK), Metrics(domain.Policy(tz=ZoneInfo("UTC")))
    late, early = event(feedback(), at=BEFORE_MIDNIGHT), event(feedback(), at=AFTER_MIDNIGHT)
    for metrics in (hong_kong, utc):
        await metrics.deliver(late)
        await metrics.deliver(early)
    assert (hong_kong.store.count("satisfaction", day=D1), hong_kong.store.count("satisfaction", day=D2)) == (1, 1)
    assert (utc.store.count("satisfaction", day=D1), utc.store.count("satisfaction", day=D2)) == (2, 0)
    assert hong_kong.store.logged_days[str(early.event_id)] == D2


async def test_an_inquiry_counts_on_the_day_meetdesk_received_it_not_the_day_its_sender_wrote_on_it():
    metrics = Metrics()
    await metrics.deliver(event(inquiry(), at=NOW))  # the sender's received_at says D1; intake took it on D2
    by_channel = await metrics.kpis(D2, group_by=("channel",))
    assert [(g["key"], g["inquiries"]) for g in by_channel["groups"]] == [("chat", 1)]
    assert (await metrics.kpis(D1))["totals"]["inquiries"] == 0


# -- batches --------------------------------------------------------------------------------------------
async def test_a_batch_logs_its_events_once_and_marks_the_redelivered_ones():
    metrics = Metrics()
    seen = event(feedback(3))
    await metrics.absorb([absorbed(seen)])
    batch = [absorbed(event(feedback(5))), absorbed(seen), absorbed(event(feedback(4))), absorbed(seen)]
    await metrics.absorb(batch)
    assert [item.fresh for item in batch] == [True, False, True, False]
    assert metrics.store.count("satisfaction") == 3


async def test_a_batch_touching_entities_is_four_statements_whatever_its_size():
    metrics = Metrics()
    occurrences = [
        event(BookingConfirmed(booking_id=str(uuid.uuid4()), inquiry_id="inq-1", room_id="R1",
                               start=START + timedelta(weeks=w), end=START + timedelta(weeks=w, hours=1), attendees=5,
                               customer_id="c", name="Weekly", series_id="s-1"))
        for w in range(20)
    ]  # fmt: skip
    await metrics.absorb([absorbed(e) for e in occurrences])
    assert metrics.store.statements == ["log", "lock_states", "save_states", "add_facts"]
    totals = (await metrics.kpis(D1))["totals"]["bookings"]
    assert (totals["confirmed"], totals["confirmed_occurrences"]) == (1, 20)  # one request, twenty meetings
    metrics.store.statements.clear()
    await metrics.absorb([absorbed(e) for e in occurrences])  # all redelivered
    assert metrics.store.statements == ["log"]


async def test_a_complaint_resolved_again_after_reopening_is_one_resolution_and_the_cohort_follows():
    metrics = Metrics()
    registered = ComplaintRegistered(
        complaint_id="k1",
        channel="email",
        category="catering",
        severity="normal",
        registered_at=BEFORE_MIDNIGHT,
        acknowledge_due_at=NOW,
        resolve_due_at=NOW,
    )

    def change(frm: str, to: str) -> ComplaintStatusChanged:
        return ComplaintStatusChanged.model_validate(
            {"complaint_id": "k1", "from": frm, "to": to, "actor": "ag-1", "agent_id": "ag-1"}
        )

    await metrics.deliver(event(registered))
    await metrics.deliver(event(change("in_progress", "resolved"), BEFORE_MIDNIGHT + timedelta(minutes=10)))
    await metrics.deliver(event(change("resolved", "investigating"), AFTER_MIDNIGHT))
    cohort = (await metrics.kpis(D1, D2))["totals"]["complaints"]
    assert (cohort["resolved"], cohort["cohort"]["resolved"], cohort["cohort"]["reopened"]) == (1, 0, 1)
    await metrics.deliver(event(change("investigating", "resolved"), AFTER_MIDNIGHT + timedelta(hours=1)))
    totals = (await metrics.kpis(D1, D2))["totals"]
    assert (totals["complaints"]["resolved"], totals["complaints"]["cohort"]["resolved"]) == (1, 1)
    assert totals["resolution_rate"] == 1.0
    assert totals["handling_time"]["average_seconds"] == 600.0  # to the first resolution


async def test_a_reply_before_its_inquiry_gives_the_same_figures_once_both_are_in():
    reply = event(AgentReplied(conversation_id="c1", channel="chat", agent_id="ag-1", first_reply=True,
                               replied_at=BEFORE_MIDNIGHT + timedelta(minutes=5), response_seconds=300))  # fmt: skip
    question = event(inquiry("c1"))
    in_order, reversed_ = Metrics(), Metrics()
    for env in (question, reply):
        await in_order.deliver(env)
    for env in (reply, question):
        await reversed_.deliver(env)
    assert in_order.store.counts == reversed_.store.counts
    assert (await reversed_.kpis(D1))["totals"]["first_response"]["average_seconds"] == 300.0


async def test_a_month_of_traffic_in_any_order_and_any_batches_gives_the_same_figures():
    now = datetime(2026, 3, 20, 4, tzinfo=UTC)
    envs = Traffic(seed=11, start=date(2026, 3, 1), days=20, now=now, per_day=8).events
    in_order = Metrics()
    for i in range(0, len(envs), 50):
        await in_order.absorb([absorbed(e) for e in envs[i : i + 50] if domain.record(e)])
    shuffled = Metrics()
    rng = random.Random(5)
    mixed = envs + rng.sample(envs, 100)  # and some of them delivered twice
    rng.shuffle(mixed)
    i = 0
    while i < len(mixed):
        size = rng.randrange(1, 80)
        await shuffled.absorb([absorbed(e) for e in mixed[i : i + size] if domain.record(e)])
        i += size
    assert {f: n for f, n in in_order.store.counts.items() if n} == {
        f: n for f, n in shuffled.store.counts.items() if n
    }
    assert in_order.store.states == shuffled.store.states
    month = (date(2026, 3, 1), date(2026, 3, 31))
    assert await in_order.kpis(*month, group_by=("agent", "category")) == await shuffled.kpis(
        *month, group_by=("agent", "category")
    )


async def test_a_link_recounts_the_call_backs_of_every_record_linked_before_and_an_unlink_restores_them():
    metrics = Metrics()

    def phone(customer: str, at: datetime) -> Envelope:
        data = InquiryReceived(
            inquiry_id=str(uuid.uuid4()), channel="phone", source_ref=f"call:{customer}", conversation_id="call",
            customer=CustomerRef(customer_id=customer), intent="inquiry", language="en", text="",
            received_at=at,
        )  # fmt: skip
        return event(data, at)

    def link(survivor: str, other: str, at: datetime, linked: bool = True) -> Envelope:
        ids = [{"kind": "customer_id", "value": other}]
        if linked:
            return event(CustomerLinked(customer_id=survivor, identities=ids, evidence="same phone"), at)
        return event(CustomerUnlinked(customer_id=survivor, identities=ids, reason="two people"), at)

    missed = event(CallMissed(call_id="u1", customer_id="c-b", disposition="NO ANSWER", started_at=START), START)
    await metrics.absorb([absorbed(missed), absorbed(phone("c-c", START + timedelta(hours=1)))])
    await metrics.absorb([absorbed(link("c-a", "c-b", START + timedelta(hours=2)))])
    assert metrics.store.count("callbacks") == 0  # c-c is still someone else
    # this batch touches c-a and c-c only: c-b, linked with c-a before, is loaded for their shared figure
    await metrics.absorb([absorbed(link("c-a", "c-c", START + timedelta(hours=3)))])
    assert metrics.store.count("callbacks", value=3600) == 1
    await metrics.absorb([absorbed(link("c-a", "c-b", START + timedelta(hours=4), linked=False))])
    assert metrics.store.count("callbacks") == 0
    # and what the batches left equals a rebuild from the states
    rebuilt = domain.facts_of_states(metrics.store.states, metrics.policy)
    assert {f: n for f, n in metrics.store.counts.items() if n and f.metric == "callbacks"} == {
        f: n for f, n in rebuilt.items() if n and f.metric == "callbacks"
    }
