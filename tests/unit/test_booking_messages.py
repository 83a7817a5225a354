"""What the customer reads, per language (zh-Hant, zh-Hans, en; any other: en), in venue time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.booking import messages
from services.booking.messages import Place

HK = ZoneInfo("Asia/Hong_Kong")


def hk(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=HK)


HARBOUR = Place("Harbour Room", "3/F")


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        ("en", "Thursday 3 December 2026, 14:00–16:00"),
        ("zh-Hant", "2026年12月3日（星期四）14:00–16:00"),
        ("zh-Hans", "2026年12月3日（星期四）14:00–16:00"),
        ("other", "Thursday 3 December 2026, 14:00–16:00"),
        (None, "Thursday 3 December 2026, 14:00–16:00"),
    ],
)
def test_a_meetings_time_reads_in_the_customers_language(lang, text):
    assert messages.when(hk(3, 14), hk(3, 16), lang, HK) == text


def test_times_are_shown_in_venue_time_whatever_they_were_written_in():
    start = datetime(2026, 12, 3, 6, 0, tzinfo=UTC)
    assert messages.when(start, start + timedelta(hours=2), "en", HK) == "Thursday 3 December 2026, 14:00–16:00"


def test_a_meeting_over_midnight_names_both_days():
    assert (
        messages.when(hk(3, 22), hk(4, 1), "en", HK)
        == "Thursday 3 December 2026, 22:00 – Friday 4 December 2026, 01:00"
    )
    assert (
        messages.when(hk(3, 22), hk(4, 1), "zh-Hant", HK)
        == "2026年12月3日（星期四）22:00 – 2026年12月4日（星期五）01:00"
    )


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        ("en", "projector, microphone, video conferencing"),
        ("zh-Hant", "投影儀、麥克風、視像會議設備"),
        ("zh-Hans", "投影仪、麦克风、视频会议设备"),
    ],
)
def test_equipment_is_named_in_the_customers_language(lang, text):
    assert messages.equipment(["projector", "microphone", "video_conference"], lang) == text


@pytest.mark.parametrize(("lang", "text"), [("en", "none"), ("zh-Hant", "無"), ("zh-Hans", "无")])
def test_no_equipment(lang, text):
    assert messages.equipment([], lang) == text


@pytest.mark.parametrize(
    ("key", "facts", "lang", "text"),
    [
        ("room_unavailable", {}, "en", "The room is already booked at that time."),
        ("room_unavailable", {}, "zh-Hant", "該時段的會議室已被預訂。"),
        ("room_unavailable", {}, "zh-Hans", "该时段的会议室已被预订。"),
        ("room_too_small", {"capacity": 10, "attendees": 12}, "en", "The room holds 10 people; the meeting needs 12."),
        ("room_too_small", {"capacity": 10, "attendees": 12}, "zh-Hans", "该会议室可容纳 10 人，会议需要 12 人。"),
        ("equipment_missing", {"missing": ["audio"]}, "en", "The room lacks: audio system."),
        ("equipment_missing", {"missing": ["audio"]}, "zh-Hant", "該會議室缺少：音響。"),
        ("no_room_fits", {"attendees": 300}, "zh-Hant", "沒有可容納 300 人並配備所需設備的會議室。"),
        (
            "outside_hours",
            {"room": "Harbour Room", "opens": "09:00", "closes": "18:00"},
            "en",
            "Harbour Room is open 09:00–18:00; the meeting must start and end within these hours.",
        ),
        (
            "outside_hours",
            {"room": "海港廳", "opens": "09:00", "closes": "18:00"},
            "zh-Hant",
            "海港廳的開放時間為 09:00–18:00，會議須在此時間內開始及結束。",
        ),
        ("series_too_long", {"max": 366}, "zh-Hans", "定期会议最多 366 次，此申请超出上限。"),
        ("past", {}, "fr", "The meeting would start in the past."),
    ],
)
def test_reasons_per_language(key, facts, lang, text):
    assert messages.reason(key, facts, lang) == text


def test_a_confirmation_in_each_language():
    one = [(hk(3, 14), hk(3, 16))]
    kw = {"name": "Board meeting", "room": HARBOUR, "attendees": 20, "equipment_booked": ["projector"], "tz": HK}
    assert messages.confirmed_text("en", occurrences=one, reference="b-1", **kw) == (
        "Your booking is confirmed: Board meeting.\n"
        "When: Thursday 3 December 2026, 14:00–16:00\n"
        "Where: Harbour Room (3/F)\n"
        "Attendees: 20\n"
        "Equipment: projector\n"
        "Reference: b-1"
    )
    assert messages.confirmed_text("zh-Hant", occurrences=one, reference="b-1", **kw) == (
        "您的會議預訂已確認：「Board meeting」。\n"
        "時間：2026年12月3日（星期四）14:00–16:00\n"
        "地點：Harbour Room（3/F）\n"
        "參會人數：20\n"
        "設備：投影儀\n"
        "預訂編號：b-1"
    )
    assert messages.confirmed_text("zh-Hans", occurrences=one, reference="b-1", **kw) == (
        "您的会议预订已确认：“Board meeting”。\n"
        "时间：2026年12月3日（星期四）14:00–16:00\n"
        "地点：Harbour Room（3/F）\n"
        "参会人数：20\n"
        "设备：投影仪\n"
        "预订编号：b-1"
    )


@pytest.mark.parametrize(("lang", "head", "more"), [("en", "When: 12 meetings —", "- … and 2 more"),
                                                     ("zh-Hant", "時間：共 12 次——", "- ……另有 2 次"),
                                                     ("zh-Hans", "时间：共 12 次——", "- ……另有 2 次")])  # fmt: skip
def test_a_series_confirmation_lists_its_meetings(lang, head, more):
    weekly = [(hk(3, 14) + timedelta(weeks=i), hk(3, 16) + timedelta(weeks=i)) for i in range(12)]
    text = messages.confirmed_text(
        lang, name="n", room=HARBOUR, occurrences=weekly, attendees=5, equipment_booked=[], reference="s", tz=HK
    )
    lines = text.split("\n")
    assert head in lines and more in lines
    assert len([line for line in lines if line.startswith("- 20") or line.startswith("- Thursday")]) == 10
    assert messages.when(*weekly[9], lang, HK) in text and messages.when(*weekly[10], lang, HK) not in text


def test_a_rejection_in_each_language_offers_the_alternatives_numbered():
    offers = [(HARBOUR, hk(3, 16), hk(3, 18)), (Place("Hall"), hk(4, 9), hk(4, 11))]
    kw = {"name": "Board meeting", "requested": (hk(3, 14), hk(3, 16)), "conflicts": [], "tz": HK}
    en = messages.rejected_text("en", why="The room is already booked at that time.", alternatives=offers, **kw)
    assert en == (
        "We are sorry: we cannot book Board meeting for Thursday 3 December 2026, 14:00–16:00.\n"
        "The room is already booked at that time.\n"
        "We can offer instead:\n"
        "1. Thursday 3 December 2026, 16:00–18:00 — Harbour Room (3/F)\n"
        "2. Friday 4 December 2026, 09:00–11:00 — Hall\n"
        "Reply with the number of the one you would like, and we will book it for you."
    )
    hant = messages.rejected_text("zh-Hant", why="該時段的會議室已被預訂。", alternatives=offers, **kw)
    assert hant.split("\n") == [
        "很抱歉，我們未能為您預訂「Board meeting」（2026年12月3日（星期四）14:00–16:00）。",
        "該時段的會議室已被預訂。",
        "我們可以為您安排：",
        "1. 2026年12月3日（星期四）16:00–18:00 — Harbour Room（3/F）",
        "2. 2026年12月4日（星期五）09:00–11:00 — Hall",
        "請回覆您選擇的編號，我們會為您預訂。",
    ]
    hans = messages.rejected_text("zh-Hans", why="该时段的会议室已被预订。", alternatives=[], **kw)
    assert hans.split("\n") == [
        "很抱歉，我们未能为您预订“Board meeting”（2026年12月3日（星期四）14:00–16:00）。",
        "该时段的会议室已被预订。",
        "请回复其他时间或致电我们，我们会为您另觅会议室。",
    ]


def test_a_series_rejection_lists_the_meetings_already_booked():
    clash = [(hk(10, 14), hk(10, 16))]
    text = messages.rejected_text(
        "zh-Hant", name="n", requested=(hk(3, 14), hk(3, 16)), why="…", conflicts=clash, alternatives=[], tz=HK
    )
    assert "已被預訂的場次：\n- 2026年12月10日（星期四）14:00–16:00" in text


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        (
            "en",
            [
                "A reminder of your upcoming meeting Board meeting: Thursday 3 December 2026, 14:00–16:00, "
                "Harbour Room (3/F).",
                "Equipment ready for you: projector, audio system.",
                "Agenda: Budget",
                "Please bring: Annual report",
                "Please reply CONFIRM if the meeting goes ahead, CANCEL to cancel it, or CHANGE to change it "
                "(reference b-1).",
            ],
        ),
        (
            "zh-Hant",
            [
                "提醒您即將舉行的會議「Board meeting」：2026年12月3日（星期四）14:00–16:00，Harbour Room（3/F）。",
                "已為您準備的設備：投影儀、音響。",
                "議程：Budget",
                "請攜帶：Annual report",
                "請回覆「確認」表示會議如期舉行，回覆「取消」取消會議，或回覆「更改」修改安排（預訂編號 b-1）。",
            ],
        ),
        (
            "zh-Hans",
            [
                "提醒您即将举行的会议“Board meeting”：2026年12月3日（星期四）14:00–16:00，Harbour Room（3/F）。",
                "已为您准备的设备：投影仪、音响。",
                "议程：Budget",
                "请携带：Annual report",
                "请回复“确认”表示会议如期举行，回复“取消”取消会议，或回复“更改”修改安排（预订编号 b-1）。",
            ],
        ),
    ],
)
def test_the_reminder_in_each_language(lang, expected):
    text = messages.reminder_text(
        lang,
        name="Board meeting",
        room=HARBOUR,
        start=hk(3, 14),
        end=hk(3, 16),
        equipment_booked=["projector", "audio"],
        agenda="Budget",
        materials="Annual report",
        reference="b-1",
        tz=HK,
    )
    assert text.split("\n") == expected


def test_a_reminder_without_agenda_or_materials_leaves_them_out():
    text = messages.reminder_text(
        "en", name="n", room=Place("Hall"), start=hk(3, 14), end=hk(3, 16), equipment_booked=[], agenda=None,
        materials=None, reference="b", tz=HK,
    )  # fmt: skip
    assert "Agenda" not in text and "bring" not in text
    assert "Equipment ready for you: none." in text
