"""What a free-text message is about: intent and, for complaints, category. Rules, no ML.

``classify(text, subject)`` scores the message against the curated lexicon in
:mod:`services.intake.lexicon` (Traditional, Simplified and English terms with weights), after
normalising it: full-width letters and punctuation become half-width (the part of NFKC that matters
here), lower case, Traditional folded to Simplified characters (the tables of
:mod:`services.intake.normalise`), runs of blanks collapsed. Mixed script (「我想book一間meeting room」)
needs nothing special: Chinese terms match anywhere, Latin terms as whole words. At one position the
longest term wins, so 取消政策 (an inquiry) shadows 取消 and "book again" (feedback) shadows "book".

Decisions, in order (each one documented because a reader will ask):

- **Negation.** A term with a negator a few characters (Chinese: 不需要, 沒有, 無需, 唔使, 不是 …) or
  up to three words (English: not, no, don't, no need to …) before it in the same clause does not count
  as itself. A negated cancellation (不需要取消, don't cancel) says the booking stands: it counts for
  ``booking_request``. A negated complaint (不是投訴, 沒有不滿, not complaining) makes the message
  explicitly *not* a complaint: the problems it mentions count as feedback. Negated praise (不是很滿意,
  not satisfied) counts for a complaint; a negated booking (不用訂了) leans to a cancellation. Question
  forms (可不可以, 有沒有) and compounds (非常, 不過, 唔該, 不好意思) are not negations.
- **Complaints first.** A message with clear complaint evidence (score ≥ 3: 投訴, 壞了, 太差, rude,
  unacceptable …) is a complaint whatever else it mentions: a complaint about a booking, 「謝謝，但是投影機
  壞了」, "thank you, but the projector was broken", and a cancellation *because* of a failure all go to
  the complaint process (which has a response deadline and may not lose a case; the handler also
  cancels). A contrast word (但是, but, however) after politeness adds weight to what follows.
- **Withdrawing a complaint** (撤回投訴, "cancel my complaint", 「之前的投訴…麻煩撤回」) is neither a new
  complaint nor a booking cancellation: ``other`` (an agent closes the existing case).
- **Reschedule is a booking change** (改期, 改時間, 延期, reschedule, postpone, move …):
  ``booking_request``. When a message both cancels and reschedules, the later of the two is the
  customer's final word: "cancel Tuesday and rebook Thursday" is a booking change, 「本來想改期，但排不開，
  那就取消吧」 is a cancellation; likewise 「說要取消…現在不需要取消了」 keeps the booking.
- **Questions** (嗎, ?, 請問, 是否, how, what …) are inquiries unless a stronger intent is stated: "could you
  reserve the boardroom on Friday?" is a booking request, "what is your cancellation policy?" an inquiry,
  and an explicit request (請取消, please cancel, 幫我訂) halves the weight of a question beside it ("please
  cancel our booking; is there a fee?" cancels). A room with a day and a head count and nothing else
  (「下週二…25人嘅房」) is a booking request; an availability question (是否有空, is … free) an inquiry.
- **Thanks** alone (謝謝, "ok thanks") is feedback; greetings, bare acknowledgements ("ok", 收到), spam,
  job applications, auto-replies and unsubscribe requests are ``other``, as is anything without a
  matching term (confidence 0.2). ``None`` or blank text is ``other`` with confidence 0.

Ties between equal scores go to complaint, cancellation, booking_request, inquiry, feedback, other, in
that order. ``confidence`` grows with the winning score and its margin over the runner-up.
Everything is compiled once at import: the terms are found by three trie-shaped regexes (Chinese, Latin,
other), the negators and clause ends by one pass each; a 2 kB message takes a few hundred microseconds.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from typing import Any, get_args

from shared.contract.common import Category, Intent

from . import lexicon as lx
from .normalise import TRAD_TO_SIMP

INTENTS: tuple[str, ...] = get_args(Intent)
CATEGORIES: tuple[str, ...] = get_args(Category)
# ties: the intents that must not be lost first (see above), then the contract's order
_FIRST_ON_TIES = ("complaint", "cancellation", "booking_request")
_TIE_ORDER = (*_FIRST_ON_TIES, *(i for i in INTENTS if i not in _FIRST_ON_TIES))
# a complaint's category on a tie: a broken thing first (the likeliest complaint), then the contract's order
_CATEGORY_TIE_ORDER = ("equipment_failure", *(c for c in CATEGORIES if c != "equipment_failure"))
COMPLAINT_THRESHOLD = 3.0


@dataclass(frozen=True, slots=True)
class Classification:
    intent: str
    confidence: float
    matched: tuple[str, ...] = ()  # lexicon terms found, in order; "not:" marks a negated one
    category: str | None = None  # complaints only, when the text tells


# -- normalisation -----------------------------------------------------------------------------------
# NFKC's part that matters here, as one translation: full-width ASCII (ＢＯＯＫ，？) to half-width, the
# ideographic space to a space, curly quotes to straight ones; plus Traditional folded to Simplified.
_WIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}
_QUOTES = {0x2018: 0x27, 0x2019: 0x27, 0x201C: 0x22, 0x201D: 0x22}
_FOLD = str.maketrans({**TRAD_TO_SIMP, **_WIDTH, **_QUOTES})
_NEEDS_FOLD = re.compile("[" + re.escape("".join(TRAD_TO_SIMP)) + "\uff01-\uff5e\u3000\u2018\u2019\u201c\u201d]")
_BLANKS = re.compile(r"[ \t\r\f\v\u00a0]+")
_ODD_BLANKS = re.compile(r"[\t\r\f\v\u00a0]")


def _fold(text: str) -> str:
    if _NEEDS_FOLD.search(text) is not None:  # most Simplified and English text needs no translation
        text = text.translate(_FOLD)
    text = text.lower()
    return _BLANKS.sub(" ", text) if "  " in text or _ODD_BLANKS.search(text) else text


# -- the compiled lexicon --------------------------------------------------------------------------
# signals
BOOK, RESCHED, CANCEL, META, PROBLEM, INQ, QUESTION, PRAISE, FEEDBACK, OTHER, WITHDRAW, WITHDRAW_HINT = range(12)
NEUTRAL, CONTRAST = 12, 13
_NEGATABLE = frozenset({BOOK, RESCHED, CANCEL, META, PROBLEM, PRAISE, FEEDBACK, INQ})
Effect = tuple[int, float, str | None]  # signal, weight, complaint category
Hit = tuple[str, tuple[Effect, ...], bool]  # what to show, effects, whether negation can change them


def _is_latin(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


def _is_cjk(ch: str) -> bool:
    return "\u3400" <= ch <= "\u9fff"


@dataclass
class _Lexicon:
    exact: dict[str, Hit]  # folded spelling -> hit
    stems: dict[str, Hit]  # folded prefix of a starred spelling -> hit
    regexes: tuple[re.Pattern[str], ...]  # Chinese terms, Latin terms (whole words), the rest

    def lookup(self, found: str) -> Hit | None:
        hit = self.exact.get(found)
        if hit is not None:
            return hit
        for end in range(len(found), 0, -1):
            hit = self.stems.get(found[:end])
            if hit is not None:
                return hit
        return None

    def scan(self, text: str) -> list[re.Match[str]]:
        found: list[re.Match[str]] = []
        for regex in self.regexes:
            found.extend(regex.finditer(text))
        if len(self.regexes) > 1:
            found.sort(key=re.Match.start)
        return found


def _spellings(entry: str) -> list[str]:
    return [s.strip() for s in entry.split("|") if s.strip()]


def _trie(words: dict[str, bool]) -> dict[str, Any]:
    trie: dict[str, Any] = {}
    for word, star in words.items():
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        end = "[a-z]*(?![a-z0-9])" if star else ("(?![a-z0-9])" if _is_latin(word[-1]) else "")
        if node.get("") is None or star:  # listed both plain and starred: the starred (wider) end
            node[""] = end
    return trie


def _trie_pattern(node: dict[str, Any]) -> str:
    """A regex alternation shaped as a trie, longer spellings first."""
    branches = [re.escape(ch) + _trie_pattern(child) for ch, child in sorted(node.items()) if ch]
    if "" in node:
        branches.append(node[""])
    return branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"


def _scanner(trie: dict[str, Any], *, latin: bool = False, fan: int = 4) -> re.Pattern[str]:
    """The trie as one regex that ``re`` runs fast. ``re`` tries the branches of an alternation one by
    one, and Chinese terms start with hundreds of different characters: that pattern opens with a
    character set (the engine skips, in C, every position where no term starts) and then narrows the
    consumed character down by ranges (look-behinds), ``fan`` at a time. Latin terms start with a few
    dozen letters: a plain alternation after a word-start check (which fails fast inside words)."""
    if latin:
        return re.compile(f"(?<![a-z0-9])(?:{_trie_pattern(trie)})")
    firsts = sorted(ch for ch in trie if ch)
    items = [(ch, f"(?<={re.escape(ch)})" + _trie_pattern(trie[ch])) for ch in firsts]
    return re.compile(f"[{''.join(re.escape(ch) for ch in firsts)}]{_narrow(items, fan)}")


def _narrow(items: list[tuple[str, str]], fan: int) -> str:
    if len(items) <= fan:
        out = [pattern for _, pattern in items]
    else:
        size = -(-len(items) // fan)
        out = []
        for i in range(0, len(items), size):
            chunk = items[i : i + size]
            out.append(f"(?<=[{re.escape(chunk[0][0])}-{re.escape(chunk[-1][0])}]){_narrow(chunk, fan)}")
    return out[0] if len(out) == 1 else "(?:" + "|".join(out) + ")"


def _compile(groups: list[tuple[int, tuple[lx.Entry, ...], str | None]]) -> _Lexicon:
    effects: dict[tuple[str, bool], dict[tuple[int, str | None], float]] = {}
    display: dict[tuple[str, bool], str] = {}
    for signal, entries, category in groups:
        for entry, weight in entries:
            for spelling in _spellings(entry):
                star = spelling.endswith("*") and spelling[:-1].isascii()
                key = (_fold(spelling[:-1] if star else spelling), star)
                display.setdefault(key, spelling)
                slot = effects.setdefault(key, {})
                slot[(signal, category)] = max(weight, slot.get((signal, category), 0.0))
    exact: dict[str, Hit] = {}
    stems: dict[str, Hit] = {}
    for (word, star), slot in effects.items():
        found = tuple((s, w, c) for (s, c), w in slot.items() if s != NEUTRAL)
        hit = (display[(word, star)], found, any(s in _NEGATABLE for s, _, _ in found))
        (stems if star else exact)[word] = hit
    cjk = {w: s for (w, s) in effects if _is_cjk(w[0])}
    latin = {w: s for (w, s) in effects if _is_latin(w[0])}
    rest = {w: s for (w, s) in effects if not _is_cjk(w[0]) and not _is_latin(w[0])}
    regexes = [_scanner(_trie(cjk))] if cjk else []
    if latin:
        regexes.append(_scanner(_trie(latin), latin=True))  # whole words
    if rest:
        regexes.append(_scanner(_trie(rest)))
    return _Lexicon(exact, stems, tuple(regexes))


def _groups() -> list[tuple[int, tuple[lx.Entry, ...], str | None]]:
    groups: list[tuple[int, tuple[lx.Entry, ...], str | None]] = [
        (BOOK, lx.BOOKING, None),
        (RESCHED, lx.RESCHEDULE, None),
        (CANCEL, lx.CANCELLATION, None),
        (META, lx.COMPLAINT_META, None),
        (INQ, lx.INQUIRY, None),
        (QUESTION, lx.QUESTION, None),
        (PRAISE, lx.PRAISE, None),
        (FEEDBACK, lx.FEEDBACK, None),
        (OTHER, lx.OTHER, None),
        (WITHDRAW, lx.WITHDRAW_COMPLAINT, None),
        (WITHDRAW_HINT, lx.WITHDRAW_HINTS, None),
        (NEUTRAL, tuple((entry, 0.0) for entry in lx.NEUTRAL), None),
        (CONTRAST, ((lx.CONTRAST, 0.0),), None),
    ]
    groups += [(PROBLEM, entries, category) for category, entries in lx.COMPLAINT.items()]
    return groups


_LEX = _compile(_groups())
_HINTS = _compile([(PROBLEM, ((terms, 1.0),), category) for category, terms in lx.CATEGORY_HINTS.items()])


def _alternation(entry: str) -> str:
    return "|".join(re.escape(_fold(s)) for s in sorted(_spellings(entry), key=len, reverse=True))


# -- negation ----------------------------------------------------------------------------------------
_DELIMITERS = re.compile(r"[.,!?;:\n。、…()\[\]「」『』【】\"]")
_NOT_NEGATION = re.compile(_alternation(lx.NOT_NEGATIONS))  # 非常, 不過, 唔該 …
_NEG_ZH = re.compile(_alternation(lx.NEGATORS_ZH))
_NEG_EN = _scanner(_trie({_fold(w): False for w in _spellings(lx.NEGATORS_EN)}), latin=True)
_EN_WORD = re.compile(r"[a-z']+")
_CJK_CHAR = re.compile(r"[\u3400-\u9fff]")


class _Negation:
    """Where the clauses and the negators of one message are, found once; then, for a term starting at
    ``start``: is there a negator right before it in its clause (Chinese: at most three characters
    between, none of them Latin; English: at most three words between)?"""

    def __init__(self, text: str, terms: list[tuple[int, int]]) -> None:
        self.text = text
        self.cuts = [m.end() for m in _DELIMITERS.finditer(text)]
        # 非常, 唔該 … and a negator inside a term (did not work, 不滿) negate nothing after them
        inside = [(lo, hi) for lo, hi in terms if hi - lo > 1]
        shielded = [m.span() for m in _NOT_NEGATION.finditer(text)]
        self.zh = [
            (lo, hi)
            for lo, hi in (m.span() for m in _NEG_ZH.finditer(text))
            if not any(a < hi and lo < b for a, b in shielded)
            and not (hi - lo == 1 and 0 < lo and hi < len(text) and text[lo - 1] == text[hi])  # 可不可以, 有没有
            and not any(a <= lo and hi <= b for a, b in inside)
        ]
        self.zh_starts = [lo for lo, _ in self.zh]
        self.en = [
            (lo, hi)
            for lo, hi in (m.span() for m in _NEG_EN.finditer(text))
            if not any(a <= lo and hi <= b for a, b in inside)
        ]
        self.en_starts = [lo for lo, _ in self.en]

    def negated(self, start: int) -> bool:
        i = bisect_right(self.cuts, start) - 1
        clause = self.cuts[i] if i >= 0 else 0
        text = self.text
        i = bisect_left(self.zh_starts, start) - 1  # the last negator starting before
        if i >= 0:
            lo, end = self.zh[i]
            if lo >= clause and start - end <= 3 and not _EN_WORD.search(text, end, max(end, start)):
                return True
        i = bisect_left(self.en_starts, start) - 1
        if i >= 0:
            lo, end = self.en[i]
            if lo >= clause and start - end <= 40 and _CJK_CHAR.search(text, end, start) is None:
                return len(_EN_WORD.findall(text, end, start)) <= 3
        return False


def _is_word(ch: str) -> bool:
    return ch.isascii() and (ch.isalnum() or ch == "'")


# -- withdrawing a complaint, booking details -------------------------------------------------------------
_COMPLAINT_WORD = "|".join(
    re.escape(_fold(w.rstrip("*"))) + ("[a-z]*" if w.endswith("*") else "")
    for entry, _ in lx.COMPLAINT_META
    for w in _spellings(entry)
)
_GAP = r"[^\w.,!?;:\n。、]"  # between words, within a clause
_WITHDRAWAL = re.compile(  # a word boundary before it is checked by the caller
    f"(?:{_alternation(lx.WITHDRAW_VERBS)})(?:[^.,!?;:\\n。、]{{0,6}}|(?:{_GAP}+[a-z']+){{0,3}}{_GAP}*)(?:{_COMPLAINT_WORD})"
)
_QUOTED = re.compile(r"^[ \t]*>.*$\n?", re.MULTILINE)
_ROOM = re.compile(r"房|会议室|厅|场地|会场|(?<![a-z])(?:room|venue|hall|space)(?![a-z])")
# Concrete booking details (date, time, head count) back a booking request (text already folded).
_DETAILS = re.compile(
    r"\d+\s*(?:人|位|个人|pax|people|persons|ppl|attendees|participants|guests)|\d{1,2}\s*(?:am|pm|点|:\d\d)"
    r"|明天|明早|听日|后天|下周|下星期|下礼拜|星期[一二三四五六日天]|周[一二三四五六日]|礼拜[一二三四五六日]"
    r"|\d{1,2}月\d{1,2}[日号]|(?<![a-z])(?:tomorrow|tmrw|tmr|next week|monday|tuesday|wednesday|thursday"
    r"|friday|saturday|sunday)(?![a-z])"
)


# -- classification ----------------------------------------------------------------------------------
def classify(text: str | None, subject: str | None = None) -> Classification:
    """The intent of a customer's message (and its complaint category), from its text and subject."""
    if text and ">" in text:  # a quoted earlier message (> …) is not what this one says
        unquoted = _QUOTED.sub("", text)
        text = unquoted if unquoted.strip() else text
    parts = [p for p in (subject, text) if p and p.strip()]
    if not parts:
        return Classification("other", 0.0, (), None)
    folded = _fold("\n".join(parts))
    found = [(m.start(), m.end(), hit) for m in _LEX.scan(folded) if (hit := _LEX.lookup(m.group())) and hit[1]]

    score = dict.fromkeys(INTENTS, 0.0)
    meta = problem = question = withdraw = withdraw_hint = praise_negated = 0.0
    not_complaint = explicit_request = contrast = False
    last_cancel = last_resched = last_keep = -1
    categories: dict[str, float] = {}
    matched: list[str] = []
    negation: _Negation | None = None
    withdrawals: list[tuple[int, int]] = []
    if any(signal == META for _, _, hit in found for signal, _, _ in hit[1]):
        withdrawals = [
            w.span() for w in _WITHDRAWAL.finditer(folded) if w.start() == 0 or not _is_word(folded[w.start() - 1])
        ]

    # a neutral phrase (no effects) was dropped above: it only shadows the terms inside it
    for start, end, (shown, effects, negatable) in found:
        if effects[0][0] == CONTRAST:  # 但是, but: weighs what follows, is no term of its own
            contrast = True
            continue
        negated = False
        if negatable:
            negation = negation or _Negation(folded, [(lo, hi) for lo, hi, _ in found])
            negated = negation.negated(start)
        matched.append(f"not:{shown}" if negated else shown)
        in_withdrawal = bool(withdrawals) and any(lo < end and start < hi for lo, hi in withdrawals)
        for signal, weight, category in effects:
            if in_withdrawal and signal in (CANCEL, META):
                continue  # 取消我的投訴 / cancel my complaint: neither cancels a booking nor complains
            if negated:
                if signal == CANCEL and weight >= 3:
                    last_keep = start  # 不需要取消, don't cancel: the booking stands
                elif signal == META or (signal == PROBLEM and category is None and weight >= 3):
                    not_complaint = True  # 不是投訴, 沒有不滿, not complaining, not unhappy
                elif signal == PRAISE:
                    praise_negated += min(weight, 2.0)
                elif signal == BOOK:
                    score["cancellation"] += 1.0  # 不用訂了, no need to book anymore
                continue
            if signal in (BOOK, CANCEL) and weight >= 4:
                explicit_request = True  # 幫我訂, 請取消, please cancel: not merely a question
            if signal == BOOK:
                score["booking_request"] += weight
            elif signal == RESCHED:
                score["booking_request"] += weight
                last_resched = start if weight >= 2 else last_resched
            elif signal == CANCEL:
                score["cancellation"] += weight
                last_cancel = start if weight >= 3 else last_cancel
            elif signal == META:
                meta += weight
            elif signal == PROBLEM:
                problem += weight
                if category:
                    categories[category] = categories.get(category, 0.0) + weight
            elif signal == INQ:
                score["inquiry"] += weight
            elif signal == QUESTION:
                question += weight
            elif signal in (PRAISE, FEEDBACK):
                score["feedback"] += weight
            elif signal == OTHER:
                score["other"] += weight
            elif signal == WITHDRAW:
                withdraw += weight
            elif signal == WITHDRAW_HINT:
                withdraw_hint += weight

    # withdrawing a complaint: the word 投訴/complaint no longer speaks for a new one
    if withdrawals:
        withdraw += 4.0
        matched.append("withdraw:complaint")
    if withdraw or (withdraw_hint and meta):
        score["other"] += withdraw + (withdraw_hint if meta else 0.0) + meta
        meta = 0.0
    if not_complaint:  # 不是投訴, 只是… / not complaining, just…: the problems are feedback
        score["feedback"] += 2.0 + problem / 2
        meta = problem = praise_negated = 0.0
    complaint = meta + problem + praise_negated
    if complaint and contrast:
        complaint += 1.0
    score["complaint"] = complaint
    score["inquiry"] += min(question, lx.QUESTION_CAP)
    if explicit_request:  # "please cancel our booking. Is there a fee?" cancels, and asks on the side
        score["inquiry"] /= 2
    if last_keep >= 0:
        score["booking_request"] += 2.0
        if last_keep > last_cancel:  # 「說要取消…現在不需要取消了」: the later word is the final one
            score["cancellation"] = 0.0
    if last_cancel >= 0 and last_resched >= 0:  # the later word is the final one
        if last_resched > last_cancel:
            score["cancellation"] = 0.0
        else:
            score["booking_request"] = max(0.0, score["booking_request"] - 3.0)
    if score["booking_request"] > 0 and _DETAILS.search(folded):
        score["booking_request"] += 1.0
    elif max(score.values()) < 2 and not score["cancellation"] and _DETAILS.search(folded) and _ROOM.search(folded):
        score["booking_request"] += 2.0  # a room, a day, a head count and nothing else: a booking request

    if complaint >= COMPLAINT_THRESHOLD:
        intent = "complaint"
    else:
        intent = max(_TIE_ORDER, key=lambda k: (score[k], -_TIE_ORDER.index(k)))
    top = score[intent]
    if top <= 0:
        return Classification("other", 0.2, tuple(dict.fromkeys(matched)), None)
    second = max(v for k, v in score.items() if k != intent)
    margin = max(0.0, top - second) / top
    confidence = round(top / (top + 2.0) * (0.5 + 0.5 * margin), 3)
    category = _category(folded, categories, matched) if intent == "complaint" else None
    return Classification(intent, confidence, tuple(dict.fromkeys(matched)), category)


def _category(folded: str, categories: dict[str, float], matched: list[str]) -> str | None:
    votes = dict(categories)
    for m in _HINTS.scan(folded):
        hit = _HINTS.lookup(m.group())
        if hit is None:  # pragma: no cover - every match is a lexicon spelling
            continue
        shown, effects, _ = hit
        matched.append(shown)
        for _, weight, category in effects:
            if category:
                votes[category] = votes.get(category, 0.0) + weight
    if not votes:
        return None
    return max(_CATEGORY_TIE_ORDER, key=lambda c: (votes.get(c, 0.0), -_CATEGORY_TIE_ORDER.index(c)))
