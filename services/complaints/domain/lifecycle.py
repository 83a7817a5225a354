"""The complaint process: registration, the state table, the customer's messages and satisfaction, and
what the clock's due items decide — in plain Python (no broker, no database, no clock: ``now`` is given).

The lifecycle of DOMAIN.md: a complaint is registered, acknowledged to the customer (the formal reply),
investigated, a solution is proposed and carried out, the complaint is resolved and — once the customer
is satisfied — closed. A customer still unsatisfied is followed until satisfied: a survey score of 1-2
(or what an agent records) reopens the complaint at once, and so can an agent. The customer may
withdraw it; a complaint settled in the contact that registered it is resolved at once (first contact).
Every step leaves a history entry, and the customer is told of each on the channel they complained on,
in their language.

The SLA targets run on the clock (:mod:`.clock`); every change first brings the clocks up to its time
(what fell due meanwhile is recorded at the instant it fell due), and the due items a complaint needs
(warnings, breaches, escalation steps, satisfaction follow-ups) are re-planned from its state after
every change (:func:`plan`). Every decision is an :class:`Outcome` or, for a command that does not fit,
a :class:`Refusal` that says why.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, get_args

from shared.contract.common import Category
from shared.contract.events import (
    ComplaintActionOverdue,
    ComplaintActionReminder,
    ComplaintAssessed,
    ComplaintClock,
    ComplaintClosed,
    ComplaintEscalated,
    ComplaintRegistered,
    ComplaintSatisfactionRecorded,
    ComplaintSatisfactionRequested,
    ComplaintSatisfactionUnanswered,
    ComplaintSlaBreached,
    ComplaintStatusChanged,
    EventData,
    InquiryReceived,
    NotificationRequested,
)
from shared.notifications import reply_route

from . import actions, clock, escalation, rerun
from .actions import ROOT_CAUSES, Action
from .cases import Case, make_case
from .clock import (
    ACKNOWLEDGE,
    BREACHED,
    ESCALATED,
    MET,
    PAUSED,
    REARMED,
    RESOLVE,
    RESUMED,
    STARTED,
    STOPPED,
    TARGETS,
    TRANSITIONS,
    ClockEvent,
)
from .escalation import MANAGER, SUPERVISOR, Staff
from .policy import SEVERITIES, Policy
from .registration import SERVICE_STEPS, BookingLink, BookingView, estimate_service_step, estimate_severity

# -- statuses -------------------------------------------------------------------------------------
REGISTERED = "registered"
ACKNOWLEDGED = "acknowledged"
INVESTIGATING = "investigating"
SOLUTION_PROPOSED = "solution_proposed"
IN_PROGRESS = "in_progress"
RESOLVED = "resolved"
CLOSED = "closed"
WITHDRAWN = "withdrawn"

STATUSES: tuple[str, ...] = (
    REGISTERED,
    ACKNOWLEDGED,
    INVESTIGATING,
    SOLUTION_PROPOSED,
    IN_PROGRESS,
    RESOLVED,
    CLOSED,
    WITHDRAWN,
)
FINAL_STATUSES: frozenset[str] = frozenset({CLOSED, WITHDRAWN})
OPEN_STATUSES: frozenset[str] = frozenset(STATUSES) - FINAL_STATUSES
WORKING_STATUSES: frozenset[str] = frozenset({ACKNOWLEDGED, INVESTIGATING, SOLUTION_PROPOSED, IN_PROGRESS})

CATEGORIES: tuple[str, ...] = get_args(Category)
DEFAULT_CATEGORY = "other"
DEFAULT_SEVERITY = "normal"

# -- what the customer is sent ------------------------------------------------------------------
ACK_TEMPLATE = "complaint.received"  # the automatic receipt at registration (not the formal reply)
SATISFACTION_TEMPLATE = "complaint.satisfaction"  # at a resolution: the resolution and the survey
REMINDER_TEMPLATE = "complaint.satisfaction_reminder"  # a follow-up of an unanswered satisfaction request
AWAITING_TEMPLATE = "complaint.awaiting_customer"  # what we need from the customer
PROGRESS_TEMPLATES: Mapping[str, str] = {  # each step, by the status it leads to
    ACKNOWLEDGED: "complaint.acknowledged",  # the formal reply
    INVESTIGATING: "complaint.investigating",
    SOLUTION_PROPOSED: "complaint.solution_proposed",
    IN_PROGRESS: "complaint.in_progress",
    CLOSED: "complaint.closed",
    WITHDRAWN: "complaint.withdrawn",
}
REOPENED_TEMPLATE = "complaint.reopened"
PLAN_REVISED_TEMPLATE = "complaint.plan_revised"  # the solution plan changed (its agreement is asked anew)
ACTION_DONE_TEMPLATE = "complaint.action_done"  # an action of the plan was carried out
SATISFIED_FROM = 3  # a score of 3-5 satisfies; 1-2 reopens

# -- the due items a complaint may have (all keyed by its id) -------------------------------------
DUE_KINDS: Mapping[str, str] = {t: f"complaint.{t}_due" for t in TARGETS}  # the target falls due: breach
WARNING_KINDS: Mapping[str, str] = {t: f"complaint.{t}_warning" for t in TARGETS}
ESCALATION_KINDS: Mapping[str, str] = {t: f"complaint.{t}_escalation" for t in TARGETS}
FOLLOW_UP = "complaint.satisfaction_follow_up"
ACTION_DUE = "complaint.action_due"  # the next open action of the plan falls overdue
ACTION_REMINDER_DUE = "complaint.action_reminder_due"  # the next reminder of an overdue action
ACKNOWLEDGE_DUE, RESOLVE_DUE = DUE_KINDS[ACKNOWLEDGE], DUE_KINDS[RESOLVE]
ALL_DUE_KINDS: tuple[str, ...] = (
    *DUE_KINDS.values(),
    *WARNING_KINDS.values(),
    *ESCALATION_KINDS.values(),
    FOLLOW_UP,
    ACTION_DUE,
    ACTION_REMINDER_DUE,
)
SLA_ACTOR = "scheduler"
CUSTOMER = "customer"


# -- state, commands, outcomes --------------------------------------------------------------------
@dataclass(frozen=True)
class Complaint:
    """The part of a complaint the rules look at and change, with its SLA log (``clock``)."""

    complaint_id: str
    status: str
    category: str
    severity: str
    registered_at: datetime
    # when each target falls due as last planned (while the clock waits: as it stood when it paused)
    acknowledge_due_at: datetime
    resolve_due_at: datetime
    agent_id: str | None = None
    acknowledged_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    reopened_at: datetime | None = None  # the last reopening: the resolution clock restarted there
    customer_id: str | None = None
    conversation_id: str | None = None
    # what registration found or estimated: the booking (how it was linked), its room and equipment, the
    # service step concerned, why the severity is what it is
    booking_id: str | None = None
    booking_link: str | None = None
    room_id: str | None = None
    equipment: tuple[str, ...] = ()
    service_step: str | None = None
    severity_reason: str | None = None
    # where the customer hears back: the channel they complained on (or email/phone), in their language
    reply_channel: str | None = None
    reply_address: str | None = None
    language: str | None = None
    first_contact: bool = False  # resolved in the contact that registered it
    withdrawn_at: datetime | None = None
    # the customer's satisfaction with the current resolution
    satisfaction_score: int | None = None
    satisfied_at: datetime | None = None
    follow_ups: int = 0  # satisfaction follow-ups fired since the resolution
    # the investigation's findings (the latest root cause and department; the evidence accumulates)
    root_cause: str | None = None
    responsible_department: str | None = None
    evidence: tuple[str, ...] = ()
    # the solution plan and the customer's last answer to it (None: not given since it last changed)
    actions: tuple[Action, ...] = ()
    plan_agreed: bool | None = None
    plan_agreed_at: datetime | None = None
    clock: tuple[ClockEvent, ...] = ()

    def action(self, action_id: str) -> Action | None:
        return next((a for a in self.actions if a.action_id == action_id), None)

    def due_at(self, target: str) -> datetime:
        return self.acknowledge_due_at if target == ACKNOWLEDGE else self.resolve_due_at

    def clock_state(self, target: str) -> str:
        return clock.state_of(clock.cycle(self.clock, target))

    def met(self, target: str) -> bool:
        """Whether the acknowledgement (resolution) target of the current cycle has been met."""
        return self.clock_state(target) == clock.ENDED_MET

    @property
    def awaiting_customer(self) -> bool:
        return any(self.clock_state(t) == clock.WAITING for t in TARGETS)


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
    details: Mapping[str, Any] = field(default_factory=dict)  # root cause, resolution, reason, score...
    actor_role: str | None = None  # the actor's role in the staff directory (None: not in it)


# the commands whose rules look at the actor's role (``Command.actor_role``): closing without the customer's
# satisfaction needs a supervisor or manager; no other command asks, so no other looks the actor up
ROLE_NEEDED_BY = frozenset({"complaint.close"})


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
    """What a decision changes: the complaint's new state, the history entries to append, the events to
    emit, the SLA log entries to append (also in ``state.clock``), the due items to schedule (kind →
    when) and those to cancel (kinds)."""

    state: Complaint
    entries: tuple[HistoryEntry, ...] = ()
    events: tuple[EventData, ...] = ()
    clock: tuple[ClockEvent, ...] = ()
    schedule: Mapping[str, datetime] = field(default_factory=dict)
    cancel: tuple[str, ...] = ()
    case: Case | None = None  # the case written for the case library

    @property
    def entry(self) -> HistoryEntry:
        """The decision's own history entry (the last; what fell due meanwhile comes before it)."""
        return self.entries[-1]

    @property
    def changed(self) -> bool:
        return bool(self.entries or self.events or self.clock)


