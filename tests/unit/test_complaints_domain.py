"""The complaint rules: registration, deadlines, the lifecycle and its SLA (plain Python, no I/O)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, get_args
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from services.complaints import domain
from services.complaints.domain import (
    ACKNOWLEDGE,
    ACKNOWLEDGE_DUE,
    ACKNOWLEDGED,
    CLOSED,
    IN_PROGRESS,
    INVESTIGATING,
    REGISTERED,
    RESOLVE,
    RESOLVE_DUE,
    RESOLVED,
    SOLUTION_PROPOSED,
    STATUSES,
    Command,
    Outcome,
    Refusal,
    SlaPolicy,
)
from services.complaints.settings import ComplaintsSettings
from shared.contract.commands import COMMANDS
from shared.contract.common import Category, Severity
from shared.contract.events import CustomerRef, InquiryReceived

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LATER = T0 + timedelta(hours=1)
CID = "7a4c1e9e-0c43-4a4f-9a43-2f1d0c6b5e01"
POLICY = SlaPolicy(
    acknowledge_within={
        "critical": timedelta(minutes=30),
        "high": timedelta(hours=1),
        "normal": timedelta(hours=2),
        "low": timedelta(hours=2),
    },
    resolve_within={
        "critical": timedelta(hours=24),
        "high": timedelta(hours=48),
        "normal": timedelta(hours=72),
        "low": timedelta(days=7),
    },
)


def complaint(status: str = REGISTERED, **kw: Any) -> domain.Complaint:
    return replace(domain.new_complaint(CID, T0, POLICY, "equipment_failure", "normal"), status=status, **kw)


def cmd(name: str, **kw: Any) -> Command:
    return Command(name=name, actor=str(kw.pop("actor", "agent-7")), at=kw.pop("at", LATER), **kw)


def apply(state: domain.Complaint, command: Command) -> Outcome:
    out = domain.apply(state, command, POLICY)
    assert isinstance(out, Outcome), out
    return out


def inquiry(**kw: Any) -> InquiryReceived:
    fields: dict[str, Any] = {
        "inquiry_id": "inq-1",
        "channel": "email",
        "source_ref": "<m1@example.com>",
        "conversation_id": "conv-1",
        "customer": CustomerRef(customer_id="cust-1", name="Chan", email="chan@example.com", phone="+85221234567"),
        "intent": "complaint",
        "language": "zh-Hant",
        "subject": "投訴",
        "text": "冷氣壞了",
        "received_at": T0,
        "category": "venue_environment",
    }
    return InquiryReceived(**{**fields, **kw})


def register(now: datetime = LATER, **kw: Any) -> Outcome:
    out = domain.register(inquiry(**kw), complaint_id=CID, event_id="ev-1", now=now, policy=POLICY)
    assert out is not None
    return out


# -- enumerations ---------------------------------------------------------------------------------
def test_categories_and_severities_are_the_contracts() -> None:
    assert domain.CATEGORIES == get_args(Category)
    assert domain.SEVERITIES == get_args(Severity)


def test_every_complaint_command_of_the_contract_is_a_transition() -> None:
    assert {name for name in COMMANDS if name.startswith("complaint.")} == set(domain.TRANSITIONS)


# -- the SLA policy and its settings -------------------------------------------------------------
@pytest.mark.parametrize(
    ("severity", "ack", "resolve"),
    [
        ("critical", timedelta(minutes=30), timedelta(hours=24)),
        ("high", timedelta(hours=1), timedelta(hours=48)),
        ("normal", timedelta(hours=2), timedelta(hours=72)),
        ("low", timedelta(hours=2), timedelta(days=7)),
    ],
)
def test_deadlines_per_severity(severity: str, ack: timedelta, resolve: timedelta) -> None:
    assert POLICY.deadlines(T0, severity) == (T0 + ack, T0 + resolve)


def test_the_settings_default_to_acknowledging_within_two_hours_and_urgent_first(monkeypatch: Any) -> None:
    monkeypatch.delenv("MEETDESK_ACKNOWLEDGE_WITHIN_MINUTES", raising=False)
    monkeypatch.delenv("MEETDESK_RESOLVE_WITHIN_HOURS", raising=False)
    policy = ComplaintsSettings().sla_policy()
    assert policy == POLICY
    for severity in domain.SEVERITIES:
        ack_due, resolve_due = policy.deadlines(T0, severity)
        assert ack_due - T0 <= timedelta(hours=2)
        assert resolve_due > ack_due
    order = ["critical", "high", "normal", "low"]
    acks = [policy.deadlines(T0, s)[0] for s in order]
    resolves = [policy.deadlines(T0, s)[1] for s in order]
    assert acks == sorted(acks)
    assert resolves == sorted(resolves) and len(set(resolves)) == 4


def test_the_targets_are_configured_per_severity_from_the_environment(monkeypatch: Any) -> None:
    monkeypatch.setenv("MEETDESK_ACKNOWLEDGE_WITHIN_MINUTES", '{"critical": 10, "high": 20, "normal": 45, "low": 90}')
    monkeypatch.setenv("MEETDESK_RESOLVE_WITHIN_HOURS", '{"critical": 4, "high": 8, "normal": 24, "low": 48.5}')
    policy = ComplaintsSettings().sla_policy()
    assert policy.deadlines(T0, "normal") == (T0 + timedelta(minutes=45), T0 + timedelta(hours=24))
    assert policy.resolve_within["low"] == timedelta(hours=48, minutes=30)


@pytest.mark.parametrize(
    ("ack", "resolve", "reason"),
    [
        ('{"critical": 10, "high": 20, "normal": 45}', None, "missing low"),
        ('{"critical": 10, "high": 20, "normal": 45, "low": 0}', None, "greater than 0"),
        ('{"critical": 10, "high": 20, "normal": 45, "low": 60, "urgent": 5}', None, "urgent"),
        (None, '{"critical": 4, "high": 8, "normal": 24, "low": -1}', "greater than 0"),
        ('{"critical": 1500, "high": 20, "normal": 45, "low": 60}', None, "after the resolution target for critical"),
        ("two hours", None, "acknowledge_within_minutes"),
    ],
)
def test_an_incomplete_or_nonpositive_policy_is_refused_at_start(
    monkeypatch: Any, ack: str | None, resolve: str | None, reason: str
) -> None:
    for name, value in (("MEETDESK_ACKNOWLEDGE_WITHIN_MINUTES", ack), ("MEETDESK_RESOLVE_WITHIN_HOURS", resolve)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    with pytest.raises((ValidationError, ValueError), match=reason):
        ComplaintsSettings()


def test_the_policy_itself_needs_every_severity_and_positive_times() -> None:
    with pytest.raises(ValueError, match="missing critical"):
        SlaPolicy({s: timedelta(hours=1) for s in ("low", "normal", "high")}, POLICY.resolve_within)
    with pytest.raises(ValueError, match="positive; it is not for low"):
        SlaPolicy(POLICY.acknowledge_within, {**POLICY.resolve_within, "low": timedelta(0)})


def test_deadlines_reject_unknown_severity_and_naive_time() -> None:
    with pytest.raises(ValueError, match="severity"):
        POLICY.deadlines(T0, "urgent")
    with pytest.raises(ValueError, match="offset"):
        POLICY.deadlines(T0.replace(tzinfo=None), "normal")


# -- registration ---------------------------------------------------------------------------------
def test_a_new_complaint_defaults_to_other_and_normal() -> None:
    c = domain.new_complaint(CID, T0, POLICY)
    assert (c.complaint_id, c.status, c.category, c.severity) == (CID, REGISTERED, "other", "normal")
    assert (c.acknowledge_due_at, c.resolve_due_at) == POLICY.deadlines(T0, "normal")
    assert c.agent_id is None and c.acknowledged_at is None


def test_a_new_complaint_takes_the_inquiry_classification() -> None:
    c = domain.new_complaint(CID, T0, POLICY, "catering", "critical", agent_id="agent-1")
    assert (c.category, c.severity, c.agent_id) == ("catering", "critical", "agent-1")
    assert c.acknowledge_due_at == T0 + timedelta(minutes=30)
    assert c.resolve_due_at == T0 + timedelta(hours=24)


def test_a_new_complaint_refuses_an_unknown_category() -> None:
    with pytest.raises(ValueError, match="category"):
        domain.new_complaint(CID, T0, POLICY, "noise")


def test_only_an_inquiry_with_the_complaint_intent_is_registered() -> None:
    for intent in ("booking_request", "inquiry", "feedback", "cancellation", "other"):
        assert domain.register(inquiry(intent=intent), complaint_id=CID, event_id="e", now=LATER, policy=POLICY) is None


def test_the_clock_starts_when_the_customer_wrote() -> None:
    out = register(now=LATER, received_at=T0)
    assert out.state.registered_at == T0
    assert out.state.acknowledge_due_at == T0 + timedelta(hours=2)


def test_a_received_at_in_the_future_starts_the_clock_now() -> None:
    ahead = (LATER + timedelta(hours=5)).astimezone(ZoneInfo("Asia/Hong_Kong"))
    out = register(now=LATER, received_at=ahead)
    assert out.state.registered_at == LATER
    assert out.state.acknowledge_due_at == LATER + timedelta(hours=2)
    assert out.entry.data["received_at"] == ahead.isoformat(), "the history keeps what the customer's system said"


def test_registration_announces_the_complaint_with_its_deadlines() -> None:
    out = register(severity="high", booking_id="bk-9")
    registered, _ = out.events
    assert registered.model_dump(mode="json", by_alias=True) == {
        "complaint_id": CID,
        "inquiry_id": "inq-1",
        "customer_id": "cust-1",
        "channel": "email",
        "booking_id": "bk-9",
        "category": "venue_environment",
        "severity": "high",
        "registered_at": T0.isoformat().replace("+00:00", "Z"),
        "acknowledge_due_at": (T0 + timedelta(hours=1)).isoformat().replace("+00:00", "Z"),
        "resolve_due_at": (T0 + timedelta(hours=48)).isoformat().replace("+00:00", "Z"),
    }


def test_the_acknowledgement_answers_on_the_customers_channel_in_their_language() -> None:
    _, ack = register().events
    assert ack.model_dump(mode="json") == {
        "channel": "email",
        "address": "chan@example.com",
        "customer_id": "cust-1",
        "template": "complaint.received",
        "language": "zh-Hant",
        "parameters": {
            "complaint_id": CID,
            "acknowledge_due_at": (T0 + timedelta(hours=2)).isoformat(),
            "conversation_id": "conv-1",
        },
    }


def test_a_web_form_complaint_is_acknowledged_by_email_else_by_phone() -> None:
    _, by_mail = register(channel="webform").events
    assert (by_mail.channel, by_mail.address) == ("email", "chan@example.com")
    no_mail = CustomerRef(customer_id="cust-2", phone="+85290000000")
    _, by_phone = register(channel="webform", customer=no_mail).events
    assert (by_phone.channel, by_phone.address) == ("phone", "+85290000000")


def test_registration_records_where_the_complaint_came_from() -> None:
    e = register().entry
    assert (e.action, e.actor, e.from_status, e.to_status, e.at) == (
        "complaint.registered",
        "intake",
        None,
        REGISTERED,
        T0,
    )
    assert e.data["inquiry_id"] == "inq-1" and e.data["event_id"] == "ev-1" and e.data["channel"] == "email"


def test_registration_watches_both_deadlines() -> None:
    out = register(severity="critical")
    assert dict(out.schedule) == {
        ACKNOWLEDGE_DUE: T0 + timedelta(minutes=30),
        RESOLVE_DUE: T0 + timedelta(hours=24),
    }
    assert out.cancel == ()


# -- transitions ----------------------------------------------------------------------------------
ALLOWED = [
    ("complaint.acknowledge", REGISTERED, ACKNOWLEDGED),
    ("complaint.investigate", ACKNOWLEDGED, INVESTIGATING),
    ("complaint.propose_solution", INVESTIGATING, SOLUTION_PROPOSED),
    ("complaint.start_execution", SOLUTION_PROPOSED, IN_PROGRESS),
    ("complaint.resolve", IN_PROGRESS, RESOLVED),
    ("complaint.close", RESOLVED, CLOSED),
    ("complaint.reopen", RESOLVED, INVESTIGATING),
    ("complaint.reopen", CLOSED, INVESTIGATING),
]


@pytest.mark.parametrize(("name", "from_", "to"), ALLOWED)
def test_allowed_transition(name: str, from_: str, to: str) -> None:
    out = apply(complaint(from_), cmd(name, note="done"))
    assert out.state.status == to
    e = out.entry
    assert (e.action, e.from_status, e.to_status, e.actor, e.at, e.note) == (name, from_, to, "agent-7", LATER, "done")
    changed = out.events[0].model_dump(mode="json", by_alias=True)
    assert changed == {
        "complaint_id": CID,
        "from": from_,
        "to": to,
        "actor": "agent-7",
        "category": "equipment_failure",
        "agent_id": None,
    }


def test_closing_also_announces_the_complaint_closed() -> None:
    out = apply(complaint(RESOLVED), cmd("complaint.close", actor="supervisor-1"))
    assert [type(e).event_type for e in out.events] == ["complaint.status_changed", "complaint.closed"]
    assert out.events[1].model_dump() == {"complaint_id": CID, "actor": "supervisor-1", "category": "equipment_failure"}


def test_the_table_is_exactly_the_allowed_transitions() -> None:
    allowed = {(n, f) for n, f, _ in ALLOWED} | {("complaint.assign", s) for s in STATUSES if s != CLOSED}
    for name in domain.TRANSITIONS:
        for status in STATUSES:
            out = domain.apply(complaint(status), cmd(name, agent_id="agent-9"), POLICY)
            assert isinstance(out, Outcome) == ((name, status) in allowed), (name, status)


@pytest.mark.parametrize(
    ("name", "status", "reason"),
    [
        ("complaint.acknowledge", ACKNOWLEDGED, "already acknowledged"),
        ("complaint.investigate", INVESTIGATING, "already investigating"),
        ("complaint.investigate", REGISTERED, "the complaint is registered; complaint.investigate needs it to be ack"),
        ("complaint.propose_solution", ACKNOWLEDGED, "needs it to be investigating"),
        ("complaint.start_execution", INVESTIGATING, "needs it to be solution_proposed"),
        ("complaint.resolve", SOLUTION_PROPOSED, "needs it to be in_progress"),
        ("complaint.close", IN_PROGRESS, "needs it to be resolved"),
        ("complaint.close", CLOSED, "the complaint is closed"),
        ("complaint.resolve", CLOSED, "reopen it first"),
        ("complaint.reopen", IN_PROGRESS, "needs it to be resolved, closed"),
        ("complaint.reopen", REGISTERED, "needs it to be resolved, closed"),
        ("complaint.assign", CLOSED, "the complaint is closed"),
        ("complaint.escalate", REGISTERED, "unknown command 'complaint.escalate'"),
    ],
)
def test_refused_with_reason(name: str, status: str, reason: str) -> None:
    out = domain.apply(complaint(status), cmd(name, agent_id="agent-9"), POLICY)
    assert isinstance(out, Refusal)
    assert reason in out.reason


def test_acknowledge_records_when() -> None:
    assert apply(complaint(), cmd("complaint.acknowledge")).state.acknowledged_at == LATER


def test_resolve_and_close_record_when() -> None:
    resolved = apply(complaint(IN_PROGRESS), cmd("complaint.resolve", details={"resolution": "refund"}))
    assert resolved.state.resolved_at == LATER
    assert resolved.entry.data == {"resolution": "refund"}
    closed = apply(resolved.state, cmd("complaint.close", at=LATER + timedelta(days=1)))
    assert closed.state.closed_at == LATER + timedelta(days=1)
    assert closed.state.resolved_at == LATER


def test_reopen_follows_an_unsatisfied_customer() -> None:
    start = complaint(CLOSED, resolved_at=T0, closed_at=T0 + timedelta(minutes=5), acknowledged_at=T0)
    out = apply(start, cmd("complaint.reopen", actor="supervisor-1", details={"reason": "still unhappy"}))
    s = out.state
    assert (s.status, s.resolved_at, s.closed_at, s.acknowledged_at) == (INVESTIGATING, None, None, T0)
    assert s.status in domain.OPEN_STATUSES
    assert out.entry.data["reason"] == "still unhappy"
    assert out.entry.data["previous_closed_at"] == (T0 + timedelta(minutes=5)).isoformat()
    assert out.entry.actor == "supervisor-1"


def test_a_reopened_complaint_runs_the_lifecycle_again() -> None:
    state = complaint()
    steps = [
        "complaint.acknowledge",
        "complaint.investigate",
        "complaint.propose_solution",
        "complaint.start_execution",
        "complaint.resolve",
        "complaint.reopen",
        "complaint.propose_solution",
        "complaint.start_execution",
        "complaint.resolve",
        "complaint.close",
        "complaint.reopen",
        "complaint.propose_solution",
        "complaint.start_execution",
        "complaint.resolve",
        "complaint.close",
    ]
    trail = [state.status]
    for name in steps:
        state = apply(state, cmd(name)).state
        trail.append(state.status)
    assert trail[-1] == CLOSED and state.status not in domain.OPEN_STATUSES
    assert trail.count(INVESTIGATING) == 3


def test_assign_sets_owner_without_changing_status() -> None:
    out = apply(complaint(INVESTIGATING), cmd("complaint.assign", actor="supervisor-1", agent_id="agent-3"))
    assert (out.state.status, out.state.agent_id) == (INVESTIGATING, "agent-3")
    assert (out.entry.from_status, out.entry.to_status) == (INVESTIGATING, INVESTIGATING)
    assert out.entry.data == {"agent_id": {"from": None, "to": "agent-3"}}
    assert out.events[0].agent_id == "agent-3"


def test_assign_in_every_open_status() -> None:
    for status in STATUSES:
        out = domain.apply(complaint(status), cmd("complaint.assign", agent_id="agent-3"), POLICY)
        assert isinstance(out, Outcome) == (status != CLOSED)


def test_assign_may_reclassify_and_moves_deadlines_with_severity() -> None:
    out = apply(
        complaint(ACKNOWLEDGED), cmd("complaint.assign", agent_id="agent-3", category="catering", severity="critical")
    )
    s = out.state
    assert (s.category, s.severity) == ("catering", "critical")
    assert (s.acknowledge_due_at, s.resolve_due_at) == POLICY.deadlines(T0, "critical")
    assert out.entry.data["severity"] == {"from": "normal", "to": "critical"}
    assert out.entry.data["category"] == {"from": "equipment_failure", "to": "catering"}


def test_assign_that_changes_nothing_is_refused() -> None:
    out = domain.apply(complaint(agent_id="agent-3"), cmd("complaint.assign", agent_id="agent-3"), POLICY)
    assert isinstance(out, Refusal)
    assert "already assigned to agent-3" in out.reason


@pytest.mark.parametrize(
    ("kw", "reason"),
    [
        ({}, "needs an agent_id"),
        ({"agent_id": "a", "category": "noise"}, "unknown category"),
        ({"agent_id": "a", "severity": "urgent"}, "unknown severity"),
    ],
)
def test_assign_refusals(kw: dict[str, str], reason: str) -> None:
    out = domain.apply(complaint(), cmd("complaint.assign", **kw), POLICY)
    assert isinstance(out, Refusal)
    assert reason in out.reason


def test_history_entry_data_drops_empty_details() -> None:
    out = apply(
        complaint(INVESTIGATING),
        cmd("complaint.propose_solution", details={"actions": [], "command_id": "c-1", "extra": None}),
    )
    assert out.entry.data == {"command_id": "c-1"}


# -- the SLA deadlines through the lifecycle -------------------------------------------------------
def test_acknowledging_stops_watching_the_acknowledgement_deadline_only() -> None:
    out = apply(complaint(), cmd("complaint.acknowledge"))
    assert out.cancel == (ACKNOWLEDGE_DUE,)
    assert dict(out.schedule) == {}


def test_resolving_stops_watching_the_resolution_deadline() -> None:
    out = apply(complaint(IN_PROGRESS, acknowledged_at=T0), cmd("complaint.resolve"))
    assert (dict(out.schedule), out.cancel) == ({}, (RESOLVE_DUE,))


def test_closing_leaves_no_deadline_watched() -> None:
    out = apply(complaint(RESOLVED, acknowledged_at=T0, resolved_at=T0), cmd("complaint.close"))
    assert dict(out.schedule) == {}
    assert set(out.cancel) == {ACKNOWLEDGE_DUE, RESOLVE_DUE}


@pytest.mark.parametrize(
    "name", ["complaint.investigate", "complaint.propose_solution", "complaint.start_execution", "complaint.assign"]
)
def test_working_on_a_complaint_leaves_its_resolution_deadline_alone(name: str) -> None:
    from_ = {n: f for n, f, _ in ALLOWED}.get(name, INVESTIGATING)
    out = apply(complaint(from_, acknowledged_at=T0), cmd(name, agent_id="agent-2"))
    assert (dict(out.schedule), out.cancel) == ({}, ())


def test_reopening_gives_the_complaint_the_full_resolution_time_again() -> None:
    reopened_at = T0 + timedelta(days=5)
    start = complaint(CLOSED, acknowledged_at=T0, resolved_at=T0 + timedelta(days=1), closed_at=T0 + timedelta(days=2))
    out = apply(start, cmd("complaint.reopen", at=reopened_at))
    assert out.state.resolve_due_at == reopened_at + timedelta(hours=72)
    assert out.state.reopened_at == reopened_at
    assert dict(out.schedule) == {RESOLVE_DUE: reopened_at + timedelta(hours=72)}
    assert out.entry.data["resolve_due_at"] == {
        "from": start.resolve_due_at.isoformat(),
        "to": (reopened_at + timedelta(hours=72)).isoformat(),
    }
    assert out.state.acknowledge_due_at == start.acknowledge_due_at, "the acknowledgement was met long ago"


def test_raising_the_severity_moves_both_unmet_deadlines() -> None:
    out = apply(complaint(), cmd("complaint.assign", agent_id="agent-3", severity="critical"))
    assert dict(out.schedule) == {
        ACKNOWLEDGE_DUE: T0 + timedelta(minutes=30),
        RESOLVE_DUE: T0 + timedelta(hours=24),
    }
    assert out.cancel == ()


def test_a_new_severity_moves_only_the_deadlines_not_yet_met() -> None:
    out = apply(complaint(INVESTIGATING, acknowledged_at=T0), cmd("complaint.assign", agent_id="a", severity="low"))
    assert dict(out.schedule) == {RESOLVE_DUE: T0 + timedelta(days=7)}


def test_a_new_severity_after_a_reopening_counts_the_resolution_from_the_reopening() -> None:
    reopened_at = T0 + timedelta(days=4)
    state = complaint(INVESTIGATING, acknowledged_at=T0, reopened_at=reopened_at)
    out = apply(state, cmd("complaint.assign", agent_id="a", severity="high", at=reopened_at + timedelta(hours=1)))
    assert out.state.resolve_due_at == reopened_at + timedelta(hours=48)
    assert out.state.acknowledge_due_at == T0 + timedelta(hours=1)


# -- SLA breaches ---------------------------------------------------------------------------------
def test_the_acknowledgement_is_breached_once_its_time_has_come_and_it_is_not_acknowledged() -> None:
    due = complaint().acknowledge_due_at
    assert domain.check_sla(complaint(), ACKNOWLEDGE, due - timedelta(seconds=1)) is None
    out = domain.check_sla(complaint(), ACKNOWLEDGE, due)
    assert out is not None
    assert out.events[0].model_dump() == {"complaint_id": CID, "which": "acknowledge", "due_at": due}
    e = out.entry
    assert (e.action, e.actor, e.from_status, e.to_status, e.at) == (
        "complaint.sla_breached",
        "scheduler",
        REGISTERED,
        REGISTERED,
        due,
    )
    assert e.data == {"which": "acknowledge", "due_at": due.isoformat()}
    assert out.state == complaint() and (dict(out.schedule), out.cancel) == ({}, ())


def test_an_acknowledged_complaint_never_breaches_the_acknowledgement() -> None:
    late = T0 + timedelta(days=30)
    for status in STATUSES[1:]:
        assert domain.check_sla(complaint(status, acknowledged_at=LATER), ACKNOWLEDGE, late) is None


@pytest.mark.parametrize("status", [REGISTERED, ACKNOWLEDGED, INVESTIGATING, SOLUTION_PROPOSED, IN_PROGRESS])
def test_an_unresolved_complaint_breaches_the_resolution(status: str) -> None:
    state = complaint(status)
    out = domain.check_sla(state, RESOLVE, state.resolve_due_at + timedelta(minutes=1))
    assert out is not None
    assert (out.events[0].which, out.events[0].due_at) == ("resolve", state.resolve_due_at)
    assert out.entry.to_status == status


@pytest.mark.parametrize("status", [RESOLVED, CLOSED])
def test_a_resolved_or_closed_complaint_never_breaches_the_resolution(status: str) -> None:
    assert domain.check_sla(complaint(status), RESOLVE, T0 + timedelta(days=30)) is None


def test_check_sla_refuses_an_unknown_target() -> None:
    with pytest.raises(ValueError, match="unknown target"):
        domain.check_sla(complaint(), "respond", LATER)


def test_the_deadlines_watched_are_those_not_yet_met() -> None:
    state = complaint()
    both = {ACKNOWLEDGE_DUE: state.acknowledge_due_at, RESOLVE_DUE: state.resolve_due_at}
    assert domain.sla_deadlines(state) == both
    assert domain.sla_deadlines(complaint(ACKNOWLEDGED, acknowledged_at=LATER)) == {RESOLVE_DUE: state.resolve_due_at}
    assert domain.sla_deadlines(complaint(RESOLVED, acknowledged_at=LATER)) == {}
    assert domain.sla_deadlines(complaint(CLOSED, acknowledged_at=LATER)) == {}
    assert RESOLVE in domain.TARGETS and ACKNOWLEDGE in domain.TARGETS
