"""Commands on ``meetdesk.commands`` (routing key = command name)."""

from __future__ import annotations

from datetime import time
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AwareDatetime, Field, model_validator

from .common import Category, Equipment, Ident, LongText, Model, Severity, ShortText

COMMANDS: dict[str, type[Command]] = {}


class Command(Model):
    command_name: ClassVar[str] = ""
    command_id: Ident
    actor: Ident

    def __init_subclass__(cls, *, name: str = "", **kw: Any) -> None:
        super().__init_subclass__(**kw)
        if name:
            cls.command_name = name
            COMMANDS[name] = cls


class RoomsUpsert(Command, name="rooms.upsert"):
    room_id: Ident
    name: ShortText
    location: ShortText | None = None
    capacity: Annotated[int, Field(ge=1, le=100_000)]
    equipment: list[Equipment] = Field(default_factory=list)
    active: bool = True
    # extensions: this room's own rules (unset: the venue's settings)
    setup_buffer_minutes: Annotated[int, Field(ge=0, le=240)] | None = None
    cleanup_buffer_minutes: Annotated[int, Field(ge=0, le=240)] | None = None
    opens_at: time | None = Field(None, description="venue time; with closes_at, when meetings may take place")
    closes_at: time | None = Field(None, description="venue time; 00:00 means midnight")


Scope = Literal["occurrence", "series"]


class BookingCancel(Command, name="booking.cancel"):
    booking_id: Ident
    reason: ShortText | None = None
    scope: Scope = Field("occurrence", description="extension: this occurrence, or its whole series")


class BookingReschedule(Command, name="booking.reschedule"):
    booking_id: Ident
    start: AwareDatetime
    end: AwareDatetime
    room_id: Ident | None = None
    scope: Scope = Field(
        "occurrence", description="extension: this occurrence, or the whole series (each occurrence moves alike)"
    )

    @model_validator(mode="after")
    def _end_after_start(self) -> BookingReschedule:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class BookingChange(Command, name="booking.change"):
    """Extension: change attendees and/or equipment of a booking (re-checked against its room)."""

    booking_id: Ident
    attendees: Annotated[int, Field(ge=1, le=100_000)] | None = None
    equipment: list[Equipment] | None = None
    scope: Scope = "occurrence"


class BookingAcceptAlternative(Command, name="booking.accept_alternative"):
    """Extension: the customer (or an agent for them) takes one of the alternatives a rejection offered."""

    inquiry_id: Ident
    room_id: Ident
    start: AwareDatetime
    end: AwareDatetime


class BookingPreparationDone(Command, name="booking.preparation_done"):
    """Extension: a department reports its preparation of a booking done."""

    booking_id: Ident
    department: Literal["equipment", "catering", "setup"]
    note: ShortText | None = None


class BookingConfirmAttendance(Command, name="booking.confirm_attendance"):
    """Extension: the customer confirms, after the day-before reminder, that the meeting goes ahead."""

    booking_id: Ident


class BookingCheckIn(Command, name="booking.check_in"):
    """Extension: the customer has arrived (no check-in N minutes after the start releases the room)."""

    booking_id: Ident


class BookingWaitlistAccept(Command, name="booking.waitlist_accept"):
    """Extension: the first waiter takes the slot a waitlist offer named, before its deadline."""

    inquiry_id: Ident


class _ComplaintCommand(Command):
    complaint_id: Ident
    note: LongText | None = None


class ComplaintAcknowledge(_ComplaintCommand, name="complaint.acknowledge"):
    pass


ServiceStep = Literal["booking", "preparation", "on_site", "catering", "av", "after_meeting", "other"]


class ComplaintAssign(_ComplaintCommand, name="complaint.assign"):
    agent_id: Ident
    category: Category | None = None
    severity: Severity | None = None
    service_step: ServiceStep | None = Field(None, description="extension: the service step the complaint concerns")


RootCause = Literal[
    "staff_error", "equipment_failure", "process_gap", "training_gap", "third_party", "misunderstanding", "other"
]
Remedy = Literal["apology", "compensation", "partial_refund", "rerun_meeting", "improvement", "training", "other"]


class ComplaintInvestigate(_ComplaintCommand, name="complaint.investigate"):
    """Starts the investigation (from acknowledged) and/or records its findings (while investigating:
    at least one of them; evidence accumulates, the latest root cause and department stand)."""

    root_cause: RootCause | None = Field(None, description="extension: from the fixed list (was free text)")
    department: ShortText | None = Field(None, description="extension: the department responsible")
    evidence: list[ShortText] = Field(
        default_factory=list, max_length=50, description="extension: references to the evidence (files, recordings)"
    )


