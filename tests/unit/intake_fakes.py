"""An in-memory IntakeStore for intake's handler tests: the same methods, the same set semantics.

Like the real store (``services/intake/store.py``) it keeps a delivery log whose first sight of a
(channel, source_ref) is the only one reported (a second row with the same key, in the same call
or later, is not), the message ids that place replies in conversations, customers oldest first with
their identities (an identity registered twice is a lost race: ``RetryTransaction``), conversations
(loaded as copies, so only what is saved is kept), inquiries (one per delivery) and the questions
awaiting a customer's answer, one per route (a later question replaces an earlier one, never the
reverse). ``calls`` counts the statements each method would run, so a test can hold a batch to a fixed
number of them.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections import Counter
from collections.abc import Iterable
from datetime import datetime, timedelta

from services.intake.directory import Conversation
from services.intake.domain import AckClaim, Delivery, Inquiry, Question, Route
from shared.db import RetryTransaction

Key = tuple[str, str]


class FakeIntakeStore:
    def __init__(self) -> None:
        self.deliveries: dict[Key, Delivery] = {}
        self.message_refs: dict[Key, str] = {}
        self.customers: dict[uuid.UUID, str | None] = {}  # in the order they were created: oldest first
        self.identities: dict[Key, uuid.UUID] = {}
        self.conversations: dict[str, Conversation] = {}
        self.inquiries: dict[Key, Inquiry] = {}
        self.questions: dict[Route, Question] = {}
        self.acknowledged: dict[Route, datetime] = {}  # the last acknowledgement sent on each route
        self.calls: Counter[str] = Counter()

    # -- the store's methods ------------------------------------------------------------------------
    async def conversations_of_refs(self, refs: Iterable[Key]) -> dict[Key, str]:
        wanted = set(refs)
        if not wanted:
            return {}
        self.calls["conversations_of_refs"] += 1
        return {ref: self.message_refs[ref] for ref in sorted(wanted) if ref in self.message_refs}

    async def record_deliveries(self, rows: list[Delivery]) -> set[Key]:
        if not rows:
            return set()
        self.calls["record_deliveries"] += 1
        first: set[Key] = set()
        for row in rows:
            key = (row.channel, row.source_ref)
            if key not in self.deliveries:
                self.deliveries[key] = row
                first.add(key)
        return first

    async def add_message_refs(self, rows: list[tuple[str, str, str]]) -> None:
        if rows:
            self.calls["add_message_refs"] += 1
            for channel, ref, conversation_id in rows:
                self.message_refs.setdefault((channel, ref), conversation_id)

    async def known_identities(self, ids: Iterable[Key]) -> list[tuple[str, str, uuid.UUID]]:
        wanted = set(ids)
        if not wanted:
            return []
        self.calls["known_identities"] += 1
        age = {customer_id: i for i, customer_id in enumerate(self.customers)}
        found = [
            (kind, value, self.identities[(kind, value)]) for kind, value in wanted if (kind, value) in self.identities
        ]
        return sorted(found, key=lambda row: (age[row[2]], str(row[2])))

    async def add_customers(
        self, customers: list[tuple[uuid.UUID, str | None]], identities: list[tuple[str, str, uuid.UUID]]
    ) -> None:
        if customers:
            self.calls["add_customers"] += 1
            for customer_id, name in customers:
                assert customer_id not in self.customers, "a customer id is new"
                self.customers[customer_id] = name
        if identities:
            self.calls["add_identities"] += 1
            taken = [(k, v) for k, v, _ in identities if (k, v) in self.identities]
            if taken or len({(k, v) for k, v, _ in identities}) != len(identities):
                raise RetryTransaction("another delivery registered the same identity concurrently")
            for kind, value, customer_id in identities:
                assert customer_id in self.customers, "an identity belongs to a customer"
                self.identities[(kind, value)] = customer_id

    async def lock_conversations(self, first_seen: dict[str, tuple[str, datetime]]) -> dict[str, Conversation]:
        if not first_seen:
            return {}
        self.calls["open_conversations"] += 1
        self.calls["lock_conversations"] += 1
        for conversation_id, (channel, at) in first_seen.items():
            self.conversations.setdefault(
                conversation_id, Conversation(conversation_id, channel, opened_at=at, last_activity_at=at)
            )
        return {i: dataclasses.replace(self.conversations[i], changed=False) for i in sorted(first_seen)}

    async def save_conversations(self, conversations: Iterable[Conversation]) -> None:
        changed = [c for c in conversations if c.changed]
        if changed:
            self.calls["save_conversations"] += 1
            for c in changed:
                assert c.conversation_id in self.conversations, "a conversation is opened before it is saved"
                self.conversations[c.conversation_id] = dataclasses.replace(c, changed=False)

    async def record_inquiries(self, rows: list[Inquiry]) -> None:
        if rows:
            self.calls["record_inquiries"] += 1
            for row in rows:
                self.inquiries.setdefault((row.channel, row.source_ref), row)

    async def claim_acknowledgements(self, claims: list[AckClaim], every: timedelta) -> set[Route]:
        if not claims:
            return set()
        self.calls["claim_acknowledgements"] += 1
        won: set[Route] = set()
        for channel, address, at in claims:
            assert (channel, address) not in won, "one claim per route"
            last = self.acknowledged.get((channel, address))
            if last is None or last <= at - every or last > at + every:
                self.acknowledged[(channel, address)] = at
                won.add((channel, address))
        return won

    async def lock_questions(self, routes: Iterable[Route]) -> dict[Route, Question]:
        wanted = set(routes)
        if not wanted:
            return {}
        self.calls["lock_questions"] += 1
        return {route: self.questions[route] for route in sorted(wanted) if route in self.questions}

    async def clear_questions(self, questions: list[Question]) -> None:
        if questions:
            self.calls["clear_questions"] += 1
            for question in questions:
                self.questions.pop(question.route, None)

    async def ask(self, question: Question) -> None:
        self.calls["ask"] += 1
        earlier = self.questions.get(question.route)
        if earlier is None or earlier.asked_at <= question.asked_at:
            self.questions[question.route] = question

    # -- for tests ------------------------------------------------------------------------------------
    def known_customer(self, name: str | None, *identities: Key) -> uuid.UUID:
        """A customer already in the directory, with these identities."""
        customer_id = uuid.uuid4()
        self.customers[customer_id] = name
        for identity in identities:
            self.identities[identity] = customer_id
        return customer_id

    @property
    def statements(self) -> int:
        return sum(self.calls.values())
