"""Records → facts: the daily aggregate the figures are computed from.

A :class:`Fact` is one count on a venue-local day, of a metric, with its dimensions (channel, agent,
category, room, a complaint's service step and root cause, a meeting; ``""`` when unknown) and a
whole-number ``value`` (seconds, a score, a level, an instant; 0 for a plain count). ``kpi_daily``
holds how many times each fact occurred, so a mean, a median or a p90 over any days and any grouping
is exact: the values themselves are kept, counted.

Two sources of facts:

- **event facts**: one event, its facts (an inquiry received, a reply and its response time, a
  score). Added once, when the event is first logged.
- **entity facts**: what a complaint, booking, request or customer *state* (:mod:`.state`) stands for
  (registered on day d and resolved since, handling time, met its target in time, a meeting held,
  a missed call called back — over the customer records linked with the caller's: one person).
  When a state changes, its old facts are taken out and its new ones put in (:class:`Projection`),
  so the aggregate always equals the facts of the current states.

Durations are counted in whole seconds (rounded half up); instants are whole epoch seconds.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal, NamedTuple
from zoneinfo import ZoneInfo

from .calendar import BusinessHours, business_seconds
from .records import Record, epoch
from .state import State, kind_of, merge, stamp

Dim = Literal["channel", "agent", "category", "room", "service_step", "cause", "meeting"]
DIMS: tuple[Dim, ...] = ("channel", "agent", "category", "room", "service_step", "cause", "meeting")
SERVICE_ATTITUDE = "service_attitude"
RESOLVED_STATUSES = frozenset({"resolved", "closed"})


@dataclass(frozen=True)
class Policy:
    """What metrics decides with: the venue's time zone (its days, its "today"), the phone answer
    target (seconds; seed 003: within three rings), how soon a missed call must be called back to
    count as called back, and the desk's business hours (None: response times in calendar time only)."""

    tz: ZoneInfo
    answer_target_seconds: int = 15
    callback_within_seconds: int = 86_400
    business_hours: BusinessHours | None = None


class Fact(NamedTuple):
    """One count of the daily aggregate (a tuple: cheap to make, hash and sort in key order)."""

    day: date
    metric: str
    channel: str = ""
    agent: str = ""
    category: str = ""
    room: str = ""
    service_step: str = ""  # a complaint's service step (as last assessed)
    cause: str = ""  # a complaint's root cause (as last found)
    meeting: str = ""  # a booking occurrence (its booking id)
    value: int = 0


METRICS: dict[str, Metric] = {}


@dataclass(frozen=True)
class Metric:
    """A fact the rules produce, broken down by the dimensions ``by`` (declared once here: a figure
    is null in a grouping by a dimension its metrics do not carry)."""

    name: str
    by: tuple[Dim, ...] = ()

    def __post_init__(self) -> None:
        if self.name in METRICS:
            raise ValueError(f"metric {self.name!r} is declared twice")
        METRICS[self.name] = self

    def __call__(self, day: date, value: float = 0, **dims: str | None) -> Fact:
        if not dims.keys() <= set(self.by):
            raise TypeError(f"{self.name} is not broken down by {sorted(dims.keys() - set(self.by))}")
        get = dims.get
        return Fact(
            day, self.name, get("channel") or "", get("agent") or "", get("category") or "", get("room") or "",
            get("service_step") or "", get("cause") or "", get("meeting") or "", math.floor(value + 0.5),
        )  # fmt: skip


def whole(x: float) -> int:
    """Half up to a whole number (durations in whole seconds)."""
    return math.floor(x + 0.5)


CH, CH_AG = ("channel",), ("channel", "agent")
COMPLAINT_DIMS: tuple[Dim, ...] = ("channel", "agent", "category", "service_step", "cause")
INQUIRY_DIMS: tuple[Dim, ...] = ("channel", "agent", "category")

