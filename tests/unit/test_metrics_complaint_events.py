"""What complaints tells metrics about a complaint's service step and root cause: complaints' own rules
produce the events, metrics' rules read them (plain Python on both sides, time as an argument)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from services.complaints import domain as complaints
from services.metrics import domain as metrics
from services.metrics.domain import Record
from shared.contract.events import ComplaintRegistered, EventData, make_event

from .test_complaints_domain import LATER, POLICY, cmd, complaint, of_type
from .test_metrics_domain import counts, project


def recorded(events: list[EventData], at: datetime = LATER) -> list[Record]:
    out = []
    for data in events:
        found = metrics.record(make_event(data, producer="complaints", correlation_id=uuid.uuid4(), occurred_at=at))
        assert isinstance(found, Record), found
        out.append(found)
    return out


def step(state: complaints.Complaint, name: str, command: dict[str, Any] | None = None, **details: Any
         ) -> tuple[complaints.Complaint, list[EventData]]:  # fmt: skip
    out = complaints.apply(state, cmd(name, details=details, **(command or {})), POLICY)
    assert isinstance(out, complaints.Outcome), out
    return out.state, of_type(out, "complaint.status_changed")


def test_each_status_change_carries_the_service_step_and_the_root_cause_found_so_far():
    state = complaint(complaints.ACKNOWLEDGED)
    state, started = step(state, "complaint.investigate")
    assert [(e.service_step, e.root_cause) for e in started] == [(state.service_step, None)]
    state, _ = step(state, "complaint.investigate", root_cause="equipment_failure")  # findings: no status change
    state, proposed = step(state, "complaint.propose_solution", actions=[])
    [r] = recorded(proposed)
    assert (r.attrs["root_cause"], r.attrs.get("service_step")) == ("equipment_failure", state.service_step)


def test_a_reassessed_service_step_reaches_metrics_with_the_assignment():
    state = complaint(complaints.ACKNOWLEDGED)
    state, assigned = step(state, "complaint.assign", {"agent_id": "agent-9"}, service_step="catering")
    [r] = recorded(assigned)
    assert r.attrs["service_step"] == "catering" and "root_cause" not in r.attrs
    f = project(*registered(state), r)
    assert counts(f, "complaints_registered", service_step="catering") == 1
    assert counts(f, "complaints_registered", service_step="other") == 0


def registered(state: complaints.Complaint) -> list[Record]:
    """The complaint's registration as complaints would have announced it (a first estimate of the step)."""
    return recorded(
        [
            ComplaintRegistered(
                complaint_id=state.complaint_id,
                category=state.category,  # type: ignore[arg-type]
                severity=state.severity,  # type: ignore[arg-type]
                registered_at=state.registered_at,
                acknowledge_due_at=state.acknowledge_due_at,
                resolve_due_at=state.resolve_due_at,
                service_step="other",
            )
        ],
        at=state.registered_at,
    )
