"""The customer's answer to a question intake knows was asked (the day-before reminder): confirm,
cancel or change — or no answer at all. Plain Python, no I/O.

``read_answer(text)`` is deliberately conservative: a wrong "cancel" loses a customer's meeting, a
missed one only leaves the message to an agent. A message counts as an answer only when it is short
and made *entirely* of phrases from the lexicon below, all of one kind:

- the text is folded as the classifier folds it (NFKC: full-width to half-width; lower case;
  Traditional to Simplified characters, so 確認 and 确认 are one phrase), and a mobile mail signature
  ("Sent from my iPhone", 發自我的iPhone) on the last line is dropped;
- a question mark anywhere, a digit, or any word or character outside the lexicon (a date, a name,
  a negation: 不取消, "don't cancel", 唔使改) makes it no answer; so does a message longer than
  :data:`MAX_CHARS` or :data:`MAX_UNITS` words/characters;
- politeness (thanks, please, 謝謝, 唔該, 麻煩, particles like 吧 啦 喇) is allowed around an answer but
  is no answer by itself;
- an assent (yes, ok, 好, 是, 👍) alone is a confirmation; beside an explicit cancel or change it only
  agrees with it ("ok, cancel it", 好的，改期). An assent that may also open a question or a condition
  (可以, sure, fine: 可以取消 is often "may I cancel") is a confirmation alone and no answer beside
  anything explicit; two different explicit kinds ("confirm, change") are no answer.

Latin words are matched as whole words, Chinese phrases character by character; a phrase may span
both (``ok 好``). Every way of cutting the message into phrases must give the same answer.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from typing import Literal

from .normalise import TRAD_TO_SIMP

Reply = Literal["confirm", "cancel", "change"]
REPLIES: tuple[Reply, ...] = ("confirm", "cancel", "change")

MAX_CHARS = 80  # of the folded text; an answer to a reminder is a word or two, not a paragraph
MAX_UNITS = 16  # Latin words + Chinese characters

# -- the lexicon: "spelling|spelling|…" per line; Latin phrases are words separated by blanks ------------
CONFIRM = """
    confirm|confirmed|confirming|i confirm|we confirm|confirm it|confirm attendance|attendance confirmed|
    confirm the meeting|confirm the booking|confirm booking|confirm our booking|confirm my booking|
    will attend|we will attend|i will attend|we'll attend|attending|we are attending|we're attending|
    will be there|we will be there|we'll be there|i will be there|i'll be there|we will come|we are coming|
    we're coming|i'm coming|i am coming|see you tomorrow|see you then|see you|see u|still on|we are still on|
    we're still on|still going ahead|going ahead|go ahead|all good|all set|sounds good|no problem|correct|agreed|
    確認|确认|確定|确定|確認出席|确认出席|確認會議|确认会议|確認預訂|确认预订|確認預約|确认预约|確認無誤|确认无误|
    出席|會出席|会出席|會到|会到|會去|会去|會來|会来|會嚟|会嚟|一定到|一定會到|一定会到|準時|准时|準時到|准时到|
    準時出席|准时出席|沒問題|没问题|冇問題|冇问题|無問題|无问题|照舊|照旧|照常|如期|如期舉行|如期举行|
    明天見|明天见|聽日見|听日见|到時見|到时见
"""
ASSENT = """
    yes|yep|yeah|yup|y|ok|okay|k|kk|alright|
    好|好的|好啊|好呀|好喔|好嘅|是|是的|係|係呀|对|對|对的|對的|
    👍|👌|✅|强|強
"""
# assent that may also introduce a question or a condition (可以取消 is often "can I cancel"): a
# confirmation alone, no answer beside anything explicit
ASSENT_ALONE = """
    sure|fine|可以|行|得
"""
CANCEL = """
    cancel|cancel it|cancel that|cancelled|canceled|cancel the booking|cancel booking|cancel my booking|
    cancel our booking|cancel the meeting|cancel meeting|cancel our meeting|cancel the reservation|
    cancel reservation|cancel my reservation|cancel our reservation|i want to cancel|i'd like to cancel|
    we'd like to cancel|i need to cancel|we need to cancel|we have to cancel|i have to cancel|
    can't make it|cant make it|cannot make it|can not make it|we can't make it|we cannot make it|
    won't make it|we won't make it|not coming|we're not coming|we are not coming|i'm not coming|
    won't be coming|we won't be coming|won't attend|we won't attend|will not attend|not attending|
    we are not attending|meeting cancelled|meeting canceled|call it off|call off|
    取消|要取消|想取消|取消預訂|取消预订|取消預約|取消预约|取消會議|取消会议|取消訂房|取消订房|會議取消|会议取消|
    取消咗|唔去了|唔去喇|唔去啦|唔去|不去了|不去|去不了|去唔到|來不了|来不了|唔嚟了|唔嚟喇|唔嚟|
    不來了|不来了|唔來了|唔来了|
    ❌
