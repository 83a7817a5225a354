"""The complaints service: registration, classification, SLA deadlines and the complaint lifecycle.

Wiring only (the rules are in ``domain.py``, the handlers in ``handlers.py``, the SQL in
``store.py``). Consumes ``inquiry.received`` events (those whose intent is ``complaint``) and
``complaint.*`` commands, fires the ``complaint.acknowledge_due`` / ``complaint.resolve_due``
deadlines; emits ``complaint.registered`` / ``complaint.status_changed`` / ``complaint.closed`` /
``complaint.sla_breached``, the acknowledgement ``notification.requested`` and ``command.rejected``.
HTTP on port 8003: complaints with their full history.
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
    ComplaintClose,
    ComplaintInvestigate,
    ComplaintProposeSolution,
    ComplaintReopen,
    ComplaintResolve,
    ComplaintStartExecution,
)
from shared.contract.events import (
    CommandRejected,
    ComplaintClosed,
    ComplaintRegistered,
    ComplaintSlaBreached,
    ComplaintStatusChanged,
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
    description="Complaints: registration, SLA deadlines, lifecycle and full history.",
    settings=settings,
    store=ComplaintsStore,
    policy=settings.sla_policy(),
)
svc.produces(
    ComplaintRegistered,
    ComplaintStatusChanged,
    ComplaintClosed,
    ComplaintSlaBreached,
    NotificationRequested,
    CommandRejected,
    MessageRejected,
)
app = svc.app

svc.on_events(COMPLAINTS_EVENTS, {InquiryReceived: handlers.inquiry_received})
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
    },
)
svc.on_due({domain.ACKNOWLEDGE_DUE: handlers.acknowledge_due, domain.RESOLVE_DUE: handlers.resolve_due})


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
    async with svc.sessions() as conn:
        found = await ComplaintsStore(conn).details(request.path_params["complaint_id"])
    if found is None:
        return error(404, "no such complaint")
    return JSONResponse(_json(found))


svc.route("/complaints", list_complaints, protected=True)
svc.route("/complaints/{complaint_id}", get_complaint, protected=True)
