"""The intake service: every channel's payload → one normalised inquiry, routed onward.

Consumes ``meetdesk.inbound`` (routing key = channel). Emits ``inquiry.received`` and, as the
payload asks, ``booking.requested``, ``feedback.received``, ``customer.linked`` and an
acknowledgement ``notification.requested``. HTTP on port 8001: health and the web ingress.
"""

from __future__ import annotations

import uuid
from typing import Any

import structlog
from starlette.requests import Request
from starlette.responses import JSONResponse

from shared.contract.events import (
    BookingDetails,
    BookingRequested,
    CustomerLinked,
    CustomerRef,
    FeedbackReceived,
    InquiryReceived,
    IntakeRejected,
    NotificationRequested,
    make_event,
)
from shared.contract.inbound import WEBFORM, OnsiteEntry, SurveyAnswer
from shared.db import db_retry
from shared.http import error, requires_token
from shared.notifications import reply_route
from shared.outbox import Tx
from shared.runtime import Incoming, Rejected, derive_uuid
from shared.service import Service
from shared.topology import INBOUND, INTAKE_INBOUND, exchange

from . import store
from .adapters import ADAPTERS, Normalised
from .normalise import InvalidIdentity, normalise_email, normalise_phone

svc = Service("intake", description="Channel payloads in, one normalised inquiry out.")
svc.produces(InquiryReceived, BookingRequested, FeedbackReceived, CustomerLinked, NotificationRequested, IntakeRejected)
app = svc.app


@svc.consume(INTAKE_INBOUND)
async def on_inbound(msg: Incoming) -> None:
    """A channel's native payload (routing key = channel) → inquiry.received and what follows."""
    adapter = ADAPTERS.get(msg.routing_key)
    if adapter is None:
        raise Rejected(f"unknown channel {msg.routing_key!r}; known: {', '.join(sorted(ADAPTERS))}")
    n = adapter(msg)
    contact = n.contact
    try:
        email = normalise_email(contact.email if contact else None)
        phone = normalise_phone(contact.phone if contact else None, svc.settings.default_phone_region)
    except InvalidIdentity as exc:
        raise Rejected(f"customer contact: {exc}") from None
    correlation_id = msg.correlation_id if msg.correlation_given else derive_uuid("inbound", n.channel, n.source_ref)
    with structlog.contextvars.bound_contextvars(correlation_id=str(correlation_id)):
        async for attempt in db_retry():
            with attempt:
                async with svc.outbox.transaction() as tx:
                    await accept(tx, n, email, phone, correlation_id)


