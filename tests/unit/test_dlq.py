"""The dead-letter tool's decisions, without a broker: where a dead letter goes back to, which ones a
selector picks, what a replay carries and records, and that nothing printed shows an email address or
phone number in clear."""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from shared.contract.events import MessageReplayed
from shared.topology import COMMANDS, ERROR_HEADER, EVENTS, INBOUND, ORIGIN_QUEUE_HEADER
from tools.dlq import (
    REPLAYED_HEADER,
    ROUTING_KEY_HEADER,
    DeadLetter,
    DlqError,
    Selector,
    Unresolvable,
    describe,
    origin_of,
    parser,
    preview,
    reason_group,
    reason_of,
    redact_url,
    replay_properties,
    replayed_event,
    require_selector,
    resolve_queue,
    select,
    when,
)

CORRELATION = "7d7f3c1e-2b8a-4f51-9a3e-0c1d2e3f4a5b"


def service_letter(
    dlq: str = "booking.events.dlq",
    *,
    reason: str = "schema validation failed: meeting.start: Field required",
    queue: str | None = None,
    routing_key: str = "booking.requested",
    message_id: str | None = "evt-1",
    body: bytes = b'{"inquiry_id": "inq-1"}',
    **headers: object,
) -> DeadLetter:
    """A dead letter as Dispatcher.dead_letter makes it."""
    return DeadLetter(
        dead_letter_queue=dlq,
        body=body,
        headers={
            "x-delivery-count": 4,
            ERROR_HEADER: reason,
            ORIGIN_QUEUE_HEADER: queue or dlq.removesuffix(".dlq"),
            ROUTING_KEY_HEADER: routing_key,
            **headers,
        },
        message_id=message_id,
        correlation_id=CORRELATION,
        content_type="application/json",
        timestamp=datetime(2026, 11, 27, 9, 30, tzinfo=UTC),
    )


def broker_letter(dlq: str = "booking.commands.dlq", **extra: object) -> DeadLetter:
    """A dead letter the broker made itself when the delivery limit was exceeded."""
    return DeadLetter(
        dead_letter_queue=dlq,
        body=b'{"command_id": "c-1"}',
        headers={
            "x-death": [
                {
                    "count": 1,
                    "reason": "delivery_limit",
                    "queue": "booking.commands",
                    "time": datetime(2026, 11, 27, 10, 0, tzinfo=UTC),
                    "exchange": COMMANDS,
                    "routing-keys": ["rooms.upsert"],
                }
            ],
            "x-first-death-exchange": COMMANDS,
            "x-first-death-queue": "booking.commands",
            "x-first-death-reason": "delivery_limit",
            "x-delivery-count": 0,
            **extra,
        },
        message_id="cmd-1",
        correlation_id=CORRELATION,
        content_type="application/json",
    )


# -- where it goes back to --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dlq", "routing_key", "exchange"),
    [
        ("intake.inbound.dlq", "webform", INBOUND),
        ("booking.events.dlq", "booking.requested", EVENTS),
        ("metrics.events.dlq", "inquiry.received", EVENTS),
        ("booking.commands.dlq", "rooms.upsert", COMMANDS),
        ("complaints.commands.dlq", "complaint.update_status", COMMANDS),
    ],
)
def test_a_service_dead_letter_goes_back_to_the_exchange_its_queue_is_bound_to(dlq, routing_key, exchange):
    origin = origin_of(service_letter(dlq, routing_key=routing_key))
    assert (origin.exchange, origin.routing_key, origin.queue, origin.by) == (
        exchange,
        routing_key,
        dlq.removesuffix(".dlq"),
        "service",
    )
    assert origin.reason.startswith("schema validation failed")


def test_a_broker_dead_letter_goes_back_to_the_exchange_and_routing_key_in_x_death():
    origin = origin_of(broker_letter())
    assert (origin.exchange, origin.routing_key, origin.queue, origin.by) == (
        COMMANDS,
        "rooms.upsert",
        "booking.commands",
        "broker",
    )
    assert origin.reason == "broker: delivery_limit"


