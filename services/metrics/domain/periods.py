"""Reporting periods and groupings: which days a query covers and how its groups are keyed."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Literal, get_args

from .projection import DIMS

TimeBucket = Literal["day", "week", "month", "quarter"]
TIME_BUCKETS: tuple[str, ...] = get_args(TimeBucket)
GROUP_BYS: tuple[str, ...] = (*TIME_BUCKETS, *DIMS)
PERIODS = ("today", "week", "month", "quarter")
MAX_RANGE_DAYS = 400


def parse_group_by(text: str | None) -> tuple[str, ...]:
    """``day`` (the default), one of :data:`GROUP_BYS`, or two of them: ``agent,category``, ``month,agent``
    (at most one time bucket). Raises ValueError."""
    parts = tuple(p.strip() for p in (text or "day").split(",") if p.strip())
    if not parts or len(parts) > 2 or any(p not in GROUP_BYS for p in parts):
        raise ValueError(f"group_by must be one or two (comma-separated) of {', '.join(GROUP_BYS)}")
    if len(set(parts)) != len(parts) or sum(p in TIME_BUCKETS for p in parts) > 1:
        raise ValueError("group_by takes two different groupings, at most one of them in time")
    return parts


def bucket_start(day: date, bucket: str) -> date:
    if bucket == "day":
        return day
    if bucket == "week":
        return day - timedelta(days=day.weekday())
    if bucket == "month":
        return day.replace(day=1)
    if bucket == "quarter":
        return day.replace(month=(day.month - 1) // 3 * 3 + 1, day=1)
    raise ValueError(bucket)


def bucket_label(start: date, bucket: str) -> str:
    """``2026-03-02`` (day), ``2026-W10`` (ISO week), ``2026-03`` (month), ``2026-Q1`` (quarter)."""
    if bucket == "day":
        return start.isoformat()
    if bucket == "week":
        year, week, _ = start.isocalendar()
        return f"{year}-W{week:02d}"
    if bucket == "month":
        return f"{start.year}-{start.month:02d}"
    return f"{start.year}-Q{(start.month - 1) // 3 + 1}"


def period_range(
    today: date, period: str | None = None, start: str | None = None, end: str | None = None
) -> tuple[date, date]:
    """The days [from, to] (both included) a KPI query covers, in the venue's calendar.

    ``from``/``to`` (ISO dates) name them (only ``from``: up to today; only ``to``: that day);
    ``period`` runs up to and including ``today``: ``today``, ``week`` (from Monday), ``month`` (from
    the 1st) or ``quarter`` (from its first day). Neither: today. Raises ValueError.
    """
    if period is not None and (start is not None or end is not None):
        raise ValueError("give either period or from/to, not both")
    if start is not None or end is not None:
        first, last = _date(start), _date(end)
        if first is None:
            first = last
        if last is None:
            last = max(today, first)  # type: ignore[type-var]
        assert first is not None
        return _checked(first, last)
    period = period or "today"
    if period == "today":
        return today, today
    if period in PERIODS:
        return bucket_start(today, period), today
    raise ValueError(f"period must be one of {', '.join(PERIODS)}")


def review_period(today: date, period: str | None, start: str | None) -> tuple[date, date]:
    """The whole calendar month or quarter containing ``from`` (default: today's) for the scorecard."""
    period = period or "month"
    if period not in ("month", "quarter"):
        raise ValueError("period must be month or quarter")
    day = _date(start) or today
    first = bucket_start(day, period)
    months = 1 if period == "month" else 3
    year, month = divmod(first.month - 1 + months, 12)
    return first, date(first.year + year, month + 1, 1) - timedelta(days=1)


def _date(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError("from and to must be dates, YYYY-MM-DD") from None


def _checked(first: date, last: date) -> tuple[date, date]:
    if last < first:
        raise ValueError("to must not be before from")
    if (last - first).days + 1 > MAX_RANGE_DAYS:
        raise ValueError(f"at most {MAX_RANGE_DAYS} days at a time")
    return first, last
