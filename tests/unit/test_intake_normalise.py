"""Who wrote (email, phone in E.164) and in which language (zh-Hant, zh-Hans, en, other)."""

from __future__ import annotations

import pytest

from services.intake.normalise import InvalidIdentity, detect_language, normalise_email, normalise_phone

# -- email ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Tai.Man@Example.COM", "tai.man@example.com"),
        ("  chan.siu.ming@company.com.hk  ", "chan.siu.ming@company.com.hk"),
        ("WONG+booking@Mail.Example.ORG", "wong+booking@mail.example.org"),
    ],
)
def test_email_is_lower_cased_and_trimmed(raw, expected):
    assert normalise_email(raw) == expected


def test_the_same_address_written_differently_is_one_identity():
    assert normalise_email("Tai.Man@Example.COM") == normalise_email("tai.man@example.com ")


@pytest.mark.parametrize(
    "raw",
    ["not-an-email", "tai.man@", "@example.com", "tai man@example.com", "tai.man@@example.com", "tai.man@example"],
)
def test_invalid_email_raises(raw):
    with pytest.raises(InvalidIdentity):
        normalise_email(raw)


def test_invalid_identity_is_a_value_error():
    with pytest.raises(ValueError, match="not a valid email address"):
        normalise_email("not-an-email")


@pytest.mark.parametrize("raw", [None, "", "   "])
def test_absent_email_is_none(raw):
    assert normalise_email(raw) is None


# -- phone ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("+852 2123 4567", "HK", "+85221234567"),
        ("+852 2123 4567", "CN", "+85221234567"),  # an international form ignores the default region
        ("2123 4567", "HK", "+85221234567"),
        ("2123-4567", "HK", "+85221234567"),
        ("(852) 2123 4567", "HK", "+85221234567"),
        ("+852-2123-4567", "HK", "+85221234567"),
        ("13800138000", "CN", "+8613800138000"),
        ("+86 138 0013 8000", "HK", "+8613800138000"),
        ("(02) 2712-3456", "TW", "+886227123456"),
        ("0912-345-678", "TW", "+886912345678"),
    ],
)
def test_phone_is_normalised_to_e164(raw, region, expected):
    assert normalise_phone(raw, region) == expected


def test_a_national_number_is_read_in_the_default_region():
    assert normalise_phone("2123 4567", "HK") == "+85221234567"
    try:  # in Taiwan the same digits are no valid number at all, and never the Hong Kong one
        assert normalise_phone("2123 4567", "TW") != "+85221234567"
    except InvalidIdentity:
        pass


@pytest.mark.parametrize("raw", ["abc", "not a phone", "12", "+1", "hello123", "21234567890123456"])
def test_garbage_phone_raises(raw):
    with pytest.raises(InvalidIdentity):
        normalise_phone(raw, "HK")


@pytest.mark.parametrize("raw", [None, "", "   "])
def test_absent_phone_is_none(raw):
    assert normalise_phone(raw, "HK") is None


def test_international_prefix_00_is_never_turned_into_another_country():
    try:
        result = normalise_phone("00852 2123 4567", "HK")
    except InvalidIdentity:
        return
    assert result == "+85221234567"


# -- language ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("我想預訂會議室,下週三下午兩點", "zh-Hant"),
        ("我想预订会议室,下周三下午两点", "zh-Hans"),
        ("投影儀壞了,會議開始後一直沒有聲音,請盡快處理", "zh-Hant"),
        ("投影仪坏了,会议开始后一直没有声音,请尽快处理", "zh-Hans"),
        ("I would like to book a meeting room next Wednesday at 2pm", "en"),
        ("我想book一間會議室", "zh-Hant"),
        ("我想book一间会议室", "zh-Hans"),
        ("我想book一間meeting room,下週三", "zh-Hant"),  # more Latin letters than Chinese, still Chinese
        ("Please call 陳大文 about the booking tomorrow afternoon", "en"),
        ("", "other"),
        (None, "other"),
        ("12345 67890", "other"),
        ("👍👍", "other"),
    ],
)
def test_detect_language(text, expected):
    assert detect_language(text) == expected


def test_chinese_with_no_script_specific_characters_uses_the_default():
    # 「你好」 is written the same in both scripts
    assert detect_language("你好") == "zh-Hant"
    assert detect_language("你好", default_chinese="zh-Hans") == "zh-Hans"


def test_a_clear_script_wins_over_the_default():
    assert detect_language("我想预订会议室", default_chinese="zh-Hant") == "zh-Hans"
    assert detect_language("我想預訂會議室", default_chinese="zh-Hans") == "zh-Hant"
