"""The desk's decisions (issue 15), in plain Python: assignments, call-backs, completing a booking
request, booking on a known customer's behalf, linking customer records, handovers.

Each function takes the state its handler loaded (rows as the dataclasses below, ``now`` given) and
returns either a :class:`Refusal` with the reason or what changes and which events go out; the
handlers (``handlers.py``) persist and emit. No broker, no database, no clock.

Idempotence: a command id is claimed once by the service; beyond that every decision is safe to
re-apply — assigning to the agent who already has it changes nothing and says nothing, a call-back is
one per missed call, a handover moves what is still the first agent's, a booking made for a customer
has its inquiry id from the command's.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from shared.contract.desk import (
    CALLBACK_CLOSING,
    CallbackAssigned,
    CallbackOpened,
    CallbackRecorded,
    CallbackReminder,
    ConversationAssigned,
    InquiryCompleted,
)
from shared.contract.events import (
    BookingDetails,
    BookingRequested,
    CallMissed,
    CustomerLinked,
    CustomerUnlinked,
    ReplyRoute,
)
from shared.runtime import derive_uuid

#: the due item that reminds the desk of a call-back still open (keyed by the callback id)
CALLBACK_REMIND = "callback.remind"
DEFAULT_REMIND_EVERY = timedelta(minutes=30)


@dataclass(frozen=True)
class Refusal:
    reason: str


# -- conversations -------------------------------------------------------------------------------
@dataclass(frozen=True)
class ConversationDesk:
    """What the desk decides about a conversation: whose it is."""

    conversation_id: str
    assignee: str | None


def assign_conversation(
    conversation: ConversationDesk | None, conversation_id: str, agent_id: str | None, *, actor: str
) -> Refusal | ConversationAssigned | None:
    """The conversation goes to ``agent_id`` (None: nobody's). None: it is theirs already (nothing to do)."""
    if conversation is None:
        return Refusal(f"no conversation {conversation_id!r}")
    if conversation.assignee == agent_id:
        return None
    return ConversationAssigned(
        conversation_id=conversation_id, agent_id=agent_id, previous_agent_id=conversation.assignee, actor=actor
    )


# -- call-backs ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Callback:
    callback_id: uuid.UUID
    call_id: str
    phone: str | None
    customer_id: uuid.UUID | None
    missed_at: datetime
    correlation_id: str
    status: str = "open"  # open | done
    attempts: int = 0
    last_outcome: str | None = None
    last_note: str | None = None
    last_attempt_at: datetime | None = None
    assignee: str | None = None
    remind_at: datetime | None = None
    done_at: datetime | None = None


def call_conversation(call_id: str) -> str:
    """The conversation a missed call opened (``channels/phone.py``: one per call, named after its UniqueID):
    a call-back that reached the customer, or found the number wrong, answers it."""
    return f"call:{call_id}"


def callback_id_of(call_id: str) -> uuid.UUID:
    """One call-back per missed call: its id comes from the call's."""
    return derive_uuid("callback", call_id)


def callback_for(missed: CallMissed, *, correlation_id: uuid.UUID, every: timedelta) -> tuple[Callback, CallbackOpened]:
    """A missed call becomes a call-back, reminded ``every`` after the call if still open."""
    cb = Callback(
        callback_id=callback_id_of(missed.call_id),
        call_id=missed.call_id,
        phone=missed.phone,
        customer_id=uuid.UUID(missed.customer_id) if missed.customer_id else None,
        missed_at=missed.started_at,
        correlation_id=str(correlation_id),
        remind_at=missed.started_at + every,
    )
    assert cb.remind_at is not None
    return cb, CallbackOpened(
        callback_id=str(cb.callback_id),
        call_id=cb.call_id,
        customer_id=missed.customer_id,
        phone=cb.phone,
        missed_at=cb.missed_at,
        remind_at=cb.remind_at,
    )


def assign_callback(
    cb: Callback | None, callback_id: str, agent_id: str | None, *, actor: str
) -> Refusal | tuple[Callback, CallbackAssigned] | None:
    """The call-back goes to ``agent_id`` (None: nobody's); refused once done. None: theirs already."""
    if cb is None:
        return Refusal(f"no call-back {callback_id!r}")
    if cb.status == "done":
        return Refusal(f"call-back {callback_id} is done already ({cb.last_outcome})")
    if cb.assignee == agent_id:
        return None
    event = CallbackAssigned(
        callback_id=str(cb.callback_id), agent_id=agent_id, previous_agent_id=cb.assignee, actor=actor
    )
    return replace(cb, assignee=agent_id), event


def record_callback(
    cb: Callback | None,
    callback_id: str,
    outcome: str,
    note: str | None,
    *,
    actor: str,
    now: datetime,
    every: timedelta,
) -> Refusal | tuple[Callback, CallbackRecorded]:
    """An attempt to call back: reached or wrong_number closes it; no_answer or voicemail keeps it
    open and moves its reminder to ``every`` from now. Refused when unknown or done already."""
    if cb is None:
        return Refusal(f"no call-back {callback_id!r}")
    if cb.status == "done":
        return Refusal(f"call-back {callback_id} is done already ({cb.last_outcome})")
    done = outcome in CALLBACK_CLOSING
    after = replace(
        cb,
        attempts=cb.attempts + 1,
        last_outcome=outcome,
        last_note=note,
        last_attempt_at=now,
        status="done" if done else "open",
        done_at=now if done else None,
        remind_at=None if done else now + every,
        # the agent who called takes the call-back on, unless it was someone's already
        assignee=cb.assignee or actor,
    )
    event = CallbackRecorded(
        callback_id=str(cb.callback_id),
        call_id=cb.call_id,
        customer_id=str(cb.customer_id) if cb.customer_id else None,
        outcome=outcome,  # type: ignore[arg-type]
        attempts=after.attempts,
        done=done,
        actor=actor,
        note=note,
    )
    return after, event


def remind_callback(
    cb: Callback | None, *, now: datetime, every: timedelta
) -> tuple[Callback, CallbackReminder] | None:
    """The reminder's time has come: a call-back still open is reminded and its next reminder set
    ``every`` from now; one done (or gone) is not (None)."""
    if cb is None or cb.status != "open":
        return None
    after = replace(cb, remind_at=now + every)
    event = CallbackReminder(
        callback_id=str(cb.callback_id),
        call_id=cb.call_id,
        customer_id=str(cb.customer_id) if cb.customer_id else None,
        assignee=cb.assignee,
        attempts=cb.attempts,
        open_minutes=max(0, int((now - cb.missed_at).total_seconds() // 60)),
    )
    return after, event


# -- incomplete booking requests -----------------------------------------------------------------
@dataclass(frozen=True)
class InquiryDesk:
    """An inquiry as the desk completes it."""

    inquiry_id: uuid.UUID
    channel: str
    customer_id: uuid.UUID | None
    intent: str
    language: str
    missing: list[str]
    reply_channel: str | None
    reply_address: str | None
    correlation_id: str
    completed_at: datetime | None = None
    completed_by: str | None = None


def complete_inquiry(
    inquiry: InquiryDesk | None,
    inquiry_id: str,
    meeting: BookingDetails,
    *,
    wait_if_taken: bool,
    actor: str,
) -> Refusal | tuple[BookingRequested, InquiryCompleted]:
    """An agent completes a booking request that lacked something: the original inquiry's request goes
    to booking (its inquiry, customer, channel, language and reply route; the agent named). Refused when
    the inquiry is unknown, no booking request, lacked nothing, or was completed already."""
    if inquiry is None:
        return Refusal(f"no inquiry {inquiry_id!r}")
    if inquiry.intent != "booking_request":
        return Refusal(f"inquiry {inquiry_id} is a {inquiry.intent}, not a booking request")
    if inquiry.completed_at is not None:
        return Refusal(f"inquiry {inquiry_id} was completed already by {inquiry.completed_by}")
    if not inquiry.missing:
        return Refusal(f"inquiry {inquiry_id} lacked nothing: booking has had its request")
    if inquiry.customer_id is None:
        return Refusal(f"inquiry {inquiry_id} has no customer")
    reply_to = (
        ReplyRoute(channel=inquiry.reply_channel, address=inquiry.reply_address, language=inquiry.language)  # type: ignore[arg-type]
        if inquiry.reply_channel
        else None
    )
    requested = BookingRequested(
        inquiry_id=str(inquiry.inquiry_id),
        customer_id=str(inquiry.customer_id),
        channel=inquiry.channel,  # type: ignore[arg-type]
        language=inquiry.language,  # type: ignore[arg-type]
        meeting=meeting,
        reply_to=reply_to,
        wait_if_taken=wait_if_taken,
        agent_id=actor,
    )
    completed = InquiryCompleted(inquiry_id=str(inquiry.inquiry_id), actor=actor, customer_id=str(inquiry.customer_id))
    return requested, completed


# -- booking on a known customer's behalf ---------------------------------------------------------
#: the channels a booking made for a customer is answered on, in the order tried when none is asked for
#: (after the channel of their last conversation)
REPLY_CHANNELS: tuple[str, ...] = ("email", "phone", "wechat", "chat")
DEFAULT_LANGUAGE = "en"


@dataclass(frozen=True)
class CustomerReach:
    """How a known customer can be answered: the address on each channel that can carry a reply (their
    email address, their phone for SMS, their latest chat or WeChat conversation), the channel of their
    last conversation and its language (else their last message's)."""

    customer_id: uuid.UUID
    routes: dict[str, str]
    last_channel: str | None = None
    language: str | None = None


def book_for_customer(
    reach: CustomerReach | None,
    customer_id: str,
    meeting: BookingDetails,
    *,
    inquiry_id: uuid.UUID,
    reply_channel: str | None,
    language: str | None,
    wait_if_taken: bool,
    actor: str,
) -> Refusal | BookingRequested:
    """An agent books for a known customer: a new request (``inquiry_id``, derived from the command's id)
    in the customer's name, answered on ``reply_channel`` — one the customer has an address on —, or by
    default on their last conversation's channel if it can carry a reply, else email, else phone, else
    WeChat, else chat. A customer with no address at all is still booked, with no reply route (the agent
    tells them). Refused: an unknown customer, a reply channel the customer has no address on."""
    if reach is None:
        return Refusal(f"no customer {customer_id!r}")
    if reply_channel is not None and reply_channel not in reach.routes:
        known = ", ".join(c for c in REPLY_CHANNELS if c in reach.routes) or "none"
        return Refusal(f"customer {customer_id} has no address on {reply_channel} (they can be answered on: {known})")
    chosen = reply_channel or next(iter(reply_channels(reach)), None)
    lang = language or reach.language or DEFAULT_LANGUAGE
    reply_to = (
        ReplyRoute(channel=chosen, address=reach.routes[chosen], language=lang)  # type: ignore[arg-type]
        if chosen
        else None
    )
    return BookingRequested(
        inquiry_id=str(inquiry_id),
        customer_id=str(reach.customer_id),
        channel=chosen or reach.last_channel or "onsite",  # type: ignore[arg-type]
        language=lang,  # type: ignore[arg-type]
        meeting=meeting,
        reply_to=reply_to,
        wait_if_taken=wait_if_taken,
        agent_id=actor,
    )


def reply_channels(reach: CustomerReach) -> list[str]:
    """The channels a customer can be answered on, the one a booking for them goes to by default first."""
    default = reach.last_channel if reach.last_channel in reach.routes else None
    return ([default] if default else []) + [c for c in REPLY_CHANNELS if c in reach.routes and c != default]


def reach_of(
    customer_id: uuid.UUID,
    identities: list[tuple[str, str]],
    conversations: list[tuple[str, str, str | None]],
    last_language: str | None,
) -> CustomerReach:
    """A customer's reach from what intake knows: ``identities`` (kind, value), latest first;
    ``conversations`` (channel, conversation id, language), latest activity first; the language of
    their last message. Email and phone come from the identities, a chat or WeChat route is the
    latest conversation on that channel (a WeChat follower with none: their OpenID's conversation)."""
    routes: dict[str, str] = {}
    for kind, value in identities:
        if kind in ("email", "phone") and kind not in routes:
            routes[kind] = value
    for channel, conversation_id, _ in conversations:
        if channel in ("chat", "wechat") and channel not in routes:
            routes[channel] = conversation_id
    wechat = next((v for k, v in identities if k == "wechat"), None)
    if "wechat" not in routes and wechat:
        routes["wechat"] = f"wechat:{wechat}"
    last = conversations[0] if conversations else None
    return CustomerReach(
        customer_id=customer_id,
        routes=routes,
        last_channel=last[0] if last else None,
        language=(last[2] if last and last[2] else None) or last_language,
    )


# -- the customer file: links between records ------------------------------------------------------
@dataclass(frozen=True)
class Link:
    customer_id: uuid.UUID
    other_customer_id: uuid.UUID
    reason: str
    linked_by: str
    linked_at: datetime
    link_id: int | None = None
    unlink_reason: str | None = None
    unlinked_by: str | None = None
    unlinked_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.unlinked_at is None

    def joins(self, a: uuid.UUID, b: uuid.UUID) -> bool:
        return {self.customer_id, self.other_customer_id} == {a, b}


def parse_customer_id(raw: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(raw)
    except ValueError:
        return None


def link(
    customer_id: str,
    other_customer_id: str,
    known: set[uuid.UUID],
    links: list[Link],
    *,
    reason: str,
    actor: str,
    now: datetime,
) -> Refusal | tuple[Link, CustomerLinked]:
    """Two records are one person. ``known``: which of the two exist; ``links``: their links (any state).
    Refused: the same record twice, an unknown record, already linked."""
    a, b = parse_customer_id(customer_id), parse_customer_id(other_customer_id)
    if a is not None and a == b:
        return Refusal("a customer record cannot be linked to itself")
    for raw, parsed in ((customer_id, a), (other_customer_id, b)):
        if parsed is None or parsed not in known:
            return Refusal(f"no customer {raw!r}")
    assert a is not None and b is not None
    if any(x.active and x.joins(a, b) for x in links):
        return Refusal(f"customers {a} and {b} are linked already")
    new = Link(a, b, reason, actor, now)
    event = CustomerLinked(customer_id=str(a), identities=[{"kind": "customer_id", "value": str(b)}], evidence=reason)
    return new, event


def unlink(
    customer_id: str,
    other_customer_id: str,
    links: list[Link],
    *,
    reason: str,
    actor: str,
    now: datetime,
) -> Refusal | tuple[Link, CustomerUnlinked]:
    """A wrong link undone (kept in the history, with who undid it, when and why). Refused when not linked."""
    a, b = parse_customer_id(customer_id), parse_customer_id(other_customer_id)
    found = next((x for x in links if a and b and x.active and x.joins(a, b)), None)
    if found is None:
        return Refusal(f"customers {customer_id} and {other_customer_id} are not linked")
    assert a is not None and b is not None
    undone = replace(found, unlink_reason=reason, unlinked_by=actor, unlinked_at=now)
    event = CustomerUnlinked(customer_id=str(a), identities=[{"kind": "customer_id", "value": str(b)}], reason=reason)
    return undone, event


def linked_to(customer_id: uuid.UUID, links: list[Link]) -> list[uuid.UUID]:
    """The records linked to ``customer_id`` now (directly), in the order they were linked."""
    out: list[uuid.UUID] = []
    for x in links:
        if x.active and customer_id in (x.customer_id, x.other_customer_id):
            other = x.other_customer_id if x.customer_id == customer_id else x.customer_id
            if other not in out:
                out.append(other)
    return out


def history_of(customer_id: uuid.UUID, links: list[Link]) -> list[dict[str, Any]]:
    """Every link and unlink of ``customer_id``, oldest first (the customer file's ``links_history``)."""
    events: list[tuple[datetime, int, dict[str, Any]]] = []
    for n, x in enumerate(links):
        if customer_id not in (x.customer_id, x.other_customer_id):
            continue
        other = x.other_customer_id if x.customer_id == customer_id else x.customer_id
        events.append(
            (
                x.linked_at,
                2 * n,
                {
                    "action": "linked",
                    "other_customer_id": str(other),
                    "reason": x.reason,
                    "by": x.linked_by,
                    "at": x.linked_at.isoformat(),
                },
            )
        )
        if x.unlinked_at is not None:
            events.append(
                (
                    x.unlinked_at,
                    2 * n + 1,
                    {
                        "action": "unlinked",
                        "other_customer_id": str(other),
                        "reason": x.unlink_reason,
                        "by": x.unlinked_by,
                        "at": x.unlinked_at.isoformat(),
                    },
                )
            )
    return [e for *_, e in sorted(events, key=lambda t: (t[0], t[1]))]


# -- handover --------------------------------------------------------------------------------------
def check_handover(from_agent: str, to_agent: str) -> Refusal | None:
    if from_agent == to_agent:
        return Refusal("a handover goes from one agent to another, not to the same agent")
    return None
