"""The customer directory and conversation state, as plain Python over a snapshot of the database.

Intake applies the deliveries in flight together (one transaction per batch): it loads what the
batch needs in a few set-based statements, decides item by item here, in delivery order, and
writes the outcome back in a few more. An item sees what the items before it in the batch did
(a customer created by one message is found by the next; a reply answers the message before it).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

Identity = tuple[str, str]  # (kind, value): ("email", "a@b.hk"), ("phone", "+85291234567"), ("wechat", openid)


@dataclass
class Resolution:
    customer_id: uuid.UUID
    created: bool
    linked: list[Identity]  # identities newly attached to an existing customer
    evidence: list[Identity]  # the identities that matched


class Directory:
    """Who owns which identity. Built from the known owners of the identities a batch mentions,
    oldest customer first; :meth:`resolve` then finds or creates each message's customer and
    records what must be written (``new_customers``, ``new_identities``)."""

    def __init__(self, known: Iterable[tuple[str, str, uuid.UUID]]):
        self._owner: dict[Identity, uuid.UUID] = {}
        self._age: dict[uuid.UUID, int] = {}  # lower = older; new customers are younger than all known
        for kind, value, customer_id in known:
            self._owner[(kind, value)] = customer_id
            self._age.setdefault(customer_id, len(self._age))
        self.new_customers: list[tuple[uuid.UUID, str | None]] = []
        self.new_identities: list[tuple[str, str, uuid.UUID]] = []

    def resolve(self, name: str | None, ids: Iterable[Identity]) -> Resolution:
        """The customer these identities belong to (same email or same phone = same person); a new
        one if none is known. Identities not yet known are attached to the customer found. When
        several customers match (an email of one, a phone of another) the oldest is kept: merging
        them is a decision for an agent."""
        wanted = list(dict.fromkeys(ids))
        matches = [(i, self._owner[i]) for i in wanted if i in self._owner]
        if matches:
            customer_id = min((c for _, c in matches), key=self._age.__getitem__)
            new = [i for i in wanted if i not in self._owner]
            self._attach(customer_id, new)
            return Resolution(customer_id, False, new, [i for i, c in matches if c == customer_id])
        customer_id = uuid.uuid4()
        self._age[customer_id] = len(self._age)
        self.new_customers.append((customer_id, name))
        self._attach(customer_id, wanted)
        return Resolution(customer_id, True, [], [])

    def owner(self, ids: Iterable[Identity]) -> uuid.UUID | None:
        """The known customer (the oldest) with one of these identities; None: nobody. Creates nothing."""
        found = [self._owner[i] for i in ids if i in self._owner]
        return min(found, key=self._age.__getitem__) if found else None

    def _attach(self, customer_id: uuid.UUID, ids: list[Identity]) -> None:
        for kind, value in ids:
            self._owner[(kind, value)] = customer_id
            self.new_identities.append((kind, value, customer_id))


@dataclass
class Reply:
    first_reply: bool
    awaiting_since: datetime | None  # when the customer's oldest unanswered message came


@dataclass
class Conversation:
    """One conversation's row: an email thread, a Chatwoot conversation, a WeChat chat, a call."""

    conversation_id: str
    channel: str
    opened_at: datetime
    last_activity_at: datetime
    status: str = "open"
    customer_id: uuid.UUID | None = None
    first_reply_at: datetime | None = None
    awaiting_since: datetime | None = None
    language: str | None = None  # the language of the customer's last message whose script was clear
    changed: bool = field(default=False, compare=False)

    def language_for(self, detected: str, *, undecided: bool) -> str:
        """The language of the customer's new message: as detected, unless its Chinese does not show
        its script (``undecided``: ``detected`` is then the channel's usual one) and the conversation
        was in Chinese before — then that script. A clear one is remembered."""
        if undecided:
            return self.language if self.language in ("zh-Hant", "zh-Hans") else detected
        if detected != self.language:
            self.language = detected
            self.changed = True
        return detected

    def customer_wrote(self, customer_id: uuid.UUID | None, at: datetime) -> None:
        """The customer wrote (or called): the conversation is open and awaits an answer since the
        oldest unanswered message."""
        self.customer_id = self.customer_id or customer_id
        self.awaiting_since = self.awaiting_since or at
        self.status = "open"
        self._touch(at)

    def agent_replied(self, customer_id: uuid.UUID | None, at: datetime) -> Reply:
        """An agent answered: was it the first answer, and since when was it awaited?"""
        reply = Reply(first_reply=self.first_reply_at is None, awaiting_since=self.awaiting_since)
        self.customer_id = self.customer_id or customer_id
        self.first_reply_at = self.first_reply_at or at
        self.awaiting_since = None
        self._touch(at)
        return reply

    def status_changed(self, status: str, at: datetime) -> None:
        self.status = status
        self._touch(at)

    def _touch(self, at: datetime) -> None:
        self.last_activity_at = max(self.last_activity_at, at)
        self.changed = True
