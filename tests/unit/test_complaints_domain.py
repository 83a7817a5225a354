"""The complaint rules: registration, the state table, the clock through the lifecycle, waiting for the
customer, escalation, satisfaction, withdrawal, first contact, handover (plain Python, no I/O)."""

from __future__ import annotations

from collections.abc import Iterable
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
    ESCALATION_KINDS,
    FOLLOW_UP,
    IN_PROGRESS,
    INVESTIGATING,
    REGISTERED,
    RESOLVE,
    RESOLVE_DUE,
    RESOLVED,
    SOLUTION_PROPOSED,
    STATUSES,
    WARNING_KINDS,
    WITHDRAWN,
    Command,
    Complaint,
    Outcome,
    Policy,
    Refusal,
    SlaPolicy,
    Staff,
)
from services.complaints.settings import ComplaintsSettings
from shared.contract.commands import COMMANDS
from shared.contract.common import Category, Severity
from shared.contract.events import CustomerRef, InquiryReceived

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LATER = T0 + timedelta(hours=1)
CID = "7a4c1e9e-0c43-4a4f-9a43-2f1d0c6b5e01"
SLA = SlaPolicy(
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
POLICY = Policy(sla=SLA)
ACK_WARNING, RESOLVE_WARNING = WARNING_KINDS[ACKNOWLEDGE], WARNING_KINDS[RESOLVE]
ACK_ESCALATION, RESOLVE_ESCALATION = ESCALATION_KINDS[ACKNOWLEDGE], ESCALATION_KINDS[RESOLVE]
CONTACT = {
    "customer_id": "cust-1",
    "conversation_id": "conv-1",
    "reply_channel": "email",
    "reply_address": "chan@example.com",
    "language": "zh-Hant",
}
DIRECTORY = {
    "agent-7": Staff("agent-7", "Wong", "agent", "front desk", "sup-1"),
    "sup-1": Staff("sup-1", "Lee", "supervisor", "front desk", "mgr-1"),
    "mgr-1": Staff("mgr-1", "Chan", "manager", "service"),
}


# -- helpers --------------------------------------------------------------------------------------
def fresh(severity: str = "normal", agent_id: str | None = None) -> Complaint:
    return domain.new_complaint(CID, T0, POLICY, "equipment_failure", severity, agent_id, **CONTACT)


def cmd(name: str, **kw: Any) -> Command:
    return Command(name=name, actor=str(kw.pop("actor", "agent-7")), at=kw.pop("at", LATER), **kw)


def apply(state: Complaint, command: Command, policy: Policy = POLICY) -> Outcome:
    out = domain.apply(state, command, policy)
    assert isinstance(out, Outcome), out
    return out


PATH = (
    ("complaint.acknowledge", ACKNOWLEDGED),
    ("complaint.investigate", INVESTIGATING),
    ("complaint.propose_solution", SOLUTION_PROPOSED),
    ("complaint.start_execution", IN_PROGRESS),
    ("complaint.resolve", RESOLVED),
    ("complaint.confirm_satisfaction", RESOLVED),
    ("complaint.close", CLOSED),
)


def complaint(status: str = REGISTERED, *, at: datetime = LATER, state: Complaint | None = None) -> Complaint:
    """A complaint brought to ``status`` along the usual path, every step at ``at`` (closed: satisfied)."""
    state = state or fresh()
    for name, reaches in PATH:
        if state.status == status:
            break
        state = apply(state, cmd(name, at=at)).state
        assert state.status == reaches
    assert state.status == status
    return state


def types(out: Outcome) -> list[str]:
    return [type(e).event_type for e in out.events]


def of_type(out: Outcome, event_type: str) -> list[Any]:
    return [e for e in out.events if type(e).event_type == event_type]


def clock_events(out: Outcome) -> list[tuple[str, str]]:
    return [(e.which, e.transition) for e in of_type(out, "complaint.clock")]


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


def register(now: datetime = LATER, policy: Policy = POLICY, **kw: Any) -> Outcome:
    out = domain.register(inquiry(**kw), complaint_id=CID, event_id="ev-1", now=now, policy=policy)
    assert out is not None
    return out


def fire(state: Complaint, kind: str, now: datetime, directory: dict[str, Staff] | None = None) -> Outcome:
    return domain.fire(state, kind, now, POLICY, DIRECTORY if directory is None else directory)


def fire_all(
    state: Complaint, until: datetime, directory: dict[str, Staff] | None = None
) -> tuple[Complaint, list[Any]]:
    """Fire the complaint's due items in due order up to ``until``, as the scheduler would: its events."""
    events: list[Any] = []
    while True:
        due = sorted((at, kind) for kind, at in domain.plan(state, POLICY).items() if at <= until)
        if not due:
            return state, events
        at, kind = due[0]
        out = fire(state, kind, at, directory)
        events += out.events
        state = out.state
        assert domain.plan(state, POLICY).get(kind) != at, f"{kind} at {at} changed nothing"


def names(events: Iterable[Any]) -> list[str]:
    return [type(e).event_type for e in events]


# -- enumerations ---------------------------------------------------------------------------------
def test_categories_and_severities_are_the_contracts() -> None:
    assert domain.CATEGORIES == get_args(Category)
    assert domain.SEVERITIES == get_args(Severity)


def test_every_complaint_command_of_the_contract_is_a_transition_or_the_handover() -> None:
    assert {name for name in COMMANDS if name.startswith("complaint.")} == set(domain.TRANSITIONS_TABLE) | {
        "complaint.handover"
    }


# -- the policy and its settings --------------------------------------------------------------------
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
    assert SLA.deadlines(T0, severity) == (T0 + ack, T0 + resolve)


def _no_complaint_env(monkeypatch: Any) -> None:
    for name in (
        "ACKNOWLEDGE_WITHIN_MINUTES",
        "RESOLVE_WITHIN_HOURS",
        "SLA_WARNING_SHARE",
        "BUSINESS_HOURS",
        "BUSINESS_HOURS_SEVERITIES",
        "ESCALATION_DELAY_MINUTES",
        "ESCALATION_START",
        "SATISFACTION_FOLLOW_UP_HOURS",
        "SATISFACTION_FOLLOW_UPS",
        "VENUE_TIMEZONE",
    ):
        monkeypatch.delenv(f"MEETDESK_{name}", raising=False)


def test_the_settings_default_to_a_formal_reply_within_two_hours_and_urgent_first(monkeypatch: Any) -> None:
    _no_complaint_env(monkeypatch)
    policy = ComplaintsSettings().policy()
    assert policy == POLICY
    assert policy.sla.warning_share == 0.75 and policy.sla.calendar is None
    for severity in domain.SEVERITIES:
        ack_due, resolve_due = policy.sla.deadlines(T0, severity)
        assert ack_due - T0 <= timedelta(hours=2)
        assert resolve_due > ack_due
    order = ["critical", "high", "normal", "low"]
    acks = [policy.sla.deadlines(T0, s)[0] for s in order]
    resolves = [policy.sla.deadlines(T0, s)[1] for s in order]
    assert acks == sorted(acks)
    assert resolves == sorted(resolves) and len(set(resolves)) == 4
    assert policy.escalation.start_level("critical") == policy.escalation.start_level("high") == 2
    assert policy.escalation.start_level("normal") == 1
    assert policy.escalation.delays == {
        "agent": timedelta(0),
        "supervisor": timedelta(minutes=30),
        "manager": timedelta(hours=1),
    }
    assert (policy.follow_up.interval, policy.follow_up.count) == (timedelta(hours=24), 2)


def test_the_policy_is_configured_from_the_environment(monkeypatch: Any) -> None:
    _no_complaint_env(monkeypatch)
    monkeypatch.setenv("MEETDESK_ACKNOWLEDGE_WITHIN_MINUTES", '{"critical": 10, "high": 20, "normal": 45, "low": 90}')
    monkeypatch.setenv("MEETDESK_RESOLVE_WITHIN_HOURS", '{"critical": 4, "high": 8, "normal": 24, "low": 48.5}')
    monkeypatch.setenv("MEETDESK_SLA_WARNING_SHARE", "0.5")
    monkeypatch.setenv("MEETDESK_ESCALATION_DELAY_MINUTES", '{"agent": 5, "supervisor": 10, "manager": 20}')
    monkeypatch.setenv("MEETDESK_ESCALATION_START", '{"critical": "manager"}')
    monkeypatch.setenv("MEETDESK_SATISFACTION_FOLLOW_UP_HOURS", "12")
    monkeypatch.setenv("MEETDESK_SATISFACTION_FOLLOW_UPS", "3")
    monkeypatch.setenv("MEETDESK_BUSINESS_HOURS", '{"hours": {"mon": ["09:00", "18:00"]}, "holidays": ["2026-12-25"]}')
    monkeypatch.setenv("MEETDESK_BUSINESS_HOURS_SEVERITIES", '["low"]')
    policy = ComplaintsSettings().policy()
    assert policy.sla.deadlines(T0, "normal") == (T0 + timedelta(minutes=45), T0 + timedelta(hours=24))
    assert policy.sla.resolve_within["low"] == timedelta(hours=48, minutes=30)
    assert policy.sla.warning_share == 0.5
    assert policy.escalation.start_level("critical") == 3 and policy.escalation.start_level("high") == 1
    assert policy.escalation.delays["agent"] == timedelta(minutes=5)
    assert (policy.follow_up.interval, policy.follow_up.count) == (timedelta(hours=12), 3)
    calendar = policy.sla.calendar
    assert calendar is not None and calendar.tz == ZoneInfo("Asia/Hong_Kong")
    assert policy.sla.rules(RESOLVE, "low").calendar is calendar
    assert policy.sla.rules(RESOLVE, "normal").calendar is None, "only the severities listed count business hours"


@pytest.mark.parametrize(
    ("env", "reason"),
    [
        ({"ACKNOWLEDGE_WITHIN_MINUTES": '{"critical": 10, "high": 20, "normal": 45}'}, "missing low"),
        ({"ACKNOWLEDGE_WITHIN_MINUTES": '{"critical": 10, "high": 20, "normal": 45, "low": 0}'}, "greater than 0"),
        (
            {"ACKNOWLEDGE_WITHIN_MINUTES": '{"critical": 10, "high": 20, "normal": 45, "low": 60, "urgent": 5}'},
            "urgent",
        ),
        ({"RESOLVE_WITHIN_HOURS": '{"critical": 4, "high": 8, "normal": 24, "low": -1}'}, "greater than 0"),
        (
            {"ACKNOWLEDGE_WITHIN_MINUTES": '{"critical": 1500, "high": 20, "normal": 45, "low": 60}'},
            "after the resolution target for critical",
        ),
        ({"ACKNOWLEDGE_WITHIN_MINUTES": "two hours"}, "acknowledge_within_minutes"),
        ({"SLA_WARNING_SHARE": "1.2"}, "less than 1"),
        ({"ESCALATION_DELAY_MINUTES": '{"agent": 0, "supervisor": 30}'}, "exactly the roles"),
        ({"ESCALATION_START": '{"critical": "director"}'}, "escalation_start"),
        ({"BUSINESS_HOURS": '{"hours": {"mon": ["18:00", "09:00"]}}'}, "must be after it opens"),
        ({"BUSINESS_HOURS": '{"hours": {"monday": ["09:00", "18:00"]}}'}, "unknown weekday"),
        ({"BUSINESS_HOURS": '{"hours": {}}'}, "at least one open weekday"),
    ],
)
def test_an_invalid_policy_is_refused_at_start(monkeypatch: Any, env: dict[str, str], reason: str) -> None:
    _no_complaint_env(monkeypatch)
    for name, value in env.items():
        monkeypatch.setenv(f"MEETDESK_{name}", value)
    with pytest.raises((ValidationError, ValueError), match=reason):
        ComplaintsSettings()


def test_the_policy_itself_needs_every_severity_and_positive_times() -> None:
    with pytest.raises(ValueError, match="missing critical"):
        SlaPolicy({s: timedelta(hours=1) for s in ("low", "normal", "high")}, SLA.resolve_within)
    with pytest.raises(ValueError, match="positive; it is not for low"):
        SlaPolicy(SLA.acknowledge_within, {**SLA.resolve_within, "low": timedelta(0)})


def test_deadlines_reject_unknown_severity_and_naive_time() -> None:
    with pytest.raises(ValueError, match="severity"):
        SLA.deadlines(T0, "urgent")
    with pytest.raises(ValueError, match="offset"):
        SLA.deadlines(T0.replace(tzinfo=None), "normal")


# -- registration ---------------------------------------------------------------------------------
def test_a_new_complaint_defaults_to_other_and_normal_with_both_clocks_started() -> None:
    c = domain.new_complaint(CID, T0, POLICY)
    assert (c.complaint_id, c.status, c.category, c.severity) == (CID, REGISTERED, "other", "normal")
    assert (c.acknowledge_due_at, c.resolve_due_at) == SLA.deadlines(T0, "normal")
    assert c.agent_id is None and c.acknowledged_at is None
    assert [(e.which, e.transition, e.at, e.cycle) for e in c.clock] == [
        (ACKNOWLEDGE, "started", T0, 1),
        (RESOLVE, "started", T0, 1),
    ]


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
    assert [e.at for e in out.clock] == [T0, T0]


def test_a_received_at_in_the_future_starts_the_clock_now() -> None:
    ahead = (LATER + timedelta(hours=5)).astimezone(ZoneInfo("Asia/Hong_Kong"))
    out = register(now=LATER, received_at=ahead)
    assert out.state.registered_at == LATER
    assert out.state.acknowledge_due_at == LATER + timedelta(hours=2)
    assert out.entry.data["received_at"] == ahead.isoformat(), "the history keeps what the customer's system said"


@pytest.mark.parametrize("automatic", ["auto_submitted", "bulk", "spam"])
def test_a_complaint_in_mail_a_machine_sent_is_registered_but_no_receipt_answers_it(automatic: str) -> None:
    out = register(automatic=automatic)
    assert types(out) == ["complaint.registered", "complaint.clock", "complaint.clock"]
    assert out.entry.data["notified"] == {"withheld": f"automatic mail ({automatic})"}


def test_registration_announces_the_complaint_its_receipt_and_both_clocks() -> None:
    out = register(severity="high", booking_id="bk-9")
    assert types(out) == ["complaint.registered", "notification.requested", "complaint.clock", "complaint.clock"]
    assert out.events[0].model_dump(mode="json", by_alias=True) == {
        "complaint_id": CID,
        "inquiry_id": "inq-1",
        "customer_id": "cust-1",
        "channel": "email",
        "booking_id": "bk-9",
        "category": "venue_environment",
        "severity": "high",
        "registered_at": "2026-03-02T09:00:00Z",
        "acknowledge_due_at": "2026-03-02T10:00:00Z",
        "resolve_due_at": "2026-03-04T09:00:00Z",
        "service_step": "on_site",  # 冷氣壞了: the air conditioning, on site
        "severity_source": "given",
        "severity_reason": "given with the complaint",
        "room_id": None,  # the booking is not known from booking's events
    }
    started = of_type(out, "complaint.clock")
    assert [c.model_dump(mode="json") for c in started] == [
        {
            "complaint_id": CID,
            "which": which,
            "transition": "started",
            "at": "2026-03-02T09:00:00Z",
            "cycle": 1,
            "seq": seq,
            "target_seconds": target,
            "elapsed_seconds": 0.0,
            "due_at": due,
            "business_hours": False,
            "severity": "high",
            "category": "venue_environment",
            "agent_id": None,
            "reason": None,
        }
        for seq, which, target, due in (
            (1, ACKNOWLEDGE, 3600.0, "2026-03-02T10:00:00Z"),
            (2, RESOLVE, 172800.0, "2026-03-04T09:00:00Z"),
        )
    ]


def test_the_receipt_answers_on_the_customers_channel_in_their_language() -> None:
    (receipt,) = of_type(register(), "notification.requested")
    assert receipt.model_dump(mode="json") == {
        "channel": "email",
        "address": "chan@example.com",
        "customer_id": "cust-1",
        "template": "complaint.received",
        "language": "zh-Hant",
        "parameters": {
            "complaint_id": CID,
            "acknowledge_due_at": (T0 + timedelta(hours=2)).isoformat(),
            "conversation_id": "conv-1",
            "status": "registered",
        },
    }


def test_a_web_form_complaint_is_answered_by_email_else_by_phone_and_the_route_is_kept() -> None:
    by_mail = register(channel="webform")
    (n,) = of_type(by_mail, "notification.requested")
    assert (n.channel, n.address) == ("email", "chan@example.com")
    assert (by_mail.state.reply_channel, by_mail.state.reply_address, by_mail.state.language) == (
        "email",
        "chan@example.com",
        "zh-Hant",
    )
    no_mail = CustomerRef(customer_id="cust-2", phone="+85290000000")
    (by_phone,) = of_type(register(channel="webform", customer=no_mail), "notification.requested")
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
    assert e.data["notified"] == {"template": "complaint.received", "channel": "email", "address_known": True}


def test_registration_plans_the_warnings_and_the_breaches_of_both_targets() -> None:
    out = register(severity="critical")
    assert dict(out.schedule) == {
        ACK_WARNING: T0 + timedelta(minutes=22, seconds=30),
        ACKNOWLEDGE_DUE: T0 + timedelta(minutes=30),
        RESOLVE_WARNING: T0 + timedelta(hours=18),
        RESOLVE_DUE: T0 + timedelta(hours=24),
    }
    assert out.cancel == ()


# -- the state table ------------------------------------------------------------------------------
ALLOWED = [
    ("complaint.acknowledge", REGISTERED, ACKNOWLEDGED),
    ("complaint.investigate", ACKNOWLEDGED, INVESTIGATING),
    ("complaint.propose_solution", INVESTIGATING, SOLUTION_PROPOSED),
    ("complaint.start_execution", SOLUTION_PROPOSED, IN_PROGRESS),
    ("complaint.resolve", IN_PROGRESS, RESOLVED),
    ("complaint.reopen", RESOLVED, INVESTIGATING),
    ("complaint.reopen", CLOSED, INVESTIGATING),
    ("complaint.withdraw", REGISTERED, WITHDRAWN),
    ("complaint.withdraw", IN_PROGRESS, WITHDRAWN),
    ("complaint.withdraw", RESOLVED, WITHDRAWN),
]


@pytest.mark.parametrize(("name", "from_", "to"), ALLOWED)
def test_allowed_transition(name: str, from_: str, to: str) -> None:
    out = apply(complaint(from_), cmd(name, note="done", at=LATER + timedelta(minutes=5)))
    assert out.state.status == to
    e = out.entry
    assert (e.action, e.from_status, e.to_status, e.actor, e.at, e.note) == (
        name,
        from_,
        to,
        "agent-7",
        LATER + timedelta(minutes=5),
        "done",
    )
    (changed,) = of_type(out, "complaint.status_changed")
    assert changed.model_dump(mode="json", by_alias=True) == {
        "complaint_id": CID,
        "from": from_,
        "to": to,
        "actor": "agent-7",
        "category": "equipment_failure",
        "agent_id": None,
        "first_contact": False if to == RESOLVED else None,
        "service_step": None,
        "root_cause": None,
    }


def test_closing_a_satisfied_complaint_also_announces_it_closed() -> None:
    out = apply(complaint(RESOLVED), cmd("complaint.confirm_satisfaction", at=LATER))
    out = apply(out.state, cmd("complaint.close", actor="supervisor-1"))
    assert types(out) == ["notification.requested", "complaint.status_changed", "complaint.closed"]
    assert of_type(out, "complaint.closed")[0].model_dump() == {
        "complaint_id": CID,
        "actor": "supervisor-1",
        "category": "equipment_failure",
        "override_reason": None,
    }


def _table_case(name: str, status: str) -> Outcome | Refusal:
    state = complaint(status) if status != WITHDRAWN else apply(fresh(), cmd("complaint.withdraw")).state
    if name == "complaint.close" and status == RESOLVED:
        state = apply(state, cmd("complaint.confirm_satisfaction")).state
    return domain.apply(state, cmd(name, agent_id="agent-9", note="n", at=LATER + timedelta(minutes=1)), POLICY)


def test_the_table_is_exactly_the_allowed_transitions() -> None:
    allowed = {(n, f) for n, f, _ in ALLOWED}
    allowed |= {("complaint.withdraw", s) for s in domain.OPEN_STATUSES}
    allowed |= {("complaint.assign", s) for s in domain.OPEN_STATUSES}
    allowed |= {("complaint.await_customer", s) for s in (ACKNOWLEDGED, INVESTIGATING, SOLUTION_PROPOSED, IN_PROGRESS)}
    allowed |= {("complaint.confirm_satisfaction", RESOLVED), ("complaint.close", RESOLVED)}
    allowed |= {("complaint.note", s) for s in STATUSES}
    for name in domain.TRANSITIONS_TABLE:
        for status in STATUSES:
            out = _table_case(name, status)
            assert isinstance(out, Outcome) == ((name, status) in allowed), (name, status, out)


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
        ("complaint.await_customer", REGISTERED, "needs it to be acknowledged, investigating"),
        ("complaint.await_customer", RESOLVED, "needs it to be acknowledged"),
        ("complaint.confirm_satisfaction", IN_PROGRESS, "needs it to be resolved"),
        ("complaint.escalate", REGISTERED, "unknown command 'complaint.escalate'"),
    ],
)
def test_refused_with_reason(name: str, status: str, reason: str) -> None:
    out = domain.apply(complaint(status), cmd(name, agent_id="agent-9"), POLICY)
    assert isinstance(out, Refusal)
    assert reason in out.reason


