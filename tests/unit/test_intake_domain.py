"""Intake's domain, plain Python: preparing an item, placing it in its conversation, deciding what it
implies; and the enumerations it takes from the contract."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, get_args

import pytest

from services.intake import classify, domain, lexicon
from services.intake.adapters import ADAPTERS, FORMS
from services.intake.directory import Conversation, Resolution
from services.intake.domain import CHANNEL_LIMITS, CHANNELS, Item, Policy
from services.intake.normalised import ChannelContext, Normalised
from shared.contract.common import Category, Channel, Intent
from shared.contract.inbound import CustomerContact
from shared.runtime import Rejected

T0 = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
POLICY = Policy.of(ChannelContext(), 1_048_576)
CUSTOMER = uuid.uuid4()


def n(**fields: Any) -> Normalised:
    base: dict[str, Any] = {
        "channel": "email",
        "source_ref": "m1@example.hk",
        "received_at": T0,
        "contact": CustomerContact(name="Chan", email="chan@example.hk"),
        "text": "What are your rates?",
    }
    return Normalised(**{**base, **fields})


def prepared(normalised: Normalised, *, conversation_id: str = "c-1", now: datetime = T0) -> Item:
    item = domain.prepare(normalised, uuid.uuid4(), now, POLICY)
    item.conversation_id = conversation_id
    return item


def new_customer() -> Resolution:
    return Resolution(CUSTOMER, created=True, linked=[], evidence=[])


def conversation(**fields: Any) -> Conversation:
    return Conversation(
        **{"conversation_id": "c-1", "channel": "email", "opened_at": T0, "last_activity_at": T0, **fields}
    )


def types(decision: domain.Decision) -> list[str]:
    """The events a decision emits, then the acknowledgement it asks for (sent if its route's slot is free)."""
    ack = [decision.acknowledgement.event_type] if decision.acknowledgement else []
    return [e.event_type for e in decision.events] + ack


# -- the contract's enumerations ---------------------------------------------------------------------
def test_every_channel_of_the_contract_has_an_adapter_and_a_size_limit() -> None:
    assert CHANNELS == get_args(Channel)
    assert set(ADAPTERS) == set(CHANNELS)
    assert set(CHANNEL_LIMITS) == set(CHANNELS)
    assert set(FORMS) <= set(CHANNELS)


def test_no_channel_accepts_more_than_the_service_wide_limit() -> None:
    policy = Policy.of(ChannelContext(), 100_000)
    assert policy.limits == {
        "email": 100_000,  # attachments: up to the service-wide limit
        "phone": 64_000,
        "chat": 100_000,
        "wechat": 64_000,
        "webform": 100_000,
        "onsite": 64_000,
        "survey": 64_000,
    }


def test_the_classifier_decides_among_the_contracts_intents_and_categories() -> None:
    assert classify.INTENTS == get_args(Intent)
    assert classify.CATEGORIES == get_args(Category)
    named = {c for c in lexicon.COMPLAINT if c is not None} | set(lexicon.CATEGORY_HINTS)
    assert named <= set(get_args(Category))


# -- prepare -----------------------------------------------------------------------------------------
def test_prepare_normalises_who_wrote() -> None:
    contact = CustomerContact(name="Chan", email="Chan@Example.HK", phone="2123 4567")
    item = prepared(n(contact=contact, channel_identity=("wechat", "oABC")))
    assert (item.email, item.phone) == ("chan@example.hk", "+85221234567")
    assert item.identities == [("email", "chan@example.hk"), ("phone", "+85221234567"), ("wechat", "oABC")]


def test_an_invalid_contact_on_our_own_form_is_refused() -> None:
    with pytest.raises(Rejected, match="customer contact: not a valid email address"):
        domain.prepare(n(channel="webform", contact=CustomerContact(email="chan@")), uuid.uuid4(), T0, POLICY)


def test_an_invalid_contact_in_a_chat_is_dropped_and_the_message_kept() -> None:
    item = prepared(n(channel="chat", contact=CustomerContact(name="Chan", phone="ext 201")))
    assert (item.email, item.phone) == (None, None)
    assert "contact_invalid" in item.n.flags
    assert item.understood is not None


def test_a_payload_with_its_own_time_keeps_it_and_one_without_is_dated_now() -> None:
    assert prepared(n(received_at=T0), now=T0 + timedelta(hours=5)).received_at == T0
    assert prepared(n(received_at=None), now=T0 + timedelta(hours=5)).received_at == T0 + timedelta(hours=5)


def test_relative_dates_count_from_when_the_message_was_written() -> None:
    text = "Please book a room for 8 people tomorrow 10-11am"
    item = prepared(n(text=text, received_at=T0), now=T0 + timedelta(days=2))
    assert item.understood is not None and item.understood.meeting is not None
    assert item.understood.meeting.start == datetime(2026, 12, 2, 10, tzinfo=POLICY.tz)


def test_only_inquiries_are_understood() -> None:
    assert prepared(n(kind="agent_reply", agent_id="ho")).understood is None


# -- place -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"conversation_key": "chatwoot:45", "thread_refs": ["m0"]}, "chatwoot:45"),
        ({"thread_refs": ["lost", "m0"]}, "email:known-thread"),
        ({"thread_refs": ["lost"]}, "email:lost"),
        ({"channel": "onsite", "booking_id": "b-7"}, "booking:b-7"),
        ({}, "email:m1@example.hk"),
    ],
    ids=["channel-key", "answered-message", "unseen-root", "onsite-booking", "new"],
)
def test_the_conversation_of_an_item(fields: dict[str, Any], expected: str) -> None:
    assert domain.conversation_of(n(**fields), {("email", "m0"): "email:known-thread"}) == expected


