"""The desk's decisions (services/intake/desk.py), without servers: assignments, call-backs, completing
a booking request, links between customer records, handovers; and what intake now keeps with an
inquiry for the desk (what it lacks, the draft meeting, the reply route)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from services.intake import desk, domain
from services.intake.desk import Callback, ConversationDesk, InquiryDesk, Refusal
from services.intake.directory import Conversation, Resolution
from services.intake.normalised import ChannelContext, Normalised
from shared.contract.desk import CallbackOpened, CallbackRecorded, ConversationAssigned
from shared.contract.events import BookingDetails, CallMissed
from shared.runtime import derive_uuid

T0 = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
EVERY = timedelta(minutes=30)
POLICY = domain.Policy.of(ChannelContext(agent_email_domains=("meetdesk.example",)), 1_048_576)
MEETING = BookingDetails(name="Board", start=T0 + timedelta(days=2), end=T0 + timedelta(days=2, hours=2), attendees=8)


# -- conversations -----------------------------------------------------------------------------------
def test_assigning_a_conversation_names_the_agent_before_and_the_actor() -> None:
    event = desk.assign_conversation(ConversationDesk("chat:1", "ann"), "chat:1", "bob", actor="sup")
    assert event == ConversationAssigned(conversation_id="chat:1", agent_id="bob", previous_agent_id="ann", actor="sup")


def test_assigning_a_conversation_to_the_agent_who_has_it_changes_nothing() -> None:
    assert desk.assign_conversation(ConversationDesk("chat:1", "bob"), "chat:1", "bob", actor="bob") is None


def test_an_unknown_conversation_cannot_be_assigned() -> None:
    refusal = desk.assign_conversation(None, "chat:404", "bob", actor="bob")
    assert isinstance(refusal, Refusal) and "chat:404" in refusal.reason


# -- call-backs --------------------------------------------------------------------------------------
def missed(call_id: str = "call-1", customer: str | None = None) -> CallMissed:
    return CallMissed(
        call_id=call_id, customer_id=customer, phone="+85291234567", disposition="NO ANSWER", started_at=T0
    )


def open_callback(**changes: object) -> Callback:
    cb, _ = desk.callback_for(missed(), correlation_id=uuid.uuid4(), every=EVERY)
    return Callback(**{**cb.__dict__, **changes})  # type: ignore[arg-type]


def test_a_missed_call_becomes_one_call_back_reminded_after_the_configured_time() -> None:
    customer = str(uuid.uuid4())
    cb, opened = desk.callback_for(missed(customer=customer), correlation_id=uuid.uuid4(), every=EVERY)
    assert cb.callback_id == desk.callback_id_of("call-1") == derive_uuid("callback", "call-1")
    assert (cb.status, cb.attempts, cb.remind_at) == ("open", 0, T0 + EVERY)
    assert opened == CallbackOpened(
        callback_id=str(cb.callback_id),
        call_id="call-1",
        customer_id=customer,
        phone="+85291234567",
        missed_at=T0,
        remind_at=T0 + EVERY,
    )
    again, _ = desk.callback_for(missed(customer=customer), correlation_id=uuid.uuid4(), every=EVERY)
    assert again.callback_id == cb.callback_id, "the same call, the same call-back"


@pytest.mark.parametrize("outcome", ["reached", "wrong_number"])
def test_reaching_the_customer_or_a_wrong_number_closes_the_call_back(outcome: str) -> None:
    now = T0 + timedelta(minutes=12)
    after, event = desk.record_callback(open_callback(), "x", outcome, "ok", actor="ann", now=now, every=EVERY)  # type: ignore[misc]
    assert (after.status, after.attempts, after.done_at, after.remind_at, after.assignee) == (
        "done",
        1,
        now,
        None,
        "ann",
    )
    assert isinstance(event, CallbackRecorded) and event.done and event.attempts == 1 and event.outcome == outcome


@pytest.mark.parametrize("outcome", ["no_answer", "voicemail"])
def test_no_answer_or_voicemail_keeps_it_open_and_moves_the_reminder(outcome: str) -> None:
    now = T0 + timedelta(minutes=40)
    after, event = desk.record_callback(  # type: ignore[misc]
        open_callback(assignee="bob", attempts=1), "x", outcome, None, actor="ann", now=now, every=EVERY
    )
    assert (after.status, after.attempts, after.remind_at, after.assignee) == ("open", 2, now + EVERY, "bob")
    assert not event.done and event.attempts == 2


def test_a_call_back_done_or_unknown_refuses_another_outcome_or_assignment() -> None:
    done = open_callback(status="done", last_outcome="reached")
    refused = desk.record_callback(done, "cb-9", "reached", None, actor="a", now=T0, every=EVERY)
    assert isinstance(refused, Refusal) and "done already" in refused.reason
    assert isinstance(desk.record_callback(None, "cb-9", "reached", None, actor="a", now=T0, every=EVERY), Refusal)
    assert isinstance(desk.assign_callback(done, "cb-9", "bob", actor="a"), Refusal)
    assert isinstance(desk.assign_callback(None, "cb-9", "bob", actor="a"), Refusal)


def test_a_call_back_is_assigned_once_to_the_same_agent() -> None:
    cb = open_callback()
    after, event = desk.assign_callback(cb, "x", "bob", actor="ann")  # type: ignore[misc]
    assert after.assignee == "bob" and (event.agent_id, event.previous_agent_id, event.actor) == ("bob", None, "ann")
    assert desk.assign_callback(after, "x", "bob", actor="ann") is None


def test_an_open_call_back_is_reminded_again_and_again_a_done_one_never() -> None:
    now = T0 + EVERY
    after, event = desk.remind_callback(open_callback(attempts=1), now=now, every=EVERY)  # type: ignore[misc]
    assert after.remind_at == now + EVERY
    assert (event.open_minutes, event.attempts) == (30, 1)
    assert desk.remind_callback(open_callback(status="done"), now=now, every=EVERY) is None
    assert desk.remind_callback(None, now=now, every=EVERY) is None


# -- incomplete booking requests -----------------------------------------------------------------------
def incomplete(**changes: object) -> InquiryDesk:
    base = InquiryDesk(
        inquiry_id=uuid.uuid4(),
        channel="wechat",
        customer_id=uuid.uuid4(),
        intent="booking_request",
        language="zh-Hans",
        missing=["time"],
        reply_channel="wechat",
        reply_address="oWx7",
        correlation_id=str(uuid.uuid4()),
    )
    return InquiryDesk(**{**base.__dict__, **changes})  # type: ignore[arg-type]


def test_completing_a_request_sends_the_original_inquirys_request_with_the_agent_named() -> None:
    inquiry = incomplete()
    requested, completed = desk.complete_inquiry(  # type: ignore[misc]
        inquiry, str(inquiry.inquiry_id), MEETING, wait_if_taken=True, actor="ann"
    )
    assert requested.inquiry_id == completed.inquiry_id == str(inquiry.inquiry_id)
    assert (requested.customer_id, requested.channel, requested.language) == (
        str(inquiry.customer_id),
        "wechat",
        "zh-Hans",
    )
    assert requested.reply_to is not None
    assert (requested.reply_to.channel, requested.reply_to.address, requested.reply_to.language) == (
        "wechat",
        "oWx7",
        "zh-Hans",
    )
    assert (requested.agent_id, requested.wait_if_taken, requested.meeting) == ("ann", True, MEETING)
    assert completed.actor == "ann"


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"intent": "complaint"}, "not a booking request"),
        ({"missing": []}, "lacked nothing"),
        ({"completed_at": T0, "completed_by": "bob"}, "completed already by bob"),
        ({"customer_id": None}, "no customer"),
    ],
)
def test_completing_is_refused_with_its_reason(changes: dict[str, object], reason: str) -> None:
    refusal = desk.complete_inquiry(incomplete(**changes), "i", MEETING, wait_if_taken=False, actor="ann")
    assert isinstance(refusal, Refusal) and reason in refusal.reason
    assert isinstance(desk.complete_inquiry(None, "i-9", MEETING, wait_if_taken=False, actor="a"), Refusal)


# -- links between customer records ---------------------------------------------------------------------
def test_linking_two_records_says_so_in_the_shape_metrics_reads_and_unlinking_undoes_it_exactly() -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    new, linked = desk.link(str(a), str(b), {a, b}, [], reason="same person", actor="ann", now=T0)  # type: ignore[misc]
    assert linked.customer_id == str(a)
    assert linked.identities == [{"kind": "customer_id", "value": str(b)}] and linked.evidence == "same person"
    links = [desk.Link(**{**new.__dict__, "link_id": 1})]
    assert desk.linked_to(a, links) == [b] and desk.linked_to(b, links) == [a]
    refused = desk.link(str(b), str(a), {a, b}, links, reason="again", actor="ann", now=T0)
    assert isinstance(refused, Refusal) and "linked already" in refused.reason

    undone, unlinked = desk.unlink(str(b), str(a), links, reason="two people", actor="bob", now=T0 + EVERY)  # type: ignore[misc]
    assert unlinked.identities == [{"kind": "customer_id", "value": str(a)}] and unlinked.reason == "two people"
    assert (undone.link_id, undone.unlinked_by, undone.unlinked_at) == (1, "bob", T0 + EVERY)
    assert desk.linked_to(a, [undone]) == []
    assert [(h["action"], h["by"]) for h in desk.history_of(a, [undone])] == [("linked", "ann"), ("unlinked", "bob")]
    assert isinstance(desk.unlink(str(a), str(b), [undone], reason="x", actor="bob", now=T0), Refusal)


def test_a_record_is_not_linked_to_itself_nor_to_an_unknown_one() -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    assert "itself" in desk.link(str(a), str(a), {a}, [], reason="r", actor="x", now=T0).reason  # type: ignore[union-attr]
    assert "no customer" in desk.link(str(a), str(b), {a}, [], reason="r", actor="x", now=T0).reason  # type: ignore[union-attr]
    assert "no customer" in desk.link("nope", str(b), {b}, [], reason="r", actor="x", now=T0).reason  # type: ignore[union-attr]


def test_a_handover_goes_to_another_agent() -> None:
    assert desk.check_handover("ann", "bob") is None
    assert isinstance(desk.check_handover("ann", "ann"), Refusal)


# -- what intake keeps with an inquiry for the desk -------------------------------------------------------
def wechat(text: str) -> Normalised:
    return Normalised(
        channel="wechat",
        source_ref=str(uuid.uuid4().int % 10**17),
        received_at=T0,
        contact=None,
        kind="inquiry",
        text=text,
        conversation_key="wechat:oWdesk",
        channel_identity=("wechat", "oWdesk"),
    )


def decided(text: str):  # type: ignore[no-untyped-def]
    w = domain.prepare(wechat(text), uuid.uuid4(), T0, POLICY)
    w.conversation_id = "wechat:oWdesk"
    conversation = Conversation("wechat:oWdesk", "wechat", T0, T0)
    return domain.decide(w, conversation, Resolution(uuid.uuid4(), True, [], []))


def test_a_booking_request_without_its_time_is_kept_with_what_it_lacks_its_draft_and_its_reply_route() -> None:
    decision = decided("下周三订会议室，12个人，要投影仪")
    inquiry = decision.inquiry
    assert inquiry is not None and inquiry.intent == "booking_request"
    assert inquiry.missing == ("time",)
    assert inquiry.draft is not None
    assert inquiry.draft["attendees"] == 12 and inquiry.draft["equipment"] == ["projector"]
    assert "date" in inquiry.draft and "start" not in inquiry.draft
    assert (inquiry.reply_channel, inquiry.reply_address) == ("wechat", "wechat:oWdesk")
    assert "booking.requested" not in [e.event_type for e in decision.events]


def test_a_complete_booking_request_keeps_no_draft() -> None:
    decision = decided("下周三上午十点开会，十五个人")
    assert decision.inquiry is not None and decision.inquiry.missing == () and decision.inquiry.draft is None
    assert "booking.requested" in [e.event_type for e in decision.events]
