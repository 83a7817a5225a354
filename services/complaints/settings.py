"""Complaints' configuration (environment, prefix ``MEETDESK_``): the shared part plus the SLA policy.

Each target is a JSON object with every severity, e.g.
``MEETDESK_ACKNOWLEDGE_WITHIN_MINUTES='{"critical": 30, "high": 60, "normal": 120, "low": 120}'``.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field, PositiveFloat, model_validator

from shared.contract.common import Severity
from shared.settings import ServiceSettings

from .domain import SlaPolicy


class ComplaintsSettings(ServiceSettings):
    service: str = "complaints"
    # DOMAIN.md: acknowledge within 2 hours; urgent complaints go first
    acknowledge_within_minutes: dict[Severity, PositiveFloat] = Field(
        default_factory=lambda: {"critical": 30, "high": 60, "normal": 120, "low": 120},
        description="per severity: the customer is acknowledged within this many minutes of registration",
    )
    resolve_within_hours: dict[Severity, PositiveFloat] = Field(
        default_factory=lambda: {"critical": 24, "high": 48, "normal": 72, "low": 168},
        description="per severity: the complaint is resolved within this many hours of registration "
        "(or of its last reopening)",
    )

    @model_validator(mode="after")
    def _complete_policy(self) -> ComplaintsSettings:
        self.sla_policy()  # every severity present, the acknowledgement before the resolution
        return self

    def sla_policy(self) -> SlaPolicy:
        return SlaPolicy(
            acknowledge_within={s: timedelta(minutes=m) for s, m in self.acknowledge_within_minutes.items()},
            resolve_within={s: timedelta(hours=h) for s, h in self.resolve_within_hours.items()},
        )
