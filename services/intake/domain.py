"""Intake's decisions, in plain Python: what a delivery is, and what it implies.

A channel's adapter (``adapters.py``, ``channels/``) reads a payload into :class:`Normalised` items;
:func:`prepare` makes each an :class:`Item` — who wrote (email and phone normalised), when, and
what about (language, intent, booking details) — or refuses it. A batch of items is then decided
together, in delivery order, over the state its handler loaded: :func:`place` puts each item in its
conversation, :func:`first_deliveries` keeps what was not seen before, the directory
(``directory.py``) resolves each customer, and :func:`decide` says what one item does to its
conversation and which inquiry and events it implies. No broker, no database, no clock: the time is
given (``now``), the events are returned, never emitted here.

Booking's day-before reminder asks the customer a question (confirm, cancel or change?):
:func:`question_of` says about which booking, and on which reply route the answer may come
(``booking.reminder_due.reply_to``); :func:`answers` then reads a batch's messages from those routes as
answers (``answers.py``), and :func:`decide` turns an answer into the command for booking.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple, get_args
from zoneinfo import ZoneInfo

from shared.contract.commands import BookingCancel, BookingConfirmAttendance, Command
from shared.contract.common import Channel
from shared.contract.events import (
    AgentReplied,
    BookingDetails,
    BookingReminderDue,
    BookingRequested,
    CallMissed,
    CustomerLinked,
    CustomerRef,
    EventData,
    FeedbackReceived,
    InquiryReceived,
    NotificationFailed,
    NotificationRequested,
    ReplyRoute,
)
from shared.notifications import reply_route
from shared.runtime import Rejected, derive_uuid

from .adapters import FORMS
from .answers import Reply, read_answer
from .directory import Conversation, Identity, Resolution
from .normalise import InvalidIdentity, normalise_email, normalise_phone
from .normalised import ChannelContext, Normalised
from .understand import Understanding, understand

CHANNELS: tuple[str, ...] = get_args(Channel)

# Bytes per message, per channel, below the service-wide MEETDESK_MAX_MESSAGE_BYTES: no WeChat push,
# call record or form is anywhere near these; an email may carry attachments (0: up to the
# service-wide limit). Its keys are the contract's channels (a unit test holds them so).
CHANNEL_LIMITS: Mapping[str, int] = {
    "wechat": 64_000,
    "phone": 64_000,
    "chat": 256_000,
    "webform": 256_000,
    "onsite": 64_000,
    "survey": 64_000,
    "email": 0,
}


# WeChat is mainland China's messenger (simplified script); the venue's other channels are read in
# Hong Kong's traditional script unless the text shows otherwise
USUAL_CHINESE: Mapping[str, str] = {"wechat": "zh-Hans"}


@dataclass(frozen=True)
class Policy:
    """What intake's handlers are told by the settings (``main.py`` builds it once)."""

    context: ChannelContext  # what the adapters need: phone region, agent email domains, time zone
    limits: Mapping[str, int]  # the largest message accepted, per channel
    tz: ZoneInfo  # the venue's: relative dates in free text (明天, next Tuesday) are read in it
    answer_within: timedelta = timedelta(hours=48)  # a later message is no answer to a question asked
    # at most one acknowledgement per reply route (address) in this period (RFC 3834 2: no loops)
    acknowledge_every: timedelta = timedelta(minutes=60)
    # the desk: a call-back still open is reminded this long after the missed call, and again every as long
    callback_remind: timedelta = timedelta(minutes=30)
    # the script a channel's customers usually write, for Chinese text that does not show it (位置信息)
    usual_chinese: Mapping[str, str] = field(default_factory=lambda: dict(USUAL_CHINESE))

    def usual_chinese_of(self, channel: str) -> str:
        return self.usual_chinese.get(channel, "zh-Hant")

    @classmethod
    def of(
        cls,
        context: ChannelContext,
        max_message_bytes: int,
        *,
        answer_within_hours: float = 48,
        acknowledge_every_minutes: float = 60,
        callback_remind_minutes: float = 30,
    ) -> Policy:
        limits = {c: min(CHANNEL_LIMITS[c] or max_message_bytes, max_message_bytes) for c in CHANNELS}
        return cls(
            context,
            limits,
            ZoneInfo(context.venue_timezone),
            timedelta(hours=answer_within_hours),
            timedelta(minutes=acknowledge_every_minutes),
            callback_remind=timedelta(minutes=callback_remind_minutes),
        )


