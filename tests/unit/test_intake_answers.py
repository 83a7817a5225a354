"""The customer's answer to the day-before reminder, in intake's domain: the answer lexicon in the three
languages (what counts, and the many short messages that must not), which reminders ask a question (and
on which route), which messages answer it (route, time to live), and what an answer implies."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.intake import domain
from services.intake.answers import read_answer
from services.intake.directory import Conversation, Resolution
from services.intake.domain import ANSWER_CLOCK_SKEW, Answer, Item, Policy, Question
from services.intake.normalised import ChannelContext, Normalised
from shared.contract.commands import BookingCancel, BookingConfirmAttendance
from shared.contract.events import BookingReminderDue
from shared.contract.inbound import CustomerContact
from shared.runtime import derive_uuid

ASKED = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # 10:00 in Hong Kong, the day before the meeting
POLICY = Policy.of(ChannelContext(), 1_048_576)
OPENID = "oWx7Kd0a9Zq-customer"


# -- the lexicon -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text",
    [
        "確認",
        "「確認」",
        "確認，謝謝！",
        "好",
        "好的",
        "沒問題",
        "冇問題，唔該",
        "準時到",
        "明天見",
        "係",
        "[強]",
        "照舊",
        "可以",
    ],
)
def test_traditional_chinese_confirmations(text: str) -> None:
    assert read_answer(text) == "confirm"


@pytest.mark.parametrize(
    "text", ["确认", "“确认”", "确认，谢谢", "好的～", "没问题", "准时出席", "确定", "我们会去", "亲，确认"]
)
def test_simplified_chinese_confirmations(text: str) -> None:
    assert read_answer(text) == "confirm"


@pytest.mark.parametrize(
    "text",
    [
        "confirm",
        "Confirmed, thanks!",
        "CONFIRM",
        "ｃｏｎｆｉｒｍ",  # full width, as some phone keyboards type it
        "yes",
        "OK 👍",
        "👍🏻",
        "ok thanks",
        "We’ll be there",
        "see you tomorrow",
        "Yes, we will attend. Thank you",
        "Confirm\n\nSent from my iPhone",
    ],
)
def test_english_confirmations(text: str) -> None:
    assert read_answer(text) == "confirm"


@pytest.mark.parametrize(
    "text",
    ["取消", "取消吧，謝謝", "請取消", "麻煩幫我取消預訂", "唔去了", "我哋唔嚟喇", "取消预约", "不好意思，我们不去了"],
)
def test_chinese_cancellations(text: str) -> None:
    assert read_answer(text) == "cancel"


@pytest.mark.parametrize(
    "text", ["cancel", "Please cancel", "cancel the booking please", "We can't make it", "Not coming, sorry!"]
)
def test_english_cancellations(text: str) -> None:
    assert read_answer(text) == "cancel"


@pytest.mark.parametrize("text", ["改期", "更改", "改時間", "我想改期", "要改时间", "延期", "換個時間，唔該"])
def test_chinese_changes(text: str) -> None:
    assert read_answer(text) == "change"


@pytest.mark.parametrize("text", ["change", "Reschedule please", "we need to reschedule", "change the time"])
def test_english_changes(text: str) -> None:
    assert read_answer(text) == "change"


def test_an_assent_agrees_with_the_explicit_answer_beside_it() -> None:
    assert read_answer("好的，取消") == "cancel"
    assert read_answer("ok, reschedule please") == "change"
    assert read_answer("Yes, confirm") == "confirm"


@pytest.mark.parametrize(
    "text",
    [
        # questions, conditions, details: an agent reads them
        "確認嗎？",
        "confirm?",
        "可以取消嗎",
        "可以取消",  # "can I cancel": 可以 agrees only when it stands alone
        "sure, cancel",
        "取消政策是什麼",
        "what time tomorrow?",
        "好，但要加兩張枱",
        "ok but we will be 30 people",
        "Can we change the room to a bigger one",
        "I confirm that we need a projector",
        "明天下午3點改到4點",
        "改到星期五",
        "改天見",
        "延期待定",
        # negations
        "不取消",
        "唔使取消",
        "don't cancel",
        "not confirmed yet",
        "不好",
        "不是",
        "唔得",
        # two answers at once
        "confirm and change",
        "確認 取消",
        # politeness, acknowledgements and other short messages that answer nothing
        "thanks",
        "謝謝",
        "收到",
        "noted",
        "退订",  # unsubscribe (SMS), not a cancellation
        "我要投訴",
        "2",
        "1. confirm",
        "",
        "   ",
        "。",
        "ok " * 20,  # too long to be an answer
    ],
)
def test_what_is_no_answer(text: str) -> None:
    assert read_answer(text) is None


def test_no_text_is_no_answer() -> None:
    assert read_answer(None) is None


# -- which reminders ask a question ------------------------------------------------------------------
ROUTE: dict[str, Any] = {"channel": "wechat", "address": f"wechat:{OPENID}", "language": "zh-Hant"}


def reminder(**fields: Any) -> BookingReminderDue:
    """booking.reminder_due's data as booking emits it, reminded on ``reply_to`` (:data:`ROUTE`)."""
    base: dict[str, Any] = {
        "booking_id": "b-42",
        "customer_id": "c-1",
        "room_id": "harbour",
        "start": "2026-12-02T06:00:00Z",
        "end": "2026-12-02T07:00:00Z",
        "reply_to": ROUTE,
    }
    return BookingReminderDue.model_validate({**base, **fields})