def test_a_withdrawn_complaint_takes_no_more_steps_but_notes() -> None:
    withdrawn = apply(fresh(), cmd("complaint.withdraw")).state
    out = domain.apply(withdrawn, cmd("complaint.reopen"), POLICY)
    assert isinstance(out, Refusal) and out.reason == "the complaint is withdrawn; complaint.reopen needs it to be open"
    assert isinstance(domain.apply(withdrawn, cmd("complaint.note", note="called back"), POLICY), Outcome)


def test_acknowledge_records_when() -> None:
    assert apply(fresh(), cmd("complaint.acknowledge")).state.acknowledged_at == LATER


def test_resolve_and_close_record_when() -> None:
    resolved = apply(complaint(IN_PROGRESS), cmd("complaint.resolve", details={"resolution": "refund"}))
    assert resolved.state.resolved_at == LATER
    assert resolved.entry.data["resolution"] == "refund"
    satisfied = apply(resolved.state, cmd("complaint.confirm_satisfaction", details={"score": 4}))
    closed = apply(satisfied.state, cmd("complaint.close", at=LATER + timedelta(days=1)))
    assert closed.state.closed_at == LATER + timedelta(days=1)
    assert closed.state.resolved_at == LATER
    assert closed.entry.data["satisfaction_score"] == 4