class SolutionAction(Model):
    """One action of a complaint's solution plan: a remedy, who carries it out and by when."""

    action_id: Ident | None = Field(None, description="given, or a1, a2 … in the order planned; names it later")
    remedy: Remedy
    owner: Ident = Field(description="the staff member (or department) who carries it out")
    due_at: AwareDatetime
    description: ShortText | None = None
    amount: Annotated[float, Field(ge=0)] | None = Field(
        None, description="compensation or a partial refund, in the venue's currency"
    )


class ComplaintProposeSolution(_ComplaintCommand, name="complaint.propose_solution"):
    actions: list[SolutionAction] = Field(
        default_factory=list, max_length=50, description="extension: the plan's actions (was free-form)"
    )


class ComplaintStartExecution(_ComplaintCommand, name="complaint.start_execution"):
    pass


class ComplaintResolve(_ComplaintCommand, name="complaint.resolve"):
    resolution: LongText | None = None
    first_contact: bool = Field(
        False, description="extension: resolved in the contact that registered it (from registered or acknowledged)"
    )


class CaseRecord(Model):
    """A closed complaint written up for the case library (案例庫): what happened, why, what was done,
    how it ended and what the desk learns from it."""

    problem: LongText
    cause: LongText
    solution: LongText
    outcome: LongText
    lesson: LongText


class ComplaintClose(_ComplaintCommand, name="complaint.close"):
    override_reason: ShortText | None = Field(
        None,
        description="extension: a supervisor or manager closes without the customer's satisfaction, saying why "
        "(e.g. the customer could not be reached after the follow-ups)",
    )
    case: CaseRecord | None = Field(None, description="extension: the case, for the case library")


class ComplaintRecordCase(_ComplaintCommand, name="complaint.record_case"):
    """Extension: write (or rewrite) a closed complaint's case for the case library."""

    case: CaseRecord


class ComplaintReopen(_ComplaintCommand, name="complaint.reopen"):
    reason: ShortText | None = None


# -- complaints: the process on the clock (extensions) -------------------------------------------------
class ComplaintAwaitCustomer(_ComplaintCommand, name="complaint.await_customer"):
    """Extension: the complaint waits for the customer (its SLA clocks pause until the customer writes
    again on the same conversation or under the same customer id)."""

    question: ShortText | None = Field(None, description="what the customer is asked for (it is sent to them)")


class ComplaintNote(_ComplaintCommand, name="complaint.note"):
    """Extension: a note or a call record in the complaint's history; the complaint's state does not change."""

    kind: Literal["note", "call"] = "note"
    direction: Literal["inbound", "outbound"] | None = Field(None, description="a call: who called whom")
    reached: bool | None = Field(None, description="a call: whether the customer was reached")
    duration_seconds: Annotated[int, Field(ge=0, le=86_400)] | None = None


class ComplaintWithdraw(_ComplaintCommand, name="complaint.withdraw"):
    """Extension: the customer withdraws the complaint (an agent records it); its clocks stop."""

    reason: ShortText | None = None


class ComplaintConfirmSatisfaction(_ComplaintCommand, name="complaint.confirm_satisfaction"):
    """Extension: an agent records what the customer said about the resolution (a call, a visit); a
    score of 1-2 reopens the complaint, a higher score or none (the customer confirmed) lets it close."""

    score: Annotated[int, Field(ge=1, le=5)] | None = None


class ComplaintPlan(_ComplaintCommand, name="complaint.plan"):
    """Extension: revise the solution plan (solution proposed or in progress): actions added, or replaced
    by their ``action_id`` (not once done), and actions dropped. The customer's agreement is asked anew."""

    actions: list[SolutionAction] = Field(default_factory=list, max_length=50)
    drop: list[Ident] = Field(default_factory=list, max_length=50, description="action ids no longer planned")


class ComplaintActionDone(_ComplaintCommand, name="complaint.action_done"):
    """Extension: an action of the solution plan is done (late, if after its due time)."""

    action_id: Ident


class ComplaintPlanAgreement(_ComplaintCommand, name="complaint.plan_agreement"):
    """Extension: the customer's answer to the solution plan, as an agent heard it (the plan cannot be
    carried out while the customer's last answer is no)."""

    agreed: bool = True


class ComplaintHandover(Command, name="complaint.handover"):
    """Extension: every open complaint of one agent goes to another."""

    from_agent: Ident
    to_agent: Ident
    reason: ShortText | None = None


StaffRole = Literal["agent", "supervisor", "manager"]


class StaffUpsert(Command, name="staff.upsert"):
    """Extension: a member of the staff directory complaints escalates along (agent → supervisor → manager)."""

    staff_id: Ident
    name: ShortText
    role: StaffRole
    department: ShortText | None = None
    supervisor_id: Ident | None = Field(None, description="the staff member this one reports to")
    active: bool = True
