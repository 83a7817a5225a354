"""Least privilege as plain rules: which role may run each command and use each HTTP path, whom a
principal may name as actor, and how credentials are read from the settings."""

from __future__ import annotations

import importlib
import json
import re
from typing import Any

import pytest

from shared import authz
from shared.authz import COMMAND_RULES, PATH_RULES, CredentialsError, Principal, may_run, may_use, parse_principals
from shared.contract.commands import COMMANDS, ComplaintClose, RoomsUpsert, StaffUpsert
from shared.settings import ServiceSettings

AGENT = Principal("agent-1", "agent")
SUPERVISOR = Principal("sup-1", "supervisor")
OPS = Principal("ops-1", "ops")
TOKEN = "0123456789abcdef-token"


def _command(name: str, actor: str, **fields: Any) -> Any:
    """A valid command of every kind, from the smallest payload its model accepts."""
    model = COMMANDS[name]
    base: dict[str, Any] = {"command_id": "c-1", "actor": actor}
    for field, info in model.model_fields.items():
        if field in base or not info.is_required():
            continue
        base[field] = _sample(field)
    return model.model_validate(base | fields)


def _sample(field: str) -> Any:
    samples: dict[str, Any] = {
        "capacity": 10,
        "start": "2030-01-01T09:00:00+00:00",
        "end": "2030-01-01T10:00:00+00:00",
        "department": "catering",
        "role": "agent",
        "case": {"problem": "p", "cause": "c", "solution": "s", "outcome": "o", "lesson": "l"},
    }
    return samples.get(field, "x-1")


def test_every_command_of_the_contract_has_exactly_one_rule() -> None:
    assert set(COMMAND_RULES) == set(COMMANDS)
    authz.check_tables()


def test_a_command_without_a_rule_fails_the_check() -> None:
    with pytest.raises(ValueError, match=re.escape("no rule for ['made.up']")):
        authz.check_tables({**COMMANDS, "made.up": RoomsUpsert})


def test_a_payload_rule_naming_no_field_of_its_command_fails_the_check(monkeypatch: pytest.MonkeyPatch) -> None:
    broken = authz.Rule(authz.AGENT, (authz.PayloadRule("overide_reason", authz.SUPERVISOR, "typo"),))
    monkeypatch.setitem(COMMAND_RULES, "complaint.close", broken)
    with pytest.raises(ValueError, match="overide_reason"):
        authz.check_tables()


@pytest.mark.parametrize("name", sorted(n for n in COMMANDS if n.startswith(("booking.", "complaint."))))
def test_agents_may_run_the_booking_and_complaint_commands_of_their_daily_work(name: str) -> None:
    refusal = may_run(AGENT, _command(name, AGENT.id))
    if name == "complaint.handover":
        assert refusal is not None and "needs supervisor or ops" in refusal
    else:
        assert refusal is None


@pytest.mark.parametrize("model", [RoomsUpsert, StaffUpsert])
def test_rooms_and_the_staff_directory_need_ops(model: type) -> None:
    name = model.command_name  # type: ignore[attr-defined]
    for principal in (AGENT, SUPERVISOR):
        refusal = may_run(principal, _command(name, principal.id))
        assert refusal == f"{principal.id} (role {principal.role}) may not run {name}: it needs ops"
    assert may_run(OPS, _command(name, OPS.id)) is None


def test_closing_with_an_override_reason_needs_a_supervisor_but_closing_plainly_does_not() -> None:
    override = {"override_reason": "customer unreachable after three calls"}
    refusal = may_run(AGENT, _command("complaint.close", AGENT.id, **override))
    assert refusal is not None
    assert "override_reason" in refusal and "needs supervisor or ops" in refusal
    assert may_run(SUPERVISOR, _command("complaint.close", SUPERVISOR.id, **override)) is None
    assert may_run(OPS, _command("complaint.close", OPS.id, **override)) is None
    assert may_run(AGENT, _command("complaint.close", AGENT.id)) is None
    assert may_run(AGENT, _command("complaint.close", AGENT.id, override_reason=None)) is None


def test_the_override_rule_is_in_the_table_on_the_commands_payload() -> None:
    (part,) = COMMAND_RULES["complaint.close"].payload
    assert part.field in ComplaintClose.model_fields and part.roles == {"supervisor", "ops"}


def test_a_principal_acting_as_itself_may_not_name_another_actor() -> None:
    refusal = may_run(AGENT, _command("complaint.note", "someone-else"))
    assert refusal == "the actor must be the authenticated principal 'agent-1', not 'someone-else'"
    assert may_run(Principal("ops-1", "ops"), _command("complaint.note", "someone-else")) is not None