def test_reopen_follows_an_unsatisfied_customer() -> None:
    closed = complaint(CLOSED)
    out = apply(closed, cmd("complaint.reopen", at=T0 + timedelta(days=3), details={"reason": "still broken"}))
    s = out.state
    assert (s.status, s.resolved_at, s.closed_at, s.reopened_at) == (INVESTIGATING, None, None, T0 + timedelta(days=3))
    assert s.satisfied_at is None and s.satisfaction_score is None
    assert out.entry.data["previous_resolved_at"] == closed.resolved_at.isoformat()  # type: ignore[union-attr]
    assert out.entry.data["reason"] == "still broken"


def test_assign_sets_the_agent_in_any_open_status() -> None:
    out = apply(complaint(IN_PROGRESS), cmd("complaint.assign", agent_id="agent-3"))
    assert out.state.agent_id == "agent-3"
    assert out.entry.data["agent_id"] == {"from": None, "to": "agent-3"}
    assert of_type(out, "complaint.status_changed")[0].agent_id == "agent-3"


def test_assign_may_reclassify_and_moves_deadlines_with_severity() -> None:
    out = apply(
        complaint(ACKNOWLEDGED),
        cmd("complaint.assign", agent_id="agent-3", category="catering", severity="critical"),
    )
    s = out.state
    assert (s.category, s.severity) == ("catering", "critical")
    assert s.resolve_due_at == T0 + timedelta(hours=24)
    assert out.entry.data["severity"] == {"from": "normal", "to": "critical"}
    assert out.entry.data["category"] == {"from": "equipment_failure", "to": "catering"}
    assert out.entry.data["resolve_due_at"]["to"] == (T0 + timedelta(hours=24)).isoformat()


