"""Complaint rules, in plain Python (no broker, no database, no clock: ``now`` is given).

The lifecycle of DOMAIN.md: a complaint is registered, acknowledged to the customer, investigated, a
solution is proposed and carried out, the complaint is resolved and finally closed. A customer who is
still unsatisfied is followed until satisfied: a resolved or closed complaint can be reopened, which
puts it back under investigation. Every step leaves a history entry; nothing is ever overwritten.

Two service-level targets run from registration: acknowledge the customer, and resolve the
complaint, each within its severity's time (:class:`SlaPolicy`). A target that is still unmet when
its time comes is breached (:func:`check_sla`): "escalation of what is overdue".

Every decision is an :class:`Outcome` — the new state, the history entry to append, the events it
implies and the SLA deadlines to (re)schedule or cancel — or, for a command that does not fit the
complaint's current state, a :class:`Refusal` that says why (:func:`apply`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, get_args

from shared.contract.common import Category, Severity
from shared.contract.events import (
    ComplaintClosed,
    ComplaintRegistered,
    ComplaintSlaBreached,
    ComplaintStatusChanged,
    EventData,
    InquiryReceived,
    NotificationRequested,
)
from shared.notifications import reply_route

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

CATEGORIES: tuple[str, ...] = get_args(Category)
SEVERITIES: tuple[str, ...] = get_args(Severity)
DEFAULT_CATEGORY = "other"
DEFAULT_SEVERITY = "normal"

ACK_TEMPLATE = "complaint.received"  # the acknowledgement the customer is sent on registration

# -- service-level targets ------------------------------------------------------------------------
# the targets as complaint.sla_breached names them: acknowledge, resolve
TARGETS: tuple[str, ...] = get_args(ComplaintSlaBreached.model_fields["which"].annotation)
ACKNOWLEDGE, RESOLVE = TARGETS
# the due item that watches each target, keyed by the complaint id
DUE_KINDS: Mapping[str, str] = {target: f"complaint.{target}_due" for target in TARGETS}
ACKNOWLEDGE_DUE, RESOLVE_DUE = DUE_KINDS[ACKNOWLEDGE], DUE_KINDS[RESOLVE]
SLA_ACTOR = "scheduler"


@dataclass(frozen=True)
class SlaPolicy:
    """How long each severity may wait for its acknowledgement and for its resolution."""

    acknowledge_within: Mapping[str, timedelta]
    resolve_within: Mapping[str, timedelta]

    def __post_init__(self) -> None:
        for name, targets in (("acknowledge_within", self.acknowledge_within), ("resolve_within", self.resolve_within)):
            missing = [s for s in SEVERITIES if s not in targets]
            unknown = sorted(set(targets) - set(SEVERITIES))
            if missing or unknown:
                raise ValueError(
                    f"{name} needs exactly the severities {', '.join(SEVERITIES)}"
                    + (f"; missing {', '.join(missing)}" if missing else "")
                    + (f"; unknown {', '.join(unknown)}" if unknown else "")
                )
            not_positive = [s for s in SEVERITIES if targets[s] <= timedelta(0)]
            if not_positive:
                raise ValueError(f"{name} must be positive; it is not for {', '.join(not_positive)}")
        late = [s for s in SEVERITIES if self.acknowledge_within[s] > self.resolve_within[s]]
        if late:
            raise ValueError(f"the acknowledgement may not come after the resolution target for {', '.join(late)}")

    def deadlines(self, registered_at: datetime, severity: str) -> tuple[datetime, datetime]:
        """``(acknowledge_due_at, resolve_due_at)`` for a complaint registered at ``registered_at``."""
        if severity not in SEVERITIES:
            raise ValueError(f"unknown severity {severity!r}; one of {', '.join(SEVERITIES)}")
        if registered_at.tzinfo is None:
            raise ValueError("registered_at must carry a UTC offset")
        return registered_at + self.acknowledge_within[severity], registered_at + self.resolve_within[severity]


# -- state, commands, outcomes --------------------------------------------------------------------
@dataclass(frozen=True)
class Complaint:
    """The part of a complaint the rules look at and change."""

    complaint_id: str
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
    reopened_at: datetime | None = None  # the last reopening: the resolution clock runs from here

    def due_at(self, target: str) -> datetime:
        return self.acknowledge_due_at if target == ACKNOWLEDGE else self.resolve_due_at

    def met(self, target: str) -> bool:
        """Whether the acknowledgement (resolution) target has been met."""
        if target == ACKNOWLEDGE:
            return self.acknowledged_at is not None or self.status != REGISTERED
        return self.status in (RESOLVED, CLOSED)


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
    """What a decision changes: the complaint's new state, the history entry to append, the events
    to emit, the SLA deadlines to schedule (due kind → when) and those to cancel (due kinds)."""

    state: Complaint
    entry: HistoryEntry
    events: tuple[EventData, ...] = ()
    schedule: Mapping[str, datetime] = field(default_factory=dict)
    cancel: tuple[str, ...] = ()


@dataclass(frozen=True)
class Refusal:
    reason: str


# -- SLA deadlines --------------------------------------------------------------------------------
def sla_deadlines(state: Complaint) -> dict[str, datetime]:
    """The deadlines still watched (due kind → when): the targets not yet met."""
    return {DUE_KINDS[t]: state.due_at(t) for t in TARGETS if not state.met(t)}


def _deadline_changes(before: Complaint | None, after: Complaint) -> tuple[dict[str, datetime], tuple[str, ...]]:
    """Deadlines to schedule (new or moved) and to cancel (met) when ``before`` becomes ``after``;
    closing cancels whatever may be left."""
    old = sla_deadlines(before) if before is not None else {}
    new = sla_deadlines(after)
    ended = DUE_KINDS.values() if after.status == CLOSED else old
    return {kind: at for kind, at in new.items() if old.get(kind) != at}, tuple(k for k in ended if k not in new)


def check_sla(state: Complaint, target: str, now: datetime) -> Outcome | None:
    """The ``target`` (acknowledge or resolve) breached at ``now``: still unmet when its time has
    come. ``complaint.sla_breached`` and a history entry (the status does not change). None when the
    target was met meanwhile or its time has not come."""
    if target not in TARGETS:
        raise ValueError(f"unknown target {target!r}; one of {', '.join(TARGETS)}")
    due_at = state.due_at(target)
    if state.met(target) or now < due_at:
        return None
    entry = HistoryEntry(
        at=now,
        actor=SLA_ACTOR,
        action="complaint.sla_breached",
        from_status=state.status,
        to_status=state.status,
        data={"which": target, "due_at": due_at.isoformat()},
    )
    return Outcome(state, entry, (ComplaintSlaBreached(complaint_id=state.complaint_id, which=target, due_at=due_at),))


# -- registration ---------------------------------------------------------------------------------
def new_complaint(
    complaint_id: str,
    registered_at: datetime,
    policy: SlaPolicy,
    category: str | None = None,
    severity: str | None = None,
    agent_id: str | None = None,
) -> Complaint:
    """A new complaint: classified as given (else ``other`` and ``normal``), with its deadlines."""
    category, severity = category or DEFAULT_CATEGORY, severity or DEFAULT_SEVERITY
    if category not in CATEGORIES:
        raise ValueError(f"unknown category {category!r}")
    ack_due, resolve_due = policy.deadlines(registered_at, severity)
    return Complaint(
        complaint_id=complaint_id,
        status=REGISTERED,
        category=category,
        severity=severity,
        registered_at=registered_at,
        acknowledge_due_at=ack_due,
        resolve_due_at=resolve_due,
        agent_id=agent_id,
    )


def register(
    inquiry: InquiryReceived, *, complaint_id: str, event_id: str, now: datetime, policy: SlaPolicy
) -> Outcome | None:
    """An inquiry with the intent ``complaint`` becomes a registered complaint: ``complaint.registered``,
    the acknowledgement to the customer, and both deadlines watched. Other inquiries: None.

    The clock starts when the customer's message reached us (``received_at``), never in the future."""
    if inquiry.intent != "complaint":
        return None
    registered_at = min(inquiry.received_at.astimezone(UTC), now)
    state = new_complaint(complaint_id, registered_at, policy, inquiry.category, inquiry.severity, inquiry.agent_id)
    entry = HistoryEntry(
        at=registered_at,
        actor=inquiry.agent_id or "intake",
        action="complaint.registered",
        from_status=None,
        to_status=state.status,
        data={
            "inquiry_id": inquiry.inquiry_id,
            "event_id": event_id,
            "channel": inquiry.channel,
            "source_ref": inquiry.source_ref,
            "conversation_id": inquiry.conversation_id,
            "language": inquiry.language,
            "subject": inquiry.subject,
            "received_at": inquiry.received_at.isoformat(),
        },
    )
    customer = inquiry.customer
    registered = ComplaintRegistered(
        complaint_id=complaint_id,
        inquiry_id=inquiry.inquiry_id,
        customer_id=customer.customer_id,
        channel=inquiry.channel,
        booking_id=inquiry.booking_id,
        category=state.category,  # type: ignore[arg-type]
        severity=state.severity,  # type: ignore[arg-type]
        registered_at=state.registered_at,
        acknowledge_due_at=state.acknowledge_due_at,
        resolve_due_at=state.resolve_due_at,
    )
    channel, address = reply_route(
        inquiry.channel, email=customer.email, phone=customer.phone, conversation_id=inquiry.conversation_id
    )
    acknowledgement = NotificationRequested(
        channel=channel,  # type: ignore[arg-type]
        address=address,
        customer_id=customer.customer_id,
        template=ACK_TEMPLATE,
        language=inquiry.language,
        parameters={
            "complaint_id": complaint_id,
            "acknowledge_due_at": state.acknowledge_due_at.isoformat(),
            "conversation_id": inquiry.conversation_id,
        },
    )
    schedule, _ = _deadline_changes(None, state)
    return Outcome(state, entry, (registered, acknowledgement), schedule)


