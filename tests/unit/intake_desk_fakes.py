"""An in-memory twin of the desk's statements (``services/intake/desk_store.py``) for the desk's
handler tests: conversations with their assignee, call-backs (one per call), inquiries as the desk
completes them, customers and the links between them (kept when undone)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime

from services.intake.desk import Callback, ConversationDesk, InquiryDesk, Link


@dataclass
class DeskConversation:
    conversation_id: str
    status: str = "open"
    assignee: str | None = None
    assigned_at: datetime | None = None


class FakeDeskStore:
    def __init__(self) -> None:
        self.conversations: dict[str, DeskConversation] = {}
        self.callbacks: dict[uuid.UUID, Callback] = {}
        self.inquiries: dict[uuid.UUID, InquiryDesk] = {}
        self.customers: set[uuid.UUID] = set()
        self.links: list[Link] = []
        self.answered_conversations: list[str] = []  # no longer awaiting a reply (a call-back reached them)

    # -- set-up ---------------------------------------------------------------------------------------
    def conversation(self, conversation_id: str, *, assignee: str | None = None, status: str = "open") -> None:
        self.conversations[conversation_id] = DeskConversation(conversation_id, status, assignee)

    def customer(self) -> uuid.UUID:
        c = uuid.uuid4()
        self.customers.add(c)
        return c

    # -- the store's methods ----------------------------------------------------------------------------
    async def conversation_desk(self, conversation_id: str, *, lock: bool = False) -> ConversationDesk | None:
        c = self.conversations.get(conversation_id)
        return ConversationDesk(c.conversation_id, c.assignee) if c else None

    async def assign_conversation(self, conversation_id: str, agent_id: str | None, at: datetime) -> None:
        c = self.conversations[conversation_id]
        c.assignee, c.assigned_at = agent_id, at if agent_id else None

    async def answered(self, conversation_id: str) -> None:
        self.answered_conversations.append(conversation_id)

    async def open_callback(self, cb: Callback) -> bool:
        if any(x.call_id == cb.call_id for x in self.callbacks.values()) or cb.callback_id in self.callbacks:
            return False
        self.callbacks[cb.callback_id] = cb
        return True

    async def callback(self, callback_id: uuid.UUID, *, lock: bool = False) -> Callback | None:
        return self.callbacks.get(callback_id)

    async def save_callback(self, cb: Callback) -> None:
        assert cb.callback_id in self.callbacks
        self.callbacks[cb.callback_id] = cb

    async def inquiry_desk(self, inquiry_id: uuid.UUID, *, lock: bool = False) -> InquiryDesk | None:
        return self.inquiries.get(inquiry_id)

    async def complete_inquiry(self, inquiry_id: uuid.UUID, actor: str, at: datetime) -> None:
        self.inquiries[inquiry_id] = replace(self.inquiries[inquiry_id], completed_at=at, completed_by=actor)

    async def lock_customers(self, ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
        return {i for i in ids if i in self.customers}

    async def links_of(self, ids: Iterable[uuid.UUID]) -> list[Link]:
        wanted = set(ids)
        return [x for x in self.links if x.customer_id in wanted or x.other_customer_id in wanted]

    async def add_link(self, link: Link) -> None:
        self.links.append(replace(link, link_id=len(self.links) + 1))

    async def end_link(self, link: Link) -> None:
        for n, x in enumerate(self.links):
            if x.link_id == link.link_id and x.unlinked_at is None:
                self.links[n] = link

    async def hand_over(self, from_agent: str, to_agent: str, at: datetime) -> tuple[int, int]:
        conversations = callbacks = 0
        for c in self.conversations.values():
            if c.assignee == from_agent and c.status not in ("resolved", "closed"):
                c.assignee, c.assigned_at = to_agent, at
                conversations += 1
        for key, cb in list(self.callbacks.items()):
            if cb.assignee == from_agent and cb.status == "open":
                self.callbacks[key] = replace(cb, assignee=to_agent)
                callbacks += 1
        return conversations, callbacks
