"""The intake service: every channel's payload → one normalised inquiry, routed onward.

Consumes ``meetdesk.inbound`` (routing key = channel). Emits ``inquiry.received`` and, as the
payload asks, ``booking.requested``, ``feedback.received``, ``customer.linked`` and an
acknowledgement ``notification.requested``. HTTP on port 8001: health and the web ingress.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from starlette.requests import Request
from starlette.responses import JSONResponse

from shared.contract.events import (
    AgentReplied,
    BookingDetails,
    BookingRequested,
    CallMissed,
    CustomerLinked,
    CustomerRef,
    FeedbackReceived,
    InquiryReceived,
    IntakeRejected,
    NotificationRequested,
)
from shared.contract.inbound import WEBFORM, OnsiteEntry, SurveyAnswer
from shared.db import driver_connection
from shared.http import error
from shared.notifications import reply_route
from shared.runtime import Incoming, Rejected, derive_uuid
from shared.service import Service
from shared.topology import INBOUND, INTAKE_INBOUND

from . import store, webhooks
from .adapters import ADAPTERS
from .directory import Conversation, Directory, Resolution
from .normalise import InvalidIdentity, normalise_email, normalise_phone
from .normalised import ChannelContext, Normalised
from .settings import IntakeSettings
from .understand import Understanding, understand

log = structlog.get_logger(__name__)

svc = Service(
    "intake",
    description="Channel payloads in, one normalised inquiry out.",
    settings=IntakeSettings(),
    store=lambda session: session,
    policy=None,
)
settings: IntakeSettings = svc.settings  # type: ignore[assignment]
svc.produces(InquiryReceived, BookingRequested, FeedbackReceived, CustomerLinked, NotificationRequested, IntakeRejected)
app = svc.app


@svc.consume(INTAKE_INBOUND)
async def on_inbound(msg: Incoming) -> None:
    """A channel's native payload (routing key = channel) → inquiry.received and what follows."""
    adapter = ADAPTERS.get(msg.routing_key)
    if adapter is None:
        raise Rejected(f"unknown channel {msg.routing_key!r}; known: {', '.join(sorted(ADAPTERS))}")
    limit = min(
        CHANNEL_LIMITS.get(msg.routing_key, 0) or svc.settings.max_message_bytes, svc.settings.max_message_bytes
    )
    if len(msg.body) > limit:
        raise Rejected(f"{msg.routing_key} message of {len(msg.body)} bytes is over the channel's limit of {limit}")
    items = adapter(msg, CONTEXT)
    if not items:
        return  # acknowledged and ignored (e.g. a Chatwoot private note)
    # one customer message → one correlation id for everything it causes, stable across redeliveries
    correlation_id = (
        msg.correlation_id if msg.correlation_given else derive_uuid("inbound", msg.routing_key, items[0].source_ref)
    )
    # parse and understand outside the transaction (pure work: a refusal dead-letters the message);
    # the database part is batched with other deliveries in flight
    for work in [_prepare(n, correlation_id) for n in items]:
        with structlog.contextvars.bound_contextvars(correlation_id=str(correlation_id)):
            await apply_in_batch(work)


# Per channel, below the service-wide MEETDESK_MAX_MESSAGE_BYTES: no WeChat push, call record or
# form is anywhere near these; an email may carry attachments (up to the service-wide limit).
CHANNEL_LIMITS = {
    "wechat": 64_000,
    "phone": 64_000,
    "chat": 256_000,
    "webform": 256_000,
    "onsite": 64_000,
    "survey": 64_000,
    "email": 0,
}

CONTEXT = ChannelContext(
    default_region=settings.default_phone_region,
    agent_email_domains=tuple(d.lower() for d in settings.agent_email_domains),
    venue_timezone=svc.settings.venue_timezone,
)


@dataclass
class Work:
    n: Normalised
    email: str | None
    phone: str | None
    correlation_id: uuid.UUID
    understood: Understanding | None  # for inquiries
    conversation_id: str = ""  # decided in the batch
    who: Resolution | None = None  # decided in the batch

    @property
    def identities(self) -> list[tuple[str, str]]:
        ids = [("email", self.email)] if self.email else []
        ids += [("phone", self.phone)] if self.phone else []
        return ids + ([self.n.channel_identity] if self.n.channel_identity else [])


