"""``complaint.assessed`` in metrics: a complaint counts under the root cause, service step and category it was
last assessed in from the moment the assessment is recorded, not from its next status change; in any order,
redelivered, in batches or rebuilt from the log, the figures are the same."""

from __future__ import annotations

import random
from collections import Counter
from datetime import timedelta

from services.complaints import domain as complaints
from services.metrics import domain
from services.metrics.domain import Days, Fact, Projection, Record
from services.metrics.domain.projection import event_facts
from shared.contract.events import ComplaintAssessed

from .test_complaints_domain import POLICY as COMPLAINTS_POLICY
from .test_complaints_domain import cmd, complaint, of_type
from .test_metrics_complaint_events import recorded, registered
from .test_metrics_domain import POLICY, Complaint, counts, project, rec

COMPLAINT_FIGURES = ("complaints_registered", "cohort_resolved", "cohort_ever_resolved", "handling_time")


def assessed(c: Complaint, *, cause: str | None = None, step: str | None = None, category: str | None = None,
             agent: str | None = "ag-2", minutes: float = 30) -> Complaint:  # fmt: skip
    data = ComplaintAssessed(
        complaint_id=c.id, category=category or c.category, service_step=step, root_cause=cause,  # type: ignore[arg-type]
        agent_id=agent, actor=agent or "sup",
    )  # fmt: skip
    c.category = category or c.category  # complaints' later events carry the category as now classified
    return c.other(data, minutes)


def rebuilt(records: list[Record]) -> Counter[Fact]:
    """What a rebuild computes from the log: every record applied, the events' own facts and the states'."""
    p = Projection(POLICY)
    for r in records:
        p.apply(r)
    out = Counter(p.deltas)
    out.update(domain.facts_of_states(p.states, POLICY))
    return Counter({f: n for f, n in out.items() if n})


def live(records: list[Record], rng: random.Random) -> Counter[Fact]:
    """What the running service computes: batches of any size, each applied to the stored states, the
    moved counts added; every event delivered twice (the second time it finds its log row: not applied)."""
    states: dict[str, domain.State] = {}
    counted: Counter[Fact] = Counter()
    seen: set[str] = set()
    deliveries = records + records
    rng.shuffle(deliveries)
    while deliveries:
        size = rng.randint(1, 4)
        batch, deliveries = deliveries[:size], deliveries[size:]
        fresh = []
        for r in batch:
            if r.event_id not in seen:  # the event log's key
                seen.add(r.event_id)
                fresh.append(r)
        p = Projection(POLICY, {e: states[e] for e in domain.touched(fresh) if e in states})
        for r in fresh:
            p.apply(r)
        states.update(p.changed())
        counted.update(p.nonzero())
    return Counter({f: n for f, n in counted.items() if n})


def test_a_root_cause_recorded_while_investigating_counts_at_once():
    c = Complaint().registered(step="catering").status_to("acknowledged", step="catering")
    c.status_to("investigating", step="catering")
    before = c.facts()
    assert counts(before, "complaints_registered", cause="") == 1
    assessed(c, cause="staff_error", step="catering")
    f = c.facts()
    assert counts(f, "complaints_registered", cause="staff_error", service_step="catering") == 1
    assert counts(f, "complaints_registered", cause="") == 0


def test_the_later_assessment_wins_whether_it_is_a_status_change_or_an_assessment():
    c = Complaint().registered(step="catering").status_to("acknowledged").status_to("investigating")
    assessed(c, cause="staff_error", step="on_site")
    c.status_to("solution_proposed", step="on_site", cause="training_gap")
    assessed(c, cause="process_gap", step="av", category="equipment_failure")
    c.status_to("in_progress").status_to("resolved")  # an older producer's status changes name no cause or step
    f = c.facts()
    for metric in COMPLAINT_FIGURES:
        assert counts(f, metric, cause="process_gap", service_step="av", category="equipment_failure") == 1, metric
        assert counts(f, metric, cause="training_gap") == counts(f, metric, cause="staff_error") == 0, metric


def test_an_assessment_reclassifies_every_figure_of_the_complaint_and_names_its_agent():
    c = Complaint().registered().status_to("acknowledged", agent="ag-2")
    assessed(c, category="equipment_failure", agent="ag-5")
    f = c.facts()
    assert counts(f, "complaints_registered", category="equipment_failure", agent="ag-5") == 1
    assert counts(f, "complaints_registered", category="catering") == 0


def test_assessments_in_any_order_in_batches_redelivered_and_rebuilt_give_the_same_figures():
    c = Complaint().registered(step="catering").status_to("acknowledged").status_to("investigating")
    assessed(c, cause="staff_error", step="on_site")
    assessed(c, cause="third_party", step="on_site", category="equipment_failure")
    c.status_to("solution_proposed").status_to("in_progress").status_to("resolved")
    c.clock("resolve", "met", 10_000, agent="ag-2")
    assessed(c, cause="process_gap")  # after the resolution: still the complaint's cause
    expected = c.facts()
    assert counts(expected, "cohort_resolved", cause="process_gap", category="equipment_failure") == 1
    assert rebuilt(c.records) == expected
    rng = random.Random(11)
    for _ in range(30):
        assert live(c.records, rng) == expected


def test_complaints_findings_reach_metrics_before_the_next_status_change():
    state = complaint(complaints.INVESTIGATING)
    out = complaints.apply(state, cmd("complaint.investigate", details={"root_cause": "equipment_failure"}),
                           COMPLAINTS_POLICY)  # fmt: skip
    assert isinstance(out, complaints.Outcome), out
    [r] = recorded(of_type(out, "complaint.assessed"), at=state.registered_at + timedelta(hours=3))
    assert (r.type, r.subject, r.attrs["root_cause"]) == ("complaint.assessed", state.complaint_id, "equipment_failure")
    f = project(*registered(state), r)
    assert counts(f, "complaints_registered", cause="equipment_failure") == 1


def test_an_assessment_is_logged_without_a_person_or_free_text():
    r = rec(ComplaintAssessed(complaint_id="k1", category="catering", service_step="av", root_cause="other",
                              agent_id="ag-1", actor="ag-1"))  # fmt: skip
    assert (r.subject, r.agent, r.category, r.value) == ("k1", "ag-1", "catering", None)
    assert r.attrs == {"service_step": "av", "root_cause": "other"}
    assert event_facts(r, Days(POLICY.tz)) == []  # an assessment is no fact of its own: it moves the complaint's