def test_the_x_death_entry_of_the_queue_it_died_in_wins_over_older_ones():
    letter = broker_letter()
    older = {"reason": "rejected", "queue": "somewhere.else", "exchange": "other.exchange", "routing-keys": ["k"]}
    letter = DeadLetter(
        dead_letter_queue=letter.dead_letter_queue,
        body=letter.body,
        headers={**letter.headers, "x-death": [older, *letter.headers["x-death"]]},
    )
    assert origin_of(letter).exchange == COMMANDS


def test_a_dead_letter_from_a_queue_outside_the_topology_cannot_be_routed_back():
    with pytest.raises(Unresolvable, match="not in the topology"):
        origin_of(service_letter(queue="legacy.queue"))


def test_a_message_without_dead_letter_headers_cannot_be_routed_back():
    with pytest.raises(Unresolvable, match="cannot tell"):
        origin_of(DeadLetter(dead_letter_queue="booking.events.dlq", body=b"{}"))


def test_a_service_dead_letter_without_its_routing_key_cannot_be_routed_back():
    letter = service_letter()
    headers = {k: v for k, v in letter.headers.items() if k != ROUTING_KEY_HEADER}
    with pytest.raises(Unresolvable, match=ROUTING_KEY_HEADER):
        origin_of(DeadLetter(dead_letter_queue=letter.dead_letter_queue, body=b"{}", headers=headers))


def test_header_values_given_as_bytes_are_read_as_text():
    letter = service_letter()
    headers = {k: (v.encode() if isinstance(v, str) else v) for k, v in letter.headers.items()}
    letter = DeadLetter(dead_letter_queue=letter.dead_letter_queue, body=letter.body, headers=headers)
    assert origin_of(letter).routing_key == "booking.requested"
    assert reason_of(letter).startswith("schema validation failed")


# -- which ones ------------------------------------------------------------------------------------


def test_a_reason_selects_the_dead_letters_whose_reason_contains_it_ignoring_case():
    letters = [
        service_letter(message_id="a", reason="processing failed 5 times: OperationalError: connection lost"),
        service_letter(message_id="b", reason="schema validation failed: meeting: Field required"),
        service_letter(message_id="c", reason="processing failed 5 times: OperationalError: timeout"),
        broker_letter(),
    ]
    picked = select(letters, Selector(reason="operationalerror"))
    assert [x.message_id for x in picked] == ["a", "c"]
    assert [x.message_id for x in select(letters, Selector(reason="delivery_limit"))] == ["cmd-1"]


def test_message_ids_select_exactly_those_messages_in_queue_order():
    letters = [service_letter(message_id=i) for i in ("a", "b", "c", "d")]
    assert [x.message_id for x in select(letters, Selector(message_ids=frozenset({"d", "b"})))] == ["b", "d"]


def test_reason_and_message_id_together_must_both_match():
    letters = [service_letter(message_id="a", reason="boom"), service_letter(message_id="b", reason="other")]
    assert select(letters, Selector(reason="boom", message_ids=frozenset({"b"}))) == []


def test_all_selects_everything_up_to_the_limit():
    letters = [service_letter(message_id=str(i)) for i in range(5)]
    assert [x.message_id for x in select(letters, Selector(everything=True), limit=3)] == ["0", "1", "2"]


def test_a_replay_without_a_selector_is_refused():
    with pytest.raises(DlqError, match="refusing to replay without a selector"):
        require_selector(Selector())
    with pytest.raises(DlqError, match="--all"):
        require_selector(Selector(everything=True, reason="boom"))
    require_selector(Selector(reason="boom"))
    require_selector(Selector(message_ids=frozenset({"a"})))
    require_selector(Selector(everything=True))


