"""Chat channel: Chatwoot webhook bodies → inquiry, agent reply, status change, or nothing."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.intake.channels.chat import adapt, chatwoot_time
from services.intake.normalised import ChannelContext, Normalised
from shared.contract.inbound import CustomerContact
from shared.runtime import Incoming, Rejected

from . import channel_support as support

CTX = ChannelContext()


def incoming(body: Any) -> Incoming:
    return support.incoming(body, "chat")


def run(body: Any) -> list[Normalised]:
    return adapt(incoming(body), CTX)


CONTACT = {
    "additional_attributes": {"city": "Hong Kong"},
    "custom_attributes": {},
    "email": "taiman.chan@example.com",
    "id": 87,
    "identifier": None,
    "name": "陳大文",
    "phone_number": "+85291234567",
    "thumbnail": "",
    "type": "contact",
}
AGENT = {"id": 3, "name": "黃小姐", "email": "wong@meetdesk.example", "type": "user"}


def conversation(**changes: Any) -> dict[str, Any]:
    """``conversation.webhook_data`` as Chatwoot embeds it in a message event."""
    conv = {
        "additional_attributes": {"browser": {"browser_name": "Chrome"}, "referer": "https://venue.example/rooms"},
        "can_reply": True,
        "channel": "Channel::WebWidget",
        "contact_inbox": {
            "id": 112,
            "contact_id": 87,
            "inbox_id": 1,
            "source_id": "405f1d30-1af3-4fa0-8ffd-11ea3f86101e",
            "created_at": "2026-12-01T06:01:10.112Z",
            "updated_at": "2026-12-01T06:01:10.112Z",
            "hmac_verified": False,
        },
        "id": 45,
        "inbox_id": 1,
        "messages": [
            {
                "id": 1200,
                "content": "你好,想問一下...",
                "account_id": 1,
                "inbox_id": 1,
                "conversation_id": 45,
                "message_type": 0,
                "created_at": 1796105002,
                "private": False,
                "status": "sent",
                "content_type": "text",
            }
        ],
        "labels": [],
        "meta": {"sender": dict(CONTACT), "assignee": {**AGENT, "availability_status": "online"}, "team": None},
        "status": "open",
        "unread_count": 1,
        "agent_last_seen_at": 0,
        "contact_last_seen_at": 0,
        "timestamp": 1796105002,
        "created_at": 1796104860,
        "updated_at": 1796105002.381,
    }
    conv.update(changes)
    return conv


def message(**changes: Any) -> dict[str, Any]:
    """A ``message_created`` webhook body for a customer's message."""
    body = {
        "account": {"id": 1, "name": "港灣會議中心"},
        "additional_attributes": {},
        "content_attributes": {},
        "content_type": "text",
        "content": "你好,我想預訂十二月十日下午的會議室,大約二十人,需要投影儀。",
        "conversation": conversation(),
        "created_at": "2026-12-01T06:03:22.000Z",
        "id": 1201,
        "inbox": {"id": 1, "name": "Website"},
        "message_type": "incoming",
        "private": False,
        "sender": {**CONTACT, "account": {"id": 1, "name": "港灣會議中心"}},
        "source_id": None,
        "event": "message_created",
    }
    body.update(changes)
    return body


def agent_message(**changes: Any) -> dict[str, Any]:
    reply = {
        "id": 1202,
        "content": "您好陳先生,十二月十日下午二時有一間可容納二十四人的會議室,設有投影儀。",
        "created_at": "2026-12-01T06:05:02.000Z",
        "message_type": "outgoing",
        "sender": dict(AGENT),
    }
    return message(**{**reply, **changes})


def status_changed(**changes: Any) -> dict[str, Any]:
    body = conversation(status="resolved", timestamp=1796106600, updated_at=1796106611.52)
    body.update(event="conversation_status_changed", changed_attributes=[{"status": {"previous_value": "open"}}])
    body.update(changes)
    return body