def route(**fields: Any) -> dict[str, Any]:
    return {**ROUTE, **fields}


def asked(data: BookingReminderDue) -> Question | None:
    return domain.question_of(data, asked_at=ASKED, correlation_id=derive_uuid("test", "reminder"))


def test_the_day_before_reminder_asks_on_the_route_it_went_to() -> None:
    question = asked(reminder())
    assert question == Question(
        "wechat", f"wechat:{OPENID}", "b-42", "booking.reminder", ASKED, str(derive_uuid("test", "reminder"))
    )
    assert question.route == ("wechat", f"wechat:{OPENID}")


def test_an_email_route_is_read_as_intake_reads_a_sender() -> None:
    question = asked(reminder(reply_to=route(channel="email", address=" Chan.TaiMan@Example.HK ")))
    assert question is not None and question.route == ("email", "chan.taiman@example.hk")


def test_a_chat_route_is_its_conversation_whatever_the_language() -> None:
    question = asked(reminder(reply_to=route(channel="chat", address="chatwoot:45", language="en")))
    assert question is not None and question.route == ("chat", "chatwoot:45")


def test_a_reminder_without_a_reply_route_asks_nothing() -> None:
    """As booking emits it until it sets ``reply_to``."""
    assert asked(reminder(reply_to=None)) is None
    without = {k: v for k, v in reminder().model_dump(mode="json").items() if k != "reply_to"}
    assert asked(BookingReminderDue.model_validate(without)) is None


@pytest.mark.parametrize(
    "fields",
    [
        {"reply_to": route(address=None)},
        {"reply_to": route(address="  ")},
        {"booking_id": ""},
        {"booking_id": "  "},
        {"booking_id": "b" * 201},  # longer than a command's booking_id may be
        {"reply_to": route(channel="phone", address="+85291234567")},  # SMS: the answer does not come back to intake
        {"reply_to": route(channel="webform", address="form-1")},  # no reply path
        {"reply_to": route(channel="email", address="not an address")},
    ],
)
def test_a_reminder_intake_cannot_read_the_answer_to_asks_nothing(fields: dict[str, Any]) -> None:
    assert asked(reminder(**fields)) is None


def test_the_booking_id_is_taken_without_blanks() -> None:
    question = asked(reminder(booking_id=" b-42 "))
    assert question is not None and question.booking_id == "b-42"


# -- which messages answer it ---------------------------------------------------------------------
def wechat(text: str, *, at: datetime, openid: str = OPENID, ref: str = "24700000000000001") -> Item:
    n = Normalised(
        channel="wechat",
        source_ref=ref,
        received_at=at,
        contact=None,
        text=text,
        conversation_key=f"wechat:{openid}",
        channel_identity=("wechat", openid),
    )
    return domain.prepare(n, derive_uuid("test", "wechat", ref), at, POLICY)


def email(text: str, *, at: datetime, sender: str = "chan@example.hk", ref: str = "m1@example.hk") -> Item:
    n = Normalised(channel="email", source_ref=ref, received_at=at, contact=CustomerContact(email=sender), text=text)
    return domain.prepare(n, derive_uuid("test", "email", ref), at, POLICY)


QUESTION = Question("wechat", f"wechat:{OPENID}", "b-42", "booking.reminder", ASKED, str(uuid.uuid4()))


def answers_of(*batch: Item, questions: tuple[Question, ...] = (QUESTION,)) -> dict[Item, Answer]:
    return domain.answers(batch, {q.route: q for q in questions}, POLICY.answer_within)


def test_a_clear_answer_on_the_route_answers_the_question() -> None:
    w = wechat("確認", at=ASKED + timedelta(hours=3))
    assert domain.answer_routes([w]) == [("wechat", f"wechat:{OPENID}")]
    assert answers_of(w) == {w: Answer(QUESTION, "confirm")}


def test_the_email_route_is_the_senders_address() -> None:
    by_mail = Question("email", "chan@example.hk", "b-7", "booking.reminder", ASKED, str(uuid.uuid4()))
    w = email("Cancel please", at=ASKED + timedelta(hours=1), sender="Chan@Example.HK")
    assert answers_of(w, questions=(by_mail,)) == {w: Answer(by_mail, "cancel")}