def _prepare(n: Normalised, correlation_id: uuid.UUID) -> Work:
    contact = n.contact
    try:
        email = normalise_email(contact.email if contact else None)
        phone = normalise_phone(contact.phone if contact else None, settings.default_phone_region)
    except InvalidIdentity as exc:
        if n.channel in ("webform", "onsite", "survey"):  # our own forms: the submitter must fix it
            raise Rejected(f"customer contact: {exc}") from None
        # a caller id such as an extension, an address typed into a chat: keep the message, drop
        # the unusable identity
        email = phone = None
        n.flags.append("contact_invalid")
    understood = understand(n, svc.settings.tz) if n.kind == "inquiry" else None
    return Work(n, email, phone, correlation_id, understood)


async def accept(tx: Any, batch: list[Work]) -> None:
    """Apply a batch of deliveries in one transaction: load what it needs, decide item by item in
    delivery order (plain Python, see directory.py), write the outcome, emit the events."""
    pg = await driver_connection(tx.session)
    refs = await store.conversations_of_refs(
        pg, [(w.n.channel, r) for w in batch if not w.n.conversation_key for r in w.n.thread_refs]
    )
    for w in batch:
        w.conversation_id = _conversation(w.n, refs)
        if w.n.channel == "email" and w.n.source_ref:  # a reply later in this batch joins it too
            refs.setdefault((w.n.channel, w.n.source_ref), w.conversation_id)

    first_seen = await store.record_deliveries(
        pg,
        [
            (w.n.channel, w.n.source_ref, w.n.kind, w.conversation_id, w.n.received_at, str(w.correlation_id))
            for w in batch
        ],
    )
    fresh: list[Work] = []
    for w in batch:
        key = (w.n.channel, w.n.source_ref)
        if key in first_seen:
            first_seen.discard(key)  # the same delivery twice in one batch is a repeat too
            fresh.append(w)
        else:
            log.info(
                "repeat delivery ignored", channel=w.n.channel, kind=w.n.kind, correlation_id=str(w.correlation_id)
            )
    if not fresh:
        return
    await store.add_message_refs(
        pg, [(w.n.channel, w.n.source_ref, w.conversation_id) for w in fresh if w.n.channel == "email"]
    )

    people = [w for w in fresh if w.n.kind != "status_change"]
    directory = Directory(await store.known_identities(pg, [i for w in people for i in w.identities]))
    for w in people:
        w.who = directory.resolve(w.n.contact.name if w.n.contact else None, w.identities)
    await store.add_customers(pg, directory.new_customers, directory.new_identities)

    opened: dict[str, tuple[str, datetime]] = {}
    for w in fresh:
        opened.setdefault(w.conversation_id, (w.n.channel, w.n.received_at))
    conversations = await store.lock_conversations(pg, opened)
    inquiries: list[tuple[Any, ...]] = []
    for w in fresh:
        _decide(tx, w, conversations[w.conversation_id], inquiries)
    await store.save_conversations(pg, conversations.values())
    await store.record_inquiries(pg, inquiries)