@dataclass(frozen=True)
class Refusal:
    reason: str


# -- the due items ------------------------------------------------------------------------------
def plan(state: Complaint, policy: Policy) -> dict[str, datetime]:
    """The due items the complaint needs now (kind → when): for each target whose clock runs, its
    warning and its breach until recorded; the next escalation step of a breached target; while the
    customer's satisfaction with a resolution is awaited, the next follow-up."""
    if state.status in FINAL_STATUSES:
        return {}
    due: dict[str, datetime] = {}
    for which in TARGETS:
        reading = clock.read(state.clock, which, policy.sla.rules(which, state.severity))
        if reading.running:
            if not reading.warned and reading.warning_at is not None:
                due[WARNING_KINDS[which]] = reading.warning_at
            if not reading.breached and reading.breach_at is not None:
                due[DUE_KINDS[which]] = reading.breach_at
        step = escalation.next_step(clock.cycle(state.clock, which), state.severity, policy.escalation)
        if step is not None:
            due[ESCALATION_KINDS[which]] = step.at
    if (
        state.status == RESOLVED
        and state.satisfied_at is None
        and state.resolved_at is not None
        and state.follow_ups <= policy.follow_up.count
    ):
        due[FOLLOW_UP] = state.resolved_at + policy.follow_up.interval * (state.follow_ups + 1)
    overdue_at = actions.overdue_at(state.actions)
    if overdue_at is not None:
        due[ACTION_DUE] = overdue_at
    reminder_at = actions.reminder_at(state.actions, policy.actions)
    if reminder_at is not None:
        due[ACTION_REMINDER_DUE] = reminder_at
    return due


def replan(before: Complaint | None, after: Complaint, policy: Policy) -> tuple[dict[str, datetime], tuple[str, ...]]:
    """Due items to schedule (new or moved) and to cancel (no longer needed) when ``before`` becomes
    ``after``; a closed or withdrawn complaint cancels every kind, whatever may be left."""
    old = plan(before, policy) if before is not None else {}
    new = plan(after, policy)
    gone = ALL_DUE_KINDS if after.status in FINAL_STATUSES else tuple(old)
    return {k: at for k, at in new.items() if old.get(k) != at}, tuple(k for k in gone if k not in new)


ASSESSMENT = ("category", "service_step", "root_cause")  # what complaint.assessed carries


class _Draft:
    """A decision being made: the state as it changes, and what the change records and says."""

    def __init__(self, before: Complaint | None, state: Complaint, policy: Policy, booking: BookingView | None = None):
        self.before = before
        self.state = state
        self.policy = policy
        self.booking = booking  # complaints' view of the complaint's booking, when the decision needs it
        self.entries: list[HistoryEntry] = []
        self.events: list[EventData] = []
        self.log: list[ClockEvent] = []
        self.case: Case | None = None

    # -- the clock --------------------------------------------------------------------------------
    def rules(self, which: str) -> clock.Rules:
        return self.policy.sla.rules(which, self.state.severity)

    def record(self, new: Sequence[ClockEvent]) -> None:
        """Append SLA log entries; announce each clock transition (and a breach the old way too)."""
        for e in new:
            self.state = replace(self.state, clock=(*self.state.clock, e))
            self.log.append(e)
            if e.transition in TRANSITIONS:
                self.events.append(self._announce(e, len(self.state.clock)))
            if e.transition == BREACHED:
                breach = ComplaintSlaBreached(complaint_id=self.state.complaint_id, which=e.which, due_at=e.at)  # type: ignore[arg-type]
                self.events.append(breach)
                self.entry(
                    e.at, SLA_ACTOR, "complaint.sla_breached", data={"which": e.which, "due_at": e.at.isoformat()}
                )

    def _announce(self, e: ClockEvent, seq: int) -> ComplaintClock:
        rules = self.rules(e.which)
        events = clock.cycle(self.state.clock, e.which)
        reading = clock.read(self.state.clock, e.which, rules)
        return ComplaintClock(
            complaint_id=self.state.complaint_id,
            which=e.which,  # type: ignore[arg-type]
            transition=e.transition,  # type: ignore[arg-type]
            at=e.at,
            cycle=e.cycle,
            seq=seq,
            target_seconds=rules.within.total_seconds(),
            elapsed_seconds=clock.elapsed(events, e.at, rules.calendar).total_seconds(),
            due_at=reading.breach_at if reading.running and not reading.breached else None,
            business_hours=rules.calendar is not None,
            severity=self.state.severity,  # type: ignore[arg-type]
            category=self.state.category,  # type: ignore[arg-type]
            agent_id=self.state.agent_id,
            reason=e.reason,
        )

    def settle(self, at: datetime) -> None:
        """Bring every clock up to ``at``: record what fell due meanwhile."""
        for which in TARGETS:
            self.record(clock.settle(self.state.clock, which, self.rules(which), at))

    def move(self, which: str, kind: str, at: datetime, reason: str | None = None) -> bool:
        """Pause, resume, meet, stop or start ``which``'s clock (if that applies now)."""
        new = clock.transition(self.state.clock, which, kind, at, self.rules(which), reason=reason)
        self.record(new)
        return bool(new)

    # -- history, events, the customer ----------------------------------------------------------
    def entry(
        self,
        at: datetime,
        actor: str,
        action: str,
        *,
        from_status: Any = ...,
        to_status: str | None = None,
        note: str | None = None,
        data: Mapping[str, Any] | None = None,
    ) -> None:
        """A history entry (``from_status``: the status before, by default the current one; None for
        the registration)."""
        status = self.state.status
        self.entries.append(
            HistoryEntry(
                at=at,
                actor=actor,
                action=action,
                from_status=status if from_status is ... else from_status,
                to_status=to_status or status,
                note=note,
                data={k: v for k, v in (data or {}).items() if v is not None},
            )
        )

    def notify(self, template: str, **parameters: Any) -> dict[str, Any] | None:
        """Tell the customer (their channel, their language); what the history records of it."""
        s = self.state
        if s.reply_channel is None:
            return None  # nowhere known to reach them: an agent has to
        self.events.append(
            NotificationRequested(
                channel=s.reply_channel,  # type: ignore[arg-type]
                address=s.reply_address,
                customer_id=s.customer_id,
                template=template,
                language=s.language or "other",  # type: ignore[arg-type]
                parameters={
                    "complaint_id": s.complaint_id,
                    "conversation_id": s.conversation_id,
                    "status": s.status,
                    **{k: v for k, v in parameters.items() if v is not None},
                },
            )
        )
        return {"template": template, "channel": s.reply_channel, "address_known": s.reply_address is not None}

    def status_changed(self, from_: str, actor: str, *, first_contact: bool | None = None) -> None:
        s = self.state
        self.events.append(
            ComplaintStatusChanged(
                complaint_id=s.complaint_id,
                from_=from_,
                to=s.status,
                actor=actor,
                category=s.category,  # type: ignore[arg-type]
                agent_id=s.agent_id,
                first_contact=first_contact,
                service_step=s.service_step,  # type: ignore[arg-type]
                root_cause=s.root_cause,  # type: ignore[arg-type]
            )
        )

    def assessed(self, before: Complaint, actor: str) -> None:
        """``complaint.assessed`` when the category, service step or root cause changed but the status did
        not (``complaint.status_changed`` carries them with a new status): the figures by category, step and
        cause follow the assessment at once, not from the next status change."""
        s = self.state
        if s.status != before.status or all(getattr(s, k) == getattr(before, k) for k in ASSESSMENT):
            return
        self.events.append(
            ComplaintAssessed(
                complaint_id=s.complaint_id,
                category=s.category,  # type: ignore[arg-type]
                service_step=s.service_step,  # type: ignore[arg-type]
                root_cause=s.root_cause,  # type: ignore[arg-type]
                agent_id=s.agent_id,
                actor=actor,
            )
        )

    def refresh_due(self) -> Complaint:
        """The due-time columns as the running clocks now say (as they were while a clock waits or
        after it ended)."""
        for which, column in ((ACKNOWLEDGE, "acknowledge_due_at"), (RESOLVE, "resolve_due_at")):
            reading = clock.read(self.state.clock, which, self.rules(which))
            due = reading.breach_at if reading.running else None
            if due is not None and due != getattr(self.state, column):
                self.state = replace(self.state, **{column: due})
        return self.state

    def outcome(self) -> Outcome:
        """The decision: due times refreshed from the clocks, the due items re-planned."""
        state = self.refresh_due()
        schedule, cancel = replan(self.before, state, self.policy)
        return Outcome(state, tuple(self.entries), tuple(self.events), tuple(self.log), schedule, cancel, self.case)