# -- event facts ---------------------------------------------------------------------------------
INQUIRIES = Metric("inquiries", INQUIRY_DIMS)
COMPLAINTS_RECEIVED = Metric("complaints_received", INQUIRY_DIMS)
AGENT_REPLIES = Metric("agent_replies", CH_AG)
FIRST_RESPONSE = Metric("first_response", CH_AG)  # value: seconds
NEXT_RESPONSE = Metric("next_response", CH_AG)  # value: seconds
FIRST_RESPONSE_BUSINESS = Metric("first_response_business", CH_AG)  # value: seconds within business hours
NEXT_RESPONSE_BUSINESS = Metric("next_response_business", CH_AG)  # value: seconds within business hours
PHONE_ANSWERED = Metric("phone_answered", CH_AG)  # value: seconds from ringing to answer
CALLS_MISSED = Metric("calls_missed", CH)
SATISFACTION = Metric("satisfaction", ("channel", "agent", "room", "meeting"))  # value: score 1-5
BOOKINGS_REJECTED = Metric("bookings_rejected", ("category",))  # category: the reason code
BOOKINGS_CANCELLED = Metric("bookings_cancelled", ("room",))
BOOKINGS_RESCHEDULED = Metric("bookings_rescheduled", ("room",))
BOOKINGS_CONFIRMED_OCCURRENCES = Metric("bookings_confirmed_occurrences", ("room",))
NO_SHOWS = Metric("no_shows", ("room",))
PREPARATION_OVERDUE = Metric("preparation_overdue", ("room", "category"))  # category: the department
SLA_BREACHES = Metric("sla_breaches")  # value: 1 acknowledge, 2 resolve
REJECTED_MESSAGES = Metric("rejected_messages", CH)
NOTIFICATIONS_FAILED = Metric("notifications_failed", CH)  # a message to a customer bounced
REPLAYED_MESSAGES = Metric("replayed_messages")
DUE_ITEMS_PARKED = Metric("due_items_parked")
# -- entity facts: requests and bookings ------------------------------------------------------------
BOOKINGS_REQUESTED = Metric("bookings_requested", ("channel", "room"))  # on the day requested
REQUESTS_CONFIRMED = Metric("requests_confirmed", ("channel", "room"))  # same day: of those requested
BOOKINGS_CONFIRMED = Metric("bookings_confirmed", ("channel", "room"))  # on the day first confirmed
MEETINGS_COMPLETED = Metric("meetings_completed", ("room", "meeting"))  # on the meeting's day
MEETINGS_SCHEDULED = Metric("meetings_scheduled", ("room", "meeting"))  # not ended yet when last heard; value: end
BOOKING_SURVEYS_REQUESTED = Metric("booking_surveys_requested", ("room", "meeting"))
BOOKING_SURVEYS_ANSWERED = Metric("booking_surveys_answered", ("room", "meeting"))
# -- entity facts: complaints (on the day registered unless said otherwise) ---------------------------
COMPLAINTS_REGISTERED = Metric("complaints_registered", (*COMPLAINT_DIMS, "meeting"))  # meeting: its booking
COMPLAINTS_WITHDRAWN = Metric("complaints_withdrawn", COMPLAINT_DIMS)
COHORT_RESOLVED = Metric("cohort_resolved", COMPLAINT_DIMS)
COHORT_RESOLVED_IN_TIME = Metric("cohort_resolved_in_time", COMPLAINT_DIMS)
COHORT_EVER_RESOLVED = Metric("cohort_ever_resolved", COMPLAINT_DIMS)
COHORT_REOPENED = Metric("cohort_reopened", COMPLAINT_DIMS)
COHORT_FIRST_CONTACT = Metric("cohort_first_contact", COMPLAINT_DIMS)
HANDLING_TIME = Metric("handling_time", COMPLAINT_DIMS)  # value: seconds registered → first resolution
COMPLAINTS_ABOUT_AGENT = Metric("complaints_about_agent", COMPLAINT_DIMS)
COMPLAINT_SURVEYS_REQUESTED = Metric("complaint_surveys_requested", COMPLAINT_DIMS)  # day first asked
COMPLAINT_SURVEYS_ANSWERED = Metric("complaint_surveys_answered", COMPLAINT_DIMS)  # day first asked
COMPLAINTS_RESOLVED = Metric("complaints_resolved", COMPLAINT_DIMS)  # day of the first resolution
COMPLAINTS_CLOSED = Metric("complaints_closed", COMPLAINT_DIMS)  # day first closed
ESCALATIONS = Metric("escalations", COMPLAINT_DIMS)  # day escalated; value: level
SLA_TARGETS = ("acknowledge", "resolve")
SLA_MET = {w: Metric(f"sla_{w}_met", COMPLAINT_DIMS) for w in SLA_TARGETS}  # value: counted seconds
SLA_IN_TIME = {w: Metric(f"sla_{w}_in_time", COMPLAINT_DIMS) for w in SLA_TARGETS}  # day decided
SLA_LATE = {w: Metric(f"sla_{w}_late", COMPLAINT_DIMS) for w in SLA_TARGETS}  # day decided
# -- entity facts: customers -----------------------------------------------------------------------
CALLBACKS = Metric("callbacks", CH)  # on the missed call's day; value: seconds until the call-back


