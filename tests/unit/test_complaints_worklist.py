"""Where a complaint stands on its clocks for an agent's list (GET /complaints): its next due time,
whether it is overdue, and the order of severities (plain Python, no I/O)."""

from __future__ import annotations

from datetime import timedelta

from services.complaints import domain
from services.complaints.domain import SEVERITIES, SEVERITY_RANK

from .test_complaints_domain import LATER, POLICY, T0, apply, cmd, complaint, fresh

FORMAL_REPLY = timedelta(hours=2)  # a normal complaint's, in POLICY
RESOLUTION = timedelta(hours=72)


def test_a_fresh_complaint_is_next_due_at_its_formal_reply_and_not_overdue() -> None:
    assert domain.standing(fresh(), POLICY, LATER) == (T0 + FORMAL_REPLY, False)


def test_a_formal_reply_past_its_due_time_is_overdue_before_the_breach_is_recorded() -> None:
    due_at, overdue = domain.standing(fresh(), POLICY, T0 + FORMAL_REPLY + timedelta(seconds=1))
    assert (due_at, overdue) == (T0 + FORMAL_REPLY, True)


def test_an_acknowledged_complaint_is_next_due_at_its_resolution() -> None:
    assert domain.standing(complaint(domain.ACKNOWLEDGED), POLICY, LATER) == (T0 + RESOLUTION, False)


def test_a_complaint_waiting_for_the_customer_has_no_due_time_and_is_not_overdue() -> None:
    waiting = apply(complaint(domain.INVESTIGATING), cmd("complaint.await_customer", at=LATER)).state
    assert domain.standing(waiting, POLICY, LATER + timedelta(days=30)) == (None, False)


def test_a_resolution_breached_before_waiting_for_the_customer_keeps_it_overdue_while_it_waits() -> None:
    breached_at = T0 + RESOLUTION + timedelta(minutes=5)
    waiting = apply(complaint(domain.ACKNOWLEDGED), cmd("complaint.await_customer", at=breached_at)).state
    assert domain.standing(waiting, POLICY, breached_at + timedelta(days=1)) == (None, True)


def test_a_formal_reply_given_late_is_no_longer_overdue() -> None:
    late = complaint(domain.ACKNOWLEDGED, at=T0 + FORMAL_REPLY + timedelta(minutes=5))
    assert domain.standing(late, POLICY, T0 + FORMAL_REPLY + timedelta(minutes=6)) == (T0 + RESOLUTION, False)


def test_a_closed_complaint_is_neither_due_nor_overdue() -> None:
    assert domain.standing(complaint(domain.CLOSED), POLICY, LATER + timedelta(days=30)) == (None, False)


def test_severities_rank_the_most_severe_first() -> None:
    ranked = sorted(SEVERITIES, key=SEVERITY_RANK.__getitem__)
    assert ranked == ["critical", "high", "normal", "low"]