# -- registration ---------------------------------------------------------------------------------
def new_complaint(
    complaint_id: str,
    registered_at: datetime,
    policy: Policy,
    category: str | None = None,
    severity: str | None = None,
    agent_id: str | None = None,
    **contact: Any,
) -> Complaint:
    """A new complaint, classified as given (else ``other`` and ``normal``), both clocks started at
    ``registered_at``. ``contact``: customer_id, conversation_id, reply_channel, reply_address, language."""
    category, severity = category or DEFAULT_CATEGORY, severity or DEFAULT_SEVERITY
    if category not in CATEGORIES:
        raise ValueError(f"unknown category {category!r}")
    if severity not in SEVERITIES:
        raise ValueError(f"unknown severity {severity!r}; one of {', '.join(SEVERITIES)}")
    ack_due, resolve_due = policy.sla.deadlines(registered_at, severity)
    return Complaint(
        complaint_id=complaint_id,
        status=REGISTERED,
        category=category,
        severity=severity,
        registered_at=registered_at,
        acknowledge_due_at=ack_due,
        resolve_due_at=resolve_due,
        agent_id=agent_id,
        clock=tuple(ClockEvent(which, STARTED, registered_at) for which in TARGETS),
        **contact,
    )


def register(
    inquiry: InquiryReceived,
    *,
    complaint_id: str,
    event_id: str,
    now: datetime,
    policy: Policy,
    booking: BookingLink | None = None,
) -> Outcome | None:
    """An inquiry with the intent ``complaint`` becomes a registered complaint: ``complaint.registered``,
    the automatic receipt to the customer, both clocks started and their due items planned. Other
    inquiries: None.

    Registration records the service step (estimated from the text or the category), a severity
    estimated from the text when none was given (with the reason), and the booking (``booking``: how it
    was found in complaints' view of the bookings, with its room and equipment).
    The clocks start when the customer's message reached us (``received_at``), never in the future."""
    if inquiry.intent != "complaint":
        return None
    words = " ".join(t for t in (inquiry.subject, inquiry.text) if t)
    severity = estimate_severity(inquiry.severity, words, DEFAULT_SEVERITY)
    step = estimate_service_step(words, inquiry.category)
    link = booking or BookingLink(inquiry.booking_id, "given_unknown" if inquiry.booking_id else None)
    view: BookingView | None = link.booking
    registered_at = min(inquiry.received_at.astimezone(UTC), now)
    customer = inquiry.customer
    channel, address = reply_route(
        inquiry.channel, email=customer.email, phone=customer.phone, conversation_id=inquiry.conversation_id
    )
    started = new_complaint(
        complaint_id,
        registered_at,
        policy,
        inquiry.category,
        severity.value,
        inquiry.agent_id,
        customer_id=customer.customer_id,
        conversation_id=inquiry.conversation_id,
        reply_channel=channel,
        reply_address=address,
        language=inquiry.language,
        booking_id=link.booking_id,
        booking_link=link.how,
        room_id=view.room_id if view else None,
        equipment=view.equipment if view else (),
        service_step=step.value,
        severity_reason=severity.reason,
    )
    draft = _Draft(None, replace(started, clock=()), policy)
    state = draft.state
    draft.events.append(
        ComplaintRegistered(
            complaint_id=complaint_id,
            inquiry_id=inquiry.inquiry_id,
            customer_id=customer.customer_id,
            channel=inquiry.channel,
            booking_id=state.booking_id,
            category=state.category,  # type: ignore[arg-type]
            severity=state.severity,  # type: ignore[arg-type]
            registered_at=state.registered_at,
            acknowledge_due_at=state.acknowledge_due_at,
            resolve_due_at=state.resolve_due_at,
            service_step=state.service_step,  # type: ignore[arg-type]
            severity_source=severity.source,  # type: ignore[arg-type]
            severity_reason=severity.reason,
            room_id=state.room_id,
        )
    )
    # mail a machine sent, or a list or spam (intake's inquiry.received.automatic): registered for the
    # desk to see, but no automatic receipt goes back to it (RFC 3834: no mail loops, no backscatter)
    notified = (
        {"withheld": f"automatic mail ({inquiry.automatic})"}
        if inquiry.automatic
        else draft.notify(ACK_TEMPLATE, acknowledge_due_at=state.acknowledge_due_at.isoformat())
    )
    draft.entry(
        registered_at,
        inquiry.agent_id or "intake",
        "complaint.registered",
        from_status=None,
        to_status=REGISTERED,
        data={
            "inquiry_id": inquiry.inquiry_id,
            "event_id": event_id,
            "channel": inquiry.channel,
            "source_ref": inquiry.source_ref,
            "conversation_id": inquiry.conversation_id,
            "language": inquiry.language,
            "subject": inquiry.subject,
            "received_at": inquiry.received_at.isoformat(),
            "notified": notified,
            "severity": {"value": severity.value, "source": severity.source, "reason": severity.reason},
            "service_step": {"value": step.value, "source": step.source, "reason": step.reason},
            "booking": _booking_record(link),
        },
    )
    for which in TARGETS:
        draft.move(which, STARTED, registered_at)
    return draft.outcome()