class Days:
    """Venue-local days of instants (cached: the same instants recur across a batch)."""

    def __init__(self, tz: ZoneInfo):
        self.tz = tz

    def of(self, at: datetime | float) -> date:
        if isinstance(at, datetime):
            return at.astimezone(self.tz).date()
        return datetime.fromtimestamp(at, self.tz).date()


# -- a record's own facts ----------------------------------------------------------------------------
def event_facts(r: Record, days: Days, business_hours: BusinessHours | None = None) -> list[Fact]:
    day = days.of(r.at)
    t = r.type
    if t == "inquiry.received":
        out = [INQUIRIES(day, channel=r.channel, agent=r.agent, category=r.category)]
        if r.attrs.get("intent") == "complaint":
            out.append(COMPLAINTS_RECEIVED(day, channel=r.channel, agent=r.agent, category=r.category))
        return out
    if t == "agent.replied":
        out = [AGENT_REPLIES(day, channel=r.channel, agent=r.agent)]
        if r.value is not None:
            first = bool(r.attrs.get("first_reply"))
            metric = FIRST_RESPONSE if first else NEXT_RESPONSE
            out.append(metric(day, r.value, channel=r.channel, agent=r.agent))
            if business_hours is not None:
                seconds = business_seconds(business_hours, r.at - timedelta(seconds=r.value), r.at)
                business = FIRST_RESPONSE_BUSINESS if first else NEXT_RESPONSE_BUSINESS
                out.append(business(day, seconds, channel=r.channel, agent=r.agent))
            if r.channel == "phone":
                out.append(PHONE_ANSWERED(day, r.value, channel=r.channel, agent=r.agent))
        return out
    if t == "call.missed":
        return [CALLS_MISSED(day, channel="phone")]
    if t == "feedback.received":
        meeting = r.subject if r.attrs.get("subject_type") == "booking" else None
        return [SATISFACTION(day, r.value or 0, channel=r.channel, agent=r.agent, room=r.room, meeting=meeting)]
    if t == "booking.confirmed":
        return [BOOKINGS_CONFIRMED_OCCURRENCES(day, room=r.room)]
    if t == "booking.rejected":
        return [BOOKINGS_REJECTED(day, category=r.category)]
    if t == "booking.cancelled":
        return [BOOKINGS_CANCELLED(day, room=r.room)]
    if t == "booking.rescheduled":
        return [BOOKINGS_RESCHEDULED(day, room=r.room)]
    if t == "booking.released":
        return [NO_SHOWS(day, room=r.room)]
    if t == "booking.preparation_overdue":
        return [PREPARATION_OVERDUE(day, room=r.room, category=r.category)]
    if t == "complaint.sla_breached":
        return [SLA_BREACHES(day, 1 if r.attrs.get("which") == "acknowledge" else 2)]
    if t in ("intake.rejected", "message.rejected", "command.rejected"):
        return [REJECTED_MESSAGES(day, channel=r.channel)]
    if t == "notification.failed":
        return [NOTIFICATIONS_FAILED(day, channel=r.channel)]
    if t == "message.replayed":
        return [REPLAYED_MESSAGES(day)]
    if t == "due.parked":
        return [DUE_ITEMS_PARKED(day)]
    return []


