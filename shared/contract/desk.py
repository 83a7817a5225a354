"""The desk's commands and events (issue 15): the queues an agent works through, served by intake.

Commands (``meetdesk.commands``, routing key = the command's name, queue ``intake.commands``; also
``POST /commands/{name}`` on intake): assigning a conversation or a call-back, recording a call-back's
outcome, completing a booking request that lacked something, booking on a known customer's behalf,
linking and unlinking two customer records, and a supervisor's handover of one agent's open work to
another. Events (``meetdesk.events``): what each of them did, a missed call become a call-back, and the
reminder of a call-back still open.

The customer's link and unlink are the contract's ``customer.linked`` / ``customer.unlinked``
(:mod:`.events`), and a completed booking request, or one an agent makes for a customer, is
``booking.requested``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, Field

from .commands import Command
from .common import Ident, Language, ShortText
from .events import BookingDetails, EventData

CallbackOutcome = Literal["reached", "no_answer", "voicemail", "wrong_number"]
#: the outcomes that close a call-back (the others keep it open and move its reminder)
CALLBACK_CLOSING: frozenset[str] = frozenset({"reached", "wrong_number"})


# -- commands ----------------------------------------------------------------------------------------
class ConversationAssign(Command, name="conversation.assign"):
    """A conversation is given to an agent (themself or another); ``agent_id`` null: nobody's."""

    conversation_id: Ident
    agent_id: Ident | None = Field(None, description="the agent it goes to; null: unassigned")


class CallbackAssign(Command, name="callback.assign"):
    """A call-back is given to an agent (themself or another); ``agent_id`` null: nobody's."""

    callback_id: Ident
    agent_id: Ident | None = Field(None, description="the agent it goes to; null: unassigned")


class CallbackRecord(Command, name="callback.record"):
    """The outcome of an attempt to call the customer back: reached and wrong_number close the
    call-back, no_answer and voicemail keep it open (and move its reminder)."""

    callback_id: Ident
    outcome: CallbackOutcome
    note: ShortText | None = None


class InquiryComplete(Command, name="inquiry.complete"):
    """An agent completes a booking request that lacked something (``inquiry.received.missing``): the
    full meeting goes to booking as the original inquiry's request (same inquiry, channel, customer,
    language and reply route; the agent named)."""

    inquiry_id: Ident
    meeting: BookingDetails
    wait_if_taken: bool = Field(False, description="if the slot is taken, wait for it (the waitlist)")


#: the channels a customer can be answered on when an agent books for them (``customer.book``'s reply_channel)
ReplyChannel = Literal["email", "phone", "chat", "wechat"]


class CustomerBook(Command, name="customer.book"):
    """An agent books on a known customer's behalf (a call, a visit, a message on another channel): the
    meeting goes to booking as a new request (its inquiry id derived from the command's), in the
    customer's name, answered on ``reply_channel`` (default: the channel of their last conversation that
    can carry a reply, else email, else phone), in their last conversation's language unless given."""

    customer_id: Ident
    meeting: BookingDetails
    wait_if_taken: bool = Field(False, description="if the slot is taken, wait for it (the waitlist)")
    reply_channel: ReplyChannel | None = Field(
        None,
        description="where the customer hears back: one of their channels that can carry a reply (their email "
        "address, a phone for SMS, their chat or WeChat conversation); null: the usual one",
    )
    language: Language | None = Field(None, description="the language to answer in; null: their last conversation's")


class CustomerLink(Command, name="customer.link"):
    """Two customer records are one person (an agent's decision, with its reason); no identity moves."""

    customer_id: Ident
    other_customer_id: Ident
    reason: ShortText = Field(min_length=1)


class CustomerUnlink(Command, name="customer.unlink"):
    """A link between two customer records was wrong: it is undone (the history keeps it)."""

    customer_id: Ident
    other_customer_id: Ident
    reason: ShortText = Field(min_length=1)


class DeskHandover(Command, name="desk.handover"):
    """Every open conversation and open call-back of one agent goes to another (a supervisor's step)."""

    from_agent: Ident
    to_agent: Ident
    reason: ShortText | None = None


DESK_COMMANDS: tuple[type[Command], ...] = (
    ConversationAssign,
    CallbackAssign,
    CallbackRecord,
    InquiryComplete,
    CustomerBook,
    CustomerLink,
    CustomerUnlink,
    DeskHandover,
)


# -- events ------------------------------------------------------------------------------------------
class ConversationAssigned(EventData, type_="conversation.assigned"):
    conversation_id: str
    agent_id: str | None = None
    previous_agent_id: str | None = None
    actor: str


class CallbackOpened(EventData, type_="callback.opened"):
    """A missed call became a call-back task."""

    callback_id: str
    call_id: str
    customer_id: str | None = None
    phone: str | None = None
    missed_at: AwareDatetime
    remind_at: AwareDatetime


class CallbackAssigned(EventData, type_="callback.assigned"):
    callback_id: str
    agent_id: str | None = None
    previous_agent_id: str | None = None
    actor: str


class CallbackRecorded(EventData, type_="callback.recorded"):
    callback_id: str
    call_id: str
    customer_id: str | None = None
    outcome: CallbackOutcome
    attempts: int
    done: bool
    actor: str
    note: str | None = None


class CallbackReminder(EventData, type_="callback.reminder"):
    """A call-back still open after MEETDESK_CALLBACK_REMIND_MINUTES (and again every as many)."""

    callback_id: str
    call_id: str
    customer_id: str | None = None
    assignee: str | None = None
    attempts: int
    open_minutes: int


class InquiryCompleted(EventData, type_="inquiry.completed"):
    """An agent completed an incomplete booking request; booking.requested went with it."""

    inquiry_id: str
    actor: str
    customer_id: str | None = None


class DeskHandedOver(EventData, type_="desk.handed_over"):
    from_agent: str
    to_agent: str
    conversations: int
    callbacks: int
    reason: str | None = None
    actor: str


DESK_EVENTS: tuple[type[EventData], ...] = (
    ConversationAssigned,
    CallbackOpened,
    CallbackAssigned,
    CallbackRecorded,
    CallbackReminder,
    InquiryCompleted,
    DeskHandedOver,
)