# -- one delivery ---------------------------------------------------------------------------------
@dataclass(eq=False)
class Item:
    """One normalised item of a delivery, ready for the batch: who, when, what about. (Equal only to
    itself, and hashable so: a batch keys what it resolves by item.)"""

    n: Normalised
    received_at: datetime  # the payload's own time, or when it reached intake
    email: str | None  # normalised (lower case), or None
    phone: str | None  # E.164, or None
    correlation_id: uuid.UUID
    understood: Understanding | None  # inquiries only
    conversation_id: str = ""  # placed in the batch (:func:`place`)
    reply: Reply | None = None  # what it answers if a question awaits it (:func:`answers`)

    @property
    def key(self) -> tuple[str, str]:
        """(channel, source_ref): a redelivery has the same."""
        return self.n.channel, self.n.source_ref

    @property
    def name(self) -> str | None:
        return self.n.contact.name if self.n.contact else None

    @property
    def identities(self) -> list[Identity]:
        ids = [("email", self.email)] if self.email else []
        ids += [("phone", self.phone)] if self.phone else []
        return ids + ([self.n.channel_identity] if self.n.channel_identity else [])


def prepare(n: Normalised, correlation_id: uuid.UUID, now: datetime, policy: Policy) -> Item:
    """Normalise who wrote and understand what about; a payload without a time of its own is dated
    ``now``. An invalid contact on one of our own forms is refused (its submitter must fix it);
    elsewhere (a caller id that is an extension, an address typed into a chat) the message is kept
    without the unusable identity."""
    contact = n.contact
    try:
        email = normalise_email(contact.email if contact else None)
        phone = normalise_phone(contact.phone if contact else None, policy.context.default_region)
    except InvalidIdentity as exc:
        if n.channel in FORMS:
            raise Rejected(f"customer contact: {exc}") from None
        email = phone = None
        n.flags.append("contact_invalid")
    received_at = n.received_at or now
    understood = (
        understand(n, received_at, policy.tz, usual_chinese=policy.usual_chinese_of(n.channel))
        if n.kind == "inquiry"
        else None
    )
    item = Item(n, received_at, email, phone, correlation_id, understood)
    if answer_route(item) is not None:  # read here, outside the batch's transaction
        item.reply = read_answer(n.text)
    return item


# -- a batch of deliveries ------------------------------------------------------------------------
def thread_refs(batch: Iterable[Item]) -> list[tuple[str, str]]:
    """The channel-native message ids the batch's replies name (whose conversations must be loaded)."""
    return [(w.n.channel, r) for w in batch if not w.n.conversation_key for r in w.n.thread_refs]


def place(batch: Iterable[Item], refs: dict[tuple[str, str], str]) -> None:
    """Put each item in its conversation, in delivery order, given the conversations of the message
    ids its replies name (``refs``, from the database). An email is recorded in ``refs`` at once, so a
    reply later in the same batch finds it."""
    for w in batch:
        w.conversation_id = conversation_of(w.n, refs)
        if w.n.channel == "email" and w.n.source_ref:
            refs.setdefault((w.n.channel, w.n.source_ref), w.conversation_id)