def test_assign_that_changes_nothing_is_refused() -> None:
    state = apply(fresh(), cmd("complaint.assign", agent_id="agent-3")).state
    out = domain.apply(state, cmd("complaint.assign", agent_id="agent-3"), POLICY)
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
    out = domain.apply(fresh(), cmd("complaint.assign", **kw), POLICY)
    assert isinstance(out, Refusal)
    assert reason in out.reason


def test_history_entry_data_drops_empty_details() -> None:
    out = apply(
        complaint(INVESTIGATING),
        cmd("complaint.propose_solution", details={"actions": [], "command_id": "c-1", "extra": None}),
    )
    assert out.entry.data == {
        "command_id": "c-1",
        "notified": {"template": "complaint.solution_proposed", "channel": "email", "address_known": True},
    }


# -- the customer is told at each step --------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "from_", "template"),
    [
        ("complaint.acknowledge", REGISTERED, "complaint.acknowledged"),
        ("complaint.investigate", ACKNOWLEDGED, "complaint.investigating"),
        ("complaint.propose_solution", INVESTIGATING, "complaint.solution_proposed"),
        ("complaint.start_execution", SOLUTION_PROPOSED, "complaint.in_progress"),
        ("complaint.resolve", IN_PROGRESS, "complaint.satisfaction"),
        ("complaint.reopen", RESOLVED, "complaint.reopened"),
        ("complaint.await_customer", INVESTIGATING, "complaint.awaiting_customer"),
        ("complaint.withdraw", ACKNOWLEDGED, "complaint.withdrawn"),
    ],
)
def test_each_step_is_told_to_the_customer_on_their_channel_in_their_language(
    name: str, from_: str, template: str
) -> None:
    out = apply(complaint(from_), cmd(name, details={"question": "Which room were you in?"}))
    (told,) = of_type(out, "notification.requested")
    assert (told.channel, told.address, told.language, told.customer_id, told.template) == (
        "email",
        "chan@example.com",
        "zh-Hant",
        "cust-1",
        template,
    )
    assert told.parameters["complaint_id"] == CID and told.parameters["conversation_id"] == "conv-1"
    assert told.parameters["status"] == out.state.status
    assert out.entry.data["notified"]["template"] == template, "the contact is in the history"
    if name == "complaint.await_customer":
        assert told.parameters["question"] == "Which room were you in?"


def test_a_complaint_with_no_way_to_reach_the_customer_is_not_sent_anything() -> None:
    unreachable = replace(fresh(), reply_channel=None, reply_address=None)
    out = apply(complaint(IN_PROGRESS, state=unreachable), cmd("complaint.resolve"))
    assert of_type(out, "notification.requested") == [] and of_type(out, "complaint.satisfaction_requested") == []
    assert "notified" not in out.entry.data


def test_assign_and_notes_are_not_told_to_the_customer() -> None:
    assert of_type(apply(fresh(), cmd("complaint.assign", agent_id="agent-3")), "notification.requested") == []
    assert of_type(apply(fresh(), cmd("complaint.note", note="called")), "notification.requested") == []


# -- notes ----------------------------------------------------------------------------------------
def test_a_note_or_a_call_record_goes_into_the_history_and_changes_nothing_else() -> None:
    state = complaint(INVESTIGATING)
    note = apply(state, cmd("complaint.note", note="Customer prefers calls after 5 pm"))
    call = apply(
        state,
        cmd(
            "complaint.note",
            note=None,
            details={"kind": "call", "direction": "outbound", "reached": False, "duration_seconds": 0},
        ),
    )
    for out in (note, call):
        assert out.state == state and out.events == () and out.clock == ()
        assert (dict(out.schedule), out.cancel) == ({}, ())
    assert (note.entry.action, note.entry.note) == ("complaint.note", "Customer prefers calls after 5 pm")
    assert call.entry.data == {"kind": "call", "direction": "outbound", "reached": False, "duration_seconds": 0}
    refused = domain.apply(state, cmd("complaint.note"), POLICY)
    assert isinstance(refused, Refusal) and "needs a note" in refused.reason


# -- the clock through the lifecycle --------------------------------------------------------------
def test_acknowledging_meets_the_formal_reply_target_and_stops_watching_it() -> None:
    out = apply(fresh(), cmd("complaint.acknowledge", at=T0 + timedelta(minutes=40)))
    assert clock_events(out) == [(ACKNOWLEDGE, "met")]
    (met,) = of_type(out, "complaint.clock")
    assert (met.elapsed_seconds, met.target_seconds, met.due_at, met.seq) == (2400.0, 7200.0, None, 3)
    assert set(out.cancel) == {ACK_WARNING, ACKNOWLEDGE_DUE}
    assert dict(out.schedule) == {}


def test_a_late_acknowledgement_records_the_breach_first_at_the_instant_it_fell_due() -> None:
    """Whatever the scheduler's lag: a target that passed while the clock ran is breached at its time."""
    out = apply(fresh(), cmd("complaint.acknowledge", at=T0 + timedelta(hours=2, minutes=10)))
    assert clock_events(out) == [(ACKNOWLEDGE, "warning"), (ACKNOWLEDGE, "breached"), (ACKNOWLEDGE, "met")]
    warning, breached, met = of_type(out, "complaint.clock")
    assert (warning.at, breached.at) == (T0 + timedelta(minutes=90), T0 + timedelta(hours=2))
    assert met.elapsed_seconds == 7800.0 > met.target_seconds
    (sla,) = of_type(out, "complaint.sla_breached")
    assert sla.model_dump() == {"complaint_id": CID, "which": "acknowledge", "due_at": T0 + timedelta(hours=2)}
    assert [e.action for e in out.entries] == ["complaint.sla_breached", "complaint.acknowledge"]
    assert out.entries[0].at == T0 + timedelta(hours=2) and out.entries[0].actor == "scheduler"


def test_acknowledging_exactly_when_due_is_a_breach() -> None:
    out = apply(fresh(), cmd("complaint.acknowledge", at=T0 + timedelta(hours=2)))
    assert (ACKNOWLEDGE, "breached") in clock_events(out)
    just_in_time = apply(fresh(), cmd("complaint.acknowledge", at=T0 + timedelta(hours=2) - timedelta(microseconds=1)))
    assert (ACKNOWLEDGE, "breached") not in clock_events(just_in_time)


def test_resolving_meets_the_resolution_target_and_asks_for_satisfaction() -> None:
    state = complaint(IN_PROGRESS)
    out = apply(state, cmd("complaint.resolve", at=LATER + timedelta(hours=3)))
    assert clock_events(out) == [(RESOLVE, "met")]
    assert set(out.cancel) == {RESOLVE_WARNING, RESOLVE_DUE}
    assert dict(out.schedule) == {FOLLOW_UP: LATER + timedelta(hours=3) + timedelta(hours=24)}


