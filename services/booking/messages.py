"""What the customer reads: booking's notification texts in their language (zh-Hant, zh-Hans, en;
any other language gets English), plain Python, no I/O.

Times are shown in the venue's time zone (the caller passes it); a meeting's time reads
``Thursday 3 December 2026, 14:00–16:00`` / ``2026年12月3日（星期四）14:00–16:00``. Each function
returns the ready-to-send text of one notification (``notification.requested``'s ``parameters.text``);
the structured parameters beside it are built by :mod:`.domain`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

LANGUAGES = ("zh-Hant", "zh-Hans", "en")
LISTED = 10  # occurrences or conflicts spelled out in a text; the rest are counted

_WEEKDAYS = {
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "zh": ("星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日"),
}
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)

EQUIPMENT: Mapping[str, Mapping[str, str]] = {
    "projector": {"en": "projector", "zh-Hant": "投影儀", "zh-Hans": "投影仪"},
    "audio": {"en": "audio system", "zh-Hant": "音響", "zh-Hans": "音响"},
    "microphone": {"en": "microphone", "zh-Hant": "麥克風", "zh-Hans": "麦克风"},
    "video_conference": {"en": "video conferencing", "zh-Hant": "視像會議設備", "zh-Hans": "视频会议设备"},
    "whiteboard": {"en": "whiteboard", "zh-Hant": "白板", "zh-Hans": "白板"},
    "lighting": {"en": "lighting", "zh-Hant": "燈光", "zh-Hans": "灯光"},
}


def language(lang: str | None) -> str:
    """The language a text is written in: the customer's when we write it, else English."""
    return lang if lang in LANGUAGES else "en"


@dataclass(frozen=True)
class Place:
    """A room as the customer reads it."""

    name: str
    location: str | None = None


# -- pieces ---------------------------------------------------------------------------------------
def day(t: datetime, lang: str, tz: ZoneInfo) -> str:
    local = t.astimezone(tz)
    if language(lang) == "en":
        return f"{_WEEKDAYS['en'][local.weekday()]} {local.day} {_MONTHS[local.month - 1]} {local.year}"
    return f"{local.year}年{local.month}月{local.day}日（{_WEEKDAYS['zh'][local.weekday()]}）"


@lru_cache(maxsize=4096)  # the same times are told over and over (alternatives of a popular slot)
def when(start: datetime, end: datetime, lang: str, tz: ZoneInfo) -> str:
    """A meeting's time, readable, in venue time: its day and hours (the end's day too when it differs)."""
    lang = language(lang)
    s, e = start.astimezone(tz), end.astimezone(tz)
    sep = ", " if lang == "en" else ""
    if s.date() == e.date():
        return f"{day(s, lang, tz)}{sep}{s:%H:%M}–{e:%H:%M}"
    return f"{day(s, lang, tz)}{sep}{s:%H:%M} – {day(e, lang, tz)}{sep}{e:%H:%M}"


def moment(t: datetime, lang: str, tz: ZoneInfo) -> str:
    """A point in time, readable, in venue time: ``Thursday 3 December 2026, 14:00``."""
    lang = language(lang)
    return f"{day(t, lang, tz)}{', ' if lang == 'en' else ''}{t.astimezone(tz):%H:%M}"


def equipment(items: Sequence[str], lang: str) -> str:
    lang = language(lang)
    names = [EQUIPMENT.get(i, {}).get(lang, i) for i in items]
    if not names:
        return {"en": "none", "zh-Hant": "無", "zh-Hans": "无"}[lang]
    return ", ".join(names) if lang == "en" else "、".join(names)


def place(p: Place, lang: str) -> str:
    if not p.location:
        return p.name
    return f"{p.name} ({p.location})" if language(lang) == "en" else f"{p.name}（{p.location}）"


def _listed(lines: Sequence[str], lang: str) -> list[str]:
    """At most :data:`LISTED` lines, then how many more."""
    shown = [f"- {line}" for line in lines[:LISTED]]
    more = len(lines) - LISTED
    if more > 0:
        shown.append(
            {"en": f"- … and {more} more", "zh-Hant": f"- ……另有 {more} 次", "zh-Hans": f"- ……另有 {more} 次"}[lang]
        )
    return shown