# -- customer messages --------------------------------------------------------------------------
def test_incoming_message_is_an_inquiry():
    [n] = run(message())
    assert n.kind == "inquiry"
    assert n.channel == "chat"
    assert n.source_ref == "message:1201"
    assert n.conversation_key == "chatwoot:45"
    assert n.received_at == datetime(2026, 12, 1, 6, 3, 22, tzinfo=UTC)
    assert n.contact == CustomerContact(name="陳大文", email="taiman.chan@example.com", phone="+85291234567")
    assert n.intent is None
    assert n.text == "你好,我想預訂十二月十日下午的會議室,大約二十人,需要投影儀。"
    assert n.channel_identity == ("chatwoot_contact", "87")
    assert n.agent_id is None and n.response_seconds is None


def test_incoming_english_message():
    [n] = run(message(content="Hi, is the boardroom free next Tuesday afternoon for 12 people?"))
    assert n.text.startswith("Hi, is the boardroom free")


def test_incoming_from_an_anonymous_widget_visitor():
    visitor = {"id": 14, "name": "little-haze-776", "avatar": "", "type": "contact"}
    conv = conversation(meta={"sender": {**visitor, "email": None, "phone_number": None}, "assignee": None})
    [n] = run(message(sender=visitor, conversation=conv))
    assert n.contact is None  # Chatwoot's generated name is not a person's name
    assert n.channel_identity == ("chatwoot_contact", "14")


def test_incoming_without_sender_uses_the_conversation_contact():
    [n] = run(message(sender=None))
    assert n.contact == CustomerContact(name="陳大文", email="taiman.chan@example.com", phone="+85291234567")
    assert n.channel_identity == ("chatwoot_contact", "87")


def test_incoming_attachment_without_text_is_flagged():
    [n] = run(message(content=None, attachments=[{"id": 9, "file_type": "image"}]))
    assert n.kind == "inquiry"
    assert n.text is None
    assert "non_text" in n.flags


@pytest.mark.parametrize(
    "created_at, expected",
    [
        ("2026-12-01T06:03:22.000Z", datetime(2026, 12, 1, 6, 3, 22, tzinfo=UTC)),
        ("2026-12-01T14:03:22+08:00", datetime(2026, 12, 1, 6, 3, 22, tzinfo=UTC)),
        ("2026-12-01 06:03:22 UTC", datetime(2026, 12, 1, 6, 3, 22, tzinfo=UTC)),  # old Chatwoot
        (1796105002, datetime(2026, 12, 1, 6, 3, 22, tzinfo=UTC)),  # epoch seconds
        ("1796105002", datetime(2026, 12, 1, 6, 3, 22, tzinfo=UTC)),
        (1796105002.5, datetime(2026, 12, 1, 6, 3, 22, 500000, tzinfo=UTC)),
        (1796105002000, datetime(2026, 12, 1, 6, 3, 22, tzinfo=UTC)),  # epoch milliseconds
    ],
)
def test_created_at_iso_and_epoch(created_at, expected):
    [n] = run(message(created_at=created_at))
    assert n.received_at == expected
    assert n.received_at.tzinfo is not None


@pytest.mark.parametrize("created_at", ["yesterday", "", None, True, [], {"t": 1}, 10**30, "NaN"])
def test_invalid_created_at_is_rejected(created_at):
    with pytest.raises(Rejected, match="created_at"):
        run(message(created_at=created_at))


def test_chatwoot_time_rejects_non_finite():
    with pytest.raises(ValueError):
        chatwoot_time(float("inf"))


def test_numeric_message_type_from_push_payloads():
    [n] = run(message(message_type=0))
    assert n.kind == "inquiry"
    [n] = run(agent_message(message_type=1))
    assert n.kind == "agent_reply"
    assert run(message(message_type=2)) == []


def test_string_ids_of_old_versions():
    conv = conversation()
    del conv["id"]
    conv["display_id"] = "45"
    [n] = run(message(id="1201", conversation=conv))
    assert n.source_ref == "message:1201"
    assert n.conversation_key == "chatwoot:45"


def test_flat_conversation_id():
    [n] = run(message(conversation=None, conversation_id=45))
    assert n.conversation_key == "chatwoot:45"
    assert n.contact is not None  # from the sender


