"""Configuration read from the environment (prefix ``MEETDESK_``).

:class:`ServiceSettings` holds what every service needs (broker, database, HTTP, logging, the
message path, the scheduler, the clock); each service subclasses it with its own part
(``services/<name>/settings.py``): booking's opening hours, intake's webhook secrets, complaints'
SLA policy do not belong in one class. The compose file and ``make run`` set the variables.
"""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .access import installation_admin, sibling_command_users
from .authz import (
    OWN_BROKER_USER_PRINCIPAL,
    SERVICE_BROKER_USER_PRINCIPAL,
    SIMPLE_TOKEN_PRINCIPAL,
    CredentialsError,
    Principal,
    parse_principals,
)

WELL_KNOWN_TOKENS = frozenset({"change-me", "changeme", "secret", "token", "password", "test", "admin"})
MIN_TOKEN_LENGTH = 16


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MEETDESK_", extra="ignore")

    service: str = Field("meetdesk", description="service name: intake, booking, complaints or metrics")
    amqp_url: str = "amqp://guest:guest@127.0.0.1:5672/"
    database_url: str = Field(
        "",
        description="this service's own database (created by the migration step if missing); "
        "default postgresql+asyncpg://postgres@127.0.0.1:5432/meetdesk_<service>",
    )
    http_host: str = "0.0.0.0"
    http_port: int = 8000
    api_token: SecretStr = Field(
        SecretStr(""),
        description="the one bearer token of a simple deployment (role ops, naming the actor it acts for); "
        "required unless MEETDESK_API_TOKENS is set: a service without a token (or with a well-known "
        "placeholder, or shorter than 16 characters) refuses to start",
    )
    api_tokens: SecretStr = Field(
        SecretStr(""),
        description='bearer tokens with their roles, JSON: {"<token>": {"principal": "<id>", "role": '
        '"agent|supervisor|ops", "delegate": false}}; each token 16 characters or more',
    )
    command_publishers: str = Field(
        "",
        description='RabbitMQ users that may send commands, JSON: {"<broker user>": {"principal": "<id>", '
        '"role": "agent|supervisor|ops", "delegate": false}}; a command\'s AMQP user_id names its user. '
        "The user of this service's own MEETDESK_AMQP_URL is accepted (role ops, delegate) unless named; when it is "
        "meetdesk-<service>, so are meetdesk-intake, the user of the service that sends commands (role agent, "
        "delegate), and meetdesk-admin (role ops, delegate)",
    )
    log_level: str = "INFO"

    def secret_problem(self) -> str | None:
        """Why this service must not start with its secrets and credentials as they are, or None."""
        token = self.api_token.get_secret_value()
        try:
            tokens = _principals(self.api_tokens.get_secret_value(), "MEETDESK_API_TOKENS")
            _principals(self.command_publishers, "MEETDESK_COMMAND_PUBLISHERS")
        except CredentialsError as exc:
            return str(exc)
        if not token and not tokens:
            return (
                "MEETDESK_API_TOKEN is not set: give every service the same secret (e.g. `openssl rand -hex 24`), "
                "or set MEETDESK_API_TOKENS"
            )
        for name, url in (("MEETDESK_AMQP_URL", self.amqp_url), ("MEETDESK_DATABASE_URL", self.database_url)):
            parts = urlsplit(url)
            if parts.username and parts.password == "":
                return (
                    f"{name} names the user {unquote(parts.username)} without a password: "
                    "set the service's password (`python tools/access.py secrets` makes the missing ones)"
                )
        if token and _weak(token):
            return f"MEETDESK_API_TOKEN is a placeholder or shorter than {MIN_TOKEN_LENGTH} characters: set a secret"
        for secret, principal in tokens.items():
            if _weak(secret):
                return (
                    f"MEETDESK_API_TOKENS: the token of {principal.id} is a placeholder or shorter than "
                    f"{MIN_TOKEN_LENGTH} characters: set a secret"
                )
        return None

    def http_principals(self) -> dict[str, Principal]:
        """Bearer token → the principal it stands for (``MEETDESK_API_TOKENS``, and the one
        ``MEETDESK_API_TOKEN`` as ops unless ``MEETDESK_API_TOKENS`` names it too)."""
        out = dict(_principals(self.api_tokens.get_secret_value(), "MEETDESK_API_TOKENS"))
        token = self.api_token.get_secret_value()
        if token and token not in out:
            out[token] = SIMPLE_TOKEN_PRINCIPAL
        return out

    def publisher_principals(self) -> dict[str, Principal]:
        """RabbitMQ user → the principal its commands are sent by (``MEETDESK_COMMAND_PUBLISHERS``;
        unless named there, this service's own broker user is ops, and when that user is its own
        ``meetdesk-<service>`` the users of the services that send commands — ``meetdesk-intake``, with
        the same prefix, see :func:`shared.access.sibling_command_users` — are agents and the
        installation's administrator ``meetdesk-admin`` is ops; each names the actor it acts for)."""
        out = dict(_principals(self.command_publishers, "MEETDESK_COMMAND_PUBLISHERS"))
        out.setdefault(self.broker_user, OWN_BROKER_USER_PRINCIPAL)
        for user in sibling_command_users(self.broker_user):
            out.setdefault(user, SERVICE_BROKER_USER_PRINCIPAL)
        if (admin := installation_admin(self.broker_user)) is not None:  # may do anything on the broker anyway
            out.setdefault(admin, OWN_BROKER_USER_PRINCIPAL)
        return out

    @property
    def broker_user(self) -> str:
        """The RabbitMQ user of ``amqp_url`` (guest when it names none, as the client does)."""
        return broker_user_of(self.amqp_url)

    venue_timezone: str = Field("Asia/Hong_Kong", description="the venue's time zone: opening hours, 'today'")

    # messaging
    prefetch: int = Field(200, ge=1, le=5000)
    delivery_limit: int = Field(5, ge=1, le=100, description="x-delivery-limit of every quorum queue")
    max_message_bytes: int = Field(
        1_048_576, ge=1024, description="larger messages are dead-lettered; larger HTTP bodies are refused (413)"
    )
    http_body_timeout_seconds: float = Field(
        10, gt=0, le=300, description="an HTTP request body's next chunk must arrive within this (else 408)"
    )
    relay_batch: int = Field(500, ge=1, le=5000, description="outbox rows relayed per batch")
    relay_poll_seconds: float = Field(1.0, gt=0, description="outbox poll interval (catch-up after crashes)")
    consumer_deadline_seconds: float = Field(
        120, gt=0, description="a process whose consumers are not back this long after losing them exits (75)"
    )
    consumer_check_seconds: float = Field(5, gt=0, le=60, description="how often consumers are checked")
    inbox_retention_days: int = Field(
        30, ge=1, description="processed message ids are kept this long (redeliveries come within minutes)"
    )

    # scheduler (due items)
    scheduler_poll_seconds: float = Field(1.0, gt=0, le=60, description="how often each replica looks for due items")
    scheduler_batch: int = Field(100, ge=1, le=1000, description="due items fired per transaction")
    scheduler_attempts: int = Field(5, ge=1, le=100, description="failed firings before a due item is parked")
    scheduler_overdue_alert_seconds: float = Field(
        300, gt=0, description="readiness fails when an item is overdue by more than this (the scheduler is stuck)"
    )
    clock_offset_file: str | None = Field(
        None, description="tests only: seconds to add to the system clock, read from this file"
    )

    @model_validator(mode="after")
    def _own_database(self) -> ServiceSettings:
        # never let two services share a database by accident: each defaults to its own
        if not self.database_url:
            self.database_url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/meetdesk_{self.service}"
        return self

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.venue_timezone)


def broker_user_of(amqp_url: str) -> str:
    """The RabbitMQ user an AMQP URL connects as (guest when it names none, as aio-pika does)."""
    return unquote(urlsplit(amqp_url).username or "") or "guest"


def _weak(token: str) -> bool:
    return token.lower() in WELL_KNOWN_TOKENS or len(token) < MIN_TOKEN_LENGTH


@lru_cache(maxsize=16)
def _parsed(raw: str, setting: str) -> tuple[tuple[str, Principal], ...]:
    return tuple(parse_principals(raw, setting=setting).items())


def _principals(raw: str, setting: str) -> dict[str, Principal]:
    return dict(_parsed(raw, setting))
