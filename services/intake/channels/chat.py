"""Chat channel: a Chatwoot webhook body → :class:`Normalised` items.

Chatwoot posts ``message_created`` with the message at the top level (``id`` is the message id,
``message_type`` ``incoming`` = the customer, ``outgoing`` = us), the sender (a contact or a user, i.e. an
agent) and the conversation (``conversation.meta.sender`` is the contact); and
``conversation_status_changed`` with the conversation itself at the top level (``id`` is the
conversation id). Both spell the conversation id the same way (its ``display_id``), so it is the
conversation key. ``created_at`` is ISO 8601 (``2026-12-01T06:03:22.000Z``), in old versions
``2026-12-01 06:03:22 UTC``, and in the embedded message lists epoch seconds; all are accepted.

Private notes, activity and template messages, and every other event, are acknowledged and ignored
(``[]``).
"""

from __future__ import annotations

import hashlib
import math
import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, ConfigDict, field_validator, model_validator

from shared.contract.common import Ident, Model, ShortText
from shared.contract.inbound import CustomerContact
from shared.runtime import Incoming, Rejected

from ..normalised import ChannelContext, Normalised

CHANNEL = "chat"
MESSAGE_TYPES = {0: "incoming", 1: "outgoing", 2: "activity", 3: "template"}  # Chatwoot's enum values
IGNORED_TYPES = {"activity", "template"}
HUMAN_SENDER = "user"  # Chatwoot's agents; "agent_bot" / "captain_assistant" are automated, "contact" a customer


def chatwoot_time(value: Any) -> datetime:
    """ISO 8601 (offset or ``Z``), ``YYYY-MM-DD HH:MM:SS UTC`` or epoch seconds (milliseconds tolerated),
    as an aware UTC datetime. A time without an offset is UTC, as Chatwoot (Rails) writes it."""
    if isinstance(value, str) and re.fullmatch(r"\s*[0-9]{1,15}(?:\.[0-9]+)?\s*", value):
        value = float(value)
    if isinstance(value, bool):
        raise ValueError("expected a time, not a boolean")
    if isinstance(value, int | float):
        try:
            seconds = float(value)
            if not math.isfinite(seconds):
                raise ValueError("not a finite number")
            if abs(seconds) >= 1e11:  # epoch milliseconds
                seconds /= 1000
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError) as exc:
            raise ValueError(f"epoch time out of range: {exc}") from None
    if not isinstance(value, str):
        raise ValueError("expected an ISO 8601 time or epoch seconds")
    text = value.strip()
    if text.endswith(" UTC"):
        text = text[:-4] + "+00:00"
    parsed = datetime.fromisoformat(text)  # ValueError for anything else
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError(f"time out of range: {exc}") from None


ChatwootTime = Annotated[datetime, BeforeValidator(chatwoot_time)]


