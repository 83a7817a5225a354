"""What every channel adapter produces: one or more :class:`Normalised` items per payload."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from shared.contract.common import MeetingDetails
from shared.contract.inbound import CustomerContact

Kind = Literal[
    "inquiry",  # a customer wrote or called: inquiry.received (and what its intent implies)
    "feedback",  # a survey answer: feedback.received only
    "agent_reply",  # one of our agents answered on a conversation: agent.replied
    "missed_call",  # a call nobody answered: call.missed
    "status_change",  # a conversation was opened/resolved on the channel's side: recorded only
    "delivery_failure",  # a bounce: a message we sent to contact.email could not be delivered: notification.failed
    "delivery_report",  # a delivery report that reports no failure (a delay, a relay): recorded only
]


@dataclass(frozen=True)
class ChannelContext:
    """Settings an adapter may need; plain values, no I/O."""

    default_region: str = "HK"
    agent_email_domains: tuple[str, ...] = ("meetdesk.example",)
    venue_timezone: str = "Asia/Hong_Kong"


@dataclass
class Normalised:
    channel: str
    source_ref: str  # the channel's own id of this delivery: Message-ID, UniqueID, message id, MsgId, …
    received_at: datetime | None  # timezone-aware; None: the payload has no time of its own (dated on arrival)
    contact: CustomerContact | None
    kind: Kind = "inquiry"
    intent: str | None = None  # None: free text, the classifier decides
    text: str | None = None  # the text to classify (quotes and signatures trimmed)
    subject: str | None = None
    language: str | None = None  # None: detected from subject + text
    agent_id: str | None = None
    booking_id: str | None = None
    category: str | None = None
    severity: str | None = None
    score: int | None = None
    meeting: MeetingDetails | None = None  # structured booking details, when the payload has them
    feedback_subject: tuple[str, str | None] | None = None  # (booking|complaint|service, id)
    # conversations: a channel-native conversation key (Chatwoot conversation id, WeChat OpenID,
    # the call's UniqueID) and, for email, the Message-IDs this message answers (In-Reply-To,
    # References) — a reply joins the conversation of the message it answers.
    conversation_key: str | None = None
    thread_refs: list[str] = field(default_factory=list)
    channel_identity: tuple[str, str] | None = None  # e.g. ("wechat", OpenID): also identifies the customer
    response_seconds: float | None = None  # agent replies: time from the customer's contact to the answer
    flags: list[str] = field(default_factory=list)  # e.g. "charset_guessed", "html_only", "non_text"
    extra: dict[str, Any] = field(default_factory=dict)
