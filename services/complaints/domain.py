"""Complaint rules, in plain Python (no broker, no database).

The lifecycle of DOMAIN.md: a complaint is registered, acknowledged to the customer, investigated, a
solution is proposed and carried out, the complaint is resolved and finally closed. A customer who is
still unsatisfied is followed until satisfied: a resolved or closed complaint can be reopened, which
puts it back under investigation. Every step leaves a history entry; nothing is ever overwritten.

Each command names one transition (:data:`TRANSITIONS`); :func:`apply` either returns the new state
with the history entry to append, or a :class:`Refusal` that says why the command does not fit the
complaint's current state.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

# -- statuses -------------------------------------------------------------------------------------
REGISTERED = "registered"
ACKNOWLEDGED = "acknowledged"
INVESTIGATING = "investigating"
SOLUTION_PROPOSED = "solution_proposed"
IN_PROGRESS = "in_progress"
RESOLVED = "resolved"
CLOSED = "closed"

STATUSES: tuple[str, ...] = (
    REGISTERED,
    ACKNOWLEDGED,
    INVESTIGATING,
    SOLUTION_PROPOSED,
    IN_PROGRESS,
    RESOLVED,
    CLOSED,
)
OPEN_STATUSES: frozenset[str] = frozenset(STATUSES) - {CLOSED}

CATEGORIES: tuple[str, ...] = (
    "service_attitude",
    "equipment_failure",
    "venue_environment",
    "meeting_arrangement",
    "catering",
    "other",
)
SEVERITIES: tuple[str, ...] = ("low", "normal", "high", "critical")
DEFAULT_CATEGORY = "other"
DEFAULT_SEVERITY = "normal"

# -- deadlines ------------------------------------------------------------------------------------
# Acknowledge within 2 hours whatever the severity (the seed's rule); urgent complaints go first.
ACKNOWLEDGE_WITHIN: Mapping[str, timedelta] = {
    "critical": timedelta(minutes=30),
    "high": timedelta(hours=1),
    "normal": timedelta(hours=2),
    "low": timedelta(hours=2),
}
RESOLVE_WITHIN: Mapping[str, timedelta] = {
    "critical": timedelta(hours=24),
    "high": timedelta(hours=48),
    "normal": timedelta(hours=72),
    "low": timedelta(days=7),
}


def deadlines(registered_at: datetime, severity: str) -> tuple[datetime, datetime]:
    """``(acknowledge_due_at, resolve_due_at)`` for a complaint registered at ``registered_at``."""
    if severity not in ACKNOWLEDGE_WITHIN:
        raise ValueError(f"unknown severity {severity!r}; one of {', '.join(SEVERITIES)}")
    if registered_at.tzinfo is None:
        raise ValueError("registered_at must carry a UTC offset")
    return registered_at + ACKNOWLEDGE_WITHIN[severity], registered_at + RESOLVE_WITHIN[severity]


def classify(category: str | None, severity: str | None) -> tuple[str, str]:
    """Category and severity as given by the inquiry, else ``other`` and ``normal``."""
    return category or DEFAULT_CATEGORY, severity or DEFAULT_SEVERITY


# -- state, commands, outcomes --------------------------------------------------------------------
@dataclass(frozen=True)
class Complaint:
    """The part of a complaint the lifecycle rules look at and change."""

    status: str
    category: str
    severity: str
    registered_at: datetime
    acknowledge_due_at: datetime
    resolve_due_at: datetime
    agent_id: str | None = None
    acknowledged_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


def register(
    registered_at: datetime,
    category: str | None = None,
    severity: str | None = None,
    agent_id: str | None = None,
) -> Complaint:
    """A new complaint: classified, with its deadlines."""
    category, severity = classify(category, severity)
    if category not in CATEGORIES:
        raise ValueError(f"unknown category {category!r}")
    ack_due, resolve_due = deadlines(registered_at, severity)
    return Complaint(
        status=REGISTERED,
        category=category,
        severity=severity,
        registered_at=registered_at,
        acknowledge_due_at=ack_due,
        resolve_due_at=resolve_due,
        agent_id=agent_id,
    )


@dataclass(frozen=True)
class Command:
    """A command as the rules see it (the contract's command, without transport details)."""

    name: str
    actor: str
    at: datetime
    note: str | None = None
    agent_id: str | None = None  # complaint.assign
    category: str | None = None  # complaint.assign: reclassify
    severity: str | None = None  # complaint.assign: reassess
    details: Mapping[str, Any] = field(default_factory=dict)  # root cause, actions, resolution, reason...


@dataclass(frozen=True)
class HistoryEntry:
    at: datetime
    actor: str
    action: str
    from_status: str | None
    to_status: str
    note: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    state: Complaint
    entry: HistoryEntry

    @property
    def status_changed(self) -> bool:
        return self.entry.from_status != self.entry.to_status


@dataclass(frozen=True)
class Refusal:
    reason: str


@dataclass(frozen=True)
class Transition:
    allowed_from: frozenset[str]
    to: str | None  # None: the status does not change


TRANSITIONS: Mapping[str, Transition] = {
    "complaint.acknowledge": Transition(frozenset({REGISTERED}), ACKNOWLEDGED),
    "complaint.assign": Transition(OPEN_STATUSES, None),
    "complaint.investigate": Transition(frozenset({ACKNOWLEDGED}), INVESTIGATING),
    "complaint.propose_solution": Transition(frozenset({INVESTIGATING}), SOLUTION_PROPOSED),
    "complaint.start_execution": Transition(frozenset({SOLUTION_PROPOSED}), IN_PROGRESS),
    "complaint.resolve": Transition(frozenset({IN_PROGRESS}), RESOLVED),
    "complaint.close": Transition(frozenset({RESOLVED}), CLOSED),
    "complaint.reopen": Transition(frozenset({RESOLVED, CLOSED}), INVESTIGATING),
}


def _ordered(statuses: frozenset[str]) -> str:
    return ", ".join(s for s in STATUSES if s in statuses)


def apply(state: Complaint, cmd: Command) -> Outcome | Refusal:
    """The new state and the history entry, or why the command is refused (nothing changes)."""
    transition = TRANSITIONS.get(cmd.name)
    if transition is None:
        return Refusal(f"unknown command {cmd.name!r}; one of {', '.join(sorted(TRANSITIONS))}")
    if state.status not in transition.allowed_from:
        if state.status == CLOSED:
            return Refusal(f"the complaint is closed; {cmd.name} needs it to be open (reopen it first)")
        if transition.to == state.status:
            return Refusal(f"the complaint is already {state.status}")
        return Refusal(
            f"the complaint is {state.status}; {cmd.name} needs it to be {_ordered(transition.allowed_from)}"
        )

    to = transition.to or state.status
    data: dict[str, Any] = {k: v for k, v in cmd.details.items() if v is not None and v != [] and v != {}}
    new = replace(state, status=to)

    if cmd.name == "complaint.assign":
        new, changes, refusal = _assign(state, cmd)
        if refusal:
            return refusal
        data.update(changes)
    elif to == ACKNOWLEDGED:
        new = replace(new, acknowledged_at=state.acknowledged_at or cmd.at)
    elif to == RESOLVED:
        new = replace(new, resolved_at=cmd.at)
    elif to == CLOSED:
        new = replace(new, closed_at=cmd.at)
    elif cmd.name == "complaint.reopen":
        # the earlier resolution stays in the history; the complaint is open again until satisfied
        data["previous_resolved_at"] = state.resolved_at.isoformat() if state.resolved_at else None
        data["previous_closed_at"] = state.closed_at.isoformat() if state.closed_at else None
        new = replace(new, resolved_at=None, closed_at=None)

    entry = HistoryEntry(
        at=cmd.at,
        actor=cmd.actor,
        action=cmd.name,
        from_status=state.status,
        to_status=to,
        note=cmd.note,
        data={k: v for k, v in data.items() if v is not None},
    )
    return Outcome(new, entry)


def _assign(state: Complaint, cmd: Command) -> tuple[Complaint, dict[str, Any], Refusal | None]:
    """Set the owner agent; the same command may reclassify category and severity. A new severity
    moves the deadlines (counted from registration, as if it had been known from the start)."""
    if not cmd.agent_id:
        return state, {}, Refusal("complaint.assign needs an agent_id")
    if cmd.category is not None and cmd.category not in CATEGORIES:
        return state, {}, Refusal(f"unknown category {cmd.category!r}")
    if cmd.severity is not None and cmd.severity not in SEVERITIES:
        return state, {}, Refusal(f"unknown severity {cmd.severity!r}")
    changes: dict[str, Any] = {}
    new = state
    if cmd.agent_id != state.agent_id:
        changes["agent_id"] = {"from": state.agent_id, "to": cmd.agent_id}
        new = replace(new, agent_id=cmd.agent_id)
    if cmd.category is not None and cmd.category != state.category:
        changes["category"] = {"from": state.category, "to": cmd.category}
        new = replace(new, category=cmd.category)
    if cmd.severity is not None and cmd.severity != state.severity:
        ack_due, resolve_due = deadlines(state.registered_at, cmd.severity)
        changes["severity"] = {"from": state.severity, "to": cmd.severity}
        changes["acknowledge_due_at"] = {
            "from": state.acknowledge_due_at.isoformat(),
            "to": ack_due.isoformat(),
        }
        changes["resolve_due_at"] = {"from": state.resolve_due_at.isoformat(), "to": resolve_due.isoformat()}
        new = replace(new, severity=cmd.severity, acknowledge_due_at=ack_due, resolve_due_at=resolve_due)
    if not changes:
        return state, {}, Refusal(f"the complaint is already assigned to {cmd.agent_id} as described")
    return new, changes, None
