"""Email channel: a raw RFC 5322 message (routing key ``email``) → one :class:`Normalised` item.

The message is parsed with the standard library (``BytesParser`` with ``email.policy.default``, each
header field parsed once per message).
Header values are taken as received (``raw_items``) and decoded with ``email.header.decode_header``
and ``email.utils.getaddresses`` so that every charset goes through one decoder of ours: the
policy's own decoders turn bytes a wrong or unknown charset cannot read into surrogates or U+FFFD
without saying so, and know nothing of GB2312 mail that is really GBK/GB18030.

Charsets: the declared one first (GB2312/GBK read as GB18030, Big5 also as CP950 and Big5-HKSCS);
when it is missing, unknown or wrong for non-ASCII bytes, UTF-8, then GB18030 and Big5, then
Latin-1, and the item is flagged ``charset_guessed``. Big5 text nearly always decodes as GB18030
too (as mojibake), so when both decode the one that reads as common Chinese wins (ties: GB18030).

Mail from machines (RFC 3834): a delivery report (bounce: ``multipart/report``, a
``message/delivery-status`` part, from ``MAILER-DAEMON`` or ``postmaster``) is no customer's message:
it becomes a ``delivery_failure`` item naming the address that failed and the returned message's
Message-ID (``notification.failed``), or a ``delivery_report`` item recorded only when nothing failed.
Other automatic, bulk or spam mail is read as usual and marked ``extra["automatic"]``
(:func:`machine_sent`): nothing automatic answers it.

Only input that can never be read is rejected: empty, not an email, no From address (except a
delivery report's), MIME nested deeper than :data:`MAX_DEPTH`.
"""

from __future__ import annotations

import codecs
import hashlib
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from email.header import decode_header
from email.headerregistry import HeaderRegistry
from email.message import Message
from email.parser import BytesParser
from email.policy import EmailPolicy
from email.utils import getaddresses, parsedate_to_datetime
from functools import lru_cache
from html.parser import HTMLParser
from typing import Any

from shared.contract.inbound import CustomerContact
from shared.runtime import Incoming, Rejected

from ..normalised import ChannelContext, Normalised

CHANNEL = "email"
MAX_DEPTH = 16  # MIME containers inside containers; real mail stays well under ten
FULL_TEXT_LIMIT = 100_000  # bytes of UTF-8 kept of the decoded body
MAX_REFS = 200
_MAX_NAME = 500  # CustomerContact fields are ShortText (500)
_MAX_SUBJECT = 1000
_MAX_ID = 998  # an RFC 5322 line
_MAX_HEADER = 16_000  # characters of a header value decoded (decode_header is quadratic in encoded words)
_MAX_HTML = 1_000_000  # characters of an HTML body converted
MAX_HEADER_SECTION = 64 * 1024  # the stdlib parser is slow on huge headers (e.g. 40,000 parameters)

# Python codecs that are not mail charsets; some are slow or odd on arbitrary bytes (punycode).
_NOT_MAIL_CHARSETS = frozenset(
    {"punycode", "idna", "unicode_escape", "raw_unicode_escape", "undefined", "charmap", "mbcs", "oem"}
)
_GB = frozenset({"gb2312", "gbk", "gb18030"})
_BIG5 = ("big5", "cp950", "big5hkscs")

