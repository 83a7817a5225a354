"""Booking details from free text (繁體中文, 简体中文, English): date, time, attendees, equipment.

Plain regular expressions over the NFKC form of the text (full-width digits and punctuation become
ASCII), no I/O, no third-party parser (``dateparser`` does not resolve 下週三 / 後天 / 三點半 and would
still need all the Chinese rules below). Relative dates are resolved against ``received_at`` in ``tz``.

How the text is read, in order; each step blanks what it used so a later step cannot reuse it:

1. noise is blanked: e-mail addresses, URLs, phone numbers (8+ digits), prices (「每人$200」, HK$1,000,
   200元, 300 dollars);
2. dates: ``2026-12-03`` / ``2026年12月3日``; 「12月3日」「十二月三號」(this year, or next year when already
   past; 明年 / 今年 prefixes honoured); 「本月/下個月 5號」; bare 「5號」 (not 「5號房」) or 「5日」 followed by a
   time of day; ``Dec 3`` / ``3 Dec`` / ``December 3rd, 2026``; ``12/3``; 今天 今日 今晚 明天 明日 聽日 明早
   明晚 後天 大後天, today tonight tomorrow "day after tomorrow"; weekdays (below);
3. times: 「下午2點至4點」「上午十点」「三點半」「3點15分」「三點一刻」「14:00-16:00」「9-11am」 "2pm to 4:30pm",
   "noon", 中午, "at 3", "3 in the afternoon", 「下午2-4」 / "morning 9-12" (bare numbers only right after a
   half-day); a range's missing half-day is taken from the other end (「下午2點至4點」 = 14–16,
   "9-11am" = 9–11, "11-1pm" = 11–13); a standalone 下午 / "afternoon" / 今晚 just before (or "in the
   afternoon" just after) a bare hour sets its half-day;
4. attendees: 「20人」「二十位」「十五个人」「約30人」「20-25人」(the upper bound: the room must hold them)
   「參會人數：50」, "8 people", "8 pax", "a team of 12", "headcount: 40", "twelve attendees";
5. a duration when no end was given: 「兩小時」「個半鐘」, "for 2 hours", "a 3-hour workshop",
   "for 90 minutes".

Decisions:

- Weekdays: 下週X / 下周X / 下星期X / 下禮拜X / 下個星期X / "next X" / "X next week" are X of next (Monday-based)
  week; 下下週X two weeks on; 這週X / 本周X / 今個星期X / "this X" are X of this week, or of next week when
  already past; bare 週X / 星期X / 禮拜X / "on X" / "X" / "coming X" are the next X strictly after today
  (today is written 今天 / today). 上週X, "last X", 昨天, yesterday are past.
- ``a/b`` without a year: month/day in Chinese text (12/3 = 12月3日) — that is how it is written in Hong
  Kong, Taiwan and the mainland. In English text it is month/day or day/month; when only one reading is a
  real date (25/12, 12/25) that one, when both readings are the same day (5/5) that day, otherwise
  (3/12: 3 Dec in Hong Kong, Mar 12 in the US) it is left unknown and "date" stays missing, so an agent
  asks rather than books the wrong month.
- A bare hour with no half-day anywhere near: 1–6 is afternoon (13:00–18:00), 7–12 as written,
  zero-padded or 13–23 as a 24-hour clock.
- Past events are not the booking: a date or time is ignored when its clause (up to , 。 ; ! ? or a line
  break) has a past marker before it (上次 上週 昨天 去年 曾經 開過, "last time", "last week", "yesterday",
  "we met", "was held", ...) with no turn marker between (這次 今次 但 想 希望, "this time", "but",
  "would like", "book", ...), or "yesterday" / "ago" / 昨天 shortly after it; also dates before today and
  today's times already gone at ``received_at``.
- Several candidates: explicit calendar dates beat relative ones (「週四(12月3日)」); each date is paired with
  each time and the closest pair in the text that is not already gone wins (「今晚有事。明天10點」 is tomorrow
  at 10; 「明天或後天下午3點」 is 後天); without a time, the first date; the first attendee count.
- Equipment is listed in the order of the ``Equipment`` literal; a mention after a negation in its clause
  (不需要 不用 唔使 無需 自備, "no", "don't need", "without", "bring our own") or followed by
  "not needed" / 不需要 is not asked for. 咪 (Cantonese for microphone) counts only as a noun
  (「兩支咪」「投影機同咪」), not in 「咪係」「咪住」.
- The end defaults to start + 1 hour; an end at or before the start is dropped (the default applies),
  except an evening start with a small-hours end, which ends the next day.

Not handled (left missing or ignored): recurrence (逢週一 "every Monday" gives the first one only),
"next week"/下週 without a day, 全天 / "all day", 晚上12點 / midnight, 十幾人 / "a dozen or so",
spelled-out English hours ("three pm"), lunar dates, dates further than five years off.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any, get_args
from zoneinfo import ZoneInfo

from shared.contract.common import Equipment, MeetingDetails

__all__ = ["Extraction", "extract_booking"]

_DEFAULT_LENGTH = timedelta(hours=1)
_MAX_ATTENDEES = 100_000
_YEARS_AHEAD = 5
_PAIRS = 40  # dates and times considered for pairing (a message names a handful)


@dataclass(frozen=True)
class Extraction:
    start: datetime | None = None
    end: datetime | None = None
    attendees: int | None = None
    equipment: list[str] = field(default_factory=list)
    room_id: None = None
    missing: list[str] = field(default_factory=list)  # subset of ["date", "time", "attendees"], in that order
    day: date | None = None  # the meeting's day (venue time), when known even without its time

    def draft(self, name: str) -> dict[str, Any]:
        """What was understood of an incomplete request, for the agent who completes it: the meeting
        fields known (BookingDetails' names, times in ISO 8601) and ``date``, the day when its time is not."""
        out: dict[str, Any] = {"name": name}
        if self.start is not None:
            out["start"] = self.start.isoformat()
        if self.end is not None:
            out["end"] = self.end.isoformat()
        if self.day is not None and self.start is None:
            out["date"] = self.day.isoformat()
        if self.attendees is not None:
            out["attendees"] = self.attendees
        out["equipment"] = list(self.equipment)
        return out

    def to_meeting(self, name: str) -> MeetingDetails | None:
        """The contract model when date, time and attendees are known, else None."""
        if self.missing or self.start is None or self.end is None or self.attendees is None:
            return None
        return MeetingDetails(
            name=name, start=self.start, end=self.end, attendees=self.attendees, equipment=list(self.equipment)
        )


# -- numbers ----------------------------------------------------------------------------------------

_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "兩": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7}
_CN_DIGITS |= {"八": 8, "九": 9}
_CN_TENS = {"廿": 20, "卅": 30}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}
_CN = "零〇一二兩两三四五六七八九十廿卅百千"
_NUM = rf"(?:[0-9]{{1,6}}|[{_CN}]{{1,8}})"