# -- reasons --------------------------------------------------------------------------------------
# by reason key (booking.rejected's reason_code, or for ``invalid`` the finer reason); the facts of the
# rejection fill the blanks (a missing fact leaves the generic sentence of the code)
REASONS: Mapping[str, Mapping[str, str]] = {
    "room_unavailable": {
        "en": "The room is already booked at that time.",
        "zh-Hant": "該時段的會議室已被預訂。",
        "zh-Hans": "该时段的会议室已被预订。",
    },
    "series_conflict": {
        "en": "{room} is already booked for {count} of the {total} meetings of the series.",
        "zh-Hant": "{room}在該系列 {total} 次會議中有 {count} 次已被預訂。",
        "zh-Hans": "{room}在该系列 {total} 次会议中有 {count} 次已被预订。",
    },
    "room_unknown": {
        "en": "The room asked for does not exist or is not in service.",
        "zh-Hant": "所選會議室不存在或暫停使用。",
        "zh-Hans": "所选会议室不存在或暂停使用。",
    },
    "room_too_small": {
        "en": "The room holds {capacity} people; the meeting needs {attendees}.",
        "zh-Hant": "該會議室可容納 {capacity} 人，會議需要 {attendees} 人。",
        "zh-Hans": "该会议室可容纳 {capacity} 人，会议需要 {attendees} 人。",
    },
    "equipment_missing": {
        "en": "The room lacks: {missing}.",
        "zh-Hant": "該會議室缺少：{missing}。",
        "zh-Hans": "该会议室缺少：{missing}。",
    },
    "no_room_fits": {
        "en": "No room holds {attendees} people with the equipment asked for.",
        "zh-Hant": "沒有可容納 {attendees} 人並配備所需設備的會議室。",
        "zh-Hans": "没有可容纳 {attendees} 人并配备所需设备的会议室。",
    },
    "invalid": {
        "en": "The request cannot be booked as it stands.",
        "zh-Hant": "此預訂申請無法受理。",
        "zh-Hans": "此预订申请无法受理。",
    },
    "past": {
        "en": "The meeting would start in the past.",
        "zh-Hant": "會議開始時間已過。",
        "zh-Hans": "会议开始时间已过。",
    },
    "end_before_start": {
        "en": "The meeting must end after it starts.",
        "zh-Hant": "會議結束時間必須晚於開始時間。",
        "zh-Hans": "会议结束时间必须晚于开始时间。",
    },
    "too_long": {
        "en": "A meeting may last at most 24 hours; please book several days separately.",
        "zh-Hant": "每次會議最長 24 小時，多日會議請分日預訂。",
        "zh-Hans": "每次会议最长 24 小时，多日会议请分日预订。",
    },
    "too_far_ahead": {
        "en": "Bookings open at most {years} years ahead.",
        "zh-Hant": "會議室最多可提前 {years} 年預訂。",
        "zh-Hans": "会议室最多可提前 {years} 年预订。",
    },
    "no_attendees": {
        "en": "A meeting needs at least one attendee.",
        "zh-Hant": "會議至少需要一位與會者。",
        "zh-Hans": "会议至少需要一位与会者。",
    },
    "no_occurrence": {
        "en": "The recurrence gives no meeting.",
        "zh-Hant": "重複設定沒有產生任何會議。",
        "zh-Hans": "重复设定没有产生任何会议。",
    },
    "series_unbounded": {
        "en": "A recurring meeting needs a number of meetings or an end date (at most {max}).",
        "zh-Hant": "定期會議需要註明次數或結束日期（最多 {max} 次）。",
        "zh-Hans": "定期会议需要注明次数或结束日期（最多 {max} 次）。",
    },
    "series_too_long": {
        "en": "A recurring meeting may have at most {max} meetings; this one would have more.",
        "zh-Hant": "定期會議最多 {max} 次，此申請超出上限。",
        "zh-Hans": "定期会议最多 {max} 次，此申请超出上限。",
    },
    "outside_hours": {
        "en": "{room} is open {opens}–{closes}; the meeting must start and end within these hours.",
        "zh-Hant": "{room}的開放時間為 {opens}–{closes}，會議須在此時間內開始及結束。",
        "zh-Hans": "{room}的开放时间为 {opens}–{closes}，会议须在此时间内开始及结束。",
    },
    "none_open": {
        "en": "No suitable room is open at that time.",
        "zh-Hant": "該時段沒有開放的合適會議室。",
        "zh-Hans": "该时段没有开放的合适会议室。",
    },
}