def _booking_record(link: BookingLink) -> dict[str, Any] | None:
    """What the history keeps of the booking a complaint was linked to, and how."""
    if link.booking_id is None:
        return None
    b = link.booking
    return {
        "booking_id": link.booking_id,
        "how": link.how,
        "reason": link.reason,
        **(
            {
                "room_id": b.room_id,
                "name": b.name,
                "start": b.start.isoformat() if b.start else None,
                "end": b.end.isoformat() if b.end else None,
                "equipment": list(b.equipment),
                "status": b.status,
            }
            if b is not None
            else {}
        ),
    }


def booking_seen(state: Complaint, view: BookingView, at: datetime) -> Outcome | None:
    """Booking's news of the booking a complaint names (confirmed, moved, changed, cancelled): the
    complaint's room and equipment follow it, and a link not yet checked is checked (history entry);
    None when nothing changes."""
    if state.booking_id != view.booking_id or state.status in FINAL_STATUSES:
        return None
    how = state.booking_link
    if how == "given_unknown":
        same = view.customer_id is None or state.customer_id in (None, view.customer_id)
        how = "given" if same else "given_other_customer"
    new = replace(state, booking_link=how, room_id=view.room_id or state.room_id, equipment=view.equipment)
    if new == state:
        return None
    changes = {
        k: {"from": _plain(getattr(state, k)), "to": _plain(getattr(new, k))}
        for k in ("booking_link", "room_id", "equipment")
        if getattr(state, k) != getattr(new, k)
    }
    entry = HistoryEntry(
        at=at,
        actor="booking",
        action="complaint.booking_updated",
        from_status=state.status,
        to_status=state.status,
        data={"booking_id": view.booking_id, "status": view.status, **changes},
    )
    return Outcome(new, (entry,))


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


# -- the state table ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Transition:
    allowed_from: frozenset[str]
    to: str | None  # None: the status does not change


TRANSITIONS_TABLE: Mapping[str, Transition] = {
    "complaint.acknowledge": Transition(frozenset({REGISTERED}), ACKNOWLEDGED),
    "complaint.assign": Transition(OPEN_STATUSES, None),
    # from acknowledged: the investigation starts; while investigating: its findings are recorded
    "complaint.investigate": Transition(frozenset({ACKNOWLEDGED, INVESTIGATING}), INVESTIGATING),
    "complaint.propose_solution": Transition(frozenset({INVESTIGATING}), SOLUTION_PROPOSED),
    "complaint.start_execution": Transition(frozenset({SOLUTION_PROPOSED}), IN_PROGRESS),
    "complaint.resolve": Transition(frozenset({IN_PROGRESS}), RESOLVED),
    "complaint.close": Transition(frozenset({RESOLVED}), CLOSED),
    "complaint.reopen": Transition(frozenset({RESOLVED, CLOSED}), INVESTIGATING),
    "complaint.await_customer": Transition(WORKING_STATUSES, None),
    "complaint.withdraw": Transition(OPEN_STATUSES, WITHDRAWN),
    "complaint.confirm_satisfaction": Transition(frozenset({RESOLVED}), None),
    "complaint.note": Transition(frozenset(STATUSES), None),
    "complaint.plan": Transition(frozenset({SOLUTION_PROPOSED, IN_PROGRESS}), None),
    "complaint.action_done": Transition(frozenset({SOLUTION_PROPOSED, IN_PROGRESS}), None),
    "complaint.plan_agreement": Transition(frozenset({SOLUTION_PROPOSED, IN_PROGRESS}), None),
    "complaint.record_case": Transition(frozenset({CLOSED}), None),
}
FIRST_CONTACT_FROM = frozenset({REGISTERED, ACKNOWLEDGED})  # complaint.resolve with first_contact


def _ordered(statuses: frozenset[str]) -> str:
    return ", ".join(s for s in STATUSES if s in statuses)


def apply(state: Complaint, cmd: Command, policy: Policy, booking: BookingView | None = None) -> Outcome | Refusal:
    """The new state, its history entries, the events it causes (``complaint.status_changed``, clock
    transitions, the customer's notification...) and the due items that move; or why the command is
    refused (nothing changes).

    Acknowledging meets the formal-reply target, resolving the resolution target; waiting for the
    customer pauses the clocks that run, and working on the complaint again resumes them; reopening
    starts the resolution clock anew; withdrawing stops the clocks. Closing needs the customer's
    satisfaction, or a supervisor's override with a reason. ``booking``: complaints' view of the complaint's
    booking (the plan's re-runs of the meeting are booked from it: :mod:`.rerun`)."""
    transition = TRANSITIONS_TABLE.get(cmd.name)
    if transition is None:
        return Refusal(f"unknown command {cmd.name!r}; one of {', '.join(sorted(TRANSITIONS_TABLE))}")
    first_contact = cmd.name == "complaint.resolve" and bool(cmd.details.get("first_contact"))
    allowed = FIRST_CONTACT_FROM if first_contact else transition.allowed_from
    if state.status not in allowed:
        if state.status in FINAL_STATUSES:
            verb = "closed" if state.status == CLOSED else "withdrawn"
            hint = " (reopen it first)" if state.status == CLOSED else ""
            return Refusal(f"the complaint is {verb}; {cmd.name} needs it to be open{hint}")
        if transition.to == state.status:
            return Refusal(f"the complaint is already {state.status}")
        what = f"{cmd.name} with first_contact" if first_contact else cmd.name
        return Refusal(f"the complaint is {state.status}; {what} needs it to be {_ordered(allowed)}")

    draft = _Draft(state, state, policy, booking)
    draft.settle(cmd.at)  # what fell due before the command is recorded first, at its own time
    _actions_overdue(draft, cmd.at)  # so is an action that fell overdue, whatever the scheduler's lag
    data: dict[str, Any] = {k: v for k, v in cmd.details.items() if v is not None and v != [] and v != {}}
    decide = _DECISIONS.get(cmd.name, _step)
    refused = decide(draft, cmd, data)
    if refused is not None:
        return refused
    draft.assessed(state, cmd.actor)
    return draft.outcome()


def _entry(draft: _Draft, cmd: Command, from_status: str, data: Mapping[str, Any]) -> None:
    draft.entry(cmd.at, cmd.actor, cmd.name, from_status=from_status, note=cmd.note, data=data)


def _resume(draft: _Draft, at: datetime) -> None:
    """Working on the complaint again ends a wait for the customer."""
    for which in TARGETS:
        draft.move(which, RESUMED, at, reason="work resumed")


def _step(draft: _Draft, cmd: Command, data: dict[str, Any], **notice: Any) -> Refusal | None:
    """investigate, propose_solution, start_execution: the next status; working on the complaint
    again ends a wait for the customer."""
    before = draft.state.status
    to = TRANSITIONS_TABLE[cmd.name].to
    assert to is not None
    _resume(draft, cmd.at)
    draft.state = replace(draft.state, status=to)
    data["notified"] = draft.notify(PROGRESS_TEMPLATES[to], **notice)
    _entry(draft, cmd, before, data)
    draft.status_changed(before, cmd.actor)
    return None