async def accept(tx: Tx, n: Normalised, email: str | None, phone: str | None, correlation_id: uuid.UUID) -> None:
    inquiry_id = derive_uuid("inquiry", n.channel, n.source_ref)
    conversation_id = _conversation(n)
    fresh = await store.record_inquiry(
        tx.session,
        {
            "inquiry_id": inquiry_id,
            "channel": n.channel,
            "source_ref": n.source_ref,
            "conversation_id": conversation_id,
            "intent": n.intent,
            "language": n.language,
            "subject": n.subject,
            "text": n.text,
            "agent_id": n.agent_id,
            "received_at": n.received_at,
            "correlation_id": str(correlation_id),
        },
    )
    if not fresh:
        structlog.get_logger(__name__).info("repeat delivery ignored", channel=n.channel)
        return
    ids = [("email", email)] if email else []
    ids += [("phone", phone)] if phone else []
    name = n.contact.name if n.contact else None
    who = await store.resolve_customer(tx.session, name, ids)
    await store.set_inquiry_customer(tx.session, inquiry_id, who.customer_id)
    customer_id = str(who.customer_id)

    def emit(data: Any) -> None:
        tx.emit(make_event(data, producer="intake", correlation_id=correlation_id, occurred_at=None))

    if who.linked:
        emit(
            CustomerLinked(
                customer_id=customer_id,
                identities=[{"kind": k, "value": v} for k, v in who.evidence + who.linked],
                evidence=f"same {' and '.join(sorted({k for k, _ in who.evidence}))} as a known customer",
            )
        )
    if n.kind == "inquiry":
        emit(
            InquiryReceived(
                inquiry_id=str(inquiry_id),
                channel=n.channel,
                source_ref=n.source_ref,  # type: ignore[arg-type]
                conversation_id=conversation_id,
                customer=CustomerRef(customer_id=customer_id, name=name, email=email, phone=phone),
                intent=n.intent,
                language=n.language,
                subject=n.subject,
                text=n.text,  # type: ignore[arg-type]
                received_at=n.received_at,
                agent_id=n.agent_id,
                booking_id=n.booking_id,
                category=n.category,
                severity=n.severity,
                score=n.score,  # type: ignore[arg-type]
            )
        )
    if n.intent == "booking_request" and n.meeting is not None:
        emit(
            BookingRequested(
                inquiry_id=str(inquiry_id),
                customer_id=customer_id,
                channel=n.channel,  # type: ignore[arg-type]
                language=n.language,
                meeting=BookingDetails.model_validate(n.meeting.model_dump()),  # type: ignore[arg-type]
            )
        )
    if n.score is not None and n.feedback_subject is not None:
        kind, subject_id = n.feedback_subject
        emit(
            FeedbackReceived(
                subject_type=kind,
                subject_id=subject_id,
                score=n.score,
                score_100=n.score * 20,  # type: ignore[arg-type]
                comment=n.text,
                customer_id=customer_id,
                channel=n.channel,
                agent_id=n.agent_id,  # type: ignore[arg-type]
            )
        )
    # Every new inquiry is acknowledged once; a complaint's acknowledgement (with its reference
    # and response deadline) comes from the complaints service when it registers the complaint.
    channel, address = reply_route(n.channel, email=email, phone=phone, conversation_id=conversation_id)
    if n.kind == "inquiry" and n.intent != "complaint" and address:
        emit(
            NotificationRequested(
                channel=channel,  # type: ignore[arg-type]
                address=address,
                customer_id=customer_id,
                template=f"{n.intent}.acknowledged",
                language=n.language,  # type: ignore[arg-type]
                parameters={"inquiry_id": str(inquiry_id), "name": name},
            )
        )


def _conversation(n: Normalised) -> str:
    if n.channel == "onsite" and n.booking_id:
        return f"booking:{n.booking_id}"
    return f"{n.channel}:{n.source_ref}"


# -- HTTP ingress -------------------------------------------------------------------------------
INGRESS = {"webform": (WEBFORM, "submission_id"), "onsite": (OnsiteEntry, "entry_id"), "survey": (SurveyAnswer, None)}


@requires_token
async def ingress(request: Request) -> JSONResponse:
    """Validate a pushed payload and publish it to ``meetdesk.inbound``; the queue path does the rest."""
    channel = request.path_params["channel"]
    if channel not in INGRESS:
        return error(404, f"no HTTP ingress for {channel!r}; use one of {', '.join(INGRESS)}")
    body = await request.body()
    if len(body) > svc.settings.max_message_bytes:
        return error(413, "payload too large")
    schema, id_field = INGRESS[channel]
    try:
        parsed = schema.validate_json(body) if hasattr(schema, "validate_json") else schema.model_validate_json(body)
    except ValueError as exc:
        return error(422, f"invalid {channel} payload: {exc}")
    message_id = getattr(parsed, id_field) if id_field else None
    await svc.broker.publish(
        body,
        exchange=exchange(INBOUND),
        routing_key=channel,
        message_id=message_id,
        content_type="application/json",
        persist=True,
        correlation_id=request.headers.get("x-correlation-id"),
    )
    return JSONResponse({"accepted": True, "channel": channel, "message_id": message_id}, status_code=202)


svc.route("/inbound/{channel}", ingress, methods=["POST"])
