"""Channel adapters: web form, on-site and survey payloads → Normalised; the rest dead-lettered for now."""

from __future__ import annotations

import copy
import json
import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest

from services.intake import adapters
from services.intake.adapters import ADAPTERS
from services.intake.normalised import ChannelContext, Normalised
from shared.contract.common import MeetingDetails
from shared.contract.inbound import CustomerContact
from shared.runtime import Incoming, Rejected, as_uuid, derive_uuid
from shared.topology import INTAKE_INBOUND

CTX = ChannelContext()


def _one(adapter):
    def call(msg):
        items = adapter(msg, CTX)
        assert len(items) == 1, items
        return items[0]

    call.__wrapped__ = adapter
    return call


webform, onsite, survey = _one(adapters.webform), _one(adapters.onsite), _one(adapters.survey)

HKT = timezone(timedelta(hours=8))


def incoming(body: Any, channel: str = "webform", message_id: str | None = "msg-1") -> Incoming:
    raw = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    return Incoming(
        queue=INTAKE_INBOUND,
        body=raw,
        routing_key=channel,
        headers={},
        message_id=message_id,
        correlation_id=uuid.UUID("00000000-0000-4000-8000-000000000001"),
        content_type="application/json",
        delivery_count=0,
    )


CUSTOMER = {"name": "陳大文", "email": "Tai.Man@Example.COM", "phone": "+852 2123 4567"}


def booking_form() -> dict[str, Any]:
    return {
        "kind": "booking_request",
        "submission_id": "WF-2026-000123",
        "submitted_at": "2026-11-20T09:15:00+08:00",
        "customer": dict(CUSTOMER),
        "meeting": {
            "name": "季度董事會議",
            "start": "2026-12-02T14:00:00+08:00",
            "end": "2026-12-02T17:00:00+08:00",
            "attendees": 18,
            "room_id": None,
            "agenda": "審議年度預算,確認下季度計劃",
            "equipment": ["projector", "microphone", "video_conference"],
            "catering": "下午茶 18 位",
            "notes": "需要現場技術支援",
            "recurrence": {"freq": "weekly", "count": 4, "until": None},
        },
    }


def complaint_form() -> dict[str, Any]:
    return {
        "kind": "complaint",
        "submission_id": "WF-2026-000124",
        "submitted_at": "2026-12-02T15:05:00+08:00",
        "customer": dict(CUSTOMER),
        "booking_id": "b-7f3a",
        "category": "equipment_failure",
        "text": "會議開始後投影儀一直無法連接,等了二十分鐘都沒有人處理。",
    }


def inquiry_form() -> dict[str, Any]:
    return {
        "kind": "inquiry",
        "submission_id": "WF-2026-000125",
        "submitted_at": "2026-11-21T10:00:00+08:00",
        "customer": {"name": "Alice Wong", "email": "alice.wong@example.com", "phone": None},
        "subject": "Catering options",
        "text": "Do you offer vegetarian lunch boxes for 30 people?",
    }


def feedback_form() -> dict[str, Any]:
    return {
        "kind": "feedback",
        "submission_id": "WF-2026-000126",
        "submitted_at": "2026-12-02T18:00:00+08:00",
        "customer": {"name": "李小姐", "email": None, "phone": "13800138000"},
        "booking_id": "b-7f3a",
        "score": 4,
        "text": "服务很好,茶点不错",
    }


def onsite_entry(kind: str = "complaint") -> dict[str, Any]:
    return {
        "kind": kind,
        "entry_id": "OS-88",
        "recorded_at": "2026-12-02T14:20:00+08:00",
        "staff_id": "staff-017",
        "booking_id": "b-7f3a",
        "room_id": "R-301",
        "customer": {"name": "陳大文", "email": None, "phone": "2123 4567"},
        "text": "客戶反映會議室空調太冷,已調高溫度。",
        "category": "venue_environment",
        "severity": "normal",
    }


def survey_answer() -> dict[str, Any]:
    return {
        "subject": {"type": "booking", "id": "b-7f3a"},
        "score": 5,
        "comment": "Excellent service, the room was ready on time.",
        "respondent": {"name": "Alice Wong", "email": "alice.wong@example.com"},
        "response_id": "SV-991",
        "submitted_at": "2026-12-03T10:00:00+08:00",
    }


def rejected_reason(adapter, body: Any, channel: str = "webform") -> str:
    with pytest.raises(Rejected) as info:
        getattr(adapter, "__wrapped__", adapter)(incoming(body, channel), CTX)
    assert info.value.reason == str(info.value)
    return info.value.reason