def conversation_of(n: Normalised, refs: Mapping[tuple[str, str], str]) -> str:
    """The conversation an item belongs to: the channel's own key, the thread an email answers,
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


def first_deliveries(batch: Iterable[Item], first_seen: Iterable[tuple[str, str]]) -> tuple[list[Item], list[Item]]:
    """(fresh, repeats): the items whose delivery key is seen for the first time (``first_seen``,
    from the delivery log) and the others. The same delivery twice in one batch is a repeat the
    second time."""
    unclaimed = set(first_seen)
    fresh: list[Item] = []
    repeats: list[Item] = []
    for w in batch:
        if w.key in unclaimed:
            unclaimed.discard(w.key)
            fresh.append(w)
        else:
            repeats.append(w)
    return fresh, repeats


# Items about a message we sent, not in any conversation with a customer: a delivery report (bounce)
REPORTS = frozenset({"delivery_failure", "delivery_report"})


def message_refs(fresh: Iterable[Item]) -> list[tuple[str, str, str]]:
    """(channel, ref, conversation_id) of the message ids a later reply may name: email Message-IDs."""
    return [
        (w.n.channel, w.n.source_ref, w.conversation_id)
        for w in fresh
        if w.n.channel == "email" and w.n.kind not in REPORTS
    ]


def opened(fresh: Iterable[Item]) -> dict[str, tuple[str, datetime]]:
    """Each conversation the batch touches, with the channel and time of its first item (which
    opens it if it is new). A delivery report touches none."""
    first: dict[str, tuple[str, datetime]] = {}
    for w in fresh:
        if w.n.kind not in REPORTS:
            first.setdefault(w.conversation_id, (w.n.channel, w.received_at))
    return first


class Delivery(NamedTuple):
    """A row of the delivery log: every payload accepted, whatever it turned out to be."""

    channel: str
    source_ref: str
    kind: str
    conversation_id: str
    received_at: datetime
    correlation_id: str


def delivery(w: Item) -> Delivery:
    return Delivery(w.n.channel, w.n.source_ref, w.n.kind, w.conversation_id, w.received_at, str(w.correlation_id))


class Inquiry(NamedTuple):
    """An inquiry as intake records it."""

    inquiry_id: uuid.UUID
    channel: str
    source_ref: str
    conversation_id: str
    customer_id: uuid.UUID
    intent: str
    language: str
    subject: str | None
    text: str | None
    agent_id: str | None
    received_at: datetime
    correlation_id: str
    # the desk: what a booking request lacks, the meeting fields understood, where the customer is answered
    missing: tuple[str, ...] = ()
    draft: Mapping[str, Any] | None = None
    reply_channel: str | None = None
    reply_address: str | None = None


# -- questions asked, answers read ----------------------------------------------------------------
Route = tuple[str, str]  # (channel, address): where a notification went, where a customer's reply comes from

# The question the day-before reminder asks (booking.reminder_due; booking's due item and the template
# of its notification bear the same name): the value of ``awaiting_answers.question``
REMINDER = "booking.reminder"
# The channels where the customer's own words come back to intake on the route the question went to
# (a phone call's wrap-up is the agent's summary, and the agent acts on it; forms have no reply path)
ANSWER_CHANNELS = frozenset({"email", "chat", "wechat"})
# A message's own time may be a little before the question's (other clocks; WeChat's are whole seconds)
ANSWER_CLOCK_SKEW = timedelta(minutes=5)
CANCEL_REASON = "cancelled by the customer in reply to the reminder"


class Question(NamedTuple):
    """A question awaiting the customer's answer on a route: the latest asked there wins."""

    channel: str
    address: str
    booking_id: str
    question: str  # what was asked: :data:`REMINDER`
    asked_at: datetime
    correlation_id: str  # the asking event's

    @property
    def route(self) -> Route:
        return self.channel, self.address


class Answer(NamedTuple):
    question: Question
    reply: Reply


def question_of(data: BookingReminderDue, *, asked_at: datetime, correlation_id: uuid.UUID) -> Question | None:
    """The question the day-before reminder asks about its booking, on the route the customer was
    reminded on (``reply_to``); None when intake cannot read the answer: no reply route (or one without
    an address), a channel whose answers do not come back to intake as the customer's own words (SMS),
    an address intake would not read a sender as, a booking id no command may carry."""
    route = data.reply_to
    if route is None or route.channel not in ANSWER_CHANNELS or not route.address:
        return None
    booking_id = data.booking_id.strip()
    if not 0 < len(booking_id) <= 200:  # a command's Ident
        return None
    address = route.address.strip()
    if route.channel == "email":  # as intake reads a sender's address (the route it computes)
        try:
            address = normalise_email(address) or ""
        except InvalidIdentity:
            return None
    if not address:
        return None
    return Question(route.channel, address, booking_id, REMINDER, asked_at, str(correlation_id))


