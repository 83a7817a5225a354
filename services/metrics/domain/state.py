"""The state metrics keeps per complaint, booking, booking request and customer: merged, not replayed.

A figure that needs more than one event (a complaint's handling time, whether a request was
confirmed, whether a missed call was called back) is computed from an **entity state**: a small JSON
document per complaint / booking / request / customer. Each event contributes a partial state
(:func:`.projection.contributions`), and states are combined by :func:`merge`, field by field, with
rules that do not care about order or grouping — the earliest, the latest (by time, then event id),
the smallest, a sum, "any", a map merged key by key. So:

- events may arrive in any order (a reply before its inquiry, a clock's transition before the
  registration) and give the same state once all are in;
- a state can be updated from its stored value and a batch of new events, without replaying the log;
- old log rows can be folded into a *base* state and deleted (compaction): base ⊕ the rest of the log
  = the state from the whole log.

A stamp is ``[epoch seconds, event id]``: the event id breaks ties, so the choice never depends on
arrival order. Each event is applied once (the event log's key), which is what makes sums safe.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

State = dict[str, Any]
Rule = Callable[[Any, Any], Any]


def first(a: Any, b: Any) -> Any:
    """``[stamp, ...]`` with the earliest stamp."""
    return a if a[0] <= b[0] else b


def last(a: Any, b: Any) -> Any:
    """``[stamp, ...]`` with the latest stamp."""
    return a if a[0] >= b[0] else b


def lowest(a: Any, b: Any) -> Any:
    return a if a <= b else b


def total(a: Any, b: Any) -> Any:
    return a + b


def either(a: Any, b: Any) -> Any:
    return bool(a or b)


def each(rule: Rule) -> Rule:
    """A map whose values (any keys) merge with ``rule``."""

    def merge_map(a: Mapping[str, Any], b: Mapping[str, Any]) -> dict[str, Any]:
        out = dict(a)
        for key, value in b.items():
            out[key] = rule(out[key], value) if key in out else value
        return out

    return merge_map


def fields(rules: Mapping[str, Rule]) -> Rule:
    """A record whose named fields merge each with its own rule."""

    def merge_fields(a: Mapping[str, Any], b: Mapping[str, Any]) -> dict[str, Any]:
        out = dict(a)
        for key, value in b.items():
            out[key] = rules[key](out[key], value) if key in out else value
        return out

    return merge_fields


# -- what each kind of entity keeps ------------------------------------------------------------------
SCHEMAS: Mapping[str, Rule] = {
    # complaint:<id>
    "complaint": fields(
        {
            "reg": first,  # [stamp, channel, category, severity] from complaint.registered
            "agent": last,  # [stamp, agent]: who handles it now
            "category": last,  # [stamp, category]: as last classified
            "reg_agent": first,  # [stamp, agent]: the agent named when it was registered
            "step": last,  # [stamp, service step]: as last assessed (registration, reassignment)
            "cause": last,  # [stamp, root cause]: as the investigation last found it
            "meeting": first,  # [stamp, booking id]: the booking the complaint is about
            "resolved": lowest,  # epoch of the first resolution
            "resolutions": total,  # how many times it was resolved
            "reopens": total,  # how many times a resolved or closed complaint was reopened
            "first_contact": either,  # resolved in the contact that registered it
            "closed": lowest,  # epoch of the first close
            "withdrawn": lowest,  # epoch it was withdrawn
            # "<which>:<cycle>" → {"met": [stamp, elapsed, target, agent], "breach": [stamp, agent]}
            "sla": each(fields({"met": first, "breach": first})),
            "esc": each(first),  # event id → [stamp, level]
            "survey_req": lowest,  # epoch the customer was first asked about the resolution
            "survey_ans": lowest,  # epoch of the first answer (survey or told to an agent)
        }
    ),
    # booking:<id> (one occurrence)
    "booking": fields(
        {
            "confirmed": first,  # [stamp, room, start, end]
            "moved": last,  # [stamp, room, start, end]: the latest reschedule
            "cancelled": lowest,
            "released": lowest,  # nobody checked in: a no-show
            "completed": first,  # [stamp, room, start, end, checked_in]
            "survey_ans": lowest,  # epoch of the first survey answer about it
        }
    ),
    # request:<inquiry id> (one booking request, one occurrence or a whole series)
    "request": fields(
        {
            "requested": first,  # [stamp, channel]
            "confirmed": first,  # [stamp, room]
            "rejected": lowest,
        }
    ),
    # customer:<id>
    "customer": fields(
        {
            "missed": each(lowest),  # call id → epoch the unanswered call started
            "answered": each(lowest),  # inquiry id → epoch an answered phone call started
            # other customer id → [stamp, linked]: the latest customer.linked / .unlinked naming both records
            "links": each(last),
        }
    ),
}


def kind_of(entity: str) -> str:
    return entity.partition(":")[0]


def merge(entity: str, a: State | None, b: State) -> State:
    """The state of ``entity`` with ``b``'s contribution merged in (``a`` None: none before)."""
    if not a:
        return dict(b)
    return SCHEMAS[kind_of(entity)](a, b)  # type: ignore[no-any-return]


def stamp(at: float, event_id: str) -> list[Any]:
    return [at, event_id]