# -- a record's contributions to entity states ----------------------------------------------------------
def contributions(r: Record) -> list[tuple[str, State]]:
    """(entity, partial state) pairs this record adds to (see :data:`.state.SCHEMAS`)."""
    t, a, s = r.type, r.attrs, r.subject
    at = epoch(r.at)
    st = stamp(epoch(r.occurred_at), r.event_id)
    if t.startswith("complaint.") and s:
        part = _complaint_part(r, at, st)
        return [(f"complaint:{s}", part)] if part else []
    if t == "feedback.received" and s and a.get("subject_type") in ("booking", "complaint"):
        return [(f"{a['subject_type']}:{s}", {"survey_ans": at})]
    if t == "booking.requested" and s:
        return [(f"request:{s}", {"requested": [st, r.channel or "", r.room or ""]})]
    if t == "booking.confirmed" and s:
        out: list[tuple[str, State]] = [(f"booking:{s}", {"confirmed": [st, r.room or "", a["start"], a["end"]]})]
        if a.get("inquiry_id"):
            out.append((f"request:{a['inquiry_id']}", {"confirmed": [st, r.room or ""]}))
        return out
    if t == "booking.rejected" and s:
        return [(f"request:{s}", {"rejected": at})]
    if t == "booking.rescheduled" and s:
        return [(f"booking:{s}", {"moved": [st, r.room or "", a["start"], a["end"]]})]
    if t == "booking.cancelled" and s:
        return [(f"booking:{s}", {"cancelled": at})]
    if t == "booking.released" and s:
        return [(f"booking:{s}", {"released": at})]
    if t == "booking.completed" and s:
        return [(f"booking:{s}", {"completed": [st, r.room or "", a["start"], a["end"], bool(a.get("checked_in"))]})]
    if t == "call.missed" and a.get("customer_id") and s:
        return [(f"customer:{a['customer_id']}", {"missed": {s: at}})]
    if t == "inquiry.received" and r.channel == "phone" and a.get("customer_id") and s:
        started = min(epoch(datetime.fromisoformat(a["sent_at"])), at) if a.get("sent_at") else at
        return [(f"customer:{a['customer_id']}", {"answered": {s: started}})]
    if t in ("customer.linked", "customer.unlinked") and s:
        # both records hold the link (either may be loaded first); the latest event about the pair stands
        linked = t == "customer.linked"
        others = [o for o in a.get("customer_ids", ()) if o and o != s]
        return [(f"customer:{s}", {"links": {o: [st, linked]}}) for o in others] + [
            (f"customer:{o}", {"links": {s: [st, linked]}}) for o in others
        ]
    return []