FINDINGS = ("root_cause", "department", "evidence")


def _investigate(draft: _Draft, cmd: Command, data: dict[str, Any]) -> Refusal | None:
    """The investigation starts (from acknowledged) and/or records its findings: a root cause from the
    fixed list, the department responsible (the latest stand), evidence references (they accumulate)."""
    state = draft.state
    if state.status == INVESTIGATING and not any(k in data for k in FINDINGS):
        return Refusal(
            "the complaint is already investigating; complaint.investigate records findings: "
            "root_cause, department or evidence"
        )
    root_cause = data.get("root_cause")
    if root_cause is not None and root_cause not in ROOT_CAUSES:
        return Refusal(f"unknown root cause {root_cause!r}; one of {', '.join(ROOT_CAUSES)}")
    evidence = tuple(dict.fromkeys((*state.evidence, *data.get("evidence", ()))))
    draft.state = replace(
        state,
        root_cause=root_cause or state.root_cause,
        responsible_department=data.get("department") or state.responsible_department,
        evidence=evidence,
    )
    if state.status == ACKNOWLEDGED:
        return _step(draft, cmd, data)
    _resume(draft, cmd.at)
    _entry(draft, cmd, state.status, data)
    return None


def _plan_notice(state: Complaint) -> list[dict[str, Any]]:
    """The plan as the customer is told it: what will be done, by when (not who inside the desk)."""
    return [
        {k: v for k, v in a.to_json().items() if k in ("action_id", "remedy", "description", "amount", "due_at")}
        for a in state.actions
        if a.dropped_at is None
    ]


def _revise(draft: _Draft, cmd: Command, data: dict[str, Any]) -> Refusal | None:
    """The plan's actions added, replaced or dropped; the customer's agreement is asked anew."""
    merged = actions.merge(draft.state.actions, data.get("actions", ()), data.get("drop", ()), cmd.at)
    if isinstance(merged, str):
        return Refusal(merged)
    plan, changed = merged
    draft.state = replace(draft.state, actions=plan, plan_agreed=None, plan_agreed_at=None)
    if "actions" in data:
        data["actions"] = [a.to_json() for a in plan if a.action_id in changed and a.dropped_at is None]
    return None


def _propose(draft: _Draft, cmd: Command, data: dict[str, Any]) -> Refusal | None:
    """The solution is proposed with its plan: each action a remedy, an owner and a due time."""
    refused = _revise(draft, cmd, data)
    if refused is not None:
        return refused
    return _step(draft, cmd, data, actions=_plan_notice(draft.state) or None)


def _plan(draft: _Draft, cmd: Command, data: dict[str, Any]) -> Refusal | None:
    """The plan revised while it is proposed or carried out; the customer is told and asked anew."""
    if not data.get("actions") and not data.get("drop"):
        return Refusal("complaint.plan needs actions to add or revise, or action ids to drop")
    refused = _revise(draft, cmd, data)
    if refused is not None:
        return refused
    _resume(draft, cmd.at)
    data["notified"] = draft.notify(PLAN_REVISED_TEMPLATE, actions=_plan_notice(draft.state))
    _entry(draft, cmd, draft.state.status, data)
    return None


def _action_done(draft: _Draft, cmd: Command, data: dict[str, Any]) -> Refusal | None:
    """An action of the plan carried out (late if after its due time); the customer is told."""
    state = draft.state
    action_id = str(data.get("action_id"))
    found = state.action(action_id)
    if found is None:
        planned = ", ".join(a.action_id for a in state.actions) or "none"
        return Refusal(f"there is no action {action_id!r} in the plan (planned: {planned})")
    if found.done_at is not None:
        return Refusal(f"action {action_id} is already done")
    if found.dropped_at is not None:
        return Refusal(f"action {action_id} was dropped from the plan")
    done = replace(found, done_at=cmd.at, done_by=cmd.actor)
    draft.state = replace(state, actions=tuple(done if a is found else a for a in state.actions))
    data.update(remedy=found.remedy, owner=found.owner, due_at=found.due_at.isoformat(), late=cmd.at > found.due_at)
    _resume(draft, cmd.at)
    notice = {"action_id": action_id, "remedy": found.remedy, "description": found.description, "amount": found.amount}
    data["notified"] = draft.notify(ACTION_DONE_TEMPLATE, **notice)
    _entry(draft, cmd, state.status, data)
    return None


def _plan_agreement(draft: _Draft, cmd: Command, data: dict[str, Any]) -> Refusal | None:
    """The customer's answer to the plan, as an agent heard it (the customer spoke: a wait ends)."""
    state = draft.state
    if not any(a.dropped_at is None for a in state.actions):
        return Refusal("there is no plan to agree to (complaint.propose_solution or complaint.plan gives one)")
    agreed = bool(data.get("agreed", True))
    data["agreed"] = agreed
    draft.state = replace(state, plan_agreed=agreed, plan_agreed_at=cmd.at)
    _resume(draft, cmd.at)
    if agreed:
        _request_reruns(draft, cmd)
    _entry(draft, cmd, state.status, data)
    return None


def _request_reruns(draft: _Draft, cmd: Command) -> None:
    """The plan's re-runs of the meeting not yet requested: booking.requested for each (or the reason
    it cannot be), recorded on the action and in the history (before the command's own entry)."""
    s = draft.state
    customer = rerun.Customer(s.complaint_id, s.customer_id, s.reply_channel, s.reply_address, s.language, s.agent_id)
    made = rerun.requests(s.actions, customer, draft.booking, cmd.at)
    draft.state = replace(s, actions=made.actions)
    draft.events.extend(made.requests)
    for action, data in made.entries:
        draft.entry(cmd.at, cmd.actor, action, data=data)


def rerun_answered(
    state: Complaint, inquiry: str, outcome: str, details: Mapping[str, Any], at: datetime, policy: Policy
) -> Outcome | None:
    """Booking's answer to a re-run of the meeting (``outcome``: confirmed / rejected; ``details``: the
    new booking, or the reason and alternatives), recorded on the action and in the history; None when it
    changes nothing (heard before, or no action of the plan asked for it)."""
    found = rerun.answered(state.actions, inquiry, outcome, details)
    if found is None:
        return None
    plan, action, data = found
    draft = _Draft(state, replace(state, actions=plan), policy)
    draft.entry(at, rerun.ACTOR, action, data=data)
    return draft.outcome()


def _start_execution(draft: _Draft, cmd: Command, data: dict[str, Any]) -> Refusal | None:
    """The plan is carried out — not against the customer's stated disagreement."""
    if draft.state.plan_agreed is False:
        return Refusal(
            "the customer did not agree to the plan; revise it (complaint.plan) or record their agreement "
            "(complaint.plan_agreement)"
        )
    _request_reruns(draft, cmd)  # carried out without the customer's answer: the re-runs are booked now
    return _step(draft, cmd, data)


def _acknowledge(draft: _Draft, cmd: Command, data: dict[str, Any]) -> Refusal | None:
    """The formal reply: the acknowledgement target is met."""
    before = draft.state.status
    draft.move(ACKNOWLEDGE, MET, cmd.at, reason="acknowledged")
    draft.state = replace(draft.state, status=ACKNOWLEDGED, acknowledged_at=draft.state.acknowledged_at or cmd.at)
    data["notified"] = draft.notify(
        PROGRESS_TEMPLATES[ACKNOWLEDGED], resolve_due_at=draft.state.resolve_due_at.isoformat()
    )
    _entry(draft, cmd, before, data)
    draft.status_changed(before, cmd.actor)
    return None