@pytest.mark.parametrize("conv", [None, {}, {"id": None, "status": "open"}])
def test_message_without_conversation_id_is_rejected(conv):
    body = message(conversation=conv)
    if conv is None:
        del body["conversation"]
    with pytest.raises(Rejected, match="conversation"):
        run(body)


# -- agent replies ------------------------------------------------------------------------------
def test_outgoing_message_is_an_agent_reply():
    [n] = run(agent_message())
    assert n.kind == "agent_reply"
    assert n.channel == "chat"
    assert n.source_ref == "message:1202"
    assert n.conversation_key == "chatwoot:45"
    assert n.agent_id == "3"
    assert n.received_at == datetime(2026, 12, 1, 6, 5, 2, tzinfo=UTC)
    assert n.response_seconds is None  # intake computes it from the conversation
    # the contact is the conversation's customer, not the agent
    assert n.contact == CustomerContact(name="陳大文", email="taiman.chan@example.com", phone="+85291234567")
    assert n.channel_identity == ("chatwoot_contact", "87")
    assert n.intent is None
    assert "automated" not in n.flags


def test_outgoing_agent_without_id_is_known_by_email():
    [n] = run(agent_message(sender={"name": "黃小姐", "email": "wong@meetdesk.example", "type": "user"}))
    assert n.agent_id == "wong@meetdesk.example"


@pytest.mark.parametrize(
    "changes",
    [
        {"sender": {"id": 2, "name": "Venue Bot", "type": "agent_bot"}},
        {"sender": None},
        {"content_attributes": {"automation_rule_id": 7}, "sender": None},
    ],
)
def test_automated_outgoing_messages_are_flagged_replies_without_an_agent(changes):
    [n] = run(agent_message(**changes))
    assert n.kind == "agent_reply"
    assert n.agent_id is None
    assert "automated" in n.flags


@pytest.mark.parametrize("message_type", ["incoming", "outgoing"])
def test_private_notes_are_ignored(message_type):
    body = agent_message(private=True, content="內部備註:客戶上次投訴過投影儀。", message_type=message_type)
    assert run(body) == []


@pytest.mark.parametrize("message_type", ["activity", "template"])
def test_activity_and_template_messages_are_ignored(message_type):
    body = message(message_type=message_type, content="Conversation was marked resolved by 黃小姐", sender=None)
    assert run(body) == []


def test_missing_private_field_means_public():
    body = agent_message()
    del body["private"]
    [n] = run(body)
    assert n.kind == "agent_reply"


# -- status changes -----------------------------------------------------------------------------
def test_conversation_status_changed():
    [n] = run(status_changed())
    assert n.kind == "status_change"
    assert n.channel == "chat"
    assert n.conversation_key == "chatwoot:45"
    assert n.source_ref == "conversation:45:resolved:1796106611.52"
    assert n.extra == {"status": "resolved"}
    assert n.received_at == datetime.fromtimestamp(1796106611.52, UTC)
    assert n.contact == CustomerContact(name="陳大文", email="taiman.chan@example.com", phone="+85291234567")


def test_status_change_falls_back_to_timestamp_then_to_a_hash():
    body = status_changed()
    del body["updated_at"]
    [n] = run(body)
    assert n.source_ref == "conversation:45:resolved:1796106600"
    assert n.received_at == datetime.fromtimestamp(1796106600, UTC)

    del body["timestamp"]
    [a] = run(body)
    [b] = run(copy.deepcopy(body))
    assert a.source_ref == b.source_ref  # the same delivery twice: the same ref
    assert a.source_ref.startswith("conversation:45:resolved:") and len(a.source_ref.split(":")[-1]) == 16
    assert a.received_at is None  # no time of its own: dated when it reaches intake
    [c] = run({**body, "status": "open"})
    assert c.source_ref.startswith("conversation:45:open:")


def test_two_resolutions_of_one_conversation_are_two_changes():
    [first] = run(status_changed(updated_at=1796106611.52))
    [second] = run(status_changed(updated_at=1796116600.01))
    assert first.source_ref != second.source_ref


@pytest.mark.parametrize("field", ["id", "status"])
def test_status_change_missing_field_is_rejected(field):
    body = status_changed()
    del body[field]
    with pytest.raises(Rejected, match=field):
        run(body)


