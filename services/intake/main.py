"""The intake service: every channel's payload → one normalised inquiry, routed onward.

Wiring only: the settings, the policy they give, the service, which handler takes which queue, and
the HTTP ingress. Consumes ``meetdesk.inbound`` (routing key = channel); emits ``inquiry.received``
and, as the payload asks, ``booking.requested``, ``feedback.received``, ``customer.linked``,
``agent.replied``, ``call.missed`` and an acknowledgement ``notification.requested``. Consumes
``intake.events`` (``booking.reminder_due``: the day-before reminder awaits the customer's answer on
its reply route; ``call.missed``: every missed call becomes a call-back) and sends
``booking.confirm_attendance`` / ``booking.cancel`` when a customer answers it. The desk (issue 15):
consumes ``intake.commands`` (``conversation.assign``, ``callback.assign``, ``callback.record``,
``inquiry.complete``, ``customer.book``, ``customer.link``, ``customer.unlink``, ``desk.handover``; also ``POST
/commands/{name}``) and reminds open call-backs (due item ``callback.remind``). HTTP on port 8001:
health, the web ingress, the channels' webhooks, the desk's queues and the customer file.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from shared.commands_http import serve_commands
from shared.contract.commands import BookingCancel, BookingConfirmAttendance
from shared.contract.desk import (
    DESK_EVENTS,
    CallbackAssign,
    CallbackRecord,
    ConversationAssign,
    CustomerBook,
    CustomerLink,
    CustomerUnlink,
    DeskHandover,
    InquiryComplete,
)
from shared.contract.events import (
    AgentReplied,
    BookingReminderDue,
    BookingRequested,
    CallMissed,
    CommandRejected,
    CustomerLinked,
    CustomerUnlinked,
    FeedbackReceived,
    InquiryReceived,
    IntakeRejected,
    NotificationFailed,
    NotificationRequested,
)
from shared.http import error
from shared.runtime import Incoming
from shared.service import Service
from shared.topology import COMMANDS, INBOUND, INTAKE_COMMANDS, INTAKE_EVENTS, INTAKE_INBOUND, exchange

from . import desk, handlers, webhooks
from .adapters import FORMS
from .desk_http import serve_desk
from .domain import Policy
from .normalised import ChannelContext
from .settings import IntakeSettings
from .store import IntakeStore

settings = IntakeSettings()
policy = Policy.of(
    ChannelContext(
        default_region=settings.default_phone_region,
        agent_email_domains=tuple(d.lower() for d in settings.agent_email_domains),
        venue_timezone=settings.venue_timezone,
    ),
    settings.max_message_bytes,
    answer_within_hours=settings.answer_within_hours,
    acknowledge_every_minutes=settings.acknowledge_every_minutes,
    callback_remind_minutes=settings.callback_remind_minutes,
)
svc = Service(
    "intake",
    description="Channel payloads in, one normalised inquiry out.",
    settings=settings,
    store=IntakeStore,
    policy=policy,
)
svc.produces(
    InquiryReceived,
    BookingRequested,
    FeedbackReceived,
    CustomerLinked,
    AgentReplied,
    CallMissed,
    NotificationRequested,
    NotificationFailed,
    IntakeRejected,
    CustomerUnlinked,
    *DESK_EVENTS,  # the desk (shared/contract/desk.py)
    CommandRejected,
)
# commands sent through the outbox (uow.send) when a customer answers the day-before reminder: documented here
for command, what in (
    (BookingConfirmAttendance, "The customer confirmed, answering the day-before reminder, that the meeting goes on."),
    (BookingCancel, "The customer cancelled the meeting in reply to the day-before reminder."),
):
    svc.broker.publisher(
        exchange=exchange(COMMANDS),
        routing_key=command.command_name,
        title=f"{command.command_name}:publish",
        schema=command,
        description=what,
    )
app = svc.app


submit = svc.batched(handlers.apply)


@svc.consume(INTAKE_INBOUND)
async def on_inbound(msg: Incoming) -> None:
    """A channel's native payload (routing key = channel) → inquiry.received and what follows."""
    await handlers.receive(msg, svc.clock.now(), svc.policy, submit)


svc.on_events(INTAKE_EVENTS, {BookingReminderDue: handlers.reminder_due, CallMissed: handlers.call_missed})

# -- the desk (issue 15): its commands (queue intake.commands, and POST /commands/{name}), the
# call-backs' reminders, and what agents read (services/intake/desk_http.py)
svc.on_commands(
    INTAKE_COMMANDS,
    {
        ConversationAssign: handlers.conversation_assign,
        CallbackAssign: handlers.callback_assign,
        CallbackRecord: handlers.callback_record,
        InquiryComplete: handlers.inquiry_complete,
        CustomerBook: handlers.customer_book,
        CustomerLink: handlers.customer_link,
        CustomerUnlink: handlers.customer_unlink,
        DeskHandover: handlers.desk_handover,
    },
)
svc.on_due({desk.CALLBACK_REMIND: handlers.callback_remind_due})
serve_commands(svc)  # POST /commands/{name}: the desk's commands (shared/commands_http.py)
serve_desk(svc, lambda: settings.default_phone_region)


# -- HTTP ingress -------------------------------------------------------------------------------
async def ingress(request: Request) -> JSONResponse:
    """Validate a pushed payload and publish it to ``meetdesk.inbound``; the queue path does the rest."""
    channel = request.path_params["channel"]
    if channel not in FORMS:
        return error(404, f"no HTTP ingress for {channel!r}; use one of {', '.join(FORMS)}")
    body = await request.body()
    if len(body) > settings.max_message_bytes:
        return error(413, "payload too large")
    schema, id_field = FORMS[channel]
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


class _SignedOnce:
    """The signed webhook deliveries accepted, in intake's inbox: every replica refuses a replay."""

    async def first(self, key: str) -> bool:
        async with svc.transaction() as tx:
            return await tx.claim(f"webhook:{key}")

    async def forget(self, key: str) -> None:
        async with svc.transaction() as tx:
            await tx.unclaim(f"webhook:{key}")


svc.route("/inbound/{channel}", ingress, methods=["POST"], protected=True)
svc.app.http.router.routes.extend(
    webhooks.make_routes(_publish_inbound, lambda: svc.settings, svc.clock, seen=_SignedOnce())
)