def test_closing_leaves_no_due_item_at_all() -> None:
    out = apply(apply(complaint(RESOLVED), cmd("complaint.confirm_satisfaction")).state, cmd("complaint.close"))
    assert dict(out.schedule) == {}
    assert set(out.cancel) == set(domain.ALL_DUE_KINDS)


@pytest.mark.parametrize("name", ["complaint.investigate", "complaint.propose_solution", "complaint.start_execution"])
def test_working_on_a_complaint_leaves_its_resolution_clock_alone(name: str) -> None:
    from_ = {n: f for n, f, _ in ALLOWED}[name]
    out = apply(complaint(from_), cmd(name, at=LATER + timedelta(minutes=1)))
    assert (dict(out.schedule), out.cancel, clock_events(out)) == ({}, (), [])


def test_reopening_starts_a_new_resolution_cycle_with_the_full_time() -> None:
    reopened_at = T0 + timedelta(days=5)
    closed = complaint(CLOSED, at=T0 + timedelta(days=1))
    out = apply(closed, cmd("complaint.reopen", at=reopened_at, details={"reason": "projector failed again"}))
    assert clock_events(out) == [(RESOLVE, "started")]
    (started,) = of_type(out, "complaint.clock")
    assert (started.cycle, started.at, started.elapsed_seconds, started.reason) == (
        2,
        reopened_at,
        0.0,
        "projector failed again",
    )
    assert out.state.resolve_due_at == reopened_at + timedelta(hours=72)
    assert out.state.reopened_at == reopened_at
    assert dict(out.schedule) == {
        RESOLVE_WARNING: reopened_at + timedelta(hours=54),
        RESOLVE_DUE: reopened_at + timedelta(hours=72),
    }
    assert out.entry.data["resolve_due_at"] == {
        "from": (T0 + timedelta(hours=72)).isoformat(),
        "to": (reopened_at + timedelta(hours=72)).isoformat(),
    }
    assert out.state.acknowledge_due_at == closed.acknowledge_due_at, "the formal reply was given long ago"


def test_raising_the_severity_moves_both_unmet_targets() -> None:
    out = apply(
        fresh(), cmd("complaint.assign", agent_id="agent-3", severity="critical", at=T0 + timedelta(minutes=10))
    )
    assert dict(out.schedule) == {
        ACK_WARNING: T0 + timedelta(minutes=22, seconds=30),
        ACKNOWLEDGE_DUE: T0 + timedelta(minutes=30),
        RESOLVE_WARNING: T0 + timedelta(hours=18),
        RESOLVE_DUE: T0 + timedelta(hours=24),
    }
    assert out.cancel == ()


def test_a_new_severity_whose_target_has_passed_is_breached_at_once_at_its_time() -> None:
    out = apply(fresh(), cmd("complaint.assign", agent_id="a", severity="critical", at=T0 + timedelta(minutes=45)))
    assert clock_events(out) == [(ACKNOWLEDGE, "warning"), (ACKNOWLEDGE, "breached")]
    assert of_type(out, "complaint.sla_breached")[0].due_at == T0 + timedelta(minutes=30)


def test_a_new_severity_moves_only_the_targets_not_yet_met() -> None:
    out = apply(complaint(INVESTIGATING), cmd("complaint.assign", agent_id="a", severity="low"))
    assert dict(out.schedule) == {RESOLVE_WARNING: T0 + timedelta(days=7) * 0.75, RESOLVE_DUE: T0 + timedelta(days=7)}


def test_a_new_severity_after_a_reopening_counts_the_resolution_from_the_reopening() -> None:
    reopened_at = T0 + timedelta(days=4)
    state = apply(complaint(CLOSED), cmd("complaint.reopen", at=reopened_at)).state
    out = apply(state, cmd("complaint.assign", agent_id="a", severity="high", at=reopened_at + timedelta(hours=1)))
    assert out.state.resolve_due_at == reopened_at + timedelta(hours=48)
    assert out.state.acknowledge_due_at == T0 + timedelta(hours=2), "met, it stays as it was"


# -- waiting for the customer ---------------------------------------------------------------------
def test_waiting_for_the_customer_pauses_the_running_clock_and_cancels_its_due_items() -> None:
    state = complaint(INVESTIGATING)
    out = apply(state, cmd("complaint.await_customer", at=LATER + timedelta(hours=2)))
    assert clock_events(out) == [(RESOLVE, "paused")]
    (paused,) = of_type(out, "complaint.clock")
    assert (paused.elapsed_seconds, paused.due_at, paused.reason) == (3 * 3600.0, None, "awaiting the customer")
    assert set(out.cancel) == {RESOLVE_WARNING, RESOLVE_DUE} and dict(out.schedule) == {}
    assert out.state.status == INVESTIGATING and out.state.awaiting_customer
    assert out.entry.data["paused"] == [RESOLVE]


def test_waiting_twice_is_refused() -> None:
    state = apply(complaint(INVESTIGATING), cmd("complaint.await_customer")).state
    out = domain.apply(state, cmd("complaint.await_customer", at=LATER + timedelta(hours=1)), POLICY)
    assert isinstance(out, Refusal) and out.reason == "the complaint is already waiting for the customer"


def test_the_customer_writing_again_resumes_the_clock_and_the_pause_does_not_count() -> None:
    paused_at, written_at = T0 + timedelta(hours=10), T0 + timedelta(hours=30)
    waiting = apply(complaint(INVESTIGATING), cmd("complaint.await_customer", at=paused_at)).state
    out = domain.customer_wrote(
        waiting, inquiry(inquiry_id="inq-2", intent="inquiry", received_at=written_at), now=written_at, policy=POLICY
    )
    assert clock_events(out) == [(RESOLVE, "resumed")]
    (resumed,) = of_type(out, "complaint.clock")
    assert (resumed.at, resumed.elapsed_seconds, resumed.reason) == (written_at, 10 * 3600.0, "customer wrote")
    pause = written_at - paused_at
    assert resumed.due_at == T0 + timedelta(hours=72) + pause
    assert dict(out.schedule) == {
        RESOLVE_WARNING: T0 + timedelta(hours=54) + pause,
        RESOLVE_DUE: T0 + timedelta(hours=72) + pause,
    }
    assert out.state.resolve_due_at == T0 + timedelta(hours=72) + pause
    assert (out.entry.action, out.entry.actor, out.entry.note) == ("customer.message", "customer", "冷氣壞了")
    assert out.entry.data["inquiry_id"] == "inq-2"


def test_a_message_written_before_the_wait_began_resumes_it_at_once() -> None:
    paused_at = T0 + timedelta(hours=10)
    waiting = apply(complaint(INVESTIGATING), cmd("complaint.await_customer", at=paused_at)).state
    out = domain.customer_wrote(
        waiting, inquiry(inquiry_id="inq-2", received_at=paused_at - timedelta(minutes=5)), now=paused_at, policy=POLICY
    )
    (resumed,) = of_type(out, "complaint.clock")
    assert resumed.at == paused_at and resumed.due_at == T0 + timedelta(hours=72)


def test_a_message_on_a_complaint_that_waits_for_nobody_is_recorded_only() -> None:
    state = complaint(INVESTIGATING)
    out = domain.customer_wrote(state, inquiry(inquiry_id="inq-2"), now=LATER, policy=POLICY)
    assert out.clock == () and out.events == () and out.entry.action == "customer.message"


def test_a_message_concerns_a_complaint_on_its_conversation_or_waiting_for_the_customer_or_escalating() -> None:
    elsewhere = inquiry(inquiry_id="inq-2", conversation_id="conv-other")
    on_it = inquiry(inquiry_id="inq-3")
    state = complaint(INVESTIGATING)
    assert domain.concerns(state, on_it, POLICY) and not domain.concerns(state, elsewhere, POLICY)
    waiting = apply(state, cmd("complaint.await_customer")).state
    assert domain.concerns(waiting, elsewhere, POLICY)
    breached = fire(fresh(), ACKNOWLEDGE_DUE, T0 + timedelta(hours=2)).state
    assert domain.concerns(breached, elsewhere, POLICY)
    assert not domain.concerns(complaint(CLOSED), on_it, POLICY)


