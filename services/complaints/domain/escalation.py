"""Escalation of a breached target along the chain: the handling agent (1) → the agent's supervisor
(2) → the service manager (3).

A chain starts when a target is breached: its first step comes ``delays["agent"]`` after the breach,
at the severity's starting level (urgent and major complaints start at the supervisor); each higher
level follows its own delay after the step below. The chain ends with the manager, or when the target
is met or its clock stopped; it waits while the complaint waits for the customer. A new message from
the customer on the complaint re-arms it: the level that last had to act is told again (after the
first-step delay), and the chain climbs on from there.

The steps are kept in the complaint's SLA log (``escalated``, ``rearmed``), so the next step is
computed from the log like the clock's due times (:func:`next_step`). Who holds a level comes from
the staff directory that complaints keeps from ``staff.upsert`` (:func:`holder`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import get_args

from shared.contract.commands import StaffRole

from . import clock
from .clock import BREACHED, ESCALATED, REARMED, RESUMED, ClockEvent

ROLES: tuple[str, ...] = get_args(StaffRole)  # agent, supervisor, manager: levels 1, 2, 3
AGENT, SUPERVISOR, MANAGER = ROLES
TOP = len(ROLES)


def level_of(role: str) -> int:
    return ROLES.index(role) + 1


def role_of(level: int) -> str:
    return ROLES[level - 1]


@dataclass(frozen=True)
class EscalationPolicy:
    """``delays``: per role, the wait before a step to it (``agent``: from the breach, or a re-arm, to
    the first step of a chain, whatever its level); ``start``: per severity, the role a chain starts at."""

    delays: Mapping[str, timedelta]
    start: Mapping[str, str]

    def __post_init__(self) -> None:
        if set(self.delays) != set(ROLES):
            raise ValueError(f"escalation delays need exactly the roles {', '.join(ROLES)}")
        if any(d < timedelta(0) for d in self.delays.values()):
            raise ValueError("escalation delays may not be negative")
        unknown = sorted(set(self.start.values()) - set(ROLES))
        if unknown:
            raise ValueError(f"unknown role to start escalating at: {', '.join(unknown)}")

    def start_level(self, severity: str) -> int:
        return level_of(self.start.get(severity, AGENT))


@dataclass(frozen=True)
class Step:
    level: int
    at: datetime

    @property
    def role(self) -> str:
        return role_of(self.level)


def next_step(events: Sequence[ClockEvent], severity: str, policy: EscalationPolicy) -> Step | None:
    """The next escalation of a target's current cycle (``events``, see :func:`clock.cycle`): None unless
    the target was breached and its clock still runs (not met, stopped or waiting for the customer), or
    when the chain has reached the top."""
    if clock.state_of(events) != clock.RUNNING:
        return None
    breach = next((i for i, e in enumerate(events) if e.transition == BREACHED), None)
    if breach is None:
        return None
    start = policy.start_level(severity)
    anchor = events[breach].at
    level, wait = start, policy.delays[AGENT]
    reached: int | None = None
    for e in events[breach + 1 :]:
        if e.transition == ESCALATED and e.level is not None:
            reached, anchor = e.level, e.at
            level = e.level + 1
            wait = policy.delays[role_of(level)] if level <= TOP else timedelta(0)
        elif e.transition == REARMED:
            anchor, level, wait = e.at, max(start, reached or start), policy.delays[AGENT]
        elif e.transition == RESUMED:
            anchor = max(anchor, e.at)  # the chain waited with the complaint
    if level > TOP:
        return None
    return Step(level, anchor + wait)


# -- the staff directory ------------------------------------------------------------------------
@dataclass(frozen=True)
class Staff:
    staff_id: str
    name: str
    role: str
    department: str | None = None
    supervisor_id: str | None = None
    active: bool = True


def holder(level: int, agent_id: str | None, directory: Mapping[str, Staff]) -> str | None:
    """Who must act at ``level`` for a complaint handled by ``agent_id``: the agent; the agent's
    supervisor (else a supervisor of the agent's department, else the directory's only or first
    supervisor); the first manager up the chain from there (else the department's, else the first
    manager). None when the directory names nobody."""
    if level == 1:
        return agent_id
    agent = directory.get(agent_id) if agent_id else None
    department = agent.department if agent else None
    supervisor = _active(directory, agent.supervisor_id if agent else None) or _by_role(
        directory, SUPERVISOR, department
    )
    if level == 2:
        return supervisor.staff_id if supervisor else None
    seen: set[str] = set()
    up = supervisor
    while up is not None and up.staff_id not in seen:
        seen.add(up.staff_id)
        if up.role == MANAGER:
            return up.staff_id
        up = _active(directory, up.supervisor_id)
    manager = _by_role(directory, MANAGER, department or (supervisor.department if supervisor else None))
    return manager.staff_id if manager else None


def _active(directory: Mapping[str, Staff], staff_id: str | None) -> Staff | None:
    found = directory.get(staff_id) if staff_id else None
    return found if found is not None and found.active else None


def _by_role(directory: Mapping[str, Staff], role: str, department: str | None) -> Staff | None:
    holders = sorted((s for s in directory.values() if s.role == role and s.active), key=lambda s: s.staff_id)
    in_department = [s for s in holders if department and s.department == department]
    return (in_department or holders or [None])[0]