def _decide(tx: Any, w: Work, conversation: Conversation, inquiries: list[tuple[Any, ...]]) -> None:
    """One fresh delivery: its effect on the conversation, its inquiry row and its events."""
    n, email, phone, correlation_id, conversation_id = w.n, w.email, w.phone, w.correlation_id, w.conversation_id
    if n.kind == "status_change":
        conversation.status_changed(n.extra.get("status", "?"), n.received_at)
        return

    def emit(data: Any) -> None:
        tx.emit(data, correlation_id=correlation_id)

    who = w.who
    assert who is not None
    customer_id = str(who.customer_id)
    name = n.contact.name if n.contact else None
    if who.linked:
        emit(
            CustomerLinked(
                customer_id=customer_id,
                identities=[{"kind": k, "value": v} for k, v in who.evidence + who.linked],
                evidence=f"same {' and '.join(sorted({k for k, _ in who.evidence}))} as a known customer",
            )
        )

    if n.kind == "agent_reply" and "automated" in n.flags:
        return  # a bot's or an automation rule's message is no agent's answer: the customer still waits
    if n.kind == "agent_reply":
        reply = conversation.agent_replied(who.customer_id, n.received_at)
        seconds = n.response_seconds
        if seconds is None and reply.awaiting_since is not None:
            seconds = max(0.0, (n.received_at - reply.awaiting_since).total_seconds())
        emit(
            AgentReplied(
                conversation_id=conversation_id,
                channel=n.channel,
                agent_id=n.agent_id,  # type: ignore[arg-type]
                replied_at=n.received_at,
                first_reply=reply.first_reply,
                response_seconds=seconds,
            )
        )
        return
    conversation.customer_wrote(who.customer_id, n.received_at)
    if n.kind == "missed_call":
        emit(
            CallMissed(
                call_id=n.source_ref,
                customer_id=customer_id,
                phone=phone,
                disposition=str(n.extra.get("disposition", "NO ANSWER")),
                started_at=n.received_at,
            )
        )
        return
    if n.kind == "feedback":
        _feedback(emit, n, customer_id)
        return

    # an inquiry
    u = w.understood
    assert u is not None
    inquiry_id = derive_uuid("inquiry", n.channel, n.source_ref)
    inquiries.append(
        (
            inquiry_id,
            n.channel,
            n.source_ref,
            conversation_id,
            who.customer_id,
            u.intent,
            u.language,
            n.subject,
            n.text,
            n.agent_id,
            n.received_at,
            str(correlation_id),
        )
    )
    emit(
        InquiryReceived(
            inquiry_id=str(inquiry_id),
            channel=n.channel,
            source_ref=n.source_ref,  # type: ignore[arg-type]
            conversation_id=conversation_id,
            customer=CustomerRef(customer_id=customer_id, name=name, email=email, phone=phone),
            intent=u.intent,
            language=u.language,
            subject=n.subject,
            text=n.text,  # type: ignore[arg-type]
            received_at=n.received_at,
            agent_id=n.agent_id,
            booking_id=n.booking_id,
            category=u.category if u.intent == "complaint" else None,  # type: ignore[arg-type]
            severity=n.severity,
            score=n.score,
            missing=u.missing,  # type: ignore[arg-type]
        )
    )
    if u.intent == "booking_request" and u.meeting is not None:
        emit(
            BookingRequested(
                inquiry_id=str(inquiry_id),
                customer_id=customer_id,
                channel=n.channel,  # type: ignore[arg-type]
                language=u.language,
                meeting=BookingDetails.model_validate(u.meeting.model_dump()),  # type: ignore[arg-type]
            )
        )
    if n.score is not None:
        _feedback(emit, n, customer_id)
    # Every new inquiry is acknowledged once, in the customer's language and on the channel they used
    # when it can carry a reply; a complaint's acknowledgement (with its reference and response
    # deadline) comes from the complaints service when it registers the complaint.
    channel, address = reply_route(n.channel, email=email, phone=phone, conversation_id=n.conversation_key)
    if u.intent != "complaint" and address:
        emit(
            NotificationRequested(
                channel=channel,
                address=address,
                customer_id=customer_id,  # type: ignore[arg-type]
                template=f"{u.intent}.acknowledged",
                language=u.language,  # type: ignore[arg-type]
                parameters={"inquiry_id": str(inquiry_id), "name": name, "missing": u.missing},
            )
        )


apply_in_batch = svc.batched_sets(accept)


def _feedback(emit: Any, n: Normalised, customer_id: str) -> None:
    kind, subject_id = n.feedback_subject or ("service", None)
    assert n.score is not None
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


def _conversation(n: Normalised, refs: dict[tuple[str, str], str]) -> str:
    """The conversation this item belongs to: the channel's own key, the thread an email answers,
    the booking an on-site entry is about, or a new one named after the item."""
    if n.conversation_key:
        return n.conversation_key
    if n.thread_refs:
        for ref in n.thread_refs:
            if found := refs.get((n.channel, ref)):
                return found
        return f"{n.channel}:{n.thread_refs[0]}"  # the thread's root, even if we never saw it
    if n.channel == "onsite" and n.booking_id:
        return f"booking:{n.booking_id}"
    return f"{n.channel}:{n.source_ref}"


# -- HTTP ingress -------------------------------------------------------------------------------
INGRESS = {"webform": (WEBFORM, "submission_id"), "onsite": (OnsiteEntry, "entry_id"), "survey": (SurveyAnswer, None)}


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
    await svc.publish(
        body,
        exchange=INBOUND,
        routing_key=channel,
        message_id=message_id,
        content_type="application/json",
        correlation_id=request.headers.get("x-correlation-id"),
    )
    return JSONResponse({"accepted": True, "channel": channel, "message_id": message_id}, status_code=202)


async def _publish_inbound(channel: str, body: bytes, message_id: str | None, content_type: str) -> None:
    await svc.publish(body, exchange=INBOUND, routing_key=channel, message_id=message_id, content_type=content_type)


svc.route("/inbound/{channel}", ingress, methods=["POST"], protected=True)
svc.app.http.router.routes.extend(webhooks.make_routes(_publish_inbound, lambda: svc.settings))