@pytest.mark.parametrize("name", ["complaint.propose_solution", "complaint.resolve"])
def test_going_on_with_the_complaint_ends_the_wait(name: str) -> None:
    from_ = INVESTIGATING if name == "complaint.propose_solution" else IN_PROGRESS
    paused_at = LATER + timedelta(hours=1)
    waiting = apply(complaint(from_), cmd("complaint.await_customer", at=paused_at)).state
    out = apply(waiting, cmd(name, at=paused_at + timedelta(hours=5)))
    expected = [(RESOLVE, "resumed")] if name == "complaint.propose_solution" else [(RESOLVE, "met")]
    assert clock_events(out) == expected
    assert of_type(out, "complaint.clock")[0].elapsed_seconds == (paused_at - T0).total_seconds()


def test_a_target_paused_before_it_fell_due_is_not_breached_however_long_the_wait() -> None:
    waiting = apply(complaint(INVESTIGATING), cmd("complaint.await_customer", at=T0 + timedelta(hours=71))).state
    assert domain.plan(waiting, POLICY) == {}
    out = fire(waiting, RESOLVE_DUE, T0 + timedelta(days=30))
    assert not out.changed and domain.plan(out.state, POLICY) == {}


# -- warnings and breaches ------------------------------------------------------------------------
def test_the_warning_falls_due_at_three_quarters_of_the_target() -> None:
    out = fire(fresh(), ACK_WARNING, T0 + timedelta(minutes=90))
    assert clock_events(out) == [(ACKNOWLEDGE, "warning")]
    (warning,) = of_type(out, "complaint.clock")
    assert (warning.at, warning.elapsed_seconds, warning.due_at) == (
        T0 + timedelta(minutes=90),
        5400.0,
        T0 + timedelta(hours=2),
    )
    assert out.entries == (), "a warning is in the SLA log, not the history"
    assert out.cancel == (ACK_WARNING,) and dict(out.schedule) == {}


def test_a_clock_breached_without_its_warning_gets_no_warning_after_the_fact() -> None:
    """(A log rebuilt by the migration has the breach but no warning.)"""
    breached = replace(
        fresh(), clock=(*fresh().clock, domain.ClockEvent(ACKNOWLEDGE, "breached", T0 + timedelta(hours=2)))
    )
    out = apply(breached, cmd("complaint.acknowledge", at=T0 + timedelta(hours=3)))
    assert clock_events(out) == [(ACKNOWLEDGE, "met")]


def test_the_warning_share_is_configurable() -> None:
    half = Policy(sla=SlaPolicy(SLA.acknowledge_within, SLA.resolve_within, warning_share=0.5))
    out = register(policy=half)
    assert out.schedule[ACK_WARNING] == T0 + timedelta(hours=1)


def test_the_formal_reply_is_breached_once_its_time_has_come_and_it_was_not_given() -> None:
    due = T0 + timedelta(hours=2)
    early = fire(fresh(), ACKNOWLEDGE_DUE, due - timedelta(seconds=1))
    assert clock_events(early) == [(ACKNOWLEDGE, "warning")]
    out = fire(fresh(), ACKNOWLEDGE_DUE, due)
    (breach,) = of_type(out, "complaint.sla_breached")
    assert breach.model_dump() == {"complaint_id": CID, "which": "acknowledge", "due_at": due}
    e = out.entry
    assert (e.action, e.actor, e.from_status, e.to_status, e.at) == (
        "complaint.sla_breached",
        "scheduler",
        REGISTERED,
        REGISTERED,
        due,
    )
    assert e.data == {"which": "acknowledge", "due_at": due.isoformat()}
    assert out.state.status == REGISTERED
    assert dict(out.schedule) == {ACK_ESCALATION: due}, "the chain starts at the breach"


def test_a_breach_fired_late_is_recorded_at_the_instant_it_fell_due() -> None:
    out = fire(fresh(), ACKNOWLEDGE_DUE, T0 + timedelta(hours=5))
    (breached,) = [e for e in of_type(out, "complaint.clock") if e.transition == "breached"]
    assert (breached.at, breached.elapsed_seconds) == (T0 + timedelta(hours=2), 7200.0)


def test_an_acknowledged_complaint_never_breaches_the_formal_reply() -> None:
    state = apply(fresh(), cmd("complaint.acknowledge"))
    out = fire(state.state, ACKNOWLEDGE_DUE, T0 + timedelta(days=30))
    assert (ACKNOWLEDGE, "breached") not in clock_events(out)


@pytest.mark.parametrize("status", [REGISTERED, ACKNOWLEDGED, INVESTIGATING, SOLUTION_PROPOSED, IN_PROGRESS])
def test_an_unresolved_complaint_breaches_the_resolution(status: str) -> None:
    state = complaint(status)
    out = fire(state, RESOLVE_DUE, state.resolve_due_at + timedelta(minutes=1))
    (sla,) = [e for e in of_type(out, "complaint.sla_breached") if e.which == "resolve"]
    assert sla.due_at == state.resolve_due_at
    assert out.entry.to_status == status


@pytest.mark.parametrize("status", [RESOLVED, CLOSED])
def test_a_resolved_or_closed_complaint_never_breaches_the_resolution(status: str) -> None:
    out = fire(complaint(status), RESOLVE_DUE, T0 + timedelta(days=30))
    assert (RESOLVE, "breached") not in clock_events(out)


# -- escalation -----------------------------------------------------------------------------------
def test_an_unanswered_complaint_escalates_to_the_agent_then_the_supervisor_then_the_manager() -> None:
    state = fresh(agent_id="agent-7")
    breach = T0 + timedelta(hours=2)
    state, events = fire_all(state, breach + timedelta(hours=5))
    escalations = [e for e in events if type(e).event_type == "complaint.escalated"]
    assert [(e.level, e.role, e.who) for e in escalations] == [
        (1, "agent", "agent-7"),
        (2, "supervisor", "sup-1"),
        (3, "manager", "mgr-1"),
    ]
    assert {(e.which, e.due_at) for e in escalations} == {(ACKNOWLEDGE, breach)}
    assert escalations[0].reason == f"acknowledge overdue since {breach.isoformat()}"
    steps = [(e.level, e.at) for e in state.clock if e.transition == "escalated"]
    assert steps == [
        (1, breach),
        (2, breach + timedelta(minutes=30)),
        (3, breach + timedelta(minutes=90)),
    ], "each level its own delay after the one below"
    assert ACK_ESCALATION not in domain.plan(state, POLICY), "the manager is the top"


def test_the_escalation_steps_are_in_the_history() -> None:
    state = fresh(agent_id="agent-7")
    out = fire(fire(state, ACKNOWLEDGE_DUE, T0 + timedelta(hours=2)).state, ACK_ESCALATION, T0 + timedelta(hours=2))
    assert out.entry.action == "complaint.escalated"
    assert out.entry.data == {
        "which": "acknowledge",
        "level": 1,
        "role": "agent",
        "who": "agent-7",
        "reason": f"acknowledge overdue since {(T0 + timedelta(hours=2)).isoformat()}",
    }


def test_a_late_firing_takes_every_step_due_by_then_in_order() -> None:
    state = fire(fresh(agent_id="agent-7"), ACKNOWLEDGE_DUE, T0 + timedelta(hours=2)).state
    out = fire(state, ACK_ESCALATION, T0 + timedelta(hours=3))
    assert [(e.level, e.who) for e in of_type(out, "complaint.escalated")] == [(1, "agent-7"), (2, "sup-1")]
    assert dict(out.schedule) == {ACK_ESCALATION: T0 + timedelta(hours=3, minutes=30)}


