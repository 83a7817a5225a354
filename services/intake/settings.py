"""Intake's configuration (environment, prefix ``MEETDESK_``): the shared part plus the channels'."""

from __future__ import annotations

from pydantic import Field, SecretStr

from shared.settings import ServiceSettings


class IntakeSettings(ServiceSettings):
    service: str = "intake"
    default_phone_region: str = Field("HK", description="how national phone numbers are read")
    agent_email_domains: list[str] = Field(
        default_factory=lambda: ["meetdesk.example"], description="mail from these domains is an agent's reply"
    )
    wechat_token: SecretStr = Field(SecretStr(""), description="WeChat Official Account token; empty: webhook off")
    chatwoot_secret: SecretStr = Field(SecretStr(""), description="Chatwoot webhook secret; empty: webhook off")
    answer_within_hours: float = Field(
        48, gt=0, description="a customer's message this long after a question (the reminder) is no answer to it"
    )
