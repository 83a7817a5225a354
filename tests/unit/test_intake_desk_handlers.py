"""The desk's handlers (services/intake/handlers.py) against the in-memory unit of work: what each
command wrote, emitted, scheduled or cancelled, and what a repeat or a refusal leaves alone."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from services.intake import desk, handlers
from services.intake.desk import InquiryDesk
from services.intake.domain import Policy
from services.intake.normalised import ChannelContext
from shared.contract.desk import (
    CallbackAssign,
    CallbackRecord,
    ConversationAssign,
    CustomerLink,
    CustomerUnlink,
    DeskHandover,
    InquiryComplete,
)
from shared.contract.events import BookingDetails, CallMissed

from .fakes import FakeUnitOfWork, command_in, event_in
from .intake_desk_fakes import FakeDeskStore

T0 = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
POLICY = Policy.of(ChannelContext(), 1_048_576, callback_remind_minutes=20)
EVERY = timedelta(minutes=20)


def uow(store: FakeDeskStore, now: datetime = T0) -> FakeUnitOfWork[FakeDeskStore]:
    return FakeUnitOfWork(store, producer="intake", now=now)


def cid() -> str:
    return str(uuid.uuid4())


async def test_assigning_a_conversation_records_the_agent_and_says_who_had_it() -> None:
    store = FakeDeskStore()
    store.conversation("wechat:oW1", assignee="ann")
    u = uow(store)
    cmd = ConversationAssign(command_id=cid(), actor="sup", conversation_id="wechat:oW1", agent_id="bob")
    assert await handlers.conversation_assign(u, command_in(cmd), T0, POLICY) is None
    assert store.conversations["wechat:oW1"].assignee == "bob"
    assert u.events("conversation.assigned") == [
        {"conversation_id": "wechat:oW1", "agent_id": "bob", "previous_agent_id": "ann", "actor": "sup"}
    ]
    again = uow(store)
    assert await handlers.conversation_assign(again, command_in(cmd), T0, POLICY) is None
    assert again.emitted == [], "assigning it to the agent who has it says nothing"


async def test_an_unknown_conversation_is_refused_with_its_id() -> None:
    u = uow(FakeDeskStore())
    cmd = ConversationAssign(command_id=cid(), actor="bob", conversation_id="chat:9", agent_id="bob")
    assert "chat:9" in (await handlers.conversation_assign(u, command_in(cmd), T0, POLICY) or "")
    assert u.emitted == []


async def test_a_missed_call_opens_one_call_back_with_its_reminder_however_often_it_is_delivered() -> None:
    store = FakeDeskStore()
    customer = cid()
    missed = CallMissed(call_id="1733.1", customer_id=customer, phone="+85291234567", disposition="BUSY", started_at=T0)
    u = uow(store)
    await handlers.call_missed(u, event_in(missed), T0, POLICY)
    (cb,) = store.callbacks.values()
    assert (cb.call_id, str(cb.customer_id), cb.status, cb.remind_at) == ("1733.1", customer, "open", T0 + EVERY)
    assert u.types() == ["callback.opened"]
    assert u.due[(desk.CALLBACK_REMIND, str(cb.callback_id))].due_at == T0 + EVERY
    again = uow(store)
    await handlers.call_missed(again, event_in(missed), T0, POLICY)  # another event id, the same call
    assert len(store.callbacks) == 1 and again.emitted == [] and again.due == {}


async def _callback(store: FakeDeskStore) -> str:
    missed = CallMissed(
        call_id=f"c-{uuid.uuid4().hex[:6]}", phone="+85291234567", disposition="NO ANSWER", started_at=T0
    )
    await handlers.call_missed(uow(store), event_in(missed), T0, POLICY)
    return str(desk.callback_id_of(missed.call_id))


async def test_no_answer_moves_the_reminder_and_reaching_the_customer_closes_the_call_back() -> None:
    store = FakeDeskStore()
    callback_id = await _callback(store)
    t1 = T0 + timedelta(minutes=5)
    u = uow(store, t1)
    cmd = CallbackRecord(command_id=cid(), actor="ann", callback_id=callback_id, outcome="no_answer", note="rang 8x")
    assert await handlers.callback_record(u, command_in(cmd), t1, POLICY) is None
    assert u.due[(desk.CALLBACK_REMIND, callback_id)].due_at == t1 + EVERY
    (recorded,) = u.events("callback.recorded")
    assert (recorded["attempts"], recorded["done"], recorded["actor"], recorded["note"]) == (1, False, "ann", "rang 8x")

    t2 = T0 + timedelta(minutes=30)
    u2 = uow(store, t2)
    reached = CallbackRecord(command_id=cid(), actor="ann", callback_id=callback_id, outcome="reached")
    assert await handlers.callback_record(u2, command_in(reached), t2, POLICY) is None
    assert (desk.CALLBACK_REMIND, callback_id) in u2.cancelled
    call_id = store.callbacks[uuid.UUID(callback_id)].call_id
    assert store.answered_conversations == [f"call:{call_id}"], "the missed call's conversation is answered"
    cb = store.callbacks[uuid.UUID(callback_id)]
    assert (cb.status, cb.attempts, cb.done_at, cb.last_outcome) == ("done", 2, t2, "reached")

    u3 = uow(store, t2)
    late = CallbackRecord(command_id=cid(), actor="bob", callback_id=callback_id, outcome="voicemail")
    assert "done already" in (await handlers.callback_record(u3, command_in(late), t2, POLICY) or "")
    assert u3.emitted == [] and store.callbacks[uuid.UUID(callback_id)].attempts == 2


async def test_the_reminder_fires_while_open_and_schedules_the_next_and_stops_once_done() -> None:
    store = FakeDeskStore()
    callback_id = await _callback(store)
    u = uow(store, T0 + EVERY)
    await u.schedule(desk.CALLBACK_REMIND, callback_id, T0 + EVERY)
    await handlers.callback_remind_due(u, u.due_item(desk.CALLBACK_REMIND, callback_id), T0 + EVERY, POLICY)
    (reminder,) = u.events("callback.reminder")
    assert (reminder["open_minutes"], reminder["attempts"], reminder["assignee"]) == (20, 0, None)
    assert u.due[(desk.CALLBACK_REMIND, callback_id)].due_at == T0 + 2 * EVERY

    done = CallbackRecord(command_id=cid(), actor="ann", callback_id=callback_id, outcome="wrong_number")
    await handlers.callback_record(uow(store), command_in(done), T0 + EVERY, POLICY)
    late = uow(store, T0 + 2 * EVERY)
    await late.schedule(desk.CALLBACK_REMIND, callback_id, T0 + 2 * EVERY)
    await handlers.callback_remind_due(late, late.due_item(desk.CALLBACK_REMIND, callback_id), late.now, POLICY)
    assert late.emitted == [], "a call-back done is not reminded"
    assert late.due[(desk.CALLBACK_REMIND, callback_id)].due_at == T0 + 2 * EVERY, "and no next reminder is set"


async def test_a_call_back_is_assigned_and_an_unknown_one_refused() -> None:
    store = FakeDeskStore()
    callback_id = await _callback(store)
    u = uow(store)
    cmd = CallbackAssign(command_id=cid(), actor="ann", callback_id=callback_id, agent_id="ann")
    assert await handlers.callback_assign(u, command_in(cmd), T0, POLICY) is None
    assert store.callbacks[uuid.UUID(callback_id)].assignee == "ann"
    assert u.events("callback.assigned")[0]["agent_id"] == "ann"
    unknown = CallbackAssign(command_id=cid(), actor="ann", callback_id="not-a-uuid", agent_id="ann")
    assert "no call-back" in (await handlers.callback_assign(uow(store), command_in(unknown), T0, POLICY) or "")


async def test_completing_a_request_sends_booking_requested_under_the_customers_correlation_id_once() -> None:
    store = FakeDeskStore()
    inquiry_id, correlation = uuid.uuid4(), uuid.uuid4()
    store.inquiries[inquiry_id] = InquiryDesk(
        inquiry_id=inquiry_id,
        channel="wechat",
        customer_id=uuid.uuid4(),
        intent="booking_request",
        language="zh-Hans",
        missing=["time"],
        reply_channel="wechat",
        reply_address="wechat:oW1",
        correlation_id=str(correlation),
    )
    meeting = BookingDetails(
        name="会议", start=T0 + timedelta(days=1), end=T0 + timedelta(days=1, hours=1), attendees=6
    )
    cmd = InquiryComplete(command_id=cid(), actor="ann", inquiry_id=str(inquiry_id), meeting=meeting)
    u = uow(store)
    assert await handlers.inquiry_complete(u, command_in(cmd), T0, POLICY) is None
    assert u.types() == ["booking.requested", "inquiry.completed"]
    assert all(e.correlation_id == correlation for e in u.emitted)
    (requested,) = u.events("booking.requested")
    assert requested["inquiry_id"] == str(inquiry_id) and requested["agent_id"] == "ann"
    assert requested["reply_to"] == {"channel": "wechat", "address": "wechat:oW1", "language": "zh-Hans"}
    assert store.inquiries[inquiry_id].completed_by == "ann"

    twice = InquiryComplete(command_id=cid(), actor="bob", inquiry_id=str(inquiry_id), meeting=meeting)
    u2 = uow(store)
    assert "completed already by ann" in (await handlers.inquiry_complete(u2, command_in(twice), T0, POLICY) or "")
    assert u2.emitted == []


async def test_linking_and_unlinking_two_records_keeps_the_history() -> None:
    store = FakeDeskStore()
    a, b = store.customer(), store.customer()
    u = uow(store)
    link = CustomerLink(command_id=cid(), actor="ann", customer_id=str(a), other_customer_id=str(b), reason="same")
    assert await handlers.customer_link(u, command_in(link), T0, POLICY) is None
    assert u.events("customer.linked") == [
        {"customer_id": str(a), "identities": [{"kind": "customer_id", "value": str(b)}], "evidence": "same"}
    ]
    again = CustomerLink(command_id=cid(), actor="ann", customer_id=str(b), other_customer_id=str(a), reason="same")
    assert "linked already" in (await handlers.customer_link(uow(store), command_in(again), T0, POLICY) or "")

    later = T0 + timedelta(hours=1)
    unlink = CustomerUnlink(command_id=cid(), actor="bob", customer_id=str(b), other_customer_id=str(a), reason="no")
    u2 = uow(store, later)
    assert await handlers.customer_unlink(u2, command_in(unlink), later, POLICY) is None
    assert u2.events("customer.unlinked")[0]["identities"] == [{"kind": "customer_id", "value": str(a)}]
    (kept,) = store.links
    assert (kept.linked_by, kept.unlinked_by, kept.unlinked_at, kept.unlink_reason) == ("ann", "bob", later, "no")
    assert "not linked" in (await handlers.customer_unlink(uow(store), command_in(unlink), later, POLICY) or "")
    stranger = CustomerLink(command_id=cid(), actor="a", customer_id=str(a), other_customer_id=cid(), reason="r")
    assert "no customer" in (await handlers.customer_link(uow(store), command_in(stranger), T0, POLICY) or "")


async def test_a_handover_moves_the_open_work_of_one_agent_and_counts_it() -> None:
    store = FakeDeskStore()
    store.conversation("chat:1", assignee="ann")
    store.conversation("chat:2", assignee="ann", status="resolved")
    store.conversation("chat:3", assignee="cat")
    callback_id = await _callback(store)
    await handlers.callback_assign(
        uow(store),
        command_in(CallbackAssign(command_id=cid(), actor="ann", callback_id=callback_id, agent_id="ann")),
        T0,
        POLICY,
    )
    u = uow(store)
    cmd = DeskHandover(command_id=cid(), actor="sup", from_agent="ann", to_agent="bob", reason="shift end")
    assert await handlers.desk_handover(u, command_in(cmd), T0, POLICY) is None
    assert u.events("desk.handed_over") == [
        {
            "from_agent": "ann",
            "to_agent": "bob",
            "conversations": 1,
            "callbacks": 1,
            "reason": "shift end",
            "actor": "sup",
        }
    ]
    assert [c.assignee for c in store.conversations.values()] == ["bob", "ann", "cat"]
    assert store.callbacks[uuid.UUID(callback_id)].assignee == "bob"
    same = DeskHandover(command_id=cid(), actor="sup", from_agent="ann", to_agent="ann")
    assert "another" in (await handlers.desk_handover(uow(store), command_in(same), T0, POLICY) or "")
