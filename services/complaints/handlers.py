"""Complaints' handlers: load through ``uow.store``, let the domain decide, persist, emit, schedule.

One function per message: ``inquiry.received`` registers a complaint; every ``complaint.*`` command
goes through :func:`lifecycle` (main.py routes each command model to it); the SLA deadlines fall due
as ``complaint.acknowledge_due`` / ``complaint.resolve_due`` items (:func:`acknowledge_due`,
:func:`resolve_due`). Time is the ``now`` they are given, the SLA targets the ``policy``.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from shared.contract.commands import Command
from shared.contract.events import InquiryReceived
from shared.logs import get_logger
from shared.messages import CommandIn, EventIn
from shared.scheduler import DueItem
from shared.uow import UnitOfWork

from . import domain
from .store import ComplaintsStore

log = get_logger(__name__)


async def _carry_out(
    uow: UnitOfWork[ComplaintsStore],
    outcome: domain.Outcome,
    *,
    correlation_id: uuid.UUID,
    causation_id: uuid.UUID | None = None,
) -> None:
    """Append the outcome's history entry, emit its events, schedule and cancel its deadlines."""
    complaint_id = outcome.state.complaint_id
    await uow.store.append_history(complaint_id, outcome.entry)
    for event in outcome.events:
        uow.emit(event, correlation_id=correlation_id, causation_id=causation_id)
    for kind, due_at in outcome.schedule.items():
        await uow.schedule(kind, complaint_id, due_at, correlation_id=correlation_id)
    for kind in outcome.cancel:
        await uow.cancel(kind, complaint_id)


# -- registration -------------------------------------------------------------------------------
async def inquiry_received(
    uow: UnitOfWork[ComplaintsStore], msg: EventIn[InquiryReceived], now: datetime, policy: domain.SlaPolicy
) -> None:
    """inquiry.received with intent complaint → complaint.registered, the acknowledgement, deadlines watched.

    The customer is sent the acknowledgement; the acknowledgement and resolution deadlines are scheduled."""
    data = msg.data
    outcome = domain.register(data, complaint_id=str(uuid.uuid4()), event_id=str(msg.event_id), now=now, policy=policy)
    if outcome is None:
        return
    added = await uow.store.add(
        outcome.state,
        inquiry_id=data.inquiry_id,
        customer_id=data.customer.customer_id,
        channel=data.channel,
        booking_id=data.booking_id,
        text=data.text,
        correlation_id=str(msg.correlation_id),
    )
    if not added:
        return  # the same inquiry delivered again under another event id: it already has its complaint
    await _carry_out(uow, outcome, correlation_id=msg.correlation_id, causation_id=msg.event_id)
    state = outcome.state
    log.info(
        "complaint registered",
        complaint_id=state.complaint_id,
        category=state.category,
        severity=state.severity,
        acknowledge_due_at=state.acknowledge_due_at.isoformat(),
    )


# -- commands -----------------------------------------------------------------------------------
# what the rules see of a command besides its own fields: the rest goes to the history entry
_NOT_DETAILS = {"command_id", "actor", "complaint_id", "note", "agent_id", "category", "severity"}


def to_domain(name: str, cmd: Command, at: datetime) -> domain.Command:
    details = cmd.model_dump(mode="json", exclude=_NOT_DETAILS)
    details["command_id"] = cmd.command_id
    return domain.Command(
        name=name,
        actor=cmd.actor,
        at=at,
        note=getattr(cmd, "note", None),
        agent_id=getattr(cmd, "agent_id", None),
        category=getattr(cmd, "category", None),
        severity=getattr(cmd, "severity", None),
        details=details,
    )


async def lifecycle(
    uow: UnitOfWork[ComplaintsStore], msg: CommandIn[Command], now: datetime, policy: domain.SlaPolicy
) -> str | None:
    """A lifecycle command → complaint.status_changed (and complaint.closed), its deadlines met,
    moved or restarted; or why it is refused."""
    complaint_id: str = msg.command.complaint_id  # type: ignore[attr-defined]
    state = await uow.store.get(complaint_id, lock=True)
    if state is None:
        return f"no complaint {complaint_id!r}"
    outcome = domain.apply(state, to_domain(msg.name, msg.command, now), policy)
    if isinstance(outcome, domain.Refusal):
        return outcome.reason
    await uow.store.update(outcome.state)
    await _carry_out(uow, outcome, correlation_id=msg.correlation_id)
    log.info("complaint updated", complaint_id=state.complaint_id, action=msg.name, status=outcome.state.status)
    return None


# -- SLA deadlines ------------------------------------------------------------------------------
async def _deadline(uow: UnitOfWork[ComplaintsStore], item: DueItem, now: datetime, target: str) -> None:
    state = await uow.store.get(item.key)
    if state is None:
        log.warning("deadline of an unknown complaint", complaint_id=item.key, kind=item.kind)
        return
    outcome = domain.check_sla(state, target, now)
    if outcome is None:
        return  # met meanwhile
    await _carry_out(uow, outcome, correlation_id=item.correlation_id)
    log.info("complaint SLA breached", complaint_id=state.complaint_id, which=target, due_at=item.due_at.isoformat())


async def acknowledge_due(
    uow: UnitOfWork[ComplaintsStore], item: DueItem, now: datetime, policy: domain.SlaPolicy
) -> None:
    """complaint.acknowledge_due: still not acknowledged → complaint.sla_breached (acknowledge)."""
    await _deadline(uow, item, now, domain.ACKNOWLEDGE)


async def resolve_due(uow: UnitOfWork[ComplaintsStore], item: DueItem, now: datetime, policy: domain.SlaPolicy) -> None:
    """complaint.resolve_due: neither resolved nor closed → complaint.sla_breached (resolve)."""
    await _deadline(uow, item, now, domain.RESOLVE)