class _Lenient(Model):
    """Chatwoot ids are numbers (in some versions strings); both are accepted as strings."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True, coerce_numbers_to_str=True)


class Person(_Lenient):
    """A contact (``type`` "contact") or an agent (``type`` "user"), or an agent bot."""

    id: Ident | None = None
    name: ShortText | None = None
    email: ShortText | None = None
    phone_number: ShortText | None = None
    type: ShortText | None = None


class ConversationMeta(_Lenient):
    sender: Person | None = None
    assignee: Person | None = None


class ContactInbox(_Lenient):
    contact_id: Ident | None = None
    source_id: Ident | None = None


class Conversation(_Lenient):
    id: Ident | None = None
    display_id: Ident | None = None
    status: ShortText | None = None
    meta: ConversationMeta | None = None
    contact_inbox: ContactInbox | None = None


class MessageCreated(_Lenient):
    event: Literal["message_created"]
    id: Ident
    content: str | None = None
    created_at: ChatwootTime
    message_type: Literal["incoming", "outgoing", "activity", "template"]
    content_type: ShortText | None = None
    content_attributes: dict[str, Any] | None = None
    private: bool = False
    sender: Person | None = None
    contact: Person | None = None
    conversation: Conversation | None = None
    conversation_id: Ident | None = None  # the flat form of Chatwoot's own push payloads

    @field_validator("message_type", mode="before")
    @classmethod
    def _enum_value(cls, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            return MESSAGE_TYPES.get(value, value)
        return value

    @field_validator("private", mode="before")
    @classmethod
    def _null_is_public(cls, value: Any) -> Any:
        return False if value is None else value

    @field_validator("content_attributes", mode="before")
    @classmethod
    def _attributes_object(cls, value: Any) -> Any:
        return value if isinstance(value, dict) else None


class StatusChanged(_Lenient):
    event: Literal["conversation_status_changed"]
    id: Ident
    status: ShortText
    meta: ConversationMeta | None = None
    contact_inbox: ContactInbox | None = None
    timestamp: Any = None
    updated_at: Any = None

    @model_validator(mode="after")
    def _status_is_text(self) -> StatusChanged:
        if not self.status.strip():
            raise ValueError("status is empty")
        return self


def adapt(msg: Incoming, ctx: ChannelContext) -> list[Normalised]:
    body = msg.json()
    if not isinstance(body, dict):
        raise Rejected("a Chatwoot webhook body is a JSON object")
    event = body.get("event")
    if not isinstance(event, str):
        raise Rejected("event: not a Chatwoot webhook (no event name)")
    if event == "message_created":
        return _message(msg.parse(MessageCreated))
    if event == "conversation_status_changed":
        return [_status_change(msg.parse(StatusChanged), msg.body)]
    return []  # other Chatwoot events are acknowledged and ignored


def _message(m: MessageCreated) -> list[Normalised]:
    if m.private or m.message_type in IGNORED_TYPES:
        return []
    conversation = m.conversation
    conversation_id = (conversation and (conversation.id or conversation.display_id)) or m.conversation_id
    if not conversation_id:
        raise Rejected("conversation.id: a message without a conversation id cannot be placed")
    customer = conversation.meta.sender if conversation and conversation.meta else None
    common: dict[str, Any] = {
        "channel": CHANNEL,
        "source_ref": f"message:{m.id}",
        "received_at": m.created_at,
        "conversation_key": f"chatwoot:{conversation_id}",
    }
    text = m.content.strip() if m.content and m.content.strip() else None
    flags = [] if text else ["non_text"]

    if m.message_type == "incoming":
        sender = m.sender if m.sender is not None and m.sender.type in (None, "contact") else None
        who = sender or m.contact or customer
        return [
            Normalised(
                **common,
                kind="inquiry",
                contact=_contact(who),
                intent=None,
                text=text,
                channel_identity=_identity(who, conversation),
                flags=flags,
            )
        ]

    # outgoing: one of our replies; intake computes the response time from the conversation
    sender = m.sender
    automated = (
        sender is None
        or (sender.type is not None and sender.type != HUMAN_SENDER)
        or bool(m.content_attributes and m.content_attributes.get("automation_rule_id"))
    )
    agent_id = None if automated or sender is None else (sender.id or _blank(sender.email))
    return [
        Normalised(
            **common,
            kind="agent_reply",
            contact=_contact(customer or m.contact),
            text=text,
            agent_id=agent_id,
            channel_identity=_identity(customer or m.contact, conversation),
            response_seconds=None,
            flags=[*flags, "automated"] if automated else flags,
            extra={"sender_type": sender.type if sender else None} if automated else {},
        )
    ]


def _status_change(s: StatusChanged, raw: bytes) -> Normalised:
    status = s.status.strip()
    when = _first_time(s.updated_at, s.timestamp)
    stamp = _stamp(s.updated_at) or _stamp(s.timestamp) or hashlib.sha256(raw).hexdigest()[:16]
    customer = s.meta.sender if s.meta else None
    return Normalised(
        channel=CHANNEL,
        source_ref=f"conversation:{s.id}:{status}:{stamp}",
        received_at=when,  # None: dated when it reaches intake
        contact=_contact(customer),
        kind="status_change",
        conversation_key=f"chatwoot:{s.id}",
        channel_identity=_identity(customer, None),
        extra={"status": status},
    )


# -- helpers ------------------------------------------------------------------------------------
# Chatwoot names anonymous web-widget visitors like "little-haze-776": not a person's name.
_GENERATED_NAME = re.compile(r"[a-z]+-[a-z]+-[0-9]{1,4}")


def _contact(person: Person | None) -> CustomerContact | None:
    if person is None:
        return None
    name = _blank(person.name)
    if name and _GENERATED_NAME.fullmatch(name):
        name = None
    contact = CustomerContact(name=name, email=_blank(person.email), phone=_blank(person.phone_number))
    return contact if contact.name or contact.email or contact.phone else None


def _identity(person: Person | None, conversation: Conversation | None) -> tuple[str, str] | None:
    contact_id = person.id if person is not None and person.type in (None, "contact") else None
    if contact_id is None and conversation is not None and conversation.contact_inbox is not None:
        contact_id = conversation.contact_inbox.contact_id
    return ("chatwoot_contact", contact_id) if contact_id else None


def _blank(value: str | None) -> str | None:
    return value.strip() if value and value.strip() else None


def _first_time(*values: Any) -> datetime | None:
    for value in values:
        if value is None:
            continue
        try:
            return chatwoot_time(value)
        except ValueError:
            continue
    return None


def _stamp(value: Any) -> str | None:
    """A status change's own time, as written, to tell two changes to the same status apart."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    text = str(value).strip()
    return text[:64] if text else None