# -- lifecycle ------------------------------------------------------------------------------------
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


def apply(state: Complaint, cmd: Command, policy: SlaPolicy) -> Outcome | Refusal:
    """The new state, its history entry, ``complaint.status_changed`` (and ``complaint.closed``) and
    the deadlines that move; or why the command is refused (nothing changes).

    Acknowledging meets the acknowledgement target, resolving or closing the resolution target (their
    deadlines are cancelled). Reopening restarts the resolution clock: the complaint is due for
    resolution the severity's resolution time after the reopening."""
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
        assigned = _assign(state, cmd, policy)
        if isinstance(assigned, Refusal):
            return assigned
        new, changes = assigned
        data.update(changes)
    elif to == ACKNOWLEDGED:
        new = replace(new, acknowledged_at=state.acknowledged_at or cmd.at)
    elif to == RESOLVED:
        new = replace(new, resolved_at=cmd.at)
    elif to == CLOSED:
        new = replace(new, closed_at=cmd.at)
    elif cmd.name == "complaint.reopen":
        # the earlier resolution stays in the history; the complaint is open again until satisfied,
        # with a new resolution deadline counted from now
        resolve_due = cmd.at + policy.resolve_within[state.severity]
        data["previous_resolved_at"] = state.resolved_at.isoformat() if state.resolved_at else None
        data["previous_closed_at"] = state.closed_at.isoformat() if state.closed_at else None
        data["resolve_due_at"] = {"from": state.resolve_due_at.isoformat(), "to": resolve_due.isoformat()}
        new = replace(new, resolved_at=None, closed_at=None, reopened_at=cmd.at, resolve_due_at=resolve_due)

    entry = HistoryEntry(
        at=cmd.at,
        actor=cmd.actor,
        action=cmd.name,
        from_status=state.status,
        to_status=to,
        note=cmd.note,
        data={k: v for k, v in data.items() if v is not None},
    )
    events: tuple[EventData, ...] = (
        ComplaintStatusChanged(
            complaint_id=new.complaint_id,
            from_=state.status,
            to=to,
            actor=cmd.actor,
            category=new.category,  # type: ignore[arg-type]
            agent_id=new.agent_id,
        ),
    )
    if to == CLOSED:
        events += (ComplaintClosed(complaint_id=new.complaint_id, actor=cmd.actor, category=new.category),)  # type: ignore[arg-type]
    schedule, cancel = _deadline_changes(state, new)
    return Outcome(new, entry, events, schedule, cancel)


