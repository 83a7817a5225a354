"""Who may do what: roles, the principals credentials stand for, and one table of the rules.

Three roles, each allowed what the one before it may do and more: ``agent`` (the desk's daily work on
bookings and complaints), ``supervisor`` (an agent's work, plus overriding the customer's
satisfaction, handing complaints over, the monthly review and the KPIs), ``ops`` (everything: rooms,
the staff directory, any path).

A credential stands for a :class:`Principal`: an HTTP bearer token (``MEETDESK_API_TOKENS``, or the
one ``MEETDESK_API_TOKEN`` of a simple deployment) or a RabbitMQ user named in a command's AMQP
``user_id`` (``MEETDESK_COMMAND_PUBLISHERS``; the broker checks ``user_id`` against the connection's
user). A principal acts as itself: a command it sends must name it as ``actor``. A principal marked
``delegate`` is a system that authenticates its own users (an agent desk, intake answering for the
customer, the simple deployment's one token) and names the actor it acts for.

:data:`COMMAND_RULES` names every command of the contract once (:func:`check_tables` fails
otherwise, at import), with the roles that may run it and stricter rules on parts of its payload;
:data:`PATH_RULES` the roles of each protected HTTP path (a protected path not listed: ops only).
Plain Python: the HTTP edge and the command consumer (:mod:`shared.service`) ask, and refuse.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from .contract.commands import COMMANDS, Command

Role = Literal["agent", "supervisor", "ops"]
ROLES: tuple[Role, ...] = get_args(Role)

AGENT: frozenset[Role] = frozenset({"agent", "supervisor", "ops"})  # an agent, or anyone above
SUPERVISOR: frozenset[Role] = frozenset({"supervisor", "ops"})
OPS: frozenset[Role] = frozenset({"ops"})


@dataclass(frozen=True)
class Principal:
    """Who a credential stands for: ``id`` (recorded as the actor), ``role``; ``delegate``: a system
    that names the actor it acts for (otherwise a command must name the principal itself)."""

    id: str
    role: Role
    delegate: bool = False


@dataclass(frozen=True)
class PayloadRule:
    """A stricter rule on part of a command: when ``field`` is given (not null, not empty), only
    ``roles`` may run it; ``what`` says what that part does (the refusal's reason)."""

    field: str
    roles: frozenset[Role]
    what: str


@dataclass(frozen=True)
class Rule:
    roles: frozenset[Role]
    payload: tuple[PayloadRule, ...] = field(default=())


COMMAND_RULES: dict[str, Rule] = {
    # booking: rooms are ops' business; the customer's bookings are agents'
    "rooms.upsert": Rule(OPS),
    "booking.cancel": Rule(AGENT),
    "booking.reschedule": Rule(AGENT),
    "booking.change": Rule(AGENT),
    "booking.accept_alternative": Rule(AGENT),
    "booking.preparation_done": Rule(AGENT),
    "booking.confirm_attendance": Rule(AGENT),
    "booking.check_in": Rule(AGENT),
    "booking.waitlist_accept": Rule(AGENT),
    # complaints: the lifecycle is agents' work; overriding the customer and handovers are supervisors'
    "complaint.acknowledge": Rule(AGENT),
    "complaint.assign": Rule(AGENT),
    "complaint.investigate": Rule(AGENT),
    "complaint.propose_solution": Rule(AGENT),
    "complaint.start_execution": Rule(AGENT),
    "complaint.resolve": Rule(AGENT),
    "complaint.close": Rule(
        AGENT,
        (PayloadRule("override_reason", SUPERVISOR, "closing without the customer's satisfaction (override_reason)"),),
    ),
    "complaint.record_case": Rule(AGENT),
    "complaint.reopen": Rule(AGENT),
    "complaint.await_customer": Rule(AGENT),
    "complaint.note": Rule(AGENT),
    "complaint.withdraw": Rule(AGENT),
    "complaint.confirm_satisfaction": Rule(AGENT),
    "complaint.plan": Rule(AGENT),
    "complaint.action_done": Rule(AGENT),
    "complaint.plan_agreement": Rule(AGENT),
    "complaint.handover": Rule(SUPERVISOR),
    "staff.upsert": Rule(OPS),
    # the desk (intake): the queues are agents' work; moving one agent's work to another is a supervisor's
    "conversation.assign": Rule(AGENT),
    "callback.assign": Rule(AGENT),
    "callback.record": Rule(AGENT),
    "inquiry.complete": Rule(AGENT),
    "customer.book": Rule(AGENT),
    "customer.link": Rule(AGENT),
    "customer.unlink": Rule(AGENT),
    "desk.handover": Rule(SUPERVISOR),
}

#: protected HTTP paths (route templates) → the roles that may use them; a command posted to
#: ``/commands/{name}`` is then checked against its own rule. Not listed: ops only.
PATH_RULES: dict[str, frozenset[Role]] = {
    "/commands/{name}": AGENT,
    # booking
    "/rooms/{room_id}/day": AGENT,
    "/bookings": AGENT,
    "/bookings/{booking_id}": AGENT,
    "/requests": AGENT,
    "/waitlist": AGENT,
    # complaints
    "/complaints": AGENT,
    "/complaints/{complaint_id}": AGENT,
    "/cases": AGENT,
    "/review": SUPERVISOR,
    # intake: HTTP ingress (web forms, on-site staff)
    "/inbound/{channel}": AGENT,
    # intake: the desk's queues and the customer file
    "/conversations": AGENT,
    "/callbacks": AGENT,
    "/inquiries": AGENT,
    "/customers": AGENT,
    "/customers/{customer_id}": AGENT,
    # metrics
    "/kpis": SUPERVISOR,
    "/kpis.csv": SUPERVISOR,
    "/scorecard": SUPERVISOR,
}


def check_tables(commands: Mapping[str, type[Command]] = COMMANDS) -> None:
    """Every command of the contract has its rule, no rule names a command that does not exist, and
    every payload rule names a field of its command (raises ValueError otherwise)."""
    missing = sorted(set(commands) - set(COMMAND_RULES))
    unknown = sorted(set(COMMAND_RULES) - set(commands))
    if missing or unknown:
        raise ValueError(f"authz.COMMAND_RULES: no rule for {missing or 'none'}; rules for unknown {unknown or 'none'}")
    for name, rule in COMMAND_RULES.items():
        if not rule.roles:
            raise ValueError(f"authz.COMMAND_RULES[{name!r}] lets nobody run it")
        for part in rule.payload:
            if part.field not in commands[name].model_fields:
                raise ValueError(f"authz.COMMAND_RULES[{name!r}] names {part.field!r}, not a field of {name}")


check_tables()


def bearer_principal(authorization: str, principals: Mapping[str, Principal]) -> Principal | None:
    """The principal of an ``Authorization: Bearer <token>`` header's token, or None (no token, or one
    nobody was given); every credential is compared, in constant time."""
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    found = None
    for secret, principal in principals.items():
        if secrets.compare_digest(token.encode(), secret.encode()):
            found = principal
    return found


def may_run(principal: Principal, command: Command) -> str | None:
    """Why ``principal`` may not run ``command`` (its role, or whom it names as actor), or None."""
    name = command.command_name
    rule = COMMAND_RULES.get(name)
    if rule is None:  # cannot happen for a contract command (check_tables)
        return f"{name} has no authorisation rule: nobody may run it"
    if principal.role not in rule.roles:
        return f"{principal.id} (role {principal.role}) may not run {name}: it needs {_needs(rule.roles)}"
    for part in rule.payload:
        if _given(getattr(command, part.field, None)) and principal.role not in part.roles:
            return f"{principal.id} (role {principal.role}) may not: {part.what} needs {_needs(part.roles)}"
    if not principal.delegate and command.actor != principal.id:
        return f"the actor must be the authenticated principal {principal.id!r}, not {command.actor!r}"
    return None


def may_use(principal: Principal, path: str) -> str | None:
    """Why ``principal`` may not use the protected HTTP path (route template) ``path``, or None."""
    roles = PATH_RULES.get(path, OPS)
    if principal.role not in roles:
        return f"{principal.id} (role {principal.role}) may not use {path}: it needs {_needs(roles)}"
    return None


def _given(value: Any) -> bool:
    return value is not None and value != "" and value != [] and value != {}


def _needs(roles: frozenset[Role]) -> str:
    return " or ".join(r for r in ROLES if r in roles)


# -- credentials from the settings -------------------------------------------------------------------
class CredentialsError(ValueError):
    """A credentials setting cannot be read (the message never repeats a secret)."""


def parse_principals(raw: str, *, setting: str) -> dict[str, Principal]:
    """A JSON object ``{"<credential>": {"principal": "<id>", "role": "agent|supervisor|ops",
    "delegate": false}}`` (``delegate`` optional) → ``{credential: Principal}``. Errors name the
    setting and the principal, never the credential (it may be a secret)."""
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        raise CredentialsError(f"{setting} is not valid JSON") from None
    if not isinstance(data, dict):
        raise CredentialsError(f"{setting} must be a JSON object: credential → {{principal, role}}")
    out: dict[str, Principal] = {}
    for n, (credential, entry) in enumerate(data.items(), start=1):
        where = f"{setting}, entry {n}"
        if not isinstance(entry, dict) or set(entry) - {"principal", "role", "delegate"}:
            raise CredentialsError(f"{where}: must be {{principal, role[, delegate]}}")
        principal, role, delegate = entry.get("principal"), entry.get("role"), entry.get("delegate", False)
        if not isinstance(principal, str) or not principal.strip() or len(principal) > 200:
            raise CredentialsError(f"{where}: principal must be a non-empty id")
        if role not in ROLES:
            raise CredentialsError(f"{where} ({principal}): role must be one of {', '.join(ROLES)}")
        if not isinstance(delegate, bool):
            raise CredentialsError(f"{where} ({principal}): delegate must be true or false")
        if not credential:
            raise CredentialsError(f"{where} ({principal}): the credential is empty")
        out[credential] = Principal(principal, role, delegate)
    return out


#: the one token of a simple deployment (``MEETDESK_API_TOKEN``): ops, naming the actor it acts for
SIMPLE_TOKEN_PRINCIPAL = Principal("ops", "ops", delegate=True)
#: the broker user of meetdesk's own services when ``MEETDESK_COMMAND_PUBLISHERS`` does not name it
OWN_BROKER_USER_PRINCIPAL = Principal("meetdesk", "ops", delegate=True)
#: the broker users of the other meetdesk services that send commands (``meetdesk-intake``: the customer's
#: answer to the reminder confirms or cancels), unless ``MEETDESK_COMMAND_PUBLISHERS`` names them: an
#: agent's work, naming the actor it acts for (the customer)
SERVICE_BROKER_USER_PRINCIPAL = Principal("meetdesk", "agent", delegate=True)
