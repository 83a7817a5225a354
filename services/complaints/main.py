"""The complaints service: the complaint process on the clock, until the customer is satisfied.

Wiring only (the rules are in ``domain/``, the handlers in ``handlers.py``, the SQL in ``store.py``).
Consumes ``inquiry.received`` (complaints, and the customer writing again), ``feedback.received``
(satisfaction surveys about a complaint), ``booking.confirmed`` / ``cancelled`` / ``rescheduled`` /
``updated`` (its own view of the bookings; ``booking.confirmed`` and ``booking.rejected`` also answer a
re-run of the meeting a complaint asked for), ``complaint.*`` and ``staff.*`` commands; fires the due items
(warnings, breaches, escalation steps, satisfaction follow-ups, overdue solution actions and their
reminders); emits ``complaint.registered`` / ``status_changed`` / ``closed`` / ``clock`` / ``sla_breached``
/ ``escalated`` / ``satisfaction_*`` / ``action_overdue`` / ``action_reminder``, ``notification.requested``
to the customer, ``booking.requested`` (a plan's re-run of the meeting, once the customer agrees) and
``command.rejected``.
HTTP on port 8003: every command (``POST /commands/{name}``, the same handler and unit of work as from the
queue), agents' lists (mine, overdue, due within N minutes, by severity, customer, booking; by severity
and due time), complaints with their full history, their SLA log, their escalations and their clocks;
the case library (``GET /cases``) and the monthly review of recurring problems (``GET /review``).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from shared.commands_http import serve_commands
from shared.contract.commands import (
    ComplaintAcknowledge,
    ComplaintActionDone,
    ComplaintAssign,
    ComplaintAwaitCustomer,
    ComplaintClose,
    ComplaintConfirmSatisfaction,
    ComplaintHandover,
    ComplaintInvestigate,
    ComplaintNote,
    ComplaintPlan,
    ComplaintPlanAgreement,
    ComplaintProposeSolution,
    ComplaintRecordCase,
    ComplaintReopen,
    ComplaintResolve,
    ComplaintStartExecution,
    ComplaintWithdraw,
    StaffUpsert,
)
from shared.contract.events import (
    BookingCancelled,
    BookingConfirmed,
    BookingRejected,
    BookingRequested,
    BookingRescheduled,
    BookingUpdated,
    CommandRejected,
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
    FeedbackReceived,
    InquiryReceived,
    MessageRejected,
    NotificationRequested,
)
from shared.http import error
from shared.service import Service
from shared.topology import COMPLAINTS_COMMANDS, COMPLAINTS_EVENTS

from . import domain, handlers
from .settings import ComplaintsSettings
from .store import ComplaintFilter, ComplaintsStore

settings = ComplaintsSettings()
svc = Service(
    "complaints",
    description="Complaints: registration, the SLA clock (pauses, warnings, breaches, escalation), the lifecycle "
    "until the customer is satisfied, full history.",
    settings=settings,
    store=ComplaintsStore,
    policy=settings.policy(),
)
svc.produces(
    ComplaintRegistered,
    ComplaintStatusChanged,
    ComplaintAssessed,
    ComplaintClosed,
    ComplaintClock,
    ComplaintSlaBreached,
    ComplaintEscalated,
    ComplaintSatisfactionRequested,
    ComplaintSatisfactionRecorded,
    ComplaintSatisfactionUnanswered,
    ComplaintActionOverdue,
    ComplaintActionReminder,
    NotificationRequested,
    BookingRequested,
    CommandRejected,
    MessageRejected,
)
app = svc.app

svc.on_events(
    COMPLAINTS_EVENTS,
    {
        InquiryReceived: handlers.inquiry_received,
        FeedbackReceived: handlers.feedback_received,
        # complaints' own view of the bookings
        BookingConfirmed: handlers.booking_news,
        BookingCancelled: handlers.booking_news,
        BookingRescheduled: handlers.booking_news,
        BookingUpdated: handlers.booking_news,
        # the answer to a re-run of the meeting (booking.confirmed: also in booking_news)
        BookingRejected: handlers.booking_rejected,
    },
)
svc.on_commands(
    COMPLAINTS_COMMANDS,
    {
        ComplaintAcknowledge: handlers.lifecycle,
        ComplaintAssign: handlers.lifecycle,
        ComplaintInvestigate: handlers.lifecycle,
        ComplaintProposeSolution: handlers.lifecycle,
        ComplaintStartExecution: handlers.lifecycle,
        ComplaintResolve: handlers.lifecycle,
        ComplaintClose: handlers.lifecycle,
        ComplaintReopen: handlers.lifecycle,
        ComplaintAwaitCustomer: handlers.lifecycle,
        ComplaintWithdraw: handlers.lifecycle,
        ComplaintConfirmSatisfaction: handlers.lifecycle,
        ComplaintNote: handlers.lifecycle,
        ComplaintPlan: handlers.lifecycle,
        ComplaintActionDone: handlers.lifecycle,
        ComplaintPlanAgreement: handlers.lifecycle,
        ComplaintRecordCase: handlers.lifecycle,
        ComplaintHandover: handlers.handover,
        StaffUpsert: handlers.staff_upsert,
    },
)
svc.on_due(dict.fromkeys(domain.ALL_DUE_KINDS, handlers.clock_due))


# -- HTTP ---------------------------------------------------------------------------------------
MAX_LIST = 500


def _json(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dict):
        return {k: _json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json(v) for v in value]
    return value


# a list is ordered in memory (the clocks are read, not stored): it looks at this many complaints at most
MAX_SCAN = 5000
_TRUE, _FALSE = ("true", "1", "yes"), ("false", "0", "no", "")


def _filter(request: Request) -> tuple[ComplaintFilter, bool, timedelta | None, int]:
    """What GET /complaints asks for: the filter, overdue only, due within, the limit (ValueError: why not)."""
    q = request.query_params
    status = q.get("status") or None
    if status is not None and status != "all" and status not in domain.STATUSES:
        raise ValueError(f"unknown status {status!r}; one of all, {', '.join(domain.STATUSES)}")
    severity = q.get("severity") or None
    if severity is not None and severity not in domain.SEVERITIES:
        raise ValueError(f"unknown severity {severity!r}; one of {', '.join(domain.SEVERITIES)}")
    step = q.get("service_step") or None
    if step is not None and step not in domain.SERVICE_STEPS:
        raise ValueError(f"unknown service step {step!r}; one of {', '.join(domain.SERVICE_STEPS)}")
    overdue = q.get("overdue", "").lower()
    if overdue not in _TRUE + _FALSE:
        raise ValueError("overdue is true or false")
    within: timedelta | None = None
    if q.get("due_within"):
        try:
            minutes = int(q["due_within"])
        except ValueError:
            raise ValueError("due_within is a number of minutes") from None
        if minutes < 0:
            raise ValueError("due_within is a number of minutes")
        within = timedelta(minutes=minutes)
    try:
        limit = int(q.get("limit", "100"))
    except ValueError:
        raise ValueError("limit must be an integer") from None
    if not 1 <= limit <= MAX_LIST:
        raise ValueError(f"limit must be between 1 and {MAX_LIST}")
    statuses = None if status is None else domain.STATUSES if status == "all" else (status,)
    match = ComplaintFilter(
        statuses=statuses,
        agent_id=q.get("assignee") or None,
        severity=severity,
        customer_id=q.get("customer_id") or None,
        booking_id=q.get("booking_id") or None,
        service_step=step,
        room_id=q.get("room_id") or None,
    )
    return match, overdue in _TRUE, within, limit


async def list_complaints(request: Request) -> JSONResponse:
    """An agent's list: open complaints (``status``: those in it, ``all``: any), ``assignee``,
    ``severity``, ``customer_id``, ``booking_id``, ``service_step``, ``room_id``, ``overdue=true`` (a target
    passed unmet), ``due_within`` (minutes: a running target falls due by then, overdue included); the most severe
    first, then the soonest due (none last), then the oldest. Each with ``due_at`` and ``overdue``."""
    try:
        match, overdue_only, within, limit = _filter(request)
    except ValueError as exc:
        return error(400, str(exc))
    now = svc.clock.now()
    async with svc.sessions() as conn:
        found = await ComplaintsStore(conn).worklist(match, cap=MAX_SCAN)
    items = []
    for state, row in found:
        due_at, overdue = domain.standing(state, svc.policy, now)
        if overdue_only and not overdue:
            continue
        if within is not None and not (overdue or (due_at is not None and due_at <= now + within)):
            continue
        items.append((state, {**row, "due_at": due_at, "overdue": overdue}))
    never = datetime.max.replace(tzinfo=now.tzinfo)
    items.sort(
        key=lambda item: (
            domain.SEVERITY_RANK[item[0].severity],
            item[1]["due_at"] or never,
            item[0].registered_at,
            item[0].complaint_id,
        )
    )
    return JSONResponse(_json([row for _, row in items[:limit]]))


async def get_complaint(request: Request) -> JSONResponse:
    """One complaint: its state, full history, SLA log (``clock``) and each target's clock now (``sla``)."""
    complaint_id = request.path_params["complaint_id"]
    async with svc.sessions() as conn:
        store = ComplaintsStore(conn)
        found = await store.details(complaint_id)
        state = await store.get(complaint_id) if found is not None else None
    if found is None or state is None:
        return error(404, "no such complaint")
    now = svc.clock.now()
    found["sla"] = domain.sla(state, svc.policy, now)
    found["escalations"] = [e for e in found["clock"] if e["transition"] in (domain.ESCALATED, domain.REARMED)]
    found["due_at"], found["overdue"] = domain.standing(state, svc.policy, now)
    return JSONResponse(_json(found))


