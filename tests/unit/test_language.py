"""Language detection: zh-Hant, zh-Hans, en or other, on the labelled corpus and targeted cases."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.intake import normalise
from services.intake.normalise import TRAD_TO_SIMP, detect_language

CORPUS = Path(__file__).resolve().parents[1] / "data" / "intent_corpus.jsonl"
LANGUAGES = ("zh-Hant", "zh-Hans", "en")


def test_corpus_language_labels():
    rows = [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]
    total, right, misses = Counter(), Counter(), []
    for row in rows:
        text = " ".join(p for p in (row["subject"], row["text"]) if p)
        got = detect_language(text)
        total[row["language"]] += 1
        right[row["language"]] += got == row["language"]
        if got != row["language"]:
            misses.append((row["language"], got, row["text"]))
    print(f"\n{'language':<12}{'right':>7}{'total':>7}{'accuracy':>10}")
    for lang in LANGUAGES:
        print(f"{lang:<12}{right[lang]:>7}{total[lang]:>7}{right[lang] / total[lang]:>10.3f}")
    overall = sum(right.values()) / sum(total.values())
    print(f"{'overall':<12}{sum(right.values()):>7}{sum(total.values()):>7}{overall:>10.3f}")
    for expected, got, text in misses:
        print(f"  miss: expected {expected}, got {got}: {text}")
    assert overall >= 0.95
    assert all(right[lang] / total[lang] >= 0.95 for lang in LANGUAGES)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # the two scripts, by the characters whose form differs
        ("我想預訂會議室，下週三下午兩點", "zh-Hant"),
        ("我想预订会议室，下周三下午两点", "zh-Hans"),
        ("投影機壞了，請盡快處理", "zh-Hant"),
        ("投影仪坏了，请尽快处理", "zh-Hans"),
        ("這個價錢包括茶點嗎", "zh-Hant"),
        ("这个价钱包括茶点吗", "zh-Hans"),
        ("服務態度很差，我要投訴", "zh-Hant"),
        ("服务态度很差，我要投诉", "zh-Hans"),
        # Hong Kong: Cantonese and Hong Kong forms
        ("係咪聽日朝早十點？", "zh-Hant"),
        ("會議室裏面好凍", "zh-Hant"),
        ("個咪壞咗", "zh-Hant"),
        # Taiwan
        ("請問從捷運站過去要走幾分鐘？", "zh-Hant"),
        # mixed script is Chinese
        ("我想book一間meeting room", "zh-Hant"),
        ("我想book一间meeting room", "zh-Hans"),
        ("幫我cancel咗聽日間房唔該", "zh-Hant"),
        ("cancel掉明天的会议室，谢谢", "zh-Hans"),
        ("個projector同HDMI cable都用唔到", "zh-Hant"),
        # a Chinese sentence with an English signature is Chinese; a Chinese name in English is English
        ("取消明天的會議 Thanks Peter Wong Senior Manager ABC Holdings Ltd", "zh-Hant"),
        ("Please call 陳大文 about the booking tomorrow afternoon", "en"),
        ("We'd like the 海景廳 on Friday for 20 people", "en"),
        # English, full-width English
        ("I would like to book a meeting room next Wednesday", "en"),
        ("ＰＬＥＡＳＥ　ＣＡＮＣＥＬ", "en"),
        ("ok thanks", "en"),
        # other
        ("会議室を予約したいです", "other"),  # Japanese: kana
        ("회의실을 예약하고 싶습니다", "other"),  # Korean
        ("12345 67890", "other"),
        ("👍👍", "other"),
        ("", "other"),
        (None, "other"),
        ("Привет, можно забронировать зал?", "other"),
    ],
)
def test_detect_language(text, expected):
    assert detect_language(text) == expected


def test_text_written_the_same_in_both_scripts_gets_the_default():
    for text in ("你好", "取消", "好的"):
        assert detect_language(text) == "zh-Hant"
        assert detect_language(text, default_chinese="zh-Hans") == "zh-Hans"


def test_a_clear_script_wins_over_the_default():
    assert detect_language("我想预订会议室", default_chinese="zh-Hant") == "zh-Hans"
    assert detect_language("我想預訂會議室", default_chinese="zh-Hans") == "zh-Hant"


def test_characters_used_in_both_scripts_do_not_decide():
    # 后 台 里 干 周 面 只 几 are also Traditional characters; 著 乾 於 also Simplified ones
    assert detect_language("台北周末", default_chinese="zh-Hans") == "zh-Hans"
    assert detect_language("台北周末") == "zh-Hant"
    assert detect_language("著名的乾杯") == "zh-Hant"


def test_the_character_tables_are_consistent():
    traditional, simplified = normalise._TRADITIONAL, normalise._SIMPLIFIED
    assert len(traditional) > 1500 and len(simplified) > 1000
    assert not traditional & simplified
    assert all(t != s for t, s in TRAD_TO_SIMP.items())
    assert not set(TRAD_TO_SIMP) & simplified
    for common in "們會議預訂說這時點個麼請謝號間為來對與還後開關電話題問務滿處費東網郵場備設燈條調應錄確認週幾張類":
        assert common in traditional, common
    for common in "们会议预订说这时点个么请谢号间为来对与还开关电话题问务满处费东网邮场备设灯条调应录认张类":
        assert common in simplified, common
    for shared in "后台里干周面只你好我的是":
        assert shared not in simplified and shared not in traditional, shared


@settings(max_examples=300, deadline=None)
@given(text=st.one_of(st.none(), st.text(max_size=300)))
def test_arbitrary_text_never_raises(text):
    assert detect_language(text) in ("zh-Hant", "zh-Hans", "en", "other")
    assert detect_language(text, default_chinese="zh-Hans") in ("zh-Hant", "zh-Hans", "en", "other")