def test_a_queue_is_named_by_its_own_name_or_its_dead_letter_queue_and_unknown_names_are_refused():
    assert resolve_queue("booking.events").dead_letter_queue == "booking.events.dlq"
    assert resolve_queue("booking.events.dlq").name == "booking.events"
    with pytest.raises(DlqError, match=r"unknown queue 'nope'.*intake\.inbound"):
        resolve_queue("nope")


# -- what a replay carries and records --------------------------------------------------------------


def test_a_replay_keeps_the_message_and_drops_the_dead_letter_bookkeeping():
    letter = service_letter(**{"x-custom": "kept", "traceparent": "00-abc-def-01"})
    letter = replace(letter, app_id="meetdesk-booking", type="x")  # the dead-lettering service's, not the original's
    props = replay_properties(letter)
    assert props["message_id"] == "evt-1"
    assert props["correlation_id"] == CORRELATION
    assert props["content_type"] == "application/json"
    assert props["delivery_mode"] == 2
    assert props["headers"] == {"x-custom": "kept", "traceparent": "00-abc-def-01", REPLAYED_HEADER: 1}
    assert not {"timestamp", "app_id", "type", "user_id", "expiration"} & set(props)


def test_a_replay_of_a_broker_dead_letter_drops_x_death_and_its_companions():
    props = replay_properties(broker_letter(**{"x-custom": 1}))
    assert props["headers"] == {"x-custom": 1, REPLAYED_HEADER: 1}


def test_a_broker_dead_letter_is_the_original_message_so_its_properties_go_back_as_they_were():
    sent = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
    letter = replace(broker_letter(), app_id="crm", type="rooms.upsert", timestamp=sent, priority=3)
    props = replay_properties(letter)
    assert (props["app_id"], props["type"], props["timestamp"], props["priority"]) == ("crm", "rooms.upsert", sent, 3)
    assert (props["message_id"], props["correlation_id"]) == ("cmd-1", CORRELATION)


def test_each_replay_counts_up_so_a_message_replayed_again_and_again_shows():
    assert replay_properties(service_letter(**{REPLAYED_HEADER: 2}))["headers"][REPLAYED_HEADER] == 3
    assert replay_properties(service_letter(**{REPLAYED_HEADER: "junk"}))["headers"][REPLAYED_HEADER] == 1


def test_a_message_without_message_id_is_replayed_without_one_so_it_dedupes_by_body_as_before():
    props = replay_properties(service_letter(message_id=None))
    assert "message_id" not in props


def test_a_replay_is_recorded_as_message_replayed_by_ops_with_the_message_correlation():
    letter = service_letter()
    event = replayed_event(letter, origin_of(letter), actor="alice")
    assert event.type == "message.replayed" and event.producer == "ops"
    assert event.correlation_id == uuid.UUID(CORRELATION)
    data = MessageReplayed.model_validate(event.data)
    assert data == MessageReplayed(
        dead_letter_queue="booking.events.dlq",
        exchange=EVENTS,
        routing_key="booking.requested",
        message_id="evt-1",
        reason="schema validation failed: meeting.start: Field required",
        actor="alice",
    )


def test_a_replayed_event_message_names_the_event_it_replays_as_its_cause():
    event_id = str(uuid.uuid4())
    letter = service_letter(message_id=event_id)
    assert str(replayed_event(letter, origin_of(letter), actor="ops").causation_id) == event_id
    other = service_letter(message_id="web-4711")
    assert replayed_event(other, origin_of(other), actor="ops").causation_id is None


def test_a_message_without_correlation_id_gets_the_one_the_services_would_derive():
    from shared.runtime import derive_uuid

    letter = DeadLetter(
        dead_letter_queue="intake.inbound.dlq",
        body=b"x",
        headers={ERROR_HEADER: "r", ROUTING_KEY_HEADER: "email"},
        message_id="m-1",
    )
    assert replayed_event(letter, origin_of(letter), actor="ops").correlation_id == derive_uuid("delivery", "m-1")


