"""Metrics' configuration (environment, prefix ``MEETDESK_``)."""

from __future__ import annotations

from pydantic import Field

from shared.settings import ServiceSettings


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