# -- web form ---------------------------------------------------------------------------------------


def test_webform_booking_request():
    n = webform(incoming(booking_form()))
    assert isinstance(n, Normalised)
    assert n.channel == "webform"
    assert n.intent == "booking_request"
    assert n.source_ref == "WF-2026-000123"
    assert n.received_at == datetime(2026, 11, 20, 9, 15, tzinfo=HKT)
    assert n.kind == "inquiry"
    assert n.subject == "季度董事會議"
    assert n.language == "zh-Hant"
    assert "季度董事會議" in n.text and "審議年度預算" in n.text
    assert n.contact == CustomerContact(name="陳大文", email="Tai.Man@Example.COM", phone="+852 2123 4567")
    m = n.meeting
    assert isinstance(m, MeetingDetails)
    assert m.start == datetime(2026, 12, 2, 14, tzinfo=HKT)
    assert m.end == datetime(2026, 12, 2, 17, tzinfo=HKT)
    assert m.attendees == 18
    assert m.room_id is None
    assert m.equipment == ["projector", "microphone", "video_conference"]
    assert m.catering == "下午茶 18 位"
    assert m.recurrence is not None
    assert (m.recurrence.freq, m.recurrence.count, m.recurrence.until) == ("weekly", 4, None)


def test_webform_booking_request_minimal():
    form = booking_form()
    form["meeting"] = {
        "name": "Project kick-off",
        "start": "2026-12-02T06:00:00Z",
        "end": "2026-12-02T07:30:00Z",
        "attendees": 6,
    }
    n = webform(incoming(form))
    assert n.intent == "booking_request"
    assert n.language == "en"
    assert n.text == "Project kick-off"
    assert n.meeting.end - n.meeting.start == timedelta(minutes=90)
    assert n.meeting.equipment == []
    assert n.meeting.recurrence is None


def test_webform_booking_request_with_until():
    form = booking_form()
    form["meeting"]["recurrence"] = {"freq": "daily", "until": "2026-12-06"}
    n = webform(incoming(form))
    assert n.meeting.recurrence.until == date(2026, 12, 6)
    assert n.meeting.recurrence.count is None


def test_webform_complaint():
    n = webform(incoming(complaint_form()))
    assert n.intent == "complaint"
    assert n.category == "equipment_failure"
    assert n.booking_id == "b-7f3a"
    assert n.text.startswith("會議開始後投影儀")
    assert n.language == "zh-Hant"
    assert n.meeting is None and n.score is None
    assert n.source_ref == "WF-2026-000124"


def test_webform_complaint_without_category_or_booking():
    form = complaint_form()
    del form["category"], form["booking_id"]
    n = webform(incoming(form))
    assert n.intent == "complaint"
    assert n.category is None and n.booking_id is None


def test_webform_inquiry():
    n = webform(incoming(inquiry_form()))
    assert n.intent == "inquiry"
    assert n.subject == "Catering options"
    assert n.text == "Do you offer vegetarian lunch boxes for 30 people?"
    assert n.language == "en"
    assert n.contact.email == "alice.wong@example.com"
    assert n.contact.phone is None


def test_webform_inquiry_language_counts_the_subject():
    form = inquiry_form()
    form["subject"] = "關於會議室預訂的問題"
    form["text"] = "OK?"
    assert webform(incoming(form)).language == "zh-Hant"


def test_webform_feedback_on_a_booking():
    n = webform(incoming(feedback_form()))
    assert n.intent == "feedback"
    assert n.score == 4
    assert n.feedback_subject == ("booking", "b-7f3a")
    assert n.booking_id == "b-7f3a"
    assert n.language == "zh-Hans"
    assert n.kind == "inquiry"


def test_webform_feedback_on_the_service():
    form = feedback_form()
    del form["booking_id"], form["text"]
    n = webform(incoming(form))
    assert n.score == 4
    assert n.feedback_subject == ("service", None)
    assert n.text is None
    assert n.language == "other"


@pytest.mark.parametrize(
    ("make", "path", "field"),
    [
        (booking_form, ("meeting",), "end"),
        (booking_form, ("meeting",), "attendees"),
        (booking_form, (), "meeting"),
        (booking_form, (), "submission_id"),
        (complaint_form, (), "text"),
        (complaint_form, (), "customer"),
        (inquiry_form, (), "submitted_at"),
        (feedback_form, (), "score"),
    ],
)
def test_webform_missing_required_field_is_rejected_with_its_name(make, path, field):
    body = make()
    target = body
    for p in path:
        target = target[p]
    del target[field]
    reason = rejected_reason(webform, body)
    assert field in reason
    assert "required" in reason.lower()