def test_an_answer_within_the_time_to_live_counts_and_a_later_one_does_not() -> None:
    assert POLICY.answer_within == timedelta(hours=48)
    assert answers_of(wechat("確認", at=ASKED + timedelta(hours=48)))
    assert not answers_of(wechat("確認", at=ASKED + timedelta(hours=48, seconds=1)))


def test_the_time_to_live_is_a_setting() -> None:
    short = Policy.of(ChannelContext(), 1_048_576, answer_within_hours=2)
    w = wechat("確認", at=ASKED + timedelta(hours=3))
    assert domain.answers([w], {QUESTION.route: QUESTION}, short.answer_within) == {}


def test_a_message_written_before_the_question_is_no_answer_to_it_beyond_clock_skew() -> None:
    assert answers_of(wechat("好", at=ASKED - ANSWER_CLOCK_SKEW)), "other clocks, WeChat's whole seconds"
    assert not answers_of(wechat("好", at=ASKED - ANSWER_CLOCK_SKEW - timedelta(seconds=1)))


def test_a_message_from_another_route_answers_nothing() -> None:
    assert not answers_of(wechat("確認", at=ASKED + timedelta(hours=1), openid="oSomeoneElse"))
    assert not answers_of(email("confirm", at=ASKED + timedelta(hours=1)))


def test_a_question_is_answered_once_in_a_batch_by_the_first_clear_answer() -> None:
    asking = wechat("請問幾點開門？", at=ASKED + timedelta(hours=1), ref="1")
    first = wechat("取消", at=ASKED + timedelta(hours=2), ref="2")
    second = wechat("確認", at=ASKED + timedelta(hours=3), ref="3")
    assert answers_of(asking, first, second) == {first: Answer(QUESTION, "cancel")}


def test_only_free_text_from_a_customer_can_answer() -> None:
    image = wechat("[image]", at=ASKED + timedelta(hours=1))
    image.n.intent, image.n.flags = "other", ["non_text"]
    assert domain.answer_route(image) is None
    status = wechat("subscribe", at=ASKED + timedelta(hours=1))
    status.n.kind = "status_change"
    assert domain.answer_route(status) is None


# -- what an answer implies -------------------------------------------------------------------------
def decided(w: Item, answer: Answer | None) -> domain.Decision:
    w.conversation_id = w.n.conversation_key or f"email:{w.n.source_ref}"
    conversation = Conversation(w.conversation_id, w.n.channel, opened_at=ASKED, last_activity_at=ASKED)
    return domain.decide(w, conversation, Resolution(uuid.uuid4(), True, [], []), answer)


def test_a_confirmation_sends_confirm_attendance_with_an_id_stable_across_redeliveries() -> None:
    w = wechat("確認", at=ASKED + timedelta(hours=1))
    decision = decided(w, Answer(QUESTION, "confirm"))
    assert decision.command == BookingConfirmAttendance(
        command_id=str(derive_uuid("answer", "wechat", "24700000000000001")), actor="customer", booking_id="b-42"
    )
    assert [e.event_type for e in decision.events] == ["inquiry.received"], "booking answers the customer, not intake"
    (inquiry,) = decision.events
    assert inquiry.booking_id == "b-42" and inquiry.missing == []  # type: ignore[attr-defined]
    assert decision.inquiry is not None, "the message is recorded as usual"


def test_a_cancellation_sends_booking_cancel_with_the_reason() -> None:
    decision = decided(wechat("取消", at=ASKED + timedelta(hours=1)), Answer(QUESTION, "cancel"))
    assert isinstance(decision.command, BookingCancel)
    assert (decision.command.booking_id, decision.command.actor, decision.command.reason) == (
        "b-42",
        "customer",
        "cancelled by the customer in reply to the reminder",
    )
    assert decision.command.scope == "occurrence"


def test_a_change_sends_nothing_but_the_inquiry_names_the_booking_for_an_agent() -> None:
    decision = decided(wechat("改期", at=ASKED + timedelta(hours=1)), Answer(QUESTION, "change"))
    assert decision.command is None
    assert [e.event_type for e in decision.events] == ["inquiry.received"], "no booking request, no acknowledgement"
    (inquiry,) = decision.events
    assert inquiry.booking_id == "b-42" and inquiry.intent == "booking_request"  # type: ignore[attr-defined]


def test_without_an_answer_the_same_message_is_an_ordinary_inquiry() -> None:
    decision = decided(wechat("改期", at=ASKED + timedelta(hours=1)), None)
    assert decision.command is None
    assert [e.event_type for e in decision.events] == ["inquiry.received"]
    assert decision.acknowledgement is not None  # an ordinary message is acknowledged
    assert decision.events[0].booking_id is None  # type: ignore[attr-defined]
