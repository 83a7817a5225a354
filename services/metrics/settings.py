"""Metrics' configuration (environment, prefix ``MEETDESK_``)."""

from __future__ import annotations

from typing import Any

from pydantic import Field, model_validator

from shared.settings import ServiceSettings

from .domain import BusinessHours, Policy


class MetricsSettings(ServiceSettings):
    service: str = "metrics"
    answer_target_seconds: int = Field(
        15,
        ge=1,
        le=600,
        description="a call answered within this many seconds is answered within the target (seed 003: three "
        "rings; 15 s is three ring cycles of 5 s). Read when /kpis answers: changing it needs no rebuild",
    )
    callback_within_hours: float = Field(
        24,
        gt=0,
        le=24 * 31,
        description="a missed call counts as called back when an answered phone call with the same customer "
        "follows within this many hours (changing it needs `make metrics-rebuild`)",
    )
    log_retention_days: int = Field(
        400,
        ge=1,
        description="`python -m services.metrics.rebuild --compact` folds log rows older than this into the "
        "compacted projections and deletes them (figures do not change)",
    )
    business_hours: dict[str, Any] | None = Field(
        None,
        description='the desk\'s business hours (the same setting complaints\' SLA clocks read): {"hours": {"mon": '
        '["09:00", "18:00"], ...}, "holidays": ["2026-12-25"]} in the venue time zone; set: response times are also '
        "measured in business time (changing it needs `make metrics-rebuild`)",
    )

    @model_validator(mode="after")
    def _valid_business_hours(self) -> MetricsSettings:
        self.policy()
        return self

    def policy(self) -> Policy:
        return Policy(
            tz=self.tz,
            answer_target_seconds=self.answer_target_seconds,
            callback_within_seconds=round(self.callback_within_hours * 3600),
            business_hours=BusinessHours.parse(self.business_hours, self.tz) if self.business_hours else None,
        )
