"""Re-running the meeting, in plain Python: a ``rerun_meeting`` action of the solution plan asks booking
for the meeting again, and booking's answer is recorded in the complaint's history.

**When.** Once the customer has agreed to the plan (``complaint.plan_agreement``, agreed), or when the
plan is carried out (``complaint.start_execution``) without an answer from them — not when the action is
proposed: the customer may still say no, and a room held for a plan nobody agreed to is a room taken
from another customer. Each action is requested once: it keeps the request's inquiry id; an agreement
given again, or a command repeated, asks for nothing more. An action replaced by a revision of the plan
(``complaint.plan``, the same action id) is a new action: it is requested anew, under a new inquiry id,
once the customer agrees to the revised plan.

**What.** ``booking.requested`` (the contract's event, through the outbox) for the complaint's customer,
on the channel they complained on and in their language (``reply_to``: where they hear back, if known),
for the meeting as complaints' view of the booking knows it — its name (``Re-run: …``), room,
equipment, attendees and length — starting at the action's due time. Its ``inquiry_id`` is derived
from the complaint, the action and the time the action was planned
(``complaint:<complaint id>:<action id>:<planned, epoch seconds>``), so a repeat is the same inquiry
(booking answers an inquiry once) and booking's answer names the complaint and the action.

A complaint without a known booking (none named, or complaints' view of it lacks its time or
attendees), or without a customer id, cannot have its meeting re-run automatically: the history says
so (``complaint.rerun_not_requested``) and an agent books it by hand.

**The answer.** ``booking.confirmed`` or ``booking.rejected`` for that inquiry id (both bound to
complaints' queue) is recorded in the complaint's history (``complaint.rerun_booked`` with the new
booking, or ``complaint.rerun_rejected`` with the reason and booking's alternatives) and on the action;
the same answer heard twice is recorded once.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from shared.contract.events import BookingDetails, BookingRequested, ReplyRoute

from .actions import Action
from .registration import BookingView

RERUN = "rerun_meeting"
PREFIX = "complaint"
REQUESTED = "complaint.rerun_requested"
NOT_REQUESTED = "complaint.rerun_not_requested"
BOOKED = "complaint.rerun_booked"
REJECTED = "complaint.rerun_rejected"
ACTOR = "booking"
NAME_LIMIT = 200


def inquiry_id(complaint_id: str, action: Action) -> str:
    """The re-run's inquiry id: the same for the same action, another for an action replaced."""
    return f"{PREFIX}:{complaint_id}:{action.action_id}:{int(action.planned_at.timestamp())}"


@dataclass(frozen=True)
class RerunRef:
    complaint_id: str
    action_id: str


def parse(inquiry: str) -> RerunRef | None:
    """The complaint and action an inquiry id names, if it is a re-run's (else None)."""
    head, _, rest = inquiry.partition(":")
    complaint_id, _, rest = rest.partition(":")
    action_id, _, stamp = rest.rpartition(":")
    if head != PREFIX or not action_id or not stamp.isdigit():
        return None
    try:
        return RerunRef(str(uuid.UUID(complaint_id)), action_id)
    except ValueError:
        return None


@dataclass(frozen=True)
class Customer:
    """Whom the re-run is booked for and where they hear back (from the complaint)."""

    complaint_id: str
    customer_id: str | None
    channel: str | None
    address: str | None
    language: str | None
    agent_id: str | None = None  # the complaint's handling agent: the re-run's booking (and its survey) names them


def to_request(action: Action, customer: Customer, booking: BookingView | None) -> BookingRequested | str:
    """The booking request re-running the meeting of ``booking`` at the action's due time; or why
    there can be none."""
    if customer.customer_id is None:
        return "the complaint has no customer id to book for"
    if booking is None:
        return "the complaint names no booking complaints knows"
    if booking.start is None or booking.end is None or not booking.attendees:
        return f"complaints does not know booking {booking.booking_id}'s time and attendees"
    start = action.due_at
    name = f"Re-run: {booking.name or booking.booking_id}"[:NAME_LIMIT]
    channel = customer.channel or "onsite"
    language = customer.language or "other"
    reply_to = (
        ReplyRoute(channel=channel, address=customer.address, language=language)  # type: ignore[arg-type]
        if customer.channel is not None
        else None
    )
    return BookingRequested(
        inquiry_id=inquiry_id(customer.complaint_id, action),
        customer_id=customer.customer_id,
        channel=channel,  # type: ignore[arg-type]
        language=language,  # type: ignore[arg-type]
        meeting=BookingDetails(
            name=name,
            start=start,
            end=start + (booking.end - booking.start),
            attendees=booking.attendees,
            room_id=booking.room_id,
            equipment=list(booking.equipment),  # type: ignore[arg-type]
            notes=f"re-run of booking {booking.booking_id} "
            f"(complaint {customer.complaint_id}, action {action.action_id})",
        ),
        reply_to=reply_to,
        agent_id=customer.agent_id,
    )


@dataclass(frozen=True)
class Requests:
    """The re-runs a decision raises: the plan's actions as they now stand, the requests to publish and
    the history entries' data (one per action: requested, or why not)."""

    actions: tuple[Action, ...]
    requests: tuple[BookingRequested, ...]
    entries: tuple[tuple[str, dict[str, Any]], ...]


def requests(actions: tuple[Action, ...], customer: Customer, booking: BookingView | None, at: datetime) -> Requests:
    """Every open ``rerun_meeting`` action not yet requested, requested (or the reason it cannot be)."""
    out: list[Action] = []
    made: list[BookingRequested] = []
    entries: list[tuple[str, dict[str, Any]]] = []
    for action in actions:
        if action.remedy != RERUN or not action.open or action.booking_inquiry_id is not None:
            out.append(action)
            continue
        request = to_request(action, customer, booking)
        if isinstance(request, str):
            entries.append((NOT_REQUESTED, {"action_id": action.action_id, "reason": request}))
            out.append(action)
            continue
        made.append(request)
        out.append(replace(action, booking_inquiry_id=request.inquiry_id, booking_requested_at=at))
        m = request.meeting
        entries.append(
            (
                REQUESTED,
                {
                    "action_id": action.action_id,
                    "inquiry_id": request.inquiry_id,
                    "booking_id": booking.booking_id if booking else None,
                    "room_id": m.room_id,
                    "start": m.start.isoformat(),
                    "end": m.end.isoformat(),
                    "attendees": m.attendees,
                },
            )
        )
    return Requests(tuple(out), tuple(made), tuple(entries))


def answered(
    actions: tuple[Action, ...], inquiry: str, outcome: str, details: Mapping[str, Any]
) -> tuple[tuple[Action, ...], str, dict[str, Any]] | None:
    """Booking's answer (``confirmed`` / ``rejected``) to a re-run's inquiry: the actions with it recorded,
    the history entry's action and data; None when it changes nothing (an answer heard before, an inquiry
    no action of the plan made)."""
    found = next((a for a in actions if a.booking_inquiry_id == inquiry), None)
    if found is None:
        return None
    booking_id = details.get("booking_id")
    if found.booking_outcome == outcome and found.booking_id == booking_id:
        return None
    updated = replace(found, booking_outcome=outcome, booking_id=booking_id or found.booking_id)
    data = {"action_id": found.action_id, "inquiry_id": inquiry, **{k: v for k, v in details.items() if v}}
    return (
        tuple(updated if a is found else a for a in actions),
        BOOKED if outcome == "confirmed" else REJECTED,
        data,
    )