def answer_route(w: Item) -> Route | None:
    """The route a customer's free-text message came from, if an answer may come that way: the one
    intake would answer it on (the sender's address, the chat or WeChat conversation)."""
    n = w.n
    if n.kind != "inquiry" or n.channel not in ANSWER_CHANNELS or n.intent is not None or not n.text:
        return None  # a structured payload says its intent; a WeChat image or voice message is no text
    channel, address = reply_route(n.channel, email=w.email, phone=w.phone, conversation_id=n.conversation_key)
    return (channel, address) if channel == n.channel and address else None


def answer_routes(fresh: Iterable[Item]) -> list[Route]:
    """The routes whose awaiting questions a batch must load: those of the messages that would answer
    one (most batches have none, and load nothing)."""
    return sorted({r for w in fresh if w.reply is not None and (r := answer_route(w)) is not None})


def answers(fresh: Iterable[Item], questions: Mapping[Route, Question], within: timedelta) -> dict[Item, Answer]:
    """The fresh items that answer a question awaiting on their route, in delivery order: a message
    written after the question (give or take :data:`ANSWER_CLOCK_SKEW`) and within ``within`` of it
    that clearly says confirm, cancel or change (``Item.reply``, read by :func:`prepare`). A question
    is answered once; a message that says something else leaves it open."""
    open_questions = dict(questions)
    found: dict[Item, Answer] = {}
    for w in fresh:
        route = answer_route(w) if w.reply is not None else None
        question = open_questions.get(route) if route else None
        if question is None or w.reply is None:
            continue
        if question.asked_at - ANSWER_CLOCK_SKEW <= w.received_at <= question.asked_at + within:
            found[w] = Answer(question, w.reply)
            del open_questions[question.route]
    return found


def command_for(w: Item, answer: Answer) -> Command | None:
    """The command an answer sends to the service that asked (a change needs an agent: none). Its id
    comes from the delivery, so a redelivered answer repeats the same command."""
    command_id = str(derive_uuid("answer", w.n.channel, w.n.source_ref))
    booking_id = answer.question.booking_id
    if answer.reply == "confirm":
        return BookingConfirmAttendance(command_id=command_id, actor="customer", booking_id=booking_id)
    if answer.reply == "cancel":
        return BookingCancel(command_id=command_id, actor="customer", booking_id=booking_id, reason=CANCEL_REASON)
    return None


@dataclass(slots=True)
class Decision:
    """What one fresh item implies: its events, in order, the inquiry to record (if it is one), the
    command to send (if it answers a question) and the acknowledgement it asks for, which goes out
    only if its route had none within the period (:func:`acknowledgements`)."""

    events: list[EventData] = field(default_factory=list)
    inquiry: Inquiry | None = None
    command: Command | None = None
    acknowledgement: NotificationRequested | None = None


# -- acknowledgements: automatic, and at most one per address in a period (RFC 3834) ---------------
ACK_MESSAGE_ID = "{inquiry_id}.ack@{domain}"  # the Message-ID intake asks the gateway to give one


def acknowledgement_parameters(parameters: dict[str, Any], *, message_id: str | None) -> dict[str, Any]:
    """An acknowledgement's parameters with what the sending gateway needs besides the template's:
    ``auto_submitted`` — send it as an automatic reply (``Auto-Submitted: auto-replied``, RFC 3834 5;
    a null envelope sender where the gateway can) — and, for email, ``message_id``: the Message-ID to
    give the mail (without angle brackets), so that a bounce quoting it names the inquiry."""
    out = dict(parameters, auto_submitted="auto-replied")
    if message_id is not None:
        out["message_id"] = message_id
    return out


def ack_message_id(inquiry_id: uuid.UUID | str, domains: tuple[str, ...]) -> str:
    return ACK_MESSAGE_ID.format(inquiry_id=inquiry_id, domain=domains[0] if domains else "meetdesk.invalid")


def acked_inquiry(message_id: str | None) -> str | None:
    """The inquiry whose acknowledgement had this Message-ID (:func:`ack_message_id`), if it was one."""
    head, dot, rest = (message_id or "").partition(".")
    if not dot or not rest.startswith("ack@"):
        return None
    try:
        return str(uuid.UUID(head))
    except ValueError:
        return None


class AckClaim(NamedTuple):
    """An acknowledgement asked for on a route at a time; granted when the route had none within the period."""

    channel: str
    address: str
    at: datetime