def _assign(draft: _Draft, cmd: Command, data: dict[str, Any]) -> Refusal | None:
    """Set the handling agent; the same command may reclassify category and severity. A new severity
    moves the targets as if it had been known from the start (what already fell due stays recorded)."""
    state = draft.state
    if not cmd.agent_id:
        return Refusal("complaint.assign needs an agent_id")
    if cmd.category is not None and cmd.category not in CATEGORIES:
        return Refusal(f"unknown category {cmd.category!r}")
    if cmd.severity is not None and cmd.severity not in SEVERITIES:
        return Refusal(f"unknown severity {cmd.severity!r}")
    step = cmd.details.get("service_step")
    if step is not None and step not in SERVICE_STEPS:
        return Refusal(f"unknown service step {step!r}; one of {', '.join(SERVICE_STEPS)}")
    data.pop("service_step", None)
    new = state
    if step is not None and step != state.service_step:
        data["service_step"] = {"from": state.service_step, "to": step}
        new = replace(new, service_step=step)
    if cmd.agent_id != state.agent_id:
        data["agent_id"] = {"from": state.agent_id, "to": cmd.agent_id}
        new = replace(new, agent_id=cmd.agent_id)
    if cmd.category is not None and cmd.category != state.category:
        data["category"] = {"from": state.category, "to": cmd.category}
        new = replace(new, category=cmd.category)
    if cmd.severity is not None and cmd.severity != state.severity:
        data["severity"] = {"from": state.severity, "to": cmd.severity}
        new = replace(new, severity=cmd.severity, severity_reason=f"reassessed by {cmd.actor}")
    if new == state:
        return Refusal(f"the complaint is already assigned to {cmd.agent_id} as described")
    draft.state = new
    if new.severity != state.severity:
        draft.settle(cmd.at)  # the new targets may have passed already
        moved = draft.refresh_due()
        for column in ("acknowledge_due_at", "resolve_due_at"):
            if getattr(moved, column) != getattr(state, column):
                data[column] = {"from": getattr(state, column).isoformat(), "to": getattr(moved, column).isoformat()}
    _entry(draft, cmd, state.status, data)
    draft.status_changed(state.status, cmd.actor)
    return None


def _resolve(draft: _Draft, cmd: Command, data: dict[str, Any]) -> Refusal | None:
    """The resolution target is met (and in the first contact the formal reply with it); the customer is
    asked whether they are satisfied."""
    before = draft.state.status
    first_contact = bool(cmd.details.get("first_contact"))
    undone = [a for a in draft.state.actions if a.open]
    if undone:
        return Refusal(f"the plan's actions are not all done: {'; '.join(actions.describe(a) for a in undone)}")
    if first_contact:
        draft.move(ACKNOWLEDGE, MET, cmd.at, reason="resolved in the first contact")
    draft.move(RESOLVE, MET, cmd.at, reason="resolved")
    draft.state = replace(
        draft.state,
        status=RESOLVED,
        resolved_at=cmd.at,
        acknowledged_at=draft.state.acknowledged_at or cmd.at,
        first_contact=first_contact,
        satisfaction_score=None,
        satisfied_at=None,
        follow_ups=0,
    )
    data["notified"] = _ask_satisfaction(draft, attempt=1, resolution=cmd.details.get("resolution"))
    _entry(draft, cmd, before, data)
    draft.status_changed(before, cmd.actor, first_contact=first_contact)
    return None


def _ask_satisfaction(draft: _Draft, *, attempt: int, resolution: str | None = None) -> dict[str, Any] | None:
    s = draft.state
    survey = {"type": "complaint", "id": s.complaint_id, "agent_id": s.agent_id}
    template = SATISFACTION_TEMPLATE if attempt == 1 else REMINDER_TEMPLATE
    notified = draft.notify(template, survey=survey, resolution=resolution, attempt=attempt)
    if notified is not None:  # nobody is asked when there is no way to reach them
        draft.events.append(
            ComplaintSatisfactionRequested(
                complaint_id=s.complaint_id,
                attempt=attempt,
                channel=s.reply_channel,  # type: ignore[arg-type]
                customer_id=s.customer_id,
                agent_id=s.agent_id,
            )
        )
    return notified


def _close(draft: _Draft, cmd: Command, data: dict[str, Any]) -> Refusal | None:
    """Closing needs the customer's satisfaction, or a supervisor's (or manager's) override with a reason."""
    state = draft.state
    override = cmd.details.get("override_reason")
    if state.satisfied_at is None:
        if not override:
            return Refusal(
                "closing needs the customer's satisfaction (a survey score of 3 or more, or "
                "complaint.confirm_satisfaction) or a supervisor's override_reason"
            )
        if cmd.actor_role not in (SUPERVISOR, MANAGER):
            who = f"listed as {cmd.actor_role}" if cmd.actor_role else "not in the staff directory"
            return Refusal(
                f"only a supervisor or manager may close without the customer's satisfaction; {cmd.actor} is {who}"
            )
    else:
        override = None  # satisfied: nothing to override
        data.pop("override_reason", None)
    data["satisfaction_score"] = state.satisfaction_score
    draft.state = replace(state, status=CLOSED, closed_at=cmd.at)
    if cmd.details.get("case"):
        draft.case = make_case(draft.state, cmd.details["case"], cmd.actor, cmd.at)
    data["notified"] = draft.notify(PROGRESS_TEMPLATES[CLOSED])
    _entry(draft, cmd, state.status, data)
    draft.status_changed(state.status, cmd.actor)
    draft.events.append(
        ComplaintClosed(
            complaint_id=state.complaint_id,
            actor=cmd.actor,
            category=state.category,  # type: ignore[arg-type]
            override_reason=override,
        )
    )
    return None


def _record_case(draft: _Draft, cmd: Command, data: dict[str, Any]) -> Refusal | None:
    """The closed complaint written up (again) for the case library."""
    if not cmd.details.get("case"):
        return Refusal("complaint.record_case needs the case (problem, cause, solution, outcome, lesson)")
    draft.case = make_case(draft.state, cmd.details["case"], cmd.actor, cmd.at)
    _entry(draft, cmd, draft.state.status, data)
    return None


def _reopen_now(
    draft: _Draft, at: datetime, actor: str, action: str, *, note: str | None, data: dict[str, Any]
) -> None:
    """Back under investigation until the customer is satisfied: the resolution clock starts anew."""
    state = draft.state
    data["previous_resolved_at"] = state.resolved_at.isoformat() if state.resolved_at else None
    data["previous_closed_at"] = state.closed_at.isoformat() if state.closed_at else None
    draft.move(RESOLVE, STARTED, at, reason=data.get("reason") or "reopened")
    draft.state = replace(
        draft.state,
        status=INVESTIGATING,
        resolved_at=None,
        closed_at=None,
        reopened_at=at,
        satisfied_at=None,
        satisfaction_score=None,
        follow_ups=0,
    )
    due = draft.refresh_due().resolve_due_at
    data["resolve_due_at"] = {"from": state.resolve_due_at.isoformat(), "to": due.isoformat()}
    data["notified"] = draft.notify(REOPENED_TEMPLATE, resolve_due_at=due.isoformat())
    draft.entry(at, actor, action, from_status=state.status, to_status=INVESTIGATING, note=note, data=data)
    draft.status_changed(state.status, actor)


def _reopen(draft: _Draft, cmd: Command, data: dict[str, Any]) -> Refusal | None:
    _reopen_now(draft, cmd.at, cmd.actor, cmd.name, note=cmd.note, data=data)
    return None


