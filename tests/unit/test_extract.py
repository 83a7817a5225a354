"""Booking details from free text: dates, times, attendees, equipment in zh-Hant, zh-Hans and English.

Every expectation below was worked out by hand against NOW = Monday 2026-11-23 10:00 Asia/Hong_Kong.
The calendar around it:

    Mon 23 Nov (today)   Tue 24 (明天/tomorrow)   Wed 25 (後天)   Thu 26 (大後天)   Fri 27   Sat 28   Sun 29
    Mon 30 Nov           Tue 1 Dec                Wed 2 Dec      Thu 3 Dec        Fri 4    Sat 5    Sun 6
    (the second row is "next week": 下週X / next X)
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import get_args
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.intake.extract import Extraction, extract_booking
from shared.contract.common import Equipment, MeetingDetails

HK = ZoneInfo("Asia/Hong_Kong")
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=HK)  # a Monday
ALL = ["date", "time", "attendees"]


def ex(text: str, received_at: datetime = NOW, tz: ZoneInfo = HK) -> Extraction:
    return extract_booking(text, received_at=received_at, tz=tz)


def at(month: int, day: int, hour: int, minute: int = 0, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=HK)


# -- the three sentences of the brief -----------------------------------------------------------------


def test_traditional_chinese_date_range_attendees_equipment():
    # 12月3日 is still ahead on 23 Nov: this year. 下午2點至4點 → 14:00–16:00; 20人; 投影儀, 麥克風.
    e = ex("12月3日下午2點至4點,20人,需要投影儀和麥克風")
    assert (e.start, e.end) == (at(12, 3, 14), at(12, 3, 16))
    assert e.attendees == 20
    assert e.equipment == ["projector", "microphone"]
    assert e.missing == []
    assert e.room_id is None


def test_english_next_tuesday_range():
    # "next Tuesday" is the Tuesday of next week: Tue 1 Dec (not tomorrow, Tue 24 Nov). 9-11am → 09–11.
    e = ex("next Tuesday 9-11am for 8 people with a projector")
    assert (e.start, e.end) == (at(12, 1, 9), at(12, 1, 11))
    assert e.attendees == 8
    assert e.equipment == ["projector"]
    assert e.missing == []


def test_simplified_chinese_next_wednesday_default_hour():
    # 下周三 = Wed 2 Dec; 上午十点 = 10:00; no end given → 11:00; 十五个人 = 15.
    e = ex("下周三上午十点开会,十五个人")
    assert (e.start, e.end) == (at(12, 2, 10), at(12, 2, 11))
    assert e.attendees == 15
    assert e.equipment == []
    assert e.missing == []


# -- a table of cases, each worked out by hand --------------------------------------------------------

CASES = [
    # (text, start, end, attendees, equipment) — start/end as (month, day, hour, minute); None when unknown
    # Chinese numerals, 半, 一刻, full-width digits and punctuation
    ("１２月３日下午３：３０，一百二十人", (12, 3, 15, 30), (12, 3, 16, 30), 120, []),
    ("明天三點半,兩位", (11, 24, 15, 30), (11, 24, 16, 30), 2, []),  # bare 3 → afternoon
    ("12月3號三點一刻,廿五人", (12, 3, 15, 15), (12, 3, 16, 15), 25, []),
    ("大後天早上9點,一百零五人", (11, 26, 9, 0), (11, 26, 10, 0), 105, []),
    ("2026年12月3日 下午2:00-4:00 二十人", (12, 3, 14, 0), (12, 3, 16, 0), 20, []),
    ("十二月十日上午十點十五分至十一點四十五分，三十人", (12, 10, 10, 15), (12, 10, 11, 45), 30, []),
    ("12月3日下午兩點，二十五位", (12, 3, 14, 0), (12, 3, 15, 0), 25, []),
    # relative days and weeks
    ("後天晚上7點到10點，約30人，需要音響及燈光", (11, 25, 19, 0), (11, 25, 22, 0), 30, ["audio", "lighting"]),
    ("今晚7點,6人", (11, 23, 19, 0), (11, 23, 20, 0), 6, []),  # 今晚 makes the bare 7 an evening hour
    ("參會人數：50，下星期五上午9點半", (12, 4, 9, 30), (12, 4, 10, 30), 50, []),
    ("禮拜三下午兩點，二十五位，要兩支咪同投影機", (11, 25, 14, 0), (11, 25, 15, 0), 25, ["projector", "microphone"]),
    ("下禮拜四中午12點至2點，十人，不需要投影儀，要白板", (12, 3, 12, 0), (12, 3, 14, 0), 10, ["whiteboard"]),
    (
        "下个礼拜一下午三点到五点 参会人数约40人 需要视频会议",
        (11, 30, 15, 0),
        (11, 30, 17, 0),
        40,
        ["video_conference"],
    ),
    ("这周五下午2点到3点半,12个人", (11, 27, 14, 0), (11, 27, 15, 30), 12, []),
    ("本周四 14:00-16:00 8人 需要白板和投影仪", (11, 26, 14, 0), (11, 26, 16, 0), 8, ["projector", "whiteboard"]),
    ("星期五 3pm 10人", (11, 27, 15, 0), (11, 27, 16, 0), 10, []),  # bare weekday: next Friday after today
    ("週一上午10點,6人", (11, 30, 10, 0), (11, 30, 11, 0), 6, []),  # today is Monday: the next one
    ("下下週二上午9點,20人", (12, 8, 9, 0), (12, 8, 10, 0), 20, []),
    ("聽日朝早十點,八個人,要咪高峰", (11, 24, 10, 0), (11, 24, 11, 0), 8, ["microphone"]),  # Cantonese
    ("明天下午,兩點到四點,六人", (11, 24, 14, 0), (11, 24, 16, 0), 6, []),  # 下午 in its own clause
    ("明天晚上7點至凌晨1點 派對 50人", (11, 24, 19, 0), (11, 25, 1, 0), 50, []),  # ends the next day
    (
        "我们周五10:00-12:00需要会议室,约18人,需要投影仪、白板",
        (11, 27, 10, 0),
        (11, 27, 12, 0),
        18,
        ["projector", "whiteboard"],
    ),
    ("下週三下午3點開會，大約兩個小時，12人", (12, 2, 15, 0), (12, 2, 17, 0), 12, []),  # duration → end
    (
        "我哋想book下個禮拜五晏晝兩點到四點,大概二三十人,要投影機,唔使咪",
        (12, 4, 14, 0),
        (12, 4, 16, 0),
        30,
        ["projector"],
    ),
    ("週四(12月3日)下午2點 20人", (12, 3, 14, 0), (12, 3, 15, 0), 20, []),
    ("本月30號上午11點,4人", (11, 30, 11, 0), (11, 30, 12, 0), 4, []),
    ("下個月5號下午3點,10人", (12, 5, 15, 0), (12, 5, 16, 0), 10, []),
    ("12/3 下午2點 20人", (12, 3, 14, 0), (12, 3, 15, 0), 20, []),  # Chinese text: month/day
    ("下午2-4,十人,明天", (11, 24, 14, 0), (11, 24, 16, 0), 10, []),  # bare range right after 下午
    ("今晚有事。明天10點,5人", (11, 24, 10, 0), (11, 24, 11, 0), 5, []),  # the date nearest the time; 今晚's
    # evening does not cross the full stop
    ("會場:彌敦道十二號5樓,12月3號下午2點,20人", (12, 3, 14, 0), (12, 3, 15, 0), 20, []),  # an address, not the 12th
    # English
    (
        "2026-12-03 14:00-16:00, 25 pax, whiteboard and zoom",
        (12, 3, 14, 0),
        (12, 3, 16, 0),
        25,
        ["video_conference", "whiteboard"],
    ),
    (
        "Can we book this Friday 2pm to 4:30pm? We are a team of 12. Need mics and speakers.",
        (11, 27, 14, 0),
        (11, 27, 16, 30),
        12,
        ["audio", "microphone"],
    ),
    ("Dec 3rd at 3pm for twenty attendees", (12, 3, 15, 0), (12, 3, 16, 0), 20, []),
    (
        "3 Dec, 10am-12pm, 40 people, sound system, stage lights",
        (12, 3, 10, 0),
        (12, 3, 12, 0),
        40,
        ["audio", "lighting"],
    ),
    (
        "December 3rd, 2026 from 9:30am until 12:30pm, 16 participants, video conferencing",
        (12, 3, 9, 30),
        (12, 3, 12, 30),
        16,
        ["video_conference"],
    ),
    ("tomorrow noon for 8 pax", (11, 24, 12, 0), (11, 24, 13, 0), 8, []),
    ("today at 3pm, 4 people", (11, 23, 15, 0), (11, 23, 16, 0), 4, []),
    ("on Friday 10.30am, headcount: 40, need a beamer", (11, 27, 10, 30), (11, 27, 11, 30), 40, ["projector"]),
    ("on Monday 9am, 12 people", (11, 30, 9, 0), (11, 30, 10, 0), 12, []),
    ("Tuesday next week 2-4pm, 6 attendees, video call", (12, 1, 14, 0), (12, 1, 16, 0), 6, ["video_conference"]),
    ("tomorrow 11-1pm 10 people", (11, 24, 11, 0), (11, 24, 13, 0), 10, []),  # 11am–1pm
    ("between 2 and 4pm tomorrow, 5 people", (11, 24, 14, 0), (11, 24, 16, 0), 5, []),
    ("Friday 3 in the afternoon, 4 people", (11, 27, 15, 0), (11, 27, 16, 0), 4, []),
    ("Friday 9 in the evening, 4 people", (11, 27, 21, 0), (11, 27, 22, 0), 4, []),
    ("Need a room for 30 people on 2 December, morning 9-12", (12, 2, 9, 0), (12, 2, 12, 0), 30, []),
    ("Tomorrow at 2:30 pm, 6 of us", (11, 24, 14, 30), (11, 24, 15, 30), 6, []),
    ("tomorrow 2pm for 90 minutes, 10 people", (11, 24, 14, 0), (11, 24, 15, 30), 10, []),  # duration → end
    ("明天下午2點,個半鐘,10人", (11, 24, 14, 0), (11, 24, 15, 30), 10, []),  # 個半鐘: an hour and a half
    ("the day after tomorrow 2pm for 2 hours, 6 pax", (11, 25, 14, 0), (11, 25, 16, 0), 6, []),
    (
        "Thursday 3 December 2pm-5pm, approx. 45 guests, PA system, lighting",
        (12, 3, 14, 0),
        (12, 3, 17, 0),
        45,
        ["audio", "lighting"],
    ),
    (
        "Please book Wed. 10:30am for 8-10 people, we'll bring our own projector, need whiteboard",
        (11, 25, 10, 30),
        (11, 25, 11, 30),
        10,
        ["whiteboard"],
    ),
    ("25/12 at 2pm, 20 people", (12, 25, 14, 0), (12, 25, 15, 0), 20, []),  # only day/month is a date
    ("on 12/25 2-4pm 10 people", (12, 25, 14, 0), (12, 25, 16, 0), 10, []),  # only month/day is a date
    (
        "tomorrow 14:00–16:00, a group of twenty-five, webex and a whiteboard",
        (11, 24, 14, 0),
        (11, 24, 16, 0),
        25,
        ["video_conference", "whiteboard"],
    ),
]


def _dt(parts: tuple[int, int, int, int] | None) -> datetime | None:
    return None if parts is None else at(*parts)


@pytest.mark.parametrize(("text", "start", "end", "attendees", "equipment"), CASES, ids=[c[0][:40] for c in CASES])
def test_cases(text, start, end, attendees, equipment):
    e = ex(text)
    assert (e.start, e.end) == (_dt(start), _dt(end))
    assert e.attendees == attendees
    assert e.equipment == equipment
    assert e.missing == []


# -- partial information → missing ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "missing"),
    [
        ("你好,想訂會議室", ALL),
        ("I'd like to book a room with a projector", ALL),
        ("明天下午兩點", ["attendees"]),
        ("20人,需要投影儀", ["date", "time"]),
        ("下周五,30人", ["time"]),  # a date without a time
        ("下週五 全天 80人", ["time"]),  # all day is not read as a time
        ("下午3點,10人", ["date"]),  # a time without a date
        ("下周 10人", ["date", "time"]),  # a week without its day
        ("next week, 10 people", ["date", "time"]),
        ("tomorrow morning, 10 people", ["time"]),  # a half-day is not a time
        ("3/12 at 2pm, 20 people", ["date"]),  # English 3/12: 3 Dec or 12 Mar — asked, not guessed
        ("3/12/2026 at 10am for 5 people", ["date"]),
        ("tomorrow 11 to 1 10 people", ["time"]),  # two bare numbers are not a time
    ],
)
def test_missing(text, missing):
    e = ex(text)
    assert e.missing == missing
    assert e.to_meeting("Board meeting") is None
    if "date" in missing or "time" in missing:
        assert e.start is None and e.end is None


def test_long_messages():
    # Thursday, December 3, 2026; 2:00 PM to 4:00 PM; about 20 people; the phone number is not a count.
    e = ex(
        "Dear team,\nWe would like to book a room on Thursday, December 3, 2026 from 2:00 PM to 4:00 PM for about "
        "20 people.\nWe will need a projector and 2 wireless microphones.\nThanks, Peter (tel 9876 5432)"
    )
    assert (e.start, e.end, e.attendees) == (at(12, 3, 14), at(12, 3, 16), 20)
    assert e.equipment == ["projector", "microphone"]
    # 下週四 = 3 Dec, and 12月3日 says the same; 上午9:30至12:00; 與會人數約15人; a mainland mobile number.
    e = ex(
        "您好!我司擬於下週四(12月3日)上午9:30至12:00舉行董事會,與會人數約15人,"
        "需要投影儀、視頻會議設備及麥克風。聯繫電話:13812345678"
    )
    assert (e.start, e.end, e.attendees) == (at(12, 3, 9, 30), at(12, 3, 12), 15)
    assert e.equipment == ["projector", "microphone", "video_conference"]


def test_partial_fields_still_reported():
    e = ex("下周五,30人,要麥克風")
    assert e.start is None and e.attendees == 30 and e.equipment == ["microphone"]


# -- year rollover and explicit years ------------------------------------------------------------------


def test_january_asked_in_december_is_next_year():
    december = datetime(2026, 12, 15, 9, 0, tzinfo=HK)
    e = ex("1月5日上午10點,30人", received_at=december)
    assert e.start == at(1, 5, 10, year=2027)
    assert e.end == at(1, 5, 11, year=2027)


def test_past_month_day_rolls_to_next_year_in_english_too():
    e = ex("March 3 at 10am, 30 people")  # March 2026 is gone on 23 Nov 2026
    assert e.start == at(3, 3, 10, year=2027)


def test_next_month_in_december_is_january():
    december = datetime(2026, 12, 15, 9, 0, tzinfo=HK)
    assert ex("下個月8號上午10點,5人", received_at=december).start == at(1, 8, 10, year=2027)


def test_next_year_prefix():
    assert ex("明年1月5日上午10點,30人").start == at(1, 5, 10, year=2027)


def test_this_friday_on_saturday_is_next_friday():
    saturday = datetime(2026, 11, 28, 9, 0, tzinfo=HK)
    assert ex("this Friday 10am, 5 people", received_at=saturday).start == at(12, 4, 10)
    assert ex("這週五上午10點,5人", received_at=saturday).start == at(12, 4, 10)


def test_explicit_past_date_is_not_a_booking():
    e = ex("2025-12-03 14:00, 20 people")
    assert e.start is None and "date" in e.missing


def test_received_at_in_another_zone_is_read_in_tz():
    # 23 Nov 20:00 UTC is already 24 Nov 04:00 in Hong Kong: 明天 is 25 Nov there.
    utc = datetime(2026, 11, 23, 20, 0, tzinfo=ZoneInfo("UTC"))
    e = ex("明天上午10點,5人", received_at=utc)
    assert e.start == at(11, 25, 10)
    assert e.start.tzinfo == HK


# -- not fooled ----------------------------------------------------------------------------------------


def test_price_per_head_is_not_attendees():
    e = ex("每人$200,20人,明天下午2點")
    assert e.attendees == 20
    assert ex("每人$200,明天下午2點").attendees is None
    assert ex("HK$1,200 per head, 30 people, Dec 5 2pm").attendees == 30
    assert ex("預算 300人民幣, 明天下午2點").attendees is None


def test_phone_numbers_are_not_times_or_counts():
    e = ex("請致電 9123 4567 或 +852 2345 6789,明天上午10點,15人")
    assert (e.start, e.attendees) == (at(11, 24, 10), 15)
    e = ex("Call me on 9123 4567 about tomorrow 14:00 for 6 people")
    assert (e.start, e.attendees) == (at(11, 24, 14), 6)


def test_minutes_are_not_attendees_nor_times():
    e = ex("The meeting will last 20 minutes, tomorrow at 10am, 5 people")
    assert (e.start, e.end, e.attendees) == (at(11, 24, 10), at(11, 24, 11), 5)
    e = ex("我們會遲到20分鐘,明天上午10點,5人")
    assert (e.start, e.attendees) == (at(11, 24, 10), 5)
    assert ex("20 minutes please").missing == ALL


def test_past_events_are_ignored():
    e = ex("上次3月5日下午3點的會議很好。今次想訂12月3日下午2點至4點,20人")
    assert (e.start, e.end) == (at(12, 3, 14), at(12, 3, 16))
    e = ex("We met last Tuesday at 3pm. Can we book Friday 10am-12pm for 6 people?")
    assert (e.start, e.end, e.attendees) == (at(11, 27, 10), at(11, 27, 12), 6)
    e = ex("昨天下午三點我們開過會, 想再約下週一上午十點, 8人")
    assert (e.start, e.attendees) == (at(11, 30, 10), 8)
    e = ex("上週三下午3點的會議投影機壞了")
    assert e.start is None and e.missing == ALL
    e = ex("yesterday at 3pm the projector failed")
    assert e.start is None


def test_a_time_already_gone_today_is_not_the_booking():
    e = ex("今天上午9點的會議")  # received at 10:00
    assert e.start is None and "time" in e.missing


def test_a_bit_and_points_are_not_one_oclock():
    e = ex("我想訂一間房,早一點比較好,明天10點,大一點的房間,10人")
    assert (e.start, e.attendees) == (at(11, 24, 10), 10)
    assert ex("有兩點要求:明天下午三點,十人").start == at(11, 24, 15)


def test_room_numbers_are_not_days():
    e = ex("3號房,明天下午2點,10人")
    assert e.start == at(11, 24, 14)


# -- equipment -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "equipment"),
    [
        ("投影機、音響、麥克風、視像會議、白板、燈光", list(get_args(Equipment))),
        ("投影仪 音响 麦克风 视频会议 白板 灯光", list(get_args(Equipment))),
        ("projector, PA, microphones, zoom, whiteboard, lighting", list(get_args(Equipment))),
        (
            "beamer and a sound system and two mics and a video conference setup",
            ["projector", "audio", "microphone", "video_conference"],
        ),
        ("需要咪同投影機", ["projector", "microphone"]),
        ("咪住先,我確認人數再覆你", []),  # 咪住 = "hold on"
        ("咪係囉,聽日見", []),
        ("my PA will confirm", []),
        ("guest speakers from abroad", []),
        ("不需要投影儀,要麥克風", ["microphone"]),
        ("no projector needed, but we need a mic", ["microphone"]),
        ("projector not needed", []),
        ("we will bring our own projector", []),
        ("有沒有投影機?", ["projector"]),
        ("視訊會議設備", ["video_conference"]),
    ],
)
def test_equipment(text, equipment):
    assert ex(text).equipment == equipment


# -- to_meeting ----------------------------------------------------------------------------------------


def test_to_meeting_when_complete():
    meeting = ex("12月3日下午2點至4點,20人,需要投影儀和麥克風").to_meeting("董事會")
    assert isinstance(meeting, MeetingDetails)
    assert meeting.name == "董事會"
    assert (meeting.start, meeting.end, meeting.attendees) == (at(12, 3, 14), at(12, 3, 16), 20)
    assert meeting.equipment == ["projector", "microphone"]
    assert meeting.room_id is None


def test_to_meeting_none_when_incomplete():
    assert ex("12月3日下午2點").to_meeting("x") is None


# -- robustness ------------------------------------------------------------------------------------------

FRAGMENTS = [
    "12月3日", "下午", "2點", "至", "4點", "20人", "明天", "下週三", "上午十点", "三點半", "next Tuesday",
    "9-11am", "for 8 people", "projector", "麥克風", "上次", "昨天", "14:00", "-", "16:00", "12/3", "一百二十人",
    "晚上", "凌晨", "1點", "noon", "Dec 31", "2月29日", "9999-12-31", "$200", "9123 4567", ",", "。", " ",
    "tomorrow", "today", "yesterday", "at 3", "for 2 hours", "兩個小時", "咪", "not", "中午", "12點", "0點",
    "24:00", "23:59", "11pm", "12am", "until", "a team of", "0", "100001人", "十十人", "廿", "卅", "百", "千",
]  # fmt: skip
ZONES = [HK, ZoneInfo("Asia/Shanghai"), ZoneInfo("Asia/Taipei"), ZoneInfo("Europe/London"), ZoneInfo("UTC")]
texts = st.one_of(st.text(max_size=200), st.lists(st.sampled_from(FRAGMENTS), max_size=12).map("".join))
moments = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 12, 31))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=texts, received=moments, tz=st.sampled_from(ZONES))
def test_never_raises_and_start_before_end(text, received, tz):
    e = extract_booking(text, received_at=received.replace(tzinfo=tz), tz=tz)
    if e.start is not None and e.end is not None:
        assert e.start < e.end
        assert e.start.tzinfo is tz and e.end.tzinfo is tz
    assert e.end is None or e.start is not None
    assert e.missing == [m for m in ALL if m in e.missing]
    assert set(e.equipment) <= set(get_args(Equipment))
    assert e.attendees is None or 1 <= e.attendees <= 100_000
    meeting = e.to_meeting("Meeting")
    assert (meeting is None) == bool(e.missing)


def test_empty_text():
    assert ex("").missing == ALL
    assert ex("   \n").equipment == []


def test_default_length_is_one_hour():
    e = ex("明天上午10點,5人")
    assert e.end - e.start == timedelta(hours=1)