def _complaint_part(r: Record, at: float, st: list[Any]) -> State:
    t, a = r.type, r.attrs
    part: State = {}
    if r.agent:
        part["agent"] = [st, r.agent]
    if r.category:
        part["category"] = [st, r.category]
    if a.get("service_step"):
        part["step"] = [st, a["service_step"]]
    if a.get("root_cause") and t in ("complaint.status_changed", "complaint.assessed"):
        part["cause"] = [st, a["root_cause"]]
    if t == "complaint.registered":
        registered = min(at, epoch(r.occurred_at))  # the customer's contact (never later than the event)
        part["reg"] = [stamp(registered, r.event_id), r.channel or "", r.category or "", a.get("severity") or ""]
        if a.get("booking_id"):
            part["meeting"] = [st, a["booking_id"]]
    elif t == "complaint.status_changed":
        to, from_ = a.get("to"), a.get("from")
        if to == "resolved":
            part.update(resolved=at, resolutions=1)
            if a.get("first_contact"):
                part["first_contact"] = True
        if from_ in RESOLVED_STATUSES and to not in RESOLVED_STATUSES:
            part["reopens"] = 1
        if to == "withdrawn":
            part["withdrawn"] = at
    elif t == "complaint.closed":
        part["closed"] = at
    elif t == "complaint.clock":
        which, transition, cycle = a.get("which"), a.get("transition"), a.get("cycle", 1)
        if transition == "started" and cycle == 1 and which == "acknowledge" and r.agent:
            part["reg_agent"] = [st, r.agent]
        if transition == "met":
            part["sla"] = {f"{which}:{cycle}": {"met": [[at, r.event_id], r.value or 0.0, a["target"], r.agent]}}
        elif transition == "breached":
            part["sla"] = {f"{which}:{cycle}": {"breach": [[at, r.event_id], r.agent]}}
    elif t == "complaint.escalated":
        part["esc"] = {r.event_id: [st, int(r.value or 1)]}
    elif t == "complaint.satisfaction_requested":
        part["survey_req"] = at
    elif t == "complaint.satisfaction_recorded":
        part["survey_ans"] = at
    return part


# -- an entity state's facts --------------------------------------------------------------------------
def entity_facts(
    entity: str, s: State, days: Days, policy: Policy, states: Mapping[str, State] | None = None
) -> list[Fact]:
    """The facts ``entity``'s state stands for. A customer's depend on the records linked with it:
    ``states`` must hold them (every member of its group, see :func:`linked_group`)."""
    kind = kind_of(entity)
    if kind == "complaint":
        return _complaint_facts(s, days)
    if kind == "booking":
        return _booking_facts(entity.partition(":")[2], s, days)
    if kind == "request":
        return _request_facts(s, days)
    if kind == "customer":
        return _customer_facts(entity, states if states is not None else {entity: s}, days, policy)
    return []


def _complaint_facts(s: State, days: Days) -> list[Fact]:
    reg = s.get("reg")
    channel = reg[1] if reg else ""
    category = s["category"][1] if "category" in s else (reg[2] if reg else "")
    agent = s["agent"][1] if "agent" in s else ""
    dims = {
        "channel": channel,
        "agent": agent,
        "category": category,
        "service_step": s["step"][1] if "step" in s else "",
        "cause": s["cause"][1] if "cause" in s else "",
    }
    out: list[Fact] = []
    resolved, sla = s.get("resolved"), s.get("sla", {})
    if reg:
        rd = days.of(reg[0][0])
        out.append(COMPLAINTS_REGISTERED(rd, **dims, meeting=s["meeting"][1] if "meeting" in s else ""))
        if "withdrawn" in s:
            out.append(COMPLAINTS_WITHDRAWN(rd, **dims))
        else:
            resolved_now = s.get("resolutions", 0) > s.get("reopens", 0)
            if resolved_now:
                out.append(COHORT_RESOLVED(rd, **dims))
                if _resolved_in_time(sla):
                    out.append(COHORT_RESOLVED_IN_TIME(rd, **dims))
            if resolved is not None:
                out.append(COHORT_EVER_RESOLVED(rd, **dims))
                out.append(HANDLING_TIME(rd, resolved - reg[0][0], **dims))
            if s.get("reopens", 0) > 0:
                out.append(COHORT_REOPENED(rd, **dims))
            if s.get("first_contact"):
                out.append(COHORT_FIRST_CONTACT(rd, **dims))
        if category == SERVICE_ATTITUDE and "reg_agent" in s:
            out.append(COMPLAINTS_ABOUT_AGENT(rd, **(dims | {"agent": s["reg_agent"][1]})))
    if resolved is not None:
        out.append(COMPLAINTS_RESOLVED(days.of(resolved), **dims))
    if "closed" in s:
        out.append(COMPLAINTS_CLOSED(days.of(s["closed"]), **dims))
    if "survey_req" in s:
        asked = days.of(s["survey_req"])
        out.append(COMPLAINT_SURVEYS_REQUESTED(asked, **dims))
        if "survey_ans" in s:
            out.append(COMPLAINT_SURVEYS_ANSWERED(asked, **dims))
    for key, cycle in sla.items():
        which = key.partition(":")[0]
        if which not in SLA_MET:
            continue
        met, breach = cycle.get("met"), cycle.get("breach")
        if met:
            out.append(SLA_MET[which](days.of(met[0][0]), met[1], **(dims | {"agent": met[3] or agent})))
        decided = min(x for x in (met, breach) if x)
        late = breach is not None or met[1] > met[2]  # type: ignore[index]
        who = (decided[-1] if decided is breach else decided[3]) or agent
        metric = SLA_LATE[which] if late else SLA_IN_TIME[which]
        out.append(metric(days.of(decided[0][0]), **(dims | {"agent": who})))
    for st, level in s.get("esc", {}).values():
        out.append(ESCALATIONS(days.of(st[0]), level, **dims))
    return out