def test_webform_without_kind_is_rejected():
    body = complaint_form()
    del body["kind"]
    assert "kind" in rejected_reason(webform, body)


def test_webform_with_unknown_kind_is_rejected():
    body = complaint_form()
    body["kind"] = "compliment"
    reason = rejected_reason(webform, body)
    assert "compliment" in reason


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda b: b["meeting"].update(start="2026-12-02T14:00:00", end="2026-12-02T15:00:00"),
            "meeting.start: Input should have timezone info",
        ),
        (lambda b: b["meeting"].update(end="2026-12-02T13:00:00+08:00"), "end must be after its start"),
        (lambda b: b["meeting"].update(end="2026-12-02T14:00:00+08:00"), "end must be after its start"),
        (lambda b: b["meeting"].update(attendees=0), "meeting.attendees"),
        (lambda b: b["meeting"].update(equipment=["teleporter"]), "meeting.equipment"),
        (lambda b: b["meeting"].update(recurrence={"freq": "monthly"}), "recurrence.freq"),
    ],
)
def test_webform_booking_with_invalid_meeting_is_rejected(change, expected):
    body = booking_form()
    change(body)
    reason = rejected_reason(webform, body)
    assert reason.startswith("schema validation failed")
    assert expected in reason


@pytest.mark.parametrize("score", [0, 6, "five"])
def test_webform_feedback_score_out_of_range_is_rejected(score):
    body = feedback_form()
    body["score"] = score
    assert "score" in rejected_reason(webform, body)


def test_webform_unknown_extra_fields_are_ignored():
    body = booking_form()
    body["utm_source"] = "newsletter"
    body["customer"]["wechat_id"] = "taiman88"
    body["meeting"]["parking"] = True
    body["meeting"]["recurrence"]["interval"] = 2
    n = webform(incoming(body))
    plain = webform(incoming(booking_form()))
    assert n == plain


@pytest.mark.parametrize(
    "raw",
    [b"{not json", b'{"kind": "complaint", ', b"", b"\xff\xfe\x00garbage", "投訴".encode("big5")],
)
def test_invalid_json_is_rejected(raw):
    reason = rejected_reason(webform, raw)
    assert "not valid JSON" in reason


@pytest.mark.parametrize("body", [[complaint_form()], "complaint", 42, None])
def test_json_that_is_not_an_object_is_rejected(body):
    assert rejected_reason(webform, body).startswith("schema validation failed")


def test_the_same_submission_twice_normalises_the_same():
    assert webform(incoming(complaint_form(), message_id="a")) == webform(incoming(complaint_form(), message_id="b"))


# -- on-site ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "intent"), [("complaint", "complaint"), ("incident", "complaint")])
def test_onsite_complaint_and_incident_are_complaints(kind, intent):
    n = onsite(incoming(onsite_entry(kind), "onsite"))
    assert n.channel == "onsite"
    assert n.intent == intent
    assert n.source_ref == "OS-88"
    assert n.received_at == datetime(2026, 12, 2, 14, 20, tzinfo=HKT)
    assert n.agent_id == "staff-017"
    assert n.booking_id == "b-7f3a"
    assert n.category == "venue_environment"
    assert n.severity == "normal"
    assert n.language == "zh-Hant"
    assert n.extra == {"room_id": "R-301", "onsite_kind": kind}
    assert n.contact.phone == "2123 4567"


def test_onsite_feedback():
    entry = onsite_entry("feedback")
    entry.update(text="Client said the coffee break was great", category=None, severity=None)
    n = onsite(incoming(entry, "onsite"))
    assert n.intent == "feedback"
    assert n.language == "en"
    assert n.category is None and n.severity is None
    assert n.extra["onsite_kind"] == "feedback"


def test_onsite_without_customer():
    entry = onsite_entry("incident")
    del entry["customer"], entry["room_id"]
    n = onsite(incoming(entry, "onsite"))
    assert n.contact is None
    assert n.extra == {"room_id": None, "onsite_kind": "incident"}


@pytest.mark.parametrize("field", ["staff_id", "booking_id", "entry_id", "text", "recorded_at", "kind"])
def test_onsite_missing_required_field_is_rejected(field):
    entry = onsite_entry()
    del entry[field]
    assert field in rejected_reason(onsite, entry, "onsite")


def test_onsite_unknown_kind_or_severity_is_rejected():
    entry = onsite_entry()
    entry["severity"] = "apocalyptic"
    assert "severity" in rejected_reason(onsite, entry, "onsite")


# -- survey -----------------------------------------------------------------------------------------