# the same without blanks, for a rejection whose facts are not known
GENERIC: Mapping[str, Mapping[str, str]] = {
    "series_conflict": REASONS["room_unavailable"],
    "room_too_small": {
        "en": "The room is too small for the meeting.",
        "zh-Hant": "該會議室容納不下與會人數。",
        "zh-Hans": "该会议室容纳不下与会人数。",
    },
    "equipment_missing": {
        "en": "The room lacks equipment asked for.",
        "zh-Hant": "該會議室缺少所需設備。",
        "zh-Hans": "该会议室缺少所需设备。",
    },
    "no_room_fits": {
        "en": "No room fits the meeting.",
        "zh-Hant": "沒有合適的會議室。",
        "zh-Hans": "没有合适的会议室。",
    },
    "outside_hours": {
        "en": "The meeting is outside the room's opening hours.",
        "zh-Hant": "會議時間不在會議室開放時間內。",
        "zh-Hans": "会议时间不在会议室开放时间内。",
    },
    "series_unbounded": REASONS["invalid"],
    "series_too_long": REASONS["invalid"],
    "too_far_ahead": REASONS["invalid"],
}


def reason(key: str, facts: Mapping[str, Any], lang: str, fallback: str = "invalid") -> str:
    """The reason, in the customer's language (``key``: the rejection's finer reason, ``fallback``:
    its reason_code); a sentence whose facts are missing gives way to the generic one."""
    lang = language(lang)
    values = dict(facts)
    if "missing" in values and not isinstance(values["missing"], str):
        values["missing"] = equipment(values["missing"], lang)
    for k in (key, fallback):
        if k in REASONS:
            try:
                return REASONS[k][lang].format(**values)
            except (KeyError, IndexError):
                pass
        if k in GENERIC:
            return GENERIC[k][lang]
    return REASONS["invalid"][lang]


# -- the three notifications ----------------------------------------------------------------------
def confirmed_text(
    lang: str,
    *,
    name: str,
    room: Place,
    occurrences: Sequence[tuple[datetime, datetime]],
    attendees: int,
    equipment_booked: Sequence[str],
    reference: str,
    tz: ZoneInfo,
) -> str:
    """The booking confirmation (預訂確認): what, when (each occurrence of a series), where, for whom."""
    lang = language(lang)
    times = [when(s, e, lang, tz) for s, e in occurrences]
    kit = equipment(equipment_booked, lang)
    where = place(room, lang)
    if lang == "en":
        head = [f"Your booking is confirmed: {name}."]
        if len(times) == 1:
            head.append(f"When: {times[0]}")
        else:
            head.append(f"When: {len(times)} meetings —")
            head += _listed(times, lang)
        head += [f"Where: {where}", f"Attendees: {attendees}", f"Equipment: {kit}", f"Reference: {reference}"]
        return "\n".join(head)
    t = _ZH[lang]
    lines = [t["confirmed"].format(name=name)]
    if len(times) == 1:
        lines.append(f"{t['when']}：{times[0]}")
    else:
        lines.append(f"{t['when']}：{t['series'].format(n=len(times))}")
        lines += _listed(times, lang)
    lines += [
        f"{t['where']}：{where}",
        f"{t['attendees']}：{attendees}",
        f"{t['equipment']}：{kit}",
        f"{t['reference']}：{reference}",
    ]
    return "\n".join(lines)