def _resolved_in_time(sla: Mapping[str, Any]) -> bool:
    """Every resolution target decided so far was met within its target (and at least one was)."""
    cycles = [c for key, c in sla.items() if key.startswith("resolve:")]
    met = [c["met"] for c in cycles if "met" in c]
    return bool(met) and all("breach" not in c for c in cycles) and all(m[1] <= m[2] for m in met)


def _booking_facts(meeting: str, s: State, days: Days) -> list[Fact]:
    out: list[Fact] = []
    slot = s.get("completed") or s.get("moved") or s.get("confirmed")
    if slot:
        _, room, start, end = slot[:4]
        meeting_day = days.of(start)
        if "completed" in s:
            out.append(MEETINGS_COMPLETED(meeting_day, room=room, meeting=meeting))
        elif "cancelled" not in s and "released" not in s:
            out.append(MEETINGS_SCHEDULED(meeting_day, end, room=room, meeting=meeting))
    if "completed" in s:
        done = s["completed"]
        asked = days.of(done[0][0])
        out.append(BOOKING_SURVEYS_REQUESTED(asked, room=done[1], meeting=meeting))
        if "survey_ans" in s:
            out.append(BOOKING_SURVEYS_ANSWERED(asked, room=done[1], meeting=meeting))
    return out


def _request_facts(s: State, days: Days) -> list[Fact]:
    out: list[Fact] = []
    req, confirmed = s.get("requested"), s.get("confirmed")
    channel = req[1] if req else ""
    if req:
        day, room = days.of(req[0][0]), (confirmed[1] if confirmed else req[2])
        out.append(BOOKINGS_REQUESTED(day, channel=channel, room=room))
        if confirmed:
            out.append(REQUESTS_CONFIRMED(day, channel=channel, room=room))
    if confirmed:
        out.append(BOOKINGS_CONFIRMED(days.of(confirmed[0][0]), channel=channel, room=confirmed[1]))
    return out


def linked_to(s: State | None) -> list[str]:
    """The customer entities a customer's state is linked with now."""
    return [f"customer:{o}" for o, (_, linked) in (s or {}).get("links", {}).items() if linked]


def linked_group(entity: str, states: Mapping[str, State]) -> list[str]:
    """The customer records linked with ``entity``, directly or through others, itself included, sorted:
    one customer as intake now sees it. The first one stands for the group (its facts are the group's)."""
    seen, todo = {entity}, [entity]
    while todo:
        for other in linked_to(states.get(todo.pop())):
            if other not in seen:
                seen.add(other)
                todo.append(other)
    return sorted(seen)


