"""The complaints service: the complaint process on the clock, until the customer is satisfied.

Wiring only (the rules are in ``domain/``, the handlers in ``handlers.py``, the SQL in ``store.py``).
Consumes ``inquiry.received`` (complaints, and the customer writing again), ``feedback.received``
(satisfaction surveys about a complaint), ``complaint.*`` and ``staff.*`` commands; fires the clock's
due items (warnings, breaches, escalation steps, satisfaction follow-ups); emits
``complaint.registered`` / ``status_changed`` / ``closed`` / ``clock`` / ``sla_breached`` /
``escalated`` / ``satisfaction_*``, ``notification.requested`` to the customer and ``command.rejected``.
HTTP on port 8003: complaints with their full history, their SLA log and their clocks.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from shared.contract.commands import (
    ComplaintAcknowledge,
    ComplaintAssign,
    ComplaintAwaitCustomer,
    ComplaintClose,
    ComplaintConfirmSatisfaction,
    ComplaintHandover,
    ComplaintInvestigate,
    ComplaintNote,
    ComplaintProposeSolution,
    ComplaintReopen,
    ComplaintResolve,
    ComplaintStartExecution,
    ComplaintWithdraw,
    StaffUpsert,
)
from shared.contract.events import (
    CommandRejected,
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
from .store import ComplaintsStore

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
    ComplaintClosed,
    ComplaintClock,
    ComplaintSlaBreached,
    ComplaintEscalated,
    ComplaintSatisfactionRequested,
    ComplaintSatisfactionRecorded,
    ComplaintSatisfactionUnanswered,
    NotificationRequested,
    CommandRejected,
    MessageRejected,
)
app = svc.app

svc.on_events(
    COMPLAINTS_EVENTS, {InquiryReceived: handlers.inquiry_received, FeedbackReceived: handlers.feedback_received}
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


async def list_complaints(request: Request) -> JSONResponse:
    status = request.query_params.get("status") or None
    if status is not None and status not in domain.STATUSES:
        return error(400, f"unknown status {status!r}; one of {', '.join(domain.STATUSES)}")
    try:
        limit = int(request.query_params.get("limit", "100"))
    except ValueError:
        return error(400, "limit must be an integer")
    if not 1 <= limit <= MAX_LIST:
        return error(400, f"limit must be between 1 and {MAX_LIST}")
    async with svc.sessions() as conn:
        rows = await ComplaintsStore(conn).listing(status=status, limit=limit)
    return JSONResponse(_json(rows))


async def get_complaint(request: Request) -> JSONResponse:
    """One complaint: its state, full history, SLA log (``clock``) and each target's clock now (``sla``)."""
    complaint_id = request.path_params["complaint_id"]
    async with svc.sessions() as conn:
        store = ComplaintsStore(conn)
        found = await store.details(complaint_id)
        state = await store.get(complaint_id) if found is not None else None
    if found is None or state is None:
        return error(404, "no such complaint")
    found["sla"] = domain.sla(state, svc.policy, svc.clock.now())
    return JSONResponse(_json(found))


svc.route("/complaints", list_complaints, protected=True)
svc.route("/complaints/{complaint_id}", get_complaint, protected=True)