def rejected_text(
    lang: str,
    *,
    name: str,
    requested: tuple[datetime, datetime],
    why: str,
    conflicts: Sequence[tuple[datetime, datetime]],
    alternatives: Sequence[tuple[Place, datetime, datetime]],
    tz: ZoneInfo,
    waiting: bool = False,
    cannot_wait: bool = False,
) -> str:
    """We cannot book it: why, which meetings of a series clash, what we can offer instead, and
    (``waiting``) that the request waits for its time to come free — or (``cannot_wait``) that a
    series asked to wait cannot."""
    lang = language(lang)
    asked = when(*requested, lang, tz)
    offers = [f"{n}. {when(s, e, lang, tz)} — {place(p, lang)}" for n, (p, s, e) in enumerate(alternatives, 1)]
    clashes = [when(s, e, lang, tz) for s, e in conflicts]
    if lang == "en":
        lines = [f"We are sorry: we cannot book {name} for {asked}.", why]
        if clashes:
            lines.append("Already booked:")
            lines += _listed(clashes, lang)
        if offers:
            lines.append("We can offer instead:")
            lines += offers
            lines.append("Reply with the number of the one you would like, and we will book it for you.")
        else:
            lines.append("Please reply with another time, or call us, and we will find a room for you.")
        if waiting:
            lines.append(WAITING[lang])
        if cannot_wait:
            lines.append(SERIES_CANNOT_WAIT[lang])
        return "\n".join(lines)
    t = _ZH[lang]
    lines = [t["sorry"].format(name=name, when=asked), why]
    if clashes:
        lines.append(t["clashes"])
        lines += _listed(clashes, lang)
    if offers:
        lines.append(t["offers"])
        lines += offers
        lines.append(t["pick"])
    else:
        lines.append(t["no_offers"])
    if waiting:
        lines.append(WAITING[lang])
    if cannot_wait:
        lines.append(SERIES_CANNOT_WAIT[lang])
    return "\n".join(lines)


def reminder_text(
    lang: str,
    *,
    name: str,
    room: Place,
    start: datetime,
    end: datetime,
    equipment_booked: Sequence[str],
    agenda: str | None,
    materials: str | None,
    reference: str,
    tz: ZoneInfo,
) -> str:
    """The day-before reminder (會議前一天再次確認): time, place, what is ready and what to bring;
    the customer answers confirm / cancel / change."""
    lang = language(lang)
    at = when(start, end, lang, tz)
    where = place(room, lang)
    kit = equipment(equipment_booked, lang)
    if lang == "en":
        lines = [f"A reminder of your upcoming meeting {name}: {at}, {where}.", f"Equipment ready for you: {kit}."]
        if agenda:
            lines.append(f"Agenda: {agenda}")
        if materials:
            lines.append(f"Please bring: {materials}")
        lines.append(
            f"Please reply CONFIRM if the meeting goes ahead, CANCEL to cancel it, or CHANGE to change it "
            f"(reference {reference})."
        )
        return "\n".join(lines)
    t = _ZH[lang]
    lines = [t["reminder"].format(name=name, when=at, where=where), t["kit"].format(kit=kit)]
    if agenda:
        lines.append(f"{t['agenda']}：{agenda}")
    if materials:
        lines.append(f"{t['bring']}：{materials}")
    lines.append(t["answer"].format(reference=reference))
    return "\n".join(lines)


