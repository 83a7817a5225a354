"""The complaint lifecycle rules and deadlines (plain Python, no broker, no database)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from services.complaints import domain
from services.complaints.domain import (
    ACKNOWLEDGED,
    CLOSED,
    IN_PROGRESS,
    INVESTIGATING,
    REGISTERED,
    RESOLVED,
    SOLUTION_PROPOSED,
    STATUSES,
    Command,
    Outcome,
    Refusal,
)

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LATER = T0 + timedelta(hours=1)


def complaint(status: str = REGISTERED, **kw: object) -> domain.Complaint:
    return replace(domain.register(T0, "equipment_failure", "normal"), status=status, **kw)


def cmd(name: str, **kw: object) -> Command:
    return Command(name=name, actor=str(kw.pop("actor", "agent-7")), at=LATER, **kw)  # type: ignore[arg-type]


# -- deadlines ------------------------------------------------------------------------------------
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
    assert domain.deadlines(T0, severity) == (T0 + ack, T0 + resolve)


def test_every_severity_is_acknowledged_within_two_hours() -> None:
    for severity in domain.SEVERITIES:
        ack_due, resolve_due = domain.deadlines(T0, severity)
        assert ack_due - T0 <= timedelta(hours=2)
        assert resolve_due > ack_due


def test_urgent_complaints_go_first() -> None:
    order = ["critical", "high", "normal", "low"]
    acks = [domain.deadlines(T0, s)[0] for s in order]
    resolves = [domain.deadlines(T0, s)[1] for s in order]
    assert acks == sorted(acks)
    assert resolves == sorted(resolves) and len(set(resolves)) == 4


def test_deadlines_reject_unknown_severity_and_naive_time() -> None:
    with pytest.raises(ValueError, match="severity"):
        domain.deadlines(T0, "urgent")
    with pytest.raises(ValueError, match="offset"):
        domain.deadlines(T0.replace(tzinfo=None), "normal")


def test_register_defaults_to_other_and_normal() -> None:
    c = domain.register(T0)
    assert (c.status, c.category, c.severity) == (REGISTERED, "other", "normal")
    assert (c.acknowledge_due_at, c.resolve_due_at) == domain.deadlines(T0, "normal")
    assert c.agent_id is None and c.acknowledged_at is None


def test_register_takes_the_inquiry_classification() -> None:
    c = domain.register(T0, "catering", "critical", agent_id="agent-1")
    assert (c.category, c.severity, c.agent_id) == ("catering", "critical", "agent-1")
    assert c.acknowledge_due_at == T0 + timedelta(minutes=30)
    assert c.resolve_due_at == T0 + timedelta(hours=24)


def test_register_rejects_unknown_category() -> None:
    with pytest.raises(ValueError, match="category"):
        domain.register(T0, "noise")


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
    out = domain.apply(complaint(from_), cmd(name, note="done"))
    assert isinstance(out, Outcome)
    assert out.state.status == to
    assert out.status_changed
    e = out.entry
    assert (e.action, e.from_status, e.to_status, e.actor, e.at, e.note) == (name, from_, to, "agent-7", LATER, "done")


def test_the_table_is_exactly_the_allowed_transitions() -> None:
    allowed = {(n, f) for n, f, _ in ALLOWED} | {("complaint.assign", s) for s in STATUSES if s != CLOSED}
    for name in domain.TRANSITIONS:
        for status in STATUSES:
            out = domain.apply(complaint(status), cmd(name, agent_id="agent-9"))
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
    out = domain.apply(complaint(status), cmd(name, agent_id="agent-9"))
    assert isinstance(out, Refusal)
    assert reason in out.reason


def test_acknowledge_records_when() -> None:
    out = domain.apply(complaint(), cmd("complaint.acknowledge"))
    assert isinstance(out, Outcome)
    assert out.state.acknowledged_at == LATER


def test_resolve_and_close_record_when() -> None:
    resolved = domain.apply(complaint(IN_PROGRESS), cmd("complaint.resolve", details={"resolution": "refund"}))
    assert isinstance(resolved, Outcome)
    assert resolved.state.resolved_at == LATER
    assert resolved.entry.data == {"resolution": "refund"}
    closed = domain.apply(resolved.state, replace(cmd("complaint.close"), at=LATER + timedelta(days=1)))
    assert isinstance(closed, Outcome)
    assert closed.state.closed_at == LATER + timedelta(days=1)
    assert closed.state.resolved_at == LATER


def test_reopen_follows_an_unsatisfied_customer() -> None:
    start = complaint(CLOSED, resolved_at=T0, closed_at=T0 + timedelta(minutes=5), acknowledged_at=T0)
    out = domain.apply(start, cmd("complaint.reopen", actor="supervisor-1", details={"reason": "still unhappy"}))
    assert isinstance(out, Outcome)
    s = out.state
    assert (s.status, s.resolved_at, s.closed_at, s.acknowledged_at) == (INVESTIGATING, None, None, T0)
    assert s.is_open
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
        out = domain.apply(state, cmd(name))
        assert isinstance(out, Outcome), (name, state.status, out)
        state = out.state
        trail.append(state.status)
    assert trail[-1] == CLOSED and not state.is_open
    assert trail.count(INVESTIGATING) == 3


def test_assign_sets_owner_without_changing_status() -> None:
    out = domain.apply(complaint(INVESTIGATING), cmd("complaint.assign", actor="supervisor-1", agent_id="agent-3"))
    assert isinstance(out, Outcome)
    assert (out.state.status, out.state.agent_id) == (INVESTIGATING, "agent-3")
    assert not out.status_changed
    assert (out.entry.from_status, out.entry.to_status) == (INVESTIGATING, INVESTIGATING)
    assert out.entry.data == {"agent_id": {"from": None, "to": "agent-3"}}


def test_assign_in_every_open_status() -> None:
    for status in STATUSES:
        out = domain.apply(complaint(status), cmd("complaint.assign", agent_id="agent-3"))
        assert isinstance(out, Outcome) == (status != CLOSED)


def test_assign_may_reclassify_and_moves_deadlines_with_severity() -> None:
    out = domain.apply(
        complaint(ACKNOWLEDGED), cmd("complaint.assign", agent_id="agent-3", category="catering", severity="critical")
    )
    assert isinstance(out, Outcome)
    s = out.state
    assert (s.category, s.severity) == ("catering", "critical")
    assert (s.acknowledge_due_at, s.resolve_due_at) == domain.deadlines(T0, "critical")
    assert out.entry.data["severity"] == {"from": "normal", "to": "critical"}
    assert out.entry.data["category"] == {"from": "equipment_failure", "to": "catering"}


def test_assign_that_changes_nothing_is_refused() -> None:
    out = domain.apply(complaint(agent_id="agent-3"), cmd("complaint.assign", agent_id="agent-3"))
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
    out = domain.apply(complaint(), cmd("complaint.assign", **kw))
    assert isinstance(out, Refusal)
    assert reason in out.reason


def test_refusal_changes_nothing() -> None:
    before = complaint(IN_PROGRESS)
    out = domain.apply(before, cmd("complaint.acknowledge"))
    assert isinstance(out, Refusal)
    assert before.status == IN_PROGRESS


def test_history_entry_data_drops_empty_details() -> None:
    out = domain.apply(
        complaint(INVESTIGATING),
        cmd("complaint.propose_solution", details={"actions": [], "command_id": "c-1", "extra": None}),
    )
    assert isinstance(out, Outcome)
    assert out.entry.data == {"command_id": "c-1"}
