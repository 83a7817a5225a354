"""``complaint.assessed``: a complaint's category, service step or root cause changed without a status change
(an investigation's findings, an assignment's corrections) is announced at once, in the decision that made
it; a change that comes with a new status rides on ``complaint.status_changed`` as before."""

from __future__ import annotations

from typing import Any

from services.complaints.domain import ACKNOWLEDGED, INVESTIGATING, Outcome
from shared.contract.events import ComplaintAssessed

from .test_complaints_domain import LATER, apply, cmd, complaint, of_type, types
from .test_complaints_handlers import AT_10, Desk


def assessed(out: Outcome) -> list[dict[str, Any]]:
    return [e.model_dump(exclude_none=False) for e in of_type(out, "complaint.assessed")]


def test_a_root_cause_found_while_investigating_is_announced_with_the_assessment_as_it_stands() -> None:
    state = complaint(INVESTIGATING)
    out = apply(state, cmd("complaint.investigate", details={"root_cause": "equipment_failure"}))
    assert out.state.status == INVESTIGATING
    assert types(out).count("complaint.status_changed") == 0
    (event,) = of_type(out, "complaint.assessed")
    assert isinstance(event, ComplaintAssessed)
    assert (event.complaint_id, event.category, event.service_step, event.root_cause, event.actor) == (
        state.complaint_id,
        state.category,
        state.service_step,
        "equipment_failure",
        "agent-7",
    )


def test_findings_that_leave_the_root_cause_as_it_was_announce_nothing() -> None:
    state = apply(complaint(INVESTIGATING), cmd("complaint.investigate", details={"root_cause": "staff_error"})).state
    out = apply(state, cmd("complaint.investigate", details={"root_cause": "staff_error", "evidence": ["cctv-1"]}))
    assert assessed(out) == []
    out = apply(state, cmd("complaint.investigate", details={"department": "AV"}))
    assert assessed(out) == []


def test_a_root_cause_given_as_the_investigation_starts_rides_on_the_status_change() -> None:
    out = apply(complaint(ACKNOWLEDGED), cmd("complaint.investigate", details={"root_cause": "staff_error"}))
    assert assessed(out) == []
    (changed,) = of_type(out, "complaint.status_changed")
    assert (changed.to, changed.root_cause) == (INVESTIGATING, "staff_error")


def test_an_assignment_that_reclassifies_or_changes_the_service_step_is_announced() -> None:
    state = complaint(ACKNOWLEDGED)
    out = apply(state, cmd("complaint.assign", agent_id="agent-9", category="catering"))
    (event,) = assessed(out)
    assert (event["category"], event["agent_id"], event["root_cause"]) == ("catering", "agent-9", None)
    step = "catering" if state.service_step != "catering" else "after_meeting"
    out = apply(state, cmd("complaint.assign", agent_id="agent-7", details={"service_step": step}))
    assert [e["service_step"] for e in assessed(out)] == [step]


def test_an_assignment_of_another_agent_alone_is_no_assessment() -> None:
    out = apply(complaint(ACKNOWLEDGED), cmd("complaint.assign", agent_id="agent-9"))
    assert assessed(out) == []
    assert types(out) == ["complaint.status_changed"]


def test_a_status_change_never_comes_with_an_assessment_event() -> None:
    state = complaint(ACKNOWLEDGED)
    for name in ("complaint.investigate", "complaint.propose_solution", "complaint.start_execution"):
        out = apply(state, cmd(name, at=LATER, details={"root_cause": "staff_error"} if "investigate" in name else {}))
        assert assessed(out) == []
        state = out.state


async def test_the_handler_emits_the_assessment_in_the_decisions_unit_of_work() -> None:
    desk = Desk()
    cid = await desk.register()
    for name in ("complaint.acknowledge", "complaint.investigate"):
        refused, _ = await desk.command(name, cid, AT_10)
        assert refused is None
    refused, uow = await desk.command("complaint.investigate", cid, AT_10, root_cause="process_gap")
    assert refused is None
    (event,) = uow.events("complaint.assessed")
    assert (event["complaint_id"], event["root_cause"], event["actor"]) == (cid, "process_gap", "agent-7")
    assert uow.events("complaint.status_changed") == []