_ZH: Mapping[str, Mapping[str, str]] = {
    "zh-Hant": {
        "confirmed": "您的會議預訂已確認：「{name}」。",
        "when": "時間",
        "series": "共 {n} 次——",
        "where": "地點",
        "attendees": "參會人數",
        "equipment": "設備",
        "reference": "預訂編號",
        "sorry": "很抱歉，我們未能為您預訂「{name}」（{when}）。",
        "clashes": "已被預訂的場次：",
        "offers": "我們可以為您安排：",
        "pick": "請回覆您選擇的編號，我們會為您預訂。",
        "no_offers": "請回覆其他時間或致電我們，我們會為您另覓會議室。",
        "reminder": "提醒您即將舉行的會議「{name}」：{when}，{where}。",
        "kit": "已為您準備的設備：{kit}。",
        "agenda": "議程",
        "bring": "請攜帶",
        "answer": (
            "請回覆「確認」表示會議如期舉行，回覆「取消」取消會議，或回覆「更改」修改安排（預訂編號 {reference}）。"
        ),
    },
    "zh-Hans": {
        "confirmed": "您的会议预订已确认：“{name}”。",
        "when": "时间",
        "series": "共 {n} 次——",
        "where": "地点",
        "attendees": "参会人数",
        "equipment": "设备",
        "reference": "预订编号",
        "sorry": "很抱歉，我们未能为您预订“{name}”（{when}）。",
        "clashes": "已被预订的场次：",
        "offers": "我们可以为您安排：",
        "pick": "请回复您选择的编号，我们会为您预订。",
        "no_offers": "请回复其他时间或致电我们，我们会为您另觅会议室。",
        "reminder": "提醒您即将举行的会议“{name}”：{when}，{where}。",
        "kit": "已为您准备的设备：{kit}。",
        "agenda": "议程",
        "bring": "请携带",
        "answer": ("请回复“确认”表示会议如期举行，回复“取消”取消会议，或回复“更改”修改安排（预订编号 {reference}）。"),
    },
}


WAITING: Mapping[str, str] = {
    "en": "You are on the waiting list for the time you asked for: if it comes free, we will offer it to you.",
    "zh-Hant": "您已登記候補：如該時段有空出，我們會優先為您保留並通知您。",
    "zh-Hans": "您已登记候补：如该时段有空出，我们会优先为您保留并通知您。",
}

# a recurring meeting asked to wait for its slot: it cannot (a series is booked whole, in one room)
SERIES_CANNOT_WAIT: Mapping[str, str] = {
    "en": "A recurring meeting cannot wait on the waiting list: it is booked whole, in one room, or not at all. "
    "Please take one of the times offered (every meeting of the series is free then), or ask us to book "
    "the meetings separately.",
    "zh-Hant": "定期會議無法登記候補：系列會議須在同一會議室全部預訂。"
    "請選擇上列其中一個時段（屆時系列每次會議均有空），或請我們為您逐次分開預訂。",
    "zh-Hans": "定期会议无法登记候补：系列会议须在同一会议室全部预订。"
    "请选择上列其中一个时段（届时系列每次会议均有空），或请我们为您逐次分开预订。",
}


# -- the meeting's day ----------------------------------------------------------------------------
def cancelled_text(
    lang: str,
    *,
    name: str,
    room: Place,
    occurrences: Sequence[tuple[datetime, datetime]],
    reference: str,
    tz: ZoneInfo,
) -> str:
    """The booking (or the meetings of a series listed) is cancelled."""
    lang = language(lang)
    times = [when(s, e, lang, tz) for s, e in occurrences]
    where = place(room, lang)
    if lang == "en":
        if len(times) == 1:
            lines = [f"Your booking {name} on {times[0]} at {where} is cancelled."]
        else:
            lines = [f"{len(times)} meetings of your booking {name} at {where} are cancelled:", *_listed(times, lang)]
        lines.append(f"Reference: {reference}. If this is not what you wanted, please contact us.")
        return "\n".join(lines)
    t = _DAY[lang]
    if len(times) == 1:
        lines = [t["cancelled"].format(name=name, when=times[0], where=where)]
    else:
        lines = [t["cancelled_series"].format(name=name, n=len(times), where=where), *_listed(times, lang)]
    lines.append(t["cancelled_end"].format(reference=reference))
    return "\n".join(lines)


def day_text(
    template: str,
    lang: str,
    *,
    name: str,
    room: Place,
    start: datetime,
    end: datetime,
    reference: str,
    tz: ZoneInfo,
    minutes: int | None = None,
    accept_by: datetime | None = None,
) -> str:
    """The texts about one meeting on its day, by template: ``booking.attendance_confirmed`` (thanks,
    check in on arrival), ``booking.rescheduled`` (its new time and place), ``booking.released``
    (nobody checked in within ``minutes``),
    ``booking.waitlist_offered`` (the time waited for is free, held until ``accept_by``),
    ``booking.survey`` (how satisfied were you, 1–5)."""
    lang = language(lang)
    values = {
        "name": name,
        "when": when(start, end, lang, tz),
        "where": place(room, lang),
        "reference": reference,
        "minutes": minutes,
        "accept_by": moment(accept_by, lang, tz) if accept_by else "",
    }
    return _DAY_TEXTS[template][lang].format(**values)


