"""Intake's decisions, in plain Python: what a delivery is, and what it implies.

A channel's adapter (``adapters.py``, ``channels/``) reads a payload into :class:`Normalised` items;
:func:`prepare` makes each an :class:`Item` — who wrote (email and phone normalised), when, and
what about (language, intent, booking details) — or refuses it. A batch of items is then decided
together, in delivery order, over the state its handler loaded: :func:`place` puts each item in its
conversation, :func:`first_deliveries` keeps what was not seen before, the directory
(``directory.py``) resolves each customer, and :func:`decide` says what one item does to its
conversation and which inquiry and events it implies. No broker, no database, no clock: the time is
given (``now``), the events are returned, never emitted here.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple, get_args
from zoneinfo import ZoneInfo

from shared.contract.common import Channel
from shared.contract.events import (
    AgentReplied,
    BookingDetails,
    BookingRequested,
    CallMissed,
    CustomerLinked,
    CustomerRef,
    EventData,
    FeedbackReceived,
    InquiryReceived,
    NotificationRequested,
    ReplyRoute,
)
from shared.notifications import reply_route
from shared.runtime import Rejected, derive_uuid

from .adapters import FORMS
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


@dataclass(frozen=True)
class Policy:
    """What intake's handlers are told by the settings (``main.py`` builds it once)."""

    context: ChannelContext  # what the adapters need: phone region, agent email domains, time zone
    limits: Mapping[str, int]  # the largest message accepted, per channel
    tz: ZoneInfo  # the venue's: relative dates in free text (明天, next Tuesday) are read in it

    @classmethod
    def of(cls, context: ChannelContext, max_message_bytes: int) -> Policy:
        limits = {c: min(CHANNEL_LIMITS[c] or max_message_bytes, max_message_bytes) for c in CHANNELS}
        return cls(context, limits, ZoneInfo(context.venue_timezone))


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
    understood = understand(n, received_at, policy.tz) if n.kind == "inquiry" else None
    return Item(n, received_at, email, phone, correlation_id, understood)


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


def message_refs(fresh: Iterable[Item]) -> list[tuple[str, str, str]]:
    """(channel, ref, conversation_id) of the message ids a later reply may name: email Message-IDs."""
    return [(w.n.channel, w.n.source_ref, w.conversation_id) for w in fresh if w.n.channel == "email"]


def opened(fresh: Iterable[Item]) -> dict[str, tuple[str, datetime]]:
    """Each conversation the batch touches, with the channel and time of its first item (which
    opens it if it is new)."""
    first: dict[str, tuple[str, datetime]] = {}
    for w in fresh:
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


@dataclass(slots=True)
class Decision:
    """What one fresh item implies: its events, in order, and the inquiry to record (if it is one)."""

    events: list[EventData] = field(default_factory=list)
    inquiry: Inquiry | None = None


def decide(w: Item, conversation: Conversation, who: Resolution | None) -> Decision:
    """One fresh item: its effect on ``conversation`` (changed in place, as its methods record) and
    what it implies. ``who`` is the item's customer, as the directory resolved it (None for a
    conversation's status change, which is about no one)."""
    n = w.n
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
    inquiry_id = derive_uuid("inquiry", n.channel, n.source_ref)
    decision.inquiry = Inquiry(
        inquiry_id,
        n.channel,
        n.source_ref,
        w.conversation_id,
        who.customer_id,
        u.intent,
        u.language,
        n.subject,
        n.text,
        n.agent_id,
        w.received_at,
        str(w.correlation_id),
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
            language=u.language,  # type: ignore[arg-type]
            subject=n.subject,
            text=n.text,
            received_at=w.received_at,
            agent_id=n.agent_id,
            booking_id=n.booking_id,
            category=u.category if u.intent == "complaint" else None,  # type: ignore[arg-type]
            severity=n.severity,  # type: ignore[arg-type]
            score=n.score,
            missing=u.missing,
        )
    )
    # Where the customer hears back: the channel they used when it can carry a reply, in their language
    channel, address = reply_route(n.channel, email=w.email, phone=w.phone, conversation_id=n.conversation_key)
    if u.intent == "booking_request" and u.meeting is not None:
        events.append(
            BookingRequested(
                inquiry_id=str(inquiry_id),
                customer_id=customer_id,
                channel=n.channel,  # type: ignore[arg-type]
                language=u.language,  # type: ignore[arg-type]
                meeting=BookingDetails.model_validate(u.meeting.model_dump()),
                reply_to=ReplyRoute(channel=channel, address=address, language=u.language),  # type: ignore[arg-type]
            )
        )
    if n.score is not None:
        events.append(_feedback(n, customer_id))
    # Every new inquiry is acknowledged once, in the customer's language and on the channel they used
    # when it can carry a reply; a complaint's acknowledgement (with its reference and response
    # deadline) comes from the complaints service when it registers the complaint.
    if u.intent != "complaint" and address:
        events.append(
            NotificationRequested(
                channel=channel,  # type: ignore[arg-type]
                address=address,
                customer_id=customer_id,
                template=f"{u.intent}.acknowledged",
                language=u.language,  # type: ignore[arg-type]
                parameters={"inquiry_id": str(inquiry_id), "name": name, "missing": u.missing},
            )
        )
    return decision


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