def test_a_reply_later_in_the_batch_finds_the_email_before_it() -> None:
    first = prepared(n(source_ref="a@x"), conversation_id="")
    reply = prepared(n(source_ref="b@x", thread_refs=["a@x"]), conversation_id="")
    refs: dict[tuple[str, str], str] = {}
    domain.place([first, reply], refs)
    assert first.conversation_id == reply.conversation_id == "email:a@x"


def test_the_same_delivery_twice_is_fresh_once() -> None:
    a, again, b = prepared(n(source_ref="a")), prepared(n(source_ref="a")), prepared(n(source_ref="b"))
    fresh, repeats = domain.first_deliveries([a, again, b], {("email", "a"), ("email", "b")})
    assert fresh == [a, b] and repeats == [again]
    fresh, repeats = domain.first_deliveries([a], set())
    assert fresh == [] and repeats == [a]


# -- decide ------------------------------------------------------------------------------------------
def test_an_inquiry_is_recorded_and_awaits_an_answer() -> None:
    conv = conversation()
    item = prepared(n(received_at=T0 + timedelta(minutes=3)))
    decision = domain.decide(item, conv, new_customer())

    assert types(decision) == ["inquiry.received", "notification.requested"]
    assert decision.inquiry is not None
    assert (decision.inquiry.customer_id, decision.inquiry.intent) == (CUSTOMER, "inquiry")
    assert decision.inquiry.conversation_id == "c-1"
    assert conv.awaiting_since == T0 + timedelta(minutes=3) and conv.customer_id == CUSTOMER and conv.changed


def test_a_linked_identity_is_announced_before_the_inquiry() -> None:
    who = Resolution(
        CUSTOMER, created=False, linked=[("email", "chan@example.hk")], evidence=[("phone", "+85291234567")]
    )
    decision = domain.decide(prepared(n()), conversation(), who)
    assert types(decision)[0] == "customer.linked"
    linked = decision.events[0].model_dump()
    assert linked["evidence"] == "same phone as a known customer"
    assert linked["identities"] == [
        {"kind": "phone", "value": "+85291234567"},
        {"kind": "email", "value": "chan@example.hk"},
    ]


def test_a_phone_answer_keeps_the_time_the_call_waited() -> None:
    answered = n(channel="phone", kind="agent_reply", agent_id="201", conversation_key="call:1", response_seconds=12.0)
    decision = domain.decide(prepared(answered), conversation(channel="phone"), new_customer())
    (reply,) = decision.events
    assert reply.model_dump()["response_seconds"] == 12.0 and reply.model_dump()["first_reply"] is True
    assert decision.inquiry is None


def test_an_agent_reply_counts_from_the_oldest_unanswered_message() -> None:
    conv = conversation(awaiting_since=T0, first_reply_at=T0 - timedelta(days=1))
    reply = prepared(n(kind="agent_reply", agent_id="ho", received_at=T0 + timedelta(minutes=30)))
    (event,) = domain.decide(reply, conv, new_customer()).events
    assert event.model_dump()["response_seconds"] == 1800.0 and event.model_dump()["first_reply"] is False
    assert conv.awaiting_since is None


def test_a_form_with_a_score_is_an_inquiry_and_feedback() -> None:
    form = n(channel="webform", intent="feedback", score=5, booking_id="b-7", feedback_subject=("booking", "b-7"))
    decision = domain.decide(prepared(form), conversation(channel="webform"), new_customer())
    assert types(decision) == ["inquiry.received", "feedback.received", "notification.requested"]
    feedback = decision.events[1].model_dump()
    assert (feedback["subject_type"], feedback["subject_id"], feedback["score_100"]) == ("booking", "b-7", 100)
    assert decision.acknowledgement is not None
    ack = decision.acknowledgement.model_dump()
    assert (ack["channel"], ack["address"], ack["template"]) == ("email", "chan@example.hk", "feedback.acknowledged")


def test_an_inquiry_without_a_way_to_reply_is_not_acknowledged() -> None:
    anonymous = n(channel="webform", contact=CustomerContact(name="Chan"))
    decision = domain.decide(prepared(anonymous), conversation(channel="webform"), new_customer())
    assert types(decision) == ["inquiry.received"]


def test_a_status_change_only_changes_the_conversation() -> None:
    conv = conversation(awaiting_since=T0)
    change = prepared(n(kind="status_change", extra={"status": "resolved"}, received_at=T0 + timedelta(hours=1)))
    decision = domain.decide(change, conv, None)
    assert decision.events == [] and decision.inquiry is None
    assert (conv.status, conv.last_activity_at, conv.awaiting_since) == ("resolved", T0 + timedelta(hours=1), T0)
