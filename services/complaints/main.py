"""The complaints service: registration, classification, deadlines and the complaint lifecycle.

Consumes ``inquiry.received`` events (those whose intent is ``complaint``) and ``complaint.*``
commands; emits ``complaint.registered`` / ``complaint.status_changed`` / ``complaint.closed``, the
acknowledgement ``notification.requested`` and ``command.rejected``. HTTP on port 8003: complaints
with their full history.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from shared.contract.commands import COMMANDS, Command
from shared.contract.events import (
    CommandRejected,
    ComplaintClosed,
    ComplaintRegistered,
    ComplaintStatusChanged,
    InquiryReceived,
    MessageRejected,
    NotificationRequested,
)
from shared.http import error
from shared.logs import get_logger
from shared.messages import CommandIn, EventIn
from shared.notifications import reply_route
from shared.service import Service
from shared.topology import COMPLAINTS_COMMANDS, COMPLAINTS_EVENTS

from . import domain, store
from .settings import ComplaintsSettings

log = get_logger(__name__)

svc = Service(
    "complaints",
    description="Complaints: registration, deadlines, lifecycle and full history.",
    settings=ComplaintsSettings(),
    store=lambda session: session,
    policy=None,
)
svc.produces(
    ComplaintRegistered,
    ComplaintStatusChanged,
    ComplaintClosed,
    NotificationRequested,
    CommandRejected,
    MessageRejected,
)
app = svc.app

ACK_TEMPLATE = "complaint.received"
MAX_LIST = 500


# -- registration -------------------------------------------------------------------------------
async def on_inquiry_received(tx: Any, msg: EventIn[InquiryReceived], now: datetime, policy: Any) -> None:
    """inquiry.received with intent complaint → complaint.registered and the acknowledgement."""
    env, data = msg.envelope, msg.data
    if data.intent != "complaint":
        return
    # the clock starts when the customer's message reached us (never in the future)
    registered_at = min(data.received_at.astimezone(UTC), now)
    state = domain.register(registered_at, data.category, data.severity, agent_id=data.agent_id)
    complaint_id = uuid.uuid4()
    inserted = await store.insert_complaint(
        tx.session,
        state,
        complaint_id=complaint_id,
        inquiry_id=data.inquiry_id,
        customer_id=data.customer.customer_id,
        channel=data.channel,
        booking_id=data.booking_id,
        text=data.text,
        correlation_id=str(env.correlation_id),
    )
    if not inserted:
        return  # the same inquiry delivered again under another event id: it already has its complaint
    await store.append_history(
        tx.session,
        complaint_id,
        domain.HistoryEntry(
            at=registered_at,
            actor=data.agent_id or "intake",
            action="complaint.registered",
            from_status=None,
            to_status=state.status,
            data={
                "inquiry_id": data.inquiry_id,
                "event_id": str(env.event_id),
                "channel": data.channel,
                "source_ref": data.source_ref,
                "conversation_id": data.conversation_id,
                "language": data.language,
                "subject": data.subject,
                "received_at": data.received_at.isoformat(),
            },
        ),
    )
    tx.emit(
        ComplaintRegistered(
            complaint_id=str(complaint_id),
            inquiry_id=data.inquiry_id,
            customer_id=data.customer.customer_id,
            channel=data.channel,
            booking_id=data.booking_id,
            category=state.category,  # type: ignore[arg-type]
            severity=state.severity,  # type: ignore[arg-type]
            registered_at=state.registered_at,
            acknowledge_due_at=state.acknowledge_due_at,
            resolve_due_at=state.resolve_due_at,
        ),
        correlation_id=env.correlation_id,
        causation_id=env.event_id,
    )
    customer = data.customer
    channel, address = reply_route(
        data.channel, email=customer.email, phone=customer.phone, conversation_id=data.conversation_id
    )
    tx.emit(
        NotificationRequested(
            channel=channel,  # type: ignore[arg-type]
            address=address,
            customer_id=customer.customer_id,
            template=ACK_TEMPLATE,
            language=data.language,
            parameters={
                "complaint_id": str(complaint_id),
                "acknowledge_due_at": state.acknowledge_due_at.isoformat(),
                "conversation_id": data.conversation_id,
            },
        ),
        correlation_id=env.correlation_id,
        causation_id=env.event_id,
    )
    log.info(
        "complaint registered",
        complaint_id=str(complaint_id),
        category=state.category,
        severity=state.severity,
        acknowledge_due_at=state.acknowledge_due_at.isoformat(),
    )


# -- commands -----------------------------------------------------------------------------------
HANDLED: dict[str, type[Command]] = {name: model for name, model in COMMANDS.items() if name in domain.TRANSITIONS}
_NOT_DETAILS = {"command_id", "actor", "complaint_id", "note", "agent_id", "category", "severity"}


def to_domain(name: str, cmd: Command, at: datetime) -> domain.Command:
    details = cmd.model_dump(mode="json", exclude=_NOT_DETAILS)
    details["command_id"] = cmd.command_id
    return domain.Command(
        name=name,
        actor=cmd.actor,
        at=at,
        note=getattr(cmd, "note", None),
        agent_id=getattr(cmd, "agent_id", None),
        category=getattr(cmd, "category", None),
        severity=getattr(cmd, "severity", None),
        details=details,
    )


async def lifecycle(tx: Any, msg: CommandIn[Command], now: datetime, policy: Any) -> str | None:
    """A lifecycle command → complaint.status_changed (and complaint.closed); or why it is refused."""
    name, cmd, correlation_id = msg.name, msg.command, msg.correlation_id
    raw_id: str = cmd.complaint_id  # type: ignore[attr-defined]
    try:
        complaint_id = uuid.UUID(raw_id)
    except ValueError:
        return f"no complaint {raw_id!r}"
    row = await store.get_complaint(tx.session, complaint_id, lock=True)
    if row is None:
        return f"no complaint {raw_id!r}"
    result = domain.apply(store.state_from_row(row), to_domain(name, cmd, now))
    if isinstance(result, domain.Refusal):
        return result.reason
    state, entry = result.state, result.entry
    await store.update_state(tx.session, complaint_id, state)
    await store.append_history(tx.session, complaint_id, entry)
    tx.emit(
        ComplaintStatusChanged(
            complaint_id=str(complaint_id),
            from_=entry.from_status or "",
            to=entry.to_status,
            actor=entry.actor,
            category=state.category,  # type: ignore[arg-type]
            agent_id=state.agent_id,
        ),
        correlation_id=correlation_id,
    )
    if state.status == domain.CLOSED:
        tx.emit(
            ComplaintClosed(complaint_id=str(complaint_id), actor=entry.actor, category=state.category),  # type: ignore[arg-type]
            correlation_id=correlation_id,
        )
    log.info("complaint updated", complaint_id=str(complaint_id), action=name, status=state.status)
    return None


svc.on_events(COMPLAINTS_EVENTS, {InquiryReceived: on_inquiry_received})
svc.on_commands(COMPLAINTS_COMMANDS, dict.fromkeys(HANDLED.values(), lifecycle))


# -- HTTP ---------------------------------------------------------------------------------------
def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _complaint_json(row: Any) -> dict[str, Any]:
    return {
        "complaint_id": str(row.complaint_id),
        "inquiry_id": row.inquiry_id,
        "customer_id": row.customer_id,
        "channel": row.channel,
        "booking_id": row.booking_id,
        "category": row.category,
        "severity": row.severity,
        "status": row.status,
        "agent_id": row.agent_id,
        "text": row.text,
        "registered_at": _iso(row.registered_at),
        "acknowledge_due_at": _iso(row.acknowledge_due_at),
        "resolve_due_at": _iso(row.resolve_due_at),
        "acknowledged_at": _iso(row.acknowledged_at),
        "resolved_at": _iso(row.resolved_at),
        "closed_at": _iso(row.closed_at),
        "updated_at": _iso(row.updated_at),
        "correlation_id": row.correlation_id,
    }


def _history_json(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "at": _iso(row.at),
        "actor": row.actor,
        "action": row.action,
        "from_status": row.from_status,
        "to_status": row.to_status,
        "note": row.note,
        "data": row.data,
    }


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
    async with svc.sessions() as session:
        rows = await store.list_complaints(session, status=status, limit=limit)
    return JSONResponse([_complaint_json(r) for r in rows])


async def get_complaint(request: Request) -> JSONResponse:
    try:
        complaint_id = uuid.UUID(request.path_params["complaint_id"])
    except ValueError:
        return error(404, "no such complaint")
    async with svc.sessions() as session:
        row = await store.get_complaint(session, complaint_id)
        if row is None:
            return error(404, "no such complaint")
        entries = await store.get_history(session, complaint_id)
    return JSONResponse({**_complaint_json(row), "history": [_history_json(h) for h in entries]})


svc.route("/complaints", list_complaints, protected=True)
svc.route("/complaints/{complaint_id}", get_complaint, protected=True)