def _await_customer(draft: _Draft, cmd: Command, data: dict[str, Any]) -> Refusal | None:
    """Waiting for the customer: the clocks that run pause (they resume when the customer writes)."""
    paused = [which for which in TARGETS if draft.move(which, PAUSED, cmd.at, reason="awaiting the customer")]
    if not paused:
        return Refusal("the complaint is already waiting for the customer")
    data["paused"] = paused
    data["notified"] = draft.notify(AWAITING_TEMPLATE, question=cmd.details.get("question"))
    _entry(draft, cmd, draft.state.status, data)
    return None


def _withdraw(draft: _Draft, cmd: Command, data: dict[str, Any]) -> Refusal | None:
    """The customer withdraws: the clocks that run (or wait) stop; nothing is breached any more."""
    before = draft.state.status
    for which in TARGETS:
        draft.move(which, STOPPED, cmd.at, reason="withdrawn")
    draft.state = replace(draft.state, status=WITHDRAWN, withdrawn_at=cmd.at)
    data["notified"] = draft.notify(PROGRESS_TEMPLATES[WITHDRAWN])
    _entry(draft, cmd, before, data)
    draft.status_changed(before, cmd.actor)
    return None


def _confirm_satisfaction(draft: _Draft, cmd: Command, data: dict[str, Any]) -> Refusal | None:
    """An agent records what the customer said: satisfied (a score of 3-5, or none) lets the complaint
    close; a score of 1-2 reopens it at once."""
    _satisfaction(draft, cmd.details.get("score"), source="agent", actor=cmd.actor, at=cmd.at, note=cmd.note)
    return None


def _note(draft: _Draft, cmd: Command, data: dict[str, Any]) -> Refusal | None:
    """A note or a call record in the history; nothing else changes."""
    if data.get("kind", "note") == "note" and not cmd.note:
        return Refusal("complaint.note needs a note (or kind call for a call record)")
    _entry(draft, cmd, draft.state.status, data)
    return None


_DECISIONS = {
    "complaint.acknowledge": _acknowledge,
    "complaint.investigate": _investigate,
    "complaint.propose_solution": _propose,
    "complaint.start_execution": _start_execution,
    "complaint.plan": _plan,
    "complaint.action_done": _action_done,
    "complaint.plan_agreement": _plan_agreement,
    "complaint.record_case": _record_case,
    "complaint.assign": _assign,
    "complaint.resolve": _resolve,
    "complaint.close": _close,
    "complaint.reopen": _reopen,
    "complaint.await_customer": _await_customer,
    "complaint.withdraw": _withdraw,
    "complaint.confirm_satisfaction": _confirm_satisfaction,
    "complaint.note": _note,
}


# -- the customer -------------------------------------------------------------------------------
def concerns(state: Complaint, inquiry: InquiryReceived, policy: Policy) -> bool:
    """Whether the customer's message concerns this open complaint of theirs: it came on the complaint's
    conversation, or (under the same customer id, on any conversation) the complaint waits for the
    customer or has a breached target whose escalation the message re-arms."""
    if state.status not in OPEN_STATUSES:
        return False
    if state.conversation_id == inquiry.conversation_id:
        return True
    for which in TARGETS:
        reading = clock.read(state.clock, which, policy.sla.rules(which, state.severity))
        if reading.state == clock.WAITING or (reading.running and reading.breached):
            return True
    return False


def customer_wrote(state: Complaint, inquiry: InquiryReceived, *, now: datetime, policy: Policy) -> Outcome:
    """The customer wrote again (on the complaint's conversation, or under its customer id): the message
    is in the history, the clocks waiting for the customer resume, and the escalation of a breached
    target is re-armed."""
    at = min(inquiry.received_at.astimezone(UTC), now)
    draft = _Draft(state, state, policy)
    draft.settle(now)
    draft.entry(
        at,
        CUSTOMER,
        "customer.message",
        note=inquiry.text,
        data={
            "inquiry_id": inquiry.inquiry_id,
            "channel": inquiry.channel,
            "conversation_id": inquiry.conversation_id,
            "intent": inquiry.intent,
            "subject": inquiry.subject,
            "received_at": inquiry.received_at.isoformat(),
        },
    )
    if state.status in OPEN_STATUSES:
        for which in TARGETS:
            # a clock resumes at the message, or when the wait began if the message is older
            draft.move(which, RESUMED, at, reason="customer wrote")
            reading = clock.read(draft.state.clock, which, draft.rules(which))
            if reading.running and reading.breached:
                rearmed = max(at, _last_at(draft.state, which))
                draft.record([ClockEvent(which, REARMED, rearmed, reading.cycle, reason="customer wrote")])
    return draft.outcome()


def _last_at(state: Complaint, which: str) -> datetime:
    events = clock.cycle(state.clock, which)
    return events[-1].at if events else state.registered_at


def satisfaction(
    state: Complaint,
    score: int,
    *,
    now: datetime,
    policy: Policy,
    feedback: Mapping[str, Any] | None = None,
) -> Outcome:
    """A survey answer about the complaint (``feedback.received``): recorded; a score of 1-2 reopens a
    resolved or closed complaint at once, 3-5 lets a resolved one close."""
    draft = _Draft(state, state, policy)
    draft.settle(now)
    _satisfaction(draft, score, source="survey", actor=CUSTOMER, at=now, note=None, data=dict(feedback or {}))
    return draft.outcome()


def _satisfaction(
    draft: _Draft,
    score: int | None,
    *,
    source: str,
    actor: str,
    at: datetime,
    note: str | None,
    data: dict[str, Any] | None = None,
) -> None:
    state = draft.state
    satisfied = score is None or score >= SATISFIED_FROM
    data = {**(data or {}), "score": score, "satisfied": satisfied, "source": source}
    action = "complaint.confirm_satisfaction" if source == "agent" else "complaint.satisfaction"
    draft.events.append(
        ComplaintSatisfactionRecorded(
            complaint_id=state.complaint_id,
            satisfied=satisfied,
            score=score,
            source=source,  # type: ignore[arg-type]
            actor=actor,
            agent_id=state.agent_id,
            category=state.category,  # type: ignore[arg-type]
        )
    )
    if satisfied and state.status == RESOLVED:
        draft.state = replace(state, satisfied_at=at, satisfaction_score=score)
    draft.entry(at, actor, action, note=note, data=data)
    if not satisfied and state.status in (RESOLVED, CLOSED):
        _reopen_now(
            draft,
            at,
            actor,
            "complaint.reopen",
            note=None,
            data={"reason": f"the customer is not satisfied (score {score})", "source": source},
        )


# -- the clock's due items ------------------------------------------------------------------------
def fire(
    state: Complaint, kind: str, now: datetime, policy: Policy, directory: Mapping[str, Staff] | None = None
) -> Outcome:
    """A due item of the complaint fell due at ``now``: the clocks are brought up to ``now`` (a warning
    or a breach recorded at the instant it fell due), escalation steps due by now are taken (each
    naming who must act), a satisfaction follow-up is sent (or, after the last, the request declared
    unanswered). The state decides, not the item: an item that no longer applies changes nothing."""
    draft = _Draft(state, state, policy)
    if state.status in FINAL_STATUSES:
        return draft.outcome()
    draft.settle(now)
    for which, escalation_kind in ESCALATION_KINDS.items():
        if kind == escalation_kind:
            _escalate(draft, which, now, directory or {})
    if kind == FOLLOW_UP:
        _follow_up(draft, now)
    if kind == ACTION_DUE:
        _actions_overdue(draft, now)
    if kind == ACTION_REMINDER_DUE:
        _action_reminders(draft, now)
    return draft.outcome()