def _customer_facts(entity: str, states: Mapping[str, State], days: Days, policy: Policy) -> list[Fact]:
    """Missed calls called back, over every record of the customer (linked records are one customer:
    a call-back under the record a missed call's record was merged into counts; an unlink parts them)."""
    group = linked_group(entity, states)
    if group[0] != entity:
        return []  # counted with the group's first record
    missed: dict[str, float] = {}
    answered_at: list[float] = []
    for member in group:
        s = states.get(member) or {}
        missed.update(s.get("missed", {}))
        answered_at.extend(s.get("answered", {}).values())
    answered = sorted(answered_at)
    out: list[Fact] = []
    for at in missed.values():
        after = next((a for a in answered if a > at), None)
        if after is not None and after - at <= policy.callback_within_seconds:
            out.append(CALLBACKS(days.of(at), after - at, channel="phone"))
    return out


# -- applying records ---------------------------------------------------------------------------------
class Projection:
    """Apply records to entity states and the daily aggregate, in memory (no I/O).

    Give it the current states of the entities the records touch (:func:`touched`), apply the fresh
    records, then read :meth:`changed` (the new states to store) and :attr:`deltas` (what to add to
    each fact's count; negative where a state no longer stands for a fact)."""

    def __init__(self, policy: Policy, states: Mapping[str, State] | None = None):
        self.policy = policy
        self.days = Days(policy.tz)
        self.before: dict[str, State] = dict(states or {})
        self.states: dict[str, State] = dict(self.before)
        self.deltas: Counter[Fact] = Counter()
        self._touched: dict[str, None] = {}
        self.loaded: set[str] = set(self.before)

    def apply(self, r: Record) -> None:
        self.deltas.update(event_facts(r, self.days, self.policy.business_hours))
        for entity, part in contributions(r):
            self.states[entity] = merge(entity, self.states.get(entity), part)
            self._touched[entity] = None

    def load(self, entities: Iterable[str], states: Mapping[str, State]) -> None:
        """Add the states of entities the applied records do not touch but whose facts they may move
        (records linked with a touched customer's); ``entities`` without a state have none."""
        for entity in entities:
            self.loaded.add(entity)
            if entity in states and entity not in self.states:
                self.before[entity] = self.states[entity] = states[entity]

    def unloaded(self) -> list[str]:
        """The customer records linked (before or after the records applied) with a touched customer
        whose states are not loaded yet: load them (:meth:`load`) before :meth:`changed`."""
        out: set[str] = set()
        for entity in self._touched:
            if kind_of(entity) == "customer":
                out.update(linked_group(entity, self.before), linked_group(entity, self.states))
        return sorted(out - self.loaded - set(self._touched))

    def changed(self) -> dict[str, State]:
        """The states that changed, and their facts moved in :attr:`deltas` (call once, at the end)."""
        out: dict[str, State] = {}
        customers: set[str] = set()
        for entity in self._touched:
            old, new = self.before.get(entity), self.states[entity]
            if old == new:
                continue
            out[entity] = new
            if kind_of(entity) == "customer":
                # a customer's facts are its group's: every group it was or is in is recounted
                customers.update(linked_group(entity, self.before), linked_group(entity, self.states))
                continue
            if old:
                self.deltas.subtract(entity_facts(entity, old, self.days, self.policy))
            self.deltas.update(entity_facts(entity, new, self.days, self.policy))
        for entity in sorted(customers):
            for states, sign in ((self.before, -1), (self.states, 1)):
                facts = _customer_facts(entity, states, self.days, self.policy)
                (self.deltas.update if sign > 0 else self.deltas.subtract)(facts)
        self.before.update(out)
        self._touched.clear()
        return out

    def nonzero(self) -> dict[Fact, int]:
        return {f: n for f, n in self.deltas.items() if n}


def touched(records: Iterable[Record]) -> list[str]:
    """The entities these records contribute to, each once, sorted (the order rows are locked in)."""
    return sorted({entity for r in records for entity, _ in contributions(r)})


def facts_of_states(states: Mapping[str, State], policy: Policy) -> Counter[Fact]:
    """Every fact the given entity states stand for (a rebuild's entity part: every state is there)."""
    days, out = Days(policy.tz), Counter[Fact]()
    for entity, s in states.items():
        out.update(entity_facts(entity, s, days, policy, states))
    return out


def utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)
