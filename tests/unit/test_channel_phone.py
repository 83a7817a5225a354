"""Phone channel: Asterisk AMI Cdr event + agent wrap-up → missed call, or inquiry + agent reply."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.intake.channels.phone import adapt, parse_caller_id
from services.intake.normalised import ChannelContext, Normalised
from shared.contract.common import MeetingDetails
from shared.contract.inbound import CustomerContact
from shared.runtime import Incoming, Rejected

from . import channel_support as support

CTX = ChannelContext()


def incoming(body: Any) -> Incoming:
    return support.incoming(body, "phone")


def run(body: Any, ctx: ChannelContext = CTX) -> list[Normalised]:
    return adapt(incoming(body), ctx)


def cdr(**changes: Any) -> dict[str, Any]:
    """An AMI Cdr event as Asterisk sends it (all values strings), answered after 12 seconds."""
    event = {
        "Event": "Cdr",
        "Privilege": "cdr,all",
        "AccountCode": "",
        "Source": "85221234567",
        "Destination": "8000",
        "DestinationContext": "from-pstn",
        "CallerID": '"陳大文" <+85221234567>',
        "Channel": "PJSIP/trunk-hkbn-0000002a",
        "DestinationChannel": "PJSIP/201-0000002b",
        "LastApplication": "Queue",
        "LastData": "servicedesk,t,,,300",
        "StartTime": "2026-12-01 14:03:22",
        "AnswerTime": "2026-12-01 14:03:34",
        "EndTime": "2026-12-01 14:09:02",
        "Duration": "340",
        "BillableSeconds": "328",
        "Disposition": "ANSWERED",
        "AMAFlags": "DOCUMENTATION",
        "UniqueID": "1796105002.42",
        "UserField": "",
    }
    event.update(changes)
    return event


def call(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"cdr": cdr(), "agent_id": "agent-201", "notes": None, "booking": None, "complaint": None}
    body.update(changes)
    return body


BOOKING = {
    "name": "季度董事會議",
    "start": "2026-12-10T14:00:00+08:00",
    "end": "2026-12-10T17:00:00+08:00",
    "attendees": 18,
    "room_id": None,
    "agenda": "審議年度預算",
    "equipment": ["projector", "microphone"],
    "catering": "下午茶 18 位",
    "notes": None,
    "recurrence": None,
}

COMPLAINT = {
    "category": "equipment_failure",
    "severity": "high",
    "booking_id": "BK-2026-0042",
    "text": "昨天會議期間投影儀多次黑屏,客戶非常不滿。",
}


def hkt(text: str) -> datetime:
    return datetime.fromisoformat(text + "+08:00")


# -- answered calls -----------------------------------------------------------------------------
def test_answered_call_with_notes_is_an_inquiry_and_an_agent_reply():
    items = run(call(notes="客戶查詢十二月十日下午有沒有可容納二十人的會議室,並詢問茶點價錢。"))
    assert [n.kind for n in items] == ["inquiry", "agent_reply"]
    inquiry, reply = items

    assert inquiry.channel == "phone"
    assert inquiry.source_ref == "1796105002.42"
    assert inquiry.received_at == hkt("2026-12-01T14:03:22")
    assert inquiry.received_at.tzinfo is not None
    assert inquiry.contact == CustomerContact(name="陳大文", phone="+85221234567")
    assert inquiry.intent is None  # free text: the classifier decides
    assert inquiry.text == "客戶查詢十二月十日下午有沒有可容納二十人的會議室,並詢問茶點價錢。"
    assert inquiry.agent_id == "agent-201"
    assert inquiry.conversation_key == "call:1796105002.42"
    assert inquiry.meeting is None and inquiry.category is None

    assert reply.channel == "phone"
    assert reply.source_ref == "1796105002.42:answer"
    assert reply.received_at == hkt("2026-12-01T14:03:34")
    assert reply.agent_id == "agent-201"
    assert reply.response_seconds == 12.0
    assert reply.conversation_key == "call:1796105002.42"
    assert reply.contact == inquiry.contact
    assert reply.text is None and reply.intent is None


def test_answered_call_with_english_notes():
    items = run(
        call(
            cdr=cdr(CallerID='"Chan Tai Man" <85221234567>'),
            notes="Customer asked whether the harbour-view room has a video conference system.",
        )
    )
    assert items[0].contact == CustomerContact(name="Chan Tai Man", phone="85221234567")
    assert items[0].text.startswith("Customer asked")


def test_answered_call_without_notes_or_structure_is_still_an_inquiry_of_intent_other():
    items = run(call(notes=None))
    assert [n.kind for n in items] == ["inquiry", "agent_reply"]
    assert items[0].intent == "other"
    assert items[0].text is None


def test_blank_notes_count_as_no_notes():
    items = run(call(notes="   \n "))
    assert items[0].intent == "other" and items[0].text is None


def test_wrap_up_fields_may_be_absent():
    items = run({"cdr": cdr()})
    assert items[0].intent == "other"
    assert items[0].agent_id is None and items[1].agent_id is None


def test_numeric_agent_id_and_unique_id_are_read_as_text():
    items = run(call(agent_id=201, cdr=cdr(UniqueID=1796105002)))
    assert items[0].agent_id == "201"
    assert items[0].source_ref == "1796105002"
    assert items[1].source_ref == "1796105002:answer"


def test_structured_booking_is_a_booking_request_with_its_meeting():
    items = run(call(booking=BOOKING, notes="客戶電話預訂董事會議室,需要投影儀和麥克風。"))
    inquiry = items[0]
    assert inquiry.intent == "booking_request"
    assert inquiry.meeting == MeetingDetails.model_validate(BOOKING)
    assert inquiry.meeting.attendees == 18
    assert inquiry.subject == "季度董事會議"
    assert inquiry.text == "客戶電話預訂董事會議室,需要投影儀和麥克風。"
    assert items[1].kind == "agent_reply"


def test_structured_booking_without_notes_takes_its_text_from_the_meeting():
    inquiry = run(call(booking=BOOKING))[0]
    assert inquiry.intent == "booking_request"
    assert inquiry.text == "季度董事會議 審議年度預算"


def test_structured_complaint_carries_category_severity_and_booking():
    inquiry = run(call(complaint=COMPLAINT))[0]
    assert inquiry.intent == "complaint"
    assert inquiry.category == "equipment_failure"
    assert inquiry.severity == "high"
    assert inquiry.booking_id == "BK-2026-0042"
    assert inquiry.text == COMPLAINT["text"]  # no notes: the complaint's own text
    assert inquiry.meeting is None


def test_complaint_notes_win_over_the_complaint_text():
    inquiry = run(call(complaint=COMPLAINT, notes="Customer called back about the projector."))[0]
    assert inquiry.intent == "complaint"
    assert inquiry.text == "Customer called back about the projector."


def test_minimal_complaint_is_still_a_complaint():
    inquiry = run(call(complaint={}))[0]
    assert inquiry.intent == "complaint"
    assert inquiry.category is None and inquiry.severity is None and inquiry.booking_id is None


def test_complaint_and_booking_in_one_call_is_a_complaint_that_keeps_the_meeting():
    inquiry = run(call(complaint=COMPLAINT, booking=BOOKING))[0]
    assert inquiry.intent == "complaint"
    assert inquiry.meeting is not None
    assert "booking_and_complaint" in inquiry.flags


@pytest.mark.parametrize(
    "booking, field",
    [
        ({**BOOKING, "attendees": 0}, "booking.attendees"),
        ({**BOOKING, "end": "2026-12-10T13:00:00+08:00"}, "booking"),
        ({k: v for k, v in BOOKING.items() if k != "start"}, "booking.start"),
        ({**BOOKING, "start": "2026-12-10T14:00:00"}, "booking.start"),  # no offset
    ],
)
def test_invalid_structured_booking_is_rejected(booking, field):
    with pytest.raises(Rejected, match=field.replace(".", r"\.")):
        run(call(booking=booking))


def test_invalid_complaint_category_is_rejected():
    with pytest.raises(Rejected, match=r"complaint\.category"):
        run(call(complaint={**COMPLAINT, "category": "noise"}))


# -- response time and the venue's time zone ----------------------------------------------------
def test_times_are_read_in_the_venue_timezone():
    items = run(call(), ChannelContext(venue_timezone="Asia/Shanghai"))
    assert items[0].received_at == datetime(2026, 12, 1, 6, 3, 22, tzinfo=UTC)
    items = run(call(), ChannelContext(venue_timezone="Europe/London"))
    assert items[0].received_at == datetime(2026, 12, 1, 14, 3, 22, tzinfo=UTC)
    assert items[1].response_seconds == 12.0


def test_response_time_across_a_daylight_saving_change_is_real_elapsed_time():
    # London springs forward at 01:00 GMT on 29 March 2026: 00:59:50 GMT → 02:00:05 BST is 15 seconds.
    body = call(
        cdr=cdr(StartTime="2026-03-29 00:59:50", AnswerTime="2026-03-29 02:00:05", EndTime="2026-03-29 02:05:00")
    )
    inquiry, reply = run(body, ChannelContext(venue_timezone="Europe/London"))
    assert reply.response_seconds == 15.0
    assert inquiry.received_at == datetime(2026, 3, 29, 0, 59, 50, tzinfo=UTC)
    assert reply.received_at == datetime(2026, 3, 29, 1, 0, 5, tzinfo=UTC)


def test_times_with_an_explicit_offset_keep_it():
    body = call(cdr=cdr(StartTime="2026-12-01T06:03:22Z", AnswerTime="2026-12-01T14:03:40+08:00", EndTime=""))
    inquiry, reply = run(body)
    assert inquiry.received_at == datetime(2026, 12, 1, 6, 3, 22, tzinfo=UTC)
    assert reply.response_seconds == 18.0


def test_answered_without_answer_time_recovers_it_from_end_and_billable_seconds():
    [_, reply] = run(call(cdr=cdr(AnswerTime="")))
    # EndTime 14:09:02 − 328 s = 14:03:34
    assert reply.received_at == hkt("2026-12-01T14:03:34")
    assert reply.response_seconds == 12.0


def test_answered_without_any_answer_time_is_rejected():
    with pytest.raises(Rejected, match="AnswerTime"):
        run(call(cdr=cdr(AnswerTime="", BillableSeconds="")))


@pytest.mark.parametrize(
    "changes, match",
    [
        ({"StartTime": "01/12/2026 14:03"}, "StartTime"),
        ({"StartTime": "2026-13-01 14:03:22"}, "StartTime"),
        ({"StartTime": "2026-12-01"}, "StartTime"),
        ({"AnswerTime": "yesterday"}, "AnswerTime"),
        ({"EndTime": "2026-12-01 25:00:00"}, "EndTime"),
        ({"AnswerTime": "2026-12-01 14:03:00"}, "AnswerTime is before StartTime"),
        ({"EndTime": "2026-12-01 14:00:00"}, "EndTime is before StartTime"),
        ({"EndTime": "2026-12-01 14:03:30"}, "EndTime is before AnswerTime"),
        ({"StartTime": "0001-01-01 00:00:00"}, "StartTime"),  # out of range once made UTC
        ({"Duration": "abc"}, "Duration"),
    ],
)
def test_invalid_times_are_rejected(changes, match):
    with pytest.raises(Rejected, match=match):
        run(call(cdr=cdr(**changes)))


# -- missed calls -------------------------------------------------------------------------------
@pytest.mark.parametrize("disposition", ["NO ANSWER", "BUSY", "FAILED", "CONGESTION"])
def test_unanswered_dispositions_are_one_missed_call(disposition):
    body = call(cdr=cdr(Disposition=disposition, AnswerTime="", BillableSeconds="0"), notes="ignored")
    [missed] = run(body)
    assert missed.kind == "missed_call"
    assert missed.channel == "phone"
    assert missed.source_ref == "1796105002.42"
    assert missed.received_at == hkt("2026-12-01T14:03:22")
    assert missed.contact == CustomerContact(name="陳大文", phone="+85221234567")
    assert missed.text is None
    assert missed.extra == {"disposition": disposition, "destination": "8000"}
    assert missed.conversation_key == "call:1796105002.42"


def test_unknown_disposition_is_a_missed_call_too():
    [missed] = run(call(cdr=cdr(Disposition="no answer", AnswerTime="")))
    assert missed.kind == "missed_call"
    assert missed.extra["disposition"] == "NO ANSWER"


def test_missed_call_from_a_withheld_number_has_no_contact():
    [missed] = run(call(cdr=cdr(Disposition="NO ANSWER", AnswerTime="", CallerID='"Anonymous" <anonymous>', Source="")))
    assert missed.contact is None


def test_missed_call_answer_time_is_not_needed():
    [missed] = run(call(cdr=cdr(Disposition="BUSY", AnswerTime="", EndTime="", BillableSeconds="")))
    assert missed.kind == "missed_call"


# -- caller id ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "caller_id, source, expected",
    [
        ('"陳大文" <+85221234567>', "", CustomerContact(name="陳大文", phone="+85221234567")),
        (
            '"Chan \\"Tommy\\" Tai Man" <85221234567>',
            "",
            CustomerContact(name='Chan "Tommy" Tai Man', phone="85221234567"),
        ),
        ("Chan Tai Man <85221234567>", "", CustomerContact(name="Chan Tai Man", phone="85221234567")),
        ("<85221234567>", "", CustomerContact(phone="85221234567")),
        ('"" <85221234567>', "", CustomerContact(phone="85221234567")),
        ("2123 4567", "", CustomerContact(phone="2123 4567")),
        ("+852 2123 4567", "", CustomerContact(phone="+852 2123 4567")),
        ('"85221234567" <85221234567>', "", CustomerContact(phone="85221234567")),  # name = number
        ('"陳大文" <>', "85221234567", CustomerContact(name="陳大文", phone="85221234567")),  # number from Source
        ("", "85221234567", CustomerContact(phone="85221234567")),
        ('"劉小姐"', "", CustomerContact(name="劉小姐")),
        ('"Unknown" <unknown>', "", None),
        ("", "", None),
        ("", "anonymous", None),
    ],
)
def test_caller_id_forms(caller_id, source, expected):
    [missed] = run(call(cdr=cdr(CallerID=caller_id, Source=source, Disposition="NO ANSWER", AnswerTime="")))
    assert missed.contact == expected


def test_missing_caller_id_and_source_fields():
    event = cdr(Disposition="NO ANSWER")
    del event["CallerID"], event["Source"]
    [missed] = run({"cdr": event})
    assert missed.contact is None


def test_parse_caller_id_directly():
    assert parse_caller_id('"陳大文" <+85221234567>') == ("陳大文", "+85221234567")
    assert parse_caller_id("<85221234567>") == (None, "85221234567")
    assert parse_caller_id("2123 4567") == (None, "2123 4567")
    assert parse_caller_id("") == (None, None)
    assert parse_caller_id(None) == (None, None)


# -- rejected payloads --------------------------------------------------------------------------
@pytest.mark.parametrize("field", ["UniqueID", "StartTime", "Disposition"])
def test_missing_required_cdr_field_is_rejected_with_its_name(field):
    event = cdr()
    del event[field]
    with pytest.raises(Rejected, match=rf"cdr\.{field}"):
        run(call(cdr=event))


@pytest.mark.parametrize("field", ["UniqueID", "StartTime", "Disposition"])
def test_blank_required_cdr_field_is_rejected_with_its_name(field):
    with pytest.raises(Rejected, match=rf"cdr\.{field}"):
        run(call(cdr=cdr(**{field: "  "})))


def test_missing_cdr_is_rejected():
    with pytest.raises(Rejected, match="cdr"):
        run({"agent_id": "agent-201", "notes": "hello"})


@pytest.mark.parametrize("body", [b"", b"not json", b"\xff\xfe{", b'{"cdr": '])
def test_invalid_json_is_rejected(body):
    with pytest.raises(Rejected, match="JSON"):
        run(body)


@pytest.mark.parametrize("body", [[], "cdr", 42, None, {"cdr": []}, {"cdr": "UniqueID=1"}])
def test_wrong_shapes_are_rejected(body):
    with pytest.raises(Rejected):
        run(body)


def test_unknown_fields_are_ignored():
    body = call(notes="Customer asked for parking.", ivr_path=["1", "3"], cdr=cdr(Foo="bar"))
    assert [n.kind for n in run(body)] == ["inquiry", "agent_reply"]


def test_the_same_delivery_twice_normalises_the_same():
    body = call(notes="查詢場地")
    assert run(body) == run(copy.deepcopy(body))


# -- fuzz ---------------------------------------------------------------------------------------
CDR_KEYS = list(cdr().keys())
TOP_KEYS = ["cdr", "agent_id", "notes", "booking", "complaint"]

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=40)
    | st.sampled_from(["", " ", "2026-12-01 14:03:22", "0001-01-01 00:00:00", "9999-12-31 23:59:59", "ANSWERED"])
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)


@st.composite
def mutated_calls(draw: st.DrawFn) -> dict[str, Any]:
    """A realistic call with some fields replaced, removed or added: reaches the deep paths."""
    body = call(
        notes=draw(st.none() | st.text(max_size=30)),
        booking=draw(st.sampled_from([None, BOOKING])),
        complaint=draw(st.sampled_from([None, COMPLAINT, {}])),
    )
    event = body["cdr"]
    for key in draw(st.lists(st.sampled_from(CDR_KEYS), max_size=4)):
        if draw(st.booleans()):
            event.pop(key, None)
        else:
            event[key] = draw(json_values)
    for key in draw(st.lists(st.sampled_from(TOP_KEYS), max_size=2)):
        body[key] = draw(json_values)
    return body


def assert_list_or_rejected(body: Any) -> None:
    support.assert_list_or_rejected(lambda: run(body), ("inquiry", "agent_reply", "missed_call"))


FUZZ = support.FUZZ


@FUZZ
@given(st.dictionaries(st.sampled_from(TOP_KEYS) | st.text(max_size=8), json_values, max_size=6))
def test_fuzz_arbitrary_json_objects(body):
    assert_list_or_rejected(body)


@FUZZ
@given(json_values)
def test_fuzz_arbitrary_json_values(body):
    assert_list_or_rejected(body)


@FUZZ
@given(st.dictionaries(st.sampled_from(CDR_KEYS), json_values, max_size=len(CDR_KEYS)))
def test_fuzz_arbitrary_cdr_fields(event):
    assert_list_or_rejected({"cdr": event, "notes": "fuzz"})


@FUZZ
@given(mutated_calls())
def test_fuzz_mutated_realistic_calls(body):
    assert_list_or_rejected(body)


@FUZZ
@given(st.binary(max_size=300))
def test_fuzz_arbitrary_bytes(raw):
    assert_list_or_rejected(raw)