"""
CHANGE = """
    change|change it|change the time|change the date|change time|change date|change the booking|
    change booking|change the meeting|change of time|change of date|i want to change|i'd like to change|
    we'd like to change|i need to change|we need to change|reschedule|reschedule it|we need to reschedule|
    i need to reschedule|i'd like to reschedule|we'd like to reschedule|postpone|postpone it|postponed|
    move it|move the meeting|another day|another time|different time|different day|different date|
    modify|amend|
    改期|要改期|想改期|改時間|改时间|改日期|改天|改日|改一改|改一下|要改|想改|更改|更改時間|更改时间|
    更改日期|變更|变更|修改|延期|延後|延后|押後|押后|推遲|推迟|換時間|换时间|換日期|换日期|換個時間|
    换个时间|另約時間|另约时间|改約|改约|修改安排|更改安排|改安排
"""
# allowed around an answer, no answer by themselves (never a negation, never a question particle)
POLITE = """
    please|pls|plz|kindly|thanks|thank you|thank u|thanks a lot|many thanks|thx|ty|hi|hello|dear|i|we|just|
    sorry|
    謝謝|谢谢|多謝|多谢|唔該|唔该|麻煩|麻烦|麻煩你|麻烦你|麻煩晒|請|请|你好|您好|哈囉|哈啰|嗨|親|亲|
    幫我|帮我|幫手|帮手|幫忙|帮忙|不好意思|唔好意思|抱歉|
    我|我們|我们|我哋|想|要|了|吧|啦|喇|呀|啊|喔|哦|嗯|哈|囉|啰|咯|的
"""
# a mobile mail client's line at the end of a reply
_SIGNATURE = re.compile(
    r"\n\s*(sent from my .{1,40}|get outlook for .{1,20}|发自我的.{1,20}|从我的.{1,20}[发传]送)\s*$"
)
_UNIT = re.compile(r"[a-z]+(?:'[a-z]+)?|[\u3400-\u9fff]|[\U0001f44c\U0001f44d\u2705\u274c]")  # 👌 👍 ✅ ❌
# what may stand between the units: blanks and punctuation (not "?", not digits, no other script)
_BETWEEN = re.compile(
    r"[\s.,!;:~\-_()\[\]<>\"'`*…。，、！；：～（）【】「」『』《》“”"
    r"\u200b\ufe0f\U0001f3fb-\U0001f3ff]*"  # zero-width space, emoji presentation, skin tones
)
_FOLD = str.maketrans({**TRAD_TO_SIMP, "\u2018": "'", "\u2019": "'"})


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower().translate(_FOLD)


def _units(text: str) -> tuple[str, ...] | None:
    """The words and characters of ``text``, or None when something else stands between them."""
    units: list[str] = []
    at = _BETWEEN.match(text).end()  # type: ignore[union-attr]
    while at < len(text):
        m = _UNIT.match(text, at)
        if m is None:
            return None
        units.append(m.group())
        at = _BETWEEN.match(text, m.end()).end()  # type: ignore[union-attr]
    return tuple(units)


@cache
def _phrases() -> dict[tuple[str, ...], str]:
    """Each phrase, as a tuple of units, to its kind: confirm, cancel, change, assent, assent-alone or polite."""
    table: dict[tuple[str, ...], str] = {}
    blocks = {"polite": POLITE, "assent": ASSENT, "assent-alone": ASSENT_ALONE}
    for kind, block in (blocks | {"confirm": CONFIRM, "cancel": CANCEL, "change": CHANGE}).items():
        _add(table, kind, block)
    return table


@cache
def _longest() -> int:
    return max(map(len, _phrases()))


def _add(table: dict[tuple[str, ...], str], kind: str, block: str) -> None:
    for spelling in block.replace("\n", "").split("|"):
        spelling = spelling.strip()
        if not spelling:
            continue
        units = _units(_fold(spelling))
        assert units, f"unreadable lexicon spelling {spelling!r}"
        earlier = table.setdefault(units, kind)
        assert earlier == kind, f"{spelling!r} is both {earlier} and {kind}"


def read_answer(text: str | None) -> Reply | None:
    """confirm, cancel or change when ``text`` clearly is that answer and nothing else; else None."""
    if not text or len(text) > 2 * MAX_CHARS:  # room for a signature line; the rest is no answer either way
        return None
    folded = _SIGNATURE.sub("", _fold(text).strip()).strip()
    if not folded or len(folded) > MAX_CHARS or "?" in folded:
        return None
    units = _units(folded)
    if not units or len(units) > MAX_UNITS:
        return None
    verdicts = _verdicts(units)
    if len(verdicts) != 1:  # no way to read it, or two ways that disagree
        return None
    (verdict,) = verdicts
    return verdict


def _verdicts(units: tuple[str, ...]) -> set[Reply | None]:
    """The answer of every way of cutting ``units`` into lexicon phrases (None: a cut that is no answer)."""
    table = _phrases()
    longest = _longest()
    # kinds[i]: the sets of kinds found by the cuts of units[i:]
    kinds: list[set[frozenset[str]]] = [set() for _ in range(len(units))] + [{frozenset()}]
    for i in range(len(units) - 1, -1, -1):
        for j in range(i + 1, min(len(units), i + longest) + 1):
            kind = table.get(units[i:j])
            if kind is not None:
                kinds[i] |= {rest | {kind} for rest in kinds[j]}
    return {_verdict(found) for found in kinds[0]}


def _verdict(kinds: frozenset[str]) -> Reply | None:
    explicit = [k for k in REPLIES if k in kinds]
    if len(explicit) == 1 and "assent-alone" not in kinds:
        return explicit[0]
    if not explicit and ("assent" in kinds or "assent-alone" in kinds):
        return "confirm"
    return None
