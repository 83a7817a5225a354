"""The broker permissions derived from the topology (shared/access.py): each service's user matches
exactly its own queues and the exchanges it uses, as RabbitMQ reads the patterns; the definitions
document, the password hashes and the secrets file."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import stat
from pathlib import Path

import pytest

from shared.access import (
    add_missing_secrets,
    broker_permissions,
    broker_user,
    definitions,
    exactly,
    rabbit_password_hash,
    read_env_file,
    secret_names,
    sibling_command_users,
)
from shared.authz import Principal
from shared.settings import ServiceSettings
from shared.topology import COMMANDS, DLX, EVENTS, EXCHANGES, INBOUND, PUBLISHES, QUEUES, SERVICES, queues_of

RESOURCES = sorted({*EXCHANGES, *(q.name for q in QUEUES), *(q.dead_letter_queue for q in QUEUES)})
# names a loose pattern would let through: another service's queue with a suffix, a prefix, a lookalike
# (the default exchange is "amq.default" to a permission check: "^$", RabbitMQ's "nothing", matches no name)
LOOKALIKES = ["booking.events.x", "xbooking.events", "booking-events", "meetdesk.events2", "amq.default"]


def matched(pattern: str) -> set[str]:
    """What RabbitMQ grants with ``pattern``: the resource names it finds a match in (re:run, unanchored)."""
    return {name for name in [*RESOURCES, *LOOKALIKES] if re.search(pattern, name)}


def own(service: str) -> set[str]:
    return {name for q in queues_of(service) for name in (q.name, q.dead_letter_queue)}


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_user_may_configure_exactly_its_own_queues_and_their_dead_letter_queues(service: str) -> None:
    assert matched(broker_permissions(service).configure) == own(service)


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_user_may_write_to_the_exchanges_it_publishes_to_and_bind_its_own_queues(service: str) -> None:
    assert matched(broker_permissions(service).write) == own(service) | set(PUBLISHES[service])


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_user_may_read_its_own_queues_and_the_exchanges_they_are_bound_to(service: str) -> None:
    bound = {exchange for q in queues_of(service) for exchange, _ in q.bindings} | {DLX}
    assert matched(broker_permissions(service).read) == {q.name for q in queues_of(service)} | bound


def test_only_intake_sends_commands_and_messages_into_meetdesk_and_every_service_emits_events() -> None:
    writers = {x: {s for s in SERVICES if x in matched(broker_permissions(s).write)} for x in EXCHANGES}
    assert writers == {INBOUND: {"intake"}, COMMANDS: {"intake"}, EVENTS: set(SERVICES), DLX: set(SERVICES)}
    readers = {q.name: {s for s in SERVICES if q.name in matched(broker_permissions(s).read)} for q in QUEUES}
    assert readers == {q.name: {q.service} for q in QUEUES}, "each queue is read by its own service only"


def test_every_service_of_the_topology_says_what_it_publishes_and_names_only_exchanges_of_it() -> None:
    assert set(SERVICES) == {q.service for q in QUEUES}
    assert all(set(PUBLISHES[s]) <= set(EXCHANGES) for s in SERVICES)


def test_a_pattern_of_no_names_grants_nothing() -> None:
    assert matched(exactly([])) == set()
    assert exactly(["a.b"]) == r"^(a\.b)$"


def test_the_password_hash_is_rabbitmqs_salted_sha256_and_never_the_same_twice() -> None:
    raw = base64.b64decode(rabbit_password_hash("s3cret"))
    salt, digest = raw[:4], raw[4:]
    assert digest == hashlib.sha256(salt + b"s3cret").digest()
    assert rabbit_password_hash("s3cret") != rabbit_password_hash("s3cret")
    assert (
        rabbit_password_hash("pw", salt=b"\x90\x8d\xc6\x0a")
        == base64.b64encode(b"\x90\x8d\xc6\x0a" + hashlib.sha256(b"\x90\x8d\xc6\x0apw").digest()).decode()
    )


def test_the_definitions_hold_hashes_never_passwords_and_the_whole_topology() -> None:
    passwords = {s: f"password-of-{s}" for s in SERVICES}
    doc = definitions(passwords, vhost="desk", admin_password="admin-password", delivery_limit=7)
    text = json.dumps(doc)
    assert "password-of-" not in text and "admin-password" not in text
    users = {u["name"]: u for u in doc["users"]}
    assert set(users) == {"meetdesk-admin", *(broker_user(s) for s in SERVICES)}
    assert users["meetdesk-admin"]["tags"] == ["administrator"] and users["meetdesk-booking"]["tags"] == []
    for service in SERVICES:
        (perm,) = [p for p in doc["permissions"] if p["user"] == broker_user(service)]
        rights = broker_permissions(service)
        assert (perm["vhost"], perm["configure"], perm["write"], perm["read"]) == (
            "desk",
            rights.configure,
            rights.write,
            rights.read,
        )
    queues = {q["name"]: q["arguments"] for q in doc["queues"]}
    assert queues == {
        **{q.name: q.arguments(7) for q in QUEUES},
        **{q.dead_letter_queue: {"x-queue-type": "quorum"} for q in QUEUES},
    }
    bindings = {(b["source"], b["destination"], b["routing_key"]) for b in doc["bindings"]}
    assert bindings == {(x, q.name, key) for q in QUEUES for x, key in q.bindings} | {
        (DLX, q.dead_letter_queue, q.name) for q in QUEUES
    }
    assert {x["name"] for x in doc["exchanges"]} == set(EXCHANGES)
    bare = definitions(passwords, topology=False)
    assert "queues" not in bare and not any(u["name"] == "meetdesk-admin" for u in bare["users"])


def test_a_service_on_its_own_user_takes_intakes_user_as_an_agent_and_the_admin_as_ops() -> None:
    assert sibling_command_users("meetdesk-booking") == ("meetdesk-intake",)
    assert sibling_command_users("ci-7-meetdesk-complaints") == ("ci-7-meetdesk-intake",)
    assert sibling_command_users("guest") == () and sibling_command_users("meetdesk-nobody") == ()
    booking = ServiceSettings(service="booking", amqp_url="amqp://meetdesk-booking:pw@rabbitmq:5672/")
    assert booking.publisher_principals() == {
        "meetdesk-booking": Principal("meetdesk", "ops", delegate=True),
        "meetdesk-intake": Principal("meetdesk", "agent", delegate=True),
        "meetdesk-admin": Principal("meetdesk", "ops", delegate=True),
    }
    assert set(ServiceSettings(service="booking", amqp_url="amqp://guest@h/").publisher_principals()) == {"guest"}


def test_the_secrets_step_adds_only_what_is_missing_and_keeps_the_file_private(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text("MEETDESK_API_TOKEN=keep-me\nMEETDESK_DB_PASSWORD_BOOKING=given")  # no final newline
    added = add_missing_secrets(env, environ={"MEETDESK_BROKER_PASSWORD_METRICS": "from-the-environment"})
    assert set(added) == set(secret_names()) - {"MEETDESK_DB_PASSWORD_BOOKING", "MEETDESK_BROKER_PASSWORD_METRICS"}
    values = read_env_file(env)
    assert values["MEETDESK_API_TOKEN"] == "keep-me" and values["MEETDESK_DB_PASSWORD_BOOKING"] == "given"
    assert all(re.fullmatch(r"[0-9a-f]{48}", values[name]) for name in added)
    assert stat.S_IMODE(env.stat().st_mode) == 0o600
    assert add_missing_secrets(env, environ={"MEETDESK_BROKER_PASSWORD_METRICS": "x"}) == []


@pytest.mark.parametrize("service", SERVICES)
def test_what_a_services_asyncapi_document_says_it_sends_and_consumes_its_user_may_write_and_read(
    service: str,
) -> None:
    document = json.loads((Path(__file__).parents[2] / "docs" / "asyncapi" / f"{service}.json").read_text())
    sends, consumes = set(), set()
    for operation in document["operations"].values():
        amqp = document["channels"][operation["channel"]["$ref"].rsplit("/", 1)[-1]]["bindings"]["amqp"]
        if operation["action"] == "send":
            sends.add(amqp["exchange"]["name"])
        else:
            consumes.add(amqp["queue"]["name"])
    rights = broker_permissions(service)
    assert sends and sends <= matched(rights.write)
    assert consumes == {q.name for q in queues_of(service)} and consumes <= matched(rights.read)