def test_survey_answer_is_feedback_not_an_inquiry():
    n = survey(incoming(survey_answer(), "survey"))
    assert n.channel == "survey"
    assert n.intent == "feedback"
    assert n.kind == "feedback"
    assert n.score == 5
    assert n.feedback_subject == ("booking", "b-7f3a")
    assert n.booking_id == "b-7f3a"
    assert n.source_ref == "SV-991"
    assert n.received_at == datetime(2026, 12, 3, 10, tzinfo=HKT)
    assert n.language == "en"
    assert n.contact == CustomerContact(name="Alice Wong", email="alice.wong@example.com")


def test_survey_about_a_complaint():
    answer = {"subject": {"type": "complaint", "id": "c-42"}, "score": 2, "comment": "处理太慢了"}
    n = survey(incoming(answer, "survey"))
    assert n.feedback_subject == ("complaint", "c-42")
    assert n.booking_id is None
    assert n.score == 2
    assert n.language == "zh-Hans"
    assert n.contact is None
    assert n.received_at is None  # no submitted_at: dated when it reaches intake


def test_survey_without_response_id_is_stable_across_redeliveries():
    answer = survey_answer()
    del answer["response_id"]
    first = survey(incoming(answer, "survey", message_id=None))
    again = survey(incoming(answer, "survey", message_id=None))
    other = copy.deepcopy(answer)
    other["score"] = 1
    different = survey(incoming(other, "survey", message_id=None))
    assert first.source_ref == again.source_ref
    assert first.source_ref != different.source_ref
    assert first.source_ref.startswith("booking:b-7f3a:")


def test_survey_source_ref_uses_the_message_id_when_given():
    answer = survey_answer()
    del answer["response_id"]
    n = survey(incoming(answer, "survey", message_id="tool-msg-7"))
    assert n.source_ref == "booking:b-7f3a:tool-msg-7"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda a: a.pop("score"), "score"),
        (lambda a: a.update(score=9), "score"),
        (lambda a: a.pop("subject"), "subject"),
        (lambda a: a.update(subject={"type": "meal", "id": "x"}), "type"),
        (lambda a: a["subject"].pop("id"), "id"),
    ],
)
def test_invalid_survey_is_rejected(change, field):
    answer = survey_answer()
    change(answer)
    assert field in rejected_reason(survey, answer, "survey")


# -- registry ---------------------------------------------------------------------------------------


def test_every_inbound_channel_has_an_adapter():
    assert set(ADAPTERS) == {"email", "phone", "chat", "wechat", "webform", "onsite", "survey"}
    assert ADAPTERS["webform"] is adapters.webform and ADAPTERS["onsite"] is adapters.onsite
    assert ADAPTERS["survey"] is adapters.survey


# -- the runtime pieces the adapters rely on --------------------------------------------------------


def test_dedupe_key_is_the_message_id_or_a_hash_of_the_body():
    assert incoming(complaint_form(), message_id="m-9").dedupe_key == "m-9"
    a = incoming(complaint_form(), message_id=None).dedupe_key
    b = incoming(complaint_form(), message_id=None).dedupe_key
    c = incoming(inquiry_form(), message_id=None).dedupe_key
    assert a == b != c
    assert len(a) == 64


def test_derive_uuid_is_stable_and_separates_its_parts():
    a = derive_uuid("inquiry", "webform", "WF-1")
    assert a == derive_uuid("inquiry", "webform", "WF-1")
    assert isinstance(a, uuid.UUID) and a.version == 5
    assert a != derive_uuid("inquiry", "webform", "WF-2")
    assert a != derive_uuid("inquiry", "onsite", "WF-1")
    assert derive_uuid("ab", "c") != derive_uuid("a", "bc")


def test_as_uuid_keeps_uuids_and_derives_the_rest():
    u = uuid.UUID("6f1c3a52-8c1e-4a0e-9a35-5b0c8f6f2d10")
    assert as_uuid(str(u)) == u
    assert as_uuid("ticket-77") == as_uuid("ticket-77") == derive_uuid("correlation", "ticket-77")
    assert as_uuid(None) is None and as_uuid("") is None


def test_received_at_keeps_the_instant():
    form = complaint_form()
    form["submitted_at"] = "2026-12-02T07:05:00Z"
    assert webform(incoming(form)).received_at == datetime(2026, 12, 2, 15, 5, tzinfo=HKT)
    assert webform(incoming(form)).received_at.utcoffset() == timedelta(0)
    assert webform(incoming(form)).received_at == datetime(2026, 12, 2, 7, 5, tzinfo=UTC)
