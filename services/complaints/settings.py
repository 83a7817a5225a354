"""Complaints' configuration (environment, prefix ``MEETDESK_``): the shared part plus the complaint
policy — SLA targets per severity, the warning share, an optional business-hours calendar, the
escalation chain, the satisfaction follow-ups, the reminders of overdue solution actions.

Maps are JSON objects, e.g.
``MEETDESK_ACKNOWLEDGE_WITHIN_MINUTES='{"critical": 30, "high": 60, "normal": 120, "low": 120}'``,
``MEETDESK_BUSINESS_HOURS='{"hours": {"mon": ["09:00", "18:00"], "tue": ["09:00", "18:00"]},
"holidays": ["2026-12-25"]}'`` (in the venue's time zone).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pydantic import Field, NonNegativeFloat, NonNegativeInt, PositiveFloat, model_validator

from shared.contract.commands import StaffRole
from shared.contract.common import Severity
from shared.settings import ServiceSettings

from .domain import ActionPolicy, BusinessCalendar, EscalationPolicy, FollowUpPolicy, Policy, SlaPolicy


class ComplaintsSettings(ServiceSettings):
    service: str = "complaints"
    # DOMAIN.md: the formal reply within 2 hours; urgent complaints go first
    acknowledge_within_minutes: dict[Severity, PositiveFloat] = Field(
        default_factory=lambda: {"critical": 30, "high": 60, "normal": 120, "low": 120},
        description="per severity: the formal reply (complaint.acknowledge) is due this many minutes of counted "
        "time after registration",
    )
    resolve_within_hours: dict[Severity, PositiveFloat] = Field(
        default_factory=lambda: {"critical": 24, "high": 48, "normal": 72, "low": 168},
        description="per severity: the complaint is resolved within this many hours of counted time from "
        "registration (or from its last reopening)",
    )
    sla_warning_share: float = Field(
        0.75, gt=0, lt=1, description="a warning (complaint.clock warning) falls due at this share of a target"
    )
    business_hours: dict[str, Any] | None = Field(
        None,
        description='optional business-hours calendar: {"hours": {"mon": ["09:00", "18:00"], ...}, "holidays": '
        '["2026-12-25"]} in the venue time zone; unset: targets count calendar time',
    )
    business_hours_severities: list[Severity] | None = Field(
        None, description="the severities whose targets count business hours (default: all, when a calendar is set)"
    )
    escalation_delay_minutes: dict[StaffRole, NonNegativeFloat] = Field(
        default_factory=lambda: {"agent": 0, "supervisor": 30, "manager": 60},
        description="agent: from a breach (or the customer writing again) to the first escalation; supervisor, "
        "manager: from the level below to this one",
    )
    escalation_start: dict[Severity, StaffRole] = Field(
        default_factory=lambda: {"critical": "supervisor", "high": "supervisor", "normal": "agent", "low": "agent"},
        description="per severity, the level an escalation starts at (urgent and major complaints start higher)",
    )
    satisfaction_follow_up_hours: PositiveFloat = Field(
        24, description="an unanswered satisfaction request is followed up after this many hours"
    )
    satisfaction_follow_ups: NonNegativeInt = Field(
        2, le=20, description="how many follow-ups before an agent must record the answer (or a supervisor override)"
    )
    action_reminder_hours: PositiveFloat = Field(
        24, description="the owner of an overdue solution action is reminded this many hours after it fell overdue"
    )
    action_reminders: NonNegativeInt = Field(
        2, le=20, description="how many times the owner of an overdue solution action is reminded"
    )

    @model_validator(mode="after")
    def _complete_policy(self) -> ComplaintsSettings:
        self.policy()  # every severity present, the acknowledgement before the resolution, a valid calendar
        return self

    def sla_policy(self) -> SlaPolicy:
        calendar = BusinessCalendar.parse(self.business_hours, self.tz) if self.business_hours else None
        severities = self.business_hours_severities
        return SlaPolicy(
            acknowledge_within={s: timedelta(minutes=m) for s, m in self.acknowledge_within_minutes.items()},
            resolve_within={s: timedelta(hours=h) for s, h in self.resolve_within_hours.items()},
            warning_share=self.sla_warning_share,
            calendar=calendar,
            **({"calendar_severities": frozenset(severities)} if severities is not None else {}),
        )

    def policy(self) -> Policy:
        return Policy(
            sla=self.sla_policy(),
            escalation=EscalationPolicy(
                delays={role: timedelta(minutes=m) for role, m in self.escalation_delay_minutes.items()},
                start=dict(self.escalation_start),
            ),
            follow_up=FollowUpPolicy(
                interval=timedelta(hours=self.satisfaction_follow_up_hours), count=self.satisfaction_follow_ups
            ),
            actions=ActionPolicy(interval=timedelta(hours=self.action_reminder_hours), count=self.action_reminders),
        )
