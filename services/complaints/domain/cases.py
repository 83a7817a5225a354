"""The case library and the review of recurring problems, in plain Python.

A closed complaint is written up as a case (problem, cause, solution, outcome, lesson) with what the
desk knows of it (category, root cause, service step, room, severity). Cases are found by free text in
any script: the text and the query are both compared in Simplified Chinese, lower case (OpenCC's
Hong Kong/Traditional → Simplified conversion), so 冷氣 finds 冷气 and the other way round, and English
works as it is. The review counts one month's complaints by category × root cause × room and service
step, so that recurring problems show.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import opencc

CASE_FIELDS = ("problem", "cause", "solution", "outcome", "lesson")
RECURRING_FROM = 2  # a problem seen this many times in a month recurs


@dataclass(frozen=True)
class Case:
    complaint_id: str
    problem: str
    cause: str
    solution: str
    outcome: str
    lesson: str
    written_by: str
    written_at: datetime
    category: str
    severity: str
    root_cause: str | None = None
    service_step: str | None = None
    room_id: str | None = None
    closed_at: datetime | None = None

    @property
    def search_text(self) -> str:
        """What a search looks in: the case's words and its labels, normalised (:func:`normalise`)."""
        labels = (self.category, self.root_cause, self.service_step, self.room_id)
        return normalise("\n".join([*(getattr(self, f) for f in CASE_FIELDS), *(x for x in labels if x)]))


@lru_cache(maxsize=1)
def _to_simplified() -> opencc.OpenCC:
    return opencc.OpenCC("hk2s")  # Hong Kong and standard Traditional → Simplified


def normalise(text: str) -> str:
    """Simplified Chinese, lower case, spaces collapsed: how case texts and queries are compared."""
    return re.sub(r"\s+", " ", _to_simplified().convert(text)).strip().lower()


def terms(query: str) -> list[str]:
    """A query's terms (each must occur): its words, normalised."""
    return [t for t in normalise(query).split(" ") if t]


def make_case(complaint: Any, record: Mapping[str, Any], actor: str, at: datetime) -> Case:
    """The case of a closed complaint (``complaint``: its state) from what the agent wrote."""
    return Case(
        complaint_id=complaint.complaint_id,
        **{f: str(record[f]) for f in CASE_FIELDS},
        written_by=actor,
        written_at=at,
        category=complaint.category,
        severity=complaint.severity,
        root_cause=complaint.root_cause,
        service_step=complaint.service_step,
        room_id=complaint.room_id,
        closed_at=complaint.closed_at,
    )


def month_bounds(month: str, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """``YYYY-MM`` → its first instant and the next month's, in venue time (ValueError: not a month)."""
    if not re.fullmatch(r"\d{4}-\d{2}", month):
        raise ValueError("month is YYYY-MM")
    first = date.fromisoformat(f"{month}-01")
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return datetime.combine(first, time(0), tz), datetime.combine(following, time(0), tz)


def recurring(rows: list[Mapping[str, Any]], at_least: int = RECURRING_FROM) -> list[dict[str, Any]]:
    """The review: complaints (``rows`` with category, root_cause, room_id, service_step, complaint_id)
    grouped by category × root cause × room × service step, the groups seen ``at_least`` times, the most
    frequent first."""
    groups: dict[tuple[Any, ...], list[str]] = {}
    for r in rows:
        key = (r["category"], r["root_cause"], r["room_id"], r["service_step"])
        groups.setdefault(key, []).append(str(r["complaint_id"]))
    found = [
        {
            "category": k[0],
            "root_cause": k[1],
            "room_id": k[2],
            "service_step": k[3],
            "count": len(ids),
            "complaint_ids": ids,
        }
        for k, ids in groups.items()
        if len(ids) >= at_least
    ]
    return sorted(found, key=lambda g: (-g["count"], *(str(g[k] or "") for k in ("category", "root_cause", "room_id"))))