# -- other events and malformed bodies ----------------------------------------------------------
@pytest.mark.parametrize(
    "event",
    ["message_updated", "conversation_created", "conversation_updated", "webwidget_triggered", "contact_created"],
)
def test_other_events_are_ignored(event):
    assert run(message(event=event)) == []


def test_missing_event_is_rejected():
    body = message()
    del body["event"]
    with pytest.raises(Rejected, match="event"):
        run(body)


@pytest.mark.parametrize("field", ["id", "message_type", "created_at"])
def test_message_missing_required_field_is_rejected_with_its_name(field):
    body = message()
    del body[field]
    with pytest.raises(Rejected, match=field):
        run(body)


def test_unknown_message_type_is_rejected():
    with pytest.raises(Rejected, match="message_type"):
        run(message(message_type="whisper"))


@pytest.mark.parametrize("body", [b"", b"<xml/>", b"\xff\xfe", b'{"event": '])
def test_invalid_json_is_rejected(body):
    with pytest.raises(Rejected, match="JSON"):
        run(body)


@pytest.mark.parametrize("body", [[], "message_created", 1, None])
def test_json_that_is_not_an_object_is_rejected(body):
    with pytest.raises(Rejected):
        run(body)


def test_the_same_delivery_twice_normalises_the_same():
    assert run(message()) == run(message())


# -- fuzz ---------------------------------------------------------------------------------------
MESSAGE_KEYS = [*message().keys(), "conversation_id"]
CONVERSATION_KEYS = ["id", "display_id", "status", "meta", "contact_inbox", "timestamp", "updated_at"]
PERSON_KEYS = ["id", "name", "email", "phone_number", "type"]
EVENTS = ["message_created", "conversation_status_changed", "message_updated"]

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=40)
    | st.sampled_from(["", "incoming", "outgoing", "user", "contact", "2026-12-01T06:03:22.000Z", "0001-01-01"])
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
persons = st.dictionaries(st.sampled_from(PERSON_KEYS), json_values, max_size=5)


@st.composite
def mutated_bodies(draw: st.DrawFn) -> dict[str, Any]:
    """Realistic bodies with fields replaced, removed or added: reaches the deep paths."""
    body = draw(st.sampled_from([message, agent_message, status_changed]))()
    body["event"] = draw(st.sampled_from([body["event"], *EVENTS]))
    for key in draw(st.lists(st.sampled_from(MESSAGE_KEYS + CONVERSATION_KEYS), max_size=4)):
        choice = draw(st.integers(0, 2))
        if choice == 0:
            body.pop(key, None)
        elif choice == 1:
            body[key] = draw(json_values)
        else:
            body[key] = draw(persons)
    if isinstance(body.get("conversation"), dict) and draw(st.booleans()):
        conv = body["conversation"]
        conv[draw(st.sampled_from(CONVERSATION_KEYS))] = draw(json_values)
        conv["meta"] = {"sender": draw(persons)}
    return body


def assert_list_or_rejected(body: Any) -> None:
    support.assert_list_or_rejected(lambda: run(body), ("inquiry", "agent_reply", "status_change"))


FUZZ = support.FUZZ


@FUZZ
@given(st.dictionaries(st.sampled_from(MESSAGE_KEYS) | st.text(max_size=8), json_values, max_size=8))
def test_fuzz_arbitrary_json_objects(body):
    assert_list_or_rejected(body)


@FUZZ
@given(st.sampled_from(EVENTS), st.dictionaries(st.sampled_from(MESSAGE_KEYS), json_values, max_size=10))
def test_fuzz_arbitrary_fields_of_known_events(event, body):
    assert_list_or_rejected({**body, "event": event})


@FUZZ
@given(json_values)
def test_fuzz_arbitrary_json_values(body):
    assert_list_or_rejected(body)


@FUZZ
@given(mutated_bodies())
def test_fuzz_mutated_realistic_bodies(body):
    assert_list_or_rejected(body)


@FUZZ
@given(st.binary(max_size=300))
def test_fuzz_arbitrary_bytes(raw):
    assert_list_or_rejected(raw)
