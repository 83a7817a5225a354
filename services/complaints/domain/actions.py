"""The investigation's findings and the solution plan's actions, in plain Python (``now`` is given).

An investigation names a root cause from a fixed list, the department responsible and references to
the evidence. A solution plan is a list of actions — a remedy (apology, compensation, partial refund,
re-run the meeting, …), its owner and its due time. An action not done by its due time falls overdue
(once), and its owner is reminded every ``interval`` after that, ``count`` times, until it is done.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from typing import Any, get_args

from shared.contract.commands import Remedy, RootCause

ROOT_CAUSES: tuple[str, ...] = get_args(RootCause)
REMEDIES: tuple[str, ...] = get_args(Remedy)


@dataclass(frozen=True)
class ActionPolicy:
    """An overdue action's owner is reminded every ``interval``, ``count`` times (0: never)."""

    interval: timedelta = timedelta(hours=24)
    count: int = 2

    def __post_init__(self) -> None:
        if self.interval <= timedelta(0) or self.count < 0:
            raise ValueError("action reminders need a positive interval and a count of zero or more")


@dataclass(frozen=True)
class Action:
    """One action of the plan, as it stands (its history is in the complaint's history)."""

    action_id: str
    remedy: str
    owner: str
    due_at: datetime
    planned_at: datetime
    description: str | None = None
    amount: float | None = None
    done_at: datetime | None = None
    done_by: str | None = None
    dropped_at: datetime | None = None
    overdue_at: datetime | None = None  # when it fell overdue (its due time), once recorded
    reminders: int = 0  # reminders sent since it fell overdue
    # a re-run of the meeting (remedy rerun_meeting): the booking request raised for it (domain/rerun.py)
    booking_inquiry_id: str | None = None
    booking_requested_at: datetime | None = None
    booking_outcome: str | None = None  # confirmed, rejected (booking's answer), as last heard
    booking_id: str | None = None  # the re-run's booking, once confirmed

    @property
    def open(self) -> bool:
        return self.done_at is None and self.dropped_at is None

    def next_reminder(self, policy: ActionPolicy) -> datetime | None:
        if not self.open or self.overdue_at is None or self.reminders >= policy.count:
            return None
        return self.overdue_at + policy.interval * (self.reminders + 1)

    def to_json(self) -> dict[str, Any]:
        return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in asdict(self).items()}

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Action:
        times = ("due_at", "planned_at", "done_at", "dropped_at", "overdue_at", "booking_requested_at")
        return cls(**{k: datetime.fromisoformat(v) if k in times and v is not None else v for k, v in raw.items()})


def describe(action: Action) -> str:
    return f"{action.action_id} ({action.remedy}, {action.owner}, due {action.due_at.isoformat()})"


def merge(
    current: Sequence[Action], proposed: Iterable[Mapping[str, Any]], drop: Iterable[str], at: datetime
) -> tuple[tuple[Action, ...], list[str]] | str:
    """The plan with ``proposed`` actions added (a new id: a1, a2 … unless given) or replacing the open
    action of the same id, and the ``drop`` ids dropped; with the ids changed. A string: why not."""
    plan = {a.action_id: a for a in current}
    changed: list[str] = []
    for raw in proposed:
        action_id = raw.get("action_id") or f"a{len(plan) + 1}"
        while action_id in plan and not raw.get("action_id"):  # a generated id never replaces one
            action_id = f"a{int(action_id[1:]) + 1}"
        if action_id in changed:
            return f"action {action_id} is given twice"
        before = plan.get(action_id)
        if before is not None and not before.open:
            return f"action {action_id} is already {'done' if before.done_at else 'dropped'}; plan a new one"
        due_at = raw["due_at"]
        if isinstance(due_at, str):
            due_at = datetime.fromisoformat(due_at)
        if due_at <= at:
            return f"action {action_id} is due at {due_at.isoformat()}, which is not after now"
        if raw["remedy"] not in REMEDIES:
            return f"unknown remedy {raw['remedy']!r}; one of {', '.join(REMEDIES)}"
        plan[action_id] = Action(
            action_id=action_id,
            remedy=raw["remedy"],
            owner=raw["owner"],
            due_at=due_at,
            planned_at=at,
            description=raw.get("description"),
            amount=raw.get("amount"),
        )
        changed.append(action_id)
    for action_id in drop:
        before = plan.get(action_id)
        if before is None:
            return f"there is no action {action_id} to drop"
        if not before.open:
            return f"action {action_id} is already {'done' if before.done_at else 'dropped'}"
        plan[action_id] = replace(before, dropped_at=at)
        changed.append(action_id)
    return tuple(plan.values()), changed


def overdue_at(actions: Sequence[Action]) -> datetime | None:
    """When the next open action falls overdue (None: none will)."""
    return min((a.due_at for a in actions if a.open and a.overdue_at is None), default=None)


def reminder_at(actions: Sequence[Action], policy: ActionPolicy) -> datetime | None:
    """When the next reminder of an overdue action is due (None: none is)."""
    return min((t for a in actions if (t := a.next_reminder(policy)) is not None), default=None)
