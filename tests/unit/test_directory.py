"""The customer directory and conversation state that intake decides a batch with (plain Python)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from services.intake.directory import Conversation, Directory

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
OLD, NEWER = uuid.uuid4(), uuid.uuid4()
EMAIL, PHONE, WECHAT = ("email", "chan@example.hk"), ("phone", "+85291234567"), ("wechat", "oABC")


def test_unknown_identities_make_one_new_customer_and_are_written():
    d = Directory([])
    who = d.resolve("Chan Tai Man", [EMAIL, PHONE])
    assert who.created and who.linked == [] and who.evidence == []
    assert d.new_customers == [(who.customer_id, "Chan Tai Man")]
    assert d.new_identities == [(*EMAIL, who.customer_id), (*PHONE, who.customer_id)]


def test_a_later_message_in_the_same_batch_finds_the_customer_the_first_created():
    d = Directory([])
    first = d.resolve("Chan", [EMAIL])
    second = d.resolve(None, [EMAIL, WECHAT])  # same email, now from WeChat too
    assert second.customer_id == first.customer_id and not second.created
    assert second.linked == [WECHAT] and second.evidence == [EMAIL]
    assert len(d.new_customers) == 1
    assert d.new_identities == [(*EMAIL, first.customer_id), (*WECHAT, first.customer_id)]


def test_a_known_identity_resolves_without_writing_anything():
    d = Directory([(*EMAIL, OLD)])
    who = d.resolve("Chan", [EMAIL])
    assert (who.customer_id, who.created, who.linked, who.evidence) == (OLD, False, [], [EMAIL])
    assert d.new_customers == [] and d.new_identities == []


def test_two_customers_matching_keeps_the_oldest_and_links_nothing_it_already_has():
    d = Directory([(*EMAIL, OLD), (*PHONE, NEWER)])  # oldest customer first, as loaded
    who = d.resolve(None, [PHONE, EMAIL, WECHAT])
    assert who.customer_id == OLD
    assert who.evidence == [EMAIL], "only the identities of the customer kept count as evidence"
    assert who.linked == [WECHAT] and d.new_identities == [(*WECHAT, OLD)]


def test_repeated_identities_are_attached_once():
    d = Directory([])
    who = d.resolve(None, [EMAIL, EMAIL])
    assert d.new_identities == [(*EMAIL, who.customer_id)]


def test_no_identity_at_all_is_a_new_customer_each_time():
    d = Directory([])
    assert d.resolve(None, []).customer_id != d.resolve(None, []).customer_id


def conversation() -> Conversation:
    return Conversation("chat:7", "chat", opened_at=T0, last_activity_at=T0)


def test_an_answer_reports_the_oldest_unanswered_message_and_clears_it():
    c = conversation()
    c.customer_wrote(OLD, T0)
    c.customer_wrote(OLD, T0 + timedelta(minutes=2))
    reply = c.agent_replied(None, T0 + timedelta(minutes=5))
    assert reply.first_reply and reply.awaiting_since == T0
    assert c.awaiting_since is None and c.first_reply_at == T0 + timedelta(minutes=5)
    second = c.agent_replied(None, T0 + timedelta(minutes=9))
    assert not second.first_reply and second.awaiting_since is None
    assert c.first_reply_at == T0 + timedelta(minutes=5), "the first answer's time is kept"
    assert c.changed


def test_a_customer_writing_reopens_and_activity_never_goes_back_in_time():
    c = conversation()
    c.status_changed("resolved", T0 + timedelta(hours=1))
    c.customer_wrote(NEWER, T0 + timedelta(minutes=30))  # delivered late
    assert c.status == "open" and c.customer_id == NEWER
    assert c.last_activity_at == T0 + timedelta(hours=1)
    assert c.awaiting_since == T0 + timedelta(minutes=30)


def test_an_agent_writing_first_names_the_customer_but_awaits_nothing():
    c = conversation()
    reply = c.agent_replied(OLD, T0)
    assert reply.first_reply and reply.awaiting_since is None
    assert c.customer_id == OLD


def test_an_untouched_conversation_is_not_written():
    assert not conversation().changed
