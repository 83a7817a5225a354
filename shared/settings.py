"""Service configuration, read from the environment (prefix ``MEETDESK_``).

Every service uses the same settings class; the compose file and ``make run`` set the variables.
"""

from __future__ import annotations

from functools import lru_cache
from zoneinfo import ZoneInfo

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
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
        SecretStr("change-me"), description="bearer token for HTTP paths that return customer data"
    )
    log_level: str = "INFO"
    wechat_token: SecretStr = Field(SecretStr(""), description="WeChat Official Account token; empty: webhook off")
    chatwoot_secret: SecretStr = Field(SecretStr(""), description="Chatwoot webhook secret; empty: webhook off")

    # messaging
    prefetch: int = Field(200, ge=1, le=5000)
    delivery_limit: int = Field(5, ge=1, le=100, description="x-delivery-limit of every quorum queue")
    max_message_bytes: int = Field(1_048_576, ge=1024, description="larger messages are dead-lettered")
    relay_batch: int = Field(500, ge=1, le=5000, description="outbox rows relayed per batch")
    relay_poll_seconds: float = Field(1.0, gt=0, description="outbox poll interval (catch-up after crashes)")
    inbox_retention_days: int = Field(
        30, ge=1, description="processed message ids are kept this long (redeliveries come within minutes)"
    )

    # domain
    venue_timezone: str = "Asia/Hong_Kong"
    default_phone_region: str = "HK"
    agent_email_domains: list[str] = Field(default_factory=lambda: ["meetdesk.example"])
    setup_buffer_minutes: int = Field(15, ge=0, le=240)
    cleanup_buffer_minutes: int = Field(15, ge=0, le=240)
    opening_hour: int = Field(8, ge=0, le=23)
    closing_hour: int = Field(22, ge=1, le=24)

    @model_validator(mode="after")
    def _own_database(self) -> Settings:
        # never let two services share a database by accident: each defaults to its own
        if not self.database_url:
            self.database_url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/meetdesk_{self.service}"
        return self

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.venue_timezone)


@lru_cache
def get_settings() -> Settings:
    return Settings()
