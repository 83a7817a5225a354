"""Normalisation of who wrote and in which language: plain functions, no I/O."""

from __future__ import annotations

import re

import phonenumbers
from email_validator import EmailNotValidError, validate_email


class InvalidIdentity(ValueError):
    pass


def normalise_email(raw: str | None) -> str | None:
    """Lower-cased, syntax-checked address (no DNS look-up); None if absent."""
    if raw is None or not raw.strip():
        return None
    try:
        result = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise InvalidIdentity(f"not a valid email address: {exc}") from None
    return result.normalized.lower()


def normalise_phone(raw: str | None, default_region: str) -> str | None:
    """E.164 (``+85221234567``), reading national forms in ``default_region``; None if absent."""
    if raw is None or not raw.strip():
        return None
    text = raw.strip()
    # "00852 …" is ambiguous where 008 is itself an international prefix (Hong Kong): try the
    # national reading and the "+852" reading, and keep the one that is a valid number.
    attempts = [(text, default_region)]
    if text.startswith("00"):
        attempts.append(("+" + text[2:], None))
    error = "not a valid phone number"
    for candidate, region in attempts:
        try:
            number = phonenumbers.parse(candidate, region)
        except phonenumbers.NumberParseException as exc:
            error = f"not a phone number: {exc}"
            continue
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    raise InvalidIdentity(error)


# Characters whose form differs between the scripts, common in this domain's messages.
_TRADITIONAL = set(
    "們會議預訂說這時點個麼請謝號間為來對與還後開關電話題問務滿處費東網郵場備設燈議條調應錄確認"
    "週幾張類實體離邊難覺聽見現樣讓從當樓層廳據單價飯餐廳嗎鐘際記資陳劉楊黃趙吳"
)
_SIMPLIFIED = set(
    "们会议预订说这时点个么请谢号间为来对与还后开关电话题问务满处费东网邮场备设灯议条调应录确认"
    "周几张类实体离边难觉听见现样让从当楼层厅据单价饭餐厅吗钟际记资陈刘杨黄赵吴"
)
_TRADITIONAL, _SIMPLIFIED = _TRADITIONAL - _SIMPLIFIED, _SIMPLIFIED - _TRADITIONAL
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[A-Za-z]")


def detect_language(text: str | None, *, default_chinese: str = "zh-Hant") -> str:
    """zh-Hant, zh-Hans, en or other. Chinese wins over Latin when it is a fair share of the text
    (mixed messages such as 「我想book一間房」 are Chinese)."""
    if not text:
        return "other"
    cjk = len(_CJK.findall(text))
    latin = len(_LATIN.findall(text))
    if cjk == 0:
        return "en" if latin >= 2 else "other"
    if cjk * 3 < latin:  # a Chinese name in an English message
        return "en"
    trad = sum(ch in _TRADITIONAL for ch in text)
    simp = sum(ch in _SIMPLIFIED for ch in text)
    if trad > simp:
        return "zh-Hant"
    if simp > trad:
        return "zh-Hans"
    return default_chinese