def acknowledgements(asked: Iterable[tuple[Item, NotificationRequested]], now: datetime) -> list[AckClaim]:
    """The routes whose acknowledgement slot a batch claims at ``now``: one per route (a second
    asked on the same route in the same batch is inside the period anyway)."""
    claims: dict[Route, AckClaim] = {}
    for _, ack in asked:
        if ack.address:
            claims.setdefault((ack.channel, ack.address), AckClaim(ack.channel, ack.address, now))
    return sorted(claims.values())


def granted(
    asked: Iterable[tuple[Item, NotificationRequested]], won: set[Route]
) -> list[tuple[Item, NotificationRequested]]:
    """The acknowledgements that go out: the first of each route whose claim was granted (``won``)."""
    out = []
    for w, ack in asked:
        route = (ack.channel, ack.address or "")
        if route in won:
            won = won - {route}
            out.append((w, ack))
    return out


def decide(
    w: Item,
    conversation: Conversation | None,
    who: Resolution | None,
    answer: Answer | None = None,
    *,
    owner: uuid.UUID | None = None,
    domains: tuple[str, ...] = (),
) -> Decision:
    """One fresh item: its effect on ``conversation`` (changed in place, as its methods record) and
    what it implies. ``who`` is the item's customer, as the directory resolved it (None for a
    conversation's status change, which is about no one). ``answer``: the item answers a question
    (:func:`answers`): its inquiry names the booking, the service that asked answers the customer (no
    acknowledgement from intake, no booking request), and a confirmation or cancellation is sent on.
    A delivery report is in no conversation: a failure becomes ``notification.failed`` naming the
    address, its known customer (``owner``, never created for it) and the inquiry whose acknowledgement
    bounced; a report of no failure is recorded only. ``domains``: the agent email domains, the first
    of which names the acknowledgements' Message-IDs."""
    n = w.n
    if n.kind == "delivery_report":
        return Decision()
    if n.kind == "delivery_failure":
        failed = _failed(w, owner)
        # a bounce about a message that is neither ours nor to a customer we know is backscatter
        # (someone else's mail, sent in our name): recorded only
        ours = failed.customer_id or failed.inquiry_id or n.extra.get("ours")
        return Decision(events=[failed] if w.email and ours else [])
    assert conversation is not None, f"a {n.kind} belongs to a conversation"
    if n.kind == "status_change":
        conversation.status_changed(n.extra.get("status", "?"), w.received_at)
        return Decision()
    assert who is not None, f"a {n.kind} needs its customer resolved"
    decision = Decision()
    events = decision.events
    customer_id = str(who.customer_id)
    if who.linked:
        events.append(
            CustomerLinked(
                customer_id=customer_id,
                identities=[{"kind": k, "value": v} for k, v in who.evidence + who.linked],
                evidence=f"same {' and '.join(sorted({k for k, _ in who.evidence}))} as a known customer",
            )
        )

    if n.kind == "agent_reply":
        if "automated" in n.flags:
            return decision  # a bot's or an automation rule's message is no agent's answer: the customer still waits
        reply = conversation.agent_replied(who.customer_id, w.received_at)
        seconds = n.response_seconds
        if seconds is None and reply.awaiting_since is not None:
            seconds = max(0.0, (w.received_at - reply.awaiting_since).total_seconds())
        events.append(
            AgentReplied(
                conversation_id=w.conversation_id,
                channel=n.channel,  # type: ignore[arg-type]
                agent_id=n.agent_id,
                replied_at=w.received_at,
                first_reply=reply.first_reply,
                response_seconds=seconds,
            )
        )
        return decision

    conversation.customer_wrote(who.customer_id, w.received_at)
    if n.kind == "missed_call":
        events.append(
            CallMissed(
                call_id=n.source_ref,
                customer_id=customer_id,
                phone=w.phone,
                disposition=str(n.extra.get("disposition", "NO ANSWER")),
                started_at=w.received_at,
            )
        )
        return decision
    if n.kind == "feedback":
        events.append(_feedback(n, customer_id))
        return decision

    u = w.understood
    assert u is not None, "an inquiry is understood before the batch"
    automatic = n.extra.get("automatic")
    language = conversation.language_for(u.language, undecided=u.script_undecided)
    inquiry_id = derive_uuid("inquiry", n.channel, n.source_ref)
    missing = [] if answer else u.missing  # an answer is about a booking that exists: nothing to ask
    # Where the customer hears back: the channel they used when it can carry a reply, in their language
    channel, address = reply_route(n.channel, email=w.email, phone=w.phone, conversation_id=n.conversation_key)
    decision.inquiry = Inquiry(
        inquiry_id,
        n.channel,
        n.source_ref,
        w.conversation_id,
        who.customer_id,
        u.intent,
        language,
        n.subject,
        n.text,
        n.agent_id,
        w.received_at,
        str(w.correlation_id),
        tuple(missing),
        u.draft if missing else None,
        channel,
        address,
    )
    name = w.name
    events.append(
        InquiryReceived(
            inquiry_id=str(inquiry_id),
            channel=n.channel,  # type: ignore[arg-type]
            source_ref=n.source_ref,
            conversation_id=w.conversation_id,
            customer=CustomerRef(customer_id=customer_id, name=name, email=w.email, phone=w.phone),
            intent=u.intent,  # type: ignore[arg-type]
            language=language,  # type: ignore[arg-type]
            subject=n.subject,
            text=n.text,
            received_at=w.received_at,
            agent_id=n.agent_id,
            booking_id=answer.question.booking_id if answer else n.booking_id,
            category=u.category if u.intent == "complaint" else None,  # type: ignore[arg-type]
            severity=n.severity,  # type: ignore[arg-type]
            score=n.score,
            missing=missing,
            automatic=automatic,
        )
    )
    if answer is not None:
        decision.command = command_for(w, answer)
        return decision
    if u.intent == "booking_request" and u.meeting is not None:
        events.append(
            BookingRequested(
                inquiry_id=str(inquiry_id),
                customer_id=customer_id,
                channel=n.channel,  # type: ignore[arg-type]
                language=language,  # type: ignore[arg-type]
                meeting=BookingDetails.model_validate(u.meeting.model_dump()),
                reply_to=ReplyRoute(channel=channel, address=address, language=language),  # type: ignore[arg-type]
            )
        )
    if n.score is not None:
        events.append(_feedback(n, customer_id))
    # Every new inquiry is acknowledged once, in the customer's language and on the channel they used
    # when it can carry a reply; a complaint's acknowledgement (with its reference and response
    # deadline) comes from the complaints service when it registers the complaint. Mail from a machine,
    # a list or marked as spam is never answered automatically (RFC 3834); an acknowledgement is
    # itself automatic (Auto-Submitted: auto-replied), and goes out only if its route had none lately.
    if u.intent != "complaint" and address and automatic is None:
        decision.acknowledgement = NotificationRequested(
            channel=channel,  # type: ignore[arg-type]
            address=address,
            customer_id=customer_id,
            template=f"{u.intent}.acknowledged",
            language=language,  # type: ignore[arg-type]
            parameters=acknowledgement_parameters(
                {"inquiry_id": str(inquiry_id), "name": name, "missing": missing},
                message_id=ack_message_id(inquiry_id, domains) if channel == "email" else None,
            ),
        )
    return decision


def _failed(w: Item, owner: uuid.UUID | None) -> NotificationFailed:
    n = w.n
    original = n.extra.get("original_message_id")
    return NotificationFailed(
        channel=n.channel,  # type: ignore[arg-type]
        address=w.email or "",
        customer_id=str(owner) if owner else None,
        inquiry_id=acked_inquiry(original),
        original_message_id=original,
        status=n.extra.get("status"),
        reason=n.extra.get("reason"),
        failed_at=w.received_at,
        report_ref=n.source_ref,
    )


def _feedback(n: Normalised, customer_id: str) -> FeedbackReceived:
    kind, subject_id = n.feedback_subject or ("service", None)
    assert n.score is not None
    return FeedbackReceived(
        subject_type=kind,  # type: ignore[arg-type]
        subject_id=subject_id,
        score=n.score,
        score_100=n.score * 20,
        comment=n.text,
        customer_id=customer_id,
        channel=n.channel,  # type: ignore[arg-type]
        agent_id=n.agent_id,
        room_id=n.extra.get("room_id"),
    )