def _actions_overdue(draft: _Draft, now: datetime) -> None:
    """Each open action whose due time passed falls overdue, once (recorded at its due time)."""
    s = draft.state
    overdue = [a for a in s.actions if a.open and a.overdue_at is None and a.due_at <= now]
    if not overdue:
        return
    late = {a.action_id: replace(a, overdue_at=a.due_at) for a in overdue}
    draft.state = replace(s, actions=tuple(late.get(a.action_id, a) for a in s.actions))
    for a in sorted(overdue, key=lambda a: (a.due_at, a.action_id)):
        draft.events.append(
            ComplaintActionOverdue(
                complaint_id=s.complaint_id,
                action_id=a.action_id,
                remedy=a.remedy,  # type: ignore[arg-type]
                owner=a.owner,
                due_at=a.due_at,
                agent_id=s.agent_id,
                severity=s.severity,  # type: ignore[arg-type]
            )
        )
        draft.entry(a.due_at, SLA_ACTOR, "complaint.action_overdue", data={"action_id": a.action_id, "owner": a.owner})


def _action_reminders(draft: _Draft, now: datetime) -> None:
    """The owner of each overdue action whose reminder is due is reminded (one reminder per action at a
    time; the next is planned from it)."""
    s = draft.state
    policy = draft.policy.actions
    due = {a.action_id: at for a in s.actions if (at := a.next_reminder(policy)) is not None and at <= now}
    if not due:
        return
    draft.state = replace(
        s, actions=tuple(replace(a, reminders=a.reminders + 1) if a.action_id in due else a for a in s.actions)
    )
    for a in s.actions:
        if a.action_id not in due:
            continue
        draft.events.append(
            ComplaintActionReminder(
                complaint_id=s.complaint_id,
                action_id=a.action_id,
                remedy=a.remedy,  # type: ignore[arg-type]
                owner=a.owner,
                due_at=a.due_at,
                reminder=a.reminders + 1,
                agent_id=s.agent_id,
            )
        )
        draft.entry(
            due[a.action_id],
            SLA_ACTOR,
            "complaint.action_reminder",
            data={"action_id": a.action_id, "owner": a.owner, "reminder": a.reminders + 1},
        )


def _escalate(draft: _Draft, which: str, now: datetime, directory: Mapping[str, Staff]) -> None:
    while True:
        events = clock.cycle(draft.state.clock, which)
        step = escalation.next_step(events, draft.state.severity, draft.policy.escalation)
        if step is None or step.at > now:
            return
        who = escalation.holder(step.level, draft.state.agent_id, directory)
        breach_at = next(e.at for e in events if e.transition == BREACHED)
        draft.record([ClockEvent(which, ESCALATED, step.at, events[0].cycle, level=step.level, who=who)])
        reason = f"{which} overdue since {breach_at.isoformat()}"
        draft.events.append(
            ComplaintEscalated(
                complaint_id=draft.state.complaint_id,
                reason=reason,
                level=step.level,
                which=which,  # type: ignore[arg-type]
                role=step.role,  # type: ignore[arg-type]
                who=who,
                due_at=breach_at,
            )
        )
        draft.entry(
            step.at,
            SLA_ACTOR,
            "complaint.escalated",
            data={"which": which, "level": step.level, "role": step.role, "who": who, "reason": reason},
        )


def _follow_up(draft: _Draft, now: datetime) -> None:
    s = draft.state
    follow_up = draft.policy.follow_up
    if s.status != RESOLVED or s.satisfied_at is not None or s.resolved_at is None or s.follow_ups > follow_up.count:
        return
    due = s.resolved_at + follow_up.interval * (s.follow_ups + 1)
    if due > now:
        return
    draft.state = replace(s, follow_ups=s.follow_ups + 1)
    if s.follow_ups < follow_up.count:
        attempt = s.follow_ups + 2  # the request at the resolution was the first
        notified = _ask_satisfaction(draft, attempt=attempt)
        draft.entry(due, SLA_ACTOR, "complaint.satisfaction_reminder", data={"attempt": attempt, "notified": notified})
        return
    draft.events.append(
        ComplaintSatisfactionUnanswered(
            complaint_id=s.complaint_id, requests=s.follow_ups + 1, resolved_at=s.resolved_at, agent_id=s.agent_id
        )
    )
    draft.entry(
        due,
        SLA_ACTOR,
        "complaint.satisfaction_unanswered",
        data={"requests": s.follow_ups + 1, "next": "an agent records the customer's answer, or a supervisor closes"},
    )


# -- handover -----------------------------------------------------------------------------------
def handover(
    states: Sequence[Complaint],
    *,
    from_agent: str,
    to_agent: str,
    actor: str,
    at: datetime,
    policy: Policy,
    reason: str | None = None,
    to_staff: Staff | None = None,
) -> list[Outcome] | Refusal:
    """Every open complaint of ``from_agent`` goes to ``to_agent`` (``complaint.status_changed`` with the
    new agent for each, as an assignment)."""
    if from_agent == to_agent:
        return Refusal("a handover needs two different agents")
    if to_staff is not None and not to_staff.active:
        return Refusal(f"{to_agent} is not active in the staff directory")
    mine = [s for s in states if s.agent_id == from_agent and s.status in OPEN_STATUSES]
    if not mine:
        return Refusal(f"{from_agent} has no open complaints")
    outcomes = []
    for state in mine:
        draft = _Draft(state, state, policy)
        draft.settle(at)
        draft.state = replace(draft.state, agent_id=to_agent)
        draft.entry(
            at,
            actor,
            "complaint.handover",
            data={"agent_id": {"from": from_agent, "to": to_agent}, "reason": reason},
        )
        draft.status_changed(state.status, actor)
        outcomes.append(draft.outcome())
    return outcomes


# -- what an agent sees ---------------------------------------------------------------------------
def sla(state: Complaint, policy: Policy, now: datetime) -> dict[str, dict[str, Any]]:
    """Each target's clock at ``now``: state, cycle, counted elapsed time, target, due times."""
    out: dict[str, dict[str, Any]] = {}
    for which in TARGETS:
        rules = policy.sla.rules(which, state.severity)
        r = clock.read(state.clock, which, rules, now)
        out[which] = {
            "state": r.state,
            "cycle": r.cycle,
            "elapsed_seconds": r.elapsed.total_seconds(),
            "target_seconds": rules.within.total_seconds(),
            "warned": r.warned,
            "breached": r.breached,
            "warning_at": r.warning_at.isoformat() if r.warning_at else None,
            "due_at": r.breach_at.isoformat() if r.breach_at else None,
            "business_hours": rules.calendar is not None,
        }
    return out


# the most severe first (the contract lists severities from the least severe)
SEVERITY_RANK: Mapping[str, int] = {s: n for n, s in enumerate(reversed(SEVERITIES))}


def standing(state: Complaint, policy: Policy, now: datetime) -> tuple[datetime | None, bool]:
    """Where the complaint stands on its clocks at ``now`` (an agent's worklist): the next due time of a
    running target (None: no clock runs — waiting for the customer, met, closed), and whether it is
    overdue (a target of the current cycle passed unmet, recorded or not yet)."""
    if state.status in FINAL_STATUSES:
        return None, False
    due: list[datetime] = []
    overdue = False
    for which in TARGETS:
        r = clock.read(state.clock, which, policy.sla.rules(which, state.severity), now)
        if r.state not in (clock.RUNNING, clock.WAITING):
            continue
        passed = r.running and r.breach_at is not None and r.breach_at <= now
        overdue = overdue or r.breached or passed
        if r.running and r.breach_at is not None:
            due.append(r.breach_at)
    return (min(due) if due else None), overdue