def _number(s: str) -> int | None:
    """123, 十五, 二十五, 一百二十, 一百二 (=120), 一百零五, 兩百, 廿五, 二〇二六; 三四十 (30-40) gives 40."""
    if not s:
        return None
    if s.isascii():
        return int(s) if s.isdigit() else None
    if any(c not in _CN for c in s):
        return None
    if all(c in _CN_DIGITS for c in s):
        return int("".join(str(_CN_DIGITS[c]) for c in s))
    total, digit, last_unit, zero = 0, None, 0, False
    for c in s:
        if c in _CN_DIGITS:
            value = _CN_DIGITS[c]
            if value == 0:
                zero, digit = True, None
            else:
                digit = value if digit is None else max(digit, value)
        elif c in _CN_TENS:
            if digit is not None or (last_unit and last_unit <= 10):
                return None
            total, last_unit, zero = total + _CN_TENS[c], 10, False
        else:
            unit = _CN_UNITS[c]
            if last_unit and unit >= last_unit:
                return None
            total += (1 if digit is None else digit) * unit
            digit, last_unit, zero = None, unit, False
    if digit is not None:
        total += digit * (last_unit // 10) if last_unit >= 100 and not zero else digit
    return total


_EN_ONES = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen".split()
_EN_ONES += "sixteen seventeen eighteen nineteen".split()
_EN_TENS = "twenty thirty forty fifty sixty seventy eighty ninety".split()
_EN_WORDS = {w: i + 1 for i, w in enumerate(_EN_ONES)} | {w: 20 + 10 * i for i, w in enumerate(_EN_TENS)}
_EN_NUM = rf"(?:{'|'.join(_EN_TENS)})(?:[- ](?:{'|'.join(_EN_ONES[:9])}))?|{'|'.join(sorted(_EN_ONES, key=len)[::-1])}"
_EN_NUM += "|a dozen|a hundred|one hundred"


def _en_number(s: str) -> int | None:
    s = s.strip()
    if s.isdigit():
        return int(s)
    if s == "a dozen":
        return 12
    if s in ("a hundred", "one hundred"):
        return 100
    parts = re.split(r"[- ]", s)
    if not all(p in _EN_WORDS for p in parts):
        return None
    return sum(_EN_WORDS[p] for p in parts)


# -- text preparation -------------------------------------------------------------------------------

_NOISE = "\x00"  # blanks noise: a number next to it is never a count or a time
_USED = "\x01"  # blanks what a step used (not white space, so no pattern runs over long blanks)
_SPACES = re.compile(r"\s+")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_EMAIL_URL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+|(?:https?://|www\.)\S+", re.ASCII)
_PHONE = re.compile(r"(?<![0-9])\+?[0-9](?:[0-9]|[ \-](?=[0-9])){6,18}[0-9](?![0-9:])")
_DATE_SHAPED = re.compile(r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}")
_CURRENCY = r"hk\$|us\$|nt\$|rmb|cny|hkd|usd|ntd|twd|\$|¥|€|£"
_MONEY_UNITS = (
    r"元|圓|圆|蚊|塊|块|港幣|港币|港元|人民幣|人民币|台幣|台币|新台幣|美元|dollars?|bucks|hkd|rmb|usd|ntd|yuan"
)
_AMOUNT = r"(?<![0-9,.])(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]+)?"
_PRICE = re.compile(
    rf"(?:{_CURRENCY})\s*{_AMOUNT}(?:\s*(?:k|{_MONEY_UNITS}))?"
    rf"|{_AMOUNT}\s*(?:{_MONEY_UNITS})"
    rf"|(?<![{_CN}])[{_CN}]{{1,8}}\s*(?:元|蚊|塊|块|港幣|港元|人民幣|人民币|美元)"
)
# Clause ends; "." only as a full stop (not in 10.30, p.m. is harmless).
_CLAUSE_END = re.compile(r"[,，。;；!！?？\n]|\.(?=\s|$)")
_SENTENCE_END = re.compile(r"[。;；!！?？\n]|\.(?=\s|$)")


def _prepare(text: str) -> tuple[str, str]:
    """(nfkc, lowered) of equal length, lowered with only length-preserving case mappings; a run of
    white space becomes one space (or one line break), so no pattern meets long runs of it."""
    nfkc = _SPACES.sub(lambda m: "\n" if "\n" in m[0] else " ", unicodedata.normalize("NFKC", text))
    lowered = "".join(c.lower() if len(c.lower()) == 1 else c for c in nfkc)
    return nfkc, lowered


class _Buffer:
    """The lowered text with the parts already used blanked out (same length, same positions)."""

    def __init__(self, text: str) -> None:
        self._chars = list(text)
        self._text: str | None = text

    @property
    def text(self) -> str:
        if self._text is None:
            self._text = "".join(self._chars)
        return self._text

    def blank(self, start: int, end: int, ch: str = _USED) -> None:
        self._chars[start:end] = ch * (end - start)
        self._text = None


@lru_cache(maxsize=4)
def _clause_marks(text: str) -> tuple[list[int], list[int]]:
    marks = list(_CLAUSE_END.finditer(text))
    return [m.start() for m in marks], [m.end() for m in marks]


def _clause_bounds(text: str, pos: int) -> tuple[int, int]:
    """Start and end of the clause around ``pos``."""
    starts, ends = _clause_marks(text)
    i, j = bisect_right(ends, pos), bisect_left(starts, pos)
    return (ends[i - 1] if i else 0), (starts[j] if j < len(starts) else len(text))


# -- past events ------------------------------------------------------------------------------------

_WEEKDAYS_EN = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_UP = r"(?<![早晚馬马樓楼線线以路網网])上"  # 上週 is last week; 早上週三 is not
_PAST_BEFORE = re.compile(
    rf"{_UP}(?:次|一次|回|一回|個月|个月|月|週|周|星期|禮拜|礼拜|個星期|个星期|個禮拜|个礼拜)"
    r"|昨天|昨日|琴日|尋日|寻日|前天|前日|去年|曾經|曾经|開過|开过|舉行過|举行过|辦過|办过|那次|當時|当时"
    r"|(?<![a-z])(?:yesterday|ago|previously|previous|last (?:week|month|year|time|meeting|event|"
    rf"{'|'.join(_WEEKDAYS_EN)})|we met|was held|were held|took place|happened|we had|we used)(?![a-z])"
)
_PAST_AFTER = re.compile(
    rf"{_UP}(?:週|周|星期|禮拜|礼拜|個月|个月)|昨天|昨日|前天|去年"
    r"|(?<![a-z])(?:yesterday|ago|last (?:week|month|year))(?![a-z])"
)
_TURN = re.compile(
    r"這次|这次|今次|今回|這回|这回|下次|但是|但|不過|不过|可是|想|希望|請|请|預訂|预订|預約|预约|再訂|再订"
    r"|(?<![a-z])(?:this time|but|however|now|instead|would like|we'd like|i'd like|want|wish|could we|can we|"
    r"please|book|reserve|next time)(?![a-z])"
)


def _is_past(text: str, start: int, end: int) -> bool:
    """Whether the mention at text[start:end] is about something that already happened."""
    c_start, c_end = _clause_bounds(text, start)
    before = text[max(c_start, start - 60) : start]
    turns = list(_TURN.finditer(before))
    if turns:
        before = before[turns[-1].end() :]
    if _PAST_BEFORE.search(before):
        return True
    after = text[end : min(c_end, end + 20)]
    turn = _TURN.search(after)
    if turn:
        after = after[: turn.start()]
    return bool(_PAST_AFTER.search(after))


# -- dates ------------------------------------------------------------------------------------------


@dataclass
class _DateMention:
    start: int
    end: int
    day: date | None  # None: not a usable date (ambiguous, or in the past by its own words)
    absolute: bool
    past: bool = False
    period: str | None = None  # 今晚 / tonight / tomorrow morning


_MONTHS_EN = {
    "jan": 1, "january": 1, "feb": 2, "february": 2, "mar": 3, "march": 3, "apr": 4, "april": 4, "may": 5,
    "jun": 6, "june": 6, "jul": 7, "july": 7, "aug": 8, "august": 8, "sep": 9, "sept": 9, "september": 9,
    "oct": 10, "october": 10, "nov": 11, "november": 11, "dec": 12, "december": 12,
}  # fmt: skip
_MONTH_EN = "|".join(sorted(_MONTHS_EN, key=len, reverse=True))
_ORD = r"(?:st|nd|rd|th)?"
_DAY_SUFFIX = r"(?:日|號|号)"
_NOT_A_DAY_AFTER = r"(?![0-9]|\s*(?:人|位|個|个|名|號|号|房|室|樓|楼|天|日|周|週|年))"

_ISO = re.compile(
    r"(?<![0-9])(?P<y>[0-9]{4})\s*(?:-|/|\.|年)\s*(?P<m>[0-9]{1,2})\s*(?:-|/|\.|月)\s*(?P<d>[0-9]{1,2})"
    rf"(?:\s*{_DAY_SUFFIX})?(?![0-9])"
)
_ZH_MONTH_DAY = re.compile(
    rf"(?:(?P<y>[0-9]{{4}}|[〇零一二三四五六七八九]{{4}})\s*年\s*|(?P<ry>明年|今年|下年|出年|來年|来年))?"
    rf"(?P<m>[0-9]{{1,2}}|[{_CN}]{{1,3}})\s*月\s*(?P<d>[0-9]{{1,2}}|[{_CN}]{{1,3}})"
    rf"(?:\s*{_DAY_SUFFIX}|{_NOT_A_DAY_AFTER})"
)
_ZH_MONTH_REL = re.compile(
    r"(?P<rel>本月|今個月|今个月|這個月|这个月|今月|下個月|下个月|下月)\s*"
    rf"(?P<d>[0-9]{{1,2}}|[{_CN}]{{1,3}})\s*{_DAY_SUFFIX}"
)
_PERIOD_ZH = "凌晨|清晨|早上|早晨|朝早|上午|中午|午間|午间|下午|晏晝|晏昼|傍晚|黃昏|黄昏|晚上|夜晚|夜間|夜间|晚間|晚间"
_ZH_BARE_DAY = re.compile(
    rf"(?<![0-9第月道路街里巷{_CN}])(?P<d>[0-9]{{1,2}}|[{_CN}]{{1,3}})\s*"
    r"(?:(?:號|号)(?!\s*(?:房|室|會議室|会议室|廳|厅|樓|楼|館|馆|門|门|線|线|機|机|場|场|桌|台|位|座|車|车|巴士|碼頭|码头|閘|闸))"
    rf"|日(?=\s*(?:{_PERIOD_ZH}|\(|（|週|周|星期|禮拜|礼拜|[0-9]|[{_CN}]+\s*[點点時时])))"
)
_SLASH = re.compile(r"(?<![0-9/.])(?P<a>[0-9]{1,2})/(?P<b>[0-9]{1,2})(?:/(?P<y>[0-9]{4}|[0-9]{2}))?(?![0-9/])")
_EN_DATE = re.compile(
    rf"(?<![a-z0-9])(?:(?P<d1>[0-9]{{1,2}}){_ORD}\s*(?:of\s+)?(?P<m1>{_MONTH_EN})\.?"
    rf"|(?P<m2>{_MONTH_EN})\.?\s*(?:the\s+)?(?P<d2>[0-9]{{1,2}}){_ORD})(?![a-z0-9])"
    r"(?:,?\s*(?P<y>[0-9]{4})(?![0-9]))?"
)
_ZH_RELATIVE = {
    "大後天": (3, None), "大后天": (3, None), "後天": (2, None), "后天": (2, None), "明天": (1, None),
    "明日": (1, None), "聽日": (1, None), "听日": (1, None), "明早": (1, "am"), "明朝": (1, "am"),
    "明晚": (1, "pm"), "今天": (0, None), "今日": (0, None), "今晚": (0, "pm"), "今早": (0, "am"),
    "今朝": (0, "am"), "大前天": (-3, None), "前天": (-2, None), "前日": (-2, None), "昨天": (-1, None),
    "昨日": (-1, None), "琴日": (-1, None), "尋日": (-1, None), "寻日": (-1, None),
}  # fmt: skip
_ZH_REL = re.compile("|".join(sorted(_ZH_RELATIVE, key=len, reverse=True)))
_EN_REL = re.compile(
    r"(?<![a-z])(?P<rel>(?:the\s+)?day\s+after\s+tomorrow|tomorrow|tmrw|tmr|today|tonight|yesterday"
    r"|this\s+(?:morning|afternoon|evening))(?![a-z])"
    r"(?:\s+(?:morning|afternoon|evening|night)(?![a-z]))?"
)
_ZH_WEEKDAY_NUM = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6}
_ZH_WEEKDAY_NUM |= {str(i + 1): i for i in range(6)}
_ZH_WEEKDAY = re.compile(
    r"(?P<pre>下下個|下下个|下下|下個|下个|下|這個|这个|這|这|今個|今个|本|"
    rf"{_UP}個|{_UP}个|{_UP})?\s*(?:星期|週|周|禮拜|礼拜)(?P<d>[一二三四五六日天1-6])(?![次遍回])"
)
_EN_WD_FULL = "|".join(_WEEKDAYS_EN)
_EN_WD_ABBR = "mon|tues|tue|wed|thurs|thur|thu|fri|sat|sun"
_EN_WEEKDAY = re.compile(
    rf"(?<![a-z])(?:next\s+week(?:'s|,)?\s+(?:on\s+)?(?P<nw>{_EN_WD_FULL}|{_EN_WD_ABBR})"
    rf"|(?:(?P<pre>next|this\s+coming|this|coming|upcoming|last|on)\s+)?(?P<wd>{_EN_WD_FULL}|{_EN_WD_ABBR})\.?"
    r"(?:,?\s+(?:of\s+)?(?P<post>next\s+week|this\s+week|the\s+week\s+after\s+next))?)(?![a-z])"
)


_ABBR_CONTEXT = re.compile(r"\s?(?:,\s?)?(?:[0-9]|\(|-|(?:at|from|morning|afternoon|evening|noon)(?![a-z]))")


def _weekday_en(name: str) -> int:
    return next(i for i, full in enumerate(_WEEKDAYS_EN) if full.startswith(name[:3]))


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _add_days(d: date, n: int) -> date | None:
    try:
        return d + timedelta(days=n)
    except OverflowError:
        return None


def _upcoming(today: date, month: int, day: int) -> date | None:
    """Month/day this year, or next year when it has passed (2月29日 only in a leap year)."""
    for year in (today.year, today.year + 1):
        d = _safe_date(year, month, day) if year <= 9999 else None
        if d is not None and d >= today:
            return d
    return None


def _explicit(today: date, year: int, month: int, day: int) -> date | None:
    if abs(year - today.year) > _YEARS_AHEAD:
        return None
    return _safe_date(year, month, day)


def _next_weekday(today: date, weekday: int, pre: str) -> tuple[date | None, bool]:
    """(date, past) for a weekday with its qualifier: next / next-next / this / last / bare."""
    monday = _add_days(today, -today.weekday())
    if monday is None:
        return None, False
    if pre == "last":
        return _add_days(monday, weekday - 7), True
    if pre in ("next", "next2"):
        return _add_days(monday, weekday + (7 if pre == "next" else 14)), False
    if pre == "this":
        d = _add_days(monday, weekday)
        return (d if d is None or d >= today else _add_days(d, 7)), False
    ahead = (weekday - today.weekday()) % 7 or 7
    return _add_days(today, ahead), False


def _zh_week_qualifier(pre: str) -> str:
    pre = pre.rstrip("個个")
    if pre == "下下":
        return "next2"
    if pre == "下":
        return "next"
    if pre in ("這", "这", "今", "本"):
        return "this"
    if pre == "上":
        return "last"
    return ""


def _find_dates(buf: _Buffer, nfkc: str, today: date, zh: bool) -> list[_DateMention]:
    found: list[_DateMention] = []

    def take(m: re.Match[str], day: date | None, absolute: bool, past: bool = False, period: str | None = None):
        found.append(_DateMention(m.start(), m.end(), day, absolute, past, period))
        buf.blank(m.start(), m.end())

    text = buf.text
    for m in _ISO.finditer(text):
        take(m, _explicit(today, int(m["y"]), int(m["m"]), int(m["d"])), True)
    text = buf.text
    for m in _ZH_MONTH_DAY.finditer(text):
        month, day = _number(m["m"]), _number(m["d"])
        if month is None or day is None or not 1 <= month <= 12:
            continue
        if m["y"]:
            year = _number(m["y"])
            take(m, None if year is None else _explicit(today, year, month, day), True)
        elif m["ry"] == "今年":
            take(m, _safe_date(today.year, month, day), True)
        elif m["ry"]:
            take(m, _safe_date(today.year + 1, month, day) if today.year < 9999 else None, True)
        else:
            take(m, _upcoming(today, month, day), True)
    text = buf.text
    for m in _ZH_MONTH_REL.finditer(text):
        day_n = _number(m["d"])
        if day_n is None:
            continue
        year, month = today.year, today.month
        if m["rel"].startswith("下"):
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        take(m, _safe_date(year, month, day_n) if year <= 9999 else None, True)
    text = buf.text
    for m in _EN_DATE.finditer(text):
        month = _MONTHS_EN[m["m1"] or m["m2"]]
        day_n = int(m["d1"] or m["d2"])
        if m["y"]:
            take(m, _explicit(today, int(m["y"]), month, day_n), True)
        else:
            take(m, _upcoming(today, month, day_n), True)
    text = buf.text
    for m in _SLASH.finditer(text):
        take(m, _slash_date(today, int(m["a"]), int(m["b"]), m["y"], zh), True)
    text = buf.text
    for m in _ZH_BARE_DAY.finditer(text):
        day_n = _number(m["d"])
        if day_n is None or not 1 <= day_n <= 31:
            continue
        d = _safe_date(today.year, today.month, day_n)
        if d is None or d < today:
            year, month = (today.year + 1, 1) if today.month == 12 else (today.year, today.month + 1)
            d = _safe_date(year, month, day_n) if year <= 9999 else None
        take(m, d, True)
    text = buf.text
    for m in _ZH_REL.finditer(text):
        offset, period = _ZH_RELATIVE[m[0]]
        take(m, _add_days(today, offset), False, offset < 0, period)
    text = buf.text
    for m in _EN_REL.finditer(text):
        rel = m["rel"]
        offset = 2 if "after" in rel else 1 if rel.startswith("tom") or rel.startswith("tm") else 0
        offset = -1 if rel == "yesterday" else offset
        period = "am" if "morning" in m[0] else "pm" if re.search("afternoon|evening|night", m[0]) else None
        take(m, _add_days(today, offset), False, offset < 0, period)
    text = buf.text
    for m in _ZH_WEEKDAY.finditer(text):
        qualifier = _zh_week_qualifier(m["pre"] or "")
        day, past = _next_weekday(today, _ZH_WEEKDAY_NUM[m["d"]], qualifier)
        take(m, day, False, past)
    text = buf.text
    for m in _EN_WEEKDAY.finditer(text):
        name = m["nw"] or m["wd"]
        pre = (m["pre"] or "").split()[-1] if m["pre"] else ""
        if name in _EN_WD_ABBR.split("|") and not (pre or m["nw"] or _ABBR_CONTEXT.match(text, m.end())):
            continue  # "we sat", "the sun"; "Sat 3pm", "Wed, 10am" are days
        if m["nw"]:
            qualifier = "next"
        elif m["post"]:
            qualifier = "this" if "this" in m["post"] else "next2" if "after" in m["post"] else "next"
        else:
            qualifier = {"next": "next", "this": "this", "last": "last"}.get(pre, "")
            if m["pre"] and m["pre"].startswith("this") and "coming" in m["pre"]:
                qualifier = "this"
        day, past = _next_weekday(today, _weekday_en(name), qualifier)
        take(m, day, False, past)
    return sorted(found, key=lambda d: d.start)


def _slash_date(today: date, a: int, b: int, year_text: str | None, zh: bool) -> date | None:
    year = None
    if year_text:
        year = int(year_text) + (2000 if len(year_text) == 2 else 0)

    def resolve(month: int, day: int) -> date | None:
        if not (1 <= month <= 12 and 1 <= day <= 31):
            return None
        return _explicit(today, year, month, day) if year is not None else _upcoming(today, month, day)

    if zh:
        return resolve(a, b)
    month_day, day_month = resolve(a, b), resolve(b, a)
    if month_day is None or day_month is None or month_day == day_month:
        return month_day or day_month
    return None  # 3/12: ask


# -- times ------------------------------------------------------------------------------------------

_HOUR = r"(?:[0-9]{1,2}|[零〇一二兩两三四五六七八九十廿]{1,3})"
_MINUTE = r"(?:[0-9]{1,2}|[零〇一二三四五六七八九十]{1,3})"
_NOT_A_TIME_AFTER = r"(?!意見|意见|建議|建议|要求|問題|问题|原因|注意|看法|說明|说明|理由)"


def _atom(p: str, *, bare: bool) -> str:
    """One time of day, its named groups prefixed with ``p``; ``bare`` also accepts a lone number."""
    period = rf"(?:(?P<{p}per>{_PERIOD_ZH})\s*)?"
    hour = rf"(?<![0-9.:/$\x00])(?P<{p}h>{_HOUR})"
    zh = (
        rf"\s*(?P<{p}u>點鐘|点钟|點|点|時|时){_NOT_A_TIME_AFTER}"
        rf"(?:\s*(?:(?P<{p}half>半)|(?P<{p}q>[一三]刻)"
        rf"|(?P<{p}m>{_MINUTE})\s*(?:分(?![鐘钟]))?(?![0-9人位個个名分])))?"
    )
    colon = rf"\s*:\s*(?P<{p}cm>[0-5][0-9])(?![0-9])"
    dot = rf"\.(?P<{p}dm>[0-5][0-9])(?=\s*[ap]\.?m)"
    ampm = rf"\s*(?:(?P<{p}ap>[ap])\.?m(?![a-z])\.?|(?P<{p}noon>noon)(?![a-z])|o'?clock(?![a-z]))"
    marked = "" if bare else r"(?=\s*(?:點|点|時|时|:|\.[0-5][0-9]\s*[ap]|[ap]\.?m(?![a-z])|noon|o'?clock))"
    body = f"{hour}{marked}(?:{zh}|(?:{colon}|{dot})?(?:{ampm})?)"
    noon = rf"(?P<{p}nw>(?<![a-z])(?:noon|midday)(?![a-z])|中午(?!\s*{_HOUR}))"
    return rf"(?:{period}{body}(?![0-9])|{noon})"


_RANGE = re.compile(
    rf"(?P<between>between\s+)?{_atom('a', bare=True)}\s*(?P<sep>-|–|—|~|〜|至|到|to|until|till|and)\s*"
    rf"{_atom('b', bare=False)}"
)
_SINGLE = re.compile(_atom("s", bare=False))
# 「下午2-4」, "morning 9-12": two bare numbers read as hours only right after a half-day.
_HALF_DAY_RANGE = re.compile(
    rf"(?P<word>{_PERIOD_ZH}|(?<![a-z])(?:morning|afternoon|evening))\s?(?:,\s?)?(?:from\s)?"
    rf"(?<![0-9.:/$\x00])(?P<a>{_HOUR})\s?(?:-|–|~|〜|至|到|to(?![a-z]))\s?(?P<b>{_HOUR})"
    r"(?![0-9]|\s?(?:人|位|個|个|名|號|号|日|月|people|persons|pax|guests|attendees|ppl))"
)
_AT_HOUR = re.compile(
    r"(?<![a-z])(?:at|@)\s*(?P<h>[0-9]{1,2})(?![0-9:.%/])"
    r"(?!\s*(?:people|persons|pax|attendees|guests|floor|/f|st|nd|rd|th|[a-z]*\s*(?:road|street|rd|st)\b))"
)
_IN_THE = re.compile(r"(?<![0-9.:/$\x00])(?P<h>1[0-2]|[1-9])\s+in\s+the\s+(?:morning|afternoon|evening)(?![a-z])")
_PERIOD_WORDS = re.compile(
    rf"{_PERIOD_ZH}|(?<![a-z])(?:in\s+the\s+)?(?:morning|afternoon|evening|tonight|night)(?![a-z])"
)
_PERIOD_OF = {
    "凌晨": "early", "清晨": "am", "早上": "am", "早晨": "am", "朝早": "am", "上午": "am", "中午": "noon",
    "午間": "noon", "午间": "noon", "下午": "pm", "晏晝": "pm", "晏昼": "pm", "傍晚": "pm", "黃昏": "pm",
    "黄昏": "pm", "晚上": "evening", "夜晚": "evening", "夜間": "evening", "夜间": "evening", "晚間": "evening",
    "晚间": "evening", "morning": "am", "afternoon": "pm", "evening": "evening", "tonight": "evening",
    "night": "evening",
}  # fmt: skip
_A_BIT = re.compile(r"[早晚大小多少快慢好高低近遠远長长短寬宽貴贵便再清差]")


@dataclass
class _Clock:
    hour: int
    minute: int
    period: str | None  # am, pm, noon, evening, early
    english: bool  # "12am" is midnight only in English
    h24: bool  # 09:00, 14:00

    def resolve(self, period: str | None = None) -> int | None:
        """Minutes after midnight, or None when not a time of day."""
        period = self.period or period
        h = self.hour
        if h > 23 or self.minute > 59:
            return None
        if h >= 13 or (self.h24 and period is None):
            return None if period in ("am", "early") and h >= 13 else h * 60 + self.minute
        if period == "am":
            h = 0 if h == 12 and self.english else h
        elif period == "pm":
            h = h + 12 if h < 12 else h
        elif period == "evening":
            if h in (0, 12):
                return None  # 晚上12點: midnight, not handled
            h += 12
        elif period == "noon":
            h = h + 12 if 1 <= h <= 5 else h
        elif period == "early":
            if h > 6:
                return None
        elif 1 <= h <= 6:
            h += 12
        return h * 60 + self.minute


@dataclass
class _TimeMention:
    start: int
    end: int
    first: _Clock
    second: _Clock | None
    begin: int | None = None  # minutes after midnight
    finish: int | None = None
    overnight: bool = False
    past: bool = False


def _clock(m: re.Match[str], p: str) -> _Clock | None:
    if m[f"{p}nw"]:
        return _Clock(12, 0, "noon", False, False)
    hour_text = m[f"{p}h"]
    hour = _number(hour_text) if hour_text else None
    if hour is None:
        return None
    minute = 0
    if m[f"{p}half"]:
        minute = 30
    elif m[f"{p}q"]:
        minute = 15 if m[f"{p}q"].startswith("一") else 45
    elif m[f"{p}m"] or m[f"{p}cm"] or m[f"{p}dm"]:
        minute_n = _number(m[f"{p}m"] or m[f"{p}cm"] or m[f"{p}dm"])
        if minute_n is None:
            return None
        minute = minute_n
    period = _PERIOD_OF.get(m[f"{p}per"] or "")
    english = False
    if m[f"{p}ap"]:
        if hour == 0 or hour > 12:
            return None
        period, english = ("am" if m[f"{p}ap"] == "a" else "pm"), True
    elif m[f"{p}noon"]:
        if hour != 12:
            return None
        period = "noon"
    h24 = bool(m[f"{p}cm"]) and (hour_text.startswith("0") or hour >= 13)
    return _Clock(hour, minute, period, english, h24)


def _find_times(buf: _Buffer) -> list[_TimeMention]:
    found: list[_TimeMention] = []
    text = buf.text
    for m in _RANGE.finditer(text):
        if m["sep"] == "and" and not m["between"]:
            continue
        first, second = _clock(m, "a"), _clock(m, "b")
        if first is None or second is None or _a_bit(text, m, "a"):
            continue
        start = m.end("between") if m["between"] else m.start()
        found.append(_TimeMention(start, m.end(), first, second))
        buf.blank(m.start(), m.end())
    text = buf.text
    for m in _SINGLE.finditer(text):
        clock = _clock(m, "s")
        if clock is None or _a_bit(text, m, "s"):
            continue
        found.append(_TimeMention(m.start(), m.end(), clock, None))
        buf.blank(m.start(), m.end())
    text = buf.text
    for m in _HALF_DAY_RANGE.finditer(text):
        hours = _number(m["a"]), _number(m["b"])
        if hours[0] is None or hours[1] is None:
            continue
        period = _PERIOD_OF[m["word"]]
        first, second = _Clock(hours[0], 0, period, False, False), _Clock(hours[1], 0, None, False, False)
        found.append(_TimeMention(m.start("a"), m.end(), first, second))
        buf.blank(m.start("a"), m.end())
    text = buf.text
    for m in _IN_THE.finditer(text):  # "3 in the afternoon": the half-day is read later, from the words
        found.append(_TimeMention(m.start(), m.end("h"), _Clock(int(m["h"]), 0, None, False, False), None))
        buf.blank(m.start(), m.end("h"))
    text = buf.text
    for m in _AT_HOUR.finditer(text):
        hour = int(m["h"])
        if 1 <= hour <= 12:
            found.append(_TimeMention(m.start("h"), m.end(), _Clock(hour, 0, None, False, False), None))
            buf.blank(m.start(), m.end())
    return sorted(found, key=lambda t: t.start)


def _a_bit(text: str, m: re.Match[str], p: str) -> bool:
    """一點 in 早一點 / 大一點 / 一點的 is "a bit", not one o'clock."""
    if m[f"{p}h"] != "一" or not m[f"{p}u"] or m[f"{p}per"]:
        return False
    before, after = text[max(0, m.start(f"{p}h") - 1) : m.start(f"{p}h")], text[m.end(f"{p}u") : m.end(f"{p}u") + 1]
    return bool(_A_BIT.search(before)) or after in ("的", "兒", "儿")


def _resolve_times(mention: _TimeMention, period_hint: str | None) -> None:
    first, second = mention.first, mention.second
    if second is None:
        mention.begin = first.resolve(period_hint)
        return
    p1, p2 = first.period, second.period
    if p1 is None and p2 is not None:
        begin, finish = first.resolve(p2), second.resolve()
        if begin is not None and finish is not None and begin >= finish and p2 in ("pm", "evening", "noon"):
            begin = first.resolve("am")
    elif p1 is not None and p2 is None:
        begin, finish = first.resolve(), second.resolve(p1)
        if begin is not None and finish is not None and finish <= begin and second.hour < 12 and not second.h24:
            finish = second.resolve("pm")
    else:
        begin = first.resolve(period_hint)
        finish = second.resolve(period_hint if p2 is None else None)
        if (
            p2 is None
            and begin is not None
            and finish is not None
            and finish <= begin
            and second.hour < 12
            and not second.h24
        ):
            finish = (second.hour + 12) * 60 + second.minute
    if begin is not None and finish is not None and finish <= begin:
        if begin >= 18 * 60 and finish <= 6 * 60:
            mention.overnight = True
        else:
            finish = None
    mention.begin, mention.finish = begin, finish


def _period_hint(text: str, mention: _TimeMention, words: list[tuple[int, int, str]]) -> str | None:
    """The half-day of a standalone 下午 / "afternoon" / 今晚 just before in the same sentence, or of
    "in the afternoon" just after (``words`` sorted, not overlapping)."""
    i = bisect_left(words, (mention.start,))
    if (
        i
        and 0 <= mention.start - words[i - 1][1] <= 12
        and not _SENTENCE_END.search(text, words[i - 1][1], mention.start)
    ):
        return words[i - 1][2]
    j = bisect_left(words, (mention.end,))
    if j < len(words) and words[j][0] - mention.end <= 3:
        return words[j][2]
    return None


# -- durations --------------------------------------------------------------------------------------

_HOURS_ZH = r"(?:小時|小时|鐘頭|钟头|鐘|钟)(?![頭头])"
_DURATION = re.compile(
    rf"(?P<zh>(?:(?P<zn>{_NUM})\s?(?:個|个)?|(?P<zge>個|个))(?P<zhalf>半)?\s?{_HOURS_ZH}"
    rf"|(?P<zho>半)\s?(?:個|个)?\s?{_HOURS_ZH})"
    r"|(?<![a-z])(?:for|lasting|about|around|approx\.?|approximately)\s+(?:(?P<half_an>half\s+an)|"
    r"(?P<en>[0-9]+(?:\.[0-9]+)?|an?|one|two|three|four|five|six|seven|eight))"
    r"\s*(?P<eu>hours?|hrs?|minutes?|mins?)(?![a-z])(?P<and_half>\s+and\s+a\s+half)?"
    r"|(?<![a-z0-9.])(?P<adj>[0-9]+(?:\.[0-9]+)?|one|two|three|four|five|six|seven|eight)[- ](?:hour|hr)"
    r"\s+(?:meeting|session|workshop|event|seminar|training|conference|booking|slot)(?![a-z])"
)


def _duration(m: re.Match[str]) -> timedelta | None:
    if m["zh"]:
        n = 0 if m["zho"] else 1 if m["zge"] else _number(m["zn"])  # 半小時; 個半鐘 (an hour and a half)
        if n is None:
            return None
        hours, unit_minutes = n + (0.5 if m["zhalf"] or m["zho"] else 0), 60
    elif m["adj"]:
        hours, unit_minutes = _en_amount(m["adj"]), 60
    else:
        hours = 0.5 if m["half_an"] else _en_amount(m["en"])
        if hours is not None and m["and_half"]:
            hours += 0.5
        unit_minutes = 60 if m["eu"].startswith("h") else 1
    if hours is None or hours <= 0:
        return None
    length = timedelta(minutes=hours * unit_minutes)
    return length if timedelta(minutes=15) <= length <= timedelta(hours=16) else None


def _en_amount(s: str) -> float | None:
    if s in ("a", "an"):
        return 1
    if re.fullmatch(r"[0-9]+(?:\.[0-9]+)?", s):
        return float(s)
    return _en_number(s)


# -- attendees --------------------------------------------------------------------------------------

_ABOUT_ZH = r"(?:約|约|大約|大约|大概|差不多|將近|将近|最多|最少|至少|共|一共|總共|总共)"
_ATTENDEES_ZH = re.compile(
    rf"(?<![0-9.\x00/每第$])(?:{_ABOUT_ZH}\s*)?(?P<n>{_NUM})(?:\s*(?:至|到|-|–|~)\s*(?P<n2>{_NUM}))?"
    r"\s*(?:多|餘|余|來|来)?\s*(?:個|个|位)?\s*(?:人|位|名)(?![民次工])"
)
_ATTENDEES_LABEL = re.compile(
    r"(?:參會|参会|出席|參加|参加|與會|与会|到會|到会|預計|预计|會議|会议)?(?:人數|人数)"
    rf"\s*(?:[:=為为是約约]|大約|大约|大概|預計|预计)*\s*(?P<n>{_NUM})(?:\s*(?:至|到|-|~)\s*(?P<n2>{_NUM}))?"
)
_PEOPLE_EN = (
    r"people|persons|person|pax|attendees|participants|guests|delegates|ppl|heads|members|colleagues|"
    r"staff|visitors|students|pp"
)
_ATTENDEES_EN = re.compile(
    rf"(?<![a-z0-9.\x00$/#])(?P<n>[0-9]{{1,6}}|{_EN_NUM})(?:\s*(?:-|–|to)\s*(?P<n2>[0-9]{{1,6}}|{_EN_NUM}))?"
    rf"\+?\s*(?:(?:more|other|total)\s+)?(?:{_PEOPLE_EN})(?![a-z])"
    rf"|(?<![a-z])(?:team|group|party|class|delegation|panel|gathering)\s+of\s+"
    rf"(?:about\s+|around\s+|approximately\s+|approx\.?\s+|up\s+to\s+|roughly\s+)?(?P<tn>[0-9]{{1,6}}|{_EN_NUM})(?![a-z0-9])"
    rf"|(?<![a-z])(?:headcount|head\s+count|attendance|number\s+of\s+(?:people|attendees|participants|guests|pax)|"
    rf"no\.?\s+of\s+(?:people|attendees|participants|guests|pax)|attendees|participants|pax)\s*"
    rf"(?:[:=~]|is|will\s+be|of|about|around|approx\.?|approximately|roughly)*\s*(?P<ln>[0-9]{{1,6}})(?![0-9])"
    rf"|(?<![a-z0-9])(?P<un>[0-9]{{1,6}}|{_EN_NUM})\s+of\s+us(?![a-z])"
)


@dataclass
class _Count:
    start: int
    end: int
    value: int


def _find_attendees(buf: _Buffer) -> list[_Count]:
    found: list[_Count] = []
    for pattern in (_ATTENDEES_LABEL, _ATTENDEES_ZH):
        for m in pattern.finditer(buf.text):
            value = _number(m["n2"] or m["n"])
            if m["n"] == "一" and not m["n2"]:
                continue  # 一個人 / 一人: "alone", rarely a meeting size
            if value is not None and 1 <= value <= _MAX_ATTENDEES:
                found.append(_Count(m.start(), m.end(), value))
                buf.blank(m.start(), m.end())
    text = buf.text
    for m in _ATTENDEES_EN.finditer(text):
        value = _en_number(m["n2"] or m["n"] or m["tn"] or m["ln"] or m["un"])
        if value is not None and 1 <= value <= _MAX_ATTENDEES:
            found.append(_Count(m.start(), m.end(), value))
            buf.blank(m.start(), m.end())
    return sorted(found, key=lambda c: c.start)


# -- equipment --------------------------------------------------------------------------------------

_EQUIPMENT_ORDER: tuple[str, ...] = get_args(Equipment)
_EQUIPMENT_TERMS: dict[str, tuple[str, str]] = {  # (Chinese terms, English terms)
    "projector": ("投影儀|投影仪|投影機|投影机|投影幕|投映機|投影", r"projectors?|beamers?"),
    "audio": (
        "音響|音响|音箱|揚聲器|扬声器|喇叭|擴音|扩音|功放",
        r"sound\s*systems?|audio|speakers?|loud\s*speakers?|pa\s+systems?|p\.a\.(?:\s*systems?)?|amplifiers?",
    ),
    "microphone": (
        "麥克風|麦克风|話筒|话筒|咪高峰|無線咪|无线咪|咪",
        r"microphones?|mics?|wireless\s+mics?|lapel\s+mics?",
    ),
    "video_conference": (
        "視像會議|视像会议|視頻會議|视频会议|視訊會議|视讯会议|視頻通話|视频通话|視像|视像|視訊|视讯"
        "|遙距會議|遥距会议|遠程會議|远程会议|線上會議|线上会议|網絡會議|网络会议|騰訊會議|腾讯会议|zoom",
        r"video[\s-]*calls?|video[\s-]*conferenc(?:e|es|ing)|videoconferenc(?:e|es|ing)|zoom|webex|"
        r"google\s+meet|skype|ms\s+teams|microsoft\s+teams|teams\s+(?:call|meeting)|hybrid\s+meeting",
    ),
    "whiteboard": ("白板", r"white\s*boards?"),
    "lighting": ("燈光|灯光|舞台燈|舞台灯|射燈|射灯", r"lighting|stage\s+lights?|spot\s*lights?"),
}
_EQUIPMENT_RE = {
    kind: re.compile(rf"(?:{cjk})|(?<![a-z])(?:{en})(?![a-z])") for kind, (cjk, en) in _EQUIPMENT_TERMS.items()
}
_PA = re.compile(r"(?<![A-Za-z])P\.?A\.?(?![A-Za-z])(?!\s+(?:will|to|of|is|has|said|can)\b)")
_PA_OWNER = re.compile(r"(?:my|our|your|his|her|their|the)\s+$", re.IGNORECASE)
_NEGATION = re.compile(
    r"不需要|不需|不用|唔使|唔駛|唔需要|唔要|無需|无需|毋須|毋须|不必|不要|自備|自备|自帶|自带|(?<!有)沒有|(?<!有)没有|(?<!有)冇"
    r"|(?<![a-z])(?:no|don't|do not|doesn't|does not|won't|will not|without|not|own|never)(?![a-z])"
)
_NEGATION_AFTER = re.compile(
    r"^\s*(?:is\s+|are\s+)?(?:not needed|not required|unnecessary|不需要|不用|唔使|唔需要|無需|无需)"
)
_SCOPE_BREAK = re.compile(r"但是|但|不過|不过|可是|(?<![a-z])(?:but|however|only|just)(?![a-z])")
_SPEAKER_PEOPLE = re.compile(r"(?:guest|keynote|invited|featured|panel|main|the|our|two|three|[0-9])\s*$")
_MI_BEFORE = set("支枝個个把隻只綫線线要同和及、與与,;:有") | set(_CN) | set("0123456789 ")
_MI_NOT_AFTER = set("係系住話话講讲理咁啦呀囉喇就嘅唔")


def _find_equipment(low: str, nfkc: str) -> list[str]:
    wanted: set[str] = set()
    for kind, pattern in _EQUIPMENT_RE.items():
        for m in pattern.finditer(low):
            if m[0] == "咪" and not _is_mic(low, m.start()):
                continue
            if m[0].startswith("speaker") and _SPEAKER_PEOPLE.search(low[max(0, m.start() - 12) : m.start()]):
                continue
            if not _negated(low, m.start(), m.end()):
                wanted.add(kind)
                break
    if "audio" not in wanted:
        for m in _PA.finditer(nfkc):
            if not _PA_OWNER.search(nfkc[max(0, m.start() - 8) : m.start()]) and not _negated(low, m.start(), m.end()):
                wanted.add("audio")
                break
    return [kind for kind in _EQUIPMENT_ORDER if kind in wanted]


def _is_mic(low: str, pos: int) -> bool:
    if low.startswith("咪高峰", pos):
        return True
    before = low[pos - 1] if pos > 0 else ""
    after = low[pos + 1] if pos + 1 < len(low) else ""
    return before in _MI_BEFORE and after not in _MI_NOT_AFTER


def _negated(low: str, start: int, end: int) -> bool:
    c_start, c_end = _clause_bounds(low, start)
    scope = low[max(c_start, start - 40) : start]
    breaks = list(_SCOPE_BREAK.finditer(scope))
    if breaks:
        scope = scope[breaks[-1].end() :]
    return bool(_NEGATION.search(scope)) or bool(_NEGATION_AFTER.search(low[end : min(c_end, end + 30)]))


# -- putting it together ----------------------------------------------------------------------------


def extract_booking(text: str, *, received_at: datetime, tz: ZoneInfo) -> Extraction:
    """Date, time, attendees and equipment of a booking request; see the module docstring."""
    now = received_at.replace(tzinfo=tz) if received_at.tzinfo is None else received_at.astimezone(tz)
    today = now.date()
    nfkc, low = _prepare(text or "")
    zh = bool(_CJK.search(nfkc))
    buf = _Buffer(low)
    for m in _EMAIL_URL.finditer(low):
        buf.blank(m.start(), m.end(), _NOISE)
    text = buf.text
    for m in _PHONE.finditer(text):
        digits = sum(c.isdigit() for c in m[0])
        if 8 <= digits <= 15 and not _DATE_SHAPED.search(m[0]):
            buf.blank(m.start(), m.end(), _NOISE)
    text = buf.text
    for m in _PRICE.finditer(text):
        buf.blank(m.start(), m.end(), _NOISE)

    dates = _find_dates(buf, nfkc, today, zh)
    for d in dates:
        d.past = d.past or d.day is None or d.day < today or _is_past(low, d.start, d.end)
    times = _find_times(buf)
    for t in times:
        t.past = _is_past(low, t.start, t.end)
    words = [(m.start(), m.end(), _PERIOD_OF[m[0].split()[-1]]) for m in _PERIOD_WORDS.finditer(buf.text)]
    words += [(d.start, d.end, d.period) for d in dates if d.period]
    words.sort()
    for t in times:
        _resolve_times(t, _period_hint(low, t, words))
    durations = [m for m in _DURATION.finditer(buf.text) if not _is_past(low, m.start(), m.end())]
    counts = [c for c in _find_attendees(buf) if not _is_past(low, c.start, c.end)]
    equipment = _find_equipment(low, nfkc)

    usable = [d for d in dates if not d.past and d.day is not None]
    usable = [d for d in usable if d.absolute] or usable  # 「週四(12月3日)」: the calendar date
    clocks = [t for t in times if not t.past and t.begin is not None]
    # Each date with its nearest time (「今晚有事。明天10點」 is tomorrow at 10); the first pair not yet gone.
    pairs = sorted(
        (abs(t.start - d.start), d.start, t.start, d.day, t.begin, t)
        for d in usable[:_PAIRS]
        for t in clocks[:_PAIRS]
        if d.day is not None and t.begin is not None
    )
    day = usable[0].day if usable else None
    start = end = None
    time_known = bool(clocks) and day is None
    for *_, d_day, minutes, t in pairs:
        begin = datetime.combine(d_day, time(minutes // 60, minutes % 60), tzinfo=tz)
        if begin < now:
            continue  # today, already gone
        day, time_known, start = d_day, True, begin
        if t.finish is not None:
            finish_day = _add_days(d_day, 1) if t.overnight else d_day
            if finish_day is not None:
                end = datetime.combine(finish_day, time(t.finish // 60, t.finish % 60), tzinfo=tz)
        if end is None:
            length = next((x for x in map(_duration, durations) if x is not None), None) or _DEFAULT_LENGTH
            end = start + length
        break
    if start is not None and end is not None and end <= start:
        end = start + _DEFAULT_LENGTH

    attendees = counts[0].value if counts else None
    missing = [
        name
        for name, known in (("date", day is not None), ("time", time_known), ("attendees", attendees is not None))
        if not known
    ]
    return Extraction(start=start, end=end, attendees=attendees, equipment=equipment, missing=missing, day=day)
