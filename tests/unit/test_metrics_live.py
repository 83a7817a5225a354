"""The live figures ops alert on: SLA compliance today and the complaints past due, on Prometheus gauges."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from prometheus_client import CollectorRegistry

from services.metrics import domain, handlers
from services.metrics.domain import Projection
from shared.contract.events import ComplaintClosed, ComplaintStatusChanged

from .fakes import FakeUnitOfWork
from .metrics_fakes import FakeMetricsStore
from .test_metrics_domain import POLICY, T0, Complaint

NOW = T0 + timedelta(hours=6)  # 16:00 in Hong Kong, the same day as T0
TOMORROW = NOW + timedelta(days=1)


def state_of(c: Complaint) -> domain.State:
    p = Projection(POLICY)
    for r in c.records:
        p.apply(r)
    return p.states[f"complaint:{c.id}"]


def breached(complaint_id: str = "k1", which: str = "acknowledge") -> Complaint:
    c = Complaint(complaint_id).registered()
    return c.clock(which, "breached", 7200 if which == "acknowledge" else 259_200, agent="ag-1")


def withdrawn(c: Complaint) -> Complaint:
    data = ComplaintStatusChanged.model_validate(
        {"complaint_id": c.id, "from": c.status, "to": "withdrawn", "actor": "cust"}
    )
    c.status = "withdrawn"
    return c.other(data, minutes=10)


def closed(c: Complaint) -> Complaint:
    return c.other(ComplaintClosed(complaint_id=c.id, actor="sup", category="catering"), minutes=10)


# == which complaints are past due ========================================================================
def test_a_breached_target_not_yet_met_is_past_due_until_it_is_met():
    c = breached()
    assert domain.past_due(state_of(c)) == ["acknowledge"]
    c.status_to("acknowledged", minutes=30).clock("acknowledge", "met", 9000, agent="ag-1")
    assert domain.past_due(state_of(c)) == []


def test_a_complaint_never_breached_is_not_past_due():
    c = Complaint().registered().status_to("acknowledged").clock("acknowledge", "met", 600, agent="ag-1")
    assert domain.past_due(state_of(c)) == []


def test_a_withdrawn_complaint_or_one_closed_after_its_breach_is_not_past_due():
    assert domain.past_due(state_of(withdrawn(breached("k1")))) == []
    assert domain.past_due(state_of(closed(breached("k2", "resolve")))) == []


def test_a_complaint_reopened_after_closing_and_breached_again_is_past_due_again():
    c = closed(breached("k1", "resolve").clock("resolve", "met", 300_000, agent="ag-1"))
    c.status_to("investigating", minutes=60).clock("resolve", "started", 0, agent="ag-1", cycle=2)
    assert domain.past_due(state_of(c)) == []
    c.clock("resolve", "breached", 259_200, agent="ag-1", cycle=2, at=c.t + timedelta(days=3))
    assert domain.past_due(state_of(c)) == ["resolve"]


# == the gauges ===========================================================================================
class Live:
    """Metrics' store (in memory) with the complaints given, and its gauges in a registry of their own."""

    def __init__(self, *complaints: Complaint):
        self.store = FakeMetricsStore()
        self.registry = CollectorRegistry()
        self.gauges = handlers.LiveGauges.register(self.registry)
        self.records = [r for c in complaints for r in c.records]

    async def refresh(self, now: datetime = NOW) -> domain.Live:
        uow = FakeUnitOfWork(self.store, producer="metrics", now=now)
        await handlers.absorb_batch(uow, [handlers.Absorbed(r) for r in self.records], now, POLICY)
        return await handlers.refresh_live(self.store, self.gauges, now, POLICY)  # type: ignore[arg-type]

    def value(self, name: str, target: str) -> float | None:
        return self.registry.get_sample_value(name, {"target": target})


async def test_the_gauges_show_todays_sla_compliance_per_target_and_the_complaints_past_due():
    in_time = Complaint("k1").registered().status_to("acknowledged", minutes=30)
    in_time.clock("acknowledge", "met", 1800, agent="ag-1")
    late = breached("k2")  # the formal reply breached today, still not given: late and past due
    resolve_late = breached("k3", "resolve").clock("resolve", "met", 300_000, agent="ag-1")  # met after its breach
    gone = withdrawn(breached("k4"))  # breached today, then withdrawn: late, not past due
    live = Live(in_time, late, resolve_late, gone)
    await live.refresh()
    assert live.value("meetdesk_kpi_sla_decided_today", "acknowledge") == 3
    assert live.value("meetdesk_kpi_sla_compliance_today", "acknowledge") == round(1 / 3, 4)
    assert live.value("meetdesk_kpi_sla_decided_today", "resolve") == 1
    assert live.value("meetdesk_kpi_sla_compliance_today", "resolve") == 0.0
    assert live.value("meetdesk_kpi_complaints_past_due", "acknowledge") == 1
    assert live.value("meetdesk_kpi_complaints_past_due", "resolve") == 0


async def test_sla_compliance_today_is_the_figure_of_kpis_for_today():
    in_time = Complaint("k1").registered().status_to("acknowledged", minutes=30)
    in_time.clock("acknowledge", "met", 1800, agent="ag-1")
    live = Live(in_time, breached("k2"))
    await live.refresh()
    today = NOW.astimezone(POLICY.tz).date()
    rows = await live.store.query(today, today, ("day",))
    kpis = domain.kpis(rows, ("day",), now=NOW.timestamp(), answer_target_seconds=15)["totals"]
    assert live.value("meetdesk_kpi_sla_compliance_today", "acknowledge") == kpis["sla"]["acknowledge"]["compliance"]
    assert kpis["sla"]["acknowledge"]["compliance"] == 0.5


async def test_sla_compliance_today_is_not_a_number_when_no_target_was_decided_today_but_past_due_stays():
    live = Live(breached("k1"))
    figures = await live.refresh(TOMORROW)  # yesterday's breach decided nothing today
    assert figures.compliance_today("acknowledge") is None
    assert live.value("meetdesk_kpi_sla_decided_today", "acknowledge") == 0
    assert math.isnan(live.value("meetdesk_kpi_sla_compliance_today", "acknowledge"))  # type: ignore[arg-type]
    assert live.value("meetdesk_kpi_complaints_past_due", "acknowledge") == 1
