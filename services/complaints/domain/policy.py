"""What complaints decides with, from its settings: the SLA targets per severity (with the warning
share and the optional business-hours calendar), the escalation chain, the satisfaction follow-ups."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import get_args

from shared.business_hours import BusinessCalendar, advance
from shared.contract.common import Severity

from .actions import ActionPolicy
from .clock import ACKNOWLEDGE, Rules
from .escalation import AGENT, MANAGER, SUPERVISOR, EscalationPolicy

SEVERITIES: tuple[str, ...] = get_args(Severity)
DEFAULT_WARNING_SHARE = 0.75


@dataclass(frozen=True)
class SlaPolicy:
    """How long each severity may wait for its formal reply (acknowledgement) and for its resolution,
    in counted time: calendar time, or business hours for the severities in ``calendar_severities``
    when a ``calendar`` is given. A warning falls due at ``warning_share`` of a target."""

    acknowledge_within: Mapping[str, timedelta]
    resolve_within: Mapping[str, timedelta]
    warning_share: float = DEFAULT_WARNING_SHARE
    calendar: BusinessCalendar | None = None
    calendar_severities: frozenset[str] = field(default_factory=lambda: frozenset(SEVERITIES))

    def __post_init__(self) -> None:
        for name, targets in (("acknowledge_within", self.acknowledge_within), ("resolve_within", self.resolve_within)):
            missing = [s for s in SEVERITIES if s not in targets]
            unknown = sorted(set(targets) - set(SEVERITIES))
            if missing or unknown:
                raise ValueError(
                    f"{name} needs exactly the severities {', '.join(SEVERITIES)}"
                    + (f"; missing {', '.join(missing)}" if missing else "")
                    + (f"; unknown {', '.join(unknown)}" if unknown else "")
                )
            not_positive = [s for s in SEVERITIES if targets[s] <= timedelta(0)]
            if not_positive:
                raise ValueError(f"{name} must be positive; it is not for {', '.join(not_positive)}")
        late = [s for s in SEVERITIES if self.acknowledge_within[s] > self.resolve_within[s]]
        if late:
            raise ValueError(f"the acknowledgement may not come after the resolution target for {', '.join(late)}")
        if not 0 < self.warning_share < 1:
            raise ValueError("the warning share must lie strictly between 0 and 1")
        unknown = sorted(set(self.calendar_severities) - set(SEVERITIES))
        if unknown:
            raise ValueError(f"unknown severities for the business-hours calendar: {', '.join(unknown)}")

    def rules(self, which: str, severity: str) -> Rules:
        """How ``which`` (acknowledge or resolve) is timed for a complaint of ``severity``."""
        if severity not in SEVERITIES:
            raise ValueError(f"unknown severity {severity!r}; one of {', '.join(SEVERITIES)}")
        within = (self.acknowledge_within if which == ACKNOWLEDGE else self.resolve_within)[severity]
        calendar = self.calendar if severity in self.calendar_severities else None
        return Rules(within, self.warning_share, calendar)

    def deadlines(self, registered_at: datetime, severity: str) -> tuple[datetime, datetime]:
        """``(acknowledge_due_at, resolve_due_at)`` for a complaint registered at ``registered_at`` whose
        clocks run uninterrupted."""
        if registered_at.tzinfo is None:
            raise ValueError("registered_at must carry a UTC offset")
        ack, resolve = (self.rules(which, severity) for which in ("acknowledge", "resolve"))
        return advance(ack.calendar, registered_at, ack.within), advance(
            resolve.calendar, registered_at, resolve.within
        )


@dataclass(frozen=True)
class FollowUpPolicy:
    """The satisfaction request at a resolution is followed up every ``interval`` while unanswered,
    ``count`` times; after that an agent must record the customer's answer (or a supervisor override)."""

    interval: timedelta = timedelta(hours=24)
    count: int = 2

    def __post_init__(self) -> None:
        if self.interval <= timedelta(0) or self.count < 0:
            raise ValueError("follow-ups need a positive interval and a count of zero or more")


DEFAULT_ESCALATION = EscalationPolicy(
    delays={AGENT: timedelta(0), SUPERVISOR: timedelta(minutes=30), MANAGER: timedelta(minutes=60)},
    start={"critical": SUPERVISOR, "high": SUPERVISOR, "normal": AGENT, "low": AGENT},
)


@dataclass(frozen=True)
class Policy:
    """Everything complaints' rules are configured with (``svc.policy``; the handlers' ``policy``)."""

    sla: SlaPolicy
    escalation: EscalationPolicy = DEFAULT_ESCALATION
    follow_up: FollowUpPolicy = field(default_factory=FollowUpPolicy)
    actions: ActionPolicy = field(default_factory=ActionPolicy)