async def find_cases(request: Request) -> JSONResponse:
    """The case library: ``q`` (free text, every word must occur; Traditional and Simplified Chinese find
    each other, English as it is), ``category``, ``root_cause``, ``service_step``, ``room`` (room id);
    the latest closed first."""
    q = request.query_params
    labels = {
        "category": q.get("category") or None,
        "root_cause": q.get("root_cause") or None,
        "service_step": q.get("service_step") or None,
        "room_id": q.get("room") or None,
    }
    for name, known in (
        ("category", domain.CATEGORIES),
        ("root_cause", domain.ROOT_CAUSES),
        ("service_step", domain.SERVICE_STEPS),
    ):
        if labels[name] is not None and labels[name] not in known:
            return error(400, f"unknown {name} {labels[name]!r}; one of {', '.join(known)}")
    try:
        limit = int(q.get("limit", "50"))
    except ValueError:
        return error(400, "limit must be an integer")
    if not 1 <= limit <= MAX_LIST:
        return error(400, f"limit must be between 1 and {MAX_LIST}")
    async with svc.sessions() as conn:
        found = await ComplaintsStore(conn).find_cases(domain.terms(q.get("q", "")), labels, limit=limit)
    return JSONResponse(_json(found))


async def review(request: Request) -> JSONResponse:
    """The monthly review of recurring problems: ``month`` (YYYY-MM, venue time; default this month)'s
    complaints by category × root cause × room × service step, the groups seen ``min`` (2) times or more."""
    tz = settings.tz
    month = request.query_params.get("month") or svc.clock.now().astimezone(tz).strftime("%Y-%m")
    try:
        start, end = domain.month_bounds(month, tz)
        at_least = int(request.query_params.get("min", str(domain.RECURRING_FROM)))
    except ValueError as exc:
        return error(400, str(exc))
    if at_least < 1:
        return error(400, "min must be 1 or more")
    async with svc.sessions() as conn:
        rows = await ComplaintsStore(conn).registered_between(start, end)
    body = {"month": month, "complaints": len(rows), "recurring": domain.recurring(rows, at_least)}
    return JSONResponse(_json(body))


svc.route("/complaints", list_complaints, protected=True)
svc.route("/complaints/{complaint_id}", get_complaint, protected=True)
serve_commands(svc)  # POST /commands/{name}: every complaint command and staff.upsert (shared/commands_http.py)
svc.route("/cases", find_cases, protected=True)
svc.route("/review", review, protected=True)