_DAY_TEXTS: Mapping[str, Mapping[str, str]] = {
    "booking.attendance_confirmed": {
        "en": "Thank you for confirming: {name} goes ahead on {when} at {where}. "
        "Please check in at the front desk when you arrive (reference {reference}).",
        "zh-Hant": "多謝您的確認：「{name}」將於{when}在{where}如期舉行。"
        "抵達時請到前台登記入場（預訂編號 {reference}）。",
        "zh-Hans": "感谢您的确认：“{name}”将于{when}在{where}如期举行。抵达时请到前台签到（预订编号 {reference}）。",
    },
    "booking.rescheduled": {
        "en": "Your booking {name} has moved: it now takes place on {when} at {where} (reference {reference}). "
        "If this does not suit you, please contact us.",
        "zh-Hant": "您的會議預訂「{name}」已更改：現改於{when}在{where}舉行（預訂編號 {reference}）。"
        "如有不便，請與我們聯絡。",
        "zh-Hans": "您的会议预订“{name}”已更改：现改于{when}在{where}举行（预订编号 {reference}）。"
        "如有不便，请与我们联系。",
    },
    "booking.released": {
        "en": "Nobody checked in for {name} ({when}, {where}) within {minutes} minutes of its start, so the room "
        "has been released. If you still need a room, please contact us (reference {reference}).",
        "zh-Hant": "「{name}」（{when}，{where}）開始後 {minutes} 分鐘內未有人登記入場，會議室已釋放。"
        "如仍需要會議室，請與我們聯絡（預訂編號 {reference}）。",
        "zh-Hans": "“{name}”（{when}，{where}）开始后 {minutes} 分钟内无人签到，会议室已释放。"
        "如仍需要会议室，请与我们联系（预订编号 {reference}）。",
    },
    "booking.waitlist_offered": {
        "en": "Good news: the time you were waiting for is free. {where} is held for {name} on {when} until "
        "{accept_by}. Reply YES before then and we will book it for you.",
        "zh-Hant": "好消息：您候補的時段已有空出。我們已為「{name}」保留{where}（{when}），保留至{accept_by}。"
        "請於此前回覆「確認」，我們會為您完成預訂。",
        "zh-Hans": "好消息：您候补的时段已有空出。我们已为“{name}”保留{where}（{when}），保留至{accept_by}。"
        "请于此前回复“确认”，我们会为您完成预订。",
    },
    "booking.survey": {
        "en": "Thank you for meeting with us: {name} ({when}, {where}). How satisfied were you with our service? "
        "Please rate it from 1 (very dissatisfied) to 5 (very satisfied).",
        "zh-Hant": "感謝您選用我們的會議服務：「{name}」（{when}，{where}）。您對我們的服務滿意嗎？"
        "請以 1（非常不滿意）至 5（非常滿意）評分。",
        "zh-Hans": "感谢您选用我们的会议服务：“{name}”（{when}，{where}）。您对我们的服务满意吗？"
        "请以 1（非常不满意）至 5（非常满意）评分。",
    },
}

_DAY: Mapping[str, Mapping[str, str]] = {
    "zh-Hant": {
        "cancelled": "您的會議預訂「{name}」（{when}，{where}）已取消。",
        "cancelled_series": "您的會議預訂「{name}」（{where}）中的 {n} 次會議已取消：",
        "cancelled_end": "預訂編號 {reference}。如有疑問，請與我們聯絡。",
    },
    "zh-Hans": {
        "cancelled": "您的会议预订“{name}”（{when}，{where}）已取消。",
        "cancelled_series": "您的会议预订“{name}”（{where}）中的 {n} 次会议已取消：",
        "cancelled_end": "预订编号 {reference}。如有疑问，请与我们联系。",
    },
}