def _assign(state: Complaint, cmd: Command, policy: SlaPolicy) -> tuple[Complaint, dict[str, Any]] | Refusal:
    """Set the owner agent; the same command may reclassify category and severity. A new severity
    moves the deadlines, as if it had been known from the start: the acknowledgement counted from
    registration, the resolution from registration or the last reopening."""
    if not cmd.agent_id:
        return Refusal("complaint.assign needs an agent_id")
    if cmd.category is not None and cmd.category not in CATEGORIES:
        return Refusal(f"unknown category {cmd.category!r}")
    if cmd.severity is not None and cmd.severity not in SEVERITIES:
        return Refusal(f"unknown severity {cmd.severity!r}")
    changes: dict[str, Any] = {}
    new = state
    if cmd.agent_id != state.agent_id:
        changes["agent_id"] = {"from": state.agent_id, "to": cmd.agent_id}
        new = replace(new, agent_id=cmd.agent_id)
    if cmd.category is not None and cmd.category != state.category:
        changes["category"] = {"from": state.category, "to": cmd.category}
        new = replace(new, category=cmd.category)
    if cmd.severity is not None and cmd.severity != state.severity:
        ack_due = state.registered_at + policy.acknowledge_within[cmd.severity]
        resolve_due = (state.reopened_at or state.registered_at) + policy.resolve_within[cmd.severity]
        changes["severity"] = {"from": state.severity, "to": cmd.severity}
        changes["acknowledge_due_at"] = {"from": state.acknowledge_due_at.isoformat(), "to": ack_due.isoformat()}
        changes["resolve_due_at"] = {"from": state.resolve_due_at.isoformat(), "to": resolve_due.isoformat()}
        new = replace(new, severity=cmd.severity, acknowledge_due_at=ack_due, resolve_due_at=resolve_due)
    if not changes:
        return Refusal(f"the complaint is already assigned to {cmd.agent_id} as described")
    return new, changes