# -- what is printed -------------------------------------------------------------------------------


def test_reasons_differing_only_in_ids_and_numbers_are_one_group():
    a = reason_group(f"processing failed 5 times: KeyError: booking {uuid.uuid4()} room 12")
    b = reason_group(f"processing failed 3 times: KeyError: booking {uuid.uuid4()} room 7")
    assert a == b == "processing failed <n> times: KeyError: booking <id> room <n>"
    assert len(reason_group("x" * 500)) == 80


def test_a_body_preview_masks_emails_and_phone_numbers_and_keeps_chinese_readable():
    body = json.dumps(
        {"customer": {"name": "陳大文", "email": "chan.taiman@example.com", "phone": "+852 2123 4567"}}
    ).encode()
    shown = preview(body, width=500)
    assert "陳大文" in shown
    assert "chan.taiman@example.com" not in shown and "taiman" not in shown
    assert "2123 4567" not in shown and "21234567" not in shown
    assert "[phone ***67]" in shown


def test_a_preview_is_cut_after_masking_so_no_part_of_an_address_is_left():
    body = ("x" * 90 + " reply to someone.with.a.long.name@example.com").encode()
    assert "someone" not in preview(body, width=100)


def test_a_preview_of_binary_or_non_utf8_bodies_is_one_printable_line():
    shown = preview("主題：會議室\r\n\x00預訂".encode("gb18030"))
    assert "\n" not in shown and "\x00" not in shown


def test_show_masks_reasons_and_names_route_reason_time_and_size():
    letter = service_letter(
        reason="processing failed 5 times: IntegrityError: Key (email)=(chan@example.com) already exists",
        body=b'{"phone": "13800138000"}',
        **{REPLAYED_HEADER: 1},
    )
    text = "\n".join(describe(letter, 1))
    assert "chan@example.com" not in text and "13800138000" not in text
    assert "message_id=evt-1" in text and f"correlation_id={CORRELATION}" in text
    assert "booking.requested → meetdesk.events (from queue booking.events)" in text
    assert "2026-11-27T09:30:00+00:00" in text
    assert f"{len(letter.body)} bytes, application/json" in text
    assert "replayed   1 time(s) before" in text


def test_the_time_of_a_broker_dead_letter_is_its_x_death_time():
    assert when(broker_letter()) == datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
    assert when(service_letter()) == datetime(2026, 11, 27, 9, 30, tzinfo=UTC)


def test_show_says_why_a_dead_letter_cannot_be_routed_back():
    text = "\n".join(describe(DeadLetter(dead_letter_queue="booking.events.dlq", body=b""), 1))
    assert "route      unknown" in text and "reason     (no reason given)" in text


def test_the_broker_password_is_never_printed():
    assert redact_url("amqp://guest:secret@rabbit:5672/h3") == "amqp://guest:***@rabbit:5672/h3"
    assert redact_url("amqp://rabbit/") == "amqp://rabbit/"


# -- command line ----------------------------------------------------------------------------------


def test_the_command_line_takes_the_broker_url_before_or_after_the_command():
    p = parser()
    assert p.parse_args(["--amqp-url", "amqp://a/", "list"]).amqp_url == "amqp://a/"
    assert p.parse_args(["list", "--amqp-url", "amqp://b/"]).amqp_url == "amqp://b/"
    args = p.parse_args(["replay", "booking.events", "--message-id", "a", "--message-id", "b", "--dry-run"])
    assert args.message_id == ["a", "b"] and args.dry_run and not args.all


def test_limits_below_one_are_refused():
    with pytest.raises(SystemExit):
        parser().parse_args(["show", "booking.events", "--limit", "0"])


def test_every_dead_letter_queue_of_the_topology_is_known_to_the_tool():
    from shared.topology import QUEUES

    assert {resolve_queue(q.dead_letter_queue).name for q in QUEUES} == {q.name for q in QUEUES}