@pytest.mark.parametrize("severity", ["critical", "high"])
def test_urgent_and_major_complaints_start_at_the_supervisor(severity: str) -> None:
    _, events = fire_all(fresh(severity, agent_id="agent-7"), T0 + timedelta(hours=1, minutes=30))
    escalations = [(e.level, e.who) for e in events if type(e).event_type == "complaint.escalated"]
    assert escalations[0] == (2, "sup-1")


def test_meeting_the_target_ends_the_chain() -> None:
    state = fire(fresh(agent_id="agent-7"), ACKNOWLEDGE_DUE, T0 + timedelta(hours=2)).state
    state = fire(state, ACK_ESCALATION, T0 + timedelta(hours=2)).state
    out = apply(state, cmd("complaint.acknowledge", at=T0 + timedelta(hours=2, minutes=10)))
    assert ACK_ESCALATION in out.cancel
    assert ACK_ESCALATION not in domain.plan(out.state, POLICY)


def test_the_chain_waits_with_the_complaint_and_the_customer_writing_again_rearms_it() -> None:
    state = complaint(ACKNOWLEDGED, at=T0 + timedelta(minutes=5))
    due = T0 + timedelta(hours=72)
    state = fire(state, RESOLVE_DUE, due).state
    state, events = fire_all(state, due + timedelta(hours=2))  # agent, supervisor, manager: the chain is done
    assert [e.level for e in events if type(e).event_type == "complaint.escalated"] == [1, 2, 3]
    assert RESOLVE_ESCALATION not in domain.plan(state, POLICY)

    written = due + timedelta(hours=5)
    out = domain.customer_wrote(state, inquiry(inquiry_id="inq-9", received_at=written), now=written, policy=POLICY)
    assert [(e.transition, e.at) for e in out.clock] == [("rearmed", written)]
    assert dict(out.schedule) == {RESOLVE_ESCALATION: written}, "the manager, who last had to act, is told again"
    again = fire(out.state, RESOLVE_ESCALATION, written)
    assert [(e.level, e.who) for e in of_type(again, "complaint.escalated")] == [(3, "mgr-1")]

    waiting = apply(complaint(INVESTIGATING), cmd("complaint.await_customer", at=LATER)).state
    assert all(k not in domain.plan(waiting, POLICY) for k in ESCALATION_KINDS.values())


def test_a_rearmed_chain_below_the_top_climbs_on() -> None:
    state = fire(fresh(agent_id="agent-7"), ACKNOWLEDGE_DUE, T0 + timedelta(hours=2)).state
    state = fire(state, ACK_ESCALATION, T0 + timedelta(hours=2)).state  # the agent
    written = T0 + timedelta(hours=2, minutes=10)
    state = domain.customer_wrote(
        state, inquiry(inquiry_id="inq-9", received_at=written), now=written, policy=POLICY
    ).state
    state, events = fire_all(state, written + timedelta(hours=2))
    assert [(e.level, e.who) for e in events if type(e).event_type == "complaint.escalated"] == [
        (1, "agent-7"),
        (2, "sup-1"),
        (3, "mgr-1"),
    ]


def test_who_holds_each_level_comes_from_the_staff_directory() -> None:
    directory = {
        **DIRECTORY,
        "agent-8": Staff("agent-8", "Ho", "agent", "events"),  # no supervisor of their own
        "sup-2": Staff("sup-2", "Ma", "supervisor", "events"),
        "sup-9": Staff("sup-9", "Yu", "supervisor", "events", active=False),
        "mgr-2": Staff("mgr-2", "Ng", "manager", "events"),
    }
    holder = domain.escalation.holder
    assert [holder(level, "agent-7", directory) for level in (1, 2, 3)] == ["agent-7", "sup-1", "mgr-1"]
    assert [holder(level, "agent-8", directory) for level in (1, 2, 3)] == ["agent-8", "sup-2", "mgr-2"]
    assert [holder(level, None, directory) for level in (1, 2, 3)] == [None, "sup-1", "mgr-1"]
    assert [holder(level, "agent-7", {}) for level in (1, 2, 3)] == ["agent-7", None, None]


# -- satisfaction ---------------------------------------------------------------------------------
def test_resolution_asks_the_customer_on_their_channel_with_the_survey_subject() -> None:
    state = apply(complaint(IN_PROGRESS), cmd("complaint.assign", agent_id="agent-7")).state
    out = apply(state, cmd("complaint.resolve", details={"resolution": "Projector replaced; 20% refund"}))
    (ask,) = of_type(out, "notification.requested")
    assert (ask.template, ask.channel, ask.address, ask.language) == (
        "complaint.satisfaction",
        "email",
        "chan@example.com",
        "zh-Hant",
    )
    assert ask.parameters["survey"] == {"type": "complaint", "id": CID, "agent_id": "agent-7"}
    assert ask.parameters["resolution"] == "Projector replaced; 20% refund" and ask.parameters["attempt"] == 1
    (requested,) = of_type(out, "complaint.satisfaction_requested")
    assert requested.model_dump() == {
        "complaint_id": CID,
        "attempt": 1,
        "channel": "email",
        "customer_id": "cust-1",
        "agent_id": "agent-7",
    }


@pytest.mark.parametrize("score", [1, 2])
def test_a_survey_score_of_1_or_2_reopens_the_complaint_at_once(score: int) -> None:
    at = LATER + timedelta(hours=5)
    out = domain.satisfaction(complaint(RESOLVED), score, now=at, policy=POLICY, feedback={"event_id": "ev-7"})
    assert out.state.status == INVESTIGATING and out.state.reopened_at == at
    assert [e.action for e in out.entries] == ["complaint.satisfaction", "complaint.reopen"]
    assert out.entries[0].data == {"event_id": "ev-7", "score": score, "satisfied": False, "source": "survey"}
    assert (out.entries[1].actor, out.entries[1].data["reason"]) == (
        "customer",
        f"the customer is not satisfied (score {score})",
    )
    assert types(out) == [
        "complaint.satisfaction_recorded",
        "complaint.clock",
        "notification.requested",
        "complaint.status_changed",
    ]
    assert clock_events(out) == [(RESOLVE, "started")]
    assert dict(out.schedule) == {RESOLVE_WARNING: at + timedelta(hours=54), RESOLVE_DUE: at + timedelta(hours=72)}
    assert FOLLOW_UP in out.cancel


@pytest.mark.parametrize("score", [3, 4, 5])
def test_a_survey_score_of_3_to_5_lets_the_complaint_close(score: int) -> None:
    at = LATER + timedelta(hours=5)
    out = domain.satisfaction(complaint(RESOLVED), score, now=at, policy=POLICY)
    assert (out.state.status, out.state.satisfied_at, out.state.satisfaction_score) == (RESOLVED, at, score)
    assert of_type(out, "complaint.satisfaction_recorded")[0].model_dump() == {
        "complaint_id": CID,
        "satisfied": True,
        "score": score,
        "source": "survey",
        "actor": "customer",
        "agent_id": None,
        "category": "equipment_failure",
    }
    assert out.cancel == (FOLLOW_UP,)
    closed = apply(out.state, cmd("complaint.close", at=at + timedelta(minutes=1)))
    assert closed.state.status == CLOSED


def test_no_complaint_closes_without_the_customers_satisfaction_or_a_supervisors_override() -> None:
    resolved = complaint(RESOLVED)
    refused = domain.apply(resolved, cmd("complaint.close"), POLICY)
    assert isinstance(refused, Refusal) and "needs the customer's satisfaction" in refused.reason

    override = {"override_reason": "customer unreachable after three calls"}
    by_agent = domain.apply(resolved, cmd("complaint.close", details=override, actor_role="agent"), POLICY)
    assert isinstance(by_agent, Refusal) and by_agent.reason.endswith("agent-7 is listed as agent")
    unknown = domain.apply(resolved, cmd("complaint.close", actor="x", details=override), POLICY)
    assert isinstance(unknown, Refusal) and unknown.reason.endswith("x is not in the staff directory")
    no_reason = domain.apply(resolved, cmd("complaint.close", actor="sup-1", actor_role="supervisor"), POLICY)
    assert isinstance(no_reason, Refusal)

    for role in ("supervisor", "manager"):
        out = apply(resolved, cmd("complaint.close", actor="sup-1", actor_role=role, details=override))
        assert out.state.status == CLOSED
        assert of_type(out, "complaint.closed")[0].override_reason == "customer unreachable after three calls"
        assert out.entry.data["override_reason"] == "customer unreachable after three calls"


