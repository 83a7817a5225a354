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
    wechat_encoding_aes_key: SecretStr = Field(
        SecretStr(""), description="WeChat EncodingAESKey (43 characters) for safe mode; empty: safe mode refused"
    )
    wechat_app_id: str = Field("", description="WeChat AppID: a safe-mode message must be encrypted for it")
    chatwoot_secret: SecretStr = Field(SecretStr(""), description="Chatwoot webhook secret; empty: webhook off")
    answer_within_hours: float = Field(
        48, gt=0, description="a customer's message this long after a question (the reminder) is no answer to it"
    )
    acknowledge_every_minutes: float = Field(
        60,
        ge=0,
        description="at most one automatic acknowledgement per address in this many minutes (0: one per inquiry)",
    )
    callback_remind_minutes: float = Field(
        30,
        gt=0,
        description="an open call-back is reminded this many minutes after the missed call, and every as many after",
    )
