"""The investigation and the solution plan: root cause from the fixed list, the department responsible and
the evidence; the plan's actions (remedy, owner, due time), done or overdue (once, through the scheduler)
and reminded; the customer's agreement to the plan. Rules in plain Python, then the handlers against the
in-memory unit of work with time as an argument."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any, get_args

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from services.complaints import domain, handlers
from services.complaints.domain import (
    ACTION_DUE,
    ACTION_REMINDER_DUE,
    IN_PROGRESS,
    INVESTIGATING,
    RESOLVED,
    SOLUTION_PROPOSED,
    Complaint,
    Outcome,
    Refusal,
)
from shared.contract.commands import (
    ComplaintActionDone,
    ComplaintInvestigate,
    ComplaintPlan,
    ComplaintPlanAgreement,
    Remedy,
    RootCause,
)

from .fakes import command_in
from .test_complaints_domain import LATER, POLICY, cmd, complaint, types
from .test_complaints_handlers import AT_8, STEPS, Desk, _to

DAY = timedelta(days=1)


def act(remedy: str = "apology", owner: str = "agent-7", due_at: datetime = LATER + DAY, **kw: Any) -> dict[str, Any]:
    return {"remedy": remedy, "owner": owner, "due_at": due_at.isoformat(), **kw}


def decide(state: Complaint, name: str, **kw: Any) -> Outcome | Refusal:
    details = kw.pop("details", {})
    return domain.apply(state, cmd(name, details=details, **kw), POLICY)


def ok(state: Complaint, name: str, **kw: Any) -> Outcome:
    out = decide(state, name, **kw)
    assert isinstance(out, Outcome), out
    return out


def proposed(*actions: dict[str, Any], at: datetime = LATER) -> Complaint:
    state = complaint(INVESTIGATING)
    return ok(state, "complaint.propose_solution", at=at, details={"actions": list(actions)}).state


# -- the investigation ----------------------------------------------------------------------------
def test_the_root_causes_and_remedies_are_the_contracts_fixed_lists() -> None:
    assert domain.ROOT_CAUSES == get_args(RootCause)
    assert "misunderstanding" in domain.ROOT_CAUSES and "third_party" in domain.ROOT_CAUSES
    assert {"apology", "compensation", "partial_refund", "rerun_meeting"} <= set(get_args(Remedy))
    with pytest.raises(ValidationError):
        ComplaintInvestigate(command_id="c", actor="a", complaint_id="x", root_cause="bad luck")  # type: ignore[arg-type]


def test_investigating_records_the_root_cause_department_and_evidence() -> None:
    details = {"root_cause": "equipment_failure", "department": "AV", "evidence": ["cctv-0301", "log-7"]}
    out = ok(complaint(domain.ACKNOWLEDGED), "complaint.investigate", details=details)
    s = out.state
    assert (s.status, s.root_cause, s.responsible_department, s.evidence) == (
        INVESTIGATING,
        "equipment_failure",
        "AV",
        ("cctv-0301", "log-7"),
    )
    assert out.entry.data["root_cause"] == "equipment_failure"
    assert "complaint.status_changed" in types(out)


def test_findings_recorded_later_add_evidence_and_replace_the_root_cause_keeping_the_first_in_history() -> None:
    first = ok(complaint(domain.ACKNOWLEDGED), "complaint.investigate", details={"root_cause": "staff_error"}).state
    later = ok(
        first, "complaint.investigate", details={"root_cause": "training_gap", "evidence": ["rota"]}, at=LATER + DAY
    )
    assert (later.state.root_cause, later.state.evidence, later.state.status) == (
        "training_gap",
        ("rota",),
        first.status,
    )
    assert "complaint.status_changed" not in types(later)
    assert later.entry.data["root_cause"] == "training_gap"


def test_investigating_again_without_findings_is_refused() -> None:
    out = decide(complaint(INVESTIGATING), "complaint.investigate")
    assert isinstance(out, Refusal) and "records findings" in out.reason


# -- the plan -------------------------------------------------------------------------------------
def test_proposing_a_solution_plans_each_action_with_owner_and_due_time_and_tells_the_customer() -> None:
    out = ok(
        complaint(INVESTIGATING),
        "complaint.propose_solution",
        details={"actions": [act("apology"), act("partial_refund", "finance-2", LATER + 2 * DAY, amount=500.0)]},
    )
    s = out.state
    assert s.status == SOLUTION_PROPOSED
    assert [(a.action_id, a.remedy, a.owner, a.due_at) for a in s.actions] == [
        ("a1", "apology", "agent-7", LATER + DAY),
        ("a2", "partial_refund", "finance-2", LATER + 2 * DAY),
    ]
    (notice,) = [e for e in out.events if type(e).event_type == "notification.requested"]
    assert notice.template == "complaint.solution_proposed"
    assert [a["remedy"] for a in notice.parameters["actions"]] == ["apology", "partial_refund"]
    assert "owner" not in notice.parameters["actions"][0]
    assert out.schedule[ACTION_DUE] == LATER + DAY


def test_an_action_due_before_now_is_refused() -> None:
    out = decide(complaint(INVESTIGATING), "complaint.propose_solution", details={"actions": [act(due_at=LATER)]})
    assert isinstance(out, Refusal) and "not after now" in out.reason


def test_revising_the_plan_replaces_an_open_action_adds_and_drops_and_asks_for_agreement_anew() -> None:
    state = proposed(act("apology"), act("compensation", amount=100.0))
    state = ok(state, "complaint.plan_agreement", details={"agreed": True}).state
    assert state.plan_agreed is True
    out = ok(
        state,
        "complaint.plan",
        details={"actions": [act("compensation", action_id="a2", amount=300.0), act("rerun_meeting")], "drop": ["a1"]},
    )
    plan = {a.action_id: a for a in out.state.actions}
    assert plan["a1"].dropped_at == LATER and plan["a2"].amount == 300.0 and plan["a3"].remedy == "rerun_meeting"
    assert out.state.plan_agreed is None
    assert [type(e).event_type for e in out.events] == ["notification.requested"]
    assert out.events[0].template == "complaint.plan_revised"  # type: ignore[attr-defined]


def test_a_done_action_cannot_be_revised_or_done_again() -> None:
    state = ok(proposed(act()), "complaint.action_done", details={"action_id": "a1"}).state
    again = decide(state, "complaint.action_done", details={"action_id": "a1"})
    assert isinstance(again, Refusal) and again.reason == "action a1 is already done"
    revised = decide(state, "complaint.plan", details={"actions": [act(action_id="a1")]})
    assert isinstance(revised, Refusal) and "already done" in revised.reason


def test_an_unknown_action_cannot_be_done() -> None:
    out = decide(proposed(act()), "complaint.action_done", details={"action_id": "a9"})
    assert isinstance(out, Refusal) and out.reason == "there is no action 'a9' in the plan (planned: a1)"


def test_an_action_done_after_its_due_time_is_recorded_late() -> None:
    out = ok(proposed(act()), "complaint.action_done", details={"action_id": "a1"}, at=LATER + 2 * DAY)
    assert out.entry.data["late"] is True and out.state.actions[0].done_at == LATER + 2 * DAY
    assert ACTION_DUE in out.cancel


def test_the_plan_cannot_be_carried_out_against_the_customers_no() -> None:
    state = ok(proposed(act()), "complaint.plan_agreement", details={"agreed": False}).state
    refused = decide(state, "complaint.start_execution")
    assert isinstance(refused, Refusal) and "did not agree" in refused.reason
    agreed = ok(state, "complaint.plan_agreement", details={"agreed": True}).state
    assert ok(agreed, "complaint.start_execution").state.status == IN_PROGRESS


def test_agreeing_needs_a_plan() -> None:
    out = decide(proposed(), "complaint.plan_agreement", details={"agreed": True})
    assert isinstance(out, Refusal) and "no plan" in out.reason


def test_resolving_needs_every_planned_action_done_or_dropped() -> None:
    state = ok(proposed(act(), act("compensation")), "complaint.start_execution").state
    refused = decide(state, "complaint.resolve")
    assert isinstance(refused, Refusal) and "a1 (apology" in refused.reason and "a2 (compensation" in refused.reason
    state = ok(state, "complaint.action_done", details={"action_id": "a1"}).state
    state = ok(state, "complaint.plan", details={"drop": ["a2"]}).state
    assert ok(state, "complaint.resolve").state.status == RESOLVED


# -- overdue and reminded -------------------------------------------------------------------------
def test_an_action_not_done_by_its_due_time_falls_overdue_once_at_that_time() -> None:
    state = proposed(act(due_at=LATER + DAY), act("compensation", due_at=LATER + 3 * DAY))
    out = domain.fire(state, ACTION_DUE, LATER + DAY + timedelta(seconds=3), POLICY)
    (overdue,) = [e for e in out.events if type(e).event_type == "complaint.action_overdue"]
    assert (overdue.action_id, overdue.owner, overdue.due_at) == ("a1", "agent-7", LATER + DAY)
    assert out.entries[-1].at == LATER + DAY
    assert out.schedule[ACTION_DUE] == LATER + 3 * DAY  # the next one
    assert out.schedule[ACTION_REMINDER_DUE] == LATER + 2 * DAY  # its owner reminded a day later
    again = domain.fire(out.state, ACTION_DUE, LATER + DAY + timedelta(seconds=4), POLICY)
    assert again.events == ()


def test_an_overdue_actions_owner_is_reminded_the_configured_number_of_times_until_done() -> None:
    state = domain.fire(proposed(act()), ACTION_DUE, LATER + DAY, POLICY).state
    reminders = []
    for n in (1, 2):
        out = domain.fire(state, ACTION_REMINDER_DUE, LATER + DAY * (1 + n), POLICY)
        reminders += [e for e in out.events if type(e).event_type == "complaint.action_reminder"]
        state = out.state
    assert [(r.action_id, r.reminder) for r in reminders] == [("a1", 1), ("a1", 2)]
    assert ACTION_REMINDER_DUE not in domain.plan(state, POLICY)  # POLICY: two reminders


def test_a_done_action_is_neither_overdue_nor_reminded() -> None:
    state = ok(proposed(act()), "complaint.action_done", details={"action_id": "a1"}).state
    fired = types(domain.fire(state, ACTION_DUE, LATER + 5 * DAY, POLICY))
    assert "complaint.action_overdue" not in fired and "complaint.action_reminder" not in fired
    assert not {ACTION_DUE, ACTION_REMINDER_DUE} & set(domain.plan(state, POLICY))


# -- through the handlers -------------------------------------------------------------------------
COMMANDS = {
    **STEPS,
    "complaint.plan": ComplaintPlan,
    "complaint.action_done": ComplaintActionDone,
    "complaint.plan_agreement": ComplaintPlanAgreement,
}


async def _command(desk: Desk, name: str, cid: str, now: datetime, **fields: Any) -> str | None:
    command = COMMANDS[name](command_id=str(uuid.uuid4()), actor="agent-7", complaint_id=cid, **fields)
    return await handlers.lifecycle(desk.uow(now), command_in(command), now, desk.policy)


async def test_the_scheduler_raises_an_overdue_action_once_and_reminds_its_owner_then_forgets_it_when_done() -> None:
    desk = Desk()
    cid = await desk.register()
    await _to(desk, cid, INVESTIGATING, AT_8 + timedelta(minutes=5))
    due = AT_8 + timedelta(hours=6)
    actions = [{"remedy": "partial_refund", "owner": "finance-2", "due_at": due, "amount": 200}]
    assert await _command(desk, "complaint.propose_solution", cid, AT_8 + timedelta(hours=1), actions=actions) is None
    assert desk.due_at(cid)[ACTION_DUE] == due

    uow = await desk.fire(ACTION_DUE, cid, due)
    (overdue,) = uow.events("complaint.action_overdue")
    assert (overdue["action_id"], overdue["owner"], overdue["remedy"]) == ("a1", "finance-2", "partial_refund")
    assert ACTION_DUE not in desk.due_at(cid)
    assert desk.due_at(cid)[ACTION_REMINDER_DUE] == due + DAY

    uow = await desk.fire(ACTION_REMINDER_DUE, cid, due + DAY)
    assert [r["reminder"] for r in uow.events("complaint.action_reminder")] == [1]
    assert await _command(desk, "complaint.action_done", cid, due + DAY + timedelta(hours=1), action_id="a1") is None
    assert not {ACTION_DUE, ACTION_REMINDER_DUE} & set(desk.due_at(cid))
    actions_entries = [e.action for e in desk.store.history[cid] if "action" in e.action]
    assert actions_entries == ["complaint.action_overdue", "complaint.action_reminder", "complaint.action_done"]


async def test_a_revised_plan_moves_the_overdue_item_to_the_new_due_time() -> None:
    desk = Desk()
    cid = await desk.register()
    await _to(desk, cid, INVESTIGATING, AT_8 + timedelta(minutes=5))
    first = [{"remedy": "apology", "owner": "agent-7", "due_at": AT_8 + timedelta(hours=4)}]
    assert await _command(desk, "complaint.propose_solution", cid, AT_8 + timedelta(hours=1), actions=first) is None
    later = [{"action_id": "a1", "remedy": "apology", "owner": "agent-7", "due_at": AT_8 + timedelta(hours=9)}]
    assert await _command(desk, "complaint.plan", cid, AT_8 + timedelta(hours=2), actions=later) is None
    assert desk.due_at(cid)[ACTION_DUE] == AT_8 + timedelta(hours=9)
    assert desk.store.state(cid).actions[0].due_at == AT_8 + timedelta(hours=9)


# -- over generated plans and firing times ----------------------------------------------------------
@settings(max_examples=60, deadline=None)
@given(
    due_hours=st.lists(st.integers(min_value=1, max_value=72), min_size=1, max_size=5),
    done=st.lists(st.integers(min_value=0, max_value=96), min_size=5, max_size=5),
    fire_hours=st.lists(st.integers(min_value=0, max_value=100), max_size=8),
)
def test_each_action_falls_overdue_exactly_once_iff_not_done_by_its_due_time(
    due_hours: list[int], done: list[int], fire_hours: list[int]
) -> None:
    """Whatever the firing times (early, late, repeated), an action raises one overdue event iff it was
    not done by its due time, recorded at its due time; none is raised before it."""
    state = proposed(*(act(due_at=LATER + timedelta(hours=h)) for h in due_hours))
    ids = [a.action_id for a in state.actions]
    done_at = {aid: LATER + timedelta(hours=done[n], minutes=30) for n, aid in enumerate(ids)}
    overdue: list[tuple[str, datetime]] = []
    events = sorted(
        [(LATER + timedelta(hours=h), "fire", "") for h in fire_hours]
        + [(at, "done", aid) for aid, at in done_at.items()]
    )
    for at, what, aid in events:
        if what == "done":
            out = domain.apply(state, cmd("complaint.action_done", at=at, details={"action_id": aid}), POLICY)
            if isinstance(out, Outcome):  # done late: the overdue is recorded first, whatever the scheduler did
                overdue += [
                    (e.action_id, e.due_at) for e in out.events if type(e).event_type == "complaint.action_overdue"
                ]
                state = out.state
            continue
        fired = domain.fire(state, ACTION_DUE, at, POLICY)
        overdue += [(e.action_id, e.due_at) for e in fired.events if type(e).event_type == "complaint.action_overdue"]
        state = fired.state
    final = max([at for at, _, _ in events] + [LATER])
    last = domain.fire(state, ACTION_DUE, final + timedelta(days=30), POLICY)  # the scheduler fires in the end
    overdue += [(e.action_id, e.due_at) for e in last.events if type(e).event_type == "complaint.action_overdue"]
    due = {a.action_id: a.due_at for a in state.actions}
    expected = sorted((aid, due[aid]) for aid in ids if done_at[aid] > due[aid])
    assert sorted(overdue) == expected