def test_an_agent_records_the_customers_confirmation() -> None:
    out = apply(complaint(RESOLVED), cmd("complaint.confirm_satisfaction", note="Called: all fine now"))
    assert out.state.satisfied_at == LATER and out.state.satisfaction_score is None
    assert (out.entry.action, out.entry.note, out.entry.data["source"]) == (
        "complaint.confirm_satisfaction",
        "Called: all fine now",
        "agent",
    )
    (recorded,) = of_type(out, "complaint.satisfaction_recorded")
    assert (recorded.satisfied, recorded.source, recorded.actor) == (True, "agent", "agent-7")
    unhappy = apply(complaint(RESOLVED), cmd("complaint.confirm_satisfaction", details={"score": 2}))
    assert unhappy.state.status == INVESTIGATING
    assert unhappy.entries[-1].actor == "agent-7"


def test_a_low_score_on_a_closed_complaint_reopens_it_and_a_late_one_is_only_recorded() -> None:
    reopened = domain.satisfaction(complaint(CLOSED), 1, now=LATER + timedelta(days=2), policy=POLICY)
    assert reopened.state.status == INVESTIGATING
    late = domain.satisfaction(reopened.state, 5, now=LATER + timedelta(days=3), policy=POLICY)
    assert late.state.status == INVESTIGATING and late.state.satisfied_at is None
    assert late.entry.action == "complaint.satisfaction" and types(late) == ["complaint.satisfaction_recorded"]


def test_an_unanswered_satisfaction_request_is_followed_up_then_declared_unanswered() -> None:
    resolved_at = LATER
    state = complaint(RESOLVED, at=resolved_at)
    day = timedelta(hours=24)
    assert domain.plan(state, POLICY)[FOLLOW_UP] == resolved_at + day
    events: list[Any] = []
    for n in (1, 2, 3):
        out = fire(state, FOLLOW_UP, resolved_at + n * day)
        events.append(out.events)
        state = out.state
    first, second, third = events
    assert [(e.template, e.parameters["attempt"]) for e in first if type(e).event_type == "notification.requested"] == [
        ("complaint.satisfaction_reminder", 2)
    ]
    assert [e.attempt for e in second if type(e).event_type == "complaint.satisfaction_requested"] == [3]
    assert names(third) == ["complaint.satisfaction_unanswered"]
    assert third[0].model_dump() == {
        "complaint_id": CID,
        "requests": 3,
        "resolved_at": resolved_at,
        "agent_id": None,
    }
    assert FOLLOW_UP not in domain.plan(state, POLICY), "then an agent must record or a supervisor override"
    assert state.status == RESOLVED, "no complaint closes by time"


def test_a_follow_up_after_the_customer_answered_changes_nothing() -> None:
    state = domain.satisfaction(complaint(RESOLVED), 4, now=LATER + timedelta(hours=1), policy=POLICY).state
    out = fire(state, FOLLOW_UP, LATER + timedelta(days=1))
    assert not out.changed


# -- withdrawal -----------------------------------------------------------------------------------
def test_withdrawing_stops_the_clocks_and_leaves_nothing_watched() -> None:
    waiting = apply(complaint(INVESTIGATING), cmd("complaint.await_customer", at=LATER)).state
    for state in (fresh(), waiting):
        out = apply(state, cmd("complaint.withdraw", at=LATER + timedelta(minutes=10), details={"reason": "settled"}))
        assert out.state.status == WITHDRAWN and out.state.withdrawn_at == LATER + timedelta(minutes=10)
        assert {t for _, t in clock_events(out)} == {"stopped"}
        assert domain.plan(out.state, POLICY) == {} and set(out.cancel) == set(domain.ALL_DUE_KINDS)
        assert not fire(out.state, RESOLVE_DUE, T0 + timedelta(days=30)).changed


# -- first contact --------------------------------------------------------------------------------
@pytest.mark.parametrize("from_", [REGISTERED, ACKNOWLEDGED])
def test_a_complaint_settled_in_its_first_contact_is_resolved_at_once_and_reported_as_such(from_: str) -> None:
    out = apply(complaint(from_), cmd("complaint.resolve", at=LATER, details={"first_contact": True}))
    assert out.state.status == RESOLVED and out.state.first_contact
    (changed,) = of_type(out, "complaint.status_changed")
    assert (changed.from_, changed.to, changed.first_contact) == (from_, RESOLVED, True)
    expected = [(ACKNOWLEDGE, "met"), (RESOLVE, "met")] if from_ == REGISTERED else [(RESOLVE, "met")]
    assert clock_events(out) == expected
    assert of_type(out, "notification.requested")[0].template == "complaint.satisfaction"


def test_first_contact_is_refused_once_the_complaint_is_being_investigated() -> None:
    out = domain.apply(complaint(INVESTIGATING), cmd("complaint.resolve", details={"first_contact": True}), POLICY)
    assert isinstance(out, Refusal)
    assert out.reason == (
        "the complaint is investigating; complaint.resolve with first_contact needs it to be registered, acknowledged"
    )


# -- handover -------------------------------------------------------------------------------------
def test_a_handover_moves_every_open_complaint_of_the_agent() -> None:
    mine = [replace_id(apply(fresh(), cmd("complaint.assign", agent_id="agent-7")).state, n) for n in range(3)]
    closed = replace_id(complaint(CLOSED, state=mine[0]), 9)
    other = replace_id(apply(fresh(), cmd("complaint.assign", agent_id="agent-2")).state, 8)
    outs = domain.handover(
        [*mine, closed, other], from_agent="agent-7", to_agent="agent-3", actor="sup-1", at=LATER, policy=POLICY
    )
    assert isinstance(outs, list) and len(outs) == 3
    for out in outs:
        assert out.state.agent_id == "agent-3"
        assert out.entry.data == {"agent_id": {"from": "agent-7", "to": "agent-3"}}
        (changed,) = of_type(out, "complaint.status_changed")
        assert (changed.agent_id, changed.actor, changed.from_, changed.to) == (
            "agent-3",
            "sup-1",
            REGISTERED,
            REGISTERED,
        )


def test_a_handover_that_moves_nothing_is_refused() -> None:
    kw: dict[str, Any] = {"actor": "sup-1", "at": LATER, "policy": POLICY}
    assert domain.handover([], from_agent="a", to_agent="a", **kw) == Refusal("a handover needs two different agents")
    assert domain.handover([], from_agent="a", to_agent="b", **kw) == Refusal("a has no open complaints")
    gone = Staff("b", "B", "agent", active=False)
    assert domain.handover([], from_agent="a", to_agent="b", to_staff=gone, **kw) == Refusal(
        "b is not active in the staff directory"
    )


def replace_id(state: Complaint, n: int) -> Complaint:
    return replace(state, complaint_id=f"{CID[:-2]}{n:02d}")


# -- what an agent sees ---------------------------------------------------------------------------
def test_the_sla_view_shows_each_clock_now() -> None:
    waiting = apply(complaint(INVESTIGATING), cmd("complaint.await_customer", at=T0 + timedelta(hours=3))).state
    view = domain.sla(waiting, POLICY, T0 + timedelta(hours=10))
    assert view[ACKNOWLEDGE]["state"] == "met" and view[RESOLVE]["state"] == "paused"
    assert view[RESOLVE]["elapsed_seconds"] == 3 * 3600.0 and view[RESOLVE]["due_at"] is None