_EMAIL_FIELDS = frozenset(
    {"from", "to", "cc", "subject", "date", "message-id", "received", "return-path", "mime-version", "content-type"}
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_ESCAPED_BYTE = re.compile("[\udc80-\udcff]")  # an 8-bit byte read with surrogateescape
_MSG_ID = re.compile(r"<([^<>\s]+)>")
_FOLD = re.compile(r"\r?\n(?=[ \t])|\r(?=[ \t])")  # a folded header's line breaks (RFC 5322 2.2.3)


# -- entry point ---------------------------------------------------------------------------------


def adapt(msg: Incoming, ctx: ChannelContext) -> list[Normalised]:
    raw = msg.body
    if not raw or not raw.strip():
        raise Rejected("empty email message")
    end = min((i for i in (raw.find(b"\r\n\r\n"), raw.find(b"\n\n")) if i >= 0), default=len(raw))
    if end > MAX_HEADER_SECTION:
        raise Rejected(f"email header section of {end} bytes is over the limit of {MAX_HEADER_SECTION} bytes")
    parsed = _parse(raw)
    headers = _Headers(parsed)
    if not _EMAIL_FIELDS.intersection(headers.names):  # JSON's first line parses as a header named '{"kind"'
        raise Rejected("not an email: none of the header fields a message has")
    flags: list[str] = []

    report = _delivery_report(raw, parsed, headers, ctx, flags)
    if report is not None:  # a bounce: about a message sent, not from a customer (From may be empty)
        return [report]
    sender = _first_address(headers.get("from"), flags)
    if sender is None:
        raise Rejected("no From address")
    name, address = sender
    local, _, domain = address.rpartition("@")
    agent_domains = {d.lower().rstrip(".") for d in ctx.agent_email_domains}
    is_agent = domain.lower().rstrip(".") in agent_domains

    subject = _header_text(headers.get("subject"), flags)[:_MAX_SUBJECT] or None
    received_at = _date(headers.get("date"))
    if received_at is None:  # dated when it reaches intake
        flags.append("date_missing")

    message_id = _message_id(headers.get("message-id"))
    source_ref = message_id or "sha256:" + hashlib.sha256(raw).hexdigest()
    thread_refs = _thread_refs([headers.get("in-reply-to"), headers.get("references")], exclude=message_id)

    body = _Body.read(parsed, flags)
    full_text, truncated = _cap(body.text) if body.text is not None else (None, False)
    text = (_cap(trim_reply(full_text))[0] or None) if full_text else None

    extra: dict[str, Any] = {"full_text": full_text, "attachments": body.attachments}
    if truncated:
        extra["full_text_truncated"] = True
    automatic = machine_sent(headers)
    if automatic is not None:
        extra["automatic"] = automatic
        flags.append("automatic")
        if is_agent:  # an automatic message from our own domain is no agent's answer
            flags.append("automated")

    if is_agent:
        customer = next(
            (
                (n, a)
                for n, a in _addresses(headers.get("to"), flags)
                if a.rpartition("@")[2].lower().rstrip(".") not in agent_domains
            ),
            None,
        )
        contact = CustomerContact(name=customer[0], email=customer[1]) if customer else None
        kind, agent_id = "agent_reply", local.lower()  # one id per agent however the address is cased
    else:
        contact = CustomerContact(name=name, email=address)
        kind, agent_id = "inquiry", None

    return [
        Normalised(
            channel=CHANNEL,
            source_ref=source_ref,
            received_at=received_at,
            contact=contact,
            kind=kind,
            intent=None,  # the classifier decides; an agent reply has none
            text=text,
            subject=subject,
            language=None,
            agent_id=agent_id,
            conversation_key=None,  # intake resolves the conversation from thread_refs
            thread_refs=thread_refs,
            flags=list(dict.fromkeys(flags)),
            extra=extra,
        )
    ]


class _HeaderRegistry(HeaderRegistry):
    """The stdlib registry, but each header class is made once: ``HeaderRegistry`` builds a new
    class with ``type()`` for every header it parses (the same class each time, and as costly as
    the parse of a short header). Classes hold no header data; instances keep theirs."""

    def __init__(self) -> None:
        super().__init__()
        self._classes: dict[type, type] = {}

    def __getitem__(self, name: str) -> type:
        kind = self.registry.get(name.lower(), self.default_class)
        made = self._classes.get(kind)
        if made is None:
            made = self._classes[kind] = super().__getitem__(name)
        return made


class _ParsePolicy(EmailPolicy):
    """``policy.default`` that parses each header field once per message.

    With the modern policy every ``Message.get()`` (and so ``get_content_type``, ``get_param``,
    ``get_filename`` …) parses the field again from its raw string; the parser itself and the body
    walk ask for a part's Content-Type some seven times. One instance per message (the parser
    hands it to every part), so nothing of one message outlives it. The header objects are
    immutable ``str`` subclasses and a field's parse depends on its name and value alone, so a
    shared one is the same answer. Values with a comment are parsed each time: comments nest, and
    whether deep nesting overflows the stack depends on where the parse is called from.
    """

    header_factory = _HeaderRegistry()  # the default map, as policy.default's

    def __init__(self) -> None:
        # no EmailPolicy.__init__: it would make a HeaderRegistry per instance (policies are
        # read-only, hence object.__setattr__)
        object.__setattr__(self, "_parsed", {})

    def header_fetch_parse(self, name: str, value: Any) -> Any:
        if hasattr(value, "name") or "(" in value:
            return super().header_fetch_parse(name, value)
        key = (name, value)
        parsed = self._parsed.get(key)
        if parsed is None:
            parsed = self._parsed[key] = super().header_fetch_parse(name, value)
        return parsed


def _parse(raw: bytes) -> Message:
    try:
        return BytesParser(policy=_ParsePolicy()).parsebytes(raw)
    except RecursionError:
        raise Rejected("message nested too deeply to read (MIME parts or header syntax)") from None
    except Exception as exc:  # the stdlib parser is meant never to fail; when it does, the input is to blame
        raise Rejected(f"unreadable MIME structure ({type(exc).__name__})") from None


# -- headers -------------------------------------------------------------------------------------


class _Headers:
    """First value of each header field, as received (8-bit bytes kept as surrogate escapes)."""

    def __init__(self, msg: Message):
        self.values: dict[str, str] = {}
        for key, value in msg.raw_items():
            self.values.setdefault(str(key).lower(), str(value))
        self.names = set(self.values)

    def get(self, name: str) -> str | None:
        return self.values.get(name)


def _unraw(value: str) -> tuple[str, bool]:
    """Header text with 8-bit bytes (unencoded Chinese in a header) decoded; True if guessed."""
    if value.isascii() or not _ESCAPED_BYTE.search(value):
        return value, False
    try:
        data = value.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # other lone surrogates: dropped later by _one_line
        return value, False
    return decode_bytes(data, None)


def _header_text(value: str | None, flags: list[str]) -> str:
    """A decoded, single-line header value (RFC 2047 encoded words in any charset)."""
    if not value:
        return ""
    text, guessed = _unraw(value[:_MAX_HEADER])
    # Unfold first: the line break goes, the white space after it stays. ``decode_header`` then keeps
    # the white space between an encoded word and plain text, and drops only that between two
    # adjacent encoded words (RFC 2047 6.2); given a folded value it would also drop the folding
    # white space that separates an encoded word from the text after it.
    text = _FOLD.sub("", text)
    try:
        chunks = decode_header(text)
    except Exception:  # email.header raises HeaderParseError and worse on broken encoded words
        chunks = [(text, None)]
    parts = []
    for data, charset in chunks:
        if isinstance(data, str):
            parts.append(data)
        elif charset is None:  # unencoded text, which decode_header hands back raw-unicode-escaped
            try:
                parts.append(data.decode("raw-unicode-escape"))
            except UnicodeDecodeError:
                parts.append(data.decode("latin-1"))
        else:
            part, word_guessed = decode_bytes(data, charset)
            guessed = guessed or word_guessed
            parts.append(part)
    if guessed:
        flags.append("charset_guessed")
    return _one_line("".join(parts))


def _one_line(text: str) -> str:
    if not text.isascii():
        text = _SURROGATE.sub("", text)
    return " ".join(_CONTROL.sub(" ", text).split())


def _addresses(value: str | None, flags: list[str]) -> list[tuple[str | None, str]]:
    """(display name, address) pairs of an address header, skipping what is not an address."""
    if not value:
        return []
    text, guessed = _unraw(value)
    if guessed:
        flags.append("charset_guessed")
    try:
        pairs = getaddresses([text])
    except Exception:  # the legacy address parser has its own failure modes on garbage
        return []
    result = []
    for display, addr in pairs:
        addr = _one_line(addr).strip("<>")
        local, at, domain = addr.rpartition("@")
        if not at or not local or not domain or " " in addr or len(addr) > 320:
            continue
        name = _header_text(display, flags).strip("'\" ")[:_MAX_NAME] or None
        result.append((name, addr))
    return result


def _first_address(value: str | None, flags: list[str]) -> tuple[str | None, str] | None:
    found = _addresses(value, flags)
    return found[0] if found else None


def _date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        when = parsedate_to_datetime(_one_line(_unraw(value)[0]))
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:  # "-0000": the time is UTC, the sender's zone unknown (RFC 5322 3.3)
        when = when.replace(tzinfo=UTC)
    return when


def _ids(value: str | None) -> list[str]:
    if not value:
        return []
    text = _one_line(_unraw(value)[0])
    found = _MSG_ID.findall(text)
    if not found:  # some mailers leave the angle brackets out
        found = [token for token in text.split() if "@" in token]
    return [i for i in found if 0 < len(i) <= _MAX_ID]


def _message_id(value: str | None) -> str | None:
    ids = _ids(value)
    if ids:
        return ids[0]
    token = _one_line(_unraw(value)[0]).strip("<>") if value else ""
    return token if token and " " not in token and len(token) <= _MAX_ID else None


def _thread_refs(values: Iterable[str | None], exclude: str | None) -> list[str]:
    refs: dict[str, None] = {}
    for value in values:
        for ref in _ids(value):
            if ref != exclude:
                refs.setdefault(ref, None)
    return list(refs)[:MAX_REFS]


# -- mail from machines (RFC 3834) ---------------------------------------------------------------

_SPAM_FLAG = re.compile(r"^\s*yes\b", re.IGNORECASE)
_BULK_PRECEDENCE = frozenset({"bulk", "list", "junk"})
_REPORT_SENDERS = frozenset({"mailer-daemon", "postmaster"})


def machine_sent(headers: _Headers) -> str | None:
    """Why nothing automatic may answer this message, or None: ``auto_submitted`` (an
    ``Auto-Submitted`` other than ``no``, or a null ``Return-Path``: RFC 3834 2, 3.1.7), ``bulk``
    (a list or bulk sender: ``List-Id``, ``List-Unsubscribe``, ``Precedence: bulk|list|junk``) or
    ``spam`` (the receiving system's filter said so: ``X-Spam-Flag: YES``, ``X-Spam-Status: Yes, …``)."""
    auto = _one_line(headers.get("auto-submitted") or "").partition(";")[0].strip().lower()
    if auto and auto != "no":
        return "auto_submitted"
    if _one_line(headers.get("return-path") or "x").replace(" ", "") == "<>":
        return "auto_submitted"
    for name in ("x-spam-flag", "x-spam-status", "x-spam"):
        if _SPAM_FLAG.match(headers.get(name) or ""):
            return "spam"
    if headers.get("list-id") or headers.get("list-unsubscribe"):
        return "bulk"
    if _one_line(headers.get("precedence") or "").strip().lower() in _BULK_PRECEDENCE:
        return "bulk"
    return None


def _is_report(parsed: Message, headers: _Headers) -> bool:
    """A delivery report (bounce): ``multipart/report`` of delivery status, a ``message/delivery-status``
    part, or a message from ``MAILER-DAEMON`` / ``postmaster`` (with or without an address)."""
    ctype = _safe(parsed.get_content_type, "")
    if ctype == "multipart/report" or any(
        _safe(p.get_content_type, "") == "message/delivery-status" for p in _parts(parsed)
    ):
        return True
    sender = (headers.get("from") or "").lower()
    return any(re.search(rf"(^|[\s<\"']){who}(@|[\s>\"']|$)", sender) for who in _REPORT_SENDERS)


def _parts(msg: Message, limit: int = 64) -> list[Message]:
    """The message's parts, depth-first, at most ``limit`` (a report has three or four)."""
    out: list[Message] = []
    stack = [msg]
    while stack and len(out) < limit:
        part = stack.pop()
        out.append(part)
        if part.is_multipart():
            payload = part.get_payload()
            if isinstance(payload, list):
                stack.extend(p for p in reversed(payload) if isinstance(p, Message))
    return out


_DSN_FIELD = re.compile(r"^([A-Za-z-]+)\s*:\s*(.*)$")


def _dsn_recipients(part: Message) -> list[dict[str, str]]:
    """The per-recipient groups of a ``message/delivery-status`` part (RFC 3464): field → value."""
    payload = part.get_payload()
    if isinstance(payload, list):  # the stdlib reads each group as a header block
        blocks = [
            {k.lower(): _one_line(str(v)) for k, v in block.items()} for block in payload if isinstance(block, Message)
        ]
    else:
        text = _payload_bytes(part).decode("utf-8", "replace") if not isinstance(payload, str) else payload
        blocks, current = [], {}
        for line in _newlines(text).split("\n"):
            if not line.strip():
                if current:
                    blocks.append(current)
                current = {}
            elif (m := _DSN_FIELD.match(line)) is not None:
                current[m.group(1).lower()] = _one_line(m.group(2))
        if current:
            blocks.append(current)
    return [b for b in blocks if "final-recipient" in b or "original-recipient" in b]


def _report_address(value: str) -> str | None:
    """The address of a DSN recipient field (``rfc822; someone@example.com``)."""
    address = value.partition(";")[2] if ";" in value else value
    address = address.strip().strip("<>").strip()
    local, at, domain = address.rpartition("@")
    return address if at and local and domain and " " not in address and len(address) <= 320 else None


def _returned_headers(parsed: Message) -> _Headers | None:
    """The header fields of the message returned with the report (``message/rfc822`` or
    ``text/rfc822-headers``)."""
    for part in _parts(parsed):
        ctype = _safe(part.get_content_type, "")
        if ctype == "message/rfc822" and part.is_multipart():
            inner = part.get_payload()
            if isinstance(inner, list) and inner and isinstance(inner[0], Message):
                return _Headers(inner[0])
        if ctype == "text/rfc822-headers":
            return _Headers(_parse(_payload_bytes(part) + b"\r\n\r\n"))
    return None


def _delivery_report(
    raw: bytes, parsed: Message, headers: _Headers, ctx: ChannelContext, flags: list[str]
) -> Normalised | None:
    """A bounce as a ``delivery_failure`` item (which address, which message, why; ``extra["ours"]``:
    the returned message was sent from one of our domains), a
    ``delivery_report`` item when it reports no failure of a message it names (a delay, a relay, an
    unreadable report), or None when the message is no delivery report."""
    if not _is_report(parsed, headers):
        return None
    message_id = _message_id(headers.get("message-id"))
    source_ref = message_id or "sha256:" + hashlib.sha256(raw).hexdigest()
    returned = _returned_headers(parsed)
    original_id = _message_id(returned.get("message-id")) if returned else None
    failed: dict[str, str] | None = None
    reported = False
    for part in _parts(parsed):
        if _safe(part.get_content_type, "") == "message/delivery-status":
            for group in _dsn_recipients(part):
                reported = True
                if group.get("action", "").lower() == "failed" and failed is None:
                    failed = group
    address = None
    if failed is not None:
        address = _report_address(failed.get("original-recipient") or "") or _report_address(
            failed.get("final-recipient") or ""
        )
    if address is None and not reported and returned is not None:  # a report without a machine-readable part
        found = _first_address(returned.get("to"), flags)
        address = found[1] if found else None
    if failed is None and reported:
        address = None  # delayed, relayed, delivered: nothing failed
    sent_by = _first_address(returned.get("from"), flags) if returned else None
    ours = {d.lower().rstrip(".") for d in ctx.agent_email_domains}
    extra: dict[str, Any] = {
        "original_message_id": original_id,
        "ours": bool(sent_by and sent_by[1].rpartition("@")[2].lower().rstrip(".") in ours),
    }
    if failed is not None:
        extra["status"] = (failed.get("status") or "").split()[0][:20] or None
        extra["reason"] = (failed.get("diagnostic-code") or "")[:500] or None
    return Normalised(
        channel=CHANNEL,
        source_ref=source_ref,
        received_at=_date(headers.get("date")),
        contact=CustomerContact(email=address) if address else None,
        kind="delivery_failure" if address else "delivery_report",
        subject=_header_text(headers.get("subject"), flags)[:_MAX_SUBJECT] or None,
        flags=list(dict.fromkeys(flags)),
        extra=extra,
    )


# -- charsets ------------------------------------------------------------------------------------


def _codecs_for(declared: str) -> tuple[str, ...]:
    name = declared.strip().strip("\"'").partition("*")[0].lower()
    try:
        canonical = codecs.lookup(name).name
    except (LookupError, ValueError, TypeError):
        return ()
    if canonical in _NOT_MAIL_CHARSETS:
        return ()
    if canonical in _GB:
        return ("gb18030",)  # GB2312 and GBK mail often carries GBK/GB18030 characters
    if canonical in _BIG5:
        return _BIG5[_BIG5.index(canonical) :]  # Outlook's "big5" is CP950; Hong Kong adds HKSCS
    return (canonical,)


def decode_bytes(data: bytes, declared: str | None) -> tuple[str, bool]:
    """Text of ``data`` in its declared charset, else the best guess; True when guessed."""
    if declared:
        for codec in _codecs_for(declared):
            try:
                return data.decode(codec), False
            except (UnicodeError, LookupError, ValueError, TypeError):
                continue
    if data.isascii():
        return data.decode("ascii"), False
    return _guess(data), True


def _guess(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    candidates = []
    for family in (("gb18030",), _BIG5):
        for codec in family:
            try:
                candidates.append(data.decode(codec))
                break
            except UnicodeDecodeError:
                continue
    if candidates:
        # max() keeps the first of equals: GB18030 before Big5, as the order of trial says
        return max(candidates, key=_plausibility)
    return data.decode("latin-1", errors="replace")


def _plausibility(text: str) -> int:
    score = 0
    for ch in [c for c in text[:20_000] if c >= "\x80"][:5000]:
        score += _char_score(ch)
    return score


@lru_cache(maxsize=32_768)
def _char_score(ch: str) -> int:
    """+1 for CJK punctuation and the common characters of GB2312 (level 1) or Big5 (常用字), else -1:
    Big5 read as GB18030 is full of kana, Cyrillic, private-use and rare characters, and the reverse."""
    code = ord(ch)
    if 0x3000 <= code <= 0x303F or 0xFF01 <= code <= 0xFF5E:
        return 1
    try:
        gb = ch.encode("gb2312")
        if len(gb) == 2 and 0xB0 <= gb[0] <= 0xD7:
            return 1
    except UnicodeEncodeError:
        pass
    try:
        b5 = ch.encode("big5")
        if len(b5) == 2 and 0xA440 <= (b5[0] << 8 | b5[1]) <= 0xC67E:
            return 1
    except UnicodeEncodeError:
        pass
    return -1


# -- body ----------------------------------------------------------------------------------------


class _Body:
    """The message's text (plain preferred, else HTML made plain) and its attachments."""

    def __init__(self) -> None:
        self.plain: list[Message] = []
        self.html: list[Message] = []
        self.attachments: list[dict[str, Any]] = []
        self.text: str | None = None

    @classmethod
    def read(cls, msg: Message, flags: list[str]) -> _Body:
        body = cls()
        body._walk(msg)
        body._choose_text(flags)
        return body

    def _walk(self, msg: Message) -> None:
        # iterative, depth-first in document order; owner: the attachment a part belongs to
        stack: list[tuple[Message, int, dict[str, Any] | None]] = [(msg, 0, None)]
        while stack:
            part, depth, owner = stack.pop()
            if depth > MAX_DEPTH:
                raise Rejected(f"MIME parts nested more than {MAX_DEPTH} levels deep")
            ctype = _safe(part.get_content_type, "application/octet-stream")
            if part.is_multipart():  # a container: multipart/*, or message/* holding a message
                if owner is None and ctype.startswith("message/"):  # an attached or forwarded message
                    owner = self._attachment(part, ctype, 0, _safe(part.get_filename, None))
                children = part.get_payload()
                stack.extend((p, depth + 1, owner) for p in reversed(children) if isinstance(p, Message))
                continue
            if owner is not None:
                owner["size"] += len(_payload_bytes(part))
                continue
            disposition = _safe(part.get_content_disposition, None)
            filename = _safe(part.get_filename, None)
            if ctype in ("text/plain", "text/html") and disposition != "attachment" and not filename:
                (self.plain if ctype == "text/plain" else self.html).append(part)
            else:
                self._attachment(part, ctype, len(_payload_bytes(part)), filename)

    def _attachment(self, part: Message, ctype: str, size: int, filename: str | None) -> dict[str, Any]:
        record = {"filename": _header_text(str(filename), []) or None if filename else None}
        record |= {"content_type": ctype, "size": size}
        self.attachments.append(record)
        return record

    def _choose_text(self, flags: list[str]) -> None:
        for parts, html in ((self.plain, False), (self.html, True)):
            texts = []
            for part in parts:
                text, guessed = decode_bytes(_payload_bytes(part), _safe(part.get_content_charset, None))
                text = html_to_text(text) if html else _newlines(text)
                if text.strip():
                    texts.append(text.strip("\n"))
                    if guessed:
                        flags.append("charset_guessed")
            if texts:
                self.text = "\n\n".join(texts).replace("\x00", "")
                if html:
                    flags.append("html_only")
                return
        if not self.plain and not self.html:
            flags.append("non_text")


def _safe(getter: Any, default: Any) -> Any:
    """A policy.default header accessor; its parser can fail on garbage, the message must not."""
    try:
        return getter()
    except Exception:
        return default


def _payload_bytes(part: Message) -> bytes:
    data = _safe(lambda: part.get_payload(decode=True), b"")
    return data if isinstance(data, bytes) else b""


def _newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _cap(text: str) -> tuple[str, bool]:
    data = text.encode("utf-8")
    if len(data) <= FULL_TEXT_LIMIT:
        return text, False
    return data[:FULL_TEXT_LIMIT].decode("utf-8", errors="ignore"), True


# -- HTML → text ---------------------------------------------------------------------------------


class _HTMLText(HTMLParser):
    _BLOCK = frozenset(
        "address article aside blockquote caption center dd div dl dt fieldset figcaption figure footer form "
        "h1 h2 h3 h4 h5 h6 header hr li main nav ol p pre section table tbody tfoot thead tr ul".split()
    )
    _PARAGRAPH = frozenset("p h1 h2 h3 h4 h5 h6 table ul ol pre".split())
    _SKIP = frozenset({"script", "style", "head", "title", "template"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self._line: list[str] = []
        self._line_quote = 0
        self._quote = 0
        self._pre = 0
        self._skip: dict[str, int] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skip[tag] = self._skip.get(tag, 0) + 1
            return
        if tag == "body":  # a head left open ends here
            self._skip.pop("head", None)
            self._skip.pop("title", None)
        if tag == "br":
            self._break(explicit=True)
        elif tag in self._BLOCK:
            self._break(paragraph=tag in self._PARAGRAPH)
            if tag == "blockquote":
                self._quote += 1
            elif tag == "pre":
                self._pre += 1
            elif tag == "li":
                self._add("- ")
        elif tag in ("td", "th"):
            self._add(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP:
            if self._skip.get(tag):
                self._skip[tag] -= 1
            return
        if tag in self._BLOCK:
            self._break(paragraph=tag in self._PARAGRAPH)
            if tag == "blockquote":
                self._quote = max(0, self._quote - 1)
            elif tag == "pre":
                self._pre = max(0, self._pre - 1)

    def handle_data(self, data: str) -> None:
        if any(self._skip.values()):
            return
        if self._pre:
            for i, chunk in enumerate(_newlines(data).split("\n")):
                if i:
                    self._break(explicit=True)
                self._add(chunk)
        else:
            self._add(re.sub(r"\s+", " ", data))

    def _add(self, text: str) -> None:
        if text:
            if not self._line:
                self._line_quote = self._quote
            self._line.append(text)

    def _break(self, *, explicit: bool = False, paragraph: bool = False) -> None:
        line = "".join(self._line).strip()
        self._line = []
        if line:
            self.lines.append("> " * self._line_quote + line)
        elif explicit:
            self.lines.append("")
        if paragraph and self.lines and self.lines[-1]:
            self.lines.append("")

    def text(self) -> str:
        self._break()
        out: list[str] = []
        for line in self.lines:
            if line or (out and out[-1]):
                out.append(line)
        return "\n".join(out).strip("\n")


def html_to_text(html: str) -> str:
    """Plain text of an HTML body: scripts and styles dropped, block elements on their own lines,
    blockquotes as "> " lines (so that quoted replies are trimmed like plain-text ones)."""
    parser = _HTMLText()
    try:
        parser.feed(_defuse(html[:_MAX_HTML]))
        parser.close()
    except AssertionError:  # html.parser (3.11) asserts on some malformed declarations; keep what was read
        pass
    return parser.text()


def _defuse(html: str) -> str:
    """Keep html.parser linear. On constructs that never close (``<a `` or ``<!--`` repeated) the
    parser of Python 3.11 rescans the rest of the document each time: quadratic or worse, minutes
    for a 1 MB body. One linear pass first: comments go (an unclosed one hides the rest, as in a
    browser), so do marked sections, and a ``<`` with no ``>`` before the next ``<`` becomes ``&lt;``."""
    out: list[str] = []
    n = len(html)
    i = 0
    gt = -1  # the next ">" at or after the current "<"; n when there is none
    while i < n:
        lt = html.find("<", i)
        if lt < 0:
            out.append(html[i:])
            break
        out.append(html[i:lt])
        if html.startswith("<!--", lt):
            end = html.find("-->", lt + 4)
            if end < 0:
                break
            i = end + 3
            continue
        if gt <= lt:
            gt = html.find(">", lt + 1)
            gt = n if gt < 0 else gt
        after = html.find("<", lt + 1, gt)
        if gt == n or after >= 0:
            out.append("&lt;")
            i = lt + 1
        else:
            if not html.startswith("<![", lt):  # marked sections (Outlook's <![if …]>) go: the parser
                out.append(html[lt : gt + 1])  # looks for "]]>" to the end of the document
            i = gt + 1
    return "".join(out)


# -- quotes and signatures -----------------------------------------------------------------------

_ATTRIBUTION = re.compile(
    r"^(?:On\s.*\swrote:|在.*(?:寫道|写道)\s*[:：]|.*[於于].*(?:寫道|写道)\s*[:：])$",
    re.DOTALL,
)
_ORIGINAL = re.compile(r"^\s*-{3,}\s*(?:Original Message|原始郵件|原始邮件)\s*-{3,}\s*$", re.IGNORECASE)
_ZH_HEADER = re.compile(r"^\s*(?:发件人|發件人|寄件者)\s*[:：]")
_EN_FROM = re.compile(r"^From:\s*\S")
_EN_NEXT = re.compile(r"^(?:Sent|Date):\s*\S")
_SEPARATOR = re.compile(r"^\s*[_\-=]{5,}\s*$")
_SIGNATURE = ("-- ", "--")


def _attribution(lines: list[str], i: int) -> int:
    """How many lines the "On … wrote:" / "在 … 寫道：" line at ``i`` spans (clients wrap it); 0 if none."""
    first = lines[i].strip()
    if not (first.startswith(("On ", "在")) or "於" in first or "于" in first):
        return 0
    for span in (1, 2, 3):
        joined = " ".join(line.strip() for line in lines[i : i + span])
        if len(joined) > 400:
            return 0
        if _ATTRIBUTION.match(joined) and any(ch.isdigit() for ch in joined):  # a date: less guessing
            return span
    return 0


def _interleaved(rest: list[str]) -> bool:
    """True when the answer is written between the quoted lines (so cutting would lose it)."""
    seen_quote = False
    for line in rest:
        if line in _SIGNATURE:
            return False
        if line.startswith(">"):
            seen_quote = True
        elif line.strip() and seen_quote:
            return True
    return False


def trim_reply(text: str) -> str:
    """The new part of a message: quoted lines, reply headers with all that follows them, and a
    signature after a "-- " line removed. Sign-offs without the delimiter stay (conservative)."""
    lines = _newlines(text).split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if line in _SIGNATURE or _ORIGINAL.match(line) or _ZH_HEADER.match(line):
            break
        if _EN_FROM.match(line) and any(_EN_NEXT.match(nxt) for nxt in lines[i + 1 : i + 5]):
            break
        span = _attribution(lines, i)
        if span:
            if not _interleaved(lines[i + span :]):
                break
            i += span
            continue
        if not line.startswith(">"):
            out.append(line)
        i += 1
    while out and (not out[-1].strip() or _SEPARATOR.match(out[-1])):
        out.pop()
    return "\n".join(out).strip()