def test_a_delegating_system_names_the_actor_it_acts_for_within_its_role() -> None:
    intake = Principal("intake", "agent", delegate=True)
    assert may_run(intake, _command("booking.confirm_attendance", "customer")) is None
    assert may_run(intake, _command("rooms.upsert", "customer")) is not None, "the role still limits it"


def test_each_protected_path_has_its_roles_and_an_unlisted_one_is_for_ops_only() -> None:
    assert may_use(AGENT, "/complaints") is None
    assert may_use(AGENT, "/kpis") == "agent-1 (role agent) may not use /kpis: it needs supervisor or ops"
    assert may_use(SUPERVISOR, "/kpis") is None
    assert may_use(SUPERVISOR, "/not/listed") is not None
    assert may_use(OPS, "/not/listed") is None


@pytest.mark.parametrize("service", ["booking", "complaints", "intake", "metrics"])
def test_every_protected_route_of_every_service_is_in_the_path_table(service: str) -> None:
    main = importlib.import_module(f"services.{service}.main")
    assert main.svc.protected_paths, f"{service} protects some paths"
    assert set(main.svc.protected_paths) <= set(PATH_RULES), "a new protected path needs its roles in shared/authz.py"


def test_credentials_are_read_from_a_json_map_to_principal_and_role() -> None:
    raw = json.dumps(
        {
            TOKEN: {"principal": "agent-7", "role": "agent"},
            "x" * 20: {"principal": "d", "role": "ops", "delegate": True},
        }
    )
    assert parse_principals(raw, setting="S") == {
        TOKEN: Principal("agent-7", "agent"),
        "x" * 20: Principal("d", "ops", delegate=True),
    }
    assert parse_principals("", setting="S") == {}


@pytest.mark.parametrize(
    "raw",
    [
        "{not json",
        "[]",
        json.dumps({TOKEN: {"principal": "a", "role": "admin"}}),
        json.dumps({TOKEN: {"principal": "", "role": "agent"}}),
        json.dumps({TOKEN: {"principal": "a", "role": "agent", "delegate": "yes"}}),
        json.dumps({TOKEN: {"principal": "a", "role": "agent", "extra": 1}}),
    ],
)
def test_a_malformed_credentials_setting_is_a_reason_not_to_start_and_never_repeats_a_token(raw: str) -> None:
    with pytest.raises(CredentialsError) as caught:
        parse_principals(raw, setting="MEETDESK_API_TOKENS")
    assert TOKEN not in str(caught.value)
    problem = ServiceSettings(api_tokens=raw).secret_problem()
    assert problem is not None and "MEETDESK_API_TOKENS" in problem and TOKEN not in problem


def test_role_tokens_alone_suffice_but_each_must_be_a_real_secret() -> None:
    good = json.dumps({TOKEN: {"principal": "agent-7", "role": "agent"}})
    assert ServiceSettings(api_tokens=good).secret_problem() is None
    weak = json.dumps({"change-me": {"principal": "agent-7", "role": "agent"}})
    problem = ServiceSettings(api_tokens=weak).secret_problem()
    assert problem is not None and "agent-7" in problem and "change-me" not in problem


def test_the_one_api_token_of_a_simple_deployment_is_ops_naming_the_actor_it_acts_for() -> None:
    principals = ServiceSettings(api_token=TOKEN).http_principals()
    assert principals == {TOKEN: Principal("ops", "ops", delegate=True)}
    both = ServiceSettings(api_token=TOKEN, api_tokens=json.dumps({"y" * 20: {"principal": "a", "role": "agent"}}))
    assert set(both.http_principals().values()) == {Principal("ops", "ops", delegate=True), Principal("a", "agent")}


def test_the_services_own_broker_user_may_send_commands_unless_the_setting_says_otherwise() -> None:
    plain = ServiceSettings(amqp_url="amqp://meetdesk:pw@rabbitmq:5672/")
    assert plain.publisher_principals() == {"meetdesk": Principal("meetdesk", "ops", delegate=True)}
    assert ServiceSettings(amqp_url="amqp://rabbitmq/").broker_user == "guest"
    mapped = ServiceSettings(
        amqp_url="amqp://meetdesk:pw@rabbitmq:5672/",
        command_publishers=json.dumps(
            {"meetdesk": {"principal": "desk", "role": "agent"}, "crm": {"principal": "crm", "role": "agent"}}
        ),
    )
    assert mapped.publisher_principals() == {"meetdesk": Principal("desk", "agent"), "crm": Principal("crm", "agent")}
